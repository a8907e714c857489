//! Integration tests of uip-types.
//!
//! One integration-test binary for the crate: each module below was a test binary of its own.

mod support;

mod audit_chain;
mod bind_documents;
mod error_chains;
mod events;
mod fixtures;
mod hashing;
mod proptest_request;
mod redaction;
mod spec_examples;
mod tolerance;
mod validation;

/// The OpenAPI schema tests (`src/openapi.rs`) need the `openapi` feature, which `cargo test
/// --workspace` turns on (uip-sandbox uses it). Under `cargo test -p uip-types` alone they are
/// not compiled; this marker shows them as skipped instead of letting them vanish.
#[cfg(not(feature = "openapi"))]
#[test]
#[ignore = "skipped: the OpenAPI schema tests need --features openapi (on under cargo test --workspace)"]
fn openapi_schema_tests_need_the_openapi_feature() {
    panic!("run `cargo test -p uip-types --features openapi` for the OpenAPI schema tests");
}
