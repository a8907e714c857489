//! Audit records.

use reqwest::Method;
use uip_types::{AuditRecord, ReceivedAuditRecord};

use crate::client::Client;
use crate::error::Error;
use crate::request::{Call, Payload, RetryClass};
use crate::ErrorCode;

impl Client {
    /// Reads the redacted audit record of a verified step (`GET /audits/{id}`), where the id is
    /// `{session_id}_{stage}` (delivered as `audit_id` on `step.completed`). Missing and foreign
    /// records both answer `404` (`resource/not-found`).
    ///
    /// The record is returned typed; fields this version does not know are dropped. To check a
    /// session's chain, read the records with [`get_audit_received`](Client::get_audit_received)
    /// instead, which keeps each record's JSON as received.
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client, session_id: uip_client::SessionId) -> Result<(), uip_client::Error> {
    /// let record = client.get_audit(session_id.audit_id(0)).await?;
    /// println!("stage {} by {}: {}", record.stage, record.wallet, record.record_hash);
    /// # Ok(()) }
    /// ```
    pub async fn get_audit(&self, audit_id: impl AsRef<str>) -> Result<AuditRecord, Error> {
        self.read_audit(audit_id.as_ref()).await
    }

    /// Reads an audit record like [`get_audit`](Client::get_audit), keeping its JSON as received
    /// (unknown fields included) beside the typed view, for [`uip_types::verify_chain`].
    ///
    /// `verify_chain` checks this sandbox's chain format (docs/DECISIONS.md §6); the real service
    /// may hash its records differently.
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client, session_id: uip_client::SessionId) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut records = Vec::new();
    /// for stage in 0..2 {
    ///     records.push(client.get_audit_received(session_id.audit_id(stage)).await?);
    /// }
    /// uip_client::uip_types::verify_chain(&records)?;
    /// println!("stage 0 verified at {}", records[0].record().occurred_at);
    /// # Ok(()) }
    /// ```
    pub async fn get_audit_received(&self, audit_id: impl AsRef<str>) -> Result<ReceivedAuditRecord, Error> {
        self.read_audit(audit_id.as_ref()).await
    }

    async fn read_audit<T: serde::de::DeserializeOwned>(&self, id: &str) -> Result<T, Error> {
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
