//! End-to-end tests: uip-client against an in-process uip-sandbox, webhooks verified by uip-webhook-verify.
//!
//! One integration-test binary for the crate: each module below was a test binary of its own.

mod completed;
mod expiry;
mod failures;
mod gates;
mod idempotency;
mod rotation;
