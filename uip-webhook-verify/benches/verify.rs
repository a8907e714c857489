//! Verify-only, verify-and-parse, the `svix` crate's `Webhook::verify` and a bare HMAC-SHA256,
//! over the same 1 KiB and 64 KiB webhook bodies.
//!
//! `cargo bench -p uip-webhook-verify --bench verify -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uip_types::WebhookSecret;
use uip_webhook_verify::{SignedHeaders, Verifier};

const SECRET: &str = "uip_whsec_4f1b2c3d4e5f60718293a4b5c6d7e8f9";
const SESSION: &str = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w";

/// A `step.completed` identify body of exactly `size` bytes: up to 50 metadata entries (the API
/// maximum, values up to 500 chars) and identify claims, the last claim (an address for small
/// bodies, a base64 portrait for large ones) padded to reach the size.
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
    assert!(head.len() + tail.len() < size, "size {size} too small");
    let filler_len = size - head.len() - tail.len();
    let filler: String =
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw".chars().cycle().take(filler_len).collect();
    let body = format!("{head}{filler}{tail}").into_bytes();
    assert_eq!(body.len(), size);
    body
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn bench_verify(c: &mut Criterion) {
    let secret = WebhookSecret::new(SECRET);
    let verifier = Verifier::new(secret.clone()).expect("valid secret");
    let svix = svix::webhooks::Webhook::from_bytes(SECRET.as_bytes().to_vec()).expect("valid secret");

    for (label, size) in [("1KiB", 1024), ("64KiB", 64 * 1024)] {
        let body = body_of_size(size);
        let ts = now();

        let uip_headers = SignedHeaders::for_body(&secret, ts, &body)
            .expect("valid body")
            .to_header_map()
            .expect("valid headers");
        assert!(verifier.verify(&uip_headers, &body).is_ok(), "our own delivery must verify");

        let delivery_id = format!("{SESSION}:step.completed:0");
        let svix_signature = svix.sign(&delivery_id, ts as i64, &body).expect("utf-8 body");
        let mut svix_headers = http::HeaderMap::new();
        svix_headers.insert("svix-id", delivery_id.parse().expect("header"));
        svix_headers.insert("svix-timestamp", ts.to_string().parse().expect("header"));
        svix_headers.insert("svix-signature", svix_signature.parse().expect("header"));
        assert!(svix.verify(&body, &svix_headers).is_ok(), "svix's own delivery must verify");

        let ts_text = ts.to_string();
        let mut group = c.benchmark_group(format!("verify/{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::from_parameter("uip_verify_only"), |b| {
            b.iter(|| verifier.verify_signature(black_box(&uip_headers), black_box(&body)).expect("verifies"))
        });
        group.bench_function(BenchmarkId::from_parameter("uip_verify_and_parse"), |b| {
            b.iter(|| verifier.verify(black_box(&uip_headers), black_box(&body)).expect("verifies"))
        });
        group.bench_function(BenchmarkId::from_parameter("svix_verify"), |b| {
            b.iter(|| svix.verify(black_box(&body), black_box(&svix_headers)).expect("verifies"))
        });
        group.bench_function(BenchmarkId::from_parameter("hmac_sha256_bare"), |b| {
            b.iter(|| {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(black_box(SECRET.as_bytes())).expect("any key length");
                mac.update(black_box(ts_text.as_bytes()));
                mac.update(b".");
                mac.update(black_box(&body));
                mac.finalize().into_bytes()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
