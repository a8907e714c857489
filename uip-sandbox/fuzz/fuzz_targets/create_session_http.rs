//! Fuzzes `POST /v1/sessions` through the sandbox's real router (in-process, no socket): the
//! JSON and the multipart/form-data parsers, validation, document binding and the store.
//!
//! Input format (so corpus files stay readable): the Content-Type header value, a newline, then
//! the raw body. The checks live in `uip_sandbox::fuzzing::Harness::create_session`: never a
//! 5xx, well-formed error bodies whose code matches the status, created sessions that read back,
//! and for JSON the same verdict (code and param) as `uip_types::validate::parse_create_session`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use uip_sandbox::fuzzing::Harness;

fuzz_target!(|data: &[u8]| {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    let harness = HARNESS.get_or_init(Harness::new);
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let content_type = String::from_utf8_lossy(content_type);
    harness.create_session(content_type.trim(), body);
});
