//! Integration tests of uip-client.
//!
//! One integration-test binary for the crate: each module below was a test binary of its own.

mod support;

mod errors;
mod hygiene;
mod logging;
mod multipart;
mod reads;
mod redaction;
mod retries;
mod sessions;
