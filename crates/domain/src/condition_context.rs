//! Turns an [`Observation`] into CEL variables and explains results. Kept
//! apart from `condition` so the variable mapping has one home.

use std::collections::HashMap;

use cel::{Context, Value};

use crate::condition::Condition;
use crate::observation::{Observation, ObservationDetail};

pub(crate) fn build(observation: &Observation) -> Context<'static, 'static> {
    let mut context = Context::default();
    let latency = chrono_duration(observation.latency);
    context.add_variable_from_value("latency", Value::Duration(latency));
    match &observation.detail {
        ObservationDetail::Http(http) => {
            context.add_variable_from_value("status", Value::Int(i64::from(http.status)));
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
            context.add_variable_from_value("headers", Value::from(headers));
            let body = String::from_utf8_lossy(&http.body).into_owned();
            context.add_variable_from_value("json", json_value(&http.body));
            context.add_variable_from_value("body", Value::from(body));
            let cert = match http.cert_expires_in {
                Some(expires_in) => {
                    let mut map = HashMap::new();
                    map.insert(
                        "expires_in".to_owned(),
                        Value::Duration(chrono::Duration::seconds(expires_in.as_secs())),
                    );
                    Value::from(map)
                }
                None => Value::Null,
            };
            context.add_variable_from_value("cert", cert);
            context.add_variable_from_value("url", Value::from(http.final_url.clone()));
        }
        ObservationDetail::Tcp(tcp) => {
            let received = tcp
                .received
                .as_deref()
                .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
                .unwrap_or_default();
            context.add_variable_from_value("received", Value::from(received));
        }
        ObservationDetail::Dns(dns) => {
            context.add_variable_from_value("answers", Value::from(dns.answers.clone()));
        }
        ObservationDetail::Command(command) => {
            context.add_variable_from_value(
                "exit_code",
                Value::Int(i64::from(command.exit_code.unwrap_or(-1))),
            );
            context.add_variable_from_value("json", json_value(&command.stdout));
            context.add_variable_from_value(
                "stdout",
                Value::from(String::from_utf8_lossy(&command.stdout).into_owned()),
            );
            context.add_variable_from_value(
                "stderr",
                Value::from(String::from_utf8_lossy(&command.stderr).into_owned()),
            );
        }
    }
    context
}

fn json_value(bytes: &[u8]) -> Value {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(json) => cel::to_value(json).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

fn chrono_duration(duration: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// `Ok(())` when the condition evaluates to `true`; otherwise the explanation.
pub(crate) fn holds(condition: &Condition, context: &Context<'_, '_>) -> Result<(), String> {
    match condition.program().execute(context) {
        Ok(Value::Bool(true)) => Ok(()),
        Ok(Value::Bool(false)) => Err(format!(
            "{} failed{}",
            condition.source(),
            values(condition, context)
        )),
        Ok(other) => Err(format!(
            "{} did not evaluate to a boolean (got {other:?})",
            condition.source()
        )),
        Err(error) => Err(format!("{} could not be evaluated: {error}", condition.source())),
    }
}

/// `": a was 1, b was 2"` for the variables the condition reads.
pub(crate) fn values(condition: &Condition, context: &Context<'_, '_>) -> String {
    let mut parts = Vec::new();
    for variable in condition.program().references().variables() {
        if let Ok(value) = Value::resolve(
            &cel::Program::compile(variable)
                .map(|p| p.expression().clone())
                .unwrap_or_else(|_| condition.program().expression().clone()),
            context,
        ) {
            parts.push(format!("{variable} was {value:?}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join(", "))
    }
}
