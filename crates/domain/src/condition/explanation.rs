//! Why a condition came out as it did. At compile time the expression is cut
//! into a [`Plan`]: its `&&`, `||` and `!` structure, and for every other
//! part the operands worth naming (`json.status`, `headers["x-cache"]`,
//! `answers` in `size(answers) > 0`). At evaluation time, and only when an
//! explanation is needed, the plan evaluates those parts against the bindings
//! and says which operands decided the result and what they were.

use cel::common::ast::{Expr, IdedExpr, operators};
use cel::{Context, ExecutionError, Value};

use crate::condition::render;
use crate::condition::schema::Size;
use crate::condition_context::{Bindings, standard_env};

/// What an expression, or a part of it, evaluated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    True,
    False,
    /// An error, or a value that is not a boolean.
    Error,
}

impl Outcome {
    fn of(expression: &IdedExpr, context: &Context<'_, '_>) -> Outcome {
        match Value::resolve(expression, context) {
            Ok(Value::Bool(true)) => Outcome::True,
            Ok(Value::Bool(false)) => Outcome::False,
            _ => Outcome::Error,
        }
    }

    fn negated(self) -> Outcome {
        match self {
            Outcome::True => Outcome::False,
            Outcome::False => Outcome::True,
            Outcome::Error => Outcome::Error,
        }
    }
}

/// One thing an explanation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finding {
    /// An operand and its value: `status was 503`.
    Value(String),
    /// The answer lacks what the condition reads, so the condition fails:
    /// `the body is not JSON (…)`, `cert is null: the target is not HTTPS`.
    Absent(String),
    /// Something the condition reads could not be evaluated:
    /// `json.data is missing`, or CEL's own error.
    Problem(String),
}

/// A compiled condition's explanation structure.
#[derive(Debug)]
pub(crate) struct Plan {
    root: Node,
}

#[derive(Debug)]
enum Node {
    /// `a && b && …`: the false (or failing) parts decide.
    All {
        expression: IdedExpr,
        parts: Vec<Node>,
    },
    /// `a || b || …`: the true (or failing) parts decide, or all of them.
    Any {
        expression: IdedExpr,
        parts: Vec<Node>,
    },
    Not {
        expression: IdedExpr,
        inner: Box<Node>,
    },
    /// Anything else: a comparison, a call, a ternary.
    Leaf {
        expression: IdedExpr,
        operands: Vec<Operand>,
    },
}

impl Node {
    fn expression(&self) -> &IdedExpr {
        match self {
            Node::All { expression, .. }
            | Node::Any { expression, .. }
            | Node::Not { expression, .. }
            | Node::Leaf { expression, .. } => expression,
        }
    }
}

/// A variable, or a path into one (`json.data.version`,
/// `headers["x-cache"]`), kept with each of its prefixes so a failure can be
/// pinned on the step that failed.
#[derive(Debug)]
struct Operand {
    /// Root first, the whole operand last.
    steps: Vec<Step>,
}

#[derive(Debug)]
struct Step {
    text: String,
    expression: IdedExpr,
}

impl Operand {
    fn text(&self) -> &str {
        self.steps.last().map_or("", |step| step.text.as_str())
    }
}

impl Plan {
    pub(crate) fn compile(expression: &IdedExpr) -> Plan {
        // literals are rendered once, here, never at evaluation time
        let context = Context::with_env(standard_env());
        Plan {
            root: node(expression, &context),
        }
    }

    /// Why the whole condition came out as `outcome`.
    pub(crate) fn explain(&self, outcome: Outcome, bindings: &Bindings) -> Vec<Finding> {
        let mut findings = Vec::new();
        explain(&self.root, outcome, bindings, &mut findings);
        let mut unique: Vec<Finding> = Vec::with_capacity(findings.len());
        for finding in findings {
            if !unique.contains(&finding) {
                unique.push(finding);
            }
        }
        unique
    }
}

fn node(expression: &IdedExpr, literals: &Context<'_, '_>) -> Node {
    if let Expr::Call(call) = &expression.expr
        && call.target.is_none()
    {
        match call.func_name.as_str() {
            operators::LOGICAL_AND | operators::LOGICAL_OR => {
                let mut terms = Vec::new();
                flatten(expression, &call.func_name, &mut terms);
                let parts = terms.into_iter().map(|term| node(term, literals)).collect();
                return if call.func_name == operators::LOGICAL_AND {
                    Node::All {
                        expression: expression.clone(),
                        parts,
                    }
                } else {
                    Node::Any {
                        expression: expression.clone(),
                        parts,
                    }
                };
            }
            operators::LOGICAL_NOT => {
                if let [inner] = call.args.as_slice() {
                    return Node::Not {
                        expression: expression.clone(),
                        inner: Box::new(node(inner, literals)),
                    };
                }
            }
            _ => {}
        }
    }
    let mut operands = Vec::new();
    collect_operands(expression, &mut Vec::new(), literals, &mut operands);
    Node::Leaf {
        expression: expression.clone(),
        operands,
    }
}

/// The terms of a chain of the same logical operator, left to right.
fn flatten<'e>(expression: &'e IdedExpr, function: &str, terms: &mut Vec<&'e IdedExpr>) {
    match &expression.expr {
        Expr::Call(call) if call.target.is_none() && call.func_name == function => {
            for argument in &call.args {
                flatten(argument, function, terms);
            }
        }
        _ => terms.push(expression),
    }
}

/// The operands of a part worth naming: every path into a variable that is
/// not a comprehension's own variable. Literals say nothing new.
fn collect_operands<'e>(
    expression: &'e IdedExpr,
    bound: &mut Vec<&'e str>,
    literals: &Context<'_, '_>,
    operands: &mut Vec<Operand>,
) {
    if let Some(steps) = path(expression, bound, literals) {
        if !operands
            .iter()
            .any(|known| known.text() == steps_text(&steps))
        {
            operands.push(Operand { steps });
        }
        return;
    }
    match &expression.expr {
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                collect_operands(target, bound, literals, operands);
            }
            for argument in &call.args {
                collect_operands(argument, bound, literals, operands);
            }
        }
        Expr::Select(select) => collect_operands(&select.operand, bound, literals, operands),
        Expr::List(list) => {
            for element in &list.elements {
                collect_operands(element, bound, literals, operands);
            }
        }
        Expr::Map(map) => {
            for entry in &map.entries {
                if let cel::common::ast::EntryExpr::MapEntry(entry) = &entry.expr {
                    collect_operands(&entry.key, bound, literals, operands);
                    collect_operands(&entry.value, bound, literals, operands);
                }
            }
        }
        Expr::Comprehension(comprehension) => {
            collect_operands(&comprehension.iter_range, bound, literals, operands);
            let depth = bound.len();
            bound.push(&comprehension.iter_var);
            if let Some(second) = &comprehension.iter_var2 {
                bound.push(second);
            }
            bound.push(&comprehension.accu_var);
            collect_operands(&comprehension.loop_step, bound, literals, operands);
            bound.truncate(depth);
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Struct(_) | Expr::Unspecified => {}
    }
}

fn steps_text(steps: &[Step]) -> &str {
    steps.last().map_or("", |step| step.text.as_str())
}

/// The steps of `expression` when it is a variable, a field of a path, or a
/// path indexed by a literal; `None` for anything else.
fn path(expression: &IdedExpr, bound: &[&str], literals: &Context<'_, '_>) -> Option<Vec<Step>> {
    match &expression.expr {
        Expr::Ident(name) => {
            if name.starts_with('@') || bound.contains(&name.as_str()) {
                return None;
            }
            Some(vec![Step {
                text: name.clone(),
                expression: expression.clone(),
            }])
        }
        Expr::Select(select) if !select.test => {
            let mut steps = path(&select.operand, bound, literals)?;
            let text = if is_identifier(&select.field) {
                format!("{}.{}", steps_text(&steps), select.field)
            } else {
                format!("{}.`{}`", steps_text(&steps), select.field)
            };
            steps.push(Step {
                text,
                expression: expression.clone(),
            });
            Some(steps)
        }
        Expr::Call(call) if call.target.is_none() && call.func_name == operators::INDEX => {
            let [operand, index] = call.args.as_slice() else {
                return None;
            };
            if !matches!(index.expr, Expr::Literal(_)) {
                return None;
            }
            let key = Value::resolve(index, literals).ok()?;
            let mut steps = path(operand, bound, literals)?;
            let text = format!("{}[{}]", steps_text(&steps), render::value(&key));
            steps.push(Step {
                text,
                expression: expression.clone(),
            });
            Some(steps)
        }
        _ => None,
    }
}

fn is_identifier(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|rest| rest.is_ascii_alphanumeric() || rest == '_')
}

fn explain(node: &Node, outcome: Outcome, bindings: &Bindings, findings: &mut Vec<Finding>) {
    match node {
        Node::All { parts, .. } | Node::Any { parts, .. } => {
            let is_all = matches!(node, Node::All { .. });
            // the outcome every part had (true for `&&`, false for `||`) says
            // nothing about which part decided: then all of them did
            let decided_by_all = match outcome {
                Outcome::True => is_all,
                Outcome::False => !is_all,
                Outcome::Error => false,
            };
            let before = findings.len();
            for part in parts {
                let part_outcome = Outcome::of(part.expression(), &bindings.context);
                if decided_by_all || part_outcome == outcome {
                    explain(part, part_outcome, bindings, findings);
                }
            }
            if findings.len() == before {
                // nothing matched the outcome (a part that is not a boolean):
                // say what every part read
                for part in parts {
                    let part_outcome = Outcome::of(part.expression(), &bindings.context);
                    explain(part, part_outcome, bindings, findings);
                }
            }
        }
        Node::Not { inner, .. } => explain(inner, outcome.negated(), bindings, findings),
        Node::Leaf {
            expression,
            operands,
        } => {
            let before = findings.len();
            let mut values = Vec::new();
            let mut nulls = Vec::new();
            for operand in operands {
                match evaluate(operand, bindings) {
                    Ok(value) => {
                        if value == Value::Null {
                            nulls.push(null(operand.text(), bindings));
                        }
                        values.push(Finding::Value(format!(
                            "{} was {}",
                            operand.text(),
                            render::value(&value)
                        )));
                    }
                    Err(finding) => findings.push(finding),
                }
            }
            if outcome != Outcome::Error {
                findings.extend(values);
            } else if findings.len() == before && !nulls.is_empty() {
                // `has(json.status)` on a body that is not JSON
                findings.extend(nulls);
            } else if findings.len() == before {
                // every operand has a value: the expression itself is at fault
                match Value::resolve(expression, &bindings.context) {
                    Err(error) => findings.push(Finding::Problem(readable(&error))),
                    Ok(Value::Bool(_)) => {}
                    Ok(other) => findings.push(Finding::Problem(format!(
                        "it returned {}, not a boolean",
                        render::value(&other)
                    ))),
                }
                findings.extend(values);
            }
        }
    }
}

/// The operand's value, or why it has none.
fn evaluate(operand: &Operand, bindings: &Bindings) -> Result<Value, Finding> {
    let mut previous: Option<(&Step, Value)> = None;
    for step in &operand.steps {
        match Value::resolve(&step.expression, &bindings.context) {
            Ok(value) => previous = Some((step, value)),
            Err(error) => return Err(diagnose(previous, step, &error, bindings)),
        }
    }
    match previous {
        Some((_, value)) => Ok(value),
        None => Err(Finding::Problem(format!(
            "{} could not be evaluated",
            operand.text()
        ))),
    }
}

/// Why the operand `text` is null, in the words of what it stands for.
fn null(text: &str, bindings: &Bindings) -> Finding {
    let variable = bindings.schema.variable(text).map(|(_, variable)| variable);
    if variable.is_some_and(|variable| variable.size == Size::Parsed) {
        return match &bindings.json_error {
            Some(reason) => {
                Finding::Absent(format!("{} is not JSON ({reason})", bindings.json_source()))
            }
            None => Finding::Absent(format!(
                "{text} is null: {} is the JSON value null",
                bindings.json_source()
            )),
        };
    }
    match variable.and_then(|variable| variable.null_when) {
        Some(why) => Finding::Absent(format!("{text} is null: {why}")),
        None => Finding::Absent(format!("{text} is null")),
    }
}

/// Why `step` failed, given the value of the step before it.
fn diagnose(
    previous: Option<(&Step, Value)>,
    step: &Step,
    error: &ExecutionError,
    bindings: &Bindings,
) -> Finding {
    let Some((container, value)) = previous else {
        return Finding::Problem(format!(
            "{} is not available: {}",
            step.text,
            readable(error)
        ));
    };
    if value == Value::Null {
        return null(&container.text, bindings);
    }
    if !matches!(value, Value::Map(_) | Value::List(_)) {
        return Finding::Problem(format!(
            "{} could not be read: {} was {}, which has no fields",
            step.text,
            container.text,
            render::value(&value)
        ));
    }
    match error {
        ExecutionError::NoSuchKey(_) if container.text == "headers" => Finding::Problem(format!(
            "{} is missing: the response has no such header",
            step.text
        )),
        ExecutionError::NoSuchKey(_) => Finding::Problem(format!("{} is missing", step.text)),
        ExecutionError::IndexOutOfBounds(_) => Finding::Problem(format!(
            "{} is out of range: {} was {}",
            step.text,
            container.text,
            render::value(&value)
        )),
        other => Finding::Problem(format!(
            "{} could not be read ({}): {} was {}",
            step.text,
            readable(other),
            container.text,
            render::value(&value)
        )),
    }
}

/// CEL's error in words a config author reads.
fn readable(error: &ExecutionError) -> String {
    match error {
        ExecutionError::NoSuchKey(key) => format!("no key {key:?}"),
        ExecutionError::UndeclaredReference(name) => format!("`{name}` is not defined"),
        ExecutionError::ValuesNotComparable(left, right) => format!(
            "{} cannot be compared to {}",
            render::value(left),
            render::value(right)
        ),
        ExecutionError::DivisionByZero(value) => {
            format!("division of {} by zero", render::value(value))
        }
        ExecutionError::RemainderByZero(value) => {
            format!("remainder of {} by zero", render::value(value))
        }
        other => other.to_string(),
    }
}
