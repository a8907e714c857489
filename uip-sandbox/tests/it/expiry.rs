//! Expiry by session TTL and by step window on the business clock, lazily on access and by the
//! sweep; `clock/advance` validation.

use crate::support as common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// No sweep: only an access resolves expiry.
fn lazy() -> uip_sandbox::SandboxBuilder {
    fast().expiry_sweep(Duration::ZERO)
}

#[tokio::test]
async fn session_ttl_expires_lazily_on_read() {
    let env = start_with(lazy()).await;
    let id = env
        .create(json!({"steps": [{"primitive": "identify"}], "expires_in": 60, "client_reference_id": "r1"}))
        .await;
    env.advance(58).await;
    assert_eq!(env.status(&id).await, "created");
    env.advance(2).await;
    assert!(env.event_names(&id).is_empty(), "advancing the clock does not itself resolve sessions");
    let v = env.session(&id).await;
    assert_eq!(v["status"], "expired");
    assert_eq!(v["current_step"], 0);
    assert_eq!(
        env.event(&id).await,
        json!({"event": "session.expired", "data": {"session_id": id, "client_reference_id": "r1", "status": "expired", "reason": "session_ttl"}})
    );
    // Exactly one event, however often it is read.
    env.session(&id).await;
    assert_eq!(env.event_names(&id), vec!["session.expired"]);
    env.decide(&id, "continue").await.err(409, "session/not-awaiting-decision", None);
    env.decide(&id, "stop").await.err(409, "session/not-awaiting-decision", None);
}

#[tokio::test]
async fn continue_on_an_expired_gate_is_409() {
    let env = start_with(lazy()).await;
    let id = env.create(json!({"steps": [{"primitive": "identify", "gate": true}, {"primitive": "identify"}], "expires_in": 120})).await;
    env.run_user(&id).await;
    assert_eq!(env.status(&id).await, "awaiting_decision");
    env.advance(121).await;
    // The decision is the access that resolves it.
    env.decide(&id, "continue").await.err(409, "session/not-awaiting-decision", None);
    assert_eq!(env.status(&id).await, "expired");
    env.event(&id).await;
    assert_eq!(env.event(&id).await["data"]["reason"], "session_ttl");
    assert_eq!(env.event_names(&id), vec!["step.completed", "session.expired"]);
}

#[tokio::test]
async fn step_window_expires_the_session() {
    let env = start_with(lazy().step_window(Duration::from_secs(120))).await;
    let id = env.create_steps(json!([{"primitive": "identify"}, {"primitive": "age_verify"}])).await;
    let mut b = env.browser(&id);
    // The window starts while the page opens: its end is 120 s after a moment between these two.
    let before = chrono::Utc::now();
    b.open().await.ok();
    let st = b.state().await;
    let after = chrono::Utc::now();
    let window_end = ts(&st.ok()["step_expires_at"]);
    let req = b.request().await;
    assert_eq!(ts(&req.ok()["expires_at"]), window_end, "the request's expires_at is the step window's end");
    let started = window_end - chrono::Duration::seconds(120);
    assert!(
        (before.timestamp()..=after.timestamp()).contains(&started.timestamp()),
        "{window_end} is not 120 s after the open ({before} .. {after})"
    );
    // The window restarts when the next step becomes active.
    env.advance(100).await;
    b.share("jane-doe").await.ok();
    let next_end = ts(&b.state().await.ok()["step_expires_at"]);
    assert!((next_end - window_end).num_seconds() >= 99, "a fresh window for step 1");
    env.advance(115).await;
    assert_eq!(env.status(&id).await, "in_progress");
    env.advance(5).await;
    // The page's state is an access too.
    let st = b.state().await;
    let st = st.ok();
    assert_eq!(st["status"], "expired");
    assert!(st.get("step_expires_at").is_none(), "absent in terminal states");
    assert_eq!(st["current_step"], 1);
    assert_eq!(env.event(&id).await["event"], "step.completed");
    assert_eq!(
        env.event(&id).await,
        json!({"event": "session.expired", "data": {"session_id": id, "status": "expired", "reason": "step_window"}})
    );
    b.request().await.err(409, "session/not-active", None);
    assert_eq!(env.session(&id).await["status"], "expired");
}

#[tokio::test]
async fn a_window_longer_than_the_ttl_is_capped_and_expires_as_session_ttl() {
    let env = start_with(lazy()).await;
    let id = env.create(json!({"steps": [{"primitive": "identify"}], "expires_in": 60})).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let v = env.session(&id).await;
    let st = b.state().await;
    assert_eq!(st.ok()["step_expires_at"], v["expires_at"], "the earlier of window end and session expiry");
    let req = b.request().await;
    assert_eq!(req.ok()["expires_at"], v["expires_at"]);
    env.advance(61).await;
    b.state().await.ok();
    assert_eq!(env.event(&id).await["data"]["reason"], "session_ttl");
}

#[tokio::test]
async fn time_at_a_gate_counts_only_against_the_ttl() {
    let env = start_with(lazy().step_window(Duration::from_secs(60))).await;
    let id =
        env.create_steps(json!([{"primitive": "identify", "gate": true}, {"primitive": "identify"}])).await;
    let b = env.run_user(&id).await;
    let st = b.state().await;
    assert_eq!(st.ok()["status"], "awaiting_decision");
    assert!(st.body.get("step_expires_at").is_none(), "absent while awaiting_decision");
    env.advance(600).await;
    assert_eq!(env.status(&id).await, "awaiting_decision");
    let r = env.decide(&id, "continue").await;
    assert_eq!(r.ok()["status"], "in_progress");
    env.advance(59).await;
    assert_eq!(env.status(&id).await, "in_progress");
    env.advance(1).await;
    assert_eq!(env.status(&id).await, "expired");
    env.event(&id).await;
    assert_eq!(env.event(&id).await["data"]["reason"], "step_window");
}

#[tokio::test]
async fn a_decline_does_not_restart_the_window() {
    let env = start_with(lazy().step_window(Duration::from_secs(60))).await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let end = b.state().await.ok()["step_expires_at"].clone();
    env.advance(30).await;
    b.decline().await.ok();
    assert_eq!(b.state().await.ok()["step_expires_at"], end);
    let nonce = b.nonce().await;
    env.advance(30).await;
    let r = b.respond(&json!({"nonce": nonce, "wallet": "apple-wallet", "action": "share"})).await;
    r.err(409, "session/not-active", None);
    assert_eq!(env.event(&id).await["data"]["reason"], "step_window");
}

#[tokio::test]
async fn the_sweep_resolves_without_an_access() {
    let env = start_with(fast().expiry_sweep(Duration::from_millis(50))).await;
    let id = env.create(json!({"steps": [{"primitive": "identify"}], "expires_in": 60})).await;
    let opened = env.create_steps(json!([{"primitive": "identify"}])).await;
    let mut b = env.browser(&opened);
    b.open().await.ok();
    let untouched = env.create_steps(json!([{"primitive": "identify"}])).await;
    // Advance through the library, which is not an access to any session.
    env.sb.advance_clock(Duration::from_secs(601)).unwrap();
    let e = env.event(&id).await;
    assert_eq!(
        e,
        json!({"event": "session.expired", "data": {"session_id": id, "status": "expired", "reason": "session_ttl"}})
    );
    let e = env.event(&opened).await;
    assert_eq!(e["data"]["reason"], "step_window");
    // Far from its 3600 s TTL, and never opened: no window runs.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(env.event_names(&untouched).is_empty());
    assert_eq!(env.status(&untouched).await, "created");
}

#[tokio::test]
async fn documents_are_purged_at_expiry() {
    let env = start_with(lazy()).await;
    let session = json!({"steps": [{"primitive": "sign"}], "expires_in": 60});
    let r = env.create_multipart(&session, &[("a.txt", "text/plain", b"alpha")]).await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    let mut b = env.browser(&id);
    b.open().await.ok();
    assert_eq!(b.document(0).await.bytes, b"alpha");
    env.advance(60).await;
    b.document(0).await.err(410, "session/documents-purged", None);
    assert_eq!(env.status(&id).await, "expired");
}

#[tokio::test]
async fn clock_advance_validation() {
    let env = start().await;
    for body in [
        json!({"seconds": 0}),
        json!({"seconds": -5}),
        json!({"seconds": 31_536_001}),
        json!({"seconds": 1.5}),
        json!({"seconds": "10"}),
        json!({}),
    ] {
        send(env.post("/_sandbox/clock/advance").json(&body)).await.err(
            400,
            "request/invalid-field",
            Some("seconds"),
        );
    }
    send(env.post("/_sandbox/clock/advance").header("content-type", "application/json").body("{")).await.err(
        400,
        "request/invalid-field",
        Some("seconds"),
    );
    send(env.post("/_sandbox/clock/advance")).await.err(400, "request/invalid-field", Some("seconds"));
    let r = send(env.post("/_sandbox/clock/advance").json(&json!({"seconds": 31_536_000}))).await;
    let body = r.ok();
    assert_keys(body, &["now"]);
    assert_secs_ts(&body["now"]);
    let ahead = (ts(&body["now"]) - chrono::Utc::now()).num_seconds();
    // Exactly a year ahead, less the moments the answer took to come back (generously bounded).
    assert!((31_536_000 - 600..=31_536_000).contains(&ahead), "{ahead}");
    let r = send(env.post("/_sandbox/clock/advance").json(&json!({"seconds": 1}))).await;
    assert!((ts(&r.ok()["now"]) - chrono::Utc::now()).num_seconds() >= 31_536_000);
    // Sessions created now live on the advanced clock.
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let v = env.session(&id).await;
    assert!((ts(&v["created_at"]) - chrono::Utc::now()).num_seconds() >= 31_536_000);
}

#[tokio::test]
async fn clocks_are_per_business() {
    let env = start_with(lazy()).await;
    let id = env.create(json!({"steps": [{"primitive": "identify"}], "expires_in": 60})).await;
    let (_, other) = env.new_business(json!({"webhook_url": "https://hooks.example.com/x"})).await;
    let r = send(
        env.http.post(env.url("/_sandbox/clock/advance")).bearer_auth(&other).json(&json!({"seconds": 3600})),
    )
    .await;
    r.ok();
    assert_eq!(env.status(&id).await, "created", "another business's clock does not move ours");
}

#[tokio::test]
async fn reading_an_audit_is_an_access_that_resolves_expiry() {
    let env = start_with(lazy()).await;
    let id = env.create(json!({"steps": [{"primitive": "identify", "gate": true}, {"primitive": "identify"}], "expires_in": 60})).await;
    env.run_user(&id).await;
    env.advance(60).await;
    assert_eq!(env.event_names(&id), vec!["step.completed"]);
    send(env.get(&format!("/v1/audits/{id}_0"))).await.ok();
    assert_eq!(
        env.event_names(&id),
        vec!["step.completed", "session.expired"],
        "any API read resolves expiry first"
    );
}

#[tokio::test]
async fn reading_a_sessions_deliveries_is_an_access_that_resolves_expiry() {
    let env = start_with(lazy()).await;
    let id = env.create(json!({"steps": [{"primitive": "identify"}], "expires_in": 60})).await;
    env.advance(60).await;
    let r = send(env.get(&format!("/_sandbox/deliveries?session_id={id}"))).await;
    let list = r.ok()["deliveries"].as_array().unwrap().clone();
    let events: Vec<&str> = list.iter().map(|d| d["event"].as_str().unwrap()).collect();
    assert_eq!(events, vec!["session.expired"], "the control API applies lazy expiry too");
}

#[tokio::test]
async fn another_business_has_no_side_effect_on_an_elapsed_session() {
    // Arrange: A's session has elapsed on A's clock; nothing has resolved it yet.
    let env = start_with(lazy()).await;
    let id = env.create(json!({"steps": [{"primitive": "identify"}], "expires_in": 60})).await;
    env.advance(61).await;
    let other = env.sb.create_business(uip_sandbox::NewBusiness::default()).unwrap();

    // Act: business B reads, continues and stops A's session.
    for (method, path) in [("GET", String::new()), ("POST", "/continue".into()), ("POST", "/stop".into())] {
        let res = env
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/sessions/{id}{path}", env.sb.api_url()),
            )
            .bearer_auth(other.api_key.expose())
            .send()
            .await
            .unwrap();
        // Assert: B gets what an unknown id gets, and A's session is left as it was.
        assert_eq!(res.status(), 404, "{method} {path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "resource/not-found", "{method} {path}");
    }
    assert!(env.event_names(&id).is_empty(), "another business's requests resolved A's expiry");

    // A's own read is the access that resolves it.
    assert_eq!(env.status(&id).await, "expired");
    env.event(&id).await;
    assert_eq!(env.event_names(&id), vec!["session.expired"]);
}
