//! Sessions: create, read, the business's decision at a gate, audits, `simulate`; and how every
//! use case reaches one session (lazy expiry first, ownership, one write).

use bytes::Bytes;
use chrono::TimeDelta;
use uip_types::sandbox::{SimulateRequest, WalletAction, WalletResponse};
use uip_types::{
    AuditRecord, CreateSessionRequest, CreatedSession, DecisionResponse, ErrorCode, SessionId, SessionStatus,
    SessionUrl, SessionView, WalletId, WebhookEvent,
};

use super::businesses::hash_hex;
use super::expiry::expire;
use super::page::{open, respond, Responder};
use super::Shared;
use crate::clock;
use crate::engine::session::{DocumentMeta, Session};
use crate::engine::{random_b64, random_base62};
use crate::error::ApiError;
use crate::store::{Business, IdempotencyRecord, State};

/// Idempotency records are kept this long (business clock).
const IDEMPOTENCY_RETENTION_S: i64 = 24 * 3600;

/// The owner of a session, when `biz` may see it (a foreign id is the same as an unknown one).
fn owner(st: &State, biz: Option<&str>, id: &str) -> Result<String, ApiError> {
    match st.session(id) {
        Some(s) if biz.is_none_or(|b| b == s.business_id) => Ok(s.business_id.clone()),
        _ => Err(ApiError::not_found("session")),
    }
}

/// Runs `f` on a session (of `biz`, when given) after lazy expiry, then saves the session and its
/// business — both are always marked, whatever `f` changed — and queues the events `f` produced.
pub(super) async fn with_session<R>(
    shared: &Shared,
    biz: Option<&str>,
    id: &str,
    f: impl FnOnce(&mut Session, &mut Business) -> Result<(R, Vec<WebhookEvent>), ApiError>,
) -> Result<R, ApiError> {
    let (r, emitted) = shared
        .store
        .write_async(|st| {
            let real_now = clock::real_now();
            let owner = match owner(st, biz, id) {
                Ok(o) => o,
                Err(e) => return (Err(e), false),
            };
            let mut emitted = expire(st, id, real_now);
            let r = (|| {
                let mut business =
                    st.business(&owner).cloned().ok_or_else(|| ApiError::not_found("session"))?;
                let result = st
                    .update_session(id, |s| f(s, &mut business))
                    .ok_or_else(|| ApiError::not_found("session"))?;
                st.update_business(&owner, |b| *b = business);
                let (value, events) = result?;
                emitted |= st.emit(&owner, events, real_now);
                Ok(value)
            })();
            (r, emitted)
        })
        .await?;
    if emitted {
        shared.wake_delivery();
    }
    r
}

/// Reads a session (of `biz`, when given) after lazy expiry. Nothing is written unless the
/// session expired just now.
pub(super) async fn read_session<R>(
    shared: &Shared,
    biz: Option<&str>,
    id: &str,
    f: impl FnOnce(&Session, &Business) -> Result<R, ApiError>,
) -> Result<R, ApiError> {
    let (r, emitted) = shared
        .store
        .write_async(|st| {
            let owner = match owner(st, biz, id) {
                Ok(o) => o,
                Err(e) => return (Err(e), false),
            };
            let emitted = expire(st, id, clock::real_now());
            // What this read shows is stored already: it need not wait for others' commits.
            if st.is_stored(id, &owner) {
                st.reads_stored();
            }
            let r = match (st.session(id), st.business(&owner)) {
                (Some(s), Some(b)) => f(s, b),
                _ => Err(ApiError::not_found("session")),
            };
            (r, emitted)
        })
        .await?;
    if emitted {
        shared.wake_delivery();
    }
    r
}

pub(super) fn step_window(shared: &Shared) -> TimeDelta {
    TimeDelta::from_std(shared.settings.step_window).unwrap_or(TimeDelta::seconds(600))
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
    /// The session made (or, on a replay, made by the original create).
    pub session_id: Option<SessionId>,
}

/// `POST /v1/sessions` after validation: idempotency → webhook 422 → balance 402 → store.
pub(crate) async fn create_session(
    shared: &Shared,
    biz: &str,
    input: CreateInput,
) -> Result<CreateOutcome, ApiError> {
    let public_url = shared.public_url.clone();
    let outcome = shared
        .store
        .write_async(|st| -> Result<CreateOutcome, ApiError> {
            let b = st.business(biz).ok_or_else(|| ApiError::not_found("business"))?;
            let now = b.now();
            let key = input.idempotency_key.as_ref().map(|k| (biz.to_owned(), k.clone()));
            if let Some(key) = &key {
                if let Some(rec) = st.idempotency(key) {
                    if (now - rec.created_at).num_seconds() < IDEMPOTENCY_RETENTION_S {
                        if rec.fingerprint == input.fingerprint {
                            let session_id =
                                serde_json::from_str::<CreatedSession>(&rec.response).ok().map(|c| c.id);
                            return Ok(CreateOutcome {
                                body: rec.response.clone(),
                                replayed: true,
                                session_id,
                            });
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
            let b = st.business(biz).ok_or_else(|| ApiError::not_found("business"))?;
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
                expires_at: clock::add_secs(created_at, i64::from(ttl)),
                step_deadline: None,
                binding_hash: None,
                nonce: None,
                audits: Vec::with_capacity(step_count),
                end_reason: None,
                // Numbered by the store.
                seq: 0,
            };
            let created = CreatedSession::new(
                id.clone(),
                SessionUrl::new(format!("{public_url}/s/{id}")),
                session.expires_at,
            );
            let body = serde_json::to_string(&created).map_err(|e| ApiError::internal(e.to_string()))?;
            st.insert_session(session, input.uploads.into_iter().map(|u| u.bytes).collect());
            if let Some(key) = key {
                st.put_idempotency(
                    key,
                    IdempotencyRecord {
                        fingerprint: input.fingerprint,
                        response: body.clone(),
                        created_at: now,
                    },
                );
            }
            Ok(CreateOutcome { body, replayed: false, session_id: Some(id) })
        })
        .await??;
    Ok(outcome)
}

/// `GET /v1/sessions/{id}`.
pub(crate) async fn get_session(shared: &Shared, biz: &str, id: &str) -> Result<SessionView, ApiError> {
    read_session(shared, Some(biz), id, |s, _| Ok(s.view())).await
}

/// A business's decision at a gate.
#[derive(Clone, Copy)]
pub(crate) enum Decision {
    Continue,
    Stop,
}

/// `POST /v1/sessions/{id}/continue` and `/stop`.
pub(crate) async fn decide(
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
    .await
}

/// `GET /v1/audits/{id}`.
pub(crate) async fn get_audit(shared: &Shared, biz: &str, audit_id: &str) -> Result<AuditRecord, ApiError> {
    let (sid, stage) = audit_id.rsplit_once('_').ok_or_else(|| ApiError::not_found("audit"))?;
    let stage: usize = stage.parse().map_err(|_| ApiError::not_found("audit"))?;
    read_session(shared, Some(biz), sid, |s, _| Ok(s.audit(stage)))
        .await
        .ok()
        .flatten()
        .filter(|a| a.id == audit_id)
        .ok_or_else(|| ApiError::not_found("audit"))
}

/// Most wallet answers one `simulate` call gives (a session has at most 20 steps).
const MAX_SIMULATED_ANSWERS: u32 = 100;

/// `POST /_sandbox/sessions/{id}/simulate`: opens if needed, then answers steps as the user would.
pub(crate) async fn simulate(
    shared: &Shared,
    biz: &str,
    id: &str,
    req: SimulateRequest,
) -> Result<SessionView, ApiError> {
    // Ownership first: a foreign id is unknown.
    let bound = read_session(shared, Some(biz), id, |s, _| Ok(s.binding_hash.is_some())).await?;
    // The body is checked whole before anything happens, even when no step gets answered (an ended
    // session, `steps: 0`, `internal_error`): the same 400s the page's `/response` gives.
    if let Some(w) = req.wallet.as_ref().filter(|w| !w.is_known()) {
        return Err(ApiError::payload(format!(
            "unknown wallet `{w}`; expected apple-wallet or google-wallet"
        ))
        .param("wallet"));
    }
    if let Some(p) = req.persona.as_deref().filter(|p| crate::engine::wallet::persona(p).is_none()) {
        return Err(ApiError::payload(format!("unknown persona `{p}`")).param("persona"));
    }
    let action = req.action.unwrap_or_default();
    let Some(action) = action.wallet_action() else {
        fail_internal(shared, biz, id).await?;
        return get_session(shared, biz, id).await;
    };
    if !bound {
        open(shared, id, None).await?;
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
        let nonce = read_session(shared, Some(biz), id, |s, _| {
            Ok(s.nonce.clone().filter(|_| s.status == SessionStatus::InProgress))
        })
        .await?;
        let Some(nonce) = nonce else { break };
        let mut answer = WalletResponse::new(nonce, wallet.clone(), action);
        answer.persona = req.persona.clone();
        respond(shared, id, Responder::Control, Ok(answer)).await?;
        done += 1;
    }
    get_session(shared, biz, id).await
}

/// `simulate {"action": "internal_error"}` (docs/DECISIONS.md §11): binds a `created` session like a
/// first open, then fails its active step; any other status than `in_progress` is 409 `session/not-active`.
async fn fail_internal(shared: &Shared, biz: &str, id: &str) -> Result<(), ApiError> {
    let window = step_window(shared);
    with_session(shared, Some(biz), id, |s, b| {
        let now = b.now();
        if s.status == SessionStatus::Created {
            s.open(hash_hex(&random_b64(32)), &mut rand::thread_rng(), now, window)?;
        }
        Ok(((), s.fail_internal(now)?))
    })
    .await
}
