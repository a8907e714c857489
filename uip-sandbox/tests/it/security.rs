//! Security properties of the sandbox, as tests:
//!
//! - business isolation on every keyed route: another business's session, audit, delivery,
//!   redelivery, simulation or inbox answers exactly like an unknown one (404 `resource/not-found`)
//!   and its lists show nothing foreign;
//! - the hosted-page binding cannot be bypassed (another session's token, no token, a guessed one);
//! - binding tokens are 256-bit (base64url of 32 bytes) and stored only as hashes, like API keys;
//! - session ids, API keys, webhook secrets and nonces come from a CSPRNG (format, uniqueness,
//!   character distribution over many samples);
//! - no API key, webhook secret, binding token, session id or session URL appears in the logs at
//!   any level (TRACE, every crate), over a full flow with failures;
//! - the server binds to loopback unless told otherwise, and warns loudly when told otherwise;
//! - bounded work per request (a huge `simulate` cannot hold the sandbox) and strict JSON bodies.

use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uip_sandbox::Sandbox;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// ---------------------------------------------------------------------------------------------
// Log capture: one global TRACE subscriber for this test binary, writing to a buffer.

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("the only global subscriber of this test binary");
        captured
    })
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers.

struct Resp {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
    body: Value,
}

async fn send(req: reqwest::RequestBuilder) -> Resp {
    let resp = req.send().await.expect("the sandbox answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, headers, text, body }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

/// A plain HTTP/1.1 exchange over a fresh TCP connection, without any HTTP library (so the
/// log-capture test sees only what the sandbox logs).
async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("answer in time")
        .unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").expect("a full response");
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let mut payload = out[split + 4..].to_vec();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut decoded = Vec::new();
        let mut rest = &payload[..];
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            decoded.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[eol + 2 + n + 2..];
        }
        payload = decoded;
    }
    (status, head, payload)
}

async fn create(http: &reqwest::Client, base: &str, key: &str, body: Value) -> String {
    let r = send(http.post(format!("{base}/v1/sessions")).bearer_auth(key).json(&body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn new_business(http: &reqwest::Client, base: &str) -> Value {
    let r = send(
        http.post(format!("{base}/_sandbox/businesses"))
            .json(&json!({"webhook_url": format!("{base}/_sandbox/inbox")})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// An unknown session id of the same shape as a real one.
fn unknown_id() -> String {
    format!("sess_{}", "Z".repeat(24))
}

// ---------------------------------------------------------------------------------------------
// Business isolation.

/// Every keyed operation of /openapi.json that names a resource in its path answers another
/// business's resource exactly like an unknown one; the keyed lists show nothing foreign; and the
/// owner's resources are left untouched.
#[tokio::test]
async fn a_key_never_reaches_another_business_resources() {
    let sb = Sandbox::builder().retry_base(Duration::from_millis(20)).start().await.unwrap();
    let base = sb.base_url().to_owned();
    let http = client();
    let a_key = sb.api_key().expose().to_owned();
    // A: a session at a gate, with an audit, deliveries and inbox entries.
    let id = create(
        &http,
        &base,
        &a_key,
        json!({"steps": [{"primitive": "identify", "gate": true}, {"primitive": "age_verify"}], "client_reference_id": "a-secret-ref"}),
    )
    .await;
    let r = send(http.post(format!("{base}/_sandbox/sessions/{id}/simulate")).bearer_auth(&a_key)).await;
    assert_eq!(r.body["status"], "awaiting_decision", "{}", r.text);
    sb.next_event(&id, Duration::from_secs(10)).await.expect("A's step.completed is delivered");
    let a_view = send(http.get(format!("{base}/v1/sessions/{id}")).bearer_auth(&a_key)).await.body;
    let a_business = send(http.get(format!("{base}/_sandbox/business")).bearer_auth(&a_key)).await.body;
    let a_delivery_id = format!("{id}:step.completed:0");

    let b = new_business(&http, &base).await;
    let b_key = b["api_key"].as_str().unwrap().to_owned();
    let unknown = unknown_id();

    let doc = send(http.get(format!("{base}/openapi.json"))).await.body;
    let mut covered = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let keyed =
                op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("apiKey").is_some()));
            if !keyed || !path.contains('{') {
                continue;
            }
            let concrete = |sid: &str| {
                path.replace("{delivery_id}", &format!("{sid}:step.completed:0")).replace(
                    "{id}",
                    &if path.starts_with("/v1/audits") { format!("{sid}_0") } else { sid.to_owned() },
                )
            };
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let foreign =
                send(http.request(m.clone(), format!("{base}{}", concrete(&id))).bearer_auth(&b_key)).await;
            let missing =
                send(http.request(m, format!("{base}{}", concrete(&unknown))).bearer_auth(&b_key)).await;
            assert_eq!(foreign.status, 404, "{method} {path} with another business's key: {}", foreign.text);
            assert_eq!(foreign.body["code"], "resource/not-found");
            assert_eq!(foreign.text, missing.text, "{method} {path}: a foreign resource is distinguishable");
            assert_eq!(foreign.headers.get("content-type"), missing.headers.get("content-type"));
            assert!(!foreign.text.contains("a-secret-ref"));
            covered.insert(format!("{} {path}", method.to_uppercase()), ());
        }
    }
    for must in [
        "GET /v1/sessions/{id}",
        "POST /v1/sessions/{id}/continue",
        "POST /v1/sessions/{id}/stop",
        "GET /v1/audits/{id}",
        "POST /_sandbox/deliveries/{delivery_id}/redeliver",
        "POST /_sandbox/sessions/{id}/simulate",
    ] {
        assert!(covered.contains_key(must), "{must} was not probed: {covered:?}");
    }

    // An Idempotency-Key is scoped to its business: the same key and body from B is a new
    // session of B's, never a replay of A's (which would hand B A's capability URL).
    let body = json!({"steps": [{"primitive": "age_verify"}]});
    let idem = |k: &str| {
        http.post(format!("{base}/v1/sessions"))
            .bearer_auth(k)
            .header("idempotency-key", "shared-key-1")
            .json(&body)
    };
    let a_created = send(idem(&a_key)).await;
    let b_created = send(idem(&b_key)).await;
    assert_eq!((a_created.status, b_created.status), (200, 200), "{} / {}", a_created.text, b_created.text);
    assert!(b_created.headers.get("idempotent-replayed").is_none(), "B got a replay of A's create");
    assert_ne!(a_created.body["id"], b_created.body["id"]);
    assert_ne!(a_created.body["url"], b_created.body["url"]);

    // The lists: B sees none of A's deliveries or inbox entries, filtered or not.
    for q in [format!("?session_id={id}"), String::new()] {
        let r = send(http.get(format!("{base}/_sandbox/deliveries{q}")).bearer_auth(&b_key)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["deliveries"], json!([]), "B sees A's deliveries: {}", r.text);
    }
    let r = send(http.get(format!("{base}/_sandbox/inbox")).bearer_auth(&b_key)).await;
    assert_eq!(r.body["received"], json!([]), "B sees A's inbox: {}", r.text);
    let r =
        send(http.get(format!("{base}/_sandbox/inbox")).bearer_auth(&b_key).header("accept", "text/html"))
            .await;
    assert!(!r.text.contains(&id), "B's inbox page shows A's session");
    // A still sees its own.
    let r = send(http.get(format!("{base}/_sandbox/deliveries?session_id={id}")).bearer_auth(&a_key)).await;
    assert_eq!(r.body["deliveries"][0]["delivery_id"], a_delivery_id.as_str());

    // B changing its own settings, clock and faults leaves A alone (each change is accepted).
    let patched = send(
        http.patch(format!("{base}/_sandbox/business"))
            .bearer_auth(&b_key)
            .json(&json!({"balance_cents": 1, "rotate_webhook_secret": true, "webhook_url": null})),
    )
    .await;
    assert_eq!(patched.status, 200, "B's PATCH: {}", patched.text);
    assert_eq!(patched.body["balance_cents"], 1, "{}", patched.text);
    let advanced = send(
        http.post(format!("{base}/_sandbox/clock/advance"))
            .bearer_auth(&b_key)
            .json(&json!({"seconds": 31536000})),
    )
    .await;
    assert_eq!(advanced.status, 200, "B's clock advance: {}", advanced.text);
    let armed = send(
        http.post(format!("{base}/_sandbox/faults"))
            .bearer_auth(&b_key)
            .json(&json!({"fail_next": 5, "with": 500})),
    )
    .await;
    assert_eq!((armed.status, &armed.body["fail_next"]), (200, &json!(5)), "B's faults: {}", armed.text);
    let after = send(http.get(format!("{base}/v1/sessions/{id}")).bearer_auth(&a_key)).await;
    assert_eq!(after.status, 200, "A's request failed after B armed faults: {}", after.text);
    assert_eq!(after.body, a_view, "another business's calls changed A's session");
    let a_business_after = send(http.get(format!("{base}/_sandbox/business")).bearer_auth(&a_key)).await.body;
    assert_eq!(a_business_after, a_business);
    // And A can still decide: nothing B did moved it.
    let r = send(http.post(format!("{base}/v1/sessions/{id}/continue")).bearer_auth(&a_key)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // B's faults are armed for B: its next request meets one.
    let b_next = send(http.get(format!("{base}/v1/sessions/{}", unknown_id())).bearer_auth(&b_key)).await;
    assert_eq!(
        (b_next.status, b_next.body["code"].as_str()),
        (500, Some("internal/server-error")),
        "{}",
        b_next.text
    );
}

/// Unknown, missing and malformed keys are refused before anything else; a key is never echoed.
#[tokio::test]
async fn keys_are_checked_and_never_echoed() {
    let sb = Sandbox::start().await;
    let base = sb.base_url().to_owned();
    let http = client();
    let r = send(http.get(format!("{base}/v1/sessions/{}", unknown_id()))).await;
    assert_eq!((r.status, r.body["code"].as_str()), (401, Some("auth/missing-api-key")));
    for bad in ["uip_test_sandboX", "uip_test_sandbox2", "uip_test_sandbo", "", "UIP_TEST_SANDBOX"] {
        let r = send(
            http.get(format!("{base}/v1/catalog"))
                .header("authorization", format!("Bearer {bad}").trim_end().to_owned()),
        )
        .await;
        assert_eq!(r.status, 401, "{bad:?}: {}", r.text);
    }
    let r = send(http.get(format!("{base}/_sandbox/business")).bearer_auth(sb.api_key().expose())).await;
    assert!(!r.text.contains(sb.api_key().expose()), "the API key is echoed: {}", r.text);
    assert!(r.body.get("api_key").is_none());
}

// ---------------------------------------------------------------------------------------------
// Binding.

#[tokio::test]
async fn the_binding_cannot_be_bypassed() {
    let sb = Sandbox::start().await;
    let base = sb.base_url().to_owned();
    let http = client();
    let key = sb.api_key().expose().to_owned();
    let steps = json!({"steps": [{"primitive": "light_sign", "params": {"terms": "t"}}]});
    let x = create(&http, &base, &key, steps.clone()).await;
    let y = create(&http, &base, &key, steps).await;
    let open = |id: &str| http.post(format!("{base}/s/{id}/open"));
    let tx = send(open(&x)).await.body["binding"].as_str().unwrap().to_owned();
    let ty = send(open(&y)).await.body["binding"].as_str().unwrap().to_owned();
    let nonce_y = send(http.get(format!("{base}/s/{y}/request")).header("x-uip-binding", &ty)).await.body
        ["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    let response_body = json!({"nonce": nonce_y, "wallet": "apple-wallet", "action": "share"});

    // Every bound route of y, with: x's token (header and cookie), no token, guesses.
    let mut attempts: Vec<(String, Option<(&str, String)>)> = vec![
        ("x's token as header".into(), Some(("x-uip-binding", tx.clone()))),
        ("x's token as cookie".into(), Some(("cookie", format!("uip_bind={tx}")))),
        ("no token".into(), None),
        ("empty header".into(), Some(("x-uip-binding", String::new()))),
        ("y's token truncated".into(), Some(("x-uip-binding", ty[..42].to_owned()))),
        ("y's token extended".into(), Some(("x-uip-binding", format!("{ty}A")))),
        ("y's token upper-cased".into(), Some(("x-uip-binding", ty.to_uppercase()))),
        ("y's token hash".into(), Some(("x-uip-binding", hex::encode(Sha256::digest(ty.as_bytes()))))),
        ("cookie of another name".into(), Some(("cookie", format!("uip_bind_x={ty}")))),
    ];
    for i in 0..200u32 {
        let mut guess = [0u8; 32];
        guess[..4].copy_from_slice(&i.to_be_bytes());
        rand_fill(&mut guess[4..]);
        attempts.push((format!("guess {i}"), Some(("x-uip-binding", B64.encode(guess)))));
    }
    for (what, header) in &attempts {
        for (method, rest, body) in [
            ("POST", "/open", None),
            ("GET", "/state", None),
            ("GET", "/request", None),
            ("GET", "/documents/0", None),
            ("POST", "/response", Some(&response_body)),
        ] {
            let mut req = http.request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{base}/s/{y}{rest}"),
            );
            if let Some((k, v)) = header {
                req = req.header(*k, v);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let r = send(req).await;
            assert_eq!(r.status, 409, "{what}: {method} {rest} answered {}: {}", r.status, r.text);
            assert_eq!(r.body["code"], "session/bound-elsewhere");
            assert!(r.headers.get("set-cookie").is_none(), "{what}: a refusal set a cookie");
        }
        if what.starts_with("guess") && what != "guess 0" {
            continue; // the page itself: checked for a few.
        }
        let mut req = http.get(format!("{base}/s/{y}"));
        if let Some((k, v)) = header {
            req = req.header(*k, v);
        }
        let r = send(req).await;
        assert_eq!(r.status, 409, "{what}: the page of a bound session");
        assert!(r.text.contains("another device"));
    }
    // Nothing of that moved y: its own browser still answers with the same nonce.
    let r = send(
        http.post(format!("{base}/s/{y}/response"))
            .header("cookie", format!("uip_bind={ty}"))
            .json(&response_body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["outcome"], "verified");
    // x's own token still works on x only.
    let r = send(http.get(format!("{base}/s/{x}/state")).header("x-uip-binding", &tx)).await;
    assert_eq!(r.status, 200);
}

fn rand_fill(buf: &mut [u8]) {
    // Test-side randomness for guesses: any source will do (it is not what is being tested).
    let mut h = Sha256::digest(format!("{:?}{:?}", Instant::now(), std::thread::current().id()).as_bytes());
    for chunk in buf.chunks_mut(32) {
        chunk.copy_from_slice(&h[..chunk.len()]);
        h = Sha256::digest(h);
    }
}

#[tokio::test]
async fn the_binding_cookie_is_scoped_and_http_only() {
    let sb = Sandbox::start().await;
    let base = sb.base_url().to_owned();
    let http = client();
    let id = create(&http, &base, sb.api_key().expose(), json!({"steps": [{"primitive": "identify"}]})).await;
    let r = send(http.post(format!("{base}/s/{id}/open"))).await;
    let cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap().to_owned();
    let token = r.body["binding"].as_str().unwrap();
    assert_eq!(cookie, format!("uip_bind={token}; HttpOnly; SameSite=Strict; Path=/s/{id}"));
    // The page: no caching, no referrer, a strict CSP, no framing.
    let page = send(http.get(format!("{base}/s/{id}")).header("cookie", format!("uip_bind={token}"))).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{csp}");
}

// ---------------------------------------------------------------------------------------------
// Tokens and identifiers.

fn base62_chi_square(samples: &[&str]) -> f64 {
    let mut counts = [0u64; 62];
    let mut n = 0u64;
    for s in samples {
        for c in s.chars() {
            counts[BASE62.find(c).unwrap_or_else(|| panic!("{c:?} is not base62"))] += 1;
            n += 1;
        }
    }
    let expected = n as f64 / 62.0;
    counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum()
}

/// χ² with 61 degrees of freedom: mean 61, sd 11; 130 is beyond p = 10⁻⁶.
const CHI2_LIMIT: f64 = 130.0;

#[tokio::test]
async fn binding_tokens_are_256_bit_random_and_stored_only_as_hashes() {
    let dir = temp_dir("hashes");
    let db = dir.join("sandbox.db");
    let sb = Sandbox::builder()
        .database(&db)
        .api_key("uip_test_hashcheckhashcheckhashcheck01")
        .start()
        .await
        .unwrap();
    let base = sb.base_url().to_owned();
    let http = client();
    let key = sb.api_key().expose().to_owned();
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..128 {
        let id = create(&http, &base, &key, json!({"steps": [{"primitive": "age_verify"}]})).await;
        let t =
            send(http.post(format!("{base}/s/{id}/open"))).await.body["binding"].as_str().unwrap().to_owned();
        tokens.push(t);
        ids.push(id);
    }
    let mut ones = 0u64;
    for t in &tokens {
        assert_eq!(t.len(), 43, "{t}");
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "not base64url: {t}");
        let raw = B64.decode(t).expect("base64url without padding");
        assert_eq!(raw.len(), 32, "a binding token carries 256 bits");
        ones += raw.iter().map(|b| u64::from(b.count_ones())).sum::<u64>();
    }
    assert_eq!(tokens.iter().collect::<HashSet<_>>().len(), tokens.len(), "a token repeated");
    let bits = tokens.len() as f64 * 256.0;
    let share = ones as f64 / bits;
    assert!((0.48..0.52).contains(&share), "bit balance {share}");
    sb.shutdown().await;

    // The database holds hashes of the API key and the tokens, never them.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let contains = |needle: &[u8]| stored.windows(needle.len()).any(|w| w == needle);
    assert!(contains(hex::encode(Sha256::digest(key.as_bytes())).as_bytes()), "the key's hash is stored");
    assert!(!contains(key.as_bytes()), "the API key is stored in clear");
    for t in &tokens[..16] {
        assert!(contains(hex::encode(Sha256::digest(t.as_bytes())).as_bytes()), "the token's hash is stored");
        assert!(!contains(t.as_bytes()), "a binding token is stored in clear");
    }
    assert!(contains(ids[0].as_bytes()), "sanity: the database was read");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn session_ids_secrets_and_nonces_come_from_a_csprng() {
    let sb = Sandbox::start().await;
    let base = sb.base_url().to_owned();
    let http = client();
    let key = sb.api_key().expose().to_owned();
    // Session ids: `sess_` + 24 base62, all distinct, characters uniform, every position varying.
    let mut ids = Vec::new();
    for _ in 0..600 {
        ids.push(create(&http, &base, &key, json!({"steps": [{"primitive": "identify"}]})).await);
    }
    let tails: Vec<&str> = ids
        .iter()
        .map(|id| {
            assert!(uip_types::SessionId::is_well_formed(id), "{id}");
            &id[5..]
        })
        .collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    let chi2 = base62_chi_square(&tails);
    assert!(chi2 < CHI2_LIMIT, "session id characters are not uniform: χ² = {chi2}");
    for pos in 0..24 {
        let distinct: HashSet<char> = tails.iter().map(|t| t.as_bytes()[pos] as char).collect();
        assert!(distinct.len() >= 50, "position {pos} takes only {} values", distinct.len());
    }
    // API keys and webhook secrets of new businesses, and rotated secrets.
    let mut keys = Vec::new();
    let mut secrets = Vec::new();
    for _ in 0..150 {
        let b = new_business(&http, &base).await;
        keys.push(b["api_key"].as_str().unwrap().to_owned());
        secrets.push(b["webhook_secret"].as_str().unwrap().to_owned());
    }
    for _ in 0..50 {
        let r = send(
            http.patch(format!("{base}/_sandbox/business"))
                .bearer_auth(&keys[0])
                .json(&json!({"rotate_webhook_secret": true})),
        )
        .await;
        secrets.push(r.body["webhook_secret"].as_str().unwrap().to_owned());
    }
    for (list, prefix) in [(&keys, "uip_test_"), (&secrets, "uip_whsec_")] {
        let tails: Vec<&str> = list
            .iter()
            .map(|k| {
                let t = k.strip_prefix(prefix).unwrap_or_else(|| panic!("{k} lacks {prefix}"));
                assert_eq!(t.len(), 32, "{k}");
                t
            })
            .collect();
        assert_eq!(list.iter().collect::<HashSet<_>>().len(), list.len(), "a {prefix} value repeated");
        let chi2 = base62_chi_square(&tails);
        assert!(chi2 < CHI2_LIMIT, "{prefix} characters are not uniform: χ² = {chi2}");
    }
    // Nonces: base64url of 16 bytes, fresh on every decline.
    let id = &ids[0];
    let t = send(http.post(format!("{base}/s/{id}/open"))).await.body["binding"].as_str().unwrap().to_owned();
    let mut nonces = HashSet::new();
    for _ in 0..100 {
        let n = send(http.get(format!("{base}/s/{id}/request")).header("x-uip-binding", &t)).await.body
            ["nonce"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(B64.decode(&n).expect("base64url").len(), 16, "{n}");
        assert!(nonces.insert(n.clone()), "a nonce repeated");
        let r = send(
            http.post(format!("{base}/s/{id}/response"))
                .header("x-uip-binding", &t)
                .json(&json!({"nonce": n, "wallet": "apple-wallet", "action": "decline"})),
        )
        .await;
        assert_eq!(r.body["outcome"], "declined");
    }
}

// ---------------------------------------------------------------------------------------------
// Logs.

/// What each call of the log test answers, in order: the successes and every failure path.
const EXPECTED_ANSWERS: &[(&str, u16, &str)] = &[
    ("POST", 200, ""),
    ("POST", 200, ""),
    ("POST", 200, ""),
    ("POST", 200, ""),
    ("GET", 401, "auth/invalid-api-key"),            // bad key
    ("GET", 404, "resource/not-found"),              // unknown id
    ("POST", 400, "request/invalid-payload"),        // malformed body
    ("POST", 415, "request/unsupported-media-type"), // wrong media type
    ("POST", 409, "session/not-awaiting-decision"),  // continue before the gate
    ("GET", 200, ""),
    ("POST", 409, "session/bound-elsewhere"), // open: bound elsewhere
    ("GET", 200, ""),
    ("GET", 200, ""),
    ("POST", 200, ""),
    ("POST", 409, "session/stale-nonce"), // stale nonce
    ("GET", 200, ""),
    ("POST", 400, "request/invalid-payload"), // a wallet that cannot answer
    ("POST", 200, ""),
    ("GET", 200, ""),
    ("POST", 200, ""),
    ("GET", 200, ""),
    ("POST", 200, ""),
    ("POST", 200, ""),
    ("GET", 200, ""),
    ("GET", 200, ""),
    ("POST", 200, ""),
    ("GET", 410, "session/documents-purged"), // documents after the end
    ("POST", 200, ""),
    ("POST", 409, "session/not-awaiting-decision"), // stop too late
    ("POST", 200, ""),
    ("POST", 200, ""),
    ("POST", 200, ""),
    ("GET", 200, ""),
    ("GET", 200, ""),
    ("POST", 400, "webhook/missing_header"), // an unsigned inbox post
    ("PATCH", 200, ""),
    ("POST", 409, "session/not-awaiting-decision"), // continue on a finished session
    ("POST", 200, ""),
    ("POST", 200, ""),
    ("POST", 200, ""),
];

/// A full flow with failures, through a plain TCP client, under a TRACE subscriber for every
/// crate: no secret, token, id or capability URL shows up in any log line.
#[tokio::test]
async fn no_secret_token_or_session_id_appears_in_the_logs() {
    // Alone in a process: the capture then holds this test's lines only.
    if !crate::support::alone_in_own_process("security::no_secret_token_or_session_id_appears_in_the_logs") {
        return;
    }
    let logs = logs();
    let api_key = "uip_test_LOGCHECKlogcheckLOGCHECKlogcheck1";
    let secret = "uip_whsec_LOGCHECKlogcheckLOGCHECKlogchec";
    // A receiver that fails, so delivery retries and errors are logged too.
    let failing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let failing_addr = failing.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = failing.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            });
        }
    });
    let dir = temp_dir("logs");
    let sb = Sandbox::builder()
        .api_key(api_key)
        .webhook_secret(secret)
        .database(dir.join("sandbox.db"))
        .retry_base(Duration::from_millis(10))
        .retry_max(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let addr = sb.address();
    let auth = format!("Bearer {api_key}");
    let json_ct = ("content-type", "application/json");
    let mut secrets: Vec<String> = vec![api_key.into(), secret.into()];

    // Every call's answer, as (method, status, code), checked at the end: each failure path
    // must have run and failed the way it should.
    let answers: Mutex<Vec<(&'static str, u16, String)>> = Mutex::new(Vec::new());
    let call = |method: &'static str, path: String, headers: Vec<(&'static str, String)>, body: Vec<u8>| {
        let answers = &answers;
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, head, body) = raw(addr, method, &path, &h, &body).await;
            let code = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_owned))
                .unwrap_or_default();
            answers.lock().unwrap().push((method, status, code));
            (status, head, body)
        }
    };
    let json_of = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap_or(Value::Null);

    // Creates: JSON (gated, then another to fail), and multipart with a document.
    let mk = |steps: Value| serde_json::to_vec(&json!({"steps": steps, "metadata": {"k": "v"}})).unwrap();
    let (st, _, b) = call("POST", "/v1/sessions".into(), vec![("authorization", auth.clone()), (json_ct.0, json_ct.1.into())], mk(json!([{"primitive": "identify", "gate": true}, {"primitive": "light_sign", "params": {"terms": "t"}}]))).await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    let created = json_of(&b);
    let id1 = created["id"].as_str().unwrap().to_owned();
    secrets.push(created["url"].as_str().unwrap().to_owned());
    let (_, _, b) = call(
        "POST",
        "/v1/sessions".into(),
        vec![
            ("authorization", auth.clone()),
            (json_ct.0, json_ct.1.into()),
            ("idempotency-key", "k1".into()),
        ],
        mk(json!([{"primitive": "age_verify"}])),
    )
    .await;
    let id2 = json_of(&b)["id"].as_str().unwrap().to_owned();
    let (_, _, b) = call(
        "POST",
        "/v1/sessions".into(),
        vec![
            ("authorization", auth.clone()),
            (json_ct.0, json_ct.1.into()),
            ("idempotency-key", "k1".into()),
        ],
        mk(json!([{"primitive": "age_verify"}])),
    )
    .await;
    assert_eq!(json_of(&b)["id"], id2.as_str(), "an idempotent replay");
    let boundary = "LOGBOUNDARY";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"session\"\r\n\r\n{{\"steps\":[{{\"primitive\":\"sign\"}}]}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"contract.txt\"\r\n\r\nsign me\r\n--{boundary}--\r\n"
    );
    let (st, _, b) = call(
        "POST",
        "/v1/sessions".into(),
        vec![
            ("authorization", auth.clone()),
            ("content-type", format!("multipart/form-data; boundary={boundary}")),
        ],
        multipart.into_bytes(),
    )
    .await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    let id3 = json_of(&b)["id"].as_str().unwrap().to_owned();
    // Failing requests: bad key, foreign/unknown id, bad body, bad media type, too large.
    call(
        "GET",
        format!("/v1/sessions/{id1}"),
        vec![("authorization", "Bearer uip_test_wrong".into())],
        vec![],
    )
    .await;
    call("GET", format!("/v1/sessions/{}", unknown_id()), vec![("authorization", auth.clone())], vec![])
        .await;
    call(
        "POST",
        "/v1/sessions".into(),
        vec![("authorization", auth.clone()), (json_ct.0, json_ct.1.into())],
        b"{\"steps\": [".to_vec(),
    )
    .await;
    call(
        "POST",
        "/v1/sessions".into(),
        vec![("authorization", auth.clone()), ("content-type", "text/plain".into())],
        b"x".to_vec(),
    )
    .await;
    call("POST", format!("/v1/sessions/{id1}/continue"), vec![("authorization", auth.clone())], vec![]).await;

    // The page of session 1: open (twice: once refused), state, request, decline, share, a stale
    // nonce, a wrong wallet; then continue, and a failing persona on the next step.
    let (_, head, b) = call("GET", format!("/s/{id1}"), vec![], vec![]).await;
    assert!(head.contains("uip_bind="), "the page bound the session");
    let token1 = head.split("uip_bind=").nth(1).unwrap().split(';').next().unwrap().to_owned();
    assert!(!b.is_empty());
    secrets.push(token1.clone());
    let bind = |t: &str| vec![("x-uip-binding", t.to_owned()), (json_ct.0, json_ct.1.into())];
    call("POST", format!("/s/{id1}/open"), vec![], vec![]).await; // 409: bound elsewhere
    call("GET", format!("/s/{id1}/state"), bind(&token1), vec![]).await;
    let (_, _, b) = call("GET", format!("/s/{id1}/request"), bind(&token1), vec![]).await;
    let nonce = json_of(&b)["nonce"].as_str().unwrap().to_owned();
    let answer = |n: &str, action: &str, persona: &str, wallet: &str| {
        serde_json::to_vec(&json!({"nonce": n, "wallet": wallet, "action": action, "persona": persona}))
            .unwrap()
    };
    call(
        "POST",
        format!("/s/{id1}/response"),
        bind(&token1),
        answer(&nonce, "decline", "jane-doe", "apple-wallet"),
    )
    .await;
    call(
        "POST",
        format!("/s/{id1}/response"),
        bind(&token1),
        answer(&nonce, "share", "jane-doe", "apple-wallet"),
    )
    .await; // stale
    let (_, _, b) = call("GET", format!("/s/{id1}/request"), bind(&token1), vec![]).await;
    let nonce = json_of(&b)["nonce"].as_str().unwrap().to_owned();
    call(
        "POST",
        format!("/s/{id1}/response"),
        bind(&token1),
        answer(&nonce, "share", "jane-doe", "nokia-wallet"),
    )
    .await;
    let (st, _, _) = call(
        "POST",
        format!("/s/{id1}/response"),
        bind(&token1),
        answer(&nonce, "share", "jane-doe", "apple-wallet"),
    )
    .await;
    assert_eq!(st, 200);
    call("GET", format!("/v1/audits/{id1}_0"), vec![("authorization", auth.clone())], vec![]).await;
    call("POST", format!("/v1/sessions/{id1}/continue"), vec![("authorization", auth.clone())], vec![]).await;
    let (_, _, b) = call("GET", format!("/s/{id1}/request"), bind(&token1), vec![]).await;
    let nonce = json_of(&b)["nonce"].as_str().unwrap().to_owned();
    call(
        "POST",
        format!("/s/{id1}/response"),
        bind(&token1),
        answer(&nonce, "share", "tampered", "apple-wallet"),
    )
    .await;
    // Session 3 (sign): open, the document, share; session 2: simulated, then stopped too late.
    let (_, _, b) = call("POST", format!("/s/{id3}/open"), vec![], vec![]).await;
    let token3 = json_of(&b)["binding"].as_str().unwrap().to_owned();
    secrets.push(token3.clone());
    call("GET", format!("/s/{id3}/documents/0"), bind(&token3), vec![]).await;
    let (_, _, b) = call("GET", format!("/s/{id3}/request"), bind(&token3), vec![]).await;
    let nonce = json_of(&b)["nonce"].as_str().unwrap().to_owned();
    call(
        "POST",
        format!("/s/{id3}/response"),
        bind(&token3),
        answer(&nonce, "share", "jane-doe", "apple-wallet"),
    )
    .await;
    call("GET", format!("/s/{id3}/documents/0"), bind(&token3), vec![]).await; // 410
    call(
        "POST",
        format!("/_sandbox/sessions/{id2}/simulate"),
        vec![("authorization", auth.clone()), (json_ct.0, json_ct.1.into())],
        br#"{"persona":"minor"}"#.to_vec(),
    )
    .await;
    call("POST", format!("/v1/sessions/{id2}/stop"), vec![("authorization", auth.clone())], vec![]).await;
    // Deliveries: wait for the inbox, redeliver with faults, then send to a failing receiver.
    sb.next_event(&id1, Duration::from_secs(10)).await.unwrap();
    for fault in ["bad_signature", "stale_timestamp", "duplicate"] {
        let path = format!(
            "/_sandbox/deliveries/{}/redeliver",
            format!("{id1}:step.completed:0").replace(':', "%3A")
        );
        call(
            "POST",
            path,
            vec![("authorization", auth.clone()), (json_ct.0, json_ct.1.into())],
            serde_json::to_vec(&json!({"fault": fault})).unwrap(),
        )
        .await;
    }
    call(
        "GET",
        format!("/_sandbox/deliveries?session_id={id1}"),
        vec![("authorization", auth.clone())],
        vec![],
    )
    .await;
    call(
        "GET",
        "/_sandbox/inbox".into(),
        vec![("authorization", auth.clone()), ("accept", "text/html".into())],
        vec![],
    )
    .await;
    call(
        "POST",
        "/_sandbox/inbox".into(),
        vec![(json_ct.0, json_ct.1.into())],
        serde_json::to_vec(&json!({"event": "session.completed", "data": {"session_id": id1}})).unwrap(),
    )
    .await;
    let (_, _, b) = call(
        "PATCH",
        "/_sandbox/business".into(),
        vec![("authorization", auth.clone()), (json_ct.0, json_ct.1.into())],
        serde_json::to_vec(
            &json!({"rotate_webhook_secret": true, "webhook_url": format!("http://{failing_addr}/hook")}),
        )
        .unwrap(),
    )
    .await;
    secrets.push(json_of(&b)["webhook_secret"].as_str().unwrap().to_owned());
    call("POST", format!("/v1/sessions/{id2}/continue"), vec![("authorization", auth.clone())], vec![]).await;
    let id4_body = mk(json!([{"primitive": "age_verify"}]));
    let (_, _, b) = call(
        "POST",
        "/v1/sessions".into(),
        vec![("authorization", auth.clone()), (json_ct.0, json_ct.1.into())],
        id4_body,
    )
    .await;
    let id4 = json_of(&b)["id"].as_str().unwrap().to_owned();
    call("POST", format!("/_sandbox/sessions/{id4}/simulate"), vec![("authorization", auth.clone())], vec![])
        .await;
    call(
        "POST",
        "/_sandbox/clock/advance".into(),
        vec![("authorization", auth.clone()), (json_ct.0, json_ct.1.into())],
        br#"{"seconds": 90000}"#.to_vec(),
    )
    .await;
    sb.sweep_expired();
    // The failing receiver is tried (and the failure logged).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sb.deliveries(&id4).iter().any(|d| d.attempts.iter().any(|a| a.status_code == Some(500))) {
        assert!(Instant::now() < deadline, "the failing receiver was never tried: {:?}", sb.deliveries(&id4));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sb.shutdown().await;

    let answers: Vec<(&str, u16, String)> = std::mem::take(&mut *answers.lock().unwrap());
    let answers: Vec<(&str, u16, &str)> = answers.iter().map(|(m, s, c)| (*m, *s, c.as_str())).collect();
    assert_eq!(answers, EXPECTED_ANSWERS, "the flow's calls did not answer as planned");

    let captured = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    // Every call, failures included, produced its request line.
    for (method, status, _) in &answers {
        let (m, st) = (format!("method={method}"), format!("status={status}"));
        assert!(
            captured.lines().any(|l| l.contains(" request ") && l.contains(&m) && l.contains(&st)),
            "no request line for a {method} answered {status}"
        );
    }
    assert!(captured.contains("route=/s/{id}/response"), "the capture works and request lines are logged");
    assert!(captured.lines().count() > 50, "TRACE logging is on");
    assert!(captured.contains(" TRACE "), "TRACE events are captured");
    let mut needles: Vec<(String, String)> =
        secrets.iter().map(|s| ("secret".to_owned(), s.clone())).collect();
    for id in [&id1, &id2, &id3, &id4] {
        needles.push(("session id".into(), id.clone()));
        // The random part alone, in case an id is logged cut or encoded.
        needles.push(("session id tail".into(), id[5..].to_owned()));
    }
    for (what, needle) in &needles {
        if let Some(line) = captured.lines().find(|l| l.contains(needle.as_str())) {
            panic!("a {what} appears in the logs: {line}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Listening address.

#[tokio::test]
async fn the_sandbox_binds_to_loopback_by_default() {
    let sb = Sandbox::start().await;
    assert!(sb.address().ip().is_loopback(), "{}", sb.address());
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_uip-sandbox")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("[default: 127.0.0.1:8787]"), "the CLI's default listen address: {help}");
}

/// Runs the binary with these listen arguments until it prints its URL; returns stderr then.
fn run_binary(listen: &str) -> (String, String) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_uip-sandbox"))
        .args(["--listen", listen, "--expiry-sweep-ms", "0"])
        .env_remove("RUST_LOG")
        .env_remove("UIP_SANDBOX_LISTEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut url = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(u) = line.strip_prefix("UIP_SANDBOX_URL=") {
            url = u.to_owned();
            break;
        }
        assert!(Instant::now() < deadline, "no URL line");
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    (url, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn binding_elsewhere_than_loopback_is_announced_loudly() {
    let (url, stderr) = run_binary("0.0.0.0:0");
    assert!(url.starts_with("http://0.0.0.0:"), "{url}");
    let warning = stderr
        .lines()
        .find(|l| l.contains("NON-LOOPBACK"))
        .unwrap_or_else(|| panic!("no warning on stderr for a non-loopback listen address: {stderr}"));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("anyone who can reach it can use this sandbox"), "{warning}");

    let (url, stderr) = run_binary("127.0.0.1:0");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!stderr.contains("NON-LOOPBACK"), "a loopback listen address warned: {stderr}");
}

// ---------------------------------------------------------------------------------------------
// Bounded work and strict parsing.

/// `simulate` with a huge `steps` and `decline` (which never ends a session, so only the
/// sandbox's own bound can stop the loop) answers — within the client's 20 s timeout, where
/// 4,294,967,295 answers would take hours — with the session still in progress, and the sandbox
/// answers a health check sent alongside it and another simulate right after it.
#[tokio::test]
async fn a_huge_simulate_cannot_hold_the_sandbox() {
    let sb = Sandbox::start().await;
    let base = sb.base_url().to_owned();
    let http = client();
    let key = sb.api_key().expose().to_owned();
    let id = create(&http, &base, &key, json!({"steps": [{"primitive": "identify"}]})).await;
    let simulate = |steps: u32| {
        send(
            http.post(format!("{base}/_sandbox/sessions/{id}/simulate"))
                .bearer_auth(&key)
                .json(&json!({"action": "decline", "steps": steps})),
        )
    };
    let health = send(http.get(format!("{base}/healthz")));
    let (hog, health) = tokio::join!(simulate(u32::MAX), health);
    assert_eq!(hog.status, 200, "{}", hog.text);
    assert_eq!(hog.body["status"], "in_progress", "declines never end a session: {}", hog.text);
    assert_eq!(health.status, 200);
    let again = simulate(1).await;
    assert_eq!((again.status, &again.body["status"]), (200, &json!("in_progress")), "{}", again.text);
}

/// A JSON body is one JSON object: trailing bytes, or an array in its place, are malformed (400).
#[tokio::test]
async fn json_bodies_with_trailing_bytes_are_refused() {
    let sb = Sandbox::start().await;
    let base = sb.base_url().to_owned();
    let http = client();
    let key = sb.api_key().expose().to_owned();
    let id = create(&http, &base, &key, json!({"steps": [{"primitive": "identify"}]})).await;
    let t = send(http.post(format!("{base}/s/{id}/open"))).await.body["binding"].as_str().unwrap().to_owned();
    let nonce = send(http.get(format!("{base}/s/{id}/request")).header("x-uip-binding", &t)).await.body
        ["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    let valid = json!({"nonce": nonce, "wallet": "apple-wallet", "action": "share"}).to_string();
    let ct = ("content-type", "application/json");
    for tail in ["x", "}", "{}", " \u{0}", "\u{ff}"] {
        let body = format!("{valid}{tail}");
        let r = send(
            http.post(format!("{base}/s/{id}/response"))
                .header("x-uip-binding", &t)
                .header(ct.0, ct.1)
                .body(body),
        )
        .await;
        assert_eq!(r.status, 400, "{tail:?}: {}", r.text);
        assert_eq!(r.body["code"], "request/invalid-payload");
        let r = send(
            http.post(format!("{base}/v1/sessions"))
                .bearer_auth(&key)
                .header(ct.0, ct.1)
                .body(format!("{{\"steps\":[{{\"primitive\":\"identify\"}}]}}{tail}")),
        )
        .await;
        assert_eq!(r.status, 400, "create {tail:?}: {}", r.text);
        let r = send(
            http.post(format!("{base}/_sandbox/businesses")).header(ct.0, ct.1).body(format!("{{}}{tail}")),
        )
        .await;
        assert_eq!(r.status, 400, "businesses {tail:?}: {}", r.text);
    }
    // A JSON array is not an object, even with the fields in order: `[null, null]` must not
    // clear the webhook URL as `{"webhook_url": null}` would.
    let before = send(http.get(format!("{base}/_sandbox/business")).bearer_auth(&key)).await.body;
    let r = send(
        http.patch(format!("{base}/_sandbox/business"))
            .bearer_auth(&key)
            .header(ct.0, ct.1)
            .body("[null, null]"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["code"], "request/invalid-payload");
    assert_eq!(send(http.get(format!("{base}/_sandbox/business")).bearer_auth(&key)).await.body, before);
    let r = send(
        http.post(format!("{base}/s/{id}/response"))
            .header("x-uip-binding", &t)
            .header(ct.0, ct.1)
            .body(json!([nonce, "apple-wallet", "share"]).to_string()),
    )
    .await;
    assert_eq!(r.status, 400, "an array as a wallet response: {}", r.text);
    // Whitespace after the value is fine.
    let r = send(
        http.post(format!("{base}/s/{id}/response"))
            .header("x-uip-binding", &t)
            .header(ct.0, ct.1)
            .body(format!("{valid} \n")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "uip-security-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::io::stderr().flush();
    dir
}
