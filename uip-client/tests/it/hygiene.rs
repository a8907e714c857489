//! Error chains (display-or-source), transport errors without reqwest in the API, unknown
//! outcomes of continue/stop, the whole-call deadline, cancellation with an Idempotency-Key,
//! and a caller's own HTTP client (feature `reqwest-client`).

use crate::support as common;

use std::error::Error as StdError;
use std::time::Duration;

use common::*;
use uip_client::{Client, CreateOptions, CreateSessionRequest, Error, RetryPolicy, Step, TransportErrorKind};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use uip_dev_error_chain::{assert_no_text_twice as assert_each_cause_once, chain};

fn refused_base() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}/v1")
}

#[tokio::test]
async fn every_error_prints_its_causes_once() {
    // Decode: a 2xx whose body is not the documented JSON; the serde error is the source.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/catalog"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{\"primitives\": 7}", "application/json"))
        .mount(&server)
        .await;
    let err = client(&server).catalog().await.unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
    assert_eq!(chain(&err).len(), 2, "{:?}", chain(&err));
    assert_each_cause_once(&err);

    // Io: the I/O error is the source, the text names the file.
    let err = uip_client::Document::from_path("/nonexistent/lease.pdf").await.unwrap_err();
    assert_eq!(err.to_string(), "could not read document /nonexistent/lease.pdf");
    assert_eq!(
        err.source().unwrap().downcast_ref::<std::io::Error>().unwrap().kind(),
        std::io::ErrorKind::NotFound
    );
    assert_each_cause_once(&err);

    // Config: the URL parser's error is kept as the source, not flattened into a string.
    let err = Client::builder(KEY).base_url("http://[::1").build().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid client configuration: the base URL `http://[::1` is not a valid URL"
    );
    assert!(err.source().unwrap().downcast_ref::<url::ParseError>().is_some(), "{err:?}");
    assert_each_cause_once(&err);
    // A rule broken without an underlying error has no source.
    let err = Client::builder(KEY).base_url("ftp://example.com").build().unwrap_err();
    assert!(err.source().is_none(), "{err:?}");
    assert_each_cause_once(&err);

    // Transport: our text, then the HTTP library's errors as `dyn Error`, each once.
    let c = Client::builder(KEY).base_url(refused_base()).retry_policy(RetryPolicy::none()).build().unwrap();
    let err = c.catalog().await.unwrap_err();
    assert_eq!(err.to_string(), "could not connect to the UIP API");
    assert!(chain(&err).len() >= 2, "the HTTP library's error is the source: {:?}", chain(&err));
    assert_each_cause_once(&err);

    // InvalidInput: the validation error is the error itself, not a cause.
    let err: Error = CreateSessionRequest::new(vec![Step::age_verify(0)]).validate().unwrap_err().into();
    assert!(err.to_string().starts_with("invalid input: steps[0].params.min_age: "), "{err}");
    assert!(err.source().is_none());
    assert_each_cause_once(&err);

    // Api: no source.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/wallets"))
        .respond_with(error(404, "resource/not-found", "nope"))
        .mount(&server)
        .await;
    let err = client(&server).wallets().await.unwrap_err();
    assert_eq!(err.to_string(), "UIP API error (HTTP 404, resource/not-found): nope");
    assert!(err.source().is_none());
    assert_each_cause_once(&err);
}

fn slow_client(server: &MockServer) -> Client {
    Client::builder(KEY)
        .base_url(format!("{}/v1", server.uri()))
        .timeout(Duration::from_millis(200))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_timed_out_stop_has_an_unknown_outcome_and_is_not_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions/sess_abc123/stop"))
        .respond_with(json(200, "stop.json").set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&server)
        .await;
    let err = slow_client(&server).stop_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.transport_kind(), Some(TransportErrorKind::Timeout), "{err:?}");
    assert!(err.outcome_unknown(), "{err:?}");
    assert!(!err.is_retryable(), "a blind retry could apply the decision twice");
    assert_eq!(
        err.to_string(),
        "the UIP API did not answer within the timeout (the request may have taken effect)"
    );
}

#[tokio::test]
async fn a_timed_out_read_or_create_has_a_known_outcome_and_is_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(json(200, "session_view.json").set_delay(Duration::from_secs(3)))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(json(200, "created_session.json").set_delay(Duration::from_secs(3)))
        .expect(3)
        .mount(&server)
        .await;
    let c = slow_client(&server);
    let err = c.get_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.transport_kind(), Some(TransportErrorKind::Timeout), "{err:?}");
    assert!(!err.outcome_unknown() && err.is_retryable(), "{err:?}");
    // A create carries an Idempotency-Key: repeating it with that key is safe.
    let err = c.session().age_verify(18).idempotency_key("order-7").send().await.unwrap_err();
    assert!(!err.outcome_unknown() && err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn a_stop_that_could_not_connect_was_not_sent() {
    let c = Client::builder(KEY).base_url(refused_base()).retry_policy(fast_retries(2)).build().unwrap();
    let err = c.stop_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.transport_kind(), Some(TransportErrorKind::Connect), "{err:?}");
    assert!(!err.outcome_unknown(), "nothing was sent: {err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn the_deadline_cuts_an_attempt_in_flight() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/catalog"))
        .respond_with(json(200, "catalog.json").set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions/sess_abc123/continue"))
        .respond_with(json(200, "continue.json").set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    // Each attempt may take 30 s, but the call as a whole only 300 ms.
    let c = Client::builder(KEY)
        .base_url(format!("{}/v1", server.uri()))
        .timeout(Duration::from_secs(30))
        .retry_policy(fast_retries(5))
        .build()
        .unwrap()
        .with_deadline(Duration::from_millis(300));
    assert_eq!(c.deadline(), Some(Duration::from_millis(300)));
    let err = c.catalog().await.unwrap_err();
    let Error::Transport(t) = &err else { panic!("{err:?}") };
    assert!(t.is_deadline(), "{err:?}");
    assert_eq!(t.kind(), TransportErrorKind::Timeout);
    assert!(!err.outcome_unknown() && err.is_retryable(), "{err:?}");
    assert_eq!(err.to_string(), "the call's deadline of 300ms passed before the UIP API answered");
    assert_eq!(received(&server).await.len(), 1, "no retry after the deadline");

    // A continue cut by the deadline may have been applied.
    let c = Client::builder(KEY)
        .base_url(format!("{}/v1", server.uri()))
        .retry_policy(RetryPolicy::none())
        .deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = c.continue_session("sess_abc123").await.unwrap_err();
    assert!(matches!(&err, Error::Transport(t) if t.is_deadline()), "{err:?}");
    assert!(err.outcome_unknown() && !err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn no_retry_starts_after_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/wallets"))
        .respond_with(error(503, "internal/unavailable", "busy"))
        .mount(&server)
        .await;
    // Backoff of at least 1 s between attempts, a deadline of 300 ms: the first answer is final.
    let c = Client::builder(KEY)
        .base_url(format!("{}/v1", server.uri()))
        .retry_policy(RetryPolicy::new(5, Duration::from_secs(2), Duration::from_secs(2)))
        .deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = c.wallets().await.unwrap_err();
    assert_eq!(err.status(), Some(503), "the last answer is returned: {err:?}");
    assert_eq!(received(&server).await.len(), 1);

    // Without a deadline the same policy retries.
    let c = Client::builder(KEY)
        .base_url(format!("{}/v1", server.uri()))
        .retry_policy(RetryPolicy::new(2, Duration::from_millis(1), Duration::from_millis(1)))
        .build()
        .unwrap();
    c.wallets().await.unwrap_err();
    assert_eq!(received(&server).await.len(), 3);
}

#[tokio::test]
async fn a_dropped_create_is_repeated_safely_with_the_same_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(json(200, "created_session.json").set_delay(Duration::from_secs(5)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(json(200, "created_session.json"))
        .mount(&server)
        .await;
    let c = client(&server);
    let req = CreateSessionRequest::new(vec![Step::age_verify(18)]);
    let opts = CreateOptions::new().idempotency_key("order_4815");
    // The caller gives up (drops the future) while the request is at the service.
    let dropped = tokio::time::timeout(
        Duration::from_millis(300),
        c.create_session_with_options(&req, Vec::new(), &opts),
    )
    .await;
    assert!(dropped.is_err(), "the create was dropped");
    let created = c.create_session_with_options(&req, Vec::new(), &opts).await.unwrap();
    assert_eq!(created.id, "sess_abc123");
    let requests = received(&server).await;
    assert_eq!(requests.len(), 2, "the dropped create did reach the service");
    for r in &requests {
        assert_eq!(r.headers.get("idempotency-key").unwrap(), "order_4815");
    }
}

#[tokio::test]
async fn a_callers_http_client_is_used() {
    use uip_client::reqwest;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/wallets"))
        .and(header("x-proxy-tag", "shop"))
        .respond_with(json(200, "wallets.json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-proxy-tag", reqwest::header::HeaderValue::from_static("shop"));
    let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
    let c = Client::builder(KEY).base_url(format!("{}/v1", server.uri())).http_client(http).build().unwrap();
    assert_eq!(c.wallets().await.unwrap().wallets.len(), 2);
}
