//! Durations (`"30s"`, `"1h30m"`, `"400d"`, `"250ms"`, parsed with jiff's
//! friendly format, days being 24 hours) and byte sizes (`"1MiB"`, `"64KiB"`,
//! `"512B"`, or a bare number of bytes).

use std::time::Duration;

use jiff::SpanRelativeTo;
use jiff::fmt::friendly::SpanParser;

static SPAN_PARSER: SpanParser = SpanParser::new();

/// The longest duration accepted: the most days a duration can be written
/// with (jiff's limit for a count of days, weeks or smaller units, about
/// 20,000 years). Whatever takes a duration saturates rather than
/// overflows, so this is the only bound.
const MAX_DURATION_DAYS: u64 = 7_304_484;
const MAX_DURATION: Duration = Duration::from_secs(MAX_DURATION_DAYS * 86_400);

/// A non-negative duration. Callers decide whether zero is allowed.
pub(crate) fn parse_duration(raw: &str) -> Result<Duration, String> {
    let too_long = || {
        format!(
            "duration {raw:?} is too long: the maximum is \"{MAX_DURATION_DAYS}d\" (about 20,000 years)"
        )
    };
    let trimmed = raw.trim();
    let span = match SPAN_PARSER.parse_span(trimmed) {
        Ok(span) => span,
        Err(_) => {
            // jiff refuses a count it cannot hold as it refuses a typo. If
            // the same text with every number cut down to 1 parses, the
            // text is well formed and a number was too large (unless its
            // unit is refused whatever the count, or it is negative).
            let shape = SPAN_PARSER
                .parse_span(numbers_cut_to_one(trimmed))
                .map_err(|_| {
                    format!(
                        "invalid duration {raw:?}: expected a number and a unit, like \"250ms\", \"30s\", \"5m\", \"1h30m\" or \"400d\""
                    )
                })?;
            non_negative(raw, fixed_length(raw, shape)?)?;
            return Err(too_long());
        }
    };
    let duration = non_negative(raw, fixed_length(raw, span)?)?;
    if duration > MAX_DURATION {
        return Err(too_long());
    }
    Ok(duration)
}

/// The span as a duration, days being 24 hours; months and years refused.
fn fixed_length(raw: &str, span: jiff::Span) -> Result<jiff::SignedDuration, String> {
    span.to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| {
            format!(
                "invalid duration {raw:?}: months and years have no fixed length; use days, like \"365d\""
            )
        })
}

fn non_negative(raw: &str, signed: jiff::SignedDuration) -> Result<Duration, String> {
    if signed.is_negative() {
        return Err(format!("duration {raw:?} is negative"));
    }
    Duration::try_from(signed).map_err(|_| format!("duration {raw:?} is out of range"))
}

/// `text` with every run of digits replaced by `1`: `99999999d` → `1d`.
fn numbers_cut_to_one(text: &str) -> String {
    let mut cut = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                cut.push('1');
            }
            in_number = true;
        } else {
            cut.push(c);
            in_number = false;
        }
    }
    cut
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
    fn a_duration_too_long_to_hold_says_so_and_names_the_maximum() {
        let too_long = |raw: &str| {
            format!(
                "duration {raw:?} is too long: the maximum is \"7304484d\" (about 20,000 years)"
            )
        };
        for raw in ["99999999d", "7304485d", "1043498w", "99999999999999999999s"] {
            assert_eq!(parse_duration(raw), Err(too_long(raw)), "{raw}");
        }
        // Units that spill over into larger ones add up past the maximum too.
        assert_eq!(parse_duration("7304484d 1h"), Err(too_long("7304484d 1h")));
        assert_eq!(
            parse_duration("7304484d"),
            Ok(Duration::from_secs(7_304_484 * 86_400))
        );
        // A huge count of a unit that is refused anyway is refused for the unit.
        assert!(parse_duration("99999y").unwrap_err().contains("use days"));
        assert_eq!(
            parse_duration("-99999999d"),
            Err("duration \"-99999999d\" is negative".to_owned())
        );
        assert!(
            parse_duration("99999999 parsecs")
                .unwrap_err()
                .contains("expected a number and a unit")
        );
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
