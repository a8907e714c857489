//! A local webhook receiver (axum) that verifies every delivery with
//! `uip_webhook_verify::Verifier` and tells waiters when a session's `session.completed` arrived.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uip_webhook_verify::{Verifier, WebhookEvent};

use crate::Result;

enum Slot {
    Waiting(oneshot::Sender<Instant>),
    Arrived(Instant),
}

struct Inner {
    /// `None`: answer 200 at once without looking at the delivery.
    verifier: Option<Verifier>,
    slots: Mutex<HashMap<String, Slot>>,
    received: AtomicU64,
    rejected: AtomicU64,
}

/// A running receiver; dropped = stopped.
pub struct Receiver {
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// A receiver that verifies each delivery with `secret` and tracks `session.completed`.
    pub async fn verifying(secret: &str) -> Result<Receiver> {
        Receiver::start(Some(Verifier::new(secret)?)).await
    }

    /// A receiver that answers 200 at once and only counts.
    pub async fn counting() -> Result<Receiver> {
        Receiver::start(None).await
    }

    async fn start(verifier: Option<Verifier>) -> Result<Receiver> {
        let inner = Arc::new(Inner {
            verifier,
            slots: Mutex::new(HashMap::new()),
            received: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().route("/hook", post(hook)).with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver { addr, inner, task })
    }

    /// The URL to give the sandbox as its webhook URL.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Resolves with the receipt instant of this session's verified `session.completed`
    /// (immediately when it already arrived).
    pub fn completed(&self, session_id: &str) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        let mut slots = self.inner.slots.lock().unwrap_or_else(|e| e.into_inner());
        match slots.remove(session_id) {
            Some(Slot::Arrived(at)) => {
                let _ = tx.send(at);
            }
            _ => {
                slots.insert(session_id.to_owned(), Slot::Waiting(tx));
            }
        }
        rx
    }

    /// Deliveries received (any outcome).
    pub fn received(&self) -> u64 {
        self.inner.received.load(Ordering::Relaxed)
    }

    /// Deliveries refused by the verifier.
    pub fn rejected(&self) -> u64 {
        self.inner.rejected.load(Ordering::Relaxed)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hook(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    inner.received.fetch_add(1, Ordering::Relaxed);
    let Some(verifier) = &inner.verifier else { return StatusCode::OK };
    let delivery = match verifier.verify(&headers, &body) {
        Ok(d) => d,
        Err(_) => {
            inner.rejected.fetch_add(1, Ordering::Relaxed);
            return StatusCode::UNAUTHORIZED;
        }
    };
    let at = Instant::now();
    if let WebhookEvent::SessionCompleted(done) = delivery.event {
        let sid = done.context.session_id.as_str().to_owned();
        let mut slots = inner.slots.lock().unwrap_or_else(|e| e.into_inner());
        match slots.remove(&sid) {
            Some(Slot::Waiting(tx)) => {
                let _ = tx.send(at);
            }
            _ => {
                slots.insert(sid, Slot::Arrived(at));
            }
        }
    }
    StatusCode::OK
}
