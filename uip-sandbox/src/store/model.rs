//! What the store keeps besides sessions: businesses, idempotency records, deliveries.

use std::sync::Arc;

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
        let creds = uip_types::sandbox::BusinessCredentials::new(
            self.id.clone(),
            api_key.into(),
            self.webhook_secret.clone(),
            self.balance_cents,
            self.trust,
        );
        match &self.webhook_url {
            Some(url) => creds.with_webhook_url(url.clone()),
            None => creds,
        }
    }

    pub fn view(&self) -> uip_types::sandbox::BusinessView {
        let view = uip_types::sandbox::BusinessView::new(
            self.id.clone(),
            self.name.clone(),
            self.webhook_secret.clone(),
            self.balance_cents,
            self.trust,
        )
        .with_clock_offset_s(self.clock_offset_s);
        match &self.webhook_url {
            Some(url) => view.with_webhook_url(url.clone()),
            None => view,
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
///
/// The session id and the event name are not stored apart: both are part of the delivery id
/// (`{session_id}:{event}[:{stage}]`, `uip_types::delivery_id`), which saves two strings per
/// delivery. Rows written before still carry `session_id` and `event` fields; loading ignores them.
///
/// Both ids are shared strings: the delivery id with the store's index by delivery id, the
/// business id with the business's other deliveries (`State::emit`), instead of a copy each.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Delivery {
    pub seq: u64,
    #[serde(with = "shared_str")]
    pub delivery_id: Arc<str>,
    #[serde(with = "shared_str")]
    pub business_id: Arc<str>,
    /// The event's JSON, sent as is on every attempt (a boxed `str`: 8 bytes less than a
    /// `String` per delivery).
    pub body: Box<str>,
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
    pub delivered_signature: Option<(u64, Signature)>,
    /// The business's secret when it was sent, kept only once the business's secret is no
    /// longer that one (`None`: the business's current secret; see
    /// `State::pin_delivered_secrets`). One copy per business instead of one per delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_secret: Option<WebhookSecret>,
}

/// An HMAC-SHA256 signature: 32 bytes in memory, its 64 lowercase hex digits in JSON (the form
/// stored rows have always had).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Signature(pub [u8; 32]);

impl Signature {
    /// From the hex form `uip_webhook_verify::sign` gives; `None` when it is not 64 hex digits.
    pub fn from_hex(hex_digits: &str) -> Option<Signature> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_digits, &mut out).ok()?;
        Some(Signature(out))
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Signature::from_hex(&s).ok_or_else(|| serde::de::Error::custom("a signature is 64 hex digits"))
    }
}

/// An `Arc<str>` as a JSON string.
mod shared_str {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
        String::deserialize(deserializer).map(Arc::from)
    }
}

impl Delivery {
    /// The session the event is about (from the delivery id).
    pub fn session_id(&self) -> &str {
        uip_types::delivery_id::session_id(&self.delivery_id).unwrap_or_default()
    }

    /// The event name, e.g. `step.completed` (from the delivery id).
    pub fn event(&self) -> &str {
        let rest = self.delivery_id.get(self.session_id().len() + 1..).unwrap_or_default();
        rest.split(':').next().unwrap_or_default()
    }

    pub fn log_entry(&self) -> DeliveryLogEntry {
        let entry = DeliveryLogEntry::new(
            self.delivery_id.to_string(),
            self.event(),
            SessionId::from(self.session_id()),
            self.status,
            self.attempts.clone(),
            &*self.body,
        );
        match self.next_attempt_at {
            Some(at) => entry.with_next_attempt_at(at),
            None => entry,
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.status, DeliveryStatus::Pending | DeliveryStatus::Retrying)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::engine::audit::StoredAudit;
    use crate::engine::session::Session;

    fn delivery(delivery_id: &str, signature: &str) -> Delivery {
        Delivery {
            seq: 7,
            delivery_id: delivery_id.into(),
            business_id: "biz_default".into(),
            body: "{}".into(),
            status: DeliveryStatus::Delivered,
            attempts: Vec::new(),
            next_attempt_at: None,
            round_started_at: crate::clock::real_now(),
            round_failures: 0,
            fault: None,
            delivered_signature: Some((42, Signature::from_hex(signature).expect("64 hex digits"))),
            delivered_secret: None,
        }
    }

    #[test]
    fn session_id_and_event_come_from_the_delivery_id() {
        let sig = "0123456789abcdef".repeat(4);
        let step = delivery("sess_a1:step.completed:3", &sig);
        assert_eq!((step.session_id(), step.event()), ("sess_a1", "step.completed"));
        let done = delivery("sess_b2:session.completed", &sig);
        assert_eq!((done.session_id(), done.event()), ("sess_b2", "session.completed"));
        let entry = done.log_entry();
        assert_eq!((entry.session_id.as_str(), entry.event.as_str()), ("sess_b2", "session.completed"));
    }

    #[test]
    fn rows_in_the_earlier_form_still_load() {
        let sig = "0123456789abcdef".repeat(4);
        let mut row = serde_json::to_value(delivery("sess_a1:step.completed:0", &sig)).unwrap();
        // The signature is stored as it always was: `[timestamp, "64 hex digits"]`.
        assert_eq!(row["delivered_signature"], json!([42, sig]));
        assert!(row.get("delivered_secret").is_none() && row.get("session_id").is_none());
        // The earlier form: session id and event stored apart, the secret kept on every delivery.
        row["session_id"] = json!("sess_a1");
        row["event"] = json!("step.completed");
        row["delivered_secret"] = json!("uip_whsec_before");
        let back: Delivery = serde_json::from_value(row.clone()).unwrap();
        assert_eq!((back.session_id(), back.event()), ("sess_a1", "step.completed"));
        assert_eq!(back.delivered_signature.map(|(ts, s)| (ts, s.to_hex())), Some((42, sig)));
        assert_eq!(back.delivered_secret.as_ref().map(|s| s.expose()), Some("uip_whsec_before"));
        // A stored signature that is not 64 hex digits is an error, not a silent loss.
        row["delivered_signature"] = json!([42, "not-hex"]);
        assert!(serde_json::from_value::<Delivery>(row).is_err());

        // A session row as the sandbox wrote it before audits were kept compact (age_verify,
        // identify and light_sign records): it loads, keeps every record compact, shows the
        // same records and is written back byte for byte.
        let session: Session = serde_json::from_str(SESSION_ROW).unwrap();
        assert!(session.audits.iter().all(|a| matches!(a, StoredAudit::Compact(_))), "{:?}", session.audits);
        assert_eq!(serde_json::to_string(&session).unwrap(), SESSION_ROW);
        let stored: Value = serde_json::from_str(SESSION_ROW).unwrap();
        let records = session.audit_records();
        assert_eq!(serde_json::to_value(&records).unwrap(), stored["audits"]);
        for (stage, record) in records.iter().enumerate() {
            assert_eq!(session.audit(stage).as_ref(), Some(record));
        }
        assert_eq!(session.audit(3), None);
        assert_eq!(uip_types::verify_chain(&records), Ok(()));
    }

    fn completed(session_id: &str) -> uip_types::WebhookEvent {
        let context = uip_types::EventContext::new(SessionId::from(session_id));
        let ended = uip_types::SessionEnded::new(context, uip_types::SessionStatus::Completed);
        uip_types::WebhookEvent::SessionCompleted(ended)
    }

    /// A business's deliveries share one business id string, and the index by delivery id is
    /// keyed by each delivery's own id string.
    fn assert_ids_are_shared(st: &super::super::State) {
        let of_a: Vec<&Delivery> = st.deliveries_of("biz_a").collect();
        assert_eq!(of_a.len(), 2);
        assert!(Arc::ptr_eq(&of_a[0].business_id, &of_a[1].business_id), "one business id per business");
        let of_b: Vec<&str> = st.deliveries_of("biz_b").map(|d| &*d.business_id).collect();
        assert_eq!(of_b, ["biz_b"]);
        for d in st.deliveries_of("biz_a").chain(st.deliveries_of("biz_b")) {
            let (key, &seq) = st.delivery_ids.get_key_value(&*d.delivery_id).expect("indexed by its id");
            assert!(Arc::ptr_eq(key, &d.delivery_id), "{}: the index keeps no copy", d.delivery_id);
            assert_eq!((seq, st.delivery_seq(&d.delivery_id)), (d.seq, Some(d.seq)));
        }
    }

    fn emit_three(st: &mut super::super::State) {
        let now = crate::clock::real_now();
        assert!(st.emit("biz_a", vec![completed("sess_a1")], now));
        assert!(st.emit("biz_b", vec![completed("sess_b1")], now));
        assert!(st.emit("biz_a", vec![completed("sess_a2")], now));
    }

    #[test]
    fn deliveries_share_their_ids_with_the_index_and_their_business() {
        let mut st = super::super::State::default();
        emit_three(&mut st);
        assert_ids_are_shared(&st);
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn deliveries_loaded_from_the_database_share_their_ids_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        super::super::Store::open(&path).unwrap().write_blocking(emit_three).unwrap();
        let reopened = super::super::Store::open(&path).unwrap();
        reopened.read(assert_ids_are_shared);
    }

    /// A session row written by `Session`'s serializer before audits were kept compact.
    const SESSION_ROW: &str = include_str!("testdata/session_row.json").trim_ascii_end();

    #[test]
    fn audit_records_the_compact_form_cannot_reproduce_are_kept_whole() {
        let row: Value = serde_json::from_str(SESSION_ROW).unwrap();
        // What is edited in the stored `audits`, and which records stay compact.
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit, [bool; 3]); 6] = [
            // A hash that is not `sha256:` + hex, and the record chained to it.
            ("record_hash", |a| a[0]["record_hash"] = json!("0x000"), [false, false, true]),
            (
                "upper-case hex",
                |a| a[1]["record_hash"] = json!(a[1]["record_hash"].as_str().unwrap().to_uppercase()),
                [true, false, false],
            ),
            ("prev_hash", |a| a[1]["prev_hash"] = json!("sha256:feed"), [true, false, true]),
            ("ts_token", |a| a[2]["ts_token"] = json!("token"), [true, true, false]),
            ("min_age other than the step's", |a| a[0]["proof"]["min_age"] = json!(18), [false, true, true]),
            (
                "blocks other than the step's",
                |a| a[1]["proof"]["blocks"] = json!(["first_name"]),
                [true, false, true],
            ),
        ];
        for (name, edit, compact) in cases {
            let mut edited = row.clone();
            edit(&mut edited["audits"]);
            let session: Session = serde_json::from_value(edited.clone()).unwrap();
            let kept: Vec<bool> =
                session.audits.iter().map(|a| matches!(a, StoredAudit::Compact(_))).collect();
            assert_eq!(kept, compact, "{name}: which records are compact");
            assert_eq!(serde_json::to_value(&session).unwrap(), edited, "{name}: written back as read");
            let records = session.audit_records();
            assert_eq!(serde_json::to_value(&records).unwrap(), edited["audits"], "{name}: shown as read");
        }
    }
}
