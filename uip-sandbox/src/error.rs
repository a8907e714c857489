//! The one error type of the sandbox's HTTP surface: an error code, a message, and the field at fault.

use uip_types::{ApiErrorBody, ErrorCode, ValidationError};

/// An error answered as `{"error", "code", "param"?}` with the code's HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub param: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), param: None }
    }

    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn status(&self) -> u16 {
        self.code.http_status().unwrap_or(500)
    }

    pub fn body(&self) -> ApiErrorBody {
        let body = ApiErrorBody::new(self.code.clone(), self.message.clone());
        match &self.param {
            Some(param) => body.with_param(param.clone()),
            None => body,
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("no such {what}"))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::ServerError, message)
    }

    pub fn payload(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidPayload, message)
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError { code: e.code, message: e.message, param: e.param }
    }
}

impl From<crate::engine::session::TransitionError> for ApiError {
    fn from(e: crate::engine::session::TransitionError) -> Self {
        use crate::engine::session::TransitionError as T;
        let code = match &e {
            T::NotAwaitingDecision(_) => ErrorCode::NotAwaitingDecision,
            T::NotActive(_) => ErrorCode::NotActive,
            T::StaleNonce => ErrorCode::StaleNonce,
            T::AlreadyBound => ErrorCode::BoundElsewhere,
        };
        let err = ApiError::new(code, e.to_string());
        match e {
            T::StaleNonce => err.param("nonce"),
            _ => err,
        }
    }
}
