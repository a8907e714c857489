//! The one error type of the crate.

/// Why a delivery was refused, or why a [`Verifier`](crate::Verifier) could not be built.
///
/// Each variant has a stable snake_case [`kind`](VerifyError::kind) (the `expect` values of the
/// shared test vectors) and a suggested [`http_status`](VerifyError::http_status) for the
/// receiver's answer. Messages name the header that was wrong, never a secret.
///
/// ```
/// use uip_webhook_verify::{Verifier, VerifyError};
///
/// let verifier = Verifier::new("uip_whsec_sandbox")?;
/// let err = verifier.verify_signature(&[("X-UIP-Timestamp", "1780000000")], b"{}").unwrap_err();
/// assert_eq!(err, VerifyError::MissingHeader { header: "X-UIP-Signature" });
/// assert_eq!(err.kind(), "missing_header");
/// assert_eq!(err.to_string(), "missing header X-UIP-Signature");
/// # Ok::<(), VerifyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required `X-UIP-*` header is absent.
    #[error("missing header {header}")]
    MissingHeader {
        /// The header's name, e.g. `X-UIP-Signature`.
        header: &'static str,
    },
    /// `X-UIP-Timestamp` is not Unix seconds written as plain ASCII decimal digits (no sign, no
    /// spaces, no fraction), or does not fit in 64 bits.
    #[error("malformed X-UIP-Timestamp header {value:?}: expected Unix seconds as decimal digits")]
    MalformedTimestamp {
        /// The header value as received (lossy UTF-8, cut to 40 characters).
        value: String,
    },
    /// `X-UIP-Signature` is not exactly 64 hexadecimal characters.
    #[error("malformed X-UIP-Signature header: {reason}")]
    MalformedSignature {
        /// What is wrong with it.
        reason: String,
    },
    /// The timestamp is further than the tolerance from the verifier's clock, in either direction.
    #[error(
        "X-UIP-Timestamp {timestamp} is {} s away from now ({now}), beyond the tolerance of {tolerance} s",
        timestamp.abs_diff(*now)
    )]
    TimestampOutOfTolerance {
        /// The signed timestamp (Unix seconds).
        timestamp: u64,
        /// The verifier's clock at verification (Unix seconds).
        now: u64,
        /// The tolerance in seconds.
        tolerance: u64,
    },
    /// The signature is well formed but matches none of the configured secrets.
    #[error("X-UIP-Signature does not match the timestamp and body under any of the {secrets} configured secret(s)")]
    SignatureMismatch {
        /// How many secrets were tried.
        secrets: usize,
    },
    /// The signature is valid but the body is not a UIP webhook envelope (not JSON, a known
    /// event with missing fields, or an `event` that differs from the `X-UIP-Event` header).
    #[error("malformed payload (the signature is valid): {reason}")]
    MalformedPayload {
        /// What is wrong with it.
        reason: String,
    },
    /// `X-UIP-Event` or `X-UIP-Delivery-Id` is empty or not UTF-8.
    #[error("malformed {header} header: {reason}")]
    MalformedHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A verifier was given an empty secret.
    #[error("a webhook secret is empty")]
    EmptySecret,
    /// A verifier was given no secret at all.
    #[error("no webhook secret was given")]
    NoSecret,
}

impl VerifyError {
    /// The stable snake_case name of the variant: `missing_header`, `malformed_timestamp`,
    /// `malformed_signature`, `timestamp_out_of_tolerance`, `signature_mismatch`,
    /// `malformed_payload`, `malformed_header`, `empty_secret` or `no_secret`.
    ///
    /// ```
    /// use uip_webhook_verify::VerifyError;
    /// assert_eq!(VerifyError::SignatureMismatch { secrets: 1 }.kind(), "signature_mismatch");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::MissingHeader { .. } => "missing_header",
            VerifyError::MalformedTimestamp { .. } => "malformed_timestamp",
            VerifyError::MalformedSignature { .. } => "malformed_signature",
            VerifyError::TimestampOutOfTolerance { .. } => "timestamp_out_of_tolerance",
            VerifyError::SignatureMismatch { .. } => "signature_mismatch",
            VerifyError::MalformedPayload { .. } => "malformed_payload",
            VerifyError::MalformedHeader { .. } => "malformed_header",
            VerifyError::EmptySecret => "empty_secret",
            VerifyError::NoSecret => "no_secret",
        }
    }

    /// The status a receiver should answer with: 401 when the delivery is not authentic or is
    /// stale (`signature_mismatch`, `timestamp_out_of_tolerance`), 400 when it is malformed or
    /// incomplete, 500 for a verifier misconfiguration.
    ///
    /// ```
    /// use uip_webhook_verify::VerifyError;
    /// assert_eq!(VerifyError::SignatureMismatch { secrets: 1 }.http_status(), 401);
    /// assert_eq!(VerifyError::MissingHeader { header: "X-UIP-Timestamp" }.http_status(), 400);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            VerifyError::SignatureMismatch { .. } | VerifyError::TimestampOutOfTolerance { .. } => 401,
            VerifyError::EmptySecret | VerifyError::NoSecret => 500,
            VerifyError::MissingHeader { .. }
            | VerifyError::MalformedTimestamp { .. }
            | VerifyError::MalformedSignature { .. }
            | VerifyError::MalformedPayload { .. }
            | VerifyError::MalformedHeader { .. } => 400,
        }
    }
}

/// At most `max` characters of `bytes`, decoded lossily, for error messages.
pub(crate) fn shown(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}
