//! Session endpoints: what goes on the wire and what comes back.

use crate::support as common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use uip_client::{
    Block, CreateOptions, CreateSessionRequest, Error, ErrorCode, Primitive, RetryPolicy, SessionStatus, Step,
};
use wiremock::matchers::{body_json, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn spec_request() -> CreateSessionRequest {
    let mut req = CreateSessionRequest::new(vec![
        Step::identify([Block::FirstName, Block::LastName, Block::Country]),
        Step::age_verify(21),
    ]);
    req.client_reference_id = Some("order_4815".into());
    req.return_url = Some("https://shop.example.com/verified".into());
    req
}

#[tokio::test]
async fn create_session_posts_the_json_body_with_auth_and_a_uuid_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .and(header_exists("idempotency-key"))
        .and(body_json(fixture_json("create_request.json")))
        .respond_with(json(200, "created_session.json"))
        .expect(1)
        .mount(&server)
        .await;

    let created = client(&server).create_session(&spec_request()).await.unwrap();
    assert_eq!(created.id, "sess_abc123");
    assert_eq!(created.status, SessionStatus::Created);
    assert_eq!(created.url.expose(), "https://uip.digital/s/sess_abc123");
    assert_eq!(uip_client::uip_types::time::format_secs(&created.expires), "2026-06-07T12:34:56Z");

    let requests = received(&server).await;
    let key = requests[0].headers.get("idempotency-key").unwrap().to_str().unwrap();
    let parsed = uuid_v4(key);
    assert!(parsed, "generated key {key:?} is not a UUID v4");
    let ua = requests[0].headers.get("user-agent").unwrap().to_str().unwrap();
    assert!(ua.starts_with("uip-client-rust/"), "{ua}");
}

fn uuid_v4(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        && groups[2].starts_with('4')
}

#[tokio::test]
async fn every_create_gets_its_own_generated_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(json(200, "created_session.json"))
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server);
    c.create_session(&spec_request()).await.unwrap();
    c.create_session(&spec_request()).await.unwrap();
    let keys: Vec<_> = received(&server).await.iter().map(|r| r.headers["idempotency-key"].clone()).collect();
    assert_ne!(keys[0], keys[1]);
}

#[tokio::test]
async fn a_caller_idempotency_key_is_sent_as_is() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .and(header("idempotency-key", "order_4815-v1"))
        .respond_with(json(200, "created_session.json").insert_header("Idempotent-Replayed", "true"))
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server);
    let opts = CreateOptions::new().idempotency_key("order_4815-v1");
    let a = c.create_session_with_options(&spec_request(), Vec::new(), &opts).await.unwrap();
    let b = c.session().age_verify(18).idempotency_key("order_4815-v1").send().await.unwrap();
    assert_eq!(a.id, b.id);
}

#[tokio::test]
async fn a_bad_idempotency_key_is_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(200, "created_session.json"))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server);
    for key in ["", "has space", "é", &"k".repeat(256)] {
        let opts = CreateOptions::new().idempotency_key(key);
        let err = c.create_session_with_options(&spec_request(), Vec::new(), &opts).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{key:?}: {err:?}");
        assert_eq!(err.param(), Some("Idempotency-Key"));
    }
}

#[tokio::test]
async fn the_session_builder_sends_the_same_body_as_the_typed_request() {
    let server = MockServer::start().await;
    let expected = serde_json::json!({
        "steps": [
            {"primitive": "identify", "params": {"blocks": ["first_name", "last_name"]}, "gate": true},
            {"primitive": "age_verify", "params": {"min_age": 21}},
            {"primitive": "light_sign", "params": {"terms": "I accept.", "title": "Terms"}, "gate": true},
            {"primitive": "identify"}
        ],
        "client_reference_id": "order_4815",
        "metadata": {"cart": "c_991", "channel": "web"},
        "return_url": "https://shop.example.com/verified",
        "expires_in": 1800
    });
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .and(header("content-type", "application/json"))
        .and(header("idempotency-key", "order_4815"))
        .and(body_json(&expected))
        .respond_with(json(200, "created_session.json"))
        .expect(1)
        .mount(&server)
        .await;

    let created = client(&server)
        .session()
        .identify([Block::FirstName, Block::LastName])
        .gate()
        .age_verify(21)
        .light_sign("I accept.")
        .title("Terms")
        .gate()
        .identify_default()
        .client_reference_id("order_4815")
        .metadata("channel", "web")
        .metadata("cart", "c_991")
        .return_url("https://shop.example.com/verified")
        .expires_in(Duration::from_secs(1800))
        .idempotency_key("order_4815")
        .send()
        .await
        .unwrap();
    assert_eq!(created.id, "sess_abc123");
}

#[tokio::test]
async fn invalid_requests_never_leave() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(200, "created_session.json"))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server);

    let cases: Vec<(CreateSessionRequest, ErrorCode, &str)> = vec![
        (CreateSessionRequest::new(vec![]), ErrorCode::InvalidSteps, "steps"),
        (
            CreateSessionRequest::new(vec![Step::age_verify(0)]),
            ErrorCode::InvalidParams,
            "steps[0].params.min_age",
        ),
        (
            CreateSessionRequest::new(vec![Step::identify_default(), Step::light_sign("")]),
            ErrorCode::InvalidParams,
            "steps[1].params.terms",
        ),
        (
            CreateSessionRequest { expires_in: Some(59), ..spec_request() },
            ErrorCode::InvalidField,
            "expires_in",
        ),
        (
            CreateSessionRequest { return_url: Some("http://shop.example.com".into()), ..spec_request() },
            ErrorCode::InvalidField,
            "return_url",
        ),
        (
            CreateSessionRequest { client_reference_id: Some("x".repeat(256)), ..spec_request() },
            ErrorCode::InvalidField,
            "client_reference_id",
        ),
        (
            CreateSessionRequest {
                metadata: Some(
                    (0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect::<BTreeMap<_, _>>(),
                ),
                ..spec_request()
            },
            ErrorCode::InvalidField,
            "metadata",
        ),
        (CreateSessionRequest::new(vec![Step::sign(["a.pdf"])]), ErrorCode::InvalidParams, "steps[0]"),
    ];
    for (req, code, param) in cases {
        let err = c.create_session(&req).await.unwrap_err();
        let Error::InvalidInput(v) = &err else { panic!("{err:?}") };
        assert_eq!((&v.code, v.param.as_deref()), (&code, Some(param)), "{err}");
        assert_eq!(err.status(), None);
    }

    // The same through the builder.
    let err = c.session().age_verify(121).send().await.unwrap_err();
    assert_eq!(err.param(), Some("steps[0].params.min_age"));
    let err = c.session().identify_default().return_url("ftp://x").send().await.unwrap_err();
    assert_eq!(err.param(), Some("return_url"));
    let err = c.session().light_sign("t").gate().gate().title("x".repeat(201)).send().await.unwrap_err();
    assert_eq!(err.param(), Some("steps[0].params.title"));
}

#[tokio::test]
async fn get_session_parses_the_primary_shape() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("accept", "application/json"))
        .respond_with(json(200, "session_view.json"))
        .expect(1)
        .mount(&server)
        .await;
    let view = client(&server).get_session("sess_abc123").await.unwrap();
    assert_eq!(view.id, "sess_abc123");
    assert_eq!(view.status, SessionStatus::AwaitingDecision);
    assert_eq!((view.current_step, view.step_count), (0, 2));
    assert_eq!(view.primitives, vec![Primitive::Identify, Primitive::Sign]);
    assert_eq!(view.current_primitive, Some(Primitive::Identify));
    let fmt =
        |t: &Option<uip_client::Timestamp>| uip_client::uip_types::time::format_secs(t.as_ref().unwrap());
    assert_eq!(fmt(&view.created_at), "2026-06-07T12:00:00Z");
    assert_eq!(fmt(&view.updated_at), "2026-06-07T12:01:30Z");
    assert_eq!(fmt(&view.expires_at), "2026-06-07T13:00:00Z");
    assert_eq!(view.client_reference_id, None);

    let requests = received(&server).await;
    assert!(requests[0].body.is_empty());
    assert!(requests[0].headers.get("idempotency-key").is_none());
    assert!(requests[0].headers.get("content-type").is_none());
}

#[tokio::test]
async fn get_session_parses_the_variant_shape() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(json(200, "session_view_variant.json"))
        .expect(1)
        .mount(&server)
        .await;
    let id = uip_client::SessionId::from("sess_abc123");
    let view = client(&server).get_session(&id).await.unwrap();
    assert_eq!(view.status, SessionStatus::AwaitingDecision);
    assert_eq!((view.current_step, view.step_count), (1, 2));
    assert!(view.primitives.is_empty());
    assert_eq!(view.current_primitive, None);
    assert_eq!(view.created_at, None);
    assert_eq!(view.expires_at, None);
    assert!(view.updated_at.is_some());
    assert_eq!(view.client_reference_id.as_deref(), Some("order_4815"));
    assert_eq!(view.metadata.unwrap()["cart"], "c_991");
    // The variant's results and outcome are read, typed.
    let results = view.results.expect("results");
    assert_eq!(results.len(), 1);
    assert_eq!((results[0].step, &results[0].primitive), (0, &uip_client::Primitive::Identify));
    assert_eq!(results[0].audit_id, "aud_9f2c1e");
    let uip_types::StepResult::Identify { claims } = &results[0].result else { panic!("{:?}", results[0]) };
    assert_eq!(claims["dob"], "1990-04-01");
    assert_eq!(view.outcome, Some(SessionStatus::Other(String::new())));
}

#[tokio::test]
async fn continue_and_stop_post_without_a_body() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(json(200, "session_view.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions/sess_abc123/continue"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(json(200, "continue.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions/sess_abc123/stop"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(json(200, "stop.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);

    let d = c.continue_session("sess_abc123").await.unwrap();
    assert_eq!(d.id, "sess_abc123");
    assert_eq!(d.status, SessionStatus::InProgress);
    assert_eq!((d.current_step, d.step_count), (1, 2));
    assert_eq!(d.current_primitive, Some(Primitive::Sign));

    let d = c.stop_session("sess_abc123").await.unwrap();
    assert_eq!(d.status, SessionStatus::Stopped);
    assert_eq!((d.current_step, d.step_count), (0, 2));
    assert_eq!(d.current_primitive, None);

    for r in received(&server).await.iter().filter(|r| r.method.as_str() == "POST") {
        assert!(r.body.is_empty(), "{} has a body", r.url.path());
        assert!(r.headers.get("idempotency-key").is_none());
        assert!(r.headers.get("content-type").is_none());
    }
}

#[tokio::test]
async fn without_retries_continue_does_not_read_the_session_first() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(json(200, "session_view.json")).expect(0).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions/sess_abc123/continue"))
        .respond_with(json(200, "continue.json"))
        .expect(1)
        .mount(&server)
        .await;
    let d = client_with(&server, RetryPolicy::none()).continue_session("sess_abc123").await.unwrap();
    assert_eq!(d.status, SessionStatus::InProgress);
}

#[tokio::test]
async fn ids_are_one_path_segment_and_empty_ids_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/a%2Fb"))
        .respond_with(json(200, "session_view.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    c.get_session("a/b").await.unwrap();
    for id in ["", ".", ".."] {
        assert!(matches!(c.get_session(id).await, Err(Error::InvalidInput(_))));
        assert!(matches!(c.stop_session(id).await, Err(Error::InvalidInput(_))));
        assert!(matches!(c.continue_session(id).await, Err(Error::InvalidInput(_))));
        assert!(matches!(c.get_audit(id).await, Err(Error::InvalidInput(_))));
    }
}

#[tokio::test]
async fn a_base_url_with_a_deeper_path_keeps_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/proxy/uip/v1/sessions/sess_abc123"))
        .respond_with(json(200, "session_view.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c =
        uip_client::Client::builder(KEY).base_url(format!("{}/proxy/uip/v1/", server.uri())).build().unwrap();
    c.get_session("sess_abc123").await.unwrap();
}

#[tokio::test]
async fn user_agent_and_custom_http_client_are_used() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/catalog"))
        .and(header("user-agent", "shop-backend/2.1"))
        .and(header("x-from-custom-client", "yes"))
        .respond_with(json(200, "catalog.json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-from-custom-client", "yes".parse().unwrap());
    let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
    let c = uip_client::Client::builder(KEY)
        .base_url(format!("{}/v1", server.uri()))
        .http_client(http)
        .user_agent("shop-backend/2.1")
        .build()
        .unwrap();
    c.catalog().await.unwrap();
}

#[tokio::test]
async fn an_unexpected_success_body_is_a_decode_error_with_an_excerpt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/sess_abc123"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"id":"sess_7Hq2LmZ9pX4rT1vB8nC3dK6w","status":"in_progress"}"#,
            "application/json",
        ))
        .expect(1) // not retried
        .mount(&server)
        .await;
    let err = client(&server).get_session("sess_abc123").await.unwrap_err();
    let Error::Decode { status, excerpt, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*status, 200);
    assert!(excerpt.contains("in_progress"), "{excerpt}");
    assert!(!excerpt.contains("LmZ9pX4rT1vB8nC3dK6w"), "excerpt leaks the id: {excerpt}");
    // What serde missed is the source's text, not repeated in the error's own.
    let source = std::error::Error::source(&err).expect("the JSON error").to_string();
    assert!(source.contains("current_step"), "{source}");
    assert!(!err.to_string().contains("current_step"), "{err}");
    assert!(!err.is_retryable());
}

/// The client and its futures can move across threads (e.g. into `tokio::spawn`).
#[test]
fn the_client_and_its_futures_are_send_and_sync() {
    fn send<T: Send>(_: &T) {}
    fn sync<T: Send + Sync>() {}
    sync::<uip_client::Client>();
    sync::<uip_client::Error>();
    sync::<uip_client::Document>();
    let c = uip_client::Client::new(KEY).unwrap();
    let req = spec_request();
    send(&c.create_session(&req));
    send(&c.create_session_with_documents(&req, Vec::new()));
    send(&c.get_session("sess_abc123"));
    send(&c.continue_session("sess_abc123"));
    send(&c.stop_session("sess_abc123"));
    send(&c.get_audit("sess_abc123_0"));
    send(&c.catalog());
    send(&c.wallets());
    send(&c.session().age_verify(18).send());
}
