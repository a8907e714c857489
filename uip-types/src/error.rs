//! The error body every endpoint answers with, and its codes.

use serde::{Deserialize, Serialize};

use crate::macros::open_string_enum;

open_string_enum! {
    /// The `code` of an error body (`category/slug`).
    ///
    /// ```
    /// use uip_types::ErrorCode;
    /// assert_eq!(ErrorCode::parse("resource/not-found"), ErrorCode::NotFound);
    /// assert_eq!(ErrorCode::NotFound.http_status(), Some(404));
    /// ```
    pub enum ErrorCode {
        /// Malformed JSON or multipart, wrong types, unknown fields.
        InvalidPayload => "request/invalid-payload",
        /// `steps` missing, empty, or more than 20.
        InvalidSteps => "request/invalid-steps",
        /// A step names no known primitive.
        UnknownPrimitive => "request/unknown-primitive",
        /// Params out of range, sign/document mismatch.
        InvalidParams => "request/invalid-params",
        /// A top-level field (metadata, return_url, expires_in, client_reference_id, Idempotency-Key) out of rules.
        InvalidField => "request/invalid-field",
        /// No API key.
        MissingApiKey => "auth/missing-api-key",
        /// Unknown API key.
        InvalidApiKey => "auth/invalid-api-key",
        /// Balance below the session's total price.
        InsufficientFunds => "payment/insufficient-funds",
        /// Hosted page opened from another device (409, "Session already open on another device").
        BoundElsewhere => "session/bound-elsewhere",
        /// Unknown or foreign session / audit.
        NotFound => "resource/not-found",
        /// No such route.
        RouteNotFound => "request/not-found",
        /// Wrong method on a route.
        MethodNotAllowed => "request/method-not-allowed",
        /// Same Idempotency-Key, different body.
        IdempotencyConflict => "request/idempotency-conflict",
        /// continue/stop when the session is not at a gate.
        NotAwaitingDecision => "session/not-awaiting-decision",
        /// A page request while the session is paused or over.
        NotActive => "session/not-active",
        /// A wallet response carrying a nonce that is not the active step's.
        StaleNonce => "session/stale-nonce",
        /// Document bytes asked for after purge.
        DocumentsPurged => "session/documents-purged",
        /// Body over the limit.
        TooLarge => "request/too-large",
        /// The request (body or handling) was not complete within the server's time limit.
        RequestTimeout => "request/timeout",
        /// A hosted-page POST whose `Origin` is not the sandbox's public origin (403).
        BadOrigin => "request/bad-origin",
        /// Injected rate limit.
        RateLimited => "request/rate-limited",
        /// Injected unavailability.
        Unavailable => "internal/unavailable",
        /// Create with a content type other than JSON or multipart.
        UnsupportedMediaType => "request/unsupported-media-type",
        /// No webhook URL configured for the business.
        WebhookMissing => "request/webhook-missing",
        /// The chosen wallet does not support the step's primitive.
        UnsupportedPrimitive => "wallet/unsupported-primitive",
        /// A server bug.
        ServerError => "internal/server-error",
    }
}

impl ErrorCode {
    /// The HTTP status the sandbox answers this code with (`None` for unknown codes).
    pub fn http_status(&self) -> Option<u16> {
        use ErrorCode::*;
        Some(match self {
            InvalidPayload | InvalidSteps | UnknownPrimitive | InvalidParams | InvalidField => 400,
            MissingApiKey | InvalidApiKey => 401,
            InsufficientFunds => 402,
            BadOrigin => 403,
            NotFound | RouteNotFound => 404,
            MethodNotAllowed => 405,
            BoundElsewhere | IdempotencyConflict | NotAwaitingDecision | NotActive | StaleNonce => 409,
            RequestTimeout => 408,
            DocumentsPurged => 410,
            TooLarge => 413,
            UnsupportedMediaType => 415,
            WebhookMissing | UnsupportedPrimitive => 422,
            RateLimited => 429,
            ServerError => 500,
            Unavailable => 503,
            Other(_) => return None,
        })
    }
}

/// The JSON error body: `{"error", "code", "param"?}`.
///
/// The sandbox always sends `code`; when reading it is optional, since the public errors page
/// also shows bodies with `error` only (docs/DECISIONS.md §11). Unknown fields are ignored.
///
/// ```
/// use uip_types::{ApiErrorBody, ErrorCode};
/// let body: ApiErrorBody = serde_json::from_str(
///     r#"{"error":"min_age must be 1..=120","code":"request/invalid-params","param":"steps[0].params.min_age"}"#,
/// ).unwrap();
/// assert_eq!(body.code, Some(ErrorCode::InvalidParams));
/// assert_eq!(body.param.as_deref(), Some("steps[0].params.min_age"));
///
/// let bare: ApiErrorBody = serde_json::from_str(r#"{"error":"Session not found"}"#).unwrap();
/// assert_eq!((bare.error.as_str(), bare.code), ("Session not found", None));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "The JSON error body: `{error, code, param?}`; `param` names the field at fault as a path such as `steps[1].params.min_age`.",
        examples(json!({"error": "min_age must be an integer from 1 to 120", "code": "request/invalid-params", "param": "steps[0].params.min_age"}))
    )
)]
#[non_exhaustive]
pub struct ApiErrorBody {
    /// Human-readable message.
    pub error: String,
    /// Machine-readable category (always sent by the sandbox; may be absent when reading).
    #[cfg_attr(feature = "openapi", schema(value_type = ErrorCode, required = true))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// The field at fault, as a path such as `steps[1].params.min_age`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

impl ApiErrorBody {
    /// A body without `param`.
    ///
    /// ```
    /// use uip_types::{ApiErrorBody, ErrorCode};
    /// let body = ApiErrorBody::new(ErrorCode::InvalidParams, "min_age must be an integer").with_param("steps[0].params.min_age");
    /// assert_eq!(body.param.as_deref(), Some("steps[0].params.min_age"));
    /// ```
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        ApiErrorBody { error: error.into(), code: Some(code), param: None }
    }

    /// The same body naming the field at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }
}
