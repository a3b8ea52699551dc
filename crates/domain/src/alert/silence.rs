//! Silences and inhibitions: what keeps an alert from being *sent* while it
//! is still recorded and visible. A silence mutes the alerts its matchers
//! select between its start and end (it expires by itself); an inhibition
//! mutes the alerts a rule's `target` selects while an alert its `source`
//! selects is firing with the same values of the `equal` labels (a region
//! down mutes its per-endpoint alerts), as in Alertmanager.

use jiff::Timestamp;

use crate::alert::matcher::{Labels, Matcher, all_match};

#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub created_by: String,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error("a silence needs at least one matcher")]
    NoMatchers,
    /// A silence whose every matcher matches the empty string would mute
    /// every alert, as Alertmanager refuses too.
    #[error(
        "a silence must have a matcher that an empty label does not match, or it would mute every alert"
    )]
    MatchesEverything,
    #[error("a silence must end after it starts ({starts_at} is not before {ends_at})")]
    Inverted {
        starts_at: Timestamp,
        ends_at: Timestamp,
    },
}

impl Silence {
    /// Checks a silence before it is stored.
    pub fn validate(&self) -> Result<(), SilenceError> {
        if self.matchers.is_empty() {
            return Err(SilenceError::NoMatchers);
        }
        let empty = Labels::new();
        if self.matchers.iter().all(|matcher| matcher.matches(&empty)) {
            return Err(SilenceError::MatchesEverything);
        }
        if self.ends_at <= self.starts_at {
            return Err(SilenceError::Inverted {
                starts_at: self.starts_at,
                ends_at: self.ends_at,
            });
        }
        Ok(())
    }

    pub fn is_active(&self, now: Timestamp) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Whether it mutes an alert with `labels` at `now`.
    pub fn mutes(&self, labels: &Labels, now: Timestamp) -> bool {
        self.is_active(now) && all_match(&self.matchers, labels)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inhibition {
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    /// Labels whose values must be equal on source and target.
    pub equal: Vec<String>,
}

impl Inhibition {
    /// Whether an alert with `target` labels is inhibited by one of the
    /// `firing` alerts' labels. An alert never inhibits itself, even when
    /// it matches both sides.
    pub fn inhibits<'a>(
        &self,
        target: &Labels,
        firing: impl IntoIterator<Item = &'a Labels>,
    ) -> bool {
        if !all_match(&self.target, target) {
            return false;
        }
        firing.into_iter().any(|source| {
            source != target
                && all_match(&self.source, source)
                && self
                    .equal
                    .iter()
                    .all(|name| source.get(name) == target.get(name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn matchers(texts: &[&str]) -> Vec<Matcher> {
        texts
            .iter()
            .map(|text| Matcher::parse(text).unwrap())
            .collect()
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn silence(texts: &[&str], from: i64, to: i64) -> Silence {
        Silence {
            id: "s1".to_owned(),
            matchers: matchers(texts),
            starts_at: at(from),
            ends_at: at(to),
            created_by: "alice".to_owned(),
            comment: "deploying".to_owned(),
        }
    }

    #[test]
    fn a_silence_mutes_what_it_matches_between_its_start_and_its_end() {
        let quiet = silence(&["severity=P2", "monitor=~api.*"], 100, 200);
        let alert = labels(&[("severity", "P2"), ("monitor", "api-health")]);
        assert!(!quiet.mutes(&alert, at(99)));
        assert!(quiet.mutes(&alert, at(100)));
        assert!(quiet.mutes(&alert, at(199)));
        assert!(!quiet.mutes(&alert, at(200)), "it expires by itself");
        let other = labels(&[("severity", "P1"), ("monitor", "api-health")]);
        assert!(!quiet.mutes(&other, at(150)));
    }

    #[test]
    fn a_silence_that_would_mute_everything_or_end_first_is_refused() {
        assert_eq!(
            silence(&[], 0, 10).validate(),
            Err(SilenceError::NoMatchers)
        );
        assert_eq!(
            silence(&["team=~.*"], 0, 10).validate(),
            Err(SilenceError::MatchesEverything)
        );
        assert!(matches!(
            silence(&["team=web"], 10, 10).validate(),
            Err(SilenceError::Inverted { .. })
        ));
        assert_eq!(silence(&["team=web"], 0, 10).validate(), Ok(()));
    }

    #[test]
    fn a_firing_source_inhibits_targets_with_equal_labels_but_not_itself() {
        let rule = Inhibition {
            source: matchers(&["alertname=RegionDown"]),
            target: matchers(&["severity=~P2|P3"]),
            equal: vec!["region".to_owned()],
        };
        let region_down = labels(&[
            ("alertname", "RegionDown"),
            ("region", "eu"),
            ("severity", "P2"),
        ]);
        let endpoint_eu = labels(&[
            ("alertname", "ApiDown"),
            ("region", "eu"),
            ("severity", "P2"),
        ]);
        let endpoint_us = labels(&[
            ("alertname", "ApiDown"),
            ("region", "us"),
            ("severity", "P2"),
        ]);
        let firing = [region_down.clone()];
        assert!(rule.inhibits(&endpoint_eu, &firing));
        assert!(!rule.inhibits(&endpoint_us, &firing));
        assert!(!rule.inhibits(&region_down, &firing), "not itself");
        assert!(!rule.inhibits(&endpoint_eu, &[]));
    }
}
