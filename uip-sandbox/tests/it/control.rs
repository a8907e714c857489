//! The control API (docs/DECISIONS.md §8, §10): businesses, personas, simulate, faults, deliveries and
//! the inbox.

use crate::support as common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn base62_after(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|r| r.len() == 32 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[tokio::test]
async fn new_businesses_have_defaults_and_are_isolated() {
    let env = start().await;
    let r = send(env.http.post(env.url("/_sandbox/businesses"))).await;
    let b = r.ok();
    assert_keys(b, &["business_id", "api_key", "webhook_secret", "webhook_url", "balance_cents", "trust"]);
    assert!(base62_after(b["api_key"].as_str().unwrap(), "uip_test_"), "{b}");
    assert!(base62_after(b["webhook_secret"].as_str().unwrap(), "uip_whsec_"), "{b}");
    assert_eq!(b["webhook_url"], Value::Null);
    assert_eq!(b["balance_cents"], 100_000);
    assert_eq!(b["trust"], "demo");

    let (c, key) = env
        .new_business(json!({"webhook_url": "http://127.0.0.1:9/hook", "balance_cents": 5, "trust": "production", "name": "Shop"}))
        .await;
    assert_eq!(c["webhook_url"], "http://127.0.0.1:9/hook");
    assert_eq!(c["balance_cents"], 5);
    assert_eq!(c["trust"], "production");
    assert_ne!(c["business_id"], b["business_id"]);
    let view = send(env.http.get(env.url("/_sandbox/business")).bearer_auth(&key)).await;
    assert_eq!(
        view.ok(),
        &json!({"business_id": c["business_id"], "name": "Shop", "webhook_url": "http://127.0.0.1:9/hook",
                "webhook_secret": c["webhook_secret"], "balance_cents": 5, "trust": "production",
                "clock_offset_s": 0})
    );
    assert!(!view.text.contains(&key), "the API key is never echoed");

    // Bad bodies.
    send(env.http.post(env.url("/_sandbox/businesses")).json(&json!({"trust": "maybe"}))).await.err(
        400,
        "request/invalid-payload",
        Some("trust"),
    );
    send(env.http.post(env.url("/_sandbox/businesses")).json(&json!({"balance_cents": -1}))).await.err(
        400,
        "request/invalid-field",
        Some("balance_cents"),
    );
    send(env.http.post(env.url("/_sandbox/businesses")).json(&json!({"colour": "red"}))).await.err(
        400,
        "request/invalid-field",
        Some("colour"),
    );
    send(env.http.post(env.url("/_sandbox/businesses")).json(&json!({"webhook_url": "ftp://x.example"})))
        .await
        .err(400, "request/invalid-field", Some("webhook_url"));
}

#[tokio::test]
async fn get_and_patch_business() {
    let env = start().await;
    let r = send(env.get("/_sandbox/business")).await;
    let v = r.ok().clone();
    assert_keys(
        &v,
        &["business_id", "name", "webhook_url", "webhook_secret", "balance_cents", "trust", "clock_offset_s"],
    );
    assert_eq!(v["webhook_secret"], "uip_whsec_sandbox");
    assert_eq!(v["webhook_url"], format!("{}/_sandbox/inbox", env.sb.base_url()));
    assert!(!r.text.contains(&env.key));

    let p = env.patch_business(json!({"balance_cents": 42, "trust": "production", "name": "Renamed"})).await;
    assert_eq!(
        (p["balance_cents"].as_u64(), p["trust"].as_str(), p["name"].as_str()),
        (Some(42), Some("production"), Some("Renamed"))
    );
    assert_eq!(p["webhook_secret"], "uip_whsec_sandbox", "unchanged unless rotated");
    assert_eq!(p["webhook_url"], v["webhook_url"]);

    let rotated = env.patch_business(json!({"rotate_webhook_secret": true})).await;
    let secret = rotated["webhook_secret"].as_str().unwrap().to_owned();
    assert!(base62_after(&secret, "uip_whsec_"), "{secret}");
    assert_eq!(send(env.get("/_sandbox/business")).await.ok()["webhook_secret"], secret.as_str());
    assert_eq!(env.sb.webhook_secret().expose(), secret);
    // Deliveries after rotation are signed with the new secret (next_event verifies them).
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    env.run_user(&id).await;
    assert_eq!(env.event(&id).await["event"], "step.completed");

    let cleared = env.patch_business(json!({"webhook_url": null})).await;
    assert_eq!(cleared["webhook_url"], Value::Null);
    env.create_raw(&json!({"steps": [{"primitive": "identify"}]})).await.err(
        422,
        "request/webhook-missing",
        None,
    );
    let set = env.patch_business(json!({"webhook_url": "https://hooks.example.com/uip"})).await;
    assert_eq!(set["webhook_url"], "https://hooks.example.com/uip");
    // An empty PATCH changes nothing.
    let same = send(env.http.patch(env.url("/_sandbox/business")).bearer_auth(&env.key)).await;
    assert_eq!(same.ok(), &set);

    let patch =
        |body: Value| send(env.http.patch(env.url("/_sandbox/business")).bearer_auth(&env.key).json(&body));
    patch(json!({"webhook_url": "not a url"})).await.err(400, "request/invalid-field", Some("webhook_url"));
    patch(json!({"api_key": "x"})).await.err(400, "request/invalid-field", Some("api_key"));
    patch(json!({"trust": "sometimes"})).await.code(400, "request/invalid-payload");
    send(env.http.patch(env.url("/_sandbox/business")).json(&json!({}))).await.err(
        401,
        "auth/missing-api-key",
        None,
    );
}

#[tokio::test]
async fn personas_are_listed_with_their_keys() {
    let env = start().await;
    let r = send(env.http.get(env.url("/_sandbox/personas"))).await;
    let list = r.ok()["personas"].as_array().unwrap().clone();
    let ids: Vec<&str> = list.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        vec!["jane-doe", "minor", "no-portrait", "expired-credential", "tampered", "untrusted-issuer"]
    );
    for p in &list {
        assert_keys(p, &["id", "description", "claims", "device_public_key", "outcome"]);
        let id = p["id"].as_str().unwrap();
        assert_eq!(p["device_public_key"], b64url(persona_key(id).as_bytes()), "{id}");
    }
    let jane = &list[0]["claims"];
    assert_eq!(jane["first_name"], "Jane");
    assert_eq!(jane["last_name"], "Doe");
    assert_eq!(jane["dob"], "1990-04-01");
    assert_eq!(jane["country"], "US");
    assert_eq!(jane["document_number"], "D1234567");
    assert!(jane["portrait"].as_str().unwrap().starts_with("data:image/jpeg;base64,"));
    assert_eq!(list[1]["claims"]["dob"], "2012-01-01");
    let np = list[2]["claims"].as_object().unwrap();
    assert!(!np.contains_key("portrait") && !np.contains_key("document_number"));
}

#[tokio::test]
async fn simulate_drives_the_page_as_a_user() {
    let env = start().await;
    let sim = |id: &str, body: Option<Value>| {
        let mut rb = env.post(&format!("/_sandbox/sessions/{id}/simulate"));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        send(rb)
    };
    // Defaults: jane-doe, apple-wallet, share until the session pauses or ends.
    let id = env.create_steps(json!([{"primitive": "identify"}, {"primitive": "age_verify", "gate": true}, {"primitive": "light_sign", "params": {"terms": "t"}}])).await;
    let r = sim(&id, None).await;
    let v = r.ok();
    assert_eq!(v, &env.session(&id).await, "answers the GET session view");
    assert_eq!((v["status"].as_str(), v["current_step"].as_u64()), (Some("awaiting_decision"), Some(1)));
    assert_eq!(env.event(&id).await["data"]["claims"]["first_name"], "Jane");
    assert_eq!(env.event(&id).await["data"]["satisfied"], true);
    // It bound the session: another device is refused.
    let mut other = env.browser(&id);
    other.open().await.err(409, "session/bound-elsewhere", None);
    env.decide(&id, "continue").await.ok();
    let r = sim(&id, Some(json!({}))).await;
    assert_eq!(r.ok()["status"], "completed");
    let audit = send(env.get(&format!("/v1/audits/{id}_2"))).await;
    assert_eq!(audit.ok()["wallet"], "apple-wallet");

    // steps, persona, wallet, decline.
    let id = env
        .create_steps(
            json!([{"primitive": "identify"}, {"primitive": "age_verify", "params": {"min_age": 21}}]),
        )
        .await;
    let r = sim(&id, Some(json!({"steps": 1, "wallet": "google-wallet"}))).await;
    assert_eq!((r.ok()["status"].as_str(), r.body["current_step"].as_u64()), (Some("in_progress"), Some(1)));
    let r = sim(&id, Some(json!({"action": "decline"}))).await;
    assert_eq!((r.ok()["status"].as_str(), r.body["current_step"].as_u64()), (Some("in_progress"), Some(1)));
    let r = sim(&id, Some(json!({"persona": "minor"}))).await;
    assert_eq!(r.ok()["status"], "completed");
    env.event(&id).await;
    assert_eq!(env.event(&id).await["data"]["satisfied"], false);
    assert_eq!(send(env.get(&format!("/v1/audits/{id}_0"))).await.ok()["wallet"], "google-wallet");

    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let r = sim(&id, Some(json!({"persona": "tampered"}))).await;
    assert_eq!(r.ok()["status"], "failed");
    assert_eq!(env.event(&id).await["data"]["reason"], "integrity_check_failed");
    // Simulating an ended session changes nothing.
    assert_eq!(sim(&id, None).await.ok()["status"], "failed");

    // Errors: foreign or unknown sessions, bad bodies.
    let (_, other_key) = env.new_business(json!({"webhook_url": "https://hooks.example.com/uip"})).await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let r =
        send(env.http.post(env.url(&format!("/_sandbox/sessions/{id}/simulate"))).bearer_auth(&other_key))
            .await;
    r.err(404, "resource/not-found", None);
    assert_eq!(env.status(&id).await, "created", "a foreign simulate does not bind or open");
    sim("sess_AAAAAAAAAAAAAAAAAAAAAAAA", None).await.err(404, "resource/not-found", None);
    sim(&id, Some(json!({"persona": "nobody"}))).await.err(400, "request/invalid-payload", Some("persona"));
    sim(&id, Some(json!({"speed": 2}))).await.err(400, "request/invalid-field", Some("speed"));
}

/// `simulate {"action": "internal_error"}` on a `created` session (docs/DECISIONS.md §11): binds like a
/// first open, fails the session with reason `internal_error`, bills nothing, writes no audit, and
/// delivers `session.failed` alone.
#[tokio::test]
async fn simulated_internal_error_fails_a_created_session() {
    let env = start().await;
    let id = env
        .create(json!({"steps": [{"primitive": "identify"}, {"primitive": "age_verify"}], "client_reference_id": "order-7"}))
        .await;
    let balance = env.balance().await;

    let r = send(
        env.post(&format!("/_sandbox/sessions/{id}/simulate")).json(&json!({"action": "internal_error"})),
    )
    .await;
    let v = r.ok();
    assert_eq!(v, &env.session(&id).await, "answers the GET session view");
    assert_eq!((v["status"].as_str(), v["current_step"].as_u64()), (Some("failed"), Some(0)));

    assert_eq!(
        env.event(&id).await,
        json!({"event": "session.failed", "data": {"session_id": id, "client_reference_id": "order-7", "status": "failed", "reason": "internal_error"}})
    );
    assert_eq!(env.event_names(&id), ["session.failed"], "no step.completed, nothing else");
    assert_eq!(env.balance().await, balance, "nothing billed");
    send(env.get(&format!("/v1/audits/{id}_0"))).await.err(404, "resource/not-found", None);

    // It bound the session like any simulate: another device is refused.
    let bound_elsewhere = uip_types::ErrorCode::BoundElsewhere.http_status().unwrap();
    env.browser(&id).open().await.err(bound_elsewhere, "session/bound-elsewhere", None);
}

/// On an `in_progress` session the active step fails; the steps verified before it stay billed
/// and audited, and the bound page shows the reason.
#[tokio::test]
async fn simulated_internal_error_fails_the_active_step() {
    let env = start().await;
    let id = env
        .create_steps(
            json!([{"primitive": "identify"}, {"primitive": "light_sign", "params": {"terms": "t"}}]),
        )
        .await;
    let mut page = env.browser(&id);
    page.open().await.ok();
    assert_eq!(page.share("jane-doe").await.ok()["outcome"], "verified");
    let step0 = env.event(&id).await;
    assert_eq!((step0["event"].as_str(), step0["data"]["stage"].as_u64()), (Some("step.completed"), Some(0)));
    let balance = env.balance().await;

    let r = send(
        env.post(&format!("/_sandbox/sessions/{id}/simulate")).json(&json!({"action": "internal_error"})),
    )
    .await;
    assert_eq!((r.ok()["status"].as_str(), r.body["current_step"].as_u64()), (Some("failed"), Some(1)));
    assert_eq!(
        env.event(&id).await,
        json!({"event": "session.failed", "data": {"session_id": id, "status": "failed", "reason": "internal_error"}})
    );
    assert_eq!(env.event_names(&id), ["step.completed", "session.failed"]);
    assert_eq!(env.balance().await, balance, "the failed step is not billed");
    send(env.get(&format!("/v1/audits/{id}_0"))).await.ok();
    send(env.get(&format!("/v1/audits/{id}_1"))).await.err(404, "resource/not-found", None);

    let state = page.state().await;
    assert_eq!(
        (state.ok()["status"].as_str(), state.body["reason"].as_str()),
        (Some("failed"), Some("internal_error"))
    );
    page.respond(&json!({"nonce": "x", "wallet": "apple-wallet", "action": "share"})).await.err(
        409,
        "session/not-active",
        None,
    );
}

/// Only `created` and `in_progress` sessions can be failed: a gate, every terminal state (including a
/// lazily expired session) and a foreign or unknown session refuse, changing nothing.
#[tokio::test]
async fn simulated_internal_error_is_refused_unless_a_step_can_be_active() {
    let env = start().await;
    let fail = |id: &str| {
        send(
            env.post(&format!("/_sandbox/sessions/{id}/simulate")).json(&json!({"action": "internal_error"})),
        )
    };

    // awaiting_decision: refused; the gate still takes a decision.
    let id =
        env.create_steps(json!([{"primitive": "identify", "gate": true}, {"primitive": "identify"}])).await;
    env.run_user(&id).await;
    let balance = env.balance().await;
    fail(&id).await.err(409, "session/not-active", None);
    assert_eq!(env.status(&id).await, "awaiting_decision");
    assert_eq!(env.event_names(&id), ["step.completed"]);
    assert_eq!(env.balance().await, balance);
    assert_eq!(env.decide(&id, "continue").await.ok()["status"], "in_progress");

    // completed, stopped, failed.
    let done = env.create_steps(json!([{"primitive": "identify"}])).await;
    env.run_user(&done).await;
    let stopped =
        env.create_steps(json!([{"primitive": "identify", "gate": true}, {"primitive": "identify"}])).await;
    env.run_user(&stopped).await;
    env.decide(&stopped, "stop").await.ok();
    let failed = env.create_steps(json!([{"primitive": "identify"}])).await;
    fail(&failed).await.ok();
    for (id, status, events) in [
        (&done, "completed", &["step.completed", "session.completed"][..]),
        (&stopped, "stopped", &["step.completed", "session.stopped"][..]),
        (&failed, "failed", &["session.failed"][..]),
    ] {
        fail(id).await.err(409, "session/not-active", None);
        assert_eq!(env.status(id).await, status);
        assert_eq!(env.event_names(id), events, "{status}: no further event");
    }

    // An elapsed, never opened session resolves to expired first, and the refusal does not bind it.
    let id = env.create(json!({"steps": [{"primitive": "identify"}], "expires_in": 60})).await;
    env.advance(60).await;
    fail(&id).await.err(409, "session/not-active", None);
    assert_eq!(env.event_names(&id), ["session.expired"]);
    env.browser(&id).open().await.ok();

    // Foreign and unknown sessions are not found; a misspelt action is a bad body.
    let (_, other_key) = env.new_business(json!({"webhook_url": "https://hooks.example.com/uip"})).await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let foreign = env
        .http
        .post(env.url(&format!("/_sandbox/sessions/{id}/simulate")))
        .bearer_auth(&other_key)
        .json(&json!({"action": "internal_error"}));
    send(foreign).await.err(404, "resource/not-found", None);
    assert_eq!(env.status(&id).await, "created");
    fail("sess_AAAAAAAAAAAAAAAAAAAAAAAA").await.err(404, "resource/not-found", None);
    let r = send(
        env.post(&format!("/_sandbox/sessions/{id}/simulate")).json(&json!({"action": "internal-error"})),
    )
    .await;
    r.code(400, "request/invalid-payload");
    assert_eq!(env.status(&id).await, "created");
}

#[tokio::test]
async fn faults_fail_the_next_business_api_requests() {
    let env = start().await;
    let arm = |body: Value| send(env.post("/_sandbox/faults").json(&body));
    let r = arm(json!({"fail_next": 2, "with": 503})).await;
    assert_eq!(r.ok(), &json!({"fail_next": 2, "with": 503}));
    // Control routes neither fail nor count.
    send(env.get("/_sandbox/business")).await.ok();
    send(env.http.get(env.url("/_sandbox/personas"))).await.ok();
    let body = json!({"steps": [{"primitive": "identify"}]});
    for _ in 0..2 {
        let r = env.create_raw(&body).await;
        r.err(503, "internal/unavailable", None);
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    let id = env.create(body.clone()).await;
    env.session(&id).await;

    // Before any processing: an injected failure does not create a session or use a key.
    arm(json!({"fail_next": 1, "with": 429})).await.ok();
    let r = send(env.post("/v1/sessions").header("Idempotency-Key", "f1").json(&body)).await;
    r.err(429, "request/rate-limited", None);
    assert_eq!(r.header("retry-after"), Some("1"));
    let r = send(env.post("/v1/sessions").header("Idempotency-Key", "f1").json(&body)).await;
    r.ok();
    assert!(r.header("idempotent-replayed").is_none());

    // Any /v1 route with the key counts, reads included.
    arm(json!({"fail_next": 1, "with": 500})).await.ok();
    let r = send(env.get(&format!("/v1/sessions/{id}"))).await;
    r.err(500, "internal/server-error", None);
    assert!(r.header("retry-after").is_none());
    env.session(&id).await;

    // Clearing.
    arm(json!({"fail_next": 3, "with": 503})).await.ok();
    assert_eq!(arm(json!({"fail_next": 0})).await.ok()["fail_next"], 0);
    env.session(&id).await;

    // Only this business.
    arm(json!({"fail_next": 1, "with": 503})).await.ok();
    let (_, other) = env.new_business(json!({"webhook_url": "https://hooks.example.com/uip"})).await;
    env.create_as(&other, &body).await.ok();
    send(env.http.get(env.url("/v1/wallets"))).await.ok();
    env.create_raw(&body).await.err(503, "internal/unavailable", None);
}

#[tokio::test]
async fn reset_and_delay_faults() {
    let env = start().await;
    let body = json!({"steps": [{"primitive": "identify"}]});
    send(env.post("/_sandbox/faults").json(&json!({"fail_next": 1, "with": "reset"}))).await.ok();
    let err = env.post("/v1/sessions").json(&body).send().await.expect_err("the connection is dropped");
    // Dropped without an answer, not merely slow: the request failed, and not by the timeout.
    assert!(!err.is_timeout() && err.is_request(), "{err:?}");
    // The server lives on; the fault is used up.
    env.create(body.clone()).await;

    // A 2 s delay on the next request only: a client whose timeout is 1 s gives up on it, and the
    // request after it is not delayed (the same client gets its answer).
    send(env.post("/_sandbox/faults").json(&json!({"fail_next": 1, "with": "delay_ms:2000"}))).await.ok();
    let impatient = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
    let started = Instant::now();
    let delayed = impatient
        .post(env.url("/v1/sessions"))
        .bearer_auth(&env.key)
        .json(&body)
        .send()
        .await
        .expect_err("the delayed request outlasts a 1 s timeout");
    assert!(delayed.is_timeout(), "{delayed:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    let r = send(impatient.post(env.url("/v1/sessions")).bearer_auth(&env.key).json(&body)).await;
    assert_eq!(r.status, 200, "the fault was used up: {}", r.text);
}

/// docs/DECISIONS.md §11: a request whose handling or body is not complete within the time
/// limit answers 408 `request/timeout` (never 503) and its connection is closed.
#[tokio::test]
async fn requests_over_the_time_limit_answer_408_and_close_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let env = start_with(fast().request_timeout(Duration::from_millis(300))).await;
    // Handling that takes too long (an injected delay longer than the limit).
    send(env.post("/_sandbox/faults").json(&json!({"fail_next": 1, "with": "delay_ms:30000"}))).await.ok();
    let r = send(env.get("/v1/catalog")).await;
    r.err(408, "request/timeout", None);
    assert_eq!(r.header("connection"), Some("close"), "the connection is closed");
    // The fault is used up: the next request is served.
    send(env.get("/v1/catalog")).await.ok();

    // A body that never completes: headers announce 100 bytes, 9 arrive.
    let mut tcp = tokio::net::TcpStream::connect(env.sb.address()).await.unwrap();
    let head = format!(
        "POST /v1/sessions HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"steps\"",
        env.key
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // read_to_end returns only once the server closed the connection.
    tokio::time::timeout(T, tcp.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes within the bound")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(body["code"], "request/timeout");
}

#[tokio::test]
async fn invalid_faults_are_refused() {
    let env = start().await;
    for with in
        [json!(404), json!("boom"), json!("delay_ms:x"), json!("delay_ms:-1"), json!(null), json!({"x": 1})]
    {
        send(env.post("/_sandbox/faults").json(&json!({"fail_next": 1, "with": with}))).await.err(
            400,
            "request/invalid-field",
            Some("with"),
        );
    }
    send(env.post("/_sandbox/faults").json(&json!({"with": 503}))).await.code(400, "request/invalid-payload");
    // Nothing was armed.
    env.create(json!({"steps": [{"primitive": "identify"}]})).await;
}

#[tokio::test]
async fn deliveries_and_inbox() {
    let env = start().await;
    let id = env.create(json!({"steps": [{"primitive": "identify"}], "metadata": {"k": "v"}})).await;
    env.run_user(&id).await;
    env.event(&id).await;
    env.event(&id).await;
    let r = send(env.get(&format!("/_sandbox/deliveries?session_id={id}"))).await;
    let list = r.ok()["deliveries"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    for (d, (event, did)) in list.iter().zip([
        ("step.completed", format!("{id}:step.completed:0")),
        ("session.completed", format!("{id}:session.completed")),
    ]) {
        assert_eq!(d["event"], event);
        assert_eq!(d["delivery_id"], did);
        assert_eq!(d["session_id"], id.as_str());
        assert_eq!(d["status"], "delivered");
        let attempts = d["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0]["status_code"], 204);
        let body: Value = serde_json::from_str(d["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["event"], event);
        assert_eq!(body["data"]["metadata"], json!({"k": "v"}));
    }
    let r = send(env.get("/_sandbox/inbox")).await;
    let received = r.ok()["received"].as_array().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|e| e["verified"] == true));
    assert_eq!(received[0]["delivery_id"], format!("{id}:step.completed:0"));
    assert_eq!(received[0]["body"], list[0]["body"]);
    let html = send(env.get("/_sandbox/inbox").header("accept", "text/html")).await;
    assert!(html.header("content-type").unwrap().starts_with("text/html"));
    // Another business sees neither.
    let (_, other) = env.new_business(json!({})).await;
    let r = send(env.http.get(env.url(&format!("/_sandbox/deliveries?session_id={id}"))).bearer_auth(&other))
        .await;
    assert_eq!(r.ok()["deliveries"], json!([]));
    let r = send(env.http.get(env.url("/_sandbox/inbox")).bearer_auth(&other)).await;
    assert_eq!(r.ok()["received"], json!([]));
}

#[tokio::test]
async fn malformed_control_bodies_name_no_field() {
    let env = start().await;
    let malformed = |method: reqwest::Method, path: &str| {
        env.http
            .request(method, env.url(path))
            .bearer_auth(&env.key)
            .header("content-type", "application/json")
            .body("{")
    };
    send(malformed(reqwest::Method::POST, "/_sandbox/businesses")).await.err(
        400,
        "request/invalid-payload",
        None,
    );
    send(malformed(reqwest::Method::PATCH, "/_sandbox/business")).await.err(
        400,
        "request/invalid-payload",
        None,
    );
    send(malformed(reqwest::Method::POST, "/_sandbox/faults")).await.err(
        400,
        "request/invalid-payload",
        None,
    );
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    send(malformed(reqwest::Method::POST, &format!("/_sandbox/sessions/{id}/simulate"))).await.err(
        400,
        "request/invalid-payload",
        None,
    );
    // A wrong type inside a known field still names it.
    send(env.post("/_sandbox/faults").json(&json!({"fail_next": "two", "with": 503}))).await.err(
        400,
        "request/invalid-payload",
        Some("fail_next"),
    );
    send(
        env.http
            .patch(env.url("/_sandbox/business"))
            .bearer_auth(&env.key)
            .json(&json!({"balance_cents": "lots"})),
    )
    .await
    .err(400, "request/invalid-payload", Some("balance_cents"));
}

/// Control-API integers (docs/DECISIONS.md §11): a documented range, out of it 400
/// `request/invalid-field` naming the field; an integral float (`60.0`) is an integer, as JSON Schema
/// counts it.
#[tokio::test]
async fn control_integers_have_a_range_and_may_be_integral_floats() {
    let env = start().await;
    let create = |body: Value| send(env.http.post(env.url("/_sandbox/businesses")).json(&body));
    let patch =
        |body: Value| send(env.http.patch(env.url("/_sandbox/business")).bearer_auth(&env.key).json(&body));

    // balance_cents: 0..=i64::MAX.
    let above = json!({"balance_cents": 9_223_372_036_854_775_808_u64});
    create(above.clone()).await.err(400, "request/invalid-field", Some("balance_cents"));
    patch(above).await.err(400, "request/invalid-field", Some("balance_cents"));
    for bad in [json!(1.5), json!(-1), json!(1e300)] {
        patch(json!({"balance_cents": bad})).await.err(400, "request/invalid-field", Some("balance_cents"));
    }
    assert_eq!(
        send(env.get("/_sandbox/business")).await.ok()["balance_cents"],
        100_000,
        "nothing was changed"
    );
    let max = create(json!({"balance_cents": 9_223_372_036_854_775_807_u64})).await;
    assert_eq!(max.ok()["balance_cents"], 9_223_372_036_854_775_807_u64);
    assert_eq!(patch(json!({"balance_cents": 250.0})).await.ok()["balance_cents"], 250);

    // simulate steps: 0..=u32::MAX.
    let id = env.create_steps(json!([{"primitive": "identify"}, {"primitive": "identify"}])).await;
    let sim = |body: Value| send(env.post(&format!("/_sandbox/sessions/{id}/simulate")).json(&body));
    sim(json!({"steps": 4_294_967_296_u64})).await.err(400, "request/invalid-field", Some("steps"));
    sim(json!({"steps": 0.5})).await.err(400, "request/invalid-field", Some("steps"));
    sim(json!({"steps": -1})).await.err(400, "request/invalid-field", Some("steps"));
    assert_eq!(env.session(&id).await["status"], "created", "a refused simulate does nothing");
    let one = sim(json!({"steps": 1.0})).await;
    assert_eq!(
        (one.ok()["status"].as_str(), one.ok()["current_step"].as_u64()),
        (Some("in_progress"), Some(1)),
        "one step answered"
    );

    // clock/advance seconds: 1..=31536000.
    let advance = |body: Value| send(env.post("/_sandbox/clock/advance").json(&body));
    advance(json!({"seconds": 60.5})).await.err(400, "request/invalid-field", Some("seconds"));
    advance(json!({"seconds": 31_536_001.0})).await.err(400, "request/invalid-field", Some("seconds"));
    assert!(advance(json!({"seconds": 60.0})).await.ok()["now"].is_string());

    // faults fail_next: an integral float is an integer there too.
    let plan = send(env.post("/_sandbox/faults").json(&json!({"fail_next": 0.0}))).await;
    assert_eq!(plan.ok()["fail_next"], 0);
}

/// Control-API bodies refuse unknown fields with 400 `request/invalid-field` naming the field
/// (docs/DECISIONS.md §11), and do nothing.
#[tokio::test]
async fn control_bodies_refuse_unknown_fields_as_invalid_field() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let cases = [
        (reqwest::Method::POST, "/_sandbox/businesses".to_owned(), json!({"name": "x", "colour": "red"})),
        (reqwest::Method::PATCH, "/_sandbox/business".to_owned(), json!({"name": "x", "colour": "red"})),
        (
            reqwest::Method::POST,
            "/_sandbox/clock/advance".to_owned(),
            json!({"seconds": 60, "colour": "red"}),
        ),
        (
            reqwest::Method::POST,
            format!("/_sandbox/deliveries/{id}:step.completed/redeliver"),
            json!({"fault": "none", "colour": "red"}),
        ),
        (
            reqwest::Method::POST,
            format!("/_sandbox/sessions/{id}/simulate"),
            json!({"steps": 1, "colour": "red"}),
        ),
        (
            reqwest::Method::POST,
            "/_sandbox/faults".to_owned(),
            json!({"fail_next": 2, "with": 503, "colour": "red"}),
        ),
    ];
    for (method, path, body) in cases {
        let r =
            send(env.http.request(method.clone(), env.url(&path)).bearer_auth(&env.key).json(&body)).await;
        r.err(400, "request/invalid-field", Some("colour"));
    }
    // None of them acted: the name, the clock, the session and the fault plan are unchanged.
    assert_ne!(send(env.get("/_sandbox/business")).await.ok()["name"], "x");
    assert_eq!(env.session(&id).await["status"], "created");
    env.create(json!({"steps": [{"primitive": "identify"}]})).await;
}

/// simulate checks its whole body before it acts, even when no step would be answered; an optional
/// body is empty or a JSON object (whitespace alone is not JSON).
#[tokio::test]
async fn simulate_refuses_an_unknown_wallet_or_persona_before_acting() {
    let env = start().await;
    let sim =
        |id: &str, body: Value| send(env.post(&format!("/_sandbox/sessions/{id}/simulate")).json(&body));
    let fresh = env.create_steps(json!([{"primitive": "identify"}])).await;
    sim(&fresh, json!({"steps": 0, "wallet": "0/0"})).await.err(
        400,
        "request/invalid-payload",
        Some("wallet"),
    );
    sim(&fresh, json!({"action": "internal_error", "persona": "nobody"})).await.err(
        400,
        "request/invalid-payload",
        Some("persona"),
    );
    assert_eq!(env.session(&fresh).await["status"], "created", "not opened, not failed");

    let done = env.create_steps(json!([{"primitive": "identify"}])).await;
    assert_eq!(sim(&done, json!({})).await.ok()["status"], "completed");
    sim(&done, json!({"action": "decline", "wallet": ""})).await.err(
        400,
        "request/invalid-payload",
        Some("wallet"),
    );
    sim(&done, json!({"persona": "expired-credential"})).await.ok();

    let whitespace = env
        .http
        .post(env.url(&format!("/_sandbox/sessions/{fresh}/simulate")))
        .bearer_auth(&env.key)
        .header("content-type", "application/json")
        .body("\r\n");
    send(whitespace).await.err(400, "request/invalid-payload", None);
    assert_eq!(env.session(&fresh).await["status"], "created");
}

/// Polls the delivery log of a session until `done` holds for it (at most [`T`]).
async fn wait_deliveries(env: &Env, id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + T;
    loop {
        let r = send(env.get(&format!("/_sandbox/deliveries?session_id={id}"))).await;
        let list = r.ok()["deliveries"].as_array().unwrap().clone();
        if done(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "deliveries never settled: {list:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn redeliver_with_faults() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    env.run_user(&id).await;
    env.event(&id).await;
    env.event(&id).await;
    let step_id = format!("{id}:step.completed:0");
    let encoded = step_id.replace(':', "%3A");

    // duplicate: two more attempts on the same entry, both verified by the inbox.
    let r = send(
        env.post(&format!("/_sandbox/deliveries/{encoded}/redeliver")).json(&json!({"fault": "duplicate"})),
    )
    .await;
    let entry = r.ok();
    assert_eq!(entry["delivery_id"], step_id.as_str());
    assert_eq!(entry["status"], "pending");
    let list = wait_deliveries(&env, &id, |l| {
        l[0]["status"] == "delivered" && l[0]["attempts"].as_array().unwrap().len() == 3
    })
    .await;
    assert_eq!(list.len(), 2, "a redelivery adds attempts, not entries");
    let inbox = send(env.get("/_sandbox/inbox")).await;
    let received = inbox.ok()["received"].as_array().unwrap().clone();
    let copies: Vec<&Value> = received.iter().filter(|e| e["delivery_id"] == step_id.as_str()).collect();
    assert_eq!(copies.len(), 3);
    assert!(copies.iter().all(|e| e["verified"] == true && e["body"] == list[0]["body"]));

    // bad_signature: the inbox refuses it, and the retry (signed properly) gets through. Raw id.
    let r = send(
        env.post(&format!("/_sandbox/deliveries/{id}:session.completed/redeliver"))
            .json(&json!({"fault": "bad_signature"})),
    )
    .await;
    r.ok();
    let list = wait_deliveries(&env, &id, |l| {
        l[1]["status"] == "delivered" && l[1]["attempts"].as_array().unwrap().len() == 3
    })
    .await;
    let attempts = list[1]["attempts"].as_array().unwrap();
    assert_ne!(attempts[1]["status_code"], 204, "the badly signed attempt is refused: {attempts:?}");
    assert_eq!(attempts[2]["status_code"], 204);

    // stale_timestamp: signed as of an hour ago, refused by the inbox, then retried fresh.
    let r = send(
        env.post(&format!("/_sandbox/deliveries/{encoded}/redeliver"))
            .json(&json!({"fault": "stale_timestamp"})),
    )
    .await;
    r.ok();
    let list = wait_deliveries(&env, &id, |l| {
        l[0]["status"] == "delivered" && l[0]["attempts"].as_array().unwrap().len() == 5
    })
    .await;
    let attempts = list[0]["attempts"].as_array().unwrap();
    assert_ne!(attempts[3]["status_code"], 204, "the stale attempt is refused: {attempts:?}");
    assert_eq!(attempts[4]["status_code"], 204);
    let inbox = send(env.get("/_sandbox/inbox")).await;
    let received = inbox.ok()["received"].as_array().unwrap().clone();
    let refused: Vec<&Value> = received.iter().filter(|e| e["verified"] == false).collect();
    assert_eq!(refused.len(), 2, "bad_signature and stale_timestamp");
    for e in &refused {
        assert_keys(e, &["delivery_id", "event", "verified", "error", "received_at", "body"]);
    }
    assert_keys(&received[0], &["delivery_id", "event", "verified", "received_at", "body"]);

    // Unknown or foreign ids.
    send(env.post("/_sandbox/deliveries/nope/redeliver")).await.err(404, "resource/not-found", None);
    let (_, other) = env.new_business(json!({})).await;
    let r = send(
        env.http.post(env.url(&format!("/_sandbox/deliveries/{encoded}/redeliver"))).bearer_auth(&other),
    )
    .await;
    r.err(404, "resource/not-found", None);
    send(env.post(&format!("/_sandbox/deliveries/{encoded}/redeliver")).json(&json!({"fault": "explode"})))
        .await
        .code(400, "request/invalid-payload");
}

#[tokio::test]
async fn redelivering_a_retrying_event_attempts_it_now() {
    // Retries are 30 s apart: only the redelivery can make this test finish in time.
    let env = start_with(uip_sandbox::Sandbox::builder().retry_base(Duration::from_secs(30))).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/gone", l.local_addr().unwrap())
    };
    let (_, key) = env.new_business(json!({"webhook_url": dead})).await;
    let r = env.create_as(&key, &json!({"steps": [{"primitive": "identify"}]})).await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    send(env.http.post(env.url(&format!("/_sandbox/sessions/{id}/simulate"))).bearer_auth(&key)).await.ok();
    let log = |key: String, id: String| {
        let env = &env;
        async move {
            let r = send(
                env.http.get(env.url(&format!("/_sandbox/deliveries?session_id={id}"))).bearer_auth(&key),
            )
            .await;
            r.ok()["deliveries"].as_array().unwrap().clone()
        }
    };
    let deadline = Instant::now() + T;
    while log(key.clone(), id.clone()).await[0]["status"] != "retrying" {
        assert!(Instant::now() < deadline, "the first attempt never failed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The receiver is back: redeliver now instead of waiting for the backoff.
    let inbox = format!("{}/_sandbox/inbox", env.sb.base_url());
    send(
        env.http.patch(env.url("/_sandbox/business")).bearer_auth(&key).json(&json!({"webhook_url": inbox})),
    )
    .await
    .ok();
    let r = send(
        env.http
            .post(env.url(&format!("/_sandbox/deliveries/{id}:step.completed:0/redeliver")))
            .bearer_auth(&key),
    )
    .await;
    assert_eq!(r.ok()["status"], "pending");
    loop {
        let list = log(key.clone(), id.clone()).await;
        if list.iter().all(|d| d["status"] == "delivered") {
            assert_eq!(list[0]["attempts"].as_array().unwrap().len(), 2);
            break;
        }
        assert!(Instant::now() < deadline, "the redelivery waited for the old backoff: {list:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The virtual clock stops at 9999-12-31T23:59:59Z (docs/DECISIONS.md §11): an advance that would
/// pass it is 400 `request/invalid-field` (param `seconds`) and changes nothing; times computed
/// from the clock (expiry) saturate there and stay RFC 3339; nothing panics.
#[tokio::test]
async fn the_clock_never_passes_the_end_of_year_9999() {
    let env = start().await;
    let advance =
        |seconds: i64| send(env.post("/_sandbox/clock/advance").json(&json!({ "seconds": seconds })));
    let end = ts(&json!("9999-12-31T23:59:59Z"));
    let start_now = ts(&advance(1).await.ok()["now"]);
    // Close to the limit in one step through the in-process handle (the HTTP route moves a year
    // at most), leaving 100 s.
    let to_limit = u64::try_from((end - start_now).num_seconds()).unwrap();
    env.sb.advance_clock(Duration::from_secs(to_limit - 100)).unwrap();

    let r = advance(31_536_000).await;
    r.err(400, "request/invalid-field", Some("seconds"));
    // Refused without effect: a small advance still fits.
    let now = advance(1).await.ok()["now"].as_str().unwrap().to_owned();
    assert!(now.starts_with("9999-12-31T23:5"), "{now}");
    assert_secs_ts(&json!(now));

    // A session created now: its expiry saturates at the limit and prints as RFC 3339.
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let s = env.session(&id).await;
    assert_eq!(s["expires_at"], "9999-12-31T23:59:59Z", "{s}");
    env.sb.sweep_expired();
    assert_eq!(env.session(&id).await["status"], "created");

    // Past the limit through the handle too: an error, not a panic; the business stays usable.
    assert!(env.sb.advance_clock(Duration::from_secs(u64::MAX)).is_err());
    assert!(env.sb.advance_clock(Duration::from_secs(200)).is_err());
    assert_eq!(env.session(&id).await["status"], "created");
    advance(1).await.ok();
}

/// A repeated or malformed query parameter is 400 `request/invalid-field` as the JSON error body,
/// not axum's text/plain 400 (docs/DECISIONS.md §11).
#[tokio::test]
async fn a_repeated_or_malformed_query_parameter_is_a_json_invalid_field() {
    let env = start().await;
    let r = send(env.get("/_sandbox/deliveries?session_id=a&session_id=b")).await;
    r.err(400, "request/invalid-field", Some("session_id"));
    let r = send(env.get("/_sandbox/deliveries?session_id=&session_id=")).await;
    r.err(400, "request/invalid-field", Some("session_id"));
    // The well-formed query still works.
    assert!(send(env.get("/_sandbox/deliveries?session_id=a")).await.ok()["deliveries"].is_array());
}
