//! The [`Verifier`] and what it returns.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::Mac;
use uip_types::{
    WebhookEvent, WebhookSecret, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};

use crate::error::{shown, VerifyError};
use crate::headers::HeaderSource;
use crate::sign::{keyed, HmacSha256};

/// The default timestamp tolerance: 300 seconds, in both directions.
///
/// ```
/// assert_eq!(uip_webhook_verify::DEFAULT_TOLERANCE.as_secs(), 300);
/// ```
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Length of a hex HMAC-SHA256 signature.
const SIGNATURE_HEX_LEN: usize = 64;

#[derive(Clone)]
enum Clock {
    System,
    Fixed(u64),
    Custom(Arc<dyn Fn() -> u64 + Send + Sync>),
}

/// Verifies UIP webhook deliveries: signature, timestamp tolerance and, optionally, the body.
///
/// Built from one or more secrets (during a rotation, any may match). The HMAC key state of each
/// secret is prepared once, so verifying costs one HMAC pass over the body per secret tried.
/// A `Verifier` is cheap to clone and can be shared between threads.
///
/// ```
/// use uip_types::{WebhookEvent, WebhookSecret};
/// use uip_webhook_verify::{SignedHeaders, Verifier};
///
/// let secret = WebhookSecret::new("uip_whsec_sandbox");
/// let body = br#"{"event":"session.failed","data":{"session_id":"sess_a","status":"failed","reason":"insufficient_funds"}}"#;
/// let headers = SignedHeaders::for_body(&secret, 1780000000, body)?;
///
/// let verifier = Verifier::with_secrets(["uip_whsec_new", "uip_whsec_sandbox"])?.with_now(1780000100);
/// let delivery = verifier.verify(&headers, body)?;
/// assert!(matches!(delivery.event, WebhookEvent::SessionFailed(_)));
/// assert_eq!(delivery.timestamp, 1780000000);
/// # Ok::<(), uip_webhook_verify::VerifyError>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    keys: Vec<HmacSha256>,
    tolerance: u64,
    clock: Clock,
}

/// A delivery whose signature, timestamp and body all checked out.
///
/// ```
/// use uip_types::WebhookSecret;
/// use uip_webhook_verify::{SignedHeaders, Verifier};
///
/// let secret = WebhookSecret::new("uip_whsec_sandbox");
/// let body = br#"{"event":"session.archived","data":{"session_id":"sess_x"}}"#;
/// let headers = SignedHeaders::new(&secret, "session.archived", "sess_x:session.archived", 1780000000, body);
/// let delivery = Verifier::new(secret)?.with_now(1780000000).verify(&headers, body)?;
/// assert_eq!(delivery.event_name, "session.archived");
/// assert_eq!(delivery.delivery_id, "sess_x:session.archived");
/// # Ok::<(), uip_webhook_verify::VerifyError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedDelivery {
    /// The typed body ([`WebhookEvent::Unknown`] for an event name this version does not know).
    pub event: WebhookEvent,
    /// The `X-UIP-Event` header (always equal to the body's `event`).
    pub event_name: String,
    /// The `X-UIP-Delivery-Id` header: the dedupe key (see [`Deduper`](crate::Deduper)).
    ///
    /// The header is not covered by the signature; [`WebhookEvent::delivery_id`] derives the
    /// same id from the signed body.
    pub delivery_id: String,
    /// The `X-UIP-Timestamp` header, in Unix seconds.
    pub timestamp: u64,
}

impl Verifier {
    /// A verifier for one secret, with the default 300 s tolerance and the system clock.
    ///
    /// An empty secret is refused with [`VerifyError::EmptySecret`].
    ///
    /// ```
    /// use uip_webhook_verify::Verifier;
    /// let verifier = Verifier::new("uip_whsec_sandbox")?;
    /// assert_eq!(verifier.secret_count(), 1);
    /// assert_eq!(Verifier::new("").unwrap_err().kind(), "empty_secret");
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn new(secret: impl Into<WebhookSecret>) -> Result<Self, VerifyError> {
        Self::with_secrets([secret])
    }

    /// A verifier that accepts a signature made with any of `secrets`, tried in order (put the
    /// current secret first during a rotation).
    ///
    /// Refuses an empty list ([`VerifyError::NoSecret`]) and an empty secret
    /// ([`VerifyError::EmptySecret`]).
    ///
    /// ```
    /// use uip_webhook_verify::Verifier;
    /// let verifier = Verifier::with_secrets(["uip_whsec_current", "uip_whsec_previous"])?;
    /// assert_eq!(verifier.secret_count(), 2);
    /// assert_eq!(Verifier::with_secrets(Vec::<String>::new()).unwrap_err().kind(), "no_secret");
    /// assert_eq!(Verifier::with_secrets(["uip_whsec_a", ""]).unwrap_err().kind(), "empty_secret");
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn with_secrets<I>(secrets: I) -> Result<Self, VerifyError>
    where
        I: IntoIterator,
        I::Item: Into<WebhookSecret>,
    {
        let mut keys = Vec::new();
        for secret in secrets {
            let secret: WebhookSecret = secret.into();
            if secret.expose().is_empty() {
                return Err(VerifyError::EmptySecret);
            }
            keys.push(keyed(secret.expose()));
        }
        if keys.is_empty() {
            return Err(VerifyError::NoSecret);
        }
        Ok(Verifier { keys, tolerance: DEFAULT_TOLERANCE.as_secs(), clock: Clock::System })
    }

    /// Sets how far (in whole seconds, either direction) the signed timestamp may be from now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use uip_webhook_verify::Verifier;
    /// let verifier = Verifier::new("uip_whsec_sandbox")?.with_tolerance(Duration::from_secs(60));
    /// assert_eq!(verifier.tolerance(), Duration::from_secs(60));
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance.as_secs();
        self
    }

    /// Freezes the verifier's clock at `unix_seconds` (for tests and replays of recorded deliveries).
    ///
    /// ```
    /// use uip_webhook_verify::Verifier;
    /// let verifier = Verifier::new("uip_whsec_sandbox")?.with_now(1780000000);
    /// assert_eq!(verifier.now(), 1780000000);
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn with_now(mut self, unix_seconds: u64) -> Self {
        self.clock = Clock::Fixed(unix_seconds);
        self
    }

    /// Reads "now" (Unix seconds) from `clock` instead of the system clock.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use uip_webhook_verify::Verifier;
    ///
    /// let fake = Arc::new(AtomicU64::new(1780000000));
    /// let clock = Arc::clone(&fake);
    /// let verifier = Verifier::new("uip_whsec_sandbox")?.with_clock(move || clock.load(Ordering::Relaxed));
    /// fake.store(1780000042, Ordering::Relaxed);
    /// assert_eq!(verifier.now(), 1780000042);
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Clock::Custom(Arc::new(clock));
        self
    }

    /// The timestamp tolerance.
    ///
    /// ```
    /// use uip_webhook_verify::{Verifier, DEFAULT_TOLERANCE};
    /// assert_eq!(Verifier::new("uip_whsec_sandbox")?.tolerance(), DEFAULT_TOLERANCE);
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn tolerance(&self) -> Duration {
        Duration::from_secs(self.tolerance)
    }

    /// How many secrets are tried.
    ///
    /// ```
    /// use uip_webhook_verify::Verifier;
    /// assert_eq!(Verifier::with_secrets(["uip_whsec_a", "uip_whsec_b"])?.secret_count(), 2);
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn secret_count(&self) -> usize {
        self.keys.len()
    }

    /// The verifier's current time in Unix seconds (the system clock unless replaced).
    ///
    /// ```
    /// use uip_webhook_verify::Verifier;
    /// assert!(Verifier::new("uip_whsec_sandbox")?.now() > 1_700_000_000);
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn now(&self) -> u64 {
        match &self.clock {
            Clock::System => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            Clock::Fixed(t) => *t,
            Clock::Custom(f) => f(),
        }
    }

    /// Verifies a delivery and parses its body into a typed event.
    ///
    /// Needs all four `X-UIP-*` headers. Checks, in order: every header is present, the event
    /// and delivery id are non-empty UTF-8, the timestamp is decimal Unix seconds, the signature is 64 hex characters (either case), the
    /// timestamp is within the tolerance, the signature matches one of the secrets (constant-time
    /// comparison), the body parses as a webhook envelope whose `event` equals `X-UIP-Event`.
    /// An event name this version does not know is not an error: it parses to
    /// [`WebhookEvent::Unknown`].
    ///
    /// `body` must be the raw bytes as received: re-serialized JSON does not verify.
    ///
    /// ```
    /// use uip_types::{StepResult, WebhookEvent, WebhookSecret};
    /// use uip_webhook_verify::{SignedHeaders, Verifier};
    ///
    /// let secret = WebhookSecret::new("uip_whsec_sandbox");
    /// let body = br#"{"event":"step.completed","data":{"session_id":"sess_a","stage":0,
    ///     "primitive":"age_verify","audit_id":"sess_a_0","satisfied":true,"min_age":21}}"#;
    /// let headers = SignedHeaders::for_body(&secret, 1780000000, body)?;
    /// let verifier = Verifier::new(secret)?.with_now(1780000000);
    ///
    /// let delivery = verifier.verify(&headers, body)?;
    /// let WebhookEvent::StepCompleted(step) = delivery.event else { unreachable!() };
    /// assert_eq!(step.result, StepResult::AgeVerify { satisfied: true, min_age: Some(21) });
    ///
    /// let tampered = body.to_vec().into_iter().map(|b| if b == b'1' { b'8' } else { b }).collect::<Vec<u8>>();
    /// assert_eq!(verifier.verify(&headers, &tampered).unwrap_err().kind(), "signature_mismatch");
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn verify<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: impl AsRef<[u8]>,
    ) -> Result<VerifiedDelivery, VerifyError> {
        self.verify_dyn(&HeaderRef(headers), body.as_ref())
    }

    /// Verifies the signature and timestamp only, without parsing the body; returns the signed
    /// timestamp (Unix seconds).
    ///
    /// Needs only `X-UIP-Timestamp` and `X-UIP-Signature`. Makes no allocation on success.
    ///
    /// ```
    /// use uip_types::WebhookSecret;
    /// use uip_webhook_verify::{sign, Verifier};
    ///
    /// let secret = WebhookSecret::new("uip_whsec_sandbox");
    /// let signature = sign(&secret, 1780000000, b"any bytes");
    /// let headers = [("X-UIP-Timestamp", "1780000000"), ("X-UIP-Signature", signature.as_str())];
    /// let verifier = Verifier::new(secret)?.with_now(1780000299);
    /// assert_eq!(verifier.verify_signature(&headers, b"any bytes")?, 1780000000);
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn verify_signature<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: impl AsRef<[u8]>,
    ) -> Result<u64, VerifyError> {
        let timestamp = required(headers, HEADER_TIMESTAMP)?;
        let signature = required(headers, HEADER_SIGNATURE)?;
        self.check(timestamp, signature, body.as_ref())
    }

    /// Verifies a signature given as plain strings: the `X-UIP-Timestamp` and `X-UIP-Signature`
    /// values exactly as received; returns the timestamp (Unix seconds).
    ///
    /// ```
    /// use uip_types::WebhookSecret;
    /// use uip_webhook_verify::{sign, Verifier};
    ///
    /// let secret = WebhookSecret::new("uip_whsec_sandbox");
    /// let signature = sign(&secret, 1780000000, b"{}").to_uppercase(); // either case is fine
    /// let verifier = Verifier::new(secret)?.with_now(1780000000);
    /// assert_eq!(verifier.verify_parts("1780000000", &signature, b"{}")?, 1780000000);
    /// assert_eq!(verifier.verify_parts("+1780000000", &signature, b"{}").unwrap_err().kind(), "malformed_timestamp");
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn verify_parts(
        &self,
        timestamp: &str,
        signature: &str,
        body: impl AsRef<[u8]>,
    ) -> Result<u64, VerifyError> {
        self.check(timestamp.as_bytes(), signature.as_bytes(), body.as_ref())
    }

    /// [`verify`](Verifier::verify) for an `http::Request` (http 1.x) whose body is already
    /// collected into bytes (`Vec<u8>`, `Bytes`, `String`...).
    ///
    /// ```
    /// use uip_types::WebhookSecret;
    /// use uip_webhook_verify::{SignedHeaders, Verifier};
    ///
    /// let secret = WebhookSecret::new("uip_whsec_sandbox");
    /// let body = r#"{"event":"session.completed","data":{"session_id":"sess_a","status":"completed"}}"#;
    /// let signed = SignedHeaders::for_body(&secret, 1780000000, body.as_bytes())?;
    /// let mut request = http::Request::post("/uip-webhook").body(body.to_string()).unwrap();
    /// *request.headers_mut() = signed.to_header_map().unwrap();
    ///
    /// let delivery = Verifier::new(secret)?.with_now(1780000000).verify_request(&request)?;
    /// assert_eq!(delivery.delivery_id, "sess_a:session.completed");
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn verify_request<B: AsRef<[u8]>>(
        &self,
        request: &http::Request<B>,
    ) -> Result<VerifiedDelivery, VerifyError> {
        self.verify(request.headers(), request.body().as_ref())
    }

    /// [`verify_signature`](Verifier::verify_signature) for an `http::Request` (http 1.x):
    /// signature and timestamp only, the body is not parsed.
    ///
    /// ```
    /// use uip_types::WebhookSecret;
    /// use uip_webhook_verify::{sign, Verifier};
    ///
    /// let secret = WebhookSecret::new("uip_whsec_sandbox");
    /// let request = http::Request::post("/uip-webhook")
    ///     .header("X-UIP-Timestamp", "1780000000")
    ///     .header("X-UIP-Signature", sign(&secret, 1780000000, b"raw"))
    ///     .body(b"raw".to_vec())
    ///     .unwrap();
    /// assert_eq!(Verifier::new(secret)?.with_now(1780000000).verify_request_signature(&request)?, 1780000000);
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn verify_request_signature<B: AsRef<[u8]>>(
        &self,
        request: &http::Request<B>,
    ) -> Result<u64, VerifyError> {
        self.verify_signature(request.headers(), request.body().as_ref())
    }

    fn verify_dyn(&self, headers: &dyn HeaderSource, body: &[u8]) -> Result<VerifiedDelivery, VerifyError> {
        let timestamp = required(headers, HEADER_TIMESTAMP)?;
        let signature = required(headers, HEADER_SIGNATURE)?;
        let event_name = required(headers, HEADER_EVENT)?;
        let delivery_id = required(headers, HEADER_DELIVERY_ID)?;
        let event_name = text(event_name, HEADER_EVENT)?;
        let delivery_id = text(delivery_id, HEADER_DELIVERY_ID)?;
        let timestamp = self.check(timestamp, signature, body)?;
        let event = parse_event(body)?;
        if event.name() != event_name {
            return Err(VerifyError::MalformedPayload {
                reason: format!(
                    "the body's event {:?} differs from the X-UIP-Event header {:?}",
                    shown(event.name().as_bytes(), 60),
                    shown(event_name.as_bytes(), 60)
                ),
            });
        }
        Ok(VerifiedDelivery {
            event,
            event_name: event_name.to_owned(),
            delivery_id: delivery_id.to_owned(),
            timestamp,
        })
    }

    /// Format checks, tolerance, then the constant-time HMAC comparison against each secret.
    fn check(&self, timestamp_raw: &[u8], signature_raw: &[u8], body: &[u8]) -> Result<u64, VerifyError> {
        let timestamp = parse_timestamp(timestamp_raw)?;
        let signature = parse_signature(signature_raw)?;
        let now = self.now();
        if timestamp.abs_diff(now) > self.tolerance {
            return Err(VerifyError::TimestampOutOfTolerance { timestamp, now, tolerance: self.tolerance });
        }
        for key in &self.keys {
            let mut mac = key.clone();
            mac.update(timestamp_raw);
            mac.update(b".");
            mac.update(body);
            if mac.verify_slice(&signature).is_ok() {
                return Ok(timestamp);
            }
        }
        Err(VerifyError::SignatureMismatch { secrets: self.keys.len() })
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clock = match &self.clock {
            Clock::System => "system".to_owned(),
            Clock::Fixed(t) => format!("fixed({t})"),
            Clock::Custom(_) => "custom".to_owned(),
        };
        f.debug_struct("Verifier")
            .field("secrets", &format_args!("[redacted; {}]", self.keys.len()))
            .field("tolerance_s", &self.tolerance)
            .field("clock", &format_args!("{clock}"))
            .finish()
    }
}

/// Lets the generic entry points share one non-generic body.
struct HeaderRef<'a, H: ?Sized>(&'a H);

impl<H: HeaderSource + ?Sized> HeaderSource for HeaderRef<'_, H> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.header(name)
    }
}

fn required<'h, H: HeaderSource + ?Sized>(
    headers: &'h H,
    name: &'static str,
) -> Result<&'h [u8], VerifyError> {
    headers.header(name).ok_or(VerifyError::MissingHeader { header: name })
}

fn text<'h>(raw: &'h [u8], name: &'static str) -> Result<&'h str, VerifyError> {
    if raw.is_empty() {
        return Err(VerifyError::MalformedHeader { header: name, reason: "the value is empty" });
    }
    std::str::from_utf8(raw)
        .map_err(|_| VerifyError::MalformedHeader { header: name, reason: "the value is not UTF-8" })
}

/// Unix seconds as plain ASCII digits: no sign, no spaces, no fraction, at most `u64::MAX`.
fn parse_timestamp(raw: &[u8]) -> Result<u64, VerifyError> {
    let malformed = || VerifyError::MalformedTimestamp { value: shown(raw, 40) };
    if raw.is_empty() || raw.len() > 20 {
        return Err(malformed());
    }
    let mut n: u64 = 0;
    for &b in raw {
        if !b.is_ascii_digit() {
            return Err(malformed());
        }
        n = n.checked_mul(10).and_then(|n| n.checked_add(u64::from(b - b'0'))).ok_or_else(malformed)?;
    }
    Ok(n)
}

/// Exactly 64 hex characters, either case, into the 32-byte tag.
fn parse_signature(raw: &[u8]) -> Result<[u8; 32], VerifyError> {
    if raw.len() != SIGNATURE_HEX_LEN {
        return Err(VerifyError::MalformedSignature {
            reason: format!("expected {SIGNATURE_HEX_LEN} hex characters, got {} bytes", raw.len()),
        });
    }
    let mut tag = [0u8; 32];
    hex::decode_to_slice(raw, &mut tag).map_err(|_| VerifyError::MalformedSignature {
        reason: format!("expected {SIGNATURE_HEX_LEN} hex characters, found a non-hex character"),
    })?;
    Ok(tag)
}

/// The body as a typed event; anything else is a [`VerifyError::MalformedPayload`].
pub(crate) fn parse_event(body: &[u8]) -> Result<WebhookEvent, VerifyError> {
    // Validating UTF-8 once up front is cheaper than serde_json's per-string checks.
    let text = std::str::from_utf8(body)
        .map_err(|e| VerifyError::MalformedPayload { reason: format!("the body is not UTF-8 JSON: {e}") })?;
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| VerifyError::MalformedPayload { reason: format!("the body is not JSON: {e}") })?;
    WebhookEvent::from_value(value).map_err(|reason| VerifyError::MalformedPayload { reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::{sign, SignedHeaders};

    const SECRET: &str = "uip_whsec_4f1b2c3d4e5f60718293a4b5c6d7e8f9";
    const NOW: u64 = 1_780_000_000;
    const BODY: &[u8] =
        br#"{"event":"session.completed","data":{"session_id":"sess_a","status":"completed"}}"#;

    fn verifier() -> Verifier {
        Verifier::new(SECRET).unwrap().with_now(NOW)
    }

    fn headers() -> SignedHeaders {
        SignedHeaders::for_body(&WebhookSecret::new(SECRET), NOW, BODY).unwrap()
    }

    #[test]
    fn timestamp_rules() {
        assert_eq!(parse_timestamp(b"0").unwrap(), 0);
        assert_eq!(parse_timestamp(b"0001780000000").unwrap(), NOW, "leading zeros are digits");
        assert_eq!(parse_timestamp(b"18446744073709551615").unwrap(), u64::MAX);
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"123456789012345678901",
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"1.5",
            b"1e9",
        ] {
            assert_eq!(parse_timestamp(bad).unwrap_err().kind(), "malformed_timestamp", "{bad:?}");
        }
    }

    #[test]
    fn signature_rules() {
        let lower = "ab".repeat(32);
        assert_eq!(parse_signature(lower.as_bytes()).unwrap(), [0xab; 32]);
        assert_eq!(parse_signature(lower.to_uppercase().as_bytes()).unwrap(), [0xab; 32]);
        let mixed = "aB".repeat(32);
        assert_eq!(parse_signature(mixed.as_bytes()).unwrap(), [0xab; 32]);
        for bad in
            ["ab".repeat(31), "ab".repeat(33), format!("{}g", "a".repeat(63)), format!("{}é", "a".repeat(62))]
        {
            assert_eq!(parse_signature(bad.as_bytes()).unwrap_err().kind(), "malformed_signature", "{bad}");
        }
    }

    #[test]
    fn tolerance_is_symmetric_and_configurable() {
        let body = b"x";
        let secret = WebhookSecret::new(SECRET);
        let at = |ts: u64| (ts.to_string(), sign(&secret, ts, body));
        let v = verifier().with_tolerance(Duration::from_secs(10));
        for (ts, ok) in [(NOW - 10, true), (NOW + 10, true), (NOW - 11, false), (NOW + 11, false)] {
            let (t, s) = at(ts);
            let got = v.verify_parts(&t, &s, body);
            assert_eq!(got.is_ok(), ok, "{ts}: {got:?}");
            if !ok {
                assert_eq!(
                    got.unwrap_err(),
                    VerifyError::TimestampOutOfTolerance { timestamp: ts, now: NOW, tolerance: 10 }
                );
            }
        }
        let zero = verifier().with_tolerance(Duration::ZERO);
        let (t, s) = at(NOW);
        assert!(zero.verify_parts(&t, &s, body).is_ok());
        let (t, s) = at(NOW + 1);
        assert!(zero.verify_parts(&t, &s, body).is_err());
    }

    #[test]
    fn injected_clock_is_read_at_each_verification() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let fake = Arc::new(AtomicU64::new(NOW));
        let clock = Arc::clone(&fake);
        let v = Verifier::new(SECRET).unwrap().with_clock(move || clock.load(Ordering::SeqCst));
        let h = headers();
        assert!(v.verify(&h, BODY).is_ok());
        fake.store(NOW + 301, Ordering::SeqCst);
        assert_eq!(v.verify(&h, BODY).unwrap_err().kind(), "timestamp_out_of_tolerance");
    }

    #[test]
    fn system_clock_accepts_a_fresh_signature() {
        let v = Verifier::new(SECRET).unwrap();
        let now = v.now();
        let h = SignedHeaders::for_body(&WebhookSecret::new(SECRET), now, BODY).unwrap();
        assert_eq!(v.verify(&h, BODY).unwrap().timestamp, now);
    }

    #[test]
    fn rotation_any_secret_matches_and_mismatch_counts_them() {
        let h = headers();
        let v = Verifier::with_secrets(["uip_whsec_other", SECRET]).unwrap().with_now(NOW);
        assert!(v.verify(&h, BODY).is_ok());
        let v = Verifier::with_secrets(["uip_whsec_other", "uip_whsec_third"]).unwrap().with_now(NOW);
        assert_eq!(v.verify(&h, BODY).unwrap_err(), VerifyError::SignatureMismatch { secrets: 2 });
    }

    #[test]
    fn secrets_can_be_given_as_strings_or_webhook_secrets() {
        assert!(Verifier::new(String::from(SECRET)).is_ok());
        assert!(Verifier::new(WebhookSecret::new(SECRET)).is_ok());
        assert!(Verifier::with_secrets(vec![WebhookSecret::new(SECRET)]).is_ok());
        assert_eq!(Verifier::new(WebhookSecret::new("")).unwrap_err(), VerifyError::EmptySecret);
    }

    #[test]
    fn parse_requires_event_and_delivery_id_but_verify_only_does_not() {
        let h = headers();
        let pairs = |skip: &str| -> Vec<(&'static str, String)> {
            h.pairs().into_iter().filter(|(n, _)| *n != skip).map(|(n, v)| (n, v.to_owned())).collect()
        };
        for name in [HEADER_EVENT, HEADER_DELIVERY_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE] {
            assert_eq!(
                verifier().verify(&pairs(name), BODY).unwrap_err(),
                VerifyError::MissingHeader { header: name }
            );
        }
        assert!(verifier().verify_signature(&pairs(HEADER_EVENT), BODY).is_ok());
        assert!(verifier().verify_signature(&pairs(HEADER_DELIVERY_ID), BODY).is_ok());
    }

    #[test]
    fn a_validly_signed_body_that_is_not_an_envelope_is_a_malformed_payload() {
        let secret = WebhookSecret::new(SECRET);
        for body in [
            &b"\xff\xfe"[..],
            b"not json",
            b"[]",
            br#"{"event":"step.completed","data":{}}"#,
            br#"{"data":{}}"#,
        ] {
            let h = SignedHeaders::new(&secret, "step.completed", "d", NOW, body);
            assert_eq!(verifier().verify(&h, body).unwrap_err().kind(), "malformed_payload", "{body:?}");
            assert_eq!(verifier().verify_signature(&h, body), Ok(NOW), "verify-only does not parse");
        }
    }

    #[test]
    fn event_header_must_match_the_signed_body() {
        let mut h = headers();
        h.event = "session.failed".into();
        let err = verifier().verify(&h, BODY).unwrap_err();
        assert_eq!(err.kind(), "malformed_payload");
        assert!(err.to_string().contains("X-UIP-Event"), "{err}");
    }

    #[test]
    fn empty_or_non_utf8_text_headers_are_malformed_headers() {
        let h = headers();
        let mut pairs: Vec<(&str, Vec<u8>)> =
            h.pairs().iter().map(|(n, v)| (*n, v.as_bytes().to_vec())).collect();
        pairs[3].1 = Vec::new();
        assert_eq!(
            verifier().verify(&pairs, BODY).unwrap_err(),
            VerifyError::MalformedHeader { header: HEADER_DELIVERY_ID, reason: "the value is empty" }
        );
        pairs[3].1 = vec![b'a', 0xff];
        assert_eq!(verifier().verify(&pairs, BODY).unwrap_err().kind(), "malformed_header");
        pairs[3].1 = b"sess_a:session.completed".to_vec();
        pairs[0].1 = vec![0xc3];
        assert_eq!(
            verifier().verify(&pairs, BODY).unwrap_err(),
            VerifyError::MalformedHeader { header: HEADER_EVENT, reason: "the value is not UTF-8" }
        );
    }

    #[test]
    fn messages_name_the_header_and_never_the_secret() {
        let h = headers();
        let mut cases: Vec<VerifyError> = Vec::new();
        let with = |name: &str, value: &str| -> Vec<(&'static str, String)> {
            h.pairs()
                .into_iter()
                .map(|(n, v)| (n, if n == name { value.to_owned() } else { v.to_owned() }))
                .collect()
        };
        cases.push(verifier().verify(&with(HEADER_TIMESTAMP, "17800000OO"), BODY).unwrap_err());
        cases.push(verifier().verify(&with(HEADER_SIGNATURE, "zz"), BODY).unwrap_err());
        cases.push(verifier().verify(&with(HEADER_SIGNATURE, &"0".repeat(64)), BODY).unwrap_err());
        cases.push(verifier().verify(&with(HEADER_TIMESTAMP, "1"), BODY).unwrap_err());
        for err in &cases {
            let msg = err.to_string();
            assert!(msg.contains("X-UIP-Timestamp") || msg.contains("X-UIP-Signature"), "{msg}");
            assert!(!msg.contains(SECRET) && !format!("{err:?}").contains(SECRET), "{msg}");
        }
        assert!(cases[0].to_string().contains("17800000OO"), "the bad timestamp value is shown");
    }

    #[test]
    fn debug_is_redacted() {
        let v = Verifier::with_secrets([SECRET, "uip_whsec_second_secret"]).unwrap().with_now(5);
        let debug = format!("{v:?} {v:#?}");
        assert!(!debug.contains("4f1b2c3d") && !debug.contains("second_secret"), "{debug}");
        assert!(debug.contains("[redacted; 2]") && debug.contains("fixed(5)"), "{debug}");
        assert_eq!(format!("{:?}", WebhookSecret::new(SECRET)), "WebhookSecret([redacted])");
    }

    #[cfg(feature = "http")]
    #[test]
    fn header_map_and_request_entry_points() {
        let h = headers();
        let map = h.to_header_map().unwrap();
        let delivery = verifier().verify(&map, BODY).unwrap();
        assert_eq!(delivery.delivery_id, "sess_a:session.completed");
        assert_eq!(delivery.event_name, "session.completed");
        assert_eq!(verifier().verify_signature(&map, BODY).unwrap(), NOW);

        let mut request = http::Request::post("/uip-webhook").body(bytes_like(BODY)).unwrap();
        *request.headers_mut() = map.clone();
        assert_eq!(verifier().verify_request(&request).unwrap(), delivery);
        assert_eq!(verifier().verify_request_signature(&request).unwrap(), NOW);
        assert_eq!(verifier().verify(&request, BODY).unwrap(), delivery, "a Request is a HeaderSource");

        let mut upper = map.clone();
        upper.insert("x-uip-signature", http::HeaderValue::from_str(&h.signature.to_uppercase()).unwrap());
        assert!(verifier().verify(&upper, BODY).is_ok());

        let mut bad = map;
        bad.insert("x-uip-timestamp", http::HeaderValue::from_bytes(b"17\xff").unwrap());
        assert_eq!(verifier().verify(&bad, BODY).unwrap_err().kind(), "malformed_timestamp");
        bad.remove("x-uip-timestamp");
        let req = http::Request::post("/").body(Vec::new()).unwrap();
        assert_eq!(verifier().verify_request(&req).unwrap_err().kind(), "missing_header");
        assert_eq!(
            verifier().verify(&bad, BODY).unwrap_err(),
            VerifyError::MissingHeader { header: HEADER_TIMESTAMP }
        );
    }

    #[cfg(feature = "http")]
    fn bytes_like(b: &[u8]) -> Vec<u8> {
        b.to_vec()
    }
}
