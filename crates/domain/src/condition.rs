//! Conditions in CEL: compiled once at config load against a [`Schema`] of
//! the variables they may read, evaluated against an observation (or, for
//! other schemas, whatever their owner binds); a failed condition explains
//! itself with the actual values
//! (`json.status == "ok" failed: json.status was "degraded"`).
//!
//! A probe kind's schema is `monitor::ProbeKind::schema` (its variables are
//! listed in docs/probes.md); alert rules and runbook steps bring their own.

use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr, LiteralValue, operators};

use crate::condition::cost::{AnswerLimit, MEMORY_LIMIT, STEP_LIMIT, bytes_text, steps_text};
use crate::condition::explanation::Plan;
use crate::condition::syntax::syntax;
use crate::condition_context::Variables;

pub mod cost;
mod explanation;
mod facts;
mod judge;
pub(crate) mod meter;
mod nesting;
mod render;
pub mod schema;
mod syntax;
pub use cost::Cost;
pub use facts::{Fact, Facts, Truth};
pub use judge::{Verdict, judge, judge_within, judges_quickly};
pub use meter::Budget;
pub use render::excerpt;
pub use schema::Schema;
#[cfg(test)]
mod tests;

/// An error quotes at most this many characters of a condition's source.
const QUOTED_SOURCE_CHARS: usize = 120;
/// A result's reason starts with the condition that decided it, cut here.
const REASON_SOURCE_CHARS: usize = 200;
/// A condition whose worst case on the answer it was given is under this
/// many steps is judged on the async runtime; a costlier one on a blocking
/// thread. About half a millisecond (docs/probes.md).
const INLINE_STEPS: f64 = 10_000.0;

/// One compiled expression, the source it came from, and how to explain it.
/// A cheap handle: clones share one compilation, so a config where many
/// monitors repeat `status == 200` compiles and keeps it once.
#[derive(Clone)]
pub struct Condition(Arc<Compiled>);

struct Compiled {
    source: String,
    program: cel::Program,
    /// The expression with every loop metered (see `meter`), when it has a
    /// loop; evaluation and explanations run it instead of the program's.
    metered: Option<IdedExpr>,
    /// Which parts and operands to name when the result needs explaining;
    /// built here so that evaluation never parses anything.
    plan: Plan,
    /// What it may read, and so how it is bound and what it can cost.
    schema: &'static Schema,
    /// The variables the expression reads, so a judge binds only those.
    variables: Variables,
    /// The longest answer (in bytes) this condition is judged on the async
    /// runtime for; `None` when even an empty answer is too costly for it.
    inline_up_to: Option<u64>,
}

/// Two conditions are the same when their source is: a monitor's probe
/// kind and answer limit, which also shape the compilation, are compared
/// with the monitor.
impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.0.source == other.0.source
    }
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Condition").field(&self.0.source).finish()
    }
}

/// Errors quote the expression cut to [`QUOTED_SOURCE_CHARS`], so a huge
/// one cannot make a huge message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// `message` names the column (1-based); `offset` is the 0-based
    /// character offset of the error inside `expression`, when CEL gives it.
    #[error("invalid CEL expression {}: {message}", quoted(.expression))]
    Syntax {
        expression: String,
        message: String,
        offset: Option<usize>,
    },
    #[error(
        "unknown variable `{variable}` in {}; {}{subject} has: {available}",
        quoted(.expression),
        suggestion.as_ref().map(|name| format!("did you mean `{name}`? ")).unwrap_or_default()
    )]
    UnknownVariable {
        expression: String,
        variable: String,
        /// The closest known name, when one is close.
        suggestion: Option<&'static str>,
        subject: &'static str,
        available: String,
    },
    /// The expression can never be `true` or `false`, e.g. `200` or `body`.
    #[error(
        "{} is not a condition: it is {found}, never true or false; \
         compare it, as in `status == 200`",
        quoted(.expression)
    )]
    NotBoolean { expression: String, found: String },
    /// Its worst case on the largest answer the probe allows is over the
    /// step or memory limit (`cost`).
    #[error("{} is too expensive to evaluate: {detail}", quoted(.expression))]
    TooExpensive { expression: String, detail: String },
}

fn quoted(source: &str) -> String {
    excerpt(source, QUOTED_SOURCE_CHARS)
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
    /// Compiles `source` for `schema` (a probe kind converts into its own):
    /// a syntax error, a variable the schema lacks, or an expression that
    /// can never be true or false is an error.
    pub fn compile(
        source: &str,
        schema: impl Into<&'static Schema>,
    ) -> Result<Self, ConditionError> {
        let schema = schema.into();
        if nesting::too_deep(source) {
            return Err(ConditionError::Syntax {
                expression: source.to_owned(),
                message: format!(
                    "it nests brackets and conditionals more than {} deep; split it into several conditions",
                    nesting::MAX_NESTING
                ),
                offset: None,
            });
        }
        let program = cel::Program::compile(source).map_err(|errors| syntax(source, &errors))?;
        let mut read = Vec::new();
        free_variables(program.expression(), &mut Vec::new(), &mut read);
        let mut variables = Variables::default();
        for name in read {
            let Some((index, _)) = schema.variable(name) else {
                return Err(ConditionError::UnknownVariable {
                    expression: source.to_owned(),
                    variable: name.to_owned(),
                    suggestion: crate::suggest::closest(name, schema.names()),
                    subject: schema.subject,
                    available: schema.names().collect::<Vec<_>>().join(", "),
                });
            };
            variables.insert(index);
        }
        if let Some(found) = not_boolean(program.expression(), schema) {
            return Err(ConditionError::NotBoolean {
                expression: source.to_owned(),
                found,
            });
        }
        let metered = meter::instrument(program.expression());
        let plan = Plan::compile(metered.as_ref().unwrap_or(program.expression()));
        let inline_up_to = largest_answer(|bytes| {
            cost::estimate(program.expression(), schema, bytes).steps
                + cost::binding_steps(schema, variables, bytes)
                <= INLINE_STEPS
        });
        Ok(Self(Arc::new(Compiled {
            source: source.to_owned(),
            program,
            metered,
            plan,
            schema,
            variables,
            inline_up_to,
        })))
    }

    pub fn source(&self) -> &str {
        &self.0.source
    }

    pub fn program(&self) -> &cel::Program {
        &self.0.program
    }

    /// What the interpreter evaluates: the metered tree when there is one.
    fn evaluated(&self) -> &IdedExpr {
        self.0
            .metered
            .as_ref()
            .unwrap_or(self.0.program.expression())
    }

    /// The source as a reason quotes it.
    fn shown(&self) -> std::borrow::Cow<'_, str> {
        let source = &self.0.source;
        match source.char_indices().nth(REASON_SOURCE_CHARS) {
            None => std::borrow::Cow::Borrowed(source),
            Some((cut, _)) => std::borrow::Cow::Owned(format!("{}…", &source[..cut])),
        }
    }

    /// The worst case of evaluating it on an answer of up to `answer_bytes`.
    pub fn worst_case(&self, answer_bytes: u64) -> Cost {
        cost::estimate(self.0.program.expression(), self.0.schema, answer_bytes)
    }

    /// Refuses a condition whose worst case on the largest answer `limit`
    /// allows is over the step or memory limit, saying by how much and, when
    /// a smaller limit would do, which.
    pub fn check_cost(&self, limit: AnswerLimit) -> Result<Cost, ConditionError> {
        let worst = self.worst_case(limit.bytes);
        if worst.within_limits() {
            return Ok(worst);
        }
        let over = if worst.steps > STEP_LIMIT {
            format!(
                "it can take {} steps, and a condition may take at most {} (about half a second)",
                steps_text(worst.steps),
                steps_text(STEP_LIMIT)
            )
        } else {
            format!(
                "it can allocate {}, and a condition may allocate at most {}",
                bytes_text(worst.memory),
                bytes_text(MEMORY_LIMIT)
            )
        };
        let fits = largest_answer(|bytes| self.worst_case(bytes).within_limits())
            .filter(|_| self.worst_case(0).within_limits());
        let answer = bytes_text(limit.bytes as f64);
        let detail = match (fits, limit.key) {
            (None, _) => format!("{over}, whatever the answer"),
            (Some(fits), Some(key)) => format!(
                "on an answer of up to {answer} (`{key}`) {over}; it fits with `{key}` up to {}",
                bytes_text(round_down(fits) as f64)
            ),
            (Some(_), None) => format!("on an answer of up to {answer} {over}"),
        };
        Err(ConditionError::TooExpensive {
            expression: self.0.source.clone(),
            detail,
        })
    }
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
fn not_boolean(expression: &IdedExpr, schema: &Schema) -> Option<String> {
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
        Expr::Ident(name) => schema
            .variable(name)
            .map(|(_, variable)| variable.kind)
            // a document (`json`) may be a bool; nothing else is
            .filter(|kind| !matches!(kind, schema::ValueKind::Any | schema::ValueKind::Bool))
            .map(|kind| format!("the variable `{name}`, {}", kind.described())),
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

/// The largest answer, in bytes, for which `fits` holds (it must only turn
/// false as the answer grows); `None` when it fails even on an empty one.
fn largest_answer(fits: impl Fn(u64) -> bool) -> Option<u64> {
    const LARGEST: u64 = 1 << 40;
    if !fits(0) {
        return None;
    }
    if fits(LARGEST) {
        return Some(LARGEST);
    }
    let (mut low, mut high) = (0, LARGEST);
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if fits(middle) {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some(low)
}

/// `bytes` rounded down to a whole number of its largest binary unit, so a
/// limit suggested in an error really fits.
fn round_down(bytes: u64) -> u64 {
    let mut unit = 1u64;
    while unit.saturating_mul(1024) <= bytes && unit < 1 << 50 {
        unit *= 1024;
    }
    bytes / unit * unit
}
#[cfg(test)]
mod budget_tests;
