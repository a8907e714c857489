//! Sign a contract: upload two documents with a `sign` session (multipart), let the user sign,
//! and check the device signature from the webhook with `ed25519-dalek`.
//!
//! ```sh
//! cargo run -p uip-sandbox                               # terminal 1
//! cargo run -p uip-examples --example sign_contract      # terminal 2
//! ```
//!
//! `UIP_SANDBOX_URL` (default `http://127.0.0.1:8787`) and `UIP_API_KEY` (default
//! `uip_test_sandbox`) point it elsewhere.
//!
//! UIP hashes each uploaded file, then one manifest over all of them in signing order; the
//! user's wallet signs that `document_hash`. The example recomputes the manifest hash itself,
//! and verifies the Ed25519 signature against the signer's device public key (in the sandbox,
//! the persona's key from `GET /_sandbox/personas`). Webhooks are received by a verifying
//! receiver on `127.0.0.1:<random port>`; the business's webhook URL points to it for the run.

use std::process::ExitCode;

use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};
use uip_client::{Client, Document, Proof};
use uip_examples::{next_event, BoxError, Events, Sandbox};
use uip_sandbox::Simulate;
use uip_types::StepResult;
use uip_webhook_verify::WebhookEvent;

const CONTRACT: &str = "\
RENTAL AGREEMENT
Landlord: Example Homes Ltd. Tenant: the signer.
Flat 3, 12 Example Street, from 1 June 2026, 1 200 USD per month.
";
const ANNEX: &str = "Annex A: parking space 12 is included.\n";

/// The persona who signs (any built-in one that verifies: jane-doe, minor, no-portrait, …).
const SIGNER: &str = "jane-doe";

#[tokio::main]
async fn main() -> ExitCode {
    uip_examples::run(|client, sandbox, mut events| async move { run(&client, &sandbox, &mut events).await })
        .await
}
async fn run(client: &Client, sandbox: &Sandbox, events: &mut Events) -> Result<(), BoxError> {
    // A multipart create: the session JSON plus one part per file, signed in this order.
    let session = client
        .session()
        .sign(["rental-agreement.txt", "annex-a.txt"])
        .document(Document::from_bytes("rental-agreement.txt", CONTRACT))
        .document(Document::from_bytes("annex-a.txt", ANNEX))
        .client_reference_id("lease-2026-0042")
        .send()
        .await?;
    let id = session.id.as_str();
    println!("created sign session {id} with 2 documents ({} + {} bytes)", CONTRACT.len(), ANNEX.len());

    // What the wallet will sign, computed here from the files alone.
    let expected =
        manifest_hash(&[("rental-agreement.txt", CONTRACT.as_bytes()), ("annex-a.txt", ANNEX.as_bytes())]);
    println!("expected document_hash (manifest of both files): {expected}");

    // The user reads the documents on the hosted page and signs in their wallet.
    let view = sandbox.simulate(id, &Simulate::share_as(SIGNER)).await?;
    println!("simulated the signer ({SIGNER}, Apple Wallet): session is {}", view.status);

    let WebhookEvent::StepCompleted(step) = next_event(events).await? else {
        return Err("expected step.completed first".into());
    };
    let StepResult::Signature { signature, document_hash } = step.result else {
        return Err(format!("unexpected result {:?}", step.result).into());
    };
    println!("webhook step.completed: document_hash {document_hash}");
    println!("                        signature     {signature}");
    if document_hash != expected {
        return Err("the signed document_hash is not the manifest of the uploaded files".into());
    }
    println!("✓ the signed hash is the manifest of exactly these two files");

    // The signer's device key. With a real wallet it comes from the credential; the sandbox
    // publishes its personas' keys.
    let personas = sandbox.personas().await?;
    let public_key = &personas.iter().find(|p| p.id == SIGNER).ok_or("persona not found")?.device_public_key;
    verify_device_signature(public_key, &document_hash, &signature)?;
    println!("✓ Ed25519 signature verified with {SIGNER}'s device key {public_key}");

    let terminal = next_event(events).await?;
    println!("webhook {}", terminal.name());

    let audit = client.get_audit(&step.audit_id).await?;
    println!("audit {}: record_hash {}", audit.id, audit.record_hash);
    if let Proof::Sign { documents, .. } = &audit.proof {
        for d in documents {
            println!("  signed {} ({} bytes, {})", d.name, d.size, d.sha256);
        }
    }
    Ok(())
}

/// `sha256:` + hex(SHA-256 of the lines `{index}:{sha256_hex}:{size}:{filename}\n`).
fn manifest_hash(documents: &[(&str, &[u8])]) -> String {
    let manifest: String = documents
        .iter()
        .enumerate()
        .map(|(i, (name, bytes))| {
            format!("{i}:{}:{}:{name}\n", hex::encode(Sha256::digest(bytes)), bytes.len())
        })
        .collect();
    format!("sha256:{}", hex::encode(Sha256::digest(manifest.as_bytes())))
}

/// Ed25519 over the UTF-8 bytes of `document_hash`; key and signature are base64url, unpadded.
fn verify_device_signature(public_key: &str, document_hash: &str, signature: &str) -> Result<(), BoxError> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let key: [u8; 32] = b64.decode(public_key)?.try_into().map_err(|_| "the public key is not 32 bytes")?;
    let key = VerifyingKey::from_bytes(&key)?;
    let signature = Signature::from_slice(&b64.decode(signature)?)?;
    key.verify(document_hash.as_bytes(), &signature)?;
    Ok(())
}
