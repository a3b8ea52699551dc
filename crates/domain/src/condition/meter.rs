//! The runtime budget of one evaluation. CEL's interpreter has no step
//! counter, so a condition with a loop (`all`, `exists`, `exists_one`,
//! `map`, `filter`) is evaluated from a rewritten tree in which every loop
//! calls [`TICK`] once per iteration with the number of nodes that
//! iteration evaluates. The tick takes those steps from the [`Meter`]; once
//! the budget is spent it fails, and the failure ends each enclosing loop at
//! its next iteration, so an evaluation stops within one iteration's work
//! of its budget. A condition without a loop evaluates every node at most
//! once, so its cost is what [`super::cost`] estimates and it is not
//! rewritten.
//!
//! The rewrite keeps the shapes the interpreter optimises: `map` and
//! `filter` still append in place (the tick becomes the step's guard), and
//! `all`/`exists` still stop early (the tick guards their loop condition).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue, operators};
use cel::{Context, ExecutionError};

use crate::condition::cost::STEP_LIMIT;

/// The function a rewritten loop calls; `@` names cannot be written in a
/// condition, so no user expression can call or shadow it.
pub(crate) const TICK: &str = "@watchkeeper_tick";

/// How many steps one evaluation of a condition may take at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub steps: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            steps: STEP_LIMIT as u64,
        }
    }
}

/// The steps left in the evaluation under way, shared with the tick
/// function registered in its context.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    remaining: AtomicI64,
    exceeded: AtomicBool,
}

impl Meter {
    pub(crate) fn start(&self, budget: Budget) {
        let steps = i64::try_from(budget.steps).unwrap_or(i64::MAX);
        self.remaining.store(steps, Ordering::Relaxed);
        self.exceeded.store(false, Ordering::Relaxed);
    }

    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }

    fn charge(&self, steps: i64) -> Result<bool, ExecutionError> {
        let before = self.remaining.fetch_sub(steps, Ordering::Relaxed);
        if before < steps {
            self.exceeded.store(true, Ordering::Relaxed);
            return Err(ExecutionError::function_error(
                TICK,
                "the evaluation budget is spent",
            ));
        }
        Ok(true)
    }
}

/// Makes [`TICK`] available to the rewritten trees evaluated in `context`.
pub(crate) fn register(context: &mut Context<'static, 'static>, meter: &Arc<Meter>) {
    let meter = Arc::clone(meter);
    // cannot conflict: no standard function has an `@` name
    let _ = context.add_function(TICK, move |steps: i64| meter.charge(steps));
}

/// `expression` with every loop metered, or `None` when it has no loop.
pub(crate) fn instrument(expression: &IdedExpr) -> Option<IdedExpr> {
    if !has_loop(expression) {
        return None;
    }
    let mut metered = expression.clone();
    rewrite(&mut metered);
    Some(metered)
}

fn has_loop(expression: &IdedExpr) -> bool {
    let mut found = false;
    visit(expression, &mut |node| {
        found |= matches!(node.expr, Expr::Comprehension(_));
    });
    found
}

/// Calls `f` on `expression` and every node below it.
fn visit(expression: &IdedExpr, f: &mut dyn FnMut(&IdedExpr)) {
    f(expression);
    match &expression.expr {
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                visit(target, f);
            }
            for argument in &call.args {
                visit(argument, f);
            }
        }
        Expr::Select(select) => visit(&select.operand, f),
        Expr::List(list) => {
            for element in &list.elements {
                visit(element, f);
            }
        }
        Expr::Map(map) => {
            for entry in &map.entries {
                if let EntryExpr::MapEntry(entry) = &entry.expr {
                    visit(&entry.key, f);
                    visit(&entry.value, f);
                }
            }
        }
        Expr::Struct(structure) => {
            for entry in &structure.entries {
                if let EntryExpr::StructField(field) = &entry.expr {
                    visit(&field.value, f);
                }
            }
        }
        Expr::Comprehension(comprehension) => {
            for part in [
                &comprehension.iter_range,
                &comprehension.accu_init,
                &comprehension.loop_cond,
                &comprehension.loop_step,
                &comprehension.result,
            ] {
                visit(part, f);
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// The nodes one evaluation of `expression` touches, counting an inner
/// loop's range, initial value and result but not its iterations (those
/// tick on their own).
fn nodes(expression: &IdedExpr) -> i64 {
    match &expression.expr {
        Expr::Comprehension(comprehension) => {
            1 + nodes(&comprehension.iter_range)
                + nodes(&comprehension.accu_init)
                + nodes(&comprehension.result)
        }
        Expr::Call(call) => {
            1 + call.target.as_deref().map_or(0, nodes) + call.args.iter().map(nodes).sum::<i64>()
        }
        Expr::Select(select) => 1 + nodes(&select.operand),
        Expr::List(list) => 1 + list.elements.iter().map(nodes).sum::<i64>(),
        Expr::Map(map) => {
            1 + map
                .entries
                .iter()
                .map(|entry| match &entry.expr {
                    EntryExpr::MapEntry(entry) => nodes(&entry.key) + nodes(&entry.value),
                    EntryExpr::StructField(field) => nodes(&field.value),
                })
                .sum::<i64>()
        }
        Expr::Struct(structure) => {
            1 + structure
                .entries
                .iter()
                .map(|entry| match &entry.expr {
                    EntryExpr::MapEntry(entry) => nodes(&entry.key) + nodes(&entry.value),
                    EntryExpr::StructField(field) => nodes(&field.value),
                })
                .sum::<i64>()
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => 1,
    }
}

/// Rewrites every loop below and including `expression`, innermost first.
fn rewrite(expression: &mut IdedExpr) {
    match &mut expression.expr {
        Expr::Call(call) => {
            if let Some(target) = &mut call.target {
                rewrite(target);
            }
            call.args.iter_mut().for_each(rewrite);
        }
        Expr::Select(select) => rewrite(&mut select.operand),
        Expr::List(list) => list.elements.iter_mut().for_each(rewrite),
        Expr::Map(map) => {
            for entry in &mut map.entries {
                match &mut entry.expr {
                    EntryExpr::MapEntry(entry) => {
                        rewrite(&mut entry.key);
                        rewrite(&mut entry.value);
                    }
                    EntryExpr::StructField(field) => rewrite(&mut field.value),
                }
            }
        }
        Expr::Struct(structure) => {
            for entry in &mut structure.entries {
                if let EntryExpr::StructField(field) = &mut entry.expr {
                    rewrite(&mut field.value);
                }
            }
        }
        Expr::Comprehension(comprehension) => {
            // the weight is the loop as written, plus the tick itself
            let weight = nodes(&comprehension.loop_cond) + nodes(&comprehension.loop_step) + 2;
            for part in [
                &mut comprehension.iter_range,
                &mut comprehension.accu_init,
                &mut comprehension.loop_cond,
                &mut comprehension.loop_step,
                &mut comprehension.result,
            ] {
                rewrite(part);
            }
            if matches!(comprehension.loop_cond.expr, Expr::Literal(_)) {
                // `map`, `filter`, `exists_one`: guard the step, so a `map`
                // keeps the `guard ? @result + [x] : @result` shape the
                // interpreter appends in place for
                let step = std::mem::take(&mut comprehension.loop_step);
                comprehension.loop_step = match step.expr {
                    Expr::Call(mut call)
                        if call.func_name == operators::CONDITIONAL && call.args.len() == 3 =>
                    {
                        let guard = std::mem::take(&mut call.args[0]);
                        call.args[0] = ticked(weight, guard);
                        IdedExpr {
                            id: step.id,
                            expr: Expr::Call(call),
                        }
                    }
                    expr => {
                        let accumulator = node(Expr::Ident(comprehension.accu_var.clone()));
                        conditional(tick(weight), IdedExpr { id: step.id, expr }, accumulator)
                    }
                };
            } else {
                // `all`, `exists`: guard the loop condition
                let condition = std::mem::take(&mut comprehension.loop_cond);
                comprehension.loop_cond = ticked(weight, condition);
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// `tick(weight) ? inner : false`: a conditional, not `&&`, because `&&`
/// would let a false `inner` absorb the tick's failure.
fn ticked(weight: i64, inner: IdedExpr) -> IdedExpr {
    conditional(
        tick(weight),
        inner,
        node(Expr::Literal(LiteralValue::Boolean(false.into()))),
    )
}

fn tick(weight: i64) -> IdedExpr {
    node(Expr::Call(CallExpr {
        func_name: TICK.to_owned(),
        target: None,
        args: vec![node(Expr::Literal(LiteralValue::Int(weight.into())))],
    }))
}

fn conditional(condition: IdedExpr, then: IdedExpr, otherwise: IdedExpr) -> IdedExpr {
    node(Expr::Call(CallExpr {
        func_name: operators::CONDITIONAL.to_owned(),
        target: None,
        args: vec![condition, then, otherwise],
    }))
}

/// Added nodes have no place in the source; id 0 is never a parsed node's.
fn node(expr: Expr) -> IdedExpr {
    IdedExpr { id: 0, expr }
}
