//! Audit records (`GET /v1/audits/{id}`) and their hash chain.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hashing::{self, GENESIS_HASH};
use crate::ids::{RedactedId, SessionId};
use crate::primitive::{Block, Primitive, WalletId};
use crate::time::{self, Timestamp};

/// One immutable, hash-chained record per verified step.
///
/// `Debug` redacts `id` like [`SessionId`]'s `Debug` does, since it embeds the session id.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
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
    /// The previous stage's `record_hash` (genesis for stage 0). Any string when reading: the
    /// docs' example shows `0x000`; the sandbox's genesis is `sha256:` + 64 zeros.
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
#[non_exhaustive]
pub struct ProofDocument {
    /// Filename.
    pub name: String,
    /// `sha256:<hex>`.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

impl ProofDocument {
    /// The document `name` of `size` bytes whose digest is `sha256` (`sha256:<hex>`).
    ///
    /// ```
    /// use uip_types::ProofDocument;
    /// let d = ProofDocument::new("contract.pdf", format!("sha256:{}", "0".repeat(64)), 1024);
    /// assert_eq!((d.name.as_str(), d.size), ("contract.pdf", 1024));
    /// ```
    pub fn new(name: impl Into<String>, sha256: impl Into<String>, size: u64) -> Self {
        ProofDocument { name: name.into(), sha256: sha256.into(), size }
    }
}

impl AuditRecord {
    /// The record of stage `stage` of `session_id`, verified at `occurred_at` with `wallet`,
    /// chained to `prev_hash` (its id is `{session_id}_{stage}`). It has no
    /// `client_reference_id`, no `ts_token`, `business_redacted` is true for age_verify only, and
    /// its `record_hash` is empty until [`sealed`](Self::sealed).
    ///
    /// ```
    /// use uip_types::hashing::GENESIS_HASH;
    /// use uip_types::{AuditRecord, Primitive, Proof, SessionId, WalletId};
    /// let proof = Proof::AgeVerify { satisfied: true, min_age: 21 };
    /// let at = chrono::DateTime::from_timestamp(1_780_833_690, 0).unwrap();
    /// let record = AuditRecord::new(SessionId::from("ses_1"), 0, Primitive::AgeVerify, WalletId::AppleWallet, proof, at, GENESIS_HASH)
    ///     .with_client_reference_id("order_1")
    ///     .sealed();
    /// assert!(record.business_redacted);
    /// assert_eq!(record.record_hash, record.compute_record_hash());
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        session_id: SessionId,
        stage: u32,
        primitive: Primitive,
        wallet: WalletId,
        proof: Proof,
        occurred_at: Timestamp,
        prev_hash: impl Into<String>,
    ) -> Self {
        let business_redacted = primitive == Primitive::AgeVerify;
        AuditRecord {
            id: session_id.audit_id(stage),
            session_id,
            stage,
            primitive,
            wallet,
            proof,
            occurred_at,
            client_reference_id: None,
            prev_hash: prev_hash.into(),
            record_hash: String::new(),
            ts_token: None,
            business_redacted,
        }
    }

    /// The same record echoing the create's `client_reference_id`.
    pub fn with_client_reference_id(mut self, client_reference_id: impl Into<String>) -> Self {
        self.client_reference_id = Some(client_reference_id.into());
        self
    }

    /// The same record with an RFC 3161 token.
    pub fn with_ts_token(mut self, ts_token: impl Into<String>) -> Self {
        self.ts_token = Some(ts_token.into());
        self
    }

    /// The same record, its identity sealed or not.
    pub fn with_business_redacted(mut self, business_redacted: bool) -> Self {
        self.business_redacted = business_redacted;
        self
    }

    /// The same record with this `record_hash`.
    pub fn with_record_hash(mut self, record_hash: impl Into<String>) -> Self {
        self.record_hash = record_hash.into();
        self
    }

    /// The same record with its `record_hash` set to
    /// [`compute_record_hash`](Self::compute_record_hash).
    pub fn sealed(mut self) -> Self {
        self.record_hash = self.compute_record_hash();
        self
    }

    /// Computes what `record_hash` must be under this sandbox's format (docs/DECISIONS.md §6):
    /// `sha256:` + hex(SHA-256(JCS(record))) over the record, as this crate serializes it,
    /// without `record_hash` and `ts_token`. Fields this crate does not know are not part of it:
    /// for a record received from elsewhere use [`ReceivedAuditRecord::compute_record_hash`].
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

/// What [`verify_chain`] reads of a record: its stage, its two hashes, and the hash its content
/// should have.
///
/// Implemented for [`ReceivedAuditRecord`] (the JSON as received: the way to check records
/// fetched from a service) and for [`AuditRecord`] (the record as this crate serializes it: exact
/// for records this sandbox wrote, since they re-serialize to the same content).
pub trait ChainRecord {
    /// Zero-based stage.
    fn stage(&self) -> u32;
    /// The `prev_hash` as received.
    fn prev_hash(&self) -> &str;
    /// The `record_hash` as received.
    fn record_hash(&self) -> &str;
    /// The `record_hash` the content should have under this sandbox's format.
    fn compute_record_hash(&self) -> String;
}

impl ChainRecord for AuditRecord {
    fn stage(&self) -> u32 {
        self.stage
    }
    fn prev_hash(&self) -> &str {
        &self.prev_hash
    }
    fn record_hash(&self) -> &str {
        &self.record_hash
    }
    fn compute_record_hash(&self) -> String {
        AuditRecord::compute_record_hash(self)
    }
}

/// An audit record as received: its JSON object exactly as it came (unknown fields included),
/// together with its typed [`AuditRecord`] view.
///
/// Parse each `GET /v1/audits/{id}` body into one (`serde_json::from_slice`, or
/// [`ReceivedAuditRecord::from_slice`]) and hand them to [`verify_chain`]: the hash is then
/// computed over the record as the service sent it, not over what this crate understood of it.
/// Serializing gives the received JSON back.
///
/// ```
/// use uip_types::ReceivedAuditRecord;
/// let body = br#"{"id":"sess_abc123_0","session_id":"sess_abc123","stage":0,"primitive":"age_verify",
///   "wallet":"apple-wallet","proof":{"satisfied":true,"min_age":21},
///   "occurred_at":"2026-06-07T12:01:30Z","prev_hash":"0x000","record_hash":"sha256:9f86d081...",
///   "business_redacted":true,"tsa":"future field"}"#;
/// let received = ReceivedAuditRecord::from_slice(body)?;
/// assert_eq!(received.record().prev_hash, "0x000");
/// assert_eq!(received.json()["tsa"], "future field");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct ReceivedAuditRecord {
    json: Map<String, Value>,
    record: AuditRecord,
}

impl ReceivedAuditRecord {
    /// Parses a record from the bytes of a response body.
    pub fn from_slice(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// Parses a record from a JSON value as received.
    pub fn from_value(value: Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// The typed view.
    pub fn record(&self) -> &AuditRecord {
        &self.record
    }

    /// The typed view, dropping the received JSON.
    pub fn into_record(self) -> AuditRecord {
        self.record
    }

    /// The JSON object as received.
    pub fn json(&self) -> &Map<String, Value> {
        &self.json
    }

    /// What `record_hash` must be under this sandbox's format (docs/DECISIONS.md §6), computed
    /// over the received JSON: `sha256:` + hex(SHA-256(JCS(object))) over every field received,
    /// unknown ones included, except `record_hash` and `ts_token`.
    pub fn compute_record_hash(&self) -> String {
        let mut json = self.json.clone();
        json.remove("record_hash");
        json.remove("ts_token");
        hashing::jcs_digest(&json)
    }
}

impl std::fmt::Debug for ReceivedAuditRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The typed view's Debug redacts the ids; the raw JSON would repeat them.
        f.debug_struct("ReceivedAuditRecord")
            .field("record", &self.record)
            .field("fields", &self.json.len())
            .finish()
    }
}

impl Serialize for ReceivedAuditRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ReceivedAuditRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Map::deserialize(d)?;
        let record =
            AuditRecord::deserialize(Value::Object(json.clone())).map_err(serde::de::Error::custom)?;
        Ok(ReceivedAuditRecord { json, record })
    }
}

impl From<ReceivedAuditRecord> for AuditRecord {
    fn from(r: ReceivedAuditRecord) -> Self {
        r.record
    }
}

impl ChainRecord for ReceivedAuditRecord {
    fn stage(&self) -> u32 {
        self.record.stage
    }
    fn prev_hash(&self) -> &str {
        &self.record.prev_hash
    }
    fn record_hash(&self) -> &str {
        &self.record.record_hash
    }
    fn compute_record_hash(&self) -> String {
        ReceivedAuditRecord::compute_record_hash(self)
    }
}

/// Checks a session's records against **this sandbox's** chain format (docs/DECISIONS.md §6),
/// stages 0..n in order: the first `prev_hash` is [`GENESIS_HASH`], each later one is the previous
/// `record_hash`, and each `record_hash` is `sha256:` + hex(SHA-256(JCS(record))) over the record
/// without `record_hash` and `ts_token`.
///
/// The public docs do not define the real service's genesis value or the bytes it hashes
/// (docs/UIP-API.md §7.4; its example shows `prev_hash` `0x000`), so a genuine record of the real
/// service may well fail here: this is a check of the sandbox's audits, not of UIP's.
///
/// Pass records as received ([`ReceivedAuditRecord`]) to hash each record's JSON as it came,
/// unknown fields included. An [`AuditRecord`] is hashed as this crate serializes it.
///
/// Note that audits exist only for verified steps, so a chain is contiguous from stage 0.
///
/// ```
/// use uip_types::{verify_chain, ChainError, ReceivedAuditRecord};
/// // The docs' example record: its genesis is not the sandbox's.
/// let r = ReceivedAuditRecord::from_slice(br#"{"id":"sess_abc123_0","session_id":"sess_abc123",
///   "stage":0,"primitive":"age_verify","wallet":"apple-wallet","proof":{"satisfied":true,"min_age":21},
///   "occurred_at":"2026-06-07T12:01:30.000000000Z","prev_hash":"0x000",
///   "record_hash":"sha256:9f86d081...","business_redacted":true}"#)?;
/// assert_eq!(verify_chain(&[r]), Err(ChainError::BrokenLink { stage: 0 }));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn verify_chain<R: ChainRecord>(records: &[R]) -> Result<(), ChainError> {
    let mut prev = GENESIS_HASH;
    for (index, r) in records.iter().enumerate() {
        if r.stage() as usize != index {
            return Err(ChainError::StageOutOfOrder { index });
        }
        if r.prev_hash() != prev {
            return Err(ChainError::BrokenLink { stage: r.stage() });
        }
        if r.compute_record_hash() != r.record_hash() {
            return Err(ChainError::HashMismatch { stage: r.stage() });
        }
        prev = r.record_hash();
    }
    Ok(())
}
