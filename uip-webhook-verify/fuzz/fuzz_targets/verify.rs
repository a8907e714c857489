//! Fuzzes verification over (headers, body).
//!
//! Input format (so corpus files stay readable): header lines `Name: value` separated by `\n`,
//! then an empty line, then the raw body. Input without an empty line is all headers.
//!
//! Checked on every input: nothing panics; a full verify that succeeds implies the signature-only
//! check succeeds with the same timestamp; error kinds are the documented ones; and signing the
//! body with the fuzzer's secret always verifies (and fails after a one-byte body change).
#![no_main]

use libfuzzer_sys::fuzz_target;
use uip_webhook_verify::{sign, Verifier, WebhookSecret};

/// The vectors' secret and clock, so seeds taken from the vectors verify.
const SECRET: &str = "uip_whsec_4f1b2c3d4e5f60718293a4b5c6d7e8f9";
const NOW: u64 = 1_780_000_000;

const KINDS: [&str; 7] = [
    "missing_header",
    "malformed_header",
    "malformed_timestamp",
    "malformed_signature",
    "timestamp_out_of_tolerance",
    "signature_mismatch",
    "malformed_payload",
];

fn split(data: &[u8]) -> (Vec<(String, Vec<u8>)>, &[u8]) {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let headers = head
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let value = &line[colon + 1..];
            let value = value.strip_prefix(b" ").unwrap_or(value);
            Some((String::from_utf8_lossy(&line[..colon]).into_owned(), value.to_vec()))
        })
        .collect();
    (headers, body)
}

fuzz_target!(|data: &[u8]| {
    let (headers, body) = split(data);
    let verifier = Verifier::with_secrets(["uip_whsec_previous", SECRET]).expect("valid secrets").with_now(NOW);

    let full = verifier.verify(&headers, body);
    let signature_only = verifier.verify_signature(&headers, body);
    match &full {
        Ok(delivery) => assert_eq!(signature_only, Ok(delivery.timestamp)),
        Err(e) => {
            assert!(KINDS.contains(&e.kind()), "undocumented kind {}", e.kind());
            assert!(!e.to_string().contains(SECRET));
        }
    }
    if let Err(e) = &signature_only {
        assert!(KINDS.contains(&e.kind()) && e.kind() != "malformed_payload" && e.kind() != "malformed_header");
    }

    // Whatever the body, signing it verifies, and any one-byte change does not.
    let secret = WebhookSecret::new(SECRET);
    let ts = NOW - (body.len() as u64 % 300);
    let signature = sign(&secret, ts, body);
    assert_eq!(verifier.verify_parts(&ts.to_string(), &signature, body), Ok(ts));
    if let Some(&first) = body.first() {
        let mut altered = body.to_vec();
        altered[0] = first.wrapping_add(1);
        assert_eq!(verifier.verify_parts(&ts.to_string(), &signature, &altered).map_err(|e| e.kind()), Err("signature_mismatch"));
    }
});
