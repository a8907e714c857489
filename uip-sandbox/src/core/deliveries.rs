//! Deliveries: the log and redelivery (control API), what the dispatcher attempts next and what
//! came of it (retries with exponential backoff), and the delivered events a test awaits.

use std::collections::HashSet;
use std::time::Duration;

use chrono::TimeDelta;
use uip_types::sandbox::{DeliveryAttempt, DeliveryFault, DeliveryLog, DeliveryLogEntry, DeliveryStatus};
use uip_types::{Timestamp, WebhookSecret};

use super::Shared;
use crate::clock;
use crate::error::ApiError;

/// The secret a `bad_signature` redelivery signs with (and an attempt whose business is gone).
pub(crate) const WRONG_SECRET: &str = "uip_whsec_this_is_not_your_secret";

/// `GET /_sandbox/deliveries`.
pub(crate) fn deliveries(shared: &Shared, biz: &str, session_id: Option<&str>) -> DeliveryLog {
    shared.store.read(|st| {
        DeliveryLog::new(
            st.deliveries_of(biz)
                .filter(|d| session_id.is_none_or(|s| d.session_id() == s))
                .map(|d| d.log_entry())
                .collect(),
        )
    })
}

/// Every delivery of a session, oldest first (whatever its business).
pub(crate) fn session_deliveries(shared: &Shared, session_id: &str) -> Vec<DeliveryLogEntry> {
    let biz = shared.store.read(|st| st.session(session_id).map(|s| s.business_id.clone()));
    biz.map(|b| deliveries(shared, &b, Some(session_id)).deliveries).unwrap_or_default()
}

/// One delivery by its id (whatever its business).
pub(crate) fn delivery(shared: &Shared, delivery_id: &str) -> Option<DeliveryLogEntry> {
    shared.store.read(|st| st.delivery(st.delivery_seq(delivery_id)?).map(|d| d.log_entry()))
}

/// `POST /_sandbox/deliveries/{id}/redeliver`.
pub(crate) async fn redeliver(
    shared: &Shared,
    biz: &str,
    delivery_id: &str,
    fault: DeliveryFault,
) -> Result<DeliveryLogEntry, ApiError> {
    let entry = shared
        .store
        .write_async(|st| {
            let seq = st.delivery_seq(delivery_id)?;
            let real_now = clock::real_now();
            let d = st.delivery(seq).filter(|d| *d.business_id == *biz)?;
            let was_open = d.is_open();
            let sid = uip_types::SessionId::from(d.session_id());
            let entry = st.update_delivery(seq, |d| {
                d.status = DeliveryStatus::Pending;
                d.fault = (fault != DeliveryFault::None).then_some(fault);
                d.round_started_at = real_now;
                d.round_failures = 0;
                d.next_attempt_at = Some(real_now);
                d.log_entry()
            })?;
            if !was_open {
                st.enqueue(sid, seq, real_now);
            }
            Some(entry)
        })
        .await?;
    shared.wake_delivery();
    entry.ok_or_else(|| ApiError::not_found("delivery"))
}

/// One attempt to make: everything read under the lock, so the POST runs without it.
pub(crate) struct DueAttempt {
    pub seq: u64,
    pub url: Option<String>,
    pub secret: WebhookSecret,
    pub event: String,
    pub delivery_id: std::sync::Arc<str>,
    pub body: bytes::Bytes,
    pub fault: Option<DeliveryFault>,
}

/// Takes every due attempt that `admit` lets start (it hands out a permit, or `None` when every
/// permit is taken); returns them with their permits, and when the next one is due.
pub(crate) async fn take_due<P>(
    shared: &Shared,
    now: Timestamp,
    mut admit: impl FnMut() -> Option<P>,
) -> (Vec<(DueAttempt, P)>, Option<Timestamp>) {
    let mut jobs = Vec::new();
    let taken = shared
        .store
        .write_async(|st| loop {
            // Every permit taken: a finishing attempt wakes the dispatcher.
            let permit = admit()?;
            let seq = match st.pop_due(now) {
                Ok(seq) => seq,
                Err(next) => return next,
            };
            let Some(d) = st.delivery(seq).filter(|d| d.is_open()) else { continue };
            let business = st.business(&d.business_id);
            let job = DueAttempt {
                seq,
                url: business.and_then(|b| b.webhook_url.clone()),
                secret: business.map(|b| b.webhook_secret.clone()).unwrap_or_else(|| WRONG_SECRET.into()),
                event: d.event().to_owned(),
                delivery_id: d.delivery_id.clone(),
                body: bytes::Bytes::copy_from_slice(d.body.as_bytes()),
                fault: d.fault,
            };
            if job.fault.is_some() {
                st.update_delivery(seq, |d| d.fault = None);
            }
            st.set_in_flight(seq, true);
            jobs.push((job, permit));
        })
        .await;
    match taken {
        Ok(next) => (jobs, next),
        Err(e) => {
            // The write was undone: nothing was taken (the permits go back); try again later.
            tracing::error!(error = %e, "webhook dispatcher: the store write failed; retried shortly");
            jobs.clear();
            (jobs, Some(later(now, shared.settings.retry_base.max(Duration::from_millis(100)))))
        }
    }
}

/// One POST of an attempt, and the `(timestamp, signature)` it was signed with (none when it
/// could not be sent at all).
pub(crate) type AttemptOutcome = (DeliveryAttempt, Option<(u64, String)>);

/// Longest delay or horizon the dispatcher computes with: longer means "never" in practice,
/// and keeps timestamps far from chrono's limits (adding `TimeDelta::MAX` would panic).
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `t + d`, with `d` capped at [`FOREVER`].
fn later(t: Timestamp, d: Duration) -> Timestamp {
    let d = TimeDelta::from_std(d.min(FOREVER)).unwrap_or(TimeDelta::MAX);
    t.checked_add_signed(d).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// Records the attempts of a job and decides what comes next: delivered, retry later, or failed.
pub(crate) async fn record_attempts(shared: &Shared, job: &DueAttempt, attempts: Vec<AttemptOutcome>) {
    let settings = &shared.settings;
    let seq = job.seq;
    let delivered = shared
        .store
        .write_async(|st| {
            st.set_in_flight(seq, false);
            let now = clock::real_now();
            let last = attempts.last().map(|(a, signed)| (a.status_code, signed.clone()));
            let ok = last.as_ref().is_some_and(|(code, _)| code.is_some_and(|c| (200..300).contains(&c)));
            enum Next {
                Again,
                Delivered,
                Failed,
                Retry(Timestamp),
            }
            // The secret is kept on the delivery only when it is not the business's current one.
            let secret_is_current = st
                .delivery(seq)
                .and_then(|d| st.business(&d.business_id))
                .is_some_and(|b| b.webhook_secret.expose() == job.secret.expose());
            let Some((sid, next)) = st.update_delivery(seq, |d| {
                // A redelivery asked for while this attempt was in flight starts a new round.
                let redelivered = attempts.first().is_some_and(|(a, _)| d.round_started_at > a.at);
                d.attempts.reserve_exact(attempts.len());
                d.attempts.extend(attempts.into_iter().map(|(a, _)| a));
                let sid = uip_types::SessionId::from(d.session_id());
                if ok && redelivered {
                    // Send it once more, as asked: the store schedules the open head for now.
                    d.status = DeliveryStatus::Pending;
                    d.next_attempt_at = Some(now);
                    return (sid, Next::Again);
                }
                if ok {
                    d.delivered_signature = last
                        .and_then(|(_, signed)| signed)
                        .and_then(|(ts, sig)| Some((ts, crate::store::Signature::from_hex(&sig)?)));
                    d.delivered_secret = (!secret_is_current).then(|| job.secret.clone());
                    d.status = DeliveryStatus::Delivered;
                    d.next_attempt_at = None;
                    return (sid, Next::Delivered);
                }
                d.round_failures += 1;
                let exp = d.round_failures.saturating_sub(1).min(40);
                let delay = settings.retry_base.saturating_mul(1u32 << exp.min(31)).min(settings.retry_max);
                let next = later(now, delay);
                let horizon_end = later(d.round_started_at, settings.retry_horizon);
                if next > horizon_end {
                    d.status = DeliveryStatus::Failed;
                    d.next_attempt_at = None;
                    (sid, Next::Failed)
                } else {
                    d.status = DeliveryStatus::Retrying;
                    d.next_attempt_at = Some(next);
                    (sid, Next::Retry(next))
                }
            }) else {
                return false;
            };
            match next {
                Next::Again => false,
                Next::Delivered => {
                    st.advance_queue(&sid, seq, now);
                    true
                }
                Next::Failed => {
                    st.advance_queue(&sid, seq, now);
                    false
                }
                Next::Retry(at) => {
                    st.schedule(seq, at);
                    false
                }
            }
        })
        .await;
    match delivered {
        Ok(true) => shared.delivered.send_modify(|n| *n += 1),
        Ok(false) => {}
        Err(e) => {
            // The write was undone, attempts included: the delivery is still open and is attempted
            // again after the first retry delay (at least once, as always). Only memory changes
            // here, so this write cannot fail.
            tracing::error!(error = %e, "webhook dispatcher: could not record an attempt; retried later");
            let at = later(clock::real_now(), settings.retry_base);
            let _ = shared
                .store
                .write_async(|st| {
                    st.set_in_flight(seq, false);
                    if st.delivery(seq).is_some_and(|d| d.is_open()) {
                        st.schedule(seq, at);
                    }
                })
                .await;
        }
    }
}

/// A delivered event, with what its signature can be checked against.
pub(crate) struct DeliveredEvent {
    pub seq: u64,
    pub body: String,
    pub event: String,
    pub delivery_id: String,
    /// `(timestamp, signature)` of the attempt that succeeded.
    pub signed: Option<(u64, String)>,
    /// The secret it was signed with.
    pub secret: WebhookSecret,
}

/// The session's first event not in `returned`: delivered → it; still on its way (or sent again
/// by a redelivery) → `None` (wait for it); failed → skipped.
pub(crate) fn next_delivered(
    shared: &Shared,
    session_id: &str,
    returned: &HashSet<u64>,
) -> Option<DeliveredEvent> {
    shared.store.read(|st| {
        let biz = &st.session(session_id)?.business_id;
        let current = st.business(biz)?.webhook_secret.clone();
        let events =
            st.deliveries_of(biz).filter(|d| d.session_id() == session_id && !returned.contains(&d.seq));
        for d in events {
            match d.status {
                DeliveryStatus::Delivered => {
                    return Some(DeliveredEvent {
                        seq: d.seq,
                        body: d.body.to_string(),
                        event: d.event().to_owned(),
                        delivery_id: d.delivery_id.to_string(),
                        signed: d.delivered_signature.map(|(ts, sig)| (ts, sig.to_hex())),
                        secret: d.delivered_secret.clone().unwrap_or(current),
                    })
                }
                DeliveryStatus::Failed => continue,
                DeliveryStatus::Pending | DeliveryStatus::Retrying => return None,
            }
        }
        None
    })
}
