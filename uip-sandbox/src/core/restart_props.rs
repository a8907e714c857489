//! Property: whatever the use cases did, a restart from the SQLite file gives back every field of
//! every session, business, delivery and idempotency record as it was in memory. A change that a
//! use case made without marking it for saving would be lost here.

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{json, Value};
use uip_types::sandbox::{DeliveryAttempt, DeliveryFault};

use super::*;
use crate::app::App;
use crate::clock;
use crate::config::Settings;
use crate::store::block_on;

/// One operation on the sandbox, with indices chosen modulo what exists.
#[derive(Clone, Debug)]
enum Op {
    NewBusiness { trust_production: bool, balance: u64 },
    Create { biz: usize, shape: u8, idempotency: Option<u8> },
    Open { session: usize },
    Answer { session: usize, persona: usize, decline: bool },
    Decide { session: usize, stop: bool },
    Advance { biz: usize, seconds: i64 },
    Patch { biz: usize, name: bool, rotate: bool, balance: Option<u64> },
    Sweep,
    Dispatch { outcome: u8 },
    Redeliver { delivery: usize, fault: u8 },
    Read { session: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (any::<bool>(), 0u64..5_000).prop_map(|(p, balance)| Op::NewBusiness { trust_production: p, balance }),
        4 => (0usize..4, 0u8..6, proptest::option::of(0u8..3))
            .prop_map(|(biz, shape, idempotency)| Op::Create { biz, shape, idempotency }),
        3 => (0usize..8).prop_map(|session| Op::Open { session }),
        4 => (0usize..8, 0usize..6, any::<bool>())
            .prop_map(|(session, persona, decline)| Op::Answer { session, persona, decline }),
        2 => (0usize..8, any::<bool>()).prop_map(|(session, stop)| Op::Decide { session, stop }),
        1 => (0usize..4, prop_oneof![Just(30i64), Just(700), Just(4000)])
            .prop_map(|(biz, seconds)| Op::Advance { biz, seconds }),
        1 => (0usize..4, any::<bool>(), any::<bool>(), proptest::option::of(0u64..3_000))
            .prop_map(|(biz, name, rotate, balance)| Op::Patch { biz, name, rotate, balance }),
        1 => Just(Op::Sweep),
        3 => (0u8..4).prop_map(|outcome| Op::Dispatch { outcome }),
        1 => (0usize..16, 0u8..4).prop_map(|(delivery, fault)| Op::Redeliver { delivery, fault }),
        1 => (0usize..8).prop_map(|session| Op::Read { session }),
    ]
}

const STEPS: [&str; 6] = [
    r#"[{"primitive":"identify"}]"#,
    r#"[{"primitive":"age_verify","params":{"min_age":21}},{"primitive":"light_sign","params":{"terms":"t"}}]"#,
    r#"[{"primitive":"identify","gate":true},{"primitive":"age_verify"}]"#,
    r#"[{"primitive":"sign","gate":true},{"primitive":"identify"}]"#,
    r#"[{"primitive":"light_sign","params":{"terms":"I agree.","title":"Terms"}}]"#,
    r#"[{"primitive":"age_verify","gate":true}]"#,
];

const PERSONAS: [&str; 6] =
    ["jane-doe", "minor", "no-portrait", "expired-credential", "tampered", "untrusted-issuer"];

/// What the test knows exists.
#[derive(Default)]
struct World {
    businesses: Vec<String>,
    sessions: Vec<(String, String)>,
    /// Binding token per session id.
    bindings: BTreeMap<String, String>,
}

fn pick<T>(v: &[T], i: usize) -> Option<&T> {
    (!v.is_empty()).then(|| &v[i % v.len()])
}

fn apply(shared: &Shared, world: &mut World, op: &Op) {
    match op {
        Op::NewBusiness { trust_production, balance } => {
            let req = serde_json::from_value(json!({
                "webhook_url": "http://127.0.0.1:9/hook",
                "balance_cents": balance,
                "trust": if *trust_production { "production" } else { "demo" },
            }))
            .unwrap();
            world.businesses.push(block_on(create_business(shared, req)).unwrap().business_id);
        }
        Op::Create { biz, shape, idempotency } => {
            let Some(biz) = pick(&world.businesses, *biz).cloned() else { return };
            let steps = STEPS[*shape as usize % STEPS.len()];
            let body =
                format!(r#"{{"steps":{steps},"client_reference_id":"ref-{shape}","metadata":{{"k":"v"}}}}"#);
            let request =
                uip_types::validate::parse_create_session(&serde_json::from_str(&body).unwrap()).unwrap();
            let (uploads, names) = if request.has_sign_step() {
                let u = Upload {
                    name: "a.txt".to_owned(),
                    content_type: "text/plain".to_owned(),
                    bytes: Bytes::from_static(b"hello"),
                };
                (vec![u], vec!["a.txt"])
            } else {
                (Vec::new(), Vec::new())
            };
            let step_documents =
                uip_types::validate::bind_documents(&request, (!names.is_empty()).then_some(&names[..]))
                    .unwrap();
            let input = CreateInput {
                request,
                uploads,
                step_documents,
                fingerprint: hash_of(&body),
                idempotency_key: idempotency.map(|k| format!("key-{k}")),
            };
            if let Ok(out) = block_on(create_session(shared, &biz, input)) {
                let id: Value = serde_json::from_str(&out.body).unwrap();
                let id = id["id"].as_str().unwrap().to_owned();
                if !world.sessions.iter().any(|(_, s)| *s == id) {
                    world.sessions.push((biz, id));
                }
            }
        }
        Op::Open { session } => {
            let Some((_, id)) = pick(&world.sessions, *session).cloned() else { return };
            let token = world.bindings.get(&id).cloned();
            if let Ok(t) = block_on(open(shared, &id, token.as_deref())) {
                world.bindings.insert(id, t.expose().to_owned());
            }
        }
        Op::Answer { session, persona, decline } => {
            let Some((biz, id)) = pick(&world.sessions, *session).cloned() else { return };
            let req = serde_json::from_value(json!({
                "persona": PERSONAS[persona % PERSONAS.len()],
                "action": if *decline { "decline" } else { "share" },
                "steps": 1,
            }))
            .unwrap();
            let _ = block_on(simulate(shared, &biz, &id, req));
        }
        Op::Decide { session, stop } => {
            let Some((biz, id)) = pick(&world.sessions, *session).cloned() else { return };
            let _ =
                block_on(decide(shared, &biz, &id, if *stop { Decision::Stop } else { Decision::Continue }));
        }
        Op::Advance { biz, seconds } => {
            let Some(biz) = pick(&world.businesses, *biz).cloned() else { return };
            block_on(advance_clock(shared, &biz, *seconds)).unwrap();
        }
        Op::Patch { biz, name, rotate, balance } => {
            let Some(biz) = pick(&world.businesses, *biz).cloned() else { return };
            let mut patch = serde_json::Map::new();
            if *name {
                patch.insert("name".into(), json!(format!("Shop {biz}")));
            }
            if *rotate {
                patch.insert("rotate_webhook_secret".into(), json!(true));
            }
            if let Some(b) = balance {
                patch.insert("balance_cents".into(), json!(b));
            }
            block_on(patch_business(shared, &biz, serde_json::from_value(Value::Object(patch)).unwrap()))
                .unwrap();
        }
        Op::Sweep => block_on(sweep(shared)),
        Op::Dispatch { outcome } => {
            let (jobs, _) = block_on(take_due(shared, clock::real_now(), || Some(())));
            for (job, ()) in jobs {
                let at = clock::real_now();
                let (status_code, error) = match outcome {
                    0 | 1 => (Some(204), None),
                    2 => (Some(500), Some("receiver answered 500".to_owned())),
                    _ => (None, Some("could not connect".to_owned())),
                };
                let mut attempt = DeliveryAttempt::new(at, 3);
                if let Some(code) = status_code {
                    attempt = attempt.with_status_code(code);
                }
                if let Some(error) = error {
                    attempt = attempt.with_error(error);
                }
                let signed = status_code.map(|_| (at.timestamp() as u64, "v1=00".to_owned()));
                block_on(record_attempts(shared, &job, vec![(attempt, signed)]));
            }
        }
        Op::Redeliver { delivery, fault } => {
            let Some(biz) = pick(&world.businesses, *delivery).cloned() else { return };
            let log = deliveries(shared, &biz, None).deliveries;
            let Some(d) = pick(&log, *delivery) else { return };
            let fault = [
                DeliveryFault::None,
                DeliveryFault::Duplicate,
                DeliveryFault::BadSignature,
                DeliveryFault::StaleTimestamp,
            ][*fault as usize % 4];
            block_on(redeliver(shared, &biz, &d.delivery_id, fault)).unwrap();
        }
        Op::Read { session } => {
            let Some((biz, id)) = pick(&world.sessions, *session).cloned() else { return };
            let _ = block_on(get_session(shared, &biz, &id));
            if let Some(t) = world.bindings.get(&id) {
                let _ = block_on(state(shared, &id, Some(t)));
                let _ = block_on(wallet_request(shared, &id, Some(t)));
                let _ = block_on(document(shared, &id, Some(t), 0));
            }
        }
    }
}

fn hash_of(s: &str) -> String {
    super::businesses::hash_hex(s)
}

/// Every field of every session, business, delivery and idempotency record, and the document
/// bytes: each in its stored form (serde) and in full (Debug, which names every field).
fn snapshot(shared: &Shared) -> BTreeMap<String, String> {
    shared.store.read(|st| {
        let mut out = BTreeMap::new();
        for b in st.businesses() {
            out.insert(format!("business {}", b.id), format!("{} {b:?}", serde_json::to_string(b).unwrap()));
        }
        for s in st.sessions() {
            let docs: Vec<Option<Bytes>> =
                (0..s.documents.len()).map(|i| st.document_bytes(s.id.as_str(), i)).collect();
            out.insert(
                format!("session {}", s.id),
                format!("{} {s:?} {docs:?}", serde_json::to_string(s).unwrap()),
            );
        }
        for d in st.deliveries() {
            // An attempt's `at` is the only time stored coarser than it is kept: in memory to the
            // nanosecond (the in-process `Sandbox::deliveries()` shows it), stored — as every API
            // shows it — in whole seconds.
            let mut d = d.clone();
            for a in &mut d.attempts {
                a.at = clock::secs(a.at);
            }
            out.insert(
                format!("delivery {}", d.seq),
                format!("{} {d:?}", serde_json::to_string(&d).unwrap()),
            );
        }
        out
    })
}

fn settings(db: &std::path::Path) -> Settings {
    Settings { db: Some(db.to_owned()), expiry_sweep: std::time::Duration::ZERO, ..Settings::default() }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_restart_keeps_every_field(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sandbox.db");
        let app = App::build(settings(&db), ([127, 0, 0, 1], 9).into()).unwrap();
        let mut world = World { businesses: vec![app.credentials.business_id.clone()], ..World::default() };
        for op in &ops {
            apply(&app.shared, &mut world, op);
        }
        let before = snapshot(&app.shared);
        drop(app);
        let shared =
            Shared::open(settings(&db), "http://127.0.0.1:9".to_owned(), "http://127.0.0.1:9".to_owned()).unwrap();
        let after = snapshot(&shared);
        prop_assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
        for (k, v) in &before {
            prop_assert_eq!(v, &after[k], "{} differs after the restart", k);
        }
    }
}
