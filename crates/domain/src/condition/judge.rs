//! Judging one observation with a monitor's conditions: the variables are
//! bound once, `expect` is evaluated and then `degraded_if`, each under the
//! runtime [`Budget`], and a result that is not up says why.

use cel::Value;

use crate::condition::explanation::{Finding, Outcome};
use crate::condition::meter::Budget;
use crate::condition::{Condition, render};
use crate::condition_context::{Bindings, Variables};
use crate::health::Health;
use crate::observation::Observation;

/// What the conditions make of an observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub health: Health,
    /// Why not up: the first failed `expect` condition, or the first matching
    /// `degraded_if` condition, with the values that decided it.
    pub reason: Option<String>,
}

/// Judges an observation: down if any `expect` condition fails (or cannot be
/// evaluated, or spends its budget), else degraded if any `degraded_if`
/// condition holds or cannot be evaluated, else up.
pub fn judge(
    expect: &[Condition],
    degraded_if: &[Condition],
    observation: &Observation,
) -> Verdict {
    judge_within(expect, degraded_if, observation, Budget::default())
}

/// [`judge`] with each condition's evaluation limited to `budget`; a
/// condition that spends it makes the result down, with a reason that says
/// so.
pub fn judge_within(
    expect: &[Condition],
    degraded_if: &[Condition],
    observation: &Observation,
    budget: Budget,
) -> Verdict {
    let up = Verdict {
        health: Health::Up,
        reason: None,
    };
    if expect.is_empty() && degraded_if.is_empty() {
        return up;
    }
    let all = || expect.iter().chain(degraded_if);
    let needed = all().fold(Variables::default(), |needed, condition| {
        needed.union(condition.0.variables)
    });
    let metered = all().any(|condition| condition.0.metered.is_some());
    // one monitor's conditions share its probe kind's schema
    let Some(schema) = all().next().map(|condition| condition.0.schema) else {
        return up;
    };
    let bindings = crate::condition_context::build(observation, schema, needed, metered);
    let down = |reason| Verdict {
        health: Health::Down,
        reason: Some(reason),
    };
    for condition in expect {
        if let Err(explanation) = condition.holds(&bindings, budget) {
            return down(explanation);
        }
    }
    for condition in degraded_if {
        match condition.matches(&bindings, budget) {
            Ok(None) => {}
            Ok(Some(explanation)) => {
                return Verdict {
                    health: Health::Degraded,
                    reason: Some(explanation),
                };
            }
            Err(over_budget) => return down(over_budget),
        }
    }
    up
}

/// Whether judging `observation` is cheap enough for the async runtime:
/// every condition's worst case on an answer of this length is under a
/// small number of steps. A costlier judgement belongs on a blocking thread.
pub fn judges_quickly(
    expect: &[Condition],
    degraded_if: &[Condition],
    observation: &Observation,
) -> bool {
    let length = observation.answer_len() as u64;
    expect.iter().chain(degraded_if).all(|condition| {
        condition
            .0
            .inline_up_to
            .is_some_and(|up_to| length <= up_to)
    })
}

impl Condition {
    /// `Ok(())` when the condition is true; otherwise why not, naming the
    /// operands that decided it with their values.
    fn holds(&self, bindings: &Bindings, budget: Budget) -> Result<(), String> {
        bindings.start(budget);
        let value = Value::resolve(self.evaluated(), &bindings.context);
        if bindings.exceeded() {
            return Err(self.over_budget(budget));
        }
        if matches!(value, Ok(Value::Bool(true))) {
            return Ok(());
        }
        let source = self.shown();
        let failure = match value {
            Ok(Value::Bool(true)) => return Ok(()),
            Ok(Value::Bool(false)) => format!(
                "{source} failed{}",
                listed(&self.0.plan.explain(Outcome::False, bindings))
            ),
            Ok(other) => format!(
                "{source} did not evaluate to a boolean: it returned {}",
                render::value(&other)
            ),
            Err(error) => {
                let findings = self.0.plan.explain(Outcome::Error, bindings);
                let absent = !findings.is_empty()
                    && findings
                        .iter()
                        .all(|finding| !matches!(finding, Finding::Problem(_)));
                if findings.is_empty() {
                    format!("{source} could not be evaluated: {error}")
                } else {
                    let verb = if absent {
                        "failed"
                    } else {
                        "could not be evaluated"
                    };
                    format!("{source} {verb}{}", listed(&findings))
                }
            }
        };
        // explaining evaluates parts again, under the same budget
        if bindings.exceeded() {
            return Err(self.over_budget(budget));
        }
        Err(failure)
    }

    /// For `degraded_if`: why it matched (or could not be evaluated, which
    /// counts as a match), `None` when it is false, or `Err` when it spent
    /// its budget.
    fn matches(&self, bindings: &Bindings, budget: Budget) -> Result<Option<String>, String> {
        bindings.start(budget);
        let value = Value::resolve(self.evaluated(), &bindings.context);
        if bindings.exceeded() {
            return Err(self.over_budget(budget));
        }
        let explanation = match value {
            Ok(Value::Bool(false)) => return Ok(None),
            Ok(Value::Bool(true)) => format!(
                "{} matched{}",
                self.shown(),
                listed(&self.0.plan.explain(Outcome::True, bindings))
            ),
            // a check that cannot run is reported, not taken for "no": a
            // certificate check on a plain-HTTP URL must not look healthy
            Ok(other) => format!(
                "{} did not evaluate to a boolean: it returned {}",
                self.shown(),
                render::value(&other)
            ),
            Err(error) => {
                let findings = self.0.plan.explain(Outcome::Error, bindings);
                if findings.is_empty() {
                    format!("{} could not be evaluated: {error}", self.shown())
                } else {
                    format!(
                        "{} could not be evaluated{}",
                        self.shown(),
                        listed(&findings)
                    )
                }
            }
        };
        if bindings.exceeded() {
            return Err(self.over_budget(budget));
        }
        Ok(Some(explanation))
    }

    pub(crate) fn over_budget(&self, budget: Budget) -> String {
        format!(
            "{} was stopped: evaluating it took more than its budget of {} steps",
            self.shown(),
            crate::condition::cost::steps_text(budget.steps as f64)
        )
    }
}

/// `": a was 1, b was 2"`; problems first, separated by `;` since CEL's own
/// messages contain commas.
pub(crate) fn listed(findings: &[Finding]) -> String {
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for finding in findings {
        match finding {
            Finding::Value(text) => values.push(text.as_str()),
            Finding::Absent(text) | Finding::Problem(text) => problems.push(text.as_str()),
        }
    }
    let mut out = String::new();
    if !problems.is_empty() {
        out.push_str(": ");
        out.push_str(&problems.join("; "));
    }
    if !values.is_empty() {
        out.push_str(if problems.is_empty() { ": " } else { "; " });
        out.push_str(&values.join(", "));
    }
    out
}
