//! `GET /openapi.json`: the document generated from the routes matches the committed snapshot
//! `uip-sandbox/openapi.json`, every documented operation is routed, every example parses into its
//! `uip-types` type and validates against its schema, and the schemas accept what the types
//! write and refuse what their parsers refuse (checked with the `jsonschema` crate).
//!
//! After a deliberate change of the document, regenerate the snapshot with
//! `UPDATE_OPENAPI=1 cargo test -p uip-sandbox committed_snapshot` and review the diff.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use uip_sandbox::Sandbox;

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options", "trace"];

fn routes_in_document(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

async fn document(sb: &Sandbox) -> Value {
    let resp = reqwest::get(format!("{}/openapi.json", sb.base_url())).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    resp.json().await.unwrap()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_names_this_sandbox() {
    let sb = Sandbox::start().await;
    let doc = document(&sb).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."), "{}", doc["openapi"]);
    assert_eq!(doc["servers"][0]["url"], sb.base_url());
    assert!(doc["info"]["version"].is_string());
    // Every event the sandbox sends is a documented webhook with the four signature headers.
    for event in [
        uip_types::STEP_COMPLETED,
        uip_types::SESSION_COMPLETED,
        uip_types::SESSION_STOPPED,
        uip_types::SESSION_FAILED,
        uip_types::SESSION_EXPIRED,
    ] {
        let op = &doc["webhooks"][event]["post"];
        assert!(op["requestBody"]["content"]["application/json"]["schema"]["$ref"].is_string(), "{event}");
        let headers: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("webhook {event} has no parameters"))
            .iter()
            .filter(|p| p["in"] == "header" && p["required"] == true)
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            headers,
            [
                uip_types::HEADER_EVENT,
                uip_types::HEADER_TIMESTAMP,
                uip_types::HEADER_SIGNATURE,
                uip_types::HEADER_DELIVERY_ID
            ],
            "{event}"
        );
    }
    // operationIds are unique.
    let mut ids = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().expect("every operation has an operationId");
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
        }
    }
}

/// Each documented operation is routed: the live router answers it with something other than
/// "no such route" (404 `request/not-found`) or "wrong method" (405).
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let sb = Sandbox::start().await;
    let doc = document(&sb).await;
    let http = reqwest::Client::new();
    for (method, path) in routes_in_document(&doc) {
        let concrete = path
            .replace("{id}", "sess_000000000000000000000000")
            .replace("{index}", "0")
            .replace("{delivery_id}", "sess_000000000000000000000000:session.completed");
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let resp = http.request(m, format!("{}{concrete}", sb.base_url())).send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !(status == 404 && body.contains("request/not-found")),
            "{method} {path} is documented but not routed: {body}"
        );
        assert!(status < 500, "{method} {path}: {status} {body}");
    }
    // And the router's fallback is what an undocumented route gets.
    let resp = http.get(format!("{}/v1/nope", sb.base_url())).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("request/not-found"));
}

/// Deserializes `example` into the `uip-types` type named `schema`; unknown names fail the test so
/// that a new schema with an example cannot go unchecked.
fn parse_example(schema: &str, example: &Value) -> Result<(), String> {
    use uip_types::sandbox::*;
    use uip_types::*;
    macro_rules! try_types {
        ($($t:ident),* $(,)?) => {
            match schema {
                $(stringify!($t) => serde_json::from_value::<$t>(example.clone()).map(|_| ()).map_err(|e| e.to_string()),)*
                // The sandbox's narrower schema of `SimulateRequest` (its personas and wallets only).
                "SimulateBody" => serde_json::from_value::<SimulateRequest>(example.clone())
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                // The journal's and the sessions list's types live in uip-sandbox.
                "RequestJournal" => serde_json::from_value::<uip_sandbox::journal::RequestJournal>(example.clone())
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                "SessionList" => serde_json::from_value::<uip_sandbox::journal::SessionList>(example.clone())
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                // Shapes only the sandbox's document has (no uip-types type): their examples are
                // checked by the JSON Schema validation alone.
                "ClockAdvance" | "CreateSessionForm" => Ok(()),
                other => Err(format!("no uip-types type is known for schema `{other}`")),
            }
        };
    }
    try_types!(
        CreateSessionRequest,
        CreatedSession,
        SessionView,
        DecisionResponse,
        AuditRecord,
        Proof,
        ProofDocument,
        CatalogResponse,
        WalletsResponse,
        WalletInfo,
        PrimitiveInfo,
        ApiErrorBody,
        ErrorCode,
        SessionStatus,
        Primitive,
        Block,
        WalletId,
        SessionId,
        SessionUrl,
        ApiKey,
        WebhookSecret,
        BindingToken,
        Step,
        WebhookEvent,
        OpenResponse,
        PageState,
        WalletRequest,
        RequestDocument,
        WalletResponse,
        CustomCredential,
        ResponseResult,
        ResponseOutcome,
        NewBusiness,
        BusinessCredentials,
        BusinessView,
        BusinessPatch,
        ClockNow,
        DeliveryLog,
        DeliveryLogEntry,
        DeliveryAttempt,
        DeliveryStatus,
        DeliveryFault,
        RedeliverRequest,
        SimulateRequest,
        WalletAction,
        FaultPlan,
        Inbox,
        InboxEntry,
        Personas,
        PersonaInfo,
        Trust,
    )
}

fn ref_name(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")
}

/// Walks the document: every `example`/`examples` is checked where it stands: it validates
/// against its schema and parses into its `uip-types` type.
#[tokio::test]
async fn every_example_parses_into_its_uip_types_struct() {
    let sb = Sandbox::start().await;
    let doc = document(&sb).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let c = Checker { schemas };
    let parse_example = |name: &str, e: &Value| {
        c.named(name, e)?;
        parse_example(name, e)
    };
    let mut checked = 0;

    // 1. Component schemas' own examples.
    for (name, schema) in schemas {
        for e in schema.get("examples").and_then(Value::as_array).into_iter().flatten() {
            parse_example(name, e)
                .unwrap_or_else(|err| panic!("components.schemas.{name} example {e}: {err}"));
            checked += 1;
        }
        if let Some(e) = schema.get("example") {
            parse_example(name, e)
                .unwrap_or_else(|err| panic!("components.schemas.{name} example {e}: {err}"));
            checked += 1;
        }
    }

    // 2. Request and response bodies.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            let mut media: Vec<(String, &Value, Option<u16>)> = Vec::new();
            if let Some(content) = op["requestBody"]["content"].as_object() {
                for (ct, m) in content {
                    media.push((format!("{at} request {ct}"), m, None));
                }
            }
            for (status, resp) in op["responses"].as_object().unwrap() {
                for (ct, m) in resp["content"].as_object().into_iter().flatten() {
                    media.push((format!("{at} response {status} {ct}"), m, status.parse().ok()));
                }
            }
            for (what, m, status) in media {
                let mut examples: Vec<&Value> = m.get("example").into_iter().collect();
                if let Some(ex) = m.get("examples").and_then(Value::as_object) {
                    examples.extend(ex.values().filter_map(|e| e.get("value")));
                }
                for e in examples {
                    match ref_name(&m["schema"]) {
                        Some(name) => {
                            parse_example(name, e).unwrap_or_else(|err| panic!("{what}: example {e}: {err}"));
                            if name == "ApiErrorBody" {
                                // An error example's code is known and answered with this status.
                                let body: uip_types::ApiErrorBody =
                                    serde_json::from_value(e.clone()).unwrap();
                                let code = body.code.unwrap_or_else(|| panic!("{what}: {e} has no code"));
                                assert!(code.is_known(), "{what}: {e}");
                                assert_eq!(code.http_status(), status, "{what}: {e}");
                            }
                        }
                        None => {
                            // An inline object schema: the example has its required keys and no others.
                            let props = m["schema"]["properties"]
                                .as_object()
                                .unwrap_or_else(|| panic!("{what}: example for an unchecked inline schema"));
                            let obj = e.as_object().unwrap_or_else(|| panic!("{what}: {e} is not an object"));
                            for k in obj.keys() {
                                assert!(props.contains_key(k), "{what}: example key {k} not in the schema");
                            }
                            for r in m["schema"]["required"].as_array().into_iter().flatten() {
                                assert!(obj.contains_key(r.as_str().unwrap()), "{what}: example lacks {r}");
                            }
                        }
                    }
                    checked += 1;
                }
            }
            // Path parameter examples are well-formed.
            for p in op["parameters"].as_array().into_iter().flatten() {
                if let Some(e) = p.get("example") {
                    let s =
                        e.as_str().unwrap_or_else(|| panic!("{at}: parameter example {e} is not a string"));
                    if p["name"] == "id" && !path.starts_with("/v1/audits") {
                        assert!(uip_types::SessionId::is_well_formed(s), "{at}: {s}");
                    }
                }
            }
        }
    }
    assert!(checked >= 40, "only {checked} examples were checked");
}

/// Every `$ref` resolves, and every link names an existing operation.
#[tokio::test]
async fn references_and_links_resolve() {
    let sb = Sandbox::start().await;
    let doc = document(&sb).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap().clone();
    fn walk(v: &Value, f: &mut dyn FnMut(&serde_json::Map<String, Value>)) {
        match v {
            Value::Object(m) => {
                f(m);
                m.values().for_each(|x| walk(x, f));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    let mut op_ids = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            op_ids.insert(op["operationId"].as_str().unwrap().to_owned());
        }
    }
    let mut refs = 0;
    let mut links = 0;
    walk(&doc, &mut |m| {
        if let Some(Value::String(r)) = m.get("$ref") {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("odd $ref {r}"));
            assert!(schemas.contains_key(name), "unresolved $ref {r}");
            refs += 1;
        }
        if let Some(Value::Object(ls)) = m.get("links") {
            for (name, l) in ls {
                let target =
                    l["operationId"].as_str().unwrap_or_else(|| panic!("link {name} has no operationId"));
                assert!(op_ids.contains(target), "link {name} names unknown operation {target}");
                assert!(l.get("operation_id").is_none(), "link {name} has a snake_case key");
                links += 1;
            }
        }
    });
    assert!(refs > 50 && links >= 5, "{refs} refs, {links} links");
}

/// The schemas describe what the handlers really send: a live response of each main shape has
/// exactly the fields its schema lists as required, and none the schema does not know.
#[tokio::test]
async fn live_responses_use_the_documented_field_names() {
    let sb = Sandbox::start().await;
    let doc = document(&sb).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap().clone();
    let http = reqwest::Client::new();
    let key = sb.api_key().expose().to_owned();
    let base = sb.base_url().to_owned();
    let check = |name: &str, v: &Value| {
        let schema = &schemas[name];
        let props = schema["properties"].as_object().unwrap_or_else(|| panic!("{name} has no properties"));
        for k in v.as_object().unwrap().keys() {
            assert!(props.contains_key(k), "{name}: live field {k} is not in the schema");
        }
        for r in schema["required"].as_array().into_iter().flatten() {
            assert!(v.get(r.as_str().unwrap()).is_some(), "{name}: required {r} missing in {v}");
        }
    };
    let created: Value = http
        .post(format!("{base}/v1/sessions"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"steps": [{"primitive": "age_verify", "gate": true}, {"primitive": "light_sign", "params": {"terms": "t"}}],
                                  "client_reference_id": "r", "metadata": {"a": "b"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check("CreatedSession", &created);
    let id = created["id"].as_str().unwrap();
    let view: Value = http
        .post(format!("{base}/_sandbox/sessions/{id}/simulate"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check("SessionView", &view);
    let audit: Value = http
        .get(format!("{base}/v1/audits/{id}_0"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check("AuditRecord", &audit);
    let decision: Value = http
        .post(format!("{base}/v1/sessions/{id}/continue"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check("DecisionResponse", &decision);
    let err: Value = http
        .get(format!("{base}/v1/sessions/sess_nope"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check("ApiErrorBody", &err);
    let business: Value = http
        .get(format!("{base}/_sandbox/business"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check("BusinessView", &business);
    let log: Value = http
        .get(format!("{base}/_sandbox/deliveries?session_id={id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check("DeliveryLog", &log);
    for d in log["deliveries"].as_array().unwrap() {
        check("DeliveryLogEntry", d);
    }
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// The schemas match the wire form: JSON Schema 2020-12 validation (the `jsonschema` crate) of
// values the uip-types code serializes, of values its parsers accept, and of values they refuse.

/// Validates values against the document's named component schemas.
struct Checker<'a> {
    schemas: &'a serde_json::Map<String, Value>,
}

impl Checker<'_> {
    fn named(&self, name: &str, v: &Value) -> Result<(), String> {
        if !self.schemas.contains_key(name) {
            return Err(format!("no schema {name}"));
        }
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": format!("#/components/schemas/{name}"),
            "components": { "schemas": self.schemas }
        });
        let validator = jsonschema::validator_for(&schema).map_err(|e| format!("{name}: bad schema: {e}"))?;
        let errors: Vec<String> =
            validator.iter_errors(v).map(|e| format!("{e} (at {})", e.instance_path())).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{name}: {v} is refused: {errors:?}"))
        }
    }
}

/// The served document without `servers` (which name the running sandbox), as committed.
fn snapshot_text(doc: &Value) -> String {
    let mut doc = doc.clone();
    doc.as_object_mut().unwrap().remove("servers");
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    text
}

/// The document is the committed `uip-sandbox/openapi.json`: a change of the API document shows
/// up in review. `UPDATE_OPENAPI=1` rewrites the snapshot instead.
#[tokio::test]
async fn the_document_matches_the_committed_snapshot() {
    let sb = Sandbox::start().await;
    let served = snapshot_text(&document(&sb).await);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &served).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != served {
        let line = committed
            .lines()
            .zip(served.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(served.lines().count()));
        panic!(
            "/openapi.json differs from {} (first differing line: {}); if the change is intended, run \
             `UPDATE_OPENAPI=1 cargo test -p uip-sandbox committed_snapshot` and commit the file",
            path.display(),
            line + 1
        );
    }
}

/// The snapshot comparison catches a change: one edited field makes the text differ.
#[tokio::test]
async fn the_snapshot_comparison_sees_a_change() {
    let sb = Sandbox::start().await;
    let doc = document(&sb).await;
    let mut changed = doc.clone();
    changed["paths"]["/v1/sessions"]["post"]["summary"] = json!("Create a session!");
    assert_ne!(snapshot_text(&doc), snapshot_text(&changed));
    assert_eq!(snapshot_text(&doc), snapshot_text(&document(&sb).await), "the document is deterministic");
}

fn every_create_request() -> Vec<uip_types::CreateSessionRequest> {
    use uip_types::{Block, CreateSessionRequest, Step};
    let mut all = CreateSessionRequest::new(vec![
        Step::identify([Block::FirstName, Block::Portrait, Block::Other("full_name".into())]).gate(),
        Step::identify_default(),
        Step::age_verify(21),
        Step::light_sign("I agree.").with_title("Terms").gate(),
        Step::sign(["a.pdf", "b.pdf"]),
        Step::sign_all(),
    ]);
    all.client_reference_id = Some("order_4815".into());
    all.metadata = Some([("cart".to_owned(), "c_42".to_owned()), ("é".repeat(40), "v".repeat(500))].into());
    all.return_url = Some("https://shop.example.com/verified?x=1".into());
    all.expires_in = Some(86400);
    vec![all, CreateSessionRequest::new(vec![Step::age_verify(1)])]
}

fn every_event() -> Vec<uip_types::WebhookEvent> {
    use uip_types::{EventContext, SessionEnded, SessionStatus, StepCompleted, StepResult, WebhookEvent};
    let ctx = EventContext::new("sess_7Hq2LmZ9pX4rT1vB8nC3dK6w")
        .with_client_reference_id("r")
        .with_metadata([("k".to_owned(), "v".to_owned())].into());
    let step = |primitive: uip_types::Primitive, result| {
        WebhookEvent::StepCompleted(StepCompleted::new(ctx.clone(), 3, primitive, result))
    };
    let ended = |status, reason: Option<&str>| {
        let ended = SessionEnded::new(EventContext::new(ctx.session_id.clone()), status);
        match reason {
            Some(reason) => ended.with_reason(reason),
            None => ended,
        }
    };
    vec![
        step(
            uip_types::Primitive::Identify,
            StepResult::Identify { claims: [("first_name".to_owned(), Value::from("Jane"))].into() },
        ),
        step(uip_types::Primitive::AgeVerify, StepResult::AgeVerify { satisfied: false, min_age: Some(21) }),
        step(
            uip_types::Primitive::Sign,
            StepResult::Signature {
                signature: "c2ln".into(),
                document_hash: format!("sha256:{}", "a".repeat(64)),
            },
        ),
        WebhookEvent::SessionCompleted(ended(SessionStatus::Completed, None)),
        WebhookEvent::SessionStopped(ended(SessionStatus::Stopped, None)),
        WebhookEvent::SessionFailed(ended(SessionStatus::Failed, Some("credential_expired"))),
        WebhookEvent::SessionExpired(ended(SessionStatus::Expired, Some("step_window"))),
    ]
}

#[tokio::test]
async fn hand_written_schemas_match_the_wire_form() {
    use uip_types::validate;
    let sb = Sandbox::start().await;
    let doc = document(&sb).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap().clone();
    let c = Checker { schemas: &schemas };

    // What the types serialize is accepted by their schemas.
    for req in every_create_request() {
        let v = serde_json::to_value(&req).unwrap();
        c.named("CreateSessionRequest", &v).unwrap();
        for s in &req.steps {
            c.named("Step", &serde_json::to_value(s).unwrap()).unwrap();
        }
    }
    for e in every_event() {
        c.named("WebhookEvent", &serde_json::to_value(&e).unwrap())
            .unwrap_or_else(|err| panic!("{}: {err}", e.name()));
    }
    for p in [
        json!({"document_hash": format!("sha256:{}", "0".repeat(64)), "signature": "x", "documents": [{"name": "a", "sha256": format!("sha256:{}", "0".repeat(64)), "size": 1}]}),
        json!({"document_hash": format!("sha256:{}", "0".repeat(64)), "signature": "x"}),
        json!({"blocks": ["first_name", "full_name"], "claims_digest": format!("sha256:{}", "0".repeat(64))}),
        json!({"satisfied": true, "min_age": 18}),
    ] {
        let proof: uip_types::Proof = serde_json::from_value(p.clone()).unwrap();
        c.named("Proof", &serde_json::to_value(&proof).unwrap()).unwrap();
    }
    for status in uip_types::SessionStatus::KNOWN {
        c.named("SessionStatus", &serde_json::to_value(status).unwrap()).unwrap();
    }
    for code in uip_types::ErrorCode::KNOWN {
        c.named("ErrorCode", &serde_json::to_value(code).unwrap()).unwrap();
    }

    // What the parsers refuse, the schemas refuse too (where a schema can say it).
    for (name, bad) in [
        ("CreateSessionRequest", json!({"steps": []})),
        ("CreateSessionRequest", json!({"steps": [{"primitive": "identify"}], "extra": 1})),
        ("CreateSessionRequest", json!({"steps": [{"primitive": "identify"}], "expires_in": 59})),
        ("CreateSessionRequest", json!({"steps": [{"primitive": "identify"}], "metadata": {"k": 1}})),
        (
            "CreateSessionRequest",
            json!({"steps": [{"primitive": "identify"}], "client_reference_id": "x".repeat(256)}),
        ),
        ("Step", json!({"primitive": "teleport"})),
        ("Step", json!({"primitive": "light_sign"})),
        ("Step", json!({"primitive": "light_sign", "params": {"terms": ""}})),
        ("Step", json!({"primitive": "age_verify", "params": {"min_age": 121}})),
        ("Step", json!({"primitive": "identify", "params": {"min_age": 3}})),
        ("Step", json!({"primitive": "identify", "gate": "yes"})),
        ("Step", json!({"primitive": "sign", "params": {"documents": []}})),
        (
            "WebhookEvent",
            json!({"event": "step.completed", "data": {"session_id": "s", "primitive": "identify", "audit_id": "a"}}),
        ),
        ("WebhookEvent", json!({"event": "session.failed", "data": {"status": "failed"}})),
        ("Proof", json!({"satisfied": true, "min_age": 18, "extra": 1})),
        // One past each limit of uip_types::validate.
        (
            "CreateSessionRequest",
            json!({"steps": vec![json!({"primitive": "identify"}); validate::MAX_STEPS + 1]}),
        ),
        (
            "CreateSessionRequest",
            json!({"steps": [{"primitive": "identify"}], "expires_in": validate::EXPIRES_IN.end() + 1}),
        ),
        (
            "CreateSessionRequest",
            json!({"steps": [{"primitive": "identify"}], "expires_in": validate::EXPIRES_IN.start() - 1}),
        ),
        (
            "CreateSessionRequest",
            json!({"steps": [{"primitive": "identify"}], "metadata": {"k": "v".repeat(validate::MAX_METADATA_VALUE + 1)}}),
        ),
        ("Step", json!({"primitive": "age_verify", "params": {"min_age": validate::MIN_AGE.end() + 1}})),
        (
            "Step",
            json!({"primitive": "light_sign", "params": {"terms": "t".repeat(validate::MAX_TERMS + 1)}}),
        ),
    ] {
        assert!(c.named(name, &bad).is_err(), "{name} schema accepts {bad}");
        match name {
            "CreateSessionRequest" => assert!(uip_types::validate::parse_create_session(&bad).is_err()),
            "Step" => assert!(uip_types::validate::parse_step(&bad, 0).is_err()),
            _ => {}
        }
    }

    // The schema never refuses what the create parser accepts: every seed of the fuzz corpus.
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../uip-types/fuzz/corpus/parse_create_session");
    let mut accepted = 0;
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let Ok(v) = serde_json::from_slice::<Value>(&bytes) else { continue };
        if uip_types::validate::parse_create_session(&v).is_ok() {
            c.named("CreateSessionRequest", &v)
                .unwrap_or_else(|e| panic!("the schema refuses a valid create: {e}"));
            accepted += 1;
        }
    }
    assert!(accepted >= 5, "only {accepted} valid creates in the corpus");

    // Live answers of the sandbox match their schemas.
    let http = reqwest::Client::new();
    let base = sb.base_url().to_owned();
    let key = sb.api_key().expose().to_owned();
    let created: Value = http
        .post(format!("{base}/v1/sessions"))
        .bearer_auth(&key)
        .json(&json!({"steps": [{"primitive": "identify", "gate": true}, {"primitive": "light_sign", "params": {"terms": "t"}}], "metadata": {"a": "b"}}))
        .send().await.unwrap().json().await.unwrap();
    c.named("CreatedSession", &created).unwrap();
    let id = created["id"].as_str().unwrap();
    let open: Value = http.post(format!("{base}/s/{id}/open")).send().await.unwrap().json().await.unwrap();
    c.named("OpenResponse", &open).unwrap();
    let t = open["binding"].as_str().unwrap();
    let state: Value = http
        .get(format!("{base}/s/{id}/state"))
        .header("x-uip-binding", t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.named("PageState", &state).unwrap();
    let request: Value = http
        .get(format!("{base}/s/{id}/request"))
        .header("x-uip-binding", t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.named("WalletRequest", &request).unwrap();
    let body = json!({"nonce": request["nonce"], "wallet": "apple-wallet", "action": "share", "persona": "jane-doe"});
    c.named("WalletResponse", &body).unwrap();
    let result: Value = http
        .post(format!("{base}/s/{id}/response"))
        .header("x-uip-binding", t)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.named("ResponseResult", &result).unwrap();
    let audit: Value = http
        .get(format!("{base}/v1/audits/{id}_0"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.named("AuditRecord", &audit).unwrap();
    let event = sb.next_event(id, std::time::Duration::from_secs(5)).await.unwrap();
    c.named("WebhookEvent", &serde_json::to_value(&event).unwrap()).unwrap();
    for (path, name) in [
        ("/v1/catalog", "CatalogResponse"),
        ("/v1/wallets", "WalletsResponse"),
        ("/_sandbox/personas", "Personas"),
        ("/_sandbox/business", "BusinessView"),
        ("/_sandbox/inbox", "Inbox"),
        (&format!("/_sandbox/deliveries?session_id={id}") as &str, "DeliveryLog"),
        (&format!("/v1/sessions/{id}") as &str, "SessionView"),
    ] {
        let v: Value =
            http.get(format!("{base}{path}")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        c.named(name, &v).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let err: Value = http
        .get(format!("{base}/v1/sessions/nope"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.named("ApiErrorBody", &err).unwrap();
}
