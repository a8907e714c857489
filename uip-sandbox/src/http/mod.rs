//! The HTTP surface, thin: routers for the business API, the hosted page and the control API;
//! auth, body limits, error mapping, fault injection, logging. Handlers parse, call a use case
//! in `core`, and render.

mod api;
mod body_guard;
mod control;
mod dashboard;
mod journal;
mod openapi;
mod page;
mod service;

pub(crate) use service::Service;
use service::State;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use futures::FutureExt as _;
use http::request::Parts;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use uip_types::ErrorCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::core as uc;
use crate::error::ApiError;
use crate::server::ResetConnection;
use crate::Shared;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = json_response(status, &self.body());
        // The request journal reads the code from here (docs/DECISIONS.md §11).
        resp.extensions_mut().insert(self.code.clone());
        if matches!(self.code, ErrorCode::TooLarge | ErrorCode::RequestTimeout) {
            // The rest of the body is never read, so the connection cannot carry another
            // request: say so (hyper then closes it), or a client reuses it and its next
            // request fails.
            resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

/// A JSON response.
pub(crate) fn json_response<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
            .into_response(),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

/// A 200 JSON response.
pub(crate) fn ok<T: serde::Serialize>(value: &T) -> Response {
    json_response(StatusCode::OK, value)
}

/// The Content-Security-Policy of every HTML page the sandbox serves (the hosted page, its messages,
/// the inbox): they load only their own assets — no inline script, no third party, no framing.
pub(crate) const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The security headers of every HTML page (one set: docs/DECISIONS.md §11): not cached, no
/// referrer, [`PAGE_CSP`], no content sniffing.
pub(crate) fn html_security_headers(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// An embedded asset (script or styles of an HTML page): revalidated on each load, never sniffed.
pub(crate) fn static_asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Parses a JSON body; the error names the field at fault.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_json_as(bytes, |_| ErrorCode::InvalidPayload)
}

/// Parses a control-API body (docs/DECISIONS.md §11): an unknown field, or a number out of its
/// field's range, is 400 `request/invalid-field` naming the field; malformed JSON and wrong types
/// stay `request/invalid-payload`.
pub(crate) fn parse_control_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_json_as(bytes, |e| {
        let msg = e.to_string();
        if msg.starts_with("unknown field `") || msg.starts_with("invalid value: ") {
            ErrorCode::InvalidField
        } else {
            ErrorCode::InvalidPayload
        }
    })
}

fn parse_json_as<T: DeserializeOwned>(
    bytes: &[u8],
    code: impl Fn(&serde_json::Error) -> ErrorCode,
) -> Result<T, ApiError> {
    // Every JSON body is an object; serde would also take a struct from an array of its field
    // values in order (`[null]` as `{"webhook_url": null}`).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::payload("invalid JSON body: expected a JSON object"));
    }
    refuse_duplicate_keys(bytes)?;
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = param_path(e.path());
        let inner = e.into_inner();
        let err = ApiError::new(code(&inner), format!("invalid JSON body: {inner}"));
        if path.is_empty() {
            err
        } else {
            err.param(path)
        }
    })?;
    // One JSON value and nothing after it but whitespace: `{…}garbage` is malformed.
    de.end().map_err(|e| ApiError::payload(format!("invalid JSON body: {e}")))?;
    Ok(value)
}

/// Refuses a JSON body in which one object repeats a key, at any depth (docs/DECISIONS.md §11):
/// 400 `request/invalid-payload` naming the repeated key's path. serde would silently keep the
/// last value (`{"min_age":200,"min_age":21}` read as 21), so what a log or a proxy shows of the
/// body could differ from what the sandbox acts on. Bytes that are not JSON pass: the typed
/// decoding that follows reports them.
pub(crate) fn refuse_duplicate_keys(bytes: &[u8]) -> Result<(), ApiError> {
    use serde::de::DeserializeSeed;
    let found = std::cell::RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let _ = KeyWalk { path: String::new(), found: &found }.deserialize(&mut de);
    match found.into_inner() {
        Some(path) => {
            Err(ApiError::payload(format!("invalid JSON body: the key `{path}` is repeated")).param(path))
        }
        None => Ok(()),
    }
}

/// Walks one JSON value, recording the path of the first key an object repeats (and stopping there).
struct KeyWalk<'a> {
    path: String,
    found: &'a std::cell::RefCell<Option<String>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for KeyWalk<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeyWalk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let item = KeyWalk { path: format!("{}[{index}]", self.path), found: self.found };
            if seq.next_element_seed(item)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        // Keys compare as decoded strings: `"a"` and `"\u0061"` are the same key.
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() { key.clone() } else { format!("{}.{key}", self.path) };
            if !seen.insert(key) {
                *self.found.borrow_mut() = Some(path);
                return Err(serde::de::Error::custom("repeated key"));
            }
            map.next_value_seed(KeyWalk { path, found: self.found })?;
        }
        Ok(())
    }
}

/// The field at fault as a `param` path (`credential.valid_until`, `steps[1]`), up to the first
/// segment serde could not name: a syntax error has no field (never the placeholder `?`).
fn param_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => break,
        }
    }
    out
}

/// Reads a whole body, refusing more than `limit` bytes with 413 `request/too-large`.
pub(crate) async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large =
        || ApiError::new(ErrorCode::TooLarge, format!("the body is over the limit of {limit} bytes"));
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(body_guard::stalled(&*e)
            .unwrap_or_else(|| ApiError::payload("the request body could not be read"))),
    }
}

/// The Bearer token of a request, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The authenticated business of a request (Bearer API key).
#[derive(Clone)]
pub(crate) struct Biz(pub String);

impl Biz {
    /// The business whose API key `req` carries, looked up once per request: the first stage
    /// that needs it (the body guard, the journal) keeps it in the request's extensions, where
    /// the later ones and the handler's [`Biz`] extractor find it. `None` for no or an unknown key.
    pub(super) fn of_request(shared: &Shared, req: &mut Request) -> Option<String> {
        if let Some(Biz(id)) = req.extensions().get::<Biz>() {
            return Some(id.clone());
        }
        let id = uc::authenticate(shared, bearer(req.headers())).ok()?;
        req.extensions_mut().insert(Biz(id.clone()));
        Some(id)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Biz {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // The body guard or the business API's journal has looked the key up already.
        if let Some(biz) = parts.extensions.get::<Biz>() {
            return Ok(biz.clone());
        }
        let State(shared) = State::<Arc<Shared>>::from_request_parts(parts, state).await?;
        uc::authenticate(&shared, bearer(&parts.headers)).map(Biz)
    }
}

/// axum's `Path`, rejecting with the JSON error body (docs/DECISIONS.md §11): a segment that does
/// not decode (bad percent-encoding, invalid UTF-8) names nothing that exists, so it is 404
/// `resource/not-found`. Every route takes its path parameters through this extractor.
pub(super) struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::MissingPathParams(e)) => {
                // A route declared without the parameter its handler reads: a bug, not input.
                tracing::error!(error = %e, "path parameters missing");
                Err(ApiError::internal("the sandbox could not read the request's path"))
            }
            Err(_) => Err(ApiError::not_found("resource")),
        }
    }
}

/// axum's `Query`, rejecting with the JSON error body (docs/DECISIONS.md §11): a malformed or
/// repeated query parameter is 400 `request/invalid-field`, naming the parameter when known.
pub(super) struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let result = axum::extract::Query::<T>::from_request_parts(parts, state).await;
        result.map(|axum::extract::Query(v)| Query(v)).map_err(|e| {
            let message = e.body_text();
            // serde names the field in backquotes: "duplicate field `session_id`".
            let field = message.split('`').nth(1).filter(|f| !f.is_empty()).map(str::to_owned);
            let err = ApiError::new(ErrorCode::InvalidField, message.clone());
            match field {
                Some(f) => err.param(f),
                None => err,
            }
        })
    }
}

/// The one layer of the business API: the journal sees every request of a known business,
/// faulted ones included, so it captures first; then armed faults apply; then the route.
async fn business_api(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    journal::capture(&shared, req, |req| inject_faults(&shared, req, next)).await
}

/// Applies `/_sandbox/faults` to business-API requests made with a key that has faults armed.
async fn inject_faults(shared: &Shared, req: Request, next: Next) -> Response {
    // The journal has looked the key up: a request without a known key has no `Biz` (and no fault).
    let fault = req.extensions().get::<Biz>().and_then(|Biz(b)| uc::take_fault(shared, b));
    let Some(fault) = fault else { return next.run(req).await };
    let retry_after = [(header::RETRY_AFTER, HeaderValue::from_static("1"))];
    match &fault {
        serde_json::Value::Number(n) if n.as_u64() == Some(500) => {
            ApiError::new(ErrorCode::ServerError, "injected fault: 500").into_response()
        }
        serde_json::Value::Number(n) if n.as_u64() == Some(503) => {
            (retry_after, ApiError::new(ErrorCode::Unavailable, "injected fault: 503")).into_response()
        }
        serde_json::Value::Number(n) if n.as_u64() == Some(429) => {
            (retry_after, ApiError::new(ErrorCode::RateLimited, "injected fault: 429")).into_response()
        }
        serde_json::Value::String(s) if s == "reset" => {
            let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            r.extensions_mut().insert(ResetConnection);
            r
        }
        serde_json::Value::String(s) => {
            let ms = s.strip_prefix("delay_ms:").and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(req).await
        }
        _ => next.run(req).await,
    }
}

/// The one layer around every route: each stage below is a plain async function the next one
/// awaits, so a request pays for one layer (one boxed future, one clone of the route), not one per
/// stage (BENCHMARKS.md). Outermost first: a panic answers 500 (the server never goes down on a
/// bug), then the time limit, the log line, and the body guard.
async fn envelope(req: Request, next: Next) -> Response {
    let served = std::panic::AssertUnwindSafe(time_limit(req, next)).catch_unwind().await;
    served
        .unwrap_or_else(|_| ApiError::internal("the sandbox hit a bug handling this request").into_response())
}

/// The request time limit (docs/DECISIONS.md §11): a request whose body or handling is not
/// complete in time answers 408 `request/timeout`, and its connection is closed.
async fn time_limit(req: Request, next: Next) -> Response {
    let limit = match Service::of(req.extensions()) {
        Ok(service) => service.shared().settings.request_timeout,
        Err(e) => return e.into_response(),
    };
    match tokio::time::timeout(limit, log_requests(req, next)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            ErrorCode::RequestTimeout,
            format!("the request was not complete within {} s", limit.as_secs_f64()),
        )
        .into_response(),
    }
}

/// Logs method, route template (never the raw path: it may hold a capability id), status, latency.
async fn log_requests(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "<unmatched>".to_owned(), |m| m.as_str().to_owned());
    let started = Instant::now();
    let resp = body_guard::guard_bodies(req, next).await;
    if route == "/healthz" && resp.status().is_success() {
        // Container health checks probe it every few seconds: not worth a line each.
        return resp;
    }
    tracing::info!(
        method = %method,
        route = %route,
        status = resp.status().as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        "request"
    );
    resp
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound, "no such route")
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = openapi::TAG_META,
    summary = "Liveness",
    responses((status = 200, description = "`ok`.", body = String, content_type = "text/plain"))
)]
async fn healthz() -> &'static str {
    "ok"
}

fn method_not_allowed(router: Router) -> Router {
    router.method_not_allowed_fallback(|| async {
        ApiError::new(ErrorCode::MethodNotAllowed, "this route does not take that method")
    })
}

/// Every route with its operation: the one table both the router and `/openapi.json` come
/// from ([`service::router`] splits the same parts for the router).
fn surface() -> OpenApiRouter {
    OpenApiRouter::with_openapi(openapi::base())
        .nest("/v1", api::routes())
        .merge(page::routes())
        .merge(other_routes())
}

/// Everything but the business API and the hosted page (which get per-sandbox layers).
fn other_routes() -> OpenApiRouter {
    OpenApiRouter::new()
        .merge(control::routes())
        .merge(dashboard::routes())
        .merge(journal::routes())
        .merge(openapi::routes())
        .routes(routes!(healthz))
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::app::App;
    use crate::config::Settings;

    /// The envelope's panic guard: a handler that panics answers 500 `internal/server-error`
    /// with the JSON error body, and the next request is served as usual.
    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_router_goes_on() {
        // Arrange: a router with a route that panics, in the envelope, serving one sandbox.
        let app = App::build(Settings::default(), ([127, 0, 0, 1], 9).into()).unwrap();
        let router = Router::new()
            .route("/boom", get(|| async { panic!("a bug") as &'static str }))
            .route("/fine", get(|| async { "fine" }))
            .layer(axum::middleware::from_fn(envelope))
            .with_state(());
        let request = |path: &str| {
            let mut req = Request::builder().uri(path).body(Body::empty()).unwrap();
            req.extensions_mut().insert(app.http.clone());
            req
        };

        // Act
        let boom = router.clone().oneshot(request("/boom")).await.unwrap();
        let fine = router.oneshot(request("/fine")).await.unwrap();

        // Assert
        assert_eq!(boom.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = boom.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            &body[..],
            br#"{"error":"the sandbox hit a bug handling this request","code":"internal/server-error"}"#
        );
        assert_eq!(fine.status(), StatusCode::OK);
    }
}
