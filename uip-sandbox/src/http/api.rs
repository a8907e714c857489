//! The business API under `/v1`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use uip_types::validate::{self, MAX_DOCUMENTS, MAX_DOCUMENT_BYTES, MAX_JSON_BODY, MAX_MULTIPART_BODY};
use uip_types::{
    AuditRecord, CatalogResponse, CreatedSession, DecisionResponse, ErrorCode, Primitive, PrimitiveInfo,
    SessionView, WalletInfo, WalletsResponse,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{
    self as doc, BodyErrors, Conflict, IdempotencyKey, NotFound, PaymentRequired, SessionPath, Unauthorized,
    Unprocessable, UnsupportedMediaType, V1Errors, TAG_API,
};
use super::State;
use super::{ok, read_body, refuse_duplicate_keys, Biz, Path};
use crate::core::{self as uc, CreateInput, Decision, Upload};
use crate::error::ApiError;
use crate::Shared;

pub(super) fn routes() -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(create_session))
        .routes(routes!(get_session))
        .routes(routes!(continue_session))
        .routes(routes!(stop_session))
        .routes(routes!(get_audit))
        .routes(routes!(catalog))
        .routes(routes!(wallets))
}

/// The request's media type, lowercased, without parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

#[utoipa::path(
    post,
    path = "/sessions",
    operation_id = "createSession",
    tag = TAG_API,
    summary = "Create a session",
    description = "Checks in order: auth 401 → media type 415 → size 413 → validation 400 → idempotency replay / 409 \
                   → webhook 422 → balance 402. Nothing is charged until a step verifies. Some rules span \
                   fields and parts, so a body the schema allows may still be 400 `request/invalid-params`: a \
                   `sign` step in a JSON create, a `sign` step naming a document that was not uploaded, \
                   uploaded documents no sign step uses.",
    security(("apiKey" = [])),
    params(
        IdempotencyKey,
    ),
    request_body(
        description = "JSON, or multipart/form-data (a `session` part with the JSON body, and `document` parts) when a \
                       step is `sign`.",
        content(
            (uip_types::CreateSessionRequest = "application/json", example = doc::create_session_example),
            (doc::CreateSessionForm = "multipart/form-data",
             encoding(("session" = (content_type = "application/json")))),
        ),
    ),
    responses(
        (status = 200, description = "The new session (or, on an idempotent replay, the original answer).",
         body = CreatedSession,
         headers(("Idempotent-Replayed" = String,
                  description = "`true` when this is the replay of an earlier create with the same Idempotency-Key.")),
         links(
             ("getSession" = (operation_id = "getSession", parameters(("path.id" = "$response.body#/id")))),
             ("continueSession" = (operation_id = "continueSession", parameters(("path.id" = "$response.body#/id")))),
             ("stopSession" = (operation_id = "stopSession", parameters(("path.id" = "$response.body#/id")))),
             ("openPage" = (operation_id = "openPage", parameters(("path.id" = "$response.body#/id")))),
             ("simulateSession" = (operation_id = "simulateSession", parameters(("path.id" = "$response.body#/id")))),
         ),
         example = doc::created_session_example),
        BodyErrors, Unauthorized, PaymentRequired, Conflict, UnsupportedMediaType,
        Unprocessable, V1Errors,
    )
)]
async fn create_session(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let media = media_type(&headers);
    let input = match media.as_deref() {
        Some("application/json") => {
            let bytes = read_body(&headers, body, MAX_JSON_BODY).await?;
            json_create(&headers, &bytes)?
        }
        Some("multipart/form-data") => {
            let bytes = read_body(&headers, body, MAX_MULTIPART_BODY).await?;
            multipart_create(&headers, bytes).await?
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send application/json, or multipart/form-data when a step is `sign`",
            ))
        }
    };
    let outcome = uc::create_session(&shared, &biz, input).await?;
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        outcome.body,
    )
        .into_response();
    if outcome.replayed {
        resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    if let Some(id) = outcome.session_id {
        resp.extensions_mut().insert(super::journal::CreatedSessionId(id));
    }
    Ok(resp)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    let key = v.to_str().map_err(|_| {
        ApiError::new(ErrorCode::InvalidField, "Idempotency-Key must be visible ASCII")
            .param("Idempotency-Key")
    })?;
    validate::check_idempotency_key(key)?;
    Ok(Some(key.to_owned()))
}

fn parse_session_json(bytes: &[u8]) -> Result<uip_types::CreateSessionRequest, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::payload(format!("malformed JSON: {e}")))?;
    refuse_duplicate_keys(bytes)?;
    Ok(validate::parse_create_session(&value)?)
}

fn json_create(headers: &HeaderMap, bytes: &[u8]) -> Result<CreateInput, ApiError> {
    let request = parse_session_json(bytes)?;
    let step_documents = validate::bind_documents(&request, None)?;
    let idempotency_key = idempotency_key(headers)?;
    Ok(CreateInput {
        request,
        uploads: Vec::new(),
        step_documents,
        fingerprint: hex::encode(Sha256::digest(bytes)),
        idempotency_key,
    })
}

async fn multipart_create(headers: &HeaderMap, bytes: Bytes) -> Result<CreateInput, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ApiError::payload("multipart/form-data needs a boundary parameter"))?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut session: Option<Bytes> = None;
    let mut uploads: Vec<Upload> = Vec::new();
    let mut total: u64 = 0;
    let malformed = |e: multer::Error| ApiError::payload(format!("malformed multipart body: {e}"));
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("session") => {
                if session.is_some() {
                    return Err(ApiError::payload("send exactly one `session` part").param("session"));
                }
                session = Some(field.bytes().await.map_err(malformed)?);
            }
            Some("document") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let content_type = field
                    .content_type()
                    .map_or_else(|| "application/octet-stream".to_owned(), |m| m.to_string());
                let bytes = field.bytes().await.map_err(malformed)?;
                total += bytes.len() as u64;
                if uploads.len() + 1 > MAX_DOCUMENTS || total > MAX_DOCUMENT_BYTES {
                    return Err(ApiError::new(
                        ErrorCode::TooLarge,
                        format!(
                            "at most {MAX_DOCUMENTS} documents and {MAX_DOCUMENT_BYTES} bytes of documents"
                        ),
                    )
                    .param("document"));
                }
                uploads.push(Upload { name, content_type, bytes });
            }
            other => {
                let name = other.unwrap_or("").to_owned();
                return Err(ApiError::payload(format!(
                    "unknown part `{name}`; expected `session` and `document` parts"
                ))
                .param(name));
            }
        }
    }
    let session =
        session.ok_or_else(|| ApiError::payload("the `session` part is missing").param("session"))?;
    let request = parse_session_json(&session)?;
    let names: Vec<&str> = uploads.iter().map(|u| u.name.as_str()).collect();
    let step_documents = validate::bind_documents(&request, Some(&names))?;
    let idempotency_key = idempotency_key(headers)?;
    let mut h = Sha256::new();
    h.update((session.len() as u64).to_be_bytes());
    h.update(&session);
    for u in &uploads {
        for part in [u.name.as_bytes(), u.content_type.as_bytes(), &u.bytes] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
    }
    Ok(CreateInput {
        request,
        uploads,
        step_documents,
        fingerprint: hex::encode(h.finalize()),
        idempotency_key,
    })
}

#[utoipa::path(
    get,
    path = "/sessions/{id}",
    operation_id = "getSession",
    tag = TAG_API,
    summary = "Read a session: status and progress, never results",
    security(("apiKey" = [])),
    params(SessionPath),
    responses(
        (status = 200, description = "The session.", body = SessionView, example = doc::session_view_example),
        Unauthorized, NotFound, V1Errors,
    )
)]
async fn get_session(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok(&uc::get_session(&shared, &biz, &id).await?))
}

#[utoipa::path(
    post,
    path = "/sessions/{id}/continue",
    operation_id = "continueSession",
    tag = TAG_API,
    summary = "Resume a session paused at a gate",
    description = "No body. Not at a gate (or terminal, after lazy expiry) → 409 `session/not-awaiting-decision`.",
    security(("apiKey" = [])),
    params(SessionPath),
    responses(
        (status = 200, description = "The session after the decision.", body = DecisionResponse,
         example = doc::continued_example),
        Unauthorized, NotFound, Conflict, V1Errors,
    )
)]
async fn continue_session(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok(&uc::decide(&shared, &biz, &id, Decision::Continue).await?))
}

#[utoipa::path(
    post,
    path = "/sessions/{id}/stop",
    operation_id = "stopSession",
    tag = TAG_API,
    summary = "End a session paused at a gate",
    description = "No body. Verified steps stay billed; the rest are skipped; `session.stopped` fires.",
    security(("apiKey" = [])),
    params(SessionPath),
    responses(
        (status = 200, description = "The stopped session.", body = DecisionResponse, example = doc::stopped_example),
        Unauthorized, NotFound, Conflict, V1Errors,
    )
)]
async fn stop_session(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok(&uc::decide(&shared, &biz, &id, Decision::Stop).await?))
}

#[utoipa::path(
    get,
    path = "/audits/{id}",
    operation_id = "getAudit",
    tag = TAG_API,
    summary = "Read a redacted audit record",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "The audit id: `{session_id}_{stage}`.",
            example = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w_0")),
    responses(
        (status = 200, description = "The record (hash-chained to the previous stage's).", body = AuditRecord,
         example = doc::audit_example),
        Unauthorized, NotFound, V1Errors,
    )
)]
async fn get_audit(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok(&uc::get_audit(&shared, &biz, &id).await?))
}

/// The catalog: every primitive with its price and params.
pub(crate) fn catalog_body() -> CatalogResponse {
    let p = |name: Primitive, params: serde_json::Value| {
        let price_cents = name.price_cents().unwrap_or(0);
        PrimitiveInfo::new(name, price_cents, params)
    };
    CatalogResponse::new(
        vec![
            p(
                Primitive::Identify,
                serde_json::json!({"blocks": "array of block names; default first_name, last_name, dob; known: first_name, last_name, dob, country, document_number, portrait"}),
            ),
            p(Primitive::AgeVerify, serde_json::json!({"min_age": "integer 1..=120; default 18"})),
            p(
                Primitive::Sign,
                serde_json::json!({"documents": "array of uploaded filenames in signing order (multipart/form-data create)"}),
            ),
            p(
                Primitive::LightSign,
                serde_json::json!({"terms": "string 1..=10000 chars, required", "title": "string up to 200 chars"}),
            ),
        ],
        WalletInfo::all(),
    )
}

#[utoipa::path(
    get,
    path = "/catalog",
    operation_id = "getCatalog",
    tag = TAG_API,
    summary = "Primitives with prices and params, and wallets",
    security(("apiKey" = [])),
    responses(
        (status = 200, description = "The catalog.", body = CatalogResponse, example = doc::catalog_example),
        Unauthorized, V1Errors,
    )
)]
async fn catalog(Biz(_): Biz) -> Response {
    ok(&catalog_body())
}

#[utoipa::path(
    get,
    path = "/wallets",
    operation_id = "getWallets",
    tag = TAG_API,
    summary = "The wallet × primitive capability matrix (public)",
    responses(
        (status = 200, description = "Every wallet.", body = WalletsResponse, example = doc::wallets_example),
        V1Errors,
    )
)]
async fn wallets() -> Response {
    ok(&WalletsResponse::new(WalletInfo::all()))
}
