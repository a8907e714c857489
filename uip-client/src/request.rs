//! Sending a call: headers, idempotency keys, retries with backoff, and turning answers into
//! values or errors.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use reqwest::Method;
use serde::de::DeserializeOwned;
use tracing::{debug, field, warn, Instrument};
use uip_types::{ApiErrorBody, ErrorCode};

use crate::client::Client;
use crate::documents::{self, Document};
use crate::error::{self, Error, TransportError, TransportErrorKind};

/// The header that makes a create safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// The header the service sets when it answered a create from its idempotency store.
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// How failed calls are retried: exponential backoff with jitter.
///
/// What is retried:
///
/// * reads (`GET`) and creates: connect failures, timeouts, closed connections, body errors,
///   `429` and `5xx`.
///   A create always carries an `Idempotency-Key` that stays the same on every attempt, so a
///   retried create can never make two sessions;
/// * `continue` and `stop`: connect failures and `5xx` only (see
///   [`Client::continue_session`] for how a retry that finds the work already done is handled).
///
/// Other errors (`400`, `401`, `402`, `404`, `409`, `422`, …) are never retried.
///
/// The delay before retry `n` (1-based) is `min(cap, base × 2^(n-1))`, of which the upper half
/// is random. A `Retry-After: <seconds>` header on the answer raises the delay to at least that
/// value (the HTTP-date form is not used by the API and is ignored); when it asks for more than `cap`, the call is not retried but fails at once with the
/// error (see [`Error::retry_after`]), so that the caller can schedule it.
///
/// ```
/// use std::time::Duration;
/// use uip_client::RetryPolicy;
///
/// let patient = RetryPolicy::new(6, Duration::from_millis(200), Duration::from_secs(10));
/// assert_eq!(patient.max_attempts, 6);
/// assert_eq!(RetryPolicy::default().with_max_attempts(5).max_attempts, 5);
/// assert_eq!(RetryPolicy::default().max_attempts, 3);
/// assert_eq!(RetryPolicy::none().max_attempts, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total attempts including the first (`1` = no retry; `0` counts as `1`).
    pub max_attempts: u32,
    /// Delay before the first retry (before jitter).
    pub base: Duration,
    /// Longest delay between two attempts, and longest `Retry-After` the client waits for.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, base 100 ms, cap 5 s.
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, base: Duration::from_millis(100), cap: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// No retries: every call is attempted once.
    ///
    /// ```
    /// assert_eq!(uip_client::RetryPolicy::none().max_attempts, 1);
    /// ```
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// A policy of `max_attempts` attempts in all, backing off from `base` up to `cap`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = uip_client::RetryPolicy::new(4, Duration::from_millis(50), Duration::from_secs(2));
    /// assert_eq!((p.max_attempts, p.base, p.cap), (4, Duration::from_millis(50), Duration::from_secs(2)));
    /// ```
    pub fn new(max_attempts: u32, base: Duration, cap: Duration) -> Self {
        RetryPolicy { max_attempts, base, cap }
    }

    /// The same policy with this many attempts in all (`1` = no retry).
    ///
    /// ```
    /// assert_eq!(uip_client::RetryPolicy::default().with_max_attempts(6).max_attempts, 6);
    /// ```
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// The same policy with this delay before the first retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = uip_client::RetryPolicy::default().with_base(Duration::from_millis(10));
    /// assert_eq!(p.base, Duration::from_millis(10));
    /// ```
    pub fn with_base(mut self, base: Duration) -> Self {
        self.base = base;
        self
    }

    /// The same policy with this longest delay (and longest `Retry-After` waited for).
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = uip_client::RetryPolicy::default().with_cap(Duration::from_secs(30));
    /// assert_eq!(p.cap, Duration::from_secs(30));
    /// ```
    pub fn with_cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// The backoff before retry number `retry` (1-based), jitter included.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = uip_client::RetryPolicy::default();
    /// let d = p.backoff(2);
    /// assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(200));
    /// assert!(p.backoff(30) <= p.cap);
    /// ```
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        let full = self.base.saturating_mul(factor).min(self.cap);
        let half = full / 2;
        let jitter_nanos =
            rand::thread_rng().gen_range(0..=(full - half).as_nanos().min(u64::MAX as u128) as u64);
        half + Duration::from_nanos(jitter_nanos)
    }

    fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }
}

/// A fresh Idempotency-Key: a UUID v4.
pub(crate) fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Which failures a call may retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryClass {
    /// Reads, and creates (they carry an Idempotency-Key).
    Safe,
    /// continue / stop: connect failures and 5xx only.
    Decision,
}

impl RetryClass {
    fn allows(self, err: &Error) -> bool {
        match (self, err) {
            (RetryClass::Safe, e) => e.is_retryable(),
            (RetryClass::Decision, Error::Api { status, .. }) => (500..=599).contains(status),
            (RetryClass::Decision, Error::Transport(t)) => t.kind() == TransportErrorKind::Connect,
            (RetryClass::Decision, _) => false,
        }
    }
}

/// What to send.
pub(crate) enum Payload<'a> {
    /// No body.
    Empty,
    /// A JSON body.
    Json(Bytes),
    /// A multipart create: the `session` JSON and the documents.
    Multipart { session: Bytes, documents: &'a [Document] },
}

/// One endpoint call.
pub(crate) struct Call<'a> {
    pub method: Method,
    /// The route template, for logs (`/sessions/{id}`): ids are capabilities and never logged.
    pub route: &'static str,
    /// Path segments after the base (`["sessions", id]`).
    pub segments: &'a [&'a str],
    /// Whether to send the API key.
    pub auth: bool,
    pub payload: Payload<'a>,
    pub idempotency_key: Option<&'a str>,
    pub retry: RetryClass,
}

/// What a call ended with, and on which attempt (1-based).
pub(crate) struct Outcome<T> {
    pub result: Result<T, Error>,
    pub attempts: u32,
}

impl Client {
    /// Sends a call, retrying per the policy, and decodes a 2xx answer as `T`.
    ///
    /// Logs one `uip.request` span per call (method, route template) and, inside it, one
    /// `uip.attempt` span per attempt (attempt number, status). Never the URL: ids are
    /// capabilities.
    pub(crate) async fn execute<T: DeserializeOwned>(&self, call: &Call<'_>) -> Outcome<T> {
        let span = tracing::debug_span!("uip.request", method = %call.method, route = call.route);
        self.execute_inner(call).instrument(span).await
    }

    async fn execute_inner<T: DeserializeOwned>(&self, call: &Call<'_>) -> Outcome<T> {
        let policy = self.inner.retry;
        let url = self.url(call.segments);
        let deadline = self.inner.deadline.map(|d| (d, Instant::now() + d));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let span = tracing::debug_span!("uip.attempt", attempt, status = field::Empty);
            let started = Instant::now();
            let once = self.attempt_once(call, &url).instrument(span.clone());
            let answer = match deadline {
                None => once.await,
                Some((total, at)) => {
                    match tokio::time::timeout(at.saturating_duration_since(started), once).await {
                        Ok(answer) => answer,
                        Err(_) => Err(Error::Transport(TransportError::deadline(total))),
                    }
                }
            };
            // A non-idempotent call whose request may have been sent: its outcome is unknown.
            let answer = match answer {
                Err(Error::Transport(mut t)) if call.retry == RetryClass::Decision => {
                    t.mark_not_idempotent();
                    Err(Error::Transport(t))
                }
                other => other,
            };
            let entered = span.enter();
            let err = match answer {
                Ok((status, headers, body)) => {
                    span.record("status", status);
                    debug!(elapsed_ms = started.elapsed().as_millis() as u64, "answer");
                    if (200..300).contains(&status) {
                        if headers.get(IDEMPOTENT_REPLAYED_HEADER).is_some_and(|v| v == "true") {
                            debug!("the service replayed an earlier create for this Idempotency-Key");
                        }
                        let result = serde_json::from_slice::<T>(&body).map_err(|source| Error::Decode {
                            status,
                            excerpt: error::excerpt(&body),
                            source,
                        });
                        return Outcome { result, attempts: attempt };
                    }
                    api_error(status, &headers, &body)
                }
                Err(e) => {
                    if let Error::Transport(t) = &e {
                        debug!(kind = %t.kind(), elapsed_ms = started.elapsed().as_millis() as u64, "no answer");
                    }
                    e
                }
            };
            drop(entered);
            let deadline_passed = matches!(&err, Error::Transport(t) if t.is_deadline());
            if deadline_passed || attempt >= policy.attempts() || !call.retry.allows(&err) {
                return Outcome { result: Err(err), attempts: attempt };
            }
            let mut delay = policy.backoff(attempt);
            if let Some(after) = err.retry_after() {
                if after > policy.cap {
                    debug!(
                        retry_after_ms = after.as_millis() as u64,
                        "Retry-After exceeds the cap; not retrying"
                    );
                    return Outcome { result: Err(err), attempts: attempt };
                }
                delay = delay.max(after);
            }
            if let Some((_, at)) = deadline {
                if Instant::now() + delay >= at {
                    debug!(
                        delay_ms = delay.as_millis() as u64,
                        "the next retry would start after the deadline"
                    );
                    return Outcome { result: Err(err), attempts: attempt };
                }
            }
            span.in_scope(|| {
                let code = err.code().map(|c| c.as_str());
                warn!(code, delay_ms = delay.as_millis() as u64, "retrying UIP request");
            });
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt: the answer's status, headers and body, or a transport error.
    async fn attempt_once(&self, call: &Call<'_>, url: &url::Url) -> Result<(u16, HeaderMap, Bytes), Error> {
        let inner = &self.inner;
        let mut rb = inner
            .http
            .request(call.method.clone(), url.clone())
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, inner.user_agent.clone());
        if call.auth {
            rb = rb.header(AUTHORIZATION, inner.auth.clone());
        }
        if let Some(t) = inner.timeout {
            rb = rb.timeout(t);
        }
        if let Some(key) = call.idempotency_key {
            rb = rb.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        rb = match &call.payload {
            Payload::Empty if call.method == Method::POST => rb.body(Bytes::new()),
            Payload::Empty => rb,
            Payload::Json(body) => rb.header(CONTENT_TYPE, "application/json").body(body.clone()),
            Payload::Multipart { session, documents } => {
                rb.multipart(documents::form(session.clone(), documents).await?)
            }
        };
        let response = rb.send().await.map_err(error::transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(error::transport)?;
        Ok((status, headers, body))
    }
}

/// Builds an [`Error::Api`] from a non-2xx answer, whatever its body.
fn api_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    if let Ok(parsed) = serde_json::from_slice::<ApiErrorBody>(body) {
        return Error::Api {
            status,
            code: parsed.code,
            message: parsed.error,
            param: parsed.param,
            retry_after,
        };
    }
    // A JSON object that is not quite the documented body: keep what can be used.
    if let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(body) {
        let text = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        if let Some(message) = text("error").or_else(|| text("message")) {
            return Error::Api {
                status,
                code: text("code").map(|c| ErrorCode::parse(&c)),
                message,
                param: text("param"),
                retry_after,
            };
        }
    }
    let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let message = if body.iter().all(u8::is_ascii_whitespace) {
        format!("HTTP {status} {reason} with an empty body")
    } else {
        format!("HTTP {status} {reason}; body starts with {:?}", error::excerpt(body))
    };
    Error::Api { status, code: None, message, param: None, retry_after }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p =
            RetryPolicy { max_attempts: 10, base: Duration::from_millis(100), cap: Duration::from_secs(1) };
        for _ in 0..50 {
            let d1 = p.backoff(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100), "{d1:?}");
            let d3 = p.backoff(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400), "{d3:?}");
            let d9 = p.backoff(9);
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1), "{d9:?}");
        }
        assert!(p.backoff(u32::MAX) <= p.cap);
        let zero = RetryPolicy { max_attempts: 0, base: Duration::ZERO, cap: Duration::ZERO };
        assert_eq!(zero.backoff(1), Duration::ZERO);
        assert_eq!(zero.attempts(), 1);
    }

    #[test]
    fn idempotency_keys_are_valid_and_unique() {
        let a = new_idempotency_key();
        assert!(uip_types::validate::check_idempotency_key(&a).is_ok());
        assert_eq!(a.len(), 36);
        assert_ne!(a, new_idempotency_key());
    }

    #[test]
    fn error_bodies_of_every_shape_give_api_errors() {
        let h = HeaderMap::new();
        let e = api_error(404, &h, br#"{"error":"no such session","code":"resource/not-found"}"#);
        assert_eq!((e.status(), e.code()), (Some(404), Some(&ErrorCode::NotFound)));

        let e = api_error(418, &h, br#"{"error":"teapot","code":"brew/teapot"}"#);
        assert_eq!(e.code(), Some(&ErrorCode::Other("brew/teapot".into())));

        let e = api_error(400, &h, br#"{"message":"bad"}"#);
        assert!(matches!(&e, Error::Api { code: None, message, .. } if message == "bad"));

        let e = api_error(502, &h, b"<html><body>Bad Gateway</body></html>");
        let Error::Api { code, message, .. } = &e else { panic!("{e:?}") };
        assert_eq!(code, &None);
        assert!(message.contains("502 Bad Gateway") && message.contains("<html>"), "{message}");
        assert!(e.is_retryable());

        let e = api_error(503, &h, b"");
        assert!(e.to_string().contains("empty body"), "{e}");
    }

    #[test]
    fn retry_classes() {
        let api = |status| Error::Api {
            status,
            code: None,
            message: String::new(),
            param: None,
            retry_after: None,
        };
        for s in [429, 500, 502, 503, 504] {
            assert!(RetryClass::Safe.allows(&api(s)), "{s}");
        }
        for s in [400, 401, 402, 403, 404, 409, 413, 422] {
            assert!(!RetryClass::Safe.allows(&api(s)), "{s}");
            assert!(!RetryClass::Decision.allows(&api(s)), "{s}");
        }
        assert!(RetryClass::Decision.allows(&api(500)));
        assert!(RetryClass::Decision.allows(&api(503)));
        assert!(!RetryClass::Decision.allows(&api(429)));
    }
}
