//! Expiry: lazy (every access resolves an elapsed session first, docs/DECISIONS.md §4) and the
//! periodic sweep.

use uip_types::{SessionId, Timestamp};

use super::sessions::read_session;
use super::Shared;
use crate::clock;
use crate::store::{Business, State};

/// Resolves one session to `expired` when its time is up, and queues its event. Returns
/// whether an event was queued. A session whose time is not up is not touched.
pub(super) fn expire(st: &mut State, id: &str, real_now: Timestamp) -> bool {
    let Some(s) = st.session(id) else { return false };
    let now = st.business(&s.business_id).map_or(real_now, Business::now);
    if s.next_deadline().is_none_or(|d| now < d) {
        return false;
    }
    let biz = s.business_id.clone();
    match st.update_session(id, |s| s.expire_if_due(now)).flatten() {
        Some(event) => st.emit(&biz, vec![event], real_now),
        None => false,
    }
}

/// Lazy expiry for an access that names a session of `biz` without otherwise touching it
/// (docs/DECISIONS.md §4: every access resolves an elapsed session first). Unknown or foreign: no-op.
pub(crate) async fn resolve_expiry(shared: &Shared, biz: &str, id: &str) {
    let _ = read_session(shared, Some(biz), id, |_, _| Ok(())).await;
}

/// The expiry sweep: resolves every elapsed session.
pub(crate) async fn sweep(shared: &Shared) {
    let result = shared.store.write_async(|st| {
        let real_now = clock::real_now();
        let due: Vec<SessionId> = st
            .active_sessions()
            .filter(|id| {
                st.session(id.as_str()).is_some_and(|s| {
                    let now = st.business(&s.business_id).map_or(real_now, Business::now);
                    s.next_deadline().is_some_and(|d| now >= d)
                })
            })
            .cloned()
            .collect();
        let mut emitted = false;
        for id in &due {
            // One session that cannot be resolved is logged and skipped; the sweep goes on for
            // the others (docs/DECISIONS.md §11). The store's lock does not poison.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| expire(st, id.as_str(), real_now))) {
                Ok(e) => emitted |= e,
                Err(_) => {
                    let business = st.session(id.as_str()).map(|s| s.business_id.clone()).unwrap_or_default();
                    tracing::error!(session = %id, %business, "expiry sweep: could not resolve the session; skipped");
                }
            }
        }
        emitted
    }).await;
    match result {
        Ok(true) => shared.wake_delivery(),
        Ok(false) => {}
        Err(e) => {
            tracing::error!(error = %e, "expiry sweep: the store write failed; retried at the next sweep")
        }
    }
}
