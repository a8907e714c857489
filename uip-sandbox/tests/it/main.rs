//! Integration tests of uip-sandbox.
//!
//! One integration-test binary for the crate: each module below was a test binary of its own.

mod support;

mod api;
mod audits;
mod control;
mod control_api;
mod dashboard;
mod delivery;
mod expiry;
mod healthcheck_cli;
mod idempotency;
mod journal;
mod lifecycle;
mod multipart;
mod openapi;
mod page_reason;
mod page_transport;
mod persistence;
mod receiver_tools;
mod robustness;
mod security;
mod side_by_side;
mod soak;
mod state_props;
mod test_receiver;
mod webhooks;
