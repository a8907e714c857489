//! The HTTP stack's own ceiling: a bare hyper server (no router, no middleware, no state) that
//! answers fixed bytes for one path — what `get_rps_limit` measures the sandbox's GET against.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::Result;

/// A running bare server on a runtime of its own (as wiremock's servers and the sandboxes in
/// `get_rps` have: none of them shares the load generator's workers); stopped when dropped.
pub struct BareServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BareServer {
    /// Serves `body` (as `application/json`) for `GET {path}` and an empty 404 for anything else,
    /// with the same connection setup as the sandbox's accept loop (hyper-util's auto builder,
    /// `TCP_NODELAY`, keep-alive), one task per connection.
    pub fn start(path: String, body: Bytes) -> Result<BareServer> {
        // The same worker count as the sandboxes' server runtime in `get_rps`.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()).min(4))
            .thread_name("bare-hyper")
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listener = {
            let _in_runtime = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let task = runtime.spawn(async move {
            let builder = Builder::new(TokioExecutor::new());
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let _ = stream.set_nodelay(true);
                let (path, body, builder) = (path.clone(), body.clone(), builder.clone());
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let resp = if req.uri().path() == path {
                        Response::builder()
                            .status(StatusCode::OK)
                            .header(hyper::header::CONTENT_TYPE, "application/json")
                            .body(Full::new(body.clone()))
                    } else {
                        Response::builder().status(StatusCode::NOT_FOUND).body(Full::new(Bytes::new()))
                    };
                    async move { Ok::<_, Infallible>(resp.unwrap_or_default()) }
                });
                tokio::spawn(async move {
                    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(BareServer { addr, task, runtime: Some(runtime) })
    }

    /// `http://127.0.0.1:port`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
