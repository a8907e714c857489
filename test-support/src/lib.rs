//! Test support of the UIP integrator kit, shared by the workspace's tests (`uip-sandbox`'s
//! integration tests and the end-to-end tests in `tests/`).
//!
//! * [`receiver`]: one verifying webhook receiver (axum on hyper, on `127.0.0.1:0`) with
//!   scripted answers — answer with a status, fail the first *n* attempts of every delivery,
//!   delay, hang, drop the connection, go down — that records every arrival, verifies it with
//!   `uip-webhook-verify` and lets a test wait on a condition instead of sleeping.
//!
//! It depends only on `uip-types` and `uip-webhook-verify`, so every crate of the workspace can
//! use it as a dev-dependency without a cycle. It is not published.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod receiver;

pub use receiver::{Arrival, Received, Receiver, ReceiverBuilder, Rejected, Reply};
