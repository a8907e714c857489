//! Scenario 7: webhook verification — `uip-webhook-verify` (verify-only, verify-and-parse) vs a
//! bare HMAC-SHA256 and vs svix `Webhook::verify`, on the bodies of the crate's criterion bench.

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uip_types::WebhookSecret;
use uip_webhook_verify::{SignedHeaders, Verifier};

use crate::report::Row;
use crate::stats::median;
use crate::Result;

const SECRET: &str = "uip_whsec_4f1b2c3d4e5f60718293a4b5c6d7e8f9";
const SESSION: &str = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w";

/// The same body as `uip-webhook-verify/benches/verify.rs`: a `step.completed` identify body of
/// exactly `size` bytes.
fn body_of_size(size: usize) -> Vec<u8> {
    let (entries, value_len, filler_name) =
        if size <= 4096 { (4, 40, "address") } else { (50, 500, "portrait") };
    let metadata: Vec<String> =
        (0..entries).map(|i| format!(r#""key_{i:02}":"{}""#, "v".repeat(value_len))).collect();
    let head = format!(
        r#"{{"event":"step.completed","data":{{"session_id":"{SESSION}","client_reference_id":"order_4815","metadata":{{{}}},"stage":0,"primitive":"identify","audit_id":"{SESSION}_0","claims":{{"first_name":"Jane","last_name":"Doe","birth_date":"1990-04-01","nationality":"US","{filler_name}":""#,
        metadata.join(",")
    );
    let tail = r#""}}}"#;
    let filler_len = size - head.len() - tail.len();
    let filler: String =
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw".chars().cycle().take(filler_len).collect();
    format!("{head}{filler}{tail}").into_bytes()
}

/// Nanoseconds per call: batches of ~5 ms for `budget`, the median batch.
fn ns_per_op(budget: Duration, mut f: impl FnMut()) -> f64 {
    let mut iters: u64 = 1;
    loop {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        if t.elapsed() >= Duration::from_millis(5) {
            break;
        }
        iters *= 2;
    }
    let end = Instant::now() + budget;
    let mut samples = Vec::new();
    while Instant::now() < end || samples.len() < 5 {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        samples.push(t.elapsed().as_nanos() as f64 / iters as f64);
    }
    median(&samples)
}

pub fn run(budget: Duration) -> Result<Vec<Row>> {
    let secret = WebhookSecret::new(SECRET);
    let verifier = Verifier::new(secret.clone())?;
    let svix = svix::webhooks::Webhook::from_bytes(SECRET.as_bytes().to_vec())?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut rows = Vec::new();
    for (label, size) in [("1KiB", 1024usize), ("64KiB", 64 * 1024)] {
        let body = body_of_size(size);
        let uip_headers = SignedHeaders::for_body(&secret, now, &body)?.to_header_map()?;
        verifier.verify(&uip_headers, &body)?;
        let delivery_id = format!("{SESSION}:step.completed:0");
        let svix_signature = svix.sign(&delivery_id, now as i64, &body)?;
        let mut svix_headers = http::HeaderMap::new();
        svix_headers.insert("svix-id", delivery_id.parse()?);
        svix_headers.insert("svix-timestamp", now.to_string().parse()?);
        svix_headers.insert("svix-signature", svix_signature.parse()?);
        svix.verify(&body, &svix_headers)?;
        let ts_text = now.to_string();

        // Interleave the four twice, so drift falls on all alike; keep the lower of two.
        let mut t = [f64::INFINITY; 4];
        for _ in 0..2 {
            let x = ns_per_op(budget / 2, || {
                black_box(verifier.verify_signature(black_box(&uip_headers), black_box(&body)).is_ok());
            });
            t[0] = t[0].min(x);
            let x = ns_per_op(budget / 2, || {
                black_box(verifier.verify(black_box(&uip_headers), black_box(&body)).is_ok());
            });
            t[1] = t[1].min(x);
            let x = ns_per_op(budget / 2, || {
                black_box(svix.verify(black_box(&body), black_box(&svix_headers)).is_ok());
            });
            t[2] = t[2].min(x);
            let x = ns_per_op(budget / 2, || {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(black_box(SECRET.as_bytes())).expect("any key length");
                mac.update(black_box(ts_text.as_bytes()));
                mac.update(b".");
                mac.update(black_box(&body));
                black_box(mac.finalize().into_bytes());
            });
            t[3] = t[3].min(x);
        }
        let [only, parse, svix_ns, hmac_ns] = t;
        rows.push(
            Row::new(format!("verify_only_{label}"), "ns", only).baseline("svix Webhook::verify", svix_ns),
        );
        rows.push(
            Row::new(format!("verify_only_{label}_vs_hmac"), "ns", only)
                .baseline("bare HMAC-SHA256", hmac_ns),
        );
        rows.push(
            Row::new(format!("verify_and_parse_{label}"), "ns", parse)
                .baseline("svix Webhook::verify", svix_ns),
        );
        rows.push(
            Row::new(format!("verify_and_parse_{label}_vs_hmac"), "ns", parse)
                .baseline("bare HMAC-SHA256", hmac_ns),
        );
    }
    if let Some(r) = rows.first_mut() {
        *r = r.clone().note(
            "in-process timing loop (median of ~5 ms batches, best of 2 interleaved passes), same bodies as \
             uip-webhook-verify/benches/verify.rs; verify-only = signature + timestamp, verify-and-parse adds \
             the typed body; svix verifies signature + timestamp without parsing",
        );
    }
    Ok(rows)
}
