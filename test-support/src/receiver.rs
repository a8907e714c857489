//! A verifying webhook receiver with scripted answers, for tests.
//!
//! [`Receiver`] listens on `127.0.0.1:0` (axum on hyper, HTTP/1.1 and HTTP/2), accepts a request
//! on any path, reads the raw body and verifies it with a [`Verifier`] (when it has one), then
//! answers as scripted:
//!
//! * by default ([`Reply::Verdict`]) it answers like an integrator's receiver: `200` to a
//!   verified delivery (a repeat too: it was handled already) and the verifier's suggested
//!   status (`400` / `401`) to everything else;
//! * [`ReceiverBuilder::status`] answers every request with one status,
//!   [`ReceiverBuilder::fail_first`] fails the first *n* attempts of every delivery,
//!   [`ReceiverBuilder::delay`] holds each answer, and [`ReceiverBuilder::reply`] takes any
//!   script: a function of the arrival and of how many earlier attempts had its delivery id;
//! * [`Receiver::set_up`]`(false)` takes it "down": connections are accepted and dropped.
//!
//! Every request is recorded as an [`Arrival`] in arrival order; [`Receiver::received`] keeps the
//! verified, accepted, first-seen deliveries (deduplicated with a [`Deduper`], as an integrator
//! would), [`Receiver::rejected`] the refused ones. The `wait_*` methods wake up after every
//! request and re-check their condition until a deadline, so tests never sleep for a fixed time.
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use uip_test_support::{Receiver, Reply};
//!
//! // Verifies with the secret; the first two attempts of every delivery get a 500.
//! let receiver = Receiver::builder().secret("uip_whsec_sandbox").fail_first(2, 500).start().await;
//! // … point a sandbox business at receiver.url() and create a session …
//! # let session_id = "sess_x";
//! let events = receiver.wait_terminal(session_id, Duration::from_secs(30)).await;
//! assert!(events.last().is_some_and(|e| e.is_terminal()));
//! # let _ = Reply::Verdict;
//! # }
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;
use uip_types::WebhookEvent;
use uip_webhook_verify::{Deduper, Verifier};

/// The path in [`Receiver::url`] unless [`ReceiverBuilder::path`] names another one (the
/// receiver answers on every path).
pub const DEFAULT_PATH: &str = "/uip-webhook";

/// How long [`Reply::Hang`] holds a request before it answers `200`.
pub const HANG: Duration = Duration::from_secs(60);

/// How the receiver answers one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `200` when the delivery verifies (or the receiver has no verifier), otherwise the
    /// verifier's suggested status (`400` malformed, `401` signature or timestamp).
    Verdict,
    /// Answer at once with this status (a 3xx carries `Location: /followed`).
    Status(u16),
    /// Hold the request this long, then answer with the status.
    After(Duration, u16),
    /// Hold the request for [`HANG`] (longer than any delivery timeout), then answer `200`.
    Hang,
    /// Drop the connection without an answer.
    Reset,
}

/// A script: the reply to an arrival, given how many earlier arrivals had its delivery id.
pub type Script = dyn Fn(&Arrival, usize) -> Reply + Send + Sync;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Arrival {
    /// The request method.
    pub method: Method,
    /// The request path.
    pub path: String,
    /// Every request header.
    pub headers: HeaderMap,
    /// `X-UIP-Delivery-Id` (empty when absent).
    pub delivery_id: String,
    /// `X-UIP-Event` (empty when absent).
    pub event: String,
    /// `X-UIP-Timestamp` as sent (empty when absent).
    pub timestamp: String,
    /// `X-UIP-Signature` as sent (empty when absent).
    pub signature: String,
    /// The raw body.
    pub body: Bytes,
    /// Monotonic arrival time.
    pub at: Instant,
    /// Wall-clock arrival time, Unix seconds.
    pub wall_s: u64,
    /// The verification result (real clock, default tolerance): the typed event, or
    /// `Err(kind)` with `VerifyError::kind()`; `None` when the receiver has no verifier.
    pub verified: Option<Result<WebhookEvent, String>>,
    /// What [`Reply::Verdict`] answers: `200` when the delivery verified or there is no
    /// verifier, otherwise `VerifyError::http_status()`.
    pub verdict: u16,
    /// What the receiver answers (`None`: it hangs or hangs up).
    pub answered: Option<u16>,
    /// A verified, accepted delivery whose id had been accepted before.
    pub duplicate: bool,
}

impl Arrival {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// `data.session_id` of the body (empty when absent).
    pub fn session_id(&self) -> String {
        self.json()["data"]["session_id"].as_str().unwrap_or_default().to_owned()
    }

    /// `step:N` for a `step.completed` body, the event name otherwise (`?` when not an event).
    pub fn label(&self) -> String {
        label_of_body(&self.json())
    }

    /// Answered with a 2xx.
    pub fn accepted(&self) -> bool {
        self.answered.is_some_and(|c| (200..300).contains(&c))
    }

    /// The verified event, when the delivery verified.
    pub fn verified_event(&self) -> Option<&WebhookEvent> {
        self.verified.as_ref().and_then(|v| v.as_ref().ok())
    }
}

/// `step:N` for a `step.completed` body, the event name otherwise (`?` when not an event).
pub fn label_of_body(body: &Value) -> String {
    match body["event"].as_str() {
        Some("step.completed") => format!("step:{}", body["data"]["stage"]),
        Some(other) => other.to_owned(),
        None => "?".to_owned(),
    }
}

/// A verified delivery the receiver accepted the first time it saw its id.
#[derive(Clone, Debug)]
pub struct Received {
    /// `X-UIP-Delivery-Id`.
    pub delivery_id: String,
    /// `X-UIP-Timestamp`, Unix seconds.
    pub timestamp: u64,
    /// `X-UIP-Signature` as received.
    pub signature: String,
    /// The raw body the signature covers.
    pub body: Bytes,
    /// The typed event.
    pub event: WebhookEvent,
}

/// A delivery that did not verify.
#[derive(Clone, Debug)]
pub struct Rejected {
    /// `VerifyError::kind()`, e.g. `signature_mismatch`.
    pub kind: String,
    /// The status the receiver answered (`None`: it hung up).
    pub status: Option<u16>,
    /// `X-UIP-Delivery-Id`, when present.
    pub delivery_id: Option<String>,
}

/// Builds a [`Receiver`]: its verifier, its path and its script.
pub struct ReceiverBuilder {
    path: String,
    verifier: Option<Verifier>,
    script: Arc<Script>,
}

impl ReceiverBuilder {
    /// The path of [`Receiver::url`] (default [`DEFAULT_PATH`]); requests on other paths are
    /// recorded and answered the same way.
    pub fn path(mut self, path: &str) -> Self {
        self.path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
        self
    }

    /// Verifies every arrival with this webhook secret.
    ///
    /// # Panics
    /// When the secret is empty (the verifier refuses it).
    pub fn secret(self, secret: &str) -> Self {
        self.verifier(Verifier::new(secret).expect("a usable webhook secret"))
    }

    /// Verifies every arrival with this verifier (e.g. one holding two secrets).
    pub fn verifier(mut self, verifier: Verifier) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Answers with `script(arrival, earlier_attempts_of_this_delivery_id)`.
    pub fn reply(mut self, script: impl Fn(&Arrival, usize) -> Reply + Send + Sync + 'static) -> Self {
        self.script = Arc::new(script);
        self
    }

    /// Answers every request with `status`.
    pub fn status(self, status: u16) -> Self {
        self.reply(move |_, _| Reply::Status(status))
    }

    /// Answers the first `n` attempts of every delivery id with `status`, and the later ones as
    /// the script so far does.
    pub fn fail_first(mut self, n: usize, status: u16) -> Self {
        let then = Arc::clone(&self.script);
        self.script =
            Arc::new(move |a, prior| if prior < n { Reply::Status(status) } else { then(a, prior) });
        self
    }

    /// Holds every answer of the script so far for `delay` first (a [`Reply::Reset`] or
    /// [`Reply::Hang`] is left as it is).
    pub fn delay(mut self, delay: Duration) -> Self {
        let then = Arc::clone(&self.script);
        self.script = Arc::new(move |a, prior| match then(a, prior) {
            Reply::Verdict => Reply::After(delay, a.verdict),
            Reply::Status(c) => Reply::After(delay, c),
            Reply::After(d, c) => Reply::After(d + delay, c),
            other => other,
        });
        self
    }

    /// Binds `127.0.0.1:0` and starts serving.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(self) -> Receiver {
        let inner = Arc::new(Inner {
            arrivals: Mutex::new(Vec::new()),
            changed: watch::channel(0).0,
            verifier: RwLock::new(self.verifier.map(Arc::new)),
            seen: Deduper::default(),
            up: AtomicBool::new(true),
            script: self.script,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
        });
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind the receiver");
        let addr = listener.local_addr().expect("the receiver's address");
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
        Receiver { url: format!("http://{addr}{}", self.path), addr, inner, task }
    }
}

struct Inner {
    arrivals: Mutex<Vec<Arrival>>,
    /// Bumped after every request, so that waiters re-check.
    changed: watch::Sender<u64>,
    verifier: RwLock<Option<Arc<Verifier>>>,
    seen: Deduper,
    /// false: every connection is accepted and dropped at once (the receiver is "down").
    up: AtomicBool,
    script: Arc<Script>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    connections: AtomicUsize,
}

impl Inner {
    fn arrivals(&self) -> MutexGuard<'_, Vec<Arrival>> {
        self.arrivals.lock().unwrap_or_else(PoisonError::into_inner)
    }
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

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn receive(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let verifier = inner.verifier.read().unwrap_or_else(PoisonError::into_inner).clone();
    let (verified, refusal) = match verifier.map(|v| v.verify(&headers, &body)) {
        None => (None, None),
        Some(Ok(delivery)) => (Some(Ok(delivery.event)), None),
        Some(Err(e)) => (Some(Err(e.kind().to_owned())), Some(e.http_status())),
    };
    let mut arrival = Arrival {
        method,
        path: uri.path().to_owned(),
        headers: headers.clone(),
        delivery_id: header(uip_types::HEADER_DELIVERY_ID),
        event: header(uip_types::HEADER_EVENT),
        timestamp: header(uip_types::HEADER_TIMESTAMP),
        signature: header(uip_types::HEADER_SIGNATURE),
        body,
        at: Instant::now(),
        wall_s: unix_now(),
        verified,
        verdict: refusal.unwrap_or(200),
        answered: None,
        duplicate: false,
    };
    let n = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let guard = InFlight(&inner.in_flight);
    inner.max_in_flight.fetch_max(n, Ordering::SeqCst);
    let reply = {
        let mut all = inner.arrivals();
        let prior = all.iter().filter(|a| a.delivery_id == arrival.delivery_id).count();
        let reply = match (inner.script)(&arrival, prior) {
            Reply::Verdict => Reply::Status(arrival.verdict),
            other => other,
        };
        arrival.answered = match reply {
            Reply::Status(c) | Reply::After(_, c) => Some(c),
            Reply::Verdict | Reply::Hang | Reply::Reset => None,
        };
        if arrival.accepted() && arrival.verified_event().is_some() {
            arrival.duplicate = !inner.seen.insert(&arrival.delivery_id);
        }
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
            tokio::time::sleep(HANG).await;
            200
        }
        Reply::Verdict | Reply::Reset => {
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

/// A webhook receiver on `127.0.0.1:0`; dropped = stopped. See the [module docs](self).
pub struct Receiver {
    url: String,
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Receiver {
    /// A builder: no verifier, path [`DEFAULT_PATH`], script [`Reply::Verdict`].
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder {
            path: DEFAULT_PATH.to_owned(),
            verifier: None,
            script: Arc::new(|_, _| Reply::Verdict),
        }
    }

    /// A receiver that verifies with `secret` and answers like an integrator's
    /// ([`Reply::Verdict`]).
    pub async fn verifying(secret: &str) -> Receiver {
        Receiver::builder().secret(secret).start().await
    }

    /// The URL to configure as a business's webhook URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the receiver listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the verifier (e.g. with one holding the old and the new secret).
    pub fn set_verifier(&self, verifier: Verifier) {
        *self.inner.verifier.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(verifier));
    }

    /// Replaces the verifier with one for this secret.
    ///
    /// # Panics
    /// When the secret is empty.
    pub fn set_secret(&self, secret: &str) {
        self.set_verifier(Verifier::new(secret).expect("a usable webhook secret"));
    }

    /// Up: serve requests. Down: accept each connection and drop it at once.
    pub fn set_up(&self, up: bool) {
        self.inner.up.store(up, Ordering::SeqCst);
    }

    /// Every request so far, in arrival order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.inner.arrivals().clone()
    }

    /// Every verified delivery accepted the first time its id came, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.inner
            .arrivals()
            .iter()
            .filter(|a| a.accepted() && !a.duplicate)
            .filter_map(|a| {
                let event = a.verified_event()?.clone();
                Some(Received {
                    delivery_id: a.delivery_id.clone(),
                    timestamp: a.timestamp.parse().ok()?,
                    signature: a.signature.clone(),
                    body: a.body.clone(),
                    event,
                })
            })
            .collect()
    }

    /// The verified, first-accepted events of one session, in arrival order.
    pub fn events(&self, session_id: &str) -> Vec<WebhookEvent> {
        self.received().into_iter().map(|r| r.event).filter(|e| e.session_id() == session_id).collect()
    }

    /// Every delivery that did not verify, in arrival order.
    pub fn rejected(&self) -> Vec<Rejected> {
        self.inner
            .arrivals()
            .iter()
            .filter_map(|a| match &a.verified {
                Some(Err(kind)) => Some(Rejected {
                    kind: kind.clone(),
                    status: a.answered,
                    delivery_id: (!a.delivery_id.is_empty()).then(|| a.delivery_id.clone()),
                }),
                _ => None,
            })
            .collect()
    }

    /// The ids of verified deliveries accepted again after they had been accepted once.
    pub fn duplicates(&self) -> Vec<String> {
        self.inner.arrivals().iter().filter(|a| a.duplicate).map(|a| a.delivery_id.clone()).collect()
    }

    /// The most requests it held at once.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    /// How many connections it accepted (dropped ones included).
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::SeqCst)
    }

    /// Re-checks `check` after every request the receiver gets, until it answers `Some` or
    /// `timeout` passes (then it checks one last time).
    pub async fn wait_until<T>(&self, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
        let mut rx = self.inner.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            if let Some(found) = check() {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                return check();
            }
        }
    }

    /// Waits until `pred` holds over the arrivals so far and returns them.
    ///
    /// # Panics
    /// After `timeout`, naming `what` and what did arrive.
    pub async fn wait_arrivals(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[Arrival]) -> bool,
    ) -> Vec<Arrival> {
        let found = self
            .wait_until(timeout, || {
                let all = self.inner.arrivals();
                pred(&all).then(|| all.clone())
            })
            .await;
        found.unwrap_or_else(|| {
            let all = self.arrivals();
            let seen: Vec<_> = all.iter().map(|a| (a.delivery_id.clone(), a.answered)).collect();
            panic!("timed out waiting for {what}; the receiver got {} requests: {seen:?}", all.len())
        })
    }

    /// Waits until every one of `ids` was answered with a 2xx.
    ///
    /// # Panics
    /// After `timeout`.
    pub async fn wait_accepted(&self, ids: &[String], timeout: Duration) -> Vec<Arrival> {
        self.wait_arrivals(&format!("{} accepted deliveries", ids.len()), timeout, |all| {
            ids.iter().all(|id| all.iter().any(|a| &a.delivery_id == id && a.accepted()))
        })
        .await
    }

    /// Waits until `n` verified events of this session arrived; returns all of them so far.
    ///
    /// # Panics
    /// After `timeout`, naming what did arrive.
    pub async fn wait_for(&self, session_id: &str, n: usize, timeout: Duration) -> Vec<WebhookEvent> {
        self.wait_until(timeout, || {
            let events = self.events(session_id);
            (events.len() >= n).then_some(events)
        })
        .await
        .unwrap_or_else(|| panic!("{n} events expected, got {:?}", names(&self.events(session_id))))
    }

    /// Waits for the session's terminal event, lets a moment pass to catch anything sent after
    /// it (there must be nothing), and returns every event of the session.
    ///
    /// # Panics
    /// After `timeout`, naming what did arrive.
    pub async fn wait_terminal(&self, session_id: &str, timeout: Duration) -> Vec<WebhookEvent> {
        self.wait_until(timeout, || {
            self.events(session_id).iter().any(WebhookEvent::is_terminal).then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("no terminal event; got {:?}", names(&self.events(session_id))));
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.events(session_id)
    }
}

/// The names of some events (`step.completed[N]` for steps), for assertion messages.
pub fn names(events: &[WebhookEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            WebhookEvent::StepCompleted(s) => format!("{}[{}]", e.name(), s.stage),
            _ => e.name().to_owned(),
        })
        .collect()
}

/// Now, Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
