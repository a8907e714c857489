//! The session state machine of docs/UIP-API.md §4 with docs/DECISIONS.md §3, §4 and §11.
//!
//! Every transition takes `now` (the business's clock) and, where it starts a step, the random
//! source of the step's nonce; it returns the webhook events it produced, in order, or a
//! [`TransitionError`] saying why the session refused it (and then changes nothing). The caller
//! stores the new state and the events in one write.

use std::collections::BTreeMap;

use chrono::Duration;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uip_types::hashing::{self, ManifestEntry, GENESIS_HASH};
use uip_types::{
    AuditRecord, DecisionResponse, EventContext, Primitive, Proof, ProofDocument, SessionEnded, SessionId,
    SessionStatus, SessionView, Step, StepCompleted, StepParams, StepResult, Timestamp, WalletId,
    WebhookEvent,
};

use super::audit::{self, StoredAudit};
use super::wallet::{CheckFailure, Credential};
use uip_types::sandbox::Trust;

/// A document uploaded for sign steps (its bytes live in the store until purged).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct DocumentMeta {
    pub name: String,
    pub content_type: String,
    pub sha256_hex: String,
    pub size: u64,
    pub purged: bool,
}

/// One session, as the sandbox keeps it.
///
/// Its stored (JSON) form is [`SessionRow`]: the same fields, its audits as the public
/// [`AuditRecord`]s (kept in memory in their compact form, [`StoredAudit`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "SessionRow")]
pub(crate) struct Session {
    pub id: SessionId,
    pub business_id: String,
    pub steps: Vec<Step>,
    /// For each step, indices into `documents` in signing order (empty unless sign).
    pub step_documents: Vec<Vec<usize>>,
    pub documents: Vec<DocumentMeta>,
    pub client_reference_id: Option<String>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub return_url: Option<String>,
    pub status: SessionStatus,
    pub current_step: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
    /// End of the active step's window (uncapped by the session expiry).
    pub step_deadline: Option<Timestamp>,
    /// Hex SHA-256 of the binding token, once bound.
    pub binding_hash: Option<String>,
    /// The active step's nonce.
    pub nonce: Option<String>,
    /// One record per verified stage, in stage order (see [`Session::audit`]).
    pub audits: Vec<StoredAudit>,
    /// Why the session ended (failed / expired).
    pub end_reason: Option<String>,
    /// Creation order in this sandbox, from 1 (the store numbers a new session; 0 in databases
    /// written before it was kept). Orders `GET /_sandbox/sessions` within a second.
    pub seq: u64,
}

/// The stored form of a [`Session`], as it is read: the fields in the order they are written,
/// the audits as public records.
#[derive(Deserialize)]
struct SessionRow {
    id: SessionId,
    business_id: String,
    steps: Vec<Step>,
    step_documents: Vec<Vec<usize>>,
    documents: Vec<DocumentMeta>,
    client_reference_id: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
    return_url: Option<String>,
    status: SessionStatus,
    current_step: u32,
    created_at: Timestamp,
    updated_at: Timestamp,
    expires_at: Timestamp,
    step_deadline: Option<Timestamp>,
    binding_hash: Option<String>,
    nonce: Option<String>,
    audits: Vec<AuditRecord>,
    #[serde(default)]
    end_reason: Option<String>,
    #[serde(default)]
    seq: u64,
}

/// The stored form of a [`Session`], as it is written (the same fields as [`SessionRow`]).
#[derive(Serialize)]
struct SessionRowRef<'a> {
    id: &'a SessionId,
    business_id: &'a str,
    steps: &'a [Step],
    step_documents: &'a [Vec<usize>],
    documents: &'a [DocumentMeta],
    client_reference_id: &'a Option<String>,
    metadata: &'a Option<BTreeMap<String, String>>,
    return_url: &'a Option<String>,
    status: &'a SessionStatus,
    current_step: u32,
    created_at: &'a Timestamp,
    updated_at: &'a Timestamp,
    expires_at: &'a Timestamp,
    step_deadline: &'a Option<Timestamp>,
    binding_hash: &'a Option<String>,
    nonce: &'a Option<String>,
    audits: Vec<AuditRecord>,
    end_reason: &'a Option<String>,
    seq: u64,
}

impl From<SessionRow> for Session {
    fn from(row: SessionRow) -> Session {
        let mut session = Session {
            id: row.id,
            business_id: row.business_id,
            steps: row.steps,
            step_documents: row.step_documents,
            documents: row.documents,
            client_reference_id: row.client_reference_id,
            metadata: row.metadata,
            return_url: row.return_url,
            status: row.status,
            current_step: row.current_step,
            created_at: row.created_at,
            updated_at: row.updated_at,
            expires_at: row.expires_at,
            step_deadline: row.step_deadline,
            binding_hash: row.binding_hash,
            nonce: row.nonce,
            audits: Vec::with_capacity(row.audits.len()),
            end_reason: row.end_reason,
            seq: row.seq,
        };
        for record in row.audits {
            session.push_audit(record);
        }
        session
    }
}

impl Serialize for Session {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SessionRowRef {
            id: &self.id,
            business_id: &self.business_id,
            steps: &self.steps,
            step_documents: &self.step_documents,
            documents: &self.documents,
            client_reference_id: &self.client_reference_id,
            metadata: &self.metadata,
            return_url: &self.return_url,
            status: &self.status,
            current_step: self.current_step,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            expires_at: &self.expires_at,
            step_deadline: &self.step_deadline,
            binding_hash: &self.binding_hash,
            nonce: &self.nonce,
            audits: self.audit_records(),
            end_reason: &self.end_reason,
            seq: self.seq,
        }
        .serialize(serializer)
    }
}

/// What a shared credential did to the active step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verification {
    /// The step verified (billed, audited, `step.completed`).
    Verified,
    /// The session failed for this reason (nothing billed, no audit, `session.failed`).
    Failed(FailReason),
}

/// Why a session failed: the `reason` of `session.failed` (docs/DECISIONS.md §4, §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailReason {
    /// A verification check failed (docs/UIP-API.md §8.5).
    Check(CheckFailure),
    /// The balance could not pay the step.
    InsufficientFunds,
    /// The service failed the step (provoked with `simulate {"action": "internal_error"}`).
    InternalError,
}

impl FailReason {
    /// The wire `reason`.
    pub fn code(self) -> &'static str {
        match self {
            FailReason::Check(c) => c.code(),
            FailReason::InsufficientFunds => "insufficient_funds",
            FailReason::InternalError => "internal_error",
        }
    }
}

/// Why the state machine refused a transition. A refused transition changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TransitionError {
    /// `continue` / `stop` while the session is not paused at a gate.
    #[error("the session is {0}, not awaiting_decision")]
    NotAwaitingDecision(SessionStatus),
    /// A step action (answer, decline, failure) while no step is active.
    #[error("the session is {0}; no step is active")]
    NotActive(SessionStatus),
    /// The answer carries a nonce other than the active step's.
    #[error("the nonce is not the active step's")]
    StaleNonce,
    /// A first open of a session that is already bound to a device.
    #[error("this session is open on another device")]
    AlreadyBound,
}

/// The result of applying a transition.
#[derive(Debug)]
pub(crate) struct Applied<T> {
    pub value: T,
    pub events: Vec<WebhookEvent>,
}

impl Session {
    /// The audit record of stage `stage`, if that stage verified.
    pub fn audit(&self, stage: usize) -> Option<AuditRecord> {
        let stored = self.audits.get(stage)?;
        Some(stored.render(self, stage, self.prev_hash(stage)))
    }

    /// Every audit record, in stage order.
    pub fn audit_records(&self) -> Vec<AuditRecord> {
        let mut prev_hash = GENESIS_HASH.to_owned();
        let mut records = Vec::with_capacity(self.audits.len());
        for (stage, stored) in self.audits.iter().enumerate() {
            let record = stored.render(self, stage, prev_hash);
            prev_hash = record.record_hash.clone();
            records.push(record);
        }
        records
    }

    /// The `prev_hash` of stage `stage`'s record: the record before's hash, genesis for stage 0.
    fn prev_hash(&self, stage: usize) -> String {
        match stage.checked_sub(1).and_then(|before| self.audits.get(before)) {
            Some(before) => before.record_hash(),
            None => GENESIS_HASH.to_owned(),
        }
    }

    /// Appends the record of the next stage (kept compact when it can be).
    fn push_audit(&mut self, record: AuditRecord) {
        let stage = self.audits.len();
        let stored = StoredAudit::new(self, stage, &self.prev_hash(stage), record);
        self.audits.push(stored);
    }

    pub fn context(&self) -> EventContext {
        let mut context = EventContext::new(self.id.clone());
        context.client_reference_id = self.client_reference_id.clone();
        context.metadata = self.metadata.clone();
        context
    }

    pub fn step_count(&self) -> u32 {
        self.steps.len() as u32
    }

    pub fn current(&self) -> &Step {
        &self.steps[(self.current_step as usize).min(self.steps.len() - 1)]
    }

    pub fn current_primitive(&self) -> Primitive {
        self.current().primitive()
    }

    /// The GET view (docs/DECISIONS.md §3).
    pub fn view(&self) -> SessionView {
        let mut view =
            SessionView::new(self.id.clone(), self.status.clone(), self.current_step, self.step_count())
                .with_primitives(self.steps.iter().map(Step::primitive).collect())
                .with_current_primitive(self.current_primitive())
                .with_expires_at(self.expires_at)
                .with_created_at(self.created_at)
                .with_updated_at(self.updated_at);
        view.client_reference_id = self.client_reference_id.clone();
        view.metadata = self.metadata.clone();
        view
    }

    /// The continue/stop answer.
    pub fn decision(&self) -> DecisionResponse {
        let answer =
            DecisionResponse::new(self.id.clone(), self.status.clone(), self.current_step, self.step_count());
        if self.status.is_terminal() {
            answer
        } else {
            answer.with_current_primitive(self.current_primitive())
        }
    }

    /// When the active step must be answered: the earlier of its window and the session expiry.
    /// `None` unless `in_progress`.
    pub fn step_expires_at(&self) -> Option<Timestamp> {
        (self.status == SessionStatus::InProgress)
            .then(|| self.step_deadline.map_or(self.expires_at, |d| d.min(self.expires_at)))
    }

    fn start_step<R: RngCore + ?Sized>(&mut self, rng: &mut R, now: Timestamp, window: Duration) {
        // Saturates at 9999-12-31T23:59:59Z instead of panicking or leaving RFC 3339: no time
        // arithmetic may panic (docs/DECISIONS.md §11).
        self.step_deadline = Some(crate::clock::add(now, window));
        self.nonce = Some(super::nonce(rng));
    }

    fn require_active(&self) -> Result<(), TransitionError> {
        if self.status == SessionStatus::InProgress {
            Ok(())
        } else {
            Err(TransitionError::NotActive(self.status.clone()))
        }
    }

    fn require_gate(&self) -> Result<(), TransitionError> {
        if self.status == SessionStatus::AwaitingDecision {
            Ok(())
        } else {
            Err(TransitionError::NotAwaitingDecision(self.status.clone()))
        }
    }

    fn fail(&mut self, reason: FailReason, now: Timestamp) -> WebhookEvent {
        self.end(SessionStatus::Failed, Some(reason.code().to_owned()), now)
    }

    fn end(&mut self, status: SessionStatus, reason: Option<String>, now: Timestamp) -> WebhookEvent {
        self.status = status.clone();
        self.updated_at = now;
        self.step_deadline = None;
        self.nonce = None;
        for d in &mut self.documents {
            d.purged = true;
        }
        self.end_reason = reason.clone();
        let mut ended = SessionEnded::new(self.context(), status.clone());
        ended.reason = reason;
        match status {
            SessionStatus::Completed => WebhookEvent::SessionCompleted(ended),
            SessionStatus::Stopped => WebhookEvent::SessionStopped(ended),
            SessionStatus::Failed => WebhookEvent::SessionFailed(ended),
            _ => WebhookEvent::SessionExpired(ended),
        }
    }

    /// Lazy expiry: resolves an elapsed session to `expired` (TTL or step window, whichever
    /// came first). Returns the `session.expired` event when it fired.
    pub fn expire_if_due(&mut self, now: Timestamp) -> Option<WebhookEvent> {
        if self.status.is_terminal() {
            return None;
        }
        let step_deadline = self.step_deadline.filter(|_| self.status == SessionStatus::InProgress);
        let reason = match step_deadline {
            Some(d) if d < self.expires_at && now >= d => "step_window",
            _ if now >= self.expires_at => "session_ttl",
            _ => return None,
        };
        Some(self.end(SessionStatus::Expired, Some(reason.to_owned()), now))
    }

    /// The earliest instant at which this session may expire (for the sweep).
    pub fn next_deadline(&self) -> Option<Timestamp> {
        if self.status.is_terminal() {
            return None;
        }
        Some(self.step_expires_at().unwrap_or(self.expires_at))
    }

    /// First open of the hosted page: binds the session to `binding_hash`; a `created` session
    /// becomes `in_progress` and stage 0's window starts. Any other status only records the
    /// binding (the page then shows where the session stands). Already bound: `AlreadyBound`.
    pub fn open<R: RngCore + ?Sized>(
        &mut self,
        binding_hash: String,
        rng: &mut R,
        now: Timestamp,
        window: Duration,
    ) -> Result<(), TransitionError> {
        if self.binding_hash.is_some() {
            return Err(TransitionError::AlreadyBound);
        }
        self.binding_hash = Some(binding_hash);
        if self.status == SessionStatus::Created {
            self.status = SessionStatus::InProgress;
            self.updated_at = now;
            self.start_step(rng, now, window);
        }
        Ok(())
    }

    /// `continue` at a gate: the next step becomes active (its window starts), or the session
    /// completes after the last one.
    pub fn resume<R: RngCore + ?Sized>(
        &mut self,
        rng: &mut R,
        now: Timestamp,
        window: Duration,
    ) -> Result<Vec<WebhookEvent>, TransitionError> {
        self.require_gate()?;
        if self.current_step + 1 >= self.step_count() {
            return Ok(vec![self.end(SessionStatus::Completed, None, now)]);
        }
        self.current_step += 1;
        self.status = SessionStatus::InProgress;
        self.updated_at = now;
        self.start_step(rng, now, window);
        Ok(Vec::new())
    }

    /// `stop` at a gate: the session ends `stopped`.
    pub fn stop(&mut self, now: Timestamp) -> Result<Vec<WebhookEvent>, TransitionError> {
        self.require_gate()?;
        Ok(vec![self.end(SessionStatus::Stopped, None, now)])
    }

    /// Whether a wallet answer carrying `nonce` may be taken now: a step is active and the
    /// nonce is its own.
    pub fn check_answer(&self, nonce: &str) -> Result<(), TransitionError> {
        self.require_active()?;
        if self.nonce.as_deref() != Some(nonce) {
            return Err(TransitionError::StaleNonce);
        }
        Ok(())
    }

    /// A decline in the wallet: not a failure; the step stays active (its window runs on) with
    /// a fresh nonce drawn from `rng`.
    pub fn decline<R: RngCore + ?Sized>(
        &mut self,
        rng: &mut R,
        now: Timestamp,
    ) -> Result<(), TransitionError> {
        self.require_active()?;
        self.nonce = Some(super::nonce(rng));
        self.updated_at = now;
        Ok(())
    }

    /// The service fails the active step (docs/DECISIONS.md §11): the session ends `failed` with
    /// reason `internal_error`; nothing is billed, no audit record or `step.completed` is written.
    pub fn fail_internal(&mut self, now: Timestamp) -> Result<Vec<WebhookEvent>, TransitionError> {
        self.require_active()?;
        Ok(vec![self.fail(FailReason::InternalError, now)])
    }

    /// The document hash the active step signs (sign / light_sign).
    pub fn document_hash(&self, stage: usize) -> Option<String> {
        match &self.steps[stage].params {
            StepParams::LightSign(p) => Some(hashing::light_sign_document_hash(&p.terms)),
            StepParams::Sign(_) => {
                let entries: Vec<ManifestEntry<'_>> = self.step_documents[stage]
                    .iter()
                    .map(|&i| {
                        let d = &self.documents[i];
                        ManifestEntry { name: &d.name, sha256_hex: d.sha256_hex.clone(), size: d.size }
                    })
                    .collect();
                Some(hashing::sign_document_hash(&entries))
            }
            _ => None,
        }
    }

    /// A shared credential for the active step: runs the checks, charges, writes the audit
    /// record and advances (to the gate, the next step with a fresh nonce from `rng`, or
    /// completion). `balance` is the business's balance, charged in place. A failed check or an
    /// unpayable step fails the session instead, with nothing charged.
    #[allow(clippy::too_many_arguments)]
    pub fn verify<R: RngCore + ?Sized>(
        &mut self,
        credential: &Credential,
        wallet: WalletId,
        trust: Trust,
        balance: &mut u64,
        rng: &mut R,
        now: Timestamp,
        window: Duration,
    ) -> Result<Applied<Verification>, TransitionError> {
        self.require_active()?;
        let stage = self.current_step as usize;
        if let Err(failure) = credential.check(trust, now.date_naive()) {
            let reason = FailReason::Check(failure);
            let event = self.fail(reason, now);
            return Ok(Applied { value: Verification::Failed(reason), events: vec![event] });
        }
        let step = self.steps[stage].clone();
        let primitive = step.primitive();
        let price = primitive.price_cents().unwrap_or(0);
        if *balance < price {
            let reason = FailReason::InsufficientFunds;
            let event = self.fail(reason, now);
            return Ok(Applied { value: Verification::Failed(reason), events: vec![event] });
        }
        *balance -= price;

        let (result, proof) = match &step.params {
            StepParams::Identify(p) => {
                let blocks = p.effective_blocks();
                let claims = credential.disclose(&blocks);
                let claims_digest = hashing::jcs_digest(&claims);
                (StepResult::Identify { claims }, Proof::Identify { blocks, claims_digest })
            }
            StepParams::AgeVerify(p) => {
                let min_age = p.effective_min_age();
                let satisfied = credential.age_on(now.date_naive()).is_some_and(|a| a >= u32::from(min_age));
                (
                    StepResult::AgeVerify { satisfied, min_age: Some(min_age) },
                    Proof::AgeVerify { satisfied, min_age },
                )
            }
            StepParams::LightSign(_) | StepParams::Sign(_) => {
                let document_hash = self.document_hash(stage).unwrap_or_default();
                let signature = credential.sign(&document_hash);
                let proof = if let StepParams::Sign(_) = &step.params {
                    let documents = self.step_documents[stage]
                        .iter()
                        .map(|&i| {
                            let d = &self.documents[i];
                            ProofDocument::new(d.name.clone(), format!("sha256:{}", d.sha256_hex), d.size)
                        })
                        .collect();
                    Proof::Sign {
                        document_hash: document_hash.clone(),
                        signature: signature.clone(),
                        documents,
                    }
                } else {
                    Proof::LightSign { document_hash: document_hash.clone(), signature: signature.clone() }
                };
                (StepResult::Signature { signature, document_hash }, proof)
            }
        };
        let record = audit::record(self, stage as u32, primitive.clone(), wallet, proof, now);
        let mut events = vec![WebhookEvent::StepCompleted(
            StepCompleted::new(self.context(), stage as u32, primitive, result)
                .with_audit_id(record.id.clone()),
        )];
        self.push_audit(record);
        self.purge_documents_after(stage);
        self.updated_at = now;

        if step.gate {
            self.status = SessionStatus::AwaitingDecision;
            self.step_deadline = None;
            self.nonce = None;
        } else if stage + 1 >= self.steps.len() {
            events.push(self.end(SessionStatus::Completed, None, now));
        } else {
            self.current_step += 1;
            self.start_step(rng, now, window);
        }
        Ok(Applied { value: Verification::Verified, events })
    }

    /// Marks documents purged once no later sign step uses them.
    fn purge_documents_after(&mut self, stage: usize) {
        for &i in &self.step_documents[stage] {
            let used_later = self.step_documents[stage + 1..].iter().any(|later| later.contains(&i));
            if !used_later {
                self.documents[i].purged = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every transition of docs/DECISIONS.md §3–§4 (and §11's `internal_error`), one table each.
    //! Sessions are brought into each status through the transitions themselves, time is a fixed
    //! instant plus offsets, and nonces come from a seeded generator.

    use chrono::{TimeZone, Utc};
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::{json, Value};
    use uip_types::hashing::GENESIS_HASH;
    use uip_types::SessionStatus as S;

    use super::*;
    use crate::engine::nonce;
    use crate::engine::wallet::{self, CheckFailure};

    const ID: &str = "sess_TestTestTestTestTestTest";
    const TTL_S: i64 = 3600;
    const WINDOW_S: i64 = 600;

    fn t0() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 6, 7, 12, 0, 0).single().expect("valid instant")
    }

    fn at(offset_s: i64) -> Timestamp {
        t0() + Duration::seconds(offset_s)
    }

    fn window() -> Duration {
        Duration::seconds(WINDOW_S)
    }

    fn rng() -> StdRng {
        StdRng::seed_from_u64(14)
    }

    /// A `created` session made at `t0` with a one-hour TTL.
    fn session(steps: Vec<Step>) -> Session {
        let step_documents = vec![Vec::new(); steps.len()];
        Session {
            id: ID.into(),
            business_id: "biz_test".to_owned(),
            steps,
            step_documents,
            documents: Vec::new(),
            client_reference_id: None,
            metadata: None,
            return_url: None,
            status: S::Created,
            current_step: 0,
            created_at: t0(),
            updated_at: t0(),
            expires_at: at(TTL_S),
            step_deadline: None,
            binding_hash: None,
            nonce: None,
            audits: Vec::new(),
            end_reason: None,
            seq: 0,
        }
    }

    fn credential(persona: &str) -> Credential {
        wallet::persona(persona).expect("a built-in persona").credential.clone()
    }

    /// The whole stored state, to show that a refused transition changes nothing.
    fn snapshot(s: &Session) -> Value {
        serde_json::to_value(s).expect("a session serializes")
    }

    fn names(events: &[WebhookEvent]) -> Vec<&str> {
        events.iter().map(WebhookEvent::name).collect()
    }

    fn body(event: &WebhookEvent) -> Value {
        serde_json::to_value(event).expect("an event serializes")
    }

    /// `jane-doe` shares from Apple Wallet under demo trust with funds to spare.
    fn share(s: &mut Session, rng: &mut StdRng, now: Timestamp) -> Applied<Verification> {
        let mut balance = 100;
        s.verify(
            &credential("jane-doe"),
            WalletId::AppleWallet,
            Trust::Demo,
            &mut balance,
            rng,
            now,
            window(),
        )
        .expect("the step is active")
    }

    /// A session of two steps, the first gated, brought into `status` by the transitions
    /// themselves (each at `t0` + 1 s more than the previous one).
    fn reach(status: &SessionStatus) -> Session {
        let mut r = rng();
        let mut s = session(vec![Step::identify_default().gate(), Step::identify_default()]);
        let open = |s: &mut Session, r: &mut StdRng| s.open("bound".to_owned(), r, at(1), window()).unwrap();
        match status {
            S::Created => {}
            S::InProgress => open(&mut s, &mut r),
            S::AwaitingDecision => {
                open(&mut s, &mut r);
                share(&mut s, &mut r, at(2));
            }
            S::Completed => {
                open(&mut s, &mut r);
                share(&mut s, &mut r, at(2));
                s.resume(&mut r, at(3), window()).unwrap();
                share(&mut s, &mut r, at(4));
            }
            S::Stopped => {
                open(&mut s, &mut r);
                share(&mut s, &mut r, at(2));
                s.stop(at(3)).unwrap();
            }
            S::Failed => {
                open(&mut s, &mut r);
                s.fail_internal(at(2)).unwrap();
            }
            S::Expired => {
                s.expire_if_due(at(TTL_S)).expect("due at the TTL");
            }
            other => panic!("no way to reach {other}"),
        }
        assert_eq!(&s.status, status, "reach({status})");
        s
    }

    /// The known statuses, each with `v`.
    fn by_status<T>(v: [T; 7]) -> Vec<(SessionStatus, T)> {
        S::KNOWN.iter().cloned().zip(v).collect()
    }

    #[test]
    fn known_statuses_are_the_seven_of_the_state_machine() {
        let expected =
            [S::Created, S::InProgress, S::AwaitingDecision, S::Completed, S::Stopped, S::Failed, S::Expired];
        assert_eq!(S::KNOWN, expected.as_slice(), "by_status() tables list them in this order");
    }

    #[test]
    fn open_binds_and_starts_stage_0_only_from_created() {
        use TransitionError::AlreadyBound;
        // Ok(status after) or the refusal. Unbound ended sessions (an expired, never opened one)
        // are bound without any other change: the page then shows where the session stands.
        let table = by_status([
            Ok(S::InProgress),
            Err(AlreadyBound),
            Err(AlreadyBound),
            Err(AlreadyBound),
            Err(AlreadyBound),
            Err(AlreadyBound),
            Ok(S::Expired),
        ]);
        let now = at(30);
        for (status, expected) in table {
            let mut s = reach(&status);
            let before = snapshot(&s);
            let result = s.open("new-binding".to_owned(), &mut rng(), now, window());
            match expected {
                Err(e) => {
                    assert_eq!(result, Err(e), "{status}");
                    assert_eq!(snapshot(&s), before, "{status}: a refused open changes nothing");
                }
                Ok(after) => {
                    assert_eq!(result, Ok(()), "{status}");
                    assert_eq!(s.status, after, "{status}");
                    assert_eq!(s.binding_hash.as_deref(), Some("new-binding"), "{status}");
                    if after == S::InProgress {
                        assert_eq!(s.current_step, 0);
                        assert_eq!(s.updated_at, now);
                        assert_eq!(s.step_deadline, Some(now + window()), "stage 0's window starts on open");
                        assert_eq!(s.nonce.as_ref().map(String::len), Some(22), "base64url of 16 bytes");
                    } else {
                        let mut expected = before.clone();
                        expected["binding_hash"] = json!("new-binding");
                        assert_eq!(snapshot(&s), expected, "{status}: only the binding is recorded");
                    }
                }
            }
        }
    }

    #[test]
    fn continue_advances_or_completes_only_at_a_gate() {
        let refused = |status: S| Err(TransitionError::NotAwaitingDecision(status));
        let table = by_status([
            refused(S::Created),
            refused(S::InProgress),
            Ok((S::InProgress, 1, Vec::<&str>::new())),
            refused(S::Completed),
            refused(S::Stopped),
            refused(S::Failed),
            refused(S::Expired),
        ]);
        let now = at(40);
        for (status, expected) in table {
            let mut s = reach(&status);
            let before = snapshot(&s);
            let result = s.resume(&mut StdRng::seed_from_u64(99), now, window());
            match expected {
                Err(e) => {
                    assert_eq!(result, Err(e), "{status}");
                    assert_eq!(snapshot(&s), before, "{status}: a refused continue changes nothing");
                }
                Ok((after, step, events)) => {
                    let got = result.expect("continue at the gate");
                    assert_eq!((&s.status, s.current_step, names(&got)), (&after, step, events));
                    assert_eq!(s.step_deadline, Some(now + window()), "the next step's window starts now");
                    assert_eq!(s.nonce.as_deref(), Some(nonce(&mut StdRng::seed_from_u64(99)).as_str()));
                    assert_eq!(s.updated_at, now);
                }
            }
        }

        // A gate on the last step: continue completes the session.
        let mut r = rng();
        let mut s = session(vec![Step::identify_default().gate()]);
        s.open("b".to_owned(), &mut r, at(1), window()).unwrap();
        share(&mut s, &mut r, at(2));
        let events = s.resume(&mut r, now, window()).unwrap();
        assert_eq!(
            events.iter().map(body).collect::<Vec<_>>(),
            [json!({"event": "session.completed", "data": {"session_id": ID, "status": "completed"}})]
        );
        assert_eq!((&s.status, s.current_step, &s.nonce, s.step_deadline), (&S::Completed, 0, &None, None));
    }

    #[test]
    fn stop_ends_the_session_only_at_a_gate() {
        let refused = |status: S| Err(TransitionError::NotAwaitingDecision(status));
        let table = by_status([
            refused(S::Created),
            refused(S::InProgress),
            Ok(json!({"event": "session.stopped", "data": {"session_id": ID, "status": "stopped"}})),
            refused(S::Completed),
            refused(S::Stopped),
            refused(S::Failed),
            refused(S::Expired),
        ]);
        for (status, expected) in table {
            let mut s = reach(&status);
            let before = snapshot(&s);
            let result = s.stop(at(40));
            match expected {
                Err(e) => {
                    assert_eq!(result, Err(e), "{status}");
                    assert_eq!(snapshot(&s), before, "{status}: a refused stop changes nothing");
                }
                Ok(event) => {
                    assert_eq!(result.unwrap().iter().map(body).collect::<Vec<_>>(), [event]);
                    assert_eq!((&s.status, s.current_step, &s.end_reason), (&S::Stopped, 0, &None));
                    assert_eq!(s.updated_at, at(40));
                }
            }
        }
    }

    #[test]
    fn an_answer_needs_an_active_step_and_its_nonce() {
        let refused = |status: S| Some(TransitionError::NotActive(status));
        let table = by_status([
            refused(S::Created),
            None,
            refused(S::AwaitingDecision),
            refused(S::Completed),
            refused(S::Stopped),
            refused(S::Failed),
            refused(S::Expired),
        ]);
        for (status, expected) in table {
            let s = reach(&status);
            let current = s.nonce.clone().unwrap_or_default();
            assert_eq!(s.check_answer(&current).err(), expected, "{status}");
            if status == S::InProgress {
                assert_eq!(s.check_answer("replayed").err(), Some(TransitionError::StaleNonce));
            }
        }
    }

    #[test]
    fn decline_keeps_the_step_with_a_fresh_nonce() {
        let refused = |status: S| Some(TransitionError::NotActive(status));
        let table = by_status([
            refused(S::Created),
            None,
            refused(S::AwaitingDecision),
            refused(S::Completed),
            refused(S::Stopped),
            refused(S::Failed),
            refused(S::Expired),
        ]);
        for (status, expected) in table {
            let mut s = reach(&status);
            let before = s.clone();
            let snap = snapshot(&s);
            let result = s.decline(&mut StdRng::seed_from_u64(7), at(50));
            assert_eq!(result.clone().err(), expected, "{status}");
            if result.is_err() {
                assert_eq!(snapshot(&s), snap, "{status}: a refused decline changes nothing");
                continue;
            }
            assert_eq!(s.nonce.as_deref(), Some(nonce(&mut StdRng::seed_from_u64(7)).as_str()));
            assert_ne!(s.nonce, before.nonce, "the old nonce is stale now");
            assert_eq!(s.check_answer(before.nonce.as_deref().unwrap()), Err(TransitionError::StaleNonce));
            assert_eq!(
                (&s.status, s.current_step, s.step_deadline, s.updated_at),
                (&S::InProgress, 0, before.step_deadline, at(50)),
                "not a failure: same step, its window runs on"
            );
            assert!(s.audits.is_empty() && s.end_reason.is_none());
        }
    }

    #[test]
    fn internal_error_fails_the_active_step_without_billing_or_audit() {
        let refused = |status: S| Err(TransitionError::NotActive(status));
        let failed = Ok(json!({"event": "session.failed",
            "data": {"session_id": ID, "status": "failed", "reason": "internal_error"}}));
        let table = by_status([
            refused(S::Created),
            failed,
            refused(S::AwaitingDecision),
            refused(S::Completed),
            refused(S::Stopped),
            refused(S::Failed),
            refused(S::Expired),
        ]);
        for (status, expected) in table {
            let mut s = reach(&status);
            let before = snapshot(&s);
            let result = s.fail_internal(at(60));
            match expected {
                Err(e) => {
                    assert_eq!(result, Err(e), "{status}");
                    assert_eq!(snapshot(&s), before, "{status}: a refused failure changes nothing");
                }
                Ok(event) => {
                    assert_eq!(result.unwrap().iter().map(body).collect::<Vec<_>>(), [event]);
                    assert_eq!((&s.status, s.end_reason.as_deref()), (&S::Failed, Some("internal_error")));
                    assert_eq!((s.current_step, &s.nonce, s.step_deadline), (0, &None, None));
                    assert!(s.audits.is_empty(), "no audit record");
                }
            }
        }

        // Later in a session: the verified steps keep their audit records, the active one fails.
        let mut r = rng();
        let mut s = session(vec![Step::identify_default(), Step::age_verify(18)]);
        s.open("b".to_owned(), &mut r, at(1), window()).unwrap();
        share(&mut s, &mut r, at(2));
        let events = s.fail_internal(at(3)).unwrap();
        assert_eq!(names(&events), ["session.failed"]);
        assert_eq!((s.current_step, s.audits.len(), &s.status), (1, 1, &S::Failed));
    }

    struct VerifyCase {
        name: &'static str,
        steps: Vec<Step>,
        persona: &'static str,
        trust: Trust,
        balance: u64,
        value: Verification,
        status: SessionStatus,
        current_step: u32,
        events: &'static [&'static str],
        balance_after: u64,
        audits: usize,
    }

    #[test]
    fn verify_bills_audits_and_advances_or_fails_with_the_reason() {
        use CheckFailure::*;
        use FailReason::*;
        use Verification::*;
        let two = || vec![Step::identify_default(), Step::age_verify(18)];
        let case = |name, steps, persona, trust, balance| VerifyCase {
            name,
            steps,
            persona,
            trust,
            balance,
            value: Verified,
            status: S::Completed,
            current_step: 0,
            events: &["step.completed", "session.completed"],
            balance_after: balance.saturating_sub(1),
            audits: 1,
        };
        let failed = |c: VerifyCase, reason| VerifyCase {
            value: Failed(reason),
            status: S::Failed,
            events: &["session.failed"],
            balance_after: c.balance,
            audits: 0,
            ..c
        };
        let one = || vec![Step::identify_default()];
        let table = [
            case("the last step verifies: completed", one(), "jane-doe", Trust::Demo, 5),
            VerifyCase {
                status: S::InProgress,
                current_step: 1,
                events: &["step.completed"],
                ..case("the next step becomes active", two(), "jane-doe", Trust::Demo, 5)
            },
            VerifyCase {
                status: S::AwaitingDecision,
                events: &["step.completed"],
                ..case(
                    "a gate pauses",
                    vec![Step::identify_default().gate(), Step::identify_default()],
                    "jane-doe",
                    Trust::Demo,
                    5,
                )
            },
            VerifyCase {
                status: S::AwaitingDecision,
                events: &["step.completed"],
                ..case(
                    "a gate on the last step pauses too",
                    vec![Step::identify_default().gate()],
                    "jane-doe",
                    Trust::Demo,
                    5,
                )
            },
            VerifyCase {
                balance_after: 0,
                ..case(
                    "exactly the price pays (light_sign: 2)",
                    vec![Step::light_sign("t")],
                    "jane-doe",
                    Trust::Demo,
                    2,
                )
            },
            failed(
                case("one cent short", vec![Step::light_sign("t")], "jane-doe", Trust::Demo, 1),
                InsufficientFunds,
            ),
            case("under age is a billed success", vec![Step::age_verify(18)], "minor", Trust::Demo, 5),
            failed(case("tampered", one(), "tampered", Trust::Demo, 5), Check(IntegrityCheckFailed)),
            failed(
                case("expired credential", one(), "expired-credential", Trust::Demo, 5),
                Check(CredentialExpired),
            ),
            failed(
                case("untrusted issuer, production", one(), "untrusted-issuer", Trust::Production, 5),
                Check(UntrustedIssuer),
            ),
            case("untrusted issuer, demo", one(), "untrusted-issuer", Trust::Demo, 5),
            failed(
                case("a failed check wins over missing funds", one(), "tampered", Trust::Demo, 0),
                Check(IntegrityCheckFailed),
            ),
        ];
        let now = at(20);
        for c in table {
            let name = c.name;
            let mut r = rng();
            let mut s = session(c.steps);
            s.open("b".to_owned(), &mut r, at(1), window()).unwrap();
            let first_nonce = s.nonce.clone();
            let mut balance = c.balance;
            let applied = s
                .verify(
                    &credential(c.persona),
                    WalletId::GoogleWallet,
                    c.trust,
                    &mut balance,
                    &mut r,
                    now,
                    window(),
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(applied.value, c.value, "{name}");
            assert_eq!((&s.status, s.current_step), (&c.status, c.current_step), "{name}");
            assert_eq!(names(&applied.events), c.events, "{name}");
            assert_eq!(balance, c.balance_after, "{name}: balance");
            assert_eq!(s.audits.len(), c.audits, "{name}: audit records");
            assert_eq!(s.updated_at, now, "{name}");
            match (&c.value, &c.status) {
                (Failed(reason), _) => {
                    assert_eq!(
                        body(&applied.events[0]),
                        json!({"event": "session.failed", "data": {"session_id": ID, "status": "failed", "reason": reason.code()}}),
                        "{name}"
                    );
                    assert_eq!(s.end_reason.as_deref(), Some(reason.code()), "{name}");
                }
                (Verified, S::InProgress) => {
                    assert_eq!(s.step_deadline, Some(now + window()), "{name}: the next window starts");
                    assert!(s.nonce.is_some() && s.nonce != first_nonce, "{name}: a fresh nonce");
                }
                (Verified, _) => assert_eq!((&s.nonce, s.step_deadline), (&None, None), "{name}"),
            }
        }
    }

    #[test]
    fn a_verified_step_is_reported_and_chained() {
        let mut r = rng();
        let mut s = session(vec![Step::age_verify(18), Step::identify_default()]);
        s.client_reference_id = Some("order-7".to_owned());
        s.open("b".to_owned(), &mut r, at(1), window()).unwrap();
        let mut balance = 10;
        let first = s
            .verify(
                &credential("minor"),
                WalletId::AppleWallet,
                Trust::Demo,
                &mut balance,
                &mut r,
                at(2),
                window(),
            )
            .unwrap();
        assert_eq!(
            body(&first.events[0]),
            json!({"event": "step.completed", "data": {"session_id": ID, "client_reference_id": "order-7",
                "stage": 0, "primitive": "age_verify", "audit_id": format!("{ID}_0"), "satisfied": false, "min_age": 18}})
        );
        let second = share(&mut s, &mut r, at(3));
        assert_eq!(names(&second.events), ["step.completed", "session.completed"]);
        let records = s.audit_records();
        let [a0, a1] = &records[..] else { panic!("two audit records") };
        assert_eq!((a0.stage, a0.prev_hash.as_str(), a0.occurred_at), (0, GENESIS_HASH, at(2)));
        assert_eq!((a1.stage, &a1.prev_hash, a1.occurred_at), (1, &a0.record_hash, at(3)));
        for a in &records {
            assert_eq!(a.record_hash, a.compute_record_hash());
        }
        assert_eq!((a0.business_redacted, a1.business_redacted), (true, false));
        // Kept compact, shown whole.
        assert!(s.audits.iter().all(|a| matches!(a, StoredAudit::Compact(_))), "{:?}", s.audits);
        assert_eq!((s.audit(0).as_ref(), s.audit(1).as_ref(), s.audit(2)), (Some(a0), Some(a1), None));
    }

    #[test]
    fn verify_is_refused_without_an_active_step() {
        for status in S::KNOWN.iter().filter(|s| **s != S::InProgress) {
            let mut s = reach(status);
            let before = snapshot(&s);
            let mut balance = 100;
            let result = s.verify(
                &credential("jane-doe"),
                WalletId::AppleWallet,
                Trust::Demo,
                &mut balance,
                &mut rng(),
                at(30),
                window(),
            );
            assert_eq!(result.err(), Some(TransitionError::NotActive(status.clone())), "{status}");
            assert_eq!((snapshot(&s), balance), (before, 100), "{status}: nothing changes, nothing billed");
        }
    }

    /// `status`, where the active step's window ends and when the session does (offsets from t0,
    /// the step window starting on open at t0 + `opened`), the instant asked about, and what fires.
    struct ExpiryCase {
        status: SessionStatus,
        ttl: i64,
        opened: i64,
        now: i64,
        reason: Option<&'static str>,
    }

    #[test]
    fn expiry_fires_at_exactly_the_earlier_deadline() {
        let c = |status, ttl, opened, now, reason| ExpiryCase { status, ttl, opened, now, reason };
        let w = WINDOW_S;
        let table = [
            // created: only the TTL counts.
            c(S::Created, 3600, 0, 3599, None),
            c(S::Created, 3600, 0, 3600, Some("session_ttl")),
            // in_progress: the step window, when it ends first...
            c(S::InProgress, 3600, 100, 100 + w - 1, None),
            c(S::InProgress, 3600, 100, 100 + w, Some("step_window")),
            // ...or the TTL, when it ends first, or at the same instant.
            c(S::InProgress, 300, 0, 299, None),
            c(S::InProgress, 300, 0, 300, Some("session_ttl")),
            c(S::InProgress, w, 0, w, Some("session_ttl")),
            // awaiting_decision: time at a gate counts only against the TTL.
            c(S::AwaitingDecision, 3600, 0, 3599, None),
            c(S::AwaitingDecision, 3600, 0, 3600, Some("session_ttl")),
            // Ended sessions never expire.
            c(S::Completed, 3600, 0, 100_000, None),
            c(S::Stopped, 3600, 0, 100_000, None),
            c(S::Failed, 3600, 0, 100_000, None),
        ];
        for case in table {
            let ExpiryCase { status, ttl, opened, now, reason } = case;
            let label = format!("{status} ttl={ttl} opened={opened} now={now}");
            let mut r = rng();
            let mut s = session(vec![Step::identify_default().gate(), Step::identify_default()]);
            s.expires_at = at(ttl);
            if status != S::Created {
                s.open("b".to_owned(), &mut r, at(opened), window()).unwrap();
            }
            match status {
                S::AwaitingDecision => {
                    share(&mut s, &mut r, at(opened));
                }
                S::Completed => {
                    share(&mut s, &mut r, at(opened));
                    s.resume(&mut r, at(opened), window()).unwrap();
                    share(&mut s, &mut r, at(opened));
                }
                S::Stopped => {
                    share(&mut s, &mut r, at(opened));
                    s.stop(at(opened)).unwrap();
                }
                S::Failed => {
                    s.fail_internal(at(opened)).unwrap();
                }
                _ => {}
            }
            assert_eq!(s.status, status, "{label}");
            let before = snapshot(&s);

            // The sweep's schedule agrees with the lazy check: due at the deadline, not a second earlier.
            if let Some(due) = s.next_deadline() {
                let mut early = s.clone();
                assert_eq!(early.expire_if_due(due - Duration::seconds(1)), None, "{label}");
                assert_eq!(reason.is_some(), at(now) >= due, "{label}: next_deadline {due}");
            } else {
                assert!(status.is_terminal() && reason.is_none(), "{label}");
            }

            let event = s.expire_if_due(at(now));
            match reason {
                None => {
                    assert_eq!(event, None, "{label}");
                    assert_eq!(snapshot(&s), before, "{label}: nothing changes");
                }
                Some(reason) => {
                    assert_eq!(
                        event.as_ref().map(body),
                        Some(
                            json!({"event": "session.expired", "data": {"session_id": ID, "status": "expired", "reason": reason}})
                        ),
                        "{label}"
                    );
                    assert_eq!((&s.status, s.end_reason.as_deref()), (&S::Expired, Some(reason)), "{label}");
                    assert_eq!((&s.nonce, s.step_deadline, s.updated_at), (&None, None, at(now)), "{label}");
                    assert_eq!(s.expire_if_due(at(now + 1)), None, "{label}: fires once");
                }
            }
        }
    }

    #[test]
    fn ended_sessions_refuse_every_transition() {
        for status in S::KNOWN.iter().filter(|s| s.is_terminal()) {
            let mut s = reach(status);
            let before = snapshot(&s);
            let late = at(100_000);
            let not_active = Some(TransitionError::NotActive(status.clone()));
            let not_at_gate = Some(TransitionError::NotAwaitingDecision(status.clone()));
            assert_eq!(s.resume(&mut rng(), late, window()).err(), not_at_gate, "{status}: continue");
            assert_eq!(s.stop(late).err(), not_at_gate, "{status}: stop");
            assert_eq!(s.check_answer(s.nonce.clone().unwrap_or_default().as_str()).err(), not_active);
            assert_eq!(s.decline(&mut rng(), late).err(), not_active, "{status}: decline");
            assert_eq!(s.fail_internal(late).err(), not_active, "{status}: internal_error");
            let mut balance = 100;
            let verify = s.verify(
                &credential("jane-doe"),
                WalletId::AppleWallet,
                Trust::Demo,
                &mut balance,
                &mut rng(),
                late,
                window(),
            );
            assert_eq!(verify.err(), not_active, "{status}: share");
            assert_eq!(s.expire_if_due(late), None, "{status}: expiry");
            assert_eq!((snapshot(&s), balance), (before, 100), "{status}: nothing changed");
            assert!(s.decision().current_primitive.is_none() && s.step_expires_at().is_none(), "{status}");
        }
    }

    #[test]
    fn documents_are_purged_when_their_last_sign_step_verifies_and_at_the_end() {
        let doc = |name: &str| DocumentMeta {
            name: name.to_owned(),
            content_type: "application/pdf".to_owned(),
            sha256_hex: "00".repeat(32),
            size: 1,
            purged: false,
        };
        let purged = |s: &Session| s.documents.iter().map(|d| d.purged).collect::<Vec<_>>();
        let mut r = rng();
        let steps = vec![Step::sign(["a.pdf", "b.pdf"]), Step::sign(["b.pdf"]), Step::identify_default()];
        let mut s = Session { documents: vec![doc("a.pdf"), doc("b.pdf")], ..session(steps) };
        s.step_documents = vec![vec![0, 1], vec![1], vec![]];
        s.open("b".to_owned(), &mut r, at(1), window()).unwrap();
        share(&mut s, &mut r, at(2));
        assert_eq!(purged(&s), [true, false], "b.pdf is signed again later");
        s.fail_internal(at(3)).unwrap();
        assert_eq!(purged(&s), [true, true], "every document is purged at a terminal state");
    }

    #[test]
    fn nonces_come_only_from_the_given_generator() {
        let run = |seed: u64| {
            let mut r = StdRng::seed_from_u64(seed);
            let mut s = session(vec![Step::identify_default().gate(), Step::identify_default()]);
            s.open("b".to_owned(), &mut r, at(1), window()).unwrap();
            let mut seen = vec![s.nonce.clone().unwrap()];
            s.decline(&mut r, at(2)).unwrap();
            seen.push(s.nonce.clone().unwrap());
            share(&mut s, &mut r, at(3));
            s.resume(&mut r, at(4), window()).unwrap();
            seen.push(s.nonce.clone().unwrap());
            seen
        };
        let a = run(1);
        assert_eq!(a, run(1), "the same seed gives the same nonces");
        assert_ne!(a, run(2));
        for n in &a {
            assert_eq!(n.len(), 22, "base64url of 16 bytes, unpadded: {n}");
            assert!(n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{n}");
        }
    }

    #[test]
    fn a_step_window_past_the_end_of_time_saturates() {
        let mut s = session(vec![Step::identify_default()]);
        let last = crate::clock::MAX_TIME - Duration::seconds(1);
        s.open("b".to_owned(), &mut rng(), last, window()).unwrap();
        assert_eq!(s.step_deadline, Some(crate::clock::MAX_TIME));
        let mut s = session(vec![Step::identify_default()]);
        s.open("b".to_owned(), &mut rng(), Timestamp::MAX_UTC, window()).unwrap();
        assert_eq!(s.step_deadline, Some(crate::clock::MAX_TIME));
    }

    #[test]
    fn refusals_map_to_the_documented_messages() {
        let table = [
            (
                TransitionError::NotAwaitingDecision(S::InProgress),
                "the session is in_progress, not awaiting_decision",
            ),
            (
                TransitionError::NotActive(S::AwaitingDecision),
                "the session is awaiting_decision; no step is active",
            ),
            (TransitionError::StaleNonce, "the nonce is not the active step's"),
            (TransitionError::AlreadyBound, "this session is open on another device"),
        ];
        for (e, message) in table {
            assert_eq!(e.to_string(), message);
        }
    }
}
