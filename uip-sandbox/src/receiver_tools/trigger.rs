//! `uip-sandbox trigger`: one signed, realistic delivery to a receiver (docs/DECISIONS.md §11).

use std::fmt::Write as _;

use uip_types::sandbox::DeliveryFault;
use uip_types::WebhookSecret;

use super::events::{realistic_event, Delivery, EventError, EventKind, EventOptions};
use super::send::{self, BadUrl, Outcome};
use super::unix_now;
use crate::core::WRONG_SECRET;
use crate::delivery::STALE_BY_S;

/// One delivery to make.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Trigger {
    /// The receiver's URL.
    pub url: String,
    /// The secret to sign with (default `uip_whsec_sandbox`).
    pub secret: WebhookSecret,
    /// The event type.
    pub event: EventKind,
    /// Session id, primitive, reason.
    pub options: EventOptions,
    /// The fault to inject, as the redeliver route does (docs/DECISIONS.md §8).
    pub fault: DeliveryFault,
}

impl Trigger {
    /// A delivery of `event` to `url`, signed with the default secret, without fault.
    pub fn new(url: impl Into<String>, event: EventKind) -> Trigger {
        Trigger {
            url: url.into(),
            secret: WebhookSecret::new(crate::DEFAULT_WEBHOOK_SECRET),
            event,
            options: EventOptions::default(),
            fault: DeliveryFault::None,
        }
    }

    /// Signs with `secret`.
    pub fn secret(mut self, secret: impl Into<WebhookSecret>) -> Self {
        self.secret = secret.into();
        self
    }

    /// Sets the session id, primitive and reason.
    pub fn options(mut self, options: EventOptions) -> Self {
        self.options = options;
        self
    }

    /// Injects `fault`.
    pub fn fault(mut self, fault: DeliveryFault) -> Self {
        self.fault = fault;
        self
    }
}

/// Why nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TriggerError {
    /// The URL is not http(s).
    #[error(transparent)]
    Url(#[from] BadUrl),
    /// The event options do not fit the event.
    #[error(transparent)]
    Event(#[from] EventError),
}

/// One POST made: what was sent and what came back.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Attempt {
    /// `X-UIP-Timestamp` as sent.
    pub timestamp: u64,
    /// `X-UIP-Signature` as sent.
    pub signature: String,
    /// The receiver's answer.
    pub outcome: Outcome,
}

impl Attempt {
    /// The POST signed at `timestamp` with `signature`, answered with `outcome`.
    ///
    /// ```
    /// use uip_sandbox::receiver_tools::{Answer, Attempt};
    /// let attempt = Attempt::new(1_780_833_690, "v1=00", Ok(Answer::new(204, "")));
    /// assert_eq!(attempt.timestamp, 1_780_833_690);
    /// ```
    pub fn new(timestamp: u64, signature: impl Into<String>, outcome: Outcome) -> Self {
        Attempt { timestamp, signature: signature.into(), outcome }
    }
}

/// What a trigger did.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TriggerReport {
    /// The receiver's URL.
    pub url: String,
    /// The fault injected.
    pub fault: DeliveryFault,
    /// The delivery sent.
    pub delivery: Delivery,
    /// One POST, or two for the `duplicate` fault.
    pub attempts: Vec<Attempt>,
}

impl TriggerReport {
    /// The report of sending `delivery` to `url` with `fault` injected, in these attempts.
    ///
    /// ```
    /// use uip_sandbox::receiver_tools::{Answer, Attempt, Delivery, TriggerReport};
    /// use uip_sandbox::DeliveryFault;
    /// let delivery = Delivery::new("session.expired", "dlv_1", b"{}".to_vec());
    /// let attempt = Attempt::new(1_780_833_690, "v1=00", Ok(Answer::new(204, "")));
    /// let report = TriggerReport::new("http://127.0.0.1:9000/hooks", DeliveryFault::None, delivery, vec![attempt]);
    /// assert!(report.succeeded());
    /// ```
    pub fn new(
        url: impl Into<String>,
        fault: DeliveryFault,
        delivery: Delivery,
        attempts: Vec<Attempt>,
    ) -> Self {
        TriggerReport { url: url.into(), fault, delivery, attempts }
    }

    /// Whether every POST was answered 2xx (the exit status of `uip-sandbox trigger`).
    pub fn succeeded(&self) -> bool {
        !self.attempts.is_empty()
            && self.attempts.iter().all(|a| a.outcome.as_ref().is_ok_and(|r| r.is_success()))
    }

    /// The report as `uip-sandbox trigger` prints it: what was sent, then each answer.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let d = &self.delivery;
        let fault = match self.fault {
            DeliveryFault::None => String::new(),
            DeliveryFault::StaleTimestamp => " (fault: stale_timestamp, signed as of 1 h ago)".to_owned(),
            DeliveryFault::BadSignature => " (fault: bad_signature, signed with a wrong secret)".to_owned(),
            DeliveryFault::Duplicate => " (fault: duplicate, sent twice back to back)".to_owned(),
        };
        let _ = writeln!(out, "{} {} to {}{fault}", d.event, d.delivery_id, self.url);
        let _ = writeln!(out, "  body {}", String::from_utf8_lossy(&d.body));
        for (i, attempt) in self.attempts.iter().enumerate() {
            let n = if self.attempts.len() > 1 { format!(" #{}", i + 1) } else { String::new() };
            let _ = writeln!(
                out,
                "POST{n} (X-UIP-Timestamp {}, X-UIP-Signature {})",
                attempt.timestamp, attempt.signature
            );
            match &attempt.outcome {
                Ok(answer) => {
                    let _ = writeln!(out, "  answered {answer}");
                    if !answer.body.is_empty() {
                        let _ = writeln!(out, "  {}", answer.body.trim_end());
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "  no answer: {e}");
                }
            }
        }
        out
    }
}

/// Sends one realistic delivery, signed with `uip-webhook-verify`'s signer, and returns what
/// the receiver answered. Fails only when nothing could be sent (bad URL or options); a
/// receiver that is down or refuses is reported in the attempts.
pub async fn trigger(t: &Trigger) -> Result<TriggerReport, TriggerError> {
    let url = send::check_url(&t.url)?;
    let event = realistic_event(t.event, &t.options)?;
    let delivery = Delivery::of(&event);
    let client = send::client();
    let wrong = WebhookSecret::new(WRONG_SECRET);
    let secret = if t.fault == DeliveryFault::BadSignature { &wrong } else { &t.secret };
    let times = if t.fault == DeliveryFault::Duplicate { 2 } else { 1 };
    let mut attempts = Vec::with_capacity(times);
    for _ in 0..times {
        // Each attempt is signed afresh, as the dispatcher does (docs/DECISIONS.md §5).
        let mut timestamp = unix_now();
        if t.fault == DeliveryFault::StaleTimestamp {
            timestamp = timestamp.saturating_sub(STALE_BY_S);
        }
        let headers = delivery.sign(secret, timestamp);
        let outcome = send::post(&client, &url, &headers.pairs(), &delivery.body).await;
        attempts.push(Attempt { timestamp, signature: headers.signature, outcome });
    }
    Ok(TriggerReport { url: t.url.clone(), fault: t.fault, delivery, attempts })
}
