//! Verify, sign and parse UIP webhook deliveries.
//!
//! A UIP delivery is a `POST` whose raw body is signed with
//! `hex(HMAC-SHA256(key = the whole uip_whsec_… secret, message = X-UIP-Timestamp + "." + body))`.
//! A [`Verifier`] checks the headers' format, the timestamp tolerance (300 s by default, both
//! ways) and the signature against one or more secrets in constant time, then parses the body
//! into a typed [`uip_types::WebhookEvent`]. [`sign`] and [`SignedHeaders`] are the sender's
//! side, and [`Deduper`] turns at-least-once deliveries into effectively-once handling.
//!
//! ```
//! use uip_types::{WebhookEvent, WebhookSecret};
//! use uip_webhook_verify::{Deduper, SignedHeaders, Verifier};
//!
//! let secret = WebhookSecret::new("uip_whsec_sandbox");
//! let body = br#"{"event":"session.completed","data":{"session_id":"sess_a","status":"completed"}}"#;
//! // What the sender attaches to the POST (here: signed at 1780000000):
//! let headers = SignedHeaders::for_body(&secret, 1_780_000_000, body)?;
//!
//! // The receiver: headers can be an http::HeaderMap, an http::Request, or (name, value) pairs.
//! let verifier = Verifier::new(secret)?.with_now(1_780_000_060);
//! let seen = Deduper::default();
//! let delivery = verifier.verify(&headers.pairs(), body)?;
//! if seen.insert(&delivery.delivery_id) {
//!     match delivery.event {
//!         WebhookEvent::SessionCompleted(done) => assert_eq!(done.context.session_id, "sess_a"),
//!         other => println!("not handled: {}", other.name()),
//!     }
//! }
//!
//! // Anything else is refused with a reason naming the header at fault.
//! let err = verifier.verify(&headers, br#"{"event":"session.completed"}"#).unwrap_err();
//! assert_eq!(err.kind(), "signature_mismatch");
//! assert_eq!(err.http_status(), 401);
//! # Ok::<(), uip_webhook_verify::VerifyError>(())
//! ```
//!
//! # Features
//!
//! - `http` (default): [`HeaderSource`] for `http::HeaderMap` and `http::Request` (http 1.x),
//!   [`Verifier::verify_request`] and [`SignedHeaders::to_header_map`]. Without it, pass headers
//!   as `(name, value)` pairs or implement [`HeaderSource`] for your framework's type.
//! - `axum` (axum 0.8, implies `http`): [`VerifiedDelivery`] is an extractor that reads the body
//!   and verifies it with the [`Verifier`] of the router's state (through `FromRef`); a request
//!   that does not verify is answered by `DeliveryRejection`, and [`VerifyError`] implements
//!   `IntoResponse`: its [`http_status`](VerifyError::http_status) (401 or 400) with a JSON
//!   body `{"error": "...", "code": "<kind>"}`. Depends on `axum-core` only.
//! - `actix` (actix-web 4): [`HeaderSource`] for actix's `HeaderMap`, so a handler calls
//!   `verifier.verify(req.headers(), &body)`. The orphan rule keeps you from writing this
//!   impl yourself. Depends on `actix-http` only, without its default features.
//!
//! No feature adds tokio or any runtime to your build.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "axum")]
mod axum_ext;
mod dedupe;
mod error;
mod headers;
mod sign;
mod verify;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use axum_ext::DeliveryRejection;
pub use dedupe::Deduper;
pub use error::VerifyError;
pub use headers::HeaderSource;
pub use sign::{sign, SignedHeaders};
pub use verify::{VerifiedDelivery, Verifier, DEFAULT_TOLERANCE};

pub use uip_types::{
    WebhookEvent, WebhookSecret, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};

/// The crate README, compiled as a doctest so its examples stay correct.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
