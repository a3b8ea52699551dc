//! Durations (`"30s"`, `"1h30m"`, `"400d"`, `"250ms"`, parsed with jiff's
//! friendly format, days being 24 hours) and byte sizes (`"1MiB"`, `"64KiB"`,
//! `"512B"`, or a bare number of bytes).

use std::time::Duration;

use jiff::SpanRelativeTo;
use jiff::fmt::friendly::SpanParser;

static SPAN_PARSER: SpanParser = SpanParser::new();

/// A non-negative duration. Callers decide whether zero is allowed.
pub(crate) fn parse_duration(raw: &str) -> Result<Duration, String> {
    let span = SPAN_PARSER.parse_span(raw.trim()).map_err(|_| {
        format!(
            "invalid duration {raw:?}: expected a number and a unit, like \"250ms\", \"30s\", \"5m\", \"1h30m\" or \"400d\""
        )
    })?;
    let signed = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| {
            format!(
                "invalid duration {raw:?}: months and years have no fixed length; use days, like \"365d\""
            )
        })?;
    if signed.is_negative() {
        return Err(format!("duration {raw:?} is negative"));
    }
    Duration::try_from(signed).map_err(|_| format!("duration {raw:?} is out of range"))
}

const UNITS: &[(&str, u64)] = &[
    ("b", 1),
    ("kb", 1000),
    ("kib", 1024),
    ("mb", 1000 * 1000),
    ("mib", 1024 * 1024),
    ("gb", 1000 * 1000 * 1000),
    ("gib", 1024 * 1024 * 1024),
];

/// A size in bytes: digits, then optionally a unit (B, KB, KiB, MB, MiB, GB,
/// GiB; case does not matter).
pub(crate) fn parse_size(raw: &str) -> Result<u64, String> {
    let invalid = || {
        format!(
            "invalid size {raw:?}: expected a number of bytes or a number and a unit, like \"512B\", \"64KiB\" or \"1MiB\""
        )
    };
    let trimmed = raw.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    let number: u64 = digits.parse().map_err(|_| invalid())?;
    let unit = unit.trim().to_ascii_lowercase();
    let multiplier = if unit.is_empty() {
        1
    } else {
        UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, multiplier)| *multiplier)
            .ok_or_else(invalid)?
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("size {raw:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_duration_forms() {
        let cases = [
            ("30s", 30),
            ("5m", 300),
            ("1h30m", 5400),
            ("48h", 48 * 3600),
            ("400d", 400 * 86400),
            ("1w", 7 * 86400),
            ("0s", 0),
        ];
        for (raw, secs) in cases {
            assert_eq!(parse_duration(raw), Ok(Duration::from_secs(secs)), "{raw}");
        }
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn rejects_bad_durations() {
        for bad in ["30", "thirty seconds", "5 parsecs", ""] {
            let error = parse_duration(bad).unwrap_err();
            assert!(error.starts_with("invalid duration"), "{bad}: {error}");
        }
        assert_eq!(
            parse_duration("-5s"),
            Err("duration \"-5s\" is negative".to_owned())
        );
        assert!(parse_duration("1y").unwrap_err().contains("use days"));
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("64KiB"), Ok(64 * 1024));
        assert_eq!(parse_size("1MiB"), Ok(1024 * 1024));
        assert_eq!(parse_size("2 MB"), Ok(2_000_000));
        assert_eq!(parse_size("1gib"), Ok(1 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
    }

    #[test]
    fn rejects_bad_sizes() {
        for bad in ["", "MiB", "1.5MiB", "10 parsecs", "-1"] {
            assert!(
                parse_size(bad).unwrap_err().starts_with("invalid size"),
                "{bad}"
            );
        }
        assert!(
            parse_size("99999999999999GiB")
                .unwrap_err()
                .contains("too large")
        );
    }
}
