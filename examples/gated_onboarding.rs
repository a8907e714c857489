//! Gated onboarding: identify the applicant first, look at the verified claims, then either
//! continue to the account terms (`light_sign`) or stop.
//!
//! ```sh
//! cargo run -p uip-sandbox                                  # terminal 1
//! cargo run -p uip-examples --example gated_onboarding      # terminal 2
//! ```
//!
//! `UIP_SANDBOX_URL` (default `http://127.0.0.1:8787`) and `UIP_API_KEY` (default
//! `uip_test_sandbox`) point it elsewhere.
//!
//! Two applicants go through the same flow: `jane-doe` (an adult: continue, she signs the
//! terms, the session completes) and `minor` (born 2012: the business stops at the gate). The
//! decision is taken on the claims of the identify step's `step.completed` webhook, received
//! by a verifying receiver on `127.0.0.1:<random port>` that the business's webhook URL points
//! to for the duration of the run (the previous URL is put back at the end).

use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::NaiveDate;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use uip_client::{Block, Client};
use uip_types::StepResult;
use uip_webhook_verify::{Deduper, Verifier, WebhookEvent};

type BoxError = Box<dyn Error + Send + Sync>;

const TERMS: &str = "I open an account with Example Bank and accept its terms of 1 June 2026.";

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

    let business = sandbox.control(Method::GET, "/_sandbox/business", None).await?;
    let secret = business["webhook_secret"].as_str().ok_or("the business has no webhook secret")?;
    let previous_url = business["webhook_url"].clone();
    let (webhook_url, mut events) = start_receiver(Verifier::new(secret)?).await?;
    sandbox.control(Method::PATCH, "/_sandbox/business", Some(json!({ "webhook_url": webhook_url }))).await?;
    println!("webhook receiver listening on {webhook_url}\n");

    let client = Client::builder(key).base_url(format!("{base}/v1")).build()?;
    let outcome = tokio::select! {
        r = async {
            for applicant in ["jane-doe", "minor"] {
                onboard(&client, &sandbox, &mut events, applicant).await?;
            }
            Ok(())
        } => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };

    sandbox
        .control(Method::PATCH, "/_sandbox/business", Some(json!({ "webhook_url": previous_url })))
        .await?;
    println!("restored the business's webhook URL ({})", previous_url.as_str().unwrap_or("none"));
    outcome
}

async fn onboard(
    client: &Client,
    sandbox: &Sandbox,
    events: &mut mpsc::UnboundedReceiver<WebhookEvent>,
    applicant: &str,
) -> Result<(), BoxError> {
    println!("── applicant: {applicant}");
    let session = client
        .session()
        .identify([Block::FirstName, Block::LastName, Block::Dob])
        .gate() // pause after identify: the business decides
        .light_sign(TERMS)
        .title("Account terms")
        .client_reference_id(format!("onboarding-{applicant}"))
        .send()
        .await?;
    let id = session.id.as_str();
    println!("created session {id} (identify, gate, then light_sign)");

    // The applicant opens the page and shares their ID; the session pauses at the gate.
    let simulate = format!("/_sandbox/sessions/{id}/simulate");
    let view = sandbox.control(Method::POST, &simulate, Some(json!({ "persona": applicant }))).await?;
    println!("the applicant shared their ID: session is {}", view["status"].as_str().unwrap_or("?"));

    // Decide on the verified claims of the gate step.
    let WebhookEvent::StepCompleted(step) = next_event(events).await? else {
        return Err("expected step.completed first".into());
    };
    let StepResult::Identify { claims } = &step.result else { return Err("expected identify claims".into()) };
    let name = format!(
        "{} {}",
        claims["first_name"].as_str().unwrap_or("?"),
        claims["last_name"].as_str().unwrap_or("?")
    );
    let dob = claims["dob"].as_str().unwrap_or_default();
    let age = NaiveDate::parse_from_str(dob, "%Y-%m-%d")
        .ok()
        .and_then(|dob| chrono::Utc::now().date_naive().years_since(dob));
    println!("webhook step.completed: stage 0 identify → {name}, born {dob}");

    match age {
        Some(age) if age >= 18 => {
            println!("decision: {name} is {age}, an adult → continue");
            let decision = client.continue_session(&session.id).await?;
            println!("continued: session is {} at step {}", decision.status, decision.current_step);
            let view =
                sandbox.control(Method::POST, &simulate, Some(json!({ "persona": applicant }))).await?;
            println!("the applicant signed the terms: session is {}", view["status"].as_str().unwrap_or("?"));
        }
        _ => {
            println!(
                "decision: {name} is {} → stop",
                age.map_or("of unknown age".into(), |a| format!("{a}, under 18"))
            );
            let decision = client.stop_session(&session.id).await?;
            println!("stopped: session is {}", decision.status);
        }
    }

    // The rest of the events, up to the terminal one.
    loop {
        let event = next_event(events).await?;
        match &event {
            WebhookEvent::StepCompleted(step) => match &step.result {
                StepResult::Signature { document_hash, .. } => println!(
                    "webhook step.completed: stage {} {} → signed {document_hash}",
                    step.stage,
                    step.primitive.as_str()
                ),
                other => println!("webhook step.completed: stage {} {other:?}", step.stage),
            },
            other => println!("webhook {}", other.name()),
        }
        if event.is_terminal() {
            println!();
            return Ok(());
        }
    }
}

async fn next_event(events: &mut mpsc::UnboundedReceiver<WebhookEvent>) -> Result<WebhookEvent, BoxError> {
    tokio::time::timeout(Duration::from_secs(15), events.recv())
        .await
        .map_err(|_| "no webhook within 15 s")?
        .ok_or_else(|| "the receiver stopped".into())
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
            StatusCode::OK
        }
        Err(err) => {
            eprintln!("refused a delivery: {err}");
            StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
        }
    }
}
