//! The session state machine of docs/UIP-API.md §4 with docs/DECISIONS.md §4.
//!
//! Every transition takes `now` (the business's clock) and returns the webhook events it
//! produced, in order; the caller stores the new state and the events in one write.

use std::collections::BTreeMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use uip_types::hashing::{self, ManifestEntry};
use uip_types::{
    AuditRecord, DecisionResponse, EventContext, Primitive, Proof, ProofDocument, SessionEnded, SessionId,
    SessionStatus, SessionView, Step, StepCompleted, StepParams, StepResult, Timestamp, WalletId,
    WebhookEvent,
};

use super::audit;
use super::wallet::Credential;
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
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    pub audits: Vec<AuditRecord>,
    /// Why the session ended (failed / expired).
    #[serde(default)]
    pub end_reason: Option<String>,
}

/// What a wallet response did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verification {
    Verified,
    Failed,
}

/// The result of applying a transition.
pub(crate) struct Applied<T> {
    pub value: T,
    pub events: Vec<WebhookEvent>,
}

impl Session {
    pub fn context(&self) -> EventContext {
        EventContext {
            session_id: self.id.clone(),
            client_reference_id: self.client_reference_id.clone(),
            metadata: self.metadata.clone(),
        }
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
        SessionView {
            id: self.id.clone(),
            status: self.status.clone(),
            current_step: self.current_step,
            step_count: self.step_count(),
            primitives: self.steps.iter().map(Step::primitive).collect(),
            current_primitive: Some(self.current_primitive()),
            expires_at: Some(self.expires_at),
            created_at: Some(self.created_at),
            updated_at: Some(self.updated_at),
            client_reference_id: self.client_reference_id.clone(),
            metadata: self.metadata.clone(),
            results: None,
            outcome: None,
        }
    }

    /// The continue/stop answer.
    pub fn decision(&self) -> DecisionResponse {
        DecisionResponse {
            id: self.id.clone(),
            status: self.status.clone(),
            current_step: self.current_step,
            step_count: self.step_count(),
            current_primitive: (!self.status.is_terminal()).then(|| self.current_primitive()),
        }
    }

    /// When the active step must be answered: the earlier of its window and the session expiry.
    /// `None` unless `in_progress`.
    pub fn step_expires_at(&self) -> Option<Timestamp> {
        (self.status == SessionStatus::InProgress)
            .then(|| self.step_deadline.map_or(self.expires_at, |d| d.min(self.expires_at)))
    }

    fn start_step(&mut self, now: Timestamp, window: Duration) {
        self.step_deadline = Some(now + window);
        self.nonce = Some(super::random_b64(16));
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
        let ended = SessionEnded { context: self.context(), status: status.clone(), reason };
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

    /// First successful open: `created` → `in_progress`, starts stage 0's window.
    pub fn open(&mut self, binding_hash: String, now: Timestamp, window: Duration) {
        self.binding_hash = Some(binding_hash);
        if self.status == SessionStatus::Created {
            self.status = SessionStatus::InProgress;
            self.updated_at = now;
            self.start_step(now, window);
        }
    }

    /// `continue` at a gate. `Err(())` when not `awaiting_decision`.
    pub fn resume(&mut self, now: Timestamp, window: Duration) -> Result<Vec<WebhookEvent>, ()> {
        if self.status != SessionStatus::AwaitingDecision {
            return Err(());
        }
        if self.current_step + 1 >= self.step_count() {
            return Ok(vec![self.end(SessionStatus::Completed, None, now)]);
        }
        self.current_step += 1;
        self.status = SessionStatus::InProgress;
        self.updated_at = now;
        self.start_step(now, window);
        Ok(Vec::new())
    }

    /// `stop` at a gate. `Err(())` when not `awaiting_decision`.
    pub fn stop(&mut self, now: Timestamp) -> Result<Vec<WebhookEvent>, ()> {
        if self.status != SessionStatus::AwaitingDecision {
            return Err(());
        }
        Ok(vec![self.end(SessionStatus::Stopped, None, now)])
    }

    /// A decline in the wallet: the step stays active with a fresh nonce.
    pub fn decline(&mut self, now: Timestamp) {
        self.nonce = Some(super::random_b64(16));
        self.updated_at = now;
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
    /// record and advances. `balance` is the business's balance, charged in place.
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &mut self,
        credential: &Credential,
        wallet: WalletId,
        trust: Trust,
        balance: &mut u64,
        now: Timestamp,
        window: Duration,
    ) -> Applied<Verification> {
        let stage = self.current_step as usize;
        if let Err(failure) = credential.check(trust, now.date_naive()) {
            let event = self.end(SessionStatus::Failed, Some(failure.code().to_owned()), now);
            return Applied { value: Verification::Failed, events: vec![event] };
        }
        let step = self.steps[stage].clone();
        let primitive = step.primitive();
        let price = primitive.price_cents().unwrap_or(0);
        if *balance < price {
            let event = self.end(SessionStatus::Failed, Some("insufficient_funds".to_owned()), now);
            return Applied { value: Verification::Failed, events: vec![event] };
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
                            ProofDocument {
                                name: d.name.clone(),
                                sha256: format!("sha256:{}", d.sha256_hex),
                                size: d.size,
                            }
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
        let mut events = vec![WebhookEvent::StepCompleted(StepCompleted {
            context: self.context(),
            stage: stage as u32,
            primitive,
            audit_id: record.id.clone(),
            result,
        })];
        self.audits.push(record);
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
            self.start_step(now, window);
        }
        Applied { value: Verification::Verified, events }
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
