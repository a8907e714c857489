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
//!   param), transport errors, undecodable answers and invalid input.
//!
//! # TLS
//!
//! `rustls` by default (feature `rustls-tls`); enable `native-tls` (with
//! `default-features = false`) for the platform's TLS. Or pass your own `reqwest::Client` to
//! [`ClientBuilder::http_client`].
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
pub use error::{Error, TransportErrorKind};
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

/// The HTTP client crate, to build a `reqwest::Client` for [`ClientBuilder::http_client`].
pub use reqwest;

/// The README's examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
