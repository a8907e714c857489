//! `GET /openapi.json`: the document covers every route the router has (read from the router's
//! source, and probed live), and every example in it parses into its `uip-types` type.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use uip_sandbox::Sandbox;

/// The router's source files and the prefix each one's routes are mounted under.
const ROUTER_SOURCES: &[(&str, &str)] = &[
    ("api.rs", include_str!("../../src/http/api.rs")),
    ("page.rs", include_str!("../../src/http/page.rs")),
    ("control.rs", include_str!("../../src/http/control.rs")),
    ("openapi.rs", include_str!("../../src/http/openapi.rs")),
    ("mod.rs", include_str!("../../src/http/mod.rs")),
];

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options", "trace"];

/// Every `(METHOD, path)` the router's code mounts: each `.route("path", get(..).post(..))` call,
/// with the prefix of the `.nest("/prefix", module::routes()…)` that mounts the file's router.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let mod_rs = ROUTER_SOURCES.iter().find(|(f, _)| *f == "mod.rs").unwrap().1;
    let mut prefixes: BTreeMap<String, String> = BTreeMap::new();
    // `let v1 = api::routes()…; … .nest("/v1", v1)` or `.nest("/v1", api::routes())`.
    for (i, _) in mod_rs.match_indices(".nest(\"") {
        let rest = &mod_rs[i + 7..];
        let prefix = &rest[..rest.find('"').unwrap()];
        let arg = rest[rest.find(',').unwrap() + 1..].trim_start();
        let arg: String = arg.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
        let module = if let Some(m) = arg.strip_suffix("::routes") {
            m.to_owned()
        } else {
            // A variable: find `let {arg} = module::routes()`.
            let decl = format!("let {arg} = ");
            let at = mod_rs.find(&decl).unwrap_or_else(|| panic!("cannot resolve .nest argument {arg}"));
            let rhs = &mod_rs[at + decl.len()..];
            rhs[..rhs.find("::routes()").expect("nest of a module's routes()")].to_owned()
        };
        prefixes.insert(format!("{module}.rs"), prefix.to_owned());
    }
    let mut out = BTreeSet::new();
    for (file, src) in ROUTER_SOURCES {
        let prefix = prefixes.get(*file).cloned().unwrap_or_default();
        for (i, _) in src.match_indices(".route(\"") {
            let rest = &src[i + 8..];
            let path = &rest[..rest.find('"').unwrap()];
            // The method router: the rest of the `.route(` call, up to its closing parenthesis.
            let args = &rest[path.len() + 1..];
            let mut depth = 1;
            let mut end = args.len();
            for (j, c) in args.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let call = &args[..end];
            // Method names at the method-router level: `get(`, `axum::routing::get(`, `.patch(`,
            // but not inside the handler expressions (depth 0 of `call` only).
            let mut depth = 0;
            let mut found = Vec::new();
            for (j, c) in call.char_indices() {
                match c {
                    '(' => {
                        if depth == 0 {
                            let before = &call[..j];
                            let ident: String = before
                                .chars()
                                .rev()
                                .take_while(|c| c.is_alphanumeric() || *c == '_')
                                .collect::<String>()
                                .chars()
                                .rev()
                                .collect();
                            if METHODS.contains(&ident.as_str()) {
                                found.push(ident.to_uppercase());
                            }
                        }
                        depth += 1;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
            }
            assert!(!found.is_empty(), "{file}: no method found for route {path}: {call}");
            for m in found {
                out.insert((m, format!("{prefix}{path}")));
            }
        }
    }
    out
}

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
    assert!(doc["webhooks"]["uipEvent"]["post"].is_object());
    // operationIds are unique.
    let mut ids = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().expect("every operation has an operationId");
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
        }
    }
}

#[tokio::test]
async fn every_route_of_the_router_is_documented_and_nothing_else() {
    let from_source = routes_in_source();
    // Sanity: the extraction sees the routes it must (one per router file at least).
    for known in [
        ("POST", "/v1/sessions"),
        ("GET", "/s/{id}/documents/{index}"),
        ("PATCH", "/_sandbox/business"),
        ("GET", "/_sandbox/inbox"),
        ("POST", "/_sandbox/inbox"),
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
    ] {
        assert!(
            from_source.contains(&(known.0.to_owned(), known.1.to_owned())),
            "route extraction missed {known:?}: {from_source:?}"
        );
    }
    let sb = Sandbox::start().await;
    let doc = document(&sb).await;
    let documented = routes_in_document(&doc);
    let undocumented: Vec<_> = from_source.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&from_source).collect();
    assert!(undocumented.is_empty(), "routes missing from /openapi.json: {undocumented:?}");
    assert!(phantom.is_empty(), "documented routes the router does not have: {phantom:?}");
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

/// Walks the document: every `example`/`examples` is checked where it stands.
#[tokio::test]
async fn every_example_parses_into_its_uip_types_struct() {
    let sb = Sandbox::start().await;
    let doc = document(&sb).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
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
                                assert!(body.code.is_known(), "{what}: {e}");
                                assert_eq!(body.code.http_status(), status, "{what}: {e}");
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
// The hand-written schemas match the wire form: a small JSON Schema checker (the keywords the
// document uses; `pattern` and `format` are not checked) run on values the uip-types code
// serializes, on values its parsers accept, and on values they refuse.

struct Checker<'a> {
    schemas: &'a serde_json::Map<String, Value>,
}

impl Checker<'_> {
    fn named(&self, name: &str, v: &Value) -> Result<(), String> {
        let s = self.schemas.get(name).ok_or_else(|| format!("no schema {name}"))?;
        self.check(s, v, name)
    }

    fn check(&self, s: &Value, v: &Value, at: &str) -> Result<(), String> {
        let fail = |why: String| Err(format!("{at}: {why} (value {v})"));
        if let Some(name) = ref_name(s) {
            return self.named(name, v).map_err(|e| format!("{at} → {e}"));
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(t) => vec![t.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let ok = types.iter().any(|t| match *t {
                "null" => v.is_null(),
                "boolean" => v.is_boolean(),
                "string" => v.is_string(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                "number" => v.is_number(),
                "integer" => v.is_i64() || v.is_u64(),
                _ => false,
            });
            if !ok {
                return fail(format!("not of type {types:?}"));
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            if !e.contains(v) {
                return fail(format!("not one of {e:?}"));
            }
        }
        if let Some(n) = v.as_f64() {
            if s.get("minimum").and_then(Value::as_f64).is_some_and(|m| n < m) {
                return fail("below minimum".into());
            }
            if s.get("maximum").and_then(Value::as_f64).is_some_and(|m| n > m) {
                return fail("above maximum".into());
            }
        }
        if let Some(text) = v.as_str() {
            let n = text.chars().count() as u64;
            if s.get("minLength").and_then(Value::as_u64).is_some_and(|m| n < m) {
                return fail("too short".into());
            }
            if s.get("maxLength").and_then(Value::as_u64).is_some_and(|m| n > m) {
                return fail("too long".into());
            }
        }
        if let Some(items) = v.as_array() {
            let n = items.len() as u64;
            if s.get("minItems").and_then(Value::as_u64).is_some_and(|m| n < m) {
                return fail("too few items".into());
            }
            if s.get("maxItems").and_then(Value::as_u64).is_some_and(|m| n > m) {
                return fail("too many items".into());
            }
            if let Some(item) = s.get("items") {
                for (i, x) in items.iter().enumerate() {
                    self.check(item, x, &format!("{at}[{i}]"))?;
                }
            }
        }
        if let Some(obj) = v.as_object() {
            for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
                if !obj.contains_key(r.as_str().unwrap()) {
                    return fail(format!("lacks required {r}"));
                }
            }
            if s.get("maxProperties").and_then(Value::as_u64).is_some_and(|m| obj.len() as u64 > m) {
                return fail("too many properties".into());
            }
            let props = s.get("properties").and_then(Value::as_object);
            for (k, x) in obj {
                if let Some(names) = s.get("propertyNames") {
                    self.check(names, &Value::String(k.clone()), &format!("{at} key {k}"))?;
                }
                match props.and_then(|p| p.get(k)) {
                    Some(p) => self.check(p, x, &format!("{at}.{k}"))?,
                    None => match s.get("additionalProperties") {
                        Some(Value::Bool(false)) => return fail(format!("unknown property {k}")),
                        Some(extra @ Value::Object(_)) => self.check(extra, x, &format!("{at}.{k}"))?,
                        _ => {}
                    },
                }
            }
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for (i, sub) in all.iter().enumerate() {
                self.check(sub, v, &format!("{at}/allOf{i}"))?;
            }
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
            let errors: Vec<String> = any.iter().filter_map(|sub| self.check(sub, v, at).err()).collect();
            if errors.len() == any.len() {
                return fail(format!("matches no anyOf branch: {errors:?}"));
            }
        }
        if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
            let matching = one.iter().filter(|sub| self.check(sub, v, at).is_ok()).count();
            if matching != 1 {
                let errors: Vec<String> = one.iter().filter_map(|sub| self.check(sub, v, at).err()).collect();
                return fail(format!("matches {matching} oneOf branches: {errors:?}"));
            }
        }
        Ok(())
    }
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
    let ctx = EventContext {
        session_id: "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w".into(),
        client_reference_id: Some("r".into()),
        metadata: Some([("k".to_owned(), "v".to_owned())].into()),
    };
    let step = |primitive: uip_types::Primitive, result| {
        WebhookEvent::StepCompleted(StepCompleted {
            context: ctx.clone(),
            stage: 3,
            primitive,
            audit_id: "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w_3".into(),
            result,
        })
    };
    let ended = |status, reason: Option<&str>| SessionEnded {
        context: EventContext { client_reference_id: None, metadata: None, ..ctx.clone() },
        status,
        reason: reason.map(str::to_owned),
    };
    vec![
        step(
            uip_types::Primitive::Identify,
            StepResult::Identify { claims: [("first_name".to_owned(), Value::from("Jane"))].into() },
        ),
        step(uip_types::Primitive::AgeVerify, StepResult::AgeVerify { satisfied: false, min_age: 21 }),
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
        json!({"document_hash": format!("sha256:{}", "0".repeat(64)), "signature": "x", "documents": [{"name": "a", "sha256": "sha256:0", "size": 1}]}),
        json!({"document_hash": "sha256:0", "signature": "x"}),
        json!({"blocks": ["first_name", "full_name"], "claims_digest": "sha256:0"}),
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
