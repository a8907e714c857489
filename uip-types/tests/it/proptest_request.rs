//! Property tests: any valid `CreateSessionRequest` round-trips through JSON and validates; values
//! just outside the ranges are refused with the right code and param.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;
use uip_types::validate::{self, MAX_STEPS};
use uip_types::{
    AgeVerifyParams, Block, CreateSessionRequest, ErrorCode, IdentifyParams, LightSignParams, SignParams,
    Step, StepParams,
};

/// A string of `min..=max` Unicode scalar values, any of them (controls, quotes, emoji, NUL …).
fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), min..=max).prop_map(String::from_iter)
}

/// Mostly short strings, sometimes exactly at the limit.
fn bounded_text(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => text(min, max.min(40)),
        1 => text(max, max),
        1 => text(min, min),
    ]
}

fn block() -> impl Strategy<Value = Block> {
    prop_oneof![prop::sample::select(Block::KNOWN.to_vec()), "[a-z_]{1,16}".prop_map(|s| Block::parse(&s)),]
}

fn blocks() -> impl Strategy<Value = Option<Vec<Block>>> {
    prop::option::of(prop::collection::vec(block(), 0..10).prop_map(|v| {
        let mut out: Vec<Block> = Vec::new();
        for b in v {
            if !out.contains(&b) {
                out.push(b);
            }
        }
        out
    }))
}

fn step_params() -> impl Strategy<Value = StepParams> {
    prop_oneof![
        blocks().prop_map(|blocks| StepParams::Identify(IdentifyParams { blocks })),
        prop::option::of(1u8..=120).prop_map(|min_age| StepParams::AgeVerify(AgeVerifyParams { min_age })),
        (bounded_text(1, 10_000), prop::option::of(bounded_text(0, 200)))
            .prop_map(|(terms, title)| StepParams::LightSign(LightSignParams { terms, title })),
        prop::option::of(prop::collection::vec(text(1, 30), 1..5))
            .prop_map(|documents| StepParams::Sign(SignParams { documents })),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (step_params(), any::<bool>()).prop_map(|(params, gate)| Step { params, gate })
}

fn metadata() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop_oneof![
        4 => prop::collection::btree_map(bounded_text(1, 40), bounded_text(0, 500), 0..6),
        1 => prop::collection::btree_map(bounded_text(1, 40), text(0, 3), 0..=50),
    ]
}

/// A valid https URL. Hyphens in the host come one at a time: a label such as `xn--…` would be
/// taken for punycode and refused as an invalid international name.
fn return_url() -> impl Strategy<Value = String> {
    (
        "[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,9})?(\\.[a-z]{2,6}){1,2}",
        "(/[A-Za-z0-9._~-]{0,20}){0,3}",
        "(\\?[a-z]=[0-9]{1,4})?",
    )
        .prop_map(|(host, path, query)| format!("https://{host}{path}{query}"))
}

fn request() -> impl Strategy<Value = CreateSessionRequest> {
    (
        prop::collection::vec(step(), 1..=MAX_STEPS),
        prop::option::of(bounded_text(0, 255)),
        prop::option::of(metadata()),
        prop::option::of(return_url()),
        prop::option::of(prop_oneof![Just(60u32), Just(86_400u32), 60u32..=86_400]),
    )
        .prop_map(|(steps, client_reference_id, metadata, return_url, expires_in)| {
            CreateSessionRequest { steps, client_reference_id, metadata, return_url, expires_in }
        })
}

proptest! {
    #[test]
    fn valid_requests_round_trip_and_validate(req in request()) {
        req.validate().map_err(|e| TestCaseError::fail(format!("rejected: {e}")))?;

        let text = serde_json::to_string(&req).unwrap();
        let back: CreateSessionRequest = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &req);

        let value = serde_json::to_value(&req).unwrap();
        prop_assert_eq!(&value, &req.to_value());
        prop_assert_eq!(&validate::parse_create_session(&value).unwrap(), &req);
        prop_assert_eq!(&serde_json::to_value(&back).unwrap(), &value);

        // Optional fields are omitted when unset, never null.
        prop_assert!(!value.as_object().unwrap().values().any(|v| v.is_null()));
        for (i, s) in req.steps.iter().enumerate() {
            let sv = &value["steps"][i];
            let primitive = s.primitive();
            prop_assert_eq!(sv["primitive"].as_str().unwrap(), primitive.as_str());
            prop_assert_eq!(sv.get("gate").is_some(), s.gate);
        }
        prop_assert_eq!(
            req.total_price_cents(),
            req.steps.iter().map(|s| s.primitive().price_cents().unwrap()).sum::<u64>()
        );
    }

    #[test]
    fn out_of_range_min_age_is_refused_at_its_step(
        req in request(),
        pos in any::<prop::sample::Index>(),
        age in prop_oneof![Just(0u64), 121u64..=1_000_000],
    ) {
        let mut v = req.to_value();
        let i = pos.index(req.steps.len());
        v["steps"][i] = json!({"primitive": "age_verify", "params": {"min_age": age}});
        let err = validate::parse_create_session(&v).unwrap_err();
        // An earlier step cannot fail: they are all valid.
        prop_assert_eq!(err.code, ErrorCode::InvalidParams);
        let expected = format!("steps[{i}].params.min_age");
        prop_assert_eq!(err.param.as_deref(), Some(expected.as_str()));
    }

    #[test]
    fn out_of_range_expires_in_is_refused(
        req in request(),
        e in prop_oneof![0u64..60, 86_401u64..=u64::MAX],
    ) {
        let mut v = req.to_value();
        v["expires_in"] = json!(e);
        let err = validate::parse_create_session(&v).unwrap_err();
        prop_assert_eq!(err.code, ErrorCode::InvalidField);
        prop_assert_eq!(err.param.as_deref(), Some("expires_in"));
    }

    #[test]
    fn a_too_long_client_reference_id_is_refused(req in request(), extra in text(1, 20)) {
        let mut v = req.to_value();
        let mut id = "x".repeat(255);
        id.push_str(&extra);
        v["client_reference_id"] = json!(id);
        let err = validate::parse_create_session(&v).unwrap_err();
        prop_assert_eq!(err.code, ErrorCode::InvalidField);
        prop_assert_eq!(err.param.as_deref(), Some("client_reference_id"));
    }
}
