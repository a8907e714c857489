//! The one error type of the client.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use uip_types::{ErrorCode, ValidationError};

/// Everything a call can fail with.
///
/// The variants keep the four kinds of failure apart:
///
/// * [`Error::Api`]: the service answered with a non-2xx status (its parsed error body, or an
///   excerpt when the body was not the documented JSON);
/// * [`Error::Transport`]: no answer was received (connect failure, timeout, connection closed);
/// * [`Error::Decode`]: a 2xx answer whose body is not the expected JSON;
/// * [`Error::InvalidInput`]: the request broke a rule of the contract and was never sent.
///
/// ```
/// use uip_client::{Client, Error, ErrorCode};
/// # async fn run(client: Client) {
/// match client.get_session("sess_unknown").await {
///     Err(Error::Api { status: 404, .. }) => println!("no such session"),
///     Err(e) if e.code() == Some(&ErrorCode::NotFound) => unreachable!(),
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

    /// The request did not get an answer: connect failure, timeout, connection closed.
    ///
    /// The inner error never carries the request URL (session ids are capabilities).
    #[error("{kind}: {source}")]
    #[non_exhaustive]
    Transport {
        /// What went wrong.
        kind: TransportErrorKind,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },

    /// A successful answer whose body is not what the API documents.
    #[error("could not decode the response (HTTP {status}): {source}; body starts with {excerpt:?}")]
    #[non_exhaustive]
    Decode {
        /// HTTP status code of the answer.
        status: u16,
        /// The first few hundred characters of the body (session ids shortened).
        excerpt: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// The request broke a rule of the contract; nothing was sent.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] ValidationError),

    /// A document file could not be read.
    #[error("could not read document {}: {source}", path.display())]
    #[non_exhaustive]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The client could not be built (bad base URL, API key or user agent, TLS setup).
    #[error("invalid client configuration: {0}")]
    Config(String),
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

/// The kind of an [`Error::Transport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be established (refused, DNS, TLS handshake): the request was
    /// not sent.
    Connect,
    /// The request or the reading of its answer took longer than the timeout.
    Timeout,
    /// The connection closed (reset, or ended before a complete answer).
    ConnectionClosed,
    /// Anything else (building the request, reading the body, protocol errors).
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "connect error",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::ConnectionClosed => "connection closed",
            TransportErrorKind::Other => "transport error",
        })
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

    /// Whether trying the same request again later may succeed: connect failures, timeouts,
    /// closed connections, `429` and `5xx` answers.
    ///
    /// The client already retries these itself under its [`RetryPolicy`](crate::RetryPolicy)
    /// (continue and stop only on connect failures and `5xx`), so this is what is left after it
    /// gave up.
    ///
    /// ```
    /// # let err: uip_client::Error = uip_client::CreateSessionRequest::default().validate().unwrap_err().into();
    /// assert!(!err.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status == 429 || (500..=599).contains(status),
            Error::Transport { kind, .. } => matches!(
                kind,
                TransportErrorKind::Connect
                    | TransportErrorKind::Timeout
                    | TransportErrorKind::ConnectionClosed
            ),
            _ => false,
        }
    }

    pub(crate) fn invalid(code: ErrorCode, param: &str, message: impl Into<String>) -> Error {
        Error::InvalidInput(ValidationError { code, message: message.into(), param: Some(param.to_owned()) })
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
    } else {
        TransportErrorKind::Other
    };
    Error::Transport { kind, source: e.without_url() }
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
