//! Webhooks as a real receiver sees them: headers, an HMAC recomputed independently (key = the
//! whole `uip_whsec_…` string), real-time timestamps, stable ids and bodies across retries, order.

use crate::support as common;

use std::sync::Arc;

use common::*;
use parking_lot::Mutex;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// One POST as received.
#[derive(Debug)]
struct Received {
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("header {name}"))
    }
}

/// A receiver answering each POST with the next status of `script` (then 200), reporting every request.
async fn receiver(script: Vec<u16>) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let script = Arc::new(Mutex::new(script.into_iter()));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let tx = tx.clone();
            let script = script.clone();
            async move {
                let mut h = reqwest::header::HeaderMap::new();
                for (k, v) in &headers {
                    h.insert(
                        reqwest::header::HeaderName::from_bytes(k.as_str().as_bytes()).unwrap(),
                        reqwest::header::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
                    );
                }
                let _ = tx.send(Received { headers: h, body: body.to_vec() });
                let status = script.lock().next().unwrap_or(200);
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(T, rx.recv()).await.expect("a delivery in time").expect("receiver alive")
}

/// HMAC-SHA256 written out (RFC 2104), independent of the sandbox's signer.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> String {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.iter().map(|b| b ^ 0x36).collect::<Vec<_>>());
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.iter().map(|b| b ^ 0x5c).collect::<Vec<_>>());
    outer.update(inner.finalize());
    hex::encode(outer.finalize())
}

#[test]
fn our_hmac_matches_rfc_4231() {
    // RFC 4231 test case 2.
    assert_eq!(
        hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[track_caller]
fn assert_signed(r: &Received, secret: &str) {
    let ts = r.header("x-uip-timestamp");
    assert!(ts.bytes().all(|b| b.is_ascii_digit()), "{ts}");
    let skew = chrono::Utc::now().timestamp() - ts.parse::<i64>().unwrap();
    assert!((0..=5).contains(&skew), "signed with real time, not the business clock: skew {skew}");
    let mut msg = ts.as_bytes().to_vec();
    msg.push(b'.');
    msg.extend_from_slice(&r.body);
    assert_eq!(
        r.header("x-uip-signature"),
        hmac_sha256(secret.as_bytes(), &msg),
        "lowercase hex HMAC over ts.body"
    );
    assert!(r.header("content-type").starts_with("application/json"));
}

#[tokio::test]
async fn deliveries_are_signed_ordered_and_stable_across_retries() {
    let env = start().await;
    // The first attempt fails: the event is retried and the next one waits for it.
    let (url, mut rx) = receiver(vec![500]).await;
    let (creds, key) = env.new_business(json!({"webhook_url": url})).await;
    let secret = creds["webhook_secret"].as_str().unwrap().to_owned();
    // Business clock far ahead: signatures still use real time.
    send(
        env.http.post(env.url("/_sandbox/clock/advance")).bearer_auth(&key).json(&json!({"seconds": 86_400})),
    )
    .await
    .ok();
    let r = env.create_as(&key, &json!({"steps": [{"primitive": "identify"}, {"primitive": "age_verify"}], "client_reference_id": "c"})).await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    send(env.http.post(env.url(&format!("/_sandbox/sessions/{id}/simulate"))).bearer_auth(&key)).await.ok();

    let first = next(&mut rx).await;
    let retry = next(&mut rx).await;
    let second = next(&mut rx).await;
    let last = next(&mut rx).await;
    for r in [&first, &retry, &second, &last] {
        assert_signed(r, &secret);
    }
    assert_eq!(first.header("x-uip-delivery-id"), format!("{id}:step.completed:0"));
    assert_eq!(first.header("x-uip-event"), "step.completed");
    assert_eq!(
        retry.header("x-uip-delivery-id"),
        first.header("x-uip-delivery-id"),
        "the failed event is retried before the next"
    );
    assert_eq!(retry.body, first.body, "body bytes never change");
    assert_eq!(second.header("x-uip-delivery-id"), format!("{id}:step.completed:1"));
    assert_eq!(last.header("x-uip-delivery-id"), format!("{id}:session.completed"));
    assert_eq!(last.header("x-uip-event"), "session.completed");
    let body: Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(
        body,
        json!({"event": "session.completed", "data": {"session_id": id, "client_reference_id": "c", "status": "completed"}})
    );
    let body: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(
        body["data"]["claims"],
        json!({"first_name": "Jane", "last_name": "Doe", "dob": "1990-04-01"})
    );

    // The log shows both attempts of the first event.
    let log = env.sb.deliveries(&id);
    assert_eq!(log[0].attempts.len(), 2);
    assert_eq!(log[0].attempts[0].status_code, Some(500));
    assert_eq!(log[0].attempts[1].status_code, Some(200));
    // Rotation: later deliveries use the new secret.
    let patched = send(
        env.http
            .patch(env.url("/_sandbox/business"))
            .bearer_auth(&key)
            .json(&json!({"rotate_webhook_secret": true})),
    )
    .await;
    let new_secret = patched.ok()["webhook_secret"].as_str().unwrap().to_owned();
    let r = env.create_as(&key, &json!({"steps": [{"primitive": "identify"}]})).await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    send(env.http.post(env.url(&format!("/_sandbox/sessions/{id}/simulate"))).bearer_auth(&key)).await.ok();
    assert_signed(&next(&mut rx).await, &new_secret);
}
