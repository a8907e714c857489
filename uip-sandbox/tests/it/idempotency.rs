//! Idempotency-Key on create (docs/DECISIONS.md §2, §10): replay, conflict, failures not stored,
//! concurrent duplicates, scope per business, retention on the business clock, and its place in
//! the order of checks.

use crate::support as common;

use common::*;
use serde_json::{json, Value};

async fn create_with_key(env: &Env, api_key: &str, key: &str, body: &Value) -> Resp {
    send(
        env.http.post(env.url("/v1/sessions")).bearer_auth(api_key).header("Idempotency-Key", key).json(body),
    )
    .await
}

#[tokio::test]
async fn same_key_same_body_replays_the_original() {
    let env = start().await;
    let body = json!({"steps": [{"primitive": "identify"}], "client_reference_id": "o-1"});
    let first = create_with_key(&env, &env.key, "7c2e1f9a-0b1c", &body).await;
    first.ok();
    assert!(first.header("idempotent-replayed").is_none());
    let again = create_with_key(&env, &env.key, "7c2e1f9a-0b1c", &body).await;
    again.ok();
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.text, first.text, "the original response, byte for byte");
    // Even after the session moved on.
    let id = first.body["id"].as_str().unwrap();
    env.run_user(id).await;
    let third = create_with_key(&env, &env.key, "7c2e1f9a-0b1c", &body).await;
    assert_eq!(third.body["status"], "created", "the original answer, not the session's state");
    assert_eq!(third.text, first.text);
    // A create without the key is a new session.
    let other = env.create(body.clone()).await;
    assert_ne!(other, id);
}

#[tokio::test]
async fn same_key_different_body_is_a_conflict() {
    let env = start().await;
    let body = json!({"steps": [{"primitive": "identify"}]});
    let first = create_with_key(&env, &env.key, "k1", &body).await;
    first.ok();
    let r = create_with_key(&env, &env.key, "k1", &json!({"steps": [{"primitive": "age_verify"}]})).await;
    r.code(409, "request/idempotency-conflict");
    // Byte-identical means byte-identical: the same JSON with other whitespace differs.
    let r = send(
        env.post("/v1/sessions")
            .header("Idempotency-Key", "k1")
            .header("content-type", "application/json")
            .body(format!(" {body}")),
    )
    .await;
    r.code(409, "request/idempotency-conflict");
    // The original still replays.
    assert_eq!(create_with_key(&env, &env.key, "k1", &body).await.text, first.text);
}

#[tokio::test]
async fn failed_creates_are_not_stored() {
    let env = start().await;
    // 400
    create_with_key(&env, &env.key, "k-400", &json!({"steps": []})).await.err(
        400,
        "request/invalid-steps",
        Some("steps"),
    );
    let ok = create_with_key(&env, &env.key, "k-400", &json!({"steps": [{"primitive": "identify"}]})).await;
    ok.ok();
    assert!(ok.header("idempotent-replayed").is_none());
    // 402, then the same request succeeds once there is money.
    let body = json!({"steps": [{"primitive": "sign_never"}]});
    create_with_key(&env, &env.key, "k-x", &body).await.err(
        400,
        "request/unknown-primitive",
        Some("steps[0].primitive"),
    );
    env.patch_business(json!({"balance_cents": 0})).await;
    let body = json!({"steps": [{"primitive": "age_verify"}]});
    create_with_key(&env, &env.key, "k-402", &body).await.err(402, "payment/insufficient-funds", None);
    env.patch_business(json!({"balance_cents": 10})).await;
    let r = create_with_key(&env, &env.key, "k-402", &body).await;
    r.ok();
    assert!(r.header("idempotent-replayed").is_none());
    // 422, then the same.
    env.patch_business(json!({"webhook_url": null})).await;
    create_with_key(&env, &env.key, "k-422", &body).await.err(422, "request/webhook-missing", None);
    env.patch_business(json!({"webhook_url": format!("{}/_sandbox/inbox", env.sb.base_url())})).await;
    let r = create_with_key(&env, &env.key, "k-422", &body).await;
    r.ok();
    assert!(r.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn replay_and_conflict_come_before_webhook_and_balance_checks() {
    let env = start().await;
    let body = json!({"steps": [{"primitive": "identify"}]});
    let first = create_with_key(&env, &env.key, "k", &body).await;
    first.ok();
    env.patch_business(json!({"webhook_url": null, "balance_cents": 0})).await;
    let again = create_with_key(&env, &env.key, "k", &body).await;
    assert_eq!(again.text, first.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    create_with_key(&env, &env.key, "k", &json!({"steps": [{"primitive": "age_verify"}]}))
        .await
        .code(409, "request/idempotency-conflict");
}

#[tokio::test]
async fn concurrent_duplicates_create_one_session() {
    let env = start().await;
    let body = json!({"steps": [{"primitive": "identify"}, {"primitive": "age_verify"}]});
    let answers =
        futures::future::join_all((0..10).map(|_| create_with_key(&env, &env.key, "concurrent-1", &body)))
            .await;
    let ids: Vec<&str> = answers.iter().map(|r| r.ok()["id"].as_str().unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one session id: {ids:?}");
    assert!(answers.iter().all(|r| r.text == answers[0].text));
    let fresh = answers.iter().filter(|r| r.header("idempotent-replayed").is_none()).count();
    assert_eq!(fresh, 1, "exactly one original, the rest replays");

    // Concurrent different bodies under one key: one wins, the others conflict.
    let bodies: Vec<Value> = (0..6)
        .map(|i| json!({"steps": [{"primitive": "identify"}], "client_reference_id": format!("r{i}")}))
        .collect();
    let answers =
        futures::future::join_all(bodies.iter().map(|b| create_with_key(&env, &env.key, "concurrent-2", b)))
            .await;
    assert_eq!(answers.iter().filter(|r| r.status == 200).count(), 1);
    for r in answers.iter().filter(|r| r.status != 200) {
        r.code(409, "request/idempotency-conflict");
    }
}

#[tokio::test]
async fn keys_are_per_business() {
    let env = start().await;
    let (_, other) = env.new_business(json!({"webhook_url": "https://hooks.example.com/uip"})).await;
    let body = json!({"steps": [{"primitive": "identify"}]});
    let a = create_with_key(&env, &env.key, "shared", &body).await;
    let b = create_with_key(&env, &other, "shared", &body).await;
    assert_ne!(a.ok()["id"], b.ok()["id"]);
    assert!(b.header("idempotent-replayed").is_none());
    // And a different body under the same key in the other business is no conflict.
    let c = create_with_key(&env, &other, "shared-2", &json!({"steps": [{"primitive": "age_verify"}]})).await;
    c.ok();
    create_with_key(&env, &env.key, "shared-2", &body).await.ok();
}

#[tokio::test]
async fn keys_are_kept_24_hours_of_the_business_clock() {
    let env = start().await;
    let body = json!({"steps": [{"primitive": "identify"}], "expires_in": 86400});
    let first = create_with_key(&env, &env.key, "day", &body).await;
    let id = first.ok()["id"].clone();
    env.advance(23 * 3600).await;
    assert_eq!(create_with_key(&env, &env.key, "day", &body).await.ok()["id"], id);
    env.advance(3600).await;
    let later = create_with_key(&env, &env.key, "day", &body).await;
    assert_ne!(later.ok()["id"], id, "after 24 h the key is free again");
    assert!(later.header("idempotent-replayed").is_none());
}
