//! Time: real time, and each business's clock (real time plus the offset `clock/advance` adds).
//!
//! No time arithmetic here may panic, and no time is later than [`MAX_TIME`]
//! (docs/DECISIONS.md §11): beyond year 9999 a timestamp is not RFC 3339.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use uip_types::Timestamp;

/// The latest time a business's clock (and any time computed from it) reaches:
/// 9999-12-31T23:59:59Z.
pub(crate) const MAX_TIME: Timestamp = match DateTime::from_timestamp(253_402_300_799, 0) {
    Some(t) => t,
    None => panic!("9999-12-31T23:59:59Z is representable"),
};

/// Real time now.
pub(crate) fn real_now() -> Timestamp {
    Utc::now()
}

/// `t` plus `seconds`, saturating at [`MAX_TIME`] (and at chrono's minimum below).
pub(crate) fn add_secs(t: Timestamp, seconds: i64) -> Timestamp {
    let Some(d) = TimeDelta::try_seconds(seconds) else {
        return if seconds > 0 { MAX_TIME } else { Timestamp::MIN_UTC };
    };
    add(t, d)
}

/// `t` plus `d`, saturating at [`MAX_TIME`] (and at chrono's minimum below).
pub(crate) fn add(t: Timestamp, d: TimeDelta) -> Timestamp {
    match t.checked_add_signed(d) {
        Some(r) => r.min(MAX_TIME),
        None if d > TimeDelta::zero() => MAX_TIME,
        None => Timestamp::MIN_UTC,
    }
}

/// A business's clock: real time plus its offset, in seconds, never later than [`MAX_TIME`].
pub(crate) fn business_now(offset_s: i64) -> Timestamp {
    add_secs(real_now(), offset_s)
}

/// The offset after advancing `offset_s` by `seconds`, or `None` when the business's clock
/// would pass [`MAX_TIME`] (measured at `real_now`).
pub(crate) fn advanced_offset(real_now: Timestamp, offset_s: i64, seconds: i64) -> Option<i64> {
    let offset = offset_s.checked_add(seconds)?;
    let now = real_now.checked_add_signed(TimeDelta::try_seconds(offset)?)?;
    (now <= MAX_TIME).then_some(offset)
}

/// Truncated to whole seconds (all stored session times are whole seconds).
pub(crate) fn secs(t: Timestamp) -> Timestamp {
    t.duration_trunc(TimeDelta::seconds(1)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn max_time_is_the_last_second_of_year_9999() {
        assert_eq!(MAX_TIME, at("9999-12-31T23:59:59Z"));
        assert_eq!(MAX_TIME.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn an_advance_up_to_the_limit_is_allowed_and_one_second_more_is_not() {
        let real = at("2026-01-01T00:00:00Z");
        let to_limit = (MAX_TIME - real).num_seconds();
        assert_eq!(advanced_offset(real, 0, to_limit), Some(to_limit));
        assert_eq!(advanced_offset(real, 0, to_limit + 1), None);
        assert_eq!(advanced_offset(real, to_limit - 10, 10), Some(to_limit));
        assert_eq!(advanced_offset(real, to_limit - 10, 11), None);
        // Offsets chrono cannot represent, or an i64 overflow: refused, no panic.
        assert_eq!(advanced_offset(real, i64::MAX - 1, 31_536_000), None);
        assert_eq!(advanced_offset(real, i64::MAX / 2, 1), None);
    }

    #[test]
    fn arithmetic_saturates_at_the_limit_instead_of_panicking() {
        let real = at("2026-01-01T00:00:00Z");
        for offset in [i64::MAX, i64::MAX / 1000, (MAX_TIME - real).num_seconds() + 1] {
            assert_eq!(add_secs(real, offset), MAX_TIME, "offset {offset}");
            assert_eq!(business_now(offset), MAX_TIME, "offset {offset}");
        }
        assert_eq!(add_secs(MAX_TIME, 600), MAX_TIME);
        assert_eq!(add(MAX_TIME, TimeDelta::MAX), MAX_TIME);
        assert_eq!(add(Timestamp::MAX_UTC, TimeDelta::seconds(1)), MAX_TIME);
        assert_eq!(add_secs(real, i64::MIN), Timestamp::MIN_UTC);
        assert_eq!(add_secs(real, 60), at("2026-01-01T00:01:00Z"));
    }
}
