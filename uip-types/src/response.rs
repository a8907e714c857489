//! Responses of the session endpoints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{SessionId, SessionUrl};
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

/// The answer to `GET /v1/sessions/{id}`: status and progress, never results.
///
/// Fields the variant documentation omits are optional, and unknown fields (`results`,
/// `outcome`, …) are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    /// Session id.
    pub id: SessionId,
    /// Lifecycle status.
    pub status: SessionStatus,
    /// Zero-based index of the active step (stays on a gated step while `awaiting_decision`).
    pub current_step: u32,
    /// Number of steps.
    pub step_count: u32,
    /// Primitive of each step, in order.
    #[serde(default)]
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
