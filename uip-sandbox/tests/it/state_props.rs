//! Property tests of the session state machine, through the real HTTP surface: random sequences
//! of business-API calls (create, get, continue, stop), hosted-page calls (open, share or decline
//! as a persona, replayed or made-up nonces, a second browser), clock advances, balance changes
//! and restarts on a database file never break the invariants:
//!
//! - at most one terminal event per session, last, and matching the session's status;
//! - `step.completed` events in stage order (0, 1, 2, … with no gap or repeat), one per audit;
//! - every session's audit chain verifies (`uip_types::verify_chain`);
//! - the balance is the last balance set minus the price of every step verified since (never an
//!   underflow, never a charge for a failed, declined or refused answer);
//! - a terminal session never changes, whatever is sent to it afterwards;
//! - a replayed or made-up nonce is never accepted.
//!
//! Bounded: 32 cases of at most 30 actions each.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{json, Value};
use uip_sandbox::Sandbox;
use uip_types::{verify_chain, AuditRecord, Primitive, SessionStatus};

const PERSONAS: &[&str] =
    &["jane-doe", "minor", "no-portrait", "expired-credential", "tampered", "untrusted-issuer"];

#[derive(Clone, Debug)]
enum StepKind {
    Identify,
    AgeVerify(u8),
    LightSign,
    Sign,
}

#[derive(Clone, Debug)]
enum Action {
    Create {
        steps: Vec<(StepKind, bool)>,
    },
    Get(usize),
    Continue(usize),
    Stop(usize),
    /// Open the hosted page from browser 0 or 1.
    Open(usize, usize),
    Share {
        s: usize,
        browser: usize,
        persona: usize,
        google: bool,
    },
    Decline(usize, usize),
    /// Answer with a nonce seen earlier (now stale), or a made-up one.
    StaleNonce {
        s: usize,
        browser: usize,
        replay: bool,
    },
    Advance(i64),
    SetBalance(u64),
    Restart,
}

fn step_kind() -> impl Strategy<Value = StepKind> {
    prop_oneof![
        3 => Just(StepKind::Identify),
        3 => (1u8..=40).prop_map(StepKind::AgeVerify),
        2 => Just(StepKind::LightSign),
        1 => Just(StepKind::Sign),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let s = 0usize..8;
    prop_oneof![
        4 => prop::collection::vec((step_kind(), prop::bool::weighted(0.3)), 1..4)
            .prop_map(|steps| Action::Create { steps }),
        2 => s.clone().prop_map(Action::Get),
        2 => s.clone().prop_map(Action::Continue),
        2 => s.clone().prop_map(Action::Stop),
        3 => (s.clone(), prop::bool::weighted(0.15).prop_map(usize::from)).prop_map(|(s, b)| Action::Open(s, b)),
        6 => (
            s.clone(),
            prop::bool::weighted(0.1).prop_map(usize::from),
            prop_oneof![3 => Just(0usize), 2 => 0..PERSONAS.len()],
            prop::bool::weighted(0.15),
        )
            .prop_map(|(s, browser, persona, google)| Action::Share { s, browser, persona, google }),
        1 => (s.clone(), prop::bool::weighted(0.1).prop_map(usize::from)).prop_map(|(s, b)| Action::Decline(s, b)),
        2 => (s.clone(), prop::bool::weighted(0.2).prop_map(usize::from), any::<bool>())
            .prop_map(|(s, browser, replay)| Action::StaleNonce { s, browser, replay }),
        2 => prop_oneof![Just(1i64), Just(59), Just(599), Just(601), Just(3600), Just(90_000)].prop_map(Action::Advance),
        1 => prop_oneof![Just(0u64), Just(1), Just(2), Just(3), Just(5), Just(100_000)].prop_map(Action::SetBalance),
        1 => Just(Action::Restart),
    ]
}

/// What the test knows about one session.
struct Known {
    id: String,
    primitives: Vec<Primitive>,
    /// Binding tokens of browsers 0 and 1.
    bindings: [Option<String>; 2],
    /// Nonces seen on this session (all but the active one are stale).
    nonces: Vec<String>,
    /// The view first read once terminal: it must never change.
    terminal: Option<Value>,
}

struct World {
    db: PathBuf,
    sb: Option<Sandbox>,
    http: reqwest::Client,
    key: String,
    sessions: Vec<Known>,
    /// Balance the business must have: last set minus every verified step's price since.
    expected_balance: u64,
    verified: usize,
    log: Vec<String>,
}

struct Resp {
    status: u16,
    body: Value,
}

impl World {
    fn base(&self) -> String {
        self.sb.as_ref().expect("running").base_url().to_owned()
    }

    async fn start(db: &PathBuf) -> Sandbox {
        Sandbox::builder()
            .database(db)
            .expiry_sweep(Duration::from_millis(25))
            .retry_base(Duration::from_millis(20))
            .retry_max(Duration::from_millis(100))
            .start()
            .await
            .expect("sandbox starts")
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.expect("the sandbox answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!(status < 500, "5xx: {status} {text}");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, body }
    }

    async fn api(&self, method: reqwest::Method, path: &str) -> Resp {
        let req = self.http.request(method, format!("{}{path}", self.base())).bearer_auth(&self.key);
        self.send(req).await
    }

    fn page(&self, method: reqwest::Method, s: usize, browser: usize, rest: &str) -> reqwest::RequestBuilder {
        let k = &self.sessions[s];
        let req = self.http.request(method, format!("{}/s/{}{rest}", self.base(), k.id));
        match &k.bindings[browser] {
            Some(t) => req.header("x-uip-binding", t),
            None => req,
        }
    }

    async fn balance(&self) -> u64 {
        let r = self.api(reqwest::Method::GET, "/_sandbox/business").await;
        assert_eq!(r.status, 200);
        r.body["balance_cents"].as_u64().expect("balance is a u64")
    }

    /// A session: the newest one half the time, else any.
    fn pick(&self, i: usize) -> Option<usize> {
        let n = self.sessions.len();
        (n > 0).then(|| if i < 4 { n - 1 } else { i % n })
    }

    /// Reads the session; records the view once terminal and checks it never changes after.
    async fn view(&mut self, s: usize) -> Value {
        let id = self.sessions[s].id.clone();
        let r = self.api(reqwest::Method::GET, &format!("/v1/sessions/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let status = SessionStatus::parse(r.body["status"].as_str().unwrap());
        if let Some(t) = &self.sessions[s].terminal {
            assert_eq!(&r.body, t, "a terminal session changed");
        } else if status.is_terminal() {
            self.sessions[s].terminal = Some(r.body.clone());
        }
        r.body
    }

    async fn apply(&mut self, a: &Action) {
        self.log.push(format!("{a:?}"));
        match a {
            Action::Create { steps } => {
                let json_steps: Vec<Value> = steps
                    .iter()
                    .map(|(k, gate)| {
                        let mut v = match k {
                            StepKind::Identify => json!({"primitive": "identify", "params": {"blocks": ["first_name", "dob", "portrait"]}}),
                            StepKind::AgeVerify(m) => json!({"primitive": "age_verify", "params": {"min_age": m}}),
                            StepKind::LightSign => json!({"primitive": "light_sign", "params": {"terms": "I agree."}}),
                            StepKind::Sign => json!({"primitive": "sign", "params": {"documents": ["doc.txt"]}}),
                        };
                        if *gate {
                            v["gate"] = json!(true);
                        }
                        v
                    })
                    .collect();
                let has_sign = steps.iter().any(|(k, _)| matches!(k, StepKind::Sign));
                let body = json!({"steps": json_steps, "client_reference_id": "props"});
                let url = format!("{}/v1/sessions", self.base());
                let req = self.http.post(url).bearer_auth(&self.key);
                let req = if has_sign {
                    let form = reqwest::multipart::Form::new().text("session", body.to_string()).part(
                        "document",
                        reqwest::multipart::Part::bytes(b"the terms".to_vec()).file_name("doc.txt"),
                    );
                    req.multipart(form)
                } else {
                    req.json(&body)
                };
                let r = self.send(req).await;
                let total: u64 = steps
                    .iter()
                    .map(|(k, _)| match k {
                        StepKind::Identify | StepKind::AgeVerify(_) => 1,
                        StepKind::LightSign => 2,
                        StepKind::Sign => 3,
                    })
                    .sum();
                if r.status == 402 {
                    assert!(
                        self.expected_balance < total,
                        "402 with balance {} for {total}",
                        self.expected_balance
                    );
                    return;
                }
                assert_eq!(r.status, 200, "{}", r.body);
                assert!(
                    self.expected_balance >= total,
                    "created with balance {} < {total}",
                    self.expected_balance
                );
                let primitives = steps
                    .iter()
                    .map(|(k, _)| match k {
                        StepKind::Identify => Primitive::Identify,
                        StepKind::AgeVerify(_) => Primitive::AgeVerify,
                        StepKind::LightSign => Primitive::LightSign,
                        StepKind::Sign => Primitive::Sign,
                    })
                    .collect();
                self.sessions.push(Known {
                    id: r.body["id"].as_str().unwrap().to_owned(),
                    primitives,
                    bindings: [None, None],
                    nonces: Vec::new(),
                    terminal: None,
                });
            }
            Action::Get(i) => {
                if let Some(s) = self.pick(*i) {
                    self.view(s).await;
                }
            }
            Action::Continue(i) | Action::Stop(i) => {
                let Some(s) = self.pick(*i) else { return };
                let before = self.view(s).await;
                let verb = if matches!(a, Action::Continue(_)) { "continue" } else { "stop" };
                let id = self.sessions[s].id.clone();
                let r = self.api(reqwest::Method::POST, &format!("/v1/sessions/{id}/{verb}")).await;
                let was = before["status"].as_str().unwrap();
                if was == "awaiting_decision" {
                    // The sweep may have expired it in between: then 409 too.
                    assert!(r.status == 200 || r.status == 409, "{verb}: {} {}", r.status, r.body);
                } else {
                    assert_eq!(r.status, 409, "{verb} on a {was} session: {}", r.body);
                    assert_eq!(r.body["code"], "session/not-awaiting-decision");
                }
                self.view(s).await;
            }
            Action::Open(i, browser) => {
                let Some(s) = self.pick(*i) else { return };
                self.apply_open(s, *browser).await;
            }
            Action::Share { s: i, browser, persona, google } => {
                let Some(s) = self.pick(*i) else { return };
                self.answer(s, *browser, "share", PERSONAS[*persona], *google).await;
            }
            Action::Decline(i, browser) => {
                let Some(s) = self.pick(*i) else { return };
                self.answer(s, *browser, "decline", "jane-doe", false).await;
            }
            Action::StaleNonce { s: i, browser, replay } => {
                let Some(s) = self.pick(*i) else { return };
                let current = self.current_nonce(s, *browser).await;
                let nonce = if *replay {
                    match self.sessions[s].nonces.iter().rev().find(|n| Some(*n) != current.as_ref()) {
                        Some(n) => n.clone(),
                        None => return,
                    }
                } else {
                    "AAAAAAAAAAAAAAAAAAAAAA".to_owned()
                };
                let before = self.balance().await;
                let body = json!({"nonce": nonce, "wallet": "apple-wallet", "action": "share"});
                let r =
                    self.send(self.page(reqwest::Method::POST, s, *browser, "/response").json(&body)).await;
                assert_eq!(r.status, 409, "a stale nonce was answered {}: {}", r.status, r.body);
                let code = r.body["code"].as_str().unwrap_or_default();
                assert!(
                    ["session/stale-nonce", "session/not-active", "session/bound-elsewhere"].contains(&code),
                    "a stale nonce was answered {code}: {}",
                    r.body
                );
                assert_eq!(self.balance().await, before, "a refused answer charged");
            }
            Action::Advance(secs) => {
                let r = self
                    .send(
                        self.http
                            .post(format!("{}/_sandbox/clock/advance", self.base()))
                            .bearer_auth(&self.key)
                            .json(&json!({"seconds": secs})),
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
            Action::SetBalance(b) => {
                let r = self
                    .send(
                        self.http
                            .patch(format!("{}/_sandbox/business", self.base()))
                            .bearer_auth(&self.key)
                            .json(&json!({"balance_cents": b})),
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
                self.expected_balance = *b;
            }
            Action::Restart => {
                let sb = self.sb.take().expect("running");
                sb.shutdown().await;
                self.sb = Some(World::start(&self.db).await);
            }
        }
        assert_eq!(self.balance().await, self.expected_balance, "balance after {a:?}");
    }

    async fn apply_open(&mut self, s: usize, browser: usize) {
        let r = self.send(self.page(reqwest::Method::POST, s, browser, "/open")).await;
        let other_bound = self.sessions[s].bindings[1 - browser].is_some();
        let mine = self.sessions[s].bindings[browser].is_some();
        if mine {
            assert_eq!(r.status, 200, "re-open with the binding: {}", r.body);
        } else if other_bound {
            assert_eq!(r.status, 409, "a second browser opened a bound session: {}", r.body);
            assert_eq!(r.body["code"], "session/bound-elsewhere");
        } else {
            assert_eq!(r.status, 200, "{}", r.body);
            let t = r.body["binding"].as_str().unwrap().to_owned();
            self.sessions[s].bindings[browser] = Some(t);
        }
    }

    /// The active nonce as browser `b` sees it (None if it cannot see one).
    async fn current_nonce(&mut self, s: usize, b: usize) -> Option<String> {
        let r = self.send(self.page(reqwest::Method::GET, s, b, "/request")).await;
        if r.status != 200 {
            return None;
        }
        let n = r.body["nonce"].as_str().unwrap().to_owned();
        if !self.sessions[s].nonces.contains(&n) {
            self.sessions[s].nonces.push(n.clone());
        }
        Some(n)
    }

    async fn answer(&mut self, s: usize, browser: usize, action: &str, persona: &str, google: bool) {
        // The page opens the session before it asks the wallet (binding it when nobody has).
        if self.sessions[s].bindings.iter().all(Option::is_none) {
            self.apply_open(s, browser).await;
        }
        let req = self.send(self.page(reqwest::Method::GET, s, browser, "/request")).await;
        if req.status != 200 {
            let bound_here = self.sessions[s].bindings[browser].is_some();
            match req.status {
                409 if req.body["code"] == "session/bound-elsewhere" => {
                    assert!(!bound_here, "the binding was refused: {}", req.body)
                }
                409 => assert_eq!(req.body["code"], "session/not-active"),
                other => panic!("/request answered {other}: {}", req.body),
            }
            return;
        }
        let nonce = req.body["nonce"].as_str().unwrap().to_owned();
        self.sessions[s].nonces.push(nonce.clone());
        let primitive = Primitive::parse(req.body["primitive"].as_str().unwrap());
        let stage = req.body["stage"].as_u64().unwrap() as usize;
        assert_eq!(self.sessions[s].primitives[stage], primitive, "the request's primitive is the step's");
        let wallet = if google { "google-wallet" } else { "apple-wallet" };
        let body = json!({"nonce": nonce, "wallet": wallet, "action": action, "persona": persona});
        let before = self.balance().await;
        let r = self.send(self.page(reqwest::Method::POST, s, browser, "/response").json(&body)).await;
        match r.status {
            200 => match r.body["outcome"].as_str().unwrap() {
                "verified" => {
                    let price = primitive.price_cents().unwrap();
                    assert!(before >= price, "verified a {price}-cent step with {before} cents");
                    self.expected_balance -= price;
                    self.verified += 1;
                }
                "declined" => assert_eq!(action, "decline"),
                "failed" => {
                    assert_eq!(r.body["status"], "failed");
                    assert!(r.body["reason"].as_str().is_some_and(|s| !s.is_empty()), "{}", r.body);
                }
                other => panic!("outcome {other}"),
            },
            // The sweep expired it between /request and /response.
            409 => assert_eq!(r.body["code"], "session/not-active", "{}", r.body),
            422 => {
                assert!(google && primitive == Primitive::Sign, "{}", r.body);
                assert_eq!(r.body["code"], "wallet/unsupported-primitive");
            }
            other => panic!("/response answered {other}: {}", r.body),
        }
        self.view(s).await;
    }

    /// The invariants over everything the sandbox holds, checked at the end of a case.
    async fn check(&mut self) {
        let mut audits_total = 0;
        for s in 0..self.sessions.len() {
            let view = self.view(s).await;
            let id = self.sessions[s].id.clone();
            let status = SessionStatus::parse(view["status"].as_str().unwrap());
            let step_count = view["step_count"].as_u64().unwrap() as u32;
            // Audits: a contiguous chain from stage 0.
            let mut audits: Vec<AuditRecord> = Vec::new();
            for stage in 0..step_count {
                let r = self.api(reqwest::Method::GET, &format!("/v1/audits/{id}_{stage}")).await;
                if r.status == 404 {
                    break;
                }
                assert_eq!(r.status, 200);
                audits.push(serde_json::from_value(r.body).unwrap());
            }
            for stage in audits.len() as u32..step_count {
                let r = self.api(reqwest::Method::GET, &format!("/v1/audits/{id}_{stage}")).await;
                assert_eq!(r.status, 404, "audit {stage} exists after a gap");
            }
            if let Err(e) = verify_chain(&audits) {
                panic!("{id}: audit chain: {e}");
            }
            audits_total += audits.len();
            // Events, in the order they were produced (the outbox).
            let deliveries = self.sb.as_ref().unwrap().deliveries(&id);
            let mut stages = Vec::new();
            let mut terminal: Vec<String> = Vec::new();
            let mut ids = std::collections::HashSet::new();
            for d in &deliveries {
                assert!(ids.insert(d.delivery_id.clone()), "duplicate delivery {}", d.delivery_id);
                assert!(terminal.is_empty(), "{id}: {} after the terminal event {terminal:?}", d.event);
                let body: Value = serde_json::from_str(&d.body).unwrap();
                assert_eq!(body["data"]["session_id"], id.as_str());
                if d.event == "step.completed" {
                    stages.push(body["data"]["stage"].as_u64().unwrap() as usize);
                } else {
                    terminal.push(d.event.clone());
                }
            }
            assert_eq!(stages, (0..stages.len()).collect::<Vec<_>>(), "{id}: step events out of order");
            assert_eq!(stages.len(), audits.len(), "{id}: one step.completed per audit");
            assert!(terminal.len() <= 1, "{id}: several terminal events {terminal:?}");
            if status.is_terminal() {
                assert_eq!(
                    terminal,
                    vec![format!("session.{status}")],
                    "{id}: terminal event of a {status} session"
                );
            } else {
                assert!(terminal.is_empty(), "{id}: a {status} session has a terminal event");
            }
            if status == SessionStatus::Completed {
                assert_eq!(audits.len() as u32, step_count);
            }
        }
        assert_eq!(audits_total, self.verified, "audits vs verified answers");
        assert_eq!(self.balance().await, self.expected_balance);
    }
}

fn temp_db() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "uip-state-props-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("sandbox.db")
}

async fn run(actions: Vec<Action>) {
    let db = temp_db();
    let sb = World::start(&db).await;
    let key = sb.api_key().expose().to_owned();
    let mut w = World {
        db: db.clone(),
        sb: Some(sb),
        http: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap(),
        key,
        sessions: Vec::new(),
        expected_balance: 100_000,
        verified: 0,
        log: Vec::new(),
    };
    for a in &actions {
        w.apply(a).await;
    }
    let actions = &actions;
    w.check().await;
    // And once more after a restart: the database holds the same truth.
    w.apply(&Action::Restart).await;
    let terminal_before: HashMap<String, Value> =
        w.sessions.iter().filter_map(|k| k.terminal.clone().map(|t| (k.id.clone(), t))).collect();
    w.check().await;
    for k in &w.sessions {
        if let Some(t) = terminal_before.get(&k.id) {
            assert_eq!(k.terminal.as_ref(), Some(t));
        }
    }
    if std::env::var_os("STATE_PROPS_STATS").is_some() {
        let statuses: Vec<String> = w
            .sessions
            .iter()
            .map(|k| {
                k.terminal
                    .as_ref()
                    .map_or("open".to_owned(), |t| t["status"].as_str().unwrap_or("").to_owned())
            })
            .collect();
        eprintln!("{} actions, {} verified, sessions: {statuses:?}", actions.len(), w.verified);
    }
    if let Some(sb) = w.sb.take() {
        sb.shutdown().await;
    }
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

proptest! {
    #![proptest_config(ProptestConfig {
        // 32 in CI; PROPTEST_CASES=… for a longer hunt.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32),
        max_shrink_iters: 64,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn session_invariants_hold_under_any_sequence(actions in prop::collection::vec(action(), 1..=30)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run(actions));
    }
}

/// A fixed sequence exercising every kind of action, so a regression shows without shrinking.
#[test]
fn a_fixed_tour_of_every_action() {
    use Action::*;
    let actions = vec![
        Create { steps: vec![(StepKind::Identify, true), (StepKind::AgeVerify(21), false)] },
        Create { steps: vec![(StepKind::Sign, false), (StepKind::LightSign, false)] },
        Open(0, 0),
        Open(0, 1),
        Share { s: 0, browser: 0, persona: 0, google: false },
        StaleNonce { s: 0, browser: 0, replay: true },
        Continue(0),
        Restart,
        Decline(0, 0),
        StaleNonce { s: 0, browser: 0, replay: true },
        Share { s: 0, browser: 0, persona: 1, google: false },
        Stop(0),
        Open(1, 0),
        Share { s: 1, browser: 0, persona: 0, google: true },
        SetBalance(2),
        Share { s: 1, browser: 0, persona: 0, google: false },
        Create { steps: vec![(StepKind::LightSign, false)] },
        SetBalance(100),
        Create { steps: vec![(StepKind::Identify, false)] },
        Open(3, 0),
        Advance(601),
        Share { s: 3, browser: 0, persona: 0, google: false },
        Get(3),
        Restart,
        Get(0),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run(actions));
}
