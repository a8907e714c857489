//! The sandbox's control API under `/_sandbox` (docs/DECISIONS.md §8) and the built-in inbox.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use uip_types::sandbox::{
    BusinessPatch, FaultPlan, Inbox, InboxEntry, NewBusiness, RedeliverRequest, SimulateRequest,
};
use uip_types::validate::MAX_JSON_BODY;
use uip_types::ErrorCode;

use super::{json_response, ok, parse_json, read_body, Biz};
use crate::core as uc;
use crate::error::ApiError;
use crate::Shared;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sandbox/businesses", post(create_business))
        .route("/_sandbox/business", get(get_business).patch(patch_business))
        .route("/_sandbox/clock/advance", post(advance_clock))
        .route("/_sandbox/deliveries", get(deliveries))
        .route("/_sandbox/deliveries/{delivery_id}/redeliver", post(redeliver))
        .route("/_sandbox/sessions/{id}/simulate", post(simulate))
        .route("/_sandbox/faults", post(faults))
        .route("/_sandbox/inbox", post(inbox_receive).get(inbox_list))
        .route("/_sandbox/personas", get(personas))
}

/// Reads an optional JSON body: empty means the default value.
async fn body_or_default<T: serde::de::DeserializeOwned + Default>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let bytes = read_body(headers, body, MAX_JSON_BODY).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(&bytes)
}

async fn create_business(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let req: NewBusiness = body_or_default(&headers, body).await?;
    Ok(ok(&uc::create_business(&shared, req)?))
}

async fn get_business(State(shared): State<Arc<Shared>>, Biz(biz): Biz) -> Result<Response, ApiError> {
    Ok(ok(&uc::business_view(&shared, &biz)?))
}

async fn patch_business(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let patch: BusinessPatch = body_or_default(&headers, body).await?;
    Ok(ok(&uc::patch_business(&shared, &biz, patch)?))
}

/// Largest clock advance in one call: a year.
const MAX_ADVANCE_S: i64 = 31_536_000;

async fn advance_clock(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, MAX_JSON_BODY).await?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    let seconds =
        value.get("seconds").and_then(serde_json::Value::as_i64).filter(|s| (1..=MAX_ADVANCE_S).contains(s));
    let seconds = seconds.ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidField,
            format!("seconds must be an integer from 1 to {MAX_ADVANCE_S}"),
        )
        .param("seconds")
    })?;
    let now = uc::advance_clock(&shared, &biz, seconds)?;
    Ok(ok(&now))
}

#[derive(Deserialize)]
struct DeliveryQuery {
    session_id: Option<String>,
}

async fn deliveries(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Query(q): Query<DeliveryQuery>,
) -> Response {
    if let Some(sid) = &q.session_id {
        // Reading a session's deliveries is an access: an elapsed session resolves first.
        uc::resolve_expiry(&shared, &biz, sid);
    }
    ok(&uc::deliveries(&shared, &biz, q.session_id.as_deref()))
}

async fn redeliver(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Path(delivery_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let req: RedeliverRequest = body_or_default(&headers, body).await?;
    Ok(ok(&uc::redeliver(&shared, &biz, &delivery_id, req.fault)?))
}

async fn simulate(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let req: SimulateRequest = body_or_default(&headers, body).await?;
    Ok(ok(&uc::simulate(&shared, &biz, &id, req)?))
}

/// Whether a `with` value is one the fault injector knows.
fn valid_fault(with: &serde_json::Value) -> bool {
    match with {
        serde_json::Value::Number(n) => matches!(n.as_u64(), Some(500 | 503 | 429)),
        serde_json::Value::String(s) => {
            s == "reset"
                || s.strip_prefix("delay_ms:").is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n <= 60_000))
        }
        _ => false,
    }
}

async fn faults(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, MAX_JSON_BODY).await?;
    let plan: FaultPlan = parse_json(&bytes)?;
    if plan.fail_next > 0 && !valid_fault(&plan.with) {
        return Err(ApiError::new(
            ErrorCode::InvalidField,
            "with must be 500, 503, 429, \"reset\" or \"delay_ms:N\" (N ≤ 60000)",
        )
        .param("with"));
    }
    Ok(ok(&uc::set_faults(&shared, &biz, plan)?))
}

async fn personas() -> Response {
    ok(&uc::personas())
}

/// `POST /_sandbox/inbox`: a webhook receiver that verifies with the business's own secret.
async fn inbox_receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_body(&headers, body, MAX_JSON_BODY).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    match uc::receive_delivery(&shared, &headers, &bytes) {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => json_response(
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNAUTHORIZED),
            &uip_types::ApiErrorBody::new(ErrorCode::Other(format!("webhook/{}", e.kind())), e.to_string()),
        ),
        Err(e) => e.into_response(),
    }
}

async fn inbox_list(State(shared): State<Arc<Shared>>, Biz(biz): Biz, headers: HeaderMap) -> Response {
    let received: Vec<InboxEntry> = uc::inbox(&shared, &biz);
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    if wants_html {
        return Html(inbox_html(&received)).into_response();
    }
    ok(&Inbox { received })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn inbox_html(received: &[InboxEntry]) -> String {
    let rows: String = received
        .iter()
        .rev()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                escape(&uip_types::time::format_secs(&e.received_at)),
                escape(&e.event),
                escape(&e.delivery_id),
                if e.verified {
                    "✔ verified".to_owned()
                } else {
                    format!("✘ {}", escape(e.error.as_deref().unwrap_or("")))
                },
                escape(&e.body),
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>Sandbox inbox</title>\
         <link rel=\"stylesheet\" href=\"/_assets/page.css\"></head><body><h1>Webhook inbox</h1>\
         <p>{} deliveries received, newest first.</p><table><thead><tr><th>received</th><th>event</th>\
         <th>delivery id</th><th>signature</th><th>body</th></tr></thead><tbody>{rows}</tbody></table></body></html>",
        received.len()
    )
}
