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
#[non_exhaustive]
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

impl CreatedSession {
    /// A `created` session `id` whose hosted page is `url`, expiring at `expires` (e.g. the
    /// answer of a mocked UIP service).
    ///
    /// ```
    /// use uip_types::{CreatedSession, SessionStatus, SessionUrl};
    /// let expires = chrono::DateTime::from_timestamp(1_780_833_600, 0).unwrap();
    /// let created =
    ///     CreatedSession::new("sess_abc", SessionUrl::new("https://uip.digital/s/sess_abc"), expires);
    /// assert_eq!(created.status, SessionStatus::Created);
    /// assert_eq!(created.id.as_str(), "sess_abc");
    /// ```
    pub fn new(id: impl Into<SessionId>, url: SessionUrl, expires: Timestamp) -> Self {
        CreatedSession { id: id.into(), status: SessionStatus::Created, url, expires }
    }
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
#[non_exhaustive]
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

    /// The view of session `id` in `status`, at step `current_step` of `step_count`, with every
    /// optional field absent (set them with the `with_…` methods), e.g. the answer of a mocked
    /// UIP service.
    ///
    /// ```
    /// use uip_types::{Primitive, SessionStatus, SessionView};
    /// let view = SessionView::new("sess_abc", SessionStatus::InProgress, 1, 2)
    ///     .with_primitives(vec![Primitive::AgeVerify, Primitive::Identify])
    ///     .with_current_primitive(Primitive::Identify)
    ///     .with_client_reference_id("order-7");
    /// assert_eq!(view.current_primitive, Some(Primitive::Identify));
    /// assert_eq!(view.client_reference_id.as_deref(), Some("order-7"));
    /// assert_eq!(view.results, None);
    /// ```
    pub fn new(id: impl Into<SessionId>, status: SessionStatus, current_step: u32, step_count: u32) -> Self {
        SessionView {
            id: id.into(),
            status,
            current_step,
            step_count,
            primitives: Vec::new(),
            current_primitive: None,
            expires_at: None,
            created_at: None,
            updated_at: None,
            client_reference_id: None,
            metadata: None,
            results: None,
            outcome: None,
        }
    }

    /// The same view with the steps' primitives, in order.
    pub fn with_primitives(mut self, primitives: Vec<Primitive>) -> Self {
        self.primitives = primitives;
        self
    }

    /// The same view with the active step's primitive.
    pub fn with_current_primitive(mut self, primitive: Primitive) -> Self {
        self.current_primitive = Some(primitive);
        self
    }

    /// The same view with an expiry time.
    pub fn with_expires_at(mut self, at: Timestamp) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// The same view with a creation time.
    pub fn with_created_at(mut self, at: Timestamp) -> Self {
        self.created_at = Some(at);
        self
    }

    /// The same view with a last-update time.
    pub fn with_updated_at(mut self, at: Timestamp) -> Self {
        self.updated_at = Some(at);
        self
    }

    /// The same view echoing the create's `client_reference_id`.
    pub fn with_client_reference_id(mut self, client_reference_id: impl Into<String>) -> Self {
        self.client_reference_id = Some(client_reference_id.into());
        self
    }

    /// The same view echoing the create's `metadata`.
    pub fn with_metadata(mut self, metadata: BTreeMap<String, String>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The same view with the variant shape's `results`.
    pub fn with_results(mut self, results: Vec<VerifiedStep>) -> Self {
        self.results = Some(results);
        self
    }

    /// The same view with the variant shape's `outcome`.
    pub fn with_outcome(mut self, outcome: SessionStatus) -> Self {
        self.outcome = Some(outcome);
        self
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
#[non_exhaustive]
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

impl VerifiedStep {
    /// Step `step` (`primitive`), verified at `verified_at` with `result`; its audit record is
    /// `audit_id`.
    ///
    /// ```
    /// use uip_types::{Primitive, StepResult, VerifiedStep};
    /// let at = chrono::DateTime::from_timestamp(1_780_833_600, 0).unwrap();
    /// let result = StepResult::AgeVerify { satisfied: true, min_age: Some(18) };
    /// let step = VerifiedStep::new(0, Primitive::AgeVerify, at, "sess_abc_0", result);
    /// assert_eq!(step.audit_id, "sess_abc_0");
    /// ```
    pub fn new(
        step: u32,
        primitive: Primitive,
        verified_at: Timestamp,
        audit_id: impl Into<String>,
        result: StepResult,
    ) -> Self {
        VerifiedStep { step, primitive, verified_at, audit_id: audit_id.into(), result }
    }
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
#[non_exhaustive]
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

impl DecisionResponse {
    /// Session `id` in `status` after a decision, at step `current_step` of `step_count`, without
    /// an active primitive (see [`with_current_primitive`](Self::with_current_primitive)).
    ///
    /// ```
    /// use uip_types::{DecisionResponse, Primitive, SessionStatus};
    /// let answer = DecisionResponse::new("sess_abc", SessionStatus::InProgress, 1, 2)
    ///     .with_current_primitive(Primitive::Sign);
    /// assert_eq!(answer.current_primitive, Some(Primitive::Sign));
    /// ```
    pub fn new(id: impl Into<SessionId>, status: SessionStatus, current_step: u32, step_count: u32) -> Self {
        DecisionResponse { id: id.into(), status, current_step, step_count, current_primitive: None }
    }

    /// The same answer with the active step's primitive.
    pub fn with_current_primitive(mut self, primitive: Primitive) -> Self {
        self.current_primitive = Some(primitive);
        self
    }
}
