//! Every setting of the sandbox, with the defaults of docs/DECISIONS.md §8.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use uip_types::sandbox::Trust;

/// The address the `uip-sandbox` binary listens on by default (a [`crate::Sandbox`] started from a
/// test listens on a random loopback port instead).
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8787);
/// The default API key of the seeded business.
pub const DEFAULT_API_KEY: &str = "uip_test_sandbox";
/// The default webhook secret of the seeded business.
pub const DEFAULT_WEBHOOK_SECRET: &str = "uip_whsec_sandbox";

/// How long a request body may go without a byte before its request is answered 408
/// `request/timeout` and its connection closed (docs/DECISIONS.md §11).
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most requests with a body and no valid API key (the inbox, the hosted page, business creation)
/// handled at once: well under the connection cap, so slow bodies there cannot take every
/// connection. Over it, such a request is answered 503 at once and its connection closed.
pub const MAX_UNAUTHENTICATED_BODIES: usize = 1024;

/// Settings of one sandbox (CLI flags and builder methods map onto these fields).
/// [`Settings::default`] is the one place defaults are written: the builder starts from it, and
/// the binary's flags, when left out, keep the builder's value. The default business's settings
/// are `None` unless set explicitly: on a stored database, what is stored wins over a default
/// (docs/DECISIONS.md §11).
#[derive(Clone, PartialEq)]
pub(crate) struct Settings {
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub db: Option<PathBuf>,
    pub api_key: String,
    /// `None`: the stored secret, or [`DEFAULT_WEBHOOK_SECRET`] for a new business.
    pub webhook_secret: Option<String>,
    /// `None`: the stored URL, or the built-in inbox for a new business.
    pub webhook_url: Option<String>,
    /// `None`: the stored trust, or demo for a new business.
    pub trust: Option<Trust>,
    pub step_window: Duration,
    /// Zero disables the sweep.
    pub expiry_sweep: Duration,
    pub delivery_timeout: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub retry_horizon: Duration,
    /// Most deliveries attempted at once.
    pub delivery_concurrency: usize,
    /// How long one request may take, body included (then 408 `request/timeout`).
    pub request_timeout: Duration,
    /// How long a body may stall (then 408 `request/timeout`).
    pub body_idle_timeout: Duration,
    /// Most unauthenticated requests with a body in flight.
    pub max_unauthenticated_bodies: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: DEFAULT_LISTEN,
            public_url: None,
            db: None,
            api_key: DEFAULT_API_KEY.to_owned(),
            webhook_secret: None,
            webhook_url: None,
            trust: None,
            step_window: Duration::from_secs(600),
            expiry_sweep: Duration::from_millis(1000),
            delivery_timeout: Duration::from_millis(10_000),
            retry_base: Duration::from_millis(1000),
            retry_max: Duration::from_millis(3_600_000),
            retry_horizon: Duration::from_secs(259_200),
            delivery_concurrency: 64,
            request_timeout: Duration::from_secs(60),
            body_idle_timeout: BODY_IDLE_TIMEOUT,
            max_unauthenticated_bodies: MAX_UNAUTHENTICATED_BODIES,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("db", &self.db)
            .field("api_key", &"[redacted]")
            .field("webhook_secret", &self.webhook_secret.as_ref().map(|_| "[redacted]"))
            .field("webhook_url", &self.webhook_url)
            .field("trust", &self.trust)
            .field("step_window", &self.step_window)
            .field("expiry_sweep", &self.expiry_sweep)
            .field("delivery_timeout", &self.delivery_timeout)
            .field("retry_base", &self.retry_base)
            .field("retry_max", &self.retry_max)
            .field("retry_horizon", &self.retry_horizon)
            .field("delivery_concurrency", &self.delivery_concurrency)
            .field("request_timeout", &self.request_timeout)
            .field("body_idle_timeout", &self.body_idle_timeout)
            .field("max_unauthenticated_bodies", &self.max_unauthenticated_bodies)
            .finish()
    }
}
