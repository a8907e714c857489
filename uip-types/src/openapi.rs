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
                "minimum": 1,
                "maximum": 120
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
                "maxLength": 10000
            },
            "title": { "type": ["string", "null"], "maxLength": 200 }
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
        "title": primitive,
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

fn step_json() -> Value {
    json!({
        "description": "One step of a session: a primitive with its params, and whether to pause after it.",
        "oneOf": [
            step_variant("identify", reference::<IdentifyParams>(), false),
            step_variant("age_verify", reference::<AgeVerifyParams>(), false),
            step_variant("light_sign", reference::<LightSignParams>(), true),
            step_variant("sign", reference::<SignParams>(), false)
        ],
        "examples": [
            { "primitive": "identify", "params": { "blocks": ["first_name", "last_name", "country"] } },
            { "primitive": "age_verify", "params": { "min_age": 21 }, "gate": true }
        ]
    })
}

impl PartialSchema for Step {
    fn schema() -> RefOr<Schema> {
        from_json(step_json())
    }
}

impl ToSchema for Step {
    fn schemas(schemas: &mut Schemas) {
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
                "maxItems": 20
            },
            "client_reference_id": {
                "type": ["string", "null"],
                "description": "Echoed in every webhook and read; stamped into audits.",
                "maxLength": 255
            },
            "metadata": nullable(json!({
                "type": "object",
                "description": "Operational key/values, echoed on webhooks and reads.",
                "maxProperties": 50,
                "propertyNames": { "type": "string", "minLength": 1, "maxLength": 40 },
                "additionalProperties": { "type": "string", "maxLength": 500 }
            })),
            "return_url": {
                "type": ["string", "null"],
                "description": "Absolute https URL for the hosted page's \"Return to\" button.",
                "format": "uri",
                "pattern": "^https://[^/?#]+",
                "maxLength": 2048
            },
            "expires_in": {
                "type": ["integer", "null"],
                "description": "Session TTL in seconds; default 3600.",
                "minimum": 60,
                "maximum": 86400
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

fn proof_json() -> Value {
    let hash = json!({ "type": "string", "pattern": "^sha256:[0-9a-f]{64}$" });
    json!({
        "description": "PII-free proof of an audit record; its shape depends on the primitive.",
        "anyOf": [
            {
                "type": "object",
                "title": "sign",
                "required": ["document_hash", "signature", "documents"],
                "properties": {
                    "document_hash": hash,
                    "signature": { "type": "string", "description": "Ed25519, base64url without padding." },
                    "documents": { "type": "array", "items": reference::<ProofDocument>() }
                },
                "additionalProperties": false
            },
            {
                "type": "object",
                "title": "light_sign",
                "required": ["document_hash", "signature"],
                "properties": {
                    "document_hash": hash,
                    "signature": { "type": "string", "description": "Ed25519, base64url without padding." }
                },
                "additionalProperties": false
            },
            {
                "type": "object",
                "title": "identify",
                "required": ["blocks", "claims_digest"],
                "properties": {
                    "blocks": { "type": "array", "items": reference::<Block>() },
                    "claims_digest": hash
                },
                "additionalProperties": false
            },
            {
                "type": "object",
                "title": "age_verify",
                "required": ["satisfied", "min_age"],
                "properties": {
                    "satisfied": { "type": "boolean" },
                    "min_age": { "type": "integer", "minimum": 0, "maximum": 255 }
                },
                "additionalProperties": false
            }
        ],
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
        "title": event,
        "required": ["event", "data"],
        "properties": {
            "event": { "type": "string", "enum": [event] },
            "data": data
        }
    })
}

fn webhook_event_json() -> Value {
    let ended = reference::<SessionEnded>();
    json!({
        "description": "A webhook body `{event, data}`. Receivers should ignore events they do not know.",
        "oneOf": [
            event_variant(crate::STEP_COMPLETED, reference::<StepCompleted>()),
            event_variant(crate::SESSION_COMPLETED, ended.clone()),
            event_variant(crate::SESSION_STOPPED, ended.clone()),
            event_variant(crate::SESSION_FAILED, ended.clone()),
            event_variant(crate::SESSION_EXPIRED, ended)
        ],
        "examples": [
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
        ]
    })
}

impl PartialSchema for WebhookEvent {
    fn schema() -> RefOr<Schema> {
        from_json(webhook_event_json())
    }
}

impl ToSchema for WebhookEvent {
    fn schemas(schemas: &mut Schemas) {
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
