//! Sessions that complete: one test per primitive, and one with every JSON primitive in a
//! row (audit hash chain). Each asserts the typed webhooks a real receiver verified, in order.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use uip_client::{Block, CreateSessionRequest, Document, Primitive, SessionStatus, Step};
use uip_e2e::{ended, light_sign_hash, manifest_hash, names, step, verify_device_signature, Env, WAIT};
use uip_types::sandbox::ResponseOutcome;
use uip_types::{Proof, StepResult, SESSION_COMPLETED};

#[tokio::test]
async fn identify_completes_with_the_requested_claims_and_echoes() {
    let env = Env::start().await;
    let balance_before = env.sandbox.business().unwrap().balance_cents;

    let session = env
        .client
        .session()
        .identify([Block::FirstName, Block::LastName, Block::Dob, Block::Country, Block::DocumentNumber])
        .client_reference_id("order_4815")
        .metadata("cart", "c_991")
        .send()
        .await
        .unwrap();
    assert_eq!(session.status, SessionStatus::Created);
    assert_eq!(session.url.expose(), format!("{}/s/{}", env.sandbox.base_url(), session.id.as_str()));

    let user = env.sandbox.user(&session.id);
    user.open().await.unwrap();
    let result = user.share().await.unwrap();
    assert_eq!(result.outcome, ResponseOutcome::Verified);

    let events = env.receiver.wait_terminal(session.id.as_str(), WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "session.completed"]);

    let s = step(&events[0]);
    assert_eq!(s.context.session_id, session.id);
    assert_eq!(s.context.client_reference_id.as_deref(), Some("order_4815"));
    assert_eq!(s.context.metadata, Some(BTreeMap::from([("cart".to_owned(), "c_991".to_owned())])));
    assert_eq!(s.primitive, Primitive::Identify);
    assert_eq!(s.audit_id, format!("{}_0", session.id.as_str()));
    let StepResult::Identify { claims } = &s.result else { panic!("{:?}", s.result) };
    let expected: BTreeMap<String, Value> = [
        ("first_name", "Jane"),
        ("last_name", "Doe"),
        ("dob", "1990-04-01"),
        ("country", "US"),
        ("document_number", "D1234567"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), json!(v)))
    .collect();
    assert_eq!(claims, &expected, "only the requested blocks, from the jane-doe persona");

    let done = ended(&events[1], SESSION_COMPLETED);
    assert_eq!(done.status, SessionStatus::Completed);
    assert_eq!(done.reason, None);
    assert_eq!(done.context.client_reference_id.as_deref(), Some("order_4815"));

    // The API agrees, the audit record holds a digest (not the claims), and the step was billed.
    let view = env.client.get_session(&session.id).await.unwrap();
    assert_eq!((view.status, view.current_step, view.step_count), (SessionStatus::Completed, 0, 1));
    let audit = env.client.get_audit(&s.audit_id).await.unwrap();
    assert_eq!(audit.client_reference_id.as_deref(), Some("order_4815"));
    assert!(!audit.business_redacted);
    assert!(
        matches!(&audit.proof, Proof::Identify { claims_digest, .. } if claims_digest.starts_with("sha256:"))
    );
    assert_eq!(audit.compute_record_hash(), audit.record_hash);
    assert_eq!(env.sandbox.business().unwrap().balance_cents, balance_before - 1);
}

#[tokio::test]
async fn age_verify_completes_with_a_boolean_only() {
    let env = Env::start().await;
    let mut outcomes = Vec::new();
    for persona in ["jane-doe", "minor"] {
        let session = env.client.session().age_verify(21).send().await.unwrap();
        let user = env.sandbox.user(&session.id);
        user.open().await.unwrap();
        assert_eq!(user.share_as(persona).await.unwrap().outcome, ResponseOutcome::Verified);

        let events = env.receiver.wait_terminal(session.id.as_str(), WAIT).await;
        assert_eq!(names(&events), ["step.completed[0]", "session.completed"], "{persona}");
        let s = step(&events[0]);
        assert_eq!(s.primitive, Primitive::AgeVerify);
        outcomes.push(s.result.clone());
        // No date of birth anywhere in what was delivered.
        let raw = env.receiver.received().into_iter().find(|r| r.delivery_id.ends_with(":step.completed:0"));
        let body = String::from_utf8(raw.unwrap().body.to_vec()).unwrap();
        assert!(!body.contains("dob") && !body.contains("2012-01-01"), "{body}");

        let audit = env.client.get_audit(&s.audit_id).await.unwrap();
        assert!(audit.business_redacted, "age_verify audits are redacted");
    }
    assert_eq!(
        outcomes,
        [
            StepResult::AgeVerify { satisfied: true, min_age: Some(21) },
            StepResult::AgeVerify { satisfied: false, min_age: Some(21) }, // under age is a verified step
        ]
    );
}

#[tokio::test]
async fn light_sign_completes_with_a_device_signature_over_the_terms() {
    let env = Env::start().await;
    let terms = "I accept the rental terms of 1 June 2026.";
    let session = env.client.session().light_sign(terms).title("Rental terms").send().await.unwrap();

    let user = env.sandbox.user(&session.id);
    user.open().await.unwrap();
    let request = user.request().await.unwrap();
    assert_eq!(request.terms.as_deref(), Some(terms), "the page shows the exact terms");
    assert_eq!(request.document_hash.as_deref(), Some(light_sign_hash(terms).as_str()));
    user.share().await.unwrap();

    let events = env.receiver.wait_terminal(session.id.as_str(), WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "session.completed"]);
    let s = step(&events[0]);
    assert_eq!(s.primitive, Primitive::LightSign);
    let StepResult::Signature { signature, document_hash } = &s.result else { panic!("{:?}", s.result) };
    assert_eq!(document_hash, &light_sign_hash(terms));

    let jane = env.persona("jane-doe");
    verify_device_signature(&jane.device_public_key, document_hash, signature).unwrap();
    // A signature over other terms does not pass.
    assert!(
        verify_device_signature(&jane.device_public_key, &light_sign_hash("other terms"), signature).is_err()
    );
}

#[tokio::test]
async fn sign_two_documents_completes_with_a_signature_over_the_manifest() {
    let env = Env::start().await;
    let contract: &[u8] = b"%PDF-1.7\nLease of flat 3, 12 Example Street.\n%%EOF\n";
    let annex: &[u8] = b"Parking space 12 is included.";
    let request = CreateSessionRequest::new(vec![Step::sign(["contract.pdf", "annex.txt"])]);
    let session = env
        .client
        .create_session_with_documents(
            &request,
            vec![Document::from_bytes("contract.pdf", contract), Document::from_bytes("annex.txt", annex)],
        )
        .await
        .unwrap();

    let expected_hash = manifest_hash(&[("contract.pdf", contract), ("annex.txt", annex)]);
    let user = env.sandbox.user(&session.id);
    user.open().await.unwrap();
    let wallet_request = user.request().await.unwrap();
    assert_eq!(wallet_request.primitive, Primitive::Sign);
    assert_eq!(wallet_request.document_hash.as_deref(), Some(expected_hash.as_str()));
    let docs = wallet_request.documents.unwrap();
    assert_eq!(
        docs.iter().map(|d| (d.index, d.name.as_str(), d.size)).collect::<Vec<_>>(),
        [(0, "contract.pdf", contract.len() as u64), (1, "annex.txt", annex.len() as u64)]
    );

    // Signed by a persona other than the default: the signature must match *its* key.
    user.share_as("no-portrait").await.unwrap();
    let events = env.receiver.wait_terminal(session.id.as_str(), WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "session.completed"]);
    let s = step(&events[0]);
    assert_eq!(s.primitive, Primitive::Sign);
    let StepResult::Signature { signature, document_hash } = &s.result else { panic!("{:?}", s.result) };
    assert_eq!(document_hash, &expected_hash, "the manifest of both files, in declared order");

    let signer = env.persona("no-portrait");
    verify_device_signature(&signer.device_public_key, document_hash, signature).unwrap();
    let jane = env.persona("jane-doe");
    assert!(verify_device_signature(&jane.device_public_key, document_hash, signature).is_err());

    let audit = env.client.get_audit(&s.audit_id).await.unwrap();
    let Proof::Sign { documents, signature: audit_sig, .. } = &audit.proof else {
        panic!("{:?}", audit.proof)
    };
    assert_eq!(audit_sig, signature);
    assert_eq!(documents.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["contract.pdf", "annex.txt"]);
}

#[tokio::test]
async fn several_steps_complete_in_stage_order_with_a_hash_chained_audit() {
    let env = Env::start().await;
    let session =
        env.client.session().identify_default().age_verify(18).light_sign("I agree.").send().await.unwrap();
    let user = env.sandbox.user(&session.id);
    user.open().await.unwrap();
    for _ in 0..3 {
        assert_eq!(user.share().await.unwrap().outcome, ResponseOutcome::Verified);
    }

    let events = env.receiver.wait_terminal(session.id.as_str(), WAIT).await;
    assert_eq!(
        names(&events),
        ["step.completed[0]", "step.completed[1]", "step.completed[2]", "session.completed"]
    );
    let primitives: Vec<Primitive> = events[..3].iter().map(|e| step(e).primitive.clone()).collect();
    assert_eq!(primitives, [Primitive::Identify, Primitive::AgeVerify, Primitive::LightSign]);
    let StepResult::Identify { claims } = &step(&events[0]).result else { panic!() };
    assert_eq!(claims.keys().collect::<Vec<_>>(), ["dob", "first_name", "last_name"], "the default blocks");

    let mut audits = Vec::new();
    for e in &events[..3] {
        audits.push(env.client.get_audit(&step(e).audit_id).await.unwrap());
    }
    uip_types::verify_chain(&audits).unwrap();
    assert_eq!(audits[0].prev_hash, uip_types::hashing::GENESIS_HASH);

    let view = env.client.get_session(&session.id).await.unwrap();
    assert_eq!((view.status, view.current_step), (SessionStatus::Completed, 2));
    // Every delivery of the session succeeded at the first attempt (the receiver said 2xx).
    let log = env.sandbox.deliveries(&session.id);
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|d| d.status == uip_sandbox::DeliveryStatus::Delivered && d.attempts.len() == 1));
    assert!(env.receiver.rejected().is_empty() && env.receiver.duplicates().is_empty());
}
