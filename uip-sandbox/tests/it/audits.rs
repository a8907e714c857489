//! Audits (docs/DECISIONS.md §6): fields, the hash chain recomputed independently (our own JCS + SHA-256),
//! proofs per primitive against the webhooks, and 404s that do not tell foreign from missing.

use crate::support as common;

use common::*;
use serde_json::{json, Value};

const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// `sha256:` + hex(SHA-256(JCS(record without record_hash and ts_token))).
fn record_hash(record: &Value) -> String {
    let mut r = record.clone();
    let m = r.as_object_mut().unwrap();
    m.remove("record_hash");
    m.remove("ts_token");
    sha256_tagged(jcs(&r).as_bytes())
}

fn is_tagged_hash(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

#[test]
fn our_jcs_is_canonical() {
    let v: Value =
        serde_json::from_str(r#"{"b": 1, "a": [true, null, "é\n/"], "A": {"z": -2, "y": "x"}, "\u00e9": 0}"#)
            .unwrap();
    assert_eq!(jcs(&v), "{\"A\":{\"y\":\"x\",\"z\":-2},\"a\":[true,null,\"é\\n/\"],\"b\":1,\"é\":0}");
}

#[tokio::test]
async fn every_primitive_audited_and_chained() {
    let env = start().await;
    let terms = "I agree to the terms — ünïcödé included.";
    let session = json!({
        "steps": [
            {"primitive": "identify", "params": {"blocks": ["first_name", "country", "nickname"]}},
            {"primitive": "age_verify", "params": {"min_age": 21}},
            {"primitive": "light_sign", "params": {"terms": terms}},
            {"primitive": "sign"},
        ],
        "client_reference_id": "order_4815",
        "metadata": {"never": "in audits"},
    });
    let r = env.create_multipart(&session, &[("doc.txt", "text/plain", b"the document")]).await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    let mut b = env.browser(&id);
    b.open().await.ok();
    b.share("jane-doe").await.ok();
    b.answer("google-wallet", "share", "jane-doe").await.ok();
    b.share("jane-doe").await.ok();
    b.share("jane-doe").await.ok();
    let events: Vec<Value> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(env.event(&id).await);
        }
        v
    };

    let mut prev = GENESIS.to_owned();
    let mut records = Vec::new();
    for stage in 0..4u64 {
        let r = send(env.get(&format!("/v1/audits/{id}_{stage}"))).await;
        let a = r.ok().clone();
        assert_keys(
            &a,
            &[
                "id",
                "session_id",
                "stage",
                "primitive",
                "wallet",
                "proof",
                "occurred_at",
                "client_reference_id",
                "prev_hash",
                "record_hash",
                "business_redacted",
            ],
        );
        assert_eq!(a["id"], format!("{id}_{stage}"));
        assert_eq!(a["id"], events[stage as usize]["data"]["audit_id"]);
        assert_eq!(a["session_id"], id.as_str());
        assert_eq!(a["stage"], stage);
        assert_eq!(a["client_reference_id"], "order_4815");
        assert!(a.get("ts_token").is_none(), "the sandbox has no timestamp authority");
        assert!(!r.text.contains("in audits"), "metadata never enters an audit");
        let occurred = a["occurred_at"].as_str().unwrap();
        let frac = occurred.split('.').nth(1).expect("fractional seconds");
        assert_eq!(frac.len(), 10, "9 fractional digits and Z: {occurred}");
        assert!(frac.ends_with('Z'));
        // The real clock (not shifted): in the past, by no more than the test has run.
        let age = (chrono::Utc::now() - ts(&a["occurred_at"])).num_seconds();
        assert!((0..600).contains(&age), "occurred_at is {age} s ago");
        assert_eq!(a["prev_hash"], prev.as_str(), "stage {stage} links to the previous record");
        let h = a["record_hash"].as_str().unwrap();
        assert!(is_tagged_hash(h), "{h}");
        assert_eq!(record_hash(&a), h, "stage {stage}: record_hash recomputes");
        prev = h.to_owned();
        records.push(a);
    }
    let wallets: Vec<&Value> = records.iter().map(|a| &a["wallet"]).collect();
    assert_eq!(wallets, vec!["apple-wallet", "google-wallet", "apple-wallet", "apple-wallet"]);
    let primitives: Vec<&Value> = records.iter().map(|a| &a["primitive"]).collect();
    assert_eq!(primitives, vec!["identify", "age_verify", "light_sign", "sign"]);
    let redacted: Vec<&Value> = records.iter().map(|a| &a["business_redacted"]).collect();
    assert_eq!(redacted, vec![false, true, false, false]);

    // identify: {blocks, claims_digest = sha256(JCS(claims of the webhook))}.
    let claims = &events[0]["data"]["claims"];
    assert_eq!(claims, &json!({"first_name": "Jane", "country": "US", "nickname": "unavailable"}));
    assert_eq!(
        records[0]["proof"],
        json!({"blocks": ["first_name", "country", "nickname"], "claims_digest": sha256_tagged(jcs(claims).as_bytes())})
    );
    assert!(!serde_json::to_string(&records[0]).unwrap().contains("Jane"), "no PII in the audit");
    // age_verify
    assert_eq!(records[1]["proof"], json!({"satisfied": true, "min_age": 21}));
    // light_sign: document_hash = sha256(terms), signature by the persona key over it.
    let doc_hash = sha256_tagged(terms.as_bytes());
    assert_eq!(
        records[2]["proof"],
        json!({"document_hash": doc_hash, "signature": events[2]["data"]["signature"]})
    );
    assert_eq!(events[2]["data"]["document_hash"], doc_hash.as_str());
    assert_signature(&persona_key("jane-doe"), &doc_hash, records[2]["proof"]["signature"].as_str().unwrap());
    // sign
    let manifest = format!("0:{}:12:doc.txt\n", sha256_hex(b"the document"));
    let sign_hash = sha256_tagged(manifest.as_bytes());
    assert_eq!(
        records[3]["proof"],
        json!({"document_hash": sign_hash, "signature": events[3]["data"]["signature"],
               "documents": [{"name": "doc.txt", "sha256": sha256_tagged(b"the document"), "size": 12}]})
    );
    assert_signature(
        &persona_key("jane-doe"),
        &sign_hash,
        records[3]["proof"]["signature"].as_str().unwrap(),
    );

    // Tampering with any field breaks the recomputed hash.
    let mut forged = records[1].clone();
    forged["proof"]["satisfied"] = json!(false);
    assert_ne!(record_hash(&forged), records[1]["record_hash"].as_str().unwrap());

    // No record for a stage that does not exist.
    send(env.get(&format!("/v1/audits/{id}_4"))).await.err(404, "resource/not-found", None);
}

#[tokio::test]
async fn audits_without_client_reference_id_omit_it() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "age_verify"}])).await;
    env.run_user(&id).await;
    let r = send(env.get(&format!("/v1/audits/{id}_0"))).await;
    let a = r.ok();
    assert!(a.get("client_reference_id").is_none());
    assert_eq!(a["prev_hash"], GENESIS);
    assert_eq!(record_hash(a), a["record_hash"].as_str().unwrap());
    assert_eq!(a["business_redacted"], true);
}

#[tokio::test]
async fn audits_reflect_the_business_clock() {
    let env = start().await;
    env.advance(86_400).await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    env.run_user(&id).await;
    let r = send(env.get(&format!("/v1/audits/{id}_0"))).await;
    let ahead = (ts(&r.ok()["occurred_at"]) - chrono::Utc::now()).num_seconds();
    // A day ahead, less the moments since the record was made (generously bounded).
    assert!((86_400 - 600..=86_400).contains(&ahead), "{ahead}");
}

#[tokio::test]
async fn foreign_and_missing_audits_are_indistinguishable() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    env.run_user(&id).await;
    send(env.get(&format!("/v1/audits/{id}_0"))).await.ok();
    let (_, other) = env.new_business(json!({"webhook_url": "https://hooks.example.com/uip"})).await;
    let foreign = send(env.http.get(env.url(&format!("/v1/audits/{id}_0"))).bearer_auth(&other)).await;
    foreign.err(404, "resource/not-found", None);
    for missing in [
        "sess_AAAAAAAAAAAAAAAAAAAAAAAA_0".to_owned(),
        format!("{id}_1"),
        format!("{id}_x"),
        format!("{id}_00"),
        id.clone(),
        "nonsense".to_owned(),
    ] {
        let r = send(env.http.get(env.url(&format!("/v1/audits/{missing}"))).bearer_auth(&other)).await;
        r.err(404, "resource/not-found", None);
        assert_eq!(r.text, foreign.text, "{missing}");
    }
    // A failed step has no audit.
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    b.share("tampered").await.ok();
    send(env.get(&format!("/v1/audits/{id}_0"))).await.err(404, "resource/not-found", None);
}
