//! Logs name route templates, never session ids, keys or URLs.
//!
//! The test runs alone in a process of its own ([`alone_in_own_process`]): `tracing` caches
//! per-callsite interest globally, so a test running concurrently without a subscriber could
//! hide these events.

use crate::support as common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w";
const ID_SECRET_PART: &str = "LmZ9pX4rT1vB8nC3dK6w";

fn created_body() -> serde_json::Value {
    serde_json::json!({
        "id": ID, "status": "created", "url": format!("https://uip.digital/s/{ID}"), "expires": "2026-06-07T12:34:56Z"
    })
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn logs_name_route_templates_never_ids_keys_or_urls() {
    if !alone_in_own_process("logging::logs_name_route_templates_never_ids_keys_or_urls") {
        return;
    }
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(created_body()))
        .mount(&server)
        .await;
    let view = {
        let mut v = fixture_json("session_view.json");
        v["id"] = ID.into();
        v
    };
    Mock::given(method("GET"))
        .and(path(format!("/v1/sessions/{ID}").as_str()))
        .respond_with(error(503, "internal/unavailable", "busy"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/sessions/{ID}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(view))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/sessions/{ID}/stop").as_str()))
        .respond_with(error(409, "session/not-awaiting-decision", "not at a gate"))
        .mount(&server)
        .await;

    let c = client(&server);
    let created = c.session().age_verify(18).send().await.unwrap();
    c.get_session(&created.id).await.unwrap();
    c.stop_session(&created.id).await.unwrap_err();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains(r#"uip.request{method=GET route="/sessions/{id}"}"#), "{text}");
    assert!(text.contains(r#"uip.request{method=POST route="/sessions/{id}/stop"}"#), "{text}");
    assert!(text.contains(r#"uip.request{method=POST route="/sessions"}"#), "{text}");
    assert!(text.contains("uip.attempt{attempt=2 status=200}"), "the retry is not logged: {text}");
    assert!(text.contains("uip.attempt{attempt=1 status=503}"), "{text}");
    assert!(text.contains("retrying UIP request"), "{text}");
    for secret in [ID_SECRET_PART, KEY, "uip.digital/s/", "/v1/sessions/"] {
        assert!(!text.contains(secret), "the logs contain {secret:?}:\n{text}");
    }
}
