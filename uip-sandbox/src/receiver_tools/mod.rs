//! Tools for testing a webhook receiver written in any language (docs/DECISIONS.md §11,
//! "Receiver tools"): [`trigger()`] sends one signed, realistic delivery, and [`check_receiver()`]
//! runs a conformance check of the receiver's security.
//!
//! Bodies are built from the `uip-types` structs the sandbox sends and serialized as its outbox
//! does; every signature comes from `uip-webhook-verify`'s signer; the faults are the redeliver
//! route's (docs/DECISIONS.md §8). The binary's `trigger` and `check-receiver` subcommands are
//! `TriggerArgs` and `CheckArgs` (feature `cli`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use uip_sandbox::receiver_tools::{check_receiver, trigger, EventKind, Trigger};
//! use uip_types::WebhookSecret;
//!
//! let url = "http://127.0.0.1:4000/uip-webhook";
//! let report = trigger(&Trigger::new(url, EventKind::StepCompleted)).await?;
//! assert!(report.succeeded());
//!
//! let check = check_receiver(url, &WebhookSecret::new("uip_whsec_sandbox")).await?;
//! print!("{}", check.render_table());
//! assert!(check.passed(), "failed: {:?}", check.failed_cases());
//! # Ok(()) }
//! ```

mod check;
mod events;
mod send;
mod trigger;

#[cfg(feature = "cli")]
use std::io::Write as _;
#[cfg(feature = "cli")]
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

#[cfg(feature = "cli")]
use uip_types::sandbox::DeliveryFault;
#[cfg(feature = "cli")]
use uip_types::{Primitive, WebhookSecret};

pub use check::{
    case_names, check_receiver, missing_case, valid_case, CaseResult, CheckReport, Expected, BAD_SIGNATURE,
    FUTURE_TIMESTAMP, NON_HEX_SIGNATURE, SAME_DELIVERY_AGAIN, SHORT_SIGNATURE, SIGNATURE_OF_ANOTHER_BODY,
    STALE_TIMESTAMP, UNKNOWN_EVENT, UNKNOWN_EVENT_TYPE,
};
pub use events::{
    parse_fault, parse_primitive, realistic_event, Delivery, EventError, EventKind, EventOptions,
};
pub use send::{Answer, BadUrl, Outcome};
pub use trigger::{trigger, Attempt, Trigger, TriggerError, TriggerReport};

/// Real time in Unix seconds: signatures always use real time (docs/DECISIONS.md §5).
fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(feature = "cli")]
fn parse_secret(s: &str) -> Result<WebhookSecret, std::convert::Infallible> {
    Ok(WebhookSecret::new(s))
}

/// Exit status of a run whose options were refused.
#[cfg(feature = "cli")]
const USAGE: u8 = 2;

/// `uip-sandbox trigger EVENT --to URL …`: the arguments, and the run.
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
#[derive(clap::Args, Debug, Clone)]
pub struct TriggerArgs {
    /// step.completed, session.completed, session.stopped, session.failed or session.expired.
    #[arg(value_name = "EVENT")]
    pub event: EventKind,
    /// The receiver's URL.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// The webhook secret to sign with.
    #[arg(long, value_name = "S", default_value = crate::DEFAULT_WEBHOOK_SECRET, value_parser = parse_secret)]
    pub secret: WebhookSecret,
    /// step.completed only: identify, age_verify, light_sign or sign (default identify).
    #[arg(long, value_name = "P", value_parser = parse_primitive)]
    pub primitive: Option<Primitive>,
    /// session.failed / session.expired only (defaults credential_expired, session_ttl).
    #[arg(long, value_name = "R")]
    pub reason: Option<String>,
    /// The session id (default: a fresh sess_… id).
    #[arg(long, value_name = "ID")]
    pub session_id: Option<String>,
    /// none, stale_timestamp (signed 1 h ago), bad_signature (wrong secret) or duplicate (sent twice).
    #[arg(long, value_name = "F", default_value = "none", value_parser = parse_fault)]
    pub fault: DeliveryFault,
}

#[cfg(feature = "cli")]
impl TriggerArgs {
    /// Sends the delivery and prints what the receiver answered. Exit status 0 when every POST
    /// was answered 2xx, 1 otherwise, 2 when nothing could be sent (bad URL or options).
    pub async fn run(self) -> ExitCode {
        let options =
            EventOptions { session_id: self.session_id, primitive: self.primitive, reason: self.reason };
        let t = Trigger { url: self.to, secret: self.secret, event: self.event, options, fault: self.fault };
        match trigger(&t).await {
            Ok(report) => {
                print_out(&report.render());
                if report.succeeded() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("uip-sandbox trigger: {e}");
                ExitCode::from(USAGE)
            }
        }
    }
}

/// `uip-sandbox check-receiver URL [--secret S] [--json]`: the arguments, and the run.
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// The receiver's URL.
    #[arg(value_name = "URL")]
    pub url: String,
    /// The webhook secret the receiver verifies with.
    #[arg(long, value_name = "S", default_value = crate::DEFAULT_WEBHOOK_SECRET, value_parser = parse_secret)]
    pub secret: WebhookSecret,
    /// Print {"passed", "cases": [...]} as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[cfg(feature = "cli")]
impl CheckArgs {
    /// Runs every case and prints the table (or JSON). Exit status 0 only when every case
    /// passed, 1 otherwise, 2 for a bad URL.
    pub async fn run(self) -> ExitCode {
        match check_receiver(&self.url, &self.secret).await {
            Ok(report) => {
                if self.json {
                    print_out(&format!("{}\n", report.to_json()));
                } else {
                    print_out(&report.render_table());
                }
                if report.passed() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("uip-sandbox check-receiver: {e}");
                ExitCode::from(USAGE)
            }
        }
    }
}

/// Writes to stdout without panicking when it is closed (`| head`).
#[cfg(feature = "cli")]
fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
