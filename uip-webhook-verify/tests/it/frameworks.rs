//! Requests through the frameworks: the axum extractor and error responses (feature `axum`),
//! and an actix-web handler using actix's HeaderMap (feature `actix`).

use uip_types::WebhookSecret;
use uip_webhook_verify::{SignedHeaders, Verifier};

const SECRET: &str = "uip_whsec_sandbox";
const NOW: u64 = 1_780_000_000;
const BODY: &str = r#"{"event":"session.completed","data":{"session_id":"sess_a","status":"completed"}}"#;

fn signed(secret: &str, body: &str) -> SignedHeaders {
    SignedHeaders::for_body(&WebhookSecret::new(secret), NOW, body.as_bytes()).unwrap()
}

fn verifier() -> Verifier {
    Verifier::new(SECRET).unwrap().with_now(NOW + 5)
}

mod axum_extractor {
    use super::*;
    use axum::body::Body;
    use axum::extract::{DefaultBodyLimit, FromRef, State};
    use axum::http::{Request, StatusCode};
    use axum::routing::post;
    use axum::Router;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tower::ServiceExt;
    use uip_webhook_verify::{VerifiedDelivery, WebhookEvent};

    #[derive(Clone, FromRef)]
    struct AppState {
        verifier: Verifier,
        handled: Arc<AtomicUsize>,
    }

    async fn handler(State(handled): State<Arc<AtomicUsize>>, delivery: VerifiedDelivery) -> String {
        handled.fetch_add(1, Ordering::SeqCst);
        let WebhookEvent::SessionCompleted(done) = &delivery.event else { panic!("{delivery:?}") };
        format!("{} {}", delivery.delivery_id, done.context.session_id)
    }

    fn app(handled: Arc<AtomicUsize>) -> Router {
        Router::new()
            .route("/uip-webhook", post(handler))
            .layer(DefaultBodyLimit::max(4096))
            .with_state(AppState { verifier: verifier(), handled })
    }

    fn request(headers: &SignedHeaders, body: impl Into<Body>) -> Request<Body> {
        let mut req = Request::post("/uip-webhook").body(body.into()).unwrap();
        *req.headers_mut() = headers.to_header_map().unwrap();
        req
    }

    async fn call(app: Router, req: Request<Body>) -> (StatusCode, Option<String>, String) {
        let response = app.oneshot(req).await.unwrap();
        let status = response.status();
        let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, content_type, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_signed_delivery_reaches_the_handler() {
        let handled = Arc::new(AtomicUsize::new(0));
        let (status, _, body) = call(app(handled.clone()), request(&signed(SECRET, BODY), BODY)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "sess_a:session.completed sess_a");
        assert_eq!(handled.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_forged_delivery_is_refused_with_401_and_a_json_error() {
        let handled = Arc::new(AtomicUsize::new(0));
        let req = request(&signed("uip_whsec_attacker", BODY), BODY);
        let (status, content_type, body) = call(app(handled.clone()), req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(content_type.as_deref(), Some("application/json"));
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["code"], "signature_mismatch");
        assert_eq!(
            json["error"],
            "X-UIP-Signature does not match the timestamp and body under any of the 1 configured secret(s)"
        );
        assert_eq!(handled.load(Ordering::SeqCst), 0, "the handler never ran");
    }

    #[tokio::test]
    async fn a_delivery_without_headers_is_refused_with_400() {
        let handled = Arc::new(AtomicUsize::new(0));
        let req = Request::post("/uip-webhook").body(Body::from(BODY)).unwrap();
        let (status, _, body) = call(app(handled.clone()), req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": "missing header X-UIP-Timestamp", "code": "missing_header"})
        );
        assert_eq!(handled.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_tampered_body_is_refused_with_401() {
        let tampered = BODY.replace("sess_a", "sess_b");
        let req = request(&signed(SECRET, BODY), tampered);
        let (status, _, body) = call(app(Arc::default()), req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.contains(r#""code":"signature_mismatch""#), "{body}");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_gets_axums_413() {
        let big = "x".repeat(8192);
        let headers =
            SignedHeaders::new(&WebhookSecret::new(SECRET), "session.completed", "d1", NOW, big.as_bytes());
        let req = request(&headers, big);
        let (status, _, _) = call(app(Arc::default()), req).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}

mod actix {
    use super::*;
    use actix_web::http::StatusCode;
    use actix_web::{test, web, App, HttpRequest, HttpResponse};
    use uip_webhook_verify::VerifyError;

    async fn uip_webhook(verifier: web::Data<Verifier>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
        match verifier.verify(req.headers(), &body) {
            Ok(delivery) => HttpResponse::Ok().body(delivery.delivery_id),
            Err(err) => error_response(&err),
        }
    }

    fn error_response(err: &VerifyError) -> HttpResponse {
        let status = StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        HttpResponse::build(status)
            .content_type("application/json")
            .body(serde_json::json!({ "error": err.to_string(), "code": err.kind() }).to_string())
    }

    fn post(headers: &SignedHeaders, body: &str) -> test::TestRequest {
        let mut req = test::TestRequest::post().uri("/uip-webhook").set_payload(body.to_owned());
        for (name, value) in headers.pairs() {
            req = req.insert_header((name, value.to_owned()));
        }
        req
    }

    #[test]
    fn an_actix_handler_verifies_with_actix_headers() {
        actix_web::rt::System::new().block_on(async {
            let app = test::init_service(
                App::new()
                    .app_data(web::Data::new(verifier()))
                    .route("/uip-webhook", web::post().to(uip_webhook)),
            )
            .await;

            let resp = test::call_service(&app, post(&signed(SECRET, BODY), BODY).to_request()).await;
            assert_eq!(resp.status(), StatusCode::OK);
            assert_eq!(test::read_body(resp).await, "sess_a:session.completed");

            let forged = post(&signed("uip_whsec_attacker", BODY), BODY).to_request();
            let resp = test::call_service(&app, forged).await;
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
            let json: serde_json::Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
            assert_eq!(json["code"], "signature_mismatch");

            let bare = test::TestRequest::post().uri("/uip-webhook").set_payload(BODY).to_request();
            let resp = test::call_service(&app, bare).await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
            let json: serde_json::Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
            assert_eq!(json["code"], "missing_header");
        });
    }
}
