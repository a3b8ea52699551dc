//! Turns an [`Observation`] into the CEL variables conditions read. Kept
//! apart from `condition` so the variable mapping has one home: the names,
//! their types, and why a variable can be null (`json` when the body is not
//! JSON, `cert` for plain HTTP).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use cel::objects::{Key, Map};
use cel::{Context, Env, Value};

use crate::condition::Schema;
use crate::condition::meter::{self, Budget, Meter};
use crate::observation::{Observation, ObservationDetail};

/// The standard CEL environment, built once: building it registers every
/// standard function, far too slow to repeat for each observation.
static STANDARD: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

pub(crate) fn standard_env() -> Arc<Env> {
    Arc::clone(&STANDARD)
}

/// A set of a schema's variables, by their index in it, so a judge binds
/// only what its conditions read (and parses a body as JSON only when a
/// condition reads `json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Variables(u64);

impl Variables {
    pub(crate) fn insert(&mut self, index: usize) {
        if index < 64 {
            self.0 |= 1 << index;
        }
    }

    pub(crate) fn union(self, other: Variables) -> Variables {
        Variables(self.0 | other.0)
    }

    pub(crate) fn contains(self, index: usize) -> bool {
        index < 64 && self.0 & (1 << index) != 0
    }

    /// Whether the variable `name` of `schema` is in the set.
    fn reads(self, schema: &Schema, name: &str) -> bool {
        schema
            .variable(name)
            .is_some_and(|(index, _)| self.contains(index))
    }
}

/// An observation as CEL sees it, with what is needed to explain a null.
pub(crate) struct Bindings {
    pub(crate) context: Context<'static, 'static>,
    pub(crate) schema: &'static Schema,
    /// Why `json` is null, when it is because the body (or stdout) is not
    /// JSON: serde_json's message, e.g. `expected value at line 1 column 1`.
    pub(crate) json_error: Option<String>,
    /// The budget of the evaluation under way, when a condition has loops.
    meter: Option<Arc<Meter>>,
}

impl Bindings {
    /// Bindings for `schema` with nothing bound yet and, when `metered`, a
    /// budget meter, for conditions whose owner binds the values (`Facts`).
    pub(crate) fn empty(schema: &'static Schema, metered: bool) -> Bindings {
        let mut context = Context::with_env(standard_env());
        let meter = metered.then(|| {
            let meter = Arc::new(Meter::default());
            meter::register(&mut context, &meter);
            meter
        });
        Bindings {
            context,
            schema,
            json_error: None,
            meter,
        }
    }

    /// Gives the next evaluation a fresh `budget`.
    pub(crate) fn start(&self, budget: Budget) {
        if let Some(meter) = &self.meter {
            meter.start(budget);
        }
    }

    /// Whether the evaluation since [`Bindings::start`] spent its budget.
    pub(crate) fn exceeded(&self) -> bool {
        self.meter.as_ref().is_some_and(|meter| meter.exceeded())
    }

    /// What `json` is parsed from, for "the body is not JSON".
    pub(crate) fn json_source(&self) -> &'static str {
        self.schema.answer
    }
}

/// The variables of `schema` that are `needed`, and with `metered` the
/// budget function that metered loops call.
pub(crate) fn build(
    observation: &Observation,
    schema: &'static Schema,
    needed: Variables,
    metered: bool,
) -> Bindings {
    let mut context = Context::with_env(standard_env());
    let meter = metered.then(|| {
        let meter = Arc::new(Meter::default());
        meter::register(&mut context, &meter);
        meter
    });
    let mut json_error = None;
    let bind = |context: &mut Context<'static, 'static>, name: &str, value: &dyn Fn() -> Value| {
        if needed.reads(schema, name) {
            context.add_variable_from_value(name, value());
        }
    };
    bind(&mut context, "latency", &|| {
        Value::Duration(chrono_duration(observation.latency))
    });
    match &observation.detail {
        ObservationDetail::Http(http) => {
            bind(&mut context, "status", &|| {
                Value::Int(i64::from(http.status))
            });
            bind(&mut context, "headers", &|| {
                let mut headers: HashMap<String, String> = HashMap::new();
                for (name, value) in &http.headers {
                    headers
                        .entry(name.clone())
                        .and_modify(|existing| {
                            existing.push_str(", ");
                            existing.push_str(value);
                        })
                        .or_insert_with(|| value.clone());
                }
                Value::from(headers)
            });
            bind(&mut context, "body", &|| {
                Value::from(String::from_utf8_lossy(&http.body).into_owned())
            });
            if needed.reads(schema, "json") {
                let (json, error) = json_value(&http.body);
                json_error = error;
                context.add_variable_from_value("json", json);
            }
            bind(&mut context, "cert", &|| match http.cert_expires_in {
                Some(expires_in) => {
                    let mut cert = HashMap::new();
                    cert.insert(
                        Key::String(Arc::new("expires_in".to_owned())),
                        Value::Duration(signed_duration(expires_in)),
                    );
                    Value::Map(Map {
                        map: Arc::new(cert),
                    })
                }
                None => Value::Null,
            });
            bind(&mut context, "url", &|| Value::from(http.final_url.clone()));
        }
        ObservationDetail::Tcp(tcp) => {
            bind(&mut context, "received", &|| {
                let received = tcp
                    .received
                    .as_deref()
                    .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
                    .unwrap_or_default();
                Value::from(received)
            });
        }
        ObservationDetail::Dns(dns) => {
            bind(&mut context, "answers", &|| {
                Value::from(dns.answers.clone())
            });
        }
        ObservationDetail::Command(command) => {
            bind(&mut context, "exit_code", &|| {
                Value::Int(i64::from(command.exit_code.unwrap_or(-1)))
            });
            if needed.reads(schema, "json") {
                let (json, error) = json_value(&command.stdout);
                json_error = error;
                context.add_variable_from_value("json", json);
            }
            bind(&mut context, "stdout", &|| {
                Value::from(String::from_utf8_lossy(&command.stdout).into_owned())
            });
            bind(&mut context, "stderr", &|| {
                Value::from(String::from_utf8_lossy(&command.stderr).into_owned())
            });
        }
    };
    Bindings {
        context,
        schema,
        json_error,
        meter,
    }
}

/// The parsed document, or null and serde_json's reason.
fn json_value(bytes: &[u8]) -> (Value, Option<String>) {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(json) => (from_json(json), None),
        Err(error) => (Value::Null, Some(error.to_string())),
    }
}

/// JSON numbers that are whole and fit an `int` become `int`, so
/// `json.count == 3` and `json.count > 2` read as written; others `double`.
fn from_json(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(flag) => Value::Bool(flag),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(whole) => Value::Int(whole),
            None => Value::Float(number.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(text) => Value::String(Arc::new(text)),
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.into_iter().map(from_json).collect()))
        }
        serde_json::Value::Object(fields) => {
            let map: HashMap<Key, Value> = fields
                .into_iter()
                .map(|(name, item)| (Key::String(Arc::new(name)), from_json(item)))
                .collect();
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}

pub(crate) fn chrono_duration(duration: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

fn signed_duration(duration: jiff::SignedDuration) -> chrono::Duration {
    chrono::Duration::try_seconds(duration.as_secs())
        .and_then(|whole| {
            whole.checked_add(&chrono::Duration::nanoseconds(i64::from(
                duration.subsec_nanos(),
            )))
        })
        .unwrap_or(if duration.is_negative() {
            chrono::Duration::MIN
        } else {
            chrono::Duration::MAX
        })
}
