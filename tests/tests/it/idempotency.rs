//! Creates that must not make two sessions: a repeated create with one Idempotency-Key, and the
//! client's own retries against a sandbox that drops, refuses or stalls the first attempt.

use std::time::{Duration, Instant};

use serde_json::json;
use uip_client::{Client, Error, ErrorCode, RetryPolicy, SessionStatus};
use uip_e2e::{names, Env, WAIT};
use uip_sandbox::Fault;

#[tokio::test]
async fn duplicate_create_with_an_idempotency_key_returns_the_same_session() {
    let env = Env::start().await;
    let create =
        || env.client.session().age_verify(21).client_reference_id("order_1").idempotency_key("order_1");
    let first = create().send().await.unwrap();
    let again = create().send().await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(first.url, again.url);
    assert_eq!(first.expires, again.expires);

    // On the wire: the replay is marked, with the original body.
    let body = json!({"steps": [{"primitive": "age_verify", "params": {"min_age": 21}}], "client_reference_id": "order_1"});
    let key = "order_1-raw";
    let original = env.raw_create(&body, Some(key)).await;
    assert_eq!(original.status(), 200);
    assert!(original.headers().get("Idempotent-Replayed").is_none());
    let original: serde_json::Value = original.json().await.unwrap();
    let replay = env.raw_create(&body, Some(key)).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers().get("Idempotent-Replayed").unwrap(), "true");
    assert_eq!(replay.json::<serde_json::Value>().await.unwrap(), original);

    // The same key with another request is a conflict, not a new session.
    let err = env.client.session().age_verify(18).idempotency_key("order_1").send().await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 409, .. }), "{err:?}");
    assert_eq!(err.code(), Some(&ErrorCode::IdempotencyConflict));

    // The one session works as usual, and delivers its events once.
    let user = env.sandbox.user(first.id.as_str());
    user.open().await.unwrap();
    user.share().await.unwrap();
    let events = env.receiver.wait_terminal(first.id.as_str(), WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "session.completed"]);
}

/// Arms one fault, creates through the client with a known key, and checks that the fault was
/// used up by the create (so the create needed a retry to succeed) and that exactly one session
/// exists under that key. Returns how long the create took and the session's id.
async fn create_survives(env: &Env, client: &Client, with: Fault, key: &str) -> (Duration, String) {
    env.sandbox.faults().fail_next(1, with).unwrap();
    let started = Instant::now();
    let session = client.session().age_verify(18).idempotency_key(key).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(session.status, SessionStatus::Created);

    // The fault was consumed by the create: a read that met it would fail, as it is not retried.
    // (The create is the only request between arming the fault and this read, so the create met
    // the fault and succeeded only through the client's retry.)
    let no_retries = Client::builder(env.sandbox.api_key().expose())
        .base_url(env.sandbox.api_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let view = no_retries
        .get_session(&session.id)
        .await
        .unwrap_or_else(|e| panic!("{with:?}: the fault was not used up by the create: {e}"));
    assert_eq!(view.status, SessionStatus::Created, "{with:?}");

    // Exactly one session under the key: a replay of the same request returns it.
    let body = json!({"steps": [{"primitive": "age_verify", "params": {"min_age": 18}}]});
    let replay = env.raw_create(&body, Some(key)).await;
    assert_eq!(
        replay.headers().get("Idempotent-Replayed").map(|v| v.to_str().unwrap()),
        Some("true"),
        "{with:?}"
    );
    let replay: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(replay["id"], session.id.as_str(), "{with:?}");

    // And it is a working session.
    let user = env.sandbox.user(session.id.as_str());
    user.open().await.unwrap();
    user.share().await.unwrap();
    let events = env.receiver.wait_terminal(session.id.as_str(), WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "session.completed"], "{with:?}");
    (took, session.id.to_string())
}

#[tokio::test]
async fn client_retry_after_a_reset_makes_exactly_one_session() {
    let env = Env::start().await;
    create_survives(&env, &env.client, Fault::Reset, "reset-1").await;
}

#[tokio::test]
async fn client_retry_after_a_503_makes_exactly_one_session() {
    let env = Env::start().await;
    let (took, _) = create_survives(&env, &env.client, Fault::Unavailable, "unavailable-1").await;
    assert!(took >= Duration::from_millis(900), "Retry-After: 1 was honoured ({took:?})");
}

#[tokio::test]
async fn client_retry_after_a_timeout_makes_exactly_one_session() {
    let env = Env::start().await;
    // The first attempt stalls past the client's timeout; the retry carries the same key.
    let client = Client::builder(env.sandbox.api_key().expose())
        .base_url(env.sandbox.api_url())
        .timeout(Duration::from_millis(400))
        .retry_policy(RetryPolicy::new(3, Duration::from_millis(20), Duration::from_secs(1)))
        .build()
        .unwrap();
    let started = Instant::now();
    let (took, id) =
        create_survives(&env, &client, Fault::Delay(Duration::from_millis(1500)), "timeout-1").await;
    assert!(took >= Duration::from_millis(400), "the first attempt timed out ({took:?})");
    // The stalled attempt finishes server-side (or is dropped) about 1.5 s after it started; once
    // it has, the key still names the client's session: the stalled attempt made no second one.
    let body = json!({"steps": [{"primitive": "age_verify", "params": {"min_age": 18}}]});
    tokio::time::sleep_until((started + Duration::from_millis(1500)).into()).await;
    let replay = env.raw_create(&body, Some("timeout-1")).await;
    assert_eq!(replay.status(), 200, "a replay of the key");
    assert_eq!(replay.headers().get("Idempotent-Replayed").unwrap(), "true");
    let replayed: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(replayed["id"], id.as_str(), "the key names the client's session");
}

#[tokio::test]
async fn without_retries_the_dropped_create_surfaces_as_a_retryable_error() {
    let env = Env::start().await;
    let client = Client::builder(env.sandbox.api_key().expose())
        .base_url(env.sandbox.api_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    env.sandbox.faults().fail_next(1, Fault::Reset).unwrap();
    let err = client.session().age_verify(18).send().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
}
