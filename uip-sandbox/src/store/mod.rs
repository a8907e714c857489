//! The store: all state in memory behind one lock, written through to SQLite (when a database
//! file is configured) in one transaction per state change — the session, its audits and the
//! events it produced (the outbox) land together or not at all.

mod model;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;

use bytes::Bytes;
use parking_lot::Mutex;
use uip_types::sandbox::{DeliveryStatus, FaultPlan, InboxEntry};
use uip_types::{SessionId, Timestamp, WebhookEvent};

pub(crate) use model::{Business, Delivery, IdempotencyRecord};

use crate::engine::session::Session;

/// A failed write to the database file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[cfg(feature = "sqlite")]
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A database file was asked for, but this build has no SQLite.
    #[cfg(not(feature = "sqlite"))]
    #[error("this uip-sandbox was built without its `sqlite` feature; a database file needs it")]
    NoSqlite,
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
    #[cfg(feature = "sqlite")]
    #[error("migration: {0}")]
    Migration(String),
}

/// What changed since the last flush.
#[derive(Default)]
struct Dirty {
    businesses: HashSet<String>,
    sessions: HashSet<SessionId>,
    new_documents: Vec<SessionId>,
    deliveries: HashSet<u64>,
    idempotency: HashSet<(String, String)>,
    idempotency_removed: Vec<(String, String)>,
}

/// Most inbox entries kept per business.
const INBOX_CAP: usize = 1000;

/// Everything the sandbox knows. Its fields are private: every change goes through a method
/// that records what it touched, so that the next flush writes it (nothing changed in memory
/// can be left out of the database).
#[derive(Default)]
pub(crate) struct State {
    businesses: HashMap<String, Business>,
    /// API key hash → business id.
    keys: HashMap<String, String>,
    sessions: HashMap<SessionId, Session>,
    /// Document bytes per session (None once purged).
    documents: HashMap<SessionId, Vec<Option<Bytes>>>,
    /// Non-terminal sessions (what the expiry sweep looks at).
    active: HashSet<SessionId>,
    idempotency: HashMap<(String, String), IdempotencyRecord>,
    deliveries: HashMap<u64, Delivery>,
    delivery_ids: HashMap<String, u64>,
    /// Per session, the open deliveries in order; the head is the only one that may be attempted.
    queues: HashMap<SessionId, VecDeque<u64>>,
    /// Heads ready to attempt, by due time (real). [`State::schedule`] and [`State::pop_due`]
    /// keep it and `due_of` in step.
    due: BTreeSet<(Timestamp, u64)>,
    /// The entry each scheduled delivery has in `due`.
    due_of: HashMap<u64, Timestamp>,
    /// Heads being attempted right now.
    in_flight: HashSet<u64>,
    next_seq: u64,
    /// Per business: deliveries in the order they were made (the log).
    delivery_log: HashMap<String, Vec<u64>>,
    faults: HashMap<String, FaultPlan>,
    inbox: HashMap<String, VecDeque<InboxEntry>>,
    dirty: Dirty,
}

impl State {
    // ---- businesses ----

    pub fn business(&self, id: &str) -> Option<&Business> {
        self.businesses.get(id)
    }

    pub fn business_by_key(&self, key_hash: &str) -> Option<&Business> {
        self.keys.get(key_hash).and_then(|id| self.businesses.get(id))
    }

    /// Every business, in no particular order.
    #[cfg(all(test, feature = "sqlite"))]
    pub fn businesses(&self) -> impl Iterator<Item = &Business> {
        self.businesses.values()
    }

    pub fn insert_business(&mut self, b: Business) {
        if let Some(old) = self.businesses.get(&b.id) {
            if old.api_key_hash != b.api_key_hash {
                self.keys.remove(&old.api_key_hash);
            }
        }
        self.keys.insert(b.api_key_hash.clone(), b.id.clone());
        self.dirty.businesses.insert(b.id.clone());
        self.businesses.insert(b.id.clone(), b);
    }

    /// Changes a business; it is always marked for saving. `None` when unknown.
    pub fn update_business<R>(&mut self, id: &str, f: impl FnOnce(&mut Business) -> R) -> Option<R> {
        let b = self.businesses.get_mut(id)?;
        let key_before = b.api_key_hash.clone();
        let r = f(b);
        if b.api_key_hash != key_before {
            let (new_key, bid) = (b.api_key_hash.clone(), b.id.clone());
            self.keys.remove(&key_before);
            self.keys.insert(new_key, bid);
        }
        self.dirty.businesses.insert(id.to_owned());
        Some(r)
    }

    // ---- sessions ----

    pub fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.get(id)
    }

    /// Every session, in no particular order.
    #[cfg(all(test, feature = "sqlite"))]
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }

    /// The ids of the sessions that are not terminal (what the expiry sweep looks at).
    pub fn active_sessions(&self) -> impl Iterator<Item = &SessionId> {
        self.active.iter()
    }

    pub fn insert_session(&mut self, s: Session, documents: Vec<Bytes>) {
        if !documents.is_empty() {
            self.documents.insert(s.id.clone(), documents.into_iter().map(Some).collect());
            self.dirty.new_documents.push(s.id.clone());
        }
        if s.status.is_terminal() {
            self.active.remove(&s.id);
        } else {
            self.active.insert(s.id.clone());
        }
        self.dirty.sessions.insert(s.id.clone());
        self.sessions.insert(s.id.clone(), s);
    }

    /// Changes a session; it is always marked for saving, the document bytes it no longer
    /// needs are dropped and the active set is kept right. `None` when unknown.
    pub fn update_session<R>(&mut self, id: &str, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        let s = self.sessions.get_mut(id)?;
        let r = f(s);
        let id = s.id.clone();
        self.after_session_change(&id);
        Some(r)
    }

    /// Purges document bytes a changed session no longer needs, keeps the active set right, and
    /// marks the session for saving.
    fn after_session_change(&mut self, id: &SessionId) {
        let Some(s) = self.sessions.get(id) else { return };
        if s.status.is_terminal() {
            self.active.remove(id);
        } else {
            self.active.insert(id.clone());
        }
        if let Some(docs) = self.documents.get_mut(id) {
            for (i, d) in s.documents.iter().enumerate() {
                if d.purged {
                    if let Some(slot) = docs.get_mut(i) {
                        *slot = None;
                    }
                }
            }
            if docs.iter().all(Option::is_none) {
                self.documents.remove(id);
            }
        }
        self.dirty.sessions.insert(id.clone());
    }

    /// The bytes of a session's document (None when unknown or purged).
    pub fn document_bytes(&self, session_id: &str, index: usize) -> Option<Bytes> {
        self.documents.get(session_id).and_then(|d| d.get(index).cloned().flatten())
    }

    // ---- idempotency ----

    pub fn idempotency(&self, key: &(String, String)) -> Option<&IdempotencyRecord> {
        self.idempotency.get(key)
    }

    pub fn put_idempotency(&mut self, key: (String, String), rec: IdempotencyRecord) {
        self.dirty.idempotency.insert(key.clone());
        self.idempotency.insert(key, rec);
    }

    pub fn remove_idempotency(&mut self, key: &(String, String)) {
        if self.idempotency.remove(key).is_some() {
            self.dirty.idempotency_removed.push(key.clone());
        }
    }

    // ---- faults and inbox (in memory only) ----

    pub fn faults_mut(&mut self) -> &mut HashMap<String, FaultPlan> {
        &mut self.faults
    }

    pub fn inbox(&self, business_id: &str) -> impl Iterator<Item = &InboxEntry> {
        self.inbox.get(business_id).into_iter().flatten()
    }

    // ---- deliveries ----

    pub fn delivery(&self, seq: u64) -> Option<&Delivery> {
        self.deliveries.get(&seq)
    }

    pub fn delivery_seq(&self, delivery_id: &str) -> Option<u64> {
        self.delivery_ids.get(delivery_id).copied()
    }

    /// A business's deliveries in the order they were made.
    pub fn deliveries_of(&self, business_id: &str) -> impl Iterator<Item = &Delivery> {
        self.delivery_log.get(business_id).into_iter().flatten().filter_map(|seq| self.deliveries.get(seq))
    }

    /// Every delivery, in no particular order.
    #[cfg(all(test, feature = "sqlite"))]
    pub fn deliveries(&self) -> impl Iterator<Item = &Delivery> {
        self.deliveries.values()
    }

    /// Marks a queue head as being attempted (or no longer).
    pub fn set_in_flight(&mut self, seq: u64, in_flight: bool) {
        if in_flight {
            self.in_flight.insert(seq);
        } else {
            self.in_flight.remove(&seq);
        }
    }

    /// Queues webhook events of a session, in order (the outbox). Returns true when any was queued.
    pub fn emit(&mut self, business_id: &str, events: Vec<WebhookEvent>, real_now: Timestamp) -> bool {
        let mut any = false;
        for event in events {
            let mut body = serde_json::to_string(&event).unwrap_or_default();
            body.shrink_to_fit();
            let seq = self.next_seq;
            self.next_seq += 1;
            let d = Delivery {
                seq,
                delivery_id: event.delivery_id(),
                business_id: business_id.to_owned(),
                session_id: event.session_id().into(),
                event: event.name().to_owned(),
                body,
                status: DeliveryStatus::Pending,
                attempts: Vec::new(),
                next_attempt_at: Some(real_now),
                round_started_at: real_now,
                round_failures: 0,
                fault: None,
                delivered_signature: None,
                delivered_secret: None,
            };
            self.delivery_ids.insert(d.delivery_id.clone(), seq);
            self.delivery_log.entry(business_id.to_owned()).or_default().push(seq);
            self.enqueue(d.session_id.clone(), seq, real_now);
            self.dirty.deliveries.insert(seq);
            self.deliveries.insert(seq, d);
            any = true;
        }
        any
    }

    /// Appends an open delivery to its session's queue; makes it due when it is the head.
    pub fn enqueue(&mut self, session_id: SessionId, seq: u64, due: Timestamp) {
        let q = self.queues.entry(session_id).or_default();
        q.push_back(seq);
        if q.len() == 1 {
            self.schedule(seq, due);
        }
    }

    /// Makes a queue head due at `at` (replacing the time it was due at before, if any).
    pub fn schedule(&mut self, seq: u64, at: Timestamp) {
        if let Some(old) = self.due_of.insert(seq, at) {
            self.due.remove(&(old, seq));
        }
        self.due.insert((at, seq));
    }

    /// Takes the earliest scheduled head if it is due by `now`; otherwise returns when the
    /// earliest one is due, or `Err(None)` when nothing is scheduled.
    pub fn pop_due(&mut self, now: Timestamp) -> Result<u64, Option<Timestamp>> {
        match self.due.first() {
            Some(&(at, _)) if at > now => Err(Some(at)),
            Some(_) => {
                let (_, seq) = self.due.pop_first().ok_or(None)?;
                self.due_of.remove(&seq);
                Ok(seq)
            }
            None => Err(None),
        }
    }

    /// Keeps the schedule in step with the deliveries a write changed: an open head that is
    /// not being attempted is due at its `next_attempt_at`. This is what makes a redelivery
    /// of a delivery that is still retrying go now rather than at its old backoff time.
    fn reschedule(&mut self, changed: &HashSet<u64>) {
        for &seq in changed {
            let Some(d) = self.deliveries.get(&seq) else { continue };
            let Some(at) = d.next_attempt_at.filter(|_| d.is_open()) else { continue };
            let head = self.queues.get(&d.session_id).and_then(|q| q.front()) == Some(&seq);
            if head && !self.in_flight.contains(&seq) && self.due_of.get(&seq) != Some(&at) {
                self.schedule(seq, at);
            }
        }
    }

    /// Removes a finished head from its session queue and makes the next one due now.
    pub fn advance_queue(&mut self, session_id: &SessionId, seq: u64, real_now: Timestamp) {
        let mut next = None;
        if let Some(q) = self.queues.get_mut(session_id) {
            if q.front() == Some(&seq) {
                q.pop_front();
            } else {
                q.retain(|s| *s != seq);
            }
            next = q.front().copied();
            if q.is_empty() {
                self.queues.remove(session_id);
            }
        }
        if let Some(n) = next {
            let due = self.update_delivery(n, |d| {
                let due = d.next_attempt_at.unwrap_or(real_now).max(real_now);
                d.next_attempt_at = Some(due);
                // Its retry horizon counts from when it may first be attempted, not from when
                // it was queued behind the head that just finished.
                d.round_started_at = d.round_started_at.max(real_now);
                due
            });
            if let Some(due) = due {
                self.schedule(n, due);
            }
        }
    }

    /// Changes a delivery; it is always marked for saving (and its schedule kept in step).
    /// `None` when unknown.
    pub fn update_delivery<R>(&mut self, seq: u64, f: impl FnOnce(&mut Delivery) -> R) -> Option<R> {
        let d = self.deliveries.get_mut(&seq)?;
        let r = f(d);
        self.dirty.deliveries.insert(seq);
        Some(r)
    }

    pub fn push_inbox(&mut self, business_id: &str, entry: InboxEntry) {
        let q = self.inbox.entry(business_id.to_owned()).or_default();
        if q.len() >= INBOX_CAP {
            q.pop_front();
        }
        q.push_back(entry);
    }

    fn is_dirty(&self) -> bool {
        let d = &self.dirty;
        !(d.businesses.is_empty()
            && d.sessions.is_empty()
            && d.new_documents.is_empty()
            && d.deliveries.is_empty()
            && d.idempotency.is_empty()
            && d.idempotency_removed.is_empty())
    }
}

struct Inner {
    state: State,
    #[cfg(feature = "sqlite")]
    db: Option<sqlite::Db>,
}

/// The state behind its lock, with its optional database.
pub(crate) struct Store {
    inner: Mutex<Inner>,
}

impl Store {
    /// An in-memory store.
    pub fn memory() -> Store {
        Store {
            inner: Mutex::new(Inner {
                state: State::default(),
                #[cfg(feature = "sqlite")]
                db: None,
            }),
        }
    }

    /// A store backed by a SQLite file: migrates it and loads what it holds.
    #[cfg(feature = "sqlite")]
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = sqlite::Db::open(path)?;
        let mut state = db.load()?;
        state.dirty = Dirty::default();
        Ok(Store { inner: Mutex::new(Inner { state, db: Some(db) }) })
    }

    /// Without the `sqlite` feature there is no database: asking for one is an error.
    #[cfg(not(feature = "sqlite"))]
    pub fn open(_path: &Path) -> Result<Store, StoreError> {
        Err(StoreError::NoSqlite)
    }

    /// Runs a read-only closure under the lock.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.inner.lock().state)
    }

    /// Runs a mutating closure under the lock, then writes what it changed in one transaction.
    /// If the write fails, the error is returned (the in-memory change stays; it is retried
    /// with the next write).
    pub fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, StoreError> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let r = f(&mut inner.state);
        if !inner.state.dirty.deliveries.is_empty() {
            let changed = std::mem::take(&mut inner.state.dirty.deliveries);
            inner.state.reschedule(&changed);
            inner.state.dirty.deliveries = changed;
        }
        if inner.state.is_dirty() {
            let dirty = std::mem::take(&mut inner.state.dirty);
            #[cfg(feature = "sqlite")]
            if let Some(db) = &mut inner.db {
                if let Err(e) = db.flush(&inner.state, &dirty) {
                    inner.state.dirty = dirty;
                    return Err(e);
                }
            }
            // Without a database the change lives in memory only.
            #[cfg(not(feature = "sqlite"))]
            drop(dirty);
        }
        Ok(r)
    }
}
