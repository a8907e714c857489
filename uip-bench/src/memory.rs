//! Scenario 6: RSS growth per stored terminal session.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use uip_sandbox::TestReceiver;

use crate::harness::{Bench, Storage};
use crate::report::{Row, Target};
use crate::Result;

/// VmRSS of this process, in bytes.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

const CREATE_BODY: &str =
    r#"{"steps":[{"primitive":"identify"},{"primitive":"age_verify","params":{"min_age":18}}]}"#;

/// Creates `n` sessions (raw `POST /v1/sessions`, no Idempotency-Key) and completes each with
/// `POST /_sandbox/sessions/{id}/simulate`, `concurrency` at a time.
async fn make_sessions(bench: &Arc<Bench>, n: u64, concurrency: usize) -> Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let mut set = JoinSet::new();
    for _ in 0..concurrency {
        let (bench, next) = (bench.clone(), next.clone());
        set.spawn(async move {
            let base = bench.sandbox.base_url().to_owned();
            let key = bench.sandbox.api_key().expose().to_owned();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let created: serde_json::Value = bench
                    .http
                    .post(format!("{base}/v1/sessions"))
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(CREATE_BODY)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let id = created["id"].as_str().ok_or("no id")?;
                let view: serde_json::Value = bench
                    .http
                    .post(format!("{base}/_sandbox/sessions/{id}/simulate"))
                    .bearer_auth(&key)
                    .json(&serde_json::json!({}))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                if view["status"] != "completed" {
                    return Err(format!("simulated session is {}", view["status"]).into());
                }
            }
            Ok::<(), crate::Error>(())
        });
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// Waits until the receiver got `expected` deliveries.
async fn drain(receiver: &TestReceiver, expected: u64) -> Result<()> {
    let arrived = || receiver.count() as u64;
    match receiver.wait_until(Duration::from_secs(120), || (arrived() >= expected).then_some(())).await {
        Some(()) => Ok(()),
        None => Err(format!("only {} of {expected} deliveries arrived", arrived()).into()),
    }
}

pub async fn run(n: u64, concurrency: usize) -> Result<Vec<Row>> {
    let bench = Arc::new(
        Bench::with_receiver(Storage::Memory, TestReceiver::builder().keep_arrivals(false).start().await)
            .await?,
    );
    let warm = 2000.min(n / 5).max(100);
    make_sessions(&bench, warm, concurrency).await?;
    drain(&bench.receiver, 3 * warm).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_bytes().ok_or("no /proc/self/status")?;
    let t = Instant::now();
    make_sessions(&bench, n, concurrency).await?;
    let made = t.elapsed();
    drain(&bench.receiver, 3 * (warm + n)).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = rss_bytes().ok_or("no /proc/self/status")?;
    let per = after.saturating_sub(before) as f64 / n as f64;
    bench.close().await;
    Ok(vec![
        Row::new("memory_per_session", "bytes", per)
            .target(Target::AtMost(4096.0))
            .note(format!(
                "VmRSS {:.1} MiB → {:.1} MiB over {n} terminal (completed) 2-step sessions after {warm} warm-up, \
                 each with its 2 audits and 3 delivered webhooks kept in the delivery log; created by raw \
                 POST /v1/sessions (no Idempotency-Key, so no idempotency record) + POST /_sandbox/sessions/{{id}}/simulate, \
                 {concurrency} at a time; receiver answers 200 without verifying",
                before as f64 / 1048576.0,
                after as f64 / 1048576.0
            )),
        Row::new("memory_fill_rate", "sessions/s", n as f64 / made.as_secs_f64())
            .note("create + simulate rate while filling (informational)"),
    ])
}
