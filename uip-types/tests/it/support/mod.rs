//! Helpers shared by the integration tests: fixture loading and round-trip checks.
#![allow(dead_code)]

use std::fmt::Debug;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The path of a fixture under `tests/resources/`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/resources").join(name)
}

/// The raw text of a fixture.
pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap_or_else(|e| panic!("read fixture {name}: {e}"))
}

/// A fixture as a JSON value.
pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap_or_else(|e| panic!("fixture {name} is not JSON: {e}"))
}

/// Parses a fixture into `T`, serializes it, parses the result again, and checks both parses are
/// equal. With `canonical`, the serialized JSON must also equal the fixture as a JSON value.
/// Returns the parsed value.
pub fn round_trip<T>(name: &str, canonical: bool) -> T
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let text = fixture_text(name);
    let first: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: parse failed: {e}"));
    let out = serde_json::to_value(&first).unwrap_or_else(|e| panic!("{name}: serialize failed: {e}"));
    let second: T =
        serde_json::from_value(out.clone()).unwrap_or_else(|e| panic!("{name}: reparse failed: {e}"));
    assert_eq!(first, second, "{name}: parse → serialize → parse changed the value");
    // Also through the text form, as a client or server would see it.
    let third: T = serde_json::from_str(&serde_json::to_string(&first).unwrap()).unwrap();
    assert_eq!(first, third, "{name}: text round trip changed the value");
    if canonical {
        assert_eq!(out, fixture(name), "{name}: serialized form differs from the fixture");
    }
    first
}
