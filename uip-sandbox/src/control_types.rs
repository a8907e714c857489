//! The typed requests of the control API on [`Sandbox`](crate::Sandbox) (docs/DECISIONS.md §8,
//! §11): API faults ([`Fault`], [`Faults`]) and what a simulated user does ([`Simulate`]).
//!
//! Each type writes exactly the wire body of its control route, so a program that drives a
//! sandbox over HTTP (another process, `cargo run -p uip-sandbox`) can send the same values with
//! any HTTP client (they implement `Serialize`).

use std::time::Duration;

use serde::ser::{Serialize, SerializeStruct, Serializer};
use uip_types::sandbox::{FaultPlan, SimulateAction, SimulateRequest};
use uip_types::WalletId;

use crate::core::{self as uc, Shared};
use crate::handle::SandboxError;

/// Longest [`Fault::Delay`] the sandbox accepts (60 s).
pub(crate) const MAX_FAULT_DELAY: Duration = Duration::from_secs(60);

/// How an injected fault makes a business-API request fail (`POST /_sandbox/faults`, `with`).
///
/// The fault applies before any processing: a faulted create creates nothing.
///
/// ```
/// use std::time::Duration;
/// use uip_sandbox::Fault;
///
/// assert_eq!(Fault::Unavailable.status(), Some(503));
/// assert_eq!(Fault::Reset.status(), None);
/// assert_eq!(serde_json::to_string(&Fault::Delay(Duration::from_millis(250))).unwrap(), r#""delay_ms:250""#);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// 500 `internal/server-error`.
    ServerError,
    /// 503 `internal/unavailable` with `Retry-After: 1`.
    Unavailable,
    /// 429 `request/rate-limited` with `Retry-After: 1`.
    RateLimited,
    /// The connection is closed without an answer.
    Reset,
    /// The request is held this long (whole milliseconds, at most 60 s), then handled normally.
    Delay(Duration),
}

impl Fault {
    /// The HTTP status the faulted request gets (`None`: no answer, or the normal one).
    ///
    /// ```
    /// assert_eq!(uip_sandbox::Fault::RateLimited.status(), Some(429));
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Fault::ServerError => Some(500),
            Fault::Unavailable => Some(503),
            Fault::RateLimited => Some(429),
            Fault::Reset | Fault::Delay(_) => None,
        }
    }

    /// The wire form of `with`.
    fn wire(&self) -> serde_json::Value {
        match self {
            Fault::ServerError => 500.into(),
            Fault::Unavailable => 503.into(),
            Fault::RateLimited => 429.into(),
            Fault::Reset => "reset".into(),
            Fault::Delay(d) => format!("delay_ms:{}", d.as_millis()).into(),
        }
    }

    /// Reads the wire form back (`None`: not one the sandbox arms).
    fn from_wire(with: &serde_json::Value) -> Option<Fault> {
        match with {
            serde_json::Value::Number(n) => match n.as_u64()? {
                500 => Some(Fault::ServerError),
                503 => Some(Fault::Unavailable),
                429 => Some(Fault::RateLimited),
                _ => None,
            },
            serde_json::Value::String(s) if s == "reset" => Some(Fault::Reset),
            serde_json::Value::String(s) => {
                s.strip_prefix("delay_ms:")?.parse().ok().map(|ms| Fault::Delay(Duration::from_millis(ms)))
            }
            _ => None,
        }
    }
}

/// `500`, `503`, `429`, `"reset"` or `"delay_ms:N"`: the `with` of `POST /_sandbox/faults`.
impl Serialize for Fault {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.wire().serialize(s)
    }
}

/// The faults armed for a business: how many more business-API requests fail, and how.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use uip_sandbox::{Fault, Sandbox};
/// let sandbox = Sandbox::start().await;
/// let armed = sandbox.faults().fail_next(2, Fault::Unavailable).unwrap();
/// assert_eq!(serde_json::to_string(&armed).unwrap(), r#"{"fail_next":2,"with":503}"#);
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultsArmed {
    /// How many more requests fail.
    pub remaining: u32,
    /// How they fail.
    pub fault: Fault,
}

/// `{"fail_next": remaining, "with": fault}`: the body of `POST /_sandbox/faults`.
impl Serialize for FaultsArmed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("FaultPlan", 2)?;
        st.serialize_field("fail_next", &self.remaining)?;
        st.serialize_field("with", &self.fault)?;
        st.end()
    }
}

/// API fault injection for the default business (`POST /_sandbox/faults`), from
/// [`Sandbox::faults`](crate::Sandbox::faults).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use uip_sandbox::{Fault, Sandbox};
/// let sandbox = Sandbox::start().await;
/// sandbox.faults().fail_next(2, Fault::Unavailable).unwrap();
/// assert_eq!(sandbox.faults().armed().map(|a| a.remaining), Some(2));
/// sandbox.faults().clear().unwrap();
/// assert_eq!(sandbox.faults().armed(), None);
/// # });
/// ```
#[must_use]
pub struct Faults<'a> {
    shared: &'a Shared,
    business_id: &'a str,
}

impl std::fmt::Debug for Faults<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").field("business_id", &self.business_id).finish()
    }
}

impl<'a> Faults<'a> {
    pub(crate) fn new(shared: &'a Shared, business_id: &'a str) -> Faults<'a> {
        Faults { shared, business_id }
    }

    /// Makes the next `n` business-API requests (`/v1/...`) of the business fail with `fault`,
    /// replacing what was armed; `n = 0` clears. 429 and 503 carry `Retry-After: 1`.
    ///
    /// # Errors
    /// [`SandboxError::Api`] 400 `request/invalid-field` for a delay over 60 s.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use uip_sandbox::{Fault, Sandbox};
    /// let sandbox = Sandbox::start().await;
    /// let armed = sandbox.faults().fail_next(1, Fault::Reset).unwrap();
    /// assert_eq!(armed.remaining, 1);
    /// assert!(sandbox.faults().fail_next(1, Fault::Delay(Duration::from_secs(61))).is_err());
    /// # });
    /// ```
    pub fn fail_next(&self, n: u32, fault: Fault) -> Result<FaultsArmed, SandboxError> {
        if matches!(fault, Fault::Delay(d) if d > MAX_FAULT_DELAY) {
            return Err(SandboxError::invalid_field("with", "a fault delay is at most 60 s"));
        }
        let plan = FaultPlan::new(n).with_fault(fault.wire());
        uc::set_faults(self.shared, self.business_id, plan);
        Ok(FaultsArmed { remaining: n, fault })
    }

    /// Clears every armed fault (`{"fail_next": 0}`).
    ///
    /// # Errors
    /// None today: faults live in memory only, so there is nothing to store that could fail.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// sandbox.faults().clear().unwrap();
    /// assert!(sandbox.faults().armed().is_none());
    /// # });
    /// ```
    pub fn clear(&self) -> Result<(), SandboxError> {
        let plan = FaultPlan::new(0);
        uc::set_faults(self.shared, self.business_id, plan);
        Ok(())
    }

    /// What is still armed (`None`: every armed fault was used up or cleared).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// assert!(sandbox.faults().armed().is_none());
    /// # });
    /// ```
    pub fn armed(&self) -> Option<FaultsArmed> {
        let plan = uc::armed_faults(self.shared, self.business_id)?;
        let fault = Fault::from_wire(&plan.with)?;
        Some(FaultsArmed { remaining: plan.fail_next, fault })
    }
}

/// What [`Sandbox::simulate`](crate::Sandbox::simulate) does with a session, as the user would on
/// the hosted page (`POST /_sandbox/sessions/{id}/simulate`). Simulating binds the session like a
/// first open.
///
/// ```
/// use uip_sandbox::Simulate;
/// use uip_types::WalletId;
///
/// let share = Simulate::share_as("minor").wallet(WalletId::GoogleWallet).steps(1);
/// assert_eq!(
///     serde_json::to_string(&share).unwrap(),
///     r#"{"persona":"minor","wallet":"google-wallet","action":"share","steps":1}"#
/// );
/// assert_eq!(serde_json::to_string(&Simulate::internal_error()).unwrap(), r#"{"action":"internal_error"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[must_use]
pub struct Simulate {
    request: SimulateRequest,
}

impl Simulate {
    fn action(action: SimulateAction) -> Simulate {
        Simulate { request: SimulateRequest::new().with_action(action) }
    }

    /// The default persona (`jane-doe`) shares from Apple Wallet at every step until the session
    /// pauses at a gate or ends.
    ///
    /// ```
    /// assert_eq!(serde_json::to_string(&uip_sandbox::Simulate::share()).unwrap(), r#"{"action":"share"}"#);
    /// ```
    pub fn share() -> Simulate {
        Simulate::action(SimulateAction::Share)
    }

    /// This built-in persona (see `GET /_sandbox/personas`) shares at every step until the
    /// session pauses or ends.
    ///
    /// ```
    /// let s = uip_sandbox::Simulate::share_as("minor");
    /// assert!(serde_json::to_string(&s).unwrap().contains("minor"));
    /// ```
    pub fn share_as(persona: impl Into<String>) -> Simulate {
        Simulate::share().persona(persona)
    }

    /// The user declines in the wallet, once (not a failure: the step stays active).
    ///
    /// ```
    /// assert_eq!(serde_json::to_string(&uip_sandbox::Simulate::decline()).unwrap(), r#"{"action":"decline"}"#);
    /// ```
    pub fn decline() -> Simulate {
        Simulate::action(SimulateAction::Decline)
    }

    /// The service fails the active step (docs/DECISIONS.md §11): the session ends `failed` with
    /// reason `internal_error`; nothing is billed, no audit record, no `step.completed`.
    ///
    /// ```
    /// let s = uip_sandbox::Simulate::internal_error();
    /// assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"action":"internal_error"}"#);
    /// ```
    pub fn internal_error() -> Simulate {
        Simulate::action(SimulateAction::InternalError)
    }

    /// The persona who answers (default `jane-doe`).
    ///
    /// ```
    /// let s = uip_sandbox::Simulate::share().persona("jane-doe");
    /// assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"persona":"jane-doe","action":"share"}"#);
    /// ```
    pub fn persona(mut self, persona: impl Into<String>) -> Simulate {
        self.request.persona = Some(persona.into());
        self
    }

    /// The wallet that answers (default Apple Wallet).
    ///
    /// ```
    /// let s = uip_sandbox::Simulate::share().wallet(uip_types::WalletId::GoogleWallet);
    /// assert!(serde_json::to_string(&s).unwrap().contains(r#""wallet":"google-wallet""#));
    /// ```
    pub fn wallet(mut self, wallet: WalletId) -> Simulate {
        self.request.wallet = Some(wallet);
        self
    }

    /// Answer at most `n` steps (default: until the session pauses or ends; a decline answers one).
    ///
    /// ```
    /// let s = uip_sandbox::Simulate::share().steps(2);
    /// assert!(serde_json::to_string(&s).unwrap().ends_with(r#""steps":2}"#));
    /// ```
    pub fn steps(mut self, n: u32) -> Simulate {
        self.request.steps = Some(n);
        self
    }

    pub(crate) fn into_request(self) -> SimulateRequest {
        self.request
    }
}

/// The body of `POST /_sandbox/sessions/{id}/simulate`.
impl Serialize for Simulate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.request.serialize(s)
    }
}
