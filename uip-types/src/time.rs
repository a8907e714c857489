//! Timestamp helpers: RFC 3339 UTC with `Z`.

use chrono::{DateTime, SecondsFormat, Utc};

/// A UTC instant on the wire.
pub type Timestamp = DateTime<Utc>;

/// Formats whole seconds: `2026-06-07T12:00:00Z`.
///
/// ```
/// let t = chrono::DateTime::from_timestamp(1780000000, 5).unwrap();
/// assert_eq!(uip_types::time::format_secs(&t), "2026-05-28T20:26:40Z");
/// ```
pub fn format_secs(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Formats with 9 fractional digits: `2026-06-07T12:01:30.000000000Z` (audit `occurred_at`).
///
/// ```
/// let t = chrono::DateTime::from_timestamp(1780000000, 5).unwrap();
/// assert_eq!(uip_types::time::format_nanos(&t), "2026-05-28T20:26:40.000000005Z");
/// ```
pub fn format_nanos(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Serde for whole-second timestamps (fractions are dropped when writing, accepted when reading).
pub mod secs {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes whole seconds with `Z`.
    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_secs(t))
    }

    /// Reads any RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("invalid RFC 3339 timestamp `{s}`: {e}")))
    }
}

/// Serde for optional whole-second timestamps.
pub mod secs_opt {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes whole seconds with `Z`, or null.
    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_secs(t)),
            None => s.serialize_none(),
        }
    }

    /// Reads an optional RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super::secs")] Timestamp);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}

/// Serde for nanosecond timestamps (audit `occurred_at`).
pub mod nanos {
    use super::*;
    use serde::{Deserializer, Serializer};

    /// Writes 9 fractional digits with `Z`.
    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_nanos(t))
    }

    /// Reads any RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        super::secs::deserialize(d)
    }
}
