//! The request journal and the sessions list (docs/DECISIONS.md §11): what the code under test
//! sent to the business API, and the sessions it made — as `GET /_sandbox/requests` and
//! `GET /_sandbox/sessions` answer them, and as [`Sandbox::requests`](crate::Sandbox::requests)
//! and [`Sandbox::sessions`](crate::Sandbox::sessions) return them.
//!
//! The journal keeps the last [`JOURNAL_CAPACITY`] business-API requests (`/v1/...`) of each
//! business, in memory only. A request rejected before its business is known (401) is not kept.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use uip_types::{ErrorCode, SessionId, SessionStatus, SessionView, Step, Timestamp};
use utoipa::ToSchema;

/// How many requests the journal keeps per business; older ones are dropped first.
pub const JOURNAL_CAPACITY: usize = 1000;
/// How many bytes of a request body the journal keeps; a longer body is cut here and marked
/// [`JournaledRequest::body_truncated`].
pub const BODY_CAPACITY: usize = 64 * 1024;
/// The `Authorization` header as the journal shows it: the key itself is never kept.
pub const REDACTED_AUTHORIZATION: &str = "Bearer [redacted]";

/// The answer of `GET /_sandbox/requests`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[non_exhaustive]
pub struct RequestJournal {
    /// The requests, oldest first.
    pub requests: Vec<JournaledRequest>,
}

/// One business-API request as the sandbox received it, and how it answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[non_exhaustive]
pub struct JournaledRequest {
    /// The journal id (`req_…`): ids grow in the order the requests were answered, across every
    /// business of the sandbox; `?since=` takes one.
    pub id: String,
    /// When the request arrived, on its business's clock.
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "uip_types::time::secs")]
    pub at: Timestamp,
    /// The method (`POST`).
    pub method: String,
    /// The path as sent (`/v1/sessions`).
    pub path: String,
    /// The query string as sent, without the `?`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Every request header (lowercase name → value; repeated headers joined with `, `). The
    /// `authorization` header is always [`REDACTED_AUTHORIZATION`].
    pub headers: BTreeMap<String, String>,
    /// The body: UTF-8 text, or base64 when [`body_encoding`](Self::body_encoding) says so
    /// (multipart bodies, and bodies that are not UTF-8). At most [`BODY_CAPACITY`] bytes of it.
    pub body: String,
    /// `base64` when the body is base64; absent for text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_encoding: Option<BodyEncoding>,
    /// True when the body was longer than [`BODY_CAPACITY`] bytes and was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_truncated: bool,
    /// The status the sandbox answered.
    pub status: u16,
    /// The error code, when the answer was an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// How long the sandbox took to answer, in milliseconds.
    pub duration_ms: u64,
    /// The `Idempotency-Key` header, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The session the request is about: the one it names in its path, or for a create the
    /// session it made (or replayed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionId>,
}

/// How [`JournaledRequest::body`] is encoded when it is not text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BodyEncoding {
    /// Standard base64 with padding.
    Base64,
}

impl JournaledRequest {
    /// The body's bytes (as kept: at most [`BODY_CAPACITY`]), decoded from base64 when it is
    /// base64. `None` when a base64 body does not decode (never for what the sandbox writes).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let sandbox = uip_sandbox::Sandbox::start().await;
    /// reqwest::Client::new()
    ///     .post(format!("{}/sessions", sandbox.api_url()))
    ///     .bearer_auth(sandbox.api_key().expose())
    ///     .json(&serde_json::json!({"steps": [{"primitive": "age_verify"}]}))
    ///     .send().await.unwrap();
    /// let requests = sandbox.requests();
    /// assert_eq!(requests[0].body_bytes().unwrap(), br#"{"steps":[{"primitive":"age_verify"}]}"#);
    /// # });
    /// ```
    pub fn body_bytes(&self) -> Option<Vec<u8>> {
        match self.body_encoding {
            Some(BodyEncoding::Base64) => base64::engine::general_purpose::STANDARD.decode(&self.body).ok(),
            None => Some(self.body.clone().into_bytes()),
        }
    }

    /// The body parsed as JSON, when it is a whole JSON text.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let sandbox = uip_sandbox::Sandbox::start().await;
    /// reqwest::Client::new()
    ///     .post(format!("{}/sessions", sandbox.api_url()))
    ///     .bearer_auth(sandbox.api_key().expose())
    ///     .json(&serde_json::json!({"steps": [{"primitive": "age_verify", "params": {"min_age": 21}}]}))
    ///     .send().await.unwrap();
    /// let body = sandbox.requests()[0].json().unwrap();
    /// assert_eq!(body["steps"][0]["params"]["min_age"], 21);
    /// # });
    /// ```
    pub fn json(&self) -> Option<serde_json::Value> {
        if self.body_truncated {
            return None;
        }
        serde_json::from_slice(&self.body_bytes()?).ok()
    }

    /// A header's value (the name in any case).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let sandbox = uip_sandbox::Sandbox::start().await;
    /// reqwest::Client::new()
    ///     .get(format!("{}/catalog", sandbox.api_url()))
    ///     .bearer_auth(sandbox.api_key().expose())
    ///     .header("X-Trace", "t-1")
    ///     .send().await.unwrap();
    /// let request = &sandbox.requests()[0];
    /// assert_eq!(request.header("x-trace"), Some("t-1"));
    /// assert_eq!(request.header("Authorization"), Some("Bearer [redacted]"));
    /// # });
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.get(&name).map(String::as_str)
    }
}

/// The answer of `GET /_sandbox/sessions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[non_exhaustive]
pub struct SessionList {
    /// The sessions, newest first.
    pub sessions: Vec<SessionSummary>,
}

/// A session of the list: what `GET /v1/sessions/{id}` shows (its `client_reference_id` and
/// `metadata` included), and the create's steps as given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[non_exhaustive]
pub struct SessionSummary {
    /// The session as `GET /v1/sessions/{id}` shows it.
    #[serde(flatten)]
    pub view: SessionView,
    /// The steps of the create, primitives with their params and gates, as the create gave them.
    pub steps: Vec<Step>,
}

/// Which journaled requests to return ([`Sandbox::requests_matching`](crate::Sandbox::requests_matching);
/// the query of `GET /_sandbox/requests`).
///
/// ```
/// use uip_sandbox::journal::RequestFilter;
/// let filter = RequestFilter::new().session_id("sess_7Hq2LmZ9pX4rT1vB8nC3dK6w").since("req_41").limit(10);
/// assert_eq!(filter.get_limit(), Some(10));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestFilter {
    session_id: Option<String>,
    since: Option<String>,
    limit: Option<usize>,
}

impl RequestFilter {
    /// Every request (the whole journal, oldest first).
    pub fn new() -> Self {
        RequestFilter::default()
    }

    /// Only the requests about this session.
    pub fn session_id(mut self, id: impl AsRef<str>) -> Self {
        self.session_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only the requests answered after the one with this journal id.
    pub fn since(mut self, id: impl AsRef<str>) -> Self {
        self.since = Some(id.as_ref().to_owned());
        self
    }

    /// At most this many (the oldest that match), 1 to [`JOURNAL_CAPACITY`].
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The session this filter keeps, if any.
    pub fn get_session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The journal id this filter starts after, if any.
    pub fn get_since(&self) -> Option<&str> {
        self.since.as_deref()
    }

    /// The limit, if any.
    pub fn get_limit(&self) -> Option<usize> {
        self.limit
    }
}

/// Which sessions to list ([`Sandbox::sessions_matching`](crate::Sandbox::sessions_matching);
/// the query of `GET /_sandbox/sessions`).
///
/// ```
/// use uip_sandbox::journal::SessionFilter;
/// use uip_types::SessionStatus;
/// let filter = SessionFilter::new().status(SessionStatus::Completed).client_reference_id("order_4815");
/// assert_eq!(filter.get_status(), Some(&SessionStatus::Completed));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionFilter {
    status: Option<SessionStatus>,
    client_reference_id: Option<String>,
    limit: Option<usize>,
}

impl SessionFilter {
    /// Every session of the business (newest first).
    pub fn new() -> Self {
        SessionFilter::default()
    }

    /// Only the sessions with this status.
    pub fn status(mut self, status: SessionStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only the sessions created with this `client_reference_id`.
    pub fn client_reference_id(mut self, id: impl AsRef<str>) -> Self {
        self.client_reference_id = Some(id.as_ref().to_owned());
        self
    }

    /// At most this many (the newest that match), 1 to [`MAX_SESSIONS_LIMIT`].
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The status this filter keeps, if any.
    pub fn get_status(&self) -> Option<&SessionStatus> {
        self.status.as_ref()
    }

    /// The `client_reference_id` this filter keeps, if any.
    pub fn get_client_reference_id(&self) -> Option<&str> {
        self.client_reference_id.as_deref()
    }

    /// The limit, if any.
    pub fn get_limit(&self) -> Option<usize> {
        self.limit
    }
}

/// `GET /_sandbox/requests` without `?limit=` returns at most this many.
pub const DEFAULT_REQUESTS_LIMIT: usize = 100;
/// `GET /_sandbox/sessions` without `?limit=` returns at most this many.
pub const DEFAULT_SESSIONS_LIMIT: usize = 50;
/// The largest `?limit=` of `GET /_sandbox/sessions`.
pub const MAX_SESSIONS_LIMIT: usize = 500;
