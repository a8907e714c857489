//! The harness of the end-to-end tests: `uip-client` talks to an in-process `uip-sandbox`,
//! and the sandbox delivers signed webhooks to a real HTTP receiver built on
//! `uip-webhook-verify`.
//!
//! * [`TestReceiver`]: the kit's verifying receiver (`uip_sandbox::TestReceiver`): reads the raw
//!   body, verifies it with a [`Verifier`] (swappable, for secret rotation), drops repeats, and
//!   records the typed events in arrival order, plus every refusal and duplicate.
//! * [`Env`]: a sandbox with short delivery settings whose default business posts to a fresh
//!   receiver, and a [`Client`] pointed at it. The sandbox's control API is its typed one
//!   (`env.sandbox.faults()`, `set_balance`, `rotate_webhook_secret`, `simulate`, …).
//! * [`verify_device_signature`], [`manifest_hash`], [`light_sign_hash`]: the checks an
//!   integrator makes on a signature result, computed independently of the sandbox's code.
#![forbid(unsafe_code)]

use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uip_client::{Client, RetryPolicy};
use uip_sandbox::{Sandbox, SandboxBuilder};
use uip_types::sandbox::PersonaInfo;
use uip_types::{SessionEnded, StepCompleted, WebhookEvent};
use uip_webhook_verify::Verifier;

pub use uip_sandbox::{Received, Rejected, TestReceiver};
pub use uip_webhook_verify;

/// How long a test waits for a webhook before failing.
pub const WAIT: Duration = Duration::from_secs(15);

/// The webhook secret the test sandboxes are seeded with (not the sandbox's default, so that a
/// receiver that verified with the default by mistake would refuse everything).
pub const E2E_SECRET: &str = "uip_whsec_e2e_0123456789abcdefghijklmnop";

/// The path the receiver listens on.
pub const WEBHOOK_PATH: &str = "/uip-webhook";

/// The names of some events (`step.completed[N]` for steps), for assertions.
pub fn names(events: &[WebhookEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            WebhookEvent::StepCompleted(s) => format!("{}[{}]", e.name(), s.stage),
            _ => e.name().to_owned(),
        })
        .collect()
}

/// A sandbox builder with settings that keep a test to seconds: fast webhook retries, a
/// short attempt timeout, the e2e webhook secret.
pub fn fast_sandbox() -> SandboxBuilder {
    Sandbox::builder()
        .webhook_secret(E2E_SECRET)
        .retry_base(Duration::from_millis(25))
        .retry_max(Duration::from_millis(250))
        .retry_horizon(Duration::from_secs(60))
        .delivery_timeout(Duration::from_secs(3))
        .expiry_sweep(Duration::from_millis(100))
}

/// A client for a sandbox's default business, with quick retries.
pub fn client_for(sandbox: &Sandbox) -> Client {
    Client::builder(sandbox.api_key().expose())
        .base_url(sandbox.api_url())
        .timeout(Duration::from_secs(10))
        .retry_policy(RetryPolicy::new(3, Duration::from_millis(20), Duration::from_secs(2)))
        .build()
        .expect("client")
}

/// Client ↔ sandbox ↔ receiver, wired up.
pub struct Env {
    /// The in-process sandbox; its default business posts webhooks to `receiver`.
    pub sandbox: Sandbox,
    /// The test's webhook receiver, verifying with [`E2E_SECRET`].
    pub receiver: TestReceiver,
    /// A client for the default business.
    pub client: Client,
    /// A plain HTTP client for raw business-API requests.
    pub http: reqwest::Client,
}

impl Env {
    /// The default environment (see [`fast_sandbox`]).
    pub async fn start() -> Env {
        Env::with(|b| b).await
    }

    /// An environment whose sandbox is further configured by `configure`.
    pub async fn with(configure: impl FnOnce(SandboxBuilder) -> SandboxBuilder) -> Env {
        let receiver = TestReceiver::builder()
            .path(WEBHOOK_PATH)
            .verifier(Verifier::new(E2E_SECRET).expect("verifier"))
            .start()
            .await;
        let sandbox = configure(fast_sandbox().webhook_url(receiver.url())).start().await.expect("sandbox");
        let client = client_for(&sandbox);
        Env { sandbox, receiver, client, http: reqwest::Client::new() }
    }

    /// A built-in persona, from the sandbox's typed control API.
    pub fn persona(&self, id: &str) -> PersonaInfo {
        self.sandbox.personas().into_iter().find(|p| p.id == id).unwrap_or_else(|| panic!("no persona {id}"))
    }

    /// `POST /v1/sessions` as raw JSON (to see headers such as `Idempotent-Replayed`).
    pub async fn raw_create(&self, body: &Value, idempotency_key: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/sessions", self.sandbox.api_url()))
            .bearer_auth(self.sandbox.api_key().expose())
            .json(body);
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        req.send().await.expect("raw create")
    }
}

/// The `step.completed` payload of an event.
///
/// # Panics
/// When the event is another one.
pub fn step(event: &WebhookEvent) -> &StepCompleted {
    match event {
        WebhookEvent::StepCompleted(s) => s,
        other => panic!("expected step.completed, got {other:?}"),
    }
}

/// The payload of a terminal `session.*` event, checking its name.
///
/// # Panics
/// When the event is another one.
pub fn ended<'a>(event: &'a WebhookEvent, name: &str) -> &'a SessionEnded {
    assert_eq!(event.name(), name, "{event:?}");
    match event {
        WebhookEvent::SessionCompleted(e)
        | WebhookEvent::SessionStopped(e)
        | WebhookEvent::SessionFailed(e)
        | WebhookEvent::SessionExpired(e) => e,
        other => panic!("expected {name}, got {other:?}"),
    }
}

/// Checks a device signature the way an integrator would: Ed25519 by the persona's public key
/// (base64url, as `GET /_sandbox/personas` publishes it) over the UTF-8 bytes of
/// `document_hash`; the signature is base64url without padding.
pub fn verify_device_signature(
    public_key_b64: &str,
    document_hash: &str,
    signature_b64: &str,
) -> Result<(), String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let key: [u8; 32] = b64
        .decode(public_key_b64)
        .map_err(|e| format!("public key is not base64url: {e}"))?
        .try_into()
        .map_err(|_| "public key is not 32 bytes".to_owned())?;
    let key = VerifyingKey::from_bytes(&key).map_err(|e| format!("public key: {e}"))?;
    let sig = b64.decode(signature_b64).map_err(|e| format!("signature is not base64url: {e}"))?;
    let sig = Signature::from_slice(&sig).map_err(|e| format!("signature: {e}"))?;
    key.verify(document_hash.as_bytes(), &sig).map_err(|e| format!("signature does not verify: {e}"))
}

/// The `document_hash` of a `sign` step over these documents in signing order (docs/DECISIONS.md §2):
/// `sha256:` + hex(SHA-256 of the lines `{index}:{sha256_hex}:{size}:{filename}\n`).
pub fn manifest_hash(documents: &[(&str, &[u8])]) -> String {
    let manifest: String = documents
        .iter()
        .enumerate()
        .map(|(i, (name, bytes))| {
            format!("{i}:{}:{}:{name}\n", hex::encode(Sha256::digest(bytes)), bytes.len())
        })
        .collect();
    format!("sha256:{}", hex::encode(Sha256::digest(manifest.as_bytes())))
}

/// The `document_hash` of a `light_sign` step: `sha256:` + hex(SHA-256(terms)).
pub fn light_sign_hash(terms: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(terms.as_bytes())))
}

/// The HTTP status and error code of a refused sandbox call (the hosted page's or the control
/// API's), so that a test asserts exactly how it was refused.
///
/// # Panics
/// When the call succeeded, or failed in another way (transport, timeout).
#[track_caller]
pub fn refusal<T: std::fmt::Debug>(result: Result<T, uip_sandbox::SandboxError>) -> (u16, String) {
    match result {
        Err(uip_sandbox::SandboxError::Api { status, body }) => {
            (status, body.code.map(|c| c.to_string()).unwrap_or_default())
        }
        other => panic!("expected an error answer from the sandbox, got {other:?}"),
    }
}

/// The workspace README's Rust snippets, compiled (and, where they need no server of their own,
/// run) as doctests: a README that no longer builds fails `cargo test`. The Testcontainers snippet
/// needs a crate outside the workspace; .ci/readme-snippets.sh compiles that one.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
