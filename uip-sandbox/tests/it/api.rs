//! The business API over HTTP: create (shape, every 400 code with its param, 401, 413, 415,
//! 422, 402, order of checks), reads, error shapes, wallets and catalog.

use crate::support as common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn create_answers_the_contract_shape() {
    let env = start().await;
    let r = env.create_raw(&json!({"steps": [{"primitive": "identify"}]})).await;
    let body = r.ok();
    assert_keys(body, &["id", "status", "url", "expires"]);
    let id = body["id"].as_str().unwrap();
    assert!(is_session_id(id), "{id}");
    assert_eq!(body["status"], "created");
    assert_eq!(body["url"], format!("{}/s/{id}", env.sb.base_url()));
    assert_secs_ts(&body["expires"]);
    assert!(r.header("idempotent-replayed").is_none());

    let view = env.session(id).await;
    assert_keys(
        &view,
        &[
            "id",
            "status",
            "current_step",
            "step_count",
            "primitives",
            "current_primitive",
            "expires_at",
            "created_at",
            "updated_at",
        ],
    );
    assert_eq!(view["id"], id);
    assert_eq!(view["status"], "created");
    assert_eq!(view["current_step"], 0);
    assert_eq!(view["step_count"], 1);
    assert_eq!(view["primitives"], json!(["identify"]));
    assert_eq!(view["current_primitive"], "identify");
    for f in ["expires_at", "created_at", "updated_at"] {
        assert_secs_ts(&view[f]);
    }
    assert_eq!(view["expires_at"], body["expires"]);
    assert_eq!((ts(&view["expires_at"]) - ts(&view["created_at"])).num_seconds(), 3600);
    let age = (chrono::Utc::now() - ts(&view["created_at"])).num_seconds();
    // The real clock: in the past, by no more than the test has run (generously bounded).
    assert!((0..600).contains(&age), "created_at is now: {age}");
}

#[tokio::test]
async fn ids_are_unique_and_expires_in_is_honoured() {
    let env = start().await;
    let a = env.create(json!({"steps": [{"primitive": "age_verify"}], "expires_in": 60})).await;
    let b = env.create(json!({"steps": [{"primitive": "age_verify"}], "expires_in": 86400})).await;
    assert_ne!(a, b);
    for (id, ttl) in [(&a, 60), (&b, 86400)] {
        let v = env.session(id).await;
        assert_eq!((ts(&v["expires_at"]) - ts(&v["created_at"])).num_seconds(), ttl);
    }
}

#[tokio::test]
async fn echoes_are_returned_when_set_and_omitted_when_not() {
    let env = start().await;
    let id = env
        .create(json!({
            "steps": [{"primitive": "identify", "params": {"blocks": ["first_name"]}}, {"primitive": "age_verify", "params": {"min_age": 21}}],
            "client_reference_id": "order_4815",
            "metadata": {"cart": "c_1", "channel": "web"},
            "return_url": "https://shop.example.com/verified",
        }))
        .await;
    let v = env.session(&id).await;
    assert_eq!(v["client_reference_id"], "order_4815");
    assert_eq!(v["metadata"], json!({"cart": "c_1", "channel": "web"}));
    assert_eq!(v["primitives"], json!(["identify", "age_verify"]));
    assert!(v.get("return_url").is_none() && v.get("results").is_none());
    // null optional fields count as absent, and are never echoed as null.
    let id = env.create(json!({"steps": [{"primitive": "identify"}], "metadata": null})).await;
    let v = env.session(&id).await;
    assert!(v.get("metadata").is_none() && v.get("client_reference_id").is_none());
}

/// Each case: body, expected code, expected param.
async fn expect_400(env: &Env, body: Value, code: &str, param: Option<&str>) {
    let r = env.create_raw(&body).await;
    r.err(400, code, param);
}

#[tokio::test]
async fn invalid_payload() {
    let env = start().await;
    let r =
        send(env.post("/v1/sessions").header("content-type", "application/json").body("{\"steps\": [")).await;
    r.err(400, "request/invalid-payload", None);
    let r = send(env.post("/v1/sessions").header("content-type", "application/json").body("")).await;
    r.err(400, "request/invalid-payload", None);
    expect_400(&env, json!([{"primitive": "identify"}]), "request/invalid-payload", None).await;
    expect_400(
        &env,
        json!({"steps": [{"primitive": "identify"}], "webhook_url": "https://x.example"}),
        "request/invalid-payload",
        Some("webhook_url"),
    )
    .await;
}

#[tokio::test]
async fn invalid_steps() {
    let env = start().await;
    expect_400(&env, json!({}), "request/invalid-steps", Some("steps")).await;
    expect_400(&env, json!({"steps": []}), "request/invalid-steps", Some("steps")).await;
    expect_400(&env, json!({"steps": null}), "request/invalid-steps", Some("steps")).await;
    expect_400(&env, json!({"steps": "identify"}), "request/invalid-steps", Some("steps")).await;
    expect_400(&env, json!({"steps": {"primitive": "identify"}}), "request/invalid-steps", Some("steps"))
        .await;
    let many: Vec<Value> = (0..21).map(|_| json!({"primitive": "identify"})).collect();
    expect_400(&env, json!({ "steps": many }), "request/invalid-steps", Some("steps")).await;
    expect_400(
        &env,
        json!({"steps": [{"primitive": "identify"}, "age_verify"]}),
        "request/invalid-steps",
        Some("steps[1]"),
    )
    .await;
    // 20 steps, a primitive repeated, is fine.
    let twenty: Vec<Value> = (0..20).map(|_| json!({"primitive": "age_verify"})).collect();
    env.create(json!({ "steps": twenty })).await;
}

#[tokio::test]
async fn unknown_primitive() {
    let env = start().await;
    for (steps, param) in [
        (json!([{"primitive": "teleport"}]), "steps[0].primitive"),
        (json!([{"primitive": "identify"}, {"primitive": "Identify"}]), "steps[1].primitive"),
        (json!([{"params": {}}]), "steps[0].primitive"),
        (json!([{"primitive": 3}]), "steps[0].primitive"),
    ] {
        expect_400(&env, json!({ "steps": steps }), "request/unknown-primitive", Some(param)).await;
    }
}

#[tokio::test]
async fn invalid_params() {
    let env = start().await;
    let long = "x".repeat(10_001);
    let title = "t".repeat(201);
    for (steps, param) in [
        (json!([{"primitive": "age_verify", "params": {"min_age": 0}}]), "steps[0].params.min_age"),
        (
            json!([{"primitive": "identify"}, {"primitive": "age_verify", "params": {"min_age": 121}}]),
            "steps[1].params.min_age",
        ),
        (json!([{"primitive": "age_verify", "params": {"min_age": "18"}}]), "steps[0].params.min_age"),
        (json!([{"primitive": "age_verify", "params": {"min_age": 18.5}}]), "steps[0].params.min_age"),
        (json!([{"primitive": "age_verify", "params": {"age": 18}}]), "steps[0].params.age"),
        (json!([{"primitive": "identify", "params": {"blocks": "first_name"}}]), "steps[0].params.blocks"),
        (json!([{"primitive": "identify", "params": {"blocks": ["dob", 7]}}]), "steps[0].params.blocks[1]"),
        (json!([{"primitive": "identify", "params": []}]), "steps[0].params"),
        (json!([{"primitive": "identify", "gate": "yes"}]), "steps[0].gate"),
        (json!([{"primitive": "identify", "when": "now"}]), "steps[0].when"),
        (json!([{"primitive": "light_sign"}]), "steps[0].params.terms"),
        (json!([{"primitive": "light_sign", "params": {"terms": ""}}]), "steps[0].params.terms"),
        (json!([{"primitive": "light_sign", "params": {"terms": long}}]), "steps[0].params.terms"),
        (
            json!([{"primitive": "light_sign", "params": {"terms": "ok", "title": title}}]),
            "steps[0].params.title",
        ),
    ] {
        expect_400(&env, json!({ "steps": steps }), "request/invalid-params", Some(param)).await;
    }
    // Boundaries that are fine: 10000 chars of terms, a 200-char title, min_age 1 and 120.
    let terms = "é".repeat(10_000);
    env.create(json!({"steps": [
        {"primitive": "light_sign", "params": {"terms": terms, "title": "t".repeat(200)}},
        {"primitive": "age_verify", "params": {"min_age": 1}},
        {"primitive": "age_verify", "params": {"min_age": 120}, "gate": true},
    ]}))
    .await;
    // A sign step needs multipart.
    let r = env.create_raw(&json!({"steps": [{"primitive": "sign"}]})).await;
    r.code(400, "request/invalid-params");
}

#[tokio::test]
async fn invalid_field() {
    let env = start().await;
    let step = json!([{"primitive": "identify"}]);
    let many: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let fifty: serde_json::Map<String, Value> = (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    let long_key = "k".repeat(41);
    let long_key_param = format!("metadata.{long_key}");
    for (extra, param) in [
        (json!({"metadata": many}), "metadata"),
        (json!({"metadata": "cart"}), "metadata"),
        (json!({"metadata": {"cart": 5}}), "metadata.cart"),
        (json!({"metadata": {"cart": "v".repeat(501)}}), "metadata.cart"),
        (json!({"metadata": {long_key.clone(): "v"}}), long_key_param.as_str()),
        (json!({"metadata": {"": "v"}}), "metadata."),
        (json!({"return_url": "http://shop.example.com/done"}), "return_url"),
        (json!({"return_url": "/done"}), "return_url"),
        (json!({"return_url": 5}), "return_url"),
        (json!({"return_url": format!("https://shop.example.com/{}", "a".repeat(2030))}), "return_url"),
        (json!({"expires_in": 59}), "expires_in"),
        (json!({"expires_in": 86401}), "expires_in"),
        (json!({"expires_in": -60}), "expires_in"),
        (json!({"expires_in": "3600"}), "expires_in"),
        (json!({"expires_in": 3600.5}), "expires_in"),
        (json!({"client_reference_id": "x".repeat(256)}), "client_reference_id"),
        (json!({"client_reference_id": 42}), "client_reference_id"),
    ] {
        let mut body = extra.clone();
        body["steps"] = step.clone();
        expect_400(&env, body, "request/invalid-field", Some(param)).await;
    }
    // Lengths count Unicode scalar values, not bytes; limits are inclusive.
    env.create(json!({
        "steps": step,
        "client_reference_id": "é".repeat(255),
        "metadata": fifty,
        "return_url": format!("https://shop.example.com/{}", "a".repeat(2048 - 25)),
    }))
    .await;
    env.create(json!({"steps": step, "metadata": {"ключ": "значение".repeat(62)}})).await;

    // Idempotency-Key out of rules.
    for key in ["has space", "", &"k".repeat(256), "tab\tkey"] {
        let r =
            send(env.post("/v1/sessions").header("idempotency-key", key).json(&json!({"steps": step}))).await;
        r.err(400, "request/invalid-field", Some("Idempotency-Key"));
    }
    let r = send(
        env.post("/v1/sessions")
            .header("idempotency-key", reqwest::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap())
            .json(&json!({"steps": step})),
    )
    .await;
    r.err(400, "request/invalid-field", Some("Idempotency-Key"));
    let ok = send(
        env.post("/v1/sessions").header("idempotency-key", "k".repeat(255)).json(&json!({"steps": step})),
    )
    .await;
    ok.ok();
}

#[tokio::test]
async fn auth_errors() {
    let env = start().await;
    let body = json!({"steps": [{"primitive": "identify"}]});
    let r = send(env.http.post(env.url("/v1/sessions")).json(&body)).await;
    r.err(401, "auth/missing-api-key", None);
    let r = send(env.http.post(env.url("/v1/sessions")).bearer_auth("uip_test_nope").json(&body)).await;
    r.err(401, "auth/invalid-api-key", None);
    let r =
        send(env.http.post(env.url("/v1/sessions")).basic_auth("uip_test_sandbox", None::<&str>).json(&body))
            .await;
    r.err(401, "auth/missing-api-key", None);
    // The scheme is case-insensitive.
    let r = send(
        env.http
            .post(env.url("/v1/sessions"))
            .header("authorization", format!("bearer {}", env.key))
            .json(&body),
    )
    .await;
    r.ok();
    // Every authenticated route.
    for path in [
        "/v1/sessions/sess_x",
        "/v1/audits/sess_x_0",
        "/v1/catalog",
        "/_sandbox/business",
        "/_sandbox/deliveries",
        "/_sandbox/inbox",
    ] {
        send(env.http.get(env.url(path))).await.err(401, "auth/missing-api-key", None);
        send(env.http.get(env.url(path)).bearer_auth("uip_test_nope")).await.err(
            401,
            "auth/invalid-api-key",
            None,
        );
    }
    for path in [
        "/v1/sessions/sess_x/continue",
        "/v1/sessions/sess_x/stop",
        "/_sandbox/clock/advance",
        "/_sandbox/faults",
        "/_sandbox/sessions/sess_x/simulate",
    ] {
        send(env.http.post(env.url(path))).await.err(401, "auth/missing-api-key", None);
    }
}

#[tokio::test]
async fn unsupported_media_type() {
    let env = start().await;
    let body = json!({"steps": [{"primitive": "identify"}]}).to_string();
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut rb = env.post("/v1/sessions").body(body.clone());
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        send(rb).await.err(415, "request/unsupported-media-type", None);
    }
    // Parameters and case do not matter.
    let r =
        send(env.post("/v1/sessions").header("content-type", "Application/JSON; charset=utf-8").body(body))
            .await;
    r.ok();
}

#[tokio::test]
async fn json_body_over_one_mib_is_413() {
    let env = start().await;
    let pad = "a".repeat(1024 * 1024);
    let body = json!({"steps": [{"primitive": "identify"}], "client_reference_id": pad}).to_string();
    let r =
        send(env.post("/v1/sessions").header("content-type", "application/json").body(body.clone())).await;
    r.err(413, "request/too-large", None);
    // The limit itself is fine: exactly 1 MiB is parsed (and here refused for its content).
    let head = r#"{"steps":[{"primitive":"identify"}],"client_reference_id":""#;
    let exact = format!("{head}{}\"}}", "a".repeat(1024 * 1024 - head.len() - 2));
    assert_eq!(exact.len(), 1024 * 1024);
    let r =
        send(env.post("/v1/sessions").header("content-type", "application/json").body(exact.clone())).await;
    r.err(400, "request/invalid-field", Some("client_reference_id"));
    let over = format!("{exact} ");
    let r = send(env.post("/v1/sessions").header("content-type", "application/json").body(over)).await;
    r.err(413, "request/too-large", None);
    // Also when the length is not declared up front (chunked).
    let stream = futures::stream::iter(
        body.into_bytes().chunks(64 * 1024).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>(),
    );
    let r = send(
        env.post("/v1/sessions")
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream)),
    )
    .await;
    r.err(413, "request/too-large", None);
}

#[tokio::test]
async fn webhook_missing_is_422_and_low_balance_is_402() {
    let env = start().await;
    let (creds, key) = env.new_business(json!({})).await;
    assert_eq!(creds["webhook_url"], Value::Null);
    let body = json!({"steps": [{"primitive": "identify"}]});
    env.create_as(&key, &body).await.err(422, "request/webhook-missing", None);

    // 402 when the balance is below the total price (identify 1 + light_sign 2 + age_verify 1 = 4).
    env.patch_business(json!({"balance_cents": 3})).await;
    let steps = json!({"steps": [
        {"primitive": "identify"},
        {"primitive": "light_sign", "params": {"terms": "I agree"}},
        {"primitive": "age_verify"},
    ]});
    env.create_raw(&steps).await.err(402, "payment/insufficient-funds", None);
    // Exactly the total is enough, and nothing is reserved at create.
    env.patch_business(json!({"balance_cents": 4})).await;
    env.create(steps.clone()).await;
    env.create(steps.clone()).await;
    assert_eq!(env.balance().await, 4);
    env.patch_business(json!({"balance_cents": 0})).await;
    env.create_raw(&json!({"steps": [{"primitive": "age_verify"}]})).await.err(
        402,
        "payment/insufficient-funds",
        None,
    );
}

#[tokio::test]
async fn order_of_checks() {
    let env = start().await;
    let bad = json!({"steps": []});
    // auth before everything.
    let r = send(env.http.post(env.url("/v1/sessions")).bearer_auth("uip_test_nope").json(&bad)).await;
    r.err(401, "auth/invalid-api-key", None);
    let r = send(env.http.post(env.url("/v1/sessions")).header("content-type", "text/plain").body("x")).await;
    r.err(401, "auth/missing-api-key", None);
    // media type before size.
    let big = "a".repeat(1024 * 1024 + 10);
    let r = send(env.post("/v1/sessions").header("content-type", "text/plain").body(big.clone())).await;
    r.err(415, "request/unsupported-media-type", None);
    // size before syntax.
    let r = send(env.post("/v1/sessions").header("content-type", "application/json").body(big)).await;
    r.err(413, "request/too-large", None);

    // syntax and validation before webhook 422 and balance 402.
    let (_, key) = env.new_business(json!({"balance_cents": 0})).await;
    env.create_as(&key, &bad).await.err(400, "request/invalid-steps", Some("steps"));
    let r = send(
        env.http
            .post(env.url("/v1/sessions"))
            .bearer_auth(&key)
            .header("idempotency-key", "a b")
            .json(&json!({"steps": [{"primitive": "identify"}]})),
    )
    .await;
    r.err(400, "request/invalid-field", Some("Idempotency-Key"));
    // webhook before balance.
    env.create_as(&key, &json!({"steps": [{"primitive": "identify"}]})).await.err(
        422,
        "request/webhook-missing",
        None,
    );
}

#[tokio::test]
async fn reads_and_decisions_of_unknown_or_foreign_sessions_are_the_same_404() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify", "gate": true}])).await;
    let (_, other) = env.new_business(json!({"webhook_url": "https://hooks.example.com/uip"})).await;
    let unknown = "sess_AAAAAAAAAAAAAAAAAAAAAAAA";
    for (method, suffix) in [("GET", ""), ("POST", "/continue"), ("POST", "/stop")] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let foreign = send(
            env.http.request(m.clone(), env.url(&format!("/v1/sessions/{id}{suffix}"))).bearer_auth(&other),
        )
        .await;
        let missing = send(
            env.http.request(m, env.url(&format!("/v1/sessions/{unknown}{suffix}"))).bearer_auth(&other),
        )
        .await;
        foreign.err(404, "resource/not-found", None);
        assert_eq!(foreign.text, missing.text, "a foreign session looks unknown");
    }
    // The owner still sees it, untouched.
    assert_eq!(env.status(&id).await, "created");
}

#[tokio::test]
async fn error_shapes_of_routes() {
    let env = start().await;
    send(env.http.get(env.url("/nope"))).await.err(404, "request/not-found", None);
    send(env.get("/v1/nope")).await.err(404, "request/not-found", None);
    send(env.http.get(env.url("/_sandbox/nope"))).await.err(404, "request/not-found", None);
    send(env.http.delete(env.url("/v1/sessions"))).await.err(405, "request/method-not-allowed", None);
    send(env.get("/v1/sessions")).await.err(405, "request/method-not-allowed", None);
    send(env.http.get(env.url("/v1/sessions/sess_x/continue"))).await.err(
        405,
        "request/method-not-allowed",
        None,
    );
    send(env.http.post(env.url("/v1/wallets"))).await.err(405, "request/method-not-allowed", None);
    send(env.http.put(env.url("/_sandbox/business"))).await.err(405, "request/method-not-allowed", None);
    send(env.http.get(env.url("/s/sess_x/response"))).await.err(405, "request/method-not-allowed", None);
    let h = send(env.http.get(env.url("/healthz"))).await;
    assert_eq!(h.status, 200);
}

fn wallet_entries() -> Value {
    json!([
        {"id": "apple-wallet", "name": "Apple Wallet", "browser": "Safari", "credential": "mdl", "countries": ["US"],
         "primitives": ["identify", "age_verify", "sign", "light_sign"]},
        {"id": "google-wallet", "name": "Google Wallet", "browser": "Chrome", "credential": "mdl", "countries": ["US"],
         "primitives": ["identify", "age_verify", "light_sign"]},
    ])
}

#[tokio::test]
async fn wallets_and_catalog() {
    let env = start().await;
    let w = send(env.http.get(env.url("/v1/wallets"))).await;
    assert_eq!(w.ok(), &json!({ "wallets": wallet_entries() }));

    let c = send(env.get("/v1/catalog")).await;
    let c = c.ok();
    assert_keys(c, &["primitives", "wallets"]);
    assert_eq!(c["wallets"], wallet_entries());
    let prims: Vec<(String, u64)> = c["primitives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_keys(p, &["name", "price_cents", "params"]);
            assert!(p["params"].is_object());
            (p["name"].as_str().unwrap().to_owned(), p["price_cents"].as_u64().unwrap())
        })
        .collect();
    let mut prims = prims;
    prims.sort();
    assert_eq!(
        prims,
        vec![("age_verify".into(), 1), ("identify".into(), 1), ("light_sign".into(), 2), ("sign".into(), 3)]
    );
    let p = c["primitives"].as_array().unwrap();
    let params_of = |n: &str| p.iter().find(|x| x["name"] == n).unwrap()["params"].clone();
    assert!(params_of("identify").get("blocks").is_some());
    assert!(params_of("age_verify").get("min_age").is_some());
    assert!(params_of("light_sign").get("terms").is_some() && params_of("light_sign").get("title").is_some());
    assert!(params_of("sign").get("documents").is_some());
}

/// A path segment that does not decode (invalid UTF-8, here `%ff`) names nothing: every `{id}`
/// route answers 404 `resource/not-found` as the JSON error body, not axum's text/plain 400
/// (docs/DECISIONS.md §11).
#[tokio::test]
async fn an_undecodable_path_segment_is_a_json_not_found_on_every_route() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let cases = [
        (reqwest::Method::GET, "/v1/sessions/%ff".to_owned()),
        (reqwest::Method::GET, "/v1/sessions/uip_ses_%ff%fe".to_owned()),
        (reqwest::Method::POST, "/v1/sessions/%ff/continue".to_owned()),
        (reqwest::Method::POST, "/v1/sessions/%ff/stop".to_owned()),
        (reqwest::Method::GET, "/v1/audits/%ff".to_owned()),
        (reqwest::Method::POST, "/_sandbox/deliveries/%ff/redeliver".to_owned()),
        (reqwest::Method::POST, "/_sandbox/sessions/%ff/simulate".to_owned()),
        (reqwest::Method::POST, "/s/%ff/open".to_owned()),
        (reqwest::Method::GET, "/s/%ff/state".to_owned()),
        (reqwest::Method::GET, "/s/%ff/request".to_owned()),
        (reqwest::Method::GET, "/s/%ff/documents/0".to_owned()),
        (reqwest::Method::GET, format!("/s/{id}/documents/%ff")),
        (reqwest::Method::POST, "/s/%ff/response".to_owned()),
    ];
    for (method, path) in cases {
        let r = send(
            env.http
                .request(method.clone(), env.url(&path))
                .bearer_auth(&env.key)
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
        r.err(404, "resource/not-found", None);
    }
    // The hosted page itself answers a browser: the same HTML not-found page as an unknown id.
    for path in ["/s/%ff", "/s/uip_ses_unknown"] {
        let r = send(env.http.get(env.url(path))).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert!(r.header("content-type").is_some_and(|c| c.starts_with("text/html")), "{path}");
        assert!(r.text.contains("Verification not found"), "{path}: {}", r.text);
    }
}
