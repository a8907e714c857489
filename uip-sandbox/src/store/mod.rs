//! The store: all state in memory behind one lock, written through to SQLite (when a database
//! file is configured) in one transaction per state change — the session, its audits and the
//! events it produced (the outbox) land together or not at all.

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
    #[cfg(feature = "sqlite")]
    #[error("migration: {0}")]
    Migration(String),
    /// The file is neither empty nor a sandbox database; it was left untouched.
    #[cfg(feature = "sqlite")]
    #[error("not a uip-sandbox database: {0}; it was left untouched (choose another database file)")]
    NotSandbox(String),
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

/// What a write changed, as it was before (the first time each entry was touched): a write whose
/// flush fails is undone from it, so memory stays what the database holds (docs/DECISIONS.md §11).
/// Kept only while a write runs on a store with a database.
#[derive(Default)]
struct Undo {
    businesses: HashMap<String, Option<Business>>,
    /// API key hash → business id, as it was.
    keys: HashMap<String, Option<String>>,
    sessions: HashMap<SessionId, Option<Box<Session>>>,
    documents: HashMap<SessionId, Option<Vec<Option<Bytes>>>>,
    idempotency: HashMap<(String, String), Option<IdempotencyRecord>>,
    deliveries: HashMap<u64, Option<Box<Delivery>>>,
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
    /// Boxed, as are deliveries: a map's buckets are sized for the value and kept partly empty,
    /// so a pointer per bucket costs less than the value itself (BENCHMARKS.md, memory).
    sessions: HashMap<SessionId, Box<Session>>,
    /// Document bytes per session (None once purged).
    documents: HashMap<SessionId, Vec<Option<Bytes>>>,
    /// Non-terminal sessions (what the expiry sweep looks at).
    active: HashSet<SessionId>,
    idempotency: HashMap<(String, String), IdempotencyRecord>,
    deliveries: HashMap<u64, Box<Delivery>>,
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
    dirty: Dirty,
    /// Set while a write runs on a store with a database (see [`Undo`]).
    undo: Option<Undo>,
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
        self.sessions.insert(s.id.clone(), Box::new(s));
    }

    /// Changes a session; it is always marked for saving, the document bytes it no longer
    /// needs are dropped and the active set is kept right. `None` when unknown.
    pub fn update_session<R>(&mut self, id: &str, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        let sid = self.sessions.get(id)?.id.clone();
        self.note_session(&sid);
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
            self.deliveries.insert(seq, Box::new(d));
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
        match self.due.first() {
            Some(&(at, _)) if at > now => Err(Some(at)),
            Some(_) => {
                let (_, seq) = self.due.first().copied().ok_or(None)?;
                self.note_due(seq);
                self.due.pop_first();
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
        for seq in log {
            let Some(d) = self.deliveries.get_mut(seq) else { continue };
            if d.status == DeliveryStatus::Delivered && d.delivered_secret.is_none() {
                d.delivered_secret = Some(old.clone());
                self.dirty.deliveries.insert(*seq);
            }
        }
    }

    pub fn update_delivery<R>(&mut self, seq: u64, f: impl FnOnce(&mut Delivery) -> R) -> Option<R> {
        if !self.deliveries.contains_key(&seq) {
            return None;
        }
        self.note_delivery(seq);
        let d = self.deliveries.get_mut(&seq)?;
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

impl Inner {
    fn has_db(&self) -> bool {
        #[cfg(feature = "sqlite")]
        return self.db.is_some();
        #[cfg(not(feature = "sqlite"))]
        false
    }
}

/// The state behind its lock, with its optional database.
pub(crate) struct Store {
    inner: Mutex<Inner>,
    /// Bumped after every write that changed sessions, businesses or deliveries (the typed
    /// waits of the public handle wake on it).
    changed: tokio::sync::watch::Sender<u64>,
}

impl Store {
    /// An in-memory store.
    pub fn memory() -> Store {
        Store::with(Inner {
            state: State::default(),
            #[cfg(feature = "sqlite")]
            db: None,
        })
    }

    /// A store backed by a SQLite file: migrates it and loads what it holds.
    #[cfg(feature = "sqlite")]
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = sqlite::Db::open(path)?;
        let mut state = db.load()?;
        state.dirty = Dirty::default();
        Ok(Store::with(Inner { state, db: Some(db) }))
    }

    fn with(inner: Inner) -> Store {
        Store { inner: Mutex::new(inner), changed: tokio::sync::watch::channel(0).0 }
    }

    /// Wakes after every write that changed something.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Test hook: makes the database file behave as on a full disk (`full`), or frees space again.
    /// An in-memory store ignores it.
    #[cfg(all(test, feature = "sqlite"))]
    pub fn set_full(&self, full: bool) -> Result<(), StoreError> {
        match &self.inner.lock().db {
            Some(db) => db.set_full(full),
            None => Ok(()),
        }
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
    /// If the write fails, the error is returned and the change is undone in memory too — every
    /// entry the closure touched is put back as it was, so nothing of it is stored later and
    /// memory stays what the database holds (docs/DECISIONS.md §11).
    pub fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, StoreError> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        // Only a database write can fail: an in-memory store keeps no journal.
        inner.state.undo = inner.has_db().then(Undo::default);
        let r = f(&mut inner.state);
        if !inner.state.dirty.deliveries.is_empty() {
            let changed = std::mem::take(&mut inner.state.dirty.deliveries);
            inner.state.reschedule(&changed);
            inner.state.dirty.deliveries = changed;
        }
        let undo = inner.state.undo.take();
        let changed = inner.state.is_dirty();
        if changed {
            let dirty = std::mem::take(&mut inner.state.dirty);
            #[cfg(feature = "sqlite")]
            if let Some(db) = &mut inner.db {
                if let Err(e) = db.flush(&inner.state, &dirty) {
                    if let Some(undo) = undo {
                        inner.state.rollback(undo);
                    }
                    return Err(e);
                }
            }
            // Without a database the change lives in memory only.
            #[cfg(not(feature = "sqlite"))]
            drop((dirty, undo));
        }
        drop(guard);
        if changed {
            self.changed.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(r)
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
            .write(|st| {
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
            match store.write(|st| big_change(st, n)) {
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
            StoreError::Sqlite(e) => {
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
        store.write(|st| st.push_inbox("biz_1", inbox_entry(9999))).unwrap();
        assert_eq!(store.read(|st| st.inbox("biz_1").count()), n + 1);

        // Space freed: the next write stores only its own change, not the failed one.
        store.set_full(false).unwrap();
        store.write(|st| st.insert_business(business("biz_after", "key-after"))).unwrap();
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
}
