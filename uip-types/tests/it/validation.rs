//! The create-session rules of docs/DECISIONS.md §2 and §10 "Create": every rule, with the exact `code`
//! and `param`, through `validate::parse_create_session`, the `Deserialize` impl and
//! `CreateSessionRequest::validate`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use uip_types::validate::{self, ValidationError};
use uip_types::{Block, CreateSessionRequest, ErrorCode, Step, StepParams};

fn identify() -> Value {
    json!({"primitive": "identify"})
}

fn with_steps(steps: Vec<Value>) -> Value {
    json!({ "steps": steps })
}

fn one_step(step: Value) -> Value {
    with_steps(vec![step])
}

fn top(field: &str, value: Value) -> Value {
    let mut v = one_step(identify());
    v.as_object_mut().unwrap().insert(field.to_owned(), value);
    v
}

fn metadata_of(n: usize) -> Value {
    Value::Object((0..n).map(|i| (format!("k{i}"), json!("v"))).collect::<Map<_, _>>())
}

fn s(n: usize, c: char) -> String {
    c.to_string().repeat(n)
}

fn expect_err(name: &str, body: &Value, code: ErrorCode, param: Option<&str>) -> ValidationError {
    let err = validate::parse_create_session(body)
        .map(|r| panic!("{name}: expected {code} at {param:?}, but it was accepted: {r:?}"))
        .unwrap_err();
    assert_eq!(err.code, code, "{name}: wrong code ({err})");
    assert_eq!(err.param.as_deref(), param, "{name}: wrong param ({err})");
    assert!(!err.message.is_empty(), "{name}: empty message");
    // The Deserialize impl applies the same rules, and says the same thing.
    let de = serde_json::from_value::<CreateSessionRequest>(body.clone()).unwrap_err().to_string();
    assert!(de.contains(&err.message), "{name}: serde error `{de}` lacks `{}`", err.message);
    if let Some(p) = param {
        assert!(de.contains(p), "{name}: serde error `{de}` lacks param `{p}`");
    }
    // And the error body the sandbox answers with.
    let body = err.to_body();
    assert_eq!(
        (body.code.clone(), body.param.clone(), body.error.clone()),
        (Some(err.code.clone()), err.param.clone(), err.message.clone())
    );
    err
}

fn expect_ok(name: &str, body: &Value) -> CreateSessionRequest {
    let req = validate::parse_create_session(body).unwrap_or_else(|e| panic!("{name}: rejected: {e}"));
    let de: CreateSessionRequest = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(de, req, "{name}");
    req.validate().unwrap_or_else(|e| panic!("{name}: typed validate rejected: {e}"));
    // Parsing is idempotent through the typed form.
    assert_eq!(validate::parse_create_session(&req.to_value()).unwrap(), req, "{name}");
    req
}

#[test]
fn rejected_bodies_have_exact_code_and_param() {
    use ErrorCode::*;
    let step_with = |p: &str, params: Value| json!({"primitive": p, "params": params});
    let long_key_param = format!("metadata.{}", s(41, 'k'));
    let cases: Vec<(&str, Value, ErrorCode, Option<&str>)> = vec![
        // Body shape.
        ("body is an array", json!([identify()]), InvalidPayload, None),
        ("body is a string", json!("steps"), InvalidPayload, None),
        ("body is null", Value::Null, InvalidPayload, None),
        (
            "unknown top-level field",
            top("webhook_url", json!("https://x.example")),
            InvalidPayload,
            Some("webhook_url"),
        ),
        ("unknown top-level null field", top("foo", Value::Null), InvalidPayload, Some("foo")),
        // steps.
        ("steps missing", json!({}), InvalidSteps, Some("steps")),
        ("steps null", json!({"steps": null}), InvalidSteps, Some("steps")),
        ("steps empty", with_steps(vec![]), InvalidSteps, Some("steps")),
        ("21 steps", with_steps(vec![identify(); 21]), InvalidSteps, Some("steps")),
        ("steps an object", json!({"steps": {"0": identify()}}), InvalidSteps, Some("steps")),
        ("steps a string", json!({"steps": "identify"}), InvalidSteps, Some("steps")),
        ("step a string", with_steps(vec![identify(), json!("identify")]), InvalidSteps, Some("steps[1]")),
        ("step null", one_step(Value::Null), InvalidSteps, Some("steps[0]")),
        ("step an array", one_step(json!([])), InvalidSteps, Some("steps[0]")),
        // primitive.
        ("primitive missing", one_step(json!({"params": {}})), UnknownPrimitive, Some("steps[0].primitive")),
        (
            "primitive a number",
            one_step(json!({"primitive": 1})),
            UnknownPrimitive,
            Some("steps[0].primitive"),
        ),
        (
            "primitive null",
            one_step(json!({"primitive": null})),
            UnknownPrimitive,
            Some("steps[0].primitive"),
        ),
        (
            "primitive unknown",
            with_steps(vec![identify(), json!({"primitive": "teleport"})]),
            UnknownPrimitive,
            Some("steps[1].primitive"),
        ),
        (
            "primitive wrong case",
            one_step(json!({"primitive": "Identify"})),
            UnknownPrimitive,
            Some("steps[0].primitive"),
        ),
        // Step keys.
        (
            "unknown step key",
            with_steps(vec![identify(), json!({"primitive": "identify", "optional": true})]),
            InvalidParams,
            Some("steps[1].optional"),
        ),
        (
            "unknown params key",
            with_steps(vec![identify(), step_with("identify", json!({"foo": 1}))]),
            InvalidParams,
            Some("steps[1].params.foo"),
        ),
        (
            "param of another primitive",
            one_step(step_with("age_verify", json!({"blocks": ["dob"]}))),
            InvalidParams,
            Some("steps[0].params.blocks"),
        ),
        (
            "params not an object",
            one_step(json!({"primitive": "identify", "params": []})),
            InvalidParams,
            Some("steps[0].params"),
        ),
        (
            "params a string",
            one_step(json!({"primitive": "identify", "params": "x"})),
            InvalidParams,
            Some("steps[0].params"),
        ),
        // gate.
        (
            "gate a string",
            one_step(json!({"primitive": "identify", "gate": "true"})),
            InvalidParams,
            Some("steps[0].gate"),
        ),
        (
            "gate a number",
            one_step(json!({"primitive": "identify", "gate": 1})),
            InvalidParams,
            Some("steps[0].gate"),
        ),
        // identify.
        (
            "blocks a string",
            one_step(step_with("identify", json!({"blocks": "dob"}))),
            InvalidParams,
            Some("steps[0].params.blocks"),
        ),
        (
            "blocks an object",
            one_step(step_with("identify", json!({"blocks": {}}))),
            InvalidParams,
            Some("steps[0].params.blocks"),
        ),
        (
            "block not a string",
            one_step(step_with("identify", json!({"blocks": ["dob", 7]}))),
            InvalidParams,
            Some("steps[0].params.blocks[1]"),
        ),
        (
            "block null",
            one_step(step_with("identify", json!({"blocks": [null]}))),
            InvalidParams,
            Some("steps[0].params.blocks[0]"),
        ),
        // age_verify.
        (
            "min_age 0",
            one_step(step_with("age_verify", json!({"min_age": 0}))),
            InvalidParams,
            Some("steps[0].params.min_age"),
        ),
        (
            "min_age 121",
            one_step(step_with("age_verify", json!({"min_age": 121}))),
            InvalidParams,
            Some("steps[0].params.min_age"),
        ),
        (
            "min_age 256",
            one_step(step_with("age_verify", json!({"min_age": 256}))),
            InvalidParams,
            Some("steps[0].params.min_age"),
        ),
        (
            "min_age -1",
            one_step(step_with("age_verify", json!({"min_age": -1}))),
            InvalidParams,
            Some("steps[0].params.min_age"),
        ),
        (
            "min_age string",
            one_step(step_with("age_verify", json!({"min_age": "18"}))),
            InvalidParams,
            Some("steps[0].params.min_age"),
        ),
        (
            "min_age fraction",
            one_step(step_with("age_verify", json!({"min_age": 18.5}))),
            InvalidParams,
            Some("steps[0].params.min_age"),
        ),
        (
            "min_age float",
            one_step(step_with("age_verify", json!({"min_age": 18.0}))),
            InvalidParams,
            Some("steps[0].params.min_age"),
        ),
        (
            "min_age bool",
            one_step(step_with("age_verify", json!({"min_age": true}))),
            InvalidParams,
            Some("steps[0].params.min_age"),
        ),
        (
            "min_age second step",
            with_steps(vec![identify(), identify(), step_with("age_verify", json!({"min_age": 121}))]),
            InvalidParams,
            Some("steps[2].params.min_age"),
        ),
        // light_sign.
        (
            "terms missing",
            one_step(json!({"primitive": "light_sign"})),
            InvalidParams,
            Some("steps[0].params.terms"),
        ),
        (
            "terms missing with title",
            one_step(step_with("light_sign", json!({"title": "T"}))),
            InvalidParams,
            Some("steps[0].params.terms"),
        ),
        (
            "terms null",
            one_step(step_with("light_sign", json!({"terms": null}))),
            InvalidParams,
            Some("steps[0].params.terms"),
        ),
        (
            "terms empty",
            one_step(step_with("light_sign", json!({"terms": ""}))),
            InvalidParams,
            Some("steps[0].params.terms"),
        ),
        (
            "terms 10001",
            one_step(step_with("light_sign", json!({"terms": s(10_001, 'a')}))),
            InvalidParams,
            Some("steps[0].params.terms"),
        ),
        (
            "terms 10001 multibyte",
            one_step(step_with("light_sign", json!({"terms": s(10_001, 'é')}))),
            InvalidParams,
            Some("steps[0].params.terms"),
        ),
        (
            "terms a number",
            one_step(step_with("light_sign", json!({"terms": 5}))),
            InvalidParams,
            Some("steps[0].params.terms"),
        ),
        (
            "title 201",
            one_step(step_with("light_sign", json!({"terms": "t", "title": s(201, 'x')}))),
            InvalidParams,
            Some("steps[0].params.title"),
        ),
        (
            "title a bool",
            one_step(step_with("light_sign", json!({"terms": "t", "title": false}))),
            InvalidParams,
            Some("steps[0].params.title"),
        ),
        // sign (the request body; binding to uploads is tested separately).
        (
            "documents empty",
            one_step(step_with("sign", json!({"documents": []}))),
            InvalidParams,
            Some("steps[0].params.documents"),
        ),
        (
            "documents a string",
            one_step(step_with("sign", json!({"documents": "a.pdf"}))),
            InvalidParams,
            Some("steps[0].params.documents"),
        ),
        (
            "document not a string",
            one_step(step_with("sign", json!({"documents": ["a.pdf", 1]}))),
            InvalidParams,
            Some("steps[0].params.documents[1]"),
        ),
        // client_reference_id.
        (
            "client_reference_id 256",
            top("client_reference_id", json!(s(256, 'r'))),
            InvalidField,
            Some("client_reference_id"),
        ),
        (
            "client_reference_id 256 multibyte",
            top("client_reference_id", json!(s(256, '€'))),
            InvalidField,
            Some("client_reference_id"),
        ),
        (
            "client_reference_id a number",
            top("client_reference_id", json!(4815)),
            InvalidField,
            Some("client_reference_id"),
        ),
        // metadata.
        ("metadata 51 keys", top("metadata", metadata_of(51)), InvalidField, Some("metadata")),
        ("metadata an array", top("metadata", json!(["a"])), InvalidField, Some("metadata")),
        ("metadata a string", top("metadata", json!("a=b")), InvalidField, Some("metadata")),
        (
            "metadata key 41",
            top("metadata", json!({ s(41, 'k'): "v" })),
            InvalidField,
            Some(long_key_param.as_str()),
        ),
        ("metadata empty key", top("metadata", json!({"": "v"})), InvalidField, Some("metadata.")),
        (
            "metadata value 501",
            top("metadata", json!({"cart": s(501, 'v')})),
            InvalidField,
            Some("metadata.cart"),
        ),
        (
            "metadata value number",
            top("metadata", json!({"a": "ok", "cart": 77})),
            InvalidField,
            Some("metadata.cart"),
        ),
        ("metadata value null", top("metadata", json!({"cart": null})), InvalidField, Some("metadata.cart")),
        (
            "metadata value object",
            top("metadata", json!({"cart": {"id": "1"}})),
            InvalidField,
            Some("metadata.cart"),
        ),
        // return_url.
        (
            "return_url http",
            top("return_url", json!("http://shop.example.com/done")),
            InvalidField,
            Some("return_url"),
        ),
        ("return_url relative", top("return_url", json!("/done")), InvalidField, Some("return_url")),
        (
            "return_url no scheme",
            top("return_url", json!("shop.example.com/done")),
            InvalidField,
            Some("return_url"),
        ),
        (
            "return_url other scheme",
            top("return_url", json!("ftp://shop.example.com/")),
            InvalidField,
            Some("return_url"),
        ),
        ("return_url empty", top("return_url", json!("")), InvalidField, Some("return_url")),
        (
            "return_url 2049",
            top("return_url", json!(format!("https://shop.example.com/{}", s(2049 - 25, 'p')))),
            InvalidField,
            Some("return_url"),
        ),
        ("return_url a number", top("return_url", json!(1)), InvalidField, Some("return_url")),
        // expires_in.
        ("expires_in 59", top("expires_in", json!(59)), InvalidField, Some("expires_in")),
        ("expires_in 86401", top("expires_in", json!(86401)), InvalidField, Some("expires_in")),
        ("expires_in 0", top("expires_in", json!(0)), InvalidField, Some("expires_in")),
        ("expires_in negative", top("expires_in", json!(-60)), InvalidField, Some("expires_in")),
        ("expires_in huge", top("expires_in", json!(u64::MAX)), InvalidField, Some("expires_in")),
        (
            "expires_in just over u32",
            top("expires_in", json!(u32::MAX as u64 + 61)),
            InvalidField,
            Some("expires_in"),
        ),
        ("expires_in string", top("expires_in", json!("60")), InvalidField, Some("expires_in")),
        ("expires_in fraction", top("expires_in", json!(3.5)), InvalidField, Some("expires_in")),
        ("expires_in float", top("expires_in", json!(3600.0)), InvalidField, Some("expires_in")),
    ];
    for (name, body, code, param) in cases {
        expect_err(name, &body, code, param);
    }
}

#[test]
fn messages_are_precise() {
    let cases: Vec<(Value, &str)> = vec![
        (with_steps(vec![]), "steps: steps must have 1 to 20 entries"),
        (json!({"steps": "x"}), "steps: steps must be an array, not a string"),
        (json!([]), "the body must be a JSON object, not an array"),
        (top("foo", json!(1)), "foo: unknown field `foo`"),
        (one_step(json!(3)), "steps[0]: each step must be an object, not a number"),
        (one_step(json!({"primitive": "teleport"})), "steps[0].primitive: unknown primitive `teleport`; expected identify, age_verify, sign or light_sign"),
        (one_step(json!({"primitive": "identify", "params": {"foo": 1}})), "steps[0].params.foo: unknown identify param `foo`"),
        (one_step(json!({"primitive": "age_verify", "params": {"min_age": 0}})), "steps[0].params.min_age: min_age must be an integer from 1 to 120"),
        (one_step(json!({"primitive": "light_sign"})), "steps[0].params.terms: light_sign needs params.terms"),
        (one_step(json!({"primitive": "light_sign", "params": {"terms": ""}})), "steps[0].params.terms: terms must be 1 to 10000 characters"),
        (one_step(json!({"primitive": "identify", "gate": "yes"})), "steps[0].gate: gate must be a boolean, not a string"),
        (top("metadata", metadata_of(51)), "metadata: metadata may have at most 50 keys"),
        (top("metadata", json!({"a": 1})), "metadata.a: metadata values must be strings, not a number"),
        (top("expires_in", json!(59)), "expires_in: expires_in must be an integer from 60 to 86400"),
        (top("return_url", json!("http://x.example")), "return_url: return_url must be an absolute https URL"),
        (top("client_reference_id", json!(s(256, 'x'))), "client_reference_id: client_reference_id must be at most 255 characters"),
    ];
    for (body, expected) in cases {
        let err = validate::parse_create_session(&body).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
}

#[test]
fn boundaries_are_accepted() {
    let step_with = |p: &str, params: Value| json!({"primitive": p, "params": params});
    let ok = |name: &str, body: Value| expect_ok(name, &body);

    let req = ok("20 steps", with_steps(vec![identify(); 20]));
    assert_eq!(req.steps.len(), 20);
    ok("1 step", with_steps(vec![identify()]));
    for age in [1, 18, 120] {
        let req = ok("min_age", one_step(step_with("age_verify", json!({"min_age": age}))));
        let StepParams::AgeVerify(p) = &req.steps[0].params else { panic!() };
        assert_eq!(p.min_age, Some(age));
    }
    let req = ok("min_age default", one_step(json!({"primitive": "age_verify"})));
    let StepParams::AgeVerify(p) = &req.steps[0].params else { panic!() };
    assert_eq!((p.min_age, p.effective_min_age()), (None, 18));
    ok("min_age null is absent", one_step(step_with("age_verify", json!({"min_age": null}))));
    for e in [60, 3600, 86400] {
        assert_eq!(ok("expires_in", top("expires_in", json!(e))).expires_in, Some(e));
    }
    assert_eq!(validate::DEFAULT_EXPIRES_IN, 3600);
    assert_eq!(ok("metadata 50 keys", top("metadata", metadata_of(50))).metadata.unwrap().len(), 50);
    ok("metadata empty", top("metadata", json!({})));
    ok("metadata key 40", top("metadata", json!({ s(40, 'k'): "v" })));
    ok("metadata key 40 multibyte", top("metadata", json!({ s(40, 'к'): "v" })));
    ok("metadata key 1", top("metadata", json!({"k": "v"})));
    ok("metadata value 500", top("metadata", json!({"cart": s(500, 'v')})));
    ok("metadata value 500 multibyte", top("metadata", json!({"cart": s(500, '日')})));
    ok("metadata value empty", top("metadata", json!({"cart": ""})));
    ok("client_reference_id 255", top("client_reference_id", json!(s(255, 'r'))));
    // 255 four-byte characters: 1020 bytes, but 255 Unicode scalar values.
    ok("client_reference_id 255 multibyte", top("client_reference_id", json!(s(255, '🦀'))));
    ok("client_reference_id empty", top("client_reference_id", json!("")));
    let url = format!("https://shop.example.com/{}", s(2048 - 25, 'p'));
    assert_eq!(url.chars().count(), 2048);
    ok("return_url 2048", top("return_url", json!(url)));
    ok(
        "return_url with port and query",
        top("return_url", json!("https://shop.example.com:8443/done?x=1#y")),
    );
    ok("terms 1", one_step(step_with("light_sign", json!({"terms": "a"}))));
    ok("terms 10000", one_step(step_with("light_sign", json!({"terms": s(10_000, 'a')}))));
    ok("terms 10000 multibyte", one_step(step_with("light_sign", json!({"terms": s(10_000, 'é')}))));
    ok("title 200", one_step(step_with("light_sign", json!({"terms": "t", "title": s(200, 'x')}))));
    ok("title empty", one_step(step_with("light_sign", json!({"terms": "t", "title": ""}))));
    ok("gate false", one_step(json!({"primitive": "identify", "gate": false})));
    ok("gate null", one_step(json!({"primitive": "identify", "gate": null})));
    let req = ok(
        "last step may be a gate",
        with_steps(vec![identify(), json!({"primitive": "identify", "gate": true})]),
    );
    assert!(req.steps[1].gate);
    ok("params null", one_step(json!({"primitive": "identify", "params": null})));
    ok("params empty", one_step(json!({"primitive": "identify", "params": {}})));
    ok(
        "primitive may repeat",
        with_steps(vec![json!({"primitive": "age_verify"}), json!({"primitive": "age_verify"})]),
    );
    ok("sign without documents", one_step(json!({"primitive": "sign"})));
    ok(
        "optional fields null",
        json!({"steps": [identify()], "client_reference_id": null, "metadata": null, "return_url": null, "expires_in": null}),
    );
    ok("blocks empty", one_step(step_with("identify", json!({"blocks": []}))));
}

#[test]
fn identify_blocks_are_collapsed_and_unknown_kept() {
    let body = one_step(json!({"primitive": "identify", "params": {
        "blocks": ["dob", "first_name", "dob", "full_name", "first_name", "full_name", "gender"]
    }}));
    let req = expect_ok("dupes", &body);
    let StepParams::Identify(p) = &req.steps[0].params else { panic!() };
    assert_eq!(
        p.blocks.as_deref().unwrap(),
        &[Block::Dob, Block::FirstName, Block::Other("full_name".into()), Block::Other("gender".into())]
    );
    assert_eq!(
        req.to_value()["steps"][0]["params"]["blocks"],
        json!(["dob", "first_name", "full_name", "gender"])
    );
    // Omitted blocks mean the default.
    let req = expect_ok("default", &one_step(identify()));
    let StepParams::Identify(p) = &req.steps[0].params else { panic!() };
    assert_eq!(p.blocks, None);
    assert_eq!(p.effective_blocks(), Block::DEFAULT.to_vec());
}

#[test]
fn typed_requests_are_checked_by_validate() {
    use ErrorCode::*;
    let base = || CreateSessionRequest::new(vec![Step::identify_default()]);
    let with = |f: &dyn Fn(&mut CreateSessionRequest)| {
        let mut r = base();
        f(&mut r);
        r
    };
    let only = |steps: Vec<Step>| CreateSessionRequest::new(steps);
    let mut cases: Vec<(&str, CreateSessionRequest, ErrorCode, &str)> = vec![
        ("no steps", only(vec![]), InvalidSteps, "steps"),
        ("21 steps", only(vec![Step::identify_default(); 21]), InvalidSteps, "steps"),
        (
            "min_age 0",
            only(vec![Step::identify_default(), Step::age_verify(0)]),
            InvalidParams,
            "steps[1].params.min_age",
        ),
        ("min_age 121", only(vec![Step::age_verify(121)]), InvalidParams, "steps[0].params.min_age"),
        ("terms empty", only(vec![Step::light_sign("")]), InvalidParams, "steps[0].params.terms"),
        ("terms long", only(vec![Step::light_sign(s(10_001, 't'))]), InvalidParams, "steps[0].params.terms"),
        (
            "title long",
            only(vec![Step::light_sign("t").with_title(s(201, 't'))]),
            InvalidParams,
            "steps[0].params.title",
        ),
        (
            "sign no documents",
            only(vec![Step::sign(Vec::<String>::new())]),
            InvalidParams,
            "steps[0].params.documents",
        ),
        (
            "client_reference_id",
            with(&|r| r.client_reference_id = Some(s(256, 'c'))),
            InvalidField,
            "client_reference_id",
        ),
        (
            "metadata 51",
            with(&|r| r.metadata = Some((0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect())),
            InvalidField,
            "metadata",
        ),
        (
            "metadata value",
            with(&|r| r.metadata = Some(BTreeMap::from([("cart".to_owned(), s(501, 'v'))]))),
            InvalidField,
            "metadata.cart",
        ),
        (
            "metadata empty key",
            with(&|r| r.metadata = Some(BTreeMap::from([(String::new(), "v".to_owned())]))),
            InvalidField,
            "metadata.",
        ),
        (
            "return_url",
            with(&|r| r.return_url = Some("http://shop.example.com".into())),
            InvalidField,
            "return_url",
        ),
    ];
    for e in [0, 59, 86401, u32::MAX] {
        cases.push(("expires_in", with(&|r| r.expires_in = Some(e)), InvalidField, "expires_in"));
    }
    for (name, req, code, param) in cases {
        let err = req.validate().unwrap_err();
        assert_eq!((err.code, err.param.as_deref()), (code, Some(param)), "{name}");
        // What the client would send is refused by the server's parser in the same way.
        let de =
            serde_json::from_value::<CreateSessionRequest>(serde_json::to_value(&req).unwrap()).unwrap_err();
        assert!(de.to_string().contains(param), "{name}: {de}");
    }

    let mut good = CreateSessionRequest::new(vec![
        Step::identify([Block::FirstName]).gate(),
        Step::age_verify(1),
        Step::age_verify(120),
        Step::light_sign(s(10_000, 't')).with_title(s(200, 't')),
        Step::sign(["a.pdf"]),
    ]);
    good.client_reference_id = Some(s(255, 'ß'));
    good.metadata = Some((0..50).map(|i| (format!("{i:0>40}"), s(500, 'v'))).collect());
    good.return_url = Some("https://x.example".into());
    good.expires_in = Some(60);
    good.validate().unwrap();
    good.expires_in = Some(86400);
    good.validate().unwrap();
}

#[test]
fn step_deserialize_applies_the_step_rules() {
    let step: Step =
        serde_json::from_value(json!({"primitive": "age_verify", "params": {"min_age": 21}, "gate": true}))
            .unwrap();
    assert_eq!(step, Step::age_verify(21).gate());
    let err = serde_json::from_value::<Step>(json!({"primitive": "age_verify", "params": {"min_age": 0}}))
        .unwrap_err();
    assert!(err.to_string().contains("steps[0].params.min_age"), "{err}");
    assert!(serde_json::from_value::<Step>(json!({"primitive": "x"})).is_err());
    assert_eq!(
        serde_json::to_value(Step::light_sign("t").with_title("T")).unwrap(),
        json!({"primitive": "light_sign", "params": {"terms": "t", "title": "T"}})
    );
    assert_eq!(serde_json::to_value(Step::sign_all()).unwrap(), json!({"primitive": "sign"}));
    assert_eq!(serde_json::to_value(Step::identify_default()).unwrap(), json!({"primitive": "identify"}));
    // with_title only applies to light_sign.
    assert_eq!(Step::age_verify(18).with_title("x"), Step::age_verify(18));
}

#[test]
fn idempotency_key_rules() {
    assert!(validate::check_idempotency_key("7c2e1f9a-0b1c-4d2e-9f00-123456789abc").is_ok());
    assert!(validate::check_idempotency_key(&s(255, 'k')).is_ok());
    assert!(validate::check_idempotency_key("!~").is_ok());
    for bad in [String::new(), s(256, 'k'), "has space".into(), "tab\t".into(), "é".into(), "nul\0".into()] {
        let err = validate::check_idempotency_key(&bad).unwrap_err();
        assert_eq!(
            (err.code, err.param.as_deref()),
            (ErrorCode::InvalidField, Some("Idempotency-Key")),
            "{bad:?}"
        );
    }
}

#[test]
fn return_url_rules() {
    assert!(validate::check_return_url("https://shop.example.com").is_ok());
    assert!(validate::check_return_url("HTTPS://SHOP.EXAMPLE.COM/x").is_ok());
    for bad in [
        "http://shop.example.com",
        "https://",
        "//shop.example.com/x",
        "javascript:alert(1)",
        "data:text/html,x",
    ] {
        let err = validate::check_return_url(bad).unwrap_err();
        assert_eq!((err.code, err.param.as_deref()), (ErrorCode::InvalidField, Some("return_url")), "{bad}");
    }
}

#[test]
fn unknown_primitive_is_reported_before_unknown_step_keys() {
    let err = uip_types::validate::parse_create_session(&serde_json::json!({
        "steps": [{"primitive": "teleport", "foo": 1}]
    }))
    .unwrap_err();
    assert_eq!(err.code, uip_types::ErrorCode::UnknownPrimitive);
    assert_eq!(err.param.as_deref(), Some("steps[0].primitive"));
}
