//! The one error type of the client.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use uip_types::{ErrorCode, ValidationError};

/// Everything a call can fail with.
///
/// The variants keep the kinds of failure apart:
///
/// * [`Error::Api`]: the service answered with a non-2xx status (its parsed error body, or an
///   excerpt when the body was not the documented JSON);
/// * [`Error::Transport`]: no (complete) answer was received: connect failure, timeout,
///   connection closed, the call's deadline passed ([`TransportError::kind`]);
/// * [`Error::Decode`]: a 2xx answer whose body is not the expected JSON;
/// * [`Error::InvalidInput`]: the request broke a rule of the contract and was never sent;
/// * [`Error::Io`]: a document file could not be read;
/// * [`Error::Config`]: the client could not be built.
///
/// Each error's `Display` is its own text only; the underlying cause, when there is one, is
/// returned by [`source()`](std::error::Error::source) and never repeated in the text, so a
/// reporter that walks the chain prints every cause once.
///
/// ```
/// use uip_client::{Client, Error, ErrorCode};
/// # async fn run(client: Client) {
/// match client.get_session("sess_unknown").await {
///     Err(Error::Api { status: 404, .. }) => println!("no such session"),
///     Err(e) if e.code() == Some(&ErrorCode::NotFound) => unreachable!(),
///     Err(e) if e.outcome_unknown() => println!("read the session to learn whether it happened: {e}"),
///     Err(e) if e.is_retryable() => println!("try again later: {e}"),
///     Err(e) => println!("failed: {e}"),
///     Ok(view) => println!("status: {}", view.status),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error status.
    #[error("{}", DisplayApi { status: *status, code: code.as_ref(), message, param: param.as_deref() })]
    #[non_exhaustive]
    Api {
        /// HTTP status code.
        status: u16,
        /// The `code` of the error body; `None` when the body was not a JSON error body.
        code: Option<ErrorCode>,
        /// The `error` message of the body, or (for a non-JSON body) the status line and an
        /// excerpt of the body.
        message: String,
        /// The field at fault, when the service named one.
        param: Option<String>,
        /// The `Retry-After` the service asked for (seconds form only).
        retry_after: Option<Duration>,
    },

    /// The request did not get a complete answer: connect failure, timeout, connection closed,
    /// the call's deadline passed. See [`TransportError::kind`] and
    /// [`TransportError::outcome_unknown`].
    ///
    /// The error never carries the request URL (session ids are capabilities).
    #[error(transparent)]
    Transport(TransportError),

    /// A successful answer whose body is not what the API documents.
    #[error("could not decode the response (HTTP {status}); body starts with {excerpt:?}")]
    #[non_exhaustive]
    Decode {
        /// HTTP status code of the answer.
        status: u16,
        /// The first few hundred characters of the body (session ids shortened).
        excerpt: String,
        /// The JSON error (line, column and what was expected).
        #[source]
        source: serde_json::Error,
    },

    /// The request broke a rule of the contract; nothing was sent.
    ///
    /// The [`ValidationError`] is the error itself (its text is part of this one), not a cause:
    /// [`source()`](std::error::Error::source) is `None`.
    #[error("invalid input: {0}")]
    InvalidInput(ValidationError),

    /// A document file could not be read.
    #[error("could not read document {}", path.display())]
    #[non_exhaustive]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The client could not be built (bad base URL, API key or user agent, TLS setup).
    #[error(transparent)]
    Config(ConfigError),
}

impl From<ValidationError> for Error {
    fn from(e: ValidationError) -> Self {
        Error::InvalidInput(e)
    }
}

struct DisplayApi<'a> {
    status: u16,
    code: Option<&'a ErrorCode>,
    message: &'a str,
    param: Option<&'a str>,
}

impl fmt::Display for DisplayApi<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UIP API error (HTTP {}", self.status)?;
        if let Some(code) = self.code {
            write!(f, ", {code}")?;
        }
        write!(f, "): {}", self.message)?;
        if let Some(param) = self.param {
            write!(f, " [param: {param}]")?;
        }
        Ok(())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// No complete answer was received; the payload of [`Error::Transport`].
///
/// Opaque on purpose: the HTTP library underneath is not part of this crate's API (it is only
/// reachable as a `dyn Error` through [`source()`](std::error::Error::source)). Ask it what
/// happened with [`kind`](Self::kind), and whether the call may have taken effect with
/// [`outcome_unknown`](Self::outcome_unknown).
pub struct TransportError {
    kind: TransportErrorKind,
    /// The call's own deadline (not the per-attempt timeout) passed.
    deadline: Option<Duration>,
    outcome_unknown: bool,
    source: Option<BoxError>,
}

impl TransportError {
    /// What went wrong.
    ///
    /// ```
    /// # async fn run(client: uip_client::Client) {
    /// use uip_client::{Error, TransportErrorKind};
    /// if let Err(Error::Transport(t)) = client.catalog().await {
    ///     if t.kind() == TransportErrorKind::Connect {
    ///         println!("the API is unreachable");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether the request may have reached the service and taken effect although no answer
    /// says so: a `continue` or `stop` (not idempotent) that timed out, lost its connection
    /// after sending, or ran out of deadline. See [`Error::outcome_unknown`].
    pub fn outcome_unknown(&self) -> bool {
        self.outcome_unknown
    }

    /// Whether the call's overall deadline ([`ClientBuilder::deadline`](crate::ClientBuilder::deadline))
    /// passed, rather than one attempt's [`timeout`](crate::ClientBuilder::timeout). The kind is
    /// then [`TransportErrorKind::Timeout`].
    pub fn is_deadline(&self) -> bool {
        self.deadline.is_some()
    }

    pub(crate) fn deadline(deadline: Duration) -> TransportError {
        TransportError {
            kind: TransportErrorKind::Timeout,
            deadline: Some(deadline),
            outcome_unknown: false,
            source: None,
        }
    }

    /// Marks a failure of a non-idempotent call whose request may have been sent.
    pub(crate) fn mark_not_idempotent(&mut self) {
        self.outcome_unknown = matches!(
            self.kind,
            TransportErrorKind::Timeout | TransportErrorKind::ConnectionClosed | TransportErrorKind::Body
        );
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportError")
            .field("kind", &self.kind)
            .field("deadline", &self.deadline)
            .field("outcome_unknown", &self.outcome_unknown)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.deadline) {
            (_, Some(d)) => write!(f, "the call's deadline of {d:?} passed before the UIP API answered")?,
            (TransportErrorKind::Connect, _) => f.write_str("could not connect to the UIP API")?,
            (TransportErrorKind::Timeout, _) => {
                f.write_str("the UIP API did not answer within the timeout")?
            }
            (TransportErrorKind::ConnectionClosed, _) => {
                f.write_str("the connection to the UIP API closed before a complete answer")?
            }
            (TransportErrorKind::Body, _) => {
                f.write_str("sending the request body or reading the answer's body failed")?
            }
            (TransportErrorKind::Other, _) => f.write_str("the HTTP request to the UIP API failed")?,
        }
        if self.outcome_unknown {
            f.write_str(" (the request may have taken effect)")?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The kind of an [`Error::Transport`] ([`TransportError::kind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be established (refused, DNS, TLS handshake): the request was
    /// not sent.
    Connect,
    /// The request or the reading of its answer took longer than the timeout, or the call's
    /// deadline passed.
    Timeout,
    /// The connection closed (reset, or ended before a complete answer).
    ConnectionClosed,
    /// Sending the request's body or reading the answer's body failed.
    Body,
    /// Anything else (building the request, protocol errors).
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "connect error",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::ConnectionClosed => "connection closed",
            TransportErrorKind::Body => "body error",
            TransportErrorKind::Other => "transport error",
        })
    }
}

/// The client could not be built; the payload of [`Error::Config`].
///
/// Its text says which setting is wrong; the underlying parse or TLS error, when there is one,
/// is its [`source()`](std::error::Error::source).
///
/// ```
/// use std::error::Error as _;
/// let err = uip_client::Client::builder("k").base_url("http://[::1").build().unwrap_err();
/// let uip_client::Error::Config(config) = &err else { panic!("{err:?}") };
/// assert_eq!(err.to_string(), "invalid client configuration: the base URL `http://[::1` is not a valid URL");
/// assert!(config.source().is_some()); // the URL parser's own error
/// ```
pub struct ConfigError {
    message: String,
    source: Option<BoxError>,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> ConfigError {
        ConfigError { message: message.into(), source: None }
    }

    pub(crate) fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> ConfigError {
        ConfigError { message: message.into(), source: Some(Box::new(source)) }
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigError").field("message", &self.message).field("source", &self.source).finish()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid client configuration: {}", self.message)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl Error {
    /// The error code: the service's `code` for [`Error::Api`], and the code the service would
    /// answer with for [`Error::InvalidInput`]. `None` otherwise.
    ///
    /// ```
    /// use uip_client::{CreateSessionRequest, Error, ErrorCode, Step};
    /// let err: Error = CreateSessionRequest::new(vec![Step::age_verify(0)]).validate().unwrap_err().into();
    /// assert_eq!(err.code(), Some(&ErrorCode::InvalidParams));
    /// ```
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api { code, .. } => code.as_ref(),
            Error::InvalidInput(v) => Some(&v.code),
            _ => None,
        }
    }

    /// The HTTP status of the answer, when one was received.
    ///
    /// ```
    /// # let err: uip_client::Error = uip_client::CreateSessionRequest::default().validate().unwrap_err().into();
    /// assert_eq!(err.status(), None); // never sent
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The field at fault, as a path such as `steps[0].params.min_age`, when known.
    ///
    /// ```
    /// use uip_client::{CreateSessionRequest, Error, Step};
    /// let err: Error = CreateSessionRequest::new(vec![Step::age_verify(0)]).validate().unwrap_err().into();
    /// assert_eq!(err.param(), Some("steps[0].params.min_age"));
    /// ```
    pub fn param(&self) -> Option<&str> {
        match self {
            Error::Api { param, .. } => param.as_deref(),
            Error::InvalidInput(v) => v.param.as_deref(),
            _ => None,
        }
    }

    /// The `Retry-After` delay the service asked for (on `429` / `503` answers).
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client) {
    /// if let Err(e) = client.catalog().await {
    ///     if let Some(delay) = e.retry_after() {
    ///         tokio::time::sleep(delay).await; // then try again
    ///     }
    /// }
    /// # }
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The kind of a transport failure, `None` for every other error.
    ///
    /// ```
    /// # let err: uip_client::Error = uip_client::CreateSessionRequest::default().validate().unwrap_err().into();
    /// assert_eq!(err.transport_kind(), None);
    /// ```
    pub fn transport_kind(&self) -> Option<TransportErrorKind> {
        match self {
            Error::Transport(t) => Some(t.kind()),
            _ => None,
        }
    }

    /// Whether the call may have taken effect although it failed: a `continue` or `stop` (not
    /// idempotent) whose request may have reached the service, but whose answer was lost to a
    /// timeout, a closed connection or the call's deadline.
    ///
    /// The client does not retry such a call (a second `continue` could skip a gate), and
    /// [`is_retryable`](Self::is_retryable) is `false` for it: read the session with
    /// [`Client::get_session`](crate::Client::get_session) to learn whether the decision was
    /// applied (`status` / `current_step` moved on), then decide. Creates never report an
    /// unknown outcome: they carry an `Idempotency-Key`, and repeating one with the same key
    /// ([`CreateOptions::idempotency_key`](crate::CreateOptions::idempotency_key)) returns the
    /// session the first one made, if any.
    ///
    /// `5xx` answers are answers: the API documents them as "retry with backoff", so they are
    /// not reported here (the client already retries continue/stop on `5xx` and checks, on a
    /// `409` to a retry, whether an earlier attempt took effect).
    ///
    /// ```
    /// # let err: uip_client::Error = uip_client::CreateSessionRequest::default().validate().unwrap_err().into();
    /// assert!(!err.outcome_unknown()); // never sent
    /// ```
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Error::Transport(t) if t.outcome_unknown())
    }

    /// Whether trying the same request again later may succeed and is safe: connect failures,
    /// timeouts, closed connections, body errors, `429` and `5xx` answers, except when the
    /// outcome is unknown ([`outcome_unknown`](Self::outcome_unknown): a timed-out `continue`
    /// or `stop`), where a blind retry could apply the decision twice.
    ///
    /// The client already retries these itself under its [`RetryPolicy`](crate::RetryPolicy)
    /// (continue and stop only on connect failures and `5xx`), so this is what is left after it
    /// gave up. Repeat a create with the same `Idempotency-Key` (set your own with
    /// [`CreateOptions::idempotency_key`](crate::CreateOptions::idempotency_key)); a create
    /// repeated with a fresh key may make a second session.
    ///
    /// ```
    /// # let err: uip_client::Error = uip_client::CreateSessionRequest::default().validate().unwrap_err().into();
    /// assert!(!err.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status == 429 || (500..=599).contains(status),
            Error::Transport(t) => {
                !t.outcome_unknown()
                    && matches!(
                        t.kind(),
                        TransportErrorKind::Connect
                            | TransportErrorKind::Timeout
                            | TransportErrorKind::ConnectionClosed
                            | TransportErrorKind::Body
                    )
            }
            _ => false,
        }
    }

    pub(crate) fn invalid(code: ErrorCode, param: &str, message: impl Into<String>) -> Error {
        Error::InvalidInput(ValidationError::new(code, message).with_param(param))
    }
}

/// Classifies a `reqwest` error, dropping the URL it may carry.
pub(crate) fn transport(e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_connect() {
        TransportErrorKind::Connect
    } else if connection_closed(&e) {
        TransportErrorKind::ConnectionClosed
    } else if e.is_body() || e.is_decode() {
        TransportErrorKind::Body
    } else {
        TransportErrorKind::Other
    };
    Error::Transport(TransportError {
        kind,
        deadline: None,
        outcome_unknown: false,
        source: Some(Box::new(e.without_url())),
    })
}

fn connection_closed(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return true;
            }
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(io.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof) {
                return true;
            }
        }
        source = err.source();
    }
    false
}

/// At most this many characters of a body go into an error.
const EXCERPT_CHARS: usize = 300;

/// A short, printable excerpt of a body, with session ids shortened (they are capabilities).
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    redact_session_ids(&out)
}

/// Replaces every `sess_XXXXXXXX…` by `sess_XXXX…` so that an excerpt never carries a full id.
pub(crate) fn redact_session_ids(text: &str) -> String {
    const KEEP: usize = 4;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("sess_") {
        let (before, after) = rest.split_at(pos + "sess_".len());
        out.push_str(before);
        let id_len = after.bytes().take_while(|b| b.is_ascii_alphanumeric()).count();
        if id_len > KEEP {
            out.push_str(&after[..KEEP]);
            out.push('…');
        } else {
            out.push_str(&after[..id_len]);
        }
        rest = &after[id_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_shorten_session_ids() {
        let body = br#"{"id":"sess_7Hq2LmZ9pX4rT1vB8nC3dK6w","url":"https://uip.digital/s/sess_7Hq2LmZ9pX4rT1vB8nC3dK6w","x":"sess_ab"}"#;
        let e = excerpt(body);
        assert!(!e.contains("LmZ9pX4rT1vB8nC3dK6w"), "{e}");
        assert!(e.contains("sess_7Hq2…"), "{e}");
        assert!(e.contains("sess_ab\""), "{e}");
    }

    #[test]
    fn excerpts_are_bounded() {
        let body = "é".repeat(1000);
        let e = excerpt(body.as_bytes());
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
    }

    #[test]
    fn display_of_api_errors() {
        let e = Error::Api {
            status: 400,
            code: Some(ErrorCode::InvalidParams),
            message: "min_age must be an integer from 1 to 120".into(),
            param: Some("steps[0].params.min_age".into()),
            retry_after: None,
        };
        assert_eq!(
            e.to_string(),
            "UIP API error (HTTP 400, request/invalid-params): min_age must be an integer from 1 to 120 \
             [param: steps[0].params.min_age]"
        );
        assert!(!e.is_retryable());
        assert_eq!(e.param(), Some("steps[0].params.min_age"));
    }
}
