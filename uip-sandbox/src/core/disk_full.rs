//! A full disk over HTTP (docs/DECISIONS.md §11): a create whose write fails answers 500
//! `internal/server-error` and leaves no trace — reads keep working, its Idempotency-Key stays
//! free, and the database holds exactly the sessions whose creates succeeded. The disk is made
//! full for real: SQLite's `max_page_count` caps the file at the pages it has, so the next write
//! that needs a page fails with `SQLITE_FULL`.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::config::DEFAULT_API_KEY;
use crate::store::Store;
use crate::Sandbox;

/// A create with an Idempotency-Key: the status, whether it was a replay, the body.
async fn create(http: &reqwest::Client, base: &str, key: &str, n: usize) -> (u16, bool, Value) {
    let body = json!({
        "steps": [{"primitive": "identify"}],
        "client_reference_id": format!("order-{n}"),
        "metadata": {"filler": "x".repeat(450)},
    });
    let resp = http
        .post(format!("{base}/v1/sessions"))
        .bearer_auth(DEFAULT_API_KEY)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let replayed = resp.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    (status, replayed, resp.json().await.unwrap())
}

async fn get(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_refused_on_a_full_disk_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("full.db");
    let sandbox = Sandbox::builder().database(&db).start().await.unwrap();
    let base = sandbox.base_url().to_owned();
    let http = reqwest::Client::new();

    // A first session, opened on its page (the binding is what `/s/{id}/state` asks for).
    let (status, _, first) = create(&http, &base, "key-first", 0).await;
    assert_eq!(status, 200, "{first}");
    let first = first["id"].as_str().unwrap().to_owned();
    let (status, opened) = get(http.post(format!("{base}/s/{first}/open"))).await;
    assert_eq!(status, 200, "{opened}");
    let binding = opened["binding"].as_str().unwrap().to_owned();

    // The disk fills up: creates succeed while the file's pages have room, then one fails.
    sandbox.shared().store.set_full(true).unwrap();
    let mut stored = vec![first.clone()];
    let mut refused = None;
    for n in 1..400 {
        let key = format!("key-{n}");
        let (status, replayed, body) = create(&http, &base, &key, n).await;
        match status {
            200 => {
                assert!(!replayed);
                stored.push(body["id"].as_str().unwrap().to_owned());
            }
            500 => {
                assert_eq!(body["code"], "internal/server-error", "{body}");
                assert!(body["error"].is_string(), "{body}");
                refused = Some((key, n));
                break;
            }
            other => panic!("create {n}: {other} {body}"),
        }
    }
    let (key, n) = refused.expect("a create failed once the disk was full");

    // Reads keep working: every stored session, and the page's state.
    for id in &stored {
        let (status, view) =
            get(http.get(format!("{base}/v1/sessions/{id}")).bearer_auth(DEFAULT_API_KEY)).await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(&view["id"], id);
    }
    let (status, state) =
        get(http.get(format!("{base}/s/{first}/state")).header("x-uip-binding", &binding)).await;
    assert_eq!(status, 200, "{state}");
    // Still full: the same create is refused again — its key was not taken by the failed one.
    let (status, _, body) = create(&http, &base, &key, n).await;
    assert_eq!((status, &body["code"]), (500, &json!("internal/server-error")), "{body}");

    // Space freed: the refused create's key makes a new session, then replays it.
    sandbox.shared().store.set_full(false).unwrap();
    let (status, replayed, created) = create(&http, &base, &key, n).await;
    assert_eq!((status, replayed), (200, false), "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(!stored.contains(&id), "a new session");
    let (status, replayed, again) = create(&http, &base, &key, n).await;
    assert_eq!((status, replayed), (200, true));
    assert_eq!(again, created);
    stored.push(id);
    sandbox.shutdown().await;

    // The file holds exactly the sessions whose creates answered 2xx.
    let store = Store::open(&db).unwrap();
    let in_file: BTreeSet<String> = store.read(|st| st.sessions().map(|s| s.id.to_string()).collect());
    assert_eq!(in_file, stored.into_iter().collect::<BTreeSet<_>>());
}
