//! Every case of the signature vectors `tests/resources/webhook-signatures.json` gives exactly its
//! expected outcome. The vectors were computed by an independent implementation of the scheme;
//! CI checks that the committed copy is byte-identical to the project's source of truth.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use uip_types::WebhookEvent;
use uip_webhook_verify::{Verifier, VerifyError};

#[derive(Deserialize)]
struct File {
    expect_values: Vec<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    secrets: Vec<String>,
    now: u64,
    tolerance_s: u64,
    headers: serde_json::Map<String, serde_json::Value>,
    body: String,
    expect: String,
}

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/resources/webhook-signatures.json")
}

fn load() -> File {
    let path = vectors_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the signature vectors must exist at {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a valid vectors file: {e}", path.display()))
}

fn headers(case: &Case) -> Vec<(String, String)> {
    case.headers
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().unwrap_or_else(|| panic!("{}: header {k} is not a string", case.name));
            (k.clone(), v.to_owned())
        })
        .collect()
}

fn verifier(case: &Case) -> Verifier {
    Verifier::with_secrets(case.secrets.iter().map(String::as_str))
        .unwrap_or_else(|e| panic!("{}: {e}", case.name))
        .with_tolerance(Duration::from_secs(case.tolerance_s))
        .with_now(case.now)
}

/// The outcome of a full verify-and-parse, as one of the `expect` strings.
fn outcome(result: &Result<uip_webhook_verify::VerifiedDelivery, VerifyError>) -> &'static str {
    match result {
        Ok(d) if matches!(d.event, WebhookEvent::Unknown { .. }) => "ok_unknown_event",
        Ok(_) => "ok",
        Err(e) => e.kind(),
    }
}

#[test]
fn every_vector_gives_its_expected_outcome() {
    let file = load();
    assert!(file.cases.len() >= 20, "suspiciously few vectors: {}", file.cases.len());
    let mut failures = Vec::new();
    for case in &file.cases {
        assert!(file.expect_values.contains(&case.expect), "{}: unknown expect {}", case.name, case.expect);
        let result = verifier(case).verify(&headers(case), case.body.as_bytes());
        let got = outcome(&result);
        if got != case.expect {
            failures.push(format!("{}: expected {}, got {got} ({result:?})", case.name, case.expect));
        }
    }
    assert!(failures.is_empty(), "{} vector(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn verify_only_agrees_with_the_vectors_up_to_parsing() {
    // Every case that fails before parsing fails the same way without parsing; every other case
    // (ok, ok_unknown_event, malformed_payload) has a valid signature.
    for case in load().cases {
        let result = verifier(&case).verify_signature(&headers(&case), case.body.as_bytes());
        match case.expect.as_str() {
            "ok" | "ok_unknown_event" | "malformed_payload" => {
                assert_eq!(
                    result,
                    Ok(case.headers["X-UIP-Timestamp"].as_str().unwrap().parse().unwrap()),
                    "{}",
                    case.name
                )
            }
            expect => assert_eq!(result.map_err(|e| e.kind()), Err(expect), "{}", case.name),
        }
    }
}

#[cfg(feature = "http")]
#[test]
fn every_vector_passes_through_an_http_header_map_and_request() {
    for case in load().cases {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers(&case) {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(&v).unwrap(),
            );
        }
        let mut request = http::Request::post("/uip-webhook").body(case.body.clone().into_bytes()).unwrap();
        *request.headers_mut() = map.clone();
        let v = verifier(&case);
        assert_eq!(outcome(&v.verify(&map, case.body.as_bytes())), case.expect, "{} (HeaderMap)", case.name);
        assert_eq!(outcome(&v.verify_request(&request)), case.expect, "{} (Request)", case.name);
    }
}

#[test]
fn valid_vectors_are_reproduced_by_sign() {
    // Every case whose signature verifies was signed exactly like `sign` does (canonical
    // decimal timestamps), with one of its secrets.
    for case in load().cases.iter().filter(|c| c.expect.starts_with("ok") || c.expect == "malformed_payload")
    {
        let ts: u64 = case.headers["X-UIP-Timestamp"].as_str().unwrap().parse().unwrap();
        let sent = case.headers["X-UIP-Signature"].as_str().unwrap().to_ascii_lowercase();
        let ours: Vec<String> = case
            .secrets
            .iter()
            .map(|s| uip_webhook_verify::sign(&s.as_str().into(), ts, case.body.as_bytes()))
            .collect();
        assert!(ours.contains(&sent), "{}: {sent} not in {ours:?}", case.name);
    }
}

#[test]
fn errors_never_show_a_secret() {
    for case in load().cases {
        if let Err(e) = verifier(&case).verify(&headers(&case), case.body.as_bytes()) {
            for secret in &case.secrets {
                assert!(!e.to_string().contains(secret.as_str()), "{}: {e}", case.name);
                assert!(!format!("{e:?}").contains(secret.as_str()), "{}: {e:?}", case.name);
            }
        }
    }
}
