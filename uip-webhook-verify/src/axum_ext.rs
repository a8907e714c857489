//! axum support (feature `axum`): [`VerifiedDelivery`] as an extractor, and
//! [`IntoResponse`](axum_core::response::IntoResponse) for [`VerifyError`] and
//! [`DeliveryRejection`].

use std::fmt;

use axum_core::body::Body;
use axum_core::extract::rejection::BytesRejection;
use axum_core::extract::{FromRef, FromRequest, Request};
use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderValue, StatusCode};

use crate::{VerifiedDelivery, Verifier, VerifyError};

/// Extracts a verified delivery: the [`Verifier`] comes from the router's state (the state
/// itself, or a field of it through [`FromRef`]); the raw body is read (within axum's body
/// limit, 2 MB by default) and verified with the request's headers.
///
/// A request that does not verify is refused before the handler runs, with the
/// [`DeliveryRejection`] as the answer: `401` or `400` and a JSON body
/// `{"error": "...", "code": "<VerifyError::kind>"}`.
///
/// ```
/// use axum::{extract::FromRef, routing::post, Router};
/// use uip_webhook_verify::{Deduper, VerifiedDelivery, Verifier, WebhookEvent};
///
/// #[derive(Clone, FromRef)]
/// struct AppState {
///     verifier: Verifier,
///     seen: std::sync::Arc<Deduper>,
/// }
///
/// async fn uip_webhook(
///     axum::extract::State(seen): axum::extract::State<std::sync::Arc<Deduper>>,
///     delivery: VerifiedDelivery, // last: it consumes the body
/// ) -> &'static str {
///     if seen.insert(&delivery.delivery_id) {
///         if let WebhookEvent::SessionCompleted(done) = &delivery.event {
///             println!("session {} completed", done.context.session_id);
///         }
///     }
///     "ok" // 200 for verified deliveries, duplicates included
/// }
///
/// let state = AppState { verifier: Verifier::new("uip_whsec_sandbox")?, seen: Default::default() };
/// let app: Router = Router::new().route("/uip-webhook", post(uip_webhook)).with_state(state);
/// # Ok::<(), uip_webhook_verify::VerifyError>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S> FromRequest<S> for VerifiedDelivery
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = DeliveryRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state).await.map_err(DeliveryRejection::Body)?;
        verifier.verify(&headers, &bytes).map_err(DeliveryRejection::Verify)
    }
}

/// Why the [`VerifiedDelivery`] extractor refused a request.
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[derive(Debug)]
#[non_exhaustive]
pub enum DeliveryRejection {
    /// The delivery did not verify (answered as [`VerifyError`]'s response: 401 or 400 with a
    /// JSON error body).
    Verify(VerifyError),
    /// The body could not be read (too large for axum's body limit, connection error):
    /// answered as axum answers it.
    Body(BytesRejection),
}

impl fmt::Display for DeliveryRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryRejection::Verify(_) => f.write_str("the webhook delivery did not verify"),
            DeliveryRejection::Body(_) => f.write_str("the webhook delivery's body could not be read"),
        }
    }
}

impl std::error::Error for DeliveryRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DeliveryRejection::Verify(e) => Some(e),
            DeliveryRejection::Body(e) => Some(e),
        }
    }
}

impl IntoResponse for DeliveryRejection {
    fn into_response(self) -> Response {
        match self {
            DeliveryRejection::Verify(e) => e.into_response(),
            DeliveryRejection::Body(e) => e.into_response(),
        }
    }
}

/// The suggested status ([`VerifyError::http_status`]: 401 not authentic or stale, 400
/// malformed, 500 misconfigured) with a JSON body `{"error": "<message>", "code": "<kind>"}`.
///
/// ```
/// use axum::response::IntoResponse;
/// use uip_webhook_verify::VerifyError;
///
/// let response = VerifyError::SignatureMismatch { secrets: 1 }.into_response();
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for VerifyError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = serde_json::json!({ "error": self.to_string(), "code": self.kind() });
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = status;
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}
