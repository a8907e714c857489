//! The request journal's HTTP side (docs/DECISIONS.md §11): the middleware on the business API
//! that captures each request of a known business, and the control routes that read the journal
//! (`GET`/`DELETE /_sandbox/requests`) and list sessions (`GET /_sandbox/sessions`).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, BodyDataStream};
use axum::extract::{FromRequestParts, OriginalUri, RawPathParams, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use futures::StreamExt;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Value};
use uip_types::{ErrorCode, SessionId, SessionStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{BadRequest, ServerError, Unauthorized, SESSION_ID, TAG_CONTROL};
use super::State;
use super::{ok, Biz, Query};
use crate::core as uc;
use crate::error::ApiError;
use crate::journal::{
    BodyEncoding, JournaledRequest, RequestFilter, RequestJournal, SessionFilter, SessionList, BODY_CAPACITY,
    DEFAULT_REQUESTS_LIMIT, DEFAULT_SESSIONS_LIMIT, JOURNAL_CAPACITY, MAX_SESSIONS_LIMIT,
    REDACTED_AUTHORIZATION,
};
use crate::Shared;

pub(super) fn routes() -> OpenApiRouter {
    OpenApiRouter::new().routes(routes!(list_requests, clear_requests)).routes(routes!(list_sessions))
}

/// Marks a create's answer with the session it made (or replayed), for the journal.
#[derive(Clone, Debug)]
pub(super) struct CreatedSessionId(pub SessionId);

/// The business API's journal: a request whose API key names a business is captured (headers,
/// at most [`BODY_CAPACITY`] bytes of its body), handled by `handle`, and once answered journaled
/// with its status, error code and duration. Other requests are handled untouched (a 401 is not
/// journaled).
pub(super) async fn capture<F, H>(shared: &Arc<Shared>, mut req: Request, handle: H) -> Response
where
    H: FnOnce(Request) -> F,
    F: Future<Output = Response>,
{
    // Looked up once: the fault injector and the handler read the business from the extensions.
    let Some(business) = Biz::of_request(shared, &mut req) else { return handle(req).await };
    let started = Instant::now();
    let at = uc::business_now(shared, &business).unwrap_or_else(crate::clock::real_now);
    let (mut parts, body) = req.into_parts();
    let path_session = session_in_path(&mut parts).await;
    // Routers nested under `/v1` see their own part of the path; the journal shows it as sent.
    let uri = parts.extensions.get::<OriginalUri>().map_or_else(|| parts.uri.clone(), |o| o.0.clone());
    let tee = Arc::new(Mutex::new(Tee { inner: body.into_data_stream(), tap: Tap::default() }));
    let multipart = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/"));
    let request = JournaledRequest {
        id: String::new(),
        at,
        method: parts.method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: journal_headers(&parts.headers),
        body: String::new(),
        body_encoding: None,
        body_truncated: false,
        status: 0,
        code: None,
        duration_ms: 0,
        idempotency_key: parts
            .headers
            .get("idempotency-key")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        session_id: path_session,
    };
    let mut pending =
        InFlight { shared: shared.clone(), business, request: Some(request), tee, multipart, started };
    let resp = handle(Request::from_parts(parts, pending.body())).await;
    let Some(mut request) = pending.request.take() else { return resp };
    request.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (kept, truncated) = finish_tap(&pending.tee).await;
    (request.body, request.body_encoding) = encode_body(kept, truncated, multipart);
    request.body_truncated = truncated;
    request.status = resp.status().as_u16();
    request.code = resp.extensions().get::<ErrorCode>().cloned();
    if let Some(CreatedSessionId(id)) = resp.extensions().get::<CreatedSessionId>() {
        request.session_id = Some(id.clone());
    }
    uc::record_request(shared, &pending.business, request);
    resp
}

/// A captured request on its way through the handler. Dropped before it is journaled, it was cut
/// off: by the request time limit (docs/DECISIONS.md §11) — then it is journaled as the 408
/// `request/timeout` the client got, with the body as far as it arrived — or by the client going
/// away (nothing was answered: not journaled).
struct InFlight {
    shared: Arc<Shared>,
    business: String,
    request: Option<JournaledRequest>,
    tee: Arc<Mutex<Tee>>,
    multipart: bool,
    started: Instant,
}

impl InFlight {
    /// The body the handler reads (through the journal's tap).
    fn body(&self) -> Body {
        let tee = self.tee.clone();
        Body::from_stream(futures::stream::poll_fn(move |cx| tee.lock().poll_chunk(cx)))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let Some(mut request) = self.request.take() else { return };
        let elapsed = self.started.elapsed();
        // The time limit's clock started a little before this one (routing, the key's lookup).
        if elapsed + TIME_LIMIT_SLACK < self.shared.settings.request_timeout {
            return;
        }
        let kept = {
            let mut t = self.tee.lock();
            request.body_truncated = t.tap.seen > BODY_CAPACITY || !t.tap.ended;
            std::mem::take(&mut t.tap.kept)
        };
        (request.body, request.body_encoding) = encode_body(kept, request.body_truncated, self.multipart);
        request.status = StatusCode::REQUEST_TIMEOUT.as_u16();
        request.code = Some(ErrorCode::RequestTimeout);
        request.duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        uc::record_request(&self.shared, &self.business, request);
    }
}

/// The session a business-API path names: `/sessions/{id}…`, or the session of `/audits/{id}`
/// (`{session_id}_{stage}`).
async fn session_in_path(parts: &mut http::request::Parts) -> Option<SessionId> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    let (_, id) = params.iter().find(|(name, _)| *name == "id")?;
    let path = parts.uri.path();
    if path.contains("/audits/") {
        return id.rsplit_once('_').map(|(sid, _)| sid.into());
    }
    path.contains("/sessions/").then(|| id.into())
}

/// How long the journal waits, after the answer, for body bytes the handler did not read (a
/// refused media type, a declared length over the limit, an injected fault): what arrives by then
/// is kept, the answer waits no longer.
const DRAIN_WAIT: Duration = Duration::from_millis(50);

/// How much earlier than the journal's own clock the request time limit's may have started.
const TIME_LIMIT_SLACK: Duration = Duration::from_millis(250);

/// What the journal saw of a request body.
#[derive(Default)]
struct Tap {
    /// The first [`BODY_CAPACITY`] bytes.
    kept: Vec<u8>,
    /// Every byte seen.
    seen: usize,
    /// The body ended (or failed) while the journal watched.
    ended: bool,
}

impl Tap {
    fn record(&mut self, chunk: &[u8]) {
        let room = BODY_CAPACITY.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        self.seen = self.seen.saturating_add(chunk.len());
    }
}

/// A request body shared between the handler and the journal: the handler reads it through
/// [`InFlight::body`], which shows the journal the bytes as they are read, unchanged (the
/// handler's limits, errors and timing stay its own).
struct Tee {
    inner: BodyDataStream,
    tap: Tap,
}

impl Tee {
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, axum::Error>>> {
        if self.tap.ended {
            return Poll::Ready(None);
        }
        let next = self.inner.poll_next_unpin(cx);
        match &next {
            Poll::Ready(Some(Ok(chunk))) => self.tap.record(chunk),
            Poll::Ready(Some(Err(_)) | None) => self.tap.ended = true,
            Poll::Pending => {}
        }
        next
    }
}

/// After the answer: the body as far as the journal saw it, reading what the handler left for at
/// most [`DRAIN_WAIT`] while under [`BODY_CAPACITY`]. Returns the kept bytes, and whether they
/// are not the whole body.
async fn finish_tap(tee: &Arc<Mutex<Tee>>) -> (Vec<u8>, bool) {
    let drain = futures::future::poll_fn(|cx| loop {
        let mut t = tee.lock();
        if t.tap.ended || t.tap.seen > BODY_CAPACITY {
            return Poll::Ready(());
        }
        match t.poll_chunk(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(_) => continue,
        }
    });
    let _ = tokio::time::timeout(DRAIN_WAIT, drain).await;
    let mut t = tee.lock();
    let truncated = t.tap.seen > BODY_CAPACITY || !t.tap.ended;
    (std::mem::take(&mut t.tap.kept), truncated)
}

/// The body as the journal shows it: text, or base64 for multipart and for bytes that are not
/// UTF-8. A text body cut inside a character keeps the characters before it.
fn encode_body(kept: Vec<u8>, truncated: bool, multipart: bool) -> (String, Option<BodyEncoding>) {
    let base64 = |b: &[u8]| (base64::engine::general_purpose::STANDARD.encode(b), Some(BodyEncoding::Base64));
    if multipart {
        return base64(&kept);
    }
    match String::from_utf8(kept) {
        Ok(text) => (text, None),
        Err(e) => {
            let bytes = e.into_bytes();
            // Cut at the body limit inside a character: keep the whole characters before it.
            if truncated {
                if let Err(u) = std::str::from_utf8(&bytes) {
                    if u.error_len().is_none() {
                        let valid = u.valid_up_to();
                        return (String::from_utf8_lossy(&bytes[..valid]).into_owned(), None);
                    }
                }
            }
            base64(&bytes)
        }
    }
}

/// The request headers by lowercase name (repeats joined with `, `), the API key redacted.
fn journal_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = if name == header::AUTHORIZATION {
            REDACTED_AUTHORIZATION.to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        match out.get_mut(name.as_str()) {
            Some(v) if name == header::AUTHORIZATION => *v = value,
            Some(v) => {
                v.push_str(", ");
                v.push_str(&value);
            }
            None => {
                out.insert(name.as_str().to_owned(), value);
            }
        }
    }
    out
}

/// A `limit` query parameter: an integer from 1 to `max` (absent: `default`).
fn parse_limit(raw: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    match raw {
        None => Ok(default),
        Some(s) => {
            s.parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| uc::limit_error(max))
        }
    }
}

#[derive(Deserialize)]
struct RequestsQuery {
    session_id: Option<String>,
    since: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(
    get,
    path = "/_sandbox/requests",
    operation_id = "listRequests",
    tag = TAG_CONTROL,
    summary = "The business-API requests this business made, oldest first",
    description = "The request journal (in memory only): the last 1000 `/v1` requests of the API key's \
                   business, each with its headers (`authorization` shown as `Bearer [redacted]`), its body \
                   (UTF-8 text, or base64 with `body_encoding: base64` for multipart and non-UTF-8 bodies; at \
                   most 64 KiB, then `body_truncated: true`), the answer's status and error code, and the \
                   session it is about. Ids grow in the order requests were answered: poll with `since`. \
                   Requests refused before their business is known (401) are not kept.",
    security(("apiKey" = [])),
    params(
        ("session_id" = Option<String>, Query, description = "Only the requests about this session (its path \
          names it, or the create made it)."),
        ("since" = Option<String>, Query,
         description = "Only the requests after this journal id (`req_` and digits; any other form is 400)."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000,
         description = "At most this many, the oldest that match (default 100)."),
    ),
    responses(
        (status = 200, description = "The requests, oldest first.", body = RequestJournal,
         example = requests_example),
        BadRequest, Unauthorized, ServerError,
    )
)]
async fn list_requests(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Query(q): Query<RequestsQuery>,
) -> Result<Response, ApiError> {
    let mut filter = RequestFilter::new().limit(parse_limit(
        q.limit.as_deref(),
        DEFAULT_REQUESTS_LIMIT,
        JOURNAL_CAPACITY,
    )?);
    if let Some(s) = &q.session_id {
        filter = filter.session_id(s);
    }
    if let Some(s) = &q.since {
        filter = filter.since(s);
    }
    let requests = uc::requests(&shared, &biz, &filter)?;
    Ok(ok(&RequestJournal { requests }))
}

#[utoipa::path(
    delete,
    path = "/_sandbox/requests",
    operation_id = "clearRequests",
    tag = TAG_CONTROL,
    summary = "Forget this business's request journal",
    security(("apiKey" = [])),
    responses(
        (status = 204, description = "Cleared."),
        Unauthorized, ServerError,
    )
)]
async fn clear_requests(State(shared): State<Arc<Shared>>, Biz(biz): Biz) -> Response {
    uc::clear_requests(&shared, &biz);
    StatusCode::NO_CONTENT.into_response()
}

/// The `status` filter's schema: one of the statuses this version knows, as a closed enum (any
/// other value is 400 `request/invalid-field`, unlike the open `SessionStatus` a reader accepts).
struct KnownSessionStatus;

impl utoipa::PartialSchema for KnownSessionStatus {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(SessionStatus::KNOWN.iter().map(|s| s.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for KnownSessionStatus {}

#[derive(Deserialize)]
struct SessionsQuery {
    status: Option<String>,
    client_reference_id: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(
    get,
    path = "/_sandbox/sessions",
    operation_id = "listSessions",
    tag = TAG_CONTROL,
    summary = "This business's sessions, newest first",
    description = "Each session as `GET /v1/sessions/{id}` shows it, with the create's `steps` as given. Elapsed \
                   sessions resolve first (listing is an access).",
    security(("apiKey" = [])),
    params(
        ("status" = inline(Option<KnownSessionStatus>), Query, description = "Only the sessions with this status."),
        ("client_reference_id" = Option<String>, Query,
         description = "Only the sessions created with this `client_reference_id`."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500,
         description = "At most this many, the newest that match (default 50)."),
    ),
    responses(
        (status = 200, description = "The sessions, newest first.", body = SessionList, example = sessions_example),
        BadRequest, Unauthorized, ServerError,
    )
)]
async fn list_sessions(
    State(shared): State<Arc<Shared>>,
    Biz(biz): Biz,
    Query(q): Query<SessionsQuery>,
) -> Result<Response, ApiError> {
    let mut filter = SessionFilter::new().limit(parse_limit(
        q.limit.as_deref(),
        DEFAULT_SESSIONS_LIMIT,
        MAX_SESSIONS_LIMIT,
    )?);
    if let Some(s) = &q.status {
        filter = filter.status(SessionStatus::parse(s));
    }
    if let Some(c) = &q.client_reference_id {
        filter = filter.client_reference_id(c);
    }
    let sessions = uc::sessions(&shared, &biz, &filter).await?;
    Ok(ok(&SessionList { sessions }))
}

fn requests_example() -> Value {
    json!({"requests": [{
        "id": "req_1",
        "at": "2026-06-07T12:00:00Z",
        "method": "POST",
        "path": "/v1/sessions",
        "headers": {
            "authorization": REDACTED_AUTHORIZATION,
            "content-type": "application/json",
            "idempotency-key": "order_4815"
        },
        "body": "{\"steps\":[{\"primitive\":\"age_verify\",\"params\":{\"min_age\":21}}],\"client_reference_id\":\"order_4815\"}",
        "status": 200,
        "duration_ms": 2,
        "idempotency_key": "order_4815",
        "session_id": SESSION_ID
    }, {
        "id": "req_2",
        "at": "2026-06-07T12:00:05Z",
        "method": "POST",
        "path": format!("/v1/sessions/{SESSION_ID}/continue"),
        "headers": { "authorization": REDACTED_AUTHORIZATION },
        "body": "",
        "status": 409,
        "code": "session/not-awaiting-decision",
        "duration_ms": 0,
        "session_id": SESSION_ID
    }]})
}

fn sessions_example() -> Value {
    json!({"sessions": [{
        "id": SESSION_ID,
        "status": "awaiting_decision",
        "current_step": 0,
        "step_count": 2,
        "primitives": ["age_verify", "light_sign"],
        "current_primitive": "age_verify",
        "expires_at": "2026-06-07T13:00:00Z",
        "created_at": "2026-06-07T12:00:00Z",
        "updated_at": "2026-06-07T12:01:30Z",
        "client_reference_id": "order_4815",
        "metadata": { "cart": "c_991" },
        "steps": [
            { "primitive": "age_verify", "params": { "min_age": 21 }, "gate": true },
            { "primitive": "light_sign", "params": { "terms": "I accept the rental terms." } }
        ]
    }]})
}
