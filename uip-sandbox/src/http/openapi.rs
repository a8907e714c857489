//! `GET /openapi.json`: the OpenAPI 3.1 document of the sandbox's whole HTTP surface — the
//! business API (`/v1`), the hosted page and its transport (`/s/{id}`), the control API
//! (`/_sandbox`) and `/healthz` — plus the webhooks it sends (`webhooks`).
//!
//! The document comes from the routes: every handler declares its operation with
//! `#[utoipa::path]` and is mounted through utoipa-axum's `OpenApiRouter` (`super::surface`), so
//! the router and the document are one table. This module holds what the operations share: the
//! document's frame (info, tags, security scheme), the error answers, the parameters of the
//! hosted page, the examples, and the `webhooks` section (utoipa's model has no field for it).
//! Every body schema is the `utoipa::ToSchema` of the `uip-types` type the handlers
//! (de)serialize; `uip-sandbox/openapi.json` is the committed snapshot (`tests/openapi.rs`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::response::Response;
use serde_json::{json, Value};
use uip_types::{ApiErrorBody, WebhookEvent};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr,
    Required, ResponseBuilder, Schema, Tag,
};
use utoipa::{IntoParams, IntoResponses, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::State;
use crate::Shared;

/// The route that serves the document.
pub(super) fn routes() -> OpenApiRouter {
    OpenApiRouter::new().routes(routes!(serve))
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = TAG_META,
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object, content_type = "application/json"))
)]
async fn serve(State(shared): State<Arc<Shared>>) -> Response {
    let mut doc = document().clone();
    doc["servers"] = json!([{ "url": shared.public_url, "description": "this sandbox" }]);
    super::ok(&doc)
}

/// The document (without `servers`, which depend on the running sandbox), built once from the
/// routes.
pub(crate) fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| finish(super::surface().into_openapi()))
}

pub(super) const TAG_API: &str = "business API";
pub(super) const TAG_PAGE: &str = "hosted page";
pub(super) const TAG_CONTROL: &str = "sandbox control";
pub(super) const TAG_META: &str = "meta";

/// The frame the routes fill: info, tags, the security scheme and the schemas no operation body
/// names (the error body, referenced by the shared error answers; the webhook bodies).
pub(super) fn base() -> OpenApi {
    let mut schemas = Vec::new();
    register::<ApiErrorBody>(&mut schemas);
    register::<WebhookEvent>(&mut schemas);
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The business's API key (`uip_test_…`) as `Authorization: Bearer <key>`.",
                    ))
                    .build(),
            ),
        )
        .build();
    let info = InfoBuilder::new()
        .title("UIP sandbox")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "A faithful, stateful sandbox of the UIP identity-verification API: the business API \
             under /v1, the hosted page and its internal transport under /s/{id}, and the sandbox's \
             own control API under /_sandbox. Errors are `{error, code, param?}` (ApiErrorBody); an \
             unknown route is 404 `request/not-found`, a wrong method 405 `request/method-not-allowed`. \
             Results are delivered only by webhook (see `webhooks`).",
        ))
        .build();
    let tags = [
        (TAG_API, "The UIP business API (what the real service documents)."),
        (
            TAG_PAGE,
            "The hosted page and its internal transport (sandbox-specific; binding by cookie or header).",
        ),
        (TAG_CONTROL, "The sandbox's control API: businesses, clock, deliveries, simulation, faults, inbox."),
        (TAG_META, "Health and this document."),
    ]
    .map(|(name, text)| {
        let mut t = Tag::new(name);
        t.description = Some(text.to_owned());
        t
    });
    OpenApiBuilder::new().info(info).components(Some(components)).tags(Some(tags)).build()
}

/// The served form: utoipa's model as JSON, with what the model cannot say.
fn finish(api: OpenApi) -> Value {
    let mut doc = match serde_json::to_value(&api) {
        Ok(v) => v,
        Err(e) => json!({ "openapi": "3.1.0", "error": e.to_string() }),
    };
    doc["webhooks"] = webhooks();
    fix_link_keys(&mut doc);
    fix_optional_bodies(&mut doc);
    doc
}

/// An optional JSON body is `request_body(content = Option<T>)` in `#[utoipa::path]`; utoipa
/// writes its schema as `oneOf [null, T]`, but the default is an empty body, never `null` (which
/// is refused with 400): the schema is `T`, with `required: false`.
fn fix_optional_bodies(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            let Some(body) = op.get_mut("requestBody").and_then(Value::as_object_mut) else { continue };
            if body.get("required") == Some(&Value::Bool(true)) {
                continue;
            }
            let Some(content) = body.get_mut("content").and_then(Value::as_object_mut) else { continue };
            for media in content.values_mut() {
                let Some(schema) = media.get_mut("schema") else { continue };
                let inner =
                    schema.get("oneOf").and_then(Value::as_array).and_then(|branches| match &branches[..] {
                        [a, b] if *a == json!({ "type": "null" }) => Some(b.clone()),
                        _ => None,
                    });
                if let Some(inner) = inner {
                    *schema = inner;
                }
            }
            body.insert("required".to_owned(), Value::Bool(false));
        }
    }
}

/// utoipa 5's `Link` serializes its fields in snake_case (`operation_id`); OpenAPI spells them
/// in camelCase, and tools ignore a link without `operationId`.
fn fix_link_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(links)) = m.get_mut("links") {
                for link in links.values_mut() {
                    if let Value::Object(l) = link {
                        for (from, to) in [
                            ("operation_id", "operationId"),
                            ("operation_ref", "operationRef"),
                            ("request_body", "requestBody"),
                        ] {
                            if let Some(x) = l.remove(from) {
                                l.insert(to.to_owned(), x);
                            }
                        }
                    }
                }
            }
            m.values_mut().for_each(fix_link_keys);
        }
        Value::Array(a) => a.iter_mut().for_each(fix_link_keys),
        _ => {}
    }
}

fn register<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// A schema written as JSON (plain keywords only: `type`, `minimum`, `maxLength`, …).
fn inline(v: Value) -> RefOr<Schema> {
    serde_json::from_value(v).unwrap_or_else(|_| RefOr::T(Schema::default()))
}

fn text_schema() -> RefOr<Schema> {
    inline(json!({ "type": "string" }))
}

// ---- error answers ----

fn error_doc(status: u16) -> (&'static str, Value) {
    let (text, code, message) = match status {
        400 => ("The request is invalid (`request/*`): see `code` and `param`.", "request/invalid-payload", "invalid JSON body: expected value at line 1 column 1"),
        401 => ("No API key (`auth/missing-api-key`) or an unknown one (`auth/invalid-api-key`).", "auth/invalid-api-key", "the API key is not valid"),
        402 => ("The balance is below the session's total price (`payment/insufficient-funds`).", "payment/insufficient-funds", "the balance (0 cents) is below the session's price (2 cents)"),
        403 => ("A hosted-page POST whose `Origin` header is not the sandbox's public origin (`request/bad-origin`); nothing was changed.", "request/bad-origin", "hosted-page requests must come from http://127.0.0.1:8787"),
        408 => ("The request (body or handling) was not complete within the time limit of 60 s (`request/timeout`); the connection is closed.", "request/timeout", "the request was not complete within 60 s"),
        404 => ("Unknown — or another business's, which is indistinguishable (`resource/not-found`).", "resource/not-found", "no such session"),
        409 => ("A conflict with the session's state (`session/not-awaiting-decision`, `session/not-active`, `session/stale-nonce`), an Idempotency-Key reused with another body (`request/idempotency-conflict`), or on hosted-page routes a session bound to another browser or no binding presented (`session/bound-elsewhere`).", "session/not-awaiting-decision", "the session is in_progress, not awaiting_decision"),
        410 => ("The documents were purged (`session/documents-purged`).", "session/documents-purged", "the documents of this session were purged"),
        413 => ("The body is over the limit (`request/too-large`): JSON 1 MiB; multipart 50 MiB of documents + 1 MiB, at most 50 documents.", "request/too-large", "the body is over the limit of 1048576 bytes"),
        415 => ("Neither application/json nor multipart/form-data (`request/unsupported-media-type`).", "request/unsupported-media-type", "send application/json, or multipart/form-data when a step is `sign`"),
        422 => ("No webhook URL configured (`request/webhook-missing`), or the wallet does not support the step's primitive (`wallet/unsupported-primitive`).", "request/webhook-missing", "configure a webhook URL for this business before creating sessions"),
        429 => ("Injected by `/_sandbox/faults` (`request/rate-limited`).", "request/rate-limited", "injected fault: 429"),
        500 => ("A sandbox bug or a failed database write (`internal/server-error`), or injected by `/_sandbox/faults`; never a crash.", "internal/server-error", "injected fault: 500"),
        503 => ("Injected by `/_sandbox/faults` (`internal/unavailable`).", "internal/unavailable", "injected fault: 503"),
        _ => ("An error.", "internal/server-error", "error"),
    };
    (text, json!({ "error": message, "code": code }))
}

/// Error answers (`ApiErrorBody`) with these statuses.
fn error_responses(statuses: &[u16]) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    statuses
        .iter()
        .map(|&status| {
            let (text, example) = error_doc(status);
            let content = ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name(ApiErrorBody::name()))))
                .example(Some(example))
                .build();
            let mut resp = ResponseBuilder::new().description(text).content("application/json", content);
            if status == 429 || status == 503 {
                resp = resp.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(text_schema())
                        .description(Some("Seconds to wait (`1` for injected faults)."))
                        .build(),
                );
            }
            (status.to_string(), RefOr::T(resp.build()))
        })
        .collect()
}

/// 503 on routes that take a body without an API key: the unauthenticated in-flight limit
/// (docs/DECISIONS.md §11) is reached; the answer comes at once and the connection is closed.
pub(super) struct Busy;

impl IntoResponses for Busy {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        let mut answers = BTreeMap::new();
        let example = json!({
            "error": "too many requests without an API key are sending their bodies; retry shortly",
            "code": "internal/unavailable",
        });
        let content = ContentBuilder::new()
            .schema(Some(RefOr::Ref(Ref::from_schema_name(ApiErrorBody::name()))))
            .example(Some(example))
            .build();
        let resp = ResponseBuilder::new()
            .description(
                "Too many requests with a body and no API key are in flight (`internal/unavailable`); \
                 the connection is closed. Retry after the `Retry-After` seconds.",
            )
            .content("application/json", content)
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(text_schema())
                    .description(Some("Seconds to wait (`1`)."))
                    .build(),
            )
            .build();
        answers.insert("503".to_owned(), RefOr::T(resp));
        answers
    }
}

macro_rules! error_answers {
    ($($(#[$doc:meta])* $name:ident = [$($status:literal),+];)+) => {$(
        $(#[$doc])*
        pub(super) struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                error_responses(&[$($status),+])
            }
        }
    )+};
}

error_answers! {
    /// 400 and 413: an invalid or oversized JSON body.
    BodyErrors = [400, 413];
    /// 400: an invalid request.
    BadRequest = [400];
    /// 401: no or an unknown API key.
    Unauthorized = [401];
    /// 402: the balance is too low.
    PaymentRequired = [402];
    /// 403: a hosted-page POST from another origin.
    BadOrigin = [403];
    /// 404: unknown (or another business's).
    NotFound = [404];
    /// 409: a conflict with the session's state, or (hosted page) bound to another browser.
    Conflict = [409];
    /// 410: the documents were purged.
    Gone = [410];
    /// 415: an unsupported media type.
    UnsupportedMediaType = [415];
    /// 422: no webhook URL, or an unsupported primitive.
    Unprocessable = [422];
    /// 500: a sandbox bug or a failed write.
    ServerError = [500];
    /// 408 (the request time limit), and 429, 500 and 503: what `/_sandbox/faults` can inject
    /// into the business API.
    V1Errors = [408, 429, 500, 503];
}

// ---- shared parameters ----

/// Example session id.
pub(super) const SESSION_ID: &str = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w";

/// The `{id}` of the session routes.
pub(super) struct SessionPath;

impl IntoParams for SessionPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("The session id (`sess_…`)."))
            .schema(Some(text_schema()))
            .example(Some(json!(SESSION_ID)))
            .build()]
    }
}

/// Hosted-page routes: the binding token as the `uip_bind` cookie or the `X-UIP-Binding` header.
pub(super) struct Binding;

impl IntoParams for Binding {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name("X-UIP-Binding")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some("The binding token of `POST /s/{id}/open` (wins over the cookie)."))
                .schema(Some(text_schema()))
                .build(),
            ParameterBuilder::new()
                .name("uip_bind")
                .parameter_in(ParameterIn::Cookie)
                .required(Required::False)
                .description(Some("The binding cookie set by the first open (HttpOnly, SameSite=Strict)."))
                .schema(Some(text_schema()))
                .build(),
        ]
    }
}

/// The `Idempotency-Key` header of `POST /v1/sessions` (limits from `uip_types::validate`).
pub(super) struct IdempotencyKey;

impl IntoParams for IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let max = uip_types::validate::MAX_IDEMPOTENCY_KEY;
        vec![ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(format!(
                "1..={max} visible ASCII characters, scoped to the business, kept 24 h. Same key and body: \
                 the original answer again (`Idempotent-Replayed: true`); another body: 409."
            )))
            .schema(Some(inline(
                json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": "^[!-~]+$" }),
            )))
            .build()]
    }
}

/// The multipart form of `POST /v1/sessions`: a `session` part and `document` parts.
pub(super) struct CreateSessionForm;

impl PartialSchema for CreateSessionForm {
    fn schema() -> RefOr<Schema> {
        inline(json!({
            "type": "object",
            "description": format!(
                "A `session` part with the JSON body, and `document` parts: one file per part; `filename` \
                 required and unique; at most {} parts, {} MiB combined.",
                uip_types::validate::MAX_DOCUMENTS,
                uip_types::validate::MAX_DOCUMENT_BYTES / (1024 * 1024)
            ),
            "required": ["session"],
            "properties": {
                "session": { "$ref": "#/components/schemas/CreateSessionRequest" },
                "document": {
                    "type": "array",
                    "maxItems": uip_types::validate::MAX_DOCUMENTS,
                    "items": { "type": "string", "contentMediaType": "application/octet-stream" }
                }
            },
            "additionalProperties": false
        }))
    }
}

impl ToSchema for CreateSessionForm {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        register::<uip_types::CreateSessionRequest>(schemas);
    }
}

/// The body of `POST /_sandbox/clock/advance`.
pub(super) struct ClockAdvance;

impl PartialSchema for ClockAdvance {
    fn schema() -> RefOr<Schema> {
        inline(json!({
            "type": "object",
            "description": "How far to move this business's clock.",
            "required": ["seconds"],
            "properties": {
                "seconds": { "type": "integer", "minimum": 1, "maximum": super::control::MAX_ADVANCE_S }
            },
            "additionalProperties": false
        }))
    }
}

impl ToSchema for ClockAdvance {}

/// The body of `POST /_sandbox/sessions/{id}/simulate` (`uip_types::sandbox::SimulateRequest`) as
/// this sandbox takes it: only its personas and the wallets it knows, and no other field.
pub(super) struct SimulateBody;

impl PartialSchema for SimulateBody {
    fn schema() -> RefOr<Schema> {
        let personas: Vec<&str> = crate::engine::wallet::personas().iter().map(|p| p.id).collect();
        let wallets: Vec<&str> = uip_types::WalletId::KNOWN.iter().map(|w| w.as_str()).collect();
        inline(json!({
            "type": "object",
            "description": "What the simulated user does; every field is optional.",
            "properties": {
                "persona": {
                    "description": "Persona id (default `jane-doe`); see `GET /_sandbox/personas`.",
                    "oneOf": [{ "type": "string", "enum": personas }, { "type": "null" }]
                },
                "wallet": {
                    "description": "Wallet (default `apple-wallet`).",
                    "oneOf": [{ "type": "string", "enum": wallets }, { "type": "null" }]
                },
                "action": {
                    "description": "Share, decline or fail the step with `internal_error` (default share).",
                    "oneOf": [{ "$ref": "#/components/schemas/SimulateAction" }, { "type": "null" }]
                },
                "steps": {
                    "type": ["integer", "null"],
                    "description": "How many steps to answer (default: until the session pauses or ends); one \
                                    call answers at most 100.",
                    "minimum": 0,
                    "maximum": uip_types::validate::MAX_SIMULATE_STEPS
                }
            },
            "additionalProperties": false
        }))
    }
}

impl ToSchema for SimulateBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        register::<uip_types::sandbox::SimulateAction>(schemas);
    }
}

// ---- examples ----

pub(super) fn create_session_example() -> Value {
    json!({
        "steps": [
            { "primitive": "identify", "params": { "blocks": ["first_name", "last_name", "country"] }, "gate": true },
            { "primitive": "light_sign", "params": { "terms": "I accept the terms.", "title": "Terms" } }
        ],
        "client_reference_id": "order_4815",
        "metadata": { "cart": "c_42" },
        "return_url": "https://shop.example.com/verified",
        "expires_in": 900
    })
}

pub(super) fn created_session_example() -> Value {
    json!({
        "id": SESSION_ID, "status": "created", "url": format!("http://127.0.0.1:8787/s/{SESSION_ID}"),
        "expires": "2026-06-07T12:15:00Z"
    })
}

pub(super) fn session_view_example() -> Value {
    json!({
        "id": SESSION_ID, "status": "awaiting_decision", "current_step": 0, "step_count": 2,
        "primitives": ["identify", "sign"], "current_primitive": "identify",
        "expires_at": "2026-06-07T13:00:00Z", "created_at": "2026-06-07T12:00:00Z",
        "updated_at": "2026-06-07T12:01:30Z", "client_reference_id": "order_4815"
    })
}

pub(super) fn continued_example() -> Value {
    json!({ "id": SESSION_ID, "status": "in_progress", "current_step": 1, "step_count": 2, "current_primitive": "sign" })
}

pub(super) fn stopped_example() -> Value {
    json!({ "id": SESSION_ID, "status": "stopped", "current_step": 0, "step_count": 2 })
}

pub(super) fn audit_example() -> Value {
    json!({
        "id": format!("{SESSION_ID}_0"), "session_id": SESSION_ID, "stage": 0,
        "primitive": "age_verify", "wallet": "apple-wallet",
        "proof": { "satisfied": true, "min_age": 21 },
        "occurred_at": "2026-06-07T12:01:30.000000000Z", "client_reference_id": "order_4815",
        "prev_hash": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "record_hash": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "business_redacted": true
    })
}

fn wallet_info_example() -> Value {
    json!([
        { "id": "apple-wallet", "name": "Apple Wallet", "browser": "Safari", "credential": "mdl",
          "countries": ["US"], "primitives": ["identify", "age_verify", "sign", "light_sign"] },
        { "id": "google-wallet", "name": "Google Wallet", "browser": "Chrome", "credential": "mdl",
          "countries": ["US"], "primitives": ["identify", "age_verify", "light_sign"] }
    ])
}

pub(super) fn catalog_example() -> Value {
    json!({
        "primitives": [
            { "name": "age_verify", "price_cents": 1, "params": { "min_age": "integer 1..=120; default 18" } },
            { "name": "light_sign", "price_cents": 2, "params": { "terms": "string 1..=10000 chars, required" } }
        ],
        "wallets": wallet_info_example()
    })
}

pub(super) fn wallets_example() -> Value {
    json!({ "wallets": wallet_info_example() })
}

pub(super) fn open_example() -> Value {
    json!({ "binding": "q9Rk3p0wZcVx8Jm2LbN5tY7uE1sAa4dFgHhJjKkLlMm" })
}

pub(super) fn page_state_example() -> Value {
    json!({
        "status": "in_progress", "current_step": 1, "step_count": 2, "current_primitive": "age_verify",
        "step_expires_at": "2026-06-07T12:11:30Z", "return_url": "https://shop.example.com/verified",
        "business_name": "Sandbox business"
    })
}

pub(super) fn wallet_request_example() -> Value {
    json!({
        "stage": 1, "primitive": "light_sign", "nonce": "mC2s9QbX4vLrT1kZpW8yJg",
        "origin": "http://127.0.0.1:8787", "title": "Terms", "terms": "I accept the terms.",
        "document_hash": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        "expires_at": "2026-06-07T12:11:30Z"
    })
}

pub(super) fn wallet_response_example() -> Value {
    json!({ "nonce": "mC2s9QbX4vLrT1kZpW8yJg", "wallet": "apple-wallet", "action": "share", "persona": "jane-doe" })
}

pub(super) fn response_result_example() -> Value {
    json!({
        "status": "completed", "current_step": 1, "step_count": 2, "current_primitive": "age_verify",
        "business_name": "Sandbox business", "outcome": "verified"
    })
}

pub(super) fn new_business_example() -> Value {
    json!({ "webhook_url": "https://example.com/uip-webhook", "balance_cents": 500, "trust": "production", "name": "Shop" })
}

pub(super) fn business_credentials_example() -> Value {
    json!({
        "business_id": "biz_4kQ9mZ2pX7rT1vB8", "api_key": "uip_test_4kQ9mZ2pX7rT1vB8nC3dK6wLmZ9pX4rT",
        "webhook_secret": "uip_whsec_8nC3dK6wLmZ9pX4rT1vB8nC3dK6wLmZ9", "webhook_url": "https://example.com/uip-webhook",
        "balance_cents": 500, "trust": "production"
    })
}

pub(super) fn business_view_example() -> Value {
    json!({
        "business_id": "biz_default", "name": "Sandbox business",
        "webhook_url": "http://127.0.0.1:8787/_sandbox/inbox", "webhook_secret": "uip_whsec_sandbox",
        "balance_cents": 100000, "trust": "demo", "clock_offset_s": 0
    })
}

pub(super) fn business_patch_example() -> Value {
    json!({ "balance_cents": 10, "rotate_webhook_secret": true })
}

pub(super) fn clock_advance_example() -> Value {
    json!({ "seconds": 3600 })
}

pub(super) fn clock_now_example() -> Value {
    json!({ "now": "2026-06-07T13:00:00Z" })
}

pub(super) fn delivery_example() -> Value {
    json!({
        "delivery_id": format!("{SESSION_ID}:step.completed:0"), "event": "step.completed",
        "session_id": SESSION_ID, "status": "delivered",
        "attempts": [
            { "at": "2026-06-07T12:01:30Z", "status_code": 500, "error": "receiver answered 500", "duration_ms": 4 },
            { "at": "2026-06-07T12:01:31Z", "status_code": 200, "duration_ms": 3 }
        ],
        "body": format!("{{\"event\":\"step.completed\",\"data\":{{\"session_id\":\"{SESSION_ID}\",\"stage\":0,\"primitive\":\"age_verify\",\"audit_id\":\"{SESSION_ID}_0\",\"satisfied\":true,\"min_age\":21}}}}")
    })
}

pub(super) fn delivery_log_example() -> Value {
    json!({ "deliveries": [delivery_example()] })
}

pub(super) fn redeliver_example() -> Value {
    json!({ "fault": "stale_timestamp" })
}

pub(super) fn simulate_example() -> Value {
    json!({ "persona": "minor", "wallet": "google-wallet", "action": "share", "steps": 1 })
}

pub(super) fn fault_plan_example() -> Value {
    json!({ "fail_next": 2, "with": 503 })
}

pub(super) fn inbox_event_example() -> Value {
    json!({ "event": "session.completed", "data": { "session_id": SESSION_ID, "status": "completed" } })
}

pub(super) fn inbox_example() -> Value {
    json!({ "received": [{
        "delivery_id": format!("{SESSION_ID}:session.completed"), "event": "session.completed",
        "verified": true, "received_at": "2026-06-07T12:01:31Z",
        "body": format!("{{\"event\":\"session.completed\",\"data\":{{\"session_id\":\"{SESSION_ID}\",\"status\":\"completed\"}}}}")
    }] })
}

pub(super) fn personas_example() -> Value {
    json!({ "personas": [{
        "id": "jane-doe", "description": "An adult with every block",
        "claims": { "first_name": "Jane", "last_name": "Doe", "dob": "1990-04-01", "country": "US" },
        "device_public_key": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik", "outcome": "verifies"
    }] })
}

// ---- webhooks ----

/// The summary of an event's webhook.
fn webhook_summary(event: &str) -> &'static str {
    match event {
        uip_types::STEP_COMPLETED => "A step verified: its result",
        uip_types::SESSION_COMPLETED => "Every step verified",
        uip_types::SESSION_STOPPED => "The business stopped the session at a gate",
        uip_types::SESSION_FAILED => "A step failed",
        uip_types::SESSION_EXPIRED => "The session or a step window expired",
        _ => "A UIP event",
    }
}

/// The webhooks the sandbox sends (OpenAPI 3.1 `webhooks`; utoipa's model has no field for
/// it): one entry per event, each with its own body schema and the four X-UIP-* headers.
fn webhooks() -> Value {
    let header = |name: &str, text: Cow<'_, str>, schema: Value| json!({ "name": name, "in": "header", "required": true, "description": text, "schema": schema });
    let mut out = serde_json::Map::new();
    for (event, schema) in uip_types::webhook_event_schemas() {
        let summary = webhook_summary(event);
        let delivery_id = if event == uip_types::STEP_COMPLETED {
            "`{session_id}:step.completed:{stage}`"
        } else {
            "`{session_id}:{event}`"
        };
        let operation = json!({
            "post": {
                "operationId": webhook_operation_id(event),
                "summary": summary,
                "description": "POSTed to the business's webhook URL. Signature: lowercase hex HMAC-SHA256 with the \
                                UTF-8 bytes of the whole webhook secret as key, over `{X-UIP-Timestamp}.{raw body}`. \
                                Per session, an event is sent only after the previous one succeeded (any 2xx) or \
                                was marked failed; retries keep the body and delivery id and are signed afresh.",
                "parameters": [
                    header(uip_types::HEADER_EVENT, Cow::Borrowed("The event name."), json!({ "type": "string", "enum": [event] })),
                    header(uip_types::HEADER_TIMESTAMP, Cow::Borrowed("Unix seconds at signing (real time), decimal."), json!({ "type": "string", "pattern": "^[0-9]+$" })),
                    header(uip_types::HEADER_SIGNATURE, Cow::Borrowed("Lowercase hex HMAC-SHA256 of `{timestamp}.{body}`."), json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" })),
                    header(uip_types::HEADER_DELIVERY_ID, Cow::Owned(format!("Stable across retries: {delivery_id}.")), json!({ "type": "string" }))
                ],
                "requestBody": {
                    "required": true,
                    "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
                },
                "responses": { "2XX": { "description": "Accepted; any other answer (or none within the timeout) is retried." } }
            }
        });
        out.insert(event.to_owned(), operation);
    }
    Value::Object(out)
}

/// `step.completed` → `stepCompleted`.
fn webhook_operation_id(event: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in event.chars() {
        if c == '.' || c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
