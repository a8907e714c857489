//! The request journal (docs/DECISIONS.md §11): per business, the last
//! [`JOURNAL_CAPACITY`] business-API requests, in memory only (never stored, never logged).
//! The HTTP layer captures each request and hands it here once answered; the control API and the
//! handle read it back.

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;
use uip_types::{ErrorCode, Timestamp};

use super::Shared;
use crate::error::ApiError;
use crate::journal::{JournaledRequest, RequestFilter, JOURNAL_CAPACITY};

/// The prefix of journal ids.
const ID_PREFIX: &str = "req_";

/// Every business's journal. Ids come from one counter, so they grow in the order requests
/// were recorded, across businesses.
#[derive(Default)]
pub(crate) struct Journal {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The last id given out.
    last_id: u64,
    by_business: HashMap<String, VecDeque<(u64, JournaledRequest)>>,
}

impl Journal {
    /// Forgets every business's journal.
    #[cfg(any(fuzzing, feature = "fuzzing"))]
    pub fn clear(&self) {
        *self.inner.lock() = Inner::default();
    }

    fn record(&self, business_id: &str, mut request: JournaledRequest) {
        let mut inner = self.inner.lock();
        inner.last_id += 1;
        let n = inner.last_id;
        request.id = format!("{ID_PREFIX}{n}");
        let ring = inner.by_business.entry(business_id.to_owned()).or_default();
        while ring.len() >= JOURNAL_CAPACITY {
            ring.pop_front();
        }
        ring.push_back((n, request));
    }
}

/// The business's clock now (`None` when the business is unknown): a journaled request's `at`.
pub(crate) fn business_now(shared: &Shared, business_id: &str) -> Option<Timestamp> {
    shared.store.read(|st| st.business(business_id).map(|b| b.now()))
}

/// Records an answered business-API request of `business_id`; the journal gives it its id.
pub(crate) fn record_request(shared: &Shared, business_id: &str, request: JournaledRequest) {
    shared.journal.record(business_id, request);
}

/// The number of a journal id (`req_42` → 42).
fn parse_id(id: &str) -> Option<u64> {
    let digits = id.strip_prefix(ID_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // A cursor past every id this process can give out is still a cursor: nothing comes after it.
    Some(digits.parse().unwrap_or(u64::MAX))
}

/// `GET /_sandbox/requests`: this business's journaled requests, oldest first, after `since`,
/// about `session_id`, at most `limit` (the oldest that match; all of them without a limit).
pub(crate) fn requests(
    shared: &Shared,
    business_id: &str,
    filter: &RequestFilter,
) -> Result<Vec<JournaledRequest>, ApiError> {
    let since = match filter.get_since() {
        Some(s) => Some(parse_id(s).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidField, "since must be a request id (`req_…`)").param("since")
        })?),
        None => None,
    };
    let limit = match filter.get_limit() {
        Some(n) if (1..=JOURNAL_CAPACITY).contains(&n) => n,
        Some(_) => return Err(limit_error(JOURNAL_CAPACITY)),
        None => JOURNAL_CAPACITY,
    };
    let inner = shared.journal.inner.lock();
    let Some(ring) = inner.by_business.get(business_id) else { return Ok(Vec::new()) };
    Ok(ring
        .iter()
        .filter(|(n, _)| since.is_none_or(|s| *n > s))
        .filter(|(_, r)| {
            filter.get_session_id().is_none_or(|sid| r.session_id.as_ref().is_some_and(|s| s.as_str() == sid))
        })
        .take(limit)
        .map(|(_, r)| r.clone())
        .collect())
}

/// `DELETE /_sandbox/requests`: forgets this business's journal.
pub(crate) fn clear_requests(shared: &Shared, business_id: &str) {
    shared.journal.inner.lock().by_business.remove(business_id);
}

/// 400 `request/invalid-field` for a `limit` outside 1..=max.
pub(crate) fn limit_error(max: usize) -> ApiError {
    ApiError::new(ErrorCode::InvalidField, format!("limit must be an integer from 1 to {max}")).param("limit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_in_their_own_form() {
        assert_eq!(parse_id("req_42"), Some(42));
        assert_eq!(parse_id("req_0"), Some(0));
        // Past every id there can be: a cursor after which nothing comes.
        assert_eq!(parse_id("req_99999999999999999999999"), Some(u64::MAX));
        for bad in ["req_", "42", "req_-1", "req_+1", "req_4 2", "REQ_1"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
