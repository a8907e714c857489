//! Sandboxes side by side in one process: they share the router (built once per process) and
//! nothing else — each request reaches only its own sandbox's state, faults, journal, limits and
//! URLs, even with the same API key.

use crate::support as common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn sandboxes_in_one_process_share_nothing_but_the_router() {
    // Arrange: two sandboxes with the same default API key.
    let a = start().await;
    let b = start().await;
    assert_eq!(a.key, b.key);

    // Act & Assert: a session exists only where it was created.
    let id = a.create_steps(json!([{"primitive": "identify"}])).await;
    send(a.get(&format!("/v1/sessions/{id}"))).await.ok();
    send(b.get(&format!("/v1/sessions/{id}"))).await.err(404, "resource/not-found", None);
    send(b.http.post(b.url(&format!("/s/{id}/open")))).await.err(404, "resource/not-found", None);

    // A fault armed on one fails only that sandbox's next request.
    send(a.post("/_sandbox/faults").json(&json!({"fail_next": 1, "with": 503}))).await.ok();
    send(b.get(&format!("/v1/sessions/{id}"))).await.err(404, "resource/not-found", None);
    send(a.get(&format!("/v1/sessions/{id}"))).await.err(503, "internal/unavailable", None);
    send(a.get(&format!("/v1/sessions/{id}"))).await.ok();

    // Each journal holds its own sandbox's requests only.
    let journal_a = send(a.get("/_sandbox/requests")).await;
    let journal_b = send(b.get("/_sandbox/requests")).await;
    let paths = |r: &Resp| -> Vec<(String, u64)> {
        r.ok()["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| (q["path"].as_str().unwrap().to_owned(), q["status"].as_u64().unwrap()))
            .collect()
    };
    let session_path = format!("/v1/sessions/{id}");
    assert_eq!(
        paths(&journal_a),
        [
            ("/v1/sessions".to_owned(), 200),
            (session_path.clone(), 200),
            (session_path.clone(), 503),
            (session_path.clone(), 200)
        ]
    );
    assert_eq!(paths(&journal_b), [(session_path.clone(), 404), (session_path, 404)]);

    // Each document names its own sandbox as the server.
    for env in [&a, &b] {
        let doc = send(env.http.get(env.url("/openapi.json"))).await;
        assert_eq!(doc.ok()["servers"][0]["url"], env.sb.base_url());
    }
}

#[tokio::test]
async fn the_unauthenticated_body_limit_is_per_sandbox() {
    // Arrange: one sandbox whose single slot for unauthenticated bodies is held by a stalled body.
    let limited = |b: uip_sandbox::SandboxBuilder| {
        b.max_unauthenticated_bodies(1).body_idle_timeout(Duration::from_secs(60))
    };
    let full = start_with(limited(fast())).await;
    let other = start_with(limited(fast())).await;
    let mut held = TcpStream::connect(full.sb.address()).await.unwrap();
    held.write_all(b"POST /_sandbox/inbox HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    let inbox = |env: &Env| send(env.http.post(env.url("/_sandbox/inbox")).body("{\"event\":\"x\"}"));
    let deadline = tokio::time::Instant::now() + T;
    while inbox(&full).await.status != 503 {
        assert!(tokio::time::Instant::now() < deadline, "the held body never took the slot");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Act: the same request to the other sandbox.
    let r = inbox(&other).await;

    // Assert: it is read and answered on its merits (an inbox body that is not an event).
    r.err(400, "request/invalid-payload", None);
    drop(held);
}

#[tokio::test]
async fn a_sandbox_started_after_one_is_dropped_shares_nothing_with_it() {
    // Arrange: a sandbox with a session, its journal and an armed fault, then dropped. (Its
    // settings are made ready again as a spare, which the next start takes.)
    let old = start().await;
    let id = old.create_steps(json!([{"primitive": "identify"}])).await;
    send(old.post("/_sandbox/faults").json(&json!({"fail_next": 1, "with": 503}))).await.ok();
    let old_addr = old.sb.address();
    drop(old);

    // Act
    let new = start().await;

    // Assert: another port, and none of the old state.
    assert_ne!(new.sb.address(), old_addr);
    send(new.get(&format!("/v1/sessions/{id}"))).await.err(404, "resource/not-found", None);
    let journal = send(new.get("/_sandbox/requests")).await;
    assert_eq!(journal.ok()["requests"].as_array().unwrap().len(), 1, "only the 404 above");
    let list = send(new.get("/_sandbox/sessions")).await;
    assert_eq!(list.ok()["sessions"], json!([]));

    // The old port stops answering once its server has wound down.
    let deadline = tokio::time::Instant::now() + T;
    while TcpStream::connect(old_addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "the dropped sandbox's port still accepts");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
