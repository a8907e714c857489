//! Property tests: sign-then-verify round-trips, any single-byte change is refused, and
//! arbitrary input never verifies and fails with a documented error kind.

use proptest::prelude::*;
use uip_types::WebhookSecret;
use uip_webhook_verify::{sign, SignedHeaders, Verifier};

const NOW: u64 = 1_780_000_000;

fn secret_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "uip_whsec_[0-9A-Za-z]{32}",
        ".{1,80}", // any non-empty Unicode text is a usable key
    ]
}

/// Every `VerifyError::kind()` the README documents.
const KINDS: [&str; 7] = [
    "missing_header",
    "malformed_header",
    "malformed_timestamp",
    "malformed_signature",
    "timestamp_out_of_tolerance",
    "signature_mismatch",
    "malformed_payload",
];

/// The kinds a signature-only check can give (it reads neither the body nor the event headers).
const SIGNATURE_KINDS: [&str; 5] = [
    "missing_header",
    "malformed_timestamp",
    "malformed_signature",
    "timestamp_out_of_tolerance",
    "signature_mismatch",
];

/// Timestamps that pass the default tolerance around NOW.
fn fresh_timestamp() -> impl Strategy<Value = u64> {
    (NOW - 300)..=(NOW + 300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_round_trips(secret in secret_strategy(), ts in fresh_timestamp(), body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let secret = WebhookSecret::new(secret);
        let signature = sign(&secret, ts, &body);
        prop_assert_eq!(signature.len(), 64);
        prop_assert!(signature.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        let verifier = Verifier::new(secret.clone()).unwrap().with_now(NOW);
        prop_assert_eq!(verifier.verify_parts(&ts.to_string(), &signature, &body), Ok(ts));
        prop_assert_eq!(verifier.verify_parts(&ts.to_string(), &signature.to_uppercase(), &body), Ok(ts));
        // Among other secrets (rotation), in any position.
        let rotated = Verifier::with_secrets([WebhookSecret::new("uip_whsec_other"), secret]).unwrap().with_now(NOW);
        prop_assert_eq!(rotated.verify_parts(&ts.to_string(), &signature, &body), Ok(ts));
    }

    #[test]
    fn signed_headers_round_trip_through_verify(secret in secret_strategy(), session in "sess_[0-9A-Za-z]{24}", stage in 0u32..20, ts in fresh_timestamp()) {
        let secret = WebhookSecret::new(secret);
        let body = format!(
            r#"{{"event":"step.completed","data":{{"session_id":"{session}","stage":{stage},"primitive":"age_verify","audit_id":"{session}_{stage}","satisfied":true,"min_age":18}}}}"#
        );
        let headers = SignedHeaders::for_body(&secret, ts, body.as_bytes()).unwrap();
        let delivery = Verifier::new(secret).unwrap().with_now(NOW).verify(&headers, &body).unwrap();
        prop_assert_eq!(delivery.delivery_id, format!("{session}:step.completed:{stage}"));
        prop_assert_eq!(delivery.timestamp, ts);
        prop_assert_eq!(delivery.event.session_id(), session.as_str());
    }

    #[test]
    fn flipping_any_body_byte_fails(secret in secret_strategy(), body in prop::collection::vec(any::<u8>(), 1..1024), index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let secret = WebhookSecret::new(secret);
        let signature = sign(&secret, NOW, &body);
        let mut altered = body.clone();
        let i = index.index(altered.len());
        altered[i] ^= flip;
        let verifier = Verifier::new(secret).unwrap().with_now(NOW);
        let err = verifier.verify_parts(&NOW.to_string(), &signature, &altered).unwrap_err();
        prop_assert_eq!(err.kind(), "signature_mismatch");
    }

    #[test]
    fn flipping_any_timestamp_byte_fails(secret in secret_strategy(), body in prop::collection::vec(any::<u8>(), 0..256), index in 0usize..10, flip in 1u8..=255) {
        let secret = WebhookSecret::new(secret);
        let ts = NOW.to_string();
        let signature = sign(&secret, NOW, &body);
        let mut altered = ts.into_bytes();
        altered[index] ^= flip;
        // Wide tolerance so a still-numeric timestamp reaches the signature check.
        let verifier = Verifier::new(secret).unwrap().with_now(NOW).with_tolerance(std::time::Duration::from_secs(u64::MAX));
        let headers = [("X-UIP-Timestamp", altered), ("X-UIP-Signature", signature.into_bytes())];
        let err = verifier.verify_signature(&headers, &body).unwrap_err();
        prop_assert!(["malformed_timestamp", "signature_mismatch"].contains(&err.kind()), "{:?}", err);
    }

    #[test]
    fn flipping_any_signature_byte_fails(secret in secret_strategy(), body in prop::collection::vec(any::<u8>(), 0..256), index in 0usize..64, flip in 1u8..=255) {
        let secret = WebhookSecret::new(secret);
        let signature = sign(&secret, NOW, &body);
        let mut altered = signature.into_bytes();
        let case_only = altered[index].is_ascii_alphabetic() && (altered[index] ^ flip) == altered[index].to_ascii_uppercase();
        altered[index] ^= flip;
        let verifier = Verifier::new(secret).unwrap().with_now(NOW);
        let headers = [("X-UIP-Timestamp", NOW.to_string().into_bytes()), ("X-UIP-Signature", altered)];
        let result = verifier.verify_signature(&headers, &body);
        if case_only {
            // Changing a hex letter's case is not a change of the signature.
            prop_assert_eq!(result, Ok(NOW));
        } else {
            let err = result.unwrap_err();
            prop_assert!(["malformed_signature", "signature_mismatch"].contains(&err.kind()), "{:?}", err);
        }
    }

    /// Random headers and bodies never verify (a random signature matches with probability
    /// 2^-256), fail with a documented error kind that never shows the secret, and `verify`,
    /// `verify_signature` and `verify_parts` agree on the refusal.
    #[test]
    fn arbitrary_headers_and_bodies_never_verify(
        headers in prop::collection::vec(
            (prop_oneof![Just("X-UIP-Event".to_string()), Just("X-UIP-Timestamp".to_string()), Just("X-UIP-Signature".to_string()), Just("X-UIP-Delivery-Id".to_string()), ".{0,20}"],
             prop_oneof![".{0,80}", "[0-9]{0,25}", "[0-9a-fA-F]{60,68}", "[+-]?[0-9]{1,12}"]),
            0..8),
        body in prop_oneof![prop::collection::vec(any::<u8>(), 0..512), ".{0,300}".prop_map(String::into_bytes)],
    ) {
        let verifier = Verifier::new("uip_whsec_sandbox").unwrap().with_now(NOW);
        let full = verifier.verify(&headers, &body).expect_err("random input verified");
        prop_assert!(KINDS.contains(&full.kind()), "undocumented kind {}", full.kind());
        prop_assert!(!full.to_string().contains("uip_whsec_sandbox"));
        let signature = verifier.verify_signature(&headers, &body).expect_err("a random signature verified");
        prop_assert!(SIGNATURE_KINDS.contains(&signature.kind()), "verify_signature: {}", signature.kind());
        let ts = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("X-UIP-Timestamp")).map(|(_, v)| v.as_str());
        let sig = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("X-UIP-Signature")).map(|(_, v)| v.as_str());
        let parts = verifier.verify_parts(ts.unwrap_or(""), sig.unwrap_or(""), &body).expect_err("random parts verified");
        prop_assert!(SIGNATURE_KINDS.contains(&parts.kind()), "verify_parts: {}", parts.kind());
    }

    /// Arbitrary bytes (not UTF-8, control characters) in the header values never verify either,
    /// and fail with a documented kind.
    #[test]
    fn arbitrary_bytes_in_header_values_never_verify(ts in prop::collection::vec(any::<u8>(), 0..30), sig in prop::collection::vec(any::<u8>(), 0..70), ev in prop::collection::vec(any::<u8>(), 0..30), body in prop::collection::vec(any::<u8>(), 0..128)) {
        let verifier = Verifier::new("uip_whsec_sandbox").unwrap().with_now(NOW);
        let headers = [("X-UIP-Timestamp", ts), ("X-UIP-Signature", sig), ("X-UIP-Event", ev.clone()), ("X-UIP-Delivery-Id", ev)];
        let err = verifier.verify(&headers, &body).expect_err("random bytes verified");
        prop_assert!(KINDS.contains(&err.kind()), "undocumented kind {}", err.kind());
        let signature = verifier.verify_signature(&headers, &body).expect_err("random bytes verified");
        prop_assert!(SIGNATURE_KINDS.contains(&signature.kind()), "verify_signature: {}", signature.kind());
    }
}
