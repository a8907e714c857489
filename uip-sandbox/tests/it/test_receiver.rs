//! `TestReceiver` against a real sandbox: scripted answers, what it keeps, in order.

use std::time::Duration;

use serde_json::json;
use uip_sandbox::{DeliveryFault, Reply, Simulate, TestReceiver};

use crate::support::delivery::PATIENCE;
use crate::support::{self, Env};

const SECRET: &str = "uip_whsec_sandbox";

/// A sandbox (with the tests' fast retries) whose default business delivers to `receiver`.
async fn env_for(receiver: &TestReceiver) -> Env {
    support::start_with(support::fast().webhook_url(receiver.url())).await
}

#[tokio::test]
async fn fail_first_then_verdict_keeps_every_attempt_in_order() {
    let receiver = TestReceiver::builder().secret(SECRET).fail_first(2, 503).start().await;
    let env = env_for(&receiver).await;
    let sandbox = &env.sb;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    sandbox.simulate(&id, Simulate::share()).unwrap();

    let events = receiver.wait_terminal(&id, PATIENCE).await;
    let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["step.completed", "session.completed"]);
    let answered: Vec<(String, Option<u16>)> =
        receiver.arrivals().into_iter().map(|a| (a.label(), a.answered)).collect();
    assert_eq!(
        answered,
        [
            ("step:0".to_owned(), Some(503)),
            ("step:0".to_owned(), Some(503)),
            ("step:0".to_owned(), Some(200)),
            ("session.completed".to_owned(), Some(503)),
            ("session.completed".to_owned(), Some(503)),
            ("session.completed".to_owned(), Some(200)),
        ]
    );
    // The sandbox's log agrees, attempt by attempt.
    let log = sandbox.wait_delivered(format!("{id}:session.completed")).await.unwrap();
    let codes: Vec<Option<u16>> = log.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(503), Some(503), Some(200)]);
    assert!(receiver.rejected().is_empty() && receiver.duplicates().is_empty());
    assert_eq!((receiver.count(), receiver.rejected_count()), (6, 0));
}

#[tokio::test]
async fn faulted_redeliveries_are_rejected_and_a_duplicate_is_marked() {
    let receiver = TestReceiver::verifying(SECRET).await;
    let env = env_for(&receiver).await;
    let sandbox = &env.sb;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    sandbox.simulate(&id, Simulate::share()).unwrap();
    let delivery_id = format!("{id}:session.completed");
    let first = receiver.wait_delivery(&delivery_id, PATIENCE).await.expect("delivered");
    assert_eq!(first.answered, Some(200));
    assert!(!first.duplicate);

    sandbox.redeliver(&delivery_id, DeliveryFault::StaleTimestamp).unwrap();
    sandbox.wait_delivered(&delivery_id).await.unwrap();
    let rejected = receiver.rejected();
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        (rejected[0].kind.as_str(), rejected[0].status, rejected[0].delivery_id.as_deref()),
        ("timestamp_out_of_tolerance", Some(401), Some(delivery_id.as_str()))
    );
    // The clean retry after the refusal verified, and is a repeat of an accepted delivery.
    assert_eq!(receiver.duplicates(), std::slice::from_ref(&delivery_id));
    assert_eq!(receiver.events(&id).len(), 2, "each event once");
    // wait_delivery keeps answering the first accepted arrival.
    let again = receiver.wait_delivery(&delivery_id, PATIENCE).await.unwrap();
    assert_eq!(again.at, first.at);
    assert!(!again.duplicate);
}

#[tokio::test]
async fn a_receiver_that_keeps_nothing_still_counts() {
    let receiver =
        TestReceiver::builder().keep_arrivals(false).reply(|_, _| Reply::Status(202)).start().await;
    let env = env_for(&receiver).await;
    let sandbox = &env.sb;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    sandbox.simulate(&id, Simulate::share()).unwrap();
    sandbox.wait_delivered(format!("{id}:session.completed")).await.unwrap();
    assert_eq!(receiver.count(), 2);
    assert!(receiver.arrivals().is_empty() && receiver.received().is_empty());
    assert!(receiver
        .wait_delivery(format!("{id}:session.completed"), Duration::from_millis(10))
        .await
        .is_none());
}
