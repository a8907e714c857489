//! Issue 16's build-time measure: cold-builds the tests of a small crate that depends on
//! `uip-sandbox` + `uip-client`, and the same crate with wiremock in place of the sandbox, each in
//! its own fresh target directory under `target/`, offline from the local registry cache.
//!
//! Slow (minutes) and disk-hungry: not part of `--quick` nor of the default run; `--build-time`
//! (or `--only build_time`) runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::report::{Row, Target};
use crate::Result;

/// The `uip-sandbox` features a test needs. `None`: the crate's defaults. `Some(&[])`: what the
/// README's test section declares — `default-features = false` (no `cli`, no `sqlite`).
const SANDBOX_FEATURES: Option<&[&str]> = Some(&[]);

/// One variant of the test crate.
struct Variant {
    name: &'static str,
    /// Extra `[dependencies]` lines (besides `uip-client` and `tokio`).
    deps: String,
    /// The crate's `src/lib.rs`.
    lib: &'static str,
}

const UIP_LIB: &str = r#"//! Tests of code that creates UIP sessions, against the in-process sandbox.
#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn creates_a_session() {
        let sandbox = uip_sandbox::Sandbox::start().await;
        let client = uip_client::Client::builder(sandbox.api_key().expose())
            .base_url(sandbox.api_url())
            .build()
            .unwrap();
        let session = client.session().identify_default().send().await.unwrap();
        assert_eq!(sandbox.deliveries(&session.id).len(), 0);
    }
}
"#;

const WIREMOCK_LIB: &str = r#"//! Tests of code that creates UIP sessions, against a wiremock stub.
#[cfg(test)]
mod tests {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn creates_a_session() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/sessions"))
            .respond_with(ResponseTemplate::new(500))
            .expect(1..)
            .mount(&server)
            .await;
        let client = uip_client::Client::builder("uip_test_stub")
            .base_url(format!("{}/v1", server.uri()))
            .build()
            .unwrap();
        let _ = client.session().identify_default().send().await;
        assert!(!server.received_requests().await.unwrap_or_default().is_empty());
    }
}
"#;

/// What one cold build measured.
struct Measured {
    seconds: f64,
    /// Distinct packages in `cargo tree` (all edges), the crate itself excluded.
    tree_crates: usize,
    /// "Compiling" lines of the build (build scripts and proc-macros included).
    compiled: usize,
}

fn sandbox_dep(root: &Path) -> String {
    let path = root.join("uip-sandbox");
    match SANDBOX_FEATURES {
        None => format!("uip-sandbox = {{ path = {:?} }}", path.display().to_string()),
        Some(features) => format!(
            "uip-sandbox = {{ path = {:?}, default-features = false, features = {features:?} }}",
            path.display().to_string()
        ),
    }
}

fn write_crate(dir: &Path, root: &Path, v: &Variant) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir.join("src"))?;
    let manifest = format!(
        "[package]\nname = \"build-time-{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         # Not a member of the kit's workspace.\n[workspace]\n\n[dependencies]\n\
         uip-client = {{ path = {client:?} }}\n{deps}\n\n[dev-dependencies]\n\
         tokio = {{ version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }}\n",
        name = v.name,
        client = root.join("uip-client").display().to_string(),
        deps = v.deps,
    );
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::write(dir.join("src/lib.rs"), v.lib)?;
    // The kit's own lock file: the same versions as the workspace, resolvable offline.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    Ok(())
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.env("CARGO_TERM_COLOR", "never").env_remove("RUSTFLAGS").env_remove("CARGO_TARGET_DIR");
    c
}

fn measure(dir: &Path) -> Result<Measured> {
    let target = dir.join("target");
    let tree = cargo()
        .current_dir(dir)
        .args(["tree", "--offline", "--prefix", "none", "--format", "{p}", "-e", "normal,build,dev"])
        .stderr(Stdio::inherit())
        .output()?;
    if !tree.status.success() {
        return Err(format!("cargo tree in {} failed", dir.display()).into());
    }
    let mut packages: Vec<String> = String::from_utf8_lossy(&tree.stdout)
        .lines()
        .map(|l| l.trim_end_matches(" (*)").trim_end_matches(" (proc-macro)").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    packages.sort();
    packages.dedup();
    let t = Instant::now();
    let build = cargo()
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .args(["build", "--tests", "--offline"])
        .stdout(Stdio::null())
        .output()?;
    let seconds = t.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&build.stderr);
    if !build.status.success() {
        return Err(format!("cargo build --tests in {} failed:\n{log}", dir.display()).into());
    }
    let compiled = log.lines().filter(|l| l.trim_start().starts_with("Compiling ")).count();
    // The target directories are large: only the numbers are kept.
    std::fs::remove_dir_all(&target)?;
    Ok(Measured { seconds, tree_crates: packages.len().saturating_sub(1), compiled })
}

/// Builds both crates cold, wiremock's first, and reports seconds, ratio and crate counts.
pub fn run(workspace_root: &Path) -> Result<Vec<Row>> {
    let base: PathBuf = workspace_root.join("target").join("uip-bench-build");
    let wiremock = Variant { name: "wiremock", deps: "wiremock = \"0.6\"".to_owned(), lib: WIREMOCK_LIB };
    let uip = Variant { name: "uip-sandbox", deps: sandbox_dep(workspace_root), lib: UIP_LIB };
    let mut results = Vec::new();
    for v in [&wiremock, &uip] {
        let dir = base.join(v.name);
        write_crate(&dir, workspace_root, v)?;
        eprint!("[{}: cold build … ", v.name);
        let m = measure(&dir)?;
        eprint!("{:.1} s] ", m.seconds);
        results.push(m);
    }
    let (wm, ours) = (&results[0], &results[1]);
    let features = match SANDBOX_FEATURES {
        None => "uip-sandbox with its default features".to_owned(),
        Some(f) => format!("uip-sandbox default-features = false, features {f:?}"),
    };
    Ok(vec![
        Row::new("build_time_cold", "s", ours.seconds)
            .baseline("same crate with wiremock 0.6", wm.seconds)
            .target(Target::RatioAtMost(1.5))
            .note(format!(
                "`cargo build --tests --offline` of a one-test crate (uip-client + tokio dev-dependency, plus \
                 {features}; or plus wiremock), each in a fresh target directory under target/uip-bench-build/, \
                 dev profile, the machine's default job count; wiremock's first"
            )),
        Row::new("build_crates", "crates", ours.tree_crates as f64)
            .baseline("same crate with wiremock 0.6", wm.tree_crates as f64)
            .note("distinct packages in `cargo tree -e normal,build,dev`, the test crate itself excluded"),
        Row::new("build_units_compiled", "units", ours.compiled as f64)
            .baseline("same crate with wiremock 0.6", wm.compiled as f64)
            .note("`Compiling` lines of the cold build (build scripts and proc-macros count once each)"),
    ])
}
