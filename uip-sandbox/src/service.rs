//! The use cases: each one takes the store's lock, applies lazy expiry, calls the engine,
//! queues the events it produced, and commits — one state change, one write.

use std::sync::Arc;

use bytes::Bytes;
use chrono::TimeDelta;
use sha2::{Digest, Sha256};
use uip_types::sandbox::{
    BusinessCredentials, BusinessPatch, BusinessView, ClockNow, DeliveryFault, DeliveryLog, DeliveryStatus,
    FaultPlan, NewBusiness, OpenResponse, PageState, RequestDocument, ResponseOutcome, ResponseResult,
    SimulateRequest, WalletAction, WalletRequest, WalletResponse,
};
use uip_types::{
    AuditRecord, BindingToken, CreateSessionRequest, CreatedSession, DecisionResponse, ErrorCode, SessionId,
    SessionStatus, SessionUrl, SessionView, StepParams, Timestamp, WalletId,
};

use crate::clock;
use crate::engine::session::{DocumentMeta, Session, Verification};
use crate::engine::wallet::{self, Credential};
use crate::engine::{random_b64, random_base62};
use crate::error::ApiError;
use crate::store::{Business, IdempotencyRecord, State};
use crate::Shared;

/// Idempotency records are kept this long (business clock).
const IDEMPOTENCY_RETENTION_S: i64 = 24 * 3600;

/// Hex SHA-256 of a secret, the form in which keys and binding tokens are looked up.
pub(crate) fn hash_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The business behind a Bearer key.
pub(crate) fn authenticate(shared: &Shared, key: Option<&str>) -> Result<String, ApiError> {
    let key = key.ok_or_else(|| {
        ApiError::new(ErrorCode::MissingApiKey, "send the API key as `Authorization: Bearer <key>`")
    })?;
    let hash = hash_hex(key);
    shared
        .store
        .read(|st| st.business_by_key(&hash).map(|b| b.id.clone()))
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidApiKey, "the API key is not valid"))
}

/// A new business with fresh credentials.
pub(crate) fn new_business(
    name: String,
    api_key: String,
    webhook_secret: String,
    webhook_url: Option<String>,
    balance_cents: u64,
    trust: uip_types::sandbox::Trust,
) -> (Business, BusinessCredentials) {
    let b = Business {
        id: random_base62("biz_", 16),
        name,
        api_key_hash: hash_hex(&api_key),
        webhook_secret: webhook_secret.into(),
        webhook_url,
        balance_cents,
        trust,
        clock_offset_s: 0,
    };
    let creds = b.credentials(&api_key);
    (b, creds)
}

fn check_webhook_url(url: &str) -> Result<(), ApiError> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        _ => Err(ApiError::new(ErrorCode::InvalidField, "webhook_url must be an absolute http(s) URL")
            .param("webhook_url")),
    }
}

/// `POST /_sandbox/businesses`.
pub(crate) fn create_business(shared: &Shared, req: NewBusiness) -> Result<BusinessCredentials, ApiError> {
    if let Some(u) = &req.webhook_url {
        check_webhook_url(u)?;
    }
    let (b, creds) = new_business(
        req.name.unwrap_or_else(|| "Sandbox business".to_owned()),
        random_base62("uip_test_", 32),
        random_base62("uip_whsec_", 32),
        req.webhook_url,
        req.balance_cents.unwrap_or(100_000),
        req.trust.unwrap_or_default(),
    );
    shared.store.write(|st| st.insert_business(b))?;
    Ok(creds)
}

/// `GET /_sandbox/business`.
pub(crate) fn business_view(shared: &Shared, biz: &str) -> Result<BusinessView, ApiError> {
    shared
        .store
        .read(|st| st.businesses.get(biz).map(Business::view))
        .ok_or_else(|| ApiError::not_found("business"))
}

/// `PATCH /_sandbox/business`.
pub(crate) fn patch_business(
    shared: &Shared,
    biz: &str,
    patch: BusinessPatch,
) -> Result<BusinessView, ApiError> {
    if let Some(Some(u)) = &patch.webhook_url {
        check_webhook_url(u)?;
    }
    let view = shared.store.write(|st| {
        let b = st.business_mut(biz)?;
        if let Some(u) = patch.webhook_url {
            b.webhook_url = u;
        }
        if let Some(n) = patch.balance_cents {
            b.balance_cents = n;
        }
        if let Some(t) = patch.trust {
            b.trust = t;
        }
        if let Some(n) = patch.name {
            b.name = n;
        }
        if patch.rotate_webhook_secret == Some(true) {
            b.webhook_secret = random_base62("uip_whsec_", 32).into();
        }
        Some(b.view())
    })?;
    view.ok_or_else(|| ApiError::not_found("business"))
}

/// `POST /_sandbox/clock/advance`.
pub(crate) fn advance_clock(shared: &Shared, biz: &str, seconds: i64) -> Result<ClockNow, ApiError> {
    let now = shared.store.write(|st| {
        let b = st.business_mut(biz)?;
        b.clock_offset_s = b.clock_offset_s.saturating_add(seconds);
        Some(clock::secs(b.now()))
    })?;
    let now = now.ok_or_else(|| ApiError::not_found("business"))?;
    Ok(ClockNow { now })
}

/// `POST /_sandbox/faults`.
pub(crate) fn set_faults(shared: &Shared, biz: &str, plan: FaultPlan) -> Result<FaultPlan, ApiError> {
    shared.store.write(|st| {
        if plan.fail_next == 0 {
            st.faults.remove(biz);
        } else {
            st.faults.insert(biz.to_owned(), plan.clone());
        }
    })?;
    Ok(plan)
}

/// Takes one injected fault of this business, if any is armed.
pub(crate) fn take_fault(shared: &Shared, biz: &str) -> Option<serde_json::Value> {
    shared
        .store
        .write(|st| {
            let plan = st.faults.get_mut(biz)?;
            let with = plan.with.clone();
            plan.fail_next = plan.fail_next.saturating_sub(1);
            if plan.fail_next == 0 {
                st.faults.remove(biz);
            }
            Some(with)
        })
        .ok()
        .flatten()
}

/// An uploaded document of a multipart create.
pub(crate) struct Upload {
    pub name: String,
    pub content_type: String,
    pub bytes: Bytes,
}

/// A validated create, ready to store.
pub(crate) struct CreateInput {
    pub request: CreateSessionRequest,
    pub uploads: Vec<Upload>,
    pub step_documents: Vec<Vec<usize>>,
    /// Hex SHA-256 identifying the request for idempotency.
    pub fingerprint: String,
    pub idempotency_key: Option<String>,
}

/// The create's answer: the exact body, and whether it is a replay.
pub(crate) struct CreateOutcome {
    pub body: String,
    pub replayed: bool,
}

/// `POST /v1/sessions` after validation: idempotency → webhook 422 → balance 402 → store.
pub(crate) fn create_session(
    shared: &Shared,
    biz: &str,
    input: CreateInput,
) -> Result<CreateOutcome, ApiError> {
    let public_url = shared.public_url.clone();
    let outcome = shared.store.write(|st| -> Result<CreateOutcome, ApiError> {
        let b = st.businesses.get(biz).ok_or_else(|| ApiError::not_found("business"))?;
        let now = b.now();
        let key = input.idempotency_key.as_ref().map(|k| (biz.to_owned(), k.clone()));
        if let Some(key) = &key {
            if let Some(rec) = st.idempotency.get(key) {
                if (now - rec.created_at).num_seconds() < IDEMPOTENCY_RETENTION_S {
                    if rec.fingerprint == input.fingerprint {
                        return Ok(CreateOutcome { body: rec.response.clone(), replayed: true });
                    }
                    return Err(ApiError::new(
                        ErrorCode::IdempotencyConflict,
                        "this Idempotency-Key was used with a different request",
                    )
                    .param("Idempotency-Key"));
                }
                st.remove_idempotency(key);
            }
        }
        let b = st.businesses.get(biz).ok_or_else(|| ApiError::not_found("business"))?;
        if b.webhook_url.is_none() {
            return Err(ApiError::new(
                ErrorCode::WebhookMissing,
                "configure a webhook URL for this business before creating sessions",
            ));
        }
        let total = input.request.total_price_cents();
        if b.balance_cents < total {
            return Err(ApiError::new(
                ErrorCode::InsufficientFunds,
                format!(
                    "the balance ({} cents) is below the session's price ({total} cents)",
                    b.balance_cents
                ),
            ));
        }
        let created_at = clock::secs(now);
        let ttl = input.request.expires_in.unwrap_or(uip_types::validate::DEFAULT_EXPIRES_IN);
        let id: SessionId = random_base62(SessionId::PREFIX, SessionId::RANDOM_LEN).into();
        let req = input.request;
        let step_count = req.steps.len();
        let session = Session {
            id: id.clone(),
            business_id: biz.to_owned(),
            step_documents: input.step_documents,
            documents: input
                .uploads
                .iter()
                .map(|u| DocumentMeta {
                    name: u.name.clone(),
                    content_type: u.content_type.clone(),
                    sha256_hex: uip_types::hashing::sha256_hex(&u.bytes),
                    size: u.bytes.len() as u64,
                    purged: false,
                })
                .collect(),
            steps: req.steps,
            client_reference_id: req.client_reference_id,
            metadata: req.metadata,
            return_url: req.return_url,
            status: SessionStatus::Created,
            current_step: 0,
            created_at,
            updated_at: created_at,
            expires_at: created_at + TimeDelta::seconds(i64::from(ttl)),
            step_deadline: None,
            binding_hash: None,
            nonce: None,
            audits: Vec::with_capacity(step_count),
            end_reason: None,
        };
        let created = CreatedSession {
            id: id.clone(),
            status: SessionStatus::Created,
            url: SessionUrl::new(format!("{public_url}/s/{id}")),
            expires: session.expires_at,
        };
        let body = serde_json::to_string(&created).map_err(|e| ApiError::internal(e.to_string()))?;
        st.insert_session(session, input.uploads.into_iter().map(|u| u.bytes).collect());
        if let Some(key) = key {
            st.put_idempotency(
                key,
                IdempotencyRecord { fingerprint: input.fingerprint, response: body.clone(), created_at: now },
            );
        }
        Ok(CreateOutcome { body, replayed: false })
    })??;
    Ok(outcome)
}

/// Applies lazy expiry to one session and queues its event. Returns false if unknown.
fn expire(st: &mut State, id: &str, real_now: Timestamp) -> bool {
    let Some(s) = st.sessions.get(id) else { return false };
    if s.status.is_terminal() {
        return true;
    }
    let biz = s.business_id.clone();
    let now = st.businesses.get(&biz).map_or_else(clock::real_now, Business::now);
    let sid = s.id.clone();
    let Some(s) = st.sessions.get_mut(id) else { return false };
    if let Some(event) = s.expire_if_due(now) {
        st.touch_session(&sid);
        st.emit(&biz, vec![event], real_now);
    }
    true
}

/// Runs `f` on a session of `biz` after lazy expiry, then records the change and its events.
fn with_session<R>(
    shared: &Shared,
    biz: Option<&str>,
    id: &str,
    f: impl FnOnce(&mut Session, &mut Business) -> Result<(R, Vec<uip_types::WebhookEvent>), ApiError>,
) -> Result<R, ApiError> {
    let (r, emitted) = shared.store.write(|st| {
        let first_seq = st.next_seq;
        let real_now = clock::real_now();
        let r = (|| {
            let known = expire(st, id, real_now);
            let owner = st.sessions.get(id).map(|s| s.business_id.clone());
            let owner = match (known, owner) {
                (true, Some(o)) if biz.is_none_or(|b| b == o) => o,
                _ => return Err(ApiError::not_found("session")),
            };
            let mut business =
                st.businesses.get(&owner).cloned().ok_or_else(|| ApiError::not_found("session"))?;
            let before = (business.balance_cents, business.clock_offset_s);
            let session = st.sessions.get_mut(id).ok_or_else(|| ApiError::not_found("session"))?;
            let fingerprint = |s: &Session| {
                (s.updated_at, s.status.clone(), s.current_step, s.binding_hash.is_some(), s.nonce.clone())
            };
            let unchanged = fingerprint(session);
            let result = f(session, &mut business);
            if fingerprint(session) != unchanged {
                let sid = session.id.clone();
                st.touch_session(&sid);
            }
            if (business.balance_cents, business.clock_offset_s) != before {
                if let Some(b) = st.business_mut(&owner) {
                    *b = business;
                }
            }
            let (value, events) = result?;
            st.emit(&owner, events, real_now);
            Ok(value)
        })();
        (r, st.next_seq != first_seq)
    })?;
    if emitted {
        shared.wake_delivery();
    }
    r
}

/// `GET /v1/sessions/{id}`.
pub(crate) fn get_session(shared: &Shared, biz: &str, id: &str) -> Result<SessionView, ApiError> {
    with_session(shared, Some(biz), id, |s, _| Ok((s.view(), Vec::new())))
}

/// A business's decision at a gate.
#[derive(Clone, Copy)]
pub(crate) enum Decision {
    Continue,
    Stop,
}

/// `POST /v1/sessions/{id}/continue` and `/stop`.
pub(crate) fn decide(
    shared: &Shared,
    biz: &str,
    id: &str,
    d: Decision,
) -> Result<DecisionResponse, ApiError> {
    let window = step_window(shared);
    with_session(shared, Some(biz), id, |s, b| {
        let events = match d {
            Decision::Continue => s.resume(&mut rand::thread_rng(), b.now(), window),
            Decision::Stop => s.stop(b.now()),
        }?;
        Ok((s.decision(), events))
    })
}

fn step_window(shared: &Shared) -> TimeDelta {
    TimeDelta::from_std(shared.settings.step_window).unwrap_or(TimeDelta::seconds(600))
}

/// Lazy expiry for an access that names a session of `biz` without otherwise touching it
/// (docs/DECISIONS.md §4: every access resolves an elapsed session first). Unknown or foreign: no-op.
pub(crate) fn resolve_expiry(shared: &Shared, biz: &str, id: &str) {
    let _ = with_session(shared, Some(biz), id, |_, _| Ok(((), Vec::new())));
}

/// `GET /v1/audits/{id}`.
pub(crate) fn get_audit(shared: &Shared, biz: &str, audit_id: &str) -> Result<AuditRecord, ApiError> {
    let (sid, stage) = audit_id.rsplit_once('_').ok_or_else(|| ApiError::not_found("audit"))?;
    let stage: usize = stage.parse().map_err(|_| ApiError::not_found("audit"))?;
    resolve_expiry(shared, biz, sid);
    shared
        .store
        .read(|st| st.session_of(biz, sid).and_then(|s| s.audits.get(stage).cloned()))
        .filter(|a| a.id == audit_id)
        .ok_or_else(|| ApiError::not_found("audit"))
}

fn bound_elsewhere() -> ApiError {
    ApiError::new(ErrorCode::BoundElsewhere, "this session is open on another device")
}

/// Checks a presented binding token against the session's (by hash).
fn check_binding(s: &Session, token: Option<&str>) -> Result<(), ApiError> {
    match (&s.binding_hash, token) {
        (Some(stored), Some(t)) if hash_hex(t) == *stored => Ok(()),
        _ => Err(bound_elsewhere()),
    }
}

/// `POST /s/{id}/open` (and `GET /s/{id}`): binds on first open; the same binding again is fine.
/// Returns the token to set as cookie (a new one on first open, the presented one after).
pub(crate) fn open(shared: &Shared, id: &str, token: Option<&str>) -> Result<BindingToken, ApiError> {
    let window = step_window(shared);
    with_session(shared, None, id, |s, b| {
        if s.binding_hash.is_some() {
            check_binding(s, token)?;
            return Ok((BindingToken::new(token.unwrap_or_default()), Vec::new()));
        }
        let fresh = random_b64(32);
        s.open(hash_hex(&fresh), &mut rand::thread_rng(), b.now(), window)?;
        Ok((BindingToken::new(fresh), Vec::new()))
    })
}

/// The open answer.
pub(crate) fn open_response(token: BindingToken) -> OpenResponse {
    OpenResponse { binding: token }
}

fn page_state(s: &Session, b: &Business) -> PageState {
    PageState {
        status: s.status.clone(),
        current_step: s.current_step,
        step_count: s.step_count(),
        current_primitive: s.current_primitive(),
        step_expires_at: s.step_expires_at(),
        return_url: s.return_url.clone(),
        business_name: Some(b.name.clone()),
        reason: s.end_reason.clone(),
    }
}

/// `GET /s/{id}/state`.
pub(crate) fn state(shared: &Shared, id: &str, token: Option<&str>) -> Result<PageState, ApiError> {
    with_session(shared, None, id, |s, b| {
        check_binding(s, token)?;
        Ok((page_state(s, b), Vec::new()))
    })
}

fn not_active(s: &Session) -> ApiError {
    ApiError::new(ErrorCode::NotActive, format!("the session is {}; no step is active", s.status))
}

/// `GET /s/{id}/request`.
pub(crate) fn wallet_request(
    shared: &Shared,
    id: &str,
    token: Option<&str>,
) -> Result<WalletRequest, ApiError> {
    let origin = shared.origin.clone();
    with_session(shared, None, id, |s, _| {
        check_binding(s, token)?;
        Ok((build_request(s, &origin)?, Vec::new()))
    })
}

fn build_request(s: &Session, origin: &str) -> Result<WalletRequest, ApiError> {
    if s.status != SessionStatus::InProgress {
        return Err(not_active(s));
    }
    let stage = s.current_step as usize;
    let mut req = WalletRequest {
        stage: s.current_step,
        primitive: s.current_primitive(),
        nonce: s.nonce.clone().unwrap_or_default(),
        origin: origin.to_owned(),
        blocks: None,
        min_age: None,
        title: None,
        terms: None,
        documents: None,
        document_hash: s.document_hash(stage),
        expires_at: s.step_expires_at().unwrap_or(s.expires_at),
    };
    match &s.steps[stage].params {
        StepParams::Identify(p) => req.blocks = Some(p.effective_blocks()),
        StepParams::AgeVerify(p) => req.min_age = Some(p.effective_min_age()),
        StepParams::LightSign(p) => {
            req.title = p.title.clone();
            req.terms = Some(p.terms.clone());
        }
        StepParams::Sign(_) => {
            req.documents = Some(
                s.step_documents[stage]
                    .iter()
                    .enumerate()
                    .map(|(index, &i)| {
                        let d = &s.documents[i];
                        RequestDocument {
                            index: index as u32,
                            name: d.name.clone(),
                            size: d.size,
                            sha256: format!("sha256:{}", d.sha256_hex),
                        }
                    })
                    .collect(),
            )
        }
    }
    Ok(req)
}

/// A document's bytes for the page.
pub(crate) struct DocumentBytes {
    pub name: String,
    pub content_type: String,
    pub bytes: Bytes,
}

/// `GET /s/{id}/documents/{index}`.
pub(crate) fn document(
    shared: &Shared,
    id: &str,
    token: Option<&str>,
    index: usize,
) -> Result<DocumentBytes, ApiError> {
    let meta = with_session(shared, None, id, |s, _| {
        check_binding(s, token)?;
        let stage = s.current_step as usize;
        let is_sign = matches!(s.steps[stage].params, StepParams::Sign(_));
        let doc = s.step_documents[stage].get(index).copied().filter(|_| is_sign);
        let Some(doc) = doc else { return Err(ApiError::not_found("document")) };
        let meta = &s.documents[doc];
        if meta.purged {
            return Err(ApiError::new(
                ErrorCode::DocumentsPurged,
                "the documents of this session were purged",
            ));
        }
        Ok(((doc, meta.name.clone(), meta.content_type.clone()), Vec::new()))
    })?;
    let (doc, name, content_type) = meta;
    let bytes =
        shared.store.read(|st| st.documents.get(id).and_then(|d| d.get(doc).cloned().flatten())).ok_or_else(
            || ApiError::new(ErrorCode::DocumentsPurged, "the documents of this session were purged"),
        )?;
    Ok(DocumentBytes { name, content_type, bytes })
}

/// Who is answering: the bound browser (token checked) or the control API (binding bypassed).
pub(crate) enum Responder<'a> {
    Browser(Option<&'a str>),
    Control,
}

/// `POST /s/{id}/response`: checks in order binding, session active, nonce, wallet, credential.
pub(crate) fn respond(
    shared: &Shared,
    id: &str,
    who: Responder<'_>,
    body: &[u8],
) -> Result<ResponseResult, ApiError> {
    let window = step_window(shared);
    with_session(shared, None, id, |s, b| {
        if let Responder::Browser(token) = who {
            check_binding(s, token)?;
        }
        let resp: WalletResponse = crate::http::parse_json(body)?;
        s.check_answer(&resp.nonce)?;
        if !resp.wallet.is_known() {
            return Err(ApiError::payload(format!(
                "unknown wallet `{}`; expected apple-wallet or google-wallet",
                resp.wallet
            ))
            .param("wallet"));
        }
        let primitive = s.current_primitive();
        if !resp.wallet.supports(&primitive) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedPrimitive,
                format!("{} does not support {primitive}", resp.wallet.display_name()),
            )
            .param("wallet"));
        }
        let now = b.now();
        if resp.action == WalletAction::Decline {
            s.decline(&mut rand::thread_rng(), now)?;
            return Ok((result(s, b, ResponseOutcome::Declined), Vec::new()));
        }
        let custom;
        let credential: &Credential = match (&resp.credential, &resp.persona) {
            (Some(c), _) => {
                custom = Credential::custom(c).map_err(|(p, m)| ApiError::payload(m).param(p))?;
                &custom
            }
            (None, persona) => {
                let pid = persona.as_deref().unwrap_or(wallet::DEFAULT_PERSONA);
                &wallet::persona(pid)
                    .ok_or_else(|| ApiError::payload(format!("unknown persona `{pid}`")).param("persona"))?
                    .credential
            }
        };
        let trust = b.trust;
        let mut rng = rand::thread_rng();
        let applied =
            s.verify(credential, resp.wallet.clone(), trust, &mut b.balance_cents, &mut rng, now, window)?;
        let outcome = match applied.value {
            Verification::Verified => ResponseOutcome::Verified,
            Verification::Failed(_) => ResponseOutcome::Failed,
        };
        Ok((result(s, b, outcome), applied.events))
    })
}

fn result(s: &Session, b: &Business, outcome: ResponseOutcome) -> ResponseResult {
    ResponseResult { state: page_state(s, b), outcome }
}

/// Most wallet answers one `simulate` call gives (a session has at most 20 steps).
const MAX_SIMULATED_ANSWERS: u32 = 100;

/// `POST /_sandbox/sessions/{id}/simulate`: opens if needed, then answers steps as the user would.
pub(crate) fn simulate(
    shared: &Shared,
    biz: &str,
    id: &str,
    req: SimulateRequest,
) -> Result<SessionView, ApiError> {
    // Ownership first: a foreign id is unknown.
    get_session(shared, biz, id)?;
    let action = req.action.unwrap_or_default();
    let Some(action) = action.wallet_action() else {
        fail_internal(shared, biz, id)?;
        return get_session(shared, biz, id);
    };
    let bound = shared.store.read(|st| st.sessions.get(id).is_some_and(|s| s.binding_hash.is_some()));
    if !bound {
        open(shared, id, None)?;
    }
    let wallet = req.wallet.unwrap_or(WalletId::AppleWallet);
    // Bounded: each answer takes the store's lock on a runtime thread, and declines never end the
    // session, so `{"action":"decline","steps":4294967295}` would hold the sandbox for hours.
    let max = req
        .steps
        .unwrap_or(if action == WalletAction::Decline { 1 } else { u32::MAX })
        .min(MAX_SIMULATED_ANSWERS);
    let mut done = 0;
    while done < max {
        let nonce = shared.store.read(|st| {
            st.sessions
                .get(id)
                .filter(|s| s.status == SessionStatus::InProgress)
                .and_then(|s| s.nonce.clone())
        });
        let Some(nonce) = nonce else { break };
        let body = WalletResponse {
            nonce,
            wallet: wallet.clone(),
            action,
            persona: req.persona.clone(),
            credential: None,
        };
        let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.to_string()))?;
        respond(shared, id, Responder::Control, &bytes)?;
        done += 1;
    }
    get_session(shared, biz, id)
}

/// `simulate {"action": "internal_error"}` (docs/DECISIONS.md §11): binds a `created` session like a
/// first open, then fails its active step; any other status than `in_progress` is 409 `session/not-active`.
fn fail_internal(shared: &Shared, biz: &str, id: &str) -> Result<(), ApiError> {
    let window = step_window(shared);
    with_session(shared, Some(biz), id, |s, b| {
        let now = b.now();
        if s.status == SessionStatus::Created {
            s.open(hash_hex(&random_b64(32)), &mut rand::thread_rng(), now, window)?;
        }
        Ok(((), s.fail_internal(now)?))
    })
}

/// The expiry sweep: resolves every elapsed session.
pub(crate) fn sweep(shared: &Arc<Shared>) {
    let result = shared.store.write(|st| {
        let real_now = clock::real_now();
        let due: Vec<SessionId> = st
            .active
            .iter()
            .filter(|id| {
                st.sessions.get(*id).is_some_and(|s| {
                    let now = st.businesses.get(&s.business_id).map_or(real_now, Business::now);
                    s.next_deadline().is_some_and(|d| now >= d)
                })
            })
            .cloned()
            .collect();
        for id in &due {
            expire(st, id.as_str(), real_now);
        }
        !due.is_empty()
    });
    if matches!(result, Ok(true)) {
        shared.wake_delivery();
    }
}

/// `GET /_sandbox/deliveries`.
pub(crate) fn deliveries(shared: &Shared, biz: &str, session_id: Option<&str>) -> DeliveryLog {
    shared.store.read(|st| DeliveryLog {
        deliveries: st
            .delivery_log
            .get(biz)
            .into_iter()
            .flatten()
            .filter_map(|seq| st.deliveries.get(seq))
            .filter(|d| session_id.is_none_or(|s| d.session_id == s))
            .map(|d| d.log_entry())
            .collect(),
    })
}

/// `POST /_sandbox/deliveries/{id}/redeliver`.
pub(crate) fn redeliver(
    shared: &Shared,
    biz: &str,
    delivery_id: &str,
    fault: DeliveryFault,
) -> Result<uip_types::sandbox::DeliveryLogEntry, ApiError> {
    let entry = shared.store.write(|st| {
        let seq = *st.delivery_ids.get(delivery_id)?;
        let real_now = clock::real_now();
        let d = st.deliveries.get(&seq).filter(|d| d.business_id == biz)?;
        let was_open = d.is_open();
        let sid = d.session_id.clone();
        let d = st.delivery_mut(seq)?;
        d.status = DeliveryStatus::Pending;
        d.fault = (fault != DeliveryFault::None).then_some(fault);
        d.round_started_at = real_now;
        d.round_failures = 0;
        d.next_attempt_at = Some(real_now);
        let entry = d.log_entry();
        if !was_open {
            st.enqueue(sid, seq, real_now);
        }
        Some(entry)
    })?;
    shared.wake_delivery();
    entry.ok_or_else(|| ApiError::not_found("delivery"))
}
