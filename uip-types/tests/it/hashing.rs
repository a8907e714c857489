//! The hashes docs/DECISIONS.md §1, §2 and §6 define, checked against values computed independently.

use serde_json::json;
use sha2::{Digest, Sha256};
use uip_types::hashing::{
    jcs_bytes, jcs_digest, light_sign_document_hash, sha256_hex, sha256_tagged, sign_document_hash,
    sign_manifest, ManifestEntry, GENESIS_HASH,
};

fn tagged(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[test]
fn sha256_values_are_tagged_lowercase_hex() {
    assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(
        sha256_tagged(b"abc"),
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let h = sha256_tagged(b"anything");
    let hex_part = h.strip_prefix("sha256:").unwrap();
    assert_eq!(hex_part.len(), 64);
    assert!(hex_part.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
}

#[test]
fn genesis_hash_is_sha256_and_64_zeros() {
    assert_eq!(GENESIS_HASH, format!("sha256:{}", "0".repeat(64)));
    assert_eq!(GENESIS_HASH.len(), 7 + 64);
}

#[test]
fn sign_manifest_has_one_line_per_document_in_declared_order() {
    let entries = [ManifestEntry::new("a.txt", b"hi"), ManifestEntry::new("b c.pdf", b"foo")];
    assert_eq!(entries[0].sha256_hex, "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4");
    assert_eq!(entries[1].size, 3);
    let manifest = sign_manifest(&entries);
    assert_eq!(
        manifest,
        "0:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4:2:a.txt\n\
         1:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae:3:b c.pdf\n"
    );
    let hash = sign_document_hash(&entries);
    assert_eq!(hash, "sha256:597ba221e4b1d34a0f8e4b18305aa6ebb31ad17b6ca074923412d1de21528c74");
    assert_eq!(hash, tagged(manifest.as_bytes()));

    // The order is the signing order: swapping documents changes the index column and the hash.
    let swapped = [ManifestEntry::new("b c.pdf", b"foo"), ManifestEntry::new("a.txt", b"hi")];
    assert!(sign_manifest(&swapped).starts_with("0:2c26b46b"));
    assert_ne!(sign_document_hash(&swapped), hash);

    // Empty documents and non-ASCII names are written as is; the index counts from 0.
    let odd = [ManifestEntry::new("ünïcode.txt", b"")];
    assert_eq!(sign_manifest(&odd), format!("0:{}:0:ünïcode.txt\n", sha256_hex(b"")));
    let many: Vec<_> = (0..12).map(|_| ManifestEntry::new("x", b"x")).collect();
    assert!(sign_manifest(&many).lines().last().unwrap().starts_with("11:"));
    assert_eq!(sign_manifest(&[]), "");
}

#[test]
fn light_sign_hash_is_over_the_utf8_terms() {
    let terms = "I accept the terms. ✓";
    assert_eq!(
        light_sign_document_hash(terms),
        "sha256:052f9572ce63e426ca8a86bfd7209a53b19cef20e20f9f169fdc64ee41611324"
    );
    assert_eq!(light_sign_document_hash(terms), tagged(terms.as_bytes()));
}

#[test]
fn jcs_digest_sorts_keys_at_every_level() {
    // Serialized in reverse key order whatever serde_json's features (struct fields keep
    // their declaration order; a `Value` map's order depends on `preserve_order`).
    #[derive(serde::Serialize)]
    struct Inner {
        d: Option<u8>,
        c: bool,
    }
    #[derive(serde::Serialize)]
    struct Reversed {
        z: u8,
        b: &'static str,
        a: (u8, Inner),
    }
    let v = Reversed { z: 1, b: "x", a: (1, Inner { d: None, c: true }) };
    assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"z":1,"b":"x","a":[1,{"d":null,"c":true}]}"#);
    let canonical = r#"{"a":[1,{"c":true,"d":null}],"b":"x","z":1}"#;
    assert_eq!(String::from_utf8(jcs_bytes(&v)).unwrap(), canonical);
    assert_eq!(jcs_digest(&v), "sha256:59d8868903aa8c28464cd3929490500ee8414392b7657339cfc94f339d3b1fe0");
    assert_eq!(jcs_digest(&v), tagged(canonical.as_bytes()));
    // Key order of the input does not matter.
    assert_eq!(jcs_digest(&v), jcs_digest(&json!({"a": [1, {"c": true, "d": null}], "b": "x", "z": 1})));
    // Array order does.
    assert_ne!(jcs_digest(&json!([1, 2])), jcs_digest(&json!([2, 1])));
}

#[test]
fn claims_digest_is_jcs_of_the_claims() {
    // docs/DECISIONS.md §6: identify proof `claims_digest` = sha256: + hex(SHA-256(JCS(claims))).
    let claims =
        json!({"last_name": "Doe", "first_name": "Jane", "dob": "1990-04-01", "portrait": "unavailable"});
    let canonical = r#"{"dob":"1990-04-01","first_name":"Jane","last_name":"Doe","portrait":"unavailable"}"#;
    assert_eq!(jcs_digest(&claims), tagged(canonical.as_bytes()));
    // Non-ASCII is written as UTF-8, not escaped.
    assert_eq!(jcs_bytes(&json!({"n": "Zoë"})), "{\"n\":\"Zoë\"}".as_bytes());
}
