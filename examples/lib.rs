//! Runnable examples of the UIP integrator kit (see the `[[example]]` targets of this package),
//! and the little harness they share: the sandbox's control API over HTTP with the kit's typed
//! bodies (`uip_sandbox::Simulate`) and answers, and the kit's verifying webhook receiver
//! (`uip_sandbox::TestReceiver`) that the sandbox business points at while an example runs.

use std::error::Error;
use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uip_client::Client;
use uip_sandbox::{Simulate, TestReceiver};
use uip_types::sandbox::{BusinessView, PersonaInfo, Personas};
use uip_types::SessionView;
use uip_webhook_verify::WebhookEvent;

/// The error type of the examples.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// How long an example waits for the next webhook.
const EVENT_WAIT: Duration = Duration::from_secs(15);

/// The typed, verified webhook events as the receiver gets them, read in order.
pub struct Events {
    receiver: TestReceiver,
    read: usize,
}

/// The sandbox's control API over HTTP, with the business's key.
#[derive(Clone)]
pub struct Sandbox {
    http: reqwest::Client,
    base: String,
    key: String,
}

/// `{"webhook_url": …}`: the only field the harness changes (`None` clears it).
#[derive(Serialize)]
struct WebhookUrl<'a> {
    webhook_url: Option<&'a str>,
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

    /// Calls a control route with an optional JSON body and reads its typed answer.
    async fn control<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, BoxError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.clone(), &url).bearer_auth(&self.key);
        if let Some(body) = body {
            req = req.json(body);
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

    /// `GET /_sandbox/business`.
    pub async fn business(&self) -> Result<BusinessView, BoxError> {
        self.control(Method::GET, "/_sandbox/business", None::<&()>).await
    }

    /// `PATCH /_sandbox/business {"webhook_url": …}` (`None` clears it).
    pub async fn set_webhook_url(&self, url: Option<&str>) -> Result<BusinessView, BoxError> {
        self.control(Method::PATCH, "/_sandbox/business", Some(&WebhookUrl { webhook_url: url })).await
    }

    /// `POST /_sandbox/sessions/{id}/simulate` with a typed [`Simulate`] body.
    pub async fn simulate(&self, session_id: &str, what: &Simulate) -> Result<SessionView, BoxError> {
        self.control(Method::POST, &format!("/_sandbox/sessions/{session_id}/simulate"), Some(what)).await
    }

    /// `GET /_sandbox/personas`.
    pub async fn personas(&self) -> Result<Vec<PersonaInfo>, BoxError> {
        let all: Personas = self.control(Method::GET, "/_sandbox/personas", None::<&()>).await?;
        Ok(all.personas)
    }
}

/// The next webhook event (verified, each delivery once), waiting at most 15 s.
pub async fn next_event(events: &mut Events) -> Result<WebhookEvent, BoxError> {
    let n = events.read;
    let event = events
        .receiver
        .wait_until(EVENT_WAIT, || events.receiver.received().into_iter().nth(n).map(|r| r.event))
        .await
        .ok_or("no webhook within 15 s")?;
    events.read += 1;
    Ok(event)
}

/// Runs an example: starts the kit's verifying receiver, points the sandbox business's webhook
/// URL at it, runs `body` (until it ends or Ctrl-C), puts the previous webhook URL back, and
/// turns the outcome into an exit code.
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
    let business = sandbox.business().await?;
    let previous_url = business.webhook_url.clone();
    let receiver = TestReceiver::verifying(business.webhook_secret).await;
    let webhook_url = receiver.url().to_owned();
    sandbox.set_webhook_url(Some(&webhook_url)).await?;
    println!("webhook receiver listening on {webhook_url} (the business's webhook URL for now)\n");

    let events = Events { receiver, read: 0 };
    let outcome = tokio::select! {
        r = body(sandbox.client()?, sandbox.clone(), events) => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };

    sandbox.set_webhook_url(previous_url.as_deref()).await?;
    println!("restored the business's webhook URL ({})", previous_url.as_deref().unwrap_or("none"));
    outcome
}
