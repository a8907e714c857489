//! The sandbox as a test dependency with `default-features = false` (no clap, no
//! tracing-subscriber, no SQLite): it starts, runs a session end to end and delivers its
//! webhooks. CI runs this file with `--no-default-features` (.ci/features.sh); with the default
//! features it runs as part of the ordinary `cargo test`.

use std::time::Duration;

use uip_sandbox::Sandbox;

#[tokio::test]
async fn a_sandbox_runs_a_session_to_its_webhooks() {
    let sandbox = Sandbox::start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/sessions", sandbox.api_url()))
        .bearer_auth(sandbox.api_key().expose())
        .json(&serde_json::json!({"steps": [{"primitive": "age_verify", "params": {"min_age": 21}}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let created: serde_json::Value = response.json().await.unwrap();
    assert_eq!(created["status"], "created");
    let id = created["id"].as_str().unwrap();

    let user = sandbox.user(id);
    user.open().await.unwrap();
    user.share().await.unwrap();

    let event = sandbox.next_event(id, Duration::from_secs(30)).await.unwrap();
    assert_eq!(event.name(), "step.completed");
    assert_eq!(event.to_value()["data"]["satisfied"], true);
    let event = sandbox.next_event(id, Duration::from_secs(30)).await.unwrap();
    assert_eq!(event.name(), "session.completed");
}

/// Without the `sqlite` feature a database path is refused at start, naming the feature.
#[cfg(not(feature = "sqlite"))]
#[tokio::test]
async fn a_database_without_the_sqlite_feature_is_a_start_error() {
    let path = std::env::temp_dir().join(format!("uip-sandbox-minimal-{}.db", std::process::id()));
    let err = Sandbox::builder().database(&path).start().await.unwrap_err();
    let uip_sandbox::SandboxError::Start { message, .. } = &err else { panic!("not a start error: {err:?}") };
    assert!(message.contains("`sqlite` feature"), "{message}");
    assert!(!path.exists(), "no file is created: {}", path.display());
}

/// With the `sqlite` feature the same path is a working database: a session outlives a restart.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_database_with_the_sqlite_feature_keeps_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox.db");
    let first = Sandbox::builder().database(&path).start().await.unwrap();
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{}/sessions", first.api_url()))
        .bearer_auth(first.api_key().expose())
        .json(&serde_json::json!({"steps": [{"primitive": "age_verify", "params": {"min_age": 18}}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    first.shutdown().await;

    let second = Sandbox::builder().database(&path).start().await.unwrap();
    let read = http
        .get(format!("{}/sessions/{id}", second.api_url()))
        .bearer_auth(second.api_key().expose())
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let view: serde_json::Value = read.json().await.unwrap();
    assert_eq!(view["id"], id.as_str());
    assert_eq!(view["status"], "created");
}
