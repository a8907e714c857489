//! The client and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use url::Url;

use crate::error::{ConfigError, Error};
use crate::request::RetryPolicy;
use crate::ApiKey;

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.uip.digital/v1";

/// Whole-request timeout used when the client builds its own HTTP client and none was set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Connect timeout of the HTTP client the builder makes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `User-Agent` sent unless another one is set.
pub const DEFAULT_USER_AGENT: &str = concat!("uip-client-rust/", env!("CARGO_PKG_VERSION"));

/// An async client for the UIP API.
///
/// Cheap to clone (the state is shared behind an `Arc`); make one per API key and reuse it.
/// `Debug` shows neither the API key nor any session id.
///
/// ```no_run
/// # async fn run() -> Result<(), uip_client::Error> {
/// use std::time::Duration;
/// use uip_client::{Client, RetryPolicy};
///
/// let client = Client::builder("uip_test_sandbox")
///     .base_url("http://127.0.0.1:8787/v1")
///     .timeout(Duration::from_secs(20))
///     .retry_policy(RetryPolicy::default().with_max_attempts(5))
///     .build()?;
/// let wallets = client.wallets().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) auth: HeaderValue,
    pub(crate) user_agent: HeaderValue,
    /// Per-request timeout; `None` leaves it to the HTTP client.
    pub(crate) timeout: Option<Duration>,
    /// Whole-call deadline across attempts and backoff; `None`: only the retry policy bounds it.
    pub(crate) deadline: Option<Duration>,
    pub(crate) retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("api_key", &"[redacted]")
            .field("timeout", &self.inner.timeout)
            .field("deadline", &self.inner.deadline)
            .field("retry_policy", &self.inner.retry)
            .finish()
    }
}

impl Client {
    /// A client for the production API with default settings.
    ///
    /// Fails only when the API key cannot be sent as a header (it must be visible ASCII) or the
    /// TLS backend cannot be set up.
    ///
    /// ```
    /// let client = uip_client::Client::new("uip_live_xxxxxxxxxxxxxxxxxxxxxxxx")?;
    /// assert_eq!(client.base_url().as_str(), "https://api.uip.digital/v1");
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn new(api_key: impl Into<ApiKey>) -> Result<Client, Error> {
        Client::builder(api_key).build()
    }

    /// A builder to set the base URL, timeout, user agent, HTTP client and retry policy.
    ///
    /// ```
    /// let client = uip_client::Client::builder("uip_test_sandbox")
    ///     .base_url("http://127.0.0.1:8787/v1")
    ///     .build()?;
    /// assert_eq!(client.base_url().as_str(), "http://127.0.0.1:8787/v1");
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn builder(api_key: impl Into<ApiKey>) -> ClientBuilder {
        ClientBuilder {
            api_key: api_key.into(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: None,
            deadline: None,
            user_agent: None,
            #[cfg(feature = "reqwest-client")]
            http: None,
            retry: RetryPolicy::default(),
        }
    }

    /// The base URL every path is joined to (`{base}/sessions`, …), without a trailing slash.
    ///
    /// ```
    /// let client = uip_client::Client::new("uip_live_xxxxxxxxxxxxxxxxxxxxxxxx")?;
    /// assert_eq!(client.base_url().as_str(), uip_client::DEFAULT_BASE_URL);
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The retry policy in force.
    ///
    /// ```
    /// let client = uip_client::Client::new("uip_live_xxxxxxxxxxxxxxxxxxxxxxxx")?;
    /// assert_eq!(client.retry_policy(), &uip_client::RetryPolicy::default());
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The whole-call deadline in force, if any ([`ClientBuilder::deadline`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = uip_client::Client::new("uip_live_xxxxxxxxxxxxxxxxxxxxxxxx")?;
    /// assert_eq!(client.deadline(), None);
    /// assert_eq!(client.with_deadline(Duration::from_secs(5)).deadline(), Some(Duration::from_secs(5)));
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn deadline(&self) -> Option<Duration> {
        self.inner.deadline
    }

    /// The same client (same connection pool, key and settings) with another whole-call
    /// deadline, for one call or a group of calls ([`ClientBuilder::deadline`]).
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client, id: uip_client::SessionId) -> Result<(), uip_client::Error> {
    /// use std::time::Duration;
    /// // This read, retries included, gives up after 2 s:
    /// let view = client.with_deadline(Duration::from_secs(2)).get_session(&id).await?;
    /// # Ok(()) }
    /// ```
    pub fn with_deadline(&self, deadline: Duration) -> Client {
        Client { inner: Arc::new(Inner { deadline: Some(deadline), ..(*self.inner).clone() }) }
    }

    /// The same client (same connection pool, key and settings) with another per-attempt
    /// timeout ([`ClientBuilder::timeout`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = uip_client::Client::new("uip_live_xxxxxxxxxxxxxxxxxxxxxxxx")?;
    /// let patient = client.with_timeout(Duration::from_secs(120));
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client { inner: Arc::new(Inner { timeout: Some(timeout), ..(*self.inner).clone() }) }
    }

    /// `{base}/{segments...}`, each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }
}

/// Configures a [`Client`]; made by [`Client::builder`].
#[must_use = "a builder does nothing until .build() is called"]
pub struct ClientBuilder {
    api_key: ApiKey,
    base_url: String,
    timeout: Option<Duration>,
    deadline: Option<Duration>,
    user_agent: Option<String>,
    #[cfg(feature = "reqwest-client")]
    http: Option<reqwest::Client>,
    retry: RetryPolicy,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("user_agent", &self.user_agent)
            .field("custom_http_client", &self.custom_http_client())
            .field("retry_policy", &self.retry)
            .finish()
    }
}

impl ClientBuilder {
    /// The API base, e.g. a sandbox at `http://127.0.0.1:8787/v1` (default
    /// [`DEFAULT_BASE_URL`]). Paths are appended to it: `{base}/sessions`, `{base}/catalog`, …
    /// A trailing slash is ignored. Checked by [`build`](Self::build): it must be an absolute
    /// `http` or `https` URL without query or fragment.
    pub fn base_url(mut self, base_url: impl AsRef<str>) -> Self {
        self.base_url = base_url.as_ref().to_owned();
        self
    }

    /// Timeout of each attempt, from sending the request to the end of the answer's body.
    ///
    /// Default: [`DEFAULT_TIMEOUT`] when the client builds its own HTTP client; with
    /// `http_client` (feature `reqwest-client`), that client's own settings unless this is set.
    /// A timed-out attempt is retried like a connect failure, except for continue and stop
    /// (see [`Error::outcome_unknown`]). To bound a whole call, retries included, use
    /// [`deadline`](Self::deadline).
    ///
    /// ```
    /// let client = uip_client::Client::builder("uip_test_sandbox")
    ///     .timeout(std::time::Duration::from_secs(15))
    ///     .build()?;
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The longest a call may take in all: every attempt, and the waits between them.
    ///
    /// When it passes during an attempt, that attempt is abandoned and the call fails with an
    /// [`Error::Transport`] of kind [`Timeout`](crate::TransportErrorKind::Timeout) whose
    /// [`is_deadline`](crate::TransportError::is_deadline) is `true`. A retry whose backoff
    /// would end after the deadline is not made: the call fails with the last attempt's error.
    /// Each attempt also keeps its own [`timeout`](Self::timeout). Default: none (a call is
    /// bounded by `timeout × max_attempts` plus backoff). `continue_session` with retries
    /// first reads the session: that read is a call of its own, with its own deadline.
    ///
    /// Per call, use [`Client::with_deadline`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = uip_client::Client::builder("uip_test_sandbox")
    ///     .timeout(Duration::from_secs(10))
    ///     .deadline(Duration::from_secs(25))
    ///     .build()?;
    /// assert_eq!(client.deadline(), Some(Duration::from_secs(25)));
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`]).
    ///
    /// ```
    /// let client = uip_client::Client::builder("uip_test_sandbox").user_agent("shop-backend/2.1").build()?;
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Use this HTTP client (proxies, custom TLS roots, connection pool settings, …).
    ///
    /// Only with the `reqwest-client` feature, which makes reqwest 0.12 a **public dependency**:
    /// your `reqwest::Client` must come from the same reqwest major version as this crate's (use
    /// the re-exported [`reqwest`](crate::reqwest)), and a future reqwest upgrade of this crate
    /// is then a breaking change for you. Without the feature, reqwest is an implementation
    /// detail.
    ///
    /// The client the builder makes otherwise has a 10 s connect timeout, the
    /// [`timeout`](Self::timeout), and follows no redirects; consider the same settings.
    ///
    /// ```
    /// use uip_client::reqwest; // the same reqwest as the client's
    /// let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    /// let client = uip_client::Client::builder("uip_test_sandbox").http_client(http).build()?;
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    #[cfg(feature = "reqwest-client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "reqwest-client")))]
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    fn custom_http_client(&self) -> bool {
        #[cfg(feature = "reqwest-client")]
        return self.http.is_some();
        #[cfg(not(feature = "reqwest-client"))]
        return false;
    }

    /// How failed calls are retried (default [`RetryPolicy::default`]).
    ///
    /// ```
    /// use uip_client::{Client, RetryPolicy};
    /// let client = Client::builder("uip_test_sandbox").retry_policy(RetryPolicy::none()).build()?;
    /// assert_eq!(client.retry_policy().max_attempts, 1);
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Checks the settings and makes the client.
    ///
    /// ```
    /// let err = uip_client::Client::builder("k").base_url("ftp://example.com").build().unwrap_err();
    /// assert!(matches!(err, uip_client::Error::Config(_)));
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        let base = parse_base(&self.base_url)?;
        let key = self.api_key.expose();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new("the API key must be non-empty visible ASCII").into());
        }
        // Not the header error as a source: its Debug could show the key.
        let mut auth = HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| ConfigError::new("the API key cannot be sent as a header"))?;
        auth.set_sensitive(true);
        let user_agent = HeaderValue::from_str(self.user_agent.as_deref().unwrap_or(DEFAULT_USER_AGENT))
            .map_err(|e| ConfigError::with_source("the user agent is not a valid header value", e))?;
        #[cfg(feature = "reqwest-client")]
        let custom = self.http;
        #[cfg(not(feature = "reqwest-client"))]
        let custom: Option<reqwest::Client> = None;
        let (http, timeout) = match custom {
            Some(http) => (http, self.timeout),
            None => {
                let http = reqwest::Client::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    // An API answer is never a redirect; following one could send the key or a
                    // session id elsewhere. A 3xx comes back as an `Error::Api`.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| ConfigError::with_source("could not build the HTTP client", e))?;
                (http, Some(self.timeout.unwrap_or(DEFAULT_TIMEOUT)))
            }
        };
        let deadline = self.deadline;
        Ok(Client {
            inner: Arc::new(Inner { http, base, auth, user_agent, timeout, deadline, retry: self.retry }),
        })
    }
}

fn parse_base(s: &str) -> Result<Url, Error> {
    let mut url = Url::parse(s)
        .map_err(|e| ConfigError::with_source(format!("the base URL `{s}` is not a valid URL"), e))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(
            ConfigError::new(format!("the base URL `{s}` must be an absolute http or https URL")).into()
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(format!("the base URL `{s}` must not have a query or fragment")).into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new("the base URL must not carry credentials").into());
    }
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_to_the_base() {
        for base in ["http://127.0.0.1:8787/v1", "http://127.0.0.1:8787/v1/"] {
            let c = Client::builder("k").base_url(base).build().unwrap();
            assert_eq!(c.base_url().as_str(), "http://127.0.0.1:8787/v1");
            assert_eq!(c.url(&["sessions"]).as_str(), "http://127.0.0.1:8787/v1/sessions");
            assert_eq!(
                c.url(&["sessions", "sess_a", "continue"]).as_str(),
                "http://127.0.0.1:8787/v1/sessions/sess_a/continue"
            );
        }
        let c = Client::builder("k").base_url("https://example.com").build().unwrap();
        assert_eq!(c.url(&["catalog"]).as_str(), "https://example.com/catalog");
        let c = Client::new("k").unwrap();
        assert_eq!(c.url(&["wallets"]).as_str(), "https://api.uip.digital/v1/wallets");
    }

    #[test]
    fn ids_cannot_escape_their_segment() {
        let c = Client::builder("k").base_url("http://h/v1").build().unwrap();
        assert_eq!(c.url(&["sessions", "../catalog"]).as_str(), "http://h/v1/sessions/..%2Fcatalog");
        assert_eq!(c.url(&["sessions", "a?b#c"]).as_str(), "http://h/v1/sessions/a%3Fb%23c");
    }

    #[test]
    fn bad_settings_are_refused() {
        for base in
            ["not a url", "ftp://h/v1", "http://h/v1?x=1", "http://h/v1#f", "mailto:a@b", "http://u:p@h/v1"]
        {
            let e = Client::builder("k").base_url(base).build().unwrap_err();
            assert!(matches!(e, Error::Config(_)), "{base}: {e:?}");
        }
        assert!(matches!(Client::new("").unwrap_err(), Error::Config(_)));
        assert!(matches!(Client::new("has space").unwrap_err(), Error::Config(_)));
        let e = Client::builder("k").user_agent("bad\nagent").build().unwrap_err();
        assert!(matches!(e, Error::Config(_)));
    }

    #[test]
    fn the_key_is_sent_as_a_sensitive_header() {
        let c = Client::new("uip_test_secret").unwrap();
        assert!(c.inner.auth.is_sensitive());
        assert_eq!(c.inner.auth.to_str().unwrap(), "Bearer uip_test_secret");
        let debug = format!("{c:?}");
        assert!(!debug.contains("uip_test_secret"), "{debug}");
        let debug = format!("{:?}", Client::builder("uip_test_secret"));
        assert!(!debug.contains("uip_test_secret"), "{debug}");
    }
}
