//! Expiry, driven by the business's clock: by the session TTL and by a step's window. With the
//! background sweep off, expiry is lazy: nothing happens until the session is touched, and the
//! `GET` that touches it resolves it and fires `session.expired`.

use std::time::Duration;

use uip_client::{ErrorCode, SessionStatus};
use uip_e2e::{ended, names, refusal, Env, WAIT};
use uip_types::SESSION_EXPIRED;

#[tokio::test]
async fn expired_by_session_ttl_on_the_next_get() {
    let env = Env::with(|b| b.expiry_sweep(Duration::ZERO)).await;
    let session =
        env.client.session().age_verify(18).expires_in(Duration::from_secs(60)).send().await.unwrap();
    let id = session.id.as_str();

    env.sandbox.advance_clock(Duration::from_secs(59)).unwrap();
    assert_eq!(env.client.get_session(&session.id).await.unwrap().status, SessionStatus::Created);

    env.sandbox.advance_clock(Duration::from_secs(1)).unwrap(); // now == expires_at: expired
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(env.receiver.events(id).is_empty(), "lazy: nothing fires before the session is touched");

    let view = env.client.get_session(&session.id).await.unwrap();
    assert_eq!(view.status, SessionStatus::Expired);
    let events = env.receiver.wait_terminal(id, WAIT).await;
    assert_eq!(names(&events), ["session.expired"]);
    let expired = ended(&events[0], SESSION_EXPIRED);
    assert_eq!(expired.status, SessionStatus::Expired);
    assert_eq!(expired.reason.as_deref(), Some("session_ttl"));

    // The user arrives too late: whether or not the page still opens, there is nothing to answer.
    let user = env.sandbox.user(id);
    let _ = user.open().await;
    assert_eq!(refusal(user.request().await), (409, "session/not-active".to_owned()));
}

#[tokio::test]
async fn expired_by_step_window_on_the_next_get() {
    let env = Env::with(|b| b.expiry_sweep(Duration::ZERO).step_window(Duration::from_secs(120))).await;
    let session = env.client.session().identify_default().age_verify(18).send().await.unwrap();
    let id = session.id.as_str();
    let user = env.sandbox.user(id);
    user.open().await.unwrap(); // stage 0's window starts now
    user.share().await.unwrap(); // stage 1's window starts now
    env.receiver.wait_for(id, 1, WAIT).await;

    env.sandbox.advance_clock(Duration::from_secs(121)).unwrap();
    let view = env.client.get_session(&session.id).await.unwrap();
    assert_eq!((view.status, view.current_step), (SessionStatus::Expired, 1));

    let events = env.receiver.wait_terminal(id, WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "session.expired"]);
    assert_eq!(ended(&events[1], SESSION_EXPIRED).reason.as_deref(), Some("step_window"));

    let err = user.share().await.unwrap_err();
    assert!(err.to_string().contains(ErrorCode::NotActive.as_str()), "{err}");
}

#[tokio::test]
async fn the_sweep_expires_untouched_sessions() {
    let env = Env::start().await; // sweep every 100 ms
    let session =
        env.client.session().age_verify(18).expires_in(Duration::from_secs(60)).send().await.unwrap();
    env.sandbox.advance_clock(Duration::from_secs(61)).unwrap();

    // No API call: the sweep resolves it and the webhook arrives by itself.
    let events = env.receiver.wait_terminal(session.id.as_str(), WAIT).await;
    assert_eq!(names(&events), ["session.expired"]);
    assert_eq!(ended(&events[0], SESSION_EXPIRED).reason.as_deref(), Some("session_ttl"));
}
