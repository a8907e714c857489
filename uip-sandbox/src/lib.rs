//! A faithful, stateful UIP sandbox — the full session lifecycle (gates, expiry, first-open
//! device binding, a simulated wallet, audits, signed webhook delivery with retries) — as a
//! binary (`cargo run -p uip-sandbox`) or inside a Rust test.
//!
//! ```
//! # tokio_test_block_on(async {
//! use uip_sandbox::Sandbox;
//!
//! // Starts on a random loopback port; dropped = shut down.
//! let sandbox = Sandbox::start().await;
//! let http = reqwest::Client::new();
//! let created: serde_json::Value = http
//!     .post(format!("{}/sessions", sandbox.api_url()))
//!     .bearer_auth(sandbox.api_key().expose())
//!     .json(&serde_json::json!({"steps": [{"primitive": "age_verify", "params": {"min_age": 21}}]}))
//!     .send().await.unwrap().json().await.unwrap();
//! let id = created["id"].as_str().unwrap();
//!
//! // Act as the user: open the hosted page and share the default persona's credential.
//! let user = sandbox.user(id);
//! user.open().await.unwrap();
//! user.share().await.unwrap();
//!
//! // Webhooks go to the built-in inbox; await them in order, typed.
//! let event = sandbox.next_event(id, std::time::Duration::from_secs(5)).await.unwrap();
//! assert_eq!(event.name(), "step.completed");
//! let event = sandbox.next_event(id, std::time::Duration::from_secs(5)).await.unwrap();
//! assert_eq!(event.name(), "session.completed");
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Runtime::new().unwrap().block_on(f)
//! # }
//! ```
//!
//! # Features
//!
//! * `cli` (default): the `uip-sandbox` binary and what only it needs — `clap` (with it the
//!   `*Args` types of [`receiver_tools`] and [`healthcheck`]), `tracing-subscriber`, and tokio's
//!   `signal` and `rt-multi-thread` features.
//! * `sqlite` (default): state in a SQLite file ([`SandboxBuilder::database`], `--db`), through
//!   `rusqlite` with a bundled SQLite compiled from C. Without it a sandbox given a database path
//!   does not start: [`SandboxBuilder::start`] returns [`SandboxError::Start`] naming the feature.
//!
//! A test needs neither: `uip-sandbox = { version = "0.1", default-features = false }` builds the
//! library alone, with only tokio's `rt`, `net`, `time`, `sync`, `macros` and `io-util` (and no
//! `#[tokio::main]` runtime of its own). The sandbox turns on serde_json's `preserve_order` (its
//! answers keep the key order they are built in), which your test build then shares.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

mod app;
mod clock;
mod config;
mod control;
mod control_types;
mod core;
mod delivery;
mod engine;
mod error;
#[cfg(test)]
mod error_chains;
#[cfg(any(fuzzing, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod handle;
pub mod healthcheck;
mod http;
pub mod journal;
pub mod receiver_tools;
mod server;
mod spares;
mod store;
mod test_receiver;

pub use config::{
    BODY_IDLE_TIMEOUT, DEFAULT_API_KEY, DEFAULT_LISTEN, DEFAULT_WEBHOOK_SECRET, MAX_UNAUTHENTICATED_BODIES,
};
pub use control_types::{Fault, Faults, FaultsArmed, Simulate};
pub use handle::{Sandbox, SandboxBuilder, SandboxError, SimulatedUser};
pub use test_receiver::{Arrival, Received, Rejected, Reply, TestReceiver, TestReceiverBuilder};
pub use uip_types::sandbox::{
    BusinessCredentials, BusinessView, DeliveryAttempt, DeliveryFault, DeliveryLogEntry, DeliveryStatus,
    InboxEntry, NewBusiness, PersonaInfo, Trust, WalletAction,
};

pub(crate) use crate::core::Shared;
