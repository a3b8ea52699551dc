//! How a person writes the slow-mode delay: `2500ms`, `2.5s`, or a bare number of milliseconds.

use std::time::Duration;

use jiff::SignedDuration;

/// A delay that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelayError {
    #[error("cannot read delay {given:?}: {reason} (write it like 2500ms or 2.5s)")]
    Unreadable { given: String, reason: String },
    #[error("delay {given:?} is negative")]
    Negative { given: String },
}

/// Parses `2500ms`, `2.5s`, `1m`, ISO 8601 (`PT2.5S`), or a bare integer taken
/// as milliseconds.
pub fn parse_delay(text: &str) -> Result<Duration, DelayError> {
    let given = text.trim();
    if let Ok(millis) = given.parse::<u64>() {
        return Ok(Duration::from_millis(millis));
    }
    let signed: SignedDuration =
        given
            .parse()
            .map_err(|error: jiff::Error| DelayError::Unreadable {
                given: given.to_owned(),
                reason: error.to_string(),
            })?;
    Duration::try_from(signed).map_err(|_| DelayError::Negative {
        given: given.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_people_type() {
        assert_eq!(parse_delay("2500ms"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_delay("2.5s"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_delay("200"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_delay("1m"), Ok(Duration::from_secs(60)));
    }

    #[test]
    fn rejects_nonsense_and_negative_delays() {
        assert!(matches!(
            parse_delay("soon"),
            Err(DelayError::Unreadable { .. })
        ));
        assert!(matches!(
            parse_delay("-2s"),
            Err(DelayError::Negative { .. })
        ));
    }
}
