//! The page state carries why a session ended, so a reloaded page can still say it.

use std::time::Duration;

use uip_sandbox::Sandbox;
use uip_types::sandbox::ResponseOutcome;
use uip_types::SessionStatus;

async fn create(sandbox: &Sandbox, body: serde_json::Value) -> String {
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/sessions", sandbox.api_url()))
        .bearer_auth(sandbox.api_key().expose())
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_failed_session_keeps_its_reason_in_the_page_state() {
    let sandbox = Sandbox::start().await;
    let id = create(&sandbox, serde_json::json!({"steps": [{"primitive": "identify"}]})).await;
    let user = sandbox.user(&id);
    user.open().await.unwrap();

    let result = user.share_as("tampered").await.unwrap();

    assert_eq!(result.outcome, ResponseOutcome::Failed);
    assert_eq!(result.reason(), Some("integrity_check_failed"));
    let state = user.state().await.unwrap();
    assert_eq!(state.status, SessionStatus::Failed);
    assert_eq!(state.reason.as_deref(), Some("integrity_check_failed"));
}

#[tokio::test]
async fn an_expired_session_says_which_timer_ran_out_and_a_live_one_says_nothing() {
    let sandbox = Sandbox::builder().expiry_sweep(Duration::ZERO).start().await.unwrap();
    let id =
        create(&sandbox, serde_json::json!({"steps": [{"primitive": "identify"}], "expires_in": 60})).await;
    let user = sandbox.user(&id);
    user.open().await.unwrap();
    assert_eq!(user.state().await.unwrap().reason, None);

    sandbox.advance_clock(Duration::from_secs(61)).unwrap();

    let state = user.state().await.unwrap();
    assert_eq!(state.status, SessionStatus::Expired);
    assert_eq!(state.reason.as_deref(), Some("session_ttl"));
}
