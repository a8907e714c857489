//! Helpers of the delivery and persistence tests: a real webhook receiver (axum on hyper, on
//! 127.0.0.1:0) that verifies and records every arrival and answers as the test tells it, a thin
//! client for the sandbox's HTTP surface, and polling with timeouts (no fixed sleeps).
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;
use uip_types::sandbox::DeliveryLogEntry;
use uip_types::{WebhookEvent, WebhookSecret};
use uip_webhook_verify::Verifier;

/// The default business's API key.
pub const KEY: &str = "uip_test_sandbox";
/// The default business's webhook secret.
pub const SECRET: &str = "uip_whsec_sandbox";
/// How long any wait in these tests may take before it fails (generous: 2 shared cores).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub path: String,
    pub delivery_id: String,
    pub event: String,
    pub body: Bytes,
    pub timestamp: String,
    pub signature: String,
    /// Monotonic arrival time.
    pub at: Instant,
    /// Wall-clock arrival time, Unix seconds.
    pub wall_s: u64,
    /// The verification result with the receiver's secret (real clock, default tolerance),
    /// `Err(kind)` when refused; `None` when the receiver has no secret.
    pub verified: Option<Result<WebhookEvent, String>>,
    /// What the receiver answered (None: it hung up or has not answered).
    pub answered: Option<u16>,
}

impl Arrival {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn session_id(&self) -> String {
        self.json()["data"]["session_id"].as_str().unwrap_or_default().to_owned()
    }

    /// `step:N` for step events, the event name otherwise.
    pub fn label(&self) -> String {
        label_of_body(&self.json())
    }

    pub fn accepted(&self) -> bool {
        self.answered.is_some_and(|c| (200..300).contains(&c))
    }
}

/// `step:N` for a step.completed body, the event name otherwise.
pub fn label_of_body(body: &Value) -> String {
    match body["event"].as_str() {
        Some("step.completed") => format!("step:{}", body["data"]["stage"]),
        Some(other) => other.to_owned(),
        None => "?".to_owned(),
    }
}

/// How the receiver answers one request.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// Answer at once with this status (a 3xx carries `Location: /followed`).
    Status(u16),
    /// Hold the request this long, then answer with the status.
    After(Duration, u16),
    /// Never answer (well: after a minute).
    Hang,
    /// Drop the connection without an answer.
    Reset,
}

/// Decides the reply from the arrival and how many earlier arrivals had its delivery id.
pub type Behavior = dyn Fn(&Arrival, usize) -> Reply + Send + Sync;

struct Inner {
    arrivals: Mutex<Vec<Arrival>>,
    changed: watch::Sender<u64>,
    secret: Mutex<Option<WebhookSecret>>,
    /// false: every connection is accepted and dropped at once (the receiver is "down").
    up: AtomicBool,
    behavior: Box<Behavior>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    connections: AtomicUsize,
}

/// Marks a response whose connection must be dropped instead.
#[derive(Clone, Copy, Debug)]
struct HangUp;

impl std::fmt::Display for HangUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hang up")
    }
}

impl std::error::Error for HangUp {}

/// A webhook receiver on 127.0.0.1:0. Dropped = stopped.
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn receive(State(inner): State<Arc<Inner>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let secret = inner.secret.lock().clone();
    let verified = secret.map(|s| {
        Verifier::new(s)
            .and_then(|v| v.verify(&headers, &body))
            .map(|d| d.event)
            .map_err(|e| e.kind().to_owned())
    });
    let mut arrival = Arrival {
        path: uri.path().to_owned(),
        delivery_id: header(uip_types::HEADER_DELIVERY_ID),
        event: header(uip_types::HEADER_EVENT),
        body,
        timestamp: header(uip_types::HEADER_TIMESTAMP),
        signature: header(uip_types::HEADER_SIGNATURE),
        at: Instant::now(),
        wall_s: unix_now(),
        verified,
        answered: None,
    };
    let n = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let guard = InFlight(&inner.in_flight);
    inner.max_in_flight.fetch_max(n, Ordering::SeqCst);
    let reply = {
        let mut all = inner.arrivals.lock();
        let prior = all.iter().filter(|a| a.delivery_id == arrival.delivery_id).count();
        let reply = (inner.behavior)(&arrival, prior);
        arrival.answered = match reply {
            Reply::Status(c) | Reply::After(_, c) => Some(c),
            Reply::Hang | Reply::Reset => None,
        };
        all.push(arrival);
        reply
    };
    inner.changed.send_modify(|n| *n += 1);
    let code = match reply {
        Reply::Status(c) => c,
        Reply::After(d, c) => {
            tokio::time::sleep(d).await;
            c
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            200
        }
        Reply::Reset => {
            drop(guard);
            let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            r.extensions_mut().insert(HangUp);
            return r;
        }
    };
    // Leave the in-flight count before the sender can see the answer.
    drop(guard);
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_redirection() {
        return (status, [("location", "/followed")]).into_response();
    }
    (status, "").into_response()
}

impl Receiver {
    /// A receiver answering every request with `behavior`, verifying with `secret` if given.
    pub async fn start(
        secret: Option<&str>,
        behavior: impl Fn(&Arrival, usize) -> Reply + Send + Sync + 'static,
    ) -> Receiver {
        let inner = Arc::new(Inner {
            arrivals: Mutex::new(Vec::new()),
            changed: watch::channel(0).0,
            secret: Mutex::new(secret.map(WebhookSecret::new)),
            up: AtomicBool::new(true),
            behavior: Box::new(behavior),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
        let addr = listener.local_addr().expect("receiver address");
        let router = Router::new().fallback(receive).with_state(Arc::clone(&inner));
        let state = Arc::clone(&inner);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                state.connections.fetch_add(1, Ordering::SeqCst);
                if !state.up.load(Ordering::SeqCst) {
                    drop(stream);
                    continue;
                }
                let router = router.clone();
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let router = router.clone();
                    async move {
                        let resp = router
                            .oneshot(req.map(axum::body::Body::new))
                            .await
                            .unwrap_or_else(|e: Infallible| match e {});
                        if resp.extensions().get::<HangUp>().is_some() {
                            return Err(HangUp);
                        }
                        Ok(resp)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { url: format!("http://{addr}/hook"), inner, task }
    }

    /// A receiver that answers 200 to everything.
    pub async fn ok(secret: Option<&str>) -> Receiver {
        Receiver::start(secret, |_, _| Reply::Status(200)).await
    }

    pub fn set_secret(&self, secret: &str) {
        *self.inner.secret.lock() = Some(WebhookSecret::new(secret));
    }

    /// Up: serve requests. Down: accept each connection and drop it at once.
    pub fn set_up(&self, up: bool) {
        self.inner.up.store(up, Ordering::SeqCst);
    }

    pub fn arrivals(&self) -> Vec<Arrival> {
        self.inner.arrivals.lock().clone()
    }

    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::SeqCst)
    }

    /// Waits until `pred` holds over the arrivals so far; panics after `PATIENCE`.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&[Arrival]) -> bool) -> Vec<Arrival> {
        let mut rx = self.inner.changed.subscribe();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            rx.borrow_and_update();
            {
                let all = self.inner.arrivals.lock();
                if pred(&all) {
                    return all.clone();
                }
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                let all = self.arrivals();
                let seen: Vec<_> = all.iter().map(|a| (a.delivery_id.clone(), a.answered)).collect();
                panic!("timed out waiting for {what}; the receiver got {} requests: {seen:?}", all.len());
            }
        }
    }

    /// Waits until every one of `ids` was answered 2xx.
    pub async fn wait_accepted(&self, ids: &[String]) -> Vec<Arrival> {
        self.wait_for(&format!("{} accepted deliveries", ids.len()), |all| {
            ids.iter().all(|id| all.iter().any(|a| &a.delivery_id == id && a.accepted()))
        })
        .await
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
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
