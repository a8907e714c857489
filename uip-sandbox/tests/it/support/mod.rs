//! Shared helpers of the sandbox's HTTP integration tests: an in-process sandbox per test,
//! raw HTTP calls that keep status, headers and body, and a "browser" for the hosted page.
#![allow(dead_code)]

pub mod delivery;

use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::{Signature, SigningKey, Verifier as _, VerifyingKey};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uip_sandbox::{Sandbox, SandboxBuilder};

/// The longest any test waits for anything.
pub const T: Duration = Duration::from_secs(5);

/// A sandbox with settings that keep tests fast.
pub fn fast() -> SandboxBuilder {
    Sandbox::builder().retry_base(Duration::from_millis(20)).retry_max(Duration::from_millis(200))
}

/// A running sandbox plus an HTTP client and the default business's key.
pub struct Env {
    pub sb: Sandbox,
    pub http: reqwest::Client,
    pub key: String,
}

pub async fn start() -> Env {
    start_with(fast()).await
}

pub async fn start_with(b: SandboxBuilder) -> Env {
    let sb = b.start().await.expect("sandbox starts");
    let key = sb.api_key().expose().to_owned();
    Env { sb, http: reqwest::Client::builder().timeout(T).build().unwrap(), key }
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub bytes: Vec<u8>,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a success and returns the JSON body.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "expected 200, got {}: {}", self.status, self.text);
        &self.body
    }

    /// Asserts an error answer: status and code (any `param`), and the shape.
    #[track_caller]
    pub fn code(&self, status: u16, code: &str) {
        let param = self.body.get("param").and_then(Value::as_str).map(str::to_owned);
        self.err(status, code, param.as_deref());
    }

    /// Asserts an error answer: status, code, param (None = no `param` field), and the shape.
    #[track_caller]
    pub fn err(&self, status: u16, code: &str, param: Option<&str>) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.body["code"], code, "code of {}", self.text);
        assert_eq!(self.body.get("param").and_then(Value::as_str), param, "param of {}", self.text);
        let obj = self.body.as_object().expect("error body is an object");
        assert!(obj["error"].as_str().is_some_and(|e| !e.is_empty()), "error message: {}", self.text);
        for k in obj.keys() {
            assert!(["error", "code", "param"].contains(&k.as_str()), "unexpected error field {k}");
        }
        assert!(
            self.header("content-type").is_some_and(|c| c.starts_with("application/json")),
            "errors are JSON"
        );
    }
}

pub async fn send(rb: reqwest::RequestBuilder) -> Resp {
    let r = rb.send().await.expect("request sent");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.expect("body read").to_vec();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp { status, headers, text, bytes, body }
}

/// Sorted keys of a JSON object.
#[track_caller]
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

#[track_caller]
pub fn assert_keys(v: &Value, expected: &[&str]) {
    let mut e: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    e.sort();
    assert_eq!(keys(v), e, "fields of {v}");
}

pub fn ts(v: &Value) -> chrono::DateTime<chrono::Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("timestamp expected, got {v}"));
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).with_timezone(&chrono::Utc)
}

/// A whole-second RFC 3339 UTC timestamp with `Z`.
#[track_caller]
pub fn assert_secs_ts(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("timestamp expected, got {v}"));
    assert!(s.ends_with('Z') && !s.contains('.') && s.len() == 20, "whole-second timestamp: {s}");
    ts(v);
}

/// RFC 8785 canonical JSON, written independently of the sandbox's own (serde_jcs): keys sorted
/// by UTF-16 code units, no whitespace, JSON string escaping. Enough for the integers, strings,
/// booleans, arrays and objects of audits and claims.
pub fn jcs(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            let inner: Vec<String> =
                entries.iter().map(|(k, v)| format!("{}:{}", Value::String((*k).clone()), jcs(v))).collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(jcs).collect::<Vec<_>>().join(",")),
        Value::Number(n) => {
            assert!(n.is_i64() || n.is_u64(), "only integers are expected: {n}");
            n.to_string()
        }
        other => other.to_string(),
    }
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

pub fn sha256_tagged(b: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(b))
}

pub fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn b64url_decode(s: &str) -> Vec<u8> {
    assert!(!s.contains('='), "base64url is unpadded: {s}");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The device key of a persona, derived independently: seed = SHA-256(persona id).
pub fn persona_key(id: &str) -> VerifyingKey {
    SigningKey::from_bytes(&Sha256::digest(id.as_bytes()).into()).verifying_key()
}

/// Checks a base64url Ed25519 signature over the UTF-8 bytes of `message`.
#[track_caller]
pub fn assert_signature(key: &VerifyingKey, message: &str, sig_b64: &str) {
    let raw = b64url_decode(sig_b64);
    let sig = Signature::from_slice(&raw).expect("64-byte signature");
    key.verify(message.as_bytes(), &sig).expect("signature verifies");
}

/// `sess_` + 24 base62 characters.
pub fn is_session_id(s: &str) -> bool {
    s.strip_prefix("sess_").is_some_and(|r| r.len() == 24 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sb.base_url())
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(&self.key)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path)).bearer_auth(&self.key)
    }

    /// `POST /v1/sessions` with a JSON body, raw.
    pub async fn create_raw(&self, body: &Value) -> Resp {
        send(self.post("/v1/sessions").json(body)).await
    }

    /// `POST /v1/sessions` with this key, raw.
    pub async fn create_as(&self, key: &str, body: &Value) -> Resp {
        send(self.http.post(self.url("/v1/sessions")).bearer_auth(key).json(body)).await
    }

    /// Creates a session and returns its id.
    pub async fn create(&self, body: Value) -> String {
        let r = self.create_raw(&body).await;
        r.ok()["id"].as_str().expect("id").to_owned()
    }

    /// Creates a session with these steps.
    pub async fn create_steps(&self, steps: Value) -> String {
        self.create(json!({ "steps": steps })).await
    }

    pub async fn session(&self, id: &str) -> Value {
        send(self.get(&format!("/v1/sessions/{id}"))).await.ok().clone()
    }

    pub async fn status(&self, id: &str) -> String {
        self.session(id).await["status"].as_str().unwrap().to_owned()
    }

    pub async fn decide(&self, id: &str, what: &str) -> Resp {
        send(self.post(&format!("/v1/sessions/{id}/{what}"))).await
    }

    pub async fn balance(&self) -> u64 {
        let r = send(self.get("/_sandbox/business")).await;
        r.ok()["balance_cents"].as_u64().unwrap()
    }

    pub async fn patch_business(&self, body: Value) -> Value {
        send(self.http.patch(self.url("/_sandbox/business")).bearer_auth(&self.key).json(&body))
            .await
            .ok()
            .clone()
    }

    /// Advances the default business's clock over HTTP.
    pub async fn advance(&self, seconds: i64) {
        send(self.post("/_sandbox/clock/advance").json(&json!({ "seconds": seconds }))).await.ok();
    }

    /// A new business through the control API; returns (credentials, key).
    pub async fn new_business(&self, body: Value) -> (Value, String) {
        let r = send(self.http.post(self.url("/_sandbox/businesses")).json(&body)).await;
        let v = r.ok().clone();
        let key = v["api_key"].as_str().unwrap().to_owned();
        (v, key)
    }

    /// The next delivered event of a session, as its JSON body.
    pub async fn event(&self, id: &str) -> Value {
        self.sb.next_event(id, T).await.unwrap_or_else(|e| panic!("no event for the session: {e}")).to_value()
    }

    /// The event names queued for a session so far, in order.
    pub fn event_names(&self, id: &str) -> Vec<String> {
        self.sb.deliveries(id).into_iter().map(|d| d.event).collect()
    }

    /// A browser for a session's hosted page.
    pub fn browser(&self, id: &str) -> Browser {
        Browser {
            http: self.http.clone(),
            base: self.sb.base_url().to_owned(),
            id: id.to_owned(),
            binding: None,
        }
    }

    /// Opens the page in a new browser and answers every step with the default persona until
    /// the session pauses or ends.
    pub async fn run_user(&self, id: &str) -> Browser {
        let mut b = self.browser(id);
        b.open().await.ok();
        loop {
            let s = b.state().await;
            if s.body["status"] != "in_progress" {
                return b;
            }
            let r = b.share("jane-doe").await;
            assert_eq!(r.ok()["outcome"], "verified");
        }
    }
}

/// The hosted page's transport, as one browser (one binding) uses it.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub id: String,
    pub binding: Option<String>,
}

impl Browser {
    fn url(&self, rest: &str) -> String {
        format!("{}/s/{}{rest}", self.base, self.id)
    }

    fn with_binding(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.binding {
            Some(t) => rb.header("X-UIP-Binding", t),
            None => rb,
        }
    }

    /// `POST /s/{id}/open`; keeps the binding it answers with.
    pub async fn open(&mut self) -> Resp {
        let r = send(self.with_binding(self.http.post(self.url("/open")))).await;
        if r.status == 200 {
            self.binding = Some(r.body["binding"].as_str().expect("binding").to_owned());
        }
        r
    }

    pub async fn state(&self) -> Resp {
        send(self.with_binding(self.http.get(self.url("/state")))).await
    }

    pub async fn request(&self) -> Resp {
        send(self.with_binding(self.http.get(self.url("/request")))).await
    }

    pub async fn document(&self, i: usize) -> Resp {
        send(self.with_binding(self.http.get(self.url(&format!("/documents/{i}"))))).await
    }

    pub async fn respond(&self, body: &Value) -> Resp {
        send(self.with_binding(self.http.post(self.url("/response")).json(body))).await
    }

    /// The active step's nonce.
    pub async fn nonce(&self) -> String {
        let r = self.request().await;
        r.ok()["nonce"].as_str().expect("nonce").to_owned()
    }

    /// Shares a persona from Apple Wallet with the current nonce.
    pub async fn share(&self, persona: &str) -> Resp {
        self.answer("apple-wallet", "share", persona).await
    }

    pub async fn answer(&self, wallet: &str, action: &str, persona: &str) -> Resp {
        let nonce = self.nonce().await;
        self.respond(&json!({"nonce": nonce, "wallet": wallet, "action": action, "persona": persona})).await
    }

    pub async fn decline(&self) -> Resp {
        let nonce = self.nonce().await;
        self.respond(&json!({"nonce": nonce, "wallet": "apple-wallet", "action": "decline"})).await
    }
}

/// A multipart create: the `session` JSON part and `document` parts `(filename, content type, bytes)`.
pub fn multipart(session: &Value, docs: &[(&str, &str, &[u8])]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new().text("session", session.to_string());
    for (name, ct, bytes) in docs {
        let part = reqwest::multipart::Part::bytes(bytes.to_vec())
            .file_name((*name).to_owned())
            .mime_str(ct)
            .expect("content type");
        form = form.part("document", part);
    }
    form
}

impl Env {
    pub async fn create_multipart(&self, session: &Value, docs: &[(&str, &str, &[u8])]) -> Resp {
        send(self.post("/v1/sessions").multipart(multipart(session, docs))).await
    }
}

/// Runs the test `name` (its full path, e.g. `security::some_test`) alone in a fresh process of
/// this test binary, and returns `true` there; in the calling process it waits for that run,
/// asserts that exactly this one test ran and passed, and returns `false`.
///
/// For tests that capture logs: a `tracing` subscriber and its per-callsite interest are
/// process-wide, so in a shared process the capture would mix in other tests' lines, and other
/// tests would run under it.
pub fn alone_in_own_process(name: &str) -> bool {
    const CHILD: &str = "UIP_TEST_ALONE";
    if std::env::var_os(CHILD).is_some_and(|v| v == name) {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(exe)
        .args([name, "--exact", "--test-threads=1", "--include-ignored"])
        .env(CHILD, name)
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed in its own process:\n{stdout}\n{stderr}");
    assert!(stdout.contains("test result: ok. 1 passed"), "{name} did not run in its own process:\n{stdout}");
    false
}
