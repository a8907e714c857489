//! Integration tests of uip-webhook-verify.
//!
//! One integration-test binary for the crate: each module below was a test binary of its own.

mod error_chains;
mod frameworks;
mod properties;
mod spec_events;
mod vectors;
