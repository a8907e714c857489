//! Retries: backoff, Retry-After, idempotent creates, the attempt cap, and continue/stop.

use crate::support as common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uip_client::{
    Block, CreateSessionRequest, ErrorCode, RetryPolicy, SessionStatus, Step, TransportErrorKind,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn request() -> CreateSessionRequest {
    CreateSessionRequest::new(vec![Step::identify([Block::FirstName]).gate(), Step::age_verify(21)])
}

fn keys(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            r.headers.get("idempotency-key").expect("every create has a key").to_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_create_answered_500_500_200_sends_one_key_three_times() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(error(500, "internal/server-error", "boom"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(json(200, "created_session.json"))
        .expect(1)
        .mount(&server)
        .await;

    let created = client(&server).create_session(&request()).await.unwrap();
    assert_eq!(created.id, "sess_abc123");

    let requests = received(&server).await;
    assert_eq!(requests.len(), 3);
    let keys = keys(&requests);
    assert!(keys.iter().all(|k| k == &keys[0]), "the key changed between attempts: {keys:?}");
    // The body is identical too, so the service can replay.
    assert!(requests.iter().all(|r| r.body == requests[0].body));
}

#[tokio::test]
async fn a_callers_key_is_kept_across_retries_of_a_multipart_create() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(error(503, "internal/unavailable", "busy"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(json(200, "created_session.json"))
        .mount(&server)
        .await;
    client(&server)
        .session()
        .sign(["a.pdf"])
        .document(uip_client::Document::from_bytes("a.pdf", "%PDF"))
        .idempotency_key("order-1")
        .send()
        .await
        .unwrap();
    let requests = received(&server).await;
    assert_eq!(keys(&requests), vec!["order-1", "order-1"]);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(error(429, "request/rate-limited", "slow down").insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(json(200, "session_view.json"))
        .expect(1)
        .mount(&server)
        .await;
    // Backoff alone would wait about a millisecond.
    let started = Instant::now();
    client(&server).get_session("sess_abc123").await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "retried after {elapsed:?}, before Retry-After: 1");
}

#[tokio::test]
async fn retry_after_beyond_the_cap_returns_the_error_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/catalog"))
        .respond_with(error(503, "internal/unavailable", "maintenance").insert_header("Retry-After", "7200"))
        .expect(1) // no second attempt
        .mount(&server)
        .await;
    // The cap is an hour, the server asks for two: a client that waited (the cap or the ask)
    // would take an hour or more; at once means well within the test's patience.
    let policy = RetryPolicy::new(3, Duration::from_millis(1), Duration::from_secs(3600));
    let err = tokio::time::timeout(Duration::from_secs(30), client_with(&server, policy).catalog())
        .await
        .expect("the error comes back without waiting")
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7200)));
    assert_eq!(err.code(), Some(&ErrorCode::Unavailable));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    let c = client_with(&server, fast_retries(5));
    let cases = [
        (400, "request/invalid-params"),
        (401, "auth/invalid-api-key"),
        (402, "payment/insufficient-funds"),
        (409, "request/idempotency-conflict"),
        (422, "request/webhook-missing"),
    ];
    for (status, code) in cases {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path("/v1/sessions"))
            .respond_with(error(status, code, "no"))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/sessions/sess_abc123"))
            .respond_with(error(status, code, "no"))
            .expect(1)
            .mount(&server)
            .await;
        let err = c.create_session(&request()).await.unwrap_err();
        assert_eq!((err.status(), err.code().map(|c| c.as_str())), (Some(status), Some(code)));
        let err = c.get_session("sess_abc123").await.unwrap_err();
        assert_eq!(err.status(), Some(status));
        server.verify().await;
    }
}

#[tokio::test]
async fn the_attempt_cap_holds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(error(500, "internal/server-error", "boom"))
        .expect(4)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/wallets"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .expect(4)
        .mount(&server)
        .await;
    let c = client_with(&server, fast_retries(4));
    let err = c.create_session(&request()).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ServerError));
    let err = c.wallets().await.unwrap_err();
    assert_eq!(err.status(), Some(502));
}

#[tokio::test]
async fn the_default_policy_makes_three_attempts_and_none_makes_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/catalog"))
        .respond_with(error(503, "internal/unavailable", "busy"))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/wallets"))
        .respond_with(error(503, "internal/unavailable", "busy"))
        .expect(1)
        .mount(&server)
        .await;
    let base = format!("{}/v1", server.uri());
    let c = uip_client::Client::builder(KEY).base_url(&base).build().unwrap();
    assert_eq!(c.retry_policy(), &RetryPolicy::default());
    c.catalog().await.unwrap_err();
    let c =
        uip_client::Client::builder(KEY).base_url(&base).retry_policy(RetryPolicy::none()).build().unwrap();
    c.wallets().await.unwrap_err();
}

#[tokio::test]
async fn timeouts_are_retried_for_reads_but_not_for_decisions() {
    let server = MockServer::start().await;
    let slow = || json(200, "session_view.json").set_delay(Duration::from_secs(3));
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(slow())
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions/sess_abc123/stop"))
        .respond_with(json(200, "stop.json").set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&server)
        .await;
    let c = uip_client::Client::builder(KEY)
        .base_url(format!("{}/v1", server.uri()))
        .timeout(Duration::from_millis(200))
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let err = c.get_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.transport_kind(), Some(TransportErrorKind::Timeout), "{err:?}");
    let err = c.stop_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.transport_kind(), Some(TransportErrorKind::Timeout), "{err:?}");
}

/// A server that closes the first `drop_first` connections without answering, then answers
/// every request with `body`. Returns its base URL and the connection counter.
async fn flaky_server(drop_first: usize, body: String) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                    }
                }
                if n < drop_first {
                    return; // closes the connection with no answer
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (format!("http://{addr}/v1"), count)
}

#[tokio::test]
async fn a_connection_closed_without_an_answer_is_retried_for_reads() {
    let (base, connections) = flaky_server(1, fixture("wallets.json")).await;
    let c = uip_client::Client::builder(KEY).base_url(base).retry_policy(fast_retries(3)).build().unwrap();
    let wallets = c.wallets().await.unwrap();
    assert_eq!(wallets.wallets.len(), 2);
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_connection_closed_without_an_answer_is_not_retried_for_decisions() {
    let (base, connections) = flaky_server(1, fixture("stop.json")).await;
    let c = uip_client::Client::builder(KEY).base_url(base).retry_policy(fast_retries(3)).build().unwrap();
    let err = c.stop_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.transport_kind(), Some(TransportErrorKind::ConnectionClosed), "{err:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

/// Mounts `GET /v1/sessions/sess_abc123` answering `first` once, then `then` forever.
async fn session_reads(server: &MockServer, first: serde_json::Value, then: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(then))
        .mount(server)
        .await;
}

fn view(status: &str, current_step: u32) -> serde_json::Value {
    let mut v = fixture_json("session_view.json");
    v["status"] = status.into();
    v["current_step"] = current_step.into();
    v["current_primitive"] = if current_step == 0 { "identify" } else { "sign" }.into();
    v
}

/// Mounts `POST …/{action}` answering `first` once, then 409 not-awaiting-decision.
async fn decision_then_conflict(server: &MockServer, action: &str, first: ResponseTemplate) {
    let route = format!("/v1/sessions/sess_abc123/{action}");
    Mock::given(method("POST"))
        .and(path(route.as_str()))
        .respond_with(first)
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(route.as_str()))
        .respond_with(json(409, "error_not_awaiting_decision.json"))
        .mount(server)
        .await;
}

fn count(requests: &[wiremock::Request], m: &str, p: &str) -> usize {
    requests.iter().filter(|r| r.method.as_str() == m && r.url.path() == p).count()
}

#[tokio::test]
async fn continue_whose_first_attempt_took_effect_succeeds_on_the_retry() {
    let server = MockServer::start().await;
    session_reads(&server, view("awaiting_decision", 0), view("in_progress", 1)).await;
    decision_then_conflict(&server, "continue", error(503, "internal/unavailable", "busy")).await;

    let d = client(&server).continue_session("sess_abc123").await.unwrap();
    assert_eq!(d.id, "sess_abc123");
    assert_eq!(d.status, SessionStatus::InProgress);
    assert_eq!((d.current_step, d.step_count), (1, 2));
    assert_eq!(d.current_primitive, Some(uip_client::Primitive::Sign));

    let requests = received(&server).await;
    assert_eq!(count(&requests, "POST", "/v1/sessions/sess_abc123/continue"), 2);
    assert_eq!(count(&requests, "GET", "/v1/sessions/sess_abc123"), 2);
}

#[tokio::test]
async fn continue_of_a_last_gate_counts_completed_as_success() {
    let server = MockServer::start().await;
    session_reads(&server, view("awaiting_decision", 1), view("completed", 1)).await;
    decision_then_conflict(&server, "continue", error(500, "internal/server-error", "boom")).await;
    let d = client(&server).continue_session("sess_abc123").await.unwrap();
    assert_eq!(d.status, SessionStatus::Completed);
}

#[tokio::test]
async fn a_409_on_retry_is_an_error_when_the_session_did_not_move_past_the_gate() {
    let server = MockServer::start().await;
    // Someone stopped it meanwhile: the continue did not happen.
    session_reads(&server, view("awaiting_decision", 0), view("stopped", 0)).await;
    decision_then_conflict(&server, "continue", error(503, "internal/unavailable", "busy")).await;
    let err = client(&server).continue_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotAwaitingDecision));
    assert_eq!(err.status(), Some(409));
}

#[tokio::test]
async fn a_409_on_retry_is_an_error_when_the_session_was_not_at_a_gate_to_begin_with() {
    let server = MockServer::start().await;
    session_reads(&server, view("in_progress", 0), view("in_progress", 1)).await;
    decision_then_conflict(&server, "continue", error(503, "internal/unavailable", "busy")).await;
    let err = client(&server).continue_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotAwaitingDecision));
}

#[tokio::test]
async fn a_409_on_the_first_attempt_is_returned_without_checking() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(view("stopped", 0)))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions/sess_abc123/stop"))
        .respond_with(json(409, "error_not_awaiting_decision.json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).stop_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotAwaitingDecision));
}

#[tokio::test]
async fn stop_whose_first_attempt_took_effect_succeeds_on_the_retry() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(view("stopped", 0)))
        .expect(1)
        .mount(&server)
        .await;
    decision_then_conflict(&server, "stop", ResponseTemplate::new(502).set_body_string("<html>502</html>"))
        .await;
    let d = client(&server).stop_session("sess_abc123").await.unwrap();
    assert_eq!(d.status, SessionStatus::Stopped);
    assert_eq!((d.current_step, d.step_count), (0, 2));
    assert_eq!(count(&received(&server).await, "POST", "/v1/sessions/sess_abc123/stop"), 2);
}

#[tokio::test]
async fn decisions_are_not_retried_on_429() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions/sess_abc123/stop"))
        .respond_with(error(429, "request/rate-limited", "slow down").insert_header("Retry-After", "1"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).stop_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.status(), Some(429));
}

#[tokio::test]
async fn decisions_give_up_after_the_attempt_cap() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(view("awaiting_decision", 0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions/sess_abc123/continue"))
        .respond_with(error(503, "internal/unavailable", "busy"))
        .expect(3)
        .mount(&server)
        .await;
    let err = client(&server).continue_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.status(), Some(503));
}
