//! Scenarios 2, 3 and 5: flow latency, flow throughput (memory / SQLite), webhook latency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::harness::{Bench, FlowTimes, Storage};
use crate::report::{Row, Target};
use crate::stats::{ms, percentile};
use crate::Result;

/// Scenario 2: sequential flows, create → verified `session.completed`.
pub async fn latency(n: usize) -> Result<Vec<Row>> {
    let bench = Bench::start(Storage::Memory).await?;
    for _ in 0..n.min(50) {
        bench.flow().await?;
    }
    let mut flows: Vec<FlowTimes> = Vec::with_capacity(n);
    for _ in 0..n {
        flows.push(bench.flow().await?);
    }
    Arc::new(bench).close().await;
    let total: Vec<f64> = flows.iter().map(|f| ms(f.completed)).collect();
    // Each phase's median and p99, so that a tail shows where it is.
    let phase = |f: fn(&FlowTimes) -> Duration| -> String {
        let times: Vec<f64> = flows.iter().map(|t| ms(f(t))).collect();
        format!("{:.2}/{:.2} ms", percentile(&times, 50.0), percentile(&times, 99.0))
    };
    let webhook: Vec<f64> = flows.iter().map(FlowTimes::webhook_ms).collect();
    let breakdown = format!(
        "phase durations, median/p99: create {}, open {}, share 1 (GET request + POST response) {}, \
         share 2 {}, last response → session.completed verified at the receiver {:.2}/{:.2} ms",
        phase(|f| f.created),
        phase(|f| f.opened - f.created),
        phase(|f| f.shared1 - f.opened),
        phase(|f| f.shared2 - f.shared1),
        percentile(&webhook, 50.0),
        percentile(&webhook, 99.0),
    );
    Ok(vec![
        Row::new("flow_latency_p50", "ms", percentile(&total, 50.0))
            .target(Target::AtMost(5.0))
            .note(format!("{n} sequential in-process flows (after 50 warm-up); {breakdown}")),
        Row::new("flow_latency_p99", "ms", percentile(&total, 99.0)).target(Target::AtMost(20.0)),
    ])
}

/// Scenario 3: completed flows per second with `concurrency` simulated users for `secs`, for
/// each storage asked for (one row and rate each, in the order asked).
///
/// With two storages the measured time is cut into windows that take turns (A B B A A B B A), so
/// that a machine whose load drifts during the run weighs on both sides alike: the ratio of the
/// two rates is the number compared against its target.
pub async fn throughput(storages: &[Storage], concurrency: usize, secs: f64) -> Result<Vec<(Row, f64)>> {
    const WINDOWS: usize = 4;
    let mut benches = Vec::with_capacity(storages.len());
    for &storage in storages {
        let bench = Arc::new(Bench::start(storage).await?);
        // Warm-up: connections, pools, maps.
        run_closed_loop(&bench, concurrency, Duration::from_secs_f64(secs.min(1.0))).await;
        benches.push((storage, bench, LoadStats::default()));
    }
    let window = Duration::from_secs_f64(secs / WINDOWS as f64);
    for w in 0..WINDOWS {
        let turn: Vec<usize> =
            if w % 2 == 0 { (0..benches.len()).collect() } else { (0..benches.len()).rev().collect() };
        for i in turn {
            let (_, bench, total) = &mut benches[i];
            total.add(run_closed_loop(bench, concurrency, window).await);
        }
    }
    let mut out = Vec::with_capacity(benches.len());
    for (storage, bench, stats) in benches {
        let rate = stats.completed as f64 / stats.elapsed.as_secs_f64();
        let (name, target) = match storage {
            Storage::Memory => ("flow_throughput_memory", 2000.0),
            Storage::Sqlite => ("flow_throughput_sqlite", 500.0),
        };
        let mut note = format!(
            "{concurrency} concurrent users, {:.1} s in {WINDOWS} windows{}, {} flows completed (verified \
             session.completed), p50 flow {:.1} ms, p99 {:.1} ms",
            stats.elapsed.as_secs_f64(),
            if storages.len() > 1 { " taking turns with the other storage" } else { "" },
            stats.completed,
            percentile(&stats.latencies, 50.0),
            percentile(&stats.latencies, 99.0),
        );
        if stats.errors > 0 || bench.receiver.rejected_count() > 0 {
            note.push_str(&format!(
                "; {} flow errors (first: {}), {} deliveries rejected by the verifier",
                stats.errors,
                stats.first_error.unwrap_or_default(),
                bench.receiver.rejected_count()
            ));
        }
        out.push((Row::new(name, "flows/s", rate).target(Target::AtLeast(target)).note(note), rate));
        bench.close().await;
    }
    Ok(out)
}

/// Scenario 3's ratio: the SQLite sandbox's flow rate over the in-memory one's, from the same run
/// (target ≥ 0.7×: group commit keeps durability close to in-memory speed).
pub fn sqlite_against_memory(sqlite_rate: f64, memory_rate: f64) -> Row {
    Row::new("flow_throughput_sqlite_vs_memory", "flows/s", sqlite_rate)
        .baseline("flow_throughput_memory, same run", memory_rate)
        .target(Target::RatioAtLeast(0.7))
        .note("flow_throughput_sqlite over flow_throughput_memory: the cost of durability (group commit)")
}

#[derive(Default)]
struct LoadStats {
    completed: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
    latencies: Vec<f64>,
}

impl LoadStats {
    /// Adds one window's figures to the run's.
    fn add(&mut self, window: LoadStats) {
        self.completed += window.completed;
        self.errors += window.errors;
        if self.first_error.is_none() {
            self.first_error = window.first_error;
        }
        self.elapsed += window.elapsed;
        self.latencies.extend(window.latencies);
    }
}

async fn run_closed_loop(bench: &Arc<Bench>, concurrency: usize, duration: Duration) -> LoadStats {
    let start = Instant::now();
    let deadline = start + duration;
    let errors = Arc::new(AtomicU64::new(0));
    let mut set = JoinSet::new();
    for _ in 0..concurrency {
        let bench = bench.clone();
        let errors = errors.clone();
        set.spawn(async move {
            let mut latencies = Vec::new();
            let mut first_error = None;
            while Instant::now() < deadline {
                match bench.flow().await {
                    Ok(t) => latencies.push(ms(t.completed)),
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert_with(|| e.to_string());
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            (latencies, first_error)
        });
    }
    let mut stats =
        LoadStats { completed: 0, errors: 0, first_error: None, elapsed: Duration::ZERO, latencies: vec![] };
    while let Some(r) = set.join_next().await {
        if let Ok((lat, err)) = r {
            stats.completed += lat.len() as u64;
            stats.latencies.extend(lat);
            if stats.first_error.is_none() {
                stats.first_error = err;
            }
        }
    }
    stats.elapsed = start.elapsed();
    stats.errors = errors.load(Ordering::Relaxed);
    stats
}

/// Scenario 5: flows started at `rate` per second (open loop) for `secs`; the time from the
/// last share's response to the verified `session.completed` at the receiver.
pub async fn webhook_latency(rate: f64, secs: f64) -> Result<Vec<Row>> {
    let bench = Arc::new(Bench::start(Storage::Memory).await?);
    for _ in 0..20 {
        bench.flow().await?;
    }
    let n = (rate * secs).ceil().max(1.0) as usize;
    let period = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut set = JoinSet::new();
    let start = Instant::now();
    for _ in 0..n {
        tick.tick().await;
        let bench = bench.clone();
        set.spawn(async move { bench.flow().await.map_err(|e| e.to_string()) });
    }
    let launched = start.elapsed();
    let mut webhook = Vec::with_capacity(n);
    let mut total = Vec::with_capacity(n);
    let mut errors = 0;
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(t)) => {
                webhook.push(t.webhook_ms());
                total.push(ms(t.completed));
            }
            _ => errors += 1,
        }
    }
    bench.close().await;
    let achieved = n as f64 / launched.as_secs_f64();
    let early = webhook.iter().filter(|w| **w < 0.0).count();
    let note = format!(
        "{n} flows paced at {rate:.0}/s (achieved {achieved:.0}/s, half the measured in-memory max), \
         {errors} errors; from the last share's POST /s/{{id}}/response returning to the verified \
         session.completed at the receiver (it queues behind that session's step.completed for stage 1; \
         negative = the webhook arrived before the client saw the response: {early} of {n}); \
         whole-flow p50 {:.2} ms, p99 {:.2} ms",
        percentile(&total, 50.0),
        percentile(&total, 99.0)
    );
    Ok(vec![
        Row::new("webhook_latency_p50", "ms", percentile(&webhook, 50.0))
            .target(Target::AtMost(2.0))
            .note(note),
        Row::new("webhook_latency_p99", "ms", percentile(&webhook, 99.0)),
    ])
}
