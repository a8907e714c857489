//! The dashboard `GET /_sandbox/ui` (docs/DECISIONS.md §11 "Dashboard"): one page for a person,
//! with its script and styles embedded in the binary. The page talks only to the documented
//! control and business APIs, with the API key the person enters; for a caller on this machine
//! (loopback peer, loopback or public host name) the key input is prefilled with the default
//! business's key.

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::TAG_CONTROL;
use super::State;
use super::{escape_html, static_asset};
use crate::server::Peer;
use crate::Shared;

const DASHBOARD_HTML: &str = include_str!("assets/dashboard.html");
const DASHBOARD_JS: &str = include_str!("assets/dashboard.js");
const DASHBOARD_CSS: &str = include_str!("assets/dashboard.css");

/// The marker in the HTML that becomes the key input's prefilled value (empty when not prefilled).
const KEY_MARKER: &str = "{{prefill_api_key}}";

pub(super) fn routes() -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(dashboard))
        .routes(routes!(dashboard_js))
        .routes(routes!(dashboard_css))
}

/// Same rules as the hosted page: only its own script and styles, nothing inline, no third
/// party, no framing, no form posts. `connect-src 'self'`: the APIs it calls are this server's.
const DASHBOARD_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                             connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[utoipa::path(
    get,
    path = "/_sandbox/ui",
    operation_id = "dashboard",
    tag = TAG_CONTROL,
    summary = "The dashboard (HTML)",
    description = "A page for a person: the business, its sessions, each session's timeline (journaled \
                   requests, state changes, deliveries with every attempt) and actions (simulate, continue, \
                   stop, redeliver with a fault, advance the clock, rotate the secret). It calls only the \
                   control and business APIs, with the API key entered on the page; the key input is \
                   prefilled with the default business's key only when the caller is on this machine \
                   (loopback peer and a loopback or the public host name).",
    responses((status = 200, description = "The page.", body = String, content_type = "text/html"))
)]
async fn dashboard(
    State(shared): State<Arc<Shared>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
) -> Response {
    let prefill = if is_local(peer.map(|Extension(p)| p), &headers, &shared.public_url) {
        escape_html(&shared.settings.api_key)
    } else {
        String::new()
    };
    let mut r = Html(DASHBOARD_HTML.replace(KEY_MARKER, &prefill)).into_response();
    let h = r.headers_mut();
    // The page may carry an API key: never cached, never sent on as a referrer.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DASHBOARD_CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

/// Whether the caller is on this machine: a loopback TCP peer that also asked for a loopback host
/// name or the public URL's host. The host check keeps a page on another site, whose name was
/// re-pointed at 127.0.0.1 (DNS rebinding), from reading the key out of this page.
fn is_local(peer: Option<Peer>, headers: &HeaderMap, public_url: &str) -> bool {
    let Some(Peer(addr)) = peer else { return false };
    if !addr.ip().to_canonical().is_loopback() {
        return false;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    let Some(name) = host_name(host) else { return false };
    let public = url::Url::parse(public_url).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "localhost" | "[::1]")
        || name.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || public.as_deref() == Some(name.as_str())
}

/// The name part of a `Host` header (`name`, `name:port`, `[v6]`, `[v6]:port`).
fn host_name(host: &str) -> Option<&str> {
    let host = host.trim();
    if host.starts_with('[') {
        let end = host.find(']')?;
        return Some(&host[..=end]);
    }
    Some(host.split(':').next().unwrap_or(host)).filter(|h| !h.is_empty())
}

#[utoipa::path(
    get,
    path = "/_assets/dashboard.js",
    operation_id = "dashboardScript",
    tag = TAG_CONTROL,
    summary = "The dashboard's script",
    responses((status = 200, description = "JavaScript.", body = String, content_type = "text/javascript"))
)]
async fn dashboard_js() -> Response {
    static_asset(DASHBOARD_JS, "text/javascript; charset=utf-8")
}

#[utoipa::path(
    get,
    path = "/_assets/dashboard.css",
    operation_id = "dashboardStyles",
    tag = TAG_CONTROL,
    summary = "The dashboard's styles",
    responses((status = 200, description = "CSS.", body = String, content_type = "text/css"))
)]
async fn dashboard_css() -> Response {
    static_asset(DASHBOARD_CSS, "text/css; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    fn headers(host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        h
    }

    fn peer(addr: &str) -> Option<Peer> {
        Some(Peer(addr.parse::<SocketAddr>().unwrap()))
    }

    const PUBLIC: &str = "http://sandbox.test:8787";

    #[test]
    fn loopback_peer_and_loopback_or_public_host_is_local() {
        assert!(is_local(peer("127.0.0.1:5000"), &headers("127.0.0.1:8787"), PUBLIC));
        assert!(is_local(peer("127.0.0.1:5000"), &headers("localhost:8787"), PUBLIC));
        assert!(is_local(peer("[::1]:5000"), &headers("[::1]:8787"), PUBLIC));
        assert!(is_local(peer("[::ffff:127.0.0.1]:5000"), &headers("127.0.0.1"), PUBLIC));
        assert!(is_local(peer("127.0.0.1:5000"), &headers("Sandbox.Test:8787"), PUBLIC));
    }

    #[test]
    fn another_peer_or_a_foreign_host_name_is_not_local() {
        assert!(!is_local(peer("192.168.1.20:5000"), &headers("127.0.0.1:8787"), PUBLIC));
        assert!(!is_local(peer("127.0.0.1:5000"), &headers("evil.example:8787"), PUBLIC));
        assert!(!is_local(peer("127.0.0.1:5000"), &HeaderMap::new(), PUBLIC));
        assert!(!is_local(None, &headers("127.0.0.1:8787"), PUBLIC));
    }

    #[test]
    fn the_prefilled_key_is_attribute_escaped() {
        assert_eq!(escape_html("a\"b<c>&'"), "a&quot;b&lt;c&gt;&amp;&#39;");
    }
}
