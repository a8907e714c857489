//! The hosted page `/s/{id}` and its internal transport (docs/DECISIONS.md §7): open, state, request,
//! documents, response. Binding is the `uip_bind` cookie or the `X-UIP-Binding` header.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use uip_types::sandbox::WalletResponse;
use uip_types::validate::MAX_JSON_BODY;
use uip_types::{BindingToken, ErrorCode};

use super::{ok, parse_json, read_body};
use crate::core::{self as uc, Responder};
use crate::error::ApiError;
use crate::Shared;

const PAGE_HTML: &str = include_str!("assets/page.html");
const PAGE_JS: &str = include_str!("assets/page.js");
const PAGE_CSS: &str = include_str!("assets/page.css");

/// The binding cookie's name.
const COOKIE: &str = "uip_bind";
/// The binding header's name.
const BINDING_HEADER: &str = "x-uip-binding";

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/s/{id}", get(page))
        .route("/s/{id}/open", post(open))
        .route("/s/{id}/state", get(state))
        .route("/s/{id}/request", get(request))
        .route("/s/{id}/documents/{index}", get(document))
        .route("/s/{id}/response", post(response))
        .route("/_assets/page.js", get(|| async { asset(PAGE_JS, "text/javascript; charset=utf-8") }))
        .route("/_assets/page.css", get(|| async { asset(PAGE_CSS, "text/css; charset=utf-8") }))
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// The binding token a request presents: the header wins over the cookie.
fn token(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(BINDING_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.trim());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

fn set_cookie(resp: &mut Response, id: &str, token: &BindingToken) {
    let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/s/{id}", token.expose());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
}

/// The page and its messages load only their own assets: no inline script, no third party, no framing.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                        connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn page_headers(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

fn html_message(status: StatusCode, testid: &str, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex, nofollow\">\
         <title>{title} — UIP sandbox</title><link rel=\"stylesheet\" href=\"/_assets/page.css\"></head>\
         <body><header class=\"banner\"><p class=\"sandbox-tag\">Sandbox — simulated wallet, no real IDs</p></header>\
         <main class=\"card message\" data-testid=\"{testid}\"><h1>{title}</h1><p>{text}</p></main></body></html>"
    );
    let mut r = (status, Html(body)).into_response();
    page_headers(&mut r);
    r
}

/// `GET /s/{id}`: binds an unbound session to this browser (like `POST open`) and serves the page.
async fn page(State(shared): State<Arc<Shared>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    match uc::open(&shared, &id, token(&headers)) {
        Ok(t) => {
            let mut r = Html(PAGE_HTML).into_response();
            page_headers(&mut r);
            set_cookie(&mut r, &id, &t);
            r
        }
        Err(e) if e.code == ErrorCode::BoundElsewhere => html_message(
            StatusCode::CONFLICT,
            "refusal",
            "This verification is open on another device",
            "For your security, a verification link works only in the browser that opened it first. \
             Go back to the device where you started, or ask the business for a new link.",
        ),
        Err(e) if e.code == ErrorCode::NotFound => html_message(
            StatusCode::NOT_FOUND,
            "not-found",
            "Verification not found",
            "This link is not valid. Ask the business for a new one.",
        ),
        Err(e) => e.into_response(),
    }
}

async fn open(State(shared): State<Arc<Shared>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    match uc::open(&shared, &id, token(&headers)) {
        Ok(t) => {
            let mut r = ok(&uc::open_response(t.clone()));
            set_cookie(&mut r, &id, &t);
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn state(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(ok(&uc::state(&shared, &id, token(&headers))?))
}

async fn request(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(ok(&uc::wallet_request(&shared, &id, token(&headers))?))
}

async fn document(
    State(shared): State<Arc<Shared>>,
    Path((id, index)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let index: usize = index.parse().map_err(|_| ApiError::not_found("document"))?;
    let doc = uc::document(&shared, &id, token(&headers), index)?;
    let content_type = HeaderValue::from_str(&doc.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = format!("inline; filename=\"{}\"", doc.name.replace(['"', '\\', '\r', '\n'], "_"));
    let mut r = (StatusCode::OK, Body::from(doc.bytes)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, content_type);
    r.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    Ok(r)
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, MAX_JSON_BODY).await?;
    // A body that does not parse is reported after the binding check (docs/DECISIONS.md §7).
    let answer = parse_json::<WalletResponse>(&bytes);
    Ok(ok(&uc::respond(&shared, &id, Responder::Browser(token(&headers)), answer)?))
}
