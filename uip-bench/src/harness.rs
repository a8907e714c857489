//! A sandbox wired to a local verifying receiver, and the 2-step flow every flow scenario runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use uip_sandbox::{Sandbox, TestReceiver};

use crate::Result;

/// The webhook secret of the benchmarked sandboxes.
pub const SECRET: &str = "uip_whsec_bench_4f1b2c3d4e5f6071";
/// Enough balance for any run (steps cost cents; the default 100 000 would run out).
const BALANCE_CENTS: u64 = 1_000_000_000_000;
/// How long a flow may wait for its `session.completed`.
const COMPLETION_TIMEOUT: Duration = Duration::from_secs(30);

/// Which store the sandbox keeps its state in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    Memory,
    Sqlite,
}

/// An in-process sandbox whose webhooks go to a local verifying receiver.
pub struct Bench {
    pub sandbox: Sandbox,
    pub client: uip_client::Client,
    /// The kit's verifying receiver (`uip_sandbox::TestReceiver`).
    pub receiver: TestReceiver,
    /// Load generator for raw requests (one pooled client).
    pub http: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

/// When each phase of one flow ended, from its start.
#[derive(Clone, Copy, Debug)]
pub struct FlowTimes {
    pub created: Duration,
    pub opened: Duration,
    pub shared1: Duration,
    /// The last share's `POST /s/{id}/response` returned.
    pub shared2: Duration,
    /// The verified `session.completed` reached the receiver.
    pub completed: Duration,
}

impl FlowTimes {
    /// Milliseconds from the last share's response to the receipt of `session.completed`;
    /// negative when the webhook arrived before the response reached the client.
    pub fn webhook_ms(&self) -> f64 {
        (self.completed.as_secs_f64() - self.shared2.as_secs_f64()) * 1e3
    }
}

impl Bench {
    /// Shuts the sandbox down (its tasks ended, its state freed) before the next scenario starts,
    /// so that one scenario's teardown is not measured in the next one. (Without it, `start`,
    /// which follows `memory_per_session`, overlapped the freeing of that scenario's 100 000
    /// sessions: 1.16-1.22x pooled wiremock, against 1.00-1.05x after a 5 s pause.)
    pub async fn close(self: Arc<Bench>) {
        if let Ok(bench) = Arc::try_unwrap(self) {
            bench.sandbox.shutdown().await;
        }
    }

    pub async fn start(storage: Storage) -> Result<Bench> {
        Bench::with_receiver(storage, TestReceiver::verifying(SECRET).await).await
    }

    pub async fn with_receiver(storage: Storage, receiver: TestReceiver) -> Result<Bench> {
        let mut builder = Sandbox::builder()
            .webhook_url(receiver.url())
            .webhook_secret(SECRET)
            .retry_base(Duration::from_millis(50));
        let dir = match storage {
            Storage::Memory => None,
            Storage::Sqlite => {
                let dir = tempfile::tempdir()?;
                builder = builder.database(dir.path().join("bench.sqlite"));
                Some(dir)
            }
        };
        let sandbox = builder.start().await?;
        let http = reqwest::Client::new();
        sandbox.set_balance(BALANCE_CENTS).map_err(|e| format!("funding the business: {e}"))?;
        let client =
            uip_client::Client::builder(sandbox.api_key().expose()).base_url(sandbox.api_url()).build()?;
        Ok(Bench { sandbox, client, receiver, http, _dir: dir })
    }

    /// One 2-step flow (identify, age_verify): create through `uip-client`, open, share twice
    /// as the simulated user, then wait for the verified `session.completed` at the receiver.
    pub async fn flow(&self) -> Result<FlowTimes> {
        let t0 = Instant::now();
        let created = self.client.session().identify_default().age_verify(18).send().await?;
        let created_at = t0.elapsed();
        let id = created.id.as_str();
        let user = self.sandbox.user(id);
        user.open().await?;
        let opened = t0.elapsed();
        user.share().await?;
        let shared1 = t0.elapsed();
        let result = user.share().await?;
        let shared2 = t0.elapsed();
        if result.state.status != uip_types::SessionStatus::Completed {
            return Err(format!("session ended {}, not completed", result.state.status).into());
        }
        let done = self
            .receiver
            .wait_delivery(format!("{id}:session.completed"), COMPLETION_TIMEOUT)
            .await
            .ok_or("no verified session.completed within 30 s")?;
        Ok(FlowTimes { created: created_at, opened, shared1, shared2, completed: done.at.duration_since(t0) })
    }
}
