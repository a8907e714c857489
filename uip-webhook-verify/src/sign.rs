//! Signing, for senders and for receivers' own tests.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uip_types::{WebhookSecret, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP};

use crate::error::VerifyError;
use crate::headers::HeaderSource;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// An HMAC-SHA256 keyed with the UTF-8 bytes of the whole secret string.
pub(crate) fn keyed(secret: &str) -> HmacSha256 {
    // HMAC takes keys of any length (long ones are hashed first), so this never fails.
    match <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// Writes `n` in decimal into the end of `buf`, returning the digits.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}

/// Lowercase hex of a 32-byte tag.
fn lower_hex(tag: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(tag.len() * 2);
    for &b in tag {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The `X-UIP-Signature` value for a delivery: lowercase
/// `hex(HMAC-SHA256(key = UTF-8 bytes of the whole secret, message = timestamp + "." + body))`,
/// where `timestamp` is written in decimal exactly as it goes into `X-UIP-Timestamp`.
///
/// It allocates only the returned 64-character string.
///
/// ```
/// use uip_types::WebhookSecret;
/// use uip_webhook_verify::sign;
///
/// let secret = WebhookSecret::new("uip_whsec_4f1b2c3d4e5f60718293a4b5c6d7e8f9");
/// let body = br#"{"event":"session.archived","data":{"session_id":"sess_x"}}"#;
/// assert_eq!(
///     sign(&secret, 1780000000, body),
///     "ba8c991d4547e37315a1192048eb8bfaf66698c7c1e5cbd1154028ac53e7eea6"
/// );
/// ```
pub fn sign(secret: &WebhookSecret, timestamp: u64, body: &[u8]) -> String {
    let mut buf = [0u8; 20];
    let mut mac = keyed(secret.expose());
    mac.update(decimal(timestamp, &mut buf));
    mac.update(b".");
    mac.update(body);
    lower_hex(&mac.finalize().into_bytes())
}

/// The four `X-UIP-*` headers of a signed delivery.
///
/// Senders use it to send a delivery; receivers use it to build requests in their own tests.
/// It is a [`HeaderSource`], so a [`Verifier`](crate::Verifier) reads it directly.
///
/// ```
/// use uip_types::WebhookSecret;
/// use uip_webhook_verify::{SignedHeaders, Verifier};
///
/// let secret = WebhookSecret::new("uip_whsec_sandbox");
/// let body = br#"{"event":"session.completed","data":{"session_id":"sess_a","status":"completed"}}"#;
/// let headers = SignedHeaders::for_body(&secret, 1780000000, body)?;
/// assert_eq!(headers.delivery_id, "sess_a:session.completed");
///
/// let verifier = Verifier::new(secret)?.with_now(1780000000);
/// let delivery = verifier.verify(&headers, body)?;
/// assert_eq!(delivery.delivery_id, "sess_a:session.completed");
/// # Ok::<(), uip_webhook_verify::VerifyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedHeaders {
    /// `X-UIP-Event`: the event name.
    pub event: String,
    /// `X-UIP-Timestamp`: Unix seconds, decimal.
    pub timestamp: String,
    /// `X-UIP-Signature`: lowercase hex HMAC-SHA256.
    pub signature: String,
    /// `X-UIP-Delivery-Id`: the dedupe key, stable across retries.
    pub delivery_id: String,
}

impl SignedHeaders {
    /// Signs `body` at `timestamp` and sets the event and delivery id headers as given (the body
    /// is not parsed, so it can be anything).
    ///
    /// ```
    /// use uip_types::WebhookSecret;
    /// use uip_webhook_verify::SignedHeaders;
    ///
    /// let secret = WebhookSecret::new("uip_whsec_sandbox");
    /// let h = SignedHeaders::new(&secret, "step.completed", "sess_a:step.completed:0", 1780000000, b"{}");
    /// assert_eq!(h.timestamp, "1780000000");
    /// assert_eq!(h.signature, uip_webhook_verify::sign(&secret, 1780000000, b"{}"));
    /// ```
    pub fn new(secret: &WebhookSecret, event: &str, delivery_id: &str, timestamp: u64, body: &[u8]) -> Self {
        SignedHeaders {
            event: event.to_owned(),
            timestamp: timestamp.to_string(),
            signature: sign(secret, timestamp, body),
            delivery_id: delivery_id.to_owned(),
        }
    }

    /// Signs `body` at `timestamp`, taking the event name and delivery id from the body itself
    /// (`{session_id}:step.completed:{stage}` or `{session_id}:{event}`).
    ///
    /// Fails with [`VerifyError::MalformedPayload`] when the body is not a webhook envelope.
    ///
    /// ```
    /// use uip_types::WebhookSecret;
    /// use uip_webhook_verify::SignedHeaders;
    ///
    /// let secret = WebhookSecret::new("uip_whsec_sandbox");
    /// let body = br#"{"event":"step.completed","data":{"session_id":"sess_a","stage":1,
    ///     "primitive":"age_verify","audit_id":"sess_a_1","satisfied":true,"min_age":18}}"#;
    /// let h = SignedHeaders::for_body(&secret, 1780000000, body)?;
    /// assert_eq!((h.event.as_str(), h.delivery_id.as_str()), ("step.completed", "sess_a:step.completed:1"));
    /// assert_eq!(SignedHeaders::for_body(&secret, 1, b"nope").unwrap_err().kind(), "malformed_payload");
    /// # Ok::<(), uip_webhook_verify::VerifyError>(())
    /// ```
    pub fn for_body(secret: &WebhookSecret, timestamp: u64, body: &[u8]) -> Result<Self, VerifyError> {
        let event = crate::verify::parse_event(body)?;
        Ok(SignedHeaders::new(secret, event.name(), &event.delivery_id(), timestamp, body))
    }

    /// The headers as `(name, value)` pairs, in the order event, timestamp, signature, delivery id.
    ///
    /// ```
    /// use uip_types::WebhookSecret;
    /// use uip_webhook_verify::SignedHeaders;
    ///
    /// let h = SignedHeaders::new(&WebhookSecret::new("uip_whsec_x"), "session.failed", "sess_a:session.failed", 7, b"{}");
    /// let names: Vec<&str> = h.pairs().iter().map(|(name, _)| *name).collect();
    /// assert_eq!(names, ["X-UIP-Event", "X-UIP-Timestamp", "X-UIP-Signature", "X-UIP-Delivery-Id"]);
    /// ```
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            (HEADER_EVENT, &self.event),
            (HEADER_TIMESTAMP, &self.timestamp),
            (HEADER_SIGNATURE, &self.signature),
            (HEADER_DELIVERY_ID, &self.delivery_id),
        ]
    }

    /// The headers as an `http::HeaderMap` (http 1.x), e.g. for `reqwest` or an axum test request.
    ///
    /// Fails when the event or delivery id is not a valid header value (control characters).
    ///
    /// ```
    /// use uip_types::WebhookSecret;
    /// use uip_webhook_verify::SignedHeaders;
    ///
    /// let h = SignedHeaders::new(&WebhookSecret::new("uip_whsec_x"), "session.failed", "sess_a:session.failed", 7, b"{}");
    /// let map = h.to_header_map()?;
    /// assert_eq!(map["x-uip-timestamp"], "7");
    /// # Ok::<(), http::header::InvalidHeaderValue>(())
    /// ```
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn to_header_map(&self) -> Result<http::HeaderMap, http::header::InvalidHeaderValue> {
        let mut map = http::HeaderMap::with_capacity(4);
        for (name, value) in self.pairs() {
            map.insert(http::HeaderName::from_static(lower(name)), http::HeaderValue::from_str(value)?);
        }
        Ok(map)
    }
}

/// The lowercase spelling `http::HeaderName::from_static` requires.
#[cfg(feature = "http")]
fn lower(name: &'static str) -> &'static str {
    match name {
        HEADER_EVENT => "x-uip-event",
        HEADER_TIMESTAMP => "x-uip-timestamp",
        HEADER_SIGNATURE => "x-uip-signature",
        _ => "x-uip-delivery-id",
    }
}

impl HeaderSource for SignedHeaders {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.pairs().into_iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_writes_every_width() {
        let mut buf = [0u8; 20];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(7, &mut buf), b"7");
        assert_eq!(decimal(1780000000, &mut buf), b"1780000000");
        assert_eq!(decimal(u64::MAX, &mut buf), u64::MAX.to_string().as_bytes());
    }

    #[test]
    fn sign_matches_a_direct_hmac() {
        let secret = WebhookSecret::new("uip_whsec_sandbox");
        let mut mac = keyed("uip_whsec_sandbox");
        mac.update(b"42.hello");
        assert_eq!(sign(&secret, 42, b"hello"), hex::encode(mac.finalize().into_bytes()));
    }

    #[cfg(feature = "http")]
    #[test]
    fn header_map_has_all_four_and_rejects_control_chars() {
        let secret = WebhookSecret::new("uip_whsec_sandbox");
        let h = SignedHeaders::new(&secret, "e", "d", 1, b"");
        let map = h.to_header_map().unwrap();
        assert_eq!(map.len(), 4);
        assert_eq!(map["x-uip-event"], "e");
        assert_eq!(map["x-uip-delivery-id"], "d");
        assert_eq!(map["x-uip-signature"], h.signature.as_str());
        assert!(SignedHeaders::new(&secret, "e", "bad\nid", 1, b"").to_header_map().is_err());
    }
}
