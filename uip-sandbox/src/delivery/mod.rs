//! The dispatcher: takes due events from the outbox (`core` says which), signs each attempt
//! afresh, POSTs it, and hands the outcome back to `core`, which schedules retries with
//! exponential backoff. Per session, an event waits until the one
//! before it succeeded or was marked failed; sessions never wait for each other. At most
//! `delivery_concurrency` attempts run at once, however many events are pending.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use uip_types::sandbox::{DeliveryAttempt, DeliveryFault};
use uip_types::{WebhookSecret, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP};

use crate::clock;
use crate::core::{self as uc, AttemptOutcome, DueAttempt, Shared, WRONG_SECRET};

/// How far back a `stale_timestamp` redelivery dates its signature.
pub(crate) const STALE_BY_S: u64 = 3600;
/// Most bytes of a receiver's answer read (and thrown away) per attempt.
const MAX_DRAIN: usize = 64 * 1024;

/// Runs until `shutdown` flips, then lets the attempts in flight finish and record their
/// outcome (each is bounded by the attempt timeout). Dropping the task aborts them instead.
pub(crate) async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(shared.settings.delivery_concurrency.max(1)));
    let mut attempts = JoinSet::new();
    loop {
        // Reap finished attempts so the set does not grow.
        while attempts.try_join_next().is_some() {}
        let next_due = take_due(&shared, &permits, &mut attempts).await;
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
async fn take_due(
    shared: &Arc<Shared>,
    permits: &Arc<Semaphore>,
    attempts: &mut JoinSet<()>,
) -> Option<uip_types::Timestamp> {
    let (jobs, next) =
        uc::take_due(shared, clock::real_now(), || Arc::clone(permits).try_acquire_owned().ok()).await;
    for (job, permit) in jobs {
        let shared = Arc::clone(shared);
        attempts.spawn(async move {
            let attempts = attempt(&shared, &job).await;
            uc::record_attempts(&shared, &job, attempts).await;
            drop(permit);
            shared.wake_delivery();
        });
    }
    next
}

/// Makes the attempt(s) of one job: one POST, or two back to back for the `duplicate` fault.
async fn attempt(shared: &Shared, job: &DueAttempt) -> Vec<AttemptOutcome> {
    let times = if job.fault == Some(DeliveryFault::Duplicate) { 2 } else { 1 };
    let mut out = Vec::with_capacity(times);
    for _ in 0..times {
        out.push(post_once(shared, job).await);
    }
    out
}

/// The sandbox's webhook HTTP client, built at its first use: no redirects followed, the attempt
/// timeout, its own connection pool (sandboxes never share connections).
fn client(shared: &Shared) -> Result<&reqwest::Client, reqwest::Error> {
    if let Some(c) = shared.delivery_http.get() {
        return Ok(c);
    }
    let timeout = shared.settings.delivery_timeout;
    let built = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .user_agent(concat!("uip-sandbox/", env!("CARGO_PKG_VERSION")))
        .build()?;
    Ok(shared.delivery_http.get_or_init(|| built))
}

/// One POST; returns the attempt and the `(timestamp, signature)` it was signed with.
async fn post_once(shared: &Shared, job: &DueAttempt) -> AttemptOutcome {
    let at = clock::real_now();
    let started = Instant::now();
    let Some(url) = &job.url else {
        let attempt = DeliveryAttempt::new(at, 0).with_error("the business has no webhook URL");
        return (attempt, None);
    };
    let mut ts = at.timestamp().max(0) as u64;
    if job.fault == Some(DeliveryFault::StaleTimestamp) {
        ts = ts.saturating_sub(STALE_BY_S);
    }
    let wrong = WebhookSecret::new(WRONG_SECRET);
    let secret = if job.fault == Some(DeliveryFault::BadSignature) { &wrong } else { &job.secret };
    let signature = uip_webhook_verify::sign(secret, ts, &job.body);
    let client = match client(shared) {
        Ok(c) => c,
        Err(e) => {
            let attempt =
                DeliveryAttempt::new(at, 0).with_error(format!("the webhook client could not be built: {e}"));
            return (attempt, None);
        }
    };
    let result = client
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(HEADER_EVENT, &job.event)
        .header(HEADER_TIMESTAMP, ts.to_string())
        .header(HEADER_SIGNATURE, &signature)
        .header(HEADER_DELIVERY_ID, &*job.delivery_id)
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
    let mut attempt = DeliveryAttempt::new(at, started.elapsed().as_millis() as u64);
    if let Some(code) = status_code {
        attempt = attempt.with_status_code(code);
    }
    if let Some(error) = error {
        attempt = attempt.with_error(error);
    }
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
