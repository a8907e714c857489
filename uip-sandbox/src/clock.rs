//! Time: real time, and each business's clock (real time plus the offset `clock/advance` adds).

use chrono::{DurationRound, TimeDelta, Utc};
use uip_types::Timestamp;

/// Real time now.
pub(crate) fn real_now() -> Timestamp {
    Utc::now()
}

/// A business's clock: real time plus its offset, in seconds.
pub(crate) fn business_now(offset_s: i64) -> Timestamp {
    real_now() + TimeDelta::seconds(offset_s)
}

/// Truncated to whole seconds (all stored session times are whole seconds).
pub(crate) fn secs(t: Timestamp) -> Timestamp {
    t.duration_trunc(TimeDelta::seconds(1)).unwrap_or(t)
}
