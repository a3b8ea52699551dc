//! Label matchers with Alertmanager's syntax and meaning, so its users feel
//! at home: `name=value`, `name!=value`, `name=~regex`, `name!~regex`, the
//! value optionally in double quotes; a regex is anchored at both ends; a
//! missing label matches as the empty string. Routes, silences and
//! inhibitions all select alerts with them.

use std::collections::BTreeMap;
use std::fmt;

/// An alert's labels, sorted by name (so a fingerprint is stable).
pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub const fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    /// Compiled once, anchored: `^(?:value)$`.
    regex: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    #[error("invalid matcher {0:?}: expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX")]
    Shape(String),
    #[error(
        "invalid matcher {text:?}: the label name {name:?} must be letters, digits and _, not starting with a digit"
    )]
    Name { text: String, name: String },
    #[error("invalid matcher {text:?}: {reason}")]
    Regex { text: String, reason: String },
}

impl Matcher {
    /// `name op value`, checked: the name is a label name, a regex compiles.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Matcher, MatcherError> {
        let text = format!("{name}{}{value}", op.as_str());
        if !is_label_name(name) {
            return Err(MatcherError::Name {
                text,
                name: name.to_owned(),
            });
        }
        let regex = match op {
            MatchOp::Equal | MatchOp::NotEqual => None,
            MatchOp::Regex | MatchOp::NotRegex => Some(
                regex::RegexBuilder::new(&format!("^(?:{value})$"))
                    // a matcher is config, not input, but keep it small
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|error| MatcherError::Regex {
                        text,
                        reason: last_line(&error.to_string()),
                    })?,
            ),
        };
        Ok(Matcher {
            name: name.to_owned(),
            op,
            value: value.to_owned(),
            regex,
        })
    }

    /// Parses Alertmanager's form: `severity=~"P0|P1"`, `team=payments`.
    pub fn parse(text: &str) -> Result<Matcher, MatcherError> {
        let shape = || MatcherError::Shape(text.to_owned());
        let position = text.find(['=', '!']).ok_or_else(shape)?;
        let (name, rest) = text.split_at(position);
        let (op, value) = if let Some(value) = rest.strip_prefix("=~") {
            (MatchOp::Regex, value)
        } else if let Some(value) = rest.strip_prefix("!~") {
            (MatchOp::NotRegex, value)
        } else if let Some(value) = rest.strip_prefix("!=") {
            (MatchOp::NotEqual, value)
        } else if let Some(value) = rest.strip_prefix('=') {
            (MatchOp::Equal, value)
        } else {
            return Err(shape());
        };
        let value = value.trim();
        let value = match value.strip_prefix('"') {
            Some(quoted) => quoted.strip_suffix('"').ok_or_else(shape)?,
            None => value,
        };
        Matcher::new(name.trim(), op, value)
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(regex)) => regex.is_match(value),
            (MatchOp::NotRegex, Some(regex)) => !regex.is_match(value),
            // `new` compiles a regex for every regex op
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }
}

/// Every matcher must match; no matchers match everything.
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|matcher| matcher.matches(labels))
}

/// Prometheus's label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|rest| rest.is_ascii_alphanumeric() || rest == '_')
}

/// The regex crate's message is a drawing of the pattern with the reason
/// on its last line; the reason is what a config error needs.
fn last_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or(text)
        .to_owned()
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

    #[test]
    fn the_four_operators_match_as_in_alertmanager() {
        let alert = labels(&[("severity", "P1"), ("team", "payments")]);
        for (text, expected) in [
            ("severity=P1", true),
            ("severity=P2", false),
            ("severity!=P2", true),
            ("severity=~P0|P1", true),
            ("severity=~\"P[0-1]\"", true),
            // anchored: P1 is not a match for `P`
            ("severity=~P", false),
            ("severity!~P2|P3", true),
            // a missing label is the empty string
            ("region=", true),
            ("region!=", false),
            ("region=~.*", true),
            ("team = \"payments\"", true),
        ] {
            let matcher = Matcher::parse(text).unwrap();
            assert_eq!(matcher.matches(&alert), expected, "{text}");
        }
        assert!(all_match(&[], &alert));
    }

    #[test]
    fn a_malformed_matcher_says_what_is_wrong() {
        assert_eq!(
            Matcher::parse("severity").unwrap_err().to_string(),
            "invalid matcher \"severity\": expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX"
        );
        assert_eq!(
            Matcher::parse("1team=x").unwrap_err().to_string(),
            "invalid matcher \"1team=x\": the label name \"1team\" must be letters, digits and _, not starting with a digit"
        );
        let regex = Matcher::parse("team=~(payments").unwrap_err().to_string();
        assert!(
            regex.starts_with("invalid matcher \"team=~(payments\": "),
            "{regex}"
        );
        assert!(regex.contains("unclosed group"), "{regex}");
        assert!(matches!(
            Matcher::parse("team=\"open"),
            Err(MatcherError::Shape(_))
        ));
    }
}
