//! Sessions: create (JSON or multipart), read, continue, stop, and a builder that reads like
//! the domain.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use tracing::debug;
use uip_types::validate::{bind_documents, check_idempotency_key};
use uip_types::{
    Block, CreateSessionRequest, CreatedSession, DecisionResponse, ErrorCode, SessionStatus, SessionView,
    Step, StepParams, ValidationError,
};

use crate::client::Client;
use crate::documents::{self, Document};
use crate::error::Error;
use crate::request::{new_idempotency_key, Call, Payload, RetryClass};

/// Options of a create.
///
/// ```
/// let opts = uip_client::CreateOptions::new().idempotency_key("order_4815-attempt-1");
/// assert_eq!(opts.idempotency_key.as_deref(), Some("order_4815-attempt-1"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateOptions {
    /// The `Idempotency-Key` to send (1 to 255 visible ASCII characters).
    ///
    /// Every create carries one: this one, or a fresh UUID v4 per call. Either way it is the
    /// same on every retry of that call, so a retried create never makes two sessions. Set
    /// your own (e.g. derived from your order id and stored with it) to make a create safe
    /// to repeat across calls or process restarts: the service answers a repeat with the
    /// original session.
    pub idempotency_key: Option<String>,
}

impl CreateOptions {
    /// No options: a generated Idempotency-Key.
    ///
    /// ```
    /// assert_eq!(uip_client::CreateOptions::new().idempotency_key, None);
    /// ```
    pub fn new() -> Self {
        CreateOptions::default()
    }

    /// Sends this Idempotency-Key.
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// let (_, _, opts) = client.session().age_verify(18).idempotency_key("order_4815").build()?;
    /// assert_eq!(opts.idempotency_key.as_deref(), Some("order_4815"));
    /// assert!(client.session().age_verify(18).idempotency_key("has spaces").build().is_err());
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// Checks an id used as a path segment.
fn check_id<'a>(id: &'a str, what: &str) -> Result<&'a str, Error> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(Error::invalid(ErrorCode::InvalidField, what, format!("{what} must be a non-empty id")));
    }
    Ok(id)
}

impl Client {
    /// Starts building a session step by step; see [`SessionBuilder`].
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client) -> Result<(), uip_client::Error> {
    /// use uip_client::Block;
    /// let session = client
    ///     .session()
    ///     .identify([Block::FirstName, Block::LastName]).gate()
    ///     .age_verify(21)
    ///     .client_reference_id("order_4815")
    ///     .send()
    ///     .await?;
    /// println!("send the user to {}", session.url.expose());
    /// # Ok(()) }
    /// ```
    pub fn session(&self) -> SessionBuilder<'_> {
        SessionBuilder {
            client: self,
            request: CreateSessionRequest::default(),
            documents: Vec::new(),
            options: CreateOptions::default(),
            problem: None,
        }
    }

    /// Creates a session (`POST /sessions`, JSON body) with a generated Idempotency-Key.
    ///
    /// The request is validated first (the contract's rules, as [`CreateSessionRequest::validate`]);
    /// a request that breaks one fails with [`Error::InvalidInput`] and is not sent. A request
    /// with a `sign` step needs documents: use [`create_session_with_documents`](Self::create_session_with_documents).
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client) -> Result<(), uip_client::Error> {
    /// use uip_client::{Block, CreateSessionRequest, Step};
    /// let mut req = CreateSessionRequest::new(vec![
    ///     Step::identify([Block::FirstName, Block::LastName, Block::Country]),
    ///     Step::age_verify(21),
    /// ]);
    /// req.client_reference_id = Some("order_4815".into());
    /// req.return_url = Some("https://shop.example.com/verified".into());
    /// let session = client.create_session(&req).await?;
    /// assert_eq!(session.status, uip_client::SessionStatus::Created);
    /// # Ok(()) }
    /// ```
    pub async fn create_session(&self, request: &CreateSessionRequest) -> Result<CreatedSession, Error> {
        self.create_session_with_options(request, Vec::new(), &CreateOptions::default()).await
    }

    /// Creates a session whose `sign` steps sign these documents (`multipart/form-data`: part
    /// `session` = the JSON create body, then one `document` part per file, in this order).
    ///
    /// Checked before anything is sent: the request's rules, at most 50 documents and 50 MiB
    /// combined, unique filenames, and that every `sign` step's `documents` names an uploaded
    /// file and every file is used ([`uip_types::validate::bind_documents`]). With no documents
    /// and no `sign` step this is a plain JSON create.
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client) -> Result<(), uip_client::Error> {
    /// use uip_client::{CreateSessionRequest, Document, Step};
    /// let req = CreateSessionRequest::new(vec![Step::sign(["lease.pdf", "annex.txt"])]);
    /// let docs = vec![
    ///     Document::from_path("contracts/lease.pdf").await?,
    ///     Document::from_bytes("annex.txt", "Parking space 12 is included."),
    /// ];
    /// let session = client.create_session_with_documents(&req, docs).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_session_with_documents(
        &self,
        request: &CreateSessionRequest,
        documents: Vec<Document>,
    ) -> Result<CreatedSession, Error> {
        self.create_session_with_options(request, documents, &CreateOptions::default()).await
    }

    /// Creates a session with documents (may be empty) and options such as your own
    /// Idempotency-Key. The general form of [`create_session`](Self::create_session) and
    /// [`create_session_with_documents`](Self::create_session_with_documents).
    ///
    /// The Idempotency-Key (yours, or a fresh UUID v4) is sent on every attempt of this call,
    /// unchanged, so retries after a timeout or a `5xx` return the one session the service made.
    ///
    /// # Cancellation
    ///
    /// Dropping the returned future (a `tokio::time::timeout`, a `select!`) after the request
    /// left may still create the session, and a generated key is lost with the future. When
    /// that matters, set your own key (stored with your order) and repeat the create with it:
    /// the service answers with the session the dropped call made, or makes it now. Prefer
    /// [`ClientBuilder::deadline`](crate::ClientBuilder::deadline) to dropping.
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client) -> Result<(), uip_client::Error> {
    /// use uip_client::{CreateOptions, CreateSessionRequest, Step};
    /// let req = CreateSessionRequest::new(vec![Step::light_sign("I accept the rental terms.")]);
    /// let opts = CreateOptions::new().idempotency_key("order_4815");
    /// let first = client.create_session_with_options(&req, Vec::new(), &opts).await?;
    /// let again = client.create_session_with_options(&req, Vec::new(), &opts).await?;
    /// assert_eq!(first.id, again.id); // replayed, not a second session
    /// # Ok(()) }
    /// ```
    pub async fn create_session_with_options(
        &self,
        request: &CreateSessionRequest,
        documents: Vec<Document>,
        options: &CreateOptions,
    ) -> Result<CreatedSession, Error> {
        request.validate()?;
        let key = match &options.idempotency_key {
            Some(k) => {
                check_idempotency_key(k)?;
                k.clone()
            }
            None => new_idempotency_key(),
        };
        let body = Bytes::from(serde_json::to_vec(request).expect("a JSON value always serializes"));
        let payload = if documents.is_empty() {
            // Refuses a sign step: it needs documents, hence multipart.
            bind_documents(request, None)?;
            Payload::Json(body)
        } else {
            documents::check(request, &documents)?;
            Payload::Multipart { session: body, documents: &documents }
        };
        let call = Call {
            method: Method::POST,
            route: "/sessions",
            segments: &["sessions"],
            auth: true,
            payload,
            idempotency_key: Some(&key),
            retry: RetryClass::Safe,
        };
        self.execute(&call).await.result
    }

    /// Reads a session's status and progress (`GET /sessions/{id}`). The sandbox never sends
    /// results: those arrive by webhook.
    ///
    /// Both documented shapes parse: the primary one, and the variant with typed `results` /
    /// `outcome` and without `primitives` / `created_at` (docs/DECISIONS.md §11; unknown fields
    /// are ignored).
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client, session_id: uip_client::SessionId) -> Result<(), uip_client::Error> {
    /// let view = client.get_session(&session_id).await?;
    /// if view.status == uip_client::SessionStatus::AwaitingDecision {
    ///     println!("paused after step {}", view.current_step);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_session(&self, id: impl AsRef<str>) -> Result<SessionView, Error> {
        let id = check_id(id.as_ref(), "id")?;
        let call = Call {
            method: Method::GET,
            route: "/sessions/{id}",
            segments: &["sessions", id],
            auth: true,
            payload: Payload::Empty,
            idempotency_key: None,
            retry: RetryClass::Safe,
        };
        self.execute(&call).await.result
    }

    /// Resumes a session paused at a gate (`POST /sessions/{id}/continue`): it moves to the next
    /// step, or to `completed` when the gate was the last step.
    ///
    /// # Retries
    ///
    /// continue is not idempotent, so it is retried only when the earlier attempt certainly
    /// had no effect or its outcome is unknown: connect failures and `5xx` answers (never
    /// timeouts or `429`). An attempt that fails with a `5xx` may still have taken effect; the
    /// retry then gets `409 session/not-awaiting-decision`. Such a `409` **on a retry** (never on
    /// the first attempt) is checked with a `GET` of the session, and turned into success when
    /// the session has moved past the gate it was paused at: `current_step` beyond that gate's
    /// index, or `completed`. The returned [`DecisionResponse`] is then built from that `GET`.
    /// Otherwise the `409` is returned.
    ///
    /// To know which gate that is, when retries are enabled ([`RetryPolicy::max_attempts`] > 1)
    /// this method first reads the session (one `GET`). Errors of that read are returned as-is.
    ///
    /// A timeout, a closed connection or the deadline after the request left gives an error
    /// whose [`outcome_unknown`](Error::outcome_unknown) is `true` (and
    /// [`is_retryable`](Error::is_retryable) `false`): read the session to learn whether the
    /// decision was applied. The same holds when the future is dropped mid-call.
    ///
    /// [`RetryPolicy::max_attempts`]: crate::RetryPolicy::max_attempts
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client, session_id: uip_client::SessionId) -> Result<(), uip_client::Error> {
    /// let decision = client.continue_session(&session_id).await?;
    /// println!("now {} at step {}", decision.status, decision.current_step);
    /// # Ok(()) }
    /// ```
    pub async fn continue_session(&self, id: impl AsRef<str>) -> Result<DecisionResponse, Error> {
        let id = check_id(id.as_ref(), "id")?;
        let gate = if self.inner.retry.max_attempts > 1 {
            let view = self.get_session(id).await?;
            (view.status == SessionStatus::AwaitingDecision).then_some(view.current_step)
        } else {
            None
        };
        self.decide(id, Decision::Continue { gate }).await
    }

    /// Ends a session paused at a gate (`POST /sessions/{id}/stop`). Steps already verified stay
    /// verified and billed; the rest are skipped.
    ///
    /// # Retries
    ///
    /// As for [`continue_session`](Self::continue_session): retried on connect failures and `5xx`
    /// only. A `409 session/not-awaiting-decision` on a retry is checked with a `GET` and turned
    /// into success when the session is `stopped` (an earlier attempt took effect); the returned
    /// [`DecisionResponse`] is then built from that `GET`.
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client, session_id: uip_client::SessionId) -> Result<(), uip_client::Error> {
    /// let decision = client.stop_session(&session_id).await?;
    /// assert_eq!(decision.status, uip_client::SessionStatus::Stopped);
    /// # Ok(()) }
    /// ```
    pub async fn stop_session(&self, id: impl AsRef<str>) -> Result<DecisionResponse, Error> {
        let id = check_id(id.as_ref(), "id")?;
        self.decide(id, Decision::Stop).await
    }

    async fn decide(&self, id: &str, decision: Decision) -> Result<DecisionResponse, Error> {
        let (action, route) = match decision {
            Decision::Continue { .. } => ("continue", "/sessions/{id}/continue"),
            Decision::Stop => ("stop", "/sessions/{id}/stop"),
        };
        let call = Call {
            method: Method::POST,
            route,
            segments: &["sessions", id, action],
            auth: true,
            payload: Payload::Empty,
            idempotency_key: None,
            retry: RetryClass::Decision,
        };
        let outcome = self.execute::<DecisionResponse>(&call).await;
        match outcome.result {
            Err(err) if outcome.attempts > 1 && err.code() == Some(&ErrorCode::NotAwaitingDecision) => {
                debug!(route, "409 on a retry: checking whether an earlier attempt took effect");
                match self.get_session(id).await {
                    Ok(view) if decision.done(&view) => {
                        debug!(route, "an earlier attempt took effect; treating the retry as a success");
                        let mut answer =
                            DecisionResponse::new(view.id, view.status, view.current_step, view.step_count);
                        answer.current_primitive = view.current_primitive;
                        Ok(answer)
                    }
                    _ => Err(err),
                }
            }
            other => other,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Decision {
    /// `gate`: the index of the gated step, when the session was read as awaiting a decision.
    Continue {
        gate: Option<u32>,
    },
    Stop,
}

impl Decision {
    /// Whether the session shows this decision was applied.
    fn done(self, view: &SessionView) -> bool {
        match self {
            Decision::Continue { gate: Some(gate) } => {
                view.current_step > gate || view.status == SessionStatus::Completed
            }
            Decision::Continue { gate: None } => false,
            Decision::Stop => view.status == SessionStatus::Stopped,
        }
    }
}

/// Builds and sends a create, step by step; made by [`Client::session`].
///
/// Steps are added in order; [`gate`](Self::gate) makes the step just added a gate (the session
/// pauses after it until [`Client::continue_session`] or [`Client::stop_session`]). Nothing is
/// checked until [`send`](Self::send), which validates everything with the contract's rules
/// and sends nothing when a rule is broken ([`Error::InvalidInput`]).
///
/// ```no_run
/// # async fn run(client: uip_client::Client) -> Result<(), uip_client::Error> {
/// use std::time::Duration;
/// use uip_client::{Block, Document};
///
/// let session = client
///     .session()
///     .identify([Block::FirstName, Block::LastName]).gate()
///     .age_verify(21)
///     .light_sign("I accept the rental terms.").title("Rental terms")
///     .sign(["lease.pdf"])
///     .document(Document::from_path("contracts/lease.pdf").await?)
///     .client_reference_id("order_4815")
///     .metadata("cart", "c_991")
///     .return_url("https://shop.example.com/verified")
///     .expires_in(Duration::from_secs(30 * 60))
///     .idempotency_key("order_4815")
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a session builder does nothing until .send() is awaited"]
pub struct SessionBuilder<'a> {
    client: &'a Client,
    request: CreateSessionRequest,
    documents: Vec<Document>,
    options: CreateOptions,
    /// The first misuse of the builder itself (e.g. `gate()` before any step).
    problem: Option<ValidationError>,
}

impl fmt::Debug for SessionBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionBuilder")
            .field("request", &self.request)
            .field("documents", &self.documents)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a> SessionBuilder<'a> {
    /// Adds a step.
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// use uip_client::{Block, Step};
    /// let (req, _, _) = client.session().step(Step::identify([Block::Dob]).gate()).build()?;
    /// assert!(req.steps[0].gate);
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn step(mut self, step: Step) -> Self {
        self.request.steps.push(step);
        self
    }

    /// Adds an `identify` step asking for these blocks.
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// use uip_client::Block;
    /// let (req, _, _) = client.session().identify([Block::FirstName, Block::Portrait]).build()?;
    /// assert_eq!(req.steps.len(), 1);
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn identify(self, blocks: impl IntoIterator<Item = Block>) -> Self {
        self.step(Step::identify(blocks))
    }

    /// Adds an `identify` step with the default blocks (first name, last name, date of birth).
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// let (req, _, _) = client.session().identify_default().build()?;
    /// assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"steps":[{"primitive":"identify"}]}"#);
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn identify_default(self) -> Self {
        self.step(Step::identify_default())
    }

    /// Adds an `age_verify` step (`min_age` 1..=120).
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// let (req, _, _) = client.session().age_verify(21).build()?;
    /// assert!(client.session().age_verify(0).build().is_err());
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn age_verify(self, min_age: u8) -> Self {
        self.step(Step::age_verify(min_age))
    }

    /// Adds a `light_sign` step over these terms (1..=10000 characters).
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// let (req, _, _) = client.session().light_sign("I accept the terms.").build()?;
    /// assert!(client.session().light_sign("").build().is_err());
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn light_sign(self, terms: impl Into<String>) -> Self {
        self.step(Step::light_sign(terms))
    }

    /// Adds a `sign` step over the named documents, in this signing order. Add the files with
    /// [`document`](Self::document).
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// use uip_client::Document;
    /// let (_, docs, _) = client.session()
    ///     .sign(["a.pdf", "b.pdf"])
    ///     .document(Document::from_bytes("a.pdf", "A"))
    ///     .document(Document::from_bytes("b.pdf", "B"))
    ///     .build()?;
    /// assert_eq!(docs.len(), 2);
    /// // A name without a document is refused before sending:
    /// assert!(client.session().sign(["c.pdf"]).build().is_err());
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn sign<I, S>(self, documents: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.step(Step::sign(documents))
    }

    /// Adds a `sign` step over every uploaded document (only when it is the only `sign` step).
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// use uip_client::Document;
    /// let built = client.session().sign_all().document(Document::from_bytes("a.pdf", "A")).build();
    /// assert!(built.is_ok());
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn sign_all(self) -> Self {
        self.step(Step::sign_all())
    }

    /// Makes the step just added a gate.
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// let (req, _, _) = client.session().age_verify(21).gate().light_sign("terms").build()?;
    /// assert!(req.steps[0].gate && !req.steps[1].gate);
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn gate(mut self) -> Self {
        match self.request.steps.last_mut() {
            Some(step) => step.gate = true,
            None => self.misuse("steps", "gate() must follow a step"),
        }
        self
    }

    /// Sets the title of the `light_sign` step just added (≤ 200 characters).
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// let (req, _, _) = client.session().light_sign("terms").title("Rental terms").build()?;
    /// assert!(client.session().age_verify(18).title("no title here").build().is_err());
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn title(mut self, title: impl Into<String>) -> Self {
        match self.request.steps.last_mut() {
            Some(Step { params: StepParams::LightSign(p), .. }) => p.title = Some(title.into()),
            _ => self.misuse("steps", "title() must follow a light_sign step"),
        }
        self
    }

    /// Sets the `client_reference_id` (≤ 255 characters), echoed on webhooks, reads and audits.
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// let (req, _, _) = client.session().age_verify(18).client_reference_id("order_4815").build()?;
    /// assert_eq!(req.client_reference_id.as_deref(), Some("order_4815"));
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn client_reference_id(mut self, id: impl Into<String>) -> Self {
        self.request.client_reference_id = Some(id.into());
        self
    }

    /// Adds a metadata entry (≤ 50 keys; key 1..=40 characters, value ≤ 500).
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// let (req, _, _) = client.session().age_verify(18).metadata("cart", "c_991").build()?;
    /// assert_eq!(req.metadata.unwrap()["cart"], "c_991");
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.metadata.get_or_insert_with(BTreeMap::new).insert(key.into(), value.into());
        self
    }

    /// Sets the `https` URL of the hosted page's "Return to" button.
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// assert!(client.session().age_verify(18).return_url("https://shop.example.com/done").build().is_ok());
    /// assert!(client.session().age_verify(18).return_url("http://shop.example.com/done").build().is_err());
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.request.return_url = Some(url.into());
        self
    }

    /// Sets the session's time to live (60 s to 24 h, whole seconds; default 1 h).
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// use std::time::Duration;
    /// let (req, _, _) = client.session().age_verify(18).expires_in(Duration::from_secs(600)).build()?;
    /// assert_eq!(req.expires_in, Some(600));
    /// assert!(client.session().age_verify(18).expires_in(Duration::from_secs(30)).build().is_err());
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn expires_in(mut self, ttl: Duration) -> Self {
        if ttl.subsec_nanos() != 0 {
            self.misuse("expires_in", "expires_in must be whole seconds");
        }
        self.request.expires_in = Some(u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX));
        self
    }

    /// Sends this Idempotency-Key instead of a generated one (see [`CreateOptions`]).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.options.idempotency_key = Some(key.into());
        self
    }

    /// Adds a document for the `sign` steps.
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// use uip_client::Document;
    /// let built = client.session().sign_all().document(Document::from_bytes("lease.pdf", "%PDF")).build()?;
    /// assert_eq!(built.1[0].name(), "lease.pdf");
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn document(mut self, document: Document) -> Self {
        self.documents.push(document);
        self
    }

    /// Adds several documents.
    ///
    /// ```
    /// # let client = uip_client::Client::new("uip_test_sandbox")?;
    /// use uip_client::Document;
    /// let docs = ["a.txt", "b.txt"].map(|n| Document::from_bytes(n, n));
    /// assert!(client.session().sign_all().documents(docs).build().is_ok());
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn documents(mut self, documents: impl IntoIterator<Item = Document>) -> Self {
        self.documents.extend(documents);
        self
    }

    fn misuse(&mut self, param: &str, message: &str) {
        self.problem
            .get_or_insert_with(|| ValidationError::new(ErrorCode::InvalidParams, message).with_param(param));
    }

    /// The request built so far, validated, with its documents and options, without sending it.
    ///
    /// ```
    /// let client = uip_client::Client::new("uip_test_sandbox")?;
    /// let (req, docs, _) = client.session().age_verify(21).gate().build()?;
    /// assert_eq!(serde_json::to_string(&req).unwrap(),
    ///     r#"{"steps":[{"primitive":"age_verify","params":{"min_age":21},"gate":true}]}"#);
    /// assert!(docs.is_empty());
    /// assert!(client.session().gate().build().is_err());
    /// # Ok::<(), uip_client::Error>(())
    /// ```
    pub fn build(self) -> Result<(CreateSessionRequest, Vec<Document>, CreateOptions), Error> {
        if let Some(problem) = self.problem {
            return Err(problem.into());
        }
        self.request.validate()?;
        if let Some(key) = &self.options.idempotency_key {
            check_idempotency_key(key)?;
        }
        if self.documents.is_empty() {
            bind_documents(&self.request, None)?;
        } else {
            documents::check(&self.request, &self.documents)?;
        }
        Ok((self.request, self.documents, self.options))
    }

    /// Validates and sends the create: JSON, or multipart when there are documents.
    ///
    /// See [`Client::create_session_with_options`] for idempotency and retries.
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client) -> Result<(), uip_client::Error> {
    /// let session = client.session().age_verify(21).send().await?;
    /// println!("{}", session.url.expose());
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CreatedSession, Error> {
        let client = self.client;
        let (request, documents, options) = self.build()?;
        client.create_session_with_options(&request, documents, &options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(status: SessionStatus, current_step: u32) -> SessionView {
        SessionView::new("sess_a", status, current_step, 3)
    }

    #[test]
    fn continue_counts_only_moves_past_the_gate() {
        let c = Decision::Continue { gate: Some(1) };
        assert!(c.done(&view(SessionStatus::InProgress, 2)));
        assert!(c.done(&view(SessionStatus::AwaitingDecision, 2)));
        assert!(c.done(&view(SessionStatus::Completed, 1)));
        assert!(!c.done(&view(SessionStatus::InProgress, 1)));
        assert!(!c.done(&view(SessionStatus::AwaitingDecision, 1)));
        assert!(!c.done(&view(SessionStatus::Stopped, 1)));
        assert!(!c.done(&view(SessionStatus::Expired, 1)));
        assert!(!Decision::Continue { gate: None }.done(&view(SessionStatus::Completed, 2)));
        assert!(Decision::Stop.done(&view(SessionStatus::Stopped, 1)));
        assert!(!Decision::Stop.done(&view(SessionStatus::Completed, 2)));
    }

    #[test]
    fn builder_misuse_is_reported() {
        let client = Client::new("k").unwrap();
        let err = client.session().gate().age_verify(20).build().unwrap_err();
        assert_eq!(err.param(), Some("steps"));
        let err = client.session().age_verify(20).title("t").build().unwrap_err();
        assert_eq!(err.param(), Some("steps"));
        let err =
            client.session().age_verify(20).expires_in(Duration::from_millis(90_500)).build().unwrap_err();
        assert_eq!(err.param(), Some("expires_in"));
        let err =
            client.session().age_verify(20).expires_in(Duration::from_secs(1 << 40)).build().unwrap_err();
        assert_eq!(err.param(), Some("expires_in"));
        let err = client.session().build().unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::InvalidSteps));
    }

    #[test]
    fn builder_steps_and_fields() {
        let client = Client::new("k").unwrap();
        let (req, docs, opts) = client
            .session()
            .identify([Block::FirstName])
            .gate()
            .light_sign("terms")
            .title("Terms")
            .sign(["a.pdf"])
            .document(Document::from_bytes("a.pdf", "x"))
            .metadata("k", "v")
            .expires_in(Duration::from_secs(600))
            .idempotency_key("key-1")
            .build()
            .unwrap();
        assert_eq!(
            req.steps,
            vec![Step::identify([Block::FirstName]).gate(), Step::light_sign("terms").with_title("Terms"), {
                Step::sign(["a.pdf"])
            }]
        );
        assert_eq!(req.expires_in, Some(600));
        assert_eq!(docs.len(), 1);
        assert_eq!(opts.idempotency_key.as_deref(), Some("key-1"));
    }
}
