//! The accept loop: hyper connections with header-read timeouts, graceful shutdown, and the
//! `reset` fault (a handler's response marked [`ResetConnection`] drops the connection instead).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Marks a response whose connection must be dropped instead (the `reset` fault).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for ResetConnection {}

/// The TCP peer of a request's connection, set as a request extension on every request: the
/// dashboard prefills the default business's key only for a loopback peer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peer(pub SocketAddr);

/// How long a client may take to send its request headers (slow clients are cut off).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections served at once; further ones wait in the kernel's accept queue.
const MAX_CONNECTIONS: usize = 16_384;
/// How long graceful shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `listener` until `shutdown` flips, then drains open connections: each request is
/// answered by `respond` (the HTTP layer's service, handed in by the composition root).
pub(crate) async fn serve<R, F>(listener: TcpListener, respond: R, mut shutdown: watch::Receiver<bool>)
where
    R: Fn(axum::extract::Request) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = axum::response::Response> + Send + 'static,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let respond = respond.clone();
        let hyper_service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let respond = respond.clone();
            async move {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut().insert(Peer(peer));
                let resp = respond(req).await;
                if resp.extensions().get::<ResetConnection>().is_some() {
                    return Err(ResetConnection);
                }
                Ok(resp)
            }
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            // The header read timeout starts with a request's first byte, and the HTTP-version
            // sniffing before it waits without a limit: a connection that never sends anything
            // would hold its slot forever (enough of them starve every client). Wait for the
            // first byte here, within the same limit.
            // (`peek`, not `readable`: readiness may be a false positive.)
            let mut first = [0u8; 1];
            tokio::select! {
                peeked = tokio::time::timeout(HEADER_READ_TIMEOUT, stream.peek(&mut first)) => {
                    if !matches!(peeked, Ok(Ok(n)) if n > 0) {
                        return;
                    }
                }
                _ = stop.changed() => return,
            }
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), hyper_service);
            let _ = watcher.watch(conn.into_owned()).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
}
