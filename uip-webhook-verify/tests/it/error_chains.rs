//! Display-or-source for uip-webhook-verify's public errors: each variant's chain prints every
//! text once.

use uip_dev_error_chain::assert_chain;
use uip_webhook_verify::{Verifier, VerifyError};

#[test]
fn every_verify_error_prints_its_text_once() {
    let verifier = Verifier::new("uip_whsec_sandbox").unwrap().with_now(1_780_000_000);
    // Produced by the verifier, as a receiver meets them.
    let missing = verifier.verify_signature(&[("X-UIP-Timestamp", "1780000000")], b"{}").unwrap_err();
    assert_eq!(missing.kind(), "missing_header");
    let stale = verifier
        .verify_signature(&[("X-UIP-Timestamp", "1000"), ("X-UIP-Signature", &"0".repeat(64))], b"{}")
        .unwrap_err();
    assert_eq!(stale.kind(), "timestamp_out_of_tolerance");
    let mismatch = verifier
        .verify_signature(&[("X-UIP-Timestamp", "1780000000"), ("X-UIP-Signature", &"0".repeat(64))], b"{}")
        .unwrap_err();
    assert_eq!(mismatch.kind(), "signature_mismatch");
    let empty = Verifier::new("").unwrap_err();
    assert_eq!(empty.kind(), "empty_secret");

    let all = [
        missing,
        VerifyError::MalformedTimestamp { value: "12a".into() },
        VerifyError::MalformedSignature { reason: "expected 64 hexadecimal characters".into() },
        stale,
        mismatch,
        VerifyError::MalformedPayload { reason: "expected value at line 1 column 1".into() },
        VerifyError::MalformedHeader { header: "X-UIP-Event", reason: "empty" },
        empty,
        VerifyError::NoSecret,
    ];
    for err in &all {
        assert_chain(err, 1);
    }
}

/// The extractor's rejection names what failed; the verifier's error is its source, not repeated.
#[cfg(feature = "axum")]
#[test]
fn a_delivery_rejection_keeps_the_verify_error_as_its_source() {
    use std::error::Error as _;
    use uip_webhook_verify::DeliveryRejection;
    let err = DeliveryRejection::Verify(VerifyError::SignatureMismatch { secrets: 2 });
    assert_chain(&err, 2);
    assert!(err.source().unwrap().downcast_ref::<VerifyError>().is_some());
}
