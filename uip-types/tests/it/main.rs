//! Integration tests of uip-types.
//!
//! One integration-test binary for the crate: each module below was a test binary of its own.

mod support;

mod audit_chain;
mod bind_documents;
mod events;
mod fixtures;
mod hashing;
mod proptest_request;
mod redaction;
mod tolerance;
mod validation;
