//! The verifier accepts a correctly signed delivery of every event body shape the public docs
//! show (docs/UIP-API.md §6.5–6.6, docs/DECISIONS.md §11), not only the shapes the sandbox sends:
//! rejecting a genuine, correctly signed delivery is the worst bug a verifier can have.
//!
//! The bodies are uip-types' spec fixtures, signed byte for byte as they are on disk.

use std::collections::BTreeSet;
use std::path::PathBuf;

use uip_types::{StepResult, WebhookEvent, WebhookSecret};
use uip_webhook_verify::{sign, Verifier};

const SECRET: &str = "uip_whsec_docs_examples";
const NOW: u64 = 1_749_300_000;

/// `(file name, raw bytes)` of every spec fixture that is a webhook body (has an `event`).
fn event_bodies() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../uip-types/tests/resources/spec");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        if value.get("event").is_some() {
            out.push((path.file_name().unwrap().to_string_lossy().into_owned(), bytes));
        }
    }
    out.sort();
    out
}

#[test]
fn every_documented_event_shape_verifies_when_correctly_signed() {
    let secret = WebhookSecret::new(SECRET);
    let verifier = Verifier::new(secret.clone()).unwrap().with_now(NOW);
    let bodies = event_bodies();
    // A guard against a missing or emptied fixture directory passing vacuously.
    assert!(bodies.len() >= 14, "only {} event fixtures", bodies.len());

    let mut names = BTreeSet::new();
    let mut step_primitives = BTreeSet::new();
    for (file, body) in &bodies {
        let expected: WebhookEvent =
            serde_json::from_slice(body).unwrap_or_else(|e| panic!("{file}: uip-types rejects it: {e}"));
        let timestamp = NOW.to_string();
        let signature = sign(&secret, NOW, body);
        let delivery_id = expected.delivery_id();
        let headers = [
            ("X-UIP-Event", expected.name()),
            ("X-UIP-Timestamp", timestamp.as_str()),
            ("X-UIP-Signature", signature.as_str()),
            ("X-UIP-Delivery-Id", delivery_id.as_str()),
        ];
        let delivery = verifier
            .verify(&headers, body)
            .unwrap_or_else(|e| panic!("{file}: a correctly signed delivery was rejected: {e}"));
        assert_eq!(delivery.event, expected, "{file}");
        assert_eq!(delivery.event_name, expected.name(), "{file}");
        assert_eq!(delivery.delivery_id, delivery_id, "{file}");
        assert_eq!(delivery.timestamp, NOW, "{file}");

        // The same bytes with one byte changed do not verify: the acceptance is not vacuous.
        let mut tampered = body.clone();
        let last = tampered.iter().rposition(|b| !b.is_ascii_whitespace()).unwrap();
        tampered.insert(last, b' ');
        assert_eq!(verifier.verify(&headers, &tampered).unwrap_err().kind(), "signature_mismatch", "{file}");

        names.insert(delivery.event_name.clone());
        if let WebhookEvent::StepCompleted(s) = &delivery.event {
            step_primitives.insert(s.primitive.as_str().to_owned());
            if let StepResult::AgeVerify { min_age: None, satisfied } = s.result {
                assert!(satisfied, "{file}");
            }
        }
    }
    // Every documented event, and a step.completed of every primitive.
    for name in ["step.completed", "session.completed", "session.stopped", "session.failed"] {
        assert!(names.contains(name), "no fixture of {name}");
    }
    for primitive in ["identify", "age_verify", "sign", "light_sign"] {
        assert!(step_primitives.contains(primitive), "no step.completed fixture of {primitive}");
    }
}

#[test]
fn age_verify_without_min_age_and_terminal_events_without_status_verify() {
    // The two shapes the sandbox never sends, spelled out.
    let secret = WebhookSecret::new(SECRET);
    let verifier = Verifier::new(secret.clone()).unwrap().with_now(NOW);
    let cases: [(&str, &[u8]); 3] = [
        (
            "step.completed",
            br#"{"event":"step.completed","data":{"session_id":"sess_a","stage":0,"primitive":"age_verify","audit_id":"sess_a_0","satisfied":false}}"#,
        ),
        ("session.stopped", br#"{"event":"session.stopped","data":{"session_id":"sess_a","reason":"stopped"}}"#),
        ("session.failed", br#"{"event":"session.failed","data":{"session_id":"sess_a"}}"#),
    ];
    for (event, body) in cases {
        let signature = sign(&secret, NOW, body);
        let timestamp = NOW.to_string();
        let headers = [
            ("X-UIP-Event", event),
            ("X-UIP-Timestamp", timestamp.as_str()),
            ("X-UIP-Signature", signature.as_str()),
            ("X-UIP-Delivery-Id", "d_1"),
        ];
        let delivery = verifier.verify(&headers, body).unwrap_or_else(|e| panic!("{event}: {e}"));
        match delivery.event {
            WebhookEvent::StepCompleted(s) => {
                assert_eq!(s.result, StepResult::AgeVerify { satisfied: false, min_age: None })
            }
            WebhookEvent::SessionStopped(d) => assert_eq!(d.reason.as_deref(), Some("stopped")),
            WebhookEvent::SessionFailed(d) => assert_eq!(d.reason, None),
            other => panic!("{event}: {other:?}"),
        }
    }
}
