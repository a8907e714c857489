//! Webhook secret rotation: the receiver holds the old and the new secret in one Verifier
//! during the switch, so events signed before and after the rotation all verify.

use uip_e2e::{names, Env, E2E_SECRET, WAIT};
use uip_webhook_verify::{
    Verifier, VerifyError, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};

/// Re-checks a received delivery against one secret, at the time it was signed.
fn verifies_with(secret: &str, r: &uip_e2e::Received) -> Result<(), VerifyError> {
    let timestamp = r.timestamp.to_string();
    let headers = [
        (HEADER_EVENT, r.event.name()),
        (HEADER_TIMESTAMP, timestamp.as_str()),
        (HEADER_SIGNATURE, r.signature.as_str()),
        (HEADER_DELIVERY_ID, r.delivery_id.as_str()),
    ];
    Verifier::new(secret)?.with_now(r.timestamp).verify(&headers[..], &r.body).map(|_| ())
}

#[tokio::test]
async fn events_before_and_after_a_secret_rotation_all_verify() {
    let env = Env::start().await;
    let session = env.client.session().identify_default().gate().age_verify(18).send().await.unwrap();
    let id = session.id.as_str();
    let user = env.sandbox.user(id);
    user.open().await.unwrap();
    user.share().await.unwrap();
    env.receiver.wait_for(id, 1, WAIT).await; // signed with the old secret

    // Rotate. The sandbox signs every later attempt with the new secret; the receiver accepts
    // both while the switch is under way (new first, as the current one).
    let new_secret = env.sandbox.rotate_webhook_secret().unwrap().expose().to_owned();
    assert_ne!(new_secret, E2E_SECRET);
    assert!(new_secret.starts_with("uip_whsec_"));
    assert_eq!(env.sandbox.webhook_secret().expose(), new_secret);
    env.receiver.set_verifier(Verifier::with_secrets([new_secret.as_str(), E2E_SECRET]).unwrap());

    env.client.continue_session(&session.id).await.unwrap();
    user.share().await.unwrap();
    let events = env.receiver.wait_terminal(id, WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "step.completed[1]", "session.completed"]);
    assert!(env.receiver.rejected().is_empty(), "{:?}", env.receiver.rejected());

    // Which secret signed what: the first event the old one, the later ones the new one.
    let received = env.receiver.received();
    assert_eq!(received.len(), 3);
    verifies_with(E2E_SECRET, &received[0]).unwrap();
    assert_eq!(verifies_with(&new_secret, &received[0]).unwrap_err().kind(), "signature_mismatch");
    for r in &received[1..] {
        verifies_with(&new_secret, r).unwrap();
        assert_eq!(verifies_with(E2E_SECRET, r).unwrap_err().kind(), "signature_mismatch");
    }

    // Once the switch is over, the old secret is dropped; new events still verify.
    env.receiver.set_verifier(Verifier::new(new_secret.as_str()).unwrap());
    let next = env.client.session().age_verify(18).send().await.unwrap();
    let user = env.sandbox.user(next.id.as_str());
    user.open().await.unwrap();
    user.share().await.unwrap();
    let events = env.receiver.wait_terminal(next.id.as_str(), WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "session.completed"]);
}

#[tokio::test]
async fn a_receiver_that_missed_the_rotation_refuses_until_it_learns_the_new_secret() {
    let env = Env::start().await;
    let new_secret = env.sandbox.rotate_webhook_secret().unwrap().expose().to_owned();

    // The receiver still has only the old secret: the sandbox's deliveries are refused (401)
    // and retried.
    let session = env.client.session().age_verify(18).send().await.unwrap();
    let id = session.id.as_str();
    let user = env.sandbox.user(id);
    user.open().await.unwrap();
    user.share().await.unwrap();
    let refused = env
        .receiver
        .wait_until(WAIT, || {
            let r = env.receiver.rejected();
            (r.len() >= 2).then_some(r)
        })
        .await
        .expect("refused deliveries");
    assert!(refused.iter().all(|r| r.kind == "signature_mismatch" && r.status == Some(401)), "{refused:?}");
    assert!(env.receiver.events(id).is_empty());

    // It learns the new secret: the retries now verify, in order, each event once.
    env.receiver.set_verifier(Verifier::with_secrets([new_secret.as_str(), E2E_SECRET]).unwrap());
    let events = env.receiver.wait_terminal(id, WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "session.completed"]);
    let log = env.sandbox.deliveries(id);
    assert!(log[0].attempts.len() >= 2, "the first event needed retries: {:?}", log[0].attempts);
}
