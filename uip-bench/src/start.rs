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

/// The wiremock server a run of rounds compares with.
#[derive(Clone, Copy)]
enum Wiremock {
    /// `MockServer::start()`: a server from wiremock's pool.
    Pooled,
    /// `MockServer::builder().start()`: a new listener and server thread.
    Unpooled,
}

/// Start-to-ready samples (ms) of ours and of one wiremock server, on the runtime this runs on.
struct Samples {
    ours: Vec<f64>,
    /// Of `ours`, the part until `Sandbox::builder().start()` returned.
    ours_start_call: Vec<f64>,
    theirs: Vec<f64>,
}

/// `n` rounds (after a warm-up) of ours and `against`, taking turns. Only two servers take part:
/// a third one's start and teardown would fall on the measured pair too (wiremock's unpooled
/// server starts and ends a thread every round).
async fn measure(n: usize, against: Wiremock) -> Result<Samples> {
    // No connection reuse: every server is reached over a fresh connection, on both sides.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    let mut s = Samples { ours: Vec::new(), ours_start_call: Vec::new(), theirs: Vec::new() };
    let warmup = 4;
    for i in 0..n + warmup {
        let (mut ours, mut started, mut theirs) = (0.0, 0.0, 0.0);
        // Which side goes first alternates (01 10 01 10 …): what a server leaves behind when
        // dropped (its tasks ending) falls on each side as often as on the other.
        for side in if i % 2 == 0 { [0, 1] } else { [1, 0] } {
            let t = Instant::now();
            if side == 0 {
                let sandbox = Sandbox::builder().start().await?;
                started = ms(t.elapsed());
                ready(&http, sandbox.base_url()).await?;
                ours = ms(t.elapsed());
                drop(sandbox);
            } else {
                let server = match against {
                    Wiremock::Pooled => MockServer::start().await,
                    Wiremock::Unpooled => MockServer::builder().start().await,
                };
                ready(&http, &server.uri()).await?;
                theirs = ms(t.elapsed());
                drop(server);
            }
        }
        if i >= warmup {
            s.ours.push(ours);
            s.ours_start_call.push(started);
            s.theirs.push(theirs);
        }
    }
    Ok(s)
}

pub async fn run(n: usize) -> Result<Vec<Row>> {
    let multi = measure(n, Wiremock::Pooled).await?;
    let unpooled = measure(n, Wiremock::Unpooled).await?;
    // The same on a current-thread runtime of its own thread, as a `#[tokio::test]` runs by default.
    let single = tokio::task::spawn_blocking(move || -> Result<Samples> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(measure(n, Wiremock::Pooled))
    })
    .await??;
    Ok(vec![
        Row::new("start", "ms", median(&multi.ours))
            .baseline("wiremock MockServer::start()", median(&multi.theirs))
            .target(Target::RatioAtMost(1.0))
            .note(format!(
                "median of {n} rounds taking turns with pooled wiremock alone, on the bench's multi-thread \
                 runtime (2 workers); ready = GET /healthz answered over a fresh connection; of ours, \
                 Sandbox::builder().start() returning takes {:.3} ms (median); p99 ours {:.2} ms, wiremock \
                 {:.2} ms. MockServer::start() takes a server from wiremock's pool (a dropped server is \
                 reset and reused), so after the first call it binds nothing; start() takes the spare the \
                 last dropped sandbox left (a new port and new state, bound and built at that drop, used once)",
                median(&multi.ours_start_call),
                percentile(&multi.ours, 99.0),
                percentile(&multi.theirs, 99.0)
            )),
        Row::new("start_unpooled", "ms", median(&unpooled.ours))
            .baseline("wiremock MockServer::builder().start()", median(&unpooled.theirs))
            .note(format!(
                "{n} rounds of their own, taking turns with wiremock without its pool (it binds a listener \
                 and starts its server thread each time)"
            )),
        Row::new("start_current_thread", "ms", median(&single.ours))
            .baseline("wiremock MockServer::start()", median(&single.theirs))
            .note(format!(
                "the same {n} rounds with pooled wiremock on a current-thread runtime, the one #[tokio::test] \
                 gives by default: the sandbox serves on the test's own thread, wiremock's pooled server on \
                 its own; of ours, start() returning takes {:.3} ms (median)",
                median(&single.ours_start_call)
            )),
    ])
}
