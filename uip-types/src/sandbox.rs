//! Wire types only the sandbox has: its control API (`/_sandbox`) and the hosted page's transport
//! (`/s/{id}/…`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{ApiKey, BindingToken, SessionId, WebhookSecret};
use crate::primitive::{Block, Primitive, WalletId};
use crate::status::SessionStatus;
use crate::time::{self, Timestamp};

/// Which issuers a business trusts: `demo` accepts simulator issuers, `production` does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// Simulator credentials verify.
    #[default]
    Demo,
    /// Only trusted issuers verify.
    Production,
}

impl Trust {
    /// The wire form.
    pub fn as_str(&self) -> &'static str {
        match self {
            Trust::Demo => "demo",
            Trust::Production => "production",
        }
    }
}

impl std::str::FromStr for Trust {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "demo" => Ok(Trust::Demo),
            "production" => Ok(Trust::Production),
            other => Err(format!("trust must be `demo` or `production`, not `{other}`")),
        }
    }
}

/// Integer fields of control-API bodies (docs/DECISIONS.md §11): a JSON integer in range, written
/// as `5` or as an integral float `5.0` (JSON Schema counts both as integers). Anything else that
/// is a number (fractional, negative, too large) is serde's "invalid value" error, which the sandbox
/// answers with 400 `request/invalid-field`; a non-number is an "invalid type" error.
mod control_int {
    use std::fmt;

    use serde::de::{self, Deserializer, Unexpected, Visitor};

    use crate::validate::{MAX_BALANCE_CENTS, MAX_SIMULATE_STEPS};

    struct UpTo(u64);

    impl UpTo {
        fn check<E: de::Error>(&self, n: u64, unexpected: Unexpected<'_>) -> Result<Option<u64>, E> {
            if n <= self.0 {
                Ok(Some(n))
            } else {
                Err(E::invalid_value(unexpected, self))
            }
        }
    }

    impl<'de> Visitor<'de> for UpTo {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "an integer from 0 to {}", self.0)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.check(v, Unexpected::Unsigned(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            match u64::try_from(v) {
                Ok(n) => self.check(n, Unexpected::Signed(v)),
                Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
            }
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // 2^64 as f64: every integral float below it converts to u64 exactly.
            if v.is_finite() && v.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&v) {
                self.check(v as u64, Unexpected::Float(v))
            } else {
                Err(E::invalid_value(Unexpected::Float(v), &self))
            }
        }
    }

    pub(super) fn balance<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(UpTo(MAX_BALANCE_CENTS))
    }

    pub(super) fn steps<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        // In range means it fits: MAX_SIMULATE_STEPS is a u32.
        Ok(d.deserialize_any(UpTo(u64::from(MAX_SIMULATE_STEPS)))?.map(|n| n as u32))
    }

    pub(super) fn fail_next<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        match d.deserialize_any(UpTo(u64::from(u32::MAX)))? {
            Some(n) => Ok(n as u32),
            None => Err(de::Error::invalid_type(Unexpected::Unit, &"an integer")),
        }
    }
}

/// `POST /_sandbox/businesses` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NewBusiness {
    /// Where webhooks go; none means creates answer 422.
    #[cfg_attr(feature = "openapi", schema(format = "uri"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// Starting balance (default 100000 cents).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 9_223_372_036_854_775_807_u64))]
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "control_int::balance")]
    pub balance_cents: Option<u64>,
    /// Issuer trust (default demo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<Trust>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl NewBusiness {
    /// Every field left out: the sandbox's defaults (no webhook URL, 100000 cents, demo trust).
    ///
    /// ```
    /// use uip_types::sandbox::{NewBusiness, Trust};
    ///
    /// let strict = NewBusiness::new()
    ///     .with_webhook_url("http://127.0.0.1:4000/uip-webhook")
    ///     .with_trust(Trust::Production)
    ///     .with_balance_cents(500)
    ///     .with_name("strict shop");
    /// assert_eq!(strict.trust, Some(Trust::Production));
    /// assert_eq!(strict.webhook_url.as_deref(), Some("http://127.0.0.1:4000/uip-webhook"));
    /// assert_eq!((strict.balance_cents, strict.name.as_deref()), (Some(500), Some("strict shop")));
    /// assert_eq!(NewBusiness::new(), NewBusiness::default());
    /// ```
    pub fn new() -> Self {
        NewBusiness::default()
    }

    /// Where its webhooks go.
    pub fn with_webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Its starting balance.
    pub fn with_balance_cents(mut self, cents: u64) -> Self {
        self.balance_cents = Some(cents);
        self
    }

    /// Its issuer trust.
    pub fn with_trust(mut self, trust: Trust) -> Self {
        self.trust = Some(trust);
        self
    }

    /// Its display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// `POST /_sandbox/businesses` answer: the new business's credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct BusinessCredentials {
    /// Business id.
    pub business_id: String,
    /// Its API key.
    pub api_key: ApiKey,
    /// Its webhook secret.
    pub webhook_secret: WebhookSecret,
    /// Its webhook URL.
    pub webhook_url: Option<String>,
    /// Its balance.
    pub balance_cents: u64,
    /// Its trust.
    pub trust: Trust,
}

impl BusinessCredentials {
    /// The credentials of business `business_id`: its API key, webhook secret, balance and trust,
    /// without a webhook URL (see [`with_webhook_url`](Self::with_webhook_url)).
    ///
    /// ```
    /// use uip_types::sandbox::{BusinessCredentials, Trust};
    /// use uip_types::{ApiKey, WebhookSecret};
    /// let creds = BusinessCredentials::new("biz_1", ApiKey::new("uip_test_k"), WebhookSecret::new("uip_whsec_s"), 100, Trust::Demo)
    ///     .with_webhook_url("http://127.0.0.1:9000/hooks");
    /// assert_eq!(creds.webhook_url.as_deref(), Some("http://127.0.0.1:9000/hooks"));
    /// ```
    pub fn new(
        business_id: impl Into<String>,
        api_key: ApiKey,
        webhook_secret: WebhookSecret,
        balance_cents: u64,
        trust: Trust,
    ) -> Self {
        BusinessCredentials {
            business_id: business_id.into(),
            api_key,
            webhook_secret,
            webhook_url: None,
            balance_cents,
            trust,
        }
    }

    /// The same credentials with a webhook URL.
    pub fn with_webhook_url(mut self, webhook_url: impl Into<String>) -> Self {
        self.webhook_url = Some(webhook_url.into());
        self
    }
}

/// `GET`/`PATCH /_sandbox/business` answer (the API key is never echoed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct BusinessView {
    /// Business id.
    pub business_id: String,
    /// Display name.
    pub name: String,
    /// Webhook URL (`null` when none).
    pub webhook_url: Option<String>,
    /// Current webhook secret.
    pub webhook_secret: WebhookSecret,
    /// Balance in cents.
    pub balance_cents: u64,
    /// Issuer trust.
    pub trust: Trust,
    /// How far this business's clock is ahead of real time, in seconds (the sum of its
    /// `POST /_sandbox/clock/advance` calls; 0 when absent on the wire).
    #[serde(default)]
    pub clock_offset_s: i64,
}

impl BusinessView {
    /// The view of business `business_id` named `name`, with its webhook secret, balance and
    /// trust; no webhook URL and a clock offset of 0 (see [`with_webhook_url`](Self::with_webhook_url)
    /// and [`with_clock_offset_s`](Self::with_clock_offset_s)).
    ///
    /// ```
    /// use uip_types::sandbox::{BusinessView, Trust};
    /// use uip_types::WebhookSecret;
    /// let view = BusinessView::new("biz_1", "Shop", WebhookSecret::new("uip_whsec_s"), 1, Trust::Production).with_clock_offset_s(60);
    /// assert_eq!((view.webhook_url, view.clock_offset_s), (None, 60));
    /// ```
    pub fn new(
        business_id: impl Into<String>,
        name: impl Into<String>,
        webhook_secret: WebhookSecret,
        balance_cents: u64,
        trust: Trust,
    ) -> Self {
        BusinessView {
            business_id: business_id.into(),
            name: name.into(),
            webhook_url: None,
            webhook_secret,
            balance_cents,
            trust,
            clock_offset_s: 0,
        }
    }

    /// The same view with a webhook URL.
    pub fn with_webhook_url(mut self, webhook_url: impl Into<String>) -> Self {
        self.webhook_url = Some(webhook_url.into());
        self
    }

    /// The same view with the business's clock `clock_offset_s` seconds ahead of real time.
    pub fn with_clock_offset_s(mut self, clock_offset_s: i64) -> Self {
        self.clock_offset_s = clock_offset_s;
        self
    }
}

/// `PATCH /_sandbox/business` body. `webhook_url: null` clears the URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BusinessPatch {
    /// `Some(None)` clears, `Some(Some(url))` sets.
    #[cfg_attr(feature = "openapi", schema(format = "uri"))]
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Option<String>>,
    /// New balance.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 9_223_372_036_854_775_807_u64))]
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "control_int::balance")]
    pub balance_cents: Option<u64>,
    /// New trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<Trust>,
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Rotate the webhook secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_webhook_secret: Option<bool>,
}

impl BusinessPatch {
    /// A patch that changes nothing; add changes with the `with_…` methods.
    ///
    /// ```
    /// use uip_types::sandbox::{BusinessPatch, Trust};
    ///
    /// let patch = BusinessPatch::new().with_webhook_url(None).with_trust(Trust::Demo).rotate_webhook_secret();
    /// assert_eq!(
    ///     serde_json::to_value(&patch).unwrap(),
    ///     serde_json::json!({"webhook_url": null, "trust": "demo", "rotate_webhook_secret": true})
    /// );
    /// let patch = BusinessPatch::new().with_webhook_url(Some("http://127.0.0.1:4000/hook".into()))
    ///     .with_balance_cents(0)
    ///     .with_name("shop");
    /// assert_eq!(patch.webhook_url, Some(Some("http://127.0.0.1:4000/hook".into())));
    /// assert_eq!((patch.balance_cents, patch.name.as_deref()), (Some(0), Some("shop")));
    /// assert_eq!(serde_json::to_value(BusinessPatch::new()).unwrap(), serde_json::json!({}));
    /// ```
    pub fn new() -> Self {
        BusinessPatch::default()
    }

    /// Sets the webhook URL (`Some`) or clears it (`None`).
    pub fn with_webhook_url(mut self, url: Option<String>) -> Self {
        self.webhook_url = Some(url);
        self
    }

    /// Sets the balance.
    pub fn with_balance_cents(mut self, cents: u64) -> Self {
        self.balance_cents = Some(cents);
        self
    }

    /// Sets the issuer trust.
    pub fn with_trust(mut self, trust: Trust) -> Self {
        self.trust = Some(trust);
        self
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Rotates the webhook secret.
    pub fn rotate_webhook_secret(mut self) -> Self {
        self.rotate_webhook_secret = Some(true);
        self
    }
}

mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<String>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::<String>::deserialize(d)?))
    }
}

/// `POST /_sandbox/clock/advance` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ClockNow {
    /// The business's clock after advancing.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "time::secs")]
    pub now: Timestamp,
}

impl ClockNow {
    /// The answer saying the sandbox clock reads `now`.
    pub fn new(now: Timestamp) -> Self {
        ClockNow { now }
    }
}

/// State of a webhook delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not attempted yet.
    Pending,
    /// Attempted, failed, will retry.
    Retrying,
    /// A 2xx arrived.
    Delivered,
    /// Gave up after the retry horizon.
    Failed,
}

/// One attempt in the delivery log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DeliveryAttempt {
    /// When the attempt started (real time).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "time::secs")]
    pub at: Timestamp,
    /// The receiver's status code, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

impl DeliveryAttempt {
    /// An attempt started at `at` that took `duration_ms`, with no status code and no error (see
    /// [`with_status_code`](Self::with_status_code) and [`with_error`](Self::with_error)).
    ///
    /// ```
    /// use uip_types::sandbox::DeliveryAttempt;
    /// let at = chrono::DateTime::from_timestamp(1_780_833_690, 0).unwrap();
    /// let attempt = DeliveryAttempt::new(at, 12).with_status_code(500).with_error("receiver answered 500");
    /// assert_eq!(attempt.status_code, Some(500));
    /// ```
    pub fn new(at: Timestamp, duration_ms: u64) -> Self {
        DeliveryAttempt { at, status_code: None, error: None, duration_ms }
    }

    /// The same attempt, the receiver having answered `status_code`.
    pub fn with_status_code(mut self, status_code: u16) -> Self {
        self.status_code = Some(status_code);
        self
    }

    /// The same attempt, having gone wrong as `error` says.
    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// One entry of `GET /_sandbox/deliveries`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DeliveryLogEntry {
    /// Stable delivery id.
    pub delivery_id: String,
    /// Event name.
    pub event: String,
    /// The session.
    pub session_id: SessionId,
    /// Current state.
    pub status: DeliveryStatus,
    /// Every attempt so far.
    pub attempts: Vec<DeliveryAttempt>,
    /// When the next attempt is due.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(default, with = "time::secs_opt", skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
    /// The exact body, as a string.
    pub body: String,
}

impl DeliveryLogEntry {
    /// The delivery `delivery_id` of `event` for `session_id`, in `status` after `attempts`, with
    /// this exact body; no next attempt due (see [`with_next_attempt_at`](Self::with_next_attempt_at)).
    ///
    /// ```
    /// use uip_types::sandbox::{DeliveryLogEntry, DeliveryStatus};
    /// use uip_types::SessionId;
    /// let entry = DeliveryLogEntry::new("dlv_1", "session.expired", SessionId::from("ses_1"), DeliveryStatus::Pending, vec![], "{}");
    /// assert_eq!((entry.attempts.len(), entry.next_attempt_at), (0, None));
    /// ```
    pub fn new(
        delivery_id: impl Into<String>,
        event: impl Into<String>,
        session_id: SessionId,
        status: DeliveryStatus,
        attempts: Vec<DeliveryAttempt>,
        body: impl Into<String>,
    ) -> Self {
        DeliveryLogEntry {
            delivery_id: delivery_id.into(),
            event: event.into(),
            session_id,
            status,
            attempts,
            next_attempt_at: None,
            body: body.into(),
        }
    }

    /// The same entry with its next attempt due at `next_attempt_at`.
    pub fn with_next_attempt_at(mut self, next_attempt_at: Timestamp) -> Self {
        self.next_attempt_at = Some(next_attempt_at);
        self
    }
}

/// `GET /_sandbox/deliveries` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DeliveryLog {
    /// Oldest first.
    pub deliveries: Vec<DeliveryLogEntry>,
}

impl DeliveryLog {
    /// The answer saying these deliveries, in order.
    pub fn new(deliveries: Vec<DeliveryLogEntry>) -> Self {
        DeliveryLog { deliveries }
    }
}

/// A fault a redelivery injects to test a receiver's defences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryFault {
    /// A normal redelivery.
    #[default]
    None,
    /// Signed as of one hour ago.
    StaleTimestamp,
    /// Signed with a wrong secret.
    BadSignature,
    /// Sent twice back to back.
    Duplicate,
}

/// `POST /_sandbox/deliveries/{id}/redeliver` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RedeliverRequest {
    /// The fault to inject.
    #[serde(default)]
    pub fault: DeliveryFault,
}

impl RedeliverRequest {
    /// A redelivery with this fault ([`DeliveryFault::None`] for a normal one).
    ///
    /// ```
    /// use uip_types::sandbox::{DeliveryFault, RedeliverRequest};
    ///
    /// let r = RedeliverRequest::new(DeliveryFault::StaleTimestamp);
    /// assert_eq!(serde_json::to_value(&r).unwrap(), serde_json::json!({"fault": "stale_timestamp"}));
    /// assert_eq!(RedeliverRequest::new(DeliveryFault::None), RedeliverRequest::default());
    /// ```
    pub fn new(fault: DeliveryFault) -> Self {
        RedeliverRequest { fault }
    }
}

/// What the simulated user does with the wallet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WalletAction {
    /// Share the credential.
    #[default]
    Share,
    /// Decline in the wallet (not a failure: the step may be retried).
    Decline,
}

/// What `POST /_sandbox/sessions/{id}/simulate` does (docs/DECISIONS.md §8, §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SimulateAction {
    /// The user shares the credential at each step answered.
    #[default]
    Share,
    /// The user declines in the wallet (not a failure: the step may be retried).
    Decline,
    /// The service fails the active step: the session ends `failed` with reason `internal_error`,
    /// nothing is billed, no audit record and no `step.completed` are written.
    InternalError,
}

impl SimulateAction {
    /// The wallet answer this action gives, if it is one (`internal_error` is not).
    pub fn wallet_action(self) -> Option<WalletAction> {
        match self {
            SimulateAction::Share => Some(WalletAction::Share),
            SimulateAction::Decline => Some(WalletAction::Decline),
            SimulateAction::InternalError => None,
        }
    }
}

/// `POST /_sandbox/sessions/{id}/simulate` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SimulateRequest {
    /// Persona id (default `jane-doe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// Wallet (default `apple-wallet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<WalletId>,
    /// Share, decline or fail the step with `internal_error` (default share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<SimulateAction>,
    /// How many steps to answer (default: until the session pauses or ends; at most 100 per call).
    #[cfg_attr(feature = "openapi", schema(format = Int64, minimum = 0, maximum = 4_294_967_295_u64))]
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "control_int::steps")]
    pub steps: Option<u32>,
}

impl SimulateRequest {
    /// Every field left out: `jane-doe` shares with `apple-wallet` until the session pauses or ends.
    ///
    /// ```
    /// use uip_types::sandbox::{SimulateAction, SimulateRequest};
    /// use uip_types::WalletId;
    ///
    /// let r = SimulateRequest::new()
    ///     .with_persona("minor")
    ///     .with_wallet(WalletId::GoogleWallet)
    ///     .with_action(SimulateAction::Decline)
    ///     .with_steps(1);
    /// assert_eq!(
    ///     serde_json::to_value(&r).unwrap(),
    ///     serde_json::json!({"persona": "minor", "wallet": "google-wallet", "action": "decline", "steps": 1})
    /// );
    /// assert_eq!(serde_json::to_value(SimulateRequest::new()).unwrap(), serde_json::json!({}));
    /// ```
    pub fn new() -> Self {
        SimulateRequest::default()
    }

    /// The persona who answers.
    pub fn with_persona(mut self, persona: impl Into<String>) -> Self {
        self.persona = Some(persona.into());
        self
    }

    /// The wallet it answers with.
    pub fn with_wallet(mut self, wallet: WalletId) -> Self {
        self.wallet = Some(wallet);
        self
    }

    /// Share, decline, or fail the step with `internal_error`.
    pub fn with_action(mut self, action: SimulateAction) -> Self {
        self.action = Some(action);
        self
    }

    /// How many steps to answer.
    pub fn with_steps(mut self, steps: u32) -> Self {
        self.steps = Some(steps);
        self
    }
}

/// `POST /_sandbox/faults` body and answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct FaultPlan {
    /// How many business-API requests fail.
    #[serde(deserialize_with = "control_int::fail_next")]
    pub fail_next: u32,
    /// `500`, `503`, `429`, `"reset"` or `"delay_ms:N"`.
    #[serde(default)]
    pub with: Value,
}

impl FaultPlan {
    /// Fails the next `fail_next` business-API requests, the way `with` is `null` (see
    /// [`with_fault`](Self::with_fault)).
    ///
    /// ```
    /// use uip_types::sandbox::FaultPlan;
    /// let plan = FaultPlan::new(2).with_fault(serde_json::json!(503));
    /// assert_eq!((plan.fail_next, plan.with), (2, serde_json::json!(503)));
    /// ```
    pub fn new(fail_next: u32) -> Self {
        FaultPlan { fail_next, with: Value::Null }
    }

    /// The same plan failing with `with`: `500`, `503`, `429`, `"reset"` or `"delay_ms:N"`.
    pub fn with_fault(mut self, with: Value) -> Self {
        self.with = with;
        self
    }
}

/// One entry of the built-in inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct InboxEntry {
    /// The delivery id header.
    pub delivery_id: String,
    /// The event header.
    pub event: String,
    /// Whether the signature verified.
    pub verified: bool,
    /// Why it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it arrived.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "time::secs")]
    pub received_at: Timestamp,
    /// The body as received.
    pub body: String,
}

impl InboxEntry {
    /// The delivery `delivery_id` of `event` received at `received_at` with this body, its
    /// signature `verified` or not; no error (see [`with_error`](Self::with_error)).
    ///
    /// ```
    /// use uip_types::sandbox::InboxEntry;
    /// let at = chrono::DateTime::from_timestamp(1_780_833_690, 0).unwrap();
    /// let entry = InboxEntry::new("dlv_1", "session.expired", false, at, "{}").with_error("bad signature");
    /// assert_eq!(entry.error.as_deref(), Some("bad signature"));
    /// ```
    pub fn new(
        delivery_id: impl Into<String>,
        event: impl Into<String>,
        verified: bool,
        received_at: Timestamp,
        body: impl Into<String>,
    ) -> Self {
        InboxEntry {
            delivery_id: delivery_id.into(),
            event: event.into(),
            verified,
            error: None,
            received_at,
            body: body.into(),
        }
    }

    /// The same entry, its signature not verifying because of `error`.
    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// `GET /_sandbox/inbox` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Inbox {
    /// Oldest first.
    pub received: Vec<InboxEntry>,
}

impl Inbox {
    /// The answer saying these received deliveries, in order.
    pub fn new(received: Vec<InboxEntry>) -> Self {
        Inbox { received }
    }
}

/// A built-in persona.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct PersonaInfo {
    /// Persona id.
    pub id: String,
    /// What it is for.
    pub description: String,
    /// Credential claims.
    pub claims: BTreeMap<String, Value>,
    /// Ed25519 device public key, base64url.
    pub device_public_key: String,
    /// Expected outcome.
    pub outcome: String,
}

impl PersonaInfo {
    /// The persona `id`, for what `description` says, holding these claims and the device key
    /// `device_public_key` (base64url), expected to end in `outcome`.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use uip_types::sandbox::PersonaInfo;
    /// let info = PersonaInfo::new("jane-doe", "An adult", BTreeMap::new(), "AAAA", "verified");
    /// assert_eq!(info.id, "jane-doe");
    /// ```
    pub fn new(
        id: impl Into<String>,
        description: impl Into<String>,
        claims: BTreeMap<String, Value>,
        device_public_key: impl Into<String>,
        outcome: impl Into<String>,
    ) -> Self {
        PersonaInfo {
            id: id.into(),
            description: description.into(),
            claims,
            device_public_key: device_public_key.into(),
            outcome: outcome.into(),
        }
    }
}

/// `GET /_sandbox/personas` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Personas {
    /// Every built-in persona.
    pub personas: Vec<PersonaInfo>,
}

impl Personas {
    /// The answer saying these personas.
    pub fn new(personas: Vec<PersonaInfo>) -> Self {
        Personas { personas }
    }
}

/// `POST /s/{id}/open` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct OpenResponse {
    /// The binding token (also set as the `uip_bind` cookie).
    pub binding: BindingToken,
}

impl OpenResponse {
    /// The answer saying the page was bound with `binding`.
    pub fn new(binding: BindingToken) -> Self {
        OpenResponse { binding }
    }
}

/// `GET /s/{id}/state` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct PageState {
    /// Session status.
    pub status: SessionStatus,
    /// Active step.
    pub current_step: u32,
    /// Number of steps.
    pub step_count: u32,
    /// Active step's primitive.
    pub current_primitive: Primitive,
    /// When the active step's window (or the session) ends; absent while paused or over.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(default, with = "time::secs_opt", skip_serializing_if = "Option::is_none")]
    pub step_expires_at: Option<Timestamp>,
    /// Where the "Return to" button points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// The business's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    /// Why the session ended, once `failed` (the failure code) or `expired` (`session_ttl` or
    /// `step_window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl PageState {
    /// A session in `status` at step `current_step` of `step_count`, whose primitive is
    /// `current_primitive`; no step expiry, return URL, business name or reason (see the `with_…`
    /// methods).
    ///
    /// ```
    /// use uip_types::sandbox::PageState;
    /// use uip_types::{Primitive, SessionStatus};
    /// let state = PageState::new(SessionStatus::Failed, 0, 1, Primitive::AgeVerify).with_reason("underage");
    /// assert_eq!(state.reason.as_deref(), Some("underage"));
    /// ```
    pub fn new(
        status: SessionStatus,
        current_step: u32,
        step_count: u32,
        current_primitive: Primitive,
    ) -> Self {
        PageState {
            status,
            current_step,
            step_count,
            current_primitive,
            step_expires_at: None,
            return_url: None,
            business_name: None,
            reason: None,
        }
    }

    /// The same state, the active step's window (or the session) ending at `step_expires_at`.
    pub fn with_step_expires_at(mut self, step_expires_at: Timestamp) -> Self {
        self.step_expires_at = Some(step_expires_at);
        self
    }

    /// The same state, the "Return to" button pointing at `return_url`.
    pub fn with_return_url(mut self, return_url: impl Into<String>) -> Self {
        self.return_url = Some(return_url.into());
        self
    }

    /// The same state showing the business's display name.
    pub fn with_business_name(mut self, business_name: impl Into<String>) -> Self {
        self.business_name = Some(business_name.into());
        self
    }

    /// The same state, the session having ended because of `reason`.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// A document of a sign step, as the wallet request lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RequestDocument {
    /// Index in the step's signing order.
    pub index: u32,
    /// Filename.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// `sha256:<hex>`.
    pub sha256: String,
}

impl RequestDocument {
    /// The document at `index` in the signing order, `name` of `size` bytes with digest `sha256`
    /// (`sha256:<hex>`).
    ///
    /// ```
    /// use uip_types::sandbox::RequestDocument;
    /// let d = RequestDocument::new(0, "contract.pdf", 1024, format!("sha256:{}", "0".repeat(64)));
    /// assert_eq!((d.index, d.size), (0, 1024));
    /// ```
    pub fn new(index: u32, name: impl Into<String>, size: u64, sha256: impl Into<String>) -> Self {
        RequestDocument { index, name: name.into(), size, sha256: sha256.into() }
    }
}

/// `GET /s/{id}/request` answer: what the wallet is asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct WalletRequest {
    /// Active stage.
    pub stage: u32,
    /// Its primitive.
    pub primitive: Primitive,
    /// Fresh per-step nonce (base64url of 16 bytes).
    pub nonce: String,
    /// `scheme://host:port` of the public URL.
    pub origin: String,
    /// identify: requested blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Vec<Block>>,
    /// age_verify: threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age: Option<u8>,
    /// light_sign: title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// light_sign: terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
    /// sign: documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<Vec<RequestDocument>>,
    /// sign / light_sign: the hash the device signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_hash: Option<String>,
    /// End of the step window (or session expiry, if earlier).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "time::secs")]
    pub expires_at: Timestamp,
}

impl WalletRequest {
    /// The request of stage `stage` for `primitive` with nonce `nonce`, from `origin`, until
    /// `expires_at`; the primitive's own fields are set with the `with_…` methods.
    ///
    /// ```
    /// use uip_types::sandbox::WalletRequest;
    /// use uip_types::Primitive;
    /// let until = chrono::DateTime::from_timestamp(1_780_833_690, 0).unwrap();
    /// let req = WalletRequest::new(0, Primitive::AgeVerify, "n-1", "http://127.0.0.1:8080", until).with_min_age(21);
    /// assert_eq!((req.min_age, req.blocks), (Some(21), None));
    /// ```
    pub fn new(
        stage: u32,
        primitive: Primitive,
        nonce: impl Into<String>,
        origin: impl Into<String>,
        expires_at: Timestamp,
    ) -> Self {
        WalletRequest {
            stage,
            primitive,
            nonce: nonce.into(),
            origin: origin.into(),
            blocks: None,
            min_age: None,
            title: None,
            terms: None,
            documents: None,
            document_hash: None,
            expires_at,
        }
    }

    /// The same request asking for these blocks (identify).
    pub fn with_blocks(mut self, blocks: Vec<Block>) -> Self {
        self.blocks = Some(blocks);
        self
    }

    /// The same request with this age threshold (age_verify).
    pub fn with_min_age(mut self, min_age: u8) -> Self {
        self.min_age = Some(min_age);
        self
    }

    /// The same request with this title (light_sign).
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The same request with these terms (light_sign).
    pub fn with_terms(mut self, terms: impl Into<String>) -> Self {
        self.terms = Some(terms.into());
        self
    }

    /// The same request listing these documents (sign).
    pub fn with_documents(mut self, documents: Vec<RequestDocument>) -> Self {
        self.documents = Some(documents);
        self
    }

    /// The same request with the hash the device signs (sign, light_sign).
    pub fn with_document_hash(mut self, document_hash: impl Into<String>) -> Self {
        self.document_hash = Some(document_hash.into());
        self
    }
}

/// A custom credential sent instead of a persona.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CustomCredential {
    /// Claims keyed by block name.
    pub claims: BTreeMap<String, Value>,
    /// Last valid day, `YYYY-MM-DD`.
    pub valid_until: String,
    /// Whether the issuer is on the trust list.
    pub issuer_trusted: bool,
    /// Whether a disclosed value was altered.
    pub tampered: bool,
    /// 64 hex chars: the Ed25519 seed of the device key.
    pub device_seed: String,
}

impl CustomCredential {
    /// A credential with these claims, valid until `valid_until` (`YYYY-MM-DD`), held by the
    /// device key of `device_seed` (64 hex characters); from a trusted issuer and not tampered
    /// with (see [`with_issuer_trusted`](Self::with_issuer_trusted) and
    /// [`with_tampered`](Self::with_tampered)).
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use uip_types::sandbox::CustomCredential;
    /// let claims = BTreeMap::from([("first_name".to_owned(), serde_json::json!("Ada"))]);
    /// let credential = CustomCredential::new(claims, "2030-01-01", "00".repeat(32)).with_tampered(true);
    /// assert!(credential.issuer_trusted && credential.tampered);
    /// ```
    pub fn new(
        claims: BTreeMap<String, Value>,
        valid_until: impl Into<String>,
        device_seed: impl Into<String>,
    ) -> Self {
        CustomCredential {
            claims,
            valid_until: valid_until.into(),
            issuer_trusted: true,
            tampered: false,
            device_seed: device_seed.into(),
        }
    }

    /// The same credential, its issuer on the trust list or not.
    pub fn with_issuer_trusted(mut self, issuer_trusted: bool) -> Self {
        self.issuer_trusted = issuer_trusted;
        self
    }

    /// The same credential, a disclosed value altered or not.
    pub fn with_tampered(mut self, tampered: bool) -> Self {
        self.tampered = tampered;
        self
    }
}

/// `POST /s/{id}/response` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WalletResponse {
    /// The active step's nonce.
    pub nonce: String,
    /// The wallet used.
    pub wallet: WalletId,
    /// Share or decline.
    pub action: WalletAction,
    /// Built-in persona id (default jane-doe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// A custom credential instead of a persona.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<CustomCredential>,
}

impl WalletResponse {
    /// Answers the request of nonce `nonce` with `wallet` and `action`, as the default persona
    /// (see [`with_persona`](Self::with_persona) and [`with_credential`](Self::with_credential)).
    ///
    /// ```
    /// use uip_types::sandbox::{WalletAction, WalletResponse};
    /// use uip_types::WalletId;
    /// let answer = WalletResponse::new("n-1", WalletId::GoogleWallet, WalletAction::Share).with_persona("minor");
    /// assert_eq!(answer.persona.as_deref(), Some("minor"));
    /// assert_eq!(answer.credential, None);
    /// ```
    pub fn new(nonce: impl Into<String>, wallet: WalletId, action: WalletAction) -> Self {
        WalletResponse { nonce: nonce.into(), wallet, action, persona: None, credential: None }
    }

    /// The same answer as a built-in persona.
    pub fn with_persona(mut self, persona: impl Into<String>) -> Self {
        self.persona = Some(persona.into());
        self
    }

    /// The same answer with a custom credential instead of a persona.
    pub fn with_credential(mut self, credential: CustomCredential) -> Self {
        self.credential = Some(credential);
        self
    }
}

/// How a wallet response was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ResponseOutcome {
    /// The step verified.
    Verified,
    /// The user declined; the step stays active.
    Declined,
    /// Verification failed; the session failed.
    Failed,
}

/// `POST /s/{id}/response` answer: the page state plus the outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ResponseResult {
    /// The page state after the response.
    #[serde(flatten)]
    pub state: PageState,
    /// What happened.
    pub outcome: ResponseOutcome,
}

impl ResponseResult {
    /// The page state `state` after a response whose outcome is `outcome`.
    ///
    /// ```
    /// use uip_types::sandbox::{PageState, ResponseOutcome, ResponseResult};
    /// use uip_types::{Primitive, SessionStatus};
    /// let state = PageState::new(SessionStatus::Failed, 0, 1, Primitive::AgeVerify).with_reason("underage");
    /// let result = ResponseResult::new(state, ResponseOutcome::Failed);
    /// assert_eq!(result.reason(), Some("underage"));
    /// ```
    pub fn new(state: PageState, outcome: ResponseOutcome) -> Self {
        ResponseResult { state, outcome }
    }

    /// The failure code when the outcome is `failed` (the page state's `reason`).
    pub fn reason(&self) -> Option<&str> {
        self.state.reason.as_deref()
    }
}
