//! Scenario 4: `GET /v1/sessions/{id}` requests per second vs wiremock serving the same body, and
//! vs a bare hyper server serving it (`get_rps_limit`: the HTTP stack's own ceiling).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::bare::BareServer;
use crate::harness::{Bench, Storage};
use crate::report::{Row, Target};
use crate::Result;

/// `concurrency` tasks sending GETs back to back over one shared client for `duration`.
/// Returns (ok responses, errors, elapsed).
async fn hammer(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    concurrency: usize,
    duration: Duration,
) -> (u64, u64, Duration) {
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut set = JoinSet::new();
    for _ in 0..concurrency {
        let (http, url, key, ok, bad) =
            (http.clone(), url.to_owned(), key.to_owned(), ok.clone(), bad.clone());
        set.spawn(async move {
            while Instant::now() < deadline {
                let fine = match http.get(&url).bearer_auth(&key).send().await {
                    Ok(resp) if resp.status().is_success() => resp.bytes().await.is_ok(),
                    _ => false,
                };
                let counter = if fine { &ok } else { &bad };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while set.join_next().await.is_some() {}
    (ok.load(Ordering::Relaxed), bad.load(Ordering::Relaxed), start.elapsed())
}

pub async fn run(concurrency: usize, secs: f64) -> Result<Vec<Row>> {
    // The sandboxes serve from a runtime of their own, as wiremock's server thread and the bare
    // server do (and as the binary and the container do): on the load generator's runtime they
    // would share its two workers with the 32 client tasks while the others do not.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()).min(4))
        .thread_name("sandbox-server")
        .enable_all()
        .build()?;
    let rows = measure(&server_rt, concurrency, secs).await;
    server_rt.shutdown_background();
    rows
}

async fn measure(server_rt: &tokio::runtime::Runtime, concurrency: usize, secs: f64) -> Result<Vec<Row>> {
    let mem = server_rt.spawn(Bench::start(Storage::Memory)).await??;
    let sqlite = server_rt.spawn(Bench::start(Storage::Sqlite)).await??;
    let key = mem.sandbox.api_key().expose().to_owned();
    let mut urls = Vec::new();
    for b in [&mem, &sqlite] {
        let created = b.client.session().identify_default().age_verify(18).send().await?;
        let id = created.id.as_str().to_owned();
        let user = b.sandbox.user(&id);
        user.open().await?;
        user.share().await?;
        user.share().await?;
        urls.push(format!("{}/sessions/{id}", b.sandbox.api_url()));
    }
    // The canned body: exactly what the in-memory sandbox answers.
    let http = reqwest::Client::new();
    let body = http.get(&urls[0]).bearer_auth(&key).send().await?.error_for_status()?.bytes().await?;
    let server = MockServer::start().await;
    let mock_path = urls[0].split_once("/v1/").map(|(_, p)| format!("/v1/{p}")).unwrap_or_default();
    Mock::given(method("GET"))
        .and(path(mock_path.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_vec(), "application/json"))
        .mount(&server)
        .await;
    let mock_url = format!("{}{mock_path}", server.uri());
    let bare = BareServer::start(mock_path.clone(), body.clone())?;
    let bare_url = format!("{}{mock_path}", bare.uri());

    let warm = Duration::from_millis(500);
    for url in [&urls[0], &urls[1], &mock_url, &bare_url] {
        hammer(&http, url, &key, concurrency, warm).await;
    }
    // Alternating rounds, so drift in machine load falls on all sides alike.
    let rounds = 2;
    let slice = Duration::from_secs_f64(secs / rounds as f64);
    let mut totals = [(0u64, 0u64, Duration::ZERO); 4];
    for _ in 0..rounds {
        for (i, url) in [&urls[0], &mock_url, &urls[1], &bare_url].into_iter().enumerate() {
            let (ok, bad, el) = hammer(&http, url, &key, concurrency, slice).await;
            totals[i].0 += ok;
            totals[i].1 += bad;
            totals[i].2 += el;
        }
    }
    let rps = |t: (u64, u64, Duration)| t.0 as f64 / t.2.as_secs_f64();
    let (ours, wm, ours_db, limit) = (rps(totals[0]), rps(totals[1]), rps(totals[2]), rps(totals[3]));
    let errors: u64 = totals.iter().map(|t| t.1).sum();
    const LIMIT: &str = "bare hyper server, same bytes";
    Ok(vec![
        Row::new("get_rps", "req/s", ours)
            .baseline("wiremock canned GET", wm)
            .target(Target::RatioAtLeast(1.0))
            .note(format!(
                "{concurrency} tasks, one shared reqwest::Client, {secs:.0} s per side in {rounds} alternating rounds \
                 (sandbox in memory, wiremock, sandbox with SQLite, bare hyper), {} byte body, {errors} errors \
                 over all four sides; each server on threads of its own: the sandboxes on a runtime of their own, \
                 wiremock on its server thread, the bare server on its runtime",
                body.len()
            )),
        Row::new("get_rps_sqlite", "req/s", ours_db).baseline("wiremock canned GET", wm).note(
            "the same GET against a sandbox with a database file: a read takes the store lock and \
             renders from memory, it writes nothing to SQLite (since 39fa282)",
        ),
        Row::new("get_rps_limit", "req/s", ours)
            .baseline(LIMIT, limit)
            .target(Target::RatioAtLeast(0.8))
            .note(
                "the sandbox's GET (in memory) as a share of the HTTP stack's ceiling: baseline_value is a \
                 bare hyper-util server (no router, middleware or state) answering the same bytes for the \
                 same path, same client and concurrency, in the same rounds, on a runtime of its own \
                 (as the sandboxes and wiremock's server have)",
            ),
        Row::new("get_rps_sqlite_limit", "req/s", ours_db)
            .baseline(LIMIT, limit)
            .target(Target::RatioAtLeast(0.8))
            .note("the same with SQLite: get_rps_sqlite over the bare hyper server's rate"),
    ])
}
