//! Entry points for the cargo-fuzz targets in `uip-sandbox/fuzz`. Not a public API: hidden from
//! the docs, free to change, and built only under `cfg(fuzzing)` (what `cargo fuzz` sets) or
//! with the `fuzzing` feature.
//!
//! A [`Harness`] is a sandbox without a socket: the real router (middleware, extractors,
//! handlers, service, engine, in-memory store) driven in-process, one request at a time. Each
//! entry point resets the state, runs one fuzz input through the real code path, and checks
//! what came back (it panics on a violated property, which the fuzzer reports as a crash).

use std::sync::Arc;

use axum::body::Body;

use http::{Method, Request};
use serde_json::Value;

use uip_types::sandbox::{OpenResponse, ResponseOutcome, ResponseResult, Trust, WalletResponse};
use uip_types::{ApiErrorBody, AuditRecord, CreatedSession, ErrorCode, SessionStatus, SessionView};

use crate::app::App;
use crate::config::Settings;
use crate::core::{self as uc, SeedBusiness};
use crate::http::Service;
use crate::Shared;

/// The API key of the harness's business.
pub const API_KEY: &str = "uip_test_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfu";
/// The balance the harness's business starts with (enough for any session).
pub const BALANCE: u64 = 1_000_000;

/// The placeholder a page-response input uses for the active step's nonce.
pub const NONCE_PLACEHOLDER: &str = "NONCE";

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> T {
        match serde_json::from_slice(&self.body) {
            Ok(v) => v,
            Err(e) => panic!("{what}: {} {e}: {}", self.status, String::from_utf8_lossy(&self.body)),
        }
    }

    /// Asserts a well-formed error body whose code is answered with this status. With the JSON
    /// `request` that went through serde_path_to_error: `param` is never its placeholder `?`
    /// (unless a field is really named so).
    fn check_error(&self, what: &str, request: Option<&[u8]>) -> ApiErrorBody {
        let body: ApiErrorBody = self.json(what);
        assert!(!body.error.is_empty(), "{what}: empty error message");
        let code = body.code.as_ref().unwrap_or_else(|| panic!("{what}: error body without code"));
        assert_eq!(code.http_status(), Some(self.status), "{what}: code {code} with status {}", self.status);
        if let (Some(request), Some("?")) = (request, body.param.as_deref()) {
            assert!(request.windows(3).any(|w| w == b"\"?\""), "{what}: placeholder param `?`");
        }
        body
    }
}

/// A sandbox's router and state, without a socket or background tasks.
pub struct Harness {
    rt: tokio::runtime::Runtime,
    http: Service,
    shared: Arc<Shared>,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

impl Harness {
    /// A harness with one business (key [`API_KEY`], balance [`BALANCE`], a webhook URL that is
    /// never called: no delivery task runs).
    pub fn new() -> Harness {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => panic!("runtime: {e}"),
        };
        // The composition root, without a socket: nothing listens on this URL, and no task runs.
        let app = match App::build(Settings::default(), ([127, 0, 0, 1], 9).into()) {
            Ok(app) => app,
            Err(e) => panic!("harness: {e}"),
        };
        let h = Harness { rt, http: app.http, shared: app.shared };
        h.reset(Trust::Demo);
        h
    }

    /// Forgets everything but a fresh business of this trust.
    fn reset(&self, trust: Trust) {
        self.shared.clear();
        let seed = SeedBusiness {
            id: "biz_fuzz",
            api_key: API_KEY,
            name: "Fuzz",
            balance_cents: BALANCE,
            webhook_secret: Some("uip_whsec_fuzz"),
            webhook_url: Some("http://127.0.0.1:9/hook".to_owned()),
            trust: Some(trust),
            inbox_url: "http://127.0.0.1:9/_sandbox/inbox".to_owned(),
        };
        if let Err(e) = uc::seed_business(&self.shared, seed) {
            panic!("seed: {e}");
        }
    }

    fn balance(&self) -> u64 {
        match uc::business_view(&self.shared, "biz_fuzz") {
            Ok(b) => b.balance_cents,
            Err(e) => panic!("the harness's business: {e:?}"),
        }
    }

    /// One request through the router.
    pub fn call(&self, method: Method, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match req.body(Body::from(body)) {
            Ok(r) => r,
            // A header value the fuzzer made that `http` refuses never reaches a server.
            Err(_) => return Answer { status: 0, body: Vec::new() },
        };
        self.rt.block_on(async {
            let resp = self.http.call(req).await;
            let status = resp.status().as_u16();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.map(|b| b.to_vec());
            Answer { status, body: body.unwrap_or_default() }
        })
    }

    fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, &[("authorization", &format!("Bearer {API_KEY}"))], Vec::new())
    }

    /// `POST /v1/sessions` with this content type and body, then checks the answer: never a 5xx,
    /// a well-formed error body otherwise, and a created session that reads back. For JSON
    /// bodies the answer must agree with `uip_types::validate::parse_create_session`.
    pub fn create_session(&self, content_type: &str, body: &[u8]) -> Answer {
        self.reset(Trust::Demo);
        let auth = format!("Bearer {API_KEY}");
        let a = self.call(
            Method::POST,
            "/v1/sessions",
            &[("authorization", &auth), ("content-type", content_type)],
            body.to_vec(),
        );
        if a.status == 0 {
            return a;
        }
        assert!(
            [200, 400, 402, 409, 413, 415, 422].contains(&a.status),
            "create answered {}: {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        );
        if a.status == 200 {
            let created: CreatedSession = a.json("create");
            assert_eq!(created.status, SessionStatus::Created);
            let view: SessionView = self.get(&format!("/v1/sessions/{}", created.id)).json("read back");
            assert_eq!(view.status, SessionStatus::Created);
            assert!((1..=20).contains(&view.step_count), "{} steps", view.step_count);
            assert_eq!(view.primitives.len(), view.step_count as usize);
        } else {
            a.check_error("create", None);
        }
        // A header value with bytes outside visible ASCII is not readable as a media type (415).
        let readable = content_type.bytes().all(|b| b == b'\t' || (32..127).contains(&b));
        let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let json_body =
            readable && media == "application/json" && body.len() <= uip_types::validate::MAX_JSON_BODY;
        // A repeated key is refused before any rule uip-types knows (docs/DECISIONS.md §11).
        let repeated_key = json_body && crate::http::refuse_duplicate_keys(body).is_err();
        if repeated_key {
            assert_eq!(a.check_error("create", None).code, Some(ErrorCode::InvalidPayload));
        } else if json_body {
            let expected = serde_json::from_slice::<Value>(body)
                .map_err(|_| None)
                .and_then(|v| uip_types::validate::parse_create_session(&v).map_err(Some));
            match expected {
                Err(None) => assert_eq!(a.check_error("create", None).code, Some(ErrorCode::InvalidPayload)),
                Err(Some(e)) => {
                    let got = a.check_error("create", None);
                    assert_eq!(
                        (got.code, got.param),
                        (Some(e.code), e.param),
                        "server and uip-types disagree"
                    );
                }
                Ok(req) if req.has_sign_step() => assert_eq!(a.status, 400),
                Ok(_) => {
                    assert_eq!(a.status, 200, "valid per uip-types: {}", String::from_utf8_lossy(&a.body))
                }
            }
        }
        a
    }

    /// Creates a session of one of a few shapes (chosen by `shape`), opens it, and posts `body` to
    /// `/s/{id}/response` with every [`NONCE_PLACEHOLDER`] replaced by the active nonce. Checks:
    /// never a 5xx; errors well-formed; a stale nonce is refused; a verified step is charged
    /// once and audited in a valid chain; a decline changes nothing but the nonce; a failure ends
    /// the session with a reason.
    pub fn page_response(&self, shape: u8, body: &[u8]) -> Answer {
        let trust = if shape & 0x80 != 0 { Trust::Production } else { Trust::Demo };
        self.reset(trust);
        let auth = format!("Bearer {API_KEY}");
        let steps = match shape % 6 {
            0 => {
                r#"[{"primitive":"identify","params":{"blocks":["first_name","last_name","dob","country","document_number","portrait","full_name"]}}]"#
            }
            1 => r#"[{"primitive":"age_verify","params":{"min_age":21}}]"#,
            2 => r#"[{"primitive":"light_sign","params":{"terms":"I agree.","title":"Terms"}}]"#,
            3 => r#"[{"primitive":"identify","gate":true},{"primitive":"age_verify"}]"#,
            4 => r#"[{"primitive":"age_verify"},{"primitive":"light_sign","params":{"terms":"t"}}]"#,
            _ => r#"[{"primitive":"sign"}]"#,
        };
        let created = if shape % 6 == 5 {
            let boundary = "fuzzboundary";
            let multipart = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"session\"\r\n\r\n{{\"steps\":{steps}}}\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"a.txt\"\r\n\
                 Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
            );
            let ct = format!("multipart/form-data; boundary={boundary}");
            self.call(
                Method::POST,
                "/v1/sessions",
                &[("authorization", &auth), ("content-type", &ct)],
                multipart.into_bytes(),
            )
        } else {
            self.call(
                Method::POST,
                "/v1/sessions",
                &[("authorization", &auth), ("content-type", "application/json")],
                format!("{{\"steps\":{steps}}}").into_bytes(),
            )
        };
        let created: CreatedSession = created.json("setup create");
        let id = created.id.to_string();
        let open: OpenResponse =
            self.call(Method::POST, &format!("/s/{id}/open"), &[], Vec::new()).json("open");
        let binding = open.binding.expose().to_owned();
        let nonce = self.nonce(&id, &binding);
        let text = String::from_utf8_lossy(body).replace(NONCE_PLACEHOLDER, &nonce);
        let before = self.balance();
        let a = self.call(
            Method::POST,
            &format!("/s/{id}/response"),
            &[("x-uip-binding", &binding), ("content-type", "application/json")],
            text.clone().into_bytes(),
        );
        assert!(
            [200, 400, 409, 413, 422].contains(&a.status),
            "response answered {}: {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        );
        let after = self.balance();
        let view: SessionView = self.get(&format!("/v1/sessions/{id}")).json("read back");
        let audits: Vec<AuditRecord> = (0..view.step_count)
            .map_while(|stage| {
                let r = self.get(&format!("/v1/audits/{id}_{stage}"));
                (r.status == 200).then(|| r.json("audit"))
            })
            .collect();
        if let Err(e) = uip_types::verify_chain(&audits) {
            panic!("audit chain broken: {e}");
        }
        let parsed = serde_json::from_str::<WalletResponse>(&text).ok();
        if a.status != 200 {
            let err = a.check_error("response", Some(text.as_bytes()));
            assert_eq!(before, after, "an error charged the business");
            assert!(audits.is_empty(), "an error wrote an audit");
            if let Some(r) = &parsed {
                if r.nonce != nonce {
                    assert_eq!(
                        err.code,
                        Some(ErrorCode::StaleNonce),
                        "a wrong nonce was not refused as stale"
                    );
                }
            }
            assert_eq!(self.nonce(&id, &binding), nonce, "an error changed the nonce");
            return a;
        }
        let r = parsed.unwrap_or_else(|| panic!("200 for a body that is not a WalletResponse: {text}"));
        assert_eq!(r.nonce, nonce, "a stale nonce was accepted");
        let result: ResponseResult = a.json("response");
        assert_eq!(result.state.status, view.status);
        match result.outcome {
            ResponseOutcome::Verified => {
                let price = view.primitives[0].price_cents().unwrap_or(0);
                assert_eq!(before - after, price, "a verified first step is charged its price once");
                assert_eq!(audits.len(), 1, "a verified step has exactly one audit");
            }
            ResponseOutcome::Declined => {
                assert_eq!(before, after);
                assert!(audits.is_empty());
                assert_eq!(view.status, SessionStatus::InProgress);
                assert_ne!(self.nonce(&id, &binding), nonce, "a decline must issue a fresh nonce");
            }
            ResponseOutcome::Failed => {
                assert_eq!(view.status, SessionStatus::Failed);
                let raw: Value = a.json("response");
                assert!(raw["reason"].as_str().is_some_and(|s| !s.is_empty()), "failure without a reason");
                assert!(audits.is_empty());
                assert_eq!(before, after, "a failed verification charged the business");
            }
        }
        a
    }

    /// The active step's nonce, as the bound page reads it (empty when no step is active).
    fn nonce(&self, id: &str, binding: &str) -> String {
        crate::store::block_on(uc::wallet_request(&self.shared, id, Some(binding)))
            .map(|r| r.nonce)
            .unwrap_or_default()
    }
}
