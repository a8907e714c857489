//! The store: all state in memory behind one lock, written through to SQLite (when a database
//! file is configured) by group commit — the writes made while one transaction runs are stored
//! together in the next, each answered only once its transaction is done. A state change (the
//! session, its audits and the events it produced, the outbox) always lands in one transaction,
//! whole or not at all, and its events are attempted only after it is stored.

mod model;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use uip_types::sandbox::{DeliveryStatus, FaultPlan, InboxEntry};
use uip_types::{SessionId, Timestamp, WebhookEvent, WebhookSecret};

pub(crate) use model::{Business, Delivery, IdempotencyRecord, Signature};

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
    /// The group commit this write was part of failed.
    #[error(transparent)]
    Commit(Arc<StoreError>),
    /// The store closed before this write was stored.
    #[error("the store is closed")]
    Closed,
    /// The committer or the checkpoint thread could not be started.
    #[cfg(feature = "sqlite")]
    #[error("starting a store thread: {0}")]
    Thread(std::io::Error),
    #[cfg(feature = "sqlite")]
    #[error("migration: {0}")]
    Migration(String),
    /// The file is neither empty nor a sandbox database; it was left untouched.
    #[cfg(feature = "sqlite")]
    #[error("not a uip-sandbox database: {0}; it was left untouched (choose another database file)")]
    NotSandbox(String),
}

/// What changed since the last group commit took its rows.
#[derive(Default)]
struct Dirty {
    businesses: HashSet<String>,
    sessions: HashSet<SessionId>,
    new_documents: Vec<SessionId>,
    deliveries: HashSet<u64>,
    idempotency: HashSet<(String, String)>,
    idempotency_removed: Vec<(String, String)>,
}

impl Dirty {
    fn is_empty(&self) -> bool {
        self.businesses.is_empty()
            && self.sessions.is_empty()
            && self.new_documents.is_empty()
            && self.deliveries.is_empty()
            && self.idempotency.is_empty()
            && self.idempotency_removed.is_empty()
    }

    /// Adds what a later write changed.
    #[cfg(feature = "sqlite")]
    fn merge(&mut self, later: Dirty) {
        self.businesses.extend(later.businesses);
        self.sessions.extend(later.sessions);
        self.new_documents.extend(later.new_documents);
        self.deliveries.extend(later.deliveries);
        self.idempotency.extend(later.idempotency);
        self.idempotency_removed.extend(later.idempotency_removed);
    }
}

/// What a write changed, as it was before (the first time each entry was touched): a write whose
/// flush fails is undone from it, so memory stays what the database holds (docs/DECISIONS.md §11).
/// Kept only while a write runs on a store with a database.
#[derive(Default)]
struct Undo {
    businesses: HashMap<String, Option<Business>>,
    /// API key hash → business id, as it was.
    keys: HashMap<String, Option<String>>,
    sessions: HashMap<SessionId, Option<Arc<Session>>>,
    documents: HashMap<SessionId, Option<Vec<Option<Bytes>>>>,
    idempotency: HashMap<(String, String), Option<IdempotencyRecord>>,
    deliveries: HashMap<u64, Option<Arc<Delivery>>>,
    delivery_ids: HashMap<Arc<str>, Option<u64>>,
    /// Length of a business's delivery log before.
    delivery_log: HashMap<String, usize>,
    queues: HashMap<SessionId, Option<VecDeque<u64>>>,
    /// When each touched delivery was due before (`None`: not scheduled).
    due_of: HashMap<u64, Option<Timestamp>>,
    in_flight: HashMap<u64, bool>,
    next_seq: Option<u64>,
    faults: Option<HashMap<String, FaultPlan>>,
    /// Inbox pushes in order: the business, and the entry the cap pushed out (if any).
    inbox: Vec<(String, Option<InboxEntry>)>,
}

/// Records `before()` under `key` unless this write recorded that entry already.
fn remember<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, before: impl FnOnce() -> V) {
    map.entry(key).or_insert_with(before);
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
    /// Behind a pointer, as are deliveries: a map's buckets are sized for the value and kept
    /// partly empty, so a pointer per bucket costs less than the value itself (BENCHMARKS.md,
    /// memory). Shared (`Arc`), so that a group commit takes the entries it stores without
    /// copying them and encodes them without the lock; a write changes its own copy
    /// (`Arc::make_mut`) when the commit still holds the one it took.
    sessions: HashMap<SessionId, Arc<Session>>,
    /// Document bytes per session (None once purged).
    documents: HashMap<SessionId, Vec<Option<Bytes>>>,
    /// Non-terminal sessions (what the expiry sweep looks at).
    active: HashSet<SessionId>,
    idempotency: HashMap<(String, String), IdempotencyRecord>,
    deliveries: HashMap<u64, Arc<Delivery>>,
    /// Delivery id → seq; the key is the delivery's own id string, shared.
    delivery_ids: HashMap<Arc<str>, u64>,
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
    /// The last [`Session::seq`] given out.
    last_session_seq: u64,
    inbox: HashMap<String, VecDeque<InboxEntry>>,
    /// What the write under way changed.
    dirty: Dirty,
    /// With a database: what the writes waiting for the next group commit changed.
    unstored: Dirty,
    /// Set while a write runs on a store with a database (see [`Undo`]).
    undo: Option<Undo>,
    /// With a database: deliveries numbered from here on were made by writes not yet committed,
    /// and are not attempted until they are (an event is sent only once it is stored).
    /// `None` without a database.
    durable_seq: Option<u64>,
    /// Sessions and businesses in the group commit under way (their rows are being written).
    committing: Committing,
    /// Set by a write that only read sessions and businesses already stored (see
    /// [`State::reads_stored`]): with nothing of its own to store, it need not wait for the
    /// commits under way.
    reads_stored: bool,
}

/// What the group commit under way writes, for [`State::is_stored`].
#[derive(Default)]
struct Committing {
    sessions: HashSet<SessionId>,
    businesses: HashSet<String>,
}

impl State {
    // ---- what is stored ----

    /// Whether the session and its business have no change waiting for a commit (unknown ids
    /// count as stored: nothing of them waits).
    pub fn is_stored(&self, session_id: &str, business_id: &str) -> bool {
        let (d, u) = (&self.dirty, &self.unstored);
        !(d.sessions.contains(session_id)
            || u.sessions.contains(session_id)
            || self.committing.sessions.contains(session_id)
            || d.businesses.contains(business_id)
            || u.businesses.contains(business_id)
            || self.committing.businesses.contains(business_id))
    }

    /// Declares that this write read only what [`State::is_stored`] said is stored: when it
    /// changes nothing itself, it answers without waiting for the commits under way.
    pub fn reads_stored(&mut self) {
        self.reads_stored = true;
    }

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
        self.note_business(&b.id);
        self.note_key(&b.api_key_hash);
        if let Some(old) = self.businesses.get(&b.id) {
            if let Some(u) = &mut self.undo {
                let (keys, hash) = (&self.keys, &old.api_key_hash);
                remember(&mut u.keys, hash.clone(), || keys.get(hash).cloned());
            }
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
        if !self.businesses.contains_key(id) {
            return None;
        }
        self.note_business(id);
        let b = self.businesses.get_mut(id)?;
        let key_before = b.api_key_hash.clone();
        let r = f(b);
        if b.api_key_hash != key_before {
            let (new_key, bid) = (b.api_key_hash.clone(), b.id.clone());
            self.note_key(&key_before);
            self.note_key(&new_key);
            self.keys.remove(&key_before);
            self.keys.insert(new_key, bid);
        }
        self.dirty.businesses.insert(id.to_owned());
        Some(r)
    }

    // ---- sessions ----

    pub fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.get(id).map(|s| &**s)
    }

    /// Every session, in no particular order.
    #[cfg(all(test, feature = "sqlite"))]
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values().map(|s| &**s)
    }

    /// The ids of the sessions that are not terminal (what the expiry sweep looks at).
    pub fn active_sessions(&self) -> impl Iterator<Item = &SessionId> {
        self.active.iter()
    }

    /// A business's sessions, in no particular order.
    pub fn sessions_of<'a>(&'a self, business_id: &'a str) -> impl Iterator<Item = &'a Session> + 'a {
        self.sessions.values().map(|s| &**s).filter(move |s| s.business_id == business_id)
    }

    /// Stores a session; a new one gets the next creation number ([`Session::seq`]).
    pub fn insert_session(&mut self, mut s: Session, documents: Vec<Bytes>) {
        self.note_session(&s.id);
        match self.sessions.get(&s.id) {
            Some(old) => s.seq = old.seq,
            None => {
                self.last_session_seq += 1;
                s.seq = self.last_session_seq;
            }
        }
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
        self.sessions.insert(s.id.clone(), Arc::new(s));
    }

    /// Changes a session; it is always marked for saving, the document bytes it no longer
    /// needs are dropped and the active set is kept right. `None` when unknown.
    pub fn update_session<R>(&mut self, id: &str, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        let sid = self.sessions.get(id)?.id.clone();
        self.note_session(&sid);
        let s = Arc::make_mut(self.sessions.get_mut(id)?);
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
        self.note_idempotency(&key);
        self.dirty.idempotency.insert(key.clone());
        self.idempotency.insert(key, rec);
    }

    pub fn remove_idempotency(&mut self, key: &(String, String)) {
        self.note_idempotency(key);
        if self.idempotency.remove(key).is_some() {
            self.dirty.idempotency_removed.push(key.clone());
        }
    }

    // ---- faults and inbox (in memory only) ----

    pub fn faults(&self) -> &HashMap<String, FaultPlan> {
        &self.faults
    }

    pub fn faults_mut(&mut self) -> &mut HashMap<String, FaultPlan> {
        if let Some(u) = self.undo.as_mut().filter(|u| u.faults.is_none()) {
            u.faults = Some(self.faults.clone());
        }
        &mut self.faults
    }

    pub fn inbox(&self, business_id: &str) -> impl Iterator<Item = &InboxEntry> {
        self.inbox.get(business_id).into_iter().flatten()
    }

    // ---- deliveries ----

    pub fn delivery(&self, seq: u64) -> Option<&Delivery> {
        self.deliveries.get(&seq).map(|d| &**d)
    }

    pub fn delivery_seq(&self, delivery_id: &str) -> Option<u64> {
        self.delivery_ids.get(delivery_id).copied()
    }

    /// A business's deliveries in the order they were made.
    pub fn deliveries_of(&self, business_id: &str) -> impl Iterator<Item = &Delivery> {
        self.delivery_log
            .get(business_id)
            .into_iter()
            .flatten()
            .filter_map(|seq| self.deliveries.get(seq).map(|d| &**d))
    }

    /// Every delivery, in no particular order.
    #[cfg(all(test, feature = "sqlite"))]
    pub fn deliveries(&self) -> impl Iterator<Item = &Delivery> {
        self.deliveries.values().map(|d| &**d)
    }

    /// Marks a queue head as being attempted (or no longer).
    pub fn set_in_flight(&mut self, seq: u64, in_flight: bool) {
        if let Some(u) = &mut self.undo {
            let before = self.in_flight.contains(&seq);
            remember(&mut u.in_flight, seq, || before);
        }
        if in_flight {
            self.in_flight.insert(seq);
        } else {
            self.in_flight.remove(&seq);
        }
    }

    /// Queues webhook events of a session, in order (the outbox). Returns true when any was queued.
    pub fn emit(&mut self, business_id: &str, events: Vec<WebhookEvent>, real_now: Timestamp) -> bool {
        let mut any = false;
        let shared_business_id = self.deliveries_business_id(business_id);
        for event in events {
            let body = serde_json::to_string(&event).unwrap_or_default();
            let seq = self.next_seq;
            self.next_seq += 1;
            let d = Delivery {
                seq,
                delivery_id: event.delivery_id().into(),
                business_id: shared_business_id.clone(),
                body: body.into_boxed_str(),
                status: DeliveryStatus::Pending,
                attempts: Vec::new(),
                next_attempt_at: Some(real_now),
                round_started_at: real_now,
                round_failures: 0,
                fault: None,
                delivered_signature: None,
                delivered_secret: None,
            };
            if let Some(u) = &mut self.undo {
                u.next_seq.get_or_insert(seq);
                let len = self.delivery_log.get(business_id).map_or(0, Vec::len);
                remember(&mut u.delivery_log, business_id.to_owned(), || len);
                let ids = &self.delivery_ids;
                remember(&mut u.delivery_ids, d.delivery_id.clone(), || ids.get(&d.delivery_id).copied());
            }
            self.note_delivery(seq);
            self.delivery_ids.insert(d.delivery_id.clone(), seq);
            self.delivery_log.entry(business_id.to_owned()).or_default().push(seq);
            self.enqueue(SessionId::from(d.session_id()), seq, real_now);
            self.dirty.deliveries.insert(seq);
            self.deliveries.insert(seq, Arc::new(d));
            any = true;
        }
        any
    }

    /// The business id a business's deliveries share: the one its last delivery has (one
    /// string per business rather than one per delivery).
    fn deliveries_business_id(&self, business_id: &str) -> Arc<str> {
        let last = self.delivery_log.get(business_id).and_then(|log| log.last());
        match last.and_then(|seq| self.deliveries.get(seq)) {
            Some(d) => d.business_id.clone(),
            None => Arc::from(business_id),
        }
    }

    /// Appends an open delivery to its session's queue; makes it due when it is the head.
    pub fn enqueue(&mut self, session_id: SessionId, seq: u64, due: Timestamp) {
        self.note_queue(&session_id);
        let q = self.queues.entry(session_id).or_default();
        q.push_back(seq);
        if q.len() == 1 {
            self.schedule(seq, due);
        }
    }

    /// Makes a queue head due at `at` (replacing the time it was due at before, if any).
    pub fn schedule(&mut self, seq: u64, at: Timestamp) {
        self.note_due(seq);
        if let Some(old) = self.due_of.insert(seq, at) {
            self.due.remove(&(old, seq));
        }
        self.due.insert((at, seq));
    }

    /// Takes the earliest scheduled head if it is due by `now`; otherwise returns when the
    /// earliest one is due, or `Err(None)` when nothing is scheduled.
    pub fn pop_due(&mut self, now: Timestamp) -> Result<u64, Option<Timestamp>> {
        let durable = self.durable_seq.unwrap_or(u64::MAX);
        // Heads of uncommitted writes are passed over: their writer wakes the dispatcher once
        // its commit is done.
        let Some(&(at, seq)) = self.due.iter().find(|&&(_, seq)| seq < durable) else {
            return Err(None);
        };
        if at > now {
            return Err(Some(at));
        }
        self.note_due(seq);
        self.due.remove(&(at, seq));
        self.due_of.remove(&seq);
        Ok(seq)
    }

    /// Keeps the schedule in step with the deliveries a write changed: an open head that is
    /// not being attempted is due at its `next_attempt_at`. This is what makes a redelivery
    /// of a delivery that is still retrying go now rather than at its old backoff time.
    fn reschedule(&mut self, changed: &HashSet<u64>) {
        for &seq in changed {
            let Some(d) = self.deliveries.get(&seq) else { continue };
            let Some(at) = d.next_attempt_at.filter(|_| d.is_open()) else { continue };
            let head = self.queues.get(d.session_id()).and_then(|q| q.front()) == Some(&seq);
            if head && !self.in_flight.contains(&seq) && self.due_of.get(&seq) != Some(&at) {
                self.schedule(seq, at);
            }
        }
    }

    /// Removes a finished head from its session queue and makes the next one due now.
    pub fn advance_queue(&mut self, session_id: &SessionId, seq: u64, real_now: Timestamp) {
        let mut next = None;
        self.note_queue(session_id);
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
    /// Before a business's webhook secret changes from `old`: its delivered deliveries that
    /// were signed with the current secret (`delivered_secret: None`) keep `old` from now on.
    pub fn pin_delivered_secrets(&mut self, business_id: &str, old: &WebhookSecret) {
        let Some(log) = self.delivery_log.get(business_id) else { return };
        let signed_with_current: Vec<u64> = log
            .iter()
            .copied()
            .filter(|seq| {
                self.deliveries
                    .get(seq)
                    .is_some_and(|d| d.status == DeliveryStatus::Delivered && d.delivered_secret.is_none())
            })
            .collect();
        for seq in signed_with_current {
            self.update_delivery(seq, |d| d.delivered_secret = Some(old.clone()));
        }
    }

    pub fn update_delivery<R>(&mut self, seq: u64, f: impl FnOnce(&mut Delivery) -> R) -> Option<R> {
        if !self.deliveries.contains_key(&seq) {
            return None;
        }
        self.note_delivery(seq);
        let d = Arc::make_mut(self.deliveries.get_mut(&seq)?);
        let r = f(d);
        self.dirty.deliveries.insert(seq);
        Some(r)
    }

    pub fn push_inbox(&mut self, business_id: &str, entry: InboxEntry) {
        let q = self.inbox.entry(business_id.to_owned()).or_default();
        let pushed_out = if q.len() >= INBOX_CAP { q.pop_front() } else { None };
        q.push_back(entry);
        if let Some(u) = &mut self.undo {
            u.inbox.push((business_id.to_owned(), pushed_out));
        }
    }

    // ---- the undo journal of a write ----

    fn note_business(&mut self, id: &str) {
        if let Some(u) = &mut self.undo {
            let businesses = &self.businesses;
            remember(&mut u.businesses, id.to_owned(), || businesses.get(id).cloned());
        }
    }

    fn note_key(&mut self, hash: &str) {
        if let Some(u) = &mut self.undo {
            let keys = &self.keys;
            remember(&mut u.keys, hash.to_owned(), || keys.get(hash).cloned());
        }
    }

    fn note_session(&mut self, id: &SessionId) {
        if let Some(u) = &mut self.undo {
            let (sessions, documents) = (&self.sessions, &self.documents);
            remember(&mut u.sessions, id.clone(), || sessions.get(id).cloned());
            remember(&mut u.documents, id.clone(), || documents.get(id).cloned());
        }
    }

    fn note_idempotency(&mut self, key: &(String, String)) {
        if let Some(u) = &mut self.undo {
            let idempotency = &self.idempotency;
            remember(&mut u.idempotency, key.clone(), || idempotency.get(key).cloned());
        }
    }

    fn note_delivery(&mut self, seq: u64) {
        if let Some(u) = &mut self.undo {
            let deliveries = &self.deliveries;
            remember(&mut u.deliveries, seq, || deliveries.get(&seq).cloned());
        }
    }

    fn note_queue(&mut self, session_id: &SessionId) {
        if let Some(u) = &mut self.undo {
            let queues = &self.queues;
            remember(&mut u.queues, session_id.clone(), || queues.get(session_id).cloned());
        }
    }

    fn note_due(&mut self, seq: u64) {
        if let Some(u) = &mut self.undo {
            let due_of = &self.due_of;
            remember(&mut u.due_of, seq, || due_of.get(&seq).copied());
        }
    }

    /// Puts back everything a write changed, as [`Undo`] recorded it before the change.
    // Only a database write can fail, so only a build with SQLite rolls back.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    fn rollback(&mut self, u: Undo) {
        for (id, before) in u.businesses {
            match before {
                Some(b) => self.businesses.insert(id, b),
                None => self.businesses.remove(&id),
            };
        }
        for (hash, before) in u.keys {
            match before {
                Some(id) => self.keys.insert(hash, id),
                None => self.keys.remove(&hash),
            };
        }
        for (id, before) in u.sessions {
            match before {
                Some(s) => {
                    if s.status.is_terminal() {
                        self.active.remove(&id);
                    } else {
                        self.active.insert(id.clone());
                    }
                    self.sessions.insert(id, s);
                }
                None => {
                    self.active.remove(&id);
                    self.sessions.remove(&id);
                }
            }
        }
        for (id, before) in u.documents {
            match before {
                Some(d) => self.documents.insert(id, d),
                None => self.documents.remove(&id),
            };
        }
        for (key, before) in u.idempotency {
            match before {
                Some(rec) => self.idempotency.insert(key, rec),
                None => self.idempotency.remove(&key),
            };
        }
        for (seq, before) in u.deliveries {
            match before {
                Some(d) => self.deliveries.insert(seq, d),
                None => self.deliveries.remove(&seq),
            };
        }
        for (id, before) in u.delivery_ids {
            match before {
                Some(seq) => self.delivery_ids.insert(id, seq),
                None => self.delivery_ids.remove(&id),
            };
        }
        for (business, len) in u.delivery_log {
            if let Some(log) = self.delivery_log.get_mut(&business) {
                log.truncate(len);
                if log.is_empty() {
                    self.delivery_log.remove(&business);
                }
            }
        }
        for (sid, before) in u.queues {
            match before {
                Some(q) => self.queues.insert(sid, q),
                None => self.queues.remove(&sid),
            };
        }
        for (seq, before) in u.due_of {
            if let Some(at) = self.due_of.remove(&seq) {
                self.due.remove(&(at, seq));
            }
            if let Some(at) = before {
                self.due_of.insert(seq, at);
                self.due.insert((at, seq));
            }
        }
        for (seq, was) in u.in_flight {
            self.set_in_flight(seq, was);
        }
        if let Some(n) = u.next_seq {
            self.next_seq = n;
        }
        if let Some(f) = u.faults {
            self.faults = f;
        }
        for (business, pushed_out) in u.inbox.into_iter().rev() {
            if let Some(q) = self.inbox.get_mut(&business) {
                q.pop_back();
                if let Some(e) = pushed_out {
                    q.push_front(e);
                }
                if q.is_empty() {
                    self.inbox.remove(&business);
                }
            }
        }
        self.dirty = Dirty::default();
        self.unstored = Dirty::default();
    }
}

/// What a write's group commit tells it: stored (with the write's undo journal, handed back so
/// that the writer's thread drops it, not the committer's), or the commit's error.
type Outcome = Result<Undo, Arc<StoreError>>;

/// A write applied to memory that waits for its group commit: what to undo if the commit fails,
/// and whom to tell.
#[cfg(feature = "sqlite")]
struct Waiting {
    undo: Undo,
    done: futures::channel::oneshot::Sender<Outcome>,
}

struct Inner {
    state: State,
    /// With a database: the writes applied since the last group commit took its rows, and the
    /// ones in that commit, in the order they were applied.
    #[cfg(feature = "sqlite")]
    waiting: VecDeque<Waiting>,
    /// The committer stops once nothing waits.
    #[cfg(feature = "sqlite")]
    closing: bool,
}

/// A write's group commit: wait for it before answering or releasing what the write produced.
#[must_use = "a write is stored only once its commit is done"]
pub(crate) struct Commit(Option<futures::channel::oneshot::Receiver<Outcome>>);

impl Commit {
    /// Waits for the commit.
    pub async fn done(self) -> Result<(), StoreError> {
        let Some(rx) = self.0 else { return Ok(()) };
        match rx.await {
            // A stored write's undo journal is dropped here, on the writer's thread.
            Ok(Ok(_spent)) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Commit(e)),
            // The committer is gone (the store is shutting down): nothing was stored.
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// Waits for the commit, blocking the thread (for synchronous callers; the commit runs on
    /// its own thread, so this never waits on the caller's runtime).
    pub fn wait(self) -> Result<(), StoreError> {
        match self.0 {
            None => Ok(()),
            Some(_) => block_on(self.done()),
        }
    }
}

/// Runs a future to completion on this thread, parking it while the future waits. For the
/// synchronous entry points (the typed control API, the fuzz harness): what they wait for is the
/// committer thread, never the caller's runtime. Unlike `futures::executor::block_on` it may be
/// nested.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// The state behind its lock and, with a database, the thread that stores it.
///
/// A write changes memory under the lock, and with a database joins the queue of writes waiting
/// for the next group commit; its caller answers only once that commit is done. The committer
/// thread takes the entries of every waiting write in one go (under the lock, so they are one
/// consistent moment; sessions and deliveries are shared, not copied, and a later write changes
/// its own copy), encodes and writes them in one transaction without the lock, and tells each
/// writer.
/// If the transaction fails, every waiting write is undone in memory, newest first, and each
/// writer gets the error (docs/DECISIONS.md §11). Deliveries made by writes not yet committed
/// are not attempted (`State::pop_due`), and a write made while others wait joins them, so no
/// write answers from a change that is not stored yet.
pub(crate) struct Store {
    inner: Arc<Mutex<Inner>>,
    /// Wakes the committer.
    #[cfg(feature = "sqlite")]
    work: Arc<parking_lot::Condvar>,
    #[cfg(feature = "sqlite")]
    committer: Option<std::thread::JoinHandle<()>>,
    #[cfg(all(test, feature = "sqlite"))]
    db: Option<Arc<Mutex<sqlite::Db>>>,
    /// Bumped after every write that changed sessions, businesses or deliveries, once it is
    /// stored (the typed waits of the public handle wake on it).
    changed: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Store {
    /// An in-memory store.
    pub fn memory() -> Store {
        Store {
            inner: Arc::new(Mutex::new(Inner {
                state: State::default(),
                #[cfg(feature = "sqlite")]
                waiting: VecDeque::new(),
                #[cfg(feature = "sqlite")]
                closing: false,
            })),
            #[cfg(feature = "sqlite")]
            work: Default::default(),
            #[cfg(feature = "sqlite")]
            committer: None,
            #[cfg(all(test, feature = "sqlite"))]
            db: None,
            changed: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }

    /// A store backed by a SQLite file: migrates it, loads what it holds and starts its committer.
    #[cfg(feature = "sqlite")]
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = sqlite::Db::open(path)?;
        let mut state = db.load()?;
        state.dirty = Dirty::default();
        state.durable_seq = Some(state.next_seq);
        let mut store = Store::memory();
        store.inner.lock().state = state;
        let db = Arc::new(Mutex::new(db));
        #[cfg(test)]
        {
            store.db = Some(db.clone());
        }
        let (inner, work, changed) = (store.inner.clone(), store.work.clone(), store.changed.clone());
        let committer = std::thread::Builder::new()
            .name("uip-sandbox-commit".to_owned())
            .spawn(move || commit_loop(&inner, &work, &db, &changed))
            .map_err(StoreError::Thread)?;
        store.committer = Some(committer);
        Ok(store)
    }

    /// Wakes after every write that changed something, once it is stored.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Test hook: makes the database file behave as on a full disk (`full`), or frees space again.
    /// An in-memory store ignores it.
    #[cfg(all(test, feature = "sqlite"))]
    pub fn set_full(&self, full: bool) -> Result<(), StoreError> {
        match &self.db {
            Some(db) => db.lock().set_full(full),
            None => Ok(()),
        }
    }

    /// Test hook: no group commit is stored until the returned guard drops, as behind a disk that
    /// stalls; writes apply in memory and wait meanwhile.
    ///
    /// # Panics
    /// On an in-memory store.
    #[cfg(all(test, feature = "sqlite"))]
    pub fn hold_commits(&self) -> impl Sized + '_ {
        self.db.as_ref().expect("a store with a database").lock()
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

    /// Runs a mutating closure under the lock and waits, blocking its thread, for its group
    /// commit. If the commit fails, the error is returned and the change is undone in memory
    /// too — every entry the closure touched is put back as it was, so nothing of it is stored
    /// later and memory stays what the database holds (docs/DECISIONS.md §11).
    ///
    /// Only for synchronous callers: start-up seeding and tests. Async code awaits
    /// [`Store::write_async`] (a blocked runtime worker stops serving every other request until
    /// the commit), or uses [`Store::write_in_memory`] for what is never stored.
    pub fn write_blocking<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, StoreError> {
        let (r, commit) = self.apply(f);
        commit.wait()?;
        Ok(r)
    }

    /// [`Store::write_blocking`] for async callers: waits for the group commit without blocking,
    /// so the runtime goes on applying other writes that join the next commit.
    pub async fn write_async<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, StoreError> {
        let (r, commit) = self.apply(f);
        commit.done().await?;
        Ok(r)
    }

    /// Runs a mutating closure on what lives in memory only (armed faults, the sandbox's own
    /// inbox). It declares [`State::reads_stored`] and must change nothing that is stored, so it
    /// never waits for a group commit and cannot fail: async code calls it directly.
    pub fn write_in_memory<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (r, commit) = self.apply(|st| {
            st.reads_stored();
            f(st)
        });
        debug_assert!(commit.0.is_none(), "an in-memory write changed what is stored");
        r
    }

    /// Runs a mutating closure under the lock; the returned [`Commit`] is done once the change
    /// is stored.
    pub fn apply<R>(&self, f: impl FnOnce(&mut State) -> R) -> (R, Commit) {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        // Only a store with a database numbers its durable deliveries.
        let has_db = inner.state.durable_seq.is_some();
        // Only a database write can fail: an in-memory store keeps no journal.
        inner.state.undo = has_db.then(Undo::default);
        inner.state.reads_stored = false;
        let r = f(&mut inner.state);
        if !inner.state.dirty.deliveries.is_empty() {
            let changed = std::mem::take(&mut inner.state.dirty.deliveries);
            inner.state.reschedule(&changed);
            inner.state.dirty.deliveries = changed;
        }
        let undo = inner.state.undo.take();
        // This write's own changes join what waits for the next commit.
        let mine = std::mem::take(&mut inner.state.dirty);
        let changed = !mine.is_empty();
        #[cfg(feature = "sqlite")]
        if has_db {
            inner.state.unstored.merge(mine);
            // Nothing to store, and nothing waiting or nothing read that waits: done. Otherwise
            // wait for the next commit, even with nothing of its own, since it may have read
            // what waits.
            if !changed && (inner.waiting.is_empty() || inner.state.reads_stored) {
                return (r, Commit(None));
            }
            let (done, rx) = futures::channel::oneshot::channel();
            inner.waiting.push_back(Waiting { undo: undo.unwrap_or_default(), done });
            drop(guard);
            self.work.notify_one();
            return (r, Commit(Some(rx)));
        }
        // Without a database the change lives in memory only.
        drop((mine, undo, guard));
        if changed {
            self.changed.send_modify(|n| *n = n.wrapping_add(1));
        }
        (r, Commit(None))
    }
}

/// The committer thread: one transaction for every write waiting, until the store closes.
///
/// Each round takes the lock once: it finishes the commit just stored, takes the next one's
/// entries, and releases the lock to tell the finished commit's writers and to store the next
/// commit. The writers get their undo journals back and drop them on their own threads.
#[cfg(feature = "sqlite")]
fn commit_loop(
    inner: &Mutex<Inner>,
    work: &parking_lot::Condvar,
    db: &Mutex<sqlite::Db>,
    changed: &tokio::sync::watch::Sender<u64>,
) {
    let mut guard = inner.lock();
    // The writers of the commit just finished, told once the lock is released.
    let mut finished = Finished::default();
    loop {
        if guard.waiting.is_empty() {
            if !finished.is_empty() {
                parking_lot::MutexGuard::unlocked(&mut guard, || finished.tell(changed));
                continue;
            }
            if guard.closing {
                return;
            }
            work.wait(&mut guard);
            continue;
        }
        let dirty = std::mem::take(&mut guard.state.unstored);
        let batch = guard.waiting.len();
        let next_seq = guard.state.next_seq;
        // Under the lock only the entries are taken (sessions and deliveries shared, not
        // copied); they are encoded and written without it.
        let entries = sqlite::snapshot(&guard.state, &dirty);
        guard.state.committing = Committing { sessions: dirty.sessions, businesses: dirty.businesses };
        let stored = parking_lot::MutexGuard::unlocked(&mut guard, || {
            finished.tell(changed);
            // Writes that changed nothing waited only for the commits before theirs, which
            // are done: they need no transaction of their own.
            let stored = if entries.is_empty() { Ok(()) } else { db.lock().store(&entries) };
            drop(entries);
            stored
        });
        guard.state.committing = Committing::default();
        match stored {
            Ok(()) => {
                guard.state.durable_seq = Some(next_seq);
                finished.stored.extend(guard.waiting.drain(..batch));
            }
            Err(e) => {
                // Undo every write that waits, the ones applied after the rows were taken
                // included (they may build on the failed ones), newest first.
                let e = Arc::new(e);
                let all: Vec<Waiting> = guard.waiting.drain(..).collect();
                for w in all.into_iter().rev() {
                    guard.state.rollback(w.undo);
                    finished.failed.push((w.done, e.clone()));
                }
            }
        }
    }
}

/// The writers of a finished group commit, to be told without the lock.
#[cfg(feature = "sqlite")]
#[derive(Default)]
struct Finished {
    /// Stored: each gets its undo journal back, to drop on its own thread.
    stored: Vec<Waiting>,
    /// Undone in memory: each gets the commit's error.
    failed: Vec<(futures::channel::oneshot::Sender<Outcome>, Arc<StoreError>)>,
}

#[cfg(feature = "sqlite")]
impl Finished {
    fn is_empty(&self) -> bool {
        self.stored.is_empty() && self.failed.is_empty()
    }

    /// Tells each writer its outcome, then whoever waits for a change ([`Store::subscribe`]).
    fn tell(&mut self, changed: &tokio::sync::watch::Sender<u64>) {
        if self.is_empty() {
            return;
        }
        for w in self.stored.drain(..) {
            // A writer that stopped waiting drops its journal here instead.
            let _ = w.done.send(Ok(w.undo));
        }
        for (done, e) in self.failed.drain(..) {
            let _ = done.send(Err(e));
        }
        changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[cfg(feature = "sqlite")]
impl Drop for Store {
    /// Stores what still waits, then stops the committer (the database file is closed when it
    /// returns).
    fn drop(&mut self) {
        self.inner.lock().closing = true;
        self.work.notify_one();
        if let Some(committer) = self.committer.take() {
            let _ = committer.join();
        }
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    //! A write whose flush fails leaves no trace (docs/DECISIONS.md §11): memory is put back as it
    //! was, nothing of it is written later, and the store goes on working once there is space.

    use std::fmt::Debug;

    use uip_types::sandbox::Trust;
    use uip_types::{EventContext, SessionEnded, SessionStatus};

    use super::*;

    fn business(id: &str, key_hash: &str) -> Business {
        Business {
            id: id.to_owned(),
            name: format!("business {id}"),
            api_key_hash: key_hash.to_owned(),
            webhook_secret: "uip_whsec_test".into(),
            webhook_url: Some("http://127.0.0.1:9/hook".to_owned()),
            follows_inbox: false,
            balance_cents: 1000,
            trust: Trust::Demo,
            clock_offset_s: 0,
        }
    }

    fn expired(session: &str) -> WebhookEvent {
        WebhookEvent::SessionExpired(
            SessionEnded::new(EventContext::new(session), SessionStatus::Expired).with_reason("session_ttl"),
        )
    }

    fn sorted<K: Debug, V: Debug>(m: &HashMap<K, V>) -> Vec<String> {
        let mut v: Vec<String> = m.iter().map(|(k, v)| format!("{k:?} => {v:?}")).collect();
        v.sort();
        v
    }

    fn sorted_set<K: Debug>(s: &HashSet<K>) -> Vec<String> {
        let mut v: Vec<String> = s.iter().map(|k| format!("{k:?}")).collect();
        v.sort();
        v
    }

    /// What is kept in the database, as text that compares.
    fn persisted(st: &State) -> Vec<Vec<String>> {
        vec![
            sorted(&st.businesses),
            sorted(&st.keys),
            sorted(&st.idempotency),
            sorted(&st.deliveries),
            sorted(&st.delivery_ids),
            sorted(&st.delivery_log),
            sorted(&st.queues),
            vec![st.next_seq.to_string()],
        ]
    }

    /// Everything, memory-only parts included.
    fn everything(st: &State) -> Vec<Vec<String>> {
        let mut all = persisted(st);
        all.push(sorted(&st.due_of));
        all.push(st.due.iter().map(|e| format!("{e:?}")).collect());
        all.push(sorted_set(&st.in_flight));
        all.push(sorted(&st.faults));
        all.push(sorted(&st.inbox));
        all
    }

    fn inbox_entry(n: usize) -> InboxEntry {
        InboxEntry::new(format!("dlv_{n}"), "session.expired", true, crate::clock::real_now(), "{}")
    }

    /// One write touching every kind of entry: it makes the database grow.
    fn big_change(st: &mut State, n: usize) {
        let now = crate::clock::real_now();
        st.update_business("biz_1", |b| {
            b.balance_cents -= 1;
            b.api_key_hash = format!("key-{n}");
        });
        st.insert_business(business(&format!("biz_n{n}"), &format!("other-key-{n}")));
        st.put_idempotency(
            ("biz_1".to_owned(), format!("idem-{n}")),
            IdempotencyRecord { fingerprint: "f".repeat(64), response: "r".repeat(3000), created_at: now },
        );
        st.remove_idempotency(&("biz_1".to_owned(), "idem-first".to_owned()));
        // The second event queues behind the first (its session's open head).
        let session = format!("ses_{n}");
        let stopped = match expired(&session) {
            WebhookEvent::SessionExpired(mut e) => {
                e.status = SessionStatus::Stopped;
                WebhookEvent::SessionStopped(e)
            }
            other => other,
        };
        st.emit("biz_1", vec![expired(&session), stopped], now);
        if let Ok(seq) = st.pop_due(now) {
            st.set_in_flight(seq, true);
        }
        st.push_inbox("biz_1", inbox_entry(n));
        st.faults_mut().insert(format!("biz_n{n}"), FaultPlan::new(1).with_fault(serde_json::json!({})));
    }

    #[test]
    fn a_failed_write_is_undone_in_memory_and_never_stored_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = Store::open(&path).unwrap();
        let now = crate::clock::real_now();
        store
            .write_blocking(|st| {
                st.insert_business(business("biz_1", "key-first"));
                st.put_idempotency(
                    ("biz_1".to_owned(), "idem-first".to_owned()),
                    IdempotencyRecord { fingerprint: "f".into(), response: "{}".into(), created_at: now },
                );
                st.emit("biz_1", vec![expired("ses_first")], now);
            })
            .unwrap();
        store.set_full(true).unwrap();

        // Writes that fit in the pages the file has succeed; the first that does not fails.
        let mut failed = None;
        for n in 0..500 {
            let before = store.read(everything);
            match store.write_blocking(|st| big_change(st, n)) {
                Ok(()) => assert_ne!(store.read(everything), before, "write {n} changed nothing"),
                Err(e) => {
                    assert_eq!(store.read(everything), before, "write {n} was not undone");
                    failed = Some((n, e));
                    break;
                }
            }
        }
        let (n, e) = failed.expect("a write failed once the file was full");
        match &e {
            StoreError::Commit(e) if matches!(**e, StoreError::Sqlite(_)) => {
                let StoreError::Sqlite(e) = &**e else { unreachable!() };
                assert_eq!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DiskFull), "{e}")
            }
            other => panic!("not SQLITE_FULL: {other}"),
        }
        store.read(|st| {
            assert!(st.business(&format!("biz_n{n}")).is_none());
            assert!(st.business_by_key(&format!("key-{n}")).is_none());
            assert!(st.idempotency(&("biz_1".to_owned(), format!("idem-{n}"))).is_none());
            assert!(st.delivery_seq(&expired(&format!("ses_{n}")).delivery_id()).is_none());
        });
        // A write with nothing to store still works on the full file.
        store.write_blocking(|st| st.push_inbox("biz_1", inbox_entry(9999))).unwrap();
        assert_eq!(store.read(|st| st.inbox("biz_1").count()), n + 1);

        // Space freed: the next write stores only its own change, not the failed one.
        store.set_full(false).unwrap();
        store.write_blocking(|st| st.insert_business(business("biz_after", "key-after"))).unwrap();
        let in_memory = store.read(persisted);
        drop(store);
        let reopened = Store::open(&path).unwrap();
        assert_eq!(reopened.read(persisted), in_memory, "the file holds what memory held");
        reopened.read(|st| {
            assert!(st.business("biz_after").is_some());
            assert!(st.business(&format!("biz_n{n}")).is_none(), "the failed write was stored");
            assert!(st.idempotency(&("biz_1".to_owned(), format!("idem-{n}"))).is_none());
        });
    }

    /// Waits (bounded) until `cond` holds on the state.
    fn until(store: &Store, cond: impl Fn(&State) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !store.read(&cond) {
            assert!(std::time::Instant::now() < deadline, "condition not met in 10 s");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn is_disk_full(e: &StoreError) -> bool {
        match e {
            StoreError::Commit(e) => matches!(&**e, StoreError::Sqlite(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)),
            _ => false,
        }
    }

    #[test]
    fn a_failed_group_commit_undoes_every_write_waiting_for_it_and_releases_no_event() {
        // Arrange: a stored business, a file that cannot grow, and the committer held at the
        // database so that writes queue behind the first one.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = Store::open(&path).unwrap();
        store.write_blocking(|st| st.insert_business(business("biz_1", "key-1"))).unwrap();
        store.set_full(true).unwrap();
        let before = store.read(everything);
        let now = crate::clock::real_now();
        let held = store.hold_commits();

        // Act: the first write is taken into a commit (its rows need pages the file cannot get);
        // a second builds on it after its rows were taken; a third only looks for due events.
        let (_, first) = store.apply(|st| {
            st.put_idempotency(
                ("biz_1".to_owned(), "big".to_owned()),
                IdempotencyRecord { fingerprint: "f".into(), response: "r".repeat(200_000), created_at: now },
            )
        });
        until(&store, |st| st.unstored.is_empty());
        let (_, second) = store.apply(|st| {
            st.update_business("biz_1", |b| b.balance_cents = 1);
            st.emit("biz_1", vec![expired("ses_1")], now);
        });
        let (popped, third) = store.apply(|st| st.pop_due(now + chrono::TimeDelta::hours(1)));
        let waiting_read = store.apply(|st| {
            if st.is_stored("ses_1", "biz_1") {
                st.reads_stored();
            }
        });
        drop(held);

        // Assert: the event of a write not yet stored was not handed out; every write that
        // waited fails with the database's error; memory is as before them all.
        assert_eq!(popped, Err(None), "an event of an uncommitted write was released");
        assert!(waiting_read.1 .0.is_some(), "a read of a business with a change waiting did not wait");
        for (name, commit) in
            [("first", first), ("second", second), ("third", third), ("read", waiting_read.1)]
        {
            let e = commit.wait().expect_err(name);
            assert!(is_disk_full(&e), "{name}: {e}");
        }
        assert_eq!(store.read(everything), before, "the failed writes were not undone");

        // Space again: the next write stores only itself, and its event is handed out once stored.
        store.set_full(false).unwrap();
        store.write_blocking(|st| st.emit("biz_1", vec![expired("ses_2")], now)).unwrap();
        let seq = store.write_blocking(|st| st.pop_due(now)).unwrap().expect("the stored event is due");
        assert_eq!(
            store.read(|st| st.delivery(seq).map(|d| d.delivery_id.clone())),
            Some(expired("ses_2").delivery_id().into())
        );
        let in_memory = store.read(persisted);
        drop(store);
        let reopened = Store::open(&path).unwrap();
        assert_eq!(reopened.read(persisted), in_memory, "the file holds what memory held");
        reopened.read(|st| {
            assert!(st.idempotency(&("biz_1".to_owned(), "big".to_owned())).is_none());
            assert_eq!(st.business("biz_1").map(|b| b.balance_cents), Some(1000));
            assert!(st.delivery_seq(&expired("ses_1").delivery_id()).is_none());
        });
    }

    #[test]
    fn a_read_of_stored_entries_answers_without_waiting_for_other_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store.db")).unwrap();
        store.write_blocking(|st| st.insert_business(business("biz_2", "key-2"))).unwrap();
        let held = store.hold_commits();
        let (_, pending) = store.apply(|st| st.insert_business(business("biz_1", "key-1")));

        let (_, other) = store.apply(|st| {
            if st.is_stored("ses_9", "biz_2") {
                st.reads_stored();
            }
        });
        let (_, undeclared) = store.apply(|st| st.business("biz_2").is_some());

        assert!(other.0.is_none(), "a read of stored entries waited for another business's commit");
        assert!(undeclared.0.is_some(), "a write that read anything did not wait for the commit under way");
        drop(held);
        pending.wait().unwrap();
        undeclared.wait().unwrap();
    }

    /// The session rows each group commit wrote, in commit order.
    fn session_rows(db: &Mutex<sqlite::Db>) -> Vec<Vec<String>> {
        let db = db.lock();
        let of = |commit: &Vec<sqlite::Written>| {
            commit.iter().filter(|(table, _)| *table == "sessions").map(|(_, json)| json.clone()).collect()
        };
        db.written().iter().map(of).collect()
    }

    #[test]
    fn a_write_made_while_a_commit_encodes_without_the_lock_is_neither_lost_nor_stored_torn() {
        // Arrange: a stored session (as the sandbox writes one, audits included), and the
        // committer held at the database, where it encodes and writes without the state's lock.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = Store::open(&path).unwrap();
        let session: Session =
            serde_json::from_str(include_str!("testdata/session_row.json").trim_ascii_end()).unwrap();
        let (sid, bid) = (session.id.to_string(), session.business_id.clone());
        store
            .write_blocking(|st| {
                st.insert_business(business(&bid, "key-1"));
                st.insert_session(session, Vec::new());
            })
            .unwrap();
        let db = store.db.clone().unwrap();
        db.lock().keep_written();
        let held = store.hold_commits();
        let row = |st: &State| serde_json::to_string(st.session(&sid).unwrap()).unwrap();

        // Act: a first change is taken into a commit; a second changes the same session (and
        // the business and an event) while that commit still holds what it took.
        let (first_row, first) = store.apply(|st| {
            st.update_session(&sid, |s| s.client_reference_id = Some("first".to_owned()));
            row(st)
        });
        until(&store, |st| st.unstored.is_empty() && !st.committing.sessions.is_empty());
        let (second_row, second) = store.apply(|st| {
            st.update_session(&sid, |s| {
                s.client_reference_id = Some("second".to_owned());
                s.metadata = None;
            });
            st.update_business(&bid, |b| b.balance_cents = 7);
            st.emit(&bid, vec![expired(&sid)], crate::clock::real_now());
            row(st)
        });
        drop(held);
        first.wait().unwrap();
        second.wait().unwrap();

        // Assert: the first commit stored the session exactly as the first write left it, the
        // second as the second did; the file holds the second.
        assert_ne!(first_row, second_row);
        assert_eq!(session_rows(&db), [vec![first_row], vec![second_row.clone()]]);
        let in_memory = store.read(persisted);
        drop(store);
        let reopened = Store::open(&path).unwrap();
        assert_eq!(reopened.read(persisted), in_memory, "the file holds what memory held");
        assert_eq!(reopened.read(row), second_row);
        assert_eq!(reopened.read(|st| st.business(&bid).map(|b| b.balance_cents)), Some(7));
        assert!(reopened.read(|st| st.delivery_seq(&expired(&sid).delivery_id()).is_some()));
    }

    #[test]
    fn a_write_that_changed_nothing_waits_for_the_commit_under_way_but_needs_no_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store.db")).unwrap();
        let db = store.db.clone().unwrap();
        db.lock().keep_written();
        let held = store.hold_commits();
        let (_, pending) = store.apply(|st| st.insert_business(business("biz_1", "key-1")));
        until(&store, |st| st.unstored.is_empty() && !st.committing.businesses.is_empty());

        // It read what the commit under way stores, so it waits for that commit.
        let (seen, reader) = store.apply(|st| st.business("biz_1").is_some());
        assert!(seen && reader.0.is_some(), "a write that read what is being stored did not wait");
        drop(held);
        pending.wait().unwrap();
        reader.wait().unwrap();

        // One transaction: the business's. The reader's batch stored nothing.
        let tables: Vec<Vec<&str>> =
            db.lock().written().iter().map(|c| c.iter().map(|(t, _)| *t).collect()).collect();
        assert_eq!(tables, [vec!["businesses"]]);
    }

    #[test]
    fn the_checkpoint_thread_copies_the_wal_into_the_file_while_commits_go_on() {
        // Arrange: a store; its commits checkpoint only past 10 000 WAL pages.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = Store::open(&path).unwrap();
        let file_len = || std::fs::metadata(&path).unwrap().len();
        let before = file_len();

        // Act: 1000 commits, one business each: a few thousand WAL pages, under the 10 000.
        for i in 0..1000 {
            store
                .write_blocking(|st| st.insert_business(business(&format!("biz_{i}"), &format!("key-{i}"))))
                .unwrap();
        }

        // Assert: the pages reach the database file without a commit's checkpoint (the file
        // grows only when the WAL is copied into it), and closing leaves no WAL.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while file_len() < before + (64 << 10) {
            assert!(std::time::Instant::now() < deadline, "the WAL was never copied into the file");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        drop(store);
        assert!(
            !dir.path().join("store.db-wal").exists(),
            "closing the store checkpoints the WAL and removes it"
        );
        let reopened = Store::open(&path).unwrap();
        let count =
            reopened.read(|st| (0..1000).filter(|i| st.business(&format!("biz_{i}")).is_some()).count());
        assert_eq!(count, 1000);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_are_all_stored_once_answered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = Arc::new(Store::open(&path).unwrap());
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..200 {
            let store = store.clone();
            tasks.spawn(async move {
                store
                    .write_async(|st| st.insert_business(business(&format!("biz_{n}"), &format!("key-{n}"))))
                    .await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap();
        }
        let in_memory = store.read(persisted);
        drop(std::sync::Arc::into_inner(store).expect("no other owner"));
        let reopened = Store::open(&path).unwrap();
        assert_eq!(reopened.read(|st| st.businesses().count()), 200);
        assert_eq!(reopened.read(persisted), in_memory);
    }
}
