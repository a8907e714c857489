//! The hashes the contract defines: `sha256:<hex>` values, the sign manifest, JCS digests.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// `sha256:` + lowercase hex of SHA-256 of the bytes.
///
/// ```
/// assert_eq!(uip_types::hashing::sha256_tagged(b"abc"),
///     "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// ```
pub fn sha256_tagged(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// Lowercase hex of SHA-256 of the bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The genesis `prev_hash` of stage 0: `sha256:` + 64 zeros.
pub const GENESIS_HASH: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// `sha256:` + hex(SHA-256(JCS(value))), JCS being RFC 8785 canonical JSON.
///
/// ```
/// let v = serde_json::json!({"b": 1, "a": "x"});
/// assert_eq!(uip_types::hashing::jcs_digest(&v), uip_types::hashing::sha256_tagged(br#"{"a":"x","b":1}"#));
/// ```
pub fn jcs_digest<T: Serialize + ?Sized>(value: &T) -> String {
    sha256_tagged(&jcs_bytes(value))
}

/// The RFC 8785 canonical JSON bytes of a value.
pub fn jcs_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serializing plain data (strings, integers, booleans, maps) to JCS cannot fail.
    serde_jcs::to_vec(value).unwrap_or_default()
}

/// A document as it enters a sign manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry<'a> {
    /// The filename.
    pub name: &'a str,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256_hex: String,
    /// Size in bytes.
    pub size: u64,
}

impl<'a> ManifestEntry<'a> {
    /// Hashes a document.
    pub fn new(name: &'a str, bytes: &[u8]) -> Self {
        ManifestEntry { name, sha256_hex: sha256_hex(bytes), size: bytes.len() as u64 }
    }
}

/// The manifest text: for each document in signing order, `{index}:{sha256_hex}:{size}:{filename}\n`.
pub fn sign_manifest(entries: &[ManifestEntry<'_>]) -> String {
    entries.iter().enumerate().map(|(i, e)| format!("{i}:{}:{}:{}\n", e.sha256_hex, e.size, e.name)).collect()
}

/// The `document_hash` of a sign step: `sha256:` + hex(SHA-256(manifest)).
///
/// ```
/// use uip_types::hashing::{sign_document_hash, ManifestEntry, sha256_tagged};
/// let h = sign_document_hash(&[ManifestEntry::new("a.txt", b"hi")]);
/// let line = format!("0:{}:2:a.txt\n", uip_types::hashing::sha256_hex(b"hi"));
/// assert_eq!(h, sha256_tagged(line.as_bytes()));
/// ```
pub fn sign_document_hash(entries: &[ManifestEntry<'_>]) -> String {
    sha256_tagged(sign_manifest(entries).as_bytes())
}

/// The `document_hash` of a light_sign step: `sha256:` + hex(SHA-256(UTF-8 terms)).
pub fn light_sign_document_hash(terms: &str) -> String {
    sha256_tagged(terms.as_bytes())
}
