//! Typed async client for the UIP identity-verification API: create sessions (including
//! `sign` sessions with uploaded documents), read them, continue or stop them at a gate, and
//! read audit records, the catalog and the wallet matrix.
//!
//! ```no_run
//! use uip_client::{Block, Client};
//!
//! # async fn run() -> Result<(), uip_client::Error> {
//! // A sandbox on this machine; `Client::new(key)` talks to https://api.uip.digital/v1.
//! let client = Client::builder("uip_test_sandbox").base_url("http://127.0.0.1:8787/v1").build()?;
//!
//! // Ask for a name, pause to look at it, then check the age.
//! let session = client
//!     .session()
//!     .identify([Block::FirstName, Block::LastName]).gate()
//!     .age_verify(21)
//!     .client_reference_id("order_4815")
//!     .send()
//!     .await?;
//! println!("send the user to {}", session.url.expose()); // a capability URL: only to that user
//!
//! // Later, when the `step.completed` webhook for stage 0 arrived and the name looks right:
//! let decision = client.continue_session(&session.id).await?;
//! println!("{} at step {}", decision.status, decision.current_step);
//! # Ok(())
//! # }
//! ```
//!
//! # What the client does for you
//!
//! * **Validation before sending.** Every create is checked with the contract's own rules
//!   ([`CreateSessionRequest::validate`], [`uip_types::validate::bind_documents`], the document
//!   limits) and fails with [`Error::InvalidInput`] without a request leaving.
//! * **Safe retries.** Connect failures, timeouts, `429` and `5xx` are retried with exponential
//!   backoff and jitter, honouring `Retry-After` ([`RetryPolicy`]). Every create carries an
//!   `Idempotency-Key` that stays the same across its retries, so a retried create never makes
//!   two sessions. `continue` / `stop` are retried only when that is safe (see
//!   [`Client::continue_session`]).
//! * **Secrets stay secret.** The API key, session URLs and session ids are redacted in `Debug`
//!   output; logs (via `tracing`, one span per call with method, route template, attempt and
//!   status) name routes such as `/sessions/{id}`, never the id itself.
//! * **One error type**, [`Error`], separating API errors (status, [`ErrorCode`], message,
//!   param), transport errors ([`TransportError`], with a [`kind`](TransportError::kind) and
//!   [`outcome_unknown`](Error::outcome_unknown)), undecodable answers and invalid input. Its
//!   text never repeats its [`source()`](std::error::Error::source).
//! * **Bounded calls.** Each attempt has a [`timeout`](ClientBuilder::timeout) (60 s by
//!   default); a [`deadline`](ClientBuilder::deadline) bounds a whole call, retries and backoff
//!   included (per call: [`Client::with_deadline`]).
//!
//! # Cancellation
//!
//! Every call is a future that does nothing until polled and can be dropped at any point
//! (`tokio::time::timeout`, `select!`, a client disconnecting from your handler). Dropping it
//! abandons the call, but **a request already sent may still take effect**:
//!
//! * a dropped create may have created a session. Give creates your own Idempotency-Key
//!   ([`SessionBuilder::idempotency_key`], [`CreateOptions::idempotency_key`]), e.g. derived
//!   from your order id and stored with it, and repeat the create with the same key: the
//!   service answers with the session the first one made, or makes it now;
//! * a dropped `continue` / `stop` may have been applied: read the session
//!   ([`Client::get_session`]) before deciding again, as for an error whose
//!   [`outcome_unknown`](Error::outcome_unknown) is `true`;
//! * reads are always safe to repeat.
//!
//! Prefer [`ClientBuilder::deadline`] to dropping: the call then ends with an error that says
//! whether its outcome is unknown.
//!
//! # Features
//!
//! * `rustls-tls` (default): TLS through rustls.
//! * `native-tls`: the platform's TLS (use with `default-features = false`).
//! * `reqwest-client`: `ClientBuilder::http_client` to pass your own `reqwest::Client`
//!   (proxies, custom roots, pool settings), and the re-export `uip_client::reqwest`. This
//!   makes reqwest 0.12 a **public dependency** of your build: a reqwest major upgrade of this
//!   crate is then a breaking change for you. Without it, reqwest is an implementation detail
//!   and never appears in this crate's API.
//!
//! The crate needs a tokio runtime with timers (`tokio = { features = ["rt", "time"] }` or
//! `#[tokio::main]`); it turns on only tokio's `time` and `fs` features itself.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audits;
mod catalog;
mod client;
mod documents;
mod error;
mod request;
mod sessions;

pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT};
pub use documents::Document;
pub use error::{ConfigError, Error, TransportError, TransportErrorKind};
pub use request::{RetryPolicy, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER};
pub use sessions::{CreateOptions, SessionBuilder};

pub use uip_types::{
    ApiErrorBody, ApiKey, AuditRecord, Block, CatalogResponse, CreateSessionRequest, CreatedSession,
    DecisionResponse, ErrorCode, Primitive, PrimitiveInfo, Proof, ProofDocument, ReceivedAuditRecord,
    SessionId, SessionStatus, SessionUrl, SessionView, Step, StepParams, Timestamp, ValidationError,
    VerifiedStep, WalletId, WalletInfo, WalletsResponse,
};

/// The shared wire types, for everything not re-exported here (webhook events, validation rules).
pub use uip_types;

/// The HTTP client crate, to build a `reqwest::Client` for [`ClientBuilder::http_client`]
/// (feature `reqwest-client`, which makes it a public dependency).
#[cfg(feature = "reqwest-client")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest-client")))]
pub use reqwest;

/// The README's examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
