//! Realistic webhook deliveries, built from the `uip-types` structs the sandbox itself sends
//! (docs/DECISIONS.md §5), with results from the simulated wallet's default persona.

use std::fmt;
use std::str::FromStr;

use uip_types::hashing::{self, ManifestEntry};
use uip_types::sandbox::DeliveryFault;
use uip_types::{
    AgeVerifyParams, Block, EventContext, Primitive, SessionEnded, SessionId, SessionStatus, StepCompleted,
    StepResult, WebhookEvent, WebhookSecret, SESSION_COMPLETED, SESSION_EXPIRED, SESSION_FAILED,
    SESSION_STOPPED, STEP_COMPLETED,
};
use uip_webhook_verify::SignedHeaders;

use crate::engine::wallet;

/// The event types the sandbox sends (docs/DECISIONS.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `step.completed`.
    StepCompleted,
    /// `session.completed`.
    SessionCompleted,
    /// `session.stopped`.
    SessionStopped,
    /// `session.failed`.
    SessionFailed,
    /// `session.expired`.
    SessionExpired,
}

impl EventKind {
    /// Every event type, in the order of the docs.
    pub const ALL: [EventKind; 5] = [
        EventKind::StepCompleted,
        EventKind::SessionCompleted,
        EventKind::SessionStopped,
        EventKind::SessionFailed,
        EventKind::SessionExpired,
    ];

    /// The event name, e.g. `step.completed`.
    ///
    /// ```
    /// use uip_sandbox::receiver_tools::EventKind;
    /// assert_eq!(EventKind::SessionFailed.name(), "session.failed");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            EventKind::StepCompleted => STEP_COMPLETED,
            EventKind::SessionCompleted => SESSION_COMPLETED,
            EventKind::SessionStopped => SESSION_STOPPED,
            EventKind::SessionFailed => SESSION_FAILED,
            EventKind::SessionExpired => SESSION_EXPIRED,
        }
    }

    /// Whether the event carries `reason` (`session.failed`, `session.expired`).
    pub fn carries_reason(self) -> bool {
        matches!(self, EventKind::SessionFailed | EventKind::SessionExpired)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EventKind {
    type Err = EventError;

    /// Parses an event name.
    ///
    /// ```
    /// use uip_sandbox::receiver_tools::EventKind;
    /// assert_eq!("session.expired".parse::<EventKind>().unwrap(), EventKind::SessionExpired);
    /// assert!("session.archived".parse::<EventKind>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| EventError::UnknownEvent(s.to_owned()))
    }
}

/// Why a delivery could not be built from the options given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// Not one of the five event names.
    #[error(
        "unknown event {0:?}: expected one of step.completed, session.completed, session.stopped, \
         session.failed, session.expired"
    )]
    UnknownEvent(String),
    /// Not one of the four primitives.
    #[error("unknown primitive {0:?}: expected one of identify, age_verify, light_sign, sign")]
    UnknownPrimitive(String),
    /// Not one of the delivery faults.
    #[error("unknown fault {0:?}: expected one of none, stale_timestamp, bad_signature, duplicate")]
    UnknownFault(String),
    /// `--primitive` given for an event that has none.
    #[error("{0} carries no primitive: --primitive applies to step.completed only")]
    PrimitiveNotCarried(EventKind),
    /// `--reason` given for an event that has none.
    #[error("{0} carries no reason: --reason applies to session.failed and session.expired only")]
    ReasonNotCarried(EventKind),
    /// A session id that cannot go into the `X-UIP-Delivery-Id` header.
    #[error("the session id must be 1 to 200 visible ASCII characters")]
    BadSessionId,
}

/// Parses a delivery fault: `none`, `stale_timestamp`, `bad_signature` or `duplicate`
/// (docs/DECISIONS.md §8, the redeliver route's faults).
///
/// ```
/// use uip_sandbox::receiver_tools::parse_fault;
/// use uip_sandbox::DeliveryFault;
/// assert_eq!(parse_fault("stale_timestamp").unwrap(), DeliveryFault::StaleTimestamp);
/// assert!(parse_fault("late").is_err());
/// ```
pub fn parse_fault(s: &str) -> Result<DeliveryFault, EventError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| EventError::UnknownFault(s.to_owned()))
}

/// Parses one of the four primitives the sandbox runs.
///
/// ```
/// use uip_sandbox::receiver_tools::parse_primitive;
/// assert_eq!(parse_primitive("light_sign").unwrap().as_str(), "light_sign");
/// assert!(parse_primitive("selfie").is_err());
/// ```
pub fn parse_primitive(s: &str) -> Result<Primitive, EventError> {
    match Primitive::parse(s) {
        Primitive::Other(_) => Err(EventError::UnknownPrimitive(s.to_owned())),
        known => Ok(known),
    }
}

/// What may vary in a built event; everything else is what the sandbox would send.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventOptions {
    /// The session id (default: a fresh `sess_…` id).
    pub session_id: Option<String>,
    /// `step.completed` only: the step's primitive (default `identify`).
    pub primitive: Option<Primitive>,
    /// `session.failed` / `session.expired` only: the reason (defaults `credential_expired`
    /// and `session_ttl`).
    pub reason: Option<String>,
}

impl EventOptions {
    /// Sets the session id.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Sets the primitive of a `step.completed`.
    pub fn primitive(mut self, primitive: Primitive) -> Self {
        self.primitive = Some(primitive);
        self
    }

    /// Sets the reason of a `session.failed` / `session.expired`.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// The terms a `light_sign` step of a built event signed.
const LIGHT_SIGN_TERMS: &str = "I agree to the Terms of Service (version 2026-01).";
/// The document a `sign` step of a built event signed.
const SIGN_DOCUMENT: (&str, &[u8]) = ("contract.pdf", b"%PDF-1.7\n% UIP sandbox sample contract\n%%EOF\n");

/// A fresh session id of the sandbox's shape.
pub(crate) fn fresh_session_id() -> String {
    crate::engine::random_base62(SessionId::PREFIX, SessionId::RANDOM_LEN)
}

/// Builds a realistic event of `kind`: a fresh session, stage 0, and for `step.completed` the
/// result the simulated wallet's default persona (`jane-doe`) gives for the primitive.
///
/// ```
/// use uip_sandbox::receiver_tools::{realistic_event, EventKind, EventOptions};
///
/// let event = realistic_event(EventKind::SessionFailed, &EventOptions::default().session_id("sess_a"))?;
/// assert_eq!(event.delivery_id(), "sess_a:session.failed");
/// assert_eq!(
///     serde_json::to_string(&event).unwrap(),
///     r#"{"event":"session.failed","data":{"session_id":"sess_a","status":"failed","reason":"credential_expired"}}"#
/// );
/// assert!(realistic_event(EventKind::SessionStopped, &EventOptions::default().reason("x")).is_err());
/// # Ok::<(), uip_sandbox::receiver_tools::EventError>(())
/// ```
pub fn realistic_event(kind: EventKind, options: &EventOptions) -> Result<WebhookEvent, EventError> {
    if options.primitive.is_some() && kind != EventKind::StepCompleted {
        return Err(EventError::PrimitiveNotCarried(kind));
    }
    if options.reason.is_some() && !kind.carries_reason() {
        return Err(EventError::ReasonNotCarried(kind));
    }
    if let Some(p) = &options.primitive {
        parse_primitive(p.as_str())?;
    }
    let session_id = match &options.session_id {
        Some(id) if id.is_empty() || id.len() > 200 || !id.bytes().all(|b| b.is_ascii_graphic()) => {
            return Err(EventError::BadSessionId)
        }
        Some(id) => id.clone(),
        None => fresh_session_id(),
    };
    let context = EventContext::new(SessionId::from(session_id));
    let ended = |status: SessionStatus, default_reason: Option<&str>| {
        let mut ended = SessionEnded::new(context.clone(), status);
        ended.reason = options.reason.clone().or(default_reason.map(str::to_owned));
        ended
    };
    Ok(match kind {
        EventKind::StepCompleted => {
            let primitive = options.primitive.clone().unwrap_or(Primitive::Identify);
            let stage = 0;
            let result = step_result(&primitive);
            WebhookEvent::StepCompleted(StepCompleted::new(context, stage, primitive, result))
        }
        EventKind::SessionCompleted => WebhookEvent::SessionCompleted(ended(SessionStatus::Completed, None)),
        EventKind::SessionStopped => WebhookEvent::SessionStopped(ended(SessionStatus::Stopped, None)),
        EventKind::SessionFailed => {
            WebhookEvent::SessionFailed(ended(SessionStatus::Failed, Some("credential_expired")))
        }
        EventKind::SessionExpired => {
            WebhookEvent::SessionExpired(ended(SessionStatus::Expired, Some("session_ttl")))
        }
    })
}

/// What the default persona's credential gives for a step of `primitive` with default params.
fn step_result(primitive: &Primitive) -> StepResult {
    let persona = wallet::persona(wallet::DEFAULT_PERSONA).or_else(|| wallet::personas().first());
    let Some(credential) = persona.map(|p| &p.credential) else {
        // The persona table is static and never empty; keep a plausible result regardless.
        return StepResult::AgeVerify { satisfied: true, min_age: Some(AgeVerifyParams::DEFAULT_MIN_AGE) };
    };
    match primitive {
        Primitive::AgeVerify => {
            let min_age = AgeVerifyParams::default().effective_min_age();
            let today = chrono::Utc::now().date_naive();
            let satisfied = credential.age_on(today).is_some_and(|a| a >= u32::from(min_age));
            StepResult::AgeVerify { satisfied, min_age: Some(min_age) }
        }
        Primitive::LightSign => {
            let document_hash = hashing::light_sign_document_hash(LIGHT_SIGN_TERMS);
            StepResult::Signature { signature: credential.sign(&document_hash), document_hash }
        }
        Primitive::Sign => {
            let (name, bytes) = SIGN_DOCUMENT;
            let entry =
                ManifestEntry { name, sha256_hex: hashing::sha256_hex(bytes), size: bytes.len() as u64 };
            let document_hash = hashing::sign_document_hash(&[entry]);
            StepResult::Signature { signature: credential.sign(&document_hash), document_hash }
        }
        _ => StepResult::Identify { claims: credential.disclose(&Block::DEFAULT) },
    }
}

/// One delivery as the sandbox's outbox stores it: event name, delivery id and the body bytes
/// (docs/DECISIONS.md §5). Each send signs it afresh.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// `X-UIP-Event`.
    pub event: String,
    /// `X-UIP-Delivery-Id`.
    pub delivery_id: String,
    /// The raw JSON body.
    pub body: Vec<u8>,
}

impl Delivery {
    /// The delivery `delivery_id` of `event` with exactly these body bytes.
    ///
    /// ```
    /// use uip_sandbox::receiver_tools::Delivery;
    /// let delivery = Delivery::new("session.expired", "dlv_1", b"{}".to_vec());
    /// assert_eq!(delivery.body, b"{}");
    /// ```
    pub fn new(event: impl Into<String>, delivery_id: impl Into<String>, body: Vec<u8>) -> Self {
        Delivery { event: event.into(), delivery_id: delivery_id.into(), body }
    }

    /// The delivery of `event`, serialized exactly as the sandbox's outbox does.
    ///
    /// ```
    /// use uip_sandbox::receiver_tools::{realistic_event, Delivery, EventKind, EventOptions};
    /// let event = realistic_event(EventKind::SessionCompleted, &EventOptions::default().session_id("sess_a"))?;
    /// let delivery = Delivery::of(&event);
    /// assert_eq!(delivery.delivery_id, "sess_a:session.completed");
    /// assert_eq!(delivery.body, br#"{"event":"session.completed","data":{"session_id":"sess_a","status":"completed"}}"#);
    /// # Ok::<(), uip_sandbox::receiver_tools::EventError>(())
    /// ```
    pub fn of(event: &WebhookEvent) -> Delivery {
        Delivery {
            event: event.name().to_owned(),
            delivery_id: event.delivery_id(),
            body: serde_json::to_vec(event).unwrap_or_default(),
        }
    }

    /// A delivery with any body and headers, for the cases a real sender never produces.
    pub fn raw(
        event: impl Into<String>,
        delivery_id: impl Into<String>,
        body: impl Into<Vec<u8>>,
    ) -> Delivery {
        Delivery { event: event.into(), delivery_id: delivery_id.into(), body: body.into() }
    }

    /// The four `X-UIP-*` headers, signed with `secret` at `timestamp` by
    /// `uip-webhook-verify`'s signer.
    pub fn sign(&self, secret: &WebhookSecret, timestamp: u64) -> SignedHeaders {
        SignedHeaders::new(secret, &self.event, &self.delivery_id, timestamp, &self.body)
    }
}
