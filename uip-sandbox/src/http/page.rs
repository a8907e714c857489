//! The hosted page `/s/{id}` and its internal transport (docs/DECISIONS.md §7): open, state, request,
//! documents, response. Binding is the `uip_bind` cookie or the `X-UIP-Binding` header.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use uip_types::validate::MAX_JSON_BODY;
use uip_types::{BindingToken, ErrorCode};

use uip_types::sandbox::{OpenResponse, PageState, ResponseResult, WalletRequest, WalletResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{
    self as doc, BadOrigin, Binding, BodyErrors, Busy, Conflict, Gone, NotFound, ServerError, SessionPath,
    Unprocessable, TAG_PAGE,
};
use super::State;
use super::{html_security_headers as page_headers, ok, parse_json, read_body, static_asset, Path};
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

pub(super) fn routes() -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(page))
        .routes(routes!(open))
        .routes(routes!(state))
        .routes(routes!(request))
        .routes(routes!(document))
        .routes(routes!(response))
        .routes(routes!(page_js))
        .routes(routes!(page_css))
}

#[utoipa::path(
    get,
    path = "/_assets/page.js",
    operation_id = "pageScript",
    tag = TAG_PAGE,
    summary = "The hosted page's script",
    responses((status = 200, description = "JavaScript.", body = String, content_type = "text/javascript"))
)]
async fn page_js() -> Response {
    static_asset(PAGE_JS, "text/javascript; charset=utf-8")
}

#[utoipa::path(
    get,
    path = "/_assets/page.css",
    operation_id = "pageStyles",
    tag = TAG_PAGE,
    summary = "The hosted page's styles",
    responses((status = 200, description = "CSS.", body = String, content_type = "text/css"))
)]
async fn page_css() -> Response {
    static_asset(PAGE_CSS, "text/css; charset=utf-8")
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

/// Refuses a hosted-page POST whose `Origin` header is not the public URL's origin
/// (docs/DECISIONS.md §11): 403 `request/bad-origin`, before anything else is looked at, so a
/// refused request changes nothing. A page on another origin (another port of the same host
/// included) must not drive a user's session; `Origin: null` (sandboxed frames, `file:`) is
/// refused too. Without an `Origin` header (API clients, tests) the request goes on as before.
pub(super) async fn check_origin(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST {
        let foreign = req
            .headers()
            .get_all(header::ORIGIN)
            .iter()
            .any(|o| !o.as_bytes().eq_ignore_ascii_case(shared.origin().as_bytes()));
        if foreign {
            return ApiError::new(
                ErrorCode::BadOrigin,
                format!("hosted-page requests must come from {}", shared.origin()),
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// `GET /s/{id}`: binds an unbound session to this browser (like `POST open`) and serves the page.
#[utoipa::path(
    get,
    path = "/s/{id}",
    operation_id = "hostedPage",
    tag = TAG_PAGE,
    summary = "The hosted page (HTML)",
    description = "Opening an unbound session here binds it to this browser (sets the `uip_bind` cookie; \
                   `created` → `in_progress`), exactly like `POST /s/{id}/open`. `HEAD` answers the same \
                   status and headers but never binds.",
    params(SessionPath, Binding),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 409, description = "The refusal page: the session is open on another device.", body = String,
         content_type = "text/html"),
        (status = 404, description = "The not-found page.", body = String, content_type = "text/html"),
        ServerError,
    )
)]
async fn page(
    State(shared): State<Arc<Shared>>,
    method: Method,
    path: Result<Path<String>, ApiError>,
    headers: HeaderMap,
) -> Response {
    // An undecodable id names no session: the same not-found page as an unknown one.
    let Ok(Path(id)) = path else { return not_found_page() };
    let opened = if method == Method::HEAD {
        // HEAD never binds (docs/DECISIONS.md §11): the answer GET would give, no cookie.
        uc::peek(&shared, &id, token(&headers)).await.map(|()| None)
    } else {
        uc::open(&shared, &id, token(&headers)).await.map(Some)
    };
    match opened {
        Ok(t) => {
            let mut r = Html(PAGE_HTML).into_response();
            page_headers(&mut r);
            if let Some(t) = t {
                set_cookie(&mut r, &id, &t);
            }
            r
        }
        Err(e) if e.code == ErrorCode::BoundElsewhere => html_message(
            StatusCode::CONFLICT,
            "refusal",
            "This verification is open on another device",
            "For your security, a verification link works only in the browser that opened it first. \
             Go back to the device where you started, or ask the business for a new link.",
        ),
        Err(e) if e.code == ErrorCode::NotFound => not_found_page(),
        Err(e) => e.into_response(),
    }
}

/// The hosted page's 404: an unknown (or undecodable) session id.
fn not_found_page() -> Response {
    html_message(
        StatusCode::NOT_FOUND,
        "not-found",
        "Verification not found",
        "This link is not valid. Ask the business for a new one.",
    )
}

#[utoipa::path(
    post,
    path = "/s/{id}/open",
    operation_id = "openPage",
    tag = TAG_PAGE,
    summary = "Open the session: the first call binds it",
    description = "No body. Again with the same binding: 200. Without it, once bound: 409 `session/bound-elsewhere`.",
    params(SessionPath, Binding),
    responses(
        (status = 200, description = "The binding token (also set as the `uip_bind` cookie).", body = OpenResponse,
         headers(("Set-Cookie" = String, description = "`uip_bind=<token>; HttpOnly; SameSite=Strict; Path=/s/{id}`")),
         links(
             ("pageState" = (operation_id = "pageState", parameters(("path.id" = "$request.path.id"),
                     ("header.X-UIP-Binding" = "$response.body#/binding")))),
             ("walletRequest" = (operation_id = "walletRequest", parameters(("path.id" = "$request.path.id"),
                     ("header.X-UIP-Binding" = "$response.body#/binding")))),
             ("walletResponse" = (operation_id = "walletResponse", parameters(("path.id" = "$request.path.id"),
                     ("header.X-UIP-Binding" = "$response.body#/binding")))),
             ("pageDocument" = (operation_id = "pageDocument", parameters(("path.id" = "$request.path.id"),
                     ("path.index" = "0"), ("header.X-UIP-Binding" = "$response.body#/binding")))),
         ),
         example = doc::open_example),
        BadOrigin, NotFound, Conflict, ServerError,
    )
)]
async fn open(State(shared): State<Arc<Shared>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    match uc::open(&shared, &id, token(&headers)).await {
        Ok(t) => {
            let mut r = ok(&uc::open_response(t.clone()));
            set_cookie(&mut r, &id, &t);
            r
        }
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/s/{id}/state",
    operation_id = "pageState",
    tag = TAG_PAGE,
    summary = "The page state",
    params(SessionPath, Binding),
    responses(
        (status = 200, description = "The state.", body = PageState, example = doc::page_state_example),
        NotFound, Conflict, ServerError,
    )
)]
async fn state(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(ok(&uc::state(&shared, &id, token(&headers)).await?))
}

#[utoipa::path(
    get,
    path = "/s/{id}/request",
    operation_id = "walletRequest",
    tag = TAG_PAGE,
    summary = "The wallet request of the active step",
    params(SessionPath, Binding),
    responses(
        (status = 200, description = "What the wallet is asked for; the nonce is the active step's.",
         body = WalletRequest, example = doc::wallet_request_example),
        NotFound, Conflict, ServerError,
    )
)]
async fn request(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(ok(&uc::wallet_request(&shared, &id, token(&headers)).await?))
}

#[utoipa::path(
    get,
    path = "/s/{id}/documents/{index}",
    operation_id = "pageDocument",
    tag = TAG_PAGE,
    summary = "The exact bytes of a document the active sign step signs",
    params(
        SessionPath,
        ("index" = String, Path, description = "Index in the active sign step's signing order, from 0.", example = "0"),
        Binding,
    ),
    responses(
        (status = 200, description = "The document's bytes, with its uploaded content type.",
         content((String = "application/octet-stream"), (String = "*/*"))),
        NotFound, Conflict, Gone, ServerError,
    )
)]
async fn document(
    State(shared): State<Arc<Shared>>,
    Path((id, index)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let index: usize = index.parse().map_err(|_| ApiError::not_found("document"))?;
    let doc = uc::document(&shared, &id, token(&headers), index).await?;
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

#[utoipa::path(
    post,
    path = "/s/{id}/response",
    operation_id = "walletResponse",
    tag = TAG_PAGE,
    summary = "Submit the wallet's answer for the active step",
    description = "Checks in order: binding (409 `session/bound-elsewhere`), session active (409 `session/not-active`), nonce \
                   (409 `session/stale-nonce`), wallet supports the primitive (422), then the credential. \
                   A failed verification is a processed request: 200 with `outcome: failed`.",
    params(SessionPath, Binding),
    request_body(content = WalletResponse, description = "JSON body.", example = doc::wallet_response_example),
    responses(
        (status = 200, description = "The page state after the answer, and its outcome.", body = ResponseResult,
         example = doc::response_result_example),
        BodyErrors, BadOrigin, NotFound, Conflict, Unprocessable, ServerError, Busy,
    )
)]
async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, MAX_JSON_BODY).await?;
    // A body that does not parse is reported after the binding check (docs/DECISIONS.md §7).
    let answer = parse_json::<WalletResponse>(&bytes);
    Ok(ok(&uc::respond(&shared, &id, Responder::Browser(token(&headers)), answer).await?))
}
