//! `sign` sessions: the multipart create, the manifest and its document_hash recomputed
//! independently, the exact bytes on the page, purge, limits and the device signature.

use crate::support as common;

use common::*;
use serde_json::{json, Value};

const A: &[u8] = b"%PDF-1.4 pretend this is a contract\n";
const B: &[u8] = b"Annex B: \x00\x01\x02 binary bytes \xff";

fn manifest(docs: &[(&str, &[u8])]) -> String {
    docs.iter()
        .enumerate()
        .map(|(i, (name, bytes))| format!("{i}:{}:{}:{name}\n", sha256_hex(bytes), bytes.len()))
        .collect()
}

async fn persona_public_key(env: &Env, persona: &str) -> String {
    let r = send(env.http.get(env.url("/_sandbox/personas"))).await;
    let list = r.ok()["personas"].as_array().unwrap().clone();
    list.iter().find(|p| p["id"] == persona).unwrap()["device_public_key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sign_two_documents_end_to_end() {
    let env = start().await;
    // Uploaded a then b; signed in the declared order b, a.
    let session = json!({"steps": [{"primitive": "sign", "params": {"documents": ["annex.bin", "contract.pdf"]}}], "client_reference_id": "deal-1"});
    let r = env
        .create_multipart(
            &session,
            &[("contract.pdf", "application/pdf", A), ("annex.bin", "application/octet-stream", B)],
        )
        .await;
    let created = r.ok();
    assert_keys(created, &["id", "status", "url", "expires"]);
    let id = created["id"].as_str().unwrap().to_owned();
    let expected_hash = sha256_tagged(manifest(&[("annex.bin", B), ("contract.pdf", A)]).as_bytes());

    let mut b = env.browser(&id);
    b.open().await.ok();
    let req = b.request().await;
    let req = req.ok().clone();
    assert_keys(&req, &["stage", "primitive", "nonce", "origin", "documents", "document_hash", "expires_at"]);
    assert_eq!(req["primitive"], "sign");
    assert_eq!(
        req["documents"],
        json!([
            {"index": 0, "name": "annex.bin", "size": B.len(), "sha256": sha256_tagged(B)},
            {"index": 1, "name": "contract.pdf", "size": A.len(), "sha256": sha256_tagged(A)},
        ])
    );
    assert_eq!(req["document_hash"], expected_hash);

    // The exact bytes, in declared order, with their content type.
    let d0 = b.document(0).await;
    assert_eq!(d0.status, 200);
    assert_eq!(d0.bytes, B);
    assert_eq!(d0.header("content-type"), Some("application/octet-stream"));
    let d1 = b.document(1).await;
    assert_eq!(d1.bytes, A);
    assert_eq!(d1.header("content-type"), Some("application/pdf"));
    b.document(2).await.err(404, "resource/not-found", None);
    let r = send(
        b.http
            .get(format!("{}/s/{id}/documents/x", env.sb.base_url()))
            .header("X-UIP-Binding", b.binding.clone().unwrap()),
    )
    .await;
    assert_eq!(r.status, 404);
    // Another device cannot read them.
    env.browser(&id).document(0).await.err(409, "session/bound-elsewhere", None);

    assert_eq!(b.share("jane-doe").await.ok()["outcome"], "verified");
    let e = env.event(&id).await;
    assert_keys(
        &e["data"],
        &[
            "session_id",
            "client_reference_id",
            "stage",
            "primitive",
            "audit_id",
            "signature",
            "document_hash",
        ],
    );
    assert_eq!(e["data"]["primitive"], "sign");
    assert_eq!(e["data"]["document_hash"], expected_hash);
    let sig = e["data"]["signature"].as_str().unwrap();
    // The persona's published key is derived from SHA-256("jane-doe").
    let published = persona_public_key(&env, "jane-doe").await;
    let derived = persona_key("jane-doe");
    assert_eq!(published, b64url(derived.as_bytes()));
    let key =
        ed25519_dalek::VerifyingKey::from_bytes(&b64url_decode(&published).try_into().unwrap()).unwrap();
    assert_signature(&key, &expected_hash, sig);
    // Not over anything else.
    let raw = b64url_decode(sig);
    let s = ed25519_dalek::Signature::from_slice(&raw).unwrap();
    assert!(ed25519_dalek::Verifier::verify(
        &key,
        manifest(&[("annex.bin", B), ("contract.pdf", A)]).as_bytes(),
        &s
    )
    .is_err());

    // Purged once the step verified.
    b.document(0).await.err(410, "session/documents-purged", None);
    b.document(1).await.err(410, "session/documents-purged", None);
    assert_eq!(env.event(&id).await["event"], "session.completed");

    let audit = send(env.get(&format!("/v1/audits/{id}_0"))).await;
    assert_eq!(
        audit.ok()["proof"],
        json!({"document_hash": expected_hash, "signature": sig, "documents": [
            {"name": "annex.bin", "sha256": sha256_tagged(B), "size": B.len()},
            {"name": "contract.pdf", "sha256": sha256_tagged(A), "size": A.len()},
        ]})
    );
}

#[tokio::test]
async fn documents_default_to_upload_order_and_purge_after_a_gated_sign() {
    let env = start().await;
    let session = json!({"steps": [{"primitive": "sign", "gate": true}, {"primitive": "identify"}]});
    let r = env
        .create_multipart(&session, &[("one.txt", "text/plain", b"1"), ("two.txt", "text/plain", b"22")])
        .await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    let mut b = env.browser(&id);
    b.open().await.ok();
    let req = b.request().await;
    let names: Vec<Value> =
        req.ok()["documents"].as_array().unwrap().iter().map(|d| d["name"].clone()).collect();
    assert_eq!(names, vec![json!("one.txt"), json!("two.txt")]);
    assert_eq!(
        req.body["document_hash"],
        sha256_tagged(manifest(&[("one.txt", b"1"), ("two.txt", b"22")]).as_bytes())
    );
    b.share("jane-doe").await.ok();
    // Awaiting a decision, still on the sign step: purged.
    b.document(0).await.err(410, "session/documents-purged", None);
}

#[tokio::test]
async fn a_document_used_by_two_sign_steps_stays_until_the_last() {
    let env = start().await;
    let session = json!({"steps": [
        {"primitive": "sign", "params": {"documents": ["a.txt", "b.txt"]}},
        {"primitive": "sign", "params": {"documents": ["b.txt"]}},
    ]});
    let r = env
        .create_multipart(&session, &[("a.txt", "text/plain", b"aaa"), ("b.txt", "text/plain", b"bbbb")])
        .await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    let mut b = env.browser(&id);
    b.open().await.ok();
    b.share("jane-doe").await.ok();
    // Step 1 lists only b.txt, as its index 0.
    let req = b.request().await;
    assert_eq!(
        req.ok()["documents"],
        json!([{"index": 0, "name": "b.txt", "size": 4, "sha256": sha256_tagged(b"bbbb")}])
    );
    assert_eq!(req.body["document_hash"], sha256_tagged(manifest(&[("b.txt", b"bbbb")]).as_bytes()));
    assert_eq!(b.document(0).await.bytes, b"bbbb");
    b.document(1).await.err(404, "resource/not-found", None);
    b.share("jane-doe").await.ok();
    b.document(0).await.err(410, "session/documents-purged", None);
    assert_eq!(env.status(&id).await, "completed");
}

#[tokio::test]
async fn multipart_errors() {
    let env = start().await;
    let one = json!({"steps": [{"primitive": "sign", "params": {"documents": ["a.txt"]}}]});
    // An uploaded part no step uses.
    let r = env.create_multipart(&one, &[("a.txt", "text/plain", b"a"), ("b.txt", "text/plain", b"b")]).await;
    r.err(400, "request/invalid-params", Some("document"));
    // A listed name with no part.
    let two = json!({"steps": [{"primitive": "sign", "params": {"documents": ["a.txt", "c.txt"]}}]});
    let r = env.create_multipart(&two, &[("a.txt", "text/plain", b"a")]).await;
    r.err(400, "request/invalid-params", Some("steps[0].params.documents[1]"));
    // Zero documents.
    let r = env.create_multipart(&json!({"steps": [{"primitive": "sign"}]}), &[]).await;
    r.code(400, "request/invalid-params");
    let r = env
        .create_multipart(
            &json!({"steps": [{"primitive": "sign", "params": {"documents": []}}]}),
            &[("a.txt", "text/plain", b"a")],
        )
        .await;
    r.err(400, "request/invalid-params", Some("steps[0].params.documents"));
    // Duplicate filenames.
    let r = env
        .create_multipart(
            &json!({"steps": [{"primitive": "sign"}]}),
            &[("a.txt", "text/plain", b"a"), ("a.txt", "text/plain", b"b")],
        )
        .await;
    r.err(400, "request/invalid-params", Some("document"));
    // A document without filename.
    let form = reqwest::multipart::Form::new()
        .text("session", json!({"steps": [{"primitive": "sign"}]}).to_string())
        .part("document", reqwest::multipart::Part::bytes(b"x".to_vec()));
    send(env.post("/v1/sessions").multipart(form)).await.err(400, "request/invalid-params", Some("document"));
    // Documents but no sign step.
    let r = env
        .create_multipart(&json!({"steps": [{"primitive": "identify"}]}), &[("a.txt", "text/plain", b"a")])
        .await;
    r.err(400, "request/invalid-params", Some("document"));
    // Several sign steps must each list their documents.
    let r = env
        .create_multipart(&json!({"steps": [{"primitive": "sign"}, {"primitive": "sign", "params": {"documents": ["a.txt"]}}]}), &[("a.txt", "text/plain", b"a")])
        .await;
    r.err(400, "request/invalid-params", Some("steps[0].params.documents"));
    // Missing session part; an unknown part; the session part's own errors.
    let form = reqwest::multipart::Form::new()
        .part("document", reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"));
    send(env.post("/v1/sessions").multipart(form)).await.err(400, "request/invalid-payload", Some("session"));
    let form = reqwest::multipart::Form::new().text("session", one.to_string()).text("note", "hi");
    send(env.post("/v1/sessions").multipart(form)).await.err(400, "request/invalid-payload", Some("note"));
    let form = reqwest::multipart::Form::new().text("session", "{not json");
    send(env.post("/v1/sessions").multipart(form)).await.err(400, "request/invalid-payload", None);
    let r = env
        .create_multipart(
            &json!({"steps": [{"primitive": "sign"}], "expires_in": 5}),
            &[("a.txt", "text/plain", b"a")],
        )
        .await;
    r.err(400, "request/invalid-field", Some("expires_in"));
    // A syntactically broken multipart body.
    let r = send(
        env.post("/v1/sessions")
            .header("content-type", "multipart/form-data; boundary=XYZ")
            .body("--XYZ\r\nbroken"),
    )
    .await;
    r.err(400, "request/invalid-payload", None);
    let r = send(env.post("/v1/sessions").header("content-type", "multipart/form-data").body("x")).await;
    r.err(400, "request/invalid-payload", None);
    // A JSON create with a sign step.
    env.create_raw(&json!({"steps": [{"primitive": "identify"}, {"primitive": "sign"}]})).await.err(
        400,
        "request/invalid-params",
        Some("steps[1]"),
    );
}

#[tokio::test]
async fn over_fifty_documents_is_413() {
    let env = start().await;
    let names: Vec<String> = (0..51).map(|i| format!("d{i}.txt")).collect();
    let docs: Vec<(&str, &str, &[u8])> =
        names.iter().map(|n| (n.as_str(), "text/plain", &b"x"[..])).collect();
    let r = env.create_multipart(&json!({"steps": [{"primitive": "sign"}]}), &docs).await;
    r.code(413, "request/too-large");
    // Fifty is fine.
    let r = env.create_multipart(&json!({"steps": [{"primitive": "sign"}]}), &docs[..50]).await;
    r.ok();
}

#[tokio::test]
async fn over_fifty_mib_of_documents_is_413() {
    let env = start().await;
    let big = vec![0u8; 25 * 1024 * 1024 + 1];
    let r = env
        .create_multipart(
            &json!({"steps": [{"primitive": "sign"}]}),
            &[("a.bin", "application/octet-stream", &big), ("b.bin", "application/octet-stream", &big)],
        )
        .await;
    r.code(413, "request/too-large");
}

#[tokio::test]
async fn multipart_idempotency_compares_parts_not_boundaries() {
    let env = start().await;
    let session = json!({"steps": [{"primitive": "sign"}]});
    let create = |docs: Vec<(&'static str, &'static str, &'static [u8])>| {
        let env = &env;
        let session = session.clone();
        async move {
            send(
                env.post("/v1/sessions")
                    .header("idempotency-key", "mp-1")
                    .multipart(multipart(&session, &docs)),
            )
            .await
        }
    };
    let first = create(vec![("a.txt", "text/plain", b"alpha")]).await;
    let id = first.ok()["id"].clone();
    let again = create(vec![("a.txt", "text/plain", b"alpha")]).await;
    assert_eq!(again.ok()["id"], id);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.text, first.text);
    for docs in [
        vec![("a.txt", "text/plain", &b"alphA"[..])],
        vec![("b.txt", "text/plain", &b"alpha"[..])],
        vec![("a.txt", "application/octet-stream", &b"alpha"[..])],
    ] {
        create(docs).await.code(409, "request/idempotency-conflict");
    }
}

#[tokio::test]
async fn stop_purges_documents_a_later_step_still_needed() {
    let env = start().await;
    let session = json!({"steps": [
        {"primitive": "sign", "params": {"documents": ["a.txt"]}, "gate": true},
        {"primitive": "sign", "params": {"documents": ["a.txt"]}},
    ]});
    let r = env.create_multipart(&session, &[("a.txt", "text/plain", b"kept for step 1")]).await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    let mut b = env.browser(&id);
    b.open().await.ok();
    b.share("jane-doe").await.ok();
    // At the gate, still on step 0: the document is kept for step 1.
    assert_eq!(b.document(0).await.bytes, b"kept for step 1");
    env.decide(&id, "stop").await.ok();
    b.document(0).await.err(410, "session/documents-purged", None);
}
