//! Gated sessions: the business reads the gate step's webhook, then continues or stops.

use uip_client::{Block, Error, ErrorCode, Primitive, SessionStatus};
use uip_e2e::{ended, names, refusal, step, Env, WAIT};
use uip_types::sandbox::ResponseOutcome;
use uip_types::{StepResult, SESSION_COMPLETED, SESSION_STOPPED};

#[tokio::test]
async fn gate_then_continue_then_completed() {
    let env = Env::start().await;
    let session = env
        .client
        .session()
        .identify([Block::FirstName, Block::LastName])
        .gate()
        .light_sign("I accept the terms.")
        .send()
        .await
        .unwrap();
    let id = session.id.as_str();
    let user = env.sandbox.user(id);
    user.open().await.unwrap();
    user.share().await.unwrap();

    // The gate's step.completed arrives; the session waits for the business.
    let events = env.receiver.wait_for(id, 1, WAIT).await;
    let gate = step(&events[0]);
    assert_eq!((gate.stage, &gate.primitive), (0, &Primitive::Identify));
    let view = env.client.get_session(&session.id).await.unwrap();
    assert_eq!((view.status, view.current_step), (SessionStatus::AwaitingDecision, 0));
    // The user cannot go on by themselves.
    assert_eq!(refusal(user.request().await), (409, "session/not-active".to_owned()));

    // Decide on the claims from the webhook.
    let StepResult::Identify { claims } = &gate.result else { panic!("{:?}", gate.result) };
    assert_eq!(claims["last_name"], "Doe");
    let decision = env.client.continue_session(&session.id).await.unwrap();
    assert_eq!((decision.status, decision.current_step), (SessionStatus::InProgress, 1));
    assert_eq!(decision.current_primitive, Some(Primitive::LightSign));

    assert_eq!(user.share().await.unwrap().outcome, ResponseOutcome::Verified);
    let events = env.receiver.wait_terminal(id, WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "step.completed[1]", "session.completed"]);
    assert_eq!(step(&events[1]).primitive, Primitive::LightSign);
    assert_eq!(ended(&events[2], SESSION_COMPLETED).status, SessionStatus::Completed);

    // A decision on a finished session is refused.
    let err = env.client.continue_session(&session.id).await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 409, .. }), "{err:?}");
    assert_eq!(err.code(), Some(&ErrorCode::NotAwaitingDecision));
}

#[tokio::test]
async fn gate_then_stop() {
    let env = Env::start().await;
    let balance_before = env.sandbox.business().unwrap().balance_cents;
    let session = env.client.session().identify_default().gate().age_verify(21).send().await.unwrap();
    let id = session.id.as_str();
    let user = env.sandbox.user(id);
    user.open().await.unwrap();
    user.share_as("minor").await.unwrap();

    let events = env.receiver.wait_for(id, 1, WAIT).await;
    let StepResult::Identify { claims } = &step(&events[0]).result else { panic!() };
    assert_eq!(claims["dob"], "2012-01-01", "the business sees a minor and stops");
    let decision = env.client.stop_session(&session.id).await.unwrap();
    assert_eq!((decision.status, decision.current_step), (SessionStatus::Stopped, 0));

    let events = env.receiver.wait_terminal(id, WAIT).await;
    assert_eq!(names(&events), ["step.completed[0]", "session.stopped"]);
    let stopped = ended(&events[1], SESSION_STOPPED);
    assert_eq!((stopped.status.clone(), stopped.reason.clone()), (SessionStatus::Stopped, None));

    // The verified step stays billed; the skipped one is not; the page is closed.
    assert_eq!(env.sandbox.business().unwrap().balance_cents, balance_before - 1);
    assert_eq!(refusal(user.request().await), (409, "session/not-active".to_owned()));
    let view = env.client.get_session(&session.id).await.unwrap();
    assert_eq!(view.status, SessionStatus::Stopped);
}
