//! Identifiers of things a user names in the config: monitors, components,
//! alert rules, SLOs, maintenance windows, notifiers, people, on-call
//! schedules and escalation policies.
//!
//! Parse, don't validate: an id that exists is well formed (1–64 characters of
//! `a-z`, `0-9`, `-`, `_`, `.`, starting with a letter or digit), so it is safe
//! in URLs, metric labels and log fields.

use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an id must not be empty")]
    Empty,
    #[error("id {id:?} is longer than 64 characters")]
    TooLong { id: String },
    #[error(
        "id {id:?} may only contain lowercase letters, digits, '-', '_' and '.', and must start with a letter or digit"
    )]
    InvalidCharacter { id: String },
}

pub(crate) fn check_id(raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty);
    }
    if raw.len() > 64 {
        return Err(IdError::TooLong { id: raw.to_owned() });
    }
    let mut chars = raw.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = raw
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(IdError::InvalidCharacter { id: raw.to_owned() })
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                check_id(raw)?;
                Ok(Self(Arc::from(raw)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(raw: &str) -> Result<Self, IdError> {
                Self::parse(raw)
            }
        }
    };
}

id_type!(
    /// The id of a `[[monitor]]`.
    MonitorId
);
id_type!(
    /// The id of a `[[component]]` (a box on the status page).
    ComponentId
);
id_type!(
    /// The id of an `[[alert]]` rule.
    RuleId
);
id_type!(
    /// The id of an `[[slo]]`.
    SloId
);
id_type!(
    /// The id of a `[[maintenance]]` window.
    MaintenanceId
);
id_type!(
    /// The id of a `[[notifier]]`, which routes name in `notify`.
    NotifierId
);
id_type!(
    /// The id of a `[[person]]`, who can be on call and be paged.
    PersonId
);
id_type!(
    /// The id of an on-call `[[schedule]]`.
    ScheduleId
);
id_type!(
    /// The id of an `[[escalation]]` policy, which routes name.
    EscalationId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_typical_ids() {
        for ok in ["api-health", "db.primary", "a", "9lives", "x_y"] {
            assert_eq!(
                MonitorId::parse(ok).map(|id| id.to_string()),
                Ok(ok.to_owned())
            );
        }
    }

    #[test]
    fn rejects_malformed_ids() {
        assert_eq!(MonitorId::parse(""), Err(IdError::Empty));
        assert!(matches!(
            MonitorId::parse("Api"),
            Err(IdError::InvalidCharacter { .. })
        ));
        assert!(matches!(
            MonitorId::parse("-api"),
            Err(IdError::InvalidCharacter { .. })
        ));
        assert!(matches!(
            MonitorId::parse("a b"),
            Err(IdError::InvalidCharacter { .. })
        ));
        assert!(matches!(
            MonitorId::parse(&"a".repeat(65)),
            Err(IdError::TooLong { .. })
        ));
    }
}
