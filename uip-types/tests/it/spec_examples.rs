//! Every JSON example of the public docs (docs/UIP-API.md: requests, responses, each event, the
//! error body, an audit record), one file each under `tests/resources/spec/`, copied as the docs
//! show it: each parses into its uip-types type, and serializing it back keeps every field with
//! the same value (compared as JSON values, field by field). Reading is tolerant
//! (docs/DECISIONS.md §11), so the shapes the docs show but the sandbox never writes are here too.

use crate::support as common;

use std::collections::BTreeSet;

use common::{fixture, fixture_path, fixture_text};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use uip_types::{
    ApiErrorBody, AuditRecord, CreateSessionRequest, CreatedSession, DecisionResponse, ErrorCode, Primitive,
    ReceivedAuditRecord, SessionStatus, SessionView, StepResult, WebhookEvent,
};

/// The type a fixture parses into.
#[derive(Clone, Copy, Debug)]
enum Kind {
    CreateRequest,
    CreatedSession,
    SessionView,
    Decision,
    Event,
    Audit,
    ErrorBody,
}

/// One documented example, and what serializing it may add (a JSON pointer and its value): the
/// sandbox's form of a terminal event always carries `status`, which some doc pages leave out.
struct Example {
    file: &'static str,
    kind: Kind,
    added: &'static [(&'static str, &'static str)],
}

const fn ex(file: &'static str, kind: Kind) -> Example {
    Example { file, kind, added: &[] }
}

const EXAMPLES: &[Example] = &[
    // §3.1 create: the docs' example, and one with every documented field.
    ex("create_request.json", Kind::CreateRequest),
    ex("create_request_all_fields.json", Kind::CreateRequest),
    // §3.1 response.
    ex("created_session.json", Kind::CreatedSession),
    // §3.2 the primary shape [D], and the variant [M] while paused and once over.
    ex("session_view_d.json", Kind::SessionView),
    ex("session_view_m.json", Kind::SessionView),
    ex("session_view_m_completed.json", Kind::SessionView),
    // §3.3 / §3.4.
    ex("continue_response.json", Kind::Decision),
    ex("stop_response.json", Kind::Decision),
    // §6.5 the envelope with placeholders: an event name this version does not know.
    ex("webhook_envelope.json", Kind::Event),
    // §6.6 step.completed per primitive; age_verify with and without `min_age` (§5.2).
    ex("step_completed_identify.json", Kind::Event),
    // §5.1: the claims example, a block the credential lacks ("unavailable"), and [M]'s `null`.
    ex("step_completed_identify_unavailable.json", Kind::Event),
    ex("step_completed_age_verify.json", Kind::Event),
    ex("step_completed_age_verify_satisfied_only.json", Kind::Event),
    ex("step_completed_sign.json", Kind::Event),
    ex("step_completed_light_sign.json", Kind::Event),
    // §6.6 terminal events, in every shape the pages show.
    ex("session_completed.json", Kind::Event),
    ex("session_completed_with_echoes.json", Kind::Event),
    ex("session_stopped.json", Kind::Event),
    Example {
        file: "session_stopped_reason_variant.json",
        kind: Kind::Event,
        added: &[("/data/status", "stopped")],
    },
    Example { file: "session_failed.json", kind: Kind::Event, added: &[("/data/status", "failed")] },
    Example {
        file: "session_failed_internal_error.json",
        kind: Kind::Event,
        added: &[("/data/status", "failed")],
    },
    Example {
        file: "session_failed_verification_error.json",
        kind: Kind::Event,
        added: &[("/data/status", "failed")],
    },
    // §7.2.
    ex("audit_record.json", Kind::Audit),
    // §10.1, and the bare `{"error"}` (docs/DECISIONS.md §11).
    ex("error_body.json", Kind::ErrorBody),
    ex("error_body_message_only.json", Kind::ErrorBody),
];

fn spec_files_on_disk() -> BTreeSet<String> {
    let dir = fixture_path("spec");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect()
}

#[test]
fn every_spec_fixture_is_listed_and_none_is_missing() {
    let on_disk = spec_files_on_disk();
    let listed: BTreeSet<String> = EXAMPLES.iter().map(|e| e.file.to_owned()).collect();
    assert_eq!(listed.len(), EXAMPLES.len(), "a fixture is listed twice");
    assert_eq!(on_disk, listed, "tests/resources/spec/ and EXAMPLES differ");
    // A guard against an empty or truncated directory passing vacuously.
    assert!(on_disk.len() >= 25, "only {} spec fixtures", on_disk.len());
}

/// Parses the fixture text into `T` and serializes it again.
fn reserialize<T: DeserializeOwned + Serialize>(file: &str, text: &str) -> Value {
    let parsed: T = serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: does not parse: {e}"));
    serde_json::to_value(&parsed).unwrap_or_else(|e| panic!("{file}: does not serialize: {e}"))
}

/// Compares `input` (the fixture) with `output` (its re-serialization), field by field. Every
/// field of the input must come out with the same value; the output may add only `added`.
fn compare(input: &Value, output: &Value, pointer: &str, added: &[(&str, &str)], errors: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (key, value) in i {
                let at = format!("{pointer}/{key}");
                match o.get(key) {
                    Some(out) => compare(value, out, &at, added, errors),
                    None => errors.push(format!("{at} was lost")),
                }
            }
            for (key, value) in o {
                let at = format!("{pointer}/{key}");
                if i.contains_key(key) {
                    continue;
                }
                match added.iter().find(|(p, _)| *p == at) {
                    Some((_, expected)) if value == &json!(expected) => {}
                    _ => errors.push(format!("{at} was added: {value}")),
                }
            }
        }
        (Value::Array(i), Value::Array(o)) if i.len() == o.len() => {
            for (n, (a, b)) in i.iter().zip(o).enumerate() {
                compare(a, b, &format!("{pointer}/{n}"), added, errors);
            }
        }
        (a, b) if a == b => {}
        (a, b) => errors.push(format!("{pointer} changed from {a} to {b}")),
    }
}

#[test]
fn every_spec_example_parses_and_keeps_every_field() {
    let mut checked = 0;
    for example in EXAMPLES {
        let name = format!("spec/{}", example.file);
        let text = fixture_text(&name);
        let input = fixture(&name);
        let output = match example.kind {
            Kind::CreateRequest => reserialize::<CreateSessionRequest>(&name, &text),
            Kind::CreatedSession => reserialize::<CreatedSession>(&name, &text),
            Kind::SessionView => reserialize::<SessionView>(&name, &text),
            Kind::Decision => reserialize::<DecisionResponse>(&name, &text),
            Kind::Event => reserialize::<WebhookEvent>(&name, &text),
            Kind::Audit => {
                // Both the typed record and the record as received.
                let received = reserialize::<ReceivedAuditRecord>(&name, &text);
                assert_eq!(received, input, "{name}: the received record changed");
                reserialize::<AuditRecord>(&name, &text)
            }
            Kind::ErrorBody => reserialize::<ApiErrorBody>(&name, &text),
        };
        let mut errors = Vec::new();
        compare(&input, &output, "", example.added, &mut errors);
        assert!(errors.is_empty(), "{name} ({:?}) does not round-trip:\n{}", example.kind, errors.join("\n"));
        // The added fields were really added (the list is not stale).
        for (pointer, _) in example.added {
            assert!(input.pointer(pointer).is_none(), "{name}: {pointer} is in the fixture");
            assert!(output.pointer(pointer).is_some(), "{name}: {pointer} was not added");
        }
        checked += 1;
    }
    assert_eq!(checked, spec_files_on_disk().len());
}

#[test]
fn the_comparison_catches_a_lost_a_changed_and_an_added_field() {
    // The checker itself: a lost field, a changed value and an unlisted addition are all reported.
    let input = json!({"a": 1, "b": {"c": [1, 2]}, "d": "x"});
    let output = json!({"a": 1, "b": {"c": [1, 3]}, "e": true});
    let mut errors = Vec::new();
    compare(&input, &output, "", &[], &mut errors);
    assert_eq!(errors, ["/b/c/1 changed from 2 to 3", "/d was lost", "/e was added: true"]);
    let mut errors = Vec::new();
    compare(&json!({}), &json!({"s": "failed"}), "", &[("/s", "failed")], &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    compare(&json!({}), &json!({"s": "stopped"}), "", &[("/s", "failed")], &mut errors);
    assert_eq!(errors, ["/s was added: \"stopped\""]);
}

fn event(file: &str) -> WebhookEvent {
    serde_json::from_value(fixture(&format!("spec/{file}"))).unwrap()
}

fn step(file: &str) -> uip_types::StepCompleted {
    match event(file) {
        WebhookEvent::StepCompleted(s) => s,
        other => panic!("{file}: {other:?}"),
    }
}

#[test]
fn age_verify_results_with_and_without_min_age() {
    let s = step("step_completed_age_verify.json");
    assert_eq!(s.result, StepResult::AgeVerify { satisfied: true, min_age: Some(21) });
    assert_eq!((s.stage, s.audit_id.as_str()), (1, "sess_abc123_1"));

    // §5.2: the service "returns only `satisfied`".
    let s = step("step_completed_age_verify_satisfied_only.json");
    assert_eq!(s.result, StepResult::AgeVerify { satisfied: true, min_age: None });
    assert_eq!(s.primitive, Primitive::AgeVerify);
}

#[test]
fn identify_claims_keep_unavailable_and_null_values() {
    let s = step("step_completed_identify_unavailable.json");
    let StepResult::Identify { claims } = &s.result else { panic!("{:?}", s.result) };
    assert_eq!(claims.len(), 6);
    assert_eq!(claims["dob"], "1990-04-01");
    assert_eq!(claims["document_number"], uip_types::UNAVAILABLE);
    assert_eq!(claims["gender"], Value::Null);
}

#[test]
fn sign_and_light_sign_results() {
    for (file, primitive) in [
        ("step_completed_sign.json", Primitive::Sign),
        ("step_completed_light_sign.json", Primitive::LightSign),
    ] {
        let s = step(file);
        assert_eq!(s.primitive, primitive, "{file}");
        assert_eq!(
            s.result,
            StepResult::Signature {
                signature: "<device signature>".into(),
                document_hash: "<hash that was signed>".into()
            },
            "{file}"
        );
    }
}

#[test]
fn terminal_events_in_every_documented_shape() {
    let ended = |file: &str| match event(file) {
        WebhookEvent::SessionCompleted(d)
        | WebhookEvent::SessionStopped(d)
        | WebhookEvent::SessionFailed(d)
        | WebhookEvent::SessionExpired(d) => d,
        other => panic!("{file}: {other:?}"),
    };
    let d = ended("session_completed_with_echoes.json");
    assert_eq!(d.status, SessionStatus::Completed);
    assert_eq!(d.context.client_reference_id.as_deref(), Some("order_4815"));
    assert_eq!(d.context.metadata.unwrap()["cart"], "c_77");

    for (file, reason) in [
        ("session_failed.json", "insufficient_funds"),
        ("session_failed_internal_error.json", "internal_error"),
        ("session_failed_verification_error.json", "<verification error message>"),
    ] {
        assert!(matches!(event(file), WebhookEvent::SessionFailed(_)), "{file}");
        let d = ended(file);
        assert_eq!((d.status, d.reason.as_deref()), (SessionStatus::Failed, Some(reason)), "{file}");
    }
}

#[test]
fn variant_session_view_of_a_finished_session() {
    let v: SessionView = serde_json::from_value(fixture("spec/session_view_m_completed.json")).unwrap();
    assert_eq!(v.status, SessionStatus::Completed);
    assert_eq!(v.outcome, Some(SessionStatus::Completed));
    assert_eq!(v.terminal_outcome(), Some(&SessionStatus::Completed));
    let results = v.results.unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!((results[0].step, &results[0].primitive), (0, &Primitive::AgeVerify));
    assert_eq!(results[0].result, StepResult::AgeVerify { satisfied: true, min_age: None });
    assert_eq!((results[1].step, &results[1].primitive), (1, &Primitive::LightSign));
    assert_eq!(results[1].audit_id, "aud_9f2c1f");
    assert!(
        matches!(&results[1].result, StepResult::Signature { signature, .. } if signature == "<device signature>")
    );

    // While paused, `outcome` is "" and names no terminal status.
    let v: SessionView = serde_json::from_value(fixture("spec/session_view_m.json")).unwrap();
    assert_eq!(v.terminal_outcome(), None);
}

#[test]
fn variant_results_that_do_not_fit_their_primitive_are_kept_whole() {
    // An identify result without `claims` does not fail the whole session read.
    let mut body = fixture("spec/session_view_m.json");
    body["results"][0].as_object_mut().unwrap().remove("claims");
    body["results"][0]["claims_digest"] = json!("sha256:00");
    let v: SessionView = serde_json::from_value(body.clone()).unwrap();
    let r = &v.results.as_ref().unwrap()[0];
    let StepResult::Other(fields) = &r.result else { panic!("{r:?}") };
    assert_eq!(fields["claims_digest"], "sha256:00");
    assert_eq!(serde_json::to_value(&v).unwrap(), body);

    // The common fields are required, as the docs show them on every result.
    for field in ["step", "primitive", "verified_at", "audit_id"] {
        let mut body = fixture("spec/session_view_m.json");
        body["results"][0].as_object_mut().unwrap().remove(field);
        let err = serde_json::from_value::<SessionView>(body).unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
}

#[test]
fn create_request_with_every_documented_field() {
    let req: CreateSessionRequest =
        serde_json::from_value(fixture("spec/create_request_all_fields.json")).unwrap();
    req.validate().unwrap();
    assert!(req.steps[0].gate);
    assert!(!req.steps[1].gate);
    assert_eq!(req.expires_in, Some(3600));
    assert_eq!(req.metadata.as_ref().unwrap()["cart"], "c_77");
}

#[test]
fn error_body_with_a_message_only() {
    let b: ApiErrorBody = serde_json::from_value(fixture("spec/error_body_message_only.json")).unwrap();
    assert_eq!((b.error.as_str(), b.code, b.param), ("<human-readable message>", None, None));
    let b: ApiErrorBody = serde_json::from_value(fixture("spec/error_body.json")).unwrap();
    assert_eq!(b.code, Some(ErrorCode::Other("<category>/<slug>".into())));
}
