//! Quickstart: create an age check, play the user, and receive the verified webhook.
//!
//! ```sh
//! cargo run -p uip-sandbox                              # terminal 1
//! cargo run -p uip-examples --example quickstart        # terminal 2
//! ```
//!
//! `UIP_SANDBOX_URL` (default `http://127.0.0.1:8787`) and `UIP_API_KEY` (default
//! `uip_test_sandbox`) point it elsewhere.
//!
//! What it does:
//! 1. starts a webhook receiver on `127.0.0.1:<random port>` that verifies every delivery with
//!    `uip-webhook-verify`, and points the sandbox business's webhook URL at it
//!    (`PATCH /_sandbox/business`; the previous URL is put back at the end, also on Ctrl-C);
//! 2. creates a session with one `age_verify` step (`uip-client`);
//! 3. plays the user with `POST /_sandbox/sessions/{id}/simulate` (the `jane-doe` persona shares
//!    from Apple Wallet) — in real life the user opens the session URL in a browser;
//! 4. prints the typed webhook events as they arrive, until the session ends.

use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use uip_client::Client;
use uip_types::StepResult;
use uip_webhook_verify::{Deduper, Verifier, WebhookEvent};

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    match example().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn example() -> Result<(), BoxError> {
    let base = std::env::var("UIP_SANDBOX_URL").unwrap_or_else(|_| "http://127.0.0.1:8787".to_owned());
    let base = base.trim_end_matches('/').to_owned();
    let key = std::env::var("UIP_API_KEY").unwrap_or_else(|_| "uip_test_sandbox".to_owned());
    let sandbox = Sandbox { http: reqwest::Client::new(), base: base.clone(), key: key.clone() };

    // 1. A receiver, and the business pointed at it.
    let business = sandbox.control(Method::GET, "/_sandbox/business", None).await?;
    let secret = business["webhook_secret"].as_str().ok_or("the business has no webhook secret")?;
    let previous_url = business["webhook_url"].clone();
    let (webhook_url, mut events) = start_receiver(Verifier::new(secret)?).await?;
    sandbox.control(Method::PATCH, "/_sandbox/business", Some(json!({ "webhook_url": webhook_url }))).await?;
    println!("webhook receiver listening on {webhook_url} (the business's webhook URL for now)");

    let client = Client::builder(key).base_url(format!("{base}/v1")).build()?;
    let outcome = tokio::select! {
        r = run(&client, &sandbox, &mut events) => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };

    // Put the business's webhook URL back (usually the sandbox's inbox).
    sandbox
        .control(Method::PATCH, "/_sandbox/business", Some(json!({ "webhook_url": previous_url })))
        .await?;
    println!("restored the business's webhook URL ({})", previous_url.as_str().unwrap_or("none"));
    outcome
}

async fn run(
    client: &Client,
    sandbox: &Sandbox,
    events: &mut mpsc::UnboundedReceiver<WebhookEvent>,
) -> Result<(), BoxError> {
    // 2. Create the session.
    let session = client.session().age_verify(21).client_reference_id("quickstart").send().await?;
    let id = session.id.as_str();
    println!("created session {id}: {}, expires {}", session.status, session.expires);
    println!("  the user would open {}", session.url.expose());

    // 3. The user opens the page and shares their ID.
    let path = format!("/_sandbox/sessions/{id}/simulate");
    let view = sandbox.control(Method::POST, &path, Some(json!({}))).await?;
    println!(
        "simulated the user (jane-doe, Apple Wallet): session is now {}",
        view["status"].as_str().unwrap_or("?")
    );

    // 4. The results arrive by webhook, verified and typed.
    loop {
        let event = tokio::time::timeout(Duration::from_secs(15), events.recv())
            .await
            .map_err(|_| "no webhook within 15 s")?
            .ok_or("the receiver stopped")?;
        match &event {
            WebhookEvent::StepCompleted(step) => match &step.result {
                StepResult::AgeVerify { satisfied, min_age } => println!(
                    "webhook step.completed: stage {} age_verify — {} (min_age {min_age}), audit {}",
                    step.stage,
                    if *satisfied { "old enough" } else { "NOT old enough" },
                    step.audit_id
                ),
                other => println!("webhook step.completed: stage {} {other:?}", step.stage),
            },
            WebhookEvent::SessionCompleted(end)
            | WebhookEvent::SessionStopped(end)
            | WebhookEvent::SessionFailed(end)
            | WebhookEvent::SessionExpired(end) => println!(
                "webhook {}: status {}{}",
                event.name(),
                end.status,
                end.reason.as_deref().map(|r| format!(", reason {r}")).unwrap_or_default()
            ),
            other => println!("webhook {} (not handled here)", other.name()),
        }
        if event.is_terminal() {
            break;
        }
    }

    let view = client.get_session(&session.id).await?;
    println!(
        "GET /v1/sessions/{id}: {} ({} of {} steps)",
        view.status,
        view.current_step + 1,
        view.step_count
    );
    Ok(())
}

/// The sandbox's control API, with the business's key.
struct Sandbox {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Sandbox {
    async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, BoxError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.clone(), &url).bearer_auth(&self.key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.map_err(|e| {
            format!("{method} {url}: {e}\n  is the sandbox running? start it with: cargo run -p uip-sandbox")
        })?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            return Err(format!("{method} {url}: HTTP {status}: {text}").into());
        }
        Ok(serde_json::from_str(&text)?)
    }
}

struct Receiver {
    verifier: Verifier,
    seen: Deduper,
    events: mpsc::UnboundedSender<WebhookEvent>,
}

/// A webhook receiver on 127.0.0.1:0: verify the raw body, skip repeats, pass the event on.
async fn start_receiver(
    verifier: Verifier,
) -> Result<(String, mpsc::UnboundedReceiver<WebhookEvent>), BoxError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Arc::new(Receiver { verifier, seen: Deduper::default(), events: tx });
    let app = Router::new().route("/uip-webhook", post(receive)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/uip-webhook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, rx))
}

async fn receive(State(receiver): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    match receiver.verifier.verify(&headers, &body) {
        Ok(delivery) => {
            if receiver.seen.insert(&delivery.delivery_id) {
                let _ = receiver.events.send(delivery.event);
            }
            StatusCode::OK // verified (a repeat was handled already): acknowledge
        }
        Err(err) => {
            eprintln!("refused a delivery: {err}");
            StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
        }
    }
}
