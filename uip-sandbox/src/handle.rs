//! The public face: [`Sandbox::builder`] → [`Sandbox`] (a running sandbox; dropped = shut
//! down) and [`SimulatedUser`] (the hosted page's transport, driven from a test).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uip_types::sandbox::{
    BusinessCredentials, DeliveryLogEntry, NewBusiness, PageState, ResponseResult, Trust, WalletAction,
    WalletRequest, WalletResponse,
};
use uip_types::{ApiErrorBody, ApiKey, WalletId, WebhookEvent, WebhookSecret};

use crate::app::App;
use crate::config::Settings;
use crate::core::{self as uc, Shared};
use crate::spares::{Spares, SPARES};
use crate::store::block_on;

/// Why a sandbox operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The sandbox could not start (address in use, database unreadable, …).
    ///
    /// The text says what failed; the underlying error, when there is one (e.g. the
    /// [`std::io::Error`] of a bind), is the [`source()`](std::error::Error::source).
    #[error("the sandbox could not start: {message}")]
    #[non_exhaustive]
    Start {
        /// What failed, e.g. `could not bind 127.0.0.1:8787`.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// The sandbox answered with an error body.
    #[error("HTTP {status}: {} ({})", body.error, body.code.as_ref().map_or("", |c| c.as_str()))]
    Api {
        /// HTTP status.
        status: u16,
        /// The error body.
        body: ApiErrorBody,
    },
    /// The HTTP exchange with the sandbox failed, or its answer was not the documented JSON.
    ///
    /// The HTTP library's (or the JSON parser's) error is the
    /// [`source()`](std::error::Error::source), as an opaque `dyn Error`: the HTTP library
    /// is not part of this crate's API.
    #[error("transport: {message}")]
    #[non_exhaustive]
    Transport {
        /// Which step failed, e.g. `sending the request`.
        message: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// Nothing arrived in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// A delivered body did not verify or parse.
    ///
    /// The verifier's error, when there is one, is the [`source()`](std::error::Error::source)
    /// (a [`uip_webhook_verify::VerifyError`]).
    #[error("delivered event did not verify: {message}")]
    #[non_exhaustive]
    Verify {
        /// What failed, e.g. `signature check`.
        message: String,
        /// The verifier's error, when there is one.
        #[source]
        source: Option<uip_webhook_verify::VerifyError>,
    },
    /// A wait ([`Sandbox::wait_delivered`], [`Sandbox::wait_until_status`]) ran out of time.
    #[error("timed out after {waited:?} waiting for {waiting_for}")]
    WaitTimeout {
        /// What was awaited and what was seen last, e.g. `sess_… to be completed (it is in_progress)`.
        waiting_for: String,
        /// How long it waited.
        waited: Duration,
    },
    /// [`Sandbox::wait_until_status`]: the session ended with another status, so the awaited
    /// one can never come.
    #[error("session {session_id} ended {status} while waiting for {awaited}")]
    SessionEnded {
        /// The session.
        session_id: String,
        /// The status it ended with.
        status: uip_types::SessionStatus,
        /// The status that was awaited.
        awaited: uip_types::SessionStatus,
    },
    /// [`Sandbox::wait_delivered`]: the sandbox gave the delivery up (status `failed`).
    #[error("delivery {delivery_id} failed: every attempt within the retry horizon was refused")]
    DeliveryFailed {
        /// The delivery id.
        delivery_id: String,
    },
}

/// An error kept as the source of a [`SandboxError`], without naming its type.
type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl SandboxError {
    /// A [`SandboxError::Start`] saying what failed, with the error underneath when there is one.
    pub(crate) fn start(message: impl Into<String>, source: Option<BoxError>) -> SandboxError {
        SandboxError::Start { message: message.into(), source }
    }

    /// A [`SandboxError::Transport`] saying which step failed, keeping the error underneath.
    pub(crate) fn transport(message: &str, source: impl Into<BoxError>) -> SandboxError {
        SandboxError::Transport { message: message.to_owned(), source: source.into() }
    }

    /// A [`SandboxError::Verify`] saying what failed, with the verifier's error when there is one.
    pub(crate) fn verify(message: &str, source: Option<uip_webhook_verify::VerifyError>) -> SandboxError {
        SandboxError::Verify { message: message.to_owned(), source }
    }

    /// A 400 `request/invalid-field` answer naming `param`, as the control API gives it.
    pub(crate) fn invalid_field(param: &str, message: &str) -> SandboxError {
        SandboxError::Api {
            status: 400,
            body: ApiErrorBody::new(uip_types::ErrorCode::InvalidField, message).with_param(param),
        }
    }
}

/// Configures and starts a [`Sandbox`].
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// let sandbox = uip_sandbox::Sandbox::builder()
///     .step_window(Duration::from_secs(120))
///     .retry_base(Duration::from_millis(50))
///     .start()
///     .await
///     .unwrap();
/// assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
/// # });
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SandboxBuilder {
    settings: Settings,
    wait_timeout: Duration,
}

/// How long [`Sandbox::wait_delivered`] and [`Sandbox::wait_until_status`] wait by default.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(30);

impl Default for SandboxBuilder {
    fn default() -> Self {
        let settings = Settings { listen: SocketAddr::from(([127, 0, 0, 1], 0)), ..Settings::default() };
        SandboxBuilder { settings, wait_timeout: DEFAULT_WAIT }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty => $field:ident) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.settings.$field = value;
            self
        }
    };
}

impl SandboxBuilder {
    setter! {
        /// The address to listen on (default `127.0.0.1:0`, a random port).
        listen: SocketAddr => listen
    }
    setter! {
        /// A step's window once it starts (default 600 s).
        step_window: Duration => step_window
    }
    setter! {
        /// How often expired sessions are swept (default 1 s; zero disables the sweep).
        expiry_sweep: Duration => expiry_sweep
    }
    setter! {
        /// One delivery attempt's timeout (default 10 s).
        delivery_timeout: Duration => delivery_timeout
    }
    setter! {
        /// The first retry delay (default 1 s; doubles each time).
        retry_base: Duration => retry_base
    }
    setter! {
        /// The longest retry delay (default 1 h).
        retry_max: Duration => retry_max
    }
    setter! {
        /// How long a delivery is retried before it is marked failed (default 72 h).
        retry_horizon: Duration => retry_horizon
    }
    setter! {
        /// Most delivery attempts in flight at once (default 64).
        delivery_concurrency: usize => delivery_concurrency
    }
    setter! {
        /// How long one request may take, body included, before it is answered 408
        /// `request/timeout` and its connection closed (default 60 s).
        request_timeout: Duration => request_timeout
    }
    setter! {
        /// How long a request body may go without a byte before the request is answered 408
        /// `request/timeout` and its connection closed (default
        /// [`BODY_IDLE_TIMEOUT`](crate::BODY_IDLE_TIMEOUT), 10 s).
        body_idle_timeout: Duration => body_idle_timeout
    }
    setter! {
        /// Most requests with a body and no valid API key (the inbox, the hosted page, business
        /// creation) handled at once (default
        /// [`MAX_UNAUTHENTICATED_BODIES`](crate::MAX_UNAUTHENTICATED_BODIES), 1024); over it,
        /// such a request is answered 503 `internal/unavailable` at once and its connection closed.
        max_unauthenticated_bodies: usize => max_unauthenticated_bodies
    }

    /// The public URL session URLs are built on (default `http://` + the bound address).
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.settings.public_url = Some(url.into());
        self
    }

    /// Keep state in this SQLite file (default: in memory). On a restart what is stored wins:
    /// the default business keeps the webhook URL, secret, trust, name and balance it has in the
    /// file, except for what is set explicitly on this builder (docs/DECISIONS.md §11). A file
    /// that is neither empty nor a sandbox database is refused ([`SandboxError::Start`]) and left
    /// untouched.
    pub fn database(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.db = Some(path.into());
        self
    }

    /// The default business's API key (default `uip_test_sandbox`).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.settings.api_key = key.into();
        self
    }

    /// The default business's webhook secret (default `uip_whsec_sandbox`). With a
    /// [`database`](Self::database) that holds the default business already, its stored secret
    /// is kept unless this is called.
    pub fn webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.settings.webhook_secret = Some(secret.into());
        self
    }

    /// The default business's webhook URL (default: the built-in inbox). With a
    /// [`database`](Self::database) that holds the default business already, its stored URL is
    /// kept unless this is called.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.settings.webhook_url = Some(url.into());
        self
    }

    /// The trust of the default business (default demo). With a [`database`](Self::database)
    /// that holds the default business already, its stored trust is kept unless this is called.
    pub fn trust(mut self, trust: Trust) -> Self {
        self.settings.trust = Some(trust);
        self
    }

    /// How long [`Sandbox::wait_delivered`] and [`Sandbox::wait_until_status`] wait before they
    /// give up with [`SandboxError::WaitTimeout`] (default 30 s).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// let sandbox =
    ///     uip_sandbox::Sandbox::builder().wait_timeout(Duration::from_millis(50)).start().await.unwrap();
    /// let err = sandbox.wait_delivered("sess_none:session.completed").await.unwrap_err();
    /// assert!(matches!(err, uip_sandbox::SandboxError::WaitTimeout { .. }));
    /// # });
    /// ```
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Binds, seeds the default business, and starts serving.
    pub async fn start(self) -> Result<Sandbox, SandboxError> {
        let mut sandbox = Sandbox::launch(self.settings, &SPARES).await?;
        sandbox.wait_timeout = self.wait_timeout;
        Ok(sandbox)
    }
}

/// A running sandbox. Dropping it shuts it down.
///
/// Many sandboxes can run side by side in one process: each has its own port and state.
///
/// Dropping an in-memory sandbox on a random port also makes a fresh one ready, bound and
/// built but not serving, so that the next `start()` with the same settings returns at once:
/// like wiremock's pooled `MockServer::start()`, except that no port or state is ever reused.
/// At most four are kept; each holds a listening socket nobody has been told of until then.
pub struct Sandbox {
    pub(crate) shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    pub(crate) credentials: BusinessCredentials,
    /// How long the typed waits wait.
    pub(crate) wait_timeout: Duration,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Per session, the deliveries `next_event` returned already.
    cursors: Mutex<HashMap<String, HashSet<u64>>>,
    /// The simulated users' HTTP client, built with the first one (a client costs more than the
    /// rest of `start`).
    http: std::sync::OnceLock<reqwest::Client>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url)
            .field("settings", &self.shared.settings)
            .finish()
    }
}

impl Sandbox {
    /// Starts a sandbox with every default on a random loopback port.
    ///
    /// # Panics
    /// If it cannot bind a loopback port (use [`Sandbox::builder`] to handle the error).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let sandbox = uip_sandbox::Sandbox::start().await;
    /// assert_eq!(sandbox.api_key().expose(), "uip_test_sandbox");
    /// # });
    /// ```
    pub async fn start() -> Sandbox {
        match Sandbox::builder().start().await {
            Ok(s) => s,
            Err(e) => {
                let mut text = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    text.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                panic!("{text}")
            }
        }
    }

    /// A builder for every setting.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Starts a sandbox: a spare from `spares` when one has these settings, else a new one.
    pub(crate) async fn launch(settings: Settings, spares: &Spares) -> Result<Sandbox, SandboxError> {
        let (listener, addr, app) = match spares.take(&settings) {
            Some(spare) => {
                let listener = TcpListener::from_std(spare.listener).map_err(|e| {
                    SandboxError::start(format!("could not listen on {}", spare.addr), Some(e.into()))
                })?;
                (listener, spare.addr, spare.app)
            }
            None => {
                let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
                    SandboxError::start(format!("could not bind {}", settings.listen), Some(e.into()))
                })?;
                let addr = listener
                    .local_addr()
                    .map_err(|e| SandboxError::start("could not read the bound address", Some(e.into())))?;
                let app = App::build(settings, addr).map_err(|message| SandboxError::start(message, None))?;
                (listener, addr, app)
            }
        };
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "LISTENING ON A NON-LOOPBACK ADDRESS: anyone who can reach it can use this sandbox");
        }
        let (shutdown, rx) = watch::channel(false);
        let tasks = app.start(listener, &rx);
        let base_url = app.shared.public_url.clone();
        Ok(Sandbox {
            shared: app.shared,
            addr,
            base_url,
            credentials: app.credentials,
            shutdown,
            tasks,
            cursors: Mutex::new(HashMap::new()),
            http: std::sync::OnceLock::new(),
            wait_timeout: DEFAULT_WAIT,
        })
    }

    /// What the running sandbox shares (for the crate's own tests).
    #[cfg(all(test, feature = "sqlite"))]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (the public URL when one was set).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The business API's base URL: `{base_url}/v1` — what `uip-client` takes.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.base_url)
    }

    /// The address the sandbox listens on.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The default business's API key.
    pub fn api_key(&self) -> &ApiKey {
        &self.credentials.api_key
    }

    /// The default business's current webhook secret.
    pub fn webhook_secret(&self) -> WebhookSecret {
        uc::webhook_secret(&self.shared, &self.credentials.business_id)
            .unwrap_or_else(|| self.credentials.webhook_secret.clone())
    }

    /// The default business's credentials as seeded at start.
    pub fn credentials(&self) -> &BusinessCredentials {
        &self.credentials
    }

    /// Creates another isolated business (like `POST /_sandbox/businesses`).
    pub fn create_business(&self, req: NewBusiness) -> Result<BusinessCredentials, SandboxError> {
        block_on(uc::create_business(&self.shared, req)).map_err(api_error)
    }

    /// Moves the default business's clock forward.
    pub fn advance_clock(&self, by: Duration) -> Result<(), SandboxError> {
        self.advance_clock_of(self.api_key(), by)
    }

    /// Moves the clock of the business with this API key forward.
    pub fn advance_clock_of(&self, api_key: &ApiKey, by: Duration) -> Result<(), SandboxError> {
        let biz = uc::authenticate(&self.shared, Some(api_key.expose())).map_err(api_error)?;
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        block_on(uc::advance_clock(&self.shared, &biz, secs)).map_err(api_error)?;
        Ok(())
    }

    /// Resolves every session whose time is up now, instead of waiting for the sweep.
    pub fn sweep_expired(&self) {
        block_on(uc::sweep(&self.shared));
    }

    /// A simulated user for a session (its id — `&SessionId` or `&str` — or its URL).
    pub fn user(&self, session: impl AsRef<str>) -> SimulatedUser {
        let session = session.as_ref();
        let id = session.rsplit('/').next().unwrap_or(session).to_owned();
        SimulatedUser {
            page_url: format!("{}/s/{id}", self.base_url),
            http: self.http.get_or_init(reqwest::Client::new).clone(),
            binding: Mutex::new(None),
        }
    }

    /// Every delivery of a session, oldest first (any business).
    pub fn deliveries(&self, session_id: impl AsRef<str>) -> Vec<DeliveryLogEntry> {
        uc::session_deliveries(&self.shared, session_id.as_ref())
    }

    /// Waits for the next event of this session that was delivered (answered 2xx), in order,
    /// each event once; the body is checked against the signature it was sent with.
    pub async fn next_event(
        &self,
        session_id: impl AsRef<str>,
        timeout: Duration,
    ) -> Result<WebhookEvent, SandboxError> {
        let session_id = session_id.as_ref();
        let mut rx = self.shared.delivered.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            let returned = self.cursors.lock().get(session_id).cloned().unwrap_or_default();
            if let Some(next) = uc::next_delivered(&self.shared, session_id, &returned) {
                self.cursors.lock().entry(session_id.to_owned()).or_default().insert(next.seq);
                let (ts, sig) =
                    next.signed.ok_or_else(|| SandboxError::verify("no signature recorded", None))?;
                let verifier = uip_webhook_verify::Verifier::new(next.secret)
                    .map_err(|e| SandboxError::verify("the delivery's secret is unusable", Some(e)))?
                    .with_now(ts);
                let ts = ts.to_string();
                let headers = [
                    (uip_types::HEADER_EVENT, next.event.as_str()),
                    (uip_types::HEADER_TIMESTAMP, ts.as_str()),
                    (uip_types::HEADER_SIGNATURE, sig.as_str()),
                    (uip_types::HEADER_DELIVERY_ID, next.delivery_id.as_str()),
                ];
                return verifier
                    .verify(&headers[..], next.body.as_bytes())
                    .map(|d| d.event)
                    .map_err(|e| SandboxError::verify("signature or payload check failed", Some(e)));
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                return Err(SandboxError::Timeout(timeout));
            }
        }
    }

    /// Shuts down: stops accepting, lets in-flight requests finish, flushes the database.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for t in &self.tasks {
            t.abort();
        }
        // The next start() with the same settings takes a fresh sandbox made ready now.
        SPARES.prepare(&self.shared.settings);
    }
}

pub(crate) fn api_error(e: crate::error::ApiError) -> SandboxError {
    SandboxError::Api { status: e.status(), body: e.body() }
}

/// The hosted page's transport, driven as a user's browser would (binding included).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # use uip_sandbox::Sandbox;
/// # let sandbox = Sandbox::start().await;
/// # let http = reqwest::Client::new();
/// # let created: serde_json::Value = http.post(format!("{}/sessions", sandbox.api_url()))
/// #     .bearer_auth(sandbox.api_key().expose())
/// #     .json(&serde_json::json!({"steps": [{"primitive": "identify"}]}))
/// #     .send().await.unwrap().json().await.unwrap();
/// # let id = created["id"].as_str().unwrap();
/// let user = sandbox.user(id);
/// user.open().await.unwrap();
/// let request = user.request().await.unwrap();
/// assert_eq!(request.primitive, uip_types::Primitive::Identify);
/// let result = user.share_as("minor").await.unwrap();
/// assert_eq!(result.state.status, uip_types::SessionStatus::Completed);
/// # });
/// ```
pub struct SimulatedUser {
    page_url: String,
    http: reqwest::Client,
    binding: Mutex<Option<String>>,
}

impl std::fmt::Debug for SimulatedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedUser").field("page_url", &"[redacted]").finish()
    }
}

impl SimulatedUser {
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, SandboxError> {
        let req = match self.binding.lock().clone() {
            Some(t) => req.header("x-uip-binding", t),
            None => req,
        };
        let resp = req.send().await.map_err(|e| SandboxError::transport("sending the request", e))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| SandboxError::transport("reading the answer", e))?;
        if !(200..300).contains(&status) {
            let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                ApiErrorBody::new(uip_types::ErrorCode::Other(String::new()), String::from_utf8_lossy(&bytes))
            });
            return Err(SandboxError::Api { status, body });
        }
        serde_json::from_slice(&bytes).map_err(|e| SandboxError::transport("decoding the answer", e))
    }

    /// Opens the page (the first open binds the session to this user).
    pub async fn open(&self) -> Result<(), SandboxError> {
        let r: uip_types::sandbox::OpenResponse =
            self.call(self.http.post(format!("{}/open", self.page_url))).await?;
        *self.binding.lock() = Some(r.binding.expose().to_owned());
        Ok(())
    }

    /// The page state.
    pub async fn state(&self) -> Result<PageState, SandboxError> {
        self.call(self.http.get(format!("{}/state", self.page_url))).await
    }

    /// The wallet request of the active step.
    pub async fn request(&self) -> Result<WalletRequest, SandboxError> {
        self.call(self.http.get(format!("{}/request", self.page_url))).await
    }

    /// Shares the default persona (`jane-doe`) from Apple Wallet.
    pub async fn share(&self) -> Result<ResponseResult, SandboxError> {
        self.share_as("jane-doe").await
    }

    /// Shares a built-in persona from Apple Wallet.
    pub async fn share_as(&self, persona: &str) -> Result<ResponseResult, SandboxError> {
        self.answer(WalletId::AppleWallet, WalletAction::Share, Some(persona)).await
    }

    /// Declines in the wallet (the step stays active).
    pub async fn decline(&self) -> Result<ResponseResult, SandboxError> {
        self.answer(WalletId::AppleWallet, WalletAction::Decline, None).await
    }

    /// Answers the active step's request with this wallet, action and persona.
    pub async fn answer(
        &self,
        wallet: WalletId,
        action: WalletAction,
        persona: Option<&str>,
    ) -> Result<ResponseResult, SandboxError> {
        let request = self.request().await?;
        let mut body = WalletResponse::new(request.nonce, wallet, action);
        body.persona = persona.map(str::to_owned);
        self.respond(&body).await
    }

    /// Sends a raw wallet response.
    pub async fn respond(&self, body: &WalletResponse) -> Result<ResponseResult, SandboxError> {
        self.call(self.http.post(format!("{}/response", self.page_url)).json(body)).await
    }
}

/// The request journal and the sessions list (docs/DECISIONS.md §11) of the default business:
/// what the code under test sent, and the sessions it made.
impl Sandbox {
    /// Every business-API request the default business made that the journal still keeps (the
    /// last [`JOURNAL_CAPACITY`](crate::journal::JOURNAL_CAPACITY)), oldest first — what
    /// `GET /_sandbox/requests` shows.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let sandbox = uip_sandbox::Sandbox::start().await;
    /// let http = reqwest::Client::new();
    /// http.post(format!("{}/sessions", sandbox.api_url()))
    ///     .bearer_auth(sandbox.api_key().expose())
    ///     .header("Idempotency-Key", "order_4815")
    ///     .json(&serde_json::json!({"steps": [{"primitive": "age_verify", "params": {"min_age": 21}}],
    ///                               "client_reference_id": "order_4815"}))
    ///     .send().await.unwrap();
    ///
    /// let requests = sandbox.requests();
    /// assert_eq!(requests.len(), 1);
    /// let create = &requests[0];
    /// assert_eq!((create.method.as_str(), create.path.as_str(), create.status), ("POST", "/v1/sessions", 200));
    /// assert_eq!(create.idempotency_key.as_deref(), Some("order_4815"));
    /// assert_eq!(create.json().unwrap()["client_reference_id"], "order_4815");
    /// assert!(create.session_id.is_some()); // the session the create made
    /// # });
    /// ```
    pub fn requests(&self) -> Vec<crate::journal::JournaledRequest> {
        self.requests_matching(crate::journal::RequestFilter::new()).unwrap_or_default()
    }

    /// The default business's journaled requests that match `filter`, oldest first. A `since`
    /// that is not a journal id (`req_…`) or a limit outside 1..=1000 is an
    /// [`SandboxError::Api`] 400 `request/invalid-field`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use uip_sandbox::journal::RequestFilter;
    /// let sandbox = uip_sandbox::Sandbox::start().await;
    /// let http = reqwest::Client::new();
    /// for _ in 0..3 {
    ///     http.get(format!("{}/catalog", sandbox.api_url()))
    ///         .bearer_auth(sandbox.api_key().expose())
    ///         .send().await.unwrap();
    /// }
    /// let first = sandbox.requests_matching(RequestFilter::new().limit(1)).unwrap();
    /// let rest = sandbox.requests_matching(RequestFilter::new().since(&first[0].id)).unwrap();
    /// assert_eq!(rest.len(), 2);
    /// assert!(sandbox.requests_matching(RequestFilter::new().limit(0)).is_err());
    /// # });
    /// ```
    pub fn requests_matching(
        &self,
        filter: crate::journal::RequestFilter,
    ) -> Result<Vec<crate::journal::JournaledRequest>, SandboxError> {
        uc::requests(&self.shared, &self.credentials.business_id, &filter).map_err(api_error)
    }

    /// Forgets the default business's request journal (like `DELETE /_sandbox/requests`).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let sandbox = uip_sandbox::Sandbox::start().await;
    /// reqwest::Client::new()
    ///     .get(format!("{}/catalog", sandbox.api_url()))
    ///     .bearer_auth(sandbox.api_key().expose())
    ///     .send().await.unwrap();
    /// assert_eq!(sandbox.requests().len(), 1);
    /// sandbox.clear_requests();
    /// assert!(sandbox.requests().is_empty());
    /// # });
    /// ```
    pub fn clear_requests(&self) {
        uc::clear_requests(&self.shared, &self.credentials.business_id);
    }

    /// Every session of the default business, newest first, as `GET /v1/sessions/{id}` shows
    /// it plus the create's steps as given — what `GET /_sandbox/sessions` shows (without its
    /// default limit). Elapsed sessions resolve first.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use uip_types::{SessionStatus, Step};
    /// let sandbox = uip_sandbox::Sandbox::start().await;
    /// reqwest::Client::new()
    ///     .post(format!("{}/sessions", sandbox.api_url()))
    ///     .bearer_auth(sandbox.api_key().expose())
    ///     .json(&serde_json::json!({"steps": [{"primitive": "age_verify", "params": {"min_age": 21}, "gate": true}],
    ///                               "metadata": {"cart": "c_991"}}))
    ///     .send().await.unwrap();
    ///
    /// let sessions = sandbox.sessions().unwrap();
    /// assert_eq!(sessions.len(), 1);
    /// assert_eq!(sessions[0].view.status, SessionStatus::Created);
    /// assert_eq!(sessions[0].steps, vec![Step::age_verify(21).gate()]);
    /// assert_eq!(sessions[0].view.metadata.as_ref().unwrap()["cart"], "c_991");
    /// # });
    /// ```
    pub fn sessions(&self) -> Result<Vec<crate::journal::SessionSummary>, SandboxError> {
        self.sessions_matching(crate::journal::SessionFilter::new())
    }

    /// The default business's sessions that match `filter`, newest first. An unknown status or
    /// a limit outside 1..=500 is an [`SandboxError::Api`] 400 `request/invalid-field`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use uip_sandbox::journal::SessionFilter;
    /// let sandbox = uip_sandbox::Sandbox::start().await;
    /// let http = reqwest::Client::new();
    /// for order in ["order_1", "order_2"] {
    ///     http.post(format!("{}/sessions", sandbox.api_url()))
    ///         .bearer_auth(sandbox.api_key().expose())
    ///         .json(&serde_json::json!({"steps": [{"primitive": "age_verify"}], "client_reference_id": order}))
    ///         .send().await.unwrap();
    /// }
    /// let found = sandbox.sessions_matching(SessionFilter::new().client_reference_id("order_2")).unwrap();
    /// assert_eq!(found.len(), 1);
    /// assert_eq!(found[0].view.client_reference_id.as_deref(), Some("order_2"));
    /// # });
    /// ```
    pub fn sessions_matching(
        &self,
        filter: crate::journal::SessionFilter,
    ) -> Result<Vec<crate::journal::SessionSummary>, SandboxError> {
        block_on(uc::sessions(&self.shared, &self.credentials.business_id, &filter)).map_err(api_error)
    }
}
