//! Webhooks as a real receiver sees them: headers, an HMAC recomputed independently (key = the
//! whole `uip_whsec_…` string), real-time timestamps, stable ids and bodies across retries, order.

use crate::support as common;

use common::*;
use parking_lot::Mutex;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uip_sandbox::{Arrival, Reply, TestReceiver as Receiver};

/// The shared receiver and how many of its requests the test has read.
struct Hook {
    receiver: Receiver,
    read: usize,
}

/// The value of a header the delivery must carry.
fn header<'a>(r: &'a Arrival, name: &str) -> &'a str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("header {name}"))
}

/// A receiver answering each POST with the next status of `script` (then 200), recording every request.
async fn receiver(script: Vec<u16>) -> (String, Hook) {
    let script = Mutex::new(script.into_iter());
    let receiver = Receiver::builder()
        .path("/hook")
        .reply(move |_, _| Reply::Status(script.lock().next().unwrap_or(200)))
        .start()
        .await;
    (receiver.url().to_owned(), Hook { receiver, read: 0 })
}

/// The next request the receiver got, in arrival order.
async fn next(hook: &mut Hook) -> Arrival {
    let n = hook.read;
    hook.read += 1;
    hook.receiver.wait_arrivals(&format!("delivery #{n}"), T, |all| all.len() > n).await.swap_remove(n)
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
fn assert_signed(r: &Arrival, secret: &str) {
    let ts = header(r, "x-uip-timestamp");
    assert!(ts.bytes().all(|b| b.is_ascii_digit()), "{ts}");
    // The business clock is a day ahead: a timestamp from it would be 86,400 s after arrival.
    let skew = r.unix_s as i64 - ts.parse::<i64>().unwrap();
    assert!((0..=600).contains(&skew), "signed with real time, not the business clock: skew {skew}");
    let mut msg = ts.as_bytes().to_vec();
    msg.push(b'.');
    msg.extend_from_slice(&r.body);
    assert_eq!(
        header(r, "x-uip-signature"),
        hmac_sha256(secret.as_bytes(), &msg),
        "lowercase hex HMAC over ts.body"
    );
    assert!(header(r, "content-type").starts_with("application/json"));
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
    assert_eq!(header(&first, "x-uip-delivery-id"), format!("{id}:step.completed:0"));
    assert_eq!(header(&first, "x-uip-event"), "step.completed");
    assert_eq!(
        header(&retry, "x-uip-delivery-id"),
        header(&first, "x-uip-delivery-id"),
        "the failed event is retried before the next"
    );
    assert_eq!(retry.body, first.body, "body bytes never change");
    assert_eq!(header(&second, "x-uip-delivery-id"), format!("{id}:step.completed:1"));
    assert_eq!(header(&last, "x-uip-delivery-id"), format!("{id}:session.completed"));
    assert_eq!(header(&last, "x-uip-event"), "session.completed");
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
