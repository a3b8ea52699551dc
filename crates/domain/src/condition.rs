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

use std::sync::Arc;

use cel::Value;
use cel::common::ast::{Expr, IdedExpr, LiteralValue, operators};

use crate::condition::explanation::{Finding, Outcome, Plan};
use crate::condition_context::{Bindings, Variables};
use crate::health::Health;
use crate::monitor::ProbeKind;
use crate::observation::Observation;

mod explanation;
mod render;
pub use render::excerpt;
#[cfg(test)]
mod tests;

/// One compiled expression, the source it came from, and how to explain it.
/// A cheap handle: clones share one compilation, so a config where many
/// monitors repeat `status == 200` compiles and keeps it once.
#[derive(Clone)]
pub struct Condition(Arc<Compiled>);

struct Compiled {
    source: String,
    program: cel::Program,
    /// Which parts and operands to name when the result needs explaining;
    /// built here so that evaluation never parses anything.
    plan: Plan,
    /// The variables the expression reads, so a judge binds only those.
    variables: Variables,
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Condition").field(&self.0.source).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// `message` names the column (1-based); `offset` is the 0-based
    /// character offset of the error inside `expression`, when CEL gives it.
    #[error("invalid CEL expression {expression:?}: {message}")]
    Syntax {
        expression: String,
        message: String,
        offset: Option<usize>,
    },
    #[error("unknown variable `{variable}` in {expression:?}; a {kind} monitor has: {available}")]
    UnknownVariable {
        expression: String,
        variable: String,
        kind: &'static str,
        available: String,
    },
    /// The expression can never be `true` or `false`, e.g. `200` or `body`.
    #[error(
        "{expression:?} is not a condition: it is {found}, never true or false; \
         compare it, as in `status == 200`"
    )]
    NotBoolean { expression: String, found: String },
}

/// The variables a condition on a probe of `kind` may use.
pub fn variables_for(kind: ProbeKind) -> &'static [&'static str] {
    match kind {
        ProbeKind::Http => &[
            "latency", "status", "headers", "body", "json", "cert", "url",
        ],
        ProbeKind::Tcp => &["latency", "received"],
        ProbeKind::Dns => &["latency", "answers"],
        ProbeKind::Command => &["latency", "exit_code", "stdout", "stderr", "json"],
    }
}

/// Identifiers CEL resolves as type names, not variables (`type(x) == int`).
const TYPE_NAMES: [&str; 11] = [
    "int",
    "uint",
    "double",
    "bool",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
    "dyn",
];

impl Condition {
    pub fn compile(source: &str, kind: ProbeKind) -> Result<Self, ConditionError> {
        let program = cel::Program::compile(source).map_err(|errors| syntax(source, &errors))?;
        let available = variables_for(kind);
        let mut read = Vec::new();
        free_variables(program.expression(), &mut Vec::new(), &mut read);
        let mut variables = Variables::default();
        for name in read {
            if !available.contains(&name) {
                return Err(ConditionError::UnknownVariable {
                    expression: source.to_owned(),
                    variable: name.to_owned(),
                    kind: kind.as_str(),
                    available: available.join(", "),
                });
            }
            variables.insert(name);
        }
        if let Some(found) = not_boolean(program.expression()) {
            return Err(ConditionError::NotBoolean {
                expression: source.to_owned(),
                found,
            });
        }
        let plan = Plan::compile(program.expression());
        Ok(Self(Arc::new(Compiled {
            source: source.to_owned(),
            program,
            plan,
            variables,
        })))
    }

    pub fn source(&self) -> &str {
        &self.0.source
    }

    pub fn program(&self) -> &cel::Program {
        &self.0.program
    }

    /// `Ok(())` when the condition is true; otherwise why not, naming the
    /// operands that decided it with their values.
    fn holds(&self, bindings: &Bindings) -> Result<(), String> {
        match Value::resolve(self.0.program.expression(), &bindings.context) {
            Ok(Value::Bool(true)) => Ok(()),
            Ok(Value::Bool(false)) => Err(format!(
                "{} failed{}",
                self.0.source,
                listed(&self.0.plan.explain(Outcome::False, bindings))
            )),
            Ok(other) => Err(format!(
                "{} did not evaluate to a boolean: it returned {}",
                self.0.source,
                render::value(&other)
            )),
            Err(error) => {
                let findings = self.0.plan.explain(Outcome::Error, bindings);
                let absent = !findings.is_empty()
                    && findings
                        .iter()
                        .all(|finding| !matches!(finding, Finding::Problem(_)));
                if findings.is_empty() {
                    return Err(format!("{} could not be evaluated: {error}", self.0.source));
                }
                let verb = if absent {
                    "failed"
                } else {
                    "could not be evaluated"
                };
                Err(format!("{} {verb}{}", self.0.source, listed(&findings)))
            }
        }
    }
}

/// `": a was 1, b was 2"`; problems first, separated by `;` since CEL's own
/// messages contain commas.
fn listed(findings: &[Finding]) -> String {
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

/// A readable syntax error from CEL's, with the column of the first error.
fn syntax(source: &str, errors: &cel::ParseErrors) -> ConditionError {
    let Some(first) = errors.errors.first() else {
        return ConditionError::Syntax {
            expression: source.to_owned(),
            message: errors.to_string(),
            offset: None,
        };
    };
    let (line, column) = first.pos;
    let detail = plain(
        first
            .msg
            .strip_prefix("Syntax error: ")
            .unwrap_or(&first.msg),
    );
    let offset = offset_of(source, line, column);
    let message = match offset {
        Some(offset) if source.contains('\n') => {
            format!(
                "{detail} (line {line}, column {column}, character {})",
                offset + 1
            )
        }
        Some(_) => format!("{detail} (at column {column})"),
        None => detail,
    };
    ConditionError::Syntax {
        expression: source.to_owned(),
        message,
        offset,
    }
}

/// The parser's message without its grammar jargon: ANTLR's `expecting
/// {…}` lists every token class and helps no one writing a condition.
fn plain(message: &str) -> String {
    let quoted = |rest: &str| {
        rest.split_once("' expecting")
            .map(|(input, _)| input.to_owned())
    };
    if message.starts_with("mismatched input '<EOF>'") {
        return "the expression ends too soon".to_owned();
    }
    for prefix in ["mismatched input '", "extraneous input '"] {
        if let Some(input) = message.strip_prefix(prefix).and_then(quoted) {
            return format!("unexpected `{input}`");
        }
    }
    if let Some(rest) = message.strip_prefix("token recognition error at: '") {
        return match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => format!("a string opened with `{quote}` is never closed"),
            Some(character) => format!("unexpected character `{character}`"),
            None => message.to_owned(),
        };
    }
    if let Some(input) = message
        .strip_prefix("no viable alternative at input '")
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return format!("cannot make sense of `{input}`");
    }
    message.to_owned()
}

/// The 0-based character offset of a 1-based line and column.
fn offset_of(source: &str, line: isize, column: isize) -> Option<usize> {
    let line = usize::try_from(line).ok()?.checked_sub(1)?;
    let column = usize::try_from(column).ok()?.checked_sub(1)?;
    let before: usize = source
        .split_inclusive('\n')
        .take(line)
        .map(|text| text.chars().count())
        .sum();
    let offset = before + column;
    (offset <= source.chars().count()).then_some(offset)
}

/// The variables an expression reads, leaving out comprehension variables
/// (`a` in `answers.exists(a, a == "10.0.0.1")`) and type names.
/// The variables read by the entries of a map or struct literal.
fn entry_variables<'e>(
    entries: &'e [cel::common::ast::IdedEntryExpr],
    bound: &mut Vec<&'e str>,
    read: &mut Vec<&'e str>,
) {
    for entry in entries {
        match &entry.expr {
            cel::common::ast::EntryExpr::MapEntry(entry) => {
                free_variables(&entry.key, bound, read);
                free_variables(&entry.value, bound, read);
            }
            cel::common::ast::EntryExpr::StructField(field) => {
                free_variables(&field.value, bound, read);
            }
        }
    }
}

fn free_variables<'e>(expression: &'e IdedExpr, bound: &mut Vec<&'e str>, read: &mut Vec<&'e str>) {
    match &expression.expr {
        Expr::Ident(name) => {
            let name = name.as_str();
            if !name.starts_with('@')
                && !bound.contains(&name)
                && !TYPE_NAMES.contains(&name)
                && !read.contains(&name)
            {
                read.push(name);
            }
        }
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                free_variables(target, bound, read);
            }
            for argument in &call.args {
                free_variables(argument, bound, read);
            }
        }
        Expr::Select(select) => free_variables(&select.operand, bound, read),
        Expr::List(list) => {
            for element in &list.elements {
                free_variables(element, bound, read);
            }
        }
        Expr::Map(map) => entry_variables(&map.entries, bound, read),
        Expr::Struct(structure) => entry_variables(&structure.entries, bound, read),
        Expr::Comprehension(comprehension) => {
            free_variables(&comprehension.iter_range, bound, read);
            free_variables(&comprehension.accu_init, bound, read);
            let depth = bound.len();
            bound.push(&comprehension.iter_var);
            if let Some(second) = &comprehension.iter_var2 {
                bound.push(second);
            }
            bound.push(&comprehension.accu_var);
            free_variables(&comprehension.loop_cond, bound, read);
            free_variables(&comprehension.loop_step, bound, read);
            free_variables(&comprehension.result, bound, read);
            bound.truncate(depth);
        }
        Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// What an expression is when it obviously cannot be a boolean: a literal
/// other than `true`/`false`, a list or map, arithmetic, a bare variable (no
/// variable is a boolean except, possibly, `json`), or a call known to
/// return something else.
fn not_boolean(expression: &IdedExpr) -> Option<String> {
    match &expression.expr {
        Expr::Literal(LiteralValue::Boolean(_)) => None,
        Expr::Literal(LiteralValue::Int(_)) => Some("an int literal".to_owned()),
        Expr::Literal(LiteralValue::UInt(_)) => Some("a uint literal".to_owned()),
        Expr::Literal(LiteralValue::Double(_)) => Some("a double literal".to_owned()),
        Expr::Literal(LiteralValue::String(_)) => Some("a string literal".to_owned()),
        Expr::Literal(LiteralValue::Bytes(_)) => Some("a bytes literal".to_owned()),
        Expr::Literal(LiteralValue::Null) => Some("null".to_owned()),
        Expr::List(_) => Some("a list".to_owned()),
        Expr::Map(_) => Some("a map".to_owned()),
        Expr::Ident(name) => {
            variable_type(name).map(|kind| format!("the variable `{name}`, {kind}"))
        }
        Expr::Call(call) => match call.func_name.as_str() {
            operators::ADD
            | operators::SUBSTRACT
            | operators::MULTIPLY
            | operators::DIVIDE
            | operators::MODULO
            | operators::NEGATE => Some("arithmetic".to_owned()),
            "size" | "int" | "uint" | "double" | "string" | "bytes" | "duration" | "timestamp" => {
                Some(format!("a call to {}()", call.func_name))
            }
            _ => None,
        },
        _ => None,
    }
}

fn variable_type(name: &str) -> Option<&'static str> {
    match name {
        "latency" => Some("a duration"),
        "status" | "exit_code" => Some("an int"),
        "headers" => Some("a map"),
        "cert" => Some("a map (or null)"),
        "body" | "url" | "received" | "stdout" | "stderr" => Some("a string"),
        "answers" => Some("a list"),
        _ => None,
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
pub fn judge(
    expect: &[Condition],
    degraded_if: &[Condition],
    observation: &Observation,
) -> Verdict {
    let up = Verdict {
        health: Health::Up,
        reason: None,
    };
    if expect.is_empty() && degraded_if.is_empty() {
        return up;
    }
    let needed = expect
        .iter()
        .chain(degraded_if)
        .fold(Variables::default(), |all, condition| {
            all.union(condition.0.variables)
        });
    let bindings = crate::condition_context::build(observation, needed);
    for condition in expect {
        if let Err(explanation) = condition.holds(&bindings) {
            return Verdict {
                health: Health::Down,
                reason: Some(explanation),
            };
        }
    }
    for condition in degraded_if {
        if let Ok(Value::Bool(true)) =
            Value::resolve(condition.0.program.expression(), &bindings.context)
        {
            let findings = condition.0.plan.explain(Outcome::True, &bindings);
            return Verdict {
                health: Health::Degraded,
                reason: Some(format!(
                    "{} matched{}",
                    condition.source(),
                    listed(&findings)
                )),
            };
        }
    }
    up
}
