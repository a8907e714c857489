//! Fuzzes the hosted page's `POST /s/{id}/response` through the sandbox's real router: the
//! wallet-response parser and the page use case `respond` (src/core/page.rs) (binding, state, nonce, wallet, credential
//! checks, verification, billing, audit).
//!
//! Input format: one byte choosing the session (its low bits the steps — identify, age_verify,
//! light_sign, a gated identify, two steps, sign with a document — and its high bit production
//! trust), then the JSON body, in which every `NONCE` is replaced by the active step's nonce.
//! The checks live in `uip_sandbox::fuzzing::Harness::page_response`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use uip_sandbox::fuzzing::Harness;

fuzz_target!(|data: &[u8]| {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    let harness = HARNESS.get_or_init(Harness::new);
    let Some((&shape, body)) = data.split_first() else { return };
    harness.page_response(shape, body);
});
