//! The typed control API on [`Sandbox`] (docs/DECISIONS.md §8, §11): what `/_sandbox` offers over
//! HTTP, called in-process for the default business, plus waits that replace polling.
//!
//! Every call goes straight to the sandbox's core (no HTTP), so it is synchronous and as strict as
//! the route it mirrors: the same checks, the same error codes ([`SandboxError::Api`]).

use uip_types::sandbox::{
    BusinessPatch, BusinessView, DeliveryFault, DeliveryLogEntry, DeliveryStatus, InboxEntry, PersonaInfo,
    Trust,
};
use uip_types::{SessionStatus, SessionView, WebhookSecret};

use crate::control_types::{Faults, Simulate};
use crate::core as uc;
use crate::handle::{api_error, Sandbox, SandboxError};
use crate::store::block_on;

impl Sandbox {
    fn business_id(&self) -> &str {
        &self.credentials.business_id
    }

    fn patch(&self, patch: BusinessPatch) -> Result<BusinessView, SandboxError> {
        block_on(uc::patch_business(&self.shared, self.business_id(), patch)).map_err(api_error)
    }

    /// API fault injection for the default business (`POST /_sandbox/faults`): make its next
    /// business-API requests fail with a [`Fault`](crate::Fault).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use uip_sandbox::{Fault, Sandbox};
    /// let sandbox = Sandbox::start().await;
    /// sandbox.faults().fail_next(1, Fault::ServerError).unwrap();
    /// let answer = reqwest::Client::new()
    ///     .get(format!("{}/sessions/sess_000000000000000000000000", sandbox.api_url()))
    ///     .bearer_auth(sandbox.api_key().expose())
    ///     .send().await.unwrap();
    /// assert_eq!(answer.status(), 500);
    /// assert!(sandbox.faults().armed().is_none(), "used up");
    /// # });
    /// ```
    pub fn faults(&self) -> Faults<'_> {
        Faults::new(&self.shared, self.business_id())
    }

    /// Queues a delivery of the default business once more, same id and body
    /// (`POST /_sandbox/deliveries/{id}/redeliver`); its entry goes back to `pending`.
    ///
    /// `fault` applies to the first attempt of this redelivery only: `StaleTimestamp` signs it as
    /// of one hour ago, `BadSignature` with a wrong secret, `Duplicate` sends it twice back to back.
    /// When the receiver refuses the faulted attempt (as it should), the sandbox retries **clean**
    /// (current timestamp, right secret) on its usual backoff, so the delivery ends `delivered`.
    ///
    /// # Errors
    /// [`SandboxError::Api`] 404 `resource/not-found` for an unknown id or another business's.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use uip_sandbox::{DeliveryFault, Sandbox, Simulate};
    /// # let sandbox = Sandbox::start().await;
    /// # let http = reqwest::Client::new();
    /// # let created: serde_json::Value = http.post(format!("{}/sessions", sandbox.api_url()))
    /// #     .bearer_auth(sandbox.api_key().expose())
    /// #     .json(&serde_json::json!({"steps": [{"primitive": "identify"}]}))
    /// #     .send().await.unwrap().json().await.unwrap();
    /// # let id = created["id"].as_str().unwrap();
    /// sandbox.simulate(id, Simulate::share()).unwrap();
    /// let done = sandbox.wait_delivered(format!("{id}:session.completed")).await.unwrap();
    /// let again = sandbox.redeliver(&done.delivery_id, DeliveryFault::BadSignature).unwrap();
    /// assert_eq!(again.status, uip_sandbox::DeliveryStatus::Pending);
    /// # });
    /// ```
    pub fn redeliver(
        &self,
        delivery_id: impl AsRef<str>,
        fault: DeliveryFault,
    ) -> Result<DeliveryLogEntry, SandboxError> {
        block_on(uc::redeliver(&self.shared, self.business_id(), delivery_id.as_ref(), fault))
            .map_err(api_error)
    }

    /// Drives a session of the default business as its user would on the hosted page
    /// (`POST /_sandbox/sessions/{id}/simulate`); binds it like a first open. Returns the session
    /// after the simulated answers.
    ///
    /// # Errors
    /// [`SandboxError::Api`]: 404 `resource/not-found` (unknown or another business's session),
    /// 409 `session/not-active`, 400 `request/invalid-payload` (unknown persona or wallet), …
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use uip_sandbox::{Sandbox, Simulate};
    /// use uip_types::SessionStatus;
    /// # let sandbox = Sandbox::start().await;
    /// # let http = reqwest::Client::new();
    /// # let created: serde_json::Value = http.post(format!("{}/sessions", sandbox.api_url()))
    /// #     .bearer_auth(sandbox.api_key().expose())
    /// #     .json(&serde_json::json!({"steps": [{"primitive": "identify"}]}))
    /// #     .send().await.unwrap().json().await.unwrap();
    /// # let id = created["id"].as_str().unwrap();
    /// let session = sandbox.simulate(id, Simulate::internal_error()).unwrap();
    /// assert_eq!(session.status, SessionStatus::Failed);
    /// # });
    /// ```
    pub fn simulate(&self, session_id: impl AsRef<str>, what: Simulate) -> Result<SessionView, SandboxError> {
        block_on(uc::simulate(&self.shared, self.business_id(), session_id.as_ref(), what.into_request()))
            .map_err(api_error)
    }

    /// A session of the default business, as `GET /v1/sessions/{id}` shows it (an elapsed
    /// session resolves first).
    ///
    /// # Errors
    /// [`SandboxError::Api`] 404 `resource/not-found`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// let err = sandbox.session("sess_000000000000000000000000").unwrap_err();
    /// assert!(matches!(err, uip_sandbox::SandboxError::Api { status: 404, .. }));
    /// # });
    /// ```
    pub fn session(&self, session_id: impl AsRef<str>) -> Result<SessionView, SandboxError> {
        block_on(uc::get_session(&self.shared, self.business_id(), session_id.as_ref())).map_err(api_error)
    }

    /// The default business as `GET /_sandbox/business` shows it (balance, webhook URL and
    /// secret, trust, name).
    ///
    /// # Errors
    /// [`SandboxError::Api`] when the business is gone (it never is).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// assert_eq!(sandbox.business().unwrap().balance_cents, 100_000);
    /// # });
    /// ```
    pub fn business(&self) -> Result<BusinessView, SandboxError> {
        uc::business_view(&self.shared, self.business_id()).map_err(api_error)
    }

    /// Points the default business's webhooks at `url` (an absolute http(s) URL).
    ///
    /// # Errors
    /// [`SandboxError::Api`] 400 `request/invalid-field` (param `webhook_url`).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// let view = sandbox.set_webhook_url("http://127.0.0.1:9/hook").unwrap();
    /// assert_eq!(view.webhook_url.as_deref(), Some("http://127.0.0.1:9/hook"));
    /// assert!(sandbox.set_webhook_url("not a url").is_err());
    /// # });
    /// ```
    pub fn set_webhook_url(&self, url: impl Into<String>) -> Result<BusinessView, SandboxError> {
        self.patch(BusinessPatch::new().with_webhook_url(Some(url.into())))
    }

    /// Clears the default business's webhook URL (creates then answer 422).
    ///
    /// # Errors
    /// [`SandboxError::Api`] when the change cannot be stored.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// assert_eq!(sandbox.clear_webhook_url().unwrap().webhook_url, None);
    /// # });
    /// ```
    pub fn clear_webhook_url(&self) -> Result<BusinessView, SandboxError> {
        self.patch(BusinessPatch::new().with_webhook_url(None))
    }

    /// Gives the default business a new webhook secret and returns it; deliveries from now on
    /// are signed with it ([`Sandbox::webhook_secret`] answers it too).
    ///
    /// # Errors
    /// [`SandboxError::Api`] when the change cannot be stored.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// let old = sandbox.webhook_secret();
    /// let new = sandbox.rotate_webhook_secret().unwrap();
    /// assert_ne!(new.expose(), old.expose());
    /// assert_eq!(sandbox.webhook_secret().expose(), new.expose());
    /// # });
    /// ```
    pub fn rotate_webhook_secret(&self) -> Result<WebhookSecret, SandboxError> {
        let view = self.patch(BusinessPatch::new().rotate_webhook_secret())?;
        Ok(view.webhook_secret)
    }

    /// Sets the default business's balance (each verified step costs one cent; at zero, creates
    /// answer 402).
    ///
    /// # Errors
    /// [`SandboxError::Api`] 400 `request/invalid-field` above 2^63 − 1 cents.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// assert_eq!(sandbox.set_balance(2).unwrap().balance_cents, 2);
    /// # });
    /// ```
    pub fn set_balance(&self, cents: u64) -> Result<BusinessView, SandboxError> {
        if cents > uip_types::validate::MAX_BALANCE_CENTS {
            return Err(SandboxError::invalid_field("balance_cents", "balance_cents is at most 2^63 - 1"));
        }
        self.patch(BusinessPatch::new().with_balance_cents(cents))
    }

    /// Sets which issuers the default business trusts.
    ///
    /// # Errors
    /// [`SandboxError::Api`] when the change cannot be stored.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use uip_sandbox::Trust;
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// assert_eq!(sandbox.set_trust(Trust::Production).unwrap().trust, Trust::Production);
    /// # });
    /// ```
    pub fn set_trust(&self, trust: Trust) -> Result<BusinessView, SandboxError> {
        self.patch(BusinessPatch::new().with_trust(trust))
    }

    /// The built-in personas (`GET /_sandbox/personas`): their claims, device public key and
    /// expected outcome.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// let jane = sandbox.personas().into_iter().find(|p| p.id == "jane-doe").unwrap();
    /// assert_eq!(jane.outcome, "verifies");
    /// # });
    /// ```
    pub fn personas(&self) -> Vec<PersonaInfo> {
        uc::personas().personas
    }

    /// What the built-in inbox (`POST /_sandbox/inbox`, the default webhook URL) received for
    /// the default business, oldest first, each with whether its signature verified.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use uip_sandbox::{Sandbox, Simulate};
    /// # let sandbox = Sandbox::start().await;
    /// # let http = reqwest::Client::new();
    /// # let created: serde_json::Value = http.post(format!("{}/sessions", sandbox.api_url()))
    /// #     .bearer_auth(sandbox.api_key().expose())
    /// #     .json(&serde_json::json!({"steps": [{"primitive": "identify"}]}))
    /// #     .send().await.unwrap().json().await.unwrap();
    /// # let id = created["id"].as_str().unwrap();
    /// sandbox.simulate(id, Simulate::share()).unwrap();
    /// sandbox.wait_delivered(format!("{id}:session.completed")).await.unwrap();
    /// let inbox = sandbox.inbox();
    /// assert_eq!(inbox.last().map(|e| (e.event.as_str(), e.verified)), Some(("session.completed", true)));
    /// # });
    /// ```
    pub fn inbox(&self) -> Vec<InboxEntry> {
        uc::inbox(&self.shared, self.business_id())
    }

    /// One delivery by its id (`{session_id}:{event}` or `{session_id}:step.completed:{n}`), with
    /// every attempt so far; `None` when no such event was queued.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// assert!(sandbox.delivery("sess_000000000000000000000000:session.completed").is_none());
    /// # });
    /// ```
    pub fn delivery(&self, delivery_id: impl AsRef<str>) -> Option<DeliveryLogEntry> {
        uc::delivery(&self.shared, delivery_id.as_ref())
    }

    /// Re-runs `check` after every change of the sandbox's state until it answers, or the wait
    /// timeout passes (see [`SandboxBuilder::wait_timeout`](crate::SandboxBuilder::wait_timeout)).
    async fn wait_for<T>(
        &self,
        mut check: impl FnMut() -> Result<Result<T, String>, SandboxError>,
    ) -> Result<T, SandboxError> {
        let mut changes = self.shared.subscribe_changes();
        let deadline = tokio::time::Instant::now() + self.wait_timeout;
        loop {
            changes.borrow_and_update();
            let waiting_for = match check()? {
                Ok(found) => return Ok(found),
                Err(waiting_for) => waiting_for,
            };
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return Err(SandboxError::WaitTimeout { waiting_for, waited: self.wait_timeout }),
            }
        }
    }

    /// Waits until the delivery with this id was answered 2xx by the webhook URL and returns its
    /// log entry (every attempt included). A delivery not queued yet is awaited too.
    ///
    /// # Errors
    /// [`SandboxError::DeliveryFailed`] when the sandbox gives it up;
    /// [`SandboxError::WaitTimeout`] after the wait timeout (default 30 s).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use uip_sandbox::{DeliveryStatus, Sandbox, Simulate};
    /// # let sandbox = Sandbox::start().await;
    /// # let http = reqwest::Client::new();
    /// # let created: serde_json::Value = http.post(format!("{}/sessions", sandbox.api_url()))
    /// #     .bearer_auth(sandbox.api_key().expose())
    /// #     .json(&serde_json::json!({"steps": [{"primitive": "identify"}]}))
    /// #     .send().await.unwrap().json().await.unwrap();
    /// # let id = created["id"].as_str().unwrap();
    /// sandbox.simulate(id, Simulate::share()).unwrap();
    /// let entry = sandbox.wait_delivered(format!("{id}:step.completed:0")).await.unwrap();
    /// assert_eq!(entry.status, DeliveryStatus::Delivered);
    /// assert_eq!(entry.attempts.last().and_then(|a| a.status_code), Some(204));
    /// # });
    /// ```
    pub async fn wait_delivered(
        &self,
        delivery_id: impl AsRef<str>,
    ) -> Result<DeliveryLogEntry, SandboxError> {
        let delivery_id = delivery_id.as_ref();
        self.wait_for(|| match self.delivery(delivery_id) {
            Some(d) if d.status == DeliveryStatus::Delivered => Ok(Ok(d)),
            Some(d) if d.status == DeliveryStatus::Failed => {
                Err(SandboxError::DeliveryFailed { delivery_id: delivery_id.to_owned() })
            }
            Some(d) => Ok(Err(format!(
                "delivery {delivery_id} (it is {} after {} attempts)",
                format!("{:?}", d.status).to_lowercase(),
                d.attempts.len()
            ))),
            None => Ok(Err(format!("delivery {delivery_id} (not queued yet)"))),
        })
        .await
    }

    /// Waits until the session of the default business has `status` and returns it. An elapsed
    /// session resolves as any access would (the business's clock counts).
    ///
    /// # Errors
    /// [`SandboxError::SessionEnded`] when it ended with another status;
    /// [`SandboxError::Api`] 404 for an unknown session;
    /// [`SandboxError::WaitTimeout`] after the wait timeout (default 30 s).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use uip_types::SessionStatus;
    /// # let sandbox = uip_sandbox::Sandbox::start().await;
    /// # let http = reqwest::Client::new();
    /// # let created: serde_json::Value = http.post(format!("{}/sessions", sandbox.api_url()))
    /// #     .bearer_auth(sandbox.api_key().expose())
    /// #     .json(&serde_json::json!({"steps": [{"primitive": "identify"}]}))
    /// #     .send().await.unwrap().json().await.unwrap();
    /// # let id = created["id"].as_str().unwrap();
    /// sandbox.advance_clock(Duration::from_secs(7200)).unwrap();
    /// let session = sandbox.wait_until_status(id, SessionStatus::Expired).await.unwrap();
    /// assert_eq!(session.status, SessionStatus::Expired);
    /// # });
    /// ```
    pub async fn wait_until_status(
        &self,
        session_id: impl AsRef<str>,
        status: SessionStatus,
    ) -> Result<SessionView, SandboxError> {
        let id = session_id.as_ref();
        self.wait_for(|| {
            let session = self.session(id)?;
            if session.status == status {
                Ok(Ok(session))
            } else if session.status.is_terminal() {
                Err(SandboxError::SessionEnded {
                    session_id: id.to_owned(),
                    status: session.status,
                    awaited: status.clone(),
                })
            } else {
                Ok(Err(format!("session {id} to be {status} (it is {})", session.status)))
            }
        })
        .await
    }
}
