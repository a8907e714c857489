//! What the store keeps besides sessions: businesses, idempotency records, deliveries.

use serde::{Deserialize, Serialize};
use uip_types::sandbox::{DeliveryAttempt, DeliveryFault, DeliveryLogEntry, DeliveryStatus, Trust};
use uip_types::{SessionId, Timestamp, WebhookSecret};

/// A sandbox business: its credentials, settings, balance and clock.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Business {
    pub id: String,
    pub name: String,
    /// Hex SHA-256 of the API key (the key itself is never stored).
    pub api_key_hash: String,
    pub webhook_secret: WebhookSecret,
    pub webhook_url: Option<String>,
    /// The webhook URL is the built-in inbox's, given at start rather than chosen: a restart
    /// points it at the inbox of the new address (docs/DECISIONS.md §11: a URL someone set is kept).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follows_inbox: bool,
    pub balance_cents: u64,
    pub trust: Trust,
    /// Seconds `clock/advance` added to real time.
    pub clock_offset_s: i64,
}

impl Business {
    pub fn now(&self) -> Timestamp {
        crate::clock::business_now(self.clock_offset_s)
    }

    /// The credentials answer, for the API key this business was made with.
    pub fn credentials(&self, api_key: &str) -> uip_types::sandbox::BusinessCredentials {
        uip_types::sandbox::BusinessCredentials {
            business_id: self.id.clone(),
            api_key: api_key.into(),
            webhook_secret: self.webhook_secret.clone(),
            webhook_url: self.webhook_url.clone(),
            balance_cents: self.balance_cents,
            trust: self.trust,
        }
    }

    pub fn view(&self) -> uip_types::sandbox::BusinessView {
        uip_types::sandbox::BusinessView {
            business_id: self.id.clone(),
            name: self.name.clone(),
            webhook_url: self.webhook_url.clone(),
            webhook_secret: self.webhook_secret.clone(),
            balance_cents: self.balance_cents,
            trust: self.trust,
            clock_offset_s: self.clock_offset_s,
        }
    }
}

/// A stored successful create under an Idempotency-Key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct IdempotencyRecord {
    /// Hex SHA-256 over the request (JSON bytes, or the parsed multipart parts).
    pub fingerprint: String,
    /// The exact response body of the original create.
    pub response: String,
    /// Business-clock time of the create (records are kept 24 h).
    pub created_at: Timestamp,
}

/// One webhook event on its way to the business (the outbox row and its delivery log).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Delivery {
    pub seq: u64,
    pub delivery_id: String,
    pub business_id: String,
    pub session_id: SessionId,
    pub event: String,
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: Vec<DeliveryAttempt>,
    pub next_attempt_at: Option<Timestamp>,
    /// Real time the current delivery round began (the retry horizon counts from here).
    pub round_started_at: Timestamp,
    /// Failed attempts in the current round (drives the backoff).
    pub round_failures: u32,
    /// A fault to inject on the next attempt (redeliver).
    pub fault: Option<DeliveryFault>,
    /// `(timestamp, signature)` of the attempt that succeeded.
    #[serde(default)]
    pub delivered_signature: Option<(u64, String)>,
    /// The business's secret when it was sent (the secret may be rotated since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_secret: Option<WebhookSecret>,
}

impl Delivery {
    pub fn log_entry(&self) -> DeliveryLogEntry {
        DeliveryLogEntry {
            delivery_id: self.delivery_id.clone(),
            event: self.event.clone(),
            session_id: self.session_id.clone(),
            status: self.status,
            attempts: self.attempts.clone(),
            next_attempt_at: self.next_attempt_at,
            body: self.body.clone(),
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.status, DeliveryStatus::Pending | DeliveryStatus::Retrying)
    }
}
