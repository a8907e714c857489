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

// The test's own body blocks while it waits for an answer: the sandbox serves from the workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_injected_faults_answer_while_a_commit_is_held_back() {
    // Arrange: a stored session, a fault armed for the next business-API request.
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::builder().database(dir.path().join("held.db")).start().await.unwrap();
    let base = sandbox.base_url().to_owned();
    let client = uip_client::Client::builder(DEFAULT_API_KEY).base_url(sandbox.api_url()).build().unwrap();
    let id = client.session().identify_default().send().await.unwrap().id.as_str().to_owned();

    // Act: hold every commit back, and send a create, which waits for its commit.
    let held = sandbox.shared().store.hold_commits();
    let waiting = tokio::spawn(async move { client.session().identify_default().send().await.map(|c| c.id) });
    tokio::time::sleep(Duration::from_millis(200)).await;
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
        let _ = armed.send(crate::core::set_faults(&shared, "biz_default", plan).map_err(|e| e.message));
    });
    let armed = arming.recv_timeout(PROMPT).expect("arming a fault waited for the held commit");
    armed.unwrap_or_else(|e| panic!("arming the fault: {e}"));
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
