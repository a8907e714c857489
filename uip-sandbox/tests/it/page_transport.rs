//! The hosted page's transport (docs/DECISIONS.md §7): binding by header and cookie, refusal of a
//! second device, nonces, order of the response checks, wallets, unknown sessions, /state.

use crate::support as common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn a_second_device_is_refused_everywhere() {
    let env = start().await;
    let r = env
        .create_multipart(&json!({"steps": [{"primitive": "sign"}]}), &[("a.txt", "text/plain", b"alpha")])
        .await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    // Before anyone opened it, no route but open works without a binding.
    let nobody = env.browser(&id);
    nobody.state().await.err(409, "session/bound-elsewhere", None);
    nobody.request().await.err(409, "session/bound-elsewhere", None);
    nobody.document(0).await.err(409, "session/bound-elsewhere", None);
    nobody.respond(&json!({"nonce": "x", "wallet": "apple-wallet", "action": "share"})).await.err(
        409,
        "session/bound-elsewhere",
        None,
    );
    assert_eq!(env.status(&id).await, "created");

    let mut first = env.browser(&id);
    first.open().await.ok();
    let nonce = first.nonce().await;
    let mut second = env.browser(&id);
    second.open().await.err(409, "session/bound-elsewhere", None);
    assert!(second.binding.is_none());
    second.state().await.err(409, "session/bound-elsewhere", None);
    second.request().await.err(409, "session/bound-elsewhere", None);
    second.document(0).await.err(409, "session/bound-elsewhere", None);
    // Even with the right nonce.
    second.respond(&json!({"nonce": nonce, "wallet": "apple-wallet", "action": "share"})).await.err(
        409,
        "session/bound-elsewhere",
        None,
    );
    // A wrong binding is no better than none.
    let mut forged = env.browser(&id);
    forged.binding = Some("A".repeat(43));
    forged.open().await.err(409, "session/bound-elsewhere", None);
    forged.state().await.err(409, "session/bound-elsewhere", None);
    // The page itself refuses with HTML.
    let page = send(env.http.get(env.url(&format!("/s/{id}")))).await;
    assert_eq!(page.status, 409);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page.text.contains("refusal"));
    // The first device goes on.
    first.open().await.ok();
    assert_eq!(first.share("jane-doe").await.ok()["outcome"], "verified");
    assert_eq!(env.status(&id).await, "completed");
}

#[tokio::test]
async fn binding_by_header_and_by_cookie() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let r = send(env.http.post(env.url(&format!("/s/{id}/open")))).await;
    let body = r.ok();
    assert_keys(body, &["binding"]);
    let binding = body["binding"].as_str().unwrap().to_owned();
    assert!(b64url_decode(&binding).len() >= 16, "an unguessable token");
    let cookie = r.header("set-cookie").expect("Set-Cookie").to_owned();
    let parts: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert_eq!(parts[0], format!("uip_bind={binding}"));
    assert!(parts.contains(&"HttpOnly"), "{cookie}");
    assert!(parts.contains(&"SameSite=Strict"), "{cookie}");
    assert!(parts.contains(&format!("Path=/s/{id}").as_str()), "{cookie}");

    // Header.
    let r = send(env.http.get(env.url(&format!("/s/{id}/state"))).header("X-UIP-Binding", &binding)).await;
    assert_eq!(r.ok()["status"], "in_progress");
    assert!(r.body.get("return_url").is_none(), "return_url only when set");
    // Cookie, among others.
    let r = send(
        env.http
            .get(env.url(&format!("/s/{id}/state")))
            .header("cookie", format!("theme=dark; uip_bind={binding}")),
    )
    .await;
    assert_eq!(r.ok()["status"], "in_progress");
    let r = send(
        env.http.get(env.url(&format!("/s/{id}/request"))).header("cookie", format!("uip_bind={binding}")),
    )
    .await;
    let nonce = r.ok()["nonce"].as_str().unwrap().to_owned();
    let r = send(
        env.http
            .post(env.url(&format!("/s/{id}/response")))
            .header("cookie", format!("uip_bind={binding}"))
            .json(&json!({"nonce": nonce, "wallet": "apple-wallet", "action": "share"})),
    )
    .await;
    assert_eq!(r.ok()["outcome"], "verified");
    // Open again with the cookie: 200, same binding.
    let r = send(
        env.http.post(env.url(&format!("/s/{id}/open"))).header("cookie", format!("uip_bind={binding}")),
    )
    .await;
    assert_eq!(r.ok()["binding"], binding.as_str());
    // The page GET with the cookie serves the page.
    let r = send(env.http.get(env.url(&format!("/s/{id}"))).header("cookie", format!("uip_bind={binding}")))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn the_page_get_binds_like_open() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let r = send(env.http.get(env.url(&format!("/s/{id}")))).await;
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").expect("the page sets the binding cookie").to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains(&format!("Path=/s/{id}"))
    );
    let token = cookie.split(';').next().unwrap().strip_prefix("uip_bind=").unwrap().to_owned();
    // A server-side preview consumed the binding: a later POST open is refused.
    send(env.http.post(env.url(&format!("/s/{id}/open")))).await.err(409, "session/bound-elsewhere", None);
    let mut b = env.browser(&id);
    b.binding = Some(token);
    assert_eq!(b.state().await.ok()["status"], "in_progress");
}

#[tokio::test]
async fn replayed_nonces_are_stale() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}, {"primitive": "age_verify"}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let n0 = b.nonce().await;
    assert_eq!(b.nonce().await, n0, "one nonce per step, stable across reads");
    let share = |n: &str| json!({"nonce": n, "wallet": "apple-wallet", "action": "share"});
    b.respond(&share(&n0)).await.ok();
    // The same response replayed is refused.
    b.respond(&share(&n0)).await.err(409, "session/stale-nonce", Some("nonce"));
    b.respond(&share("made-up")).await.err(409, "session/stale-nonce", Some("nonce"));
    let n1 = b.nonce().await;
    assert_ne!(n0, n1);
    b.respond(&share(&n1)).await.ok();
    // Once over, the session is not active: that check comes before the nonce.
    b.respond(&share(&n1)).await.err(409, "session/not-active", None);
    assert_eq!(env.event_names(&id), vec!["step.completed", "step.completed", "session.completed"]);
}

#[tokio::test]
async fn a_paused_session_is_not_active() {
    let env = start().await;
    let id =
        env.create_steps(json!([{"primitive": "identify", "gate": true}, {"primitive": "age_verify"}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let n0 = b.nonce().await;
    b.share("jane-doe").await.ok();
    b.request().await.err(409, "session/not-active", None);
    b.respond(&json!({"nonce": n0, "wallet": "apple-wallet", "action": "share"})).await.err(
        409,
        "session/not-active",
        None,
    );
    b.respond(&json!({"nonce": n0, "wallet": "apple-wallet", "action": "decline"})).await.err(
        409,
        "session/not-active",
        None,
    );
    let st = b.state().await;
    let st = st.ok();
    assert_eq!(st["status"], "awaiting_decision");
    assert!(st.get("step_expires_at").is_none());
    // A second device still gets 409 `session/bound-elsewhere` first.
    env.browser(&id).request().await.err(409, "session/bound-elsewhere", None);
}

#[tokio::test]
async fn wallets_and_their_primitives() {
    let env = start().await;
    let session =
        json!({"steps": [{"primitive": "light_sign", "params": {"terms": "t"}}, {"primitive": "sign"}]});
    let r = env.create_multipart(&session, &[("a.txt", "text/plain", b"alpha")]).await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    let mut b = env.browser(&id);
    b.open().await.ok();
    // An unknown wallet is a bad request naming the field.
    b.answer("samsung-wallet", "share", "jane-doe").await.err(400, "request/invalid-payload", Some("wallet"));
    let n = b.nonce().await;
    b.respond(&json!({"nonce": n, "wallet": 7, "action": "share"})).await.err(
        400,
        "request/invalid-payload",
        Some("wallet"),
    );
    b.respond(&json!({"nonce": n, "wallet": "apple-wallet", "action": "maybe"})).await.err(
        400,
        "request/invalid-payload",
        Some("action"),
    );
    b.respond(&json!({"nonce": n, "wallet": "apple-wallet", "action": "share", "extra": 1})).await.err(
        400,
        "request/invalid-payload",
        Some("extra"),
    );
    let r = send(
        b.http
            .post(format!("{}/s/{id}/response", env.sb.base_url()))
            .header("X-UIP-Binding", b.binding.clone().unwrap())
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    r.err(400, "request/invalid-payload", None);
    // google-wallet does light_sign...
    assert_eq!(b.answer("google-wallet", "share", "jane-doe").await.ok()["outcome"], "verified");
    // ...but not sign.
    b.answer("google-wallet", "share", "jane-doe").await.err(
        422,
        "wallet/unsupported-primitive",
        Some("wallet"),
    );
    b.answer("google-wallet", "decline", "jane-doe").await.err(
        422,
        "wallet/unsupported-primitive",
        Some("wallet"),
    );
    // The nonce check comes before the wallet check.
    b.respond(&json!({"nonce": "stale", "wallet": "google-wallet", "action": "share"})).await.err(
        409,
        "session/stale-nonce",
        Some("nonce"),
    );
    assert_eq!(env.status(&id).await, "in_progress");
    assert_eq!(b.answer("apple-wallet", "share", "jane-doe").await.ok()["outcome"], "verified");
    let audit = send(env.get(&format!("/v1/audits/{id}_0"))).await;
    assert_eq!(audit.ok()["wallet"], "google-wallet");
    let audit = send(env.get(&format!("/v1/audits/{id}_1"))).await;
    assert_eq!(audit.ok()["wallet"], "apple-wallet");
}

#[tokio::test]
async fn unknown_sessions_are_404() {
    let env = start().await;
    let id = "sess_ZZZZZZZZZZZZZZZZZZZZZZZZ";
    let mut b = env.browser(id);
    b.open().await.err(404, "resource/not-found", None);
    b.binding = Some("whatever".into());
    b.state().await.err(404, "resource/not-found", None);
    b.request().await.err(404, "resource/not-found", None);
    b.document(0).await.err(404, "resource/not-found", None);
    b.respond(&json!({"nonce": "n", "wallet": "apple-wallet", "action": "share"})).await.err(
        404,
        "resource/not-found",
        None,
    );
    let page = send(env.http.get(env.url(&format!("/s/{id}")))).await;
    assert_eq!(page.status, 404);
    assert!(page.header("content-type").unwrap().starts_with("text/html"), "an HTML 404 page");
    assert!(page.text.contains("<html"));
}

#[tokio::test]
async fn state_and_request_fields() {
    let env = start().await;
    let id = env
        .create(json!({
            "steps": [
                {"primitive": "light_sign", "params": {"terms": "I accept the terms.", "title": "Terms"}},
                {"primitive": "age_verify", "params": {"min_age": 30}, "gate": true},
            ],
            "return_url": "https://shop.example.com/back",
        }))
        .await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let st = b.state().await;
    let st = st.ok();
    for k in ["status", "current_step", "step_count", "current_primitive", "step_expires_at", "return_url"] {
        assert!(st.get(k).is_some(), "{k} in {st}");
    }
    assert_eq!(st["status"], "in_progress");
    assert_eq!(st["current_step"], 0);
    assert_eq!(st["step_count"], 2);
    assert_eq!(st["current_primitive"], "light_sign");
    assert_eq!(st["return_url"], "https://shop.example.com/back");
    assert_secs_ts(&st["step_expires_at"]);

    let req = b.request().await;
    let req = req.ok();
    assert_keys(
        req,
        &["stage", "primitive", "nonce", "origin", "title", "terms", "document_hash", "expires_at"],
    );
    assert_eq!(req["stage"], 0);
    assert_eq!(req["primitive"], "light_sign");
    assert_eq!(req["origin"], env.sb.base_url());
    assert_eq!(req["title"], "Terms");
    assert_eq!(req["terms"], "I accept the terms.");
    assert_eq!(req["document_hash"], sha256_tagged("I accept the terms.".as_bytes()));
    assert_eq!(req["expires_at"], st["step_expires_at"]);
    assert_eq!(b64url_decode(req["nonce"].as_str().unwrap()).len(), 16);
    // Not a sign step: no documents.
    b.document(0).await.err(404, "resource/not-found", None);

    let r = b.share("jane-doe").await;
    let r = r.ok();
    assert_eq!(r["outcome"], "verified");
    assert_eq!(r["current_step"], 1);
    let req = b.request().await;
    let req = req.ok();
    assert_keys(req, &["stage", "primitive", "nonce", "origin", "min_age", "expires_at"]);
    assert_eq!(req["min_age"], 30);
    let r = b.share("jane-doe").await;
    let r = r.ok();
    assert_eq!(r["status"], "awaiting_decision");
    assert!(r.get("step_expires_at").is_none());
    env.decide(&id, "continue").await.ok();
    let st = b.state().await;
    let st = st.ok();
    assert_eq!(st["status"], "completed");
    assert!(st.get("step_expires_at").is_none());
    assert_eq!(st["return_url"], "https://shop.example.com/back");
}

#[tokio::test]
async fn origin_follows_the_public_url() {
    let env = start_with(fast().public_url("https://verify.example.com:8443/base/")).await;
    assert_eq!(env.sb.base_url(), "https://verify.example.com:8443/base");
    // The server still listens locally: talk to it directly.
    let local = format!("http://{}", env.sb.address());
    let r = send(
        env.http
            .post(format!("{local}/v1/sessions"))
            .bearer_auth(&env.key)
            .json(&json!({"steps": [{"primitive": "identify"}]})),
    )
    .await;
    let body = r.ok();
    let id = body["id"].as_str().unwrap();
    assert_eq!(body["url"], format!("https://verify.example.com:8443/base/s/{id}"));
    let r = send(env.http.post(format!("{local}/s/{id}/open"))).await;
    let binding = r.ok()["binding"].as_str().unwrap().to_owned();
    let r = send(env.http.get(format!("{local}/s/{id}/request")).header("X-UIP-Binding", binding)).await;
    assert_eq!(r.ok()["origin"], "https://verify.example.com:8443");
}

#[tokio::test]
async fn concurrent_replays_of_one_response_verify_once() {
    let env = start().await;
    let before = env.balance().await;
    let id = env
        .create_steps(
            json!([{"primitive": "light_sign", "params": {"terms": "t"}}, {"primitive": "identify"}]),
        )
        .await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let n = b.nonce().await;
    let body = json!({"nonce": n, "wallet": "apple-wallet", "action": "share"});
    let answers = futures::future::join_all((0..8).map(|_| b.respond(&body))).await;
    assert_eq!(answers.iter().filter(|r| r.status == 200).count(), 1);
    for r in answers.iter().filter(|r| r.status != 200) {
        r.err(409, "session/stale-nonce", Some("nonce"));
    }
    assert_eq!(env.balance().await, before - 2, "charged once");
    assert_eq!(env.event_names(&id), vec!["step.completed"]);
}

#[tokio::test]
async fn concurrent_decisions_apply_once() {
    let env = start().await;
    let id =
        env.create_steps(json!([{"primitive": "identify", "gate": true}, {"primitive": "identify"}])).await;
    env.run_user(&id).await;
    let answers = futures::future::join_all(
        (0..6).map(|i| env.decide(&id, if i % 2 == 0 { "continue" } else { "stop" })),
    )
    .await;
    assert_eq!(answers.iter().filter(|r| r.status == 200).count(), 1);
    for r in answers.iter().filter(|r| r.status != 200) {
        r.err(409, "session/not-awaiting-decision", None);
    }
    let names = env.event_names(&id);
    assert!(names == ["step.completed"] || names == ["step.completed", "session.stopped"], "{names:?}");
}
