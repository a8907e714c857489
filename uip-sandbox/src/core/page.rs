//! The hosted page's use cases (docs/DECISIONS.md §7): open and bind, state, the wallet request,
//! documents, and the wallet's answer.

use bytes::Bytes;
use uip_types::sandbox::{
    OpenResponse, PageState, Personas, RequestDocument, ResponseOutcome, ResponseResult, WalletAction,
    WalletRequest, WalletResponse,
};
use uip_types::{BindingToken, ErrorCode, SessionStatus, StepParams};

use super::businesses::hash_hex;
use super::sessions::{read_session, step_window, with_session};
use super::Shared;
use crate::engine::random_b64;
use crate::engine::session::{Session, Verification};
use crate::engine::wallet::{self, Credential};
use crate::error::ApiError;
use crate::store::Business;

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
pub(crate) async fn open(shared: &Shared, id: &str, token: Option<&str>) -> Result<BindingToken, ApiError> {
    let bound = read_session(shared, None, id, |s, _| {
        if s.binding_hash.is_some() {
            check_binding(s, token)?;
            return Ok(true);
        }
        Ok(false)
    })
    .await?;
    if bound {
        return Ok(BindingToken::new(token.unwrap_or_default()));
    }
    let window = step_window(shared);
    with_session(shared, None, id, |s, b| {
        // Bound meanwhile by another request: the same checks as above.
        if s.binding_hash.is_some() {
            check_binding(s, token)?;
            return Ok((BindingToken::new(token.unwrap_or_default()), Vec::new()));
        }
        let fresh = random_b64(32);
        s.open(hash_hex(&fresh), &mut rand::thread_rng(), b.now(), window)?;
        Ok((BindingToken::new(fresh), Vec::new()))
    })
    .await
}

/// `HEAD /s/{id}`: what `GET /s/{id}` would answer, but it never binds (docs/DECISIONS.md §11):
/// link previews and prefetchers send HEAD, and must not take the session from its user.
pub(crate) async fn peek(shared: &Shared, id: &str, token: Option<&str>) -> Result<(), ApiError> {
    read_session(shared, None, id, |s, _| match s.binding_hash {
        Some(_) => check_binding(s, token),
        None => Ok(()),
    })
    .await
}

/// The open answer.
pub(crate) fn open_response(token: BindingToken) -> OpenResponse {
    OpenResponse::new(token)
}

fn page_state(s: &Session, b: &Business) -> PageState {
    let mut state = PageState::new(s.status.clone(), s.current_step, s.step_count(), s.current_primitive())
        .with_business_name(b.name.clone());
    if let Some(at) = s.step_expires_at() {
        state = state.with_step_expires_at(at);
    }
    if let Some(url) = &s.return_url {
        state = state.with_return_url(url.clone());
    }
    if let Some(reason) = &s.end_reason {
        state = state.with_reason(reason.clone());
    }
    state
}

/// `GET /s/{id}/state`.
pub(crate) async fn state(shared: &Shared, id: &str, token: Option<&str>) -> Result<PageState, ApiError> {
    read_session(shared, None, id, |s, b| {
        check_binding(s, token)?;
        Ok(page_state(s, b))
    })
    .await
}

fn not_active(s: &Session) -> ApiError {
    ApiError::new(ErrorCode::NotActive, format!("the session is {}; no step is active", s.status))
}

/// `GET /s/{id}/request`.
pub(crate) async fn wallet_request(
    shared: &Shared,
    id: &str,
    token: Option<&str>,
) -> Result<WalletRequest, ApiError> {
    read_session(shared, None, id, |s, _| {
        check_binding(s, token)?;
        build_request(s, &shared.origin)
    })
    .await
}

fn build_request(s: &Session, origin: &str) -> Result<WalletRequest, ApiError> {
    if s.status != SessionStatus::InProgress {
        return Err(not_active(s));
    }
    let stage = s.current_step as usize;
    let mut req = WalletRequest::new(
        s.current_step,
        s.current_primitive(),
        s.nonce.clone().unwrap_or_default(),
        origin,
        s.step_expires_at().unwrap_or(s.expires_at),
    );
    if let Some(hash) = s.document_hash(stage) {
        req = req.with_document_hash(hash);
    }
    let req = match &s.steps[stage].params {
        StepParams::Identify(p) => req.with_blocks(p.effective_blocks()),
        StepParams::AgeVerify(p) => req.with_min_age(p.effective_min_age()),
        StepParams::LightSign(p) => {
            let req = req.with_terms(p.terms.clone());
            match &p.title {
                Some(title) => req.with_title(title.clone()),
                None => req,
            }
        }
        StepParams::Sign(_) => req.with_documents(
            s.step_documents[stage]
                .iter()
                .enumerate()
                .map(|(index, &i)| {
                    let d = &s.documents[i];
                    RequestDocument::new(
                        index as u32,
                        d.name.clone(),
                        d.size,
                        format!("sha256:{}", d.sha256_hex),
                    )
                })
                .collect(),
        ),
    };
    Ok(req)
}

/// A document's bytes for the page.
pub(crate) struct DocumentBytes {
    pub name: String,
    pub content_type: String,
    pub bytes: Bytes,
}

fn purged() -> ApiError {
    ApiError::new(ErrorCode::DocumentsPurged, "the documents of this session were purged")
}

/// `GET /s/{id}/documents/{index}`.
pub(crate) async fn document(
    shared: &Shared,
    id: &str,
    token: Option<&str>,
    index: usize,
) -> Result<DocumentBytes, ApiError> {
    let (doc, name, content_type) = read_session(shared, None, id, |s, _| {
        check_binding(s, token)?;
        let stage = s.current_step as usize;
        let is_sign = matches!(s.steps[stage].params, StepParams::Sign(_));
        let doc = s.step_documents[stage].get(index).copied().filter(|_| is_sign);
        let Some(doc) = doc else { return Err(ApiError::not_found("document")) };
        let meta = &s.documents[doc];
        if meta.purged {
            return Err(purged());
        }
        Ok((doc, meta.name.clone(), meta.content_type.clone()))
    })
    .await?;
    let bytes = shared.store.read(|st| st.document_bytes(id, doc)).ok_or_else(purged)?;
    Ok(DocumentBytes { name, content_type, bytes })
}

/// Who is answering: the bound browser (token checked) or the control API (binding bypassed).
pub(crate) enum Responder<'a> {
    Browser(Option<&'a str>),
    Control,
}

/// `POST /s/{id}/response`: checks in order binding, session active, nonce, wallet, credential.
/// `answer` is the parsed body; a body that did not parse is reported after the binding check.
pub(crate) async fn respond(
    shared: &Shared,
    id: &str,
    who: Responder<'_>,
    answer: Result<WalletResponse, ApiError>,
) -> Result<ResponseResult, ApiError> {
    let window = step_window(shared);
    with_session(shared, None, id, |s, b| {
        if let Responder::Browser(token) = who {
            check_binding(s, token)?;
        }
        let resp = answer?;
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
    .await
}

/// `GET /_sandbox/personas`.
pub(crate) fn personas() -> Personas {
    Personas::new(wallet::personas().iter().map(wallet::Persona::info).collect())
}

fn result(s: &Session, b: &Business, outcome: ResponseOutcome) -> ResponseResult {
    ResponseResult::new(page_state(s, b), outcome)
}
