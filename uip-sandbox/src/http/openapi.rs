//! `GET /openapi.json`: the OpenAPI 3.1 document of the sandbox's whole HTTP surface — the
//! business API (`/v1`), the hosted page and its transport (`/s/{id}`), the control API
//! (`/_sandbox`) and `/healthz` — plus the webhook it sends (`webhooks`).
//!
//! Every body schema is the `utoipa::ToSchema` of the `uip-types` struct the handlers
//! (de)serialize, so the document cannot drift from the wire. The list of operations below is
//! checked against the router's routes by `tests/openapi.rs` (both ways), and every example in
//! the document is checked to parse into its `uip-types` type.

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use uip_types::sandbox::{
    BusinessCredentials, BusinessPatch, BusinessView, ClockNow, DeliveryLog, DeliveryLogEntry, FaultPlan,
    Inbox, NewBusiness, OpenResponse, PageState, Personas, RedeliverRequest, ResponseResult, SimulateRequest,
    WalletRequest, WalletResponse,
};
use uip_types::{
    ApiErrorBody, AuditRecord, CatalogResponse, CreateSessionRequest, CreatedSession, DecisionResponse,
    SessionView, WalletsResponse, WebhookEvent,
};
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HeaderBuilder, InfoBuilder, OpenApiBuilder, Ref, RefOr, Required,
    ResponseBuilder, Schema, Tag,
};
use utoipa::ToSchema;

use crate::Shared;

/// The route that serves the document.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/openapi.json", get(serve))
}

async fn serve(State(shared): State<Arc<Shared>>) -> Response {
    let mut doc = document().clone();
    doc["servers"] = json!([{ "url": shared.public_url, "description": "this sandbox" }]);
    super::ok(&doc)
}

/// The document (without `servers`, which depend on the running sandbox), built once.
pub(crate) fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

const TAG_API: &str = "business API";
const TAG_PAGE: &str = "hosted page";
const TAG_CONTROL: &str = "sandbox control";
const TAG_META: &str = "meta";

fn build() -> Value {
    let mut paths = PathsBuilder::new();
    for (method, path, op) in operations() {
        paths = paths.path(path, PathItem::new(method, op));
    }
    let mut schemas = Vec::new();
    register::<CreateSessionRequest>(&mut schemas);
    register::<CreatedSession>(&mut schemas);
    register::<SessionView>(&mut schemas);
    register::<DecisionResponse>(&mut schemas);
    register::<AuditRecord>(&mut schemas);
    register::<CatalogResponse>(&mut schemas);
    register::<WalletsResponse>(&mut schemas);
    register::<ApiErrorBody>(&mut schemas);
    register::<OpenResponse>(&mut schemas);
    register::<PageState>(&mut schemas);
    register::<WalletRequest>(&mut schemas);
    register::<WalletResponse>(&mut schemas);
    register::<ResponseResult>(&mut schemas);
    register::<NewBusiness>(&mut schemas);
    register::<BusinessCredentials>(&mut schemas);
    register::<BusinessView>(&mut schemas);
    register::<BusinessPatch>(&mut schemas);
    register::<ClockNow>(&mut schemas);
    register::<DeliveryLog>(&mut schemas);
    register::<DeliveryLogEntry>(&mut schemas);
    register::<RedeliverRequest>(&mut schemas);
    register::<SimulateRequest>(&mut schemas);
    register::<FaultPlan>(&mut schemas);
    register::<Inbox>(&mut schemas);
    register::<Personas>(&mut schemas);
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
    let api = OpenApiBuilder::new()
        .info(info)
        .paths(paths.build())
        .components(Some(components))
        .tags(Some(tags))
        .build();
    let mut doc = match serde_json::to_value(&api) {
        Ok(v) => v,
        Err(e) => json!({ "openapi": "3.1.0", "error": e.to_string() }),
    };
    doc["webhooks"] = webhooks();
    fix_link_keys(&mut doc);
    doc
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

/// `#/components/schemas/{T}`.
fn schema_ref<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// An inline schema written as JSON (plain keywords only: `type`, `minimum`, `maxLength`, …).
fn inline(v: Value) -> RefOr<Schema> {
    serde_json::from_value(v).unwrap_or_else(|_| RefOr::T(Schema::default()))
}

fn text_schema() -> RefOr<Schema> {
    inline(json!({ "type": "string" }))
}

/// Builds one operation.
struct Op {
    b: OperationBuilder,
}

impl Op {
    fn new(id: &str, tag: &str, summary: &str) -> Op {
        Op { b: OperationBuilder::new().operation_id(Some(id)).tag(tag).summary(Some(summary)) }
    }

    fn description(mut self, text: &str) -> Op {
        self.b = self.b.description(Some(text));
        self
    }

    fn param(mut self, p: Parameter) -> Op {
        self.b = self.b.parameter(p);
        self
    }

    fn path(self, name: &str, text: &str, example: &str) -> Op {
        self.param(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(text))
                .schema(Some(text_schema()))
                .example(Some(json!(example)))
                .build(),
        )
    }

    /// Authenticated by the business's API key: adds the security requirement and 401.
    fn bearer(mut self) -> Op {
        self.b = self.b.security(SecurityRequirement::new::<_, [&str; 0], &str>("apiKey", []));
        self.errors(&[401])
    }

    /// Hosted-page routes: the binding token as the `uip_bind` cookie or the `X-UIP-Binding` header.
    fn binding(self) -> Op {
        self.param(
            ParameterBuilder::new()
                .name("X-UIP-Binding")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some("The binding token of `POST /s/{id}/open` (wins over the cookie)."))
                .schema(Some(text_schema()))
                .build(),
        )
        .param(
            ParameterBuilder::new()
                .name("uip_bind")
                .parameter_in(ParameterIn::Cookie)
                .required(Required::False)
                .description(Some("The binding cookie set by the first open (HttpOnly, SameSite=Strict)."))
                .schema(Some(text_schema()))
                .build(),
        )
    }

    /// A JSON request body of type `T`; `required: false` means an empty body is the default value.
    fn json_body<T: ToSchema>(mut self, required: bool, example: Value) -> Op {
        let content = ContentBuilder::new().schema(Some(schema_ref::<T>())).example(Some(example)).build();
        let text = if required { "JSON body." } else { "Optional JSON body; empty means every default." };
        let body = RequestBodyBuilder::new()
            .description(Some(text))
            .required(Some(if required { Required::True } else { Required::False }))
            .content("application/json", content)
            .build();
        self.b = self.b.request_body(Some(body));
        self.errors(&[400, 413])
    }

    /// `200` with a JSON body of type `T`.
    fn ok<T: ToSchema>(self, text: &str, example: Value) -> Op {
        self.ok_with::<T>(text, example, |r| r)
    }

    fn ok_with<T: ToSchema>(
        mut self,
        text: &str,
        example: Value,
        more: impl FnOnce(ResponseBuilder) -> ResponseBuilder,
    ) -> Op {
        let content = ContentBuilder::new().schema(Some(schema_ref::<T>())).example(Some(example)).build();
        let resp = more(ResponseBuilder::new().description(text).content("application/json", content));
        self.b = self.b.response("200", resp.build());
        self
    }

    /// A non-JSON answer.
    fn raw(mut self, status: &str, text: &str, content_type: &str) -> Op {
        let content = ContentBuilder::new().schema(Some(text_schema())).build();
        self.b = self.b.response(
            status,
            ResponseBuilder::new().description(text).content(content_type, content).build(),
        );
        self
    }

    /// Error answers (`ApiErrorBody`) with these statuses.
    fn errors(mut self, statuses: &[u16]) -> Op {
        for &status in statuses {
            let (text, example) = error_doc(status);
            let content = ContentBuilder::new()
                .schema(Some(schema_ref::<ApiErrorBody>()))
                .example(Some(example))
                .build();
            let mut resp = ResponseBuilder::new().description(text).content("application/json", content);
            if status == 429 || status == 503 {
                resp = resp.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(inline(json!({ "type": "string" })))
                        .description(Some("Seconds to wait (`1` for injected faults)."))
                        .build(),
                );
            }
            self.b = self.b.response(status.to_string(), resp.build());
        }
        self
    }

    /// The business API's extras: the request time limit, injected faults (`/_sandbox/faults`)
    /// and server errors.
    fn v1(self) -> Op {
        self.errors(&[408, 429, 500, 503])
    }

    fn build(self) -> Operation {
        self.b.build()
    }
}

fn error_doc(status: u16) -> (&'static str, Value) {
    let (text, code, message) = match status {
        400 => ("The request is invalid (`request/*`): see `code` and `param`.", "request/invalid-payload", "invalid JSON body: expected value at line 1 column 1"),
        401 => ("No API key (`auth/missing-api-key`) or an unknown one (`auth/invalid-api-key`).", "auth/invalid-api-key", "the API key is not valid"),
        402 => ("The balance is below the session's total price (`payment/insufficient-funds`).", "payment/insufficient-funds", "the balance (0 cents) is below the session's price (2 cents)"),
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

const SESSION_ID: &str = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w";

fn session_view_example() -> Value {
    json!({
        "id": SESSION_ID, "status": "awaiting_decision", "current_step": 0, "step_count": 2,
        "primitives": ["identify", "sign"], "current_primitive": "identify",
        "expires_at": "2026-06-07T13:00:00Z", "created_at": "2026-06-07T12:00:00Z",
        "updated_at": "2026-06-07T12:01:30Z", "client_reference_id": "order_4815"
    })
}

fn page_state_example() -> Value {
    json!({
        "status": "in_progress", "current_step": 1, "step_count": 2, "current_primitive": "age_verify",
        "step_expires_at": "2026-06-07T12:11:30Z", "return_url": "https://shop.example.com/verified",
        "business_name": "Sandbox business"
    })
}

fn business_view_example() -> Value {
    json!({
        "business_id": "biz_default", "name": "Sandbox business",
        "webhook_url": "http://127.0.0.1:8787/_sandbox/inbox", "webhook_secret": "uip_whsec_sandbox",
        "balance_cents": 100000, "trust": "demo"
    })
}

fn delivery_example() -> Value {
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

fn wallet_info_example() -> Value {
    json!([
        { "id": "apple-wallet", "name": "Apple Wallet", "browser": "Safari", "credential": "mdl",
          "countries": ["US"], "primitives": ["identify", "age_verify", "sign", "light_sign"] },
        { "id": "google-wallet", "name": "Google Wallet", "browser": "Chrome", "credential": "mdl",
          "countries": ["US"], "primitives": ["identify", "age_verify", "light_sign"] }
    ])
}

/// Every operation of the HTTP surface: `(method, path, operation)`.
pub(crate) fn operations() -> Vec<(HttpMethod, &'static str, Operation)> {
    use HttpMethod::{Get, Patch, Post};
    let id = |op: Op| op.path("id", "The session id (`sess_…`).", SESSION_ID);
    vec![
        // ---- business API ----
        (
            Post,
            "/v1/sessions",
            create_session(),
        ),
        (
            Get,
            "/v1/sessions/{id}",
            id(Op::new("getSession", TAG_API, "Read a session: status and progress, never results"))
                .bearer()
                .ok::<SessionView>("The session.", session_view_example())
                .errors(&[404])
                .v1()
                .build(),
        ),
        (
            Post,
            "/v1/sessions/{id}/continue",
            id(Op::new("continueSession", TAG_API, "Resume a session paused at a gate"))
                .description("No body. Not at a gate (or terminal, after lazy expiry) → 409 `session/not-awaiting-decision`.")
                .bearer()
                .ok::<DecisionResponse>(
                    "The session after the decision.",
                    json!({ "id": SESSION_ID, "status": "in_progress", "current_step": 1, "step_count": 2, "current_primitive": "sign" }),
                )
                .errors(&[404, 409])
                .v1()
                .build(),
        ),
        (
            Post,
            "/v1/sessions/{id}/stop",
            id(Op::new("stopSession", TAG_API, "End a session paused at a gate"))
                .description("No body. Verified steps stay billed; the rest are skipped; `session.stopped` fires.")
                .bearer()
                .ok::<DecisionResponse>(
                    "The stopped session.",
                    json!({ "id": SESSION_ID, "status": "stopped", "current_step": 0, "step_count": 2 }),
                )
                .errors(&[404, 409])
                .v1()
                .build(),
        ),
        (
            Get,
            "/v1/audits/{id}",
            Op::new("getAudit", TAG_API, "Read a redacted audit record")
                .path("id", "The audit id: `{session_id}_{stage}`.", "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w_0")
                .bearer()
                .ok::<AuditRecord>(
                    "The record (hash-chained to the previous stage's).",
                    json!({
                        "id": format!("{SESSION_ID}_0"), "session_id": SESSION_ID, "stage": 0,
                        "primitive": "age_verify", "wallet": "apple-wallet",
                        "proof": { "satisfied": true, "min_age": 21 },
                        "occurred_at": "2026-06-07T12:01:30.000000000Z", "client_reference_id": "order_4815",
                        "prev_hash": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                        "record_hash": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                        "business_redacted": true
                    }),
                )
                .errors(&[404])
                .v1()
                .build(),
        ),
        (
            Get,
            "/v1/catalog",
            Op::new("getCatalog", TAG_API, "Primitives with prices and params, and wallets")
                .bearer()
                .ok::<CatalogResponse>(
                    "The catalog.",
                    json!({
                        "primitives": [
                            { "name": "age_verify", "price_cents": 1, "params": { "min_age": "integer 1..=120; default 18" } },
                            { "name": "light_sign", "price_cents": 2, "params": { "terms": "string 1..=10000 chars, required" } }
                        ],
                        "wallets": wallet_info_example()
                    }),
                )
                .v1()
                .build(),
        ),
        (
            Get,
            "/v1/wallets",
            Op::new("getWallets", TAG_API, "The wallet × primitive capability matrix (public)")
                .ok::<WalletsResponse>("Every wallet.", json!({ "wallets": wallet_info_example() }))
                .v1()
                .build(),
        ),
        // ---- hosted page ----
        (
            Get,
            "/s/{id}",
            id(Op::new("hostedPage", TAG_PAGE, "The hosted page (HTML)"))
                .description(
                    "Opening an unbound session here binds it to this browser (sets the `uip_bind` cookie; \
                     `created` → `in_progress`), exactly like `POST /s/{id}/open`.",
                )
                .binding()
                .raw("200", "The page.", "text/html")
                .raw("409", "The refusal page: the session is open on another device.", "text/html")
                .raw("404", "The not-found page.", "text/html")
                .errors(&[500])
                .build(),
        ),
        (
            Post,
            "/s/{id}/open",
            id(Op::new("openPage", TAG_PAGE, "Open the session: the first call binds it"))
                .description("No body. Again with the same binding: 200. Without it, once bound: 409 `session/bound-elsewhere`.")
                .binding()
                .ok_with::<OpenResponse>(
                    "The binding token (also set as the `uip_bind` cookie).",
                    json!({ "binding": "q9Rk3p0wZcVx8Jm2LbN5tY7uE1sAa4dFgHhJjKkLlMm" }),
                    |r| {
                        r.header(
                            "Set-Cookie",
                            HeaderBuilder::new()
                                .schema(text_schema())
                                .description(Some("`uip_bind=<token>; HttpOnly; SameSite=Strict; Path=/s/{id}`"))
                                .build(),
                        )
                        .link(
                            "pageState",
                            LinkBuilder::new()
                                .operation_id("pageState")
                                .parameter("path.id", "$request.path.id")
                                .parameter("header.X-UIP-Binding", "$response.body#/binding")
                                .build(),
                        )
                        .link(
                            "walletRequest",
                            LinkBuilder::new()
                                .operation_id("walletRequest")
                                .parameter("path.id", "$request.path.id")
                                .parameter("header.X-UIP-Binding", "$response.body#/binding")
                                .build(),
                        )
                        .link(
                            "walletResponse",
                            LinkBuilder::new()
                                .operation_id("walletResponse")
                                .parameter("path.id", "$request.path.id")
                                .parameter("header.X-UIP-Binding", "$response.body#/binding")
                                .build(),
                        )
                        .link(
                            "pageDocument",
                            LinkBuilder::new()
                                .operation_id("pageDocument")
                                .parameter("path.id", "$request.path.id")
                                .parameter("path.index", "0")
                                .parameter("header.X-UIP-Binding", "$response.body#/binding")
                                .build(),
                        )
                    },
                )
                .errors(&[404, 409, 500])
                .build(),
        ),
        (
            Get,
            "/s/{id}/state",
            id(Op::new("pageState", TAG_PAGE, "The page state"))
                .binding()
                .ok::<PageState>("The state.", page_state_example())
                .errors(&[404, 409, 500])
                .build(),
        ),
        (
            Get,
            "/s/{id}/request",
            id(Op::new("walletRequest", TAG_PAGE, "The wallet request of the active step"))
                .binding()
                .ok::<WalletRequest>(
                    "What the wallet is asked for; the nonce is the active step's.",
                    json!({
                        "stage": 1, "primitive": "light_sign", "nonce": "mC2s9QbX4vLrT1kZpW8yJg",
                        "origin": "http://127.0.0.1:8787", "title": "Terms", "terms": "I accept the terms.",
                        "document_hash": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                        "expires_at": "2026-06-07T12:11:30Z"
                    }),
                )
                .errors(&[404, 409, 500])
                .build(),
        ),
        (
            Get,
            "/s/{id}/documents/{index}",
            id(Op::new("pageDocument", TAG_PAGE, "The exact bytes of a document the active sign step signs"))
                .path("index", "Index in the active sign step's signing order, from 0.", "0")
                .binding()
                .raw("200", "The document, with its uploaded content type.", "*/*")
                .errors(&[404, 409, 410, 500])
                .build(),
        ),
        (
            Post,
            "/s/{id}/response",
            id(Op::new("walletResponse", TAG_PAGE, "Submit the wallet's answer for the active step"))
                .description(
                    "Checks in order: binding (409 `session/bound-elsewhere`), session active (409 `session/not-active`), nonce \
                     (409 `session/stale-nonce`), wallet supports the primitive (422), then the credential. \
                     A failed verification is a processed request: 200 with `outcome: failed`.",
                )
                .binding()
                .json_body::<WalletResponse>(
                    true,
                    json!({ "nonce": "mC2s9QbX4vLrT1kZpW8yJg", "wallet": "apple-wallet", "action": "share", "persona": "jane-doe" }),
                )
                .ok::<ResponseResult>(
                    "The page state after the answer, and its outcome.",
                    json!({
                        "status": "completed", "current_step": 1, "step_count": 2, "current_primitive": "age_verify",
                        "business_name": "Sandbox business", "outcome": "verified"
                    }),
                )
                .errors(&[404, 409, 422, 500])
                .build(),
        ),
        (
            Get,
            "/_assets/page.js",
            Op::new("pageScript", TAG_PAGE, "The hosted page's script")
                .raw("200", "JavaScript.", "text/javascript")
                .build(),
        ),
        (
            Get,
            "/_assets/page.css",
            Op::new("pageStyles", TAG_PAGE, "The hosted page's styles").raw("200", "CSS.", "text/css").build(),
        ),
        // ---- control API ----
        (
            Post,
            "/_sandbox/businesses",
            Op::new("createBusiness", TAG_CONTROL, "Create an isolated business")
                .json_body::<NewBusiness>(
                    false,
                    json!({ "webhook_url": "https://example.com/uip-webhook", "balance_cents": 500, "trust": "production", "name": "Shop" }),
                )
                .ok::<BusinessCredentials>(
                    "Its credentials (the only time the API key is shown).",
                    json!({
                        "business_id": "biz_4kQ9mZ2pX7rT1vB8", "api_key": "uip_test_4kQ9mZ2pX7rT1vB8nC3dK6wLmZ9pX4rT",
                        "webhook_secret": "uip_whsec_8nC3dK6wLmZ9pX4rT1vB8nC3dK6wLmZ9", "webhook_url": "https://example.com/uip-webhook",
                        "balance_cents": 500, "trust": "production"
                    }),
                )
                .errors(&[500])
                .build(),
        ),
        (
            Get,
            "/_sandbox/business",
            Op::new("getBusiness", TAG_CONTROL, "Read the business of the API key")
                .bearer()
                .ok::<BusinessView>("The business (never its API key).", business_view_example())
                .errors(&[500])
                .build(),
        ),
        (
            Patch,
            "/_sandbox/business",
            Op::new("patchBusiness", TAG_CONTROL, "Change the business of the API key")
                .description("`webhook_url: null` clears the URL; `rotate_webhook_secret: true` returns a new secret.")
                .bearer()
                .json_body::<BusinessPatch>(false, json!({ "balance_cents": 10, "rotate_webhook_secret": true }))
                .ok::<BusinessView>("The business after the change.", business_view_example())
                .errors(&[500])
                .build(),
        ),
        (
            Post,
            "/_sandbox/clock/advance",
            Op::new("advanceClock", TAG_CONTROL, "Move this business's clock forward")
                .description("Expiry, step windows and ages use it; sessions resolve on the next access or sweep.")
                .bearer()
                .b_body(
                    inline(json!({
                        "type": "object",
                        "required": ["seconds"],
                        "properties": { "seconds": { "type": "integer", "minimum": 1, "maximum": 31536000 } }
                    })),
                    json!({ "seconds": 3600 }),
                )
                .ok::<ClockNow>("The business's clock after advancing.", json!({ "now": "2026-06-07T13:00:00Z" }))
                .errors(&[400, 413, 500])
                .build(),
        ),
        (
            Get,
            "/_sandbox/deliveries",
            Op::new("listDeliveries", TAG_CONTROL, "The webhook delivery log, oldest first")
                .param(
                    ParameterBuilder::new()
                        .name("session_id")
                        .parameter_in(ParameterIn::Query)
                        .required(Required::False)
                        .description(Some("Only this session's deliveries (another business's: none)."))
                        .schema(Some(text_schema()))
                        .build(),
                )
                .bearer()
                .ok::<DeliveryLog>("The log.", json!({ "deliveries": [delivery_example()] }))
                .errors(&[400, 500])
                .build(),
        ),
        (
            Post,
            "/_sandbox/deliveries/{delivery_id}/redeliver",
            Op::new("redeliver", TAG_CONTROL, "Queue an event once more (same id and body), optionally with a fault")
                .path(
                    "delivery_id",
                    "The delivery id, raw or percent-encoded.",
                    "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w:session.completed",
                )
                .bearer()
                .json_body::<RedeliverRequest>(false, json!({ "fault": "stale_timestamp" }))
                .ok::<DeliveryLogEntry>("The entry, back to `pending`.", delivery_example())
                .errors(&[404, 500])
                .build(),
        ),
        (
            Post,
            "/_sandbox/sessions/{id}/simulate",
            id(Op::new("simulateSession", TAG_CONTROL, "Drive the hosted page as the user would"))
                .description("Binds the session like a first open; answers until it pauses or ends (or `steps` times).")
                .bearer()
                .json_body::<SimulateRequest>(false, json!({ "persona": "minor", "wallet": "google-wallet", "action": "share", "steps": 1 }))
                .ok_with::<SessionView>("The session after the simulated steps.", session_view_example(), |r| {
                    r.link(
                        "getSession",
                        LinkBuilder::new().operation_id("getSession").parameter("path.id", "$response.body#/id").build(),
                    )
                    .link(
                        "getFirstAudit",
                        LinkBuilder::new()
                            .operation_id("getAudit")
                            .parameter("path.id", "{$response.body#/id}_0")
                            .build(),
                    )
                    .link(
                        "listDeliveries",
                        LinkBuilder::new()
                            .operation_id("listDeliveries")
                            .parameter("query.session_id", "$response.body#/id")
                            .build(),
                    )
                })
                .errors(&[404, 422, 500])
                .build(),
        ),
        (
            Post,
            "/_sandbox/faults",
            Op::new("injectFaults", TAG_CONTROL, "Make this business's next n business-API requests fail")
                .description("`with`: 500, 503, 429, \"reset\" or \"delay_ms:N\" (N ≤ 60000); `fail_next: 0` clears.")
                .bearer()
                .json_body::<FaultPlan>(true, json!({ "fail_next": 2, "with": 503 }))
                .ok::<FaultPlan>("The plan now armed.", json!({ "fail_next": 2, "with": 503 }))
                .errors(&[500])
                .build(),
        ),
        (
            Post,
            "/_sandbox/inbox",
            Op::new("inboxReceive", TAG_CONTROL, "The built-in webhook receiver")
                .description(
                    "No auth: finds the business from `data.session_id` and verifies the X-UIP-* signature \
                     with that business's secret. Error codes are `webhook/<kind>` from the verifier.",
                )
                .json_body::<WebhookEvent>(
                    true,
                    json!({ "event": "session.completed", "data": { "session_id": SESSION_ID, "status": "completed" } }),
                )
                .raw("204", "Verified and recorded.", "text/plain")
                .errors(&[401, 500])
                .build(),
        ),
        (
            Get,
            "/_sandbox/inbox",
            Op::new("inboxList", TAG_CONTROL, "What the built-in receiver got for this business")
                .description("JSON, or an HTML page when the client accepts text/html.")
                .bearer()
                .ok_with::<Inbox>(
                    "The received deliveries, oldest first.",
                    json!({ "received": [{
                        "delivery_id": format!("{SESSION_ID}:session.completed"), "event": "session.completed",
                        "verified": true, "received_at": "2026-06-07T12:01:31Z",
                        "body": format!("{{\"event\":\"session.completed\",\"data\":{{\"session_id\":\"{SESSION_ID}\",\"status\":\"completed\"}}}}")
                    }] }),
                    |r| r.content("text/html", ContentBuilder::new().schema(Some(text_schema())).build()),
                )
                .errors(&[500])
                .build(),
        ),
        (
            Get,
            "/_sandbox/personas",
            Op::new("listPersonas", TAG_CONTROL, "The built-in personas")
                .ok::<Personas>(
                    "Every persona with its claims and device public key.",
                    json!({ "personas": [{
                        "id": "jane-doe", "description": "An adult with every block",
                        "claims": { "first_name": "Jane", "last_name": "Doe", "dob": "1990-04-01", "country": "US" },
                        "device_public_key": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik", "outcome": "verifies"
                    }] }),
                )
                .build(),
        ),
        // ---- meta ----
        (
            Get,
            "/healthz",
            Op::new("health", TAG_META, "Liveness").raw("200", "`ok`.", "text/plain").build(),
        ),
        (
            Get,
            "/openapi.json",
            Op::new("openapi", TAG_META, "This document")
                .raw("200", "The OpenAPI 3.1 document.", "application/json")
                .build(),
        ),
    ]
}

impl Op {
    /// A required JSON body with an inline schema.
    fn b_body(mut self, schema: RefOr<Schema>, example: Value) -> Op {
        let content = ContentBuilder::new().schema(Some(schema)).example(Some(example)).build();
        let body = RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content("application/json", content)
            .build();
        self.b = self.b.request_body(Some(body));
        self
    }
}

fn create_session() -> Operation {
    let json_content = ContentBuilder::new()
        .schema(Some(schema_ref::<CreateSessionRequest>()))
        .example(Some(json!({
            "steps": [
                { "primitive": "identify", "params": { "blocks": ["first_name", "last_name", "country"] }, "gate": true },
                { "primitive": "light_sign", "params": { "terms": "I accept the terms.", "title": "Terms" } }
            ],
            "client_reference_id": "order_4815",
            "metadata": { "cart": "c_42" },
            "return_url": "https://shop.example.com/verified",
            "expires_in": 900
        })))
        .build();
    let multipart_schema = json!({
        "type": "object",
        "required": ["session"],
        "properties": {
            "session": { "$ref": "#/components/schemas/CreateSessionRequest" },
            "document": {
                "type": "array",
                "description": "One file per part; `filename` required and unique; ≤ 50 parts, ≤ 50 MiB combined.",
                "items": { "type": "string", "contentMediaType": "application/octet-stream" }
            }
        }
    });
    let multipart = ContentBuilder::new()
        .schema(Some(inline(multipart_schema)))
        .encoding(
            "session",
            utoipa::openapi::encoding::EncodingBuilder::new().content_type(Some("application/json")).build(),
        )
        .build();
    let body = RequestBodyBuilder::new()
        .description(Some(
            "JSON, or multipart/form-data (a `session` part with the JSON body, and `document` parts) when a \
             step is `sign`.",
        ))
        .required(Some(Required::True))
        .content("application/json", json_content)
        .content("multipart/form-data", multipart)
        .build();
    let link =
        |op: &str| LinkBuilder::new().operation_id(op).parameter("path.id", "$response.body#/id").build();
    let mut op = Op::new("createSession", TAG_API, "Create a session")
        .description(
            "Checks in order: auth 401 → media type 415 → size 413 → validation 400 → idempotency replay / 409 \
             → webhook 422 → balance 402. Nothing is charged until a step verifies.",
        )
        .param(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "1..=255 visible ASCII characters, scoped to the business, kept 24 h. Same key and body: \
                     the original answer again (`Idempotent-Replayed: true`); another body: 409.",
                ))
                .schema(Some(inline(json!({ "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$" }))))
                .build(),
        )
        .bearer();
    op.b = op.b.request_body(Some(body));
    op.ok_with::<CreatedSession>(
        "The new session (or, on an idempotent replay, the original answer).",
        json!({ "id": SESSION_ID, "status": "created", "url": format!("http://127.0.0.1:8787/s/{SESSION_ID}"), "expires": "2026-06-07T12:15:00Z" }),
        |r| {
            r.header(
                "Idempotent-Replayed",
                HeaderBuilder::new()
                    .schema(inline(json!({ "type": "string", "enum": ["true"] })))
                    .description(Some("`true` when this is the replay of an earlier create with the same Idempotency-Key."))
                    .build(),
            )
            .link("getSession", link("getSession"))
            .link("continueSession", link("continueSession"))
            .link("stopSession", link("stopSession"))
            .link("openPage", link("openPage"))
            .link("simulateSession", link("simulateSession"))
        },
    )
    .errors(&[400, 402, 409, 413, 415, 422])
    .v1()
    .build()
}

/// The webhook the sandbox sends (OpenAPI 3.1 `webhooks`; utoipa's model has no field for it).
fn webhooks() -> Value {
    let header = |name: &str, text: &str| json!({ "name": name, "in": "header", "required": true, "description": text, "schema": { "type": "string" } });
    json!({
        "uipEvent": {
            "post": {
                "operationId": "uipEvent",
                "summary": "A UIP event, POSTed to the business's webhook URL",
                "description": "Signature: lowercase hex HMAC-SHA256 with the UTF-8 bytes of the whole webhook secret as key, \
                                over `{X-UIP-Timestamp}.{raw body}`. Per session, an event is sent only after the previous one \
                                succeeded (any 2xx) or was marked failed; retries keep the body and delivery id and are signed afresh.",
                "parameters": [
                    header("X-UIP-Event", "The event name, e.g. `step.completed`."),
                    header("X-UIP-Timestamp", "Unix seconds at signing (real time), decimal."),
                    header("X-UIP-Signature", "Hex HMAC-SHA256 of `{timestamp}.{body}`."),
                    header("X-UIP-Delivery-Id", "Stable across retries: `{session_id}:step.completed:{stage}` or `{session_id}:{event}`.")
                ],
                "requestBody": {
                    "required": true,
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/WebhookEvent" } } }
                },
                "responses": { "2XX": { "description": "Accepted; any other answer (or none within the timeout) is retried." } }
            }
        }
    })
}
