//! `uip-sandbox trigger` and `uip-sandbox check-receiver` (docs/DECISIONS.md §11, "Receiver
//! tools"): the kit's test receiver (`TestReceiver`) passes every case; each deliberately broken receiver
//! is caught by the cases meant for its weakness and by no other; `trigger` delivers every event
//! type with a signature `uip-webhook-verify` accepts. The binary is run end to end as well.

use std::collections::BTreeSet;
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use serde_json::Value;
use sha2::Sha256;
use uip_sandbox::receiver_tools::{
    case_names, check_receiver, realistic_event, trigger, valid_case, Delivery, EventError, EventKind,
    EventOptions, Trigger, TriggerError, BAD_SIGNATURE, FUTURE_TIMESTAMP, NON_HEX_SIGNATURE,
    SAME_DELIVERY_AGAIN, SHORT_SIGNATURE, SIGNATURE_OF_ANOTHER_BODY, STALE_TIMESTAMP, UNKNOWN_EVENT_TYPE,
};
use uip_sandbox::DeliveryFault;
use uip_types::{Primitive, StepResult, WebhookEvent, WebhookSecret, HEADER_SIGNATURE};
use uip_webhook_verify::{Deduper, Verifier};

const SECRET: &str = "uip_whsec_sandbox";

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Serves `app` on a loopback port; returns its `/uip-webhook` URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/uip-webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

// ---------------------------------------------------------------------------------------------
// Deliberately broken receivers, one per weakness (the constant-time comparison is not testable
// from outside and is left out).
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Weakness {
    /// None: verifies as docs/UIP-API.md §6.3 says (the baseline the others depart from).
    None,
    /// Reads the headers and checks the timestamp, but never compares the signature.
    NoSignatureCheck,
    /// Compares the signature with HMAC-SHA256 over the body alone.
    SignatureOverBodyOnly,
    /// Verifies the signature but accepts any timestamp.
    NoTimestampCheck,
    /// Answers 409 to a delivery id it has already handled.
    RejectsDuplicates,
    /// Answers 500 to an event type it does not know.
    FailsOnUnknownEvents,
    /// Refuses deliveries without an `X-UIP-Version` header, which the docs never send.
    RequiresUndocumentedHeader,
}

struct Broken {
    weakness: Weakness,
    secret: WebhookSecret,
    seen: Deduper,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// What a receiver with `weakness` does with a delivery: `Ok(event)` when it accepts it.
fn accept(r: &Broken, headers: &HeaderMap, body: &[u8]) -> Result<(String, WebhookEvent), StatusCode> {
    let refuse = |_| StatusCode::UNAUTHORIZED;
    match r.weakness {
        Weakness::NoSignatureCheck | Weakness::SignatureOverBodyOnly => {
            let (Some(event), Some(ts), Some(sig), Some(id)) = (
                header(headers, "x-uip-event"),
                header(headers, "x-uip-timestamp"),
                header(headers, "x-uip-signature"),
                header(headers, "x-uip-delivery-id"),
            ) else {
                return Err(StatusCode::BAD_REQUEST);
            };
            let ts: u64 = ts.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
            if ts.abs_diff(unix_now()) > 300 {
                return Err(StatusCode::UNAUTHORIZED);
            }
            if r.weakness == Weakness::SignatureOverBodyOnly {
                let mut mac = Hmac::<Sha256>::new_from_slice(r.secret.expose().as_bytes()).unwrap();
                mac.update(body);
                if hex::encode(mac.finalize().into_bytes()) != sig.to_ascii_lowercase() {
                    return Err(StatusCode::UNAUTHORIZED);
                }
            }
            let parsed: Value = serde_json::from_slice(body).map_err(|_| StatusCode::BAD_REQUEST)?;
            let parsed = WebhookEvent::from_value(parsed).map_err(|_| StatusCode::BAD_REQUEST)?;
            if parsed.name() != event {
                return Err(StatusCode::BAD_REQUEST);
            }
            Ok((id.to_owned(), parsed))
        }
        Weakness::NoTimestampCheck => {
            let verifier = Verifier::new(r.secret.clone())
                .unwrap()
                .with_tolerance(Duration::from_secs(100 * 365 * 24 * 3600));
            verifier.verify(headers, body).map(|d| (d.delivery_id, d.event)).map_err(refuse)
        }
        _ => {
            let verifier = Verifier::new(r.secret.clone()).unwrap();
            verifier.verify(headers, body).map(|d| (d.delivery_id, d.event)).map_err(refuse)
        }
    }
}

async fn broken_receive(State(r): State<Arc<Broken>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if r.weakness == Weakness::RequiresUndocumentedHeader && headers.get("x-uip-version").is_none() {
        return StatusCode::BAD_REQUEST;
    }
    let (delivery_id, event) = match accept(&r, &headers, &body) {
        Ok(accepted) => accepted,
        Err(status) => return status,
    };
    let first_time = r.seen.insert(&delivery_id);
    if !first_time && r.weakness == Weakness::RejectsDuplicates {
        return StatusCode::CONFLICT;
    }
    if matches!(event, WebhookEvent::Unknown { .. }) && r.weakness == Weakness::FailsOnUnknownEvents {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::OK
}

async fn broken_receiver(weakness: Weakness) -> String {
    let state = Arc::new(Broken { weakness, secret: WebhookSecret::new(SECRET), seen: Deduper::default() });
    serve(Router::new().route("/uip-webhook", post(broken_receive)).with_state(state)).await
}

fn set(names: &[String]) -> BTreeSet<String> {
    names.iter().cloned().collect()
}

/// The cases that expect a 2xx: a receiver that rejects genuine deliveries fails all of them.
fn genuine_cases() -> Vec<String> {
    let mut v: Vec<String> = EventKind::ALL.into_iter().map(valid_case).collect();
    v.push(SAME_DELIVERY_AGAIN.to_owned());
    v.push(UNKNOWN_EVENT_TYPE.to_owned());
    v
}

// ---------------------------------------------------------------------------------------------
// check-receiver
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_kits_test_receiver_passes_every_case() {
    let receiver = uip_sandbox::TestReceiver::verifying(SECRET).await;
    let url = receiver.url().to_owned();
    let report = check_receiver(&url, &WebhookSecret::new(SECRET)).await.unwrap();
    assert!(report.passed(), "{}", report.render_table());
    let names: Vec<&str> = report.cases.iter().map(|c| c.case.as_str()).collect();
    assert_eq!(names, case_names());
    assert_eq!(names.len(), 17);
    for c in &report.cases {
        let status = c.got.as_ref().expect("every case answered").status;
        let expect_2xx = genuine_cases().contains(&c.case);
        assert_eq!((200..300).contains(&status), expect_2xx, "{}: {status}", c.case);
        assert!(c.pass && c.meaning.is_none(), "{}", c.case);
    }
    let table = report.render_table();
    assert!(table.contains("all 17 cases passed"), "{table}");
}

#[tokio::test]
async fn each_broken_receiver_is_caught_by_its_cases_and_no_other() {
    let forged =
        [BAD_SIGNATURE, SIGNATURE_OF_ANOTHER_BODY, NON_HEX_SIGNATURE, SHORT_SIGNATURE].map(str::to_owned);
    let expected: Vec<(Weakness, Vec<String>)> = vec![
        (Weakness::None, vec![]),
        (Weakness::NoSignatureCheck, forged.to_vec()),
        (Weakness::SignatureOverBodyOnly, genuine_cases()),
        (Weakness::NoTimestampCheck, vec![STALE_TIMESTAMP.to_owned(), FUTURE_TIMESTAMP.to_owned()]),
        (Weakness::RejectsDuplicates, vec![SAME_DELIVERY_AGAIN.to_owned()]),
        (Weakness::FailsOnUnknownEvents, vec![UNKNOWN_EVENT_TYPE.to_owned()]),
        (Weakness::RequiresUndocumentedHeader, genuine_cases()),
    ];
    for (weakness, failing) in expected {
        let url = broken_receiver(weakness).await;
        let report = check_receiver(&url, &WebhookSecret::new(SECRET)).await.unwrap();
        let got: BTreeSet<String> = report.failed_cases().into_iter().map(str::to_owned).collect();
        assert_eq!(got, set(&failing), "{weakness:?}\n{}", report.render_table());
        assert_eq!(report.passed(), failing.is_empty(), "{weakness:?}");
        for c in &report.cases {
            assert_eq!(c.meaning.is_some(), !c.pass, "{weakness:?} {}", c.case);
        }
    }
}

#[tokio::test]
async fn failed_cases_say_what_they_mean_for_security() {
    let cases = [
        (Weakness::NoSignatureCheck, BAD_SIGNATURE, "accepts forged deliveries"),
        (Weakness::NoTimestampCheck, STALE_TIMESTAMP, "accepts replays from an hour ago"),
        (
            Weakness::RejectsDuplicates,
            SAME_DELIVERY_AGAIN,
            "rejects retries of a delivery it already handled — events will be redelivered for 72 h",
        ),
        (
            Weakness::FailsOnUnknownEvents,
            UNKNOWN_EVENT_TYPE,
            "fails on events it does not know — a new event type will break it",
        ),
    ];
    for (weakness, case, meaning) in cases {
        let url = broken_receiver(weakness).await;
        let report = check_receiver(&url, &WebhookSecret::new(SECRET)).await.unwrap();
        let c = report.cases.iter().find(|c| c.case == case).unwrap();
        assert_eq!(c.meaning.as_deref(), Some(meaning));
        let table = report.render_table();
        assert!(table.contains(&format!("  {case}: {meaning}\n")), "{table}");
    }
}

#[tokio::test]
async fn a_receiver_that_is_down_fails_every_case_with_the_transport_error() {
    // A port that was free a moment ago, now closed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/uip-webhook", listener.local_addr().unwrap());
    drop(listener);
    let report = check_receiver(&url, &WebhookSecret::new(SECRET)).await.unwrap();
    assert_eq!(report.failed_cases().len(), 17);
    let json = report.to_json();
    assert_eq!(json["passed"], false);
    for (c, j) in report.cases.iter().zip(json["cases"].as_array().unwrap()) {
        let err = c.got.as_ref().unwrap_err();
        assert!(err.starts_with("could not connect"), "{err}");
        assert_eq!(j["got"], Value::String(err.clone()), "the transport error as text");
        assert!(j["meaning"].as_str().unwrap().starts_with("no answer"), "{j}");
    }
    assert!(check_receiver("ftp://example.com/hook", &WebhookSecret::new(SECRET)).await.is_err());
}

// ---------------------------------------------------------------------------------------------
// trigger
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Recorder {
    requests: Mutex<Vec<(HeaderMap, Bytes)>>,
    status: Mutex<Option<StatusCode>>,
}

async fn record(
    State(r): State<Arc<Recorder>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    r.requests.lock().push((headers, body));
    (r.status.lock().unwrap_or(StatusCode::OK), "thanks")
}

async fn recorder() -> (String, Arc<Recorder>) {
    let state = Arc::new(Recorder::default());
    let url = serve(Router::new().route("/uip-webhook", post(record)).with_state(Arc::clone(&state))).await;
    (url, state)
}

#[tokio::test]
async fn trigger_delivers_every_event_type_with_a_verifiable_signature() {
    let (url, rec) = recorder().await;
    let verifier = Verifier::new(SECRET).unwrap();
    let mut variants: Vec<(EventKind, EventOptions)> =
        EventKind::ALL.into_iter().map(|k| (k, EventOptions::default())).collect();
    for p in [Primitive::Identify, Primitive::AgeVerify, Primitive::LightSign, Primitive::Sign] {
        variants.push((EventKind::StepCompleted, EventOptions::default().primitive(p)));
    }
    for (i, (kind, options)) in variants.into_iter().enumerate() {
        let report = trigger(&Trigger::new(&url, kind).options(options.clone())).await.unwrap();
        assert!(report.succeeded(), "{}", report.render());
        let requests = rec.requests.lock().clone();
        assert_eq!(requests.len(), i + 1);
        let (headers, body) = requests.last().unwrap();
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body.as_ref(), report.delivery.body.as_slice(), "the body sent is the body reported");
        let delivery = verifier.verify(headers, body).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(delivery.event.name(), kind.name());
        assert_eq!(delivery.delivery_id, delivery.event.delivery_id());
        assert!(
            uip_types::SessionId::is_well_formed(delivery.event.session_id()),
            "a fresh sandbox-shaped id"
        );
        // Written exactly as the sandbox writes it: re-serializing the parsed event gives the bytes back.
        assert_eq!(serde_json::to_vec(&delivery.event).unwrap(), body.to_vec());
        match (&delivery.event, options.primitive) {
            (WebhookEvent::StepCompleted(s), p) => {
                assert_eq!(s.primitive, p.clone().unwrap_or(Primitive::Identify));
                assert_eq!(s.audit_id, format!("{}_0", s.context.session_id.as_str()));
                match &s.result {
                    StepResult::Identify { claims } => {
                        assert_eq!(claims["first_name"], "Jane");
                        assert_eq!(claims.len(), 3);
                    }
                    StepResult::AgeVerify { satisfied, min_age } => {
                        assert_eq!((*satisfied, *min_age), (true, Some(18)))
                    }
                    StepResult::Signature { signature, document_hash } => {
                        assert!(document_hash.starts_with("sha256:"));
                        assert_eq!(signature.len(), 86, "base64url Ed25519 signature");
                    }
                    other => panic!("unexpected result {other:?}"),
                }
            }
            (WebhookEvent::SessionFailed(e), _) => {
                assert_eq!(e.reason.as_deref(), Some("credential_expired"))
            }
            (WebhookEvent::SessionExpired(e), _) => assert_eq!(e.reason.as_deref(), Some("session_ttl")),
            (WebhookEvent::SessionCompleted(e) | WebhookEvent::SessionStopped(e), _) => {
                assert_eq!(e.reason, None)
            }
            (other, _) => panic!("unexpected event {other:?}"),
        }
    }
}

/// The bodies `trigger` sends are byte for byte what the sandbox sends for a real session.
#[tokio::test]
async fn trigger_bodies_are_the_sandboxs_own() {
    let sandbox = uip_sandbox::Sandbox::start().await;
    let http = reqwest::Client::new();
    for primitive in [Primitive::Identify, Primitive::AgeVerify] {
        let created: Value = http
            .post(format!("{}/sessions", sandbox.api_url()))
            .bearer_auth(sandbox.api_key().expose())
            .json(&serde_json::json!({"steps": [{"primitive": primitive.as_str()}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap();
        let user = sandbox.user(id);
        user.open().await.unwrap();
        user.share().await.unwrap();
        for _ in 0..2 {
            sandbox.next_event(id, Duration::from_secs(30)).await.unwrap();
        }
        let sent = sandbox.deliveries(id);
        let ours = [
            (EventKind::StepCompleted, EventOptions::default().session_id(id).primitive(primitive.clone())),
            (EventKind::SessionCompleted, EventOptions::default().session_id(id)),
        ];
        assert_eq!(sent.len(), ours.len());
        for (real, (kind, options)) in sent.iter().zip(ours) {
            let built = Delivery::of(&realistic_event(kind, &options).unwrap());
            assert_eq!(built.event, real.event);
            assert_eq!(built.delivery_id, real.delivery_id);
            assert_eq!(String::from_utf8(built.body).unwrap(), real.body, "{kind} ({})", primitive.as_str());
        }
    }
}

#[tokio::test]
async fn trigger_options_and_faults() {
    let (url, rec) = recorder().await;
    let secret = WebhookSecret::new("uip_whsec_other");
    let verifier = Verifier::new(secret.clone()).unwrap();

    let options = EventOptions::default().session_id("sess_mine").reason("internal_error");
    let t = Trigger::new(&url, EventKind::SessionFailed).secret(secret.clone()).options(options);
    let report = trigger(&t).await.unwrap();
    assert!(report.succeeded());
    let (headers, body) = rec.requests.lock().pop().unwrap();
    assert_eq!(
        body.as_ref(),
        br#"{"event":"session.failed","data":{"session_id":"sess_mine","status":"failed","reason":"internal_error"}}"#
    );
    assert_eq!(verifier.verify(&headers, &body).unwrap().delivery_id, "sess_mine:session.failed");

    // stale_timestamp: signed correctly, as of an hour ago.
    let t = Trigger::new(&url, EventKind::SessionCompleted)
        .secret(secret.clone())
        .fault(DeliveryFault::StaleTimestamp);
    trigger(&t).await.unwrap();
    let (headers, body) = rec.requests.lock().pop().unwrap();
    assert_eq!(verifier.verify(&headers, &body).unwrap_err().kind(), "timestamp_out_of_tolerance");
    let ts: u64 = headers["x-uip-timestamp"].to_str().unwrap().parse().unwrap();
    assert!((3590..=3610).contains(&unix_now().abs_diff(ts)), "an hour old: {ts}");
    let lenient = Verifier::new(secret.clone()).unwrap().with_tolerance(Duration::from_secs(7200));
    assert!(lenient.verify(&headers, &body).is_ok(), "the signature itself is right");

    // bad_signature: a wrong secret.
    let t = Trigger::new(&url, EventKind::SessionStopped)
        .secret(secret.clone())
        .fault(DeliveryFault::BadSignature);
    trigger(&t).await.unwrap();
    let (headers, body) = rec.requests.lock().pop().unwrap();
    assert_eq!(verifier.verify(&headers, &body).unwrap_err().kind(), "signature_mismatch");

    // duplicate: the same delivery twice back to back, each verifiable.
    let t =
        Trigger::new(&url, EventKind::StepCompleted).secret(secret.clone()).fault(DeliveryFault::Duplicate);
    let report = trigger(&t).await.unwrap();
    assert_eq!(report.attempts.len(), 2);
    let requests = std::mem::take(&mut *rec.requests.lock());
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].1, requests[1].1);
    assert_eq!(requests[0].0["x-uip-delivery-id"], requests[1].0["x-uip-delivery-id"]);
    for (headers, body) in &requests {
        assert!(verifier.verify(headers, body).is_ok());
    }

    // The receiver's answer decides success.
    *rec.status.lock() = Some(StatusCode::SERVICE_UNAVAILABLE);
    let report = trigger(&Trigger::new(&url, EventKind::SessionExpired)).await.unwrap();
    assert!(!report.succeeded());
    let answer = report.attempts[0].outcome.as_ref().unwrap();
    assert_eq!((answer.status, answer.body.as_str()), (503, "thanks"));

    // Options that do not fit the event are refused before anything is sent.
    rec.requests.lock().clear();
    let bad = Trigger::new(&url, EventKind::SessionCompleted).options(EventOptions::default().reason("x"));
    assert!(trigger(&bad).await.is_err());
    let bad = Trigger::new(&url, EventKind::SessionFailed)
        .options(EventOptions::default().primitive(Primitive::Sign));
    assert!(trigger(&bad).await.is_err());
    let bad =
        Trigger::new(&url, EventKind::SessionFailed).options(EventOptions::default().session_id("sess a\n"));
    assert!(matches!(trigger(&bad).await, Err(TriggerError::Event(EventError::BadSessionId))));
    assert!(rec.requests.lock().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The binary, end to end
// ---------------------------------------------------------------------------------------------

async fn run_cli(args: &[&str]) -> Output {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_uip-sandbox"))
        .args(args)
        .env_remove("UIP_SANDBOX_LISTEN")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(120), out).await.expect("the CLI finishes").unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn cli_check_receiver_passes_the_test_receiver_and_prints_the_table() {
    let receiver = uip_sandbox::TestReceiver::verifying(SECRET).await;
    let url = receiver.url().to_owned();
    let out = run_cli(&["check-receiver", &url]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("check-receiver {url}"));
    let header: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(header, ["case", "expected", "got", "pass"]);
    for (line, name) in lines[3..20].iter().zip(case_names()) {
        assert!(line.starts_with(&name), "{line}");
        assert!(line.ends_with("  pass"), "{line}");
    }
    assert_eq!(lines[21], "all 17 cases passed");
}

#[tokio::test]
async fn cli_check_receiver_json_reports_the_failed_cases_and_exits_1() {
    let url = broken_receiver(Weakness::NoTimestampCheck).await;
    let out = run_cli(&["check-receiver", &url, "--json", "--secret", SECRET]).await;
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["passed"], false);
    let cases = json["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 17);
    for c in cases {
        let keys: BTreeSet<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        let name = c["case"].as_str().unwrap();
        let failed = name == STALE_TIMESTAMP || name == FUTURE_TIMESTAMP;
        assert_eq!(c["pass"], !failed, "{name}");
        if failed {
            assert_eq!(keys, BTreeSet::from(["case", "expected", "got", "pass", "meaning"]));
            assert_eq!(c["expected"], "non-2xx");
            assert_eq!(c["got"], 200);
        } else {
            assert_eq!(keys, BTreeSet::from(["case", "expected", "got", "pass"]));
            assert!(c["got"].is_u64(), "{c}");
        }
    }
    let stale = cases.iter().find(|c| c["case"] == STALE_TIMESTAMP).unwrap();
    assert_eq!(stale["meaning"], "accepts replays from an hour ago");

    // A wrong secret: every genuine delivery is refused.
    let receiver = uip_sandbox::TestReceiver::verifying(SECRET).await;
    let url = receiver.url().to_owned();
    let out = run_cli(&["check-receiver", &url, "--json", "--secret", "uip_whsec_wrong"]).await;
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed: BTreeSet<String> = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["pass"] == false)
        .map(|c| c["case"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(failed, set(&genuine_cases()));

    // Not an http URL: a usage error.
    let out = run_cli(&["check-receiver", "not a url"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an http:// or https:// URL"));
}

#[tokio::test]
async fn cli_trigger_prints_the_answer_and_exits_by_it() {
    let (url, rec) = recorder().await;
    let out = run_cli(&[
        "trigger",
        "step.completed",
        "--to",
        &url,
        "--primitive",
        "age_verify",
        "--session-id",
        "sess_cli",
        "--fault",
        "none",
    ])
    .await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with(&format!("step.completed sess_cli:step.completed:0 to {url}\n")), "{text}");
    assert!(text.contains("  answered 200 OK\n  thanks\n"), "{text}");
    let (headers, body) = rec.requests.lock().pop().unwrap();
    let delivery = Verifier::new(SECRET).unwrap().verify(&headers, &body).unwrap();
    assert_eq!(delivery.delivery_id, "sess_cli:step.completed:0");
    let WebhookEvent::StepCompleted(step) = delivery.event else { panic!("not a step") };
    assert_eq!(step.result, StepResult::AgeVerify { satisfied: true, min_age: Some(18) });
    let signature = headers[HEADER_SIGNATURE.to_ascii_lowercase().as_str()].to_str().unwrap();
    assert!(text.contains(&format!("X-UIP-Signature {signature})\n")), "{text}");

    // duplicate: two POSTs, both reported.
    let out = run_cli(&["trigger", "session.completed", "--to", &url, "--fault", "duplicate"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("POST #2"), "{}", stdout(&out));
    assert_eq!(rec.requests.lock().len(), 2);

    // A refusal exits 1.
    *rec.status.lock() = Some(StatusCode::UNAUTHORIZED);
    let out = run_cli(&["trigger", "session.expired", "--to", &url, "--reason", "step_window"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("  answered 401 Unauthorized\n"), "{}", stdout(&out));

    // Options that do not fit, an unknown event or fault: usage errors (2), nothing sent.
    rec.requests.lock().clear();
    let out = run_cli(&["trigger", "session.stopped", "--to", &url, "--reason", "x"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--reason applies to session.failed and session.expired"));
    assert_eq!(run_cli(&["trigger", "session.archived", "--to", &url]).await.status.code(), Some(2));
    assert_eq!(
        run_cli(&["trigger", "step.completed", "--to", &url, "--fault", "late"]).await.status.code(),
        Some(2)
    );
    assert!(rec.requests.lock().is_empty());

    // Nobody listening: exit 1 with the transport error.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/uip-webhook", listener.local_addr().unwrap());
    drop(listener);
    let out = run_cli(&["trigger", "session.completed", "--to", &closed]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("no answer: could not connect"), "{}", stdout(&out));
}
