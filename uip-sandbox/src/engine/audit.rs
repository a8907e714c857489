//! Audit records and the per-session hash chain (docs/DECISIONS.md §6), and the compact form a
//! session keeps them in.
//!
//! A session keeps each record as a [`StoredAudit`]: only what its session and steps do not
//! already say (the time, the wallet, the hashes as 32 bytes, the part of the proof that is not
//! the step's params). The public [`AuditRecord`] is rendered from it where a record is shown,
//! sent or stored; the stored JSON form is that record, as before.

use uip_types::hashing::GENESIS_HASH;
use uip_types::{AuditRecord, Primitive, Proof, Step, StepParams, Timestamp, WalletId};

use super::session::Session;

/// Builds the audit record of a verified stage of `session`, chained to its last record.
pub(crate) fn record(
    session: &Session,
    stage: u32,
    primitive: Primitive,
    wallet: WalletId,
    proof: Proof,
    occurred_at: Timestamp,
) -> AuditRecord {
    let session_id = &session.id;
    let prev_hash = session.audits.last().map_or_else(|| GENESIS_HASH.to_owned(), StoredAudit::record_hash);
    let mut r = AuditRecord::new(session_id.clone(), stage, primitive, wallet, proof, occurred_at, prev_hash);
    if let Some(client_reference_id) = &session.client_reference_id {
        r = r.with_client_reference_id(client_reference_id.clone());
    }
    r.sealed()
}

/// A SHA-256 digest written `sha256:` + 64 lowercase hex digits: 32 bytes in memory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digest([u8; 32]);

impl Digest {
    const PREFIX: &'static str = "sha256:";

    /// From `sha256:` + 64 hex digits; `None` for anything else.
    pub fn parse(tagged: &str) -> Option<Digest> {
        let digits = tagged.strip_prefix(Self::PREFIX)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits, &mut out).ok()?;
        Some(Digest(out))
    }

    /// `sha256:` + 64 lowercase hex digits.
    pub fn tagged(&self) -> String {
        let mut s = String::with_capacity(Self::PREFIX.len() + 64);
        s.push_str(Self::PREFIX);
        s.push_str(&hex::encode(self.0));
        s
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.tagged())
    }
}

/// One audit record of a session, as the session keeps it.
///
/// Its record id, session id, stage, primitive, `client_reference_id`, `prev_hash` and
/// `business_redacted` are not kept: they follow from the session, its position in the
/// session's list and the record before it. A record is kept compact only when rendering the
/// compact form gives back exactly the record ([`StoredAudit::new`] checks); any other record
/// (a row edited by hand, a shape this version does not produce) is kept whole.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StoredAudit {
    Compact(CompactAudit),
    Full(Box<AuditRecord>),
}

/// The part of an audit record its session does not already say.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CompactAudit {
    occurred_at: Timestamp,
    wallet: WalletId,
    record_hash: Digest,
    proof: CompactProof,
}

/// The part of a proof its step's params do not already say.
#[derive(Clone, Debug, PartialEq)]
enum CompactProof {
    /// identify: the blocks are the step's effective blocks.
    Identify { claims_digest: Digest },
    /// age_verify: the threshold is the step's effective `min_age`.
    AgeVerify { satisfied: bool },
    /// Any other proof (light_sign, sign), as it is.
    Whole(Box<Proof>),
}

impl StoredAudit {
    /// Keeps `record`, the record of stage `stage` of `session` chained to `prev_hash`, in the
    /// compact form when that form renders back to exactly `record`, whole otherwise.
    pub fn new(session: &Session, stage: usize, prev_hash: &str, record: AuditRecord) -> StoredAudit {
        match CompactAudit::from_record(&record) {
            Some(c) if c.render(session, stage, prev_hash.to_owned()) == record => StoredAudit::Compact(c),
            _ => StoredAudit::Full(Box::new(record)),
        }
    }

    /// This record's `record_hash`.
    pub fn record_hash(&self) -> String {
        match self {
            StoredAudit::Compact(c) => c.record_hash.tagged(),
            StoredAudit::Full(r) => r.record_hash.clone(),
        }
    }

    /// The public record, for stage `stage` of `session`, chained to `prev_hash`.
    pub fn render(&self, session: &Session, stage: usize, prev_hash: String) -> AuditRecord {
        match self {
            StoredAudit::Compact(c) => c.render(session, stage, prev_hash),
            StoredAudit::Full(r) => (**r).clone(),
        }
    }
}

impl CompactAudit {
    /// The compact form of `record`; `None` when its hashes are not `sha256:` digests.
    fn from_record(record: &AuditRecord) -> Option<CompactAudit> {
        let proof = match &record.proof {
            Proof::Identify { claims_digest, .. } => {
                CompactProof::Identify { claims_digest: Digest::parse(claims_digest)? }
            }
            Proof::AgeVerify { satisfied, .. } => CompactProof::AgeVerify { satisfied: *satisfied },
            other => CompactProof::Whole(Box::new(other.clone())),
        };
        Some(CompactAudit {
            occurred_at: record.occurred_at,
            wallet: record.wallet.clone(),
            record_hash: Digest::parse(&record.record_hash)?,
            proof,
        })
    }

    fn render(&self, session: &Session, stage: usize, prev_hash: String) -> AuditRecord {
        let step = session.steps.get(stage);
        let primitive = step.map_or(Primitive::Other(String::new()), Step::primitive);
        let params = step.map(|s| &s.params);
        let proof = match (&self.proof, params) {
            (CompactProof::Identify { claims_digest }, Some(StepParams::Identify(p))) => {
                Proof::Identify { blocks: p.effective_blocks(), claims_digest: claims_digest.tagged() }
            }
            (CompactProof::Identify { claims_digest }, _) => {
                Proof::Identify { blocks: Vec::new(), claims_digest: claims_digest.tagged() }
            }
            (CompactProof::AgeVerify { satisfied }, Some(StepParams::AgeVerify(p))) => {
                Proof::AgeVerify { satisfied: *satisfied, min_age: p.effective_min_age() }
            }
            (CompactProof::AgeVerify { satisfied }, _) => {
                Proof::AgeVerify { satisfied: *satisfied, min_age: 0 }
            }
            (CompactProof::Whole(p), _) => (**p).clone(),
        };
        let r = AuditRecord::new(
            session.id.clone(),
            stage as u32,
            primitive,
            self.wallet.clone(),
            proof,
            self.occurred_at,
            prev_hash,
        );
        let r = match &session.client_reference_id {
            Some(client_reference_id) => r.with_client_reference_id(client_reference_id.clone()),
            None => r,
        };
        r.with_record_hash(self.record_hash.tagged())
    }
}
