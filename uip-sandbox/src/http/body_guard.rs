//! Request bodies that cannot hold the server (docs/DECISIONS.md §11): a body that stalls — no
//! bytes for the idle timeout — fails its request with 408 `request/timeout` (its connection is
//! closed), and requests with a body that present no valid API key (the inbox, the hosted page,
//! business creation) have their own in-flight limit, well under the connection cap, so that
//! slow bodies there can never take every connection (`/healthz` and the API stay reachable).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use tokio::time::Sleep;
use uip_types::ErrorCode;

use super::{Biz, Service};
use crate::error::ApiError;

/// Wraps every request body in the idle timeout, and holds a permit of the unauthenticated
/// in-flight limit while an unauthenticated request with a body is handled. Over the limit, the
/// request is refused at once (503 `internal/unavailable`, `Retry-After: 1`) and its connection
/// closed, without reading its body.
pub(super) async fn guard_bodies(mut req: Request, next: Next) -> Response {
    let service = match Service::of(req.extensions()) {
        Ok(s) => s.clone(),
        Err(e) => return e.into_response(),
    };
    let has_body = !req.body().is_end_stream();
    let _permit = if has_body && Biz::of_request(service.shared(), &mut req).is_none() {
        match service.unauthenticated().try_acquire() {
            Ok(p) => Some(p),
            Err(_) => {
                let mut r = ApiError::new(
                    ErrorCode::Unavailable,
                    "too many requests without an API key are sending their bodies; retry shortly",
                )
                .into_response();
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                return r;
            }
        }
    } else {
        None
    };
    let idle = service.shared().settings.body_idle_timeout;
    next.run(req.map(|b| Body::new(IdleBody { inner: b, idle, timer: None, stalled: false }))).await
}

/// The error a stalled body ends with (see [`stalled`]).
#[derive(Debug)]
pub(super) struct BodyStalled(Duration);

impl std::fmt::Display for BodyStalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no bytes of the request body arrived for {} s", self.0.as_secs_f64())
    }
}

impl std::error::Error for BodyStalled {}

/// The 408 answer when `e` (a body read error, at any depth of its sources) is a stalled body.
pub(super) fn stalled(e: &(dyn std::error::Error + 'static)) -> Option<ApiError> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(s) = err.downcast_ref::<BodyStalled>() {
            return Some(ApiError::new(ErrorCode::RequestTimeout, s.to_string()));
        }
        cur = err.source();
    }
    None
}

/// A body that fails with [`BodyStalled`] when it is waited on for `idle` without a frame.
struct IdleBody {
    inner: Body,
    idle: Duration,
    /// Running while the reader waits; dropped when a frame arrives.
    timer: Option<Pin<Box<Sleep>>>,
    stalled: bool,
}

impl HttpBody for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.stalled {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let idle = this.idle;
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.stalled = true;
                        Poll::Ready(Some(Err(axum::Error::new(BodyStalled(idle)))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.stalled || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
