//! Sessions that fail: a credential that does not verify (each failing persona), and a balance
//! that runs out mid-session.

use uip_client::{Error, ErrorCode, SessionStatus};
use uip_e2e::{ended, names, refusal, step, Env, WAIT};
use uip_sandbox::Trust;
use uip_types::sandbox::ResponseOutcome;
use uip_types::SESSION_FAILED;

/// Shares `persona` on a one-step identify session and checks the failure end to end.
async fn fails_with(env: &Env, persona: &str, reason: &str) {
    let balance_before = env.sandbox.business().unwrap().balance_cents;
    let session = env.client.session().identify_default().client_reference_id(persona).send().await.unwrap();
    let id = session.id.as_str();
    let user = env.sandbox.user(id);
    user.open().await.unwrap();
    let result = user.share_as(persona).await.unwrap();
    assert_eq!(result.outcome, ResponseOutcome::Failed, "{persona}");
    assert_eq!(result.reason(), Some(reason), "{persona}");

    let events = env.receiver.wait_terminal(id, WAIT).await;
    assert_eq!(names(&events), ["session.failed"], "{persona}: no step.completed for a failed step");
    let failed = ended(&events[0], SESSION_FAILED);
    assert_eq!(failed.status, SessionStatus::Failed);
    assert_eq!(failed.reason.as_deref(), Some(reason));
    assert_eq!(failed.context.client_reference_id.as_deref(), Some(persona));

    assert_eq!(env.client.get_session(&session.id).await.unwrap().status, SessionStatus::Failed);
    // Nothing billed, no audit record, no second chance.
    assert_eq!(env.sandbox.business().unwrap().balance_cents, balance_before, "{persona}");
    let err = env.client.get_audit(format!("{id}_0")).await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");
    assert_eq!(refusal(user.share().await), (409, "session/not-active".to_owned()), "{persona}");
}

#[tokio::test]
async fn tampered_credential_fails_the_integrity_check() {
    let env = Env::start().await;
    fails_with(&env, "tampered", "integrity_check_failed").await;
}

#[tokio::test]
async fn expired_credential_fails_freshness() {
    let env = Env::start().await;
    fails_with(&env, "expired-credential", "credential_expired").await;
}

#[tokio::test]
async fn untrusted_issuer_fails_under_production_trust_only() {
    let env = Env::with(|b| b.trust(Trust::Production)).await;
    fails_with(&env, "untrusted-issuer", "untrusted_issuer").await;

    // The same persona verifies once the business relaxes to demo trust.
    let business = env.sandbox.set_trust(Trust::Demo).unwrap();
    assert_eq!(business.trust, Trust::Demo);
    let session = env.client.session().identify_default().send().await.unwrap();
    let user = env.sandbox.user(session.id.as_str());
    user.open().await.unwrap();
    assert_eq!(user.share_as("untrusted-issuer").await.unwrap().outcome, ResponseOutcome::Verified);
    let events = env.receiver.wait_terminal(session.id.as_str(), WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "session.completed"]);
}

#[tokio::test]
async fn insufficient_funds_mid_session() {
    let env = Env::start().await;
    // Enough for the whole session at create time (identify 1 + age_verify 1)…
    env.sandbox.set_balance(2).unwrap();
    let session = env.client.session().identify_default().age_verify(18).send().await.unwrap();
    let id = session.id.as_str();
    let user = env.sandbox.user(id);
    user.open().await.unwrap();
    assert_eq!(user.share().await.unwrap().outcome, ResponseOutcome::Verified);
    env.receiver.wait_for(id, 1, WAIT).await;
    assert_eq!(env.sandbox.business().unwrap().balance_cents, 1);

    // …then the balance drops before the second step verifies.
    env.sandbox.set_balance(0).unwrap();
    let result = user.share().await.unwrap();
    assert_eq!(result.outcome, ResponseOutcome::Failed);
    assert_eq!(result.reason(), Some("insufficient_funds"));

    let events = env.receiver.wait_terminal(id, WAIT).await;
    assert_eq!(
        names(&events),
        ["step.completed[0]", "session.failed"],
        "no step.completed for the unpaid step"
    );
    assert_eq!(step(&events[0]).stage, 0);
    let failed = ended(&events[1], SESSION_FAILED);
    assert_eq!(failed.reason.as_deref(), Some("insufficient_funds"));

    // The paid step has its audit record; the unpaid one has none.
    env.client.get_audit(format!("{id}_0")).await.unwrap();
    let err = env.client.get_audit(format!("{id}_1")).await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");
    assert_eq!(env.sandbox.business().unwrap().balance_cents, 0);

    // And with nothing left, the next create is refused up front.
    let err = env.client.session().age_verify(18).send().await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 402, .. }), "{err:?}");
    assert_eq!(err.code(), Some(&ErrorCode::InsufficientFunds));
}
