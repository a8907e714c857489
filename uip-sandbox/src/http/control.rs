//! The sandbox's control API under `/_sandbox` (docs/DECISIONS.md §8) and the built-in inbox.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use uip_types::sandbox::{
    BusinessCredentials, BusinessPatch, BusinessView, ClockNow, DeliveryLog, DeliveryLogEntry, FaultPlan,
    Inbox, InboxEntry, NewBusiness, Personas, RedeliverRequest, SimulateRequest,
};
use uip_types::validate::MAX_JSON_BODY;
use uip_types::ErrorCode;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{
    self as doc, BadRequest, BodyErrors, Busy, Conflict, NotFound, ServerError, SessionPath, Unauthorized,
    Unprocessable, TAG_CONTROL,
};
use super::State;
use super::{
    escape_html, html_security_headers, json_response, ok, parse_control_json, read_body,
    refuse_duplicate_keys, Biz, Path, Query,
};
use crate::core as uc;
use crate::error::ApiError;
use crate::Shared;

pub(super) fn routes() -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(create_business))
        .routes(routes!(get_business, patch_business))
        .routes(routes!(advance_clock))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
        .routes(routes!(simulate))
        .routes(routes!(faults))
        .routes(routes!(inbox_receive, inbox_list))
        .routes(routes!(personas))
}

/// Reads an optional JSON body: empty (no bytes) means the default value; anything else, whitespace
/// included, must be a JSON object.
async fn body_or_default<T: serde::de::DeserializeOwned + Default>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let bytes = read_body(headers, body, MAX_JSON_BODY).await?;
    if bytes.is_empty() {
        return Ok(T::default());
    }
    parse_control_json(&bytes)
}

#[utoipa::path(
    post,
    path = "/_sandbox/businesses",
    operation_id = "createBusiness",
    tag = TAG_CONTROL,
    summary = "Create an isolated business",
    request_body(content = Option<NewBusiness>, description = "Optional JSON body; empty means every default.",
                 example = doc::new_business_example),
    responses(
        (status = 200, description = "Its credentials (the only time the API key is shown).",
         body = BusinessCredentials, example = doc::business_credentials_example),
        BodyErrors, ServerError, Busy,
    )
)]
async fn create_business(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let req: NewBusiness = body_or_default(&headers, body).await?;
    Ok(ok(&uc::create_business(&shared, req).await?))
}

#[utoipa::path(
    get,
    path = "/_sandbox/business",
    operation_id = "getBusiness",
    tag = TAG_CONTROL,
    summary = "Read the business of the API key",
    security(("apiKey" = [])),
    responses(
        (status = 200, description = "The business (never its API key).", body = BusinessView,
         example = doc::business_view_example),
        Unauthorized, ServerError,
    )
)]
async fn get_business(State(shared): State<Arc<Shared>>, Biz(biz): Biz) -> Result<Response, ApiError> {
    Ok(ok(&uc::business_view(&shared, &biz)?))
}

#[utoipa::path(
    patch,
    path = "/_sandbox/business",
    operation_id = "patchBusiness",
    tag = TAG_CONTROL,
    summary = "Change the business of the API key",
    description = "`webhook_url: null` clears the URL; `rotate_webhook_secret: true` returns a new secret.",
    security(("apiKey" = [])),
    request_body(content = Option<BusinessPatch>, description = "Optional JSON body; empty means every default.",
                 example = doc::business_patch_example),
    responses(
        (status = 200, description = "The business after the change.", body = BusinessView,
         example = doc::business_view_example),
        BodyErrors, Unauthorized, ServerError,
    )
)]
async fn patch_business(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let patch: BusinessPatch = body_or_default(&headers, body).await?;
    Ok(ok(&uc::patch_business(&shared, &biz, patch).await?))
}

/// Control-API bodies refuse unknown fields (docs/DECISIONS.md §11): 400 `request/invalid-field`
/// naming the first one. A body that is not an object is left to the caller's own check.
fn refuse_unknown_fields(body: &serde_json::Value, known: &[&str]) -> Result<(), ApiError> {
    let unknown = body.as_object().and_then(|o| o.keys().find(|k| !known.contains(&k.as_str())));
    match unknown {
        Some(field) => {
            Err(ApiError::new(ErrorCode::InvalidField, format!("unknown field `{field}`"))
                .param(field.as_str()))
        }
        None => Ok(()),
    }
}

/// Largest clock advance in one call: a year.
pub(super) const MAX_ADVANCE_S: i64 = 31_536_000;

#[utoipa::path(
    post,
    path = "/_sandbox/clock/advance",
    operation_id = "advanceClock",
    tag = TAG_CONTROL,
    summary = "Move this business's clock forward",
    description = "Expiry, step windows and ages use it; sessions resolve on the next access or sweep.",
    security(("apiKey" = [])),
    request_body(content = doc::ClockAdvance, description = "JSON body.", example = doc::clock_advance_example),
    responses(
        (status = 200, description = "The business's clock after advancing.", body = ClockNow,
         example = doc::clock_now_example),
        BodyErrors, Unauthorized, ServerError,
    )
)]
async fn advance_clock(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, MAX_JSON_BODY).await?;
    refuse_duplicate_keys(&bytes)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    refuse_unknown_fields(&value, &["seconds"])?;
    // An integer, written `3600` or `3600.0` (JSON Schema counts both as integers).
    let seconds = value
        .get("seconds")
        .and_then(|s| {
            s.as_i64().or_else(|| s.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e15).map(|f| f as i64))
        })
        .filter(|s| (1..=MAX_ADVANCE_S).contains(s));
    let seconds = seconds.ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidField,
            format!("seconds must be an integer from 1 to {MAX_ADVANCE_S}"),
        )
        .param("seconds")
    })?;
    let now = uc::advance_clock(&shared, &biz, seconds).await?;
    Ok(ok(&now))
}

#[derive(Deserialize)]
struct DeliveryQuery {
    session_id: Option<String>,
}

#[utoipa::path(
    get,
    path = "/_sandbox/deliveries",
    operation_id = "listDeliveries",
    tag = TAG_CONTROL,
    summary = "The webhook delivery log, oldest first",
    security(("apiKey" = [])),
    params(("session_id" = Option<String>, Query,
            description = "Only this session's deliveries (another business's: none).")),
    responses(
        (status = 200, description = "The log.", body = DeliveryLog, example = doc::delivery_log_example),
        BadRequest, Unauthorized, ServerError,
    )
)]
async fn deliveries(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Query(q): Query<DeliveryQuery>,
) -> Response {
    if let Some(sid) = &q.session_id {
        // Reading a session's deliveries is an access: an elapsed session resolves first.
        uc::resolve_expiry(&shared, &biz, sid).await;
    }
    ok(&uc::deliveries(&shared, &biz, q.session_id.as_deref()))
}

#[utoipa::path(
    post,
    path = "/_sandbox/deliveries/{delivery_id}/redeliver",
    operation_id = "redeliver",
    tag = TAG_CONTROL,
    summary = "Queue an event once more (same id and body), optionally with a fault",
    security(("apiKey" = [])),
    params(("delivery_id" = String, Path, description = "The delivery id, raw or percent-encoded.",
            example = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w:session.completed")),
    request_body(content = Option<RedeliverRequest>, description = "Optional JSON body; empty means every default.",
                 example = doc::redeliver_example),
    responses(
        (status = 200, description = "The entry, back to `pending`.", body = DeliveryLogEntry,
         example = doc::delivery_example),
        BodyErrors, Unauthorized, NotFound, ServerError,
    )
)]
async fn redeliver(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Path(delivery_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let req: RedeliverRequest = body_or_default(&headers, body).await?;
    Ok(ok(&uc::redeliver(&shared, &biz, &delivery_id, req.fault).await?))
}

#[utoipa::path(
    post,
    path = "/_sandbox/sessions/{id}/simulate",
    operation_id = "simulateSession",
    tag = TAG_CONTROL,
    summary = "Drive the hosted page as the user would",
    description = "Binds the session like a first open; answers until it pauses or ends (or `steps` times).",
    security(("apiKey" = [])),
    params(SessionPath),
    request_body(content = Option<doc::SimulateBody>, description = "Optional JSON body; empty means every default.",
                 example = doc::simulate_example),
    responses(
        (status = 200, description = "The session after the simulated steps.", body = uip_types::SessionView,
         links(
             ("getSession" = (operation_id = "getSession", parameters(("path.id" = "$response.body#/id")))),
             ("getFirstAudit" = (operation_id = "getAudit", parameters(("path.id" = "{$response.body#/id}_0")))),
             ("listDeliveries" = (operation_id = "listDeliveries",
                                  parameters(("query.session_id" = "$response.body#/id")))),
         ),
         example = doc::session_view_example),
        BodyErrors, Unauthorized, NotFound, Conflict, Unprocessable, ServerError,
    )
)]
async fn simulate(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let req: SimulateRequest = body_or_default(&headers, body).await?;
    Ok(ok(&uc::simulate(&shared, &biz, &id, req).await?))
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

#[utoipa::path(
    post,
    path = "/_sandbox/faults",
    operation_id = "injectFaults",
    tag = TAG_CONTROL,
    summary = "Make this business's next n business-API requests fail",
    description = "`with`: 500, 503, 429, \"reset\" or \"delay_ms:N\" (N ≤ 60000); `fail_next: 0` clears.",
    security(("apiKey" = [])),
    request_body(content = FaultPlan, description = "JSON body.", example = doc::fault_plan_example),
    responses(
        (status = 200, description = "The plan now armed.", body = FaultPlan, example = doc::fault_plan_example),
        BodyErrors, Unauthorized, ServerError,
    )
)]
async fn faults(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, MAX_JSON_BODY).await?;
    let plan: FaultPlan = parse_control_json(&bytes)?;
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        refuse_unknown_fields(&value, &["fail_next", "with"])?;
    }
    if plan.fail_next > 0 && !valid_fault(&plan.with) {
        return Err(ApiError::new(
            ErrorCode::InvalidField,
            "with must be 500, 503, 429, \"reset\" or \"delay_ms:N\" (N ≤ 60000)",
        )
        .param("with"));
    }
    Ok(ok(&uc::set_faults(&shared, &biz, plan)))
}

#[utoipa::path(
    get,
    path = "/_sandbox/personas",
    operation_id = "listPersonas",
    tag = TAG_CONTROL,
    summary = "The built-in personas",
    responses(
        (status = 200, description = "Every persona with its claims and device public key.", body = Personas,
         example = doc::personas_example),
    )
)]
async fn personas() -> Response {
    ok(&uc::personas())
}

/// `POST /_sandbox/inbox`: a webhook receiver that verifies with the business's own secret.
#[utoipa::path(
    post,
    path = "/_sandbox/inbox",
    operation_id = "inboxReceive",
    tag = TAG_CONTROL,
    summary = "The built-in webhook receiver",
    description = "No auth: finds the business from `data.session_id` and verifies the X-UIP-* signature \
                   with that business's secret. Error codes are `webhook/<kind>` from the verifier. A delivery \
                   whose `data.session_id` names no session of this sandbox is 400 \
                   `request/invalid-payload`: only deliveries this sandbox sent can be received.",
    request_body(content = uip_types::WebhookEvent, description = "JSON body.", example = doc::inbox_event_example),
    responses(
        (status = 204, description = "Verified and recorded."),
        BodyErrors, Unauthorized, ServerError, Busy,
    )
)]
async fn inbox_receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_body(&headers, body, MAX_JSON_BODY).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = refuse_duplicate_keys(&bytes) {
        return e.into_response();
    }
    match uc::receive_delivery(&shared, &headers, &bytes) {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => json_response(
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNAUTHORIZED),
            &uip_types::ApiErrorBody::new(ErrorCode::Other(format!("webhook/{}", e.kind())), e.to_string()),
        ),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/_sandbox/inbox",
    operation_id = "inboxList",
    tag = TAG_CONTROL,
    summary = "What the built-in receiver got for this business",
    description = "JSON, or an HTML page when the client accepts text/html.",
    security(("apiKey" = [])),
    responses(
        (status = 200, description = "The received deliveries, oldest first.",
         content((Inbox = "application/json", example = doc::inbox_example), (String = "text/html"))),
        Unauthorized, ServerError,
    )
)]
async fn inbox_list(State(shared): State<Arc<Shared>>, Biz(biz): Biz, headers: HeaderMap) -> Response {
    let received: Vec<InboxEntry> = uc::inbox(&shared, &biz);
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    if wants_html {
        let mut r = Html(inbox_html(&received)).into_response();
        html_security_headers(&mut r);
        return r;
    }
    ok(&Inbox::new(received))
}

fn inbox_html(received: &[InboxEntry]) -> String {
    let rows: String = received
        .iter()
        .rev()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                escape_html(&uip_types::time::format_secs(&e.received_at)),
                escape_html(&e.event),
                escape_html(&e.delivery_id),
                if e.verified {
                    "✔ verified".to_owned()
                } else {
                    format!("✘ {}", escape_html(e.error.as_deref().unwrap_or("")))
                },
                escape_html(&e.body),
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
