//! The page state carries why a session ended, so a reloaded page can still say it.

use std::time::Duration;

use serde_json::json;
use uip_types::sandbox::ResponseOutcome;
use uip_types::SessionStatus;

use crate::support;

#[tokio::test]
async fn a_failed_session_keeps_its_reason_in_the_page_state() {
    let env = support::start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let user = env.sb.user(&id);
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
    let env = support::start_with(support::fast().expiry_sweep(Duration::ZERO)).await;
    let id = env.create(json!({"steps": [{"primitive": "identify"}], "expires_in": 60})).await;
    let user = env.sb.user(&id);
    user.open().await.unwrap();
    assert_eq!(user.state().await.unwrap().reason, None);

    env.sb.advance_clock(Duration::from_secs(61)).unwrap();

    let state = user.state().await.unwrap();
    assert_eq!(state.status, SessionStatus::Expired);
    assert_eq!(state.reason.as_deref(), Some("session_ttl"));
}
