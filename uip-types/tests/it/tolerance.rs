//! A newer server never breaks an older integrator: unknown response fields are ignored, unknown
//! enum values are kept as `Other(..)` and written back verbatim, unknown webhook events are kept
//! whole.

use crate::support as common;

use common::fixture;
use serde_json::{json, Value};
use uip_types::sandbox::{PageState, WalletRequest};
use uip_types::{
    ApiErrorBody, AuditRecord, Block, CatalogResponse, CreatedSession, DecisionResponse, ErrorCode,
    Primitive, Proof, SessionStatus, SessionView, StepResult, WalletId, WalletsResponse, WebhookEvent,
};

fn with_extra(mut v: Value, key: &str, extra: Value) -> Value {
    v.as_object_mut().unwrap().insert(key.to_owned(), extra);
    v
}

#[test]
fn unknown_response_fields_are_ignored() {
    let extra = json!({"nested": [1, 2, {"x": null}]});

    let base: CreatedSession = serde_json::from_value(fixture("spec/created_session.json")).unwrap();
    let v: CreatedSession =
        serde_json::from_value(with_extra(fixture("spec/created_session.json"), "livemode", extra.clone()))
            .unwrap();
    assert_eq!(v, base);

    let base: SessionView = serde_json::from_value(fixture("spec/session_view_d.json")).unwrap();
    let v: SessionView =
        serde_json::from_value(with_extra(fixture("spec/session_view_d.json"), "demo", json!(true))).unwrap();
    assert_eq!(v, base);

    let base: DecisionResponse = serde_json::from_value(fixture("spec/continue_response.json")).unwrap();
    let v: DecisionResponse =
        serde_json::from_value(with_extra(fixture("spec/continue_response.json"), "updated_at", json!("x")))
            .unwrap();
    assert_eq!(v, base);

    let v: ApiErrorBody = serde_json::from_value(json!({
        "error": "nope", "code": "resource/not-found", "request_id": "req_1", "docs": extra
    }))
    .unwrap();
    assert_eq!(v, ApiErrorBody::new(ErrorCode::NotFound, "nope"));

    let base: AuditRecord = serde_json::from_value(fixture("decisions/audit_age_verify.json")).unwrap();
    let v: AuditRecord =
        serde_json::from_value(with_extra(fixture("decisions/audit_age_verify.json"), "tsa", json!("x")))
            .unwrap();
    assert_eq!(v, base);

    let mut wallets = fixture("decisions/wallets.json");
    wallets["wallets"][0]["beta"] = json!(true);
    wallets["generated_at"] = json!("2026-06-07T12:00:00Z");
    let v: WalletsResponse = serde_json::from_value(wallets).unwrap();
    assert_eq!(v, serde_json::from_value::<WalletsResponse>(fixture("decisions/wallets.json")).unwrap());

    let mut catalog = fixture("decisions/catalog.json");
    catalog["primitives"][0]["currency"] = json!("usd");
    catalog["version"] = json!(2);
    let v: CatalogResponse = serde_json::from_value(catalog).unwrap();
    assert_eq!(v, serde_json::from_value::<CatalogResponse>(fixture("decisions/catalog.json")).unwrap());

    let v: PageState = serde_json::from_value(with_extra(
        fixture("sandbox/page_state_awaiting.json"),
        "theme",
        json!("dark"),
    ))
    .unwrap();
    assert_eq!(v, serde_json::from_value::<PageState>(fixture("sandbox/page_state_awaiting.json")).unwrap());

    let v: WalletRequest = serde_json::from_value(with_extra(
        fixture("sandbox/wallet_request_age_verify.json"),
        "protocol",
        json!("openid4vp"),
    ))
    .unwrap();
    assert_eq!(v.min_age, Some(21));
}

#[test]
fn unknown_webhook_data_fields_are_ignored() {
    for name in [
        "decisions/step_completed_identify.json",
        "decisions/step_completed_age_verify.json",
        "decisions/step_completed_light_sign.json",
        "decisions/step_completed_sign.json",
        "decisions/session_completed.json",
        "decisions/session_failed.json",
        "decisions/session_expired_ttl.json",
    ] {
        let base: WebhookEvent = serde_json::from_value(fixture(name)).unwrap();
        let mut body = fixture(name);
        body["data"]["verified_at"] = json!("2026-06-07T12:01:30Z");
        body["data"]["livemode"] = json!(false);
        body["api_version"] = json!("2026-06-01");
        let parsed: WebhookEvent = serde_json::from_value(body).unwrap();
        assert_eq!(parsed, base, "{name}");
    }
}

#[test]
fn unknown_session_status_is_kept() {
    let mut body = fixture("spec/session_view_d.json");
    body["status"] = json!("paused_for_review");
    let v: SessionView = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(v.status, SessionStatus::Other("paused_for_review".into()));
    assert!(!v.status.is_known());
    assert!(!v.status.is_terminal());
    assert_eq!(v.status.to_string(), "paused_for_review");
    assert_eq!(serde_json::to_value(&v).unwrap(), body);

    // Also in a terminal event.
    let e: WebhookEvent = serde_json::from_value(json!({
        "event": "session.completed", "data": {"session_id": "sess_a", "status": "completed_partially"}
    }))
    .unwrap();
    let WebhookEvent::SessionCompleted(d) = &e else { panic!() };
    assert_eq!(d.status, SessionStatus::Other("completed_partially".into()));
    assert_eq!(e.to_value()["data"]["status"], "completed_partially");
}

#[test]
fn unknown_primitive_is_kept() {
    let mut body = fixture("spec/session_view_d.json");
    body["primitives"] = json!(["identify", "face_match"]);
    body["current_primitive"] = json!("face_match");
    let v: SessionView = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(v.primitives[1], Primitive::Other("face_match".into()));
    assert_eq!(v.current_primitive, Some(Primitive::Other("face_match".into())));
    assert_eq!(v.primitives[1].price_cents(), None);
    assert_eq!(serde_json::to_value(&v).unwrap(), body);

    let d: DecisionResponse = serde_json::from_value(json!({
        "id": "sess_a", "status": "in_progress", "current_step": 1, "step_count": 2, "current_primitive": "face_match"
    }))
    .unwrap();
    assert_eq!(d.current_primitive, Some(Primitive::Other("face_match".into())));
}

#[test]
fn unknown_error_code_is_kept() {
    let body = json!({"error": "archived", "code": "auth/business-archived", "param": "Authorization"});
    let b: ApiErrorBody = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(b.code, Some(ErrorCode::Other("auth/business-archived".into())));
    assert_eq!(b.code.as_ref().and_then(ErrorCode::http_status), None);
    assert_eq!(serde_json::to_value(&b).unwrap(), body);
    assert_eq!(format!("{:?}", b.code.unwrap()), r#"ErrorCode::Other("auth/business-archived")"#);
}

#[test]
fn unknown_block_is_kept() {
    let mut body = fixture("sandbox/wallet_request_identify.json");
    body["blocks"] = json!(["first_name", "gender", "resident_state"]);
    let r: WalletRequest = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(
        r.blocks.as_deref().unwrap(),
        &[Block::FirstName, Block::Other("gender".into()), Block::Other("resident_state".into())]
    );
    assert_eq!(serde_json::to_value(&r).unwrap(), body);

    let mut audit = fixture("decisions/audit_identify.json");
    audit["proof"]["blocks"] = json!(["address", "dob"]);
    let a: AuditRecord = serde_json::from_value(audit.clone()).unwrap();
    let Proof::Identify { blocks, .. } = &a.proof else { panic!("{:?}", a.proof) };
    assert_eq!(blocks, &[Block::Other("address".into()), Block::Dob]);
    assert_eq!(serde_json::to_value(&a).unwrap(), audit);
}

#[test]
fn unknown_wallet_is_kept() {
    let mut audit = fixture("decisions/audit_age_verify.json");
    audit["wallet"] = json!("samsung-wallet");
    let a: AuditRecord = serde_json::from_value(audit.clone()).unwrap();
    assert_eq!(a.wallet, WalletId::Other("samsung-wallet".into()));
    assert!(a.wallet.primitives().is_empty());
    assert!(!a.wallet.supports(&Primitive::Identify));
    assert_eq!(serde_json::to_value(&a).unwrap(), audit);

    let mut wallets = fixture("decisions/wallets.json");
    wallets["wallets"][1]["id"] = json!("samsung-wallet");
    wallets["wallets"][1]["primitives"] = json!(["identify", "face_match"]);
    let w: WalletsResponse = serde_json::from_value(wallets.clone()).unwrap();
    assert_eq!(w.wallets[1].id, WalletId::Other("samsung-wallet".into()));
    assert_eq!(w.wallets[1].primitives[1], Primitive::Other("face_match".into()));
    assert_eq!(serde_json::to_value(&w).unwrap(), wallets);
}

#[test]
fn open_enums_round_trip_every_known_value() {
    for s in SessionStatus::KNOWN {
        assert_eq!(SessionStatus::parse(s.as_str()), *s);
        assert_eq!(serde_json::from_value::<SessionStatus>(json!(s.as_str())).unwrap(), *s);
        assert_eq!(s.as_str().parse::<SessionStatus>().unwrap(), *s);
    }
    let terminal: Vec<_> =
        SessionStatus::KNOWN.iter().filter(|s| s.is_terminal()).map(|s| s.as_str()).collect();
    assert_eq!(terminal, ["completed", "stopped", "failed", "expired"]);
    for p in Primitive::KNOWN {
        assert_eq!(Primitive::parse(p.as_str()), *p);
        assert!(p.price_cents().is_some());
    }
    for b in Block::KNOWN {
        assert_eq!(serde_json::from_value::<Block>(serde_json::to_value(b).unwrap()).unwrap(), *b);
    }
    for w in WalletId::KNOWN {
        assert_eq!(WalletId::parse(w.as_str()), *w);
    }
    for c in ErrorCode::KNOWN {
        assert_eq!(ErrorCode::parse(c.as_str()), *c);
        assert!(c.http_status().is_some());
    }
}

#[test]
fn unknown_webhook_event_keeps_raw_data() {
    let body =
        json!({"event": "session.created", "data": {"session_id": "sess_a", "extra": [1, {"b": null}]}});
    let e: WebhookEvent = serde_json::from_value(body.clone()).unwrap();
    let WebhookEvent::Unknown { event, data } = &e else { panic!("{e:?}") };
    assert_eq!(event, "session.created");
    assert_eq!(data, &body["data"]);
    assert_eq!(e.name(), "session.created");
    assert_eq!(e.session_id(), "sess_a");
    assert_eq!(e.delivery_id(), "sess_a:session.created");
    assert!(!e.is_terminal());
    assert_eq!(e.to_value(), body);
    assert_eq!(serde_json::to_value(&e).unwrap(), body);

    // Data of any shape, or none at all, is kept too.
    let e: WebhookEvent = serde_json::from_value(json!({"event": "ping", "data": [1, 2]})).unwrap();
    assert_eq!(e, WebhookEvent::Unknown { event: "ping".into(), data: json!([1, 2]) });
    assert_eq!(e.session_id(), "");
    let e: WebhookEvent = serde_json::from_value(json!({"event": "ping"})).unwrap();
    assert_eq!(e, WebhookEvent::Unknown { event: "ping".into(), data: Value::Null });
}

#[test]
fn step_completed_with_unknown_primitive_keeps_result_fields() {
    let body = json!({"event": "step.completed", "data": {
        "session_id": "sess_a", "client_reference_id": "r", "stage": 4, "primitive": "face_match",
        "audit_id": "sess_a_4", "score": 0.97, "liveness": {"passed": true}
    }});
    let e: WebhookEvent = serde_json::from_value(body.clone()).unwrap();
    let WebhookEvent::StepCompleted(s) = &e else { panic!() };
    assert_eq!(s.primitive, Primitive::Other("face_match".into()));
    let StepResult::Other(fields) = &s.result else { panic!("{:?}", s.result) };
    assert_eq!(fields.len(), 2);
    assert_eq!(fields["score"], json!(0.97));
    assert_eq!(e.to_value(), body);
    assert_eq!(e.delivery_id(), "sess_a:step.completed:4");
}

#[test]
fn unknown_proof_shape_is_kept_whole() {
    // A proof of a primitive this version does not know.
    let mut audit = fixture("decisions/audit_age_verify.json");
    audit["primitive"] = json!("face_match");
    audit["proof"] = json!({"score_digest": "sha256:00", "model": "v2"});
    let a: AuditRecord = serde_json::from_value(audit.clone()).unwrap();
    assert_eq!(a.proof, Proof::Other(audit["proof"].clone()));
    assert_eq!(serde_json::to_value(&a).unwrap(), audit);

    // A known shape with an extra field is kept whole as well, so the record hash still verifies.
    let mut audit = fixture("decisions/audit_age_verify.json");
    audit["proof"] = json!({"satisfied": true, "min_age": 18, "evidence": "sha256:11"});
    let a: AuditRecord = serde_json::from_value(audit.clone()).unwrap();
    assert_eq!(a.proof, Proof::Other(audit["proof"].clone()));
    assert_eq!(serde_json::to_value(&a).unwrap(), audit);
}

#[test]
fn known_events_with_broken_fields_are_errors() {
    let cases = [
        (json!({"event": "step.completed", "data": {"stage": 0}}), "session_id"),
        (
            json!({"event": "step.completed", "data": {"session_id": "s", "primitive": "identify", "audit_id": "s_0", "claims": {}}}),
            "stage",
        ),
        (
            json!({"event": "step.completed", "data": {"session_id": "s", "stage": 0, "primitive": "identify", "audit_id": "s_0"}}),
            "claims",
        ),
        (
            json!({"event": "step.completed", "data": {"session_id": "s", "stage": 0, "primitive": "age_verify", "audit_id": "s_0", "min_age": 18}}),
            "satisfied",
        ),
        (
            // `min_age` may be absent, but when present it is the threshold.
            json!({"event": "step.completed", "data": {"session_id": "s", "stage": 0, "primitive": "age_verify", "audit_id": "s_0", "satisfied": true, "min_age": "21"}}),
            "min_age",
        ),
        (
            json!({"event": "step.completed", "data": {"session_id": "s", "stage": 0, "primitive": "sign", "audit_id": "s_0", "signature": "x"}}),
            "document_hash",
        ),
        (json!({"event": "session.failed", "data": {"session_id": "s", "reason": 5}}), "reason"),
        (json!({"event": "session.completed", "data": {"session_id": "s", "status": 1}}), "status"),
        (
            json!({"event": "session.completed", "data": {"session_id": "s", "metadata": {"a": 1}}}),
            "metadata",
        ),
        (json!({"event": "session.completed", "data": "x"}), "data"),
        (json!({"data": {}}), "event"),
        (json!([1]), "object"),
    ];
    for (body, needle) in cases {
        let err = serde_json::from_value::<WebhookEvent>(body.clone()).unwrap_err().to_string();
        assert!(err.contains(needle), "{body}: `{err}` should mention `{needle}`");
    }
}
