//! Webhook delivery: retries and backoff, per-session ordering, the retry horizon, bounded
//! concurrency, redelivery faults, the built-in inbox and `Sandbox::next_event` — against real
//! HTTP receivers that verify with uip-webhook-verify.

use crate::support::delivery as support_delivery;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support_delivery::{
    accepted_by_session, delivery_ids, eventually, Api, Arrival, Receiver, Reply, KEY, PATIENCE, SECRET,
};
use uip_sandbox::{DeliveryStatus, NewBusiness, Sandbox, SandboxError};
use uip_types::sandbox::{DeliveryAttempt, DeliveryLogEntry};
use uip_types::{SessionStatus, StepResult, WebhookEvent, WebhookSecret};
use uip_webhook_verify::Deduper;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The gap between two attempts' start times.
fn gap(a: &DeliveryAttempt, b: &DeliveryAttempt) -> Duration {
    (b.at - a.at).to_std().unwrap_or(Duration::ZERO)
}

/// Attempts follow the schedule: the idle time between the end of attempt n and the start of
/// attempt n+1 is at least `base × 2^n`. (How much later it may come is a matter of load, not of
/// the schedule: the tests that need the retry to come at all wait for it.)
fn assert_backoff(entry: &DeliveryLogEntry, base: Duration) {
    for (n, pair) in entry.attempts.windows(2).enumerate() {
        let wait = base * (1u32 << n);
        let idle = gap(&pair[0], &pair[1]).saturating_sub(ms(pair[0].duration_ms));
        // `at` is wall-clock time: allow 2 ms of rounding.
        assert!(
            idle + ms(2) >= wait,
            "attempt {} came {idle:?} after the previous one ended, sooner than the backoff {wait:?}: {entry:#?}",
            n + 1
        );
    }
}

/// Successive `next_attempt_at` values are at least `base × 2^(k+1)` apart (each one is the
/// previous plus an attempt plus a doubled wait).
fn assert_next_spacing(nexts: &[chrono::DateTime<chrono::Utc>], base: Duration) {
    for (k, w) in nexts.windows(2).enumerate() {
        let spacing = (w[1] - w[0]).to_std().unwrap_or(Duration::ZERO);
        assert!(
            spacing + ms(2) >= base * (2u32 << k),
            "next_attempt_at spacing {k}: {spacing:?} ({nexts:?})"
        );
    }
}

/// Polls the library log until the delivery has at least `n` attempts, recording every
/// `next_attempt_at` seen on the way.
async fn watch_attempts(
    sandbox: &Sandbox,
    session_id: &str,
    delivery_id: &str,
    n: usize,
) -> (DeliveryLogEntry, Vec<chrono::DateTime<chrono::Utc>>) {
    let mut nexts = Vec::new();
    let entry = eventually(&format!("{n} attempts of {delivery_id}"), || {
        let entry = sandbox.deliveries(session_id).into_iter().find(|d| d.delivery_id == delivery_id);
        let retrying = entry.as_ref().filter(|e| e.status == DeliveryStatus::Retrying);
        if let Some(next) = retrying.and_then(|e| e.next_attempt_at) {
            if nexts.last() != Some(&next) {
                nexts.push(next);
            }
        }
        std::future::ready(entry.filter(|e| e.attempts.len() >= n))
    })
    .await;
    (entry, nexts)
}

#[tokio::test]
async fn a_500_twice_then_200_is_retried_with_the_same_id_and_body_and_blocks_the_next_event() {
    let receiver = Receiver::start(Some(SECRET), |a, prior| {
        if a.delivery_id.ends_with(":step.completed:0") && prior < 2 {
            Reply::Status(500)
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let sandbox = Sandbox::builder()
        .webhook_url(&receiver.url)
        .retry_base(ms(30))
        .retry_max(ms(1000))
        .start()
        .await
        .unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api.create_steps(&["identify"]).await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "session.completed"]);
    let arrivals = receiver.wait_accepted(&ids).await;

    let first: Vec<&Arrival> = arrivals.iter().filter(|a| a.delivery_id == ids[0]).collect();
    assert_eq!(first.len(), 3, "two 500s then a 200");
    assert_eq!(first.iter().map(|a| a.answered).collect::<Vec<_>>(), [Some(500), Some(500), Some(200)]);
    let mut last_ts = 0;
    for a in &first {
        assert_eq!(a.body, first[0].body, "the body never changes");
        assert_eq!(a.event, "step.completed");
        assert_eq!(a.path, "/hook");
        // Valid under the receiver's own clock, hence signed afresh at each attempt.
        let Some(Ok(WebhookEvent::StepCompleted(step))) = &a.verified else {
            panic!("attempt did not verify: {:?}", a.verified)
        };
        assert_eq!(step.stage, 0);
        let ts: u64 = a.timestamp.parse().unwrap();
        assert!(ts >= last_ts, "timestamps never go back");
        assert!(ts.abs_diff(a.unix_s) <= 2, "signed at the attempt, not at the first one");
        last_ts = ts;
    }
    // The terminal event arrived only after stage 0 was accepted.
    let accepted_at = arrivals.iter().position(|a| a.delivery_id == ids[0] && a.accepted()).unwrap();
    let terminal_at = arrivals.iter().position(|a| a.delivery_id == ids[1]).unwrap();
    assert!(terminal_at > accepted_at, "session.completed arrived before stage 0 was accepted");
    assert_eq!(arrivals.iter().filter(|a| a.delivery_id == ids[1]).count(), 1);

    // The log, over HTTP with the API key: three attempts 500, 500, 200 and delivered.
    let entry = eventually("stage 0 marked delivered", || {
        let api = api.clone();
        let id0 = ids[0].clone();
        async move { Some(api.delivery(&id0).await).filter(|d| d.status == DeliveryStatus::Delivered) }
    })
    .await;
    let codes: Vec<_> = entry.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(500), Some(500), Some(200)]);
    assert!(entry.attempts[0].error.as_deref().is_some_and(|e| e.contains("500")), "{entry:?}");
    assert_eq!(entry.attempts[2].error, None);
    assert_eq!(entry.next_attempt_at, None);
    assert_eq!(entry.body.as_bytes(), &first[0].body[..], "the log holds the exact body");
    assert_eq!(entry.event, "step.completed");
    assert_eq!(entry.session_id, id.as_str());
    // The unfiltered log holds both events, oldest first; a wrong key is refused.
    let all = api.deliveries(None).await;
    assert_eq!(all.iter().map(|d| d.delivery_id.clone()).collect::<Vec<_>>(), ids);
    let (status, _) =
        api.as_business("uip_test_nope").send(api.http.get(api.url("/_sandbox/deliveries"))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_receiver_that_hangs_past_the_timeout_is_retried_on_the_schedule() {
    let receiver = Receiver::start(Some(SECRET), |_, _| Reply::Hang).await;
    let base = ms(40);
    let timeout = ms(200);
    let sandbox = Sandbox::builder()
        .webhook_url(&receiver.url)
        .delivery_timeout(timeout)
        .retry_base(base)
        .retry_max(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api.create_steps(&["identify"]).await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "session.completed"]);
    let (entry, nexts) = watch_attempts(&sandbox, &id, &ids[0], 4).await;
    for a in &entry.attempts {
        assert_eq!(a.status_code, None);
        assert_eq!(a.error.as_deref(), Some("timed out"), "{entry:#?}");
        assert!(a.duration_ms >= 150, "an attempt lasts until the timeout: {a:?}");
    }
    assert_backoff(&entry, base);
    assert_eq!(entry.status, DeliveryStatus::Retrying);
    assert!(nexts.len() >= 2, "next_attempt_at moves on with each failure");
    assert_next_spacing(&nexts, base);
    // Each attempt reached the receiver, with the same id; the next event waits.
    let arrivals = receiver.wait_for("4 hanging attempts", |a| a.len() >= 4).await;
    assert!(arrivals.iter().all(|a| a.delivery_id == ids[0]), "the next event must wait");
    assert!(arrivals.iter().all(|a| matches!(a.verified, Some(Ok(_)))));
    let later = api.delivery(&ids[1]).await;
    assert_eq!(later.status, DeliveryStatus::Pending);
    assert!(later.attempts.is_empty());
}

#[tokio::test]
async fn a_receiver_that_resets_the_connection_is_retried_on_the_schedule() {
    let receiver = Receiver::ok(None).await;
    receiver.set_up(false); // accepts and drops every connection
    let base = ms(40);
    let sandbox = Sandbox::builder()
        .webhook_url(&receiver.url)
        .retry_base(base)
        .retry_max(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api.create_steps(&["age_verify"]).await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "session.completed"]);
    let (entry, nexts) = watch_attempts(&sandbox, &id, &ids[0], 5).await;
    for a in &entry.attempts[..5] {
        assert_eq!(a.status_code, None);
        let error = a.error.as_deref().unwrap_or_default();
        assert!(error.starts_with("connection failed"), "{error}");
    }
    assert_backoff(&entry, base);
    assert!(nexts.len() >= 2, "next_attempt_at moves on with each failure");
    assert_next_spacing(&nexts, base);
    assert!(receiver.connections() >= 5);
    assert!(receiver.arrivals().is_empty(), "no request was ever served");
    // The receiver comes back: the event goes through, then the next one.
    receiver.set_up(true);
    let arrivals = receiver.wait_accepted(&ids).await;
    assert_eq!(arrivals.iter().map(|a| a.delivery_id.clone()).collect::<Vec<_>>(), ids);
}

#[tokio::test]
async fn redirects_are_not_followed_and_are_retried_on_the_schedule() {
    let receiver = Receiver::start(Some(SECRET), |_, prior| match prior {
        0 => Reply::Status(302),
        1 => Reply::Status(301),
        2 => Reply::Status(307),
        _ => Reply::Status(204),
    })
    .await;
    let base = ms(30);
    let sandbox = Sandbox::builder().webhook_url(&receiver.url).retry_base(base).start().await.unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api.create_steps(&["identify"]).await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "session.completed"]);
    let arrivals = receiver.wait_accepted(&ids).await;
    assert!(arrivals.iter().all(|a| a.path == "/hook"), "a redirect was followed");
    let entry = eventually("delivered", || {
        let e = sandbox.deliveries(&id).into_iter().next();
        std::future::ready(e.filter(|e| e.status == DeliveryStatus::Delivered))
    })
    .await;
    let codes: Vec<_> = entry.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(302), Some(301), Some(307), Some(204)]);
    assert_eq!(entry.attempts[0].error.as_deref(), Some("receiver answered 302"));
    assert_backoff(&entry, base);
}

#[tokio::test]
async fn client_errors_are_retried_on_the_schedule() {
    let receiver = Receiver::start(Some(SECRET), |_, prior| match prior {
        0 => Reply::Status(400),
        1 => Reply::Status(404),
        2 => Reply::Status(410),
        3 => Reply::Status(429),
        _ => Reply::Status(200),
    })
    .await;
    let base = ms(25);
    let sandbox = Sandbox::builder().webhook_url(&receiver.url).retry_base(base).start().await.unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api.create_steps(&["light_sign"]).await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "session.completed"]);
    receiver.wait_accepted(&ids).await;
    let entry = eventually("delivered", || {
        let api = api.clone();
        let id0 = ids[0].clone();
        async move { Some(api.delivery(&id0).await).filter(|d| d.status == DeliveryStatus::Delivered) }
    })
    .await;
    let codes: Vec<_> = entry.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(400), Some(404), Some(410), Some(429), Some(200)]);
    for (a, code) in entry.attempts.iter().zip([400, 404, 410, 429]) {
        assert_eq!(a.error.as_deref(), Some(format!("receiver answered {code}").as_str()));
    }
    // The HTTP log has whole seconds; the library's has the precise times.
    let precise = sandbox.deliveries(&id).into_iter().next().unwrap();
    assert_eq!(precise.attempts.len(), 5);
    assert_backoff(&precise, base);
}

#[tokio::test]
async fn past_the_horizon_a_delivery_fails_and_the_next_event_gets_its_own_retries() {
    // Stage 0 is refused for the whole horizon. The terminal event is refused twice, then
    // accepted: it must get its own retry schedule once it is allowed to go.
    let receiver = Receiver::start(Some(SECRET), |a, prior| {
        if a.delivery_id.ends_with(":step.completed:0") || prior < 2 {
            Reply::Status(503)
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let base = ms(150);
    let horizon = ms(750);
    let sandbox = Sandbox::builder()
        .webhook_url(&receiver.url)
        .retry_base(base)
        .retry_max(Duration::from_secs(60))
        .retry_horizon(horizon)
        .start()
        .await
        .unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api.create_steps(&["identify"]).await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "session.completed"]);
    receiver.wait_accepted(&ids[1..]).await;
    let log = eventually("both deliveries settled", || {
        let log = sandbox.deliveries(&id);
        std::future::ready(Some(log).filter(|l| {
            l.iter().all(|d| !matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Retrying))
        }))
    })
    .await;
    let (failed, terminal) = (&log[0], &log[1]);
    assert_eq!(failed.status, DeliveryStatus::Failed, "{failed:#?}");
    assert_eq!(failed.next_attempt_at, None);
    assert!(failed.attempts.len() >= 2, "retried before giving up: {failed:#?}");
    assert!(failed.attempts.iter().all(|a| a.status_code == Some(503)));
    let span = gap(&failed.attempts[0], failed.attempts.last().unwrap());
    assert!(span <= horizon, "attempted past the horizon: {span:?}");
    assert_backoff(failed, base);
    // The later event went only after the failure, and was retried on its own schedule.
    assert_eq!(terminal.status, DeliveryStatus::Delivered, "{terminal:#?}");
    let codes: Vec<_> = terminal.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(503), Some(503), Some(200)]);
    assert!(terminal.attempts[0].at >= failed.attempts.last().unwrap().at);
    let arrivals = receiver.arrivals();
    let last_stage0 = arrivals.iter().rposition(|a| a.delivery_id == ids[0]).unwrap();
    let first_terminal = arrivals.iter().position(|a| a.delivery_id == ids[1]).unwrap();
    assert!(first_terminal > last_stage0);
    // A failed delivery can be sent again by hand.
    let (status, entry) = api.redeliver(&ids[0], None).await;
    assert_eq!(status, 200, "{entry}");
}

#[tokio::test]
async fn unbounded_retry_settings_do_not_break_the_dispatcher() {
    // A cap and a horizon of "forever": the schedule must not overflow the timestamps.
    let receiver =
        Receiver::start(Some(SECRET), |_, prior| Reply::Status(if prior < 2 { 500 } else { 200 })).await;
    let sandbox = Sandbox::builder()
        .webhook_url(&receiver.url)
        .retry_base(ms(20))
        .retry_max(Duration::MAX)
        .retry_horizon(Duration::MAX)
        .start()
        .await
        .unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api.create_steps(&["identify"]).await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "session.completed"]);
    receiver.wait_accepted(&ids).await;
    let log = api.deliveries(Some(&id)).await;
    assert_eq!(log[0].attempts.len(), 3);
}

/// What a session of the concurrent test does, and the events it must produce.
fn plan(i: usize) -> (Vec<Value>, Vec<&'static str>) {
    use support_delivery::step;
    match i % 4 {
        0 => (
            vec![step("identify"), step("age_verify"), step("light_sign")],
            vec!["step:0", "step:1", "step:2", "session.completed"],
        ),
        1 => (vec![step("identify"), step("age_verify")], vec!["step:0", "session.failed"]),
        2 => {
            let gated = json!({"primitive": "identify", "gate": true});
            (vec![gated, step("age_verify")], vec!["step:0", "step:1", "session.completed"])
        }
        _ => (vec![step("age_verify")], vec!["step:0", "session.completed"]),
    }
}

async fn drive(api: &Api, i: usize, id: &str) {
    match i % 4 {
        1 => {
            api.simulate(id, json!({"steps": 1})).await;
            let v = api.simulate(id, json!({"persona": "expired-credential"})).await;
            assert_eq!(v["status"], "failed");
        }
        2 => {
            let v = api.simulate(id, json!({})).await;
            assert_eq!(v["status"], "awaiting_decision");
            api.decide(id, "continue").await;
            let v = api.simulate(id, json!({})).await;
            assert_eq!(v["status"], "completed");
        }
        _ => {
            let v = api.simulate(id, json!({})).await;
            assert_eq!(v["status"], "completed");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: run by .ci/slow-tests.sh"]
async fn two_hundred_concurrent_sessions_against_a_flaky_receiver() {
    let rng = Mutex::new(rand::rngs::StdRng::seed_from_u64(0x5eed_0200));
    let receiver = Receiver::start(Some(SECRET), move |_, _| {
        let roll: f64 = rng.lock().gen();
        if roll < 0.3 {
            [Reply::Status(500), Reply::Status(503), Reply::Reset][(roll * 10.0) as usize % 3]
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let sandbox = Sandbox::builder()
        .webhook_url(&receiver.url)
        .retry_base(ms(20))
        .retry_max(ms(200))
        .start()
        .await
        .unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let sessions: Vec<(String, Vec<&'static str>)> = futures::stream::iter(0..200)
        .map(|i| {
            let api = api.clone();
            async move {
                let (steps, expected) = plan(i);
                let id = api.create(json!({ "steps": steps, "client_reference_id": format!("c{i}") })).await;
                drive(&api, i, &id).await;
                (id, expected)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let all_ids: Vec<String> = sessions.iter().flat_map(|(id, labels)| delivery_ids(id, labels)).collect();
    assert_eq!(all_ids.len(), 50 * (4 + 2 + 3 + 2));
    let arrivals = receiver.wait_accepted(&all_ids).await;

    // Dedupe by delivery id: every event exactly once; and no event was accepted twice.
    let deduper = Deduper::default();
    let mut handled = 0;
    for a in arrivals.iter().filter(|a| a.accepted()) {
        let Some(Ok(_)) = &a.verified else { panic!("an accepted delivery did not verify: {a:?}") };
        if deduper.insert(&a.delivery_id) {
            handled += 1;
        }
    }
    assert_eq!(handled, all_ids.len());
    let accepted = arrivals.iter().filter(|a| a.accepted()).count();
    assert_eq!(accepted, all_ids.len(), "an event acknowledged with 2xx was sent again");
    assert!(arrivals.len() > accepted, "the receiver refused some attempts");

    // Per session: accepted in order, and no event attempted before the previous one was accepted.
    let by_session = accepted_by_session(&arrivals);
    for (id, expected) in &sessions {
        assert_eq!(
            by_session.get(id).map(Vec::as_slice),
            Some(&expected.iter().map(|s| s.to_string()).collect::<Vec<_>>()[..]),
            "session {id}"
        );
        let mut done = 0;
        for a in arrivals.iter().filter(|a| &a.session_id() == id) {
            assert_eq!(
                a.label(),
                expected[done],
                "session {id}: an event went before its predecessor was accepted"
            );
            if a.accepted() {
                done += 1;
            }
        }
        // Echoes ride on every event.
        for a in arrivals.iter().filter(|a| &a.session_id() == id) {
            assert!(a.json()["data"]["client_reference_id"].as_str().is_some_and(|c| c.starts_with('c')));
        }
    }
    // The sandbox agrees: everything delivered.
    eventually("every delivery marked delivered", || {
        let api = api.clone();
        let n = all_ids.len();
        async move {
            let log = api.deliveries(None).await;
            (log.len() == n && log.iter().all(|d| d.status == DeliveryStatus::Delivered)).then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn each_redeliver_fault_is_observable_by_a_verifying_receiver() {
    // A careful receiver: 2xx only for authentic, fresh deliveries.
    let receiver = Receiver::start(Some(SECRET), |a, _| match &a.verified {
        Some(Ok(_)) => Reply::Status(200),
        _ => Reply::Status(401),
    })
    .await;
    let sandbox = Sandbox::builder().webhook_url(&receiver.url).retry_base(ms(30)).start().await.unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api.create_steps(&["identify"]).await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "session.completed"]);
    receiver.wait_accepted(&ids).await;
    let settled = |n: usize, delivery_id: String| {
        let api = api.clone();
        async move {
            let d = api.delivery(&delivery_id).await;
            (d.status == DeliveryStatus::Delivered && d.attempts.len() >= n).then_some(d)
        }
    };
    eventually("both delivered", || settled(1, ids[1].clone())).await;

    // stale_timestamp: refused as out of tolerance, then retried normally and accepted.
    let before = receiver.arrivals().len();
    let (status, entry) = api.redeliver(&ids[0], Some(json!({"fault": "stale_timestamp"}))).await;
    assert_eq!(status, 200, "{entry}");
    assert_eq!(entry["delivery_id"], ids[0].as_str());
    assert_eq!(entry["status"], "pending");
    let arrivals = receiver.wait_for("stale then fresh", |a| a[before..].iter().any(Arrival::accepted)).await;
    let new = &arrivals[before..];
    assert_eq!(new.len(), 2, "{new:?}");
    assert_eq!(new[0].verified.as_ref().unwrap().as_ref().unwrap_err(), "timestamp_out_of_tolerance");
    let ts: u64 = new[0].timestamp.parse().unwrap();
    assert!(new[0].unix_s - ts >= 3500, "signed about an hour ago");
    assert!(new[1].verified.as_ref().unwrap().is_ok(), "the fault applies to the first attempt only");
    assert_eq!(new[0].body, new[1].body);
    let d = eventually("stale redelivery settled", || settled(3, ids[0].clone())).await;
    let codes: Vec<_> = d.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(200), Some(401), Some(200)]);

    // bad_signature: refused as a mismatch, then accepted.
    let before = receiver.arrivals().len();
    let (status, _) = api.redeliver(&ids[0], Some(json!({"fault": "bad_signature"}))).await;
    assert_eq!(status, 200);
    let arrivals = receiver.wait_for("bad then good", |a| a[before..].iter().any(Arrival::accepted)).await;
    let new = &arrivals[before..];
    assert_eq!(new.len(), 2, "{new:?}");
    assert_eq!(new[0].verified.as_ref().unwrap().as_ref().unwrap_err(), "signature_mismatch");
    assert!(new[1].verified.as_ref().unwrap().is_ok());
    let d = eventually("bad-signature redelivery settled", || settled(5, ids[0].clone())).await;
    assert_eq!(d.attempts[3].status_code, Some(401));

    // duplicate, with the id percent-encoded in the route: twice back to back, two attempts.
    let before = receiver.arrivals().len();
    let encoded = ids[1].replace(':', "%3A").replace('.', "%2E");
    let (status, entry) = api.redeliver(&encoded, Some(json!({"fault": "duplicate"}))).await;
    assert_eq!(status, 200, "{entry}");
    assert_eq!(entry["delivery_id"], ids[1].as_str());
    let arrivals = receiver.wait_for("the duplicate pair", |a| a.len() >= before + 2).await;
    let new = &arrivals[before..];
    assert_eq!(new[0].delivery_id, ids[1]);
    assert_eq!(new[1].delivery_id, ids[1]);
    assert_eq!(new[0].body, new[1].body);
    assert!(new.iter().all(|a| matches!(a.verified, Some(Ok(_)))));
    let deduper = Deduper::default();
    assert!(deduper.insert(&new[0].delivery_id));
    assert!(!deduper.insert(&new[1].delivery_id), "the receiver's deduper catches the second one");
    let d = eventually("duplicate redelivery settled", || settled(3, ids[1].clone())).await;
    assert_eq!(d.attempts.len(), 3, "one original attempt and two for the duplicate: {d:#?}");
    assert!(d.attempts.iter().all(|a| a.status_code == Some(200)));

    // none (the default): one more plain delivery.
    let before = receiver.arrivals().len();
    let (status, _) = api.redeliver(&ids[0], Some(json!({"fault": "none"}))).await;
    assert_eq!(status, 200);
    let arrivals = receiver.wait_for("a plain redelivery", |a| a.len() > before).await;
    assert!(arrivals[before].accepted());
    eventually("plain redelivery settled", || settled(6, ids[0].clone())).await;

    // Unknown ids, foreign ids and bad faults.
    let (status, body) = api.redeliver(&format!("{id}:step.completed:9"), None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "resource/not-found");
    let (status, _) = api.redeliver("nope", None).await;
    assert_eq!(status, 404);
    let other = sandbox.create_business(NewBusiness::default()).unwrap();
    let (status, _) = api.as_business(other.api_key.expose()).redeliver(&ids[0], None).await;
    assert_eq!(status, 404, "another business's delivery is unknown");
    let (status, _) = api.redeliver(&ids[0], Some(json!({"fault": "sideways"}))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_default_webhook_url_is_the_built_in_inbox() {
    let sandbox = Sandbox::builder().retry_base(ms(30)).start().await.unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let inbox_url = format!("{}/_sandbox/inbox", sandbox.base_url());
    assert_eq!(sandbox.credentials().webhook_url.as_deref(), Some(inbox_url.as_str()));
    let (_, business) = api.send(api.http.get(api.url("/_sandbox/business"))).await;
    assert_eq!(business["webhook_url"], inbox_url.as_str());

    let id = api.create_steps(&["identify", "age_verify"]).await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "step:1", "session.completed"]);
    let received = eventually("three verified inbox entries", || {
        let api = api.clone();
        async move {
            let (status, v) = api.send(api.http.get(api.url("/_sandbox/inbox"))).await;
            assert_eq!(status, 200);
            let list = v["received"].as_array().cloned().unwrap_or_default();
            (list.len() >= 3).then_some(list)
        }
    })
    .await;
    let got: Vec<_> = received.iter().map(|e| e["delivery_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(got, ids, "oldest first");
    for e in &received {
        assert_eq!(e["verified"], true, "{e}");
        assert!(e.get("error").is_none());
        assert!(e["received_at"].as_str().is_some_and(|t| t.ends_with('Z')));
        let body: Value = serde_json::from_str(e["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["event"], e["event"]);
    }
    let log = api.deliveries(Some(&id)).await;
    assert!(log.iter().all(|d| d.attempts.last().and_then(|a| a.status_code) == Some(204)));

    // The same list as HTML for a browser.
    let resp = api
        .http
        .get(api.url("/_sandbox/inbox"))
        .bearer_auth(KEY)
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let html = resp.text().await.unwrap();
    assert!(html.contains("<table"));
    for id in &ids {
        assert!(html.contains(id.as_str()), "the page lists {id}");
    }

    // A forged delivery is listed, unverified, and refused.
    let body =
        json!({"event": "session.completed", "data": {"session_id": id, "status": "completed"}}).to_string();
    let forged = uip_webhook_verify::SignedHeaders::new(
        &WebhookSecret::new("uip_whsec_not_the_secret"),
        "session.completed",
        &format!("{id}:session.completed"),
        support_delivery::unix_now(),
        body.as_bytes(),
    );
    let resp = api
        .http
        .post(api.url("/_sandbox/inbox"))
        .headers(forged.to_header_map().unwrap())
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let (_, v) = api.send(api.http.get(api.url("/_sandbox/inbox"))).await;
    let last = v["received"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["verified"], false, "{last}");
    assert!(last["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(last["body"], body.as_str());
    // The inbox list needs the key; another business sees none of this.
    let (status, _) = api.as_business("uip_test_nope").send(api.http.get(api.url("/_sandbox/inbox"))).await;
    assert_eq!(status, 401);
    let other = sandbox.create_business(NewBusiness::default()).unwrap();
    let (_, v) = api.as_business(other.api_key.expose()).send(api.http.get(api.url("/_sandbox/inbox"))).await;
    assert_eq!(v["received"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn next_event_returns_delivered_events_in_order_typed_and_times_out() {
    let sandbox = Sandbox::builder().retry_base(ms(30)).start().await.unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api
        .create(json!({"steps": [{"primitive": "identify"}, {"primitive": "age_verify", "params": {"min_age": 21}}],
                       "metadata": {"order": "42"}}))
        .await;
    let quiet = api.create_steps(&["identify"]).await;
    // Nothing yet: a timeout.
    let err = sandbox.next_event(&id, ms(150)).await.unwrap_err();
    assert!(matches!(err, SandboxError::Timeout(d) if d == ms(150)), "{err:?}");

    let user = sandbox.user(&id);
    user.open().await.unwrap();
    // An event that arrives while next_event waits wakes it.
    let waiting = sandbox.next_event(&id, PATIENCE);
    let (first, _) = tokio::join!(waiting, async { user.share().await.unwrap() });
    let WebhookEvent::StepCompleted(step) = first.unwrap() else { panic!("stage 0 first") };
    assert_eq!(step.stage, 0);
    assert_eq!(step.context.session_id, id.as_str());
    assert_eq!(step.context.metadata.as_ref().and_then(|m| m.get("order")).map(String::as_str), Some("42"));
    let StepResult::Identify { claims } = &step.result else { panic!("identify claims") };
    assert_eq!(claims["first_name"], "Jane");

    user.share().await.unwrap();
    let WebhookEvent::StepCompleted(step) = sandbox.next_event(&id, PATIENCE).await.unwrap() else {
        panic!("stage 1 next")
    };
    assert_eq!(step.stage, 1);
    assert_eq!(step.result, StepResult::AgeVerify { satisfied: true, min_age: Some(21) });
    let WebhookEvent::SessionCompleted(done) = sandbox.next_event(&id, PATIENCE).await.unwrap() else {
        panic!("session.completed last")
    };
    assert_eq!(done.status, SessionStatus::Completed);
    // Each event once: nothing more comes.
    assert!(matches!(sandbox.next_event(&id, ms(200)).await, Err(SandboxError::Timeout(_))));
    assert!(matches!(sandbox.next_event(&quiet, ms(50)).await, Err(SandboxError::Timeout(_))));
    assert!(matches!(sandbox.next_event("sess_unknown", ms(50)).await, Err(SandboxError::Timeout(_))));
    // The library log agrees.
    let log = sandbox.deliveries(&id);
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Delivered));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_receiver_with_500_pending_events_keeps_the_api_responsive_and_the_attempts_bounded() {
    // "Dead": every attempt is held a while, then refused. The 250 heads alone take about
    // 250 / 4 × 200 ms = 12.5 s to attempt once.
    let receiver = Receiver::start(None, |_, _| Reply::After(ms(200), 503)).await;
    let sandbox = Sandbox::builder()
        .webhook_url(&receiver.url)
        .delivery_concurrency(4)
        .retry_base(Duration::from_secs(30))
        .delivery_timeout(Duration::from_secs(5))
        .start()
        .await
        .unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let ids: Vec<String> = futures::stream::iter(0..250)
        .map(|_| {
            let api = api.clone();
            async move {
                let id = api.create_steps(&["age_verify"]).await;
                api.simulate(&id, json!({})).await;
                id
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let log = api.deliveries(None).await;
    assert_eq!(log.len(), 500);
    assert!(log.iter().all(|d| matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Retrying)));

    receiver.wait_for("a few rounds of attempts", |a| a.len() >= 24).await;
    // The API answers while the dispatcher is saturated: before the backlog's first round is
    // through, not after it.
    let view = api.session(&ids[17]).await;
    assert_eq!(view["status"], "completed");
    let fresh = api.create_steps(&["identify"]).await;
    assert_eq!(api.session(&fresh).await["status"], "created");
    let attempted: HashSet<_> = receiver.arrivals().iter().map(|a| a.delivery_id.clone()).collect();
    assert!(
        attempted.len() < 250,
        "the API answered only after all {} heads were attempted",
        attempted.len()
    );
    receiver.wait_for("more attempts", |a| a.len() >= 40).await;
    let max = receiver.max_in_flight();
    assert!(max <= 4, "{max} attempts in flight with delivery_concurrency 4");
    assert!(max >= 2, "attempts run in parallel (max in flight {max})");
    // Heads only: no session's second event was attempted while its first is failing.
    assert!(receiver.arrivals().iter().all(|a| a.event == "step.completed"));
    let distinct: HashSet<_> = receiver.arrivals().iter().map(|a| a.delivery_id.clone()).collect();
    assert_eq!(distinct.len(), receiver.arrivals().len(), "with a 30 s backoff nothing is retried yet");
}

/// Many businesses and sessions interleave: each business's receiver gets only its own events.
#[tokio::test]
async fn sessions_of_different_businesses_do_not_wait_for_each_other() {
    // Business A's receiver refuses everything; business B's accepts.
    let refusing = Receiver::start(None, |_, _| Reply::Status(500)).await;
    let accepting = Receiver::ok(None).await;
    let sandbox = Sandbox::builder().webhook_url(&refusing.url).retry_base(ms(50)).start().await.unwrap();
    let api_a = Api::new(sandbox.base_url(), KEY);
    let b = sandbox.create_business(NewBusiness::new().with_webhook_url(accepting.url.clone())).unwrap();
    accepting.set_secret(b.webhook_secret.expose());
    let api_b = api_a.as_business(b.api_key.expose());
    let stuck = api_a.create_steps(&["identify"]).await;
    api_a.simulate(&stuck, json!({})).await;
    refusing.wait_for("A's first attempt", |a| !a.is_empty()).await;
    let mut expected = HashMap::new();
    for _ in 0..5 {
        let id = api_b.create_steps(&["identify"]).await;
        api_b.simulate(&id, json!({})).await;
        expected.insert(id.clone(), vec!["step:0".to_owned(), "session.completed".to_owned()]);
    }
    let all: Vec<String> =
        expected.keys().flat_map(|id| delivery_ids(id, &["step:0", "session.completed"])).collect();
    let arrivals = accepting.wait_accepted(&all).await;
    assert_eq!(accepted_by_session(&arrivals), expected);
    assert!(arrivals.iter().all(|a| matches!(a.verified, Some(Ok(_)))), "signed with B's secret");
    assert!(refusing.arrivals().iter().all(|a| a.session_id() == stuck));
}

#[tokio::test]
async fn a_redelivery_of_a_retrying_delivery_goes_now_not_at_its_backoff_time() {
    let receiver = Receiver::start(Some(SECRET), |a, prior| {
        let refuse = a.delivery_id.ends_with(":step.completed:0") && prior == 0;
        Reply::Status(if refuse { 500 } else { 200 })
    })
    .await;
    // After the first failure the next attempt is an hour away.
    let sandbox = Sandbox::builder()
        .webhook_url(&receiver.url)
        .retry_base(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api.create_steps(&["identify"]).await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "session.completed"]);
    eventually("a failed first attempt", || {
        let api = api.clone();
        let id0 = ids[0].clone();
        async move { Some(api.delivery(&id0).await).filter(|d| d.status == DeliveryStatus::Retrying) }
    })
    .await;
    let (status, entry) = api.redeliver(&ids[0], None).await;
    assert_eq!((status, entry["status"].as_str()), (200, Some("pending")));
    // Within PATIENCE (30 s) only if the redelivery does not wait for the backoff (an hour).
    let arrivals = receiver.wait_accepted(&ids).await;
    assert_eq!(arrivals.len(), 3);
}

#[tokio::test]
async fn a_redelivery_asked_for_during_an_attempt_is_sent_once_more() {
    // The first attempt is held a while (the redelivery is asked for meanwhile), then accepted.
    let receiver = Receiver::start(Some(SECRET), |_, prior| {
        if prior == 0 {
            Reply::After(ms(400), 200)
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let sandbox = Sandbox::builder().webhook_url(&receiver.url).retry_base(ms(30)).start().await.unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api.create_steps(&["identify"]).await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "session.completed"]);
    receiver.wait_for("the held attempt", |a| !a.is_empty()).await;
    let (status, _) = api.redeliver(&ids[0], Some(json!({"fault": "duplicate"}))).await;
    assert_eq!(status, 200);
    let arrivals = receiver.wait_accepted(&ids).await;
    let stage0: Vec<_> = arrivals.iter().filter(|a| a.delivery_id == ids[0]).collect();
    assert_eq!(stage0.len(), 3, "the held attempt, then the redelivery (a duplicate pair)");
    // Order holds: the terminal event comes after all of them.
    let last_stage0 = arrivals.iter().rposition(|a| a.delivery_id == ids[0]).unwrap();
    let terminal = arrivals.iter().position(|a| a.delivery_id == ids[1]).unwrap();
    assert!(terminal > last_stage0);
    let entry = eventually("settled", || {
        let api = api.clone();
        let id0 = ids[0].clone();
        async move { Some(api.delivery(&id0).await).filter(|d| d.status == DeliveryStatus::Delivered) }
    })
    .await;
    assert_eq!(entry.attempts.len(), 3);
}

#[tokio::test]
async fn next_event_returns_each_event_once_across_redeliveries_and_secret_rotation() {
    let sandbox = Sandbox::builder().retry_base(ms(30)).start().await.unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let id = api
        .create(json!({"steps": [{"primitive": "identify", "gate": true}, {"primitive": "age_verify"}]}))
        .await;
    api.simulate(&id, json!({})).await;
    let ids = delivery_ids(&id, &["step:0", "step:1", "session.completed"]);
    let WebhookEvent::StepCompleted(first) = sandbox.next_event(&id, PATIENCE).await.unwrap() else {
        panic!("stage 0")
    };
    assert_eq!(first.stage, 0);
    // Stage 0 is sent again (it was already returned), then the session goes on.
    let (status, _) = api.redeliver(&ids[0], None).await;
    assert_eq!(status, 200);
    api.decide(&id, "continue").await;
    api.simulate(&id, json!({})).await;
    eventually("everything delivered", || {
        let log = sandbox.deliveries(&id);
        std::future::ready(
            (log.len() == 3 && log.iter().all(|d| d.status == DeliveryStatus::Delivered)).then_some(()),
        )
    })
    .await;
    // The webhook secret changes after they were sent, before they are awaited.
    let (status, _) = api
        .send(api.http.patch(api.url("/_sandbox/business")).json(&json!({"rotate_webhook_secret": true})))
        .await;
    assert_eq!(status, 200);
    let mut rest = Vec::new();
    for _ in 0..2 {
        let event = sandbox.next_event(&id, PATIENCE).await.expect("an event signed before the rotation");
        rest.push(event.delivery_id());
    }
    assert_eq!(rest, ids[1..], "each event once, in order");
    assert!(matches!(sandbox.next_event(&id, ms(100)).await, Err(SandboxError::Timeout(_))));
}
