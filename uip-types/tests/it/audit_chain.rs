//! Audit records and their hash chain (docs/DECISIONS.md §6): `record_hash` = sha256: + hex(SHA-256(JCS(
//! record without record_hash and ts_token))), stage 0 links to the genesis hash.

use crate::support as common;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uip_types::hashing::GENESIS_HASH;
use uip_types::{
    verify_chain, AuditRecord, Block, ChainError, Primitive, Proof, ReceivedAuditRecord, SessionId, WalletId,
};

const SID: &str = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w";

fn tagged(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The record hash computed without the crate: serde_json value, drop the two fields, JCS via
/// serde_jcs, SHA-256 via sha2.
fn independent_hash(r: &AuditRecord) -> String {
    let mut v = serde_json::to_value(r).unwrap();
    let m = v.as_object_mut().unwrap();
    m.remove("record_hash");
    m.remove("ts_token");
    tagged(&serde_jcs::to_vec(&v).unwrap())
}

fn record0() -> AuditRecord {
    let sid = SessionId::from(SID);
    AuditRecord::new(
        sid,
        0,
        Primitive::AgeVerify,
        WalletId::AppleWallet,
        Proof::AgeVerify { satisfied: true, min_age: 21 },
        chrono::DateTime::from_timestamp(1_780_833_690, 500_000_000).unwrap(),
        GENESIS_HASH,
    )
    .with_client_reference_id("order_4815")
    .with_business_redacted(true)
}

fn record1(prev: &AuditRecord) -> AuditRecord {
    let sid = SessionId::from(SID);
    AuditRecord::new(
        sid,
        1,
        Primitive::Identify,
        WalletId::AppleWallet,
        Proof::Identify {
            blocks: vec![Block::FirstName, Block::LastName],
            claims_digest: uip_types::hashing::jcs_digest(&json!({"first_name": "Jane", "last_name": "Doe"})),
        },
        chrono::DateTime::from_timestamp(1_780_833_750, 123_456_789).unwrap(),
        prev.record_hash.clone(),
    )
    .with_client_reference_id("order_4815")
    .with_business_redacted(false)
}

fn chain() -> Vec<AuditRecord> {
    let mut a = record0();
    a.record_hash = a.compute_record_hash();
    let mut b = record1(&a);
    b.record_hash = b.compute_record_hash();
    vec![a, b]
}

#[test]
fn a_hand_built_chain_verifies() {
    let c = chain();
    assert_eq!(c[0].prev_hash, GENESIS_HASH);
    assert_eq!(c[1].prev_hash, c[0].record_hash);
    assert_eq!(verify_chain(&c), Ok(()));
    assert_eq!(verify_chain(&c[..1]), Ok(()));
    assert_eq!(verify_chain::<AuditRecord>(&[]), Ok(()));
    for r in &c {
        assert_eq!(r.record_hash, independent_hash(r));
        // Survives the wire.
        let back: AuditRecord = serde_json::from_str(&serde_json::to_string(r).unwrap()).unwrap();
        assert_eq!(&back, r);
    }
    let wire: Vec<AuditRecord> = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
    assert_eq!(verify_chain(&wire), Ok(()));
}

#[test]
fn record_hash_covers_the_canonical_record_without_record_hash_and_ts_token() {
    let mut r = record0();
    r.record_hash = "sha256:whatever".into();
    r.ts_token = Some("MIIEtoken".into());
    // The canonical JSON, written out by hand: keys sorted, no record_hash, no ts_token.
    let canonical = format!(
        concat!(
            r#"{{"business_redacted":true,"client_reference_id":"order_4815","id":"{sid}_0","#,
            r#""occurred_at":"2026-06-07T12:01:30.500000000Z","prev_hash":"{genesis}","#,
            r#""primitive":"age_verify","proof":{{"min_age":21,"satisfied":true}},"#,
            r#""session_id":"{sid}","stage":0,"wallet":"apple-wallet"}}"#
        ),
        sid = SID,
        genesis = GENESIS_HASH
    );
    assert_eq!(r.compute_record_hash(), tagged(canonical.as_bytes()));
    assert_eq!(r.compute_record_hash(), independent_hash(&r));

    // Neither the current record_hash nor ts_token influences the hash.
    let mut other = r.clone();
    other.record_hash = String::new();
    other.ts_token = None;
    assert_eq!(other.compute_record_hash(), r.compute_record_hash());

    // An unset client_reference_id is omitted, not null.
    let mut no_ref = r.clone();
    no_ref.client_reference_id = None;
    let without = canonical.replace(r#""client_reference_id":"order_4815","#, "");
    assert_eq!(no_ref.compute_record_hash(), tagged(without.as_bytes()));
}

#[test]
fn ts_token_can_change_without_breaking_the_chain() {
    let mut c = chain();
    c[0].ts_token = Some("MIIE...".into());
    c[1].ts_token = Some("MIIF...".into());
    assert_eq!(verify_chain(&c), Ok(()));
}

type Tamper = Box<dyn Fn(&mut AuditRecord)>;

#[test]
fn tampering_with_any_field_is_a_hash_mismatch() {
    let tampers: Vec<(&str, Tamper)> = vec![
        ("proof", Box::new(|r| r.proof = Proof::AgeVerify { satisfied: false, min_age: 21 })),
        ("min_age", Box::new(|r| r.proof = Proof::AgeVerify { satisfied: true, min_age: 18 })),
        ("occurred_at", Box::new(|r| r.occurred_at += chrono::Duration::nanoseconds(1))),
        ("client_reference_id", Box::new(|r| r.client_reference_id = Some("order_4816".into()))),
        ("client_reference_id removed", Box::new(|r| r.client_reference_id = None)),
        ("wallet", Box::new(|r| r.wallet = WalletId::GoogleWallet)),
        ("business_redacted", Box::new(|r| r.business_redacted = !r.business_redacted)),
        ("primitive", Box::new(|r| r.primitive = Primitive::Sign)),
        ("id", Box::new(|r| r.id = format!("{SID}_9"))),
        ("record_hash", Box::new(|r| r.record_hash = GENESIS_HASH.into())),
    ];
    for (name, tamper) in &tampers {
        let mut c = chain();
        tamper(&mut c[0]);
        assert_eq!(verify_chain(&c), Err(ChainError::HashMismatch { stage: 0 }), "{name}");
        let mut c = chain();
        tamper(&mut c[1]);
        assert_eq!(verify_chain(&c), Err(ChainError::HashMismatch { stage: 1 }), "{name} at stage 1");
    }
    // Tampering with the wire form is caught as well.
    let mut v: Value = serde_json::to_value(chain()).unwrap();
    v[1]["proof"]["claims_digest"] = json!(uip_types::hashing::sha256_tagged(b"forged"));
    let c: Vec<AuditRecord> = serde_json::from_value(v).unwrap();
    assert_eq!(verify_chain(&c), Err(ChainError::HashMismatch { stage: 1 }));
}

#[test]
fn a_broken_link_is_reported() {
    let mut c = chain();
    c[1].prev_hash = uip_types::hashing::sha256_tagged(b"elsewhere");
    c[1].record_hash = c[1].compute_record_hash(); // self-consistent, but not linked
    assert_eq!(verify_chain(&c), Err(ChainError::BrokenLink { stage: 1 }));

    // Re-hashing a tampered record keeps it self-consistent, but the next link breaks.
    let mut c = chain();
    c[0].proof = Proof::AgeVerify { satisfied: false, min_age: 21 };
    c[0].record_hash = c[0].compute_record_hash();
    assert_eq!(verify_chain(&c), Err(ChainError::BrokenLink { stage: 1 }));

    // Stage 0 must start at genesis.
    let mut c = chain();
    c[0].prev_hash = "0x000".into();
    c[0].record_hash = c[0].compute_record_hash();
    assert_eq!(verify_chain(&c[..1]), Err(ChainError::BrokenLink { stage: 0 }));

    // The spec's example uses `0x000`: it parses, but is not a sandbox genesis.
    let example: AuditRecord = serde_json::from_value(common::fixture("spec/audit_record.json")).unwrap();
    assert_eq!(verify_chain(&[example]), Err(ChainError::BrokenLink { stage: 0 }));
}

#[test]
fn stages_must_be_in_order() {
    let c = chain();
    let swapped = vec![c[1].clone(), c[0].clone()];
    assert_eq!(verify_chain(&swapped), Err(ChainError::StageOutOfOrder { index: 0 }));
    assert_eq!(verify_chain(&c[1..]), Err(ChainError::StageOutOfOrder { index: 0 }));
    let dup = vec![c[0].clone(), c[0].clone()];
    assert_eq!(verify_chain(&dup), Err(ChainError::StageOutOfOrder { index: 1 }));
}

#[test]
fn chain_errors_display() {
    assert_eq!(ChainError::StageOutOfOrder { index: 2 }.to_string(), "record 2 is not stage 2");
    assert_eq!(ChainError::BrokenLink { stage: 1 }.to_string(), "stage 1: prev_hash does not link");
    assert_eq!(ChainError::HashMismatch { stage: 0 }.to_string(), "stage 0: record_hash does not match");
}

#[test]
fn every_proof_shape_hashes_and_verifies() {
    // One record per primitive, chained, through the fixtures of docs/DECISIONS.md §6.
    let names = ["audit_identify", "audit_age_verify", "audit_light_sign", "audit_sign"];
    let mut prev = GENESIS_HASH.to_owned();
    let mut records = Vec::new();
    for name in names {
        let mut r: AuditRecord =
            serde_json::from_value(common::fixture(&format!("decisions/{name}.json"))).unwrap();
        r.prev_hash = prev.clone();
        r.record_hash = r.compute_record_hash();
        assert_eq!(r.record_hash, independent_hash(&r), "{name}");
        prev = r.record_hash.clone();
        records.push(r);
    }
    assert_eq!(verify_chain(&records), Ok(()));
    // A proof kept as `Other` (unknown extra field) still hashes over what was received.
    let mut v = serde_json::to_value(&records[1]).unwrap();
    v["proof"]["evidence"] = json!("x");
    let mut r: AuditRecord = serde_json::from_value(v.clone()).unwrap();
    assert!(matches!(r.proof, Proof::Other(_)));
    r.record_hash = r.compute_record_hash();
    let mut expected = v;
    expected.as_object_mut().unwrap().remove("record_hash");
    assert_eq!(r.record_hash, tagged(&serde_jcs::to_vec(&expected).unwrap()));
}

/// A chain as a service would send it, one JSON body per record: each record's `record_hash` is
/// computed over the JSON as sent (here with a field this version does not know, and
/// `occurred_at` in whole seconds), and the next one links to it.
fn received_chain_json() -> Vec<Value> {
    let mut prev = GENESIS_HASH.to_owned();
    chain()
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap();
            v["tsa_serial"] = json!("0x2a");
            v["occurred_at"] = json!(uip_types::time::format_secs(&r.occurred_at));
            v["prev_hash"] = json!(prev);
            let mut hashed = v.clone();
            hashed.as_object_mut().unwrap().remove("record_hash");
            v["record_hash"] = json!(tagged(&serde_jcs::to_vec(&hashed).unwrap()));
            prev = v["record_hash"].as_str().unwrap().to_owned();
            v
        })
        .collect()
}

fn receive(bodies: &[Value]) -> Vec<ReceivedAuditRecord> {
    bodies
        .iter()
        .map(|v| ReceivedAuditRecord::from_slice(serde_json::to_string(v).unwrap().as_bytes()).unwrap())
        .collect()
}

#[test]
fn verify_chain_hashes_each_record_as_received() {
    let bodies = received_chain_json();
    let received = receive(&bodies);
    assert_eq!(verify_chain(&received), Ok(()));
    for (r, body) in received.iter().zip(&bodies) {
        assert_eq!(r.json(), body.as_object().unwrap());
        assert_eq!(r.compute_record_hash(), body["record_hash"]);
        assert_eq!(serde_json::to_value(r).unwrap(), *body);
    }
    // The typed records lose the unknown field and re-format `occurred_at`: their hash no longer
    // matches, which is why the received form exists.
    let typed: Vec<AuditRecord> = received.iter().map(|r| r.record().clone()).collect();
    assert_eq!(verify_chain(&typed), Err(ChainError::HashMismatch { stage: 0 }));
    let converted: Vec<AuditRecord> = received.clone().into_iter().map(AuditRecord::from).collect();
    assert_eq!(converted, typed);

    // A chain this sandbox wrote verifies the same either way.
    let sandbox: Vec<ReceivedAuditRecord> = chain()
        .iter()
        .map(|r| ReceivedAuditRecord::from_value(serde_json::to_value(r).unwrap()).unwrap())
        .collect();
    assert_eq!(verify_chain(&sandbox), Ok(()));
}

#[test]
fn a_change_to_a_field_this_version_does_not_know_is_detected() {
    let mut bodies = received_chain_json();
    bodies[1]["tsa_serial"] = json!("0x2b");
    assert_eq!(verify_chain(&receive(&bodies)), Err(ChainError::HashMismatch { stage: 1 }));

    let mut bodies = received_chain_json();
    bodies[0].as_object_mut().unwrap().remove("tsa_serial");
    assert_eq!(verify_chain(&receive(&bodies)), Err(ChainError::HashMismatch { stage: 0 }));

    // ts_token is outside the hash, as it is in the sandbox's format.
    let mut bodies = received_chain_json();
    bodies[0]["ts_token"] = json!("MIIE...");
    assert_eq!(verify_chain(&receive(&bodies)), Ok(()));
}

#[test]
fn received_records_with_any_prev_hash_parse_but_link_only_to_the_sandbox_genesis() {
    // The docs' example (`prev_hash` "0x000"), as received.
    let example =
        ReceivedAuditRecord::from_slice(common::fixture_text("spec/audit_record.json").as_bytes()).unwrap();
    assert_eq!(example.record().prev_hash, "0x000");
    assert_eq!(verify_chain(&[example]), Err(ChainError::BrokenLink { stage: 0 }));

    // Not an audit record at all: a parse error, not a panic.
    for bad in [&b"[1]"[..], b"{\"id\":\"x\"}", b"not json"] {
        assert!(ReceivedAuditRecord::from_slice(bad).is_err());
    }
    // The Debug form is the typed record's, which redacts the ids.
    let r = &receive(&received_chain_json())[0];
    let dbg = format!("{r:?}");
    assert!(!dbg.contains(&SID[9..]), "{dbg}");
}
