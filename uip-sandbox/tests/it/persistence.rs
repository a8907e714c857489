//! SQLite persistence: the sandbox binary killed with SIGKILL while deliveries are pending and
//! restarted on the same file, a graceful SIGTERM stop, and a library-level restart.

use crate::support::delivery as support_delivery;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support_delivery::{
    accepted_by_session, delivery_ids, eventually, step, Api, Receiver, KEY, PATIENCE, SECRET,
};
use uip_sandbox::{DeliveryStatus, NewBusiness, Sandbox, Trust};

/// The sandbox binary, running.
struct Process {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Process {
    /// Starts the binary on `db`, delivering to `webhook_url`, and waits for its
    /// `UIP_SANDBOX_URL=` line. Its stderr goes to `log`.
    async fn start(db: &Path, webhook_url: &str, log: PathBuf) -> Process {
        Process::start_with(db, &["--webhook-url", webhook_url], &[], log).await
    }

    /// Starts the binary on `db` with these extra flags and `UIP_SANDBOX_*` environment
    /// variables (no other), and waits for its `UIP_SANDBOX_URL=` line. Its stderr goes to `log`.
    async fn start_with(db: &Path, args: &[&str], envs: &[(&str, &str)], log: PathBuf) -> Process {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_uip-sandbox"));
        for (name, _) in std::env::vars() {
            if name.starts_with("UIP_SANDBOX_") {
                cmd.env_remove(name);
            }
        }
        let stderr = std::fs::File::create(&log).expect("create the log file");
        cmd.arg("--db")
            .arg(db)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .args(["--retry-base-ms", "50", "--retry-max-ms", "200"])
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().expect("start the sandbox binary");
        let stdout = child.stdout.take().expect("its stdout");
        let (tx, rx) = mpsc::channel();
        // Reads stdout to the end, so the process never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("UIP_SANDBOX_URL=") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let deadline = Instant::now() + PATIENCE;
        let url = loop {
            match rx.try_recv() {
                Ok(url) => break url,
                Err(mpsc::TryRecvError::Empty) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("no UIP_SANDBOX_URL line ({e}); stderr:\n{}", read(&log));
                }
            }
        };
        assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"), "the real port: {url}");
        Process { child, url, log }
    }

    fn sigkill(mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("reap");
        assert!(!status.success(), "killed, not exited: {status:?}");
    }

    /// Sends SIGTERM and waits for the exit.
    async fn sigterm(self) -> ExitStatus {
        self.signal("-TERM").await
    }

    /// Sends a signal with `kill` and waits for the exit.
    async fn signal(mut self, which: &str) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([which, &pid]).status().expect("run kill");
        assert!(sent.success());
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM; stderr:\n{}", read(&self.log));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Per session: what it should have sent so far.
type Expected = Vec<(String, Vec<&'static str>)>;

fn all_delivery_ids(expected: &Expected) -> Vec<String> {
    expected.iter().flat_map(|(id, labels)| delivery_ids(id, labels)).collect()
}

fn by_session(expected: &Expected) -> HashMap<String, Vec<String>> {
    expected
        .iter()
        .filter(|(_, labels)| !labels.is_empty())
        .map(|(id, labels)| (id.clone(), labels.iter().map(|l| l.to_string()).collect()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_survives_sigkill_with_pending_deliveries_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sandbox.db");
    let receiver = Receiver::ok(Some(SECRET)).await;
    receiver.set_up(false);

    // Run 1: sessions in several states while the receiver is down.
    let run1 = Process::start(&db, &receiver.url, dir.path().join("run1.log")).await;
    let api = Api::new(&run1.url, KEY);
    let completed = api.create_steps(&["identify", "age_verify"]).await;
    assert_eq!(api.simulate(&completed, json!({})).await["status"], "completed");
    let gated =
        api.create(json!({"steps": [{"primitive": "identify", "gate": true}, step("light_sign")]})).await;
    assert_eq!(api.simulate(&gated, json!({})).await["status"], "awaiting_decision");
    let progressing = api.create_steps(&["identify", "age_verify"]).await;
    assert_eq!(api.simulate(&progressing, json!({"steps": 1})).await["status"], "in_progress");
    let failed = api.create_steps(&["identify", "age_verify"]).await;
    api.simulate(&failed, json!({"steps": 1})).await;
    assert_eq!(api.simulate(&failed, json!({"persona": "expired-credential"})).await["status"], "failed");
    let created = api
        .create(json!({"steps": [step("identify")], "client_reference_id": "never-opened", "metadata": {"a": "b"}}))
        .await;
    let expected: Expected = vec![
        (completed.clone(), vec!["step:0", "step:1", "session.completed"]),
        (gated.clone(), vec!["step:0"]),
        (progressing.clone(), vec!["step:0"]),
        (failed.clone(), vec!["step:0", "session.failed"]),
        (created.clone(), vec![]),
    ];
    let mut views = Vec::new();
    let mut audits = Vec::new();
    for (id, labels) in &expected {
        views.push((id.clone(), api.session(id).await));
        for stage in labels.iter().filter_map(|l| l.strip_prefix("step:")) {
            let audit_id = format!("{id}_{stage}");
            audits.push((audit_id.clone(), api.audit(&audit_id).await));
        }
    }
    assert_eq!(audits.len(), 5);
    // Every session's first event has failed attempts on record; nothing got through.
    let heads: Vec<String> = expected
        .iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(id, l)| delivery_ids(id, &l[..1])[0].clone())
        .collect();
    let before = eventually("failed attempts recorded for every head", || {
        let api = api.clone();
        let heads = heads.clone();
        async move {
            let log = api.deliveries(None).await;
            let ok = log.len() == 7
                && heads.iter().all(|h| log.iter().any(|d| &d.delivery_id == h && d.attempts.len() >= 2));
            ok.then_some(log)
        }
    })
    .await;
    assert!(before.iter().all(|d| matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Retrying)));
    assert!(before.iter().flat_map(|d| &d.attempts).all(|a| a.status_code.is_none() && a.error.is_some()));
    assert!(receiver.arrivals().is_empty());
    run1.sigkill();

    // Run 2 on the same file; the receiver comes up.
    let run2 = Process::start(&db, &receiver.url, dir.path().join("run2.log")).await;
    receiver.set_up(true);
    let api = Api::new(&run2.url, KEY);
    for (id, view) in &views {
        assert_eq!(&api.session(id).await, view, "session {id} after SIGKILL");
    }
    for (audit_id, audit) in &audits {
        assert_eq!(&api.audit(audit_id).await, audit, "audit {audit_id} after SIGKILL");
    }
    let ids = all_delivery_ids(&expected);
    let arrivals = receiver.wait_accepted(&ids).await;
    assert_eq!(arrivals.len(), ids.len(), "each event exactly once");
    assert_eq!(accepted_by_session(&arrivals), by_session(&expected), "per-session order");
    assert!(arrivals.iter().all(|a| matches!(a.verified, Some(Ok(_)))));
    // The log kept run 1's failed attempts, then the success.
    let log = eventually("all delivered after the restart", || {
        let api = api.clone();
        async move {
            let log = api.deliveries(None).await;
            log.iter().all(|d| d.status == DeliveryStatus::Delivered).then_some(log)
        }
    })
    .await;
    for h in &heads {
        let d = log.iter().find(|d| &d.delivery_id == h).unwrap();
        let failed_before = before.iter().find(|b| &b.delivery_id == h).unwrap().attempts.len();
        assert!(d.attempts.len() > failed_before, "{d:?}");
        assert_eq!(
            d.attempts[..failed_before],
            before.iter().find(|b| &b.delivery_id == h).unwrap().attempts[..]
        );
        assert_eq!(d.attempts.last().unwrap().status_code, Some(200));
    }
    // Sessions carry on after the restart, and their new events follow the old ones.
    api.decide(&gated, "continue").await;
    assert_eq!(api.simulate(&gated, json!({})).await["status"], "completed");
    assert_eq!(api.simulate(&progressing, json!({})).await["status"], "completed");
    let expected: Expected = vec![
        (completed.clone(), vec!["step:0", "step:1", "session.completed"]),
        (gated.clone(), vec!["step:0", "step:1", "session.completed"]),
        (progressing.clone(), vec!["step:0", "step:1", "session.completed"]),
        (failed.clone(), vec!["step:0", "session.failed"]),
        (created.clone(), vec![]),
    ];
    let ids = all_delivery_ids(&expected);
    let arrivals = receiver.wait_accepted(&ids).await;
    assert_eq!(arrivals.len(), ids.len(), "each event exactly once");
    assert_eq!(accepted_by_session(&arrivals), by_session(&expected));
    eventually("the new events marked delivered", || {
        let api = api.clone();
        async move {
            let log = api.deliveries(None).await;
            (log.len() == 11 && log.iter().all(|d| d.status == DeliveryStatus::Delivered)).then_some(())
        }
    })
    .await;

    // A graceful stop exits 0.
    let status = run2.sigterm().await;
    assert_eq!(status.code(), Some(0), "{status:?}");

    // Run 3: everything is as run 2 left it, and nothing is sent again.
    let run3 = Process::start(&db, &receiver.url, dir.path().join("run3.log")).await;
    let api = Api::new(&run3.url, KEY);
    let log = api.deliveries(None).await;
    assert_eq!(log.len(), 11);
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Delivered), "{log:#?}");
    let statuses: Vec<Value> = {
        let mut v = Vec::new();
        for (id, _) in &expected {
            v.push(api.session(id).await["status"].clone());
        }
        v
    };
    assert_eq!(
        statuses,
        [json!("completed"), json!("completed"), json!("completed"), json!("failed"), json!("created")]
    );
    assert_eq!(api.session(&created).await, views[4].1);
    let seen = receiver.arrivals().len();
    let status = run3.sigterm().await;
    assert!(status.success(), "{status:?}");
    assert_eq!(receiver.arrivals().len(), seen, "a delivered event was sent again after a restart");

    // A stop signal right after the URL line is handled too (SIGTERM, then Ctrl-C's SIGINT).
    let run4 = Process::start(&db, &receiver.url, dir.path().join("run4.log")).await;
    assert_eq!(run4.sigterm().await.code(), Some(0));
    let run5 = Process::start(&db, &receiver.url, dir.path().join("run5.log")).await;
    assert_eq!(run5.signal("-INT").await.code(), Some(0));
    assert!(read(&dir.path().join("run5.log")).contains("shutting down"));
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn create_idempotent(api: &Api, key: &str, body: &Value) -> (u16, Option<String>, String) {
    let resp = api
        .http
        .post(api.url("/v1/sessions"))
        .bearer_auth(&api.key)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let replayed = resp.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_owned());
    (status, replayed, resp.text().await.unwrap())
}

async fn open_page(api: &Api, id: &str) -> String {
    let (status, v) = api.send(api.http.post(api.url(&format!("/s/{id}/open")))).await;
    assert_eq!(status, 200, "{v}");
    v["binding"].as_str().unwrap().to_owned()
}

async fn document(api: &Api, id: &str, binding: &str, index: usize) -> (u16, Vec<u8>) {
    let resp = api
        .http
        .get(api.url(&format!("/s/{id}/documents/{index}")))
        .header("x-uip-binding", binding)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_library_sandbox_restarted_on_its_database_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("library.db");
    let start = || Sandbox::builder().database(&db).retry_base(ms(30)).start();

    let sandbox = start().await.unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let body = json!({"steps": [step("identify")], "client_reference_id": "order-1", "metadata": {"k": "v"}});
    let (status, replayed, original) = create_idempotent(&api, "create-1", &body).await;
    assert_eq!((status, replayed), (200, None), "{original}");
    let done: String = serde_json::from_str::<Value>(&original).unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(api.simulate(&done, json!({})).await["status"], "completed");
    for _ in 0..2 {
        sandbox.next_event(&done, PATIENCE).await.unwrap();
    }
    // A sign session holding two documents, not opened yet.
    let docs: [(&str, &[u8]); 2] =
        [("contract.pdf", b"%PDF-1.7 the contract"), ("annex.txt", b"annex \x00\xff bytes")];
    let mut form = reqwest::multipart::Form::new().part(
        "session",
        reqwest::multipart::Part::text(json!({"steps": [{"primitive": "sign"}]}).to_string())
            .mime_str("application/json")
            .unwrap(),
    );
    for (name, bytes) in docs {
        form = form.part("document", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name));
    }
    let (status, v) = api.send(api.http.post(api.url("/v1/sessions")).multipart(form)).await;
    assert_eq!(status, 200, "{v}");
    let signing = v["id"].as_str().unwrap().to_owned();
    // Another business, with its own session.
    let other = sandbox
        .create_business(
            NewBusiness::new()
                .with_webhook_url(format!("{}/_sandbox/inbox", sandbox.base_url()))
                .with_balance_cents(5000)
                .with_trust(Trust::Production)
                .with_name("Other Co"),
        )
        .unwrap();
    let api_other = api.as_business(other.api_key.expose());
    let theirs = api_other.create_steps(&["age_verify"]).await;

    let views = [api.session(&done).await, api.session(&signing).await, api_other.session(&theirs).await];
    let audit = api.audit(&format!("{done}_0")).await;
    let (_, business) = api.send(api.http.get(api.url("/_sandbox/business"))).await;
    let (_, other_business) = api_other.send(api.http.get(api.url("/_sandbox/business"))).await;
    sandbox.shutdown().await;

    // Second start on the same file.
    let sandbox = start().await.unwrap();
    let api = Api { base: sandbox.base_url().to_owned(), ..api };
    let api_other = api.as_business(other.api_key.expose());
    assert_eq!(api.session(&done).await, views[0]);
    assert_eq!(api.session(&signing).await, views[1]);
    assert_eq!(api_other.session(&theirs).await, views[2]);
    assert_eq!(api.audit(&format!("{done}_0")).await, audit);
    let (_, b) = api.send(api.http.get(api.url("/_sandbox/business"))).await;
    assert_eq!(b["balance_cents"], business["balance_cents"], "the charge for the step survived");
    let (status, b) = api_other.send(api.http.get(api.url("/_sandbox/business"))).await;
    assert_eq!(status, 200, "the other business's key still works");
    assert_eq!(b, other_business);
    let (status, _) = api.send(api.http.get(api.url(&format!("/v1/sessions/{theirs}")))).await;
    assert_eq!(status, 404, "businesses stay isolated");
    // The idempotency record survived: a replay, and a conflict for a different body.
    let (status, replayed, again) = create_idempotent(&api, "create-1", &body).await;
    assert_eq!((status, replayed.as_deref()), (200, Some("true")));
    assert_eq!(again, original);
    let (status, _, conflict) =
        create_idempotent(&api, "create-1", &json!({"steps": [step("age_verify")]})).await;
    assert_eq!(status, 409, "{conflict}");
    assert!(conflict.contains("request/idempotency-conflict"));
    // The delivery log survived.
    let log = sandbox.deliveries(&done);
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Delivered));
    // Document bytes survived; they are purged once the sign step verifies.
    let binding = open_page(&api, &signing).await;
    for (i, (_, bytes)) in docs.iter().enumerate() {
        assert_eq!(document(&api, &signing, &binding, i).await, (200, bytes.to_vec()));
    }
    assert_eq!(api.simulate(&signing, json!({})).await["status"], "completed");
    assert_eq!(document(&api, &signing, &binding, 0).await.0, 410);
    sandbox.shutdown().await;

    // Third start: the purge and the binding survived too.
    let sandbox = start().await.unwrap();
    let api = Api { base: sandbox.base_url().to_owned(), ..api };
    assert_eq!(document(&api, &signing, &binding, 0).await.0, 410);
    assert_eq!(document(&api, &signing, &binding, 1).await.0, 410);
    assert_eq!(api.session(&signing).await["status"], "completed");
    sandbox.shutdown().await;
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (rows, kept): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COUNT(bytes) FROM documents WHERE session_id = ?1",
            [signing.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, kept), (2, 0), "purged bytes are gone from the file");
}

async fn business(api: &Api) -> Value {
    let (status, b) = api.send(api.http.get(api.url("/_sandbox/business"))).await;
    assert_eq!(status, 200, "{b}");
    b
}

async fn patch_business(api: &Api, patch: Value) -> Value {
    let (status, b) = api.send(api.http.patch(api.url("/_sandbox/business")).json(&patch)).await;
    assert_eq!(status, 200, "{b}");
    b
}

/// docs/DECISIONS.md §11: on a restart what is stored wins; only what is set explicitly applies.
#[tokio::test]
async fn a_restart_keeps_what_was_changed_on_the_default_business() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("library.db");
    let start = || Sandbox::builder().database(&db).retry_base(ms(30)).retry_max(ms(200)).start();
    let receiver = Receiver::ok(None).await;
    receiver.set_up(false);

    let sandbox = start().await.unwrap();
    let api = Api::new(sandbox.base_url(), KEY);
    let patched = patch_business(
        &api,
        json!({"webhook_url": receiver.url, "rotate_webhook_secret": true, "trust": "production",
               "name": "Renamed Co", "balance_cents": 4321}),
    )
    .await;
    assert_ne!(patched["webhook_secret"], SECRET);
    let id = api.create_steps(&["identify"]).await;
    assert_eq!(api.simulate(&id, json!({})).await["status"], "completed");
    eventually("a failed attempt at the configured URL", || {
        let api = api.clone();
        async move { api.deliveries(None).await.iter().any(|d| !d.attempts.is_empty()).then_some(()) }
    })
    .await;
    let before = business(&api).await;
    sandbox.shutdown().await;

    // Every setting left at its default: all kept, and the pending events go to the configured URL.
    let sandbox = start().await.unwrap();
    let api = Api { base: sandbox.base_url().to_owned(), ..api };
    let after = business(&api).await;
    assert_eq!(after, before);
    assert_eq!(after["webhook_url"], json!(receiver.url));
    assert_eq!(after["trust"], "production");
    assert_eq!(sandbox.credentials().webhook_secret.expose(), patched["webhook_secret"].as_str().unwrap());
    assert_eq!(sandbox.credentials().trust, Trust::Production);
    receiver.set_up(true);
    let ids = delivery_ids(&id, &["step:0", "session.completed"]);
    receiver.wait_accepted(&ids).await;
    // Signed with the rotated secret (next_event verifies with the secret it was sent with).
    for name in ["step.completed", "session.completed"] {
        assert_eq!(sandbox.next_event(&id, PATIENCE).await.unwrap().name(), name);
    }
    sandbox.shutdown().await;

    // Settings given explicitly are applied; the rest stays as stored.
    let explicit = "http://127.0.0.1:9/explicit";
    let sandbox = Sandbox::builder()
        .database(&db)
        .webhook_url(explicit)
        .webhook_secret("uip_whsec_explicit")
        .trust(Trust::Demo)
        .start()
        .await
        .unwrap();
    let api = Api { base: sandbox.base_url().to_owned(), ..api };
    let applied = business(&api).await;
    assert_eq!(applied["webhook_url"], explicit);
    assert_eq!(applied["webhook_secret"], "uip_whsec_explicit");
    assert_eq!(applied["trust"], "demo");
    assert_eq!((&applied["name"], &applied["balance_cents"]), (&before["name"], &before["balance_cents"]));
    sandbox.shutdown().await;
    // …and stored from then on.
    let sandbox = start().await.unwrap();
    let api = Api { base: sandbox.base_url().to_owned(), ..api };
    assert_eq!(business(&api).await, applied);
}

/// The binary: a flag or environment variable left out never overwrites a stored setting; one
/// given is applied and logged without secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_applies_only_the_flags_given_to_a_stored_default_business() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sandbox.db");
    let run1 = Process::start_with(&db, &[], &[], dir.path().join("run1.log")).await;
    let api = Api::new(&run1.url, KEY);
    let patched = patch_business(
        &api,
        json!({"webhook_url": "http://127.0.0.1:9/configured", "rotate_webhook_secret": true, "trust": "production"}),
    )
    .await;
    assert_eq!(run1.sigterm().await.code(), Some(0));

    let run2 = Process::start_with(&db, &[], &[], dir.path().join("run2.log")).await;
    let api = Api::new(&run2.url, KEY);
    assert_eq!(business(&api).await, patched, "every flag left at its default");
    assert_eq!(run2.sigterm().await.code(), Some(0));

    let log = dir.path().join("run3.log");
    let run3 = Process::start_with(
        &db,
        &["--webhook-url", "http://user:pw@127.0.0.1:9/explicit?token=t0ken"],
        &[("UIP_SANDBOX_TRUST", "demo"), ("UIP_SANDBOX_WEBHOOK_SECRET", "uip_whsec_from_env")],
        log.clone(),
    )
    .await;
    let api = Api::new(&run3.url, KEY);
    let b = business(&api).await;
    assert_eq!(b["webhook_url"], "http://user:pw@127.0.0.1:9/explicit?token=t0ken");
    assert_eq!(b["trust"], "demo");
    assert_eq!(b["webhook_secret"], "uip_whsec_from_env");
    assert_eq!(b["name"], patched["name"]);
    assert_eq!(run3.sigterm().await.code(), Some(0));
    let text = read(&log);
    for applied in
        ["webhook_url = http://127.0.0.1:9/explicit", "trust = demo", "webhook_secret = [redacted]"]
    {
        assert!(text.contains(applied), "{applied:?} not logged:\n{text}");
    }
    for secret in ["uip_whsec_from_env", "t0ken", "pw@", patched["webhook_secret"].as_str().unwrap()] {
        assert!(!text.contains(secret), "{secret:?} logged:\n{text}");
    }
}

/// docs/DECISIONS.md §11: `--db` on a file that is neither empty nor a sandbox database is refused
/// with a message naming it, and the file is not modified.
#[tokio::test]
async fn another_applications_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let other_app = dir.path().join("other-app.db");
    {
        let conn = rusqlite::Connection::open(&other_app).unwrap();
        conn.execute_batch(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             INSERT INTO customers (name) VALUES ('Ada'), ('Grace');",
        )
        .unwrap();
    }
    let not_sqlite = dir.path().join("notes.db");
    std::fs::write(&not_sqlite, "these are notes, not a database\n").unwrap();

    for path in [&other_app, &not_sqlite] {
        let before = std::fs::read(path).unwrap();
        let listing = |dir: &Path| {
            let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
            names.sort();
            names
        };
        let files = listing(dir.path());

        let err = Sandbox::builder().database(path).start().await.expect_err("refused");
        let message = err.to_string();
        assert!(matches!(err, uip_sandbox::SandboxError::Start { .. }), "{err:?}");
        assert!(message.contains(&path.display().to_string()), "names the file: {message}");
        assert!(message.contains("not a uip-sandbox database"), "{message}");
        assert_eq!(std::fs::read(path).unwrap(), before, "{} modified", path.display());

        let out = Command::new(env!("CARGO_BIN_EXE_uip-sandbox"))
            .arg("--db")
            .arg(path)
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("UIP_SANDBOX_DB")
            .stdin(Stdio::null())
            .output()
            .expect("run the sandbox binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&path.display().to_string()), "names the file: {stderr}");
        assert!(stderr.contains("not a uip-sandbox database"), "{stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("UIP_SANDBOX_URL="));
        assert_eq!(std::fs::read(path).unwrap(), before, "{} modified", path.display());
        assert_eq!(listing(dir.path()), files, "no file made beside it");
    }
    let conn = rusqlite::Connection::open(&other_app).unwrap();
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
    assert_eq!(tables, 1, "only its own table");
}
