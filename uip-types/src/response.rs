//! Responses of the session endpoints.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::event::StepResult;
use crate::ids::{RedactedId, SessionId, SessionUrl};
use crate::primitive::Primitive;
use crate::status::SessionStatus;
use crate::time::{self, Timestamp};

/// The answer to `POST /v1/sessions`.
///
/// ```
/// let s: uip_types::CreatedSession = serde_json::from_str(r#"{"id":"sess_abc123","status":"created",
///   "url":"https://uip.digital/s/sess_abc123","expires":"2026-06-07T12:34:56Z"}"#).unwrap();
/// assert_eq!(s.status, uip_types::SessionStatus::Created);
/// assert!(!format!("{s:?}").contains("abc123"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(description = "The answer to `POST /v1/sessions`."))]
pub struct CreatedSession {
    /// Session id.
    pub id: SessionId,
    /// Always `created`.
    pub status: SessionStatus,
    /// The hosted-page capability URL to hand to the user.
    pub url: SessionUrl,
    /// When the session expires.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "time::secs")]
    pub expires: Timestamp,
}

/// The answer to `GET /v1/sessions/{id}`: status and progress.
///
/// The sandbox sends the primary shape of docs/UIP-API.md §3.2 and never results
/// (docs/DECISIONS.md §3). Reading is tolerant (docs/DECISIONS.md §11): the fields the variant
/// documentation omits are optional, the variant's `results` and `outcome` are read when present,
/// and unknown fields are ignored.
///
/// ```
/// use uip_types::{SessionStatus, SessionView, StepResult};
/// let v: SessionView = serde_json::from_str(r#"{"id":"sess_abc123","status":"awaiting_decision",
///   "current_step":1,"step_count":2,"outcome":"",
///   "results":[{"step":0,"primitive":"age_verify","verified_at":"2026-06-07T12:01:30Z",
///     "audit_id":"aud_9f2c1e","satisfied":true}]}"#).unwrap();
/// let results = v.results.as_deref().unwrap();
/// assert_eq!(results[0].result, StepResult::AgeVerify { satisfied: true, min_age: None });
/// assert_eq!(v.outcome, Some(SessionStatus::Other(String::new())));
/// assert_eq!(v.terminal_outcome(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "The answer to `GET /v1/sessions/{id}`: status and progress, never results (the sandbox does not send the variant shape's `results` and `outcome`)."
    )
)]
pub struct SessionView {
    /// Session id.
    pub id: SessionId,
    /// Lifecycle status.
    pub status: SessionStatus,
    /// Zero-based index of the active step (stays on a gated step while `awaiting_decision`).
    pub current_step: u32,
    /// Number of steps.
    pub step_count: u32,
    /// Primitive of each step, in order (empty when the variant shape omits it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primitives: Vec<Primitive>,
    /// Primitive of the active step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_primitive: Option<Primitive>,
    /// When the session expires.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(default, with = "time::secs_opt", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// When it was created.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(default, with = "time::secs_opt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(default, with = "time::secs_opt", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    /// Echo of the create's `client_reference_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_reference_id: Option<String>,
    /// Echo of the create's `metadata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// The variant shape's per-step results, one per verified step (docs/UIP-API.md §3.2).
    /// The sandbox never sends them.
    #[cfg_attr(feature = "openapi", schema(ignore))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<VerifiedStep>>,
    /// The variant shape's terminal reason: `completed`, `stopped`, `failed` or `expired`, and
    /// `""` (read as `SessionStatus::Other("")`) while the session goes on. The sandbox never
    /// sends it; see [`SessionView::terminal_outcome`].
    #[cfg_attr(feature = "openapi", schema(ignore))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<SessionStatus>,
}

impl SessionView {
    /// The `outcome` when it names a terminal status; `None` when absent or `""`.
    pub fn terminal_outcome(&self) -> Option<&SessionStatus> {
        self.outcome.as_ref().filter(|o| o.is_terminal())
    }
}

/// One entry of the variant shape's `results` (docs/UIP-API.md §3.2, docs/DECISIONS.md §11):
/// `{step, primitive, verified_at, audit_id}` plus the primitive's result fields, as on
/// `step.completed`.
///
/// The result fields are read with the rules of `step.completed`; when they do not fit the
/// primitive (say an identify result without `claims`), they are kept as
/// [`StepResult::Other`] rather than failing the whole session read. Unknown fields of a known
/// primitive are ignored.
#[derive(Clone, PartialEq)]
pub struct VerifiedStep {
    /// Zero-based stage.
    pub step: u32,
    /// The step's primitive.
    pub primitive: Primitive,
    /// When the step verified.
    pub verified_at: Timestamp,
    /// The step's audit record id.
    pub audit_id: String,
    /// The verified result.
    pub result: StepResult,
}

impl std::fmt::Debug for VerifiedStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedStep")
            .field("step", &self.step)
            .field("primitive", &self.primitive)
            .field("verified_at", &self.verified_at)
            .field("audit_id", &RedactedId(&self.audit_id))
            .field("result", &self.result)
            .finish()
    }
}

impl Eq for VerifiedStep {}

impl Serialize for VerifiedStep {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = Map::new();
        m.insert("step".into(), Value::from(self.step));
        m.insert("primitive".into(), Value::String(self.primitive.as_str().to_owned()));
        m.insert("verified_at".into(), Value::String(time::format_secs(&self.verified_at)));
        m.insert("audit_id".into(), Value::String(self.audit_id.clone()));
        self.result.write_fields(&mut m);
        m.serialize(s)
    }
}

impl<'de> Deserialize<'de> for VerifiedStep {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut m = Map::deserialize(d)?;
        let step = m
            .remove("step")
            .and_then(|v| v.as_u64())
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| D::Error::custom("results: missing integer field `step`"))?;
        let mut text = |key: &str| match m.remove(key) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(D::Error::custom(format!("results: missing string field `{key}`"))),
        };
        let primitive = Primitive::parse(&text("primitive")?);
        let verified_at = text("verified_at")?;
        let verified_at = chrono::DateTime::parse_from_rfc3339(&verified_at)
            .map_err(|e| D::Error::custom(format!("results: invalid `verified_at` {verified_at:?}: {e}")))?
            .with_timezone(&chrono::Utc);
        let audit_id = text("audit_id")?;
        let result = StepResult::from_fields(&primitive, m.clone()).unwrap_or(StepResult::Other(m));
        Ok(VerifiedStep { step, primitive, verified_at, audit_id, result })
    }
}

/// The answer to `continue` and `stop`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionResponse {
    /// Session id.
    pub id: SessionId,
    /// Status after the decision (`in_progress`, `completed` or `stopped`).
    pub status: SessionStatus,
    /// Active step index.
    pub current_step: u32,
    /// Number of steps.
    pub step_count: u32,
    /// Primitive of the active step, while the session goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_primitive: Option<Primitive>,
}
