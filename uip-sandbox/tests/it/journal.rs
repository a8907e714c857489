//! The request journal and the sessions list (docs/DECISIONS.md §11): `GET`/`DELETE
//! /_sandbox/requests`, `GET /_sandbox/sessions`, and the handle's `requests()` / `sessions()`.

use crate::support as common;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use uip_sandbox::journal::{BodyEncoding, RequestFilter, SessionFilter, BODY_CAPACITY, JOURNAL_CAPACITY};
use uip_sandbox::SandboxError;
use uip_types::{Block, ErrorCode, SessionStatus, Step};

/// `GET /_sandbox/requests` with this query, as the default business.
async fn journal(env: &Env, query: &str) -> Resp {
    send(env.get(&format!("/_sandbox/requests{query}"))).await
}

/// The journaled requests of a successful `GET /_sandbox/requests`.
async fn requests(env: &Env, query: &str) -> Vec<Value> {
    let r = journal(env, query).await;
    assert_keys(r.ok(), &["requests"]);
    r.body["requests"].as_array().unwrap().clone()
}

fn ids(list: &[Value]) -> Vec<String> {
    list.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_uip_client_create_is_journaled_as_sent() {
    let env = start().await;
    let client = uip_client::Client::builder(env.key.as_str()).base_url(env.sb.api_url()).build().unwrap();
    let created = client
        .session()
        .identify([Block::FirstName, Block::Country])
        .gate()
        .age_verify(21)
        .client_reference_id("order_4815")
        .metadata("cart", "c_991")
        .idempotency_key("order_4815-create")
        .send()
        .await
        .unwrap();
    client.get_session(&created.id).await.unwrap();

    let list = requests(&env, "").await;
    assert_eq!(list.len(), 2, "{list:?}");
    let create = &list[0];
    assert_keys(
        create,
        &[
            "id",
            "at",
            "method",
            "path",
            "headers",
            "body",
            "status",
            "duration_ms",
            "idempotency_key",
            "session_id",
        ],
    );
    assert_eq!(create["method"], "POST");
    assert_eq!(create["path"], "/v1/sessions");
    assert_eq!(create["status"], 200);
    assert_eq!(create["idempotency_key"], "order_4815-create");
    assert_eq!(create["session_id"], created.id.as_str());
    assert_eq!(create["headers"]["authorization"], "Bearer [redacted]");
    assert_eq!(create["headers"]["idempotency-key"], "order_4815-create");
    assert!(create["headers"]["content-type"].as_str().unwrap().starts_with("application/json"));
    assert_secs_ts(&create["at"]);
    let sent: Value = serde_json::from_str(create["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        sent,
        json!({"steps": [{"primitive": "identify", "params": {"blocks": ["first_name", "country"]}, "gate": true},
                         {"primitive": "age_verify", "params": {"min_age": 21}}],
               "client_reference_id": "order_4815", "metadata": {"cart": "c_991"}})
    );

    let read = &list[1];
    assert_eq!(read["method"], "GET");
    assert_eq!(read["path"], format!("/v1/sessions/{}", created.id));
    assert_eq!(read["session_id"], created.id.as_str());
    assert_eq!(read["body"], "");
    assert!(read.get("idempotency_key").is_none() && read.get("code").is_none(), "{read}");

    // The same through the handle, typed.
    let typed = env.sb.requests();
    assert_eq!(typed.len(), 2);
    assert_eq!(typed[0].idempotency_key.as_deref(), Some("order_4815-create"));
    assert_eq!(typed[0].session_id.as_ref(), Some(&created.id));
    assert_eq!(typed[0].json().unwrap(), sent);
    assert_eq!(typed[0].header("Authorization"), Some("Bearer [redacted]"));
    assert_eq!(typed[0].id, create["id"].as_str().unwrap());
}

#[tokio::test]
async fn the_api_key_is_never_kept() {
    let env = start().await;
    // The key in every casing of the scheme, and once more in another header.
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let r = send(
            env.http.get(env.url("/v1/catalog")).header("Authorization", format!("{scheme} {}", env.key)),
        )
        .await;
        r.ok();
    }
    let r = journal(&env, "").await;
    assert_eq!(r.body["requests"].as_array().unwrap().len(), 3);
    assert!(!r.text.contains(&env.key), "the journal shows the API key: {}", r.text);
    for req in r.body["requests"].as_array().unwrap() {
        assert_eq!(req["headers"]["authorization"], "Bearer [redacted]");
    }
    assert!(!format!("{:?}", env.sb.requests()).contains(&env.key));
}

#[tokio::test]
async fn multipart_bodies_are_base64_byte_for_byte() {
    let env = start().await;
    let boundary = "journal-test-boundary";
    let doc: &[u8] = b"%PDF-1.4 \x00\x01\xff binary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"session\"\r\nContent-Type: application/json\r\n\r\n\
             {{\"steps\":[{{\"primitive\":\"sign\"}}]}}\r\n--{boundary}\r\nContent-Disposition: form-data; \
             name=\"document\"; filename=\"lease.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(doc);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = send(
        env.post("/v1/sessions")
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body.clone()),
    )
    .await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();

    let list = requests(&env, "").await;
    assert_eq!(list[0]["body_encoding"], "base64");
    assert_eq!(list[0]["session_id"], id);
    let decoded =
        base64::engine::general_purpose::STANDARD.decode(list[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(decoded, body);
    let typed = env.sb.requests();
    assert_eq!(typed[0].body_encoding, Some(BodyEncoding::Base64));
    assert_eq!(typed[0].body_bytes().unwrap(), body);
    assert!(!typed[0].body_truncated);
}

#[tokio::test]
async fn bodies_over_64_kib_are_cut_and_marked() {
    let env = start().await;
    // Exactly the limit: kept whole. (A body the sandbox refuses is journaled all the same.)
    let exact = format!("{{\"steps\":[],\"x\":\"{}\"}}", "a".repeat(BODY_CAPACITY - 19));
    assert_eq!(exact.len(), BODY_CAPACITY);
    let refused =
        send(env.post("/v1/sessions").header("content-type", "application/json").body(exact.clone())).await;
    assert_eq!(refused.status, 400);
    // One byte over: cut to the limit.
    let over = format!("{{\"steps\":[],\"x\":\"{}\"}}", "b".repeat(BODY_CAPACITY - 18));
    assert_eq!(
        send(env.post("/v1/sessions").header("content-type", "application/json").body(over.clone()))
            .await
            .status,
        400
    );
    // Far over, in a multi-byte character at the cut: whole characters are kept.
    let long = format!("{{\"xy\":\"{}\"}}", "é".repeat(BODY_CAPACITY));
    send(env.post("/v1/sessions").header("content-type", "application/json").body(long.clone())).await;

    let list = requests(&env, "").await;
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["body"], exact.as_str());
    assert!(list[0].get("body_truncated").is_none(), "{}", list[0]["body_truncated"]);
    assert_eq!(list[0]["status"], 400);
    assert_eq!(list[0]["code"], refused.body["code"]);

    assert_eq!(list[1]["body"], &over[..BODY_CAPACITY]);
    assert_eq!(list[1]["body_truncated"], true);

    let kept = list[2]["body"].as_str().unwrap();
    assert!(list[2].get("body_encoding").is_none());
    assert_eq!(list[2]["body_truncated"], true);
    assert_eq!(kept.len(), BODY_CAPACITY - 1, "the cut falls inside a character");
    assert!(long.starts_with(kept));
    assert!(env.sb.requests()[1].json().is_none(), "a cut body is not JSON");
}

#[tokio::test]
async fn the_journal_keeps_the_last_1000() {
    let env = start().await;
    let total = JOURNAL_CAPACITY + 5;
    // In order, a few at a time: request i carries `?n=i`.
    for chunk in (0..total).collect::<Vec<_>>().chunks(8) {
        let calls = chunk.iter().map(|i| send(env.get(&format!("/v1/catalog?n={i}"))));
        for r in futures::future::join_all(calls).await {
            r.ok();
        }
    }
    let all = requests(&env, "?limit=1000").await;
    assert_eq!(all.len(), JOURNAL_CAPACITY);
    let mut kept: Vec<usize> = all
        .iter()
        .map(|r| r["query"].as_str().unwrap().strip_prefix("n=").unwrap().parse().unwrap())
        .collect();
    kept.sort_unstable();
    assert_eq!(kept, (5..total).collect::<Vec<_>>(), "the oldest five are dropped");
    // Oldest first: ids grow.
    let numbers: Vec<u64> =
        ids(&all).iter().map(|i| i.strip_prefix("req_").unwrap().parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    // The default limit is 100: the oldest 100.
    let first = requests(&env, "").await;
    assert_eq!(ids(&first), ids(&all[..100]));
    assert_eq!(env.sb.requests().len(), JOURNAL_CAPACITY);
}

#[tokio::test]
async fn filters_session_since_and_limit() {
    let env = start().await;
    let a = env.create_steps(json!([{"primitive": "age_verify", "gate": true}])).await;
    let b = env.create_steps(json!([{"primitive": "age_verify"}])).await;
    env.session(&a).await;
    env.decide(&a, "continue").await.code(409, "session/not-awaiting-decision");
    send(env.get(&format!("/v1/audits/{b}_0"))).await.code(404, "resource/not-found");
    send(env.get("/v1/wallets")).await.ok();

    let all = requests(&env, "").await;
    assert_eq!(all.len(), 6);
    let about_a = requests(&env, &format!("?session_id={a}")).await;
    assert_eq!(
        about_a.iter().map(|r| r["path"].as_str().unwrap()).collect::<Vec<_>>(),
        ["/v1/sessions".to_owned(), format!("/v1/sessions/{a}"), format!("/v1/sessions/{a}/continue"),]
    );
    assert_eq!(about_a[2]["status"], 409);
    assert_eq!(about_a[2]["code"], "session/not-awaiting-decision");
    // The audit route names its session in the audit id.
    let about_b = requests(&env, &format!("?session_id={b}")).await;
    assert_eq!(about_b.len(), 2);
    assert_eq!(about_b[1]["path"], format!("/v1/audits/{b}_0"));
    assert_eq!(about_b[1]["code"], "resource/not-found");
    // A public route used with the key is journaled, about no session.
    assert_eq!(all[5]["path"], "/v1/wallets");
    assert!(all[5].get("session_id").is_none());

    let since = requests(&env, &format!("?since={}", all[3]["id"].as_str().unwrap())).await;
    assert_eq!(ids(&since), ids(&all[4..]));
    let page = requests(&env, &format!("?since={}&limit=1", all[1]["id"].as_str().unwrap())).await;
    assert_eq!(ids(&page), ids(&all[2..3]));
    let both = requests(&env, &format!("?session_id={a}&since={}", all[2]["id"].as_str().unwrap())).await;
    assert_eq!(ids(&both), ids(&all[3..4]));
    assert!(requests(&env, "?session_id=sess_unknown").await.is_empty());
    assert!(requests(&env, &format!("?since={}", all[5]["id"].as_str().unwrap())).await.is_empty());

    // The handle's filters are the same.
    let typed = env.sb.requests_matching(RequestFilter::new().session_id(&a).limit(2)).unwrap();
    assert_eq!(typed.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids(&about_a[..2]));
    let typed = env.sb.requests_matching(RequestFilter::new().since(all[4]["id"].as_str().unwrap())).unwrap();
    assert_eq!(typed.len(), 1);
}

#[tokio::test]
async fn out_of_range_limits_and_bad_cursors_are_400() {
    let env = start().await;
    for q in ["?limit=0", "?limit=1001", "?limit=-1", "?limit=ten", "?limit=", "?limit=1.5"] {
        journal(&env, q).await.err(400, "request/invalid-field", Some("limit"));
    }
    requests(&env, "?limit=1000").await;
    requests(&env, "?limit=1").await;
    for q in ["?since=42", "?since=req_", "?since=req_x", "?since=sess_1"] {
        journal(&env, q).await.err(400, "request/invalid-field", Some("since"));
    }
    for q in ["?limit=0", "?limit=501", "?limit=many"] {
        send(env.get(&format!("/_sandbox/sessions{q}"))).await.err(
            400,
            "request/invalid-field",
            Some("limit"),
        );
    }
    send(env.get("/_sandbox/sessions?limit=500")).await.ok();
    send(env.get("/_sandbox/sessions?status=done")).await.err(400, "request/invalid-field", Some("status"));
    // A repeated parameter is refused like on every route.
    journal(&env, "?limit=1&limit=2").await.code(400, "request/invalid-field");

    let err = env.sb.requests_matching(RequestFilter::new().limit(1001)).unwrap_err();
    assert!(
        matches!(&err, SandboxError::Api { status: 400, body } if body.code == Some(ErrorCode::InvalidField))
    );
    let err = env.sb.sessions_matching(SessionFilter::new().limit(0)).unwrap_err();
    assert!(
        matches!(&err, SandboxError::Api { status: 400, body } if body.param.as_deref() == Some("limit"))
    );
    let err =
        env.sb.sessions_matching(SessionFilter::new().status(SessionStatus::parse("done"))).unwrap_err();
    assert!(
        matches!(&err, SandboxError::Api { status: 400, body } if body.param.as_deref() == Some("status"))
    );
}

#[tokio::test]
async fn businesses_see_only_their_own_requests_and_sessions() {
    let env = start().await;
    let (_, other) = env.new_business(json!({"webhook_url": "http://127.0.0.1:9/hook"})).await;
    let mine = env.create_steps(json!([{"primitive": "age_verify"}])).await;
    let theirs = env
        .create_as(&other, &json!({"steps": [{"primitive": "light_sign", "params": {"terms": "t"}}]}))
        .await;
    let theirs = theirs.ok()["id"].as_str().unwrap().to_owned();
    // Reading the other business's session with my key: journaled as mine (a 404).
    send(env.get(&format!("/v1/sessions/{theirs}"))).await.code(404, "resource/not-found");

    let list = requests(&env, "").await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["session_id"], mine);
    assert_eq!(list[1]["status"], 404);
    let r = send(env.http.get(env.url("/_sandbox/requests")).bearer_auth(&other)).await;
    let theirs_list = r.ok()["requests"].as_array().unwrap().clone();
    assert_eq!(theirs_list.len(), 1);
    assert_eq!(theirs_list[0]["session_id"], theirs);

    let s = send(env.get("/_sandbox/sessions")).await;
    let ids: Vec<&str> =
        s.ok()["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [mine.as_str()]);
    let s = send(env.http.get(env.url("/_sandbox/sessions")).bearer_auth(&other)).await;
    let ids: Vec<&str> =
        s.ok()["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [theirs.as_str()]);

    // Clearing mine leaves theirs.
    assert_eq!(send(env.http.delete(env.url("/_sandbox/requests")).bearer_auth(&env.key)).await.status, 204);
    assert!(requests(&env, "").await.is_empty());
    let r = send(env.http.get(env.url("/_sandbox/requests")).bearer_auth(&other)).await;
    assert_eq!(r.ok()["requests"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn requests_without_a_known_business_are_not_journaled() {
    let env = start().await;
    send(env.http.get(env.url("/v1/catalog"))).await.code(401, "auth/missing-api-key");
    send(env.http.get(env.url("/v1/catalog")).bearer_auth("uip_test_nope"))
        .await
        .code(401, "auth/invalid-api-key");
    send(env.http.post(env.url("/v1/sessions")).bearer_auth("uip_test_nope").json(&json!({"steps": []})))
        .await
        .code(401, "auth/invalid-api-key");
    send(env.http.get(env.url("/v1/wallets"))).await.ok();
    assert!(requests(&env, "").await.is_empty());
    assert!(env.sb.requests().is_empty());
    // The journal's own routes need the key.
    send(env.http.get(env.url("/_sandbox/requests"))).await.code(401, "auth/missing-api-key");
    send(env.http.delete(env.url("/_sandbox/requests")).bearer_auth("uip_test_nope"))
        .await
        .code(401, "auth/invalid-api-key");
    send(env.http.get(env.url("/_sandbox/sessions"))).await.code(401, "auth/missing-api-key");
    // Control-API requests are not business-API requests.
    assert!(requests(&env, "").await.is_empty());
}

#[tokio::test]
async fn delete_answers_204_and_empties_the_journal() {
    let env = start().await;
    env.create_steps(json!([{"primitive": "age_verify"}])).await;
    assert_eq!(requests(&env, "").await.len(), 1);
    let r = send(env.http.delete(env.url("/_sandbox/requests")).bearer_auth(&env.key)).await;
    assert_eq!(r.status, 204);
    assert!(r.bytes.is_empty());
    assert!(requests(&env, "").await.is_empty());
    // Ids go on growing after a clear: a `since` cursor from before still works.
    send(env.get("/v1/catalog")).await.ok();
    assert_eq!(requests(&env, "").await.len(), 1);
    env.sb.clear_requests();
    assert!(env.sb.requests().is_empty());
}

#[tokio::test]
async fn injected_faults_and_replays_are_journaled_as_answered() {
    let env = start().await;
    send(env.post("/_sandbox/faults").json(&json!({"fail_next": 1, "with": 503}))).await.ok();
    send(env.get("/v1/catalog")).await.code(503, "internal/unavailable");
    let body = json!({"steps": [{"primitive": "age_verify"}]});
    let first = send(env.post("/v1/sessions").header("Idempotency-Key", "k-1").json(&body)).await;
    let id = first.ok()["id"].as_str().unwrap().to_owned();
    let again = send(env.post("/v1/sessions").header("Idempotency-Key", "k-1").json(&body)).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    let list = requests(&env, "").await;
    assert_eq!(list.len(), 3);
    assert_eq!(
        (list[0]["status"].clone(), list[0]["code"].clone()),
        (json!(503), json!("internal/unavailable"))
    );
    // The replay names the session the original create made.
    assert_eq!(list[2]["session_id"], id);
    assert_eq!(list[2]["idempotency_key"], "k-1");
    assert_eq!(list[2]["status"], 200);
}

#[tokio::test]
async fn sessions_are_listed_newest_first_with_their_steps() {
    let env = start().await;
    let first = env
        .create(json!({"steps": [{"primitive": "identify"}, {"primitive": "age_verify", "params": {"min_age": 21}, "gate": true}],
                       "client_reference_id": "order_1", "metadata": {"cart": "c_1"}}))
        .await;
    let second = env
        .create(
            json!({"steps": [{"primitive": "light_sign", "params": {"terms": "I agree.", "title": "Terms"}}],
                       "client_reference_id": "order_2"}),
        )
        .await;
    let third = env.create_steps(json!([{"primitive": "age_verify"}])).await;
    send(env.post(&format!("/_sandbox/sessions/{second}/simulate"))).await.ok();

    let r = send(env.get("/_sandbox/sessions")).await;
    assert_keys(r.ok(), &["sessions"]);
    let list = r.body["sessions"].as_array().unwrap();
    let order: Vec<&str> = list.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(order, [third.as_str(), second.as_str(), first.as_str()]);
    // Each is the GET view plus the steps as given.
    let view = env.session(&first).await;
    let mut expected = view.clone();
    expected["steps"] = json!([{"primitive": "identify"}, {"primitive": "age_verify", "params": {"min_age": 21}, "gate": true}]);
    assert_eq!(list[2], expected);
    assert_eq!(list[2]["client_reference_id"], "order_1");
    assert_eq!(list[2]["metadata"], json!({"cart": "c_1"}));
    assert_eq!(list[1]["status"], "completed");
    assert_eq!(
        list[1]["steps"],
        json!([{"primitive": "light_sign", "params": {"terms": "I agree.", "title": "Terms"}}])
    );
    assert!(list[0].get("client_reference_id").is_none() && list[0].get("metadata").is_none());

    let pick = |q: &'static str| {
        let env = &env;
        async move {
            let r = send(env.get(&format!("/_sandbox/sessions{q}"))).await;
            r.ok()["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(pick("?status=completed").await, [second.as_str()]);
    assert_eq!(pick("?status=created").await, [third.as_str(), first.as_str()]);
    assert!(pick("?status=expired").await.is_empty());
    assert_eq!(pick("?client_reference_id=order_1").await, [first.as_str()]);
    assert!(pick("?client_reference_id=order_1&status=completed").await.is_empty());
    assert_eq!(pick("?limit=2").await, [third.as_str(), second.as_str()]);

    // The handle, typed.
    let typed = env.sb.sessions().unwrap();
    assert_eq!(typed.len(), 3);
    assert_eq!(typed[2].steps, vec![Step::identify_default(), Step::age_verify(21).gate()]);
    assert_eq!(typed[1].view.status, SessionStatus::Completed);
    let typed = env.sb.sessions_matching(SessionFilter::new().client_reference_id("order_2")).unwrap();
    assert_eq!(typed.len(), 1);
    assert_eq!(typed[0].view.id.as_str(), second);
    let typed =
        env.sb.sessions_matching(SessionFilter::new().status(SessionStatus::Created).limit(1)).unwrap();
    assert_eq!(typed.iter().map(|s| s.view.id.to_string()).collect::<Vec<_>>(), [third.as_str()]);
}

#[tokio::test]
async fn listing_sessions_resolves_elapsed_ones_first() {
    let env = start_with(fast().expiry_sweep(std::time::Duration::ZERO)).await;
    let id = env.create(json!({"steps": [{"primitive": "age_verify"}], "expires_in": 60})).await;
    env.advance(61).await;
    let r = send(env.get("/_sandbox/sessions?status=expired")).await;
    let list = r.ok()["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id);
    assert_eq!(env.event(&id).await["event"], "session.expired");
}
