//! Runnable examples of the UIP integrator kit (see the `[[example]]` targets of this package),
//! and the little harness they share: the sandbox's control API, and a verifying webhook
//! receiver that the sandbox business points at while an example runs.

use std::error::Error;
use std::future::Future;
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
use uip_webhook_verify::{Deduper, Verifier, WebhookEvent};

/// The error type of the examples.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// Typed, verified webhook events as the receiver gets them.
pub type Events = mpsc::UnboundedReceiver<WebhookEvent>;

/// The sandbox's control API, with the business's key.
#[derive(Clone)]
pub struct Sandbox {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Sandbox {
    /// From `UIP_SANDBOX_URL` (default `http://127.0.0.1:8787`) and `UIP_API_KEY` (default
    /// `uip_test_sandbox`).
    pub fn from_env() -> Sandbox {
        let base = std::env::var("UIP_SANDBOX_URL").unwrap_or_else(|_| "http://127.0.0.1:8787".to_owned());
        let key = std::env::var("UIP_API_KEY").unwrap_or_else(|_| "uip_test_sandbox".to_owned());
        Sandbox { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_owned(), key }
    }

    /// A `uip-client` for the sandbox's business API.
    pub fn client(&self) -> Result<Client, BoxError> {
        Ok(Client::builder(self.key.as_str()).base_url(format!("{}/v1", self.base)).build()?)
    }

    /// Calls a control route and returns its JSON answer.
    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, BoxError> {
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

/// The next webhook event, waiting at most 15 s.
pub async fn next_event(events: &mut Events) -> Result<WebhookEvent, BoxError> {
    tokio::time::timeout(Duration::from_secs(15), events.recv())
        .await
        .map_err(|_| "no webhook within 15 s")?
        .ok_or_else(|| "the receiver stopped".into())
}

struct Receiver {
    verifier: Verifier,
    seen: Deduper,
    events: mpsc::UnboundedSender<WebhookEvent>,
}

/// A webhook receiver on 127.0.0.1:0: verifies the raw body, skips repeats, passes the event on.
pub async fn start_receiver(verifier: Verifier) -> Result<(String, Events), BoxError> {
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
            StatusCode::OK
        }
        Err(err) => {
            eprintln!("refused a delivery: {err}");
            StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
        }
    }
}

/// Runs an example: starts a receiver, points the sandbox business's webhook URL at it, runs
/// `body` (until it ends or Ctrl-C), puts the previous webhook URL back, and turns the outcome
/// into an exit code.
pub async fn run<F, Fut>(body: F) -> ExitCode
where
    F: FnOnce(Client, Sandbox, Events) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    match harness(body).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn harness<F, Fut>(body: F) -> Result<(), BoxError>
where
    F: FnOnce(Client, Sandbox, Events) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let sandbox = Sandbox::from_env();
    let business = sandbox.control(Method::GET, "/_sandbox/business", None).await?;
    let secret = business["webhook_secret"].as_str().ok_or("the business has no webhook secret")?;
    let previous_url = business["webhook_url"].clone();
    let (webhook_url, events) = start_receiver(Verifier::new(secret)?).await?;
    sandbox.control(Method::PATCH, "/_sandbox/business", Some(json!({ "webhook_url": webhook_url }))).await?;
    println!("webhook receiver listening on {webhook_url} (the business's webhook URL for now)\n");

    let outcome = tokio::select! {
        r = body(sandbox.client()?, sandbox.clone(), events) => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };

    sandbox
        .control(Method::PATCH, "/_sandbox/business", Some(json!({ "webhook_url": previous_url })))
        .await?;
    println!("restored the business's webhook URL ({})", previous_url.as_str().unwrap_or("none"));
    outcome
}
