//! Audit records and the per-session hash chain (docs/DECISIONS.md §6).

use uip_types::hashing::GENESIS_HASH;
use uip_types::{AuditRecord, Primitive, Proof, Timestamp, WalletId};

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
    let prev = session.audits.last();
    let client_reference_id = session.client_reference_id.clone();
    let business_redacted = primitive == Primitive::AgeVerify;
    let mut r = AuditRecord {
        id: session_id.audit_id(stage),
        session_id: session_id.clone(),
        stage,
        primitive,
        wallet,
        proof,
        occurred_at,
        client_reference_id,
        prev_hash: prev.map_or_else(|| GENESIS_HASH.to_owned(), |p| p.record_hash.clone()),
        record_hash: String::new(),
        ts_token: None,
        business_redacted,
    };
    r.record_hash = r.compute_record_hash();
    r
}
