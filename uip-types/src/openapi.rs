//! OpenAPI 3.1 schemas (`utoipa`) for the types whose serde is written by hand: the open string
//! enums, the create request and its steps, audit proofs and webhook events. Every other wire type
//! derives `ToSchema` next to its serde derive. Only with the `openapi` feature.
//!
//! Each schema here is written as JSON in the wire form the hand-written serde code reads and
//! writes; the tests below check that every one converts to utoipa's model without loss.

use std::borrow::Cow;

use serde_json::{json, Value};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::validate::{
    DEFAULT_EXPIRES_IN, EXPIRES_IN, MAX_CLIENT_REFERENCE_ID, MAX_METADATA_KEY, MAX_METADATA_KEYS,
    MAX_METADATA_VALUE, MAX_RETURN_URL, MAX_STEPS, MAX_TERMS, MAX_TITLE, MIN_AGE,
};
use crate::{
    AgeVerifyParams, Block, CreateSessionRequest, ErrorCode, IdentifyParams, LightSignParams, Primitive,
    Proof, ProofDocument, SessionEnded, SessionId, SessionStatus, SignParams, Step, StepCompleted, WalletId,
    WebhookEvent,
};

type Schemas = Vec<(String, RefOr<Schema>)>;

/// A schema from its JSON form (every one here is covered by a lossless round-trip test).
fn from_json(v: Value) -> RefOr<Schema> {
    match serde_json::from_value(v) {
        Ok(s) => s,
        Err(e) => panic!("uip-types: a hand-written OpenAPI schema does not parse: {e}"),
    }
}

/// `#/components/schemas/{T}`.
fn reference<T: ToSchema>() -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", T::name()) })
}

/// Registers `T` and everything it references.
fn add<T: ToSchema>(schemas: &mut Schemas) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// An open string enum: one of the known values, or any other string (kept verbatim by the types).
fn open_enum_json(known: &[&str], description: &str) -> Value {
    json!({
        "description": description,
        "anyOf": [
            { "type": "string", "enum": known },
            { "type": "string", "description": "A value this version does not know (kept verbatim)." }
        ],
        "examples": [known[0]]
    })
}

macro_rules! open_enum_schema {
    ($ty:ty, $description:literal) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                let known: Vec<&str> = <$ty>::KNOWN.iter().map(|v| v.as_str()).collect();
                from_json(open_enum_json(&known, $description))
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($ty))
            }
        }
    };
}

open_enum_schema!(SessionStatus, "Where a session is in its lifecycle.");
open_enum_schema!(Primitive, "One verified action a step performs.");
open_enum_schema!(
    Block,
    "An identify block. Unknown names are accepted in requests and answered with \"unavailable\"."
);
open_enum_schema!(WalletId, "The wallet that fulfilled a step.");
open_enum_schema!(ErrorCode, "The machine-readable `category/slug` of an error body.");

fn nullable(schema: Value) -> Value {
    json!({ "oneOf": [schema, { "type": "null" }] })
}

fn identify_params_json() -> Value {
    json!({
        "type": "object",
        "description": "Params of `identify`. `null` counts as absent.",
        "properties": {
            "blocks": nullable(json!({
                "type": "array",
                "description": "Requested blocks (default first_name, last_name, dob); duplicates are collapsed.",
                "items": reference::<Block>()
            }))
        },
        "additionalProperties": false
    })
}

impl PartialSchema for IdentifyParams {
    fn schema() -> RefOr<Schema> {
        from_json(identify_params_json())
    }
}

impl ToSchema for IdentifyParams {
    fn schemas(schemas: &mut Schemas) {
        add::<Block>(schemas);
    }
}

fn age_verify_params_json() -> Value {
    json!({
        "type": "object",
        "description": "Params of `age_verify`. `null` counts as absent.",
        "properties": {
            "min_age": {
                "type": ["integer", "null"],
                "description": "Threshold; default 18.",
                "minimum": MIN_AGE.start(),
                "maximum": MIN_AGE.end()
            }
        },
        "additionalProperties": false
    })
}

impl PartialSchema for AgeVerifyParams {
    fn schema() -> RefOr<Schema> {
        from_json(age_verify_params_json())
    }
}

impl ToSchema for AgeVerifyParams {}

fn light_sign_params_json() -> Value {
    json!({
        "type": "object",
        "description": "Params of `light_sign`.",
        "required": ["terms"],
        "properties": {
            "terms": {
                "type": "string",
                "description": "The terms the user signs (Unicode scalar values).",
                "minLength": 1,
                "maxLength": MAX_TERMS
            },
            "title": { "type": ["string", "null"], "maxLength": MAX_TITLE }
        },
        "additionalProperties": false
    })
}

impl PartialSchema for LightSignParams {
    fn schema() -> RefOr<Schema> {
        from_json(light_sign_params_json())
    }
}

impl ToSchema for LightSignParams {}

fn sign_params_json() -> Value {
    json!({
        "type": "object",
        "description": "Params of `sign` (multipart create only). `documents` may be omitted when the \
                        session has exactly one sign step: then every uploaded document, in upload order.",
        "properties": {
            "documents": nullable(json!({
                "type": "array",
                "description": "Filenames of uploaded `document` parts, in signing order.",
                "items": { "type": "string" },
                "minItems": 1
            }))
        },
        "additionalProperties": false
    })
}

impl PartialSchema for SignParams {
    fn schema() -> RefOr<Schema> {
        from_json(sign_params_json())
    }
}

impl ToSchema for SignParams {}

fn step_variant(primitive: &str, params: Value, params_required: bool) -> Value {
    let mut required = vec!["primitive"];
    let params = if params_required {
        required.push("params");
        params
    } else {
        nullable(params)
    };
    json!({
        "type": "object",
        "description": format!("A step with primitive `{primitive}`."),
        "required": required,
        "properties": {
            "primitive": { "type": "string", "enum": [primitive] },
            "params": params,
            "gate": {
                "type": ["boolean", "null"],
                "description": "Pause after this step (awaiting_decision) until continue or stop."
            }
        },
        "additionalProperties": false
    })
}

/// The named variants of `Step`: `(primitive, schema name, schema)`.
fn step_variants() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("identify", "IdentifyStep", step_variant("identify", reference::<IdentifyParams>(), false)),
        ("age_verify", "AgeVerifyStep", step_variant("age_verify", reference::<AgeVerifyParams>(), false)),
        ("light_sign", "LightSignStep", step_variant("light_sign", reference::<LightSignParams>(), true)),
        ("sign", "SignStep", step_variant("sign", reference::<SignParams>(), false)),
    ]
}

/// `#/components/schemas/{name}`.
fn reference_to(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A union of named schemas, told apart by the value of `property` (OpenAPI `discriminator`,
/// which the client generators map to one class per variant).
fn discriminated(description: &str, property: &str, variants: &[(&str, &str, Value)]) -> Value {
    let mapping: serde_json::Map<String, Value> = variants
        .iter()
        .map(|(tag, name, _)| ((*tag).to_owned(), Value::String(format!("#/components/schemas/{name}"))))
        .collect();
    json!({
        "description": description,
        "oneOf": variants.iter().map(|(_, name, _)| reference_to(name)).collect::<Vec<_>>(),
        "discriminator": { "propertyName": property, "mapping": mapping }
    })
}

/// Registers named variants.
fn add_variants(schemas: &mut Schemas, variants: Vec<(&'static str, &'static str, Value)>) {
    for (_, name, schema) in variants {
        schemas.push((name.to_owned(), from_json(schema)));
    }
}

fn step_json() -> Value {
    let mut v = discriminated(
        "One step of a session: a primitive with its params, and whether to pause after it.",
        "primitive",
        &step_variants(),
    );
    v["examples"] = json!([
        { "primitive": "identify", "params": { "blocks": ["first_name", "last_name", "country"] } },
        { "primitive": "age_verify", "params": { "min_age": 21 }, "gate": true }
    ]);
    v
}

impl PartialSchema for Step {
    fn schema() -> RefOr<Schema> {
        from_json(step_json())
    }
}

impl ToSchema for Step {
    fn schemas(schemas: &mut Schemas) {
        add_variants(schemas, step_variants());
        add::<IdentifyParams>(schemas);
        add::<AgeVerifyParams>(schemas);
        add::<LightSignParams>(schemas);
        add::<SignParams>(schemas);
    }
}

fn create_session_request_json() -> Value {
    json!({
        "type": "object",
        "description": "The body of `POST /v1/sessions` (the `session` part of a multipart create). \
                        `null` optional fields count as absent; lengths count Unicode scalar values.",
        "required": ["steps"],
        "properties": {
            "steps": {
                "type": "array",
                "description": "Ordered steps; a primitive may repeat.",
                "items": reference::<Step>(),
                "minItems": 1,
                "maxItems": MAX_STEPS
            },
            "client_reference_id": {
                "type": ["string", "null"],
                "description": "Echoed in every webhook and read; stamped into audits.",
                "maxLength": MAX_CLIENT_REFERENCE_ID
            },
            "metadata": nullable(json!({
                "type": "object",
                "description": "Operational key/values, echoed on webhooks and reads.",
                "maxProperties": MAX_METADATA_KEYS,
                "propertyNames": { "type": "string", "minLength": 1, "maxLength": MAX_METADATA_KEY },
                "additionalProperties": { "type": "string", "maxLength": MAX_METADATA_VALUE }
            })),
            "return_url": {
                "type": ["string", "null"],
                "description": "Absolute https URL for the hosted page's \"Return to\" button (parsed as \
                                a WHATWG URL: scheme https and a host).",
                "format": "uri",
                "maxLength": MAX_RETURN_URL
            },
            "expires_in": {
                "type": ["integer", "null"],
                "description": format!("Session TTL in seconds; default {DEFAULT_EXPIRES_IN}."),
                "minimum": EXPIRES_IN.start(),
                "maximum": EXPIRES_IN.end()
            }
        },
        "additionalProperties": false,
        "examples": [{
            "steps": [
                { "primitive": "identify", "params": { "blocks": ["first_name", "last_name", "country"] } },
                { "primitive": "age_verify", "params": { "min_age": 21 } }
            ],
            "client_reference_id": "order_4815",
            "return_url": "https://shop.example.com/verified"
        }]
    })
}

impl PartialSchema for CreateSessionRequest {
    fn schema() -> RefOr<Schema> {
        from_json(create_session_request_json())
    }
}

impl ToSchema for CreateSessionRequest {
    fn schemas(schemas: &mut Schemas) {
        add::<Step>(schemas);
    }
}

/// The named shapes of `Proof`: `(primitive, schema name, schema)`. A proof carries no tag of its
/// own (its record's `primitive` says which); the shapes are told apart by their fields, and each
/// refuses the fields of the others (`sign` first: it has every field of `light_sign`).
fn proof_variants() -> Vec<(&'static str, &'static str, Value)> {
    let hash = json!({ "type": "string", "pattern": "^sha256:[0-9a-f]{64}$" });
    let signature = json!({ "type": "string", "description": "Ed25519, base64url without padding." });
    vec![
        (
            "sign",
            "SignProof",
            json!({
                "type": "object",
                "description": "The proof of a `sign` step.",
                "required": ["document_hash", "signature", "documents"],
                "properties": {
                    "document_hash": hash,
                    "signature": signature,
                    "documents": { "type": "array", "items": reference::<ProofDocument>() }
                },
                "additionalProperties": false
            }),
        ),
        (
            "light_sign",
            "LightSignProof",
            json!({
                "type": "object",
                "description": "The proof of a `light_sign` step.",
                "required": ["document_hash", "signature"],
                "properties": { "document_hash": hash, "signature": signature },
                "additionalProperties": false
            }),
        ),
        (
            "identify",
            "IdentifyProof",
            json!({
                "type": "object",
                "description": "The proof of an `identify` step.",
                "required": ["blocks", "claims_digest"],
                "properties": {
                    "blocks": { "type": "array", "items": reference::<Block>() },
                    "claims_digest": hash
                },
                "additionalProperties": false
            }),
        ),
        (
            "age_verify",
            "AgeVerifyProof",
            json!({
                "type": "object",
                "description": "The proof of an `age_verify` step.",
                "required": ["satisfied", "min_age"],
                "properties": {
                    "satisfied": { "type": "boolean" },
                    "min_age": { "type": "integer", "minimum": 0, "maximum": 255 }
                },
                "additionalProperties": false
            }),
        ),
    ]
}

fn proof_json() -> Value {
    json!({
        "description": "PII-free proof of an audit record; its shape depends on the record's `primitive`.",
        "oneOf": proof_variants().iter().map(|(_, name, _)| reference_to(name)).collect::<Vec<_>>(),
        "examples": [{ "satisfied": true, "min_age": 21 }]
    })
}

impl PartialSchema for Proof {
    fn schema() -> RefOr<Schema> {
        from_json(proof_json())
    }
}

impl ToSchema for Proof {
    fn schemas(schemas: &mut Schemas) {
        add_variants(schemas, proof_variants());
        add::<ProofDocument>(schemas);
        add::<Block>(schemas);
    }
}

fn context_properties() -> serde_json::Map<String, Value> {
    let v = json!({
        "session_id": reference::<SessionId>(),
        "client_reference_id": { "type": "string", "description": "Present when set at create." },
        "metadata": {
            "type": "object",
            "description": "Present when set at create.",
            "additionalProperties": { "type": "string" }
        }
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn step_completed_json() -> Value {
    let mut properties = context_properties();
    let result = json!({
        "stage": { "type": "integer", "minimum": 0 },
        "primitive": reference::<Primitive>(),
        "audit_id": { "type": "string", "description": "`{session_id}_{stage}`." },
        "claims": {
            "type": "object",
            "description": "identify only: the requested claims (\"unavailable\" for blocks the credential lacks)."
        },
        "satisfied": { "type": "boolean", "description": "age_verify only." },
        "min_age": { "type": "integer", "minimum": 0, "maximum": 255, "description": "age_verify only." },
        "signature": { "type": "string", "description": "sign / light_sign only: base64url Ed25519." },
        "document_hash": { "type": "string", "description": "sign / light_sign only: `sha256:<hex>`." }
    });
    if let Value::Object(m) = result {
        properties.extend(m);
    }
    json!({
        "type": "object",
        "description": "`data` of `step.completed`: the session, its echoes, and the verified result.",
        "required": ["session_id", "stage", "primitive", "audit_id"],
        "properties": properties
    })
}

impl PartialSchema for StepCompleted {
    fn schema() -> RefOr<Schema> {
        from_json(step_completed_json())
    }
}

impl ToSchema for StepCompleted {
    fn schemas(schemas: &mut Schemas) {
        add::<SessionId>(schemas);
        add::<Primitive>(schemas);
    }
}

fn session_ended_json() -> Value {
    let mut properties = context_properties();
    properties.insert("status".into(), reference::<SessionStatus>());
    properties.insert(
        "reason".into(),
        json!({
            "type": "string",
            "description": "session.failed: the failure code; session.expired: session_ttl or step_window."
        }),
    );
    json!({
        "type": "object",
        "description": "`data` of the terminal `session.*` events.",
        "required": ["session_id", "status"],
        "properties": properties
    })
}

impl PartialSchema for SessionEnded {
    fn schema() -> RefOr<Schema> {
        from_json(session_ended_json())
    }
}

impl ToSchema for SessionEnded {
    fn schemas(schemas: &mut Schemas) {
        add::<SessionId>(schemas);
        add::<SessionStatus>(schemas);
    }
}

fn event_variant(event: &str, data: Value) -> Value {
    json!({
        "type": "object",
        "description": format!("The body of a `{event}` webhook."),
        "required": ["event", "data"],
        "properties": {
            "event": { "type": "string", "enum": [event] },
            "data": data
        }
    })
}

/// The named variants of `WebhookEvent`: `(event, schema name, schema)`.
fn event_variants() -> Vec<(&'static str, &'static str, Value)> {
    let ended = reference::<SessionEnded>();
    vec![
        (
            crate::STEP_COMPLETED,
            "StepCompletedEvent",
            event_variant(crate::STEP_COMPLETED, reference::<StepCompleted>()),
        ),
        (
            crate::SESSION_COMPLETED,
            "SessionCompletedEvent",
            event_variant(crate::SESSION_COMPLETED, ended.clone()),
        ),
        (crate::SESSION_STOPPED, "SessionStoppedEvent", event_variant(crate::SESSION_STOPPED, ended.clone())),
        (crate::SESSION_FAILED, "SessionFailedEvent", event_variant(crate::SESSION_FAILED, ended.clone())),
        (crate::SESSION_EXPIRED, "SessionExpiredEvent", event_variant(crate::SESSION_EXPIRED, ended)),
    ]
}

/// Every webhook event and the name of its body's schema among the schemas `WebhookEvent`
/// registers (for an OpenAPI document's `webhooks` section): `("step.completed",
/// "StepCompletedEvent")`, …. Only with the `openapi` feature.
pub fn webhook_event_schemas() -> Vec<(&'static str, &'static str)> {
    event_variants().into_iter().map(|(event, name, _)| (event, name)).collect()
}

fn webhook_event_json() -> Value {
    let mut v = discriminated(
        "A webhook body `{event, data}`. Receivers should ignore events they do not know.",
        "event",
        &event_variants(),
    );
    v["examples"] = json!([

            {
                "event": "step.completed",
                "data": {
                    "session_id": "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w",
                    "client_reference_id": "order_4815",
                    "stage": 0,
                    "primitive": "identify",
                    "audit_id": "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w_0",
                    "claims": { "first_name": "Jane", "last_name": "Doe", "country": "US" }
                }
            },
            {
                "event": "session.failed",
                "data": {
                    "session_id": "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w",
                    "status": "failed",
                    "reason": "credential_expired"
                }
            }
    ]);
    v
}

impl PartialSchema for WebhookEvent {
    fn schema() -> RefOr<Schema> {
        from_json(webhook_event_json())
    }
}

impl ToSchema for WebhookEvent {
    fn schemas(schemas: &mut Schemas) {
        add_variants(schemas, event_variants());
        add::<StepCompleted>(schemas);
        add::<SessionEnded>(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every hand-written schema: its name, the JSON it was written as, and what utoipa holds.
    fn hand_written() -> Vec<(Cow<'static, str>, Value, RefOr<Schema>)> {
        fn one<T: ToSchema>(json: Value) -> (Cow<'static, str>, Value, RefOr<Schema>) {
            (T::name(), json, T::schema())
        }
        fn open<T: ToSchema>(known: &[&str]) -> (Cow<'static, str>, Value, RefOr<Schema>) {
            let json = serde_json::to_value(T::schema()).unwrap();
            let description = json["description"].as_str().unwrap().to_owned();
            one::<T>(open_enum_json(known, &description))
        }
        let status: Vec<&str> = SessionStatus::KNOWN.iter().map(|v| v.as_str()).collect();
        let primitive: Vec<&str> = Primitive::KNOWN.iter().map(|v| v.as_str()).collect();
        let block: Vec<&str> = Block::KNOWN.iter().map(|v| v.as_str()).collect();
        let wallet: Vec<&str> = WalletId::KNOWN.iter().map(|v| v.as_str()).collect();
        let code: Vec<&str> = ErrorCode::KNOWN.iter().map(|v| v.as_str()).collect();
        vec![
            open::<SessionStatus>(&status),
            open::<Primitive>(&primitive),
            open::<Block>(&block),
            open::<WalletId>(&wallet),
            open::<ErrorCode>(&code),
            one::<IdentifyParams>(identify_params_json()),
            one::<AgeVerifyParams>(age_verify_params_json()),
            one::<LightSignParams>(light_sign_params_json()),
            one::<SignParams>(sign_params_json()),
            one::<Step>(step_json()),
            one::<CreateSessionRequest>(create_session_request_json()),
            one::<Proof>(proof_json()),
            one::<StepCompleted>(step_completed_json()),
            one::<SessionEnded>(session_ended_json()),
            one::<WebhookEvent>(webhook_event_json()),
        ]
    }

    /// utoipa's model drops keys it does not know (such as `const`): every hand-written schema
    /// must come back out exactly as it was written.
    #[test]
    fn hand_written_schemas_convert_without_loss() {
        for (name, json, schema) in hand_written() {
            assert_eq!(serde_json::to_value(&schema).unwrap(), json, "{name}");
        }
        for (_, name, json) in step_variants().into_iter().chain(proof_variants()).chain(event_variants()) {
            assert_eq!(serde_json::to_value(from_json(json.clone())).unwrap(), json, "{name}");
        }
    }

    /// A discriminated union maps every tag to one of its branches, and each branch's tag
    /// property admits exactly that tag.
    #[test]
    fn discriminators_map_every_variant() {
        for (union, property, variants) in
            [(step_json(), "primitive", step_variants()), (webhook_event_json(), "event", event_variants())]
        {
            assert_eq!(union["discriminator"]["propertyName"], property);
            let branches = union["oneOf"].as_array().unwrap();
            assert_eq!(branches.len(), variants.len());
            for (tag, name, schema) in &variants {
                let target = format!("#/components/schemas/{name}");
                assert_eq!(union["discriminator"]["mapping"][*tag], json!(target));
                assert!(branches.contains(&json!({ "$ref": target })));
                assert_eq!(schema["properties"][property]["enum"], json!([tag]));
                assert!(schema["required"].as_array().unwrap().contains(&json!(property)));
            }
        }
        let events: Vec<&str> = event_variants().iter().map(|(e, _, _)| *e).collect();
        assert_eq!(
            events,
            [
                crate::STEP_COMPLETED,
                crate::SESSION_COMPLETED,
                crate::SESSION_STOPPED,
                crate::SESSION_FAILED,
                crate::SESSION_EXPIRED
            ]
        );
    }

    /// Every `$ref` of a hand-written schema names a schema its `schemas()` registers.
    #[test]
    fn references_are_registered() {
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r.trim_start_matches("#/components/schemas/").to_owned());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        fn check<T: ToSchema>() {
            let mut registered = Vec::new();
            T::schemas(&mut registered);
            let names: Vec<String> = registered.iter().map(|(n, _)| n.clone()).collect();
            let mut wanted = Vec::new();
            refs(&serde_json::to_value(T::schema()).unwrap(), &mut wanted);
            for (_, s) in &registered {
                refs(&serde_json::to_value(s).unwrap(), &mut wanted);
            }
            for w in wanted {
                assert!(names.contains(&w), "{}: {w} is referenced but not registered", T::name());
            }
        }
        check::<CreateSessionRequest>();
        check::<Step>();
        check::<Proof>();
        check::<WebhookEvent>();
        check::<StepCompleted>();
        check::<SessionEnded>();
        check::<IdentifyParams>();
    }

    #[test]
    fn examples_parse_into_their_types() {
        // Every type below has examples: none at all would make this test pass for nothing.
        fn examples<T: ToSchema>() -> Vec<Value> {
            let v = serde_json::to_value(T::schema()).unwrap();
            let examples = v.get("examples").and_then(Value::as_array).cloned().unwrap_or_default();
            assert!(!examples.is_empty(), "{} has no examples", T::name());
            examples
        }
        for e in examples::<CreateSessionRequest>() {
            serde_json::from_value::<CreateSessionRequest>(e).unwrap();
        }
        for e in examples::<Step>() {
            serde_json::from_value::<Step>(e).unwrap();
        }
        for e in examples::<WebhookEvent>() {
            let ev = serde_json::from_value::<WebhookEvent>(e).unwrap();
            assert!(!matches!(ev, WebhookEvent::Unknown { .. }));
        }
        for e in examples::<Proof>() {
            let p = serde_json::from_value::<Proof>(e).unwrap();
            assert!(!matches!(p, Proof::Other(_)));
        }
        for e in examples::<ErrorCode>() {
            assert!(serde_json::from_value::<ErrorCode>(e).unwrap().is_known());
        }
    }

    #[test]
    fn open_enums_list_every_known_value() {
        let v = serde_json::to_value(SessionStatus::schema()).unwrap();
        assert_eq!(v["anyOf"][0]["enum"].as_array().unwrap().len(), SessionStatus::KNOWN.len());
        let v = serde_json::to_value(ErrorCode::schema()).unwrap();
        assert_eq!(v["anyOf"][0]["enum"].as_array().unwrap().len(), ErrorCode::KNOWN.len());
    }
}
