//! `uip-sandbox`: runs the sandbox server (the default command, `serve`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use uip_sandbox::{Sandbox, Trust};

/// A faithful, stateful UIP sandbox for integration tests and CI.
#[derive(Parser, Debug)]
#[command(name = "uip-sandbox", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the sandbox server (the default).
    Serve(ServeArgs),
    /// Send one signed, realistic webhook delivery to a receiver and print its answer.
    Trigger(uip_sandbox::receiver_tools::TriggerArgs),
    /// Check a webhook receiver's security with every conformance case; exit 0 only when all pass.
    CheckReceiver(uip_sandbox::receiver_tools::CheckArgs),
    /// Exit 0 when the sandbox listening here answers GET /healthz with 200, else 1 (for container HEALTHCHECKs).
    Healthcheck(uip_sandbox::healthcheck::HealthcheckArgs),
}

/// Every flag left out falls back to the library's default (`Settings::default()` in
/// uip-sandbox's config.rs, the one place defaults are written; `SandboxBuilder`'s docs list them).
#[derive(clap::Args, Debug, Clone)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "UIP_SANDBOX_LISTEN", default_value_t = uip_sandbox::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Public base URL for session URLs (default: http:// + the bound address).
    #[arg(long, env = "UIP_SANDBOX_PUBLIC_URL")]
    public_url: Option<String>,
    /// SQLite database file (default: in memory).
    #[arg(long, env = "UIP_SANDBOX_DB")]
    db: Option<PathBuf>,
    /// API key of the default business (default uip_test_sandbox).
    #[arg(long, env = "UIP_SANDBOX_API_KEY")]
    api_key: Option<String>,
    /// Webhook secret of the default business (default uip_whsec_sandbox; with --db, the stored one
    /// unless given).
    #[arg(long, env = "UIP_SANDBOX_WEBHOOK_SECRET")]
    webhook_secret: Option<String>,
    /// Webhook URL of the default business (default: the built-in inbox; with --db, the stored one
    /// unless given).
    #[arg(long, env = "UIP_SANDBOX_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// Issuer trust of the default business: demo (default) or production (with --db, the stored
    /// one unless given).
    #[arg(long, env = "UIP_SANDBOX_TRUST")]
    trust: Option<Trust>,
    /// Step window, seconds (default 600).
    #[arg(long, env = "UIP_SANDBOX_STEP_WINDOW_S")]
    step_window_s: Option<u64>,
    /// Expiry sweep period, milliseconds; 0 disables (default 1000).
    #[arg(long, env = "UIP_SANDBOX_EXPIRY_SWEEP_MS")]
    expiry_sweep_ms: Option<u64>,
    /// Webhook attempt timeout, milliseconds (default 10000).
    #[arg(long, env = "UIP_SANDBOX_DELIVERY_TIMEOUT_MS")]
    delivery_timeout_ms: Option<u64>,
    /// First retry delay, milliseconds (default 1000).
    #[arg(long, env = "UIP_SANDBOX_RETRY_BASE_MS")]
    retry_base_ms: Option<u64>,
    /// Longest retry delay, milliseconds (default 3600000).
    #[arg(long, env = "UIP_SANDBOX_RETRY_MAX_MS")]
    retry_max_ms: Option<u64>,
    /// How long a delivery is retried, seconds (default 259200).
    #[arg(long, env = "UIP_SANDBOX_RETRY_HORIZON_S")]
    retry_horizon_s: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(a)) => a,
        Some(Command::Trigger(a)) => return a.run().await,
        Some(Command::CheckReceiver(a)) => return a.run().await,
        Some(Command::Healthcheck(h)) => return uip_sandbox::healthcheck::run(&h).await,
        None => cli.serve,
    };
    let mut builder = Sandbox::builder().listen(args.listen);
    // A flag (or environment variable) left out keeps the builder's value, which is the library's
    // default; on a stored database, the default business's stored settings win over a default
    // (docs/DECISIONS.md §11), so these are set only when given.
    if let Some(k) = args.api_key {
        builder = builder.api_key(k);
    }
    if let Some(s) = args.webhook_secret {
        builder = builder.webhook_secret(s);
    }
    if let Some(t) = args.trust {
        builder = builder.trust(t);
    }
    if let Some(s) = args.step_window_s {
        builder = builder.step_window(Duration::from_secs(s));
    }
    if let Some(ms) = args.expiry_sweep_ms {
        builder = builder.expiry_sweep(Duration::from_millis(ms));
    }
    if let Some(ms) = args.delivery_timeout_ms {
        builder = builder.delivery_timeout(Duration::from_millis(ms));
    }
    if let Some(ms) = args.retry_base_ms {
        builder = builder.retry_base(Duration::from_millis(ms));
    }
    if let Some(ms) = args.retry_max_ms {
        builder = builder.retry_max(Duration::from_millis(ms));
    }
    if let Some(s) = args.retry_horizon_s {
        builder = builder.retry_horizon(Duration::from_secs(s));
    }
    if let Some(u) = args.public_url {
        builder = builder.public_url(u);
    }
    if let Some(db) = args.db {
        builder = builder.database(db);
    }
    if let Some(u) = args.webhook_url {
        builder = builder.webhook_url(u);
    }
    // Listen for the stop signals before anything is printed: a script may send SIGTERM as soon
    // as it reads the URL line, and an unhandled SIGTERM would kill the process (status ≠ 0).
    let stop = match StopSignals::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("uip-sandbox: cannot listen for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sandbox = match builder.start().await {
        Ok(s) => s,
        Err(e) => {
            // The error and each cause below it (display-or-source: each text appears once).
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            eprintln!("uip-sandbox: {text}");
            return ExitCode::FAILURE;
        }
    };
    let creds = sandbox.credentials();
    println!("UIP sandbox listening on {}", sandbox.base_url());
    println!("  business API    {}", sandbox.api_url());
    println!("  API key         {}", creds.api_key.expose());
    println!("  dashboard       {}/_sandbox/ui", sandbox.base_url());
    println!("  webhook secret  {}", creds.webhook_secret.expose());
    println!("  webhook URL     {}", creds.webhook_url.as_deref().unwrap_or("(none)"));
    println!("  inbox           {}/_sandbox/inbox", sandbox.base_url());
    println!("UIP_SANDBOX_URL={}", sandbox.base_url());
    stop.wait().await;
    eprintln!("uip-sandbox: shutting down");
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}

/// Ctrl-C and (on Unix) SIGTERM, registered at once.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        {
            let StopSignals { mut interrupt, mut terminate } = self;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let StopSignals {} = self;
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
