//! Helpers of the delivery and persistence tests: the kit's webhook receiver
//! (`uip_sandbox::TestReceiver`: verifies and records every arrival and answers as the test tells it), a
//! thin client for the sandbox's HTTP surface, and polling with timeouts (no fixed sleeps).
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use uip_types::sandbox::DeliveryLogEntry;

/// The default business's API key.
pub const KEY: &str = "uip_test_sandbox";
/// The default business's webhook secret.
pub const SECRET: &str = "uip_whsec_sandbox";
/// How long any wait in these tests may take before it fails (generous: 2 shared cores).
pub const PATIENCE: Duration = Duration::from_secs(30);

pub use uip_sandbox::{Arrival, Reply};

/// Now, Unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The kit's [`uip_sandbox::TestReceiver`] on `/hook`, with this module's [`PATIENCE`] for its
/// waits (every method of the shared receiver is reachable through `Deref`).
pub struct Receiver {
    pub url: String,
    inner: uip_sandbox::TestReceiver,
}

impl std::ops::Deref for Receiver {
    type Target = uip_sandbox::TestReceiver;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl Receiver {
    /// A receiver answering every request with `behavior`, verifying with `secret` if given.
    pub async fn start(
        secret: Option<&str>,
        behavior: impl Fn(&Arrival, usize) -> Reply + Send + Sync + 'static,
    ) -> Receiver {
        let mut builder = uip_sandbox::TestReceiver::builder().path("/hook").reply(behavior);
        if let Some(secret) = secret {
            builder = builder.secret(secret);
        }
        let inner = builder.start().await;
        Receiver { url: inner.url().to_owned(), inner }
    }

    /// A receiver that answers 200 to everything.
    pub async fn ok(secret: Option<&str>) -> Receiver {
        Receiver::start(secret, |_, _| Reply::Status(200)).await
    }

    /// Waits until `pred` holds over the arrivals so far; panics after `PATIENCE`.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&[Arrival]) -> bool) -> Vec<Arrival> {
        self.inner.wait_arrivals(what, PATIENCE, pred).await
    }

    /// Waits until every one of `ids` was answered 2xx; panics after `PATIENCE`.
    pub async fn wait_accepted(&self, ids: &[String]) -> Vec<Arrival> {
        self.inner.wait_accepted(ids, PATIENCE).await
    }
}

/// Polls `f` until it returns `Some`, every 10 ms; panics after `PATIENCE`.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A client for the sandbox's HTTP surface, as one business.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub key: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, key: &str) -> Api {
        let http = reqwest::Client::builder().timeout(PATIENCE).build().expect("reqwest client");
        Api { base: base.trim_end_matches('/').to_owned(), key: key.to_owned(), http }
    }

    pub fn as_business(&self, key: &str) -> Api {
        Api { key: key.to_owned(), ..self.clone() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends with the API key; returns the status and the JSON body (Null when not JSON).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.bearer_auth(&self.key).send().await.expect("the sandbox answers");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("a body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    fn ok(what: &str, (status, body): (u16, Value)) -> Value {
        assert_eq!(status, 200, "{what}: {body}");
        body
    }

    pub async fn create(&self, body: Value) -> String {
        let v = Api::ok("create", self.send(self.http.post(self.url("/v1/sessions")).json(&body)).await);
        v["id"].as_str().expect("an id").to_owned()
    }

    /// Creates a session with these primitives (no params, no gate).
    pub async fn create_steps(&self, primitives: &[&str]) -> String {
        let steps: Vec<Value> = primitives.iter().map(|p| step(p)).collect();
        self.create(json!({ "steps": steps })).await
    }

    pub async fn simulate(&self, id: &str, body: Value) -> Value {
        let url = self.url(&format!("/_sandbox/sessions/{id}/simulate"));
        Api::ok("simulate", self.send(self.http.post(url).json(&body)).await)
    }

    pub async fn session(&self, id: &str) -> Value {
        Api::ok("get session", self.send(self.http.get(self.url(&format!("/v1/sessions/{id}")))).await)
    }

    pub async fn audit(&self, id: &str) -> Value {
        Api::ok("get audit", self.send(self.http.get(self.url(&format!("/v1/audits/{id}")))).await)
    }

    pub async fn decide(&self, id: &str, what: &str) -> Value {
        Api::ok(what, self.send(self.http.post(self.url(&format!("/v1/sessions/{id}/{what}")))).await)
    }

    /// `GET /_sandbox/deliveries[?session_id=]`, typed.
    pub async fn deliveries(&self, session_id: Option<&str>) -> Vec<DeliveryLogEntry> {
        let mut req = self.http.get(self.url("/_sandbox/deliveries"));
        if let Some(s) = session_id {
            req = req.query(&[("session_id", s)]);
        }
        let v = Api::ok("deliveries", self.send(req).await);
        serde_json::from_value::<uip_types::sandbox::DeliveryLog>(v).expect("a delivery log").deliveries
    }

    /// One entry of the log, by delivery id.
    pub async fn delivery(&self, delivery_id: &str) -> DeliveryLogEntry {
        let sid = delivery_id.split(':').next().unwrap_or_default();
        self.deliveries(Some(sid))
            .await
            .into_iter()
            .find(|d| d.delivery_id == delivery_id)
            .unwrap_or_else(|| panic!("no delivery {delivery_id} in the log"))
    }

    /// `POST /_sandbox/deliveries/{path_id}/redeliver` (the id as it goes in the path).
    pub async fn redeliver(&self, path_id: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.post(self.url(&format!("/_sandbox/deliveries/{path_id}/redeliver")));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }
}

pub fn step(primitive: &str) -> Value {
    match primitive {
        "light_sign" => json!({"primitive": "light_sign", "params": {"terms": "I agree."}}),
        other => json!({ "primitive": other }),
    }
}

/// The delivery ids a session's events get, from their labels (`step:N` or an event name).
pub fn delivery_ids(session_id: &str, labels: &[&str]) -> Vec<String> {
    labels
        .iter()
        .map(|l| match l.strip_prefix("step:") {
            Some(n) => format!("{session_id}:step.completed:{n}"),
            None => format!("{session_id}:{l}"),
        })
        .collect()
}

/// Per session, the labels of accepted (2xx) arrivals in arrival order.
pub fn accepted_by_session(arrivals: &[Arrival]) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for a in arrivals.iter().filter(|a| a.accepted()) {
        out.entry(a.session_id()).or_default().push(a.label());
    }
    out
}
