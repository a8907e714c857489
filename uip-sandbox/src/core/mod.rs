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
mod page;
mod sessions;

use tokio::sync::{watch, Notify};

pub(crate) use businesses::{
    advance_clock, authenticate, business_view, create_business, patch_business, seed_business, set_faults,
    take_fault, webhook_secret, SeedBusiness,
};
pub(crate) use deliveries::{
    deliveries, next_delivered, record_attempts, redeliver, session_deliveries, take_due, AttemptOutcome,
    DueAttempt, WRONG_SECRET,
};
pub(crate) use expiry::{resolve_expiry, sweep};
pub(crate) use inbox::{inbox, receive_delivery};
pub(crate) use page::{document, open, open_response, personas, respond, state, wallet_request, Responder};
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
    pub delivery_wake: Notify,
    /// Bumped after every successful delivery.
    pub delivered: watch::Sender<u64>,
    pub delivery_http: reqwest::Client,
}

impl Shared {
    /// Opens the store the settings name (a SQLite file, or memory) and wraps it.
    pub fn open(
        settings: Settings,
        public_url: String,
        origin: String,
        delivery_http: reqwest::Client,
    ) -> Result<Shared, String> {
        let store = match &settings.db {
            Some(path) => Store::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
            None => Store::memory(),
        };
        Ok(Shared::new(store, settings, public_url, origin, delivery_http))
    }

    fn new(
        store: Store,
        settings: Settings,
        public_url: String,
        origin: String,
        delivery_http: reqwest::Client,
    ) -> Shared {
        Shared {
            store,
            settings,
            public_url,
            origin,
            delivery_wake: Notify::new(),
            delivered: watch::channel(0).0,
            delivery_http,
        }
    }

    pub fn wake_delivery(&self) {
        self.delivery_wake.notify_one();
    }

    /// Forgets everything (the fuzz harness starts each input from nothing).
    #[cfg(any(fuzzing, feature = "fuzzing"))]
    pub fn clear(&self) {
        let _ = self.store.write(|st| *st = crate::store::State::default());
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
mod restart_props;
