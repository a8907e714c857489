//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use uip_client::{Client, RetryPolicy};
use wiremock::MockServer;

/// A realistic sandbox key.
pub const KEY: &str = "uip_test_4fG7hJ2kL9mN3pQ8rS1tV6wX0yZ5aB2c";

/// The text of a fixture under `tests/resources/`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/resources/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture as JSON.
pub fn fixture_json(name: &str) -> serde_json::Value {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A retry policy with tiny delays, so retry tests are fast.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::new(max_attempts, Duration::from_millis(1), Duration::from_secs(5))
}

/// A client for the mock server's `/v1`, with fast retries (3 attempts).
pub fn client(server: &MockServer) -> Client {
    client_with(server, fast_retries(3))
}

/// A client for the mock server's `/v1` with this retry policy.
pub fn client_with(server: &MockServer, retry: RetryPolicy) -> Client {
    Client::builder(KEY).base_url(format!("{}/v1", server.uri())).retry_policy(retry).build().unwrap()
}

/// A JSON response with this status and fixture body.
pub fn json(status: u16, fixture_name: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(status).set_body_raw(fixture(fixture_name), "application/json")
}

/// A JSON error body response.
pub fn error(status: u16, code: &str, message: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(status)
        .set_body_json(serde_json::json!({ "error": message, "code": code }))
}

/// The requests the server received.
pub async fn received(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.expect("request recording is on")
}

/// Runs the test `name` (its full path, e.g. `logging::some_test`) alone in a fresh process of
/// this test binary, and returns `true` there; in the calling process it waits for that run,
/// asserts that exactly this one test ran and passed, and returns `false`.
///
/// For tests that install a `tracing` subscriber: `tracing` caches per-callsite interest for the
/// whole process, so tests running concurrently in one binary (without a subscriber) can make a
/// callsite look uninteresting and hide the events the test looks for.
pub fn alone_in_own_process(name: &str) -> bool {
    const CHILD: &str = "UIP_TEST_ALONE";
    if std::env::var_os(CHILD).is_some_and(|v| v == name) {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(exe)
        .args([name, "--exact", "--test-threads=1", "--include-ignored"])
        .env(CHILD, name)
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed in its own process:\n{stdout}\n{stderr}");
    assert!(stdout.contains("test result: ok. 1 passed"), "{name} did not run in its own process:\n{stdout}");
    false
}
