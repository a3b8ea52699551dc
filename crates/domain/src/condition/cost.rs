//! What a condition can cost before it ever runs: a worst-case estimate of
//! its evaluation steps and of the memory it allocates, from its syntax tree
//! and the largest answer its probe can return (as Kubernetes estimates CEL
//! validation rules against a schema's `maxLength` and `maxItems`).
//!
//! The estimate is an upper bound, not a prediction: every list from the
//! answer is taken to be as long as the answer allows (a JSON document of
//! `n` bytes holds at most `n / 2` elements in any array), every string as
//! long as the whole answer, and every element as large as its container.
//! A condition whose worst case is over [`STEP_LIMIT`] or [`MEMORY_LIMIT`] is
//! refused at load with its position; what passes cannot freeze the daemon
//! whatever the target sends. The runtime budget (`meter`) backs it up.
//!
//! One step is about one node of the expression evaluated once; scanning or
//! copying [`BYTES_PER_STEP`] bytes of a string is one step too. The
//! figures these constants rest on are measured in `docs/probes.md`
//! ("Condition cost").

use cel::common::ast::{
    CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue, operators,
};

use crate::condition::schema::{Schema, Size};
use crate::condition_context::Variables;

/// The most bytes of answer text (an http body, a command's stdout or
/// stderr, a tcp reply) a probe hands its conditions: what the worst case
/// of a variable of [`Size::Answer`] or [`Size::Parsed`] is taken to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerLimit {
    pub bytes: u64,
    /// The key that sets it, when one does, for "it fits with `body_limit`
    /// up to 2 KiB".
    pub key: Option<&'static str>,
}

/// The most steps a condition may take on the largest answer its probe can
/// return; about half a second of one core in the worst case.
pub const STEP_LIMIT: f64 = 10_000_000.0;
/// The most memory a condition may allocate while it is evaluated, beyond
/// the answer itself.
pub const MEMORY_LIMIT: f64 = 64.0 * 1024.0 * 1024.0;
/// Bytes of a string scanned, compared or copied per step (a `memchr` or
/// `memcpy` of this much costs less than one interpreted node).
pub const BYTES_PER_STEP: f64 = 10.0;
/// Memory charged for one element of a list or map built during
/// evaluation: a boxed value and its slot.
const ELEMENT_BYTES: f64 = 64.0;
/// Steps charged per byte of a regular expression's pattern to compile it
/// (`matches` compiles its pattern on every evaluation).
const REGEX_COMPILE_STEPS_PER_BYTE: f64 = 20.0;
/// Memory charged per byte of a pattern for the compiled automaton.
const REGEX_BYTES_PER_PATTERN_BYTE: f64 = 256.0;
/// An estimate: evaluation steps and bytes allocated.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    pub steps: f64,
    pub memory: f64,
}

impl Cost {
    const STEP: Cost = Cost {
        steps: 1.0,
        memory: 0.0,
    };

    fn steps(steps: f64) -> Cost {
        Cost { steps, memory: 0.0 }
    }

    pub fn within_limits(&self) -> bool {
        self.steps <= STEP_LIMIT && self.memory <= MEMORY_LIMIT
    }

    fn times(self, factor: f64) -> Cost {
        Cost {
            steps: self.steps * factor,
            memory: self.memory * factor,
        }
    }

    fn max(self, other: Cost) -> Cost {
        Cost {
            steps: self.steps.max(other.steps),
            memory: self.memory.max(other.memory),
        }
    }
}

impl std::ops::Add for Cost {
    type Output = Cost;

    fn add(self, other: Cost) -> Cost {
        Cost {
            steps: self.steps + other.steps,
            memory: self.memory + other.memory,
        }
    }
}

impl std::iter::Sum for Cost {
    fn sum<I: Iterator<Item = Cost>>(costs: I) -> Cost {
        costs.fold(Cost::default(), |total, cost| total + cost)
    }
}

/// How large a value can be: its elements (a list's or map's) and its bytes
/// (a string's, or everything an aggregate holds).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Extent {
    items: f64,
    bytes: f64,
    /// A number, bool, duration or null: `+` adds instead of concatenating.
    scalar: bool,
}

const SCALAR: Extent = Extent {
    items: 0.0,
    bytes: 8.0,
    scalar: true,
};

/// An empty string, list or map.
const EMPTY: Extent = Extent {
    items: 0.0,
    bytes: 0.0,
    scalar: false,
};

/// Loops nested deeper than this are estimated with every element as large
/// as its range (see [`Walker::iterations`]).
const PRECISE_LOOPS: u32 = 4;

impl Extent {
    fn text(bytes: f64) -> Extent {
        Extent {
            items: 0.0,
            bytes,
            scalar: false,
        }
    }

    fn max(self, other: Extent) -> Extent {
        Extent {
            items: self.items.max(other.items),
            bytes: self.bytes.max(other.bytes),
            scalar: self.scalar && other.scalar,
        }
    }

    /// Both together: what a concatenation holds, or a sum over loop
    /// iterations (which stays scalar when every part is).
    fn plus(self, other: Extent) -> Extent {
        Extent {
            items: self.items + other.items,
            bytes: self.bytes + other.bytes,
            scalar: self.scalar && other.scalar,
        }
    }

    fn times(self, factor: f64) -> Extent {
        Extent {
            items: self.items * factor,
            bytes: self.bytes * factor,
            scalar: self.scalar,
        }
    }

    /// Steps to scan or compare the whole value.
    fn scan(self) -> f64 {
        self.items + self.bytes / BYTES_PER_STEP
    }

    /// Bytes to hold a copy of it.
    fn memory(self) -> f64 {
        self.items * ELEMENT_BYTES + self.bytes
    }
}

/// The worst case of `expression` on a probe whose answer text (body,
/// output, received bytes) is at most `answer_bytes` long. Variables a probe
/// kind does not have never appear: `Condition::compile` refuses them.
pub(crate) fn estimate(expression: &IdedExpr, schema: &Schema, answer_bytes: u64) -> Cost {
    let mut walker = Walker {
        schema,
        loops: 0,
        answer: answer_bytes as f64,
        scope: Vec::new(),
    };
    walker.walk(expression).cost
}

/// What binding the variables a condition reads costs before it runs:
/// parsing the answer as JSON for `json`, copying it into a string for
/// `body`, `stdout`, `stderr` or `received`.
pub(crate) fn binding_steps(schema: &Schema, variables: Variables, answer_bytes: u64) -> f64 {
    let answer = answer_bytes as f64;
    let reads = |size: Size| {
        schema
            .variables
            .iter()
            .enumerate()
            .any(|(index, variable)| variable.size == size && variables.contains(index))
    };
    let mut steps = 0.0;
    if reads(Size::Parsed) {
        steps += answer / 2.0;
    }
    if reads(Size::Answer) {
        steps += answer / BYTES_PER_STEP;
    }
    steps
}

struct Estimate {
    cost: Cost,
    extent: Extent,
}

struct Walker<'e> {
    schema: &'e Schema,
    answer: f64,
    /// How many loops enclose the node being walked.
    loops: u32,
    /// Comprehension variables in scope, innermost last.
    scope: Vec<(&'e str, Extent)>,
}

impl<'e> Walker<'e> {
    fn variable(&self, name: &str) -> Extent {
        if let Some((_, extent)) = self.scope.iter().rev().find(|(bound, _)| *bound == name) {
            return *extent;
        }
        let answer = self.answer;
        match self
            .schema
            .variable(name)
            .map(|(_, variable)| variable.size)
        {
            Some(Size::Scalar) => SCALAR,
            Some(Size::Answer) => Extent::text(answer),
            Some(Size::Parsed) => Extent {
                items: (answer / 2.0).ceil().max(1.0),
                bytes: answer,
                scalar: false,
            },
            Some(Size::Fixed { items, bytes }) => Extent {
                items,
                bytes,
                scalar: false,
            },
            // compile() refuses variables the schema lacks, so what is left
            // is a type name (`int` in `type(x) == int`): a constant
            None => SCALAR,
        }
    }

    fn walk(&mut self, expression: &'e IdedExpr) -> Estimate {
        match &expression.expr {
            Expr::Literal(literal) => Estimate {
                cost: Cost::STEP,
                extent: match literal {
                    LiteralValue::String(text) => Extent::text(text.inner().len() as f64),
                    LiteralValue::Bytes(bytes) => Extent::text(bytes.inner().len() as f64),
                    _ => SCALAR,
                },
            },
            Expr::Ident(name) => Estimate {
                cost: Cost::STEP,
                extent: self.variable(name),
            },
            Expr::Select(select) => {
                let operand = self.walk(&select.operand);
                Estimate {
                    cost: operand.cost + Cost::STEP,
                    // a field is no larger than what holds it
                    extent: if select.test { SCALAR } else { operand.extent },
                }
            }
            Expr::List(list) => {
                let elements: Vec<Estimate> = list.elements.iter().map(|e| self.walk(e)).collect();
                self.aggregate(elements, 1.0)
            }
            Expr::Map(map) => {
                let mut parts = Vec::with_capacity(map.entries.len() * 2);
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        parts.push(self.walk(&entry.key));
                        parts.push(self.walk(&entry.value));
                    }
                }
                self.aggregate(parts, 0.5)
            }
            Expr::Struct(structure) => {
                let mut parts = Vec::with_capacity(structure.entries.len());
                for entry in &structure.entries {
                    if let EntryExpr::StructField(field) = &entry.expr {
                        parts.push(self.walk(&field.value));
                    }
                }
                self.aggregate(parts, 1.0)
            }
            Expr::Comprehension(comprehension) => self.comprehension(comprehension),
            Expr::Call(call) => self.call(call),
            Expr::Unspecified => Estimate {
                cost: Cost::STEP,
                extent: SCALAR,
            },
        }
    }

    /// A list or map literal: its parts, then the new aggregate holding
    /// `items_per_part` elements per part.
    fn aggregate(&mut self, parts: Vec<Estimate>, items_per_part: f64) -> Estimate {
        let items = parts.len() as f64 * items_per_part;
        let bytes: f64 = parts.iter().map(|part| part.extent.bytes).sum();
        let built = Cost {
            steps: 1.0 + items,
            memory: items * ELEMENT_BYTES,
        };
        Estimate {
            cost: parts.iter().map(|part| part.cost).sum::<Cost>() + built,
            extent: Extent {
                items,
                bytes: bytes + items * 8.0,
                scalar: false,
            },
        }
    }

    fn call(&mut self, call: &'e CallExpr) -> Estimate {
        let name = call.func_name.as_str();
        if name == operators::CONDITIONAL
            && let [condition, then, otherwise] = call.args.as_slice()
        {
            let condition = self.walk(condition);
            let then = self.walk(then);
            let otherwise = self.walk(otherwise);
            return Estimate {
                cost: condition.cost + then.cost.max(otherwise.cost) + Cost::STEP,
                extent: then.extent.max(otherwise.extent),
            };
        }
        let arguments: Vec<Estimate> = call
            .target
            .iter()
            .map(|target| &**target)
            .chain(&call.args)
            .map(|argument| self.walk(argument))
            .collect();
        let evaluated = arguments.iter().map(|a| a.cost).sum::<Cost>() + Cost::STEP;
        let extents: Vec<Extent> = arguments.iter().map(|a| a.extent).collect();
        let (work, extent) = function(name, &extents);
        Estimate {
            cost: evaluated + work,
            extent,
        }
    }

    /// A macro's loop (`all`, `exists`, `exists_one`, `map`, `filter`): the
    /// range and the initial value once, the condition and step once per
    /// element the range can hold, then the result.
    fn comprehension(&mut self, comprehension: &'e ComprehensionExpr) -> Estimate {
        let range = self.walk(&comprehension.iter_range);
        let init = self.walk(&comprehension.accu_init);
        let append = append_step(comprehension).filter(|_| is_empty_list(&comprehension.accu_init));
        let (looped, accumulated) = match append {
            // `map` and `filter`: the interpreter appends in place, so an
            // iteration costs its guard and item, and the result holds the
            // items
            Some((guard, item)) => {
                let (looped, items) = self.iterations(comprehension, &range, |walker| {
                    let condition = walker.walk(&comprehension.loop_cond);
                    let guard = guard.map_or(Cost::default(), |guard| walker.walk(guard).cost);
                    let item = walker.walk(item);
                    (condition.cost + guard + item.cost, item.extent)
                });
                (looped, items)
            }
            // `all`, `exists`, `exists_one`: a bool or int accumulator
            _ => {
                let depth = self.scope.len();
                self.scope.push((&comprehension.accu_var, init.extent));
                let (looped, steps) = self.iterations(comprehension, &range, |walker| {
                    let condition = walker.walk(&comprehension.loop_cond);
                    let step = walker.walk(&comprehension.loop_step);
                    (condition.cost + step.cost, step.extent)
                });
                self.scope.truncate(depth);
                if steps.scalar {
                    (looped, init.extent.max(SCALAR))
                } else {
                    // no macro grows any other accumulator; should one, every
                    // step is charged as if it were already at its largest
                    let largest = init.extent.plus(steps);
                    self.scope.push((&comprehension.accu_var, largest));
                    let (looped, _) = self.iterations(comprehension, &range, |walker| {
                        let condition = walker.walk(&comprehension.loop_cond);
                        let step = walker.walk(&comprehension.loop_step);
                        (condition.cost + step.cost, step.extent)
                    });
                    self.scope.truncate(depth);
                    (looped, largest)
                }
            }
        };
        let depth = self.scope.len();
        self.scope.push((&comprehension.accu_var, accumulated));
        let result = self.walk(&comprehension.result);
        self.scope.truncate(depth);
        Estimate {
            cost: range.cost + init.cost + looped + result.cost,
            extent: result.extent,
        }
    }

    /// What `iteration` costs and yields summed over every element of
    /// `range`. A cost or size that grows with the element sums to at most
    /// (n − 1) times its value on an empty element plus its value on the
    /// whole range, because the elements' sizes add up to no more than the
    /// range's (and every estimate here grows at least linearly with
    /// sizes). Deep inside nested loops, where walking each body twice per
    /// level would itself cost too much, each element is taken to be as
    /// large as the range.
    fn iterations(
        &mut self,
        comprehension: &'e ComprehensionExpr,
        range: &Estimate,
        mut iteration: impl FnMut(&mut Self) -> (Cost, Extent),
    ) -> (Cost, Extent) {
        let count = range.extent.items;
        let whole = Extent {
            scalar: false,
            ..range.extent
        };
        let mut on = |walker: &mut Self, element: Extent| {
            let depth = walker.scope.len();
            walker.scope.push((&comprehension.iter_var, element));
            if let Some(second) = &comprehension.iter_var2 {
                walker.scope.push((second, element));
            }
            walker.loops += 1;
            let yielded = iteration(walker);
            walker.loops -= 1;
            walker.scope.truncate(depth);
            yielded
        };
        if count < 1.0 {
            return (Cost::default(), EMPTY);
        }
        let (largest, largest_yield) = on(self, whole);
        if self.loops >= PRECISE_LOOPS {
            return (largest.times(count), largest_yield.times(count));
        }
        let (smallest, smallest_yield) = on(self, EMPTY);
        (
            smallest.times(count - 1.0) + largest,
            smallest_yield.times(count - 1.0).plus(largest_yield),
        )
    }
}

/// The work of a function beyond evaluating its arguments, and how large
/// its result can be. Functions not named here are charged a scan of every
/// argument and a result as large as all of them.
fn function(name: &str, arguments: &[Extent]) -> (Cost, Extent) {
    match (name, arguments) {
        (
            operators::LOGICAL_AND
            | operators::LOGICAL_OR
            | operators::LOGICAL_NOT
            | operators::NOT_STRICTLY_FALSE
            | operators::SUBSTRACT
            | operators::MULTIPLY
            | operators::DIVIDE
            | operators::MODULO
            | operators::NEGATE
            | "getDate"
            | "getDayOfMonth"
            | "getDayOfWeek"
            | "getDayOfYear"
            | "getFullYear"
            | "getHours"
            | "getMilliseconds"
            | "getMinutes"
            | "getMonth"
            | "getSeconds"
            | "type",
            _,
        ) => (Cost::default(), SCALAR),
        (operators::ADD, [left, right]) if left.scalar && right.scalar => (Cost::default(), SCALAR),
        // string, bytes or list concatenation: a new value holding both
        (operators::ADD, [left, right]) => {
            let joined = left.plus(*right);
            (
                Cost {
                    steps: joined.scan(),
                    memory: joined.memory(),
                },
                joined,
            )
        }
        (
            operators::EQUALS
            | operators::NOT_EQUALS
            | operators::LESS
            | operators::LESS_EQUALS
            | operators::GREATER
            | operators::GREATER_EQUALS,
            [left, right],
        ) => (Cost::steps(left.min_scan(right)), SCALAR),
        // `x in list` compares x with each element; in a map it hashes x
        (operators::IN, [needle, haystack]) => (
            Cost::steps(haystack.items * (1.0 + needle.scan()) + haystack.bytes / BYTES_PER_STEP),
            SCALAR,
        ),
        (operators::INDEX | operators::OPT_INDEX, [container, key]) => {
            (Cost::steps(key.scan()), *container)
        }
        (operators::OPT_SELECT, [container, ..]) => (Cost::default(), *container),
        // `size` of a string counts code points
        ("size" | "contains" | "startsWith" | "endsWith", _) => (
            Cost::steps(arguments.iter().map(|a| a.bytes).sum::<f64>() / BYTES_PER_STEP),
            SCALAR,
        ),
        ("matches", [text, pattern]) => (
            Cost {
                steps: REGEX_COMPILE_STEPS_PER_BYTE * pattern.bytes
                    + text.bytes / BYTES_PER_STEP * (1.0 + pattern.bytes / BYTES_PER_STEP),
                memory: REGEX_BYTES_PER_PATTERN_BYTE * pattern.bytes,
            },
            SCALAR,
        ),
        ("string" | "bytes", [value]) => {
            let text = Extent::text(value.bytes.max(32.0));
            (
                Cost {
                    steps: value.scan(),
                    memory: text.bytes,
                },
                text,
            )
        }
        ("int" | "uint" | "double" | "bool" | "duration" | "timestamp", _) => (
            Cost::steps(arguments.iter().map(|a| a.scan()).sum()),
            SCALAR,
        ),
        ("dyn", [value]) => (Cost::default(), *value),
        _ => {
            let all = arguments
                .iter()
                .fold(Extent::text(0.0), |all, argument| all.plus(*argument));
            (
                Cost {
                    steps: all.scan(),
                    memory: all.memory(),
                },
                all,
            )
        }
    }
}

impl Extent {
    /// Comparing two values stops at the end of the shorter one.
    fn min_scan(&self, other: &Extent) -> f64 {
        self.scan().min(other.scan())
    }
}

/// The loop step of `map` and `filter`: `@result + [item]`, or
/// `guard ? @result + [item] : @result`; the guard and the `[item]` list.
fn append_step(comprehension: &ComprehensionExpr) -> Option<(Option<&IdedExpr>, &IdedExpr)> {
    let accu = comprehension.accu_var.as_str();
    if !is_ident(&comprehension.result, accu)
        || !matches!(comprehension.loop_cond.expr, Expr::Literal(_))
    {
        return None;
    }
    match &comprehension.loop_step.expr {
        Expr::Call(call) if call.func_name == operators::CONDITIONAL && call.target.is_none() => {
            match call.args.as_slice() {
                [guard, step, otherwise] if is_ident(otherwise, accu) => {
                    Some((Some(guard), appended(step, accu)?))
                }
                _ => None,
            }
        }
        _ => Some((None, appended(&comprehension.loop_step, accu)?)),
    }
}

/// The `[item]` of `accu + [item]`.
fn appended<'e>(step: &'e IdedExpr, accu: &str) -> Option<&'e IdedExpr> {
    match &step.expr {
        Expr::Call(call) if call.func_name == operators::ADD && call.target.is_none() => {
            match call.args.as_slice() {
                [left, right] if is_ident(left, accu) && matches!(right.expr, Expr::List(_)) => {
                    Some(right)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_ident(expression: &IdedExpr, name: &str) -> bool {
    matches!(&expression.expr, Expr::Ident(ident) if ident == name)
}

fn is_empty_list(expression: &IdedExpr) -> bool {
    matches!(&expression.expr, Expr::List(list) if list.elements.is_empty())
}

/// A count as people read it: `9,000`, `27 million`, `4.2 billion`.
pub(crate) fn steps_text(steps: f64) -> String {
    if !steps.is_finite() {
        return "unboundedly many".to_owned();
    }
    let scaled = |value: f64, unit: &str| {
        let digits = if value < 10.0 { 1 } else { 0 };
        format!("{value:.digits$} {unit}")
    };
    if steps >= 1e12 {
        scaled(steps / 1e12, "trillion")
    } else if steps >= 1e9 {
        scaled(steps / 1e9, "billion")
    } else if steps >= 1e6 {
        scaled(steps / 1e6, "million")
    } else {
        let whole = steps.round() as u64;
        let digits = whole.to_string();
        let mut out = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index).is_multiple_of(3) {
                out.push(',');
            }
            out.push(digit);
        }
        out
    }
}

/// Bytes as people read them: `64 MiB`, `1.5 GiB`, `512 bytes`.
pub(crate) fn bytes_text(bytes: f64) -> String {
    if !bytes.is_finite() {
        return "unboundedly much".to_owned();
    }
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024.0 {
        return format!("{} bytes", bytes.round() as u64);
    }
    let mut value = bytes / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let digits = if value < 10.0 && value.fract() >= 0.05 {
        1
    } else {
        0
    };
    format!("{value:.digits$} {}", UNITS[unit])
}
