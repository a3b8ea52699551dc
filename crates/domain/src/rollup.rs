//! Per-minute rollups: how many checks ran, how many failed or were degraded,
//! and the latency distribution (min, mean, max, p50/p95/p99 and a mergeable
//! HDR histogram so rules can ask for "p95 over the last 5 minutes" later
//! without the raw results). Built from raw results by a pure function; the
//! store only persists them.

use std::time::Duration;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use jiff::Timestamp;

use crate::health::Health;

/// Latencies are recorded in microseconds, from 1 µs to one hour, with two
/// significant digits (1 % error), which keeps a minute's histogram small.
const LOWEST_US: u64 = 1;
const HIGHEST_US: u64 = 3_600_000_000;
const SIGNIFICANT_DIGITS: u8 = 2;

#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    /// Start of the minute (seconds are zero).
    pub minute: Timestamp,
    pub count: u32,
    /// Results that were down.
    pub failures: u32,
    pub degraded: u32,
    pub latency_min: Duration,
    pub latency_max: Duration,
    pub latency_sum: Duration,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    /// The latency histogram, HDR V2 encoding.
    pub histogram: Vec<u8>,
}

impl Rollup {
    pub fn latency_mean(&self) -> Duration {
        if self.count == 0 {
            Duration::ZERO
        } else {
            self.latency_sum / self.count
        }
    }

    /// Fraction of checks that were not down (degraded counts as available).
    pub fn availability(&self) -> Option<f64> {
        (self.count > 0).then(|| f64::from(self.count - self.failures) / f64::from(self.count))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    #[error("cannot create latency histogram: {0}")]
    Create(#[from] hdrhistogram::CreationError),
    #[error("cannot encode latency histogram: {0}")]
    Encode(String),
    #[error("cannot decode latency histogram: {0}")]
    Decode(String),
}

/// Truncates a timestamp to the start of its minute.
pub fn minute_of(at: Timestamp) -> Timestamp {
    let second = at.as_second();
    Timestamp::from_second(second - second.rem_euclid(60)).unwrap_or(at)
}

/// Accumulates one monitor's results for one minute.
pub struct RollupBuilder {
    minute: Timestamp,
    count: u32,
    failures: u32,
    degraded: u32,
    min: Duration,
    max: Duration,
    sum: Duration,
    histogram: Histogram<u32>,
}

impl RollupBuilder {
    pub fn new(minute: Timestamp) -> Result<Self, RollupError> {
        Ok(Self {
            minute: minute_of(minute),
            count: 0,
            failures: 0,
            degraded: 0,
            min: Duration::MAX,
            max: Duration::ZERO,
            sum: Duration::ZERO,
            histogram: new_histogram()?,
        })
    }

    pub fn add(&mut self, health: Health, latency: Duration) {
        self.count += 1;
        match health {
            Health::Up => {}
            Health::Degraded => self.degraded += 1,
            Health::Down => self.failures += 1,
        }
        self.min = self.min.min(latency);
        self.max = self.max.max(latency);
        self.sum += latency;
        let micros = u64::try_from(latency.as_micros()).unwrap_or(HIGHEST_US);
        // `saturating_record` clamps out-of-range values instead of failing.
        self.histogram
            .saturating_record(micros.clamp(LOWEST_US, HIGHEST_US));
    }

    pub fn finish(self) -> Result<Rollup, RollupError> {
        let histogram = encode_histogram(&self.histogram)?;
        let quantile = |q: f64| Duration::from_micros(self.histogram.value_at_quantile(q));
        Ok(Rollup {
            minute: self.minute,
            count: self.count,
            failures: self.failures,
            degraded: self.degraded,
            latency_min: if self.count == 0 {
                Duration::ZERO
            } else {
                self.min
            },
            latency_max: self.max,
            latency_sum: self.sum,
            p50: quantile(0.50),
            p95: quantile(0.95),
            p99: quantile(0.99),
            histogram,
        })
    }
}

/// The HdrHistogram V2 encoding starts with a 40-byte header: cookie,
/// payload length, normalizing offset, precision, bounds and a conversion
/// ratio. Every histogram made here has the same bounds and precision, so
/// the header is stored once per process instead of once per row (it was
/// half of a rollup row): a stored histogram is the V2 payload alone.
const V2_HEADER_LEN: usize = 40;
/// Where the V2 header holds the payload length (big-endian u32).
const V2_PAYLOAD_LENGTH: std::ops::Range<usize> = 4..8;
/// The first bytes of a whole V2 encoding, as stored before the header was
/// dropped; such rows still decode.
const V2_COOKIE: [u8; 4] = [0x1c, 0x84, 0x93, 0x13];

fn new_histogram() -> Result<Histogram<u32>, RollupError> {
    Ok(Histogram::new_with_bounds(
        LOWEST_US,
        HIGHEST_US,
        SIGNIFICANT_DIGITS,
    )?)
}

fn serialize(histogram: &Histogram<u32>) -> Result<Vec<u8>, RollupError> {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(|error| RollupError::Encode(format!("{error:?}")))?;
    Ok(bytes)
}

/// The V2 payload of `histogram`, without the header (see [`V2_HEADER_LEN`]).
fn encode_histogram(histogram: &Histogram<u32>) -> Result<Vec<u8>, RollupError> {
    let mut bytes = serialize(histogram)?;
    if bytes.len() < V2_HEADER_LEN {
        return Err(RollupError::Encode(format!(
            "a V2 encoding of {} bytes is shorter than its header",
            bytes.len()
        )));
    }
    bytes.drain(..V2_HEADER_LEN);
    Ok(bytes)
}

/// Decodes a stored histogram, e.g. to merge several minutes: the payload
/// gets back the header every histogram here shares.
pub fn decode_histogram(bytes: &[u8]) -> Result<Histogram<u32>, RollupError> {
    let decode = |mut reader: &[u8]| {
        Deserializer::new()
            .deserialize(&mut reader)
            .map_err(|error| RollupError::Decode(format!("{error:?}")))
    };
    if bytes.starts_with(&V2_COOKIE) {
        return decode(bytes);
    }
    let mut whole = serialize(&new_histogram()?)?;
    whole.truncate(V2_HEADER_LEN);
    let length = u32::try_from(bytes.len())
        .map_err(|_| RollupError::Decode(format!("a payload of {} bytes", bytes.len())))?;
    whole
        .get_mut(V2_PAYLOAD_LENGTH)
        .ok_or_else(|| RollupError::Decode("the V2 header is too short".to_owned()))?
        .copy_from_slice(&length.to_be_bytes());
    whole.extend_from_slice(bytes);
    decode(&whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_a_minute() {
        let minute: Timestamp = "2026-01-01T10:07:42Z".parse().unwrap();
        let mut builder = RollupBuilder::new(minute).unwrap();
        for ms in 1..=100u64 {
            let health = match ms {
                1..=3 => Health::Down,
                4..=8 => Health::Degraded,
                _ => Health::Up,
            };
            builder.add(health, Duration::from_millis(ms));
        }
        let rollup = builder.finish().unwrap();
        assert_eq!(rollup.minute, "2026-01-01T10:07:00Z".parse().unwrap());
        assert_eq!(
            (rollup.count, rollup.failures, rollup.degraded),
            (100, 3, 5)
        );
        assert_eq!(rollup.latency_min, Duration::from_millis(1));
        assert_eq!(rollup.latency_max, Duration::from_millis(100));
        assert_eq!(rollup.latency_mean(), Duration::from_micros(50_500));
        // Two significant digits: within 1 %.
        let within = |actual: Duration, expected_ms: u64| {
            let expected = Duration::from_millis(expected_ms).as_secs_f64();
            (actual.as_secs_f64() - expected).abs() <= expected * 0.01
        };
        assert!(within(rollup.p50, 50), "p50 {:?}", rollup.p50);
        assert!(within(rollup.p95, 95), "p95 {:?}", rollup.p95);
        assert!(within(rollup.p99, 99), "p99 {:?}", rollup.p99);
        assert_eq!(rollup.availability(), Some(0.97));

        let histogram = decode_histogram(&rollup.histogram).unwrap();
        assert_eq!(histogram.len(), 100);
        assert_eq!(
            histogram.value_at_quantile(0.95),
            rollup.p95.as_micros() as u64
        );
    }

    /// A typical minute (six probes at a 10 s interval) costs a few bytes,
    /// not a 40-byte header; it decodes to the same histogram, and so does
    /// a row stored with the whole V2 encoding.
    #[test]
    fn a_stored_histogram_is_the_payload_and_decodes_like_the_whole_encoding() {
        let mut builder = RollupBuilder::new(Timestamp::UNIX_EPOCH).unwrap();
        for us in [1_200, 1_350, 980, 2_100, 1_150, 1_900] {
            builder.add(Health::Up, Duration::from_micros(us));
        }
        let mut reference = new_histogram().unwrap();
        for us in [1_200, 1_350, 980, 2_100, 1_150, 1_900] {
            reference.record(us).unwrap();
        }
        let rollup = builder.finish().unwrap();
        assert!(
            rollup.histogram.len() <= 16,
            "{} bytes",
            rollup.histogram.len()
        );
        assert_eq!(decode_histogram(&rollup.histogram).unwrap(), reference);
        let whole = serialize(&reference).unwrap();
        assert_eq!(whole.len(), V2_HEADER_LEN + rollup.histogram.len());
        assert_eq!(decode_histogram(&whole).unwrap(), reference);
        assert!(decode_histogram(&[0xff, 0xff]).is_err());
    }

    #[test]
    fn an_empty_minute_has_no_availability() {
        let rollup = RollupBuilder::new(Timestamp::UNIX_EPOCH)
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(rollup.count, 0);
        assert_eq!(rollup.availability(), None);
        assert_eq!(rollup.latency_min, Duration::ZERO);
    }
}
