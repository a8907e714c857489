//! Audit records.

use reqwest::Method;
use uip_types::AuditRecord;

use crate::client::Client;
use crate::error::Error;
use crate::request::{Call, Payload, RetryClass};
use crate::ErrorCode;

impl Client {
    /// Reads the redacted audit record of a verified step (`GET /audits/{id}`), where the id is
    /// `{session_id}_{stage}` (delivered as `audit_id` on `step.completed`). Missing and foreign
    /// records both answer `404` (`resource/not-found`).
    ///
    /// The record is returned as sent; check a session's chain with
    /// [`uip_types::verify_chain`] once you hold its records.
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client, session_id: uip_client::SessionId) -> Result<(), uip_client::Error> {
    /// let record = client.get_audit(session_id.audit_id(0)).await?;
    /// println!("stage {} by {}: {}", record.stage, record.wallet, record.record_hash);
    /// # Ok(()) }
    /// ```
    pub async fn get_audit(&self, audit_id: impl AsRef<str>) -> Result<AuditRecord, Error> {
        let id = audit_id.as_ref();
        if id.is_empty() || id == "." || id == ".." {
            return Err(Error::invalid(
                ErrorCode::InvalidField,
                "audit_id",
                "audit_id must be a non-empty id",
            ));
        }
        let call = Call {
            method: Method::GET,
            route: "/audits/{id}",
            segments: &["audits", id],
            auth: true,
            payload: Payload::Empty,
            idempotency_key: None,
            retry: RetryClass::Safe,
        };
        self.execute(&call).await.result
    }
}
