//! Error answers: every status and code of the contract, and bodies that are not JSON.

use crate::support as common;

use common::*;
use uip_client::{Error, ErrorCode, RetryPolicy, TransportErrorKind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// docs/DECISIONS.md §9: every status and code the service answers with.
const TABLE: &[(u16, &str)] = &[
    (400, "request/invalid-payload"),
    (400, "request/invalid-steps"),
    (400, "request/unknown-primitive"),
    (400, "request/invalid-params"),
    (400, "request/invalid-field"),
    (401, "auth/missing-api-key"),
    (401, "auth/invalid-api-key"),
    (402, "payment/insufficient-funds"),
    (403, "request/bad-origin"),
    (404, "resource/not-found"),
    (404, "request/not-found"),
    (405, "request/method-not-allowed"),
    (408, "request/timeout"),
    (409, "request/idempotency-conflict"),
    (409, "session/not-awaiting-decision"),
    (409, "session/not-active"),
    (409, "session/stale-nonce"),
    (409, "session/bound-elsewhere"),
    (410, "session/documents-purged"),
    (413, "request/too-large"),
    (415, "request/unsupported-media-type"),
    (422, "request/webhook-missing"),
    (422, "wallet/unsupported-primitive"),
    (429, "request/rate-limited"),
    (500, "internal/server-error"),
    (503, "internal/unavailable"),
];

#[tokio::test]
async fn every_documented_status_maps_to_its_error_code() {
    let server = MockServer::start().await;
    let c = client_with(&server, RetryPolicy::none());
    for &(status, code) in TABLE {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/v1/sessions/sess_abc123"))
            .respond_with(ResponseTemplate::new(status).set_body_json(
                serde_json::json!({"error": format!("{code} happened"), "code": code, "param": "p"}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let err = c.get_session("sess_abc123").await.unwrap_err();
        let Error::Api { status: s, code: Some(parsed), message, param, .. } = &err else {
            panic!("{status} {code}: {err:?}")
        };
        assert_eq!(*s, status);
        assert!(parsed.is_known(), "{code} parsed as {parsed:?}");
        assert_eq!(parsed.as_str(), code);
        assert_eq!(parsed.http_status(), Some(status), "{code}");
        assert_eq!(message, &format!("{code} happened"));
        assert_eq!(param.as_deref(), Some("p"));
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.code(), Some(parsed));
        assert_eq!(err.is_retryable(), status == 429 || status >= 500, "{status}");
        server.verify().await;
    }
}

#[tokio::test]
async fn error_fixtures_parse() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(json(400, "error_invalid_params.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/audits/sess_abc123_9"))
        .respond_with(json(404, "error_not_found.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    // A request the client accepts but the (mock) server refuses.
    let req = uip_client::CreateSessionRequest::new(vec![uip_client::Step::age_verify(21)]);
    let err = c.create_session(&req).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidParams));
    assert_eq!(err.param(), Some("steps[1].params.min_age"));
    assert_eq!(
        err.to_string(),
        "UIP API error (HTTP 400, request/invalid-params): min_age must be an integer from 1 to 120 \
         [param: steps[1].params.min_age]"
    );

    let err = c.get_audit("sess_abc123_9").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.param(), None);
}

#[tokio::test]
async fn an_html_error_page_still_gives_a_useful_api_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/catalog"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(fixture("bad_gateway.html"), "text/html"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client_with(&server, RetryPolicy::none()).catalog().await.unwrap_err();
    let Error::Api { status, code, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*status, 502);
    assert_eq!(code, &None);
    assert!(message.contains("502 Bad Gateway"), "{message}");
    assert!(message.contains("nginx"), "the excerpt is missing: {message}");
    assert!(err.is_retryable());
    assert!(err.to_string().starts_with("UIP API error (HTTP 502): "), "{err}");
}

#[tokio::test]
async fn an_error_body_without_code_keeps_status_and_message() {
    // docs/DECISIONS.md §11: the public errors page also shows `{"error": "..."}` alone.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(serde_json::json!({"error": "Session not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client_with(&server, RetryPolicy::none()).get_session("sess_abc123").await.unwrap_err();
    let Error::Api { status, code, message, param, .. } = &err else { panic!("{err:?}") };
    assert_eq!((*status, code, message.as_str(), param), (404, &None, "Session not found", &None));
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), None);
    assert!(!err.is_retryable());
    assert_eq!(err.to_string(), "UIP API error (HTTP 404): Session not found");
}

#[tokio::test]
async fn a_bodiless_or_plain_text_error_still_reports_status_and_message() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/catalog"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/wallets"))
        .respond_with(ResponseTemplate::new(504).set_body_raw("upstream timed out", "text/plain"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client_with(&server, RetryPolicy::none());

    let err = c.catalog().await.unwrap_err();
    let Error::Api { status, code, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!((*status, code), (502, &None));
    assert_eq!(message, "HTTP 502 Bad Gateway with an empty body");

    let err = c.wallets().await.unwrap_err();
    let Error::Api { status, code, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!((*status, code), (504, &None));
    assert_eq!(message, r#"HTTP 504 Gateway Timeout; body starts with "upstream timed out""#);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn an_unknown_code_is_kept_verbatim() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/wallets"))
        .respond_with(
            ResponseTemplate::new(451)
                .set_body_json(serde_json::json!({"error": "not here", "code": "legal/unavailable"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).wallets().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Other("legal/unavailable".into())));
    assert_eq!(err.status(), Some(451));
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let c = uip_client::Client::builder(KEY)
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let err = c.get_session("sess_7Hq2LmZ9pX4rT1vB8nC3dK6w").await.unwrap_err();
    assert_eq!(err.transport_kind(), Some(TransportErrorKind::Connect), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.status(), None);
    // The error never carries the URL, whose path holds the session id.
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("LmZ9pX4rT1vB8nC3dK6w"), "{text}");
        assert!(!text.contains("/v1/sessions"), "{text}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/elsewhere"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&server).await;
    let err = client(&server).get_session("sess_abc123").await.unwrap_err();
    assert_eq!(err.status(), Some(302));
    assert!(!err.is_retryable());
}
