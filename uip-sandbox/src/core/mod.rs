//! The use cases, split by area. Each takes the store's lock once, applies lazy expiry, calls
//! the engine, queues the events it produced, and commits — one state change, one write.
//!
//! This is the only code that holds the store: the HTTP surface, the dispatcher and the public
//! handle call these functions and never see `State`. Dependencies point one way:
//! `http` → `core` → `engine` / `store`.

mod businesses;
mod deliveries;
mod expiry;
mod inbox;
mod journal;
mod own_pages;
mod page;
mod session_list;
mod sessions;

use tokio::sync::{watch, Notify};

pub(crate) use businesses::{
    advance_clock, armed_faults, authenticate, business_view, check_webhook_url, create_business,
    patch_business, seed_business, set_faults, take_fault, webhook_secret, SeedBusiness,
};
pub(crate) use deliveries::{
    deliveries, delivery, next_delivered, record_attempts, redeliver, session_deliveries, take_due,
    AttemptOutcome, DueAttempt, WRONG_SECRET,
};
pub(crate) use expiry::{resolve_expiry, sweep};
pub(crate) use inbox::{inbox, receive_delivery};
pub(crate) use journal::{business_now, clear_requests, limit_error, record_request, requests, Journal};
pub(crate) use own_pages::OwnPages;
pub(crate) use page::{
    document, open, open_response, peek, personas, respond, state, wallet_request, Responder,
};
pub(crate) use session_list::sessions;
pub(crate) use sessions::{
    create_session, decide, get_audit, get_session, simulate, CreateInput, Decision, Upload,
};

use crate::config::Settings;
use crate::error::ApiError;
use crate::store::{Store, StoreError};

/// What every part of a running sandbox shares. The store is private to `core`.
pub(crate) struct Shared {
    store: Store,
    pub settings: Settings,
    /// `scheme://host:port[/path]` without a trailing slash: session URLs are `{public_url}/s/{id}`.
    pub public_url: String,
    /// `scheme://host:port` of the public URL (the wallet request's `origin`).
    origin: String,
    /// Where the hosted pages are served: webhook URLs must not point there.
    pub own_pages: OwnPages,
    pub delivery_wake: Notify,
    /// Bumped after every successful delivery.
    pub delivered: watch::Sender<u64>,
    /// The dispatcher's HTTP client, built at its first delivery (`delivery::client`): a client
    /// with TLS roots costs more than the rest of `start` together, and many sandboxes never
    /// deliver.
    pub delivery_http: std::sync::OnceLock<reqwest::Client>,
    /// The request journal (in memory only).
    journal: Journal,
}

impl Shared {
    /// Opens the store the settings name (a SQLite file, or memory) and wraps it.
    pub fn open(settings: Settings, public_url: String, origin: String) -> Result<Shared, String> {
        let store = match &settings.db {
            Some(path) => Store::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
            None => Store::memory(),
        };
        Ok(Shared::new(store, settings, public_url, origin))
    }

    fn new(store: Store, settings: Settings, public_url: String, origin: String) -> Shared {
        Shared {
            store,
            settings,
            public_url,
            origin,
            own_pages: OwnPages::default(),
            delivery_wake: Notify::new(),
            delivered: watch::channel(0).0,
            delivery_http: std::sync::OnceLock::new(),
            journal: Journal::default(),
        }
    }

    /// `scheme://host:port` of the public URL: the only `Origin` hosted-page POSTs may carry.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Wakes after every stored change (a session, a business, a delivery).
    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.store.subscribe()
    }

    pub fn wake_delivery(&self) {
        self.delivery_wake.notify_one();
    }

    /// Forgets everything (the fuzz harness starts each input from nothing).
    #[cfg(any(fuzzing, feature = "fuzzing"))]
    pub fn clear(&self) {
        let _ = self.store.write_blocking(|st| *st = crate::store::State::default());
        self.journal.clear();
    }
}

/// A failed write fails its request with 500 (logged; the message names no detail).
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store write failed");
        ApiError::internal("the sandbox could not store the change")
    }
}

/// Keeps the type checker honest about `Shared` being shareable across tasks.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<std::sync::Arc<Shared>>();
};

#[cfg(all(test, feature = "sqlite"))]
mod disk_full;
#[cfg(all(test, feature = "sqlite"))]
mod held_commit;
#[cfg(all(test, feature = "sqlite"))]
mod restart_props;
