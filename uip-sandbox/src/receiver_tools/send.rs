//! One POST to a receiver, made the way the sandbox's dispatcher makes it.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

/// How long one POST may take: the sandbox's default attempt timeout (docs/DECISIONS.md §5).
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of a receiver's answer kept.
const MAX_ANSWER: usize = 64 * 1024;

/// Why a URL cannot be sent to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{url:?} is not an http:// or https:// URL")]
#[non_exhaustive]
pub struct BadUrl {
    /// The URL as given.
    pub url: String,
}

impl BadUrl {
    /// The error saying `url` cannot be sent to.
    ///
    /// ```
    /// use uip_sandbox::receiver_tools::BadUrl;
    /// assert_eq!(BadUrl::new("ftp://x").to_string(), r#""ftp://x" is not an http:// or https:// URL"#);
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        BadUrl { url: url.into() }
    }
}

/// What the receiver answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The body (lossy UTF-8, at most 64 KiB).
    pub body: String,
}

impl Answer {
    /// The answer of status `status` with this body.
    ///
    /// ```
    /// use uip_sandbox::receiver_tools::Answer;
    /// assert!(Answer::new(204, "").is_success());
    /// assert!(!Answer::new(401, "bad signature").is_success());
    /// ```
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Answer { status, body: body.into() }
    }

    /// Whether the status is 2xx, i.e. the delivery succeeded (docs/DECISIONS.md §5).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl fmt::Display for Answer {
    /// `200 OK`, or the bare code when it has no standard reason phrase.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = StatusCode::from_u16(self.status).ok().and_then(|s| s.canonical_reason());
        match reason {
            Some(r) => write!(f, "{} {r}", self.status),
            None => write!(f, "{}", self.status),
        }
    }
}

/// The answer, or the transport error (could not connect, timed out…) as text.
pub type Outcome = Result<Answer, String>;

/// Checks that `url` is an absolute http(s) URL.
pub(crate) fn check_url(url: &str) -> Result<url::Url, BadUrl> {
    url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| BadUrl { url: url.to_owned() })
}

/// A client like the dispatcher's: 10 s per attempt, no redirects, the sandbox's user agent.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("uip-sandbox/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// POSTs `body` as `application/json` with `headers`, and reads the answer.
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &url::Url,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Outcome {
    let mut request =
        client.post(url.clone()).header(http::header::CONTENT_TYPE, "application/json").body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.send().await.map_err(|e| describe(&e))?;
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    while bytes.len() < MAX_ANSWER {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            // The status arrived: a body cut short does not change the outcome.
            Err(_) => break,
        }
    }
    bytes.truncate(MAX_ANSWER);
    Ok(Answer { status, body: String::from_utf8_lossy(&bytes).into_owned() })
}

/// A transport error as one line of text, with its innermost cause.
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    let mut cause = None;
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        cause = Some(s.to_string());
        src = s.source();
    }
    match cause {
        Some(c) => format!("{what}: {c}"),
        None => what.to_owned(),
    }
}
