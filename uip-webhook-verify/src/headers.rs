//! Where header values come from: [`HeaderSource`] and its implementations.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// Something header values can be read from, by name.
///
/// The verifier only needs to look up four headers, so any header container can be used:
/// `http::HeaderMap` and `http::Request` (http 1.x, behind the default `http` feature; this
/// covers axum, hyper 1 and reqwest 0.12), actix-web's `HeaderMap` (feature `actix`), slices,
/// arrays and `Vec`s of `(name, value)` pairs, and `HashMap`/`BTreeMap`s of names to values,
/// where names are anything `AsRef<str>` and values anything `AsRef<[u8]>` (`&str`, `String`,
/// `Vec<u8>`...). For another framework (or another `http` version), implement this trait in
/// a few lines.
///
/// Lookups are ASCII case-insensitive; when a name appears more than once, the first value wins.
///
/// ```
/// use uip_webhook_verify::HeaderSource;
///
/// let pairs = [("x-uip-event", "step.completed")];
/// assert_eq!(pairs.header("X-UIP-Event"), Some(&b"step.completed"[..]));
/// assert_eq!(pairs.header("X-UIP-Timestamp"), None);
///
/// // Your own container:
/// struct OneHeader(&'static str, &'static str);
/// impl HeaderSource for OneHeader {
///     fn header(&self, name: &str) -> Option<&[u8]> {
///         self.0.eq_ignore_ascii_case(name).then_some(self.1.as_bytes())
///     }
/// }
/// assert!(OneHeader("X-UIP-Event", "session.failed").header("x-uip-event").is_some());
/// ```
pub trait HeaderSource {
    /// The raw value of the header `name` (matched ASCII case-insensitively), if present.
    ///
    /// ```
    /// use uip_webhook_verify::HeaderSource;
    /// let headers = vec![("X-UIP-Timestamp".to_string(), "1780000000".to_string())];
    /// assert_eq!(headers.header("x-uip-timestamp"), Some(&b"1780000000"[..]));
    /// ```
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl<T: HeaderSource + ?Sized> HeaderSource for &T {
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
}

fn find<'a, K, V, I>(pairs: I, name: &str) -> Option<&'a [u8]>
where
    K: AsRef<str> + 'a,
    V: AsRef<[u8]> + 'a,
    I: IntoIterator<Item = (&'a K, &'a V)>,
{
    pairs.into_iter().find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        find(self.iter().map(|(k, v)| (k, v)), name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> HeaderSource for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, S: BuildHasher> HeaderSource for HashMap<K, V, S> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        find(self.iter(), name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for BTreeMap<K, V> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        find(self.iter(), name)
    }
}

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
impl HeaderSource for http::HeaderMap {
    fn header(&self, name: &str) -> Option<&[u8]> {
        use http::HeaderName;
        use uip_types::{HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP};
        // The four names the verifier asks for, pre-parsed: skips lowercasing on every lookup.
        const TIMESTAMP: HeaderName = HeaderName::from_static("x-uip-timestamp");
        const SIGNATURE: HeaderName = HeaderName::from_static("x-uip-signature");
        const EVENT: HeaderName = HeaderName::from_static("x-uip-event");
        const DELIVERY_ID: HeaderName = HeaderName::from_static("x-uip-delivery-id");
        let value = match name {
            HEADER_TIMESTAMP => self.get(TIMESTAMP),
            HEADER_SIGNATURE => self.get(SIGNATURE),
            HEADER_EVENT => self.get(EVENT),
            HEADER_DELIVERY_ID => self.get(DELIVERY_ID),
            other => self.get(other),
        };
        value.map(http::HeaderValue::as_bytes)
    }
}

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
impl<B> HeaderSource for http::Request<B> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers().header(name)
    }
}

/// actix-web 4's header map (`HttpRequest::headers()`; feature `actix`).
///
/// ```
/// use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
/// use uip_webhook_verify::{Verifier, VerifyError};
///
/// // `App::new().app_data(web::Data::new(verifier)).route("/uip-webhook", web::post().to(uip_webhook))`
/// async fn uip_webhook(verifier: web::Data<Verifier>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
///     match verifier.verify(req.headers(), &body) {
///         Ok(delivery) => HttpResponse::Ok().body(delivery.delivery_id),
///         Err(err) => error_response(&err),
///     }
/// }
///
/// fn error_response(err: &VerifyError) -> HttpResponse {
///     let status = StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
///     HttpResponse::build(status)
///         .content_type("application/json")
///         .body(serde_json::json!({ "error": err.to_string(), "code": err.kind() }).to_string())
/// }
/// ```
#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
impl HeaderSource for actix_http::header::HeaderMap {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(actix_http::header::HeaderValue::as_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_maps_and_refs_are_case_insensitive() {
        let pairs = [("X-Uip-Event", "a"), ("x-uip-event", "b")];
        assert_eq!(pairs.header("X-UIP-EVENT"), Some(&b"a"[..]), "first value wins");
        let mut map = HashMap::new();
        map.insert("x-uip-signature".to_string(), b"ff".to_vec());
        assert_eq!(map.header("X-UIP-Signature"), Some(&b"ff"[..]));
        let by_ref: &dyn HeaderSource = &&map;
        assert_eq!(by_ref.header("X-UIP-Timestamp"), None);
        let tree: BTreeMap<&str, &str> = [("X-UIP-TIMESTAMP", "1")].into();
        assert_eq!(tree.header("x-uip-timestamp"), Some(&b"1"[..]));
        let v: Vec<(String, String)> = Vec::new();
        assert_eq!(v.header("x"), None);
    }

    #[cfg(feature = "actix")]
    #[test]
    fn actix_header_map_is_case_insensitive() {
        use actix_http::header::{HeaderMap, HeaderName, HeaderValue};
        let mut map = HeaderMap::new();
        map.insert(HeaderName::from_static("x-uip-event"), HeaderValue::from_static("session.completed"));
        assert_eq!(map.header("X-UIP-Event"), Some(&b"session.completed"[..]));
        assert_eq!(map.header("X-UIP-Timestamp"), None);
        assert_eq!(map.header("not a header name"), None);
    }

    #[cfg(feature = "http")]
    #[test]
    fn header_map_and_request() {
        let mut map = http::HeaderMap::new();
        map.insert("x-uip-event", http::HeaderValue::from_static("session.completed"));
        assert_eq!(map.header("X-UIP-Event"), Some(&b"session.completed"[..]));
        let req = http::Request::builder().header("X-UIP-Delivery-Id", "d").body(()).unwrap();
        assert_eq!(req.header("x-uip-delivery-id"), Some(&b"d"[..]));
        assert_eq!(req.header("x-uip-event"), None);
    }
}
