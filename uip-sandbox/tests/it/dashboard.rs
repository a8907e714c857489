//! The dashboard `GET /_sandbox/ui` (docs/DECISIONS.md §11 "Dashboard"): served HTML with the
//! hosted page's security headers, its embedded assets, the stable test hooks, and the API key
//! prefilled only for a caller on this machine.

use crate::support::{send, start, start_with, Resp};

/// The CSP the dashboard shares with the hosted page: nothing inline, nothing third party.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Every `data-testid` issue 19 names.
const TESTIDS: &[&str] = &[
    "api-key",
    "session-row",
    "session-status",
    "timeline",
    "delivery-attempt",
    "redeliver",
    "redeliver-fault",
    "simulate",
    "simulate-persona",
    "continue",
    "stop",
    "clock-seconds",
    "clock-advance",
];

/// The value of the `api-key` input, as served.
fn key_input_value(html: &str) -> String {
    let start = html.find("data-testid=\"api-key\"").expect("the api-key input");
    let tag_start = html[..start].rfind('<').unwrap();
    let tag_end = start + html[start..].find('>').unwrap();
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"").expect("the input has a value attribute") + "value=\"".len();
    tag[v..v + tag[v..].find('"').unwrap()].to_owned()
}

/// Whether some tag has an `on…=` attribute (` onclick="…"`).
fn has_event_handler_attribute(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let rest = &html[i + 3..];
        let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    })
}

fn assert_page_headers(r: &Resp) {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("content-security-policy"), Some(CSP));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
}

#[tokio::test]
async fn the_dashboard_is_html_with_the_hosted_pages_csp_and_every_test_hook() {
    let env = start().await;
    let page = send(env.http.get(env.url("/_sandbox/ui"))).await;
    assert_page_headers(&page);
    assert!(page.text.starts_with("<!doctype html>"), "{}", &page.text[..80.min(page.text.len())]);

    let js = send(env.http.get(env.url("/_assets/dashboard.js"))).await;
    assert_eq!(js.status, 200);
    assert_eq!(js.header("content-type"), Some("text/javascript; charset=utf-8"));
    let css = send(env.http.get(env.url("/_assets/dashboard.css"))).await;
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(page.text.contains("<script src=\"/_assets/dashboard.js\"></script>"));
    assert!(page.text.contains("<link rel=\"stylesheet\" href=\"/_assets/dashboard.css\">"));

    // No inline script or style: the CSP would block them. The one script is the external one.
    assert_eq!(page.text.matches("<script").count(), 1, "exactly one script tag");
    assert!(!page.text.contains("<style"), "no inline style element");
    assert!(!page.text.contains(" style=\""), "no inline style attribute");
    assert!(!has_event_handler_attribute(&page.text), "no inline event handler attribute (onclick=…)");
    // Text from the server is rendered as text, never parsed as HTML.
    for api in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
        assert!(!js.text.contains(api), "the script uses {api}");
    }

    // Every hook: static ones in the page, the per-row and per-attempt ones made by the script.
    for id in TESTIDS {
        let in_page = page.text.contains(&format!("data-testid=\"{id}\""));
        let in_script = js.text.contains(&format!("\"data-testid\": \"{id}\""));
        assert!(in_page || in_script, "data-testid {id} is neither in the page nor made by the script");
    }
    for attr in ["data-session-id", "data-delivery-id", "data-status"] {
        assert!(js.text.contains(&format!("\"{attr}\"")), "the script sets {attr}");
    }
}

#[tokio::test]
async fn a_loopback_caller_gets_the_default_key_prefilled() {
    let env = start().await;
    // reqwest sends `Host: 127.0.0.1:<port>` from the loopback address.
    let page = send(env.http.get(env.url("/_sandbox/ui"))).await;
    assert_page_headers(&page);
    assert_eq!(key_input_value(&page.text), env.key);
    let local = send(env.http.get(env.url("/_sandbox/ui")).header("host", "localhost")).await;
    assert_eq!(key_input_value(&local.text), env.key);
}

#[tokio::test]
async fn a_prefilled_key_is_attribute_escaped() {
    let key = "uip_test_a\"b<c>&d";
    let env = start_with(crate::support::fast().api_key(key)).await;
    let page = send(env.http.get(env.url("/_sandbox/ui"))).await;
    assert_eq!(key_input_value(&page.text), "uip_test_a&quot;b&lt;c&gt;&amp;d");
    assert!(!page.text.contains(key));
}

#[tokio::test]
async fn a_foreign_host_name_gets_no_key_even_from_loopback() {
    // A site whose name was re-pointed at 127.0.0.1 (DNS rebinding) reaches the page with its
    // own name in Host: the page it reads carries no key.
    let env = start().await;
    let page = send(env.http.get(env.url("/_sandbox/ui")).header("host", "evil.example:8787")).await;
    assert_page_headers(&page);
    assert_eq!(key_input_value(&page.text), "");
    assert!(!page.text.contains(&env.key));
    assert!(!page.text.contains("{{"), "no template marker left");
}

/// A non-loopback address of this machine, if it has one (the address a UDP socket would send
/// from; connecting a UDP socket sends nothing).
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn a_non_loopback_peer_gets_no_key() {
    let Some(ip) = non_loopback_address() else {
        eprintln!("this machine has no non-loopback address: nothing to test");
        return;
    };
    let env = start_with(crate::support::fast().listen("0.0.0.0:0".parse().unwrap())).await;
    let port = url::Url::parse(env.sb.base_url()).unwrap().port().unwrap();
    let url = format!("http://{}/_sandbox/ui", std::net::SocketAddr::new(ip, port));
    // Even a Host header naming the loopback does not make a remote peer local.
    let page = send(env.http.get(&url).header("host", format!("127.0.0.1:{port}"))).await;
    assert_page_headers(&page);
    assert_eq!(key_input_value(&page.text), "");
    assert!(!page.text.contains(&env.key));
}

#[tokio::test]
async fn the_dashboard_takes_only_get() {
    let env = start().await;
    let r = send(env.http.post(env.url("/_sandbox/ui"))).await;
    r.err(405, "request/method-not-allowed", None);
}

#[tokio::test]
async fn the_business_view_carries_the_clock_offset_the_dashboard_shows() {
    let env = start().await;
    let v = send(env.get("/_sandbox/business")).await;
    assert_eq!(v.ok()["clock_offset_s"], 0);
    for seconds in [90, 3600] {
        send(env.post("/_sandbox/clock/advance").json(&serde_json::json!({ "seconds": seconds }))).await.ok();
    }
    let v = send(env.get("/_sandbox/business")).await;
    assert_eq!(v.ok()["clock_offset_s"], 3690);
}
