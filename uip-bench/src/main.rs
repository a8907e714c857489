//! The benchmark harness of the UIP integrator kit.
//!
//! `cargo run --release -p uip-bench -- [--quick] [--only NAME[,NAME…]]` runs every scenario in
//! one process, prints a table and writes `target/uip-bench.json` at the workspace root.
//! Scenario names for `--only`: memory, start, flow_latency, throughput_memory,
//! throughput_sqlite, webhook_latency, get_rps, verify, build_time.
//! `--build-time` adds the cold-build comparison (minutes; never in `--quick` or by default).

mod bare;
mod build_time;
mod flows;
mod get_rps;
mod harness;
mod memory;
mod report;
mod start;
mod stats;
mod verify;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use harness::Storage;
use report::Row;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// How much of each scenario to run.
struct Plan {
    quick: bool,
    start_n: usize,
    latency_flows: usize,
    concurrency: usize,
    throughput_secs: f64,
    webhook_secs: f64,
    get_concurrency: usize,
    get_secs: f64,
    memory_sessions: u64,
    memory_concurrency: usize,
    verify_budget: Duration,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                quick,
                start_n: 300,
                latency_flows: 300,
                concurrency: 64,
                throughput_secs: 4.0,
                webhook_secs: 3.0,
                get_concurrency: 32,
                get_secs: 3.0,
                memory_sessions: 10_000,
                memory_concurrency: 32,
                verify_budget: Duration::from_millis(250),
            }
        } else {
            Plan {
                quick,
                start_n: 1000,
                latency_flows: 3000,
                concurrency: 64,
                throughput_secs: 20.0,
                webhook_secs: 15.0,
                get_concurrency: 32,
                get_secs: 10.0,
                memory_sessions: 100_000,
                memory_concurrency: 32,
                verify_budget: Duration::from_secs(2),
            }
        }
    }
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("uip-bench: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let mut quick = false;
    let mut only: Option<Vec<String>> = None;
    let mut build_time = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--build-time" => build_time = true,
            "--only" => {
                let v = args.next().ok_or("--only needs a comma-separated list of scenarios")?;
                only = Some(v.split(',').map(str::to_owned).collect());
            }
            "-h" | "--help" => {
                println!(
                    "uip-bench [--quick] [--build-time] [--only memory,start,flow_latency,throughput_memory,throughput_sqlite,webhook_latency,get_rps,verify,build_time]"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    let wants = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));
    // The cold builds: only when asked for, by flag or by name.
    let build_time = build_time || only.as_ref().is_some_and(|o| o.iter().any(|x| x == "build_time"));
    let plan = Plan::new(quick);
    let began = Instant::now();
    let load_before = loadavg();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut rows: Vec<Row> = Vec::new();

    rt.block_on(async {
        // First: memory growth is measured on a fresh heap (earlier scenarios' freed memory
        // would be reused and hide growth).
        if wants("memory") {
            step("memory_per_session", &mut rows, memory::run(plan.memory_sessions, plan.memory_concurrency))
                .await?;
        }
        if wants("start") {
            step("start", &mut rows, start::run(plan.start_n)).await?;
        }
        if wants("flow_latency") {
            step("flow_latency", &mut rows, flows::latency(plan.latency_flows)).await?;
        }
        // Scenario 3: the storages asked for, measured in windows that take turns.
        let mut storages = Vec::new();
        if wants("throughput_memory") || wants("webhook_latency") {
            storages.push(Storage::Memory);
        }
        if wants("throughput_sqlite") {
            storages.push(Storage::Sqlite);
        }
        let mut max_rate = None;
        if !storages.is_empty() {
            let measured = timed(
                "flow_throughput",
                flows::throughput(&storages, plan.concurrency, plan.throughput_secs),
            )
            .await?;
            let (mut memory_rate, mut sqlite_rate) = (None, None);
            for ((row, rate), storage) in measured.into_iter().zip(&storages) {
                match storage {
                    Storage::Memory => {
                        memory_rate = Some(rate);
                        if wants("throughput_memory") {
                            rows.push(row);
                        }
                    }
                    Storage::Sqlite => {
                        sqlite_rate = Some(rate);
                        rows.push(row);
                    }
                }
            }
            // Durable against in-memory, measured in the same run.
            if let (Some(s), Some(m)) = (sqlite_rate, memory_rate) {
                rows.push(flows::sqlite_against_memory(s, m));
            }
            max_rate = memory_rate;
        }
        if let (true, Some(rate)) = (wants("webhook_latency"), max_rate) {
            step("webhook_latency", &mut rows, flows::webhook_latency(rate / 2.0, plan.webhook_secs)).await?;
        }
        if wants("get_rps") {
            step("get_rps", &mut rows, get_rps::run(plan.get_concurrency, plan.get_secs)).await?;
        }
        Ok::<(), Error>(())
    })?;
    if wants("verify") {
        eprint!("[uip-bench] verify … ");
        let t = Instant::now();
        rows.extend(verify::run(plan.verify_budget)?);
        eprintln!("{:.1} s", t.elapsed().as_secs_f64());
    }
    drop(rt);
    if build_time {
        eprint!("[uip-bench] build_time … ");
        let t = Instant::now();
        rows.extend(build_time::run(&workspace_root())?);
        eprintln!("{:.1} s", t.elapsed().as_secs_f64());
    }

    let meta = serde_json::json!({
        "mode": if plan.quick { "quick" } else { "full" },
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu_model(),
        "mem_total_gib": mem_total_gib(),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "elapsed_s": (began.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    println!("\n{}", report::table(&rows));
    println!("{}", report::notes(&rows));
    println!(
        "mode {}, {} CPUs ({}), load average before {} / after {}, {:.1} s",
        meta["mode"].as_str().unwrap_or(""),
        meta["cpus"],
        meta["cpu_model"].as_str().unwrap_or("?"),
        load_before,
        loadavg(),
        began.elapsed().as_secs_f64()
    );
    let path = json_path();
    report::write_json(&path, &rows, meta)?;
    println!("wrote {}", path.display());
    Ok(())
}

async fn timed<T>(name: &str, f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    eprint!("[uip-bench] {name} … ");
    let t = Instant::now();
    let r = f.await;
    eprintln!("{:.1} s", t.elapsed().as_secs_f64());
    r.map_err(|e| format!("{name}: {e}").into())
}

async fn step(
    name: &str,
    rows: &mut Vec<Row>,
    f: impl std::future::Future<Output = Result<Vec<Row>>>,
) -> Result<()> {
    rows.extend(timed(name, f).await?);
    Ok(())
}

/// The workspace root (this crate's parent directory).
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// `target/uip-bench.json` at the workspace root.
fn json_path() -> PathBuf {
    workspace_root().join("target").join("uip-bench.json")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default()
}

fn mem_total_gib() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map(|kb| (kb / 1048576.0 * 10.0).round() / 10.0)
        .unwrap_or(0.0)
}
