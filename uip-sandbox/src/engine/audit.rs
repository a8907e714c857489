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
    let prev_hash = prev.map_or_else(|| GENESIS_HASH.to_owned(), |p| p.record_hash.clone());
    let mut r = AuditRecord::new(session_id.clone(), stage, primitive, wallet, proof, occurred_at, prev_hash);
    if let Some(client_reference_id) = &session.client_reference_id {
        r = r.with_client_reference_id(client_reference_id.clone());
    }
    r.sealed()
}
