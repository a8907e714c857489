//! Robustness, second round (docs/DECISIONS.md §11), the HTTP side: repeated JSON keys, the
//! hosted page's `Origin` check and `HEAD`, the inbox page's security headers, stalled bodies and
//! the unauthenticated in-flight limit, and webhook URLs pointing at the sandbox's own pages.

use crate::support as common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uip_sandbox::{Sandbox, SandboxError};

/// A JSON request with this exact body text.
fn raw_json(rb: reqwest::RequestBuilder, body: &str) -> reqwest::RequestBuilder {
    rb.header("content-type", "application/json").body(body.to_owned())
}

// ---------------------------------------------------------------------------------------------
// 1. Repeated keys.

#[tokio::test]
async fn json_bodies_with_a_repeated_key_are_refused_at_any_depth() {
    let env = start().await;
    let cases = [
        (
            r#"{"steps":[{"primitive":"age_verify","params":{"min_age":200,"min_age":21}}]}"#,
            "steps[0].params.min_age",
        ),
        (r#"{"steps":[{"primitive":"identify"}],"steps":[{"primitive":"age_verify"}]}"#, "steps"),
        (r#"{"steps":[{"primitive":"identify","primitive":"age_verify"}]}"#, "steps[0].primitive"),
        (r#"{"steps":[{"primitive":"identify"}],"metadata":{"cart":"1","cart":"2"}}"#, "metadata.cart"),
        // The same key, once escaped: keys compare as decoded strings.
        (r#"{"steps":[{"primitive":"identify"}],"metadata":{"a":"1","\u0061":"2"}}"#, "metadata.a"),
        (
            r#"{"steps":[{"primitive":"identify","params":{"blocks":["dob"]}},{"primitive":"identify","params":{"blocks":["dob"],"blocks":["first_name"]}}]}"#,
            "steps[1].params.blocks",
        ),
    ];
    for (body, param) in cases {
        let r = send(raw_json(env.post("/v1/sessions"), body)).await;
        r.err(400, "request/invalid-payload", Some(param));
    }
    // The multipart variant's `session` part too.
    let session =
        r#"{"steps":[{"primitive":"sign","params":{"documents":["a.txt"],"documents":["a.txt"]}}]}"#;
    let form = reqwest::multipart::Form::new().text("session", session).part(
        "document",
        reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("a.txt").mime_str("text/plain").unwrap(),
    );
    send(env.post("/v1/sessions").multipart(form)).await.err(
        400,
        "request/invalid-payload",
        Some("steps[0].params.documents"),
    );
    // A key may repeat across objects: two steps with the same params are fine.
    let fine = r#"{"steps":[{"primitive":"age_verify","params":{"min_age":21}},{"primitive":"age_verify","params":{"min_age":30}}]}"#;
    let id = send(raw_json(env.post("/v1/sessions"), fine)).await.ok()["id"].as_str().unwrap().to_owned();

    // Control-API bodies.
    let before = send(env.get("/_sandbox/business")).await.ok().clone();
    let control: [(reqwest::RequestBuilder, &str, &str); 6] = [
        (env.http.post(env.url("/_sandbox/businesses")), r#"{"name":"a","name":"b"}"#, "name"),
        (
            env.http.patch(env.url("/_sandbox/business")).bearer_auth(&env.key),
            r#"{"trust":"production","balance_cents":1,"trust":"demo"}"#,
            "trust",
        ),
        (env.post("/_sandbox/clock/advance"), r#"{"seconds":60,"seconds":3600}"#, "seconds"),
        (env.post("/_sandbox/faults"), r#"{"fail_next":1,"with":500,"fail_next":2}"#, "fail_next"),
        (
            env.post(&format!("/_sandbox/sessions/{id}/simulate")),
            r#"{"persona":"jane-doe","persona":"minor"}"#,
            "persona",
        ),
        (
            env.post(&format!("/_sandbox/deliveries/{id}:step.completed:0/redeliver")),
            r#"{"fault":"none","fault":"bad_signature"}"#,
            "fault",
        ),
    ];
    for (rb, body, param) in control {
        send(raw_json(rb, body)).await.err(400, "request/invalid-payload", Some(param));
    }
    // Nothing of the refused bodies was applied.
    assert_eq!(send(env.get("/_sandbox/business")).await.ok(), &before);
    assert_eq!(env.status(&id).await, "created", "the refused simulate did not run");
    send(env.get("/v1/catalog")).await.ok();

    // The built-in inbox (no key).
    let delivery = r#"{"event":"session.stopped","data":{"session_id":"x","session_id":"y"}}"#;
    send(raw_json(env.http.post(env.url("/_sandbox/inbox")), delivery)).await.err(
        400,
        "request/invalid-payload",
        Some("data.session_id"),
    );

    // The hosted page's wallet answer (after the binding check, like every body error there).
    let mut b = env.browser(&id);
    b.open().await.ok();
    let nonce = b.nonce().await;
    let answer =
        format!(r#"{{"nonce":"{nonce}","wallet":"apple-wallet","action":"share","action":"decline"}}"#);
    let r = send(raw_json(
        env.http
            .post(env.url(&format!("/s/{id}/response")))
            .header("x-uip-binding", b.binding.clone().unwrap()),
        &answer,
    ))
    .await;
    r.err(400, "request/invalid-payload", Some("action"));
    assert_eq!(b.nonce().await, nonce, "the refused answer was not processed");
}

// ---------------------------------------------------------------------------------------------
// 2. Origin of hosted-page POSTs.

#[tokio::test]
async fn hosted_page_posts_from_another_origin_are_refused_and_change_nothing() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "age_verify"}])).await;
    let origin = env.sb.base_url().to_owned();
    let port = env.sb.address().port();
    let foreign = [
        format!("http://127.0.0.1:{}", port.wrapping_add(1).max(1)),
        format!("http://localhost:{port}"),
        format!("https://127.0.0.1:{port}"),
        "null".to_owned(),
        "https://evil.example".to_owned(),
    ];
    let open = |o: &str| env.http.post(env.url(&format!("/s/{id}/open"))).header("origin", o);
    for o in &foreign {
        send(open(o)).await.err(403, "request/bad-origin", None);
    }
    assert_eq!(env.status(&id).await, "created", "a refused open did not bind");

    // The right origin (and no Origin at all) is served: this browser binds.
    let r = send(open(&origin)).await;
    let binding = r.ok()["binding"].as_str().unwrap().to_owned();
    assert_eq!(env.status(&id).await, "in_progress");
    let page = |path: &str| {
        env.http.post(env.url(&format!("/s/{id}{path}"))).header("x-uip-binding", binding.as_str())
    };
    send(page("/open")).await.ok();

    // A wallet answer from another origin, with the right binding and nonce: refused, not applied.
    let request =
        send(env.http.get(env.url(&format!("/s/{id}/request"))).header("x-uip-binding", &binding)).await;
    let nonce = request.ok()["nonce"].as_str().unwrap().to_owned();
    let answer = json!({"nonce": nonce, "wallet": "apple-wallet", "action": "share", "persona": "jane-doe"});
    for o in &foreign {
        send(page("/response").header("origin", o).json(&answer)).await.err(403, "request/bad-origin", None);
    }
    // Two Origin headers, one of them foreign: refused too.
    let two = page("/response").header("origin", origin.as_str()).header("origin", "https://evil.example");
    send(two.json(&answer)).await.err(403, "request/bad-origin", None);
    let state =
        send(env.http.get(env.url(&format!("/s/{id}/state"))).header("x-uip-binding", &binding)).await;
    assert_eq!(state.ok()["status"], "in_progress");
    assert_eq!(state.ok()["current_step"], 0);
    assert!(env.event_names(&id).is_empty(), "no event for a refused answer");

    let done = send(page("/response").header("origin", origin.as_str()).json(&answer)).await;
    assert_eq!(done.ok()["outcome"], "verified");
    assert_eq!(env.status(&id).await, "completed");
}

// ---------------------------------------------------------------------------------------------
// 3. HEAD never binds.

#[tokio::test]
async fn head_of_the_hosted_page_never_binds() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    // A link previewer: HEAD answers like GET, without binding.
    let head = env.http.head(env.url(&format!("/s/{id}"))).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.headers().get("set-cookie").is_none(), "HEAD answers without a binding cookie");
    assert_eq!(head.headers().get("content-security-policy").unwrap(), http_csp());
    assert_eq!(env.status(&id).await, "created");

    // The user's browser, on another device, opens the page: it is the one that binds.
    let get = env.http.get(env.url(&format!("/s/{id}"))).send().await.unwrap();
    assert_eq!(get.status(), 200);
    let cookie = get.headers().get("set-cookie").expect("GET binds").to_str().unwrap().to_owned();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("uip_bind="), "{cookie}");
    assert_eq!(env.status(&id).await, "in_progress");
    let state = || env.http.get(env.url(&format!("/s/{id}/state"))).header("cookie", cookie.as_str());
    assert_eq!(state().send().await.unwrap().status(), 200);

    // Once bound, HEAD from elsewhere answers what GET would (409), and binds nothing.
    let head = env.http.head(env.url(&format!("/s/{id}"))).send().await.unwrap();
    assert_eq!(head.status(), 409);
    assert!(head.headers().get("set-cookie").is_none());
    // With the binding, HEAD is 200 (and sets no cookie either).
    let head =
        env.http.head(env.url(&format!("/s/{id}"))).header("cookie", cookie.as_str()).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.headers().get("set-cookie").is_none());
    assert_eq!(state().send().await.unwrap().status(), 200);
    // An unknown session: 404, as for GET.
    let head = env.http.head(env.url("/s/sess_000000000000000000000000")).send().await.unwrap();
    assert_eq!(head.status(), 404);
}

// ---------------------------------------------------------------------------------------------
// 4. The inbox page's headers.

/// The hosted page's Content-Security-Policy, as docs/DECISIONS.md §7 and §11 describe it.
fn http_csp() -> &'static str {
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

#[tokio::test]
async fn the_inbox_page_has_the_hosted_pages_security_headers() {
    let env = start().await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let user = env.sb.user(&id);
    user.open().await.unwrap();
    user.share().await.unwrap();
    env.event(&id).await;

    let page = send(env.get(&format!("/s/{id}"))).await;
    let inbox = send(env.get("/_sandbox/inbox").header("accept", "text/html")).await;
    assert_eq!(inbox.status, 200);
    assert!(inbox.header("content-type").unwrap().starts_with("text/html"));
    assert!(inbox.text.contains("step.completed"), "{}", inbox.text);
    for (name, value) in [
        ("content-security-policy", http_csp()),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(inbox.header(name), Some(value), "inbox {name}");
        assert_eq!(page.header(name), Some(value), "hosted page {name}");
    }
    assert!(http_csp().contains("frame-ancestors 'none'"));
}

// ---------------------------------------------------------------------------------------------
// 5. Stalled bodies and the unauthenticated in-flight limit.

/// Sends a request head announcing a 100-byte body and the first bytes of it, then nothing.
async fn stalled_post(addr: SocketAddr, path: &str, extra_headers: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: sandbox\r\n{extra_headers}Content-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"event\""
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp
}

/// Reads the whole answer until the server closes the connection (within the bound).
async fn answer_and_close(mut tcp: TcpStream) -> (String, Value) {
    let mut answer = Vec::new();
    tokio::time::timeout(T, tcp.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes the connection within the bound")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    (answer, body)
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_its_connection_closed() {
    // The 60 s request limit stays; only the idle limit is shortened.
    let env = start_with(fast().body_idle_timeout(Duration::from_millis(300))).await;
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    let mut b = env.browser(&id);
    b.open().await.ok();
    let binding = format!("X-UIP-Binding: {}\r\n", b.binding.clone().unwrap());
    let key = format!("Authorization: Bearer {}\r\n", env.key);
    for (path, headers) in [
        ("/_sandbox/inbox".to_owned(), String::new()),
        (format!("/s/{id}/response"), binding),
        ("/v1/sessions".to_owned(), key),
    ] {
        let tcp = stalled_post(env.sb.address(), &path, &headers).await;
        let (answer, body) = answer_and_close(tcp).await;
        assert!(answer.starts_with("HTTP/1.1 408 "), "{path}: {answer}");
        assert!(answer.to_ascii_lowercase().contains("connection: close"), "{path}: {answer}");
        assert_eq!(body["code"], "request/timeout", "{path}");
    }
    assert_eq!(env.status(&id).await, "in_progress");
    send(env.get("/healthz")).await;
}

#[tokio::test]
async fn unauthenticated_bodies_have_their_own_in_flight_limit() {
    let env =
        start_with(fast().max_unauthenticated_bodies(2).body_idle_timeout(Duration::from_secs(60))).await;
    let addr = env.sb.address();
    let held =
        [stalled_post(addr, "/_sandbox/inbox", "").await, stalled_post(addr, "/_sandbox/inbox", "").await];
    // Once both stalled bodies hold their slots, a further unauthenticated body is refused at
    // once, without waiting for its body, and its connection closed.
    let refused = eventually("the in-flight limit is reached", || async {
        let r = send(raw_json(env.http.post(env.url("/_sandbox/inbox")), r#"{"event":"x"}"#)).await;
        (r.status == 503).then_some(r)
    })
    .await;
    refused.err(503, "internal/unavailable", None);
    assert_eq!(refused.header("connection"), Some("close"));
    assert_eq!(refused.header("retry-after"), Some("1"));
    let tcp = stalled_post(addr, "/s/sess_000000000000000000000000/response", "").await;
    let (answer, body) = answer_and_close(tcp).await;
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert_eq!(body["code"], "internal/unavailable");
    send(env.http.post(env.url("/_sandbox/businesses")).json(&json!({})))
        .await
        .code(503, "internal/unavailable");

    // Meanwhile everything else is served: health, keyed requests with a body, bodiless requests.
    let health = send(env.http.get(env.url("/healthz"))).await;
    assert_eq!((health.status, health.text.as_str()), (200, "ok"));
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    send(env.http.post(env.url(&format!("/s/{id}/open")))).await.ok();

    // The held clients give up: their slots come back.
    drop(held);
    eventually("the slots are released", || async {
        let r = send(raw_json(env.http.post(env.url("/_sandbox/inbox")), r#"{"event":"x"}"#)).await;
        (r.status != 503).then_some(r)
    })
    .await
    .err(400, "request/invalid-payload", None);
}

/// Calls `f` until it gives a value (every 20 ms, at most [`T`]).
async fn eventually<R, F, Fut>(what: &str, mut f: F) -> R
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<R>>,
{
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if let Some(r) = f().await {
            return r;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// With the default limits: more stalled unauthenticated bodies than the in-flight limit never
/// starve `/healthz` or the business API; the ones over the limit are refused at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: run by .ci/slow-tests.sh"]
async fn many_stalled_unauthenticated_bodies_do_not_starve_health_checks() {
    let extra = 200usize;
    let wanted = (uip_sandbox::MAX_UNAUTHENTICATED_BODIES + extra) as u64;
    // Both ends of every connection live in this process.
    let need = 2 * wanted + 1_000;
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    if soft < need {
        let _ = rlimit::setrlimit(rlimit::Resource::NOFILE, need, need.max(hard))
            .or_else(|_| rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard));
    }
    let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    assert!(soft >= need, "RLIMIT_NOFILE is {soft}; this test needs {need}");

    let env = start_with(fast().body_idle_timeout(Duration::from_secs(120))).await;
    let addr = env.sb.address();
    let limit = uip_sandbox::MAX_UNAUTHENTICATED_BODIES;
    let path = |i: usize| {
        if i.is_multiple_of(2) {
            "/_sandbox/inbox"
        } else {
            "/s/sess_000000000000000000000000/response"
        }
    };
    let mut held = Vec::new();
    for i in 0..limit {
        held.push(stalled_post(addr, path(i), "").await);
        if i.is_multiple_of(128) {
            assert_eq!(send(env.http.get(env.url("/healthz"))).await.status, 200);
        }
    }
    // Once every slot is held, further ones are refused at once (503, then close).
    let patient = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = send(raw_json(patient.post(env.url("/_sandbox/inbox")), r#"{"event":"x"}"#)).await;
        if r.status == 503 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the stalled bodies never filled the limit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for i in 0..extra {
        let mut tcp = stalled_post(addr, path(i), "").await;
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), tcp.read_to_end(&mut answer))
            .await
            .expect("a request over the limit is answered at once")
            .unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 503 "), "{}", String::from_utf8_lossy(&answer));
        let health = send(patient.get(env.url("/healthz"))).await;
        assert_eq!((health.status, health.text.as_str()), (200, "ok"));
    }
    let id = env.create_steps(json!([{"primitive": "identify"}])).await;
    assert_eq!(env.status(&id).await, "created");
    drop(held);
}

// ---------------------------------------------------------------------------------------------
// 6. Webhook URLs pointing at the sandbox's own hosted pages.

#[tokio::test]
async fn webhook_urls_pointing_at_the_hosted_pages_are_refused() {
    let env = start().await;
    let port = env.sb.address().port();
    let own = [
        env.url("/s/sess_000000000000000000000000/open"),
        format!("http://localhost:{port}/s/sess_x/open"),
        format!("http://127.0.0.2:{port}/s/x"),
        format!("http://[::1]:{port}/s/x/response"),
        format!("http://127.0.0.1:{port}/%73/x/open"),
    ];
    let before = send(env.get("/_sandbox/business")).await.ok().clone();
    for url in &own {
        send(env.http.post(env.url("/_sandbox/businesses")).json(&json!({"webhook_url": url}))).await.err(
            400,
            "request/invalid-field",
            Some("webhook_url"),
        );
        send(
            env.http
                .patch(env.url("/_sandbox/business"))
                .bearer_auth(&env.key)
                .json(&json!({"webhook_url": url})),
        )
        .await
        .err(400, "request/invalid-field", Some("webhook_url"));
    }
    assert_eq!(send(env.get("/_sandbox/business")).await.ok(), &before, "nothing changed");
    // The sandbox's other routes (the built-in inbox) and other ports stay allowed.
    let inbox = env.url("/_sandbox/inbox");
    let p = env.patch_business(json!({"webhook_url": inbox})).await;
    assert_eq!(p["webhook_url"], inbox);
    let elsewhere = format!("http://127.0.0.1:{}/s/hook", port.wrapping_add(1).max(1));
    env.new_business(json!({"webhook_url": elsewhere})).await;
}

#[tokio::test]
async fn a_builder_webhook_url_at_the_hosted_pages_fails_the_start() {
    let public = "http://sandbox.test:8080";
    let r =
        Sandbox::builder().public_url(public).webhook_url(format!("{public}/s/sess_x/open")).start().await;
    match r {
        Err(SandboxError::Start { message: m, .. }) => assert!(m.contains("webhook"), "{m}"),
        other => panic!("expected a start error, got {other:?}"),
    }
    // The bound address (a fixed port: taken from a listener just released).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let r = Sandbox::builder()
        .listen(SocketAddr::from(([127, 0, 0, 1], port)))
        .webhook_url(format!("http://localhost:{port}/s/sess_x/open"))
        .start()
        .await;
    assert!(matches!(r, Err(SandboxError::Start { .. })), "{r:?}");
    // Fine elsewhere.
    Sandbox::builder().public_url(public).webhook_url(format!("{public}/hooks/uip")).start().await.unwrap();
}

#[tokio::test]
async fn a_cli_webhook_url_at_the_hosted_pages_exits_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_uip-sandbox"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--webhook-url", &format!("http://127.0.0.1:{port}/s/sess_x/open")])
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // A sandbox that started anyway would run until killed: bounded, and killed on drop.
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the binary exits at once")
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--webhook-url") && stderr.contains("hosted pages"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("UIP_SANDBOX_URL="));
}
