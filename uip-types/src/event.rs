//! Webhook events: the body `{"event", "data"}` and the `X-UIP-*` headers.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::ids::{RedactedId, SessionId};
use crate::primitive::Primitive;
use crate::status::SessionStatus;

/// Header carrying the event name.
pub const HEADER_EVENT: &str = "X-UIP-Event";
/// Header carrying the signing time (Unix seconds, decimal).
pub const HEADER_TIMESTAMP: &str = "X-UIP-Timestamp";
/// Header carrying the hex HMAC-SHA256 signature.
pub const HEADER_SIGNATURE: &str = "X-UIP-Signature";
/// Header carrying the delivery id (stable across retries).
pub const HEADER_DELIVERY_ID: &str = "X-UIP-Delivery-Id";

/// Event name of [`WebhookEvent::StepCompleted`].
pub const STEP_COMPLETED: &str = "step.completed";
/// Event name of [`WebhookEvent::SessionCompleted`].
pub const SESSION_COMPLETED: &str = "session.completed";
/// Event name of [`WebhookEvent::SessionStopped`].
pub const SESSION_STOPPED: &str = "session.stopped";
/// Event name of [`WebhookEvent::SessionFailed`].
pub const SESSION_FAILED: &str = "session.failed";
/// Event name of [`WebhookEvent::SessionExpired`].
pub const SESSION_EXPIRED: &str = "session.expired";

/// A webhook body, typed by its `event`.
///
/// ```
/// use uip_types::{StepResult, WebhookEvent};
/// let body = br#"{"event":"step.completed","data":{"session_id":"sess_a","stage":0,
///   "primitive":"age_verify","audit_id":"sess_a_0","satisfied":true,"min_age":21}}"#;
/// let event: WebhookEvent = serde_json::from_slice(body).unwrap();
/// let WebhookEvent::StepCompleted(step) = &event else { panic!() };
/// assert_eq!(step.result, StepResult::AgeVerify { satisfied: true, min_age: Some(21) });
/// assert_eq!(event.delivery_id(), "sess_a:step.completed:0");
/// ```
///
/// Written strictly, read tolerantly (docs/DECISIONS.md §11): a field is required when reading
/// only where every page of docs/UIP-API.md shows it. `min_age` of an `age_verify` result and the
/// `status` and `reason` of the `session.*` events may be absent, and unknown fields are ignored.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `step.completed`: one step verified.
    StepCompleted(StepCompleted),
    /// `session.completed`: every step verified.
    SessionCompleted(SessionEnded),
    /// `session.stopped`: the business stopped at a gate.
    SessionStopped(SessionEnded),
    /// `session.failed`: verification failed, funds ran out, or an internal error.
    SessionFailed(SessionEnded),
    /// `session.expired`: the TTL or a step window elapsed.
    SessionExpired(SessionEnded),
    /// An event this version does not know, kept whole.
    Unknown {
        /// The `event` name.
        event: String,
        /// The `data` object as received.
        data: Value,
    },
}

/// Fields every event's `data` carries.
///
/// Built with [`EventContext::new`] (e.g. for a receiver's tests); read through its fields.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct EventContext {
    /// The session.
    pub session_id: SessionId,
    /// Echo of the create's `client_reference_id`.
    pub client_reference_id: Option<String>,
    /// Echo of the create's `metadata`.
    pub metadata: Option<BTreeMap<String, String>>,
}

impl EventContext {
    /// The context of an event about `session_id`, without echoes.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use uip_types::EventContext;
    /// let context = EventContext::new("sess_abc")
    ///     .with_client_reference_id("order-7")
    ///     .with_metadata(BTreeMap::from([("cart".to_owned(), "c1".to_owned())]));
    /// assert_eq!(context.session_id.as_str(), "sess_abc");
    /// assert_eq!(context.client_reference_id.as_deref(), Some("order-7"));
    /// assert_eq!(context.metadata.unwrap()["cart"], "c1");
    /// ```
    pub fn new(session_id: impl Into<SessionId>) -> Self {
        EventContext { session_id: session_id.into(), client_reference_id: None, metadata: None }
    }

    /// The same context echoing the create's `client_reference_id`.
    pub fn with_client_reference_id(mut self, client_reference_id: impl Into<String>) -> Self {
        self.client_reference_id = Some(client_reference_id.into());
        self
    }

    /// The same context echoing the create's `metadata`.
    pub fn with_metadata(mut self, metadata: BTreeMap<String, String>) -> Self {
        self.metadata = Some(metadata);
        self
    }
}

impl Default for SessionId {
    fn default() -> Self {
        SessionId::from(String::new())
    }
}

/// `step.completed` data.
///
/// `Debug` redacts `audit_id` like [`SessionId`]'s `Debug` does, since it embeds the session id.
///
/// Built with [`StepCompleted::new`] (e.g. for a receiver's tests); read through its fields.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct StepCompleted {
    /// Session id and echoes.
    pub context: EventContext,
    /// Zero-based stage.
    pub stage: u32,
    /// The step's primitive.
    pub primitive: Primitive,
    /// `{session_id}_{stage}`.
    pub audit_id: String,
    /// The verified result.
    pub result: StepResult,
}

impl StepCompleted {
    /// The data of a `step.completed` event: stage `stage` of `context`'s session ran
    /// `primitive` with `result`. The `audit_id` is `{session_id}_{stage}`, as the sandbox
    /// writes it (see [`with_audit_id`](Self::with_audit_id)).
    ///
    /// ```
    /// use uip_types::{EventContext, Primitive, StepCompleted, StepResult, WebhookEvent};
    /// let step = StepCompleted::new(
    ///     EventContext::new("sess_abc"),
    ///     0,
    ///     Primitive::AgeVerify,
    ///     StepResult::AgeVerify { satisfied: true, min_age: Some(21) },
    /// );
    /// assert_eq!(step.audit_id, "sess_abc_0");
    /// let event = WebhookEvent::StepCompleted(step);
    /// assert_eq!(event.delivery_id(), "sess_abc:step.completed:0");
    /// ```
    pub fn new(context: EventContext, stage: u32, primitive: Primitive, result: StepResult) -> Self {
        let audit_id = context.session_id.audit_id(stage);
        StepCompleted { context, stage, primitive, audit_id, result }
    }

    /// The same data with another `audit_id`.
    pub fn with_audit_id(mut self, audit_id: impl Into<String>) -> Self {
        self.audit_id = audit_id.into();
        self
    }
}

impl std::fmt::Debug for StepCompleted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepCompleted")
            .field("context", &self.context)
            .field("stage", &self.stage)
            .field("primitive", &self.primitive)
            .field("audit_id", &RedactedId(&self.audit_id))
            .field("result", &self.result)
            .finish()
    }
}

/// The result carried by `step.completed`, per primitive.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StepResult {
    /// identify: the requested claims (`"unavailable"` for blocks the credential lacks).
    Identify {
        /// Claims keyed by block name.
        claims: BTreeMap<String, Value>,
    },
    /// age_verify.
    AgeVerify {
        /// Whether the holder is at least `min_age`.
        satisfied: bool,
        /// The threshold. The sandbox always sends it; several pages of the public docs show
        /// `{satisfied}` only, so it may be absent when reading.
        min_age: Option<u8>,
    },
    /// sign or light_sign: the device signature over `document_hash`.
    Signature {
        /// Device signature (base64url, no padding).
        signature: String,
        /// `sha256:<hex>` that was signed.
        document_hash: String,
    },
    /// A primitive this version does not know: the result fields as received.
    Other(Map<String, Value>),
}

impl StepResult {
    /// Writes the result fields into a `data` object (or a `results` entry).
    pub(crate) fn write_fields(&self, data: &mut Map<String, Value>) {
        match self {
            StepResult::Identify { claims } => {
                data.insert("claims".into(), Value::Object(claims.clone().into_iter().collect()));
            }
            StepResult::AgeVerify { satisfied, min_age } => {
                data.insert("satisfied".into(), Value::Bool(*satisfied));
                if let Some(min_age) = min_age {
                    data.insert("min_age".into(), Value::from(*min_age));
                }
            }
            StepResult::Signature { signature, document_hash } => {
                data.insert("signature".into(), Value::String(signature.clone()));
                data.insert("document_hash".into(), Value::String(document_hash.clone()));
            }
            StepResult::Other(extra) => data.extend(extra.clone()),
        }
    }

    /// Reads the result fields of `primitive` from what is left of a `data` object once the
    /// common fields are taken out. Fields a known primitive does not use are ignored; for an
    /// unknown primitive, every field left is kept in [`StepResult::Other`]. The error names the
    /// missing or mistyped field.
    pub(crate) fn from_fields(primitive: &Primitive, mut data: Map<String, Value>) -> Result<Self, String> {
        Ok(match primitive {
            Primitive::Identify => match data.remove("claims") {
                Some(Value::Object(c)) => StepResult::Identify { claims: c.into_iter().collect() },
                _ => return Err("identify needs object field `claims`".into()),
            },
            Primitive::AgeVerify => StepResult::AgeVerify {
                satisfied: data
                    .remove("satisfied")
                    .and_then(|v| v.as_bool())
                    .ok_or("age_verify needs boolean field `satisfied`")?,
                min_age: match data.remove("min_age") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(
                        v.as_u64()
                            .and_then(|v| u8::try_from(v).ok())
                            .ok_or("age_verify: `min_age` must be an integer from 0 to 255")?,
                    ),
                },
            },
            Primitive::Sign | Primitive::LightSign => StepResult::Signature {
                signature: take_field_str(&mut data, "signature")?,
                document_hash: take_field_str(&mut data, "document_hash")?,
            },
            Primitive::Other(_) => StepResult::Other(data),
        })
    }
}

fn take_field_str(data: &mut Map<String, Value>, key: &str) -> Result<String, String> {
    match data.remove(key) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(format!("missing string field `{key}`")),
    }
}

/// Data of the terminal `session.*` events.
///
/// Built with [`SessionEnded::new`] (e.g. for a receiver's tests); read through its fields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionEnded {
    /// Session id and echoes.
    pub context: EventContext,
    /// The terminal status.
    pub status: SessionStatus,
    /// Why (`session.failed`: the failure code; `session.expired`: `session_ttl` or `step_window`).
    pub reason: Option<String>,
}

impl SessionEnded {
    /// The data of a terminal event of `context`'s session that ended with `status`, without
    /// a reason (see [`with_reason`](Self::with_reason)).
    ///
    /// ```
    /// use uip_types::{EventContext, SessionEnded, SessionStatus, WebhookEvent};
    /// let ended = SessionEnded::new(EventContext::new("sess_abc"), SessionStatus::Failed)
    ///     .with_reason("verification_failed");
    /// let event = WebhookEvent::SessionFailed(ended);
    /// assert_eq!(event.name(), "session.failed");
    /// assert_eq!(event.session_id(), "sess_abc");
    /// ```
    pub fn new(context: EventContext, status: SessionStatus) -> Self {
        SessionEnded { context, status, reason: None }
    }

    /// The same data with a reason (`session.failed`: the failure code; `session.expired`:
    /// `session_ttl` or `step_window`).
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

impl WebhookEvent {
    /// The event name.
    pub fn name(&self) -> &str {
        match self {
            WebhookEvent::StepCompleted(_) => STEP_COMPLETED,
            WebhookEvent::SessionCompleted(_) => SESSION_COMPLETED,
            WebhookEvent::SessionStopped(_) => SESSION_STOPPED,
            WebhookEvent::SessionFailed(_) => SESSION_FAILED,
            WebhookEvent::SessionExpired(_) => SESSION_EXPIRED,
            WebhookEvent::Unknown { event, .. } => event,
        }
    }

    /// The session the event is about (empty for an unknown event without `session_id`).
    pub fn session_id(&self) -> &str {
        match self {
            WebhookEvent::StepCompleted(s) => s.context.session_id.as_str(),
            WebhookEvent::SessionCompleted(e)
            | WebhookEvent::SessionStopped(e)
            | WebhookEvent::SessionFailed(e)
            | WebhookEvent::SessionExpired(e) => e.context.session_id.as_str(),
            WebhookEvent::Unknown { data, .. } => {
                data.get("session_id").and_then(Value::as_str).unwrap_or("")
            }
        }
    }

    /// True for the `session.*` events that end a session.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            WebhookEvent::SessionCompleted(_)
                | WebhookEvent::SessionStopped(_)
                | WebhookEvent::SessionFailed(_)
                | WebhookEvent::SessionExpired(_)
        )
    }

    /// The delivery id this event is sent under.
    pub fn delivery_id(&self) -> String {
        match self {
            WebhookEvent::StepCompleted(s) => {
                crate::delivery_id::for_step(s.context.session_id.as_str(), s.stage)
            }
            other => crate::delivery_id::for_session_event(other.session_id(), other.name()),
        }
    }

    /// The body as JSON. The key order of the `Value` is serde_json's (sorted, unless
    /// `preserve_order` is on); for the wire order, serialize the event itself
    /// (`serde_json::to_vec(&event)`).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("an event always serializes to JSON")
    }

    /// Parses a body from JSON. Unknown event names become [`WebhookEvent::Unknown`]; a known
    /// event with missing or mistyped fields is an error.
    pub fn from_value(v: Value) -> Result<Self, String> {
        let Value::Object(mut body) = v else { return Err("body is not a JSON object".into()) };
        let event = match body.remove("event") {
            Some(Value::String(e)) => e,
            _ => return Err("missing string field `event`".into()),
        };
        let data = body.remove("data").unwrap_or(Value::Null);
        let known = [STEP_COMPLETED, SESSION_COMPLETED, SESSION_STOPPED, SESSION_FAILED, SESSION_EXPIRED];
        if !known.contains(&event.as_str()) {
            return Ok(WebhookEvent::Unknown { event, data });
        }
        let Value::Object(mut data) = data else { return Err(format!("{event}: `data` is not an object")) };
        let context = EventContext {
            session_id: take_str(&mut data, "session_id", &event)?.into(),
            client_reference_id: take_opt_str(&mut data, "client_reference_id", &event)?,
            metadata: match data.remove("metadata") {
                None | Some(Value::Null) => None,
                Some(m) => Some(
                    serde_json::from_value(m)
                        .map_err(|e| format!("{event}: `metadata` must be an object of strings: {e}"))?,
                ),
            },
        };
        if event == STEP_COMPLETED {
            let stage = data
                .remove("stage")
                .and_then(|s| s.as_u64())
                .and_then(|s| u32::try_from(s).ok())
                .ok_or_else(|| format!("{event}: missing integer field `stage`"))?;
            let primitive = Primitive::parse(&take_str(&mut data, "primitive", &event)?);
            let audit_id = take_str(&mut data, "audit_id", &event)?;
            let result =
                StepResult::from_fields(&primitive, data).map_err(|field| format!("{event}: {field}"))?;
            return Ok(WebhookEvent::StepCompleted(StepCompleted {
                context,
                stage,
                primitive,
                audit_id,
                result,
            }));
        }
        // docs/UIP-API.md §6.6 shows `session.failed` (and one page `session.stopped`) without
        // `status`: the event name implies it.
        let status = match take_opt_str(&mut data, "status", &event)? {
            Some(s) => SessionStatus::parse(&s),
            None => match event.as_str() {
                SESSION_COMPLETED => SessionStatus::Completed,
                SESSION_STOPPED => SessionStatus::Stopped,
                SESSION_FAILED => SessionStatus::Failed,
                _ => SessionStatus::Expired,
            },
        };
        let reason = take_opt_str(&mut data, "reason", &event)?;
        let ended = SessionEnded { context, status, reason };
        Ok(match event.as_str() {
            SESSION_COMPLETED => WebhookEvent::SessionCompleted(ended),
            SESSION_STOPPED => WebhookEvent::SessionStopped(ended),
            SESSION_FAILED => WebhookEvent::SessionFailed(ended),
            _ => WebhookEvent::SessionExpired(ended),
        })
    }
}

fn take_str(data: &mut Map<String, Value>, key: &str, event: &str) -> Result<String, String> {
    match data.remove(key) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(format!("{event}: missing string field `{key}`")),
    }
}

fn take_opt_str(data: &mut Map<String, Value>, key: &str, event: &str) -> Result<Option<String>, String> {
    match data.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{event}: `{key}` must be a string")),
    }
}

/// Writes `{"event", "data"}` in this order, and `data` with `session_id` first: the wire order
/// (what a signature is computed over), whatever serde_json's `preserve_order` feature.
impl Serialize for WebhookEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut body = s.serialize_map(Some(2))?;
        body.serialize_entry("event", self.name())?;
        match self {
            WebhookEvent::Unknown { data, .. } => body.serialize_entry("data", data)?,
            known => body.serialize_entry("data", &Data(known))?,
        }
        body.end()
    }
}

/// The `data` object of a known event, in wire order.
struct Data<'a>(&'a WebhookEvent);

/// Keys written before a [`StepResult::Other`]'s own fields, which never repeat them.
const STEP_KEYS: [&str; 6] =
    ["session_id", "client_reference_id", "metadata", "stage", "primitive", "audit_id"];

fn context_entries<M: SerializeMap>(m: &mut M, c: &EventContext) -> Result<(), M::Error> {
    m.serialize_entry("session_id", c.session_id.as_str())?;
    if let Some(r) = &c.client_reference_id {
        m.serialize_entry("client_reference_id", r)?;
    }
    if let Some(meta) = &c.metadata {
        m.serialize_entry("metadata", meta)?;
    }
    Ok(())
}

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.0 {
            WebhookEvent::StepCompleted(st) => {
                context_entries(&mut m, &st.context)?;
                m.serialize_entry("stage", &st.stage)?;
                m.serialize_entry("primitive", st.primitive.as_str())?;
                m.serialize_entry("audit_id", &st.audit_id)?;
                match &st.result {
                    StepResult::Identify { claims } => m.serialize_entry("claims", claims)?,
                    StepResult::AgeVerify { satisfied, min_age } => {
                        m.serialize_entry("satisfied", satisfied)?;
                        if let Some(min_age) = min_age {
                            m.serialize_entry("min_age", min_age)?;
                        }
                    }
                    StepResult::Signature { signature, document_hash } => {
                        m.serialize_entry("signature", signature)?;
                        m.serialize_entry("document_hash", document_hash)?;
                    }
                    StepResult::Other(extra) => {
                        for (k, v) in extra.iter().filter(|(k, _)| !STEP_KEYS.contains(&k.as_str())) {
                            m.serialize_entry(k, v)?;
                        }
                    }
                }
            }
            WebhookEvent::SessionCompleted(e)
            | WebhookEvent::SessionStopped(e)
            | WebhookEvent::SessionFailed(e)
            | WebhookEvent::SessionExpired(e) => {
                context_entries(&mut m, &e.context)?;
                m.serialize_entry("status", e.status.as_str())?;
                if let Some(r) = &e.reason {
                    m.serialize_entry("reason", r)?;
                }
            }
            // Written whole by `WebhookEvent::serialize`.
            WebhookEvent::Unknown { .. } => {}
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for WebhookEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        WebhookEvent::from_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
