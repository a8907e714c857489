//! A group commit held back (a disk that stalls) delays only what must wait for it: a request
//! that reads stored data, or that takes an injected fault (faults live in memory only), answers
//! while a write is waiting, and the waiting write answers once its commit is stored.

use std::time::Duration;

use serde_json::{json, Value};

use crate::config::DEFAULT_API_KEY;
use crate::Sandbox;

/// Long enough for any answer that does not wait for the held commit.
const PROMPT: Duration = Duration::from_secs(10);

/// `GET /v1/sessions/{id}` from a thread and runtime of its own, so that a server worker blocked
/// on the held commit fails the test after [`PROMPT`] instead of hanging it.
fn get_session(base: &str, id: &str) -> (u16, Value) {
    let (tx, rx) = std::sync::mpsc::channel();
    let url = format!("{base}/v1/sessions/{id}");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let answer = rt.block_on(async {
            let resp = reqwest::Client::new().get(url).bearer_auth(DEFAULT_API_KEY).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        });
        let _ = tx.send(answer);
    });
    rx.recv_timeout(PROMPT).expect("a read of a stored session waited for the held commit")
}

/// Gives spawned requests time to reach the server. The test's own thread sleeps, not a timer:
/// with both workers blocked (the failure these tests look for) no timer would fire. (The tests'
/// bodies block while they wait; the sandbox serves from the runtime's two workers.)
fn settle() {
    std::thread::sleep(Duration::from_millis(200));
}

/// A sandbox with a database (in the returned directory), a client of its default business, and
/// one stored session of it.
async fn stored_session() -> (tempfile::TempDir, Sandbox, uip_client::Client, String) {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::builder().database(dir.path().join("held.db")).start().await.unwrap();
    let client = uip_client::Client::builder(DEFAULT_API_KEY).base_url(sandbox.api_url()).build().unwrap();
    let id = client.session().identify_default().send().await.unwrap().id.as_str().to_owned();
    (dir, sandbox, client, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_injected_faults_answer_while_a_commit_is_held_back() {
    // Arrange: a stored session, a fault armed for the next business-API request.
    let (_dir, sandbox, client, id) = stored_session().await;
    let base = sandbox.base_url().to_owned();

    // Act: hold every commit back, and send a create, which waits for its commit.
    let held = sandbox.shared().store.hold_commits();
    let waiting = tokio::spawn(async move { client.session().identify_default().send().await.map(|c| c.id) });
    settle();
    assert!(!waiting.is_finished(), "the create answered before its commit was stored");

    // Assert: the stored session reads at once, before and after a fault is taken.
    let (status, read) = get_session(&base, &id);
    assert_eq!((status, read["id"].as_str()), (200, Some(id.as_str())), "{read}");
    sandbox.shared().store.read(|st| assert!(st.faults().is_empty()));
    // Arming a fault waits for no commit either.
    let (armed, arming) = std::sync::mpsc::channel();
    let shared = sandbox.shared.clone();
    std::thread::spawn(move || {
        let plan = uip_types::sandbox::FaultPlan::new(1).with_fault(json!(503));
        let _ = armed.send(crate::core::set_faults(&shared, "biz_default", plan));
    });
    arming.recv_timeout(PROMPT).expect("arming a fault waited for the held commit");
    let (status, refused) = get_session(&base, &id);
    assert_eq!((status, refused["code"].as_str()), (503, Some("internal/unavailable")), "{refused}");
    let (status, _) = get_session(&base, &id);
    assert_eq!(status, 200, "the fault was armed for one request");
    assert!(!waiting.is_finished(), "the create answered before its commit was stored");

    // Once the commit is stored, the create answers.
    drop(held);
    let created = tokio::time::timeout(PROMPT, waiting).await.expect("the create never answered").unwrap();
    assert!(created.is_ok(), "{created:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_writes_waiting_for_a_held_commit_keep_no_worker_from_serving() {
    // Arrange: a stored session of the default business, and a second business.
    let (_dir, sandbox, _client, id) = stored_session().await;
    let base = sandbox.base_url().to_owned();
    let other = sandbox.create_business(Default::default()).unwrap().api_key.expose().to_owned();

    // Act: with every commit held back, more control writes than the runtime has workers: the
    // second business's clock and name, and a third business.
    let held = sandbox.shared().store.hold_commits();
    let http = reqwest::Client::new();
    let writes = [
        http.post(format!("{base}/_sandbox/clock/advance")).bearer_auth(&other).json(&json!({"seconds": 60})),
        http.patch(format!("{base}/_sandbox/business")).bearer_auth(&other).json(&json!({"name": "Renamed"})),
        http.post(format!("{base}/_sandbox/businesses")).bearer_auth(DEFAULT_API_KEY).json(&json!({})),
    ]
    .map(|request| tokio::spawn(request.send()));
    settle();

    // Assert: they wait for their commit, and the server still answers a read meanwhile.
    assert!(writes.iter().all(|w| !w.is_finished()), "a write answered before its commit was stored");
    let (status, read) = get_session(&base, &id);
    assert_eq!((status, read["id"].as_str()), (200, Some(id.as_str())), "{read}");
    drop(held);
    for w in writes {
        let resp = tokio::time::timeout(PROMPT, w).await.expect("a write never answered").unwrap().unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    }
}
