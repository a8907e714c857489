//! `uip-sandbox healthcheck`: the container image's HEALTHCHECK. It reads the same listen setting
//! as `serve` (flag or `UIP_SANDBOX_LISTEN`) and exits 0 only on a 200 from `/healthz`.

use std::process::Output;

use tokio::process::Command;
use uip_sandbox::Sandbox;

/// The binary with no inherited `UIP_SANDBOX_*` variable, so only what a test sets applies.
fn healthcheck() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_uip-sandbox"));
    for (name, _) in std::env::vars() {
        if name.starts_with("UIP_SANDBOX_") {
            cmd.env_remove(name);
        }
    }
    cmd.arg("healthcheck");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn run(cmd: &mut Command) -> Output {
    cmd.output().await.expect("run uip-sandbox healthcheck")
}

#[tokio::test]
async fn a_running_sandbox_is_healthy_by_flag_and_by_env() {
    let sandbox = Sandbox::start().await;
    let addr = sandbox.address();

    let out = run(healthcheck().args(["--listen", &addr.to_string()])).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("healthy: {addr} answered 200\n"));

    // As in the image: the server listens on 0.0.0.0; the check asks loopback on the same port.
    let out = run(healthcheck().env("UIP_SANDBOX_LISTEN", format!("0.0.0.0:{}", addr.port()))).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
}

#[tokio::test]
async fn no_listener_is_unhealthy_with_exit_status_1() {
    let sandbox = Sandbox::start().await;
    let addr = sandbox.address();
    sandbox.shutdown().await;

    let out = run(healthcheck().args(["--listen", &addr.to_string(), "--timeout-ms", "5000"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("unhealthy: "), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}
