//! Conditions over something other than a probe's answer. Whoever evaluates
//! one (the alert evaluator over a window's statistics, a runbook step over
//! its outputs) binds each variable of the condition's schema by name as a
//! [`Fact`], and [`Condition::test`] says whether it holds — under the same
//! runtime budget as a probe's conditions, and with the same explanations
//! on request.

use std::time::Duration;

use cel::Value;
use cel::objects::{Key, Map};
use std::collections::HashMap;
use std::sync::Arc;

use crate::condition::explanation::Outcome;
use crate::condition::meter::Budget;
use crate::condition::{Condition, Schema};
use crate::condition_context::{Bindings, Variables, chrono_duration};

/// One variable's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    Int(i64),
    Double(f64),
    Bool(bool),
    Text(String),
    Duration(Duration),
    Null,
    /// A map from field names to facts: `last.health`.
    Fields(Vec<(&'static str, Fact)>),
}

impl Fact {
    fn value(self) -> Value {
        match self {
            Fact::Int(int) => Value::Int(int),
            Fact::Double(double) => Value::Float(double),
            Fact::Bool(flag) => Value::Bool(flag),
            Fact::Text(text) => Value::String(Arc::new(text)),
            Fact::Duration(duration) => Value::Duration(chrono_duration(duration)),
            Fact::Null => Value::Null,
            Fact::Fields(fields) => {
                let map: HashMap<Key, Value> = fields
                    .into_iter()
                    .map(|(name, fact)| (Key::String(Arc::new(name.to_owned())), fact.value()))
                    .collect();
                Value::Map(Map { map: Arc::new(map) })
            }
        }
    }
}

/// The values one evaluation reads, bound by name.
pub struct Facts {
    bindings: Bindings,
    /// The variables worth binding: every one of the schema's, or only
    /// those one condition reads ([`Facts::for_condition`]).
    wanted: Option<Variables>,
}

impl Facts {
    /// Facts for any condition compiled against `schema`.
    pub fn new(schema: &'static Schema) -> Facts {
        Facts {
            bindings: Bindings::empty(schema, true),
            wanted: None,
        }
    }

    /// Facts for `condition` alone: only the variables it reads are bound
    /// (the rest are skipped by [`Facts::set`], and [`Facts::wants`] lets a
    /// caller skip computing them), and a condition without loops gets no
    /// budget meter. This is what an alert rule evaluated on every result
    /// uses, so a rule over `availability` builds one value, not ten.
    pub fn for_condition(condition: &Condition) -> Facts {
        let compiled = &condition.0;
        Facts {
            bindings: Bindings::empty(compiled.schema, compiled.metered.is_some()),
            wanted: Some(compiled.variables),
        }
    }

    /// Whether binding `name` can matter: it is a variable of the schema
    /// and, for facts made for one condition, one it reads.
    pub fn wants(&self, name: &str) -> bool {
        self.bindings
            .schema
            .variable(name)
            .is_some_and(|(index, _)| self.wanted.is_none_or(|wanted| wanted.contains(index)))
    }

    /// Binds `name` when it [`wants`](Facts::wants) it; other names are
    /// ignored, as no condition they are for can read them.
    pub fn set(&mut self, name: &str, fact: Fact) -> &mut Self {
        if self.wants(name) {
            self.bindings
                .context
                .add_variable_from_value(name, fact.value());
        }
        self
    }
}

/// What a condition made of the facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    /// It could not be evaluated (a variable it reads is missing or of
    /// another type), with the reason.
    Unknown(String),
    /// It spent its runtime budget, with the reason.
    Stopped(String),
}

impl Condition {
    /// Whether the condition holds for `facts`, which must come from the
    /// schema it was compiled against.
    pub fn test(&self, facts: &Facts, budget: Budget) -> Truth {
        let bindings = &facts.bindings;
        bindings.start(budget);
        let value = Value::resolve(self.evaluated(), &bindings.context);
        if bindings.exceeded() {
            return Truth::Stopped(self.over_budget(budget));
        }
        match value {
            Ok(Value::Bool(true)) => Truth::True,
            Ok(Value::Bool(false)) => Truth::False,
            Ok(other) => Truth::Unknown(format!(
                "{} did not evaluate to a boolean: it returned {}",
                self.shown(),
                super::render::value(&other)
            )),
            Err(error) => {
                Truth::Unknown(format!("{} could not be evaluated: {error}", self.shown()))
            }
        }
    }

    /// Why it holds for `facts`, naming the values that decided it:
    /// `availability < 0.99 matched: availability was 0.95`.
    pub fn explain_match(&self, facts: &Facts) -> String {
        let findings = self.0.plan.explain(Outcome::True, &facts.bindings);
        format!(
            "{} matched{}",
            self.shown(),
            super::judge::listed(&findings)
        )
    }

    /// Whether the condition reads the variable `name`, so an evaluator
    /// computes only what is read (percentiles only for a latency rule).
    pub fn reads(&self, name: &str) -> bool {
        self.0
            .schema
            .variable(name)
            .is_some_and(|(index, _)| self.0.variables.contains(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::schema::WINDOW as STATS;

    fn facts(availability: f64) -> Facts {
        let mut facts = Facts::new(&STATS);
        facts
            .set("samples", Fact::Int(30))
            .set("availability", Fact::Double(availability))
            .set("p95_latency", Fact::Duration(Duration::from_millis(2500)))
            .set(
                "last",
                Fact::Fields(vec![
                    ("health", Fact::Text("down".to_owned())),
                    ("reason", Fact::Null),
                ]),
            );
        facts
    }

    #[test]
    fn a_condition_over_bound_facts_holds_or_not_and_explains_a_match() {
        let rule = Condition::compile("samples >= 10 && availability < 0.99", &STATS).unwrap();
        assert_eq!(rule.test(&facts(0.95), Budget::default()), Truth::True);
        assert_eq!(rule.test(&facts(0.999), Budget::default()), Truth::False);
        assert_eq!(
            rule.explain_match(&facts(0.95)),
            "samples >= 10 && availability < 0.99 matched: samples was 30, availability was 0.95"
        );
        let latency = Condition::compile(
            r#"p95_latency > duration("2s") && last.health == "down""#,
            &STATS,
        )
        .unwrap();
        assert_eq!(latency.test(&facts(1.0), Budget::default()), Truth::True);
        assert!(latency.reads("p95_latency") && latency.reads("last"));
        assert!(!latency.reads("availability"));
    }

    #[test]
    fn a_missing_fact_is_unknown_and_a_spent_budget_is_stopped() {
        let rule = Condition::compile("last.reason.contains(\"timeout\")", &STATS).unwrap();
        assert!(matches!(
            rule.test(&facts(1.0), Budget::default()),
            Truth::Unknown(_)
        ));
        let mut unbound = Facts::new(&STATS);
        unbound.set("not-a-variable", Fact::Int(1));
        let samples = Condition::compile("samples > 0", &STATS).unwrap();
        assert!(matches!(
            samples.test(&unbound, Budget::default()),
            Truth::Unknown(_)
        ));
        let looping = Condition::compile("[1, 2, 3].all(x, x > 0)", &STATS).unwrap();
        assert_eq!(
            looping.test(&facts(1.0), Budget { steps: 2 }),
            Truth::Stopped(
                "[1, 2, 3].all(x, x > 0) was stopped: evaluating it took more than its budget of 2 steps"
                    .to_owned()
            )
        );
    }
}
