//! Every row of docs/UIP-API.md §4.2 driven over HTTP: open, steps, gates, continue/stop, terminal
//! states, verification failures per persona, declines, billing and funds running out.

use crate::support as common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn open_moves_created_to_in_progress_by_post_open() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    assert_eq!(env.status(&id).await, "created");
    let mut b = env.browser(&id);
    b.open().await.ok();
    let v = env.session(&id).await;
    assert_eq!(v["status"], "in_progress");
    assert_eq!(v["current_step"], 0);
    assert!(ts(&v["updated_at"]) >= ts(&v["created_at"]));
    // Opening again with the same binding changes nothing and answers 200.
    b.open().await.ok();
    assert_eq!(env.status(&id).await, "in_progress");
    assert!(env.event_names(&id).is_empty(), "opening sends no webhook");
}

#[tokio::test]
async fn open_moves_created_to_in_progress_by_get_page() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let r = send(env.http.get(env.url(&format!("/s/{id}")))).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(env.status(&id).await, "in_progress");
}

#[tokio::test]
async fn steps_advance_then_complete_with_events_in_order() {
    let env = start().await;
    let id = env
        .create(json!({
            "steps": [{"primitive": "identify"}, {"primitive": "age_verify", "params": {"min_age": 21}}],
            "client_reference_id": "order_4815",
            "metadata": {"cart": "c_1"},
        }))
        .await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let r = b.share("jane-doe").await;
    let r = r.ok();
    assert_eq!(r["outcome"], "verified");
    assert_eq!(r["status"], "in_progress");
    assert_eq!(r["current_step"], 1);
    assert_eq!(r["current_primitive"], "age_verify");
    assert!(r.get("reason").is_none());
    let v = env.session(&id).await;
    assert_eq!((v["status"].as_str(), v["current_step"].as_u64()), (Some("in_progress"), Some(1)));
    assert_eq!(v["current_primitive"], "age_verify");

    let r = b.share("jane-doe").await;
    assert_eq!(r.ok()["status"], "completed");
    let v = env.session(&id).await;
    assert_eq!(v["status"], "completed");
    assert_eq!(v["current_step"], 1, "current_step after completed = step_count - 1");
    assert_keys(
        &v,
        &[
            "id",
            "status",
            "current_step",
            "step_count",
            "primitives",
            "current_primitive",
            "expires_at",
            "created_at",
            "updated_at",
            "client_reference_id",
            "metadata",
        ],
    );

    let echoes = |mut data: Value| {
        data["client_reference_id"] = json!("order_4815");
        data["metadata"] = json!({"cart": "c_1"});
        data["session_id"] = json!(id);
        data
    };
    assert_eq!(
        env.event(&id).await,
        json!({"event": "step.completed", "data": echoes(json!({
            "stage": 0, "primitive": "identify", "audit_id": format!("{id}_0"),
            "claims": {"first_name": "Jane", "last_name": "Doe", "dob": "1990-04-01"},
        }))})
    );
    assert_eq!(
        env.event(&id).await,
        json!({"event": "step.completed", "data": echoes(json!({
            "stage": 1, "primitive": "age_verify", "audit_id": format!("{id}_1"), "satisfied": true, "min_age": 21,
        }))})
    );
    assert_eq!(
        env.event(&id).await,
        json!({"event": "session.completed", "data": echoes(json!({"status": "completed"}))})
    );
    let ids: Vec<String> = env.sb.deliveries(&id).into_iter().map(|d| d.delivery_id).collect();
    assert_eq!(
        ids,
        vec![
            format!("{id}:step.completed:0"),
            format!("{id}:step.completed:1"),
            format!("{id}:session.completed")
        ]
    );
}

#[tokio::test]
async fn gate_pauses_then_continue_resumes() {
    let env = start().await;
    let id =
        env.create_steps(json!([{"primitive": "identify", "gate": true}, {"primitive": "age_verify"}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let r = b.share("jane-doe").await;
    assert_eq!(r.ok()["status"], "awaiting_decision");
    let v = env.session(&id).await;
    assert_eq!(v["status"], "awaiting_decision");
    assert_eq!(v["current_step"], 0, "stays on the gated step");
    assert_eq!(v["current_primitive"], "identify");
    assert_eq!(env.event(&id).await["event"], "step.completed");
    assert_eq!(env.event_names(&id), vec!["step.completed"], "no terminal event at a gate");

    let r = env.decide(&id, "continue").await;
    assert_eq!(
        r.ok(),
        &json!({"id": id, "status": "in_progress", "current_step": 1, "step_count": 2, "current_primitive": "age_verify"})
    );
    assert_eq!(env.event_names(&id), vec!["step.completed"], "continue with steps left sends nothing");
    let st = b.state().await;
    assert_eq!(st.ok()["current_step"], 1);
    assert!(st.body.get("step_expires_at").is_some(), "a new step window started");
    b.share("jane-doe").await.ok();
    assert_eq!(env.status(&id).await, "completed");
    assert_eq!(env.event(&id).await["data"]["stage"], 1);
    assert_eq!(env.event(&id).await["event"], "session.completed");
}

#[tokio::test]
async fn continue_on_a_gated_last_step_completes() {
    let env = start().await;
    let id =
        env.create_steps(json!([{"primitive": "identify"}, {"primitive": "age_verify", "gate": true}])).await;
    env.run_user(&id).await;
    let v = env.session(&id).await;
    assert_eq!((v["status"].as_str(), v["current_step"].as_u64()), (Some("awaiting_decision"), Some(1)));
    assert_eq!(env.event_names(&id), vec!["step.completed", "step.completed"]);
    let r = env.decide(&id, "continue").await;
    assert_eq!(r.ok(), &json!({"id": id, "status": "completed", "current_step": 1, "step_count": 2}));
    env.event(&id).await;
    env.event(&id).await;
    assert_eq!(
        env.event(&id).await,
        json!({"event": "session.completed", "data": {"session_id": id, "status": "completed"}})
    );
    env.decide(&id, "continue").await.err(409, "session/not-awaiting-decision", None);
    env.decide(&id, "stop").await.err(409, "session/not-awaiting-decision", None);
}

#[tokio::test]
async fn stop_ends_the_session_and_keeps_prior_steps_billed() {
    let env = start().await;
    let before = env.balance().await;
    let id = env
        .create(json!({
            "steps": [{"primitive": "identify", "gate": true}, {"primitive": "light_sign", "params": {"terms": "t"}}],
            "client_reference_id": "ref-9",
        }))
        .await;
    env.run_user(&id).await;
    let r = env.decide(&id, "stop").await;
    assert_eq!(r.ok(), &json!({"id": id, "status": "stopped", "current_step": 0, "step_count": 2}));
    let v = env.session(&id).await;
    assert_eq!((v["status"].as_str(), v["current_step"].as_u64()), (Some("stopped"), Some(0)));
    assert_eq!(env.balance().await, before - 1, "identify stays billed, light_sign skipped");
    assert_eq!(env.event(&id).await["event"], "step.completed");
    assert_eq!(
        env.event(&id).await,
        json!({"event": "session.stopped", "data": {"session_id": id, "client_reference_id": "ref-9", "status": "stopped"}})
    );
    // Terminal: nothing more.
    env.decide(&id, "stop").await.err(409, "session/not-awaiting-decision", None);
    env.decide(&id, "continue").await.err(409, "session/not-awaiting-decision", None);
    let b = env.browser(&id);
    b.state().await.err(409, "session/bound-elsewhere", None);
    assert_eq!(env.event_names(&id), vec!["step.completed", "session.stopped"]);
}

#[tokio::test]
async fn continue_and_stop_need_a_gate() {
    let env = start().await;
    let id =
        env.create_steps(json!([{"primitive": "identify", "gate": true}, {"primitive": "age_verify"}])).await;
    // created
    env.decide(&id, "continue").await.err(409, "session/not-awaiting-decision", None);
    env.decide(&id, "stop").await.err(409, "session/not-awaiting-decision", None);
    // in_progress
    let mut b = env.browser(&id);
    b.open().await.ok();
    env.decide(&id, "continue").await.err(409, "session/not-awaiting-decision", None);
    env.decide(&id, "stop").await.err(409, "session/not-awaiting-decision", None);
    // continue twice: the second one is not at a gate any more.
    b.share("jane-doe").await.ok();
    env.decide(&id, "continue").await.ok();
    env.decide(&id, "continue").await.err(409, "session/not-awaiting-decision", None);
    assert_eq!(env.status(&id).await, "in_progress");
}

async fn fail_with(env: &Env, persona: &str, reason: &str) {
    let before = env.balance().await;
    let id = env.create_steps(json!([{"primitive": "identify"}, {"primitive": "age_verify"}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let r = b.share(persona).await;
    let body = r.ok();
    assert_eq!(body["outcome"], "failed", "{persona}");
    assert_eq!(body["reason"], reason);
    assert_eq!(body["status"], "failed");
    assert!(body.get("step_expires_at").is_none());
    assert_eq!(env.status(&id).await, "failed");
    assert_eq!(
        env.event(&id).await,
        json!({"event": "session.failed", "data": {"session_id": id, "status": "failed", "reason": reason}})
    );
    assert_eq!(env.event_names(&id), vec!["session.failed"]);
    assert_eq!(env.balance().await, before, "a failed step is not billed");
    send(env.get(&format!("/v1/audits/{id}_0"))).await.err(404, "resource/not-found", None);
    // The page is over.
    b.request().await.err(409, "session/not-active", None);
    env.decide(&id, "continue").await.err(409, "session/not-awaiting-decision", None);
}

#[tokio::test]
async fn tampered_credential_fails_integrity() {
    let env = start().await;
    fail_with(&env, "tampered", "integrity_check_failed").await;
}

#[tokio::test]
async fn expired_credential_fails() {
    let env = start().await;
    fail_with(&env, "expired-credential", "credential_expired").await;
}

#[tokio::test]
async fn untrusted_issuer_fails_under_production_and_verifies_under_demo() {
    let env = start().await;
    env.patch_business(json!({"trust": "production"})).await;
    fail_with(&env, "untrusted-issuer", "untrusted_issuer").await;
    // A trusted persona is fine under production.
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    env.run_user(&id).await;
    assert_eq!(env.status(&id).await, "completed");

    env.patch_business(json!({"trust": "demo"})).await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    assert_eq!(b.share("untrusted-issuer").await.ok()["outcome"], "verified");
    assert_eq!(env.status(&id).await, "completed");

    // The builder's trust sets the default business's.
    let env = start_with(fast().trust(uip_sandbox::Trust::Production)).await;
    fail_with(&env, "untrusted-issuer", "untrusted_issuer").await;
}

#[tokio::test]
async fn decline_keeps_the_step_with_a_fresh_nonce() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "age_verify"}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let first = b.nonce().await;
    let r = b.decline().await;
    let body = r.ok();
    assert_eq!(body["outcome"], "declined");
    assert_eq!(body["status"], "in_progress");
    assert_eq!(body["current_step"], 0);
    assert!(body.get("reason").is_none());
    let second = b.nonce().await;
    assert_ne!(first, second, "a decline issues a fresh nonce");
    assert_eq!(b64url_decode(&second).len(), 16, "nonce = base64url of 16 bytes");
    // The old one is stale now.
    let r = b.respond(&json!({"nonce": first, "wallet": "apple-wallet", "action": "share"})).await;
    r.err(409, "session/stale-nonce", Some("nonce"));
    assert_eq!(env.status(&id).await, "in_progress");
    assert!(env.event_names(&id).is_empty(), "a decline is not an event");
    // Share with the fresh one works.
    assert_eq!(b.share("jane-doe").await.ok()["outcome"], "verified");
    assert_eq!(env.status(&id).await, "completed");
}

#[tokio::test]
async fn minor_is_a_successful_unsatisfied_age_verify_and_billed() {
    let env = start().await;
    let before = env.balance().await;
    let id = env.create_steps(json!([{"primitive": "age_verify", "params": {"min_age": 21}}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    assert_eq!(b.share("minor").await.ok()["outcome"], "verified");
    assert_eq!(
        env.event(&id).await["data"],
        json!({"session_id": id, "stage": 0, "primitive": "age_verify", "audit_id": format!("{id}_0"), "satisfied": false, "min_age": 21})
    );
    assert_eq!(env.event(&id).await["event"], "session.completed");
    assert_eq!(env.balance().await, before - 1);
    // Default min_age is 18; jane-doe (born 1990) satisfies it.
    let id = env.create_steps(json!([{"primitive": "age_verify"}])).await;
    env.run_user(&id).await;
    let e = env.event(&id).await;
    assert_eq!((e["data"]["satisfied"].as_bool(), e["data"]["min_age"].as_u64()), (Some(true), Some(18)));
}

#[tokio::test]
async fn age_is_computed_on_the_business_clock() {
    let env = start().await;
    // The minor (born 2012-01-01) turns 21 on 2033-01-01; jump the business clock there.
    let target = chrono::NaiveDate::from_ymd_opt(2033, 1, 2).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let mut left = (target - chrono::Utc::now()).num_seconds();
    while left > 0 {
        let step = left.min(31_536_000);
        env.advance(step).await;
        left -= step;
    }
    let id = env.create_steps(json!([{"primitive": "age_verify", "params": {"min_age": 21}}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    b.share("minor").await.ok();
    assert_eq!(env.event(&id).await["data"]["satisfied"], true);
}

#[tokio::test]
async fn funds_running_out_mid_session_fail_it() {
    let env = start().await;
    let id = env
        .create_steps(json!([{"primitive": "identify"}, {"primitive": "light_sign", "params": {"terms": "Pay me"}}, {"primitive": "age_verify"}]))
        .await;
    // Enough for identify (1), not for light_sign (2).
    env.patch_business(json!({"balance_cents": 2})).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    assert_eq!(b.share("jane-doe").await.ok()["outcome"], "verified");
    assert_eq!(env.balance().await, 1);
    let r = b.share("jane-doe").await;
    let body = r.ok();
    assert_eq!(
        (body["outcome"].as_str(), body["reason"].as_str()),
        (Some("failed"), Some("insufficient_funds"))
    );
    assert_eq!(body["status"], "failed");
    assert_eq!(env.balance().await, 1, "nothing charged for the unpaid step");
    let v = env.session(&id).await;
    assert_eq!((v["status"].as_str(), v["current_step"].as_u64()), (Some("failed"), Some(1)));
    assert_eq!(env.event(&id).await["data"]["stage"], 0);
    assert_eq!(
        env.event(&id).await,
        json!({"event": "session.failed", "data": {"session_id": id, "status": "failed", "reason": "insufficient_funds"}})
    );
    assert_eq!(
        env.event_names(&id),
        vec!["step.completed", "session.failed"],
        "no step.completed for the unpaid step"
    );
    send(env.get(&format!("/v1/audits/{id}_0"))).await.ok();
    send(env.get(&format!("/v1/audits/{id}_1"))).await.err(404, "resource/not-found", None);
}

#[tokio::test]
async fn each_step_charges_its_exact_price() {
    let env = start().await;
    let session = json!({"steps": [
        {"primitive": "identify"},
        {"primitive": "age_verify"},
        {"primitive": "light_sign", "params": {"terms": "I agree"}},
        {"primitive": "sign"},
    ]});
    let r = env.create_multipart(&session, &[("contract.txt", "text/plain", b"the contract")]).await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    let mut balance = env.balance().await;
    assert_eq!(balance, 100_000);
    let mut b = env.browser(&id);
    b.open().await.ok();
    for price in [1, 1, 2, 3] {
        b.share("jane-doe").await.ok();
        let now = env.balance().await;
        assert_eq!(balance - now, price);
        balance = now;
    }
    assert_eq!(env.status(&id).await, "completed");
    assert_eq!(env.balance().await, 100_000 - 7);
}

#[tokio::test]
async fn identify_blocks() {
    let env = start().await;
    let id = env
        .create_steps(json!([
            {"primitive": "identify", "params": {"blocks": ["first_name", "full_name", "shoe_size", "country", "dob", "dob"]}},
            {"primitive": "identify", "params": {"blocks": ["portrait", "document_number", "first_name"]}},
            {"primitive": "identify"},
        ]))
        .await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let req = b.request().await;
    assert_eq!(
        req.ok()["blocks"],
        json!(["first_name", "full_name", "shoe_size", "country", "dob"]),
        "duplicates collapse"
    );
    b.share("jane-doe").await.ok();
    let req = b.request().await;
    assert_eq!(req.ok()["blocks"], json!(["portrait", "document_number", "first_name"]));
    b.share("no-portrait").await.ok();
    let req = b.request().await;
    assert_eq!(req.ok()["blocks"], json!(["first_name", "last_name", "dob"]), "default blocks");
    b.share("jane-doe").await.ok();

    assert_eq!(
        env.event(&id).await["data"]["claims"],
        json!({"first_name": "Jane", "full_name": "unavailable", "shoe_size": "unavailable", "country": "US", "dob": "1990-04-01"})
    );
    assert_eq!(
        env.event(&id).await["data"]["claims"],
        json!({"portrait": "unavailable", "document_number": "unavailable", "first_name": "Jane"})
    );
    assert_eq!(
        env.event(&id).await["data"]["claims"],
        json!({"first_name": "Jane", "last_name": "Doe", "dob": "1990-04-01"})
    );
    // jane-doe carries a portrait (a JPEG data URL) and a document number.
    let id = env
        .create_steps(
            json!([{"primitive": "identify", "params": {"blocks": ["portrait", "document_number"]}}]),
        )
        .await;
    env.run_user(&id).await;
    let claims = env.event(&id).await["data"]["claims"].clone();
    assert!(claims["portrait"].as_str().unwrap().starts_with("data:image/jpeg;base64,"));
    assert_eq!(claims["document_number"], "D1234567");
}

#[tokio::test]
async fn custom_credentials_are_checked_on_the_business_date() {
    let env = start().await;
    let seed = [7u8; 32];
    // "Today" on the business's clock, moved to the next noon (UTC) so that the test cannot
    // straddle midnight: the dates below stay right for twelve hours.
    let now = ts(&send(env.post("/_sandbox/clock/advance").json(&json!({"seconds": 1}))).await.ok()["now"]);
    let to_noon =
        (12 * 3600 - i64::from(chrono::Timelike::num_seconds_from_midnight(&now))).rem_euclid(86_400);
    if to_noon > 0 {
        env.advance(to_noon).await;
    }
    let today = (now + chrono::Duration::seconds(to_noon)).date_naive();
    let cred = |valid_until: chrono::NaiveDate, trusted: bool, tampered: bool| {
        json!({
            "claims": {"first_name": "Ada", "last_name": "L", "dob": "1815-12-10"},
            "valid_until": valid_until.format("%Y-%m-%d").to_string(),
            "issuer_trusted": trusted,
            "tampered": tampered,
            "device_seed": hex::encode(seed),
        })
    };
    let run = |credential: Value| {
        let env = &env;
        async move {
            let id = env
                .create_steps(json!([{"primitive": "identify", "params": {"blocks": ["first_name", "country"]}}, {"primitive": "light_sign", "params": {"terms": "ok"}}]))
                .await;
            let mut b = env.browser(&id);
            b.open().await.ok();
            let nonce = b.nonce().await;
            let r = b.respond(&json!({"nonce": nonce, "wallet": "google-wallet", "action": "share", "credential": credential})).await;
            (id, b, r)
        }
    };
    // The last valid day is still valid.
    let (id, b, r) = run(cred(today, true, false)).await;
    assert_eq!(r.ok()["outcome"], "verified", "{}", r.text);
    assert_eq!(
        env.event(&id).await["data"]["claims"],
        json!({"first_name": "Ada", "country": "unavailable"})
    );
    let nonce = b.nonce().await;
    b.respond(&json!({"nonce": nonce, "wallet": "google-wallet", "action": "share", "credential": cred(today, true, false)}))
        .await
        .ok();
    let e = env.event(&id).await;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    assert_signature(
        &key,
        e["data"]["document_hash"].as_str().unwrap(),
        e["data"]["signature"].as_str().unwrap(),
    );
    assert_eq!(e["data"]["document_hash"], sha256_tagged(b"ok"));

    let (_, _, r) = run(cred(today.pred_opt().unwrap(), true, false)).await;
    assert_eq!(r.ok()["reason"], "credential_expired");
    let (_, _, r) = run(cred(today, true, true)).await;
    assert_eq!(r.ok()["reason"], "integrity_check_failed");
    // Advancing the business clock by two days makes today's credential expired.
    env.advance(2 * 86_400).await;
    let (_, _, r) = run(cred(today, true, false)).await;
    assert_eq!(r.ok()["reason"], "credential_expired");
    // A malformed custom credential is a bad request, not a failed verification.
    let (id, _, r) = run(json!({"claims": {}, "valid_until": "soon", "issuer_trusted": true, "tampered": false, "device_seed": hex::encode(seed)})).await;
    r.err(400, "request/invalid-payload", Some("credential.valid_until"));
    assert_eq!(env.status(&id).await, "in_progress");
}

#[tokio::test]
async fn an_unknown_persona_is_a_bad_request() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    b.share("john-smith").await.err(400, "request/invalid-payload", Some("persona"));
    assert_eq!(env.status(&id).await, "in_progress");
    // Without persona, jane-doe is used.
    let nonce = b.nonce().await;
    b.respond(&json!({"nonce": nonce, "wallet": "apple-wallet", "action": "share"})).await.ok();
    assert_eq!(env.event(&id).await["data"]["claims"]["first_name"], "Jane");
}
