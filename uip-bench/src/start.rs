//! Scenario 1: start-to-ready, in-process sandbox vs wiremock, on the bench's multi-thread runtime
//! (the target row) and on a current-thread runtime, the one `#[tokio::test]` gives by default.

use std::time::Instant;

use uip_sandbox::Sandbox;
use wiremock::MockServer;

use crate::report::{Row, Target};
use crate::stats::{median, ms, percentile};
use crate::Result;

/// Ready = a `GET /healthz` answered (any status: wiremock has no such route and answers 404).
async fn ready(http: &reqwest::Client, base: &str) -> Result<()> {
    let resp = http.get(format!("{base}/healthz")).send().await?;
    resp.bytes().await?;
    Ok(())
}

/// Start-to-ready samples (ms) of each side, on the runtime this runs on.
struct Samples {
    ours: Vec<f64>,
    /// Of `ours`, the part until `Sandbox::builder().start()` returned.
    ours_start_call: Vec<f64>,
    pooled: Vec<f64>,
    fresh: Vec<f64>,
}

async fn measure(n: usize) -> Result<Samples> {
    // No connection reuse: every server is reached over a fresh connection, on both sides.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    let mut s =
        Samples { ours: Vec::new(), ours_start_call: Vec::new(), pooled: Vec::new(), fresh: Vec::new() };
    let warmup = 3;
    // Interleaved, so that noise spreads over all three alike, in an order that rotates: what a
    // server leaves behind when dropped (its threads and tasks ending) falls on each side in turn.
    for i in 0..n + warmup {
        let (mut a, mut started, mut b, mut c) = (0.0, 0.0, 0.0, 0.0);
        for side in (0..3).map(|k| (i + k) % 3) {
            match side {
                0 => {
                    let t = Instant::now();
                    let sandbox = Sandbox::builder().start().await?;
                    started = ms(t.elapsed());
                    ready(&http, sandbox.base_url()).await?;
                    a = ms(t.elapsed());
                    drop(sandbox);
                }
                1 => {
                    let t = Instant::now();
                    let server = MockServer::start().await;
                    ready(&http, &server.uri()).await?;
                    b = ms(t.elapsed());
                    drop(server);
                }
                _ => {
                    let t = Instant::now();
                    let server = MockServer::builder().start().await;
                    ready(&http, &server.uri()).await?;
                    c = ms(t.elapsed());
                    drop(server);
                }
            }
        }
        if i >= warmup {
            s.ours.push(a);
            s.ours_start_call.push(started);
            s.pooled.push(b);
            s.fresh.push(c);
        }
    }
    Ok(s)
}

pub async fn run(n: usize) -> Result<Vec<Row>> {
    let multi = measure(n).await?;
    // The same on a current-thread runtime of its own thread, as a `#[tokio::test]` runs by default.
    let single = tokio::task::spawn_blocking(move || -> Result<Samples> {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(measure(n))
    })
    .await??;
    let (m_ours, m_pooled, m_fresh) = (median(&multi.ours), median(&multi.pooled), median(&multi.fresh));
    Ok(vec![
        Row::new("start", "ms", m_ours)
            .baseline("wiremock MockServer::start()", m_pooled)
            .target(Target::RatioAtMost(1.0))
            .note(format!(
                "median of {n}, on the bench's multi-thread runtime (2 workers); ready = GET /healthz \
                 answered over a fresh connection; of ours, Sandbox::builder().start() returning takes \
                 {:.3} ms (median); p99 ours {:.2} ms, wiremock {:.2} ms. MockServer::start() takes a \
                 server from wiremock's pool (a dropped server is reset and reused), so after the first \
                 call it binds nothing; start() takes the spare the last dropped sandbox left (a new \
                 port and new state, bound and built at that drop, used once)",
                median(&multi.ours_start_call),
                percentile(&multi.ours, 99.0),
                percentile(&multi.pooled, 99.0)
            )),
        Row::new("start_unpooled", "ms", m_ours)
            .baseline("wiremock MockServer::builder().start()", m_fresh)
            .note("same sandbox samples; wiremock without its pool: binds a listener and starts its server thread each time"),
        Row::new("start_current_thread", "ms", median(&single.ours))
            .baseline("wiremock MockServer::start()", median(&single.pooled))
            .note(format!(
                "the same {n} rounds on a current-thread runtime, the one #[tokio::test] gives by default: \
                 the sandbox serves on the test's own thread, wiremock's pooled server on its own; of ours, \
                 start() returning takes {:.3} ms (median)",
                median(&single.ours_start_call)
            )),
    ])
}
