//! `GET /_sandbox/sessions` (docs/DECISIONS.md §11): a business's sessions, newest first, each
//! as `GET /v1/sessions/{id}` shows it plus the create's steps as given.

use uip_types::{ErrorCode, SessionId, SessionStatus};

use super::expiry::expire;
use super::journal::limit_error;
use super::Shared;
use crate::clock;
use crate::error::ApiError;
use crate::journal::{SessionFilter, SessionSummary, MAX_SESSIONS_LIMIT};

/// This business's sessions, newest first, that match `filter`. Listing is an access: elapsed
/// sessions of the business resolve first (their events are queued), as a read of each would.
pub(crate) async fn sessions(
    shared: &Shared,
    business_id: &str,
    filter: &SessionFilter,
) -> Result<Vec<SessionSummary>, ApiError> {
    if let Some(status) = filter.get_status().filter(|s| !s.is_known()) {
        let known: Vec<&str> = SessionStatus::KNOWN.iter().map(SessionStatus::as_str).collect();
        return Err(ApiError::new(
            ErrorCode::InvalidField,
            format!("unknown status `{status}`; expected one of {}", known.join(", ")),
        )
        .param("status"));
    }
    let limit = match filter.get_limit() {
        Some(n) if (1..=MAX_SESSIONS_LIMIT).contains(&n) => n,
        Some(_) => return Err(limit_error(MAX_SESSIONS_LIMIT)),
        None => usize::MAX,
    };
    let (list, emitted) = shared
        .store
        .write_async(|st| {
            let real_now = clock::real_now();
            let elapsed: Vec<SessionId> = st
                .sessions_of(business_id)
                .filter(|s| !s.status.is_terminal())
                .map(|s| s.id.clone())
                .collect();
            let mut emitted = false;
            for id in &elapsed {
                emitted |= expire(st, id.as_str(), real_now);
            }
            let mut matching: Vec<_> = st
                .sessions_of(business_id)
                .filter(|s| filter.get_status().is_none_or(|want| &s.status == want))
                .filter(|s| {
                    filter
                        .get_client_reference_id()
                        .is_none_or(|want| s.client_reference_id.as_deref() == Some(want))
                })
                .collect();
            // Newest first: creation order; sessions kept before it was numbered (seq 0) come last,
            // by creation time.
            matching.sort_unstable_by(|a, b| {
                (b.seq, b.created_at, b.id.as_str()).cmp(&(a.seq, a.created_at, a.id.as_str()))
            });
            let list: Vec<SessionSummary> = matching
                .into_iter()
                .take(limit)
                .map(|s| SessionSummary { view: s.view(), steps: s.steps.clone() })
                .collect();
            (list, emitted)
        })
        .await?;
    if emitted {
        shared.wake_delivery();
    }
    Ok(list)
}
