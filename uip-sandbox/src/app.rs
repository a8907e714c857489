//! The composition root: the one place that builds a sandbox from its settings — the store,
//! the shared state, the default business, the router — and starts its tasks (the server, the
//! webhook dispatcher, the expiry sweep). The binary and [`crate::Sandbox`] start it through
//! `Sandbox::builder()`; the fuzz harness builds it without a socket.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uip_types::sandbox::BusinessCredentials;

use crate::config::Settings;
use crate::core::{self as uc, OwnPages, SeedBusiness, Shared};
use crate::{delivery, http, server};

/// The id the default business gets when it is first created.
const DEFAULT_BUSINESS_ID: &str = "biz_default";
/// The default business's name and starting balance.
const DEFAULT_BUSINESS_NAME: &str = "Sandbox business";
const DEFAULT_BALANCE_CENTS: u64 = 100_000;

/// A built sandbox, not yet serving.
pub(crate) struct App {
    pub shared: Arc<Shared>,
    /// Its HTTP service.
    pub http: http::Service,
    /// The default business's credentials as seeded.
    pub credentials: BusinessCredentials,
}

impl App {
    /// Builds everything from `settings`. `bound` is the address the server listens on: the
    /// public URL and the default webhook URL (the built-in inbox) default to `http://{bound}`.
    pub fn build(settings: Settings, bound: SocketAddr) -> Result<App, String> {
        let bound_url = format!("http://{bound}");
        let public_url =
            settings.public_url.as_deref().unwrap_or(&bound_url).trim_end_matches('/').to_owned();
        let parsed = url::Url::parse(&public_url).map_err(|e| format!("--public-url {public_url}: {e}"))?;
        let origin = parsed.origin().ascii_serialization();
        let mut shared = Shared::open(settings, public_url, origin)?;
        shared.own_pages = OwnPages::new(&parsed, bound);
        let settings = &shared.settings;
        if let Some(u) = &settings.webhook_url {
            uc::check_webhook_url(&shared, u).map_err(|e| format!("--webhook-url {u}: {}", e.message))?;
        }
        // Only what was set explicitly is applied to a stored default business (docs/DECISIONS.md §11).
        let seed = SeedBusiness {
            id: DEFAULT_BUSINESS_ID,
            api_key: &settings.api_key,
            name: DEFAULT_BUSINESS_NAME,
            balance_cents: DEFAULT_BALANCE_CENTS,
            webhook_secret: settings.webhook_secret.as_deref(),
            webhook_url: settings.webhook_url.clone(),
            trust: settings.trust,
            inbox_url: format!("{bound_url}/_sandbox/inbox"),
        };
        let credentials = uc::seed_business(&shared, seed).map_err(|e| e.to_string())?;
        let shared = Arc::new(shared);
        let http = http::Service::new(shared.clone());
        Ok(App { shared, http, credentials })
    }

    /// Starts serving on `listener`, the dispatcher and the expiry sweep; they stop when
    /// `shutdown` flips.
    pub fn start(&self, listener: TcpListener, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        let http = self.http.clone();
        let respond = move |req| {
            let http = http.clone();
            async move { http.call(req).await }
        };
        tasks.push(tokio::spawn(server::serve(listener, respond, shutdown.clone())));
        tasks.push(tokio::spawn(delivery::run(self.shared.clone(), shutdown.clone())));
        let sweep_every = self.shared.settings.expiry_sweep;
        if !sweep_every.is_zero() {
            let shared = self.shared.clone();
            let mut rx = shutdown.clone();
            // A stored sandbox sweeps at once (sessions may have expired while it was stopped);
            // a new in-memory one has no session yet, so its first sweep is one period away.
            let first = match &shared.settings.db {
                Some(_) => tokio::time::Instant::now(),
                None => tokio::time::Instant::now() + sweep_every,
            };
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval_at(first, sweep_every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => uc::sweep(&shared).await,
                        _ = rx.changed() => return,
                    }
                }
            }));
        }
        self.shared.wake_delivery();
        tasks
    }
}
