//! Where this sandbox serves its hosted pages, so that a webhook URL can be refused when it points
//! there (docs/DECISIONS.md §11): a delivery POSTed to `/s/{id}/open` would bind — and so take — a
//! user's session.

use std::net::{IpAddr, SocketAddr};

use url::{Host, Url};

/// The addresses of this sandbox's hosted pages (`/s/…`): the public URL's host, port and path
/// prefix, and the port it listens on, reached through its bound address or a loopback alias.
/// Host names are compared, not resolved (a name that resolves to loopback is not caught).
#[derive(Clone, Debug, Default)]
pub(crate) struct OwnPages {
    /// Host, port and path prefix of the public URL (pages are `{prefix}/s/…`).
    public: Option<(Host<String>, u16, String)>,
    /// The bound address's host and port.
    bound: Option<(Host<String>, u16)>,
}

impl OwnPages {
    /// From the public URL (parsed once by the caller) and the address the server listens on.
    pub fn new(public_url: &Url, bound: SocketAddr) -> OwnPages {
        let public = public_url
            .host()
            .zip(public_url.port_or_known_default())
            .map(|(host, port)| (host.to_owned(), port, public_url.path().trim_end_matches('/').to_owned()));
        let bound_host = match bound.ip() {
            IpAddr::V4(v4) => Host::Ipv4(v4),
            IpAddr::V6(v6) => Host::Ipv6(v6),
        };
        OwnPages { public, bound: Some((bound_host, bound.port())) }
    }

    /// Whether `url` names one of this sandbox's hosted-page routes.
    pub fn contains(&self, url: &Url) -> bool {
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else { return false };
        let host = host.to_owned();
        // The router matches the decoded path: `/%73/…` is `/s/…` to a careful reader too.
        let path = percent_decode(url.path());
        if let Some((public_host, public_port, prefix)) = &self.public {
            if host == *public_host && port == *public_port && path.starts_with(&format!("{prefix}/s/")) {
                return true;
            }
        }
        if let Some((bound_host, bound_port)) = &self.bound {
            if port == *bound_port
                && path.starts_with("/s/")
                && (host == *bound_host || is_local(&host) || is_unspecified(bound_host))
            {
                // Bound to every interface (0.0.0.0), any host at that port may be this sandbox.
                return true;
            }
        }
        false
    }
}

/// A loopback or unspecified address, or `localhost` (and its subdomains).
fn is_local(host: &Host<String>) -> bool {
    let ip = match host {
        Host::Domain(d) => {
            let d = d.trim_end_matches('.');
            return d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost");
        }
        Host::Ipv4(v4) => IpAddr::V4(*v4),
        Host::Ipv6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(*v6), IpAddr::V4),
    };
    ip.is_loopback() || ip.is_unspecified()
}

fn is_unspecified(host: &Host<String>) -> bool {
    match host {
        Host::Domain(_) => false,
        Host::Ipv4(v4) => v4.is_unspecified(),
        Host::Ipv6(v6) => v6.is_unspecified(),
    }
}

/// `%XX` sequences decoded (invalid ones kept as they are); bytes that are not UTF-8 replaced.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(public: &str, bound: &str, url: &str) -> bool {
        OwnPages::new(&Url::parse(public).unwrap(), bound.parse().unwrap())
            .contains(&Url::parse(url).unwrap())
    }

    #[test]
    fn hosted_page_urls_of_this_sandbox_are_recognised() {
        let (public, bound) = ("http://127.0.0.1:8787", "127.0.0.1:8787");
        for url in [
            "http://127.0.0.1:8787/s/sess_x/open",
            "http://localhost:8787/s/sess_x/open",
            "http://LOCALHOST.:8787/s/sess_x",
            "http://127.1.2.3:8787/s/x",
            "http://[::1]:8787/s/x/open",
            "http://[::ffff:127.0.0.1]:8787/s/x/open",
            "http://0.0.0.0:8787/s/x/open",
            "http://2130706433:8787/s/x/open",
            "http://127.0.0.1:8787/%73/x/open",
            "http://127.0.0.1:8787/a/../s/x/open",
        ] {
            assert!(own(public, bound, url), "{url}");
        }
        for url in [
            "http://127.0.0.1:8787/_sandbox/inbox",
            "http://127.0.0.1:8788/s/x/open",
            "http://example.com:8787/s/x/open",
            "http://127.0.0.1:8787/s",
            "http://127.0.0.1:8787/sx/open",
        ] {
            assert!(!own(public, bound, url), "{url}");
        }
    }

    #[test]
    fn the_public_url_counts_with_its_path_prefix() {
        let (public, bound) = ("https://sandbox.example.com/uip/", "127.0.0.1:8787");
        assert!(own(public, bound, "https://sandbox.example.com/uip/s/x/open"));
        assert!(own(public, bound, "https://SANDBOX.example.com:443/uip/s/x"));
        assert!(!own(public, bound, "https://sandbox.example.com/other/s/x/open"));
        assert!(!own(public, bound, "http://sandbox.example.com/uip/s/x/open"), "another port (80)");
        assert!(own(public, bound, "http://localhost:8787/s/x/open"), "the bound port too");
    }

    #[test]
    fn bound_to_every_interface_any_host_at_the_port_is_this_sandbox() {
        let (public, bound) = ("http://10.0.0.5:8787", "0.0.0.0:8787");
        assert!(own(public, bound, "http://192.168.1.9:8787/s/x/open"));
        assert!(!own(public, bound, "http://192.168.1.9:8788/s/x/open"));
    }
}
