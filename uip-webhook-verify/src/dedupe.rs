//! [`Deduper`]: turns at-least-once deliveries into effectively-once handling.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Remembers recently seen delivery ids, in bounded memory, so a retried delivery can be
/// recognised and skipped.
///
/// UIP delivers at least once: a delivery is retried (same `X-UIP-Delivery-Id`, same body)
/// until the receiver answers 2xx, for up to 72 hours. Call [`insert`](Deduper::insert) with the
/// delivery id after verifying; handle the event only when it returns `true`. If handling then
/// fails, call [`forget`](Deduper::forget) and answer non-2xx, so the retry is handled.
///
/// At most `capacity` ids are kept (the oldest go first), and an id older than `max_age` counts
/// as unseen. It is thread-safe (a `Mutex` inside); share it with an `Arc` or a `static`.
/// The memory is per process: a receiver running several instances needs a shared store
/// (a database unique key) for the same guarantee.
///
/// ```
/// use std::time::Duration;
/// use uip_webhook_verify::Deduper;
///
/// let seen = Deduper::new(10_000, Duration::from_secs(72 * 3600));
/// assert!(seen.insert("sess_a:step.completed:0"));  // first time: handle it
/// assert!(!seen.insert("sess_a:step.completed:0")); // a retry: already handled
/// assert!(seen.insert("sess_a:step.completed:1"));
/// ```
pub struct Deduper {
    inner: Mutex<Inner>,
    capacity: usize,
    max_age: Duration,
}

#[derive(Default)]
struct Inner {
    /// Live ids and when they were first seen.
    seen: HashMap<Arc<str>, Instant>,
    /// Every insertion, oldest first; entries whose id was since forgotten or re-inserted are
    /// stale and only skipped when they reach the front. Never longer than `capacity`.
    order: VecDeque<(Arc<str>, Instant)>,
}

impl Inner {
    fn pop_front(&mut self) {
        if let Some((id, at)) = self.order.pop_front() {
            if self.seen.get(&id) == Some(&at) {
                self.seen.remove(&id);
            }
        }
    }
}

impl Deduper {
    /// Keeps up to 10 000 ids for 73 hours (the sandbox's retry horizon plus an hour).
    pub const DEFAULT_CAPACITY: usize = 10_000;
    /// See [`Deduper::DEFAULT_CAPACITY`].
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(73 * 3600);

    /// A deduper holding at most `capacity` ids, each for at most `max_age`.
    ///
    /// With a capacity of 0 nothing is remembered and every id is new.
    ///
    /// ```
    /// use std::time::Duration;
    /// let seen = uip_webhook_verify::Deduper::new(2, Duration::from_secs(60));
    /// assert_eq!(seen.capacity(), 2);
    /// assert_eq!(seen.max_age(), Duration::from_secs(60));
    /// ```
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Deduper { inner: Mutex::new(Inner::default()), capacity, max_age }
    }

    /// Records `delivery_id` as seen now. Returns `true` when it was not already seen within
    /// `max_age` (handle the delivery), `false` for a duplicate (acknowledge and skip it), like
    /// `HashSet::insert`. A duplicate does not refresh the id's age.
    ///
    /// ```
    /// let seen = uip_webhook_verify::Deduper::default();
    /// assert!(seen.insert("sess_a:session.completed"));
    /// assert!(!seen.insert("sess_a:session.completed"));
    /// ```
    pub fn insert(&self, delivery_id: &str) -> bool {
        self.insert_at(delivery_id, Instant::now())
    }

    /// [`insert`](Deduper::insert) with an explicit "now" (for tests, or a shared clock).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let seen = uip_webhook_verify::Deduper::new(100, Duration::from_secs(60));
    /// let t0 = Instant::now();
    /// assert!(seen.insert_at("d", t0));
    /// assert!(!seen.insert_at("d", t0 + Duration::from_secs(60)));
    /// assert!(seen.insert_at("d", t0 + Duration::from_secs(61))); // expired: new again
    /// ```
    pub fn insert_at(&self, delivery_id: &str, now: Instant) -> bool {
        let mut inner = self.lock();
        self.expire(&mut inner, now);
        if let Some(&at) = inner.seen.get(delivery_id) {
            if now.saturating_duration_since(at) <= self.max_age {
                return false;
            }
        }
        if self.capacity == 0 {
            return true;
        }
        let id: Arc<str> = Arc::from(delivery_id);
        inner.seen.insert(Arc::clone(&id), now);
        inner.order.push_back((id, now));
        while inner.order.len() > self.capacity {
            inner.pop_front();
        }
        true
    }

    /// Whether `delivery_id` was seen within `max_age`, without recording it.
    ///
    /// ```
    /// let seen = uip_webhook_verify::Deduper::default();
    /// assert!(!seen.contains("d"));
    /// seen.insert("d");
    /// assert!(seen.contains("d"));
    /// ```
    pub fn contains(&self, delivery_id: &str) -> bool {
        let now = Instant::now();
        let inner = self.lock();
        inner.seen.get(delivery_id).is_some_and(|&at| now.saturating_duration_since(at) <= self.max_age)
    }

    /// Forgets `delivery_id`, so its next delivery is handled again: call it when handling
    /// failed after [`insert`](Deduper::insert) returned `true`. Returns whether it was known.
    ///
    /// ```
    /// let seen = uip_webhook_verify::Deduper::default();
    /// seen.insert("d");
    /// assert!(seen.forget("d"));
    /// assert!(seen.insert("d"));
    /// ```
    pub fn forget(&self, delivery_id: &str) -> bool {
        self.lock().seen.remove(delivery_id).is_some()
    }

    /// How many ids are remembered (including any that expired but were not dropped yet).
    ///
    /// ```
    /// let seen = uip_webhook_verify::Deduper::default();
    /// seen.insert("a");
    /// seen.insert("b");
    /// assert_eq!(seen.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// Whether no id is remembered.
    ///
    /// ```
    /// assert!(uip_webhook_verify::Deduper::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most ids kept at once.
    ///
    /// ```
    /// assert_eq!(uip_webhook_verify::Deduper::default().capacity(), 10_000);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How long an id is remembered.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(uip_webhook_verify::Deduper::default().max_age(), Duration::from_secs(73 * 3600));
    /// ```
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Drops entries older than `max_age` from the front of the insertion order.
    fn expire(&self, inner: &mut Inner, now: Instant) {
        while let Some((_, at)) = inner.order.front() {
            if now.saturating_duration_since(*at) <= self.max_age {
                break;
            }
            inner.pop_front();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` inconsistent in a harmful way.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for Deduper {
    /// [`Deduper::DEFAULT_CAPACITY`] ids for [`Deduper::DEFAULT_MAX_AGE`].
    ///
    /// ```
    /// use uip_webhook_verify::Deduper;
    /// assert_eq!(Deduper::default().capacity(), Deduper::DEFAULT_CAPACITY);
    /// ```
    fn default() -> Self {
        Deduper::new(Self::DEFAULT_CAPACITY, Self::DEFAULT_MAX_AGE)
    }
}

impl fmt::Debug for Deduper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deduper")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("max_age", &self.max_age)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn duplicates_are_detected() {
        let d = Deduper::new(10, MINUTE);
        assert!(d.insert("a"));
        assert!(!d.insert("a"));
        assert!(d.insert("b"));
        assert!(!d.insert("b"));
        assert!(!d.insert("a"));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn capacity_evicts_the_oldest_first() {
        let d = Deduper::new(3, MINUTE);
        let t = Instant::now();
        for id in ["a", "b", "c"] {
            assert!(d.insert_at(id, t));
        }
        assert!(d.insert_at("d", t), "a 4th id is accepted");
        assert_eq!(d.len(), 3, "memory stays bounded");
        assert!(d.insert_at("a", t), "the oldest was evicted, so it is new again");
        assert!(!d.insert_at("c", t), "c is still remembered");
        assert!(!d.insert_at("d", t));
        assert!(d.insert_at("b", t), "b was evicted by a's re-insertion");
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn capacity_stays_bounded_under_forget_and_reinsert_churn() {
        let d = Deduper::new(4, MINUTE);
        let t = Instant::now();
        for i in 0..1000 {
            let id = format!("id{}", i % 7);
            d.insert_at(&id, t);
            if i % 3 == 0 {
                d.forget(&id);
            }
            let inner = d.lock();
            assert!(inner.order.len() <= 4 && inner.seen.len() <= 4);
        }
    }

    #[test]
    fn ids_expire_after_max_age() {
        let d = Deduper::new(100, MINUTE);
        let t0 = Instant::now();
        assert!(d.insert_at("a", t0));
        assert!(d.insert_at("b", t0 + Duration::from_secs(30)));
        assert!(!d.insert_at("a", t0 + MINUTE), "exactly max_age old: still a duplicate");
        assert!(d.insert_at("c", t0 + Duration::from_secs(61)));
        assert_eq!(d.len(), 2, "a was dropped when it expired");
        assert!(d.insert_at("a", t0 + Duration::from_secs(62)), "expired ids are new again");
        assert!(!d.insert_at("b", t0 + Duration::from_secs(62)));
        assert!(d.insert_at("b", t0 + Duration::from_secs(91)));
    }

    #[test]
    fn duplicates_do_not_refresh_the_age() {
        let d = Deduper::new(100, MINUTE);
        let t0 = Instant::now();
        assert!(d.insert_at("a", t0));
        assert!(!d.insert_at("a", t0 + Duration::from_secs(50)));
        assert!(d.insert_at("a", t0 + Duration::from_secs(70)));
    }

    #[test]
    fn forget_lets_a_retry_through() {
        let d = Deduper::new(10, MINUTE);
        assert!(d.insert("a"));
        assert!(d.contains("a"));
        assert!(d.forget("a"));
        assert!(!d.forget("a"));
        assert!(!d.contains("a"));
        assert!(d.insert("a"));
        assert!(!d.insert("a"));
    }

    #[test]
    fn zero_capacity_remembers_nothing() {
        let d = Deduper::new(0, MINUTE);
        assert!(d.insert("a"));
        assert!(d.insert("a"));
        assert!(d.is_empty());
    }

    #[test]
    fn concurrent_inserts_admit_each_id_once() {
        let d = Arc::new(Deduper::new(10_000, MINUTE));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let d = Arc::clone(&d);
                std::thread::spawn(move || (0..500).filter(|i| d.insert(&format!("id{i}"))).count())
            })
            .collect();
        let admitted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(admitted, 500, "each id handled by exactly one thread");
    }

    #[test]
    fn debug_shows_sizes_only() {
        let d = Deduper::new(5, MINUTE);
        d.insert("sess_secretish:step.completed:0");
        let debug = format!("{d:?}");
        assert!(debug.contains("len: 1") && !debug.contains("sess_secretish"), "{debug}");
    }
}
