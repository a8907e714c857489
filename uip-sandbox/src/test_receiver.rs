//! [`TestReceiver`]: a verifying webhook receiver with scripted answers, for tests of the code
//! that sends to, or of a sandbox that delivers to, a webhook URL.
//!
//! It listens on `127.0.0.1:0` (axum on hyper, HTTP/1.1 and HTTP/2), accepts a request on any
//! path, reads the raw body and verifies it with a [`Verifier`] (when it has a secret), then
//! answers as scripted:
//!
//! * by default ([`Reply::Verdict`]) like an integrator's receiver: `200` to a verified delivery
//!   (a repeat too: it was handled already) and the verifier's suggested status (`400` / `401`)
//!   to everything else;
//! * [`TestReceiverBuilder::status`] answers every request with one status,
//!   [`TestReceiverBuilder::fail_first`] fails the first *n* attempts of every delivery,
//!   [`TestReceiverBuilder::delay`] holds each answer, and [`TestReceiverBuilder::reply`] takes
//!   any script: a function of the arrival and of how many earlier attempts had its delivery id;
//! * [`TestReceiver::set_up`]`(false)` takes it "down": connections are accepted and dropped.
//!
//! Every request is recorded as an [`Arrival`] in arrival order; [`TestReceiver::received`] keeps
//! the verified, accepted, first-seen deliveries (deduplicated with a [`Deduper`], as an
//! integrator would), [`TestReceiver::rejected`] the refused ones. The `wait_*` methods wake up
//! after every request and re-check their condition until a deadline: no fixed sleeps.

use std::collections::HashMap;
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

/// How long [`Reply::Hang`] holds a request before it answers `200`.
const HANG: Duration = Duration::from_secs(60);

/// How a [`TestReceiver`] answers one request.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use uip_sandbox::{Reply, TestReceiver};
/// // 503 to the first attempt of each delivery, then the verdict of the verifier.
/// let receiver = TestReceiver::builder()
///     .secret("uip_whsec_sandbox")
///     .reply(|_arrival, earlier| if earlier == 0 { Reply::Status(503) } else { Reply::Verdict })
///     .start()
///     .await;
/// # drop(receiver);
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// `200` when the delivery verifies (or the receiver has no verifier), otherwise the
    /// verifier's suggested status (`400` malformed, `401` signature or timestamp).
    Verdict,
    /// Answer at once with this status (a 3xx carries `Location: /followed`).
    Status(u16),
    /// Hold the request this long, then answer with the status.
    After(Duration, u16),
    /// Hold the request for 60 s (longer than the sandbox's default delivery timeout, 10 s), then
    /// answer `200`.
    Hang,
    /// Drop the connection without an answer.
    Reset,
}

/// A script: the reply to an arrival, given how many earlier arrivals had its delivery id.
type Script = dyn Fn(&Arrival, usize) -> Reply + Send + Sync;

/// One request a [`TestReceiver`] got (see [`TestReceiver::arrivals`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
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
    pub unix_s: u64,
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
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let receiver = uip_sandbox::TestReceiver::start().await;
    /// reqwest::Client::new().post(receiver.url()).body(r#"{"event":"x"}"#).send().await.unwrap();
    /// assert_eq!(receiver.arrivals()[0].json()["event"], "x");
    /// # });
    /// ```
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// `data.session_id` of the body (empty when absent).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let receiver = uip_sandbox::TestReceiver::start().await;
    /// reqwest::Client::new().post(receiver.url()).body(r#"{"data":{"session_id":"sess_1"}}"#).send().await.unwrap();
    /// assert_eq!(receiver.arrivals()[0].session_id(), "sess_1");
    /// # });
    /// ```
    pub fn session_id(&self) -> String {
        self.json()["data"]["session_id"].as_str().unwrap_or_default().to_owned()
    }

    /// `step:N` for a `step.completed` body, the event name otherwise (`?` when not an event).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let receiver = uip_sandbox::TestReceiver::start().await;
    /// let http = reqwest::Client::new();
    /// http.post(receiver.url()).body(r#"{"event":"step.completed","data":{"stage":1}}"#).send().await.unwrap();
    /// http.post(receiver.url()).body("not json").send().await.unwrap();
    /// let labels: Vec<String> = receiver.arrivals().iter().map(|a| a.label()).collect();
    /// assert_eq!(labels, ["step:1", "?"]);
    /// # });
    /// ```
    pub fn label(&self) -> String {
        label_of_body(&self.json())
    }

    /// Answered with a 2xx.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::builder().status(500).start().await;
    /// reqwest::Client::new().post(receiver.url()).send().await.unwrap();
    /// assert!(!receiver.arrivals()[0].accepted());
    /// # });
    /// ```
    pub fn accepted(&self) -> bool {
        self.answered.is_some_and(|c| (200..300).contains(&c))
    }

    /// The verified event, when the delivery verified.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::verifying("uip_whsec_sandbox").await;
    /// reqwest::Client::new().post(receiver.url()).body("{}").send().await.unwrap();
    /// let arrival = &receiver.arrivals()[0];
    /// assert!(arrival.verified_event().is_none());
    /// assert_eq!(arrival.answered, Some(400), "no signature headers: malformed");
    /// # });
    /// ```
    pub fn verified_event(&self) -> Option<&WebhookEvent> {
        self.verified.as_ref().and_then(|v| v.as_ref().ok())
    }
}

/// `step:N` for a `step.completed` body, the event name otherwise (`?` when not an event).
fn label_of_body(body: &Value) -> String {
    match body["event"].as_str() {
        Some("step.completed") => format!("step:{}", body["data"]["stage"]),
        Some(other) => other.to_owned(),
        None => "?".to_owned(),
    }
}

/// A verified delivery a [`TestReceiver`] accepted the first time it saw its id.
#[derive(Clone, Debug)]
#[non_exhaustive]
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

/// A delivery a [`TestReceiver`] got that did not verify.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Rejected {
    /// `VerifyError::kind()`, e.g. `signature_mismatch`.
    pub kind: String,
    /// The status the receiver answered (`None`: it hung up).
    pub status: Option<u16>,
    /// `X-UIP-Delivery-Id`, when present.
    pub delivery_id: Option<String>,
}

/// Builds a [`TestReceiver`]: its verifier, its path and its script.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// use uip_sandbox::TestReceiver;
/// let receiver = TestReceiver::builder()
///     .secret("uip_whsec_sandbox")
///     .path("/hooks/uip")
///     .fail_first(2, 503)
///     .delay(Duration::from_millis(10))
///     .start()
///     .await;
/// assert!(receiver.url().ends_with("/hooks/uip"));
/// # });
/// ```
#[must_use]
pub struct TestReceiverBuilder {
    path: String,
    verifier: Option<Verifier>,
    script: Arc<Script>,
    keep: bool,
}

impl std::fmt::Debug for TestReceiverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestReceiverBuilder")
            .field("path", &self.path)
            .field("verifies", &self.verifier.is_some())
            .field("keep_arrivals", &self.keep)
            .finish_non_exhaustive()
    }
}

impl TestReceiverBuilder {
    /// The path of [`TestReceiver::url`] (default `/uip-webhook`); requests on other paths are
    /// recorded and answered the same way.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::builder().path("hook").start().await;
    /// assert!(receiver.url().ends_with("/hook"));
    /// # });
    /// ```
    pub fn path(mut self, path: &str) -> Self {
        self.path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
        self
    }

    /// Verifies every arrival with this webhook secret (`&str`, `String` or a
    /// [`WebhookSecret`](uip_types::WebhookSecret)).
    ///
    /// # Panics
    /// When the secret is empty (the verifier refuses it).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let sandbox = uip_sandbox::Sandbox::start().await;
    /// let receiver = uip_sandbox::TestReceiver::builder().secret(sandbox.webhook_secret()).start().await;
    /// # drop(receiver);
    /// # });
    /// ```
    pub fn secret(self, secret: impl Into<uip_types::WebhookSecret>) -> Self {
        self.verifier(Verifier::new(secret).expect("a usable webhook secret"))
    }

    /// Verifies every arrival with this verifier (e.g. one holding two secrets).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use uip_webhook_verify::Verifier;
    /// let both = Verifier::with_secrets(["uip_whsec_old", "uip_whsec_new"]).unwrap();
    /// let receiver = uip_sandbox::TestReceiver::builder().verifier(both).start().await;
    /// # drop(receiver);
    /// # });
    /// ```
    pub fn verifier(mut self, verifier: Verifier) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Answers with `script(arrival, earlier_attempts_of_this_delivery_id)`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use uip_sandbox::{Reply, TestReceiver};
    /// let receiver = TestReceiver::builder().reply(|_, _| Reply::Reset).start().await;
    /// assert!(reqwest::Client::new().post(receiver.url()).send().await.is_err());
    /// # });
    /// ```
    pub fn reply(mut self, script: impl Fn(&Arrival, usize) -> Reply + Send + Sync + 'static) -> Self {
        self.script = Arc::new(script);
        self
    }

    /// Answers every request with `status`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::builder().status(410).start().await;
    /// let answer = reqwest::Client::new().post(receiver.url()).send().await.unwrap();
    /// assert_eq!(answer.status(), 410);
    /// # });
    /// ```
    pub fn status(self, status: u16) -> Self {
        self.reply(move |_, _| Reply::Status(status))
    }

    /// Answers the first `n` attempts of every delivery id with `status`, and the later ones as
    /// the script so far does.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::builder().fail_first(1, 500).start().await;
    /// let http = reqwest::Client::new();
    /// let send = || http.post(receiver.url()).header("x-uip-delivery-id", "d1").send();
    /// assert_eq!(send().await.unwrap().status(), 500);
    /// assert_eq!(send().await.unwrap().status(), 200);
    /// # });
    /// ```
    pub fn fail_first(mut self, n: usize, status: u16) -> Self {
        let then = Arc::clone(&self.script);
        self.script =
            Arc::new(move |a, prior| if prior < n { Reply::Status(status) } else { then(a, prior) });
        self
    }

    /// Holds every answer of the script so far for `delay` first (a [`Reply::Reset`] or
    /// [`Reply::Hang`] is left as it is).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// let receiver = uip_sandbox::TestReceiver::builder().delay(Duration::from_millis(5)).start().await;
    /// assert_eq!(reqwest::Client::new().post(receiver.url()).send().await.unwrap().status(), 200);
    /// # });
    /// ```
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

    /// Whether to keep every arrival (default `true`). A load test that only counts turns it off:
    /// then only [`TestReceiver::count`] and [`TestReceiver::rejected_count`] are kept, the
    /// arrival lists stay empty and scripts see no earlier attempts.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::builder().keep_arrivals(false).start().await;
    /// reqwest::Client::new().post(receiver.url()).send().await.unwrap();
    /// assert_eq!((receiver.count(), receiver.arrivals().len()), (1, 0));
    /// # });
    /// ```
    pub fn keep_arrivals(mut self, keep: bool) -> Self {
        self.keep = keep;
        self
    }

    /// Binds `127.0.0.1:0` and starts serving.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::builder().start().await;
    /// assert!(receiver.url().starts_with("http://127.0.0.1:"));
    /// # });
    /// ```
    pub async fn start(self) -> TestReceiver {
        let inner = Arc::new(Inner {
            log: Mutex::new(Log::default()),
            changed: watch::channel(0).0,
            verifier: RwLock::new(self.verifier.map(Arc::new)),
            seen: Deduper::default(),
            up: AtomicBool::new(true),
            script: self.script,
            keep: self.keep,
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
        TestReceiver { url: format!("http://{addr}{}", self.path), addr, inner, task }
    }
}

/// What the receiver keeps, under one lock.
#[derive(Default)]
struct Log {
    /// Every request, when arrivals are kept.
    arrivals: Vec<Arrival>,
    /// Per delivery id, how many requests carried it.
    attempts: HashMap<String, usize>,
    /// Per delivery id, the index in `arrivals` of its first accepted (and not refused) arrival.
    first_accepted: HashMap<String, usize>,
    /// Every request (kept or not).
    count: usize,
    /// Requests whose delivery did not verify (kept or not).
    rejected: usize,
}

struct Inner {
    log: Mutex<Log>,
    /// Bumped after every request, so that waiters re-check.
    changed: watch::Sender<u64>,
    verifier: RwLock<Option<Arc<Verifier>>>,
    seen: Deduper,
    /// false: every connection is accepted and dropped at once (the receiver is "down").
    up: AtomicBool,
    script: Arc<Script>,
    keep: bool,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    connections: AtomicUsize,
}

impl Inner {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
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
        unix_s: unix_now(),
        verified,
        verdict: refusal.unwrap_or(200),
        answered: None,
        duplicate: false,
    };
    let n = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let guard = InFlight(&inner.in_flight);
    inner.max_in_flight.fetch_max(n, Ordering::SeqCst);
    let reply = {
        let mut log = inner.log();
        log.count += 1;
        let prior = if inner.keep { log.attempts.get(&arrival.delivery_id).copied().unwrap_or(0) } else { 0 };
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
        if matches!(arrival.verified, Some(Err(_))) {
            log.rejected += 1;
        }
        if inner.keep {
            *log.attempts.entry(arrival.delivery_id.clone()).or_default() += 1;
            let good = arrival.accepted() && !matches!(arrival.verified, Some(Err(_)));
            if good && !log.first_accepted.contains_key(&arrival.delivery_id) {
                let at = log.arrivals.len();
                log.first_accepted.insert(arrival.delivery_id.clone(), at);
            }
            log.arrivals.push(arrival);
        }
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

/// A verifying webhook receiver on `127.0.0.1:0` with scripted answers; dropped = stopped.
///
/// Point a business's webhook URL at [`TestReceiver::url`], then assert on what arrived, in
/// order: the typed events ([`TestReceiver::events`]), every request with its headers, raw body
/// and answer ([`TestReceiver::arrivals`]), refusals and duplicates. The waits re-check after
/// every request (no fixed sleeps); those returning a value panic after their timeout, naming
/// what did arrive.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// use uip_sandbox::{Sandbox, Simulate, TestReceiver};
///
/// // Refuses the first attempt of each delivery with a 503: the sandbox retries.
/// let receiver = TestReceiver::builder().secret("uip_whsec_sandbox").fail_first(1, 503).start().await;
/// let sandbox = Sandbox::builder()
///     .webhook_url(receiver.url())
///     .retry_base(Duration::from_millis(20))
///     .start()
///     .await
///     .unwrap();
/// # let http = reqwest::Client::new();
/// # let created: serde_json::Value = http.post(format!("{}/sessions", sandbox.api_url()))
/// #     .bearer_auth(sandbox.api_key().expose())
/// #     .json(&serde_json::json!({"steps": [{"primitive": "identify"}]}))
/// #     .send().await.unwrap().json().await.unwrap();
/// # let id = created["id"].as_str().unwrap();
/// sandbox.simulate(id, Simulate::share()).unwrap();
/// let events = receiver.wait_terminal(id, Duration::from_secs(30)).await;
/// let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
/// assert_eq!(names, ["step.completed", "session.completed"]);
/// assert_eq!(receiver.arrivals().iter().filter(|a| a.answered == Some(503)).count(), 2);
/// # });
/// ```
pub struct TestReceiver {
    url: String,
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for TestReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestReceiver").field("url", &self.url).finish_non_exhaustive()
    }
}

/// `step.completed[N]` for steps, the event name otherwise: for assertion messages.
fn names(events: &[WebhookEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            WebhookEvent::StepCompleted(s) => format!("{}[{}]", e.name(), s.stage),
            _ => e.name().to_owned(),
        })
        .collect()
}

/// Now, Unix seconds.
fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl TestReceiver {
    /// A builder: no verifier, path `/uip-webhook`, script [`Reply::Verdict`] (`200` to
    /// everything while there is no verifier), arrivals kept.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::builder().start().await;
    /// assert!(receiver.url().ends_with("/uip-webhook"));
    /// # });
    /// ```
    pub fn builder() -> TestReceiverBuilder {
        TestReceiverBuilder {
            path: "/uip-webhook".to_owned(),
            verifier: None,
            script: Arc::new(|_, _| Reply::Verdict),
            keep: true,
        }
    }

    /// A receiver that verifies nothing and answers `200` to every request.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// assert_eq!(reqwest::Client::new().post(receiver.url()).send().await.unwrap().status(), 200);
    /// # });
    /// ```
    pub async fn start() -> TestReceiver {
        TestReceiver::builder().start().await
    }

    /// A receiver that verifies with `secret` and answers like an integrator's
    /// ([`Reply::Verdict`]).
    ///
    /// # Panics
    /// When the secret is empty, or no loopback port can be bound.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::verifying("uip_whsec_sandbox").await;
    /// let answer = reqwest::Client::new().post(receiver.url()).body("{}").send().await.unwrap();
    /// assert_eq!(answer.status(), 400, "no signature headers");
    /// assert_eq!(receiver.rejected()[0].kind, "missing_header");
    /// # });
    /// ```
    pub async fn verifying(secret: impl Into<uip_types::WebhookSecret>) -> TestReceiver {
        TestReceiver::builder().secret(secret).start().await
    }

    /// The URL to configure as a business's webhook URL.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// assert_eq!(receiver.url(), format!("http://{}/uip-webhook", receiver.addr()));
    /// # });
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the receiver listens on.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// assert!(receiver.addr().ip().is_loopback());
    /// # });
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the verifier (e.g. with one holding the old and the new secret).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// receiver.set_verifier(uip_webhook_verify::Verifier::new("uip_whsec_sandbox").unwrap());
    /// # });
    /// ```
    pub fn set_verifier(&self, verifier: Verifier) {
        *self.inner.verifier.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(verifier));
    }

    /// Replaces the verifier with one for this secret.
    ///
    /// # Panics
    /// When the secret is empty.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let sandbox = uip_sandbox::Sandbox::start().await;
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// receiver.set_secret(sandbox.rotate_webhook_secret().unwrap());
    /// # });
    /// ```
    pub fn set_secret(&self, secret: impl Into<uip_types::WebhookSecret>) {
        self.set_verifier(Verifier::new(secret).expect("a usable webhook secret"));
    }

    /// Up: serve requests. Down: accept each connection and drop it at once.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// receiver.set_up(false);
    /// assert!(reqwest::Client::new().post(receiver.url()).send().await.is_err());
    /// assert_eq!((receiver.connections(), receiver.count()), (1, 0));
    /// # });
    /// ```
    pub fn set_up(&self, up: bool) {
        self.inner.up.store(up, Ordering::SeqCst);
    }

    /// Every request so far, in arrival order (empty when arrivals are not kept).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// reqwest::Client::new().put(format!("{}/x", receiver.url())).send().await.unwrap();
    /// let arrival = &receiver.arrivals()[0];
    /// assert_eq!((arrival.method.as_str(), arrival.path.as_str(), arrival.answered), ("PUT", "/uip-webhook/x", Some(200)));
    /// # });
    /// ```
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.inner.log().arrivals.clone()
    }

    /// How many requests it got (kept or not; dropped connections are not requests).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// reqwest::Client::new().post(receiver.url()).send().await.unwrap();
    /// assert_eq!(receiver.count(), 1);
    /// # });
    /// ```
    pub fn count(&self) -> usize {
        self.inner.log().count
    }

    /// How many requests did not verify (kept or not).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::verifying("uip_whsec_sandbox").await;
    /// reqwest::Client::new().post(receiver.url()).send().await.unwrap();
    /// assert_eq!(receiver.rejected_count(), 1);
    /// # });
    /// ```
    pub fn rejected_count(&self) -> usize {
        self.inner.log().rejected
    }

    /// Every verified delivery accepted the first time its id came, in arrival order.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::verifying("uip_whsec_sandbox").await;
    /// assert!(receiver.received().is_empty());
    /// # });
    /// ```
    pub fn received(&self) -> Vec<Received> {
        self.inner
            .log()
            .arrivals
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
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::verifying("uip_whsec_sandbox").await;
    /// assert!(receiver.events("sess_000000000000000000000000").is_empty());
    /// # });
    /// ```
    pub fn events(&self, session_id: impl AsRef<str>) -> Vec<WebhookEvent> {
        let session_id = session_id.as_ref();
        self.received().into_iter().map(|r| r.event).filter(|e| e.session_id() == session_id).collect()
    }

    /// Every delivery that did not verify, in arrival order.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::verifying("uip_whsec_sandbox").await;
    /// reqwest::Client::new().post(receiver.url()).header("x-uip-delivery-id", "d1").send().await.unwrap();
    /// let refused = &receiver.rejected()[0];
    /// assert_eq!((refused.status, refused.delivery_id.as_deref()), (Some(400), Some("d1")));
    /// # });
    /// ```
    pub fn rejected(&self) -> Vec<Rejected> {
        self.inner
            .log()
            .arrivals
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
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::verifying("uip_whsec_sandbox").await;
    /// assert!(receiver.duplicates().is_empty());
    /// # });
    /// ```
    pub fn duplicates(&self) -> Vec<String> {
        self.inner.log().arrivals.iter().filter(|a| a.duplicate).map(|a| a.delivery_id.clone()).collect()
    }

    /// The most requests it held at once.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// reqwest::Client::new().post(receiver.url()).send().await.unwrap();
    /// assert_eq!(receiver.max_in_flight(), 1);
    /// # });
    /// ```
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    /// How many connections it accepted (dropped ones included).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// assert_eq!(receiver.connections(), 0);
    /// # });
    /// ```
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::SeqCst)
    }

    /// Re-checks `check` after every request the receiver gets, until it answers `Some` or
    /// `timeout` passes (then it checks one last time).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// let nothing = receiver.wait_until(Duration::from_millis(10), || (receiver.count() > 0).then_some(())).await;
    /// assert_eq!(nothing, None);
    /// # });
    /// ```
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
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// reqwest::Client::new().post(receiver.url()).send().await.unwrap();
    /// let all = receiver.wait_arrivals("one request", Duration::from_secs(5), |a| !a.is_empty()).await;
    /// assert_eq!(all.len(), 1);
    /// # });
    /// ```
    pub async fn wait_arrivals(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[Arrival]) -> bool,
    ) -> Vec<Arrival> {
        let found = self
            .wait_until(timeout, || {
                let log = self.inner.log();
                pred(&log.arrivals).then(|| log.arrivals.clone())
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
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// let receiver = uip_sandbox::TestReceiver::start().await;
    /// reqwest::Client::new().post(receiver.url()).header("x-uip-delivery-id", "d1").send().await.unwrap();
    /// receiver.wait_accepted(&["d1".to_owned()], Duration::from_secs(5)).await;
    /// # });
    /// ```
    pub async fn wait_accepted(&self, ids: &[String], timeout: Duration) -> Vec<Arrival> {
        self.wait_arrivals(&format!("{} accepted deliveries", ids.len()), timeout, |all| {
            ids.iter().all(|id| all.iter().any(|a| &a.delivery_id == id && a.accepted()))
        })
        .await
    }

    /// Waits for the first arrival of this delivery id that was answered 2xx (and verified, when
    /// the receiver verifies) and returns it; `None` after `timeout`. Cheap however many
    /// arrivals there are (load tests use it).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// let receiver = uip_sandbox::TestReceiver::builder().fail_first(1, 503).start().await;
    /// let http = reqwest::Client::new();
    /// for _ in 0..2 {
    ///     http.post(receiver.url()).header("x-uip-delivery-id", "d1").send().await.unwrap();
    /// }
    /// let first_ok = receiver.wait_delivery("d1", Duration::from_secs(5)).await.unwrap();
    /// assert_eq!(first_ok.answered, Some(200));
    /// assert!(receiver.wait_delivery("d2", Duration::from_millis(10)).await.is_none());
    /// # });
    /// ```
    pub async fn wait_delivery(&self, delivery_id: impl AsRef<str>, timeout: Duration) -> Option<Arrival> {
        let id = delivery_id.as_ref();
        self.wait_until(timeout, || {
            let log = self.inner.log();
            log.first_accepted.get(id).and_then(|&i| log.arrivals.get(i)).cloned()
        })
        .await
    }

    /// Waits until `n` verified events of this session arrived; returns all of them so far.
    ///
    /// # Panics
    /// After `timeout`, naming what did arrive.
    ///
    /// ```no_run
    /// # async fn demo(receiver: uip_sandbox::TestReceiver, session_id: &str) {
    /// let events = receiver.wait_for(session_id, 2, std::time::Duration::from_secs(30)).await;
    /// assert_eq!(events[0].name(), "step.completed");
    /// # }
    /// ```
    pub async fn wait_for(
        &self,
        session_id: impl AsRef<str>,
        n: usize,
        timeout: Duration,
    ) -> Vec<WebhookEvent> {
        let session_id = session_id.as_ref();
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
    ///
    /// ```no_run
    /// # async fn demo(receiver: uip_sandbox::TestReceiver, session_id: &str) {
    /// let events = receiver.wait_terminal(session_id, std::time::Duration::from_secs(30)).await;
    /// assert!(events.last().is_some_and(|e| e.is_terminal()));
    /// # }
    /// ```
    pub async fn wait_terminal(&self, session_id: impl AsRef<str>, timeout: Duration) -> Vec<WebhookEvent> {
        let session_id = session_id.as_ref();
        self.wait_until(timeout, || {
            self.events(session_id).iter().any(WebhookEvent::is_terminal).then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("no terminal event; got {:?}", names(&self.events(session_id))));
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.events(session_id)
    }
}
