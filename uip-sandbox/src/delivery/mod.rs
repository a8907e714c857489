//! The dispatcher: takes due events from the outbox, signs each attempt afresh, POSTs it,
//! and schedules retries with exponential backoff. Per session, an event waits until the one
//! before it succeeded or was marked failed; sessions never wait for each other. At most
//! `delivery_concurrency` attempts run at once, however many events are pending.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use uip_types::sandbox::{DeliveryAttempt, DeliveryFault, DeliveryStatus};
use uip_types::{WebhookSecret, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP};

use crate::clock;
use crate::Shared;

/// The secret a `bad_signature` redelivery signs with.
pub(crate) const WRONG_SECRET: &str = "uip_whsec_this_is_not_your_secret";
/// How far back a `stale_timestamp` redelivery dates its signature.
pub(crate) const STALE_BY_S: u64 = 3600;
/// Most bytes of a receiver's answer read (and thrown away) per attempt.
const MAX_DRAIN: usize = 64 * 1024;

/// One attempt to make: everything read under the lock, so the POST runs without it.
struct Job {
    seq: u64,
    url: Option<String>,
    secret: WebhookSecret,
    event: String,
    delivery_id: String,
    body: bytes::Bytes,
    fault: Option<DeliveryFault>,
}

/// Longest delay or horizon the dispatcher computes with: longer means "never" in practice,
/// and keeps timestamps far from chrono's limits (adding `TimeDelta::MAX` would panic).
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `t + d`, with `d` capped at [`FOREVER`].
fn later(t: uip_types::Timestamp, d: Duration) -> uip_types::Timestamp {
    let d = TimeDelta::from_std(d.min(FOREVER)).unwrap_or(TimeDelta::MAX);
    t.checked_add_signed(d).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// Runs until `shutdown` flips, then lets the attempts in flight finish and record their
/// outcome (each is bounded by the attempt timeout). Dropping the task aborts them instead.
pub(crate) async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(shared.settings.delivery_concurrency.max(1)));
    let mut attempts = JoinSet::new();
    loop {
        // Reap finished attempts so the set does not grow.
        while attempts.try_join_next().is_some() {}
        let next_due = take_due(&shared, &permits, &mut attempts);
        let sleep = match next_due {
            Some(due) => (due - clock::real_now()).to_std().unwrap_or(Duration::ZERO),
            None => Duration::from_secs(3600),
        };
        tokio::select! {
            _ = shared.delivery_wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
            _ = shutdown.changed() => break,
        }
    }
    let grace = shared.settings.delivery_timeout.saturating_add(Duration::from_secs(1));
    let _ = tokio::time::timeout(grace, async { while attempts.join_next().await.is_some() {} }).await;
}

/// Starts every due attempt a permit allows; returns when the next one is due.
fn take_due(
    shared: &Arc<Shared>,
    permits: &Arc<Semaphore>,
    attempts: &mut JoinSet<()>,
) -> Option<uip_types::Timestamp> {
    let now = clock::real_now();
    let mut jobs = Vec::new();
    let next = shared
        .store
        .write(|st| {
            loop {
                // Every permit taken: a finishing attempt wakes the dispatcher.
                let Ok(permit) = Arc::clone(permits).try_acquire_owned() else { return None };
                let seq = match st.pop_due(now) {
                    Ok(seq) => seq,
                    Err(next) => return next,
                };
                let Some(d) = st.deliveries.get(&seq).filter(|d| d.is_open()) else { continue };
                let business = st.businesses.get(&d.business_id);
                let job = Job {
                    seq,
                    url: business.and_then(|b| b.webhook_url.clone()),
                    secret: business.map(|b| b.webhook_secret.clone()).unwrap_or_else(|| WRONG_SECRET.into()),
                    event: d.event.clone(),
                    delivery_id: d.delivery_id.clone(),
                    body: bytes::Bytes::from(d.body.clone()),
                    fault: d.fault,
                };
                if job.fault.is_some() {
                    if let Some(d) = st.delivery_mut(seq) {
                        d.fault = None;
                    }
                }
                st.in_flight.insert(seq);
                jobs.push((job, permit));
            }
        })
        .unwrap_or(None);
    for (job, permit) in jobs {
        let shared = Arc::clone(shared);
        attempts.spawn(async move {
            let attempts = attempt(&shared, &job).await;
            record(&shared, &job, attempts);
            drop(permit);
            shared.wake_delivery();
        });
    }
    next
}

/// Makes the attempt(s) of one job: one POST, or two back to back for the `duplicate` fault.
async fn attempt(shared: &Shared, job: &Job) -> Vec<(DeliveryAttempt, Option<(u64, String)>)> {
    let times = if job.fault == Some(DeliveryFault::Duplicate) { 2 } else { 1 };
    let mut out = Vec::with_capacity(times);
    for _ in 0..times {
        out.push(post_once(shared, job).await);
    }
    out
}

/// One POST; returns the attempt and the `(timestamp, signature)` it was signed with.
async fn post_once(shared: &Shared, job: &Job) -> (DeliveryAttempt, Option<(u64, String)>) {
    let at = clock::real_now();
    let started = Instant::now();
    let Some(url) = &job.url else {
        let attempt = DeliveryAttempt {
            at,
            status_code: None,
            error: Some("the business has no webhook URL".to_owned()),
            duration_ms: 0,
        };
        return (attempt, None);
    };
    let mut ts = at.timestamp().max(0) as u64;
    if job.fault == Some(DeliveryFault::StaleTimestamp) {
        ts = ts.saturating_sub(STALE_BY_S);
    }
    let wrong = WebhookSecret::new(WRONG_SECRET);
    let secret = if job.fault == Some(DeliveryFault::BadSignature) { &wrong } else { &job.secret };
    let signature = uip_webhook_verify::sign(secret, ts, &job.body);
    let result = shared
        .delivery_http
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(HEADER_EVENT, &job.event)
        .header(HEADER_TIMESTAMP, ts.to_string())
        .header(HEADER_SIGNATURE, &signature)
        .header(HEADER_DELIVERY_ID, &job.delivery_id)
        .body(job.body.clone())
        .send()
        .await;
    let (status_code, error) = match result {
        Ok(mut resp) => {
            let status = resp.status();
            // Drain the body so the connection can be reused: bounded by the timeout, and by
            // MAX_DRAIN bytes so a receiver streaming a huge answer cannot fill our memory.
            let mut drained = 0;
            while drained < MAX_DRAIN {
                match resp.chunk().await {
                    Ok(Some(chunk)) => drained += chunk.len(),
                    _ => break,
                }
            }
            let error = (!status.is_success()).then(|| format!("receiver answered {}", status.as_u16()));
            (Some(status.as_u16()), error)
        }
        Err(e) => (None, Some(describe(&e))),
    };
    let attempt =
        DeliveryAttempt { at, status_code, error, duration_ms: started.elapsed().as_millis() as u64 };
    (attempt, Some((ts, signature)))
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        let mut msg = "connection failed".to_owned();
        let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
        while let Some(s) = src {
            msg = format!("connection failed: {s}");
            src = s.source();
        }
        msg
    }
}

/// Records the attempts and decides what comes next: delivered, retry later, or failed.
fn record(shared: &Shared, job: &Job, attempts: Vec<(DeliveryAttempt, Option<(u64, String)>)>) {
    let settings = &shared.settings;
    let seq = job.seq;
    let delivered = shared.store.write(|st| {
        st.in_flight.remove(&seq);
        let now = clock::real_now();
        let Some(d) = st.delivery_mut(seq) else { return false };
        let last = attempts.last().map(|(a, signed)| (a.status_code, signed.clone()));
        let ok = last.as_ref().is_some_and(|(code, _)| code.is_some_and(|c| (200..300).contains(&c)));
        // A redelivery asked for while this attempt was in flight starts a new round.
        let redelivered = attempts.first().is_some_and(|(a, _)| d.round_started_at > a.at);
        d.attempts.reserve_exact(attempts.len());
        d.attempts.extend(attempts.into_iter().map(|(a, _)| a));
        let sid = d.session_id.clone();
        if ok && redelivered {
            // Send it once more, as asked: the store schedules the open head for now.
            d.status = DeliveryStatus::Pending;
            d.next_attempt_at = Some(now);
            return false;
        }
        if ok {
            d.delivered_signature = last.and_then(|(_, signed)| signed);
            d.delivered_secret = Some(job.secret.clone());
            d.status = DeliveryStatus::Delivered;
            d.next_attempt_at = None;
            st.advance_queue(&sid, seq, now);
            return true;
        }
        d.round_failures += 1;
        let exp = d.round_failures.saturating_sub(1).min(40);
        let delay = settings.retry_base.saturating_mul(1u32 << exp.min(31)).min(settings.retry_max);
        let next = later(now, delay);
        let horizon_end = later(d.round_started_at, settings.retry_horizon);
        if next > horizon_end {
            d.status = DeliveryStatus::Failed;
            d.next_attempt_at = None;
            st.advance_queue(&sid, seq, now);
        } else {
            d.status = DeliveryStatus::Retrying;
            d.next_attempt_at = Some(next);
            st.schedule(seq, next);
        }
        false
    });
    if matches!(delivered, Ok(true)) {
        shared.delivered.send_modify(|n| *n += 1);
    }
}
