//! Audit records (`GET /v1/audits/{id}`) and their hash chain.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hashing::{self, GENESIS_HASH};
use crate::ids::{RedactedId, SessionId};
use crate::primitive::{Block, Primitive, WalletId};
use crate::time::{self, Timestamp};

/// One immutable, hash-chained record per verified step.
///
/// `Debug` redacts `id` like [`SessionId`]'s `Debug` does, since it embeds the session id.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    /// `{session_id}_{stage}`.
    pub id: String,
    /// The session.
    pub session_id: SessionId,
    /// Zero-based stage.
    pub stage: u32,
    /// The step's primitive.
    pub primitive: Primitive,
    /// The wallet that fulfilled the step.
    pub wallet: WalletId,
    /// PII-free proof, shape per primitive.
    pub proof: Proof,
    /// When the step verified (9 fractional digits).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "time::nanos")]
    pub occurred_at: Timestamp,
    /// Echo of the create's `client_reference_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_reference_id: Option<String>,
    /// The previous stage's `record_hash` (genesis for stage 0).
    pub prev_hash: String,
    /// This record's content hash.
    pub record_hash: String,
    /// RFC 3161 token, only with a timestamp authority (never in the sandbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts_token: Option<String>,
    /// True when the identity is sealed (age_verify).
    pub business_redacted: bool,
}

impl std::fmt::Debug for AuditRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditRecord")
            .field("id", &RedactedId(&self.id))
            .field("session_id", &self.session_id)
            .field("stage", &self.stage)
            .field("primitive", &self.primitive)
            .field("wallet", &self.wallet)
            .field("proof", &self.proof)
            .field("occurred_at", &self.occurred_at)
            .field("client_reference_id", &self.client_reference_id)
            .field("prev_hash", &self.prev_hash)
            .field("record_hash", &self.record_hash)
            .field("ts_token", &self.ts_token)
            .field("business_redacted", &self.business_redacted)
            .finish()
    }
}

/// The `proof` of an audit record.
///
/// A proof with fields beyond a known shape parses as [`Proof::Other`], kept whole, so that the
/// record re-serializes to the same content and its `record_hash` still verifies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
#[non_exhaustive]
pub enum Proof {
    /// sign: `{document_hash, signature, documents}`.
    Sign {
        /// Manifest digest.
        document_hash: String,
        /// Device signature (base64url).
        signature: String,
        /// The signed documents.
        documents: Vec<ProofDocument>,
    },
    /// light_sign: `{document_hash, signature}`.
    LightSign {
        /// Hash of the terms.
        document_hash: String,
        /// Device signature (base64url).
        signature: String,
    },
    /// identify: `{blocks, claims_digest}`.
    Identify {
        /// The disclosed blocks.
        blocks: Vec<Block>,
        /// `sha256:` + hex(SHA-256(JCS(claims))).
        claims_digest: String,
    },
    /// age_verify: `{satisfied, min_age}`.
    AgeVerify {
        /// Whether the holder is at least `min_age`.
        satisfied: bool,
        /// The threshold.
        min_age: u8,
    },
    /// A shape this version does not know.
    Other(Value),
}

/// A document listed in a sign proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProofDocument {
    /// Filename.
    pub name: String,
    /// `sha256:<hex>`.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

impl AuditRecord {
    /// Computes what `record_hash` must be: `sha256:` + hex(SHA-256(JCS(record))) over the record
    /// without `record_hash` and `ts_token`.
    pub fn compute_record_hash(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.remove("record_hash");
            m.remove("ts_token");
        }
        hashing::jcs_digest(&v)
    }
}

/// Why an audit chain does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainError {
    /// A record's stage is not its position.
    StageOutOfOrder {
        /// Position in the list.
        index: usize,
    },
    /// A record's `prev_hash` is not the previous `record_hash` (or genesis).
    BrokenLink {
        /// Stage of the record.
        stage: u32,
    },
    /// A record's `record_hash` does not match its content.
    HashMismatch {
        /// Stage of the record.
        stage: u32,
    },
}

impl std::fmt::Display for ChainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainError::StageOutOfOrder { index } => write!(f, "record {index} is not stage {index}"),
            ChainError::BrokenLink { stage } => write!(f, "stage {stage}: prev_hash does not link"),
            ChainError::HashMismatch { stage } => write!(f, "stage {stage}: record_hash does not match"),
        }
    }
}

impl std::error::Error for ChainError {}

/// Checks a session's records, stages 0..n in order: every hash recomputes and every link holds.
///
/// Note that audits exist only for verified steps, so a chain is contiguous from stage 0.
pub fn verify_chain(records: &[AuditRecord]) -> Result<(), ChainError> {
    let mut prev = GENESIS_HASH.to_owned();
    for (index, r) in records.iter().enumerate() {
        if r.stage as usize != index {
            return Err(ChainError::StageOutOfOrder { index });
        }
        if r.prev_hash != prev {
            return Err(ChainError::BrokenLink { stage: r.stage });
        }
        if r.compute_record_hash() != r.record_hash {
            return Err(ChainError::HashMismatch { stage: r.stage });
        }
        prev = r.record_hash.clone();
    }
    Ok(())
}
