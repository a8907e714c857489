//! `uip-sandbox check-receiver`: a conformance run against a webhook receiver
//! (docs/DECISIONS.md §11, "Receiver tools").

use std::fmt::Write as _;

use serde_json::{json, Value};
use uip_types::{
    WebhookEvent, WebhookSecret, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};

use super::events::{fresh_session_id, realistic_event, Delivery, EventKind, EventOptions};
use super::send::{self, BadUrl, Outcome};
use super::unix_now;
use crate::core::WRONG_SECRET;
use crate::delivery::STALE_BY_S;

/// The event name of the "unknown event type" case.
pub const UNKNOWN_EVENT: &str = "session.unknown_future";

/// Case: the same delivery (same delivery id and body) again, signed afresh.
pub const SAME_DELIVERY_AGAIN: &str = "same delivery again";
/// Case: signed with a wrong secret.
pub const BAD_SIGNATURE: &str = "bad signature";
/// Case: a valid signature of another body.
pub const SIGNATURE_OF_ANOTHER_BODY: &str = "signature of another body";
/// Case: signed (correctly) one hour ago.
pub const STALE_TIMESTAMP: &str = "stale timestamp (1 h old)";
/// Case: signed (correctly) one hour ahead.
pub const FUTURE_TIMESTAMP: &str = "future timestamp (1 h ahead)";
/// Case: a signature with non-hex characters.
pub const NON_HEX_SIGNATURE: &str = "non-hex signature";
/// Case: the first half of the right signature.
pub const SHORT_SIGNATURE: &str = "short signature";
/// Case: a validly signed event of a type the receiver cannot know.
pub const UNKNOWN_EVENT_TYPE: &str = "unknown event type";

/// The name of the "valid delivery" case of `kind`, e.g. `valid step.completed`.
pub fn valid_case(kind: EventKind) -> String {
    format!("valid {kind}")
}

/// The name of the "missing header" case of `header`, e.g. `missing X-UIP-Event`.
pub fn missing_case(header: &str) -> String {
    format!("missing {header}")
}

/// The four headers, in the order the "missing header" cases run.
const HEADERS: [&str; 4] = [HEADER_EVENT, HEADER_TIMESTAMP, HEADER_SIGNATURE, HEADER_DELIVERY_ID];

/// Every case name, in the order they run.
///
/// ```
/// let names = uip_sandbox::receiver_tools::case_names();
/// assert_eq!(names.len(), 17);
/// assert_eq!(names[0], "valid step.completed");
/// assert_eq!(names[16], "unknown event type");
/// ```
pub fn case_names() -> Vec<String> {
    let mut names: Vec<String> = EventKind::ALL.into_iter().map(valid_case).collect();
    names.extend(
        [SAME_DELIVERY_AGAIN, BAD_SIGNATURE, SIGNATURE_OF_ANOTHER_BODY, STALE_TIMESTAMP, FUTURE_TIMESTAMP]
            .map(str::to_owned),
    );
    names.extend(HEADERS.map(missing_case));
    names.extend([NON_HEX_SIGNATURE, SHORT_SIGNATURE, UNKNOWN_EVENT_TYPE].map(str::to_owned));
    names
}

/// What a case expects of the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// A 2xx answer: the delivery is accepted.
    Success,
    /// Any answer but 2xx: the delivery is refused.
    Refusal,
}

impl Expected {
    /// `2xx` or `non-2xx`.
    pub fn as_str(self) -> &'static str {
        match self {
            Expected::Success => "2xx",
            Expected::Refusal => "non-2xx",
        }
    }
}

/// One case's result.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CaseResult {
    /// The case name (see [`case_names`]).
    pub case: String,
    /// What the receiver should answer.
    pub expected: Expected,
    /// What it answered, or the transport error.
    pub got: Outcome,
    /// Whether the answer is the expected one (a transport error never passes).
    pub pass: bool,
    /// For a failed case: what it means for the receiver's security.
    pub meaning: Option<String>,
}

impl CaseResult {
    /// The result of case `case`, which expected `expected` and got `got`; it passes when the
    /// answer is the expected one, and has no meaning (see [`with_meaning`](Self::with_meaning)).
    ///
    /// ```
    /// use uip_sandbox::receiver_tools::{Answer, CaseResult, Expected};
    /// let result = CaseResult::new("bad_signature", Expected::Refusal, Ok(Answer::new(200, ""))).with_meaning("forged deliveries are accepted");
    /// assert!(!result.pass);
    /// ```
    pub fn new(case: impl Into<String>, expected: Expected, got: Outcome) -> Self {
        let pass = match &got {
            Ok(answer) => answer.is_success() == (expected == Expected::Success),
            Err(_) => false,
        };
        CaseResult { case: case.into(), expected, got, pass, meaning: None }
    }

    /// The same result with what its failure means for the receiver's security.
    pub fn with_meaning(mut self, meaning: impl Into<String>) -> Self {
        self.meaning = Some(meaning.into());
        self
    }

    /// The `got` column: the status code, or the transport error.
    pub fn got_text(&self) -> String {
        match &self.got {
            Ok(answer) => answer.status.to_string(),
            Err(e) => e.clone(),
        }
    }
}

/// The result of a conformance run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CheckReport {
    /// The receiver's URL.
    pub url: String,
    /// Every case, in the order run.
    pub cases: Vec<CaseResult>,
}

impl CheckReport {
    /// The report of running these cases against `url`.
    ///
    /// ```
    /// use uip_sandbox::receiver_tools::{Answer, CaseResult, CheckReport, Expected};
    /// let case = CaseResult::new("valid", Expected::Success, Ok(Answer::new(204, "")));
    /// assert!(CheckReport::new("http://127.0.0.1:9000/hooks", vec![case]).passed());
    /// ```
    pub fn new(url: impl Into<String>, cases: Vec<CaseResult>) -> Self {
        CheckReport { url: url.into(), cases }
    }

    /// Whether every case passed (the exit status of `uip-sandbox check-receiver`).
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|c| c.pass)
    }

    /// The names of the failed cases, in the order run.
    pub fn failed_cases(&self) -> Vec<&str> {
        self.cases.iter().filter(|c| !c.pass).map(|c| c.case.as_str()).collect()
    }

    /// The table (case, expected, got, pass), then one line per failed case saying what it means.
    pub fn render_table(&self) -> String {
        let rows: Vec<[String; 4]> = self
            .cases
            .iter()
            .map(|c| {
                let pass = if c.pass { "pass" } else { "FAIL" };
                [c.case.clone(), c.expected.as_str().to_owned(), c.got_text(), pass.to_owned()]
            })
            .collect();
        let header = ["case", "expected", "got", "pass"].map(str::to_owned);
        let mut widths = header.clone().map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let _ = writeln!(out, "check-receiver {}\n", self.url);
        for row in std::iter::once(&header).chain(&rows) {
            let line = format!(
                "{:w0$}  {:w1$}  {:w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let failed: Vec<&CaseResult> = self.cases.iter().filter(|c| !c.pass).collect();
        out.push('\n');
        if failed.is_empty() {
            let _ = writeln!(out, "all {} cases passed", self.cases.len());
        } else {
            let _ = writeln!(out, "{} of {} cases failed:", failed.len(), self.cases.len());
            for c in failed {
                let _ =
                    writeln!(out, "  {}: {}", c.case, c.meaning.as_deref().unwrap_or("unexpected answer"));
            }
        }
        out
    }

    /// `{"passed": bool, "cases": [{"case", "expected", "got", "pass", "meaning"?}]}`, where `got`
    /// is the status code, or the transport error as text (docs/DECISIONS.md §11).
    pub fn to_json(&self) -> Value {
        let cases: Vec<Value> = self
            .cases
            .iter()
            .map(|c| {
                let got = match &c.got {
                    Ok(answer) => json!(answer.status),
                    Err(e) => json!(e),
                };
                let mut v =
                    json!({"case": c.case, "expected": c.expected.as_str(), "got": got, "pass": c.pass});
                if let (Some(m), Some(obj)) = (&c.meaning, v.as_object_mut()) {
                    obj.insert("meaning".to_owned(), json!(m));
                }
                v
            })
            .collect();
        json!({"passed": self.passed(), "cases": cases})
    }
}

/// One request of a case.
struct Request {
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Request {
    /// `delivery` signed with `secret` at `timestamp`.
    fn signed(delivery: &Delivery, secret: &WebhookSecret, timestamp: u64) -> Request {
        let h = delivery.sign(secret, timestamp);
        let headers = h.pairs().map(|(name, value)| (name, value.to_owned())).to_vec();
        Request { headers, body: delivery.body.clone() }
    }

    fn without(mut self, header: &str) -> Request {
        self.headers.retain(|(name, _)| *name != header);
        self
    }

    fn with(mut self, header: &'static str, value: String) -> Request {
        for (name, v) in &mut self.headers {
            if *name == header {
                *v = value.clone();
            }
        }
        self
    }

    fn signature(&self) -> &str {
        self.headers.iter().find(|(n, _)| *n == HEADER_SIGNATURE).map_or("", |(_, v)| v.as_str())
    }
}

/// What a failed case means for the receiver's security.
fn what_it_means(case: &str, expected: Expected, got: &Outcome) -> String {
    if let Err(e) = got {
        return match expected {
            Expected::Success => {
                format!("no answer ({e}) — a real delivery would be retried for 72 h, then marked failed")
            }
            Expected::Refusal => format!("no answer ({e}) — could not tell whether it refuses this delivery"),
        };
    }
    if let Some(event) = case.strip_prefix("valid ") {
        return format!(
            "rejects genuine {event} deliveries — they will be retried for 72 h, then lost (sign check: \
             HMAC-SHA256 over `{{X-UIP-Timestamp}}.{{raw body}}` with the whole secret; require no other header)"
        );
    }
    let text = match case {
        SAME_DELIVERY_AGAIN => "rejects retries of a delivery it already handled — events will be redelivered for 72 h",
        BAD_SIGNATURE => "accepts forged deliveries",
        SIGNATURE_OF_ANOTHER_BODY => "accepts forged deliveries — the signature is not checked against the raw body",
        STALE_TIMESTAMP => "accepts replays from an hour ago",
        FUTURE_TIMESTAMP => "accepts deliveries dated an hour ahead — a captured delivery stays replayable",
        NON_HEX_SIGNATURE => "accepts forged deliveries — a signature that is not hex passes",
        SHORT_SIGNATURE => "accepts forged deliveries — a truncated signature passes (compare all 64 hex characters)",
        UNKNOWN_EVENT_TYPE => "fails on events it does not know — a new event type will break it",
        _ if case == missing_case(HEADER_SIGNATURE) => "accepts unsigned deliveries — anyone can forge one",
        _ if case == missing_case(HEADER_TIMESTAMP) => "accepts deliveries without a timestamp — replays are not bounded in time",
        _ if case == missing_case(HEADER_DELIVERY_ID) => {
            "accepts deliveries without a delivery id — it cannot deduplicate them, so a retry is handled twice"
        }
        _ if case == missing_case(HEADER_EVENT) => {
            "accepts deliveries without X-UIP-Event — it does not check the delivery is well-formed"
        }
        _ => "unexpected answer",
    };
    text.to_owned()
}

/// Runs every case of docs/DECISIONS.md §11 against the receiver at `url`, one after the other,
/// each on a fresh session (so one case's delivery id never collides with another's, except
/// for "same delivery again", which repeats "valid step.completed").
///
/// Fails only when `url` is not an http(s) URL; a receiver that is down fails every case.
pub async fn check_receiver(url: &str, secret: &WebhookSecret) -> Result<CheckReport, BadUrl> {
    let target = send::check_url(url)?;
    let client = send::client();
    let fresh = |kind: EventKind| -> Delivery {
        let event = realistic_event(kind, &EventOptions::default());
        // The default options always fit every event type.
        event.map(|e| Delivery::of(&e)).unwrap_or_else(|_| Delivery::raw(kind.name(), "", Vec::new()))
    };
    let mut cases = Vec::new();
    let run = |case: String, expected: Expected, request: Request| {
        let client = &client;
        let target = &target;
        async move {
            let headers: Vec<(&str, &str)> = request.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let got = send::post(client, target, &headers, &request.body).await;
            let result = CaseResult::new(case, expected, got);
            if result.pass {
                return result;
            }
            let meaning = what_it_means(&result.case, expected, &result.got);
            result.with_meaning(meaning)
        }
    };

    let mut first_step = None;
    for kind in EventKind::ALL {
        let delivery = fresh(kind);
        cases.push(
            run(valid_case(kind), Expected::Success, Request::signed(&delivery, secret, unix_now())).await,
        );
        if kind == EventKind::StepCompleted {
            first_step = Some(delivery);
        }
    }
    let again = first_step.unwrap_or_else(|| fresh(EventKind::StepCompleted));
    cases.push(
        run(SAME_DELIVERY_AGAIN.into(), Expected::Success, Request::signed(&again, secret, unix_now())).await,
    );

    let wrong = WebhookSecret::new(WRONG_SECRET);
    let d = fresh(EventKind::StepCompleted);
    cases.push(run(BAD_SIGNATURE.into(), Expected::Refusal, Request::signed(&d, &wrong, unix_now())).await);

    let d = fresh(EventKind::StepCompleted);
    let other = fresh(EventKind::StepCompleted);
    let now = unix_now();
    let forged = Request::signed(&d, secret, now).with(HEADER_SIGNATURE, other.sign(secret, now).signature);
    cases.push(run(SIGNATURE_OF_ANOTHER_BODY.into(), Expected::Refusal, forged).await);

    let d = fresh(EventKind::StepCompleted);
    let stale = unix_now().saturating_sub(STALE_BY_S);
    cases.push(run(STALE_TIMESTAMP.into(), Expected::Refusal, Request::signed(&d, secret, stale)).await);
    let d = fresh(EventKind::StepCompleted);
    let ahead = unix_now().saturating_add(STALE_BY_S);
    cases.push(run(FUTURE_TIMESTAMP.into(), Expected::Refusal, Request::signed(&d, secret, ahead)).await);

    for header in HEADERS {
        let d = fresh(EventKind::StepCompleted);
        let request = Request::signed(&d, secret, unix_now()).without(header);
        cases.push(run(missing_case(header), Expected::Refusal, request).await);
    }

    let d = fresh(EventKind::StepCompleted);
    let request = Request::signed(&d, secret, unix_now());
    let non_hex = format!("{}zz", request.signature().get(..62).unwrap_or_default());
    cases.push(
        run(NON_HEX_SIGNATURE.into(), Expected::Refusal, request.with(HEADER_SIGNATURE, non_hex)).await,
    );

    let d = fresh(EventKind::StepCompleted);
    let request = Request::signed(&d, secret, unix_now());
    let short = request.signature().get(..32).unwrap_or_default().to_owned();
    cases.push(run(SHORT_SIGNATURE.into(), Expected::Refusal, request.with(HEADER_SIGNATURE, short)).await);

    let unknown = WebhookEvent::Unknown {
        event: UNKNOWN_EVENT.to_owned(),
        data: json!({ "session_id": fresh_session_id() }),
    };
    let d = Delivery::of(&unknown);
    cases.push(
        run(UNKNOWN_EVENT_TYPE.into(), Expected::Success, Request::signed(&d, secret, unix_now())).await,
    );

    Ok(CheckReport { url: url.to_owned(), cases })
}
