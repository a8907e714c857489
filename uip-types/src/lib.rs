//! The protocol types of the UIP identity-verification API, shared by every crate of the kit:
//! requests, responses, statuses, webhook events, errors and audits, plus the validation rules
//! the contract sets. Serde only, no I/O.
//!
//! The sandbox serializes exactly these structs and the client deserializes them, so the two
//! cannot drift apart.
//!
//! ```
//! use uip_types::{Block, CreateSessionRequest, Step, WebhookEvent};
//!
//! // Build a request the way the API documents it, validated by the same rules the server uses.
//! let mut req = CreateSessionRequest::new(vec![
//!     Step::identify([Block::FirstName, Block::LastName]).gate(),
//!     Step::light_sign("I accept the terms."),
//! ]);
//! req.client_reference_id = Some("order_4815".into());
//! req.validate()?;
//! assert_eq!(req.total_price_cents(), 3);
//!
//! // Parse a webhook body into a typed event.
//! let event: WebhookEvent = serde_json::from_str(
//!     r#"{"event":"session.completed","data":{"session_id":"sess_x","status":"completed"}}"#,
//! )?;
//! assert!(event.is_terminal());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! None is on by default; without features the crate depends on serde, serde_json, chrono, url,
//! sha2, hex and serde_jcs only.
//!
//! * `openapi`: `utoipa::ToSchema` for every wire type and [`webhook_event_schemas`], so that an
//!   OpenAPI document built from these types cannot drift from what serde reads and writes.
//!   Pulls in `utoipa` (its macros, `chrono` support and its own `preserve_order`, which keeps
//!   schema properties in declaration order; it does not change `serde_json`).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

mod macros;

mod audit;
mod catalog;
mod error;
mod event;
pub mod hashing;
mod ids;
#[cfg(feature = "openapi")]
mod openapi;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub use openapi::webhook_event_schemas;
mod primitive;
mod request;
mod response;
pub mod sandbox;
mod status;
pub mod time;
pub mod validate;

pub use audit::{
    verify_chain, AuditRecord, ChainError, ChainRecord, Proof, ProofDocument, ReceivedAuditRecord,
};
pub use catalog::{CatalogResponse, PrimitiveInfo, WalletInfo, WalletsResponse};
pub use error::{ApiErrorBody, ErrorCode};
pub use event::{
    EventContext, SessionEnded, StepCompleted, StepResult, WebhookEvent, HEADER_DELIVERY_ID, HEADER_EVENT,
    HEADER_SIGNATURE, HEADER_TIMESTAMP, SESSION_COMPLETED, SESSION_EXPIRED, SESSION_FAILED, SESSION_STOPPED,
    STEP_COMPLETED,
};
pub use ids::{delivery_id, ApiKey, BindingToken, SessionId, SessionUrl, WebhookSecret};
pub use primitive::{Block, Primitive, WalletId, UNAVAILABLE};
pub use request::{
    AgeVerifyParams, CreateSessionRequest, IdentifyParams, LightSignParams, SignParams, Step, StepParams,
};
pub use response::{CreatedSession, DecisionResponse, SessionView, VerifiedStep};
pub use status::SessionStatus;
pub use time::Timestamp;
pub use validate::ValidationError;
