//! Webhook event serialization (docs/DECISIONS.md §5): `data` starts with `session_id`, echoes appear
//! only when set (never null), and delivery ids follow the decided formats.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use uip_types::{
    delivery_id, EventContext, Primitive, SessionEnded, SessionStatus, StepCompleted, StepResult,
    WebhookEvent, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, SESSION_COMPLETED,
    SESSION_EXPIRED, SESSION_FAILED, SESSION_STOPPED, STEP_COMPLETED,
};

const SID: &str = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w";

fn ctx(with_echoes: bool) -> EventContext {
    let context = EventContext::new(SID);
    if with_echoes {
        context
            .with_client_reference_id("order_4815")
            .with_metadata(BTreeMap::from([("cart".to_owned(), "c_77".to_owned())]))
    } else {
        context
    }
}

fn step(with_echoes: bool, stage: u32, primitive: Primitive, result: StepResult) -> WebhookEvent {
    let step = StepCompleted::new(ctx(with_echoes), stage, primitive, result);
    assert_eq!(step.audit_id, format!("{SID}_{stage}"));
    WebhookEvent::StepCompleted(step)
}

fn ended(with_echoes: bool, status: SessionStatus, reason: Option<&str>) -> SessionEnded {
    let ended = SessionEnded::new(ctx(with_echoes), status);
    match reason {
        Some(reason) => ended.with_reason(reason),
        None => ended,
    }
}

fn all_events(with_echoes: bool) -> Vec<WebhookEvent> {
    let claims = BTreeMap::from([
        ("first_name".to_owned(), json!("Jane")),
        ("portrait".to_owned(), json!(uip_types::UNAVAILABLE)),
    ]);
    let sig = StepResult::Signature {
        signature: "c2lnbmF0dXJl".into(),
        document_hash: uip_types::hashing::sha256_tagged(b"foo"),
    };
    vec![
        step(with_echoes, 0, Primitive::Identify, StepResult::Identify { claims }),
        step(
            with_echoes,
            1,
            Primitive::AgeVerify,
            StepResult::AgeVerify { satisfied: true, min_age: Some(21) },
        ),
        step(with_echoes, 2, Primitive::LightSign, sig.clone()),
        step(with_echoes, 3, Primitive::Sign, sig),
        WebhookEvent::SessionCompleted(ended(with_echoes, SessionStatus::Completed, None)),
        WebhookEvent::SessionStopped(ended(with_echoes, SessionStatus::Stopped, None)),
        WebhookEvent::SessionFailed(ended(with_echoes, SessionStatus::Failed, Some("untrusted_issuer"))),
        WebhookEvent::SessionExpired(ended(with_echoes, SessionStatus::Expired, Some("step_window"))),
    ]
}

#[test]
fn data_starts_with_session_id() {
    for with_echoes in [false, true] {
        for e in all_events(with_echoes) {
            let v = e.to_value();
            // The byte form has the wire order (what the signature is computed over), whatever
            // serde_json's `preserve_order` feature: `event`, then `data` starting with
            // `session_id` and the echoes.
            let text = serde_json::to_string(&e).unwrap();
            let prefix = format!(r#"{{"event":"{}","data":{{"session_id":"{SID}""#, e.name());
            assert!(text.starts_with(&prefix), "{text}");
            if with_echoes {
                let echoes = format!(r#""session_id":"{SID}","client_reference_id":"#);
                assert!(text.contains(&echoes), "{text}");
                let reference = text.find("\"client_reference_id\"").unwrap();
                let metadata = text.find("\"metadata\"").unwrap();
                let rest =
                    text.find(if e.name() == "step.completed" { "\"stage\"" } else { "\"status\"" }).unwrap();
                assert!(reference < metadata && metadata < rest, "{text}");
            }
            assert_eq!(serde_json::to_value(&e).unwrap(), v);
            // And it parses back to the same event.
            assert_eq!(serde_json::from_str::<WebhookEvent>(&text).unwrap(), e);
        }
    }
}

#[test]
fn unset_echoes_are_omitted_never_null() {
    for e in all_events(false) {
        let v = e.to_value();
        let data = v["data"].as_object().unwrap();
        assert!(!data.contains_key("client_reference_id"), "{}: {v}", e.name());
        assert!(!data.contains_key("metadata"), "{}: {v}", e.name());
        assert!(!data.values().any(Value::is_null), "{}: {v}", e.name());
        assert!(!serde_json::to_string(&e).unwrap().contains("null"));
    }
    for e in all_events(true) {
        let v = e.to_value();
        assert_eq!(v["data"]["client_reference_id"], "order_4815");
        assert_eq!(v["data"]["metadata"], json!({"cart": "c_77"}));
    }
}

#[test]
fn data_fields_per_event() {
    let events = all_events(false);
    let data: Vec<Value> = events.iter().map(|e| e.to_value()["data"].clone()).collect();
    assert_eq!(
        data[0],
        json!({"session_id": SID, "stage": 0, "primitive": "identify", "audit_id": format!("{SID}_0"),
               "claims": {"first_name": "Jane", "portrait": "unavailable"}})
    );
    assert_eq!(
        data[1],
        json!({"session_id": SID, "stage": 1, "primitive": "age_verify", "audit_id": format!("{SID}_1"),
               "satisfied": true, "min_age": 21})
    );
    for (i, prim) in [(2, "light_sign"), (3, "sign")] {
        assert_eq!(
            data[i],
            json!({"session_id": SID, "stage": i, "primitive": prim, "audit_id": format!("{SID}_{i}"),
                   "signature": "c2lnbmF0dXJl", "document_hash": uip_types::hashing::sha256_tagged(b"foo")})
        );
    }
    assert_eq!(data[4], json!({"session_id": SID, "status": "completed"}));
    // session.stopped carries status "stopped" only.
    assert_eq!(data[5], json!({"session_id": SID, "status": "stopped"}));
    assert_eq!(data[6], json!({"session_id": SID, "status": "failed", "reason": "untrusted_issuer"}));
    assert_eq!(data[7], json!({"session_id": SID, "status": "expired", "reason": "step_window"}));
    // age_verify never carries a date of birth.
    assert!(data[1].get("dob").is_none() && data[1].get("claims").is_none());
}

#[test]
fn names_and_terminality() {
    let names: Vec<String> = all_events(false).iter().map(|e| e.name().to_owned()).collect();
    assert_eq!(
        names,
        [
            STEP_COMPLETED,
            STEP_COMPLETED,
            STEP_COMPLETED,
            STEP_COMPLETED,
            SESSION_COMPLETED,
            SESSION_STOPPED,
            SESSION_FAILED,
            SESSION_EXPIRED
        ]
    );
    assert_eq!(
        [STEP_COMPLETED, SESSION_COMPLETED, SESSION_STOPPED, SESSION_FAILED, SESSION_EXPIRED],
        ["step.completed", "session.completed", "session.stopped", "session.failed", "session.expired"]
    );
    let terminal: Vec<bool> = all_events(false).iter().map(WebhookEvent::is_terminal).collect();
    assert_eq!(terminal, [false, false, false, false, true, true, true, true]);
    for e in all_events(true) {
        assert_eq!(e.session_id(), SID);
    }
}

#[test]
fn delivery_ids() {
    let ids: Vec<String> = all_events(true).iter().map(WebhookEvent::delivery_id).collect();
    assert_eq!(
        ids,
        [
            format!("{SID}:step.completed:0"),
            format!("{SID}:step.completed:1"),
            format!("{SID}:step.completed:2"),
            format!("{SID}:step.completed:3"),
            format!("{SID}:session.completed"),
            format!("{SID}:session.stopped"),
            format!("{SID}:session.failed"),
            format!("{SID}:session.expired"),
        ]
    );
    for id in &ids {
        assert_eq!(delivery_id::session_id(id), Some(SID));
    }
    assert_eq!(delivery_id::for_step("sess_abc123", 0), "sess_abc123:step.completed:0");
    assert_eq!(delivery_id::for_step(SID, 19), format!("{SID}:step.completed:19"));
    assert_eq!(delivery_id::for_session_event(SID, SESSION_EXPIRED), format!("{SID}:session.expired"));
    assert_eq!(delivery_id::session_id("no-colon"), None);
    // The same event always has the same id (retries).
    assert_eq!(all_events(false)[2].delivery_id(), all_events(true)[2].delivery_id());
}

#[test]
fn header_names() {
    assert_eq!(HEADER_EVENT, "X-UIP-Event");
    assert_eq!(HEADER_TIMESTAMP, "X-UIP-Timestamp");
    assert_eq!(HEADER_SIGNATURE, "X-UIP-Signature");
    assert_eq!(HEADER_DELIVERY_ID, "X-UIP-Delivery-Id");
}

#[test]
fn from_value_agrees_with_deserialize() {
    for e in all_events(true) {
        let v = e.to_value();
        assert_eq!(WebhookEvent::from_value(v.clone()).unwrap(), e);
        assert_eq!(serde_json::from_value::<WebhookEvent>(v).unwrap(), e);
    }
    assert!(WebhookEvent::from_value(json!("x")).is_err());
    // Explicit nulls for optional echoes count as absent.
    let e = WebhookEvent::from_value(json!({"event": "session.stopped", "data": {
        "session_id": SID, "client_reference_id": null, "metadata": null, "status": "stopped"
    }}))
    .unwrap();
    assert_eq!(e, WebhookEvent::SessionStopped(ended(false, SessionStatus::Stopped, None)));
}
