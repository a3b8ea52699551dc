//! How domain values are encoded in columns, the same for every engine:
//! timestamps as integer milliseconds (minutes as epoch seconds), latencies as
//! integer microseconds, health as [`Health::code`].

use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::Health;

use crate::error::StoreError;

pub(crate) fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

pub(crate) fn timestamp_from_millis(what: &'static str, ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|error| StoreError::InvalidRow {
        what,
        detail: format!("timestamp {ms} ms: {error}"),
    })
}

pub(crate) fn timestamp_from_seconds(
    what: &'static str,
    seconds: i64,
) -> Result<Timestamp, StoreError> {
    Timestamp::from_second(seconds).map_err(|error| StoreError::InvalidRow {
        what,
        detail: format!("timestamp {seconds} s: {error}"),
    })
}

/// Microseconds, saturating at `i64::MAX` (some 292 000 years).
pub(crate) fn micros(latency: Duration) -> i64 {
    i64::try_from(latency.as_micros()).unwrap_or(i64::MAX)
}

pub(crate) fn duration_from_micros(what: &'static str, us: i64) -> Result<Duration, StoreError> {
    u64::try_from(us)
        .map(Duration::from_micros)
        .map_err(|_| StoreError::InvalidRow {
            what,
            detail: format!("negative latency {us} µs"),
        })
}

pub(crate) fn health_code(health: Health) -> i64 {
    i64::from(health.code())
}

pub(crate) fn health_from_code(what: &'static str, code: i64) -> Result<Health, StoreError> {
    Health::from_code(code).ok_or_else(|| StoreError::InvalidRow {
        what,
        detail: format!("unknown health code {code}"),
    })
}

pub(crate) fn count_from_column(what: &'static str, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::InvalidRow {
        what,
        detail: format!("count {value} out of range"),
    })
}

/// The first whole second at or after `ms`: a minute (epoch seconds) is at or
/// after the instant `ms` exactly when it is at or after this second.
pub(crate) fn seconds_ceil(ms: i64) -> i64 {
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)
}

/// Epoch seconds of the start of the minute that holds `ms`.
pub(crate) fn minute_floor(ms: i64) -> i64 {
    ms.div_euclid(60_000) * 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_instants_to_seconds_and_minutes() {
        assert_eq!(seconds_ceil(60_000), 60);
        assert_eq!(seconds_ceil(60_001), 61);
        assert_eq!(seconds_ceil(-1), 0);
        assert_eq!(minute_floor(119_999), 60);
        assert_eq!(minute_floor(120_000), 120);
        assert_eq!(minute_floor(-1), -60);
    }
}
