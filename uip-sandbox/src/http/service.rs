//! One router per process, many sandboxes: the router — every route, every layer — is built once
//! ([`router`]), and each sandbox serves it through its own [`Service`], which puts the sandbox in
//! each request's extensions; handlers and middleware take it from there ([`State`]). A test suite
//! starts a sandbox per test, so `start` costs no route assembly (BENCHMARKS.md), and requests
//! reach only their own sandbox's state exactly as before: nothing else is shared.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequestParts, Request};
use axum::middleware;
use axum::response::Response;
use axum::Router;
use http::request::Parts;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::{api, business_api, envelope, method_not_allowed, not_found, other_routes, page};
use crate::error::ApiError;
use crate::Shared;

/// One sandbox's HTTP service: the process's router serving this sandbox. A cheap clone.
#[derive(Clone)]
pub(crate) struct Service(Arc<Served>);

/// What a request of one sandbox is served with.
struct Served {
    shared: Arc<Shared>,
    /// Permits for requests with a body and no valid API key ([`body_guard`]).
    unauthenticated: Semaphore,
}

impl Service {
    pub fn new(shared: Arc<Shared>) -> Service {
        let unauthenticated = Semaphore::new(shared.settings.max_unauthenticated_bodies.max(1));
        Service(Arc::new(Served { shared, unauthenticated }))
    }

    /// The sandbox a request is for, from its extensions (set by [`Service::call`]).
    pub(super) fn of(extensions: &http::Extensions) -> Result<&Service, ApiError> {
        match extensions.get::<Service>() {
            Some(service) => Ok(service),
            // Only a request that did not come through `Service::call`: a bug, not input.
            None => Err(ApiError::internal("the request reached no sandbox")),
        }
    }

    /// The sandbox.
    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.0.shared
    }

    /// The permits for requests with a body and no valid API key.
    pub(super) fn unauthenticated(&self) -> &Semaphore {
        &self.0.unauthenticated
    }

    /// Answers one request.
    pub async fn call(&self, mut req: Request) -> Response {
        req.extensions_mut().insert(self.clone());
        router().clone().oneshot(req).await.unwrap_or_else(|e: Infallible| match e {})
    }
}

/// axum's `State`, taken from the request's [`Service`] instead of the router: handlers and
/// middleware read their sandbox as `State(shared): State<Arc<Shared>>`.
pub(super) struct State<T>(pub T);

impl<S: Send + Sync> FromRequestParts<S> for State<Arc<Shared>> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Service::of(&parts.extensions).map(|s| State(s.shared().clone()))
    }
}

/// The whole router, built once per process: building the routes through utoipa-axum builds
/// every operation's OpenAPI entry too (about 5 ms), and wrapping each route in its layers
/// about 0.25 ms more (BENCHMARKS.md).
pub(super) fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        // One layer per part of the surface: each layer costs every request a boxed future and a
        // clone of the route it wraps, so the stages of a layer are plain async functions.
        let v1 = api::routes().split_for_parts().0.layer(middleware::from_fn(business_api));
        let pages = page::routes().split_for_parts().0.layer(middleware::from_fn(page::check_origin));
        let app = Router::new().nest("/v1", v1).merge(pages).merge(other_routes().split_for_parts().0);
        // `with_state` turns every handler into its route once, here: a router left with boxed
        // handlers turns them into routes, layers included, again on every request.
        method_not_allowed(app.fallback(not_found)).layer(middleware::from_fn(envelope)).with_state(())
    })
}
