//! Every JSON shape shown in docs/UIP-API.md and docs/DECISIONS.md (plus the sandbox's control and page
//! shapes) parses into its type and round-trips: parse → serialize → parse gives the same value,
//! and where the example is already in canonical form, serializing reproduces it exactly (as a
//! JSON value).

use crate::support as common;

use common::{fixture, round_trip};
use serde_json::json;
use uip_types::sandbox::{
    BusinessCredentials, BusinessPatch, BusinessView, ClockNow, DeliveryFault, DeliveryLog, DeliveryStatus,
    FaultPlan, Inbox, NewBusiness, OpenResponse, PageState, Personas, RedeliverRequest, ResponseOutcome,
    ResponseResult, SimulateAction, SimulateRequest, Trust, WalletAction, WalletRequest, WalletResponse,
};
use uip_types::{
    ApiErrorBody, AuditRecord, Block, CatalogResponse, CreateSessionRequest, CreatedSession,
    DecisionResponse, ErrorCode, Primitive, Proof, ProofDocument, SessionStatus, SessionView, StepParams,
    StepResult, WalletId, WalletInfo, WalletsResponse, WebhookEvent,
};

const SID: &str = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w";

fn ts(s: &str) -> uip_types::Timestamp {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc)
}

// ---------------------------------------------------------------------------------------------
// docs/UIP-API.md
// ---------------------------------------------------------------------------------------------

#[test]
fn spec_create_request() {
    let req: CreateSessionRequest = round_trip("spec/create_request.json", true);
    assert_eq!(req.steps.len(), 2);
    assert_eq!(req.steps[0].primitive(), Primitive::Identify);
    let StepParams::Identify(p) = &req.steps[0].params else { panic!("not identify") };
    assert_eq!(p.blocks, Some(vec![Block::FirstName, Block::LastName, Block::Country]));
    let StepParams::AgeVerify(p) = &req.steps[1].params else { panic!("not age_verify") };
    assert_eq!(p.min_age, Some(21));
    assert_eq!(req.client_reference_id.as_deref(), Some("order_4815"));
    assert_eq!(req.return_url.as_deref(), Some("https://shop.example.com/verified"));
    assert_eq!(req.metadata, None);
    assert_eq!(req.expires_in, None);
    assert!(!req.steps.iter().any(|s| s.gate));
    req.validate().unwrap();
    assert_eq!(req.total_price_cents(), 2);
    assert!(!req.has_sign_step());
}

#[test]
fn spec_created_session() {
    let s: CreatedSession = round_trip("spec/created_session.json", true);
    assert_eq!(s.id.as_str(), "sess_abc123");
    assert_eq!(s.status, SessionStatus::Created);
    assert_eq!(s.url.expose(), "https://uip.digital/s/sess_abc123");
    assert_eq!(s.expires, ts("2026-06-07T12:34:56Z"));
}

#[test]
fn spec_session_view_primary_shape() {
    let v: SessionView = round_trip("spec/session_view_d.json", true);
    assert_eq!(v.id, "sess_abc123");
    assert_eq!(v.status, SessionStatus::AwaitingDecision);
    assert_eq!((v.current_step, v.step_count), (0, 2));
    assert_eq!(v.primitives, vec![Primitive::Identify, Primitive::Sign]);
    assert_eq!(v.current_primitive, Some(Primitive::Identify));
    assert_eq!(v.created_at, Some(ts("2026-06-07T12:00:00Z")));
    assert_eq!(v.updated_at, Some(ts("2026-06-07T12:01:30Z")));
    assert_eq!(v.expires_at, Some(ts("2026-06-07T13:00:00Z")));
    assert_eq!(v.client_reference_id, None);
    assert_eq!(v.metadata, None);
}

#[test]
fn spec_session_view_variant_shape_reads_results_and_outcome() {
    // The [M] variant: typed `results` and `outcome`; the [D] fields it lacks are optional.
    let v: SessionView = round_trip("spec/session_view_m.json", true);
    assert_eq!(v.status, SessionStatus::AwaitingDecision);
    assert_eq!((v.current_step, v.step_count), (1, 2));
    assert!(v.primitives.is_empty());
    assert_eq!(v.current_primitive, None);
    assert_eq!(v.created_at, None);
    assert_eq!(v.expires_at, None);
    assert_eq!(v.updated_at, Some(ts("2026-06-07T12:01:30Z")));
    assert_eq!(v.client_reference_id.as_deref(), Some("order_4815"));
    assert_eq!(v.metadata.unwrap()["cart"], "c_77");
    let results = v.results.expect("results");
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!((r.step, &r.primitive, r.audit_id.as_str()), (0, &Primitive::Identify, "aud_9f2c1e"));
    assert_eq!(r.verified_at, ts("2026-06-07T12:01:30Z"));
    let StepResult::Identify { claims } = &r.result else { panic!("{r:?}") };
    assert_eq!(claims.len(), 4);
    assert_eq!(claims["dob"], "1990-04-01");
    assert_eq!(v.outcome, Some(SessionStatus::Other(String::new())));
}

#[test]
fn spec_continue_and_stop_responses() {
    let c: DecisionResponse = round_trip("spec/continue_response.json", true);
    assert_eq!(c.status, SessionStatus::InProgress);
    assert_eq!((c.current_step, c.step_count), (1, 2));
    assert_eq!(c.current_primitive, Some(Primitive::Sign));

    let s: DecisionResponse = round_trip("spec/stop_response.json", true);
    assert_eq!(s.status, SessionStatus::Stopped);
    assert_eq!((s.current_step, s.step_count), (0, 2));
    assert_eq!(s.current_primitive, None);
}

#[test]
fn spec_audit_record_parses_with_example_prev_hash() {
    let a: AuditRecord = round_trip("spec/audit_record.json", true);
    assert_eq!(a.id, "sess_abc123_0");
    assert_eq!(a.id, a.session_id.audit_id(0));
    assert_eq!(a.stage, 0);
    assert_eq!(a.primitive, Primitive::AgeVerify);
    assert_eq!(a.wallet, WalletId::AppleWallet);
    assert_eq!(a.proof, Proof::AgeVerify { satisfied: true, min_age: 21 });
    assert_eq!(a.prev_hash, "0x000");
    assert_eq!(a.record_hash, "sha256:9f86d081...");
    assert_eq!(a.ts_token.as_deref(), Some("MIIE..."));
    assert_eq!(a.occurred_at, ts("2026-06-07T12:01:30Z"));
    assert!(a.business_redacted);
    // The serialized timestamp keeps 9 fractional digits.
    assert_eq!(serde_json::to_value(&a).unwrap()["occurred_at"], "2026-06-07T12:01:30.000000000Z");
}

#[test]
fn spec_error_body_placeholder_code_is_kept() {
    let b: ApiErrorBody = round_trip("spec/error_body.json", true);
    assert_eq!(b.error, "<human-readable message>");
    assert_eq!(b.code, Some(ErrorCode::Other("<category>/<slug>".into())));
    assert_eq!(b.param, None);
}

#[test]
fn spec_error_codes_from_the_docs_round_trip() {
    // Every code string docs/UIP-API.md §10.3 lists: known ones map to variants, legacy ones are kept.
    let known = [
        ("internal/server-error", ErrorCode::ServerError),
        ("resource/not-found", ErrorCode::NotFound),
        ("auth/missing-api-key", ErrorCode::MissingApiKey),
        ("auth/invalid-api-key", ErrorCode::InvalidApiKey),
        ("request/not-found", ErrorCode::RouteNotFound),
        ("request/invalid-payload", ErrorCode::InvalidPayload),
        ("request/webhook-missing", ErrorCode::WebhookMissing),
        ("payment/insufficient-funds", ErrorCode::InsufficientFunds),
    ];
    let legacy = [
        "data/corrupt",
        "auth/revoked-api-key",
        "auth/business-archived",
        "auth/unauthorized",
        "request/invalid-path",
        "request/webhook-unreachable",
    ];
    for (text, code) in known {
        let body = json!({"error": "x", "code": text});
        let parsed: ApiErrorBody = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(parsed.code, Some(code), "{text}");
        assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
    }
    for text in legacy {
        let body = json!({"error": "x", "code": text});
        let parsed: ApiErrorBody = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(parsed.code, Some(ErrorCode::Other(text.into())), "{text}");
        assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
    }
}

#[test]
fn spec_webhook_envelope_is_an_unknown_event_kept_whole() {
    let e: WebhookEvent = round_trip("spec/webhook_envelope.json", true);
    let WebhookEvent::Unknown { event, data } = &e else { panic!("expected Unknown, got {e:?}") };
    assert_eq!(event, "<name>");
    assert_eq!(data, &fixture("spec/webhook_envelope.json")["data"]);
    assert_eq!(e.session_id(), "...");
    assert!(!e.is_terminal());
}

#[test]
fn spec_step_completed_identify() {
    let e: WebhookEvent = round_trip("spec/step_completed_identify.json", true);
    let WebhookEvent::StepCompleted(s) = &e else { panic!("expected StepCompleted") };
    assert_eq!(s.context.session_id, "sess_abc123");
    assert_eq!(s.context.client_reference_id.as_deref(), Some("order_4815"));
    assert_eq!(s.context.metadata, None);
    assert_eq!(s.stage, 0);
    assert_eq!(s.primitive, Primitive::Identify);
    assert_eq!(s.audit_id, "sess_abc123_0");
    let StepResult::Identify { claims } = &s.result else { panic!("expected identify result") };
    assert_eq!(claims.len(), 3);
    assert_eq!(claims["first_name"], "Jane");
    assert_eq!(claims["country"], "US");
    assert_eq!(e.delivery_id(), "sess_abc123:step.completed:0");
}

#[test]
fn spec_terminal_events() {
    let e: WebhookEvent = round_trip("spec/session_completed.json", true);
    let WebhookEvent::SessionCompleted(d) = &e else { panic!() };
    assert_eq!((d.status.clone(), d.reason.clone()), (SessionStatus::Completed, None));

    let e: WebhookEvent = round_trip("spec/session_stopped.json", true);
    let WebhookEvent::SessionStopped(d) = &e else { panic!() };
    assert_eq!((d.status.clone(), d.reason.clone()), (SessionStatus::Stopped, None));
}

#[test]
fn spec_session_stopped_with_reason_instead_of_status() {
    // The core-concepts table lists `session_id, reason` for session.stopped: it must still parse,
    // with the status implied by the event name.
    let e: WebhookEvent = round_trip("spec/session_stopped_reason_variant.json", false);
    let WebhookEvent::SessionStopped(d) = &e else { panic!() };
    assert_eq!(d.status, SessionStatus::Stopped);
    assert_eq!(d.reason.as_deref(), Some("stopped_by_business"));
    assert!(e.is_terminal());
}

#[test]
fn spec_session_failed_without_status() {
    // docs/UIP-API.md §6.6: `session.failed` data = {session_id, reason}.
    let e: WebhookEvent = round_trip("spec/session_failed.json", false);
    let WebhookEvent::SessionFailed(d) = &e else { panic!() };
    assert_eq!(d.status, SessionStatus::Failed);
    assert_eq!(d.reason.as_deref(), Some("insufficient_funds"));
    // Re-serialized in the DECISIONS form, which carries `status`.
    assert_eq!(
        e.to_value(),
        json!({"event":"session.failed","data":{"session_id":"sess_abc123","status":"failed","reason":"insufficient_funds"}})
    );
}

// ---------------------------------------------------------------------------------------------
// docs/DECISIONS.md
// ---------------------------------------------------------------------------------------------

#[test]
fn decisions_create_requests() {
    let req: CreateSessionRequest = round_trip("decisions/create_request_full.json", true);
    assert_eq!(req.steps.len(), 4);
    assert!(req.steps[0].gate && !req.steps[1].gate && !req.steps[2].gate && req.steps[3].gate);
    let StepParams::Identify(p) = &req.steps[0].params else { panic!() };
    assert_eq!(p.blocks.as_ref().unwrap()[4], Block::Other("full_name".into()));
    let StepParams::LightSign(p) = &req.steps[2].params else { panic!() };
    assert_eq!(p.terms, "I accept the terms.");
    assert_eq!(p.title.as_deref(), Some("Terms of service"));
    let StepParams::Sign(p) = &req.steps[3].params else { panic!() };
    assert_eq!(p.documents, Some(vec!["contract.pdf".to_owned(), "annex.pdf".to_owned()]));
    assert_eq!(req.metadata.as_ref().unwrap().len(), 2);
    assert_eq!(req.expires_in, Some(7200));
    assert!(req.has_sign_step());
    assert_eq!(req.total_price_cents(), 1 + 1 + 2 + 3);

    let min: CreateSessionRequest = round_trip("decisions/create_request_minimal.json", true);
    let StepParams::Identify(p) = &min.steps[0].params else { panic!() };
    assert_eq!(p.blocks, None);
    assert_eq!(p.effective_blocks(), vec![Block::FirstName, Block::LastName, Block::Dob]);
}

#[test]
fn decisions_created_session_and_views() {
    let c: CreatedSession = round_trip("decisions/created_session.json", true);
    assert!(uip_types::SessionId::is_well_formed(c.id.as_str()));
    assert_eq!(c.url.expose(), format!("http://127.0.0.1:8787/s/{}", c.id));

    let v: SessionView = round_trip("decisions/session_view.json", true);
    assert_eq!(v.client_reference_id.as_deref(), Some("order_4815"));
    assert_eq!(v.current_primitive, Some(Primitive::AgeVerify));

    let v: SessionView = round_trip("decisions/session_view_completed.json", true);
    assert_eq!(v.status, SessionStatus::Completed);
    assert_eq!(v.current_step, v.step_count - 1);
    assert!(v.status.is_terminal());

    let d: DecisionResponse = round_trip("decisions/continue_completed.json", true);
    assert_eq!(d.status, SessionStatus::Completed);
}

#[test]
fn decisions_step_completed_for_each_primitive() {
    let e: WebhookEvent = round_trip("decisions/step_completed_identify.json", true);
    let WebhookEvent::StepCompleted(s) = &e else { panic!() };
    assert_eq!(s.context.metadata.as_ref().unwrap()["cart"], "c_77");
    let StepResult::Identify { claims } = &s.result else { panic!() };
    assert_eq!(claims["full_name"], uip_types::UNAVAILABLE);
    assert_eq!(e.delivery_id(), format!("{SID}:step.completed:0"));

    let e: WebhookEvent = round_trip("decisions/step_completed_age_verify.json", true);
    let WebhookEvent::StepCompleted(s) = &e else { panic!() };
    assert_eq!(s.primitive, Primitive::AgeVerify);
    assert_eq!(s.result, StepResult::AgeVerify { satisfied: false, min_age: Some(21) });
    assert_eq!(s.context.client_reference_id, None);
    assert_eq!(e.delivery_id(), format!("{SID}:step.completed:1"));

    for (name, prim, stage) in [
        ("decisions/step_completed_light_sign.json", Primitive::LightSign, 2),
        ("decisions/step_completed_sign.json", Primitive::Sign, 3),
    ] {
        let e: WebhookEvent = round_trip(name, true);
        let WebhookEvent::StepCompleted(s) = &e else { panic!() };
        assert_eq!(s.primitive, prim);
        assert_eq!(s.stage, stage);
        assert_eq!(s.audit_id, format!("{SID}_{stage}"));
        let StepResult::Signature { signature, document_hash } = &s.result else { panic!() };
        assert!(document_hash.starts_with("sha256:") && document_hash.len() == 7 + 64);
        assert!(!signature.contains('=') && !signature.contains('+') && !signature.contains('/'));
        assert!(!e.is_terminal());
    }
}

#[test]
fn decisions_terminal_events() {
    let cases = [
        ("decisions/session_completed.json", "session.completed", SessionStatus::Completed, None),
        ("decisions/session_stopped.json", "session.stopped", SessionStatus::Stopped, None),
        (
            "decisions/session_failed.json",
            "session.failed",
            SessionStatus::Failed,
            Some("credential_expired"),
        ),
        (
            "decisions/session_failed_insufficient_funds.json",
            "session.failed",
            SessionStatus::Failed,
            Some("insufficient_funds"),
        ),
        (
            "decisions/session_expired_ttl.json",
            "session.expired",
            SessionStatus::Expired,
            Some("session_ttl"),
        ),
        (
            "decisions/session_expired_step_window.json",
            "session.expired",
            SessionStatus::Expired,
            Some("step_window"),
        ),
    ];
    for (file, name, status, reason) in cases {
        let e: WebhookEvent = round_trip(file, true);
        assert_eq!(e.name(), name, "{file}");
        assert!(e.is_terminal(), "{file}");
        assert_eq!(e.session_id(), SID);
        assert_eq!(e.delivery_id(), format!("{SID}:{name}"));
        let d = match &e {
            WebhookEvent::SessionCompleted(d)
            | WebhookEvent::SessionStopped(d)
            | WebhookEvent::SessionFailed(d)
            | WebhookEvent::SessionExpired(d) => d,
            other => panic!("{file}: unexpected {other:?}"),
        };
        assert_eq!(d.status, status, "{file}");
        assert_eq!(d.reason.as_deref(), reason, "{file}");
    }
}

#[test]
fn decisions_error_bodies() {
    let b: ApiErrorBody = round_trip("decisions/error_invalid_params.json", true);
    assert_eq!(b.code, Some(ErrorCode::InvalidParams));
    assert_eq!(b.code.as_ref().and_then(ErrorCode::http_status), Some(400));
    assert_eq!(b.param.as_deref(), Some("steps[1].params.min_age"));

    let b: ApiErrorBody = round_trip("decisions/error_not_found.json", true);
    let code = b.code.unwrap();
    assert_eq!((code.clone(), code.http_status()), (ErrorCode::NotFound, Some(404)));

    let b: ApiErrorBody = round_trip("decisions/error_not_awaiting_decision.json", true);
    let code = b.code.unwrap();
    assert_eq!((code.clone(), code.http_status()), (ErrorCode::NotAwaitingDecision, Some(409)));
}

#[test]
fn decisions_error_code_table() {
    // docs/DECISIONS.md §9: every code with its HTTP status.
    let table: &[(&str, u16)] = &[
        ("request/invalid-payload", 400),
        ("request/invalid-steps", 400),
        ("request/unknown-primitive", 400),
        ("request/invalid-params", 400),
        ("request/invalid-field", 400),
        ("auth/missing-api-key", 401),
        ("auth/invalid-api-key", 401),
        ("payment/insufficient-funds", 402),
        ("session/bound-elsewhere", 409),
        ("resource/not-found", 404),
        ("request/not-found", 404),
        ("request/method-not-allowed", 405),
        ("request/idempotency-conflict", 409),
        ("session/not-awaiting-decision", 409),
        ("session/not-active", 409),
        ("session/stale-nonce", 409),
        ("session/documents-purged", 410),
        ("request/too-large", 413),
        ("request/timeout", 408),
        ("request/bad-origin", 403),
        ("request/rate-limited", 429),
        ("internal/unavailable", 503),
        ("request/unsupported-media-type", 415),
        ("request/webhook-missing", 422),
        ("wallet/unsupported-primitive", 422),
        ("internal/server-error", 500),
    ];
    assert_eq!(table.len(), ErrorCode::KNOWN.len());
    for &(text, status) in table {
        let code = ErrorCode::parse(text);
        assert!(code.is_known(), "{text} should be known");
        assert_eq!(code.as_str(), text);
        assert_eq!(code.http_status(), Some(status), "{text}");
        assert_eq!(serde_json::to_value(&code).unwrap(), json!(text));
    }
}

#[test]
fn decisions_wallets_and_catalog() {
    let w: WalletsResponse = round_trip("decisions/wallets.json", true);
    assert_eq!(w.wallets, WalletInfo::all());
    assert_eq!(
        serde_json::to_value(WalletsResponse::new(WalletInfo::all())).unwrap(),
        fixture("decisions/wallets.json")
    );
    assert!(w.wallets[0].primitives.contains(&Primitive::Sign));
    assert!(!w.wallets[1].primitives.contains(&Primitive::Sign));

    let c: CatalogResponse = round_trip("decisions/catalog.json", true);
    assert_eq!(c.wallets, WalletInfo::all());
    for p in &c.primitives {
        assert_eq!(Some(p.price_cents), p.name.price_cents(), "{}", p.name);
        assert!(p.params.is_object());
    }
    let names: Vec<_> = c.primitives.iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, vec![Primitive::Identify, Primitive::AgeVerify, Primitive::LightSign, Primitive::Sign]);
}

#[test]
fn decisions_audit_records_for_each_proof() {
    let a: AuditRecord = round_trip("decisions/audit_identify.json", true);
    assert_eq!(a.prev_hash, uip_types::hashing::GENESIS_HASH);
    assert_eq!(a.ts_token, None);
    assert!(!a.business_redacted);
    assert_eq!(a.wallet, WalletId::GoogleWallet);
    let Proof::Identify { blocks, claims_digest } = &a.proof else { panic!("{:?}", a.proof) };
    assert_eq!(blocks[2], Block::Other("full_name".into()));
    assert!(claims_digest.starts_with("sha256:"));
    assert_eq!(serde_json::to_value(&a).unwrap()["occurred_at"], "2026-06-07T12:01:30.123456789Z");
    assert!(serde_json::to_value(&a).unwrap().get("ts_token").is_none());

    let a: AuditRecord = round_trip("decisions/audit_age_verify.json", true);
    assert_eq!(a.proof, Proof::AgeVerify { satisfied: true, min_age: 18 });
    assert!(a.business_redacted);
    assert_eq!(a.client_reference_id, None);

    let a: AuditRecord = round_trip("decisions/audit_light_sign.json", true);
    assert!(matches!(a.proof, Proof::LightSign { .. }), "{:?}", a.proof);

    let a: AuditRecord = round_trip("decisions/audit_sign.json", true);
    let Proof::Sign { documents, .. } = &a.proof else { panic!("{:?}", a.proof) };
    assert_eq!(
        documents[0],
        ProofDocument::new(
            "contract.pdf",
            "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
            1024
        )
    );
    assert_eq!(documents.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Sandbox control API and hosted-page transport (docs/DECISIONS.md §7, §8, §10)
// ---------------------------------------------------------------------------------------------

#[test]
fn sandbox_businesses() {
    let n: NewBusiness = round_trip("sandbox/new_business.json", true);
    assert_eq!(n.trust, Some(Trust::Production));
    assert_eq!(n.balance_cents, Some(500));
    let n: NewBusiness = round_trip("sandbox/new_business_empty.json", true);
    assert_eq!(n, NewBusiness::default());

    let c: BusinessCredentials = round_trip("sandbox/business_credentials.json", true);
    assert_eq!(c.api_key.expose(), "uip_test_4fJ9kL2mN7pQ1rS5tV8wX0yZ3aB6cD9e");
    assert_eq!(c.webhook_secret.expose(), "uip_whsec_Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Ee");
    assert_eq!(c.trust, Trust::Demo);
    assert_eq!(c.balance_cents, 100000);
    let c: BusinessCredentials = round_trip("sandbox/business_credentials_no_webhook.json", true);
    assert_eq!(c.webhook_url, None);

    let v: BusinessView = round_trip("sandbox/business_view.json", true);
    assert_eq!(v.webhook_url, None);
    assert_eq!(v.clock_offset_s, 3600);
    // A view without the clock field (an older sandbox) reads as real time.
    let mut older = fixture("sandbox/business_view.json");
    older.as_object_mut().unwrap().remove("clock_offset_s");
    assert_eq!(serde_json::from_value::<BusinessView>(older).unwrap().clock_offset_s, 0);
    assert!(serde_json::to_value(&v).unwrap().get("api_key").is_none());
}

#[test]
fn sandbox_business_patch_distinguishes_null_from_absent() {
    let p: BusinessPatch = round_trip("sandbox/business_patch_clear_url.json", true);
    assert_eq!(p.webhook_url, Some(None));
    let p: BusinessPatch = round_trip("sandbox/business_patch_full.json", true);
    assert_eq!(p.webhook_url, Some(Some("https://hooks.example.com/uip".into())));
    assert_eq!(p.rotate_webhook_secret, Some(true));
    let p: BusinessPatch = serde_json::from_value(json!({"name": "x"})).unwrap();
    assert_eq!(p.webhook_url, None);
    assert_eq!(serde_json::to_value(&p).unwrap(), json!({"name": "x"}));
    assert!(serde_json::from_value::<BusinessPatch>(json!({"api_key": "x"})).is_err());
}

#[test]
fn sandbox_clock_deliveries_and_inbox() {
    let c: ClockNow = round_trip("sandbox/clock_now.json", true);
    assert_eq!(c.now, ts("2026-06-08T12:00:00Z"));

    let log: DeliveryLog = round_trip("sandbox/delivery_log.json", true);
    let statuses: Vec<_> = log.deliveries.iter().map(|d| d.status).collect();
    assert_eq!(
        statuses,
        vec![
            DeliveryStatus::Delivered,
            DeliveryStatus::Retrying,
            DeliveryStatus::Pending,
            DeliveryStatus::Failed
        ]
    );
    let first = &log.deliveries[0];
    assert_eq!(first.attempts.len(), 3);
    assert_eq!(first.attempts[0].status_code, None);
    assert_eq!(first.attempts[0].error.as_deref(), Some("connection refused"));
    assert_eq!(first.attempts[2].status_code, Some(200));
    assert_eq!(first.next_attempt_at, None);
    assert_eq!(log.deliveries[1].next_attempt_at, Some(ts("2026-06-07T12:01:36Z")));
    // The body is the exact text that was sent, and itself a webhook body.
    let body: WebhookEvent = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body.delivery_id(), first.delivery_id);
    assert_eq!(uip_types::delivery_id::session_id(&first.delivery_id), Some(SID));

    let r: RedeliverRequest = round_trip("sandbox/redeliver_stale.json", true);
    assert_eq!(r.fault, DeliveryFault::StaleTimestamp);
    let r: RedeliverRequest = round_trip("sandbox/redeliver_default.json", false);
    assert_eq!(r.fault, DeliveryFault::None);
    for (text, fault) in [
        ("none", DeliveryFault::None),
        ("stale_timestamp", DeliveryFault::StaleTimestamp),
        ("bad_signature", DeliveryFault::BadSignature),
        ("duplicate", DeliveryFault::Duplicate),
    ] {
        let r: RedeliverRequest = serde_json::from_value(json!({ "fault": text })).unwrap();
        assert_eq!(r.fault, fault);
        assert_eq!(serde_json::to_value(r).unwrap(), json!({ "fault": text }));
    }

    let i: Inbox = round_trip("sandbox/inbox.json", true);
    assert!(i.received[0].verified && !i.received[1].verified);
    assert_eq!(i.received[1].error.as_deref(), Some("signature mismatch"));
}

#[test]
fn sandbox_simulate_faults_personas() {
    let s: SimulateRequest = round_trip("sandbox/simulate.json", true);
    assert_eq!(s.wallet, Some(WalletId::GoogleWallet));
    assert_eq!(s.action, Some(SimulateAction::Decline));
    assert_eq!(s.steps, Some(1));
    let s: SimulateRequest = serde_json::from_value(json!({"action": "internal_error"})).unwrap();
    assert_eq!(s.action, Some(SimulateAction::InternalError));
    assert_eq!(serde_json::to_value(&s).unwrap(), json!({"action": "internal_error"}));
    // The sandbox reads its own control bodies strictly: an unknown action is refused.
    assert!(serde_json::from_value::<SimulateRequest>(json!({"action": "explode"})).is_err());
    assert_eq!(serde_json::from_value::<SimulateRequest>(json!({})).unwrap(), SimulateRequest::default());

    let f: FaultPlan = round_trip("sandbox/faults_status.json", true);
    assert_eq!((f.fail_next, f.with.clone()), (2, json!(503)));
    let f: FaultPlan = round_trip("sandbox/faults_delay.json", true);
    assert_eq!(f.with, json!("delay_ms:250"));

    let p: Personas = round_trip("sandbox/personas.json", true);
    assert_eq!(p.personas[0].id, "jane-doe");
    assert_eq!(p.personas[0].claims["document_number"], "D1234567");
}

#[test]
fn sandbox_page_transport() {
    let o: OpenResponse = round_trip("sandbox/open_response.json", true);
    assert_eq!(o.binding.expose(), "b1nd1ngT0k3n-_AbCdEfGhIjKlMnOp");

    let s: PageState = round_trip("sandbox/page_state_in_progress.json", true);
    assert_eq!(s.status, SessionStatus::InProgress);
    assert_eq!(s.step_expires_at, Some(ts("2026-06-07T12:10:00Z")));
    assert_eq!(s.return_url.as_deref(), Some("https://shop.example.com/verified"));
    let s: PageState = round_trip("sandbox/page_state_awaiting.json", true);
    assert_eq!(s.step_expires_at, None);
    assert!(serde_json::to_value(&s).unwrap().get("step_expires_at").is_none());

    let r: WalletRequest = round_trip("sandbox/wallet_request_identify.json", true);
    assert_eq!(r.blocks.as_ref().unwrap()[2], Block::Other("full_name".into()));
    assert_eq!((r.min_age, r.terms.clone(), r.documents.clone()), (None, None, None));
    let r: WalletRequest = round_trip("sandbox/wallet_request_age_verify.json", true);
    assert_eq!(r.min_age, Some(21));
    let r: WalletRequest = round_trip("sandbox/wallet_request_light_sign.json", true);
    assert_eq!(r.terms.as_deref(), Some("I accept."));
    assert_eq!(r.document_hash.unwrap(), uip_types::hashing::sha256_tagged(b"foo"));
    let r: WalletRequest = round_trip("sandbox/wallet_request_sign.json", true);
    let docs = r.documents.unwrap();
    assert_eq!(docs.iter().map(|d| d.index).collect::<Vec<_>>(), vec![0, 1]);

    let w: WalletResponse = round_trip("sandbox/wallet_response_persona.json", true);
    assert_eq!(
        (w.wallet, w.action, w.persona.as_deref()),
        (WalletId::AppleWallet, WalletAction::Share, Some("jane-doe"))
    );
    let w: WalletResponse = round_trip("sandbox/wallet_response_decline.json", true);
    assert_eq!(w.action, WalletAction::Decline);
    let w: WalletResponse = round_trip("sandbox/wallet_response_credential.json", true);
    let cred = w.credential.unwrap();
    assert!(cred.issuer_trusted && !cred.tampered);
    assert_eq!(cred.device_seed.len(), 64);
    // The response body is strict: an unknown field is refused.
    let mut bad = fixture("sandbox/wallet_response_persona.json");
    bad["extra"] = json!(1);
    assert!(serde_json::from_value::<WalletResponse>(bad).is_err());

    let r: ResponseResult = round_trip("sandbox/response_result_verified.json", true);
    assert_eq!((r.outcome, r.reason()), (ResponseOutcome::Verified, None));
    assert_eq!(r.state.status, SessionStatus::AwaitingDecision);
    let r: ResponseResult = round_trip("sandbox/response_result_failed.json", true);
    assert_eq!((r.outcome, r.reason()), (ResponseOutcome::Failed, Some("insufficient_funds")));
    assert_eq!(r.state.return_url.as_deref(), Some("https://shop.example.com/verified"));
    let r: ResponseResult = round_trip("sandbox/response_result_declined.json", true);
    assert_eq!(r.outcome, ResponseOutcome::Declined);
    assert!(r.state.step_expires_at.is_some());
}

#[test]
fn trust_parses_from_text() {
    assert_eq!("demo".parse::<Trust>(), Ok(Trust::Demo));
    assert_eq!("production".parse::<Trust>(), Ok(Trust::Production));
    assert!("staging".parse::<Trust>().is_err());
    assert_eq!(Trust::default(), Trust::Demo);
    assert_eq!(Trust::Production.as_str(), "production");
}
