//! Audits, catalog and wallets.

use crate::support as common;

use common::*;
use uip_client::{Primitive, Proof, WalletId};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer};

#[tokio::test]
async fn get_audit_parses_the_documented_example() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/audits/sess_abc123_0"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("accept", "application/json"))
        .respond_with(json(200, "audit.json"))
        .expect(1)
        .mount(&server)
        .await;
    let id = uip_client::SessionId::from("sess_abc123");
    let record = client(&server).get_audit(id.audit_id(0)).await.unwrap();
    assert_eq!(record.id, "sess_abc123_0");
    assert_eq!(record.session_id, "sess_abc123");
    assert_eq!(record.stage, 0);
    assert_eq!(record.primitive, Primitive::AgeVerify);
    assert_eq!(record.wallet, WalletId::AppleWallet);
    assert_eq!(record.proof, Proof::AgeVerify { satisfied: true, min_age: 21 });
    assert_eq!(
        uip_client::uip_types::time::format_nanos(&record.occurred_at),
        "2026-06-07T12:01:30.000000000Z"
    );
    assert_eq!(record.client_reference_id.as_deref(), Some("order_4815"));
    // The example's genesis and hash are placeholders; they must still parse, unchanged.
    assert_eq!(record.prev_hash, "0x000");
    assert_eq!(record.record_hash, "sha256:9f86d081...");
    assert_eq!(record.ts_token.as_deref(), Some("MIIE..."));
    assert!(record.business_redacted);
}

#[tokio::test]
async fn get_audit_received_keeps_the_json_as_received() {
    let mut body = fixture_json("audit.json");
    body["tsa_serial"] = serde_json::json!("0x2a"); // a field this version does not know
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/audits/sess_abc123_0"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(&body))
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server);
    let received = c.get_audit_received("sess_abc123_0").await.unwrap();
    assert_eq!(received.json(), body.as_object().unwrap());
    assert_eq!(received.record().prev_hash, "0x000");
    assert_eq!(serde_json::to_value(&received).unwrap(), body);
    // The typed read drops the unknown field; the received one hashes it.
    let typed = c.get_audit("sess_abc123_0").await.unwrap();
    assert_eq!(&typed, received.record());
    assert_ne!(typed.compute_record_hash(), received.compute_record_hash());
}

#[tokio::test]
async fn catalog_is_authenticated_and_parses() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/catalog"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(json(200, "catalog.json"))
        .expect(1)
        .mount(&server)
        .await;
    let catalog = client(&server).catalog().await.unwrap();
    let prices: Vec<(Primitive, u64)> =
        catalog.primitives.iter().map(|p| (p.name.clone(), p.price_cents)).collect();
    assert_eq!(
        prices,
        vec![
            (Primitive::Identify, 1),
            (Primitive::AgeVerify, 1),
            (Primitive::LightSign, 2),
            (Primitive::Sign, 3)
        ]
    );
    assert!(catalog.primitives[2].params.get("terms").is_some());
    assert_eq!(catalog.wallets, uip_client::WalletInfo::all());
}

#[tokio::test]
async fn wallets_are_public_and_parse() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/wallets"))
        .respond_with(json(200, "wallets.json"))
        .expect(1)
        .mount(&server)
        .await;
    let wallets = client(&server).wallets().await.unwrap();
    assert_eq!(wallets.wallets, uip_client::WalletInfo::all());
    let google = &wallets.wallets[1];
    assert_eq!((google.id.clone(), google.browser.as_str()), (WalletId::GoogleWallet, "Chrome"));
    assert!(!google.primitives.contains(&Primitive::Sign));

    let requests = received(&server).await;
    assert!(requests[0].headers.get("authorization").is_none(), "the public endpoint got the API key");
}
