//! The typed control API on `Sandbox` (docs/DECISIONS.md §8, §11): faults, simulate, redeliver,
//! business changes, the inbox, and the waits — each checked against what the HTTP surface then
//! shows (status, error code, events in order).

use std::time::Duration;

use serde_json::json;
use uip_sandbox::{DeliveryFault, DeliveryStatus, Fault, SandboxError, Simulate, Trust};
use uip_types::{SessionStatus, WalletId};

use crate::support::{fast, send, start, start_with};

/// The status and error code of a refused typed call.
#[track_caller]
fn refusal<T: std::fmt::Debug>(r: Result<T, SandboxError>) -> (u16, String, Option<String>) {
    match r {
        Err(SandboxError::Api { status, body }) => {
            (status, body.code.map(|c| c.to_string()).unwrap_or_default(), body.param)
        }
        other => panic!("expected an API refusal, got {other:?}"),
    }
}

/// Event names of a session's deliveries, in order.
fn events(env: &crate::support::Env, id: &str) -> Vec<String> {
    env.sb.deliveries(id).into_iter().map(|d| d.event).collect()
}

#[tokio::test]
async fn faults_fail_the_next_requests_in_order_then_clear_themselves() {
    let env = start().await;
    let armed = env.sb.faults().fail_next(3, Fault::Unavailable).unwrap();
    assert_eq!((armed.remaining, armed.fault), (3, Fault::Unavailable));
    // The same plan as the HTTP route would have armed.
    assert_eq!(serde_json::to_value(armed).unwrap(), json!({"fail_next": 3, "with": 503}));
    env.sb.faults().fail_next(2, Fault::RateLimited).unwrap();

    let r = send(env.get("/v1/sessions/sess_000000000000000000000000")).await;
    r.err(429, "request/rate-limited", None);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(env.sb.faults().armed().map(|a| (a.remaining, a.fault)), Some((1, Fault::RateLimited)));
    send(env.post("/v1/sessions").json(&json!({"steps": [{"primitive": "identify"}]}))).await.err(
        429,
        "request/rate-limited",
        None,
    );
    assert_eq!(env.sb.faults().armed(), None, "used up");
    // Nothing was created by the faulted create; the next request is handled.
    send(env.get("/v1/sessions/sess_000000000000000000000000")).await.err(404, "resource/not-found", None);
}

#[tokio::test]
async fn each_fault_answers_as_documented() {
    let env = start().await;
    for (fault, status, code) in [
        (Fault::ServerError, 500, "internal/server-error"),
        (Fault::Unavailable, 503, "internal/unavailable"),
        (Fault::RateLimited, 429, "request/rate-limited"),
    ] {
        env.sb.faults().fail_next(1, fault).unwrap();
        assert_eq!(fault.status(), Some(status));
        send(env.get("/v1/sessions/sess_000000000000000000000000")).await.err(status, code, None);
    }
    env.sb.faults().fail_next(1, Fault::Reset).unwrap();
    let reset = env.get("/v1/sessions/sess_000000000000000000000000").send().await;
    assert!(reset.is_err(), "a reset gets no answer: {reset:?}");
    env.sb.faults().fail_next(1, Fault::Delay(Duration::from_millis(1))).unwrap();
    send(env.get("/v1/sessions/sess_000000000000000000000000")).await.err(404, "resource/not-found", None);
    assert_eq!(env.sb.faults().armed(), None);

    // Over 60 s is refused as the route refuses it; clearing disarms.
    let too_long = env.sb.faults().fail_next(1, Fault::Delay(Duration::from_millis(60_001)));
    assert_eq!(refusal(too_long), (400, "request/invalid-field".into(), Some("with".into())));
    env.sb.faults().fail_next(5, Fault::ServerError).unwrap();
    env.sb.faults().clear().unwrap();
    assert_eq!(env.sb.faults().armed(), None);
    send(env.get("/v1/sessions/sess_000000000000000000000000")).await.err(404, "resource/not-found", None);
}

#[tokio::test]
async fn simulate_answers_steps_and_the_events_come_in_order() {
    let env = start().await;
    let id = env
        .create_steps(
            json!([{"primitive": "identify"}, {"primitive": "age_verify", "params": {"min_age": 21}}]),
        )
        .await;
    let after_one = env.sb.simulate(&id, Simulate::share().steps(1)).unwrap();
    assert_eq!((after_one.status, after_one.current_step), (SessionStatus::InProgress, 1));
    let declined = env.sb.simulate(&id, Simulate::decline().wallet(WalletId::GoogleWallet)).unwrap();
    assert_eq!((declined.status, declined.current_step), (SessionStatus::InProgress, 1));
    let done = env.sb.simulate(&id, Simulate::share_as("jane-doe")).unwrap();
    assert_eq!(done.status, SessionStatus::Completed);
    assert_eq!(env.status(&id).await, "completed", "the HTTP view agrees");

    let last = env.sb.wait_delivered(format!("{id}:session.completed")).await.unwrap();
    assert_eq!(last.status, DeliveryStatus::Delivered);
    assert_eq!(events(&env, &id), ["step.completed", "step.completed", "session.completed"]);
    let inbox: Vec<(String, bool)> =
        env.sb.inbox().into_iter().map(|e| (e.delivery_id, e.verified)).collect();
    assert_eq!(
        inbox,
        [
            (format!("{id}:step.completed:0"), true),
            (format!("{id}:step.completed:1"), true),
            (format!("{id}:session.completed"), true)
        ]
    );
}

#[tokio::test]
async fn simulate_refuses_like_the_route() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let unknown = env.sb.simulate("sess_000000000000000000000000", Simulate::share());
    assert_eq!(refusal(unknown), (404, "resource/not-found".into(), None));
    let persona = env.sb.simulate(&id, Simulate::share_as("nobody"));
    assert_eq!(refusal(persona), (400, "request/invalid-payload".into(), Some("persona".into())));
    assert_eq!(env.status(&id).await, "created", "a refused simulate changes nothing");

    let failed = env.sb.simulate(&id, Simulate::internal_error()).unwrap();
    assert_eq!(failed.status, SessionStatus::Failed);
    let again = env.sb.simulate(&id, Simulate::internal_error());
    assert_eq!(refusal(again), (409, "session/not-active".into(), None));
    let event = env.sb.wait_delivered(format!("{id}:session.failed")).await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&event.body).unwrap();
    assert_eq!(body["data"]["reason"], "internal_error");
    assert_eq!(events(&env, &id), ["session.failed"]);
}

#[tokio::test]
async fn a_faulted_redelivery_is_refused_then_retried_clean() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    env.sb.simulate(&id, Simulate::share()).unwrap();
    let delivery_id = format!("{id}:session.completed");
    let first = env.sb.wait_delivered(&delivery_id).await.unwrap();
    assert_eq!(first.attempts.len(), 1);

    let queued = env.sb.redeliver(&delivery_id, DeliveryFault::BadSignature).unwrap();
    assert_eq!(queued.status, DeliveryStatus::Pending);
    // The inbox refuses the attempt signed with a wrong secret (401), then the retry is clean.
    let settled = env.sb.wait_delivered(&delivery_id).await.unwrap();
    let codes: Vec<Option<u16>> = settled.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(204), Some(401), Some(204)]);
    let inbox: Vec<bool> =
        env.sb.inbox().into_iter().filter(|e| e.delivery_id == delivery_id).map(|e| e.verified).collect();
    assert_eq!(inbox, [true, false, true]);

    let unknown = env.sb.redeliver("sess_000000000000000000000000:session.completed", DeliveryFault::None);
    assert_eq!(refusal(unknown), (404, "resource/not-found".into(), None));
}

#[tokio::test]
async fn business_changes_show_on_the_http_surface() {
    let env = start().await;
    let bad = env.sb.set_webhook_url("ftp://example.com/hook");
    assert_eq!(refusal(bad), (400, "request/invalid-field".into(), Some("webhook_url".into())));
    let view = env.sb.set_webhook_url("http://127.0.0.1:9/hook").unwrap();
    assert_eq!(view.webhook_url.as_deref(), Some("http://127.0.0.1:9/hook"));
    let wire = send(env.get("/_sandbox/business")).await;
    assert_eq!(wire.ok()["webhook_url"], "http://127.0.0.1:9/hook");

    env.sb.clear_webhook_url().unwrap();
    send(env.post("/v1/sessions").json(&json!({"steps": [{"primitive": "identify"}]}))).await.err(
        422,
        "request/webhook-missing",
        None,
    );

    let old = env.sb.webhook_secret();
    let new = env.sb.rotate_webhook_secret().unwrap();
    assert_ne!(old.expose(), new.expose());
    assert_eq!(send(env.get("/_sandbox/business")).await.ok()["webhook_secret"], new.expose());

    assert_eq!(env.sb.set_balance(0).unwrap().balance_cents, 0);
    assert_eq!(env.balance().await, 0);
    let too_much = env.sb.set_balance(u64::MAX);
    assert_eq!(refusal(too_much), (400, "request/invalid-field".into(), Some("balance_cents".into())));
    assert_eq!(env.sb.set_trust(Trust::Production).unwrap().trust, Trust::Production);
    assert_eq!(env.sb.business().unwrap().trust, Trust::Production);
}

#[tokio::test]
async fn waits_end_with_typed_errors() {
    let env = start_with(fast().wait_timeout(Duration::from_millis(300))).await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;

    match env.sb.wait_until_status(&id, SessionStatus::Completed).await {
        Err(SandboxError::WaitTimeout { waiting_for, waited }) => {
            assert_eq!(waited, Duration::from_millis(300));
            assert!(waiting_for.contains("(it is created)"), "{waiting_for}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let missing = env.sb.wait_delivered(format!("{id}:session.completed")).await.unwrap_err();
    assert!(missing.to_string().contains("not queued yet"), "{missing}");
    assert!(std::error::Error::source(&missing).is_none());

    env.sb.simulate(&id, Simulate::internal_error()).unwrap();
    match env.sb.wait_until_status(&id, SessionStatus::Completed).await {
        Err(SandboxError::SessionEnded { session_id, status, awaited }) => {
            assert_eq!(
                (session_id, status, awaited),
                (id.clone(), SessionStatus::Failed, SessionStatus::Completed)
            );
        }
        other => panic!("expected the session to have ended, got {other:?}"),
    }
    let unknown = env.sb.wait_until_status("sess_000000000000000000000000", SessionStatus::Completed).await;
    assert_eq!(refusal(unknown), (404, "resource/not-found".into(), None));
}

#[tokio::test]
async fn waiting_for_a_status_sees_changes_made_over_http_and_by_the_clock() {
    let env = start_with(fast().expiry_sweep(Duration::ZERO)).await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let waiting = env.sb.wait_until_status(&id, SessionStatus::InProgress);
    let open = async {
        tokio::task::yield_now().await;
        env.browser(&id).open().await.ok();
    };
    let (session, ()) = tokio::join!(waiting, open);
    assert_eq!(session.unwrap().status, SessionStatus::InProgress);

    // No sweep runs: the wait itself resolves the elapsed session, as any access does.
    env.sb.advance_clock(Duration::from_secs(7200)).unwrap();
    let expired = env.sb.wait_until_status(&id, SessionStatus::Expired).await.unwrap();
    assert_eq!(expired.status, SessionStatus::Expired);
    let last = env.sb.wait_delivered(format!("{id}:session.expired")).await.unwrap();
    assert_eq!(last.status, DeliveryStatus::Delivered);
    assert_eq!(events(&env, &id), ["session.expired"]);
}
