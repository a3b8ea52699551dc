//! Conditions in CEL: compiled once at config load, evaluated against an
//! [`Observation`]; a failed condition explains itself with the actual values
//! (`json.status == "ok" failed: json.status was "degraded"`).
//!
//! Variables by probe kind:
//! - every kind: `latency` (a duration)
//! - http: `status` (int), `headers` (map of lower-case name to value),
//!   `body` (string, invalid UTF-8 replaced), `json` (the parsed body, or
//!   null when it is not JSON), `cert` (`cert.expires_in`, a duration; null
//!   for plain HTTP), `url` (the URL that answered)
//! - tcp: `received` (string)
//! - dns: `answers` (list of strings)
//! - command: `exit_code` (int, -1 when killed by a signal), `stdout`,
//!   `stderr` (strings), `json` (stdout parsed, or null)

use crate::health::Health;
use crate::monitor::ProbeKind;
use crate::observation::Observation;

/// One compiled expression and the source it came from.
pub struct Condition {
    source: String,
    program: cel::Program,
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Condition").field(&self.source).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("invalid CEL expression {expression:?}: {message}")]
    Syntax { expression: String, message: String },
    #[error("unknown variable `{variable}` in {expression:?}; a {kind} monitor has: {available}")]
    UnknownVariable {
        expression: String,
        variable: String,
        kind: &'static str,
        available: String,
    },
}

/// The variables a condition on a probe of `kind` may use.
pub fn variables_for(kind: ProbeKind) -> &'static [&'static str] {
    match kind {
        ProbeKind::Http => &["latency", "status", "headers", "body", "json", "cert", "url"],
        ProbeKind::Tcp => &["latency", "received"],
        ProbeKind::Dns => &["latency", "answers"],
        ProbeKind::Command => &["latency", "exit_code", "stdout", "stderr", "json"],
    }
}

impl Condition {
    pub fn compile(source: &str, kind: ProbeKind) -> Result<Self, ConditionError> {
        let program = cel::Program::compile(source).map_err(|error| ConditionError::Syntax {
            expression: source.to_owned(),
            message: error.to_string(),
        })?;
        let available = variables_for(kind);
        if let Some(unknown) = program
            .references()
            .variables()
            .into_iter()
            .find(|variable| !available.contains(variable))
        {
            return Err(ConditionError::UnknownVariable {
                expression: source.to_owned(),
                variable: unknown.to_owned(),
                kind: kind.as_str(),
                available: available.join(", "),
            });
        }
        Ok(Self {
            source: source.to_owned(),
            program,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn program(&self) -> &cel::Program {
        &self.program
    }
}

/// What the conditions make of an observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub health: Health,
    /// Why not up: the first failed `expect` condition, or the first matching
    /// `degraded_if` condition, with the values that decided it.
    pub reason: Option<String>,
}

/// Judges an observation: down if any `expect` condition fails (or cannot be
/// evaluated), else degraded if any `degraded_if` condition holds, else up.
pub fn judge(expect: &[Condition], degraded_if: &[Condition], observation: &Observation) -> Verdict {
    let context = crate::condition_context::build(observation);
    for condition in expect {
        if let Err(explanation) = crate::condition_context::holds(condition, &context) {
            return Verdict {
                health: Health::Down,
                reason: Some(explanation),
            };
        }
    }
    for condition in degraded_if {
        if crate::condition_context::holds(condition, &context).is_ok() {
            return Verdict {
                health: Health::Degraded,
                reason: Some(format!(
                    "{} matched{}",
                    condition.source(),
                    crate::condition_context::values(condition, &context)
                )),
            };
        }
    }
    Verdict {
        health: Health::Up,
        reason: None,
    }
}
