//! What a condition may read: a [`Schema`] names its variables, their types
//! (so `compile` can refuse `status` alone as "not a condition") and how
//! large each can grow (so `cost` can bound the worst case). A probe kind
//! has one (`monitor::ProbeKind::schema`); alert rules and runbook steps
//! bring their own, so conditions over window statistics or step outputs
//! compile with the same machinery and the same errors.

/// The variables a kind of condition may read.
#[derive(Debug)]
pub struct Schema {
    /// What holds the conditions, with its article, for messages:
    /// "a http monitor has: …", "an alert rule has: …".
    pub subject: &'static str,
    /// What the answer is called when `json` is parsed from it: "the body".
    pub answer: &'static str,
    /// At most 64 (a condition's variable set is a 64-bit mask).
    pub variables: &'static [Variable],
}

/// One variable of a schema.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub kind: ValueKind,
    pub size: Size,
    /// Why the variable can be null, when it can for a reason worth
    /// naming: `cert` on plain HTTP ("the target is not HTTPS").
    pub null_when: Option<&'static str>,
}

/// A variable's type, as far as `compile` needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Int,
    Double,
    Bool,
    String,
    Duration,
    Map,
    List,
    /// A map, or null when there is nothing to describe (`cert`).
    MapOrNull,
    /// Whatever a document holds (`json`): any type, null included.
    Any,
}

impl ValueKind {
    /// "an int", for "it is the variable `status`, an int".
    pub fn described(self) -> &'static str {
        match self {
            ValueKind::Int => "an int",
            ValueKind::Double => "a double",
            ValueKind::Bool => "a bool",
            ValueKind::String => "a string",
            ValueKind::Duration => "a duration",
            ValueKind::Map => "a map",
            ValueKind::List => "a list",
            ValueKind::MapOrNull => "a map (or null)",
            ValueKind::Any => "any value",
        }
    }
}

/// How large a variable can be, for the worst-case cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    /// A number, bool or duration.
    Scalar,
    /// A string as long as the answer (`body`, `stdout`, `received`).
    Answer,
    /// A document parsed from the answer (`json`): any array in it holds at
    /// most half as many elements as the answer has bytes.
    Parsed,
    /// Bounded whatever the answer: at most `items` elements and `bytes`
    /// bytes in all (`headers`, `answers`).
    Fixed { items: f64, bytes: f64 },
}

impl Schema {
    pub fn variable(&self, name: &str) -> Option<(usize, &Variable)> {
        self.variables
            .iter()
            .enumerate()
            .find(|(_, variable)| variable.name == name)
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.variables.iter().map(|variable| variable.name)
    }
}

/// Shorthands for the probe schemas in `monitor`.
pub const fn scalar(name: &'static str, kind: ValueKind) -> Variable {
    Variable {
        name,
        kind,
        size: Size::Scalar,
        null_when: None,
    }
}

pub const fn variable(name: &'static str, kind: ValueKind, size: Size) -> Variable {
    Variable {
        name,
        kind,
        size,
        null_when: None,
    }
}

/// For tests here and in `facts`: the shape an alert rule's schema has,
/// window statistics.
#[cfg(test)]
pub(crate) static WINDOW: Schema = Schema {
    subject: "an alert rule",
    answer: "the window",
    variables: &[
        scalar("samples", ValueKind::Int),
        scalar("availability", ValueKind::Double),
        scalar("p95_latency", ValueKind::Duration),
        variable(
            "last",
            ValueKind::Map,
            Size::Fixed {
                items: 3.0,
                bytes: 4096.0,
            },
        ),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::{Condition, ConditionError};

    #[test]
    fn a_schema_other_than_a_probes_compiles_with_its_own_variables() {
        let rule = Condition::compile(
            r#"samples >= 10 && availability < 0.99 || p95_latency > duration("2s")"#,
            &WINDOW,
        )
        .unwrap();
        assert!(rule.worst_case(0).within_limits());
        let error = Condition::compile("status == 200", &WINDOW).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown variable `status` in \"status == 200\"; an alert rule has: samples, availability, p95_latency, last"
        );
        let error = Condition::compile("availabilty < 0.9", &WINDOW).unwrap_err();
        assert!(
            matches!(
                &error,
                ConditionError::UnknownVariable {
                    suggestion: Some("availability"),
                    ..
                }
            ),
            "{error}"
        );
        let error = Condition::compile("samples", &WINDOW).unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"samples\" is not a condition: it is the variable `samples`, an int, never true or false; compare it, as in `status == 200`"
        );
    }

    #[test]
    fn a_fixed_size_variable_costs_the_same_whatever_the_answer() {
        let condition = Condition::compile("last.all(k, k != \"\")", &WINDOW).unwrap();
        assert_eq!(condition.worst_case(0), condition.worst_case(1 << 30));
    }
}
