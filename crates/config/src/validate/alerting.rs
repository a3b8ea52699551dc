//! `[alerting]` (thresholds and severities) and the alerting keys of a
//! `[[monitor]]` (its implicit alert and `depends_on`), plus the checks
//! every alerting section shares: severities, label sets, label names,
//! durations. The sections themselves are `rule` (`[[alert]]`, `[[slo]]`),
//! `route` (`[[route]]`, `[[inhibit]]`), `maintenance` and `notifier`;
//! what needs every monitor known (component expansion, window bounds,
//! dependency cycles) is `targets`.

use std::time::Duration;

use watchkeeper_domain::alert::matcher::{Labels, is_label_name};
use watchkeeper_domain::id::MonitorId;

use super::Problems;
use super::references::{References, Target};
use crate::model::{
    AlertingSettings, DEFAULT_FAILURE_THRESHOLD, DEFAULT_SEVERITY, DEFAULT_SUCCESS_THRESHOLD,
    MAX_THRESHOLD, Severities,
};
use crate::quantity::parse_duration;
use crate::raw::RawAlerting;
use crate::raw_table::{Flag, Integer, Text, TextList, TextMap};
use crate::source::{Loc, Located};

/// Labels Watchkeeper sets on every alert itself; a rule may not set them.
pub(super) const RESERVED_LABELS: [&str; 3] = ["alertname", "monitor", "severity"];

pub(super) fn validate_alerting(raw: RawAlerting, problems: &mut Problems<'_>) -> AlertingSettings {
    let RawAlerting {
        failure_threshold,
        success_threshold,
        severities,
        default_severity,
    } = raw;
    let failure_threshold = failure_threshold
        .and_then(|raw| threshold(raw, "failure_threshold", problems))
        .unwrap_or(DEFAULT_FAILURE_THRESHOLD);
    let success_threshold = success_threshold
        .and_then(|raw| threshold(raw, "success_threshold", problems))
        .unwrap_or(DEFAULT_SUCCESS_THRESHOLD);
    let severities =
        severities.map_or_else(Severities::default, |raw| severity_list(raw, problems));
    let default_severity = match default_severity {
        Some(raw) => {
            if severities.rank(&raw.value).is_none() {
                problems.at(&raw.at, unknown_severity(&raw.value, &severities));
            }
            raw.value
        }
        // P2 when the severities have it (see `DEFAULT_SEVERITY`), else
        // the least severe: an unrated alert does not page.
        None if severities.rank(DEFAULT_SEVERITY).is_some() => DEFAULT_SEVERITY.to_owned(),
        None => severities
            .as_slice()
            .last()
            .cloned()
            .unwrap_or_else(|| DEFAULT_SEVERITY.to_owned()),
    };
    AlertingSettings {
        failure_threshold,
        success_threshold,
        severities,
        default_severity,
    }
}

fn severity_list(raw: Located<Vec<Located<String>>>, problems: &mut Problems<'_>) -> Severities {
    if raw.value.is_empty() {
        problems.at(
            &raw.at,
            "`severities` must list at least one severity, most severe first",
        );
        return Severities::default();
    }
    let mut names: Vec<String> = Vec::new();
    for name in raw.value {
        if !is_severity_name(&name.value) {
            problems.at(
                &name.at,
                format!(
                    "invalid severity {:?}: letters, digits, '-' and '_' only, like \"P1\" or \"critical\"",
                    name.value
                ),
            );
        } else if names.contains(&name.value) {
            problems.at(
                &name.at,
                format!("severity `{}` is listed twice", name.value),
            );
        } else {
            names.push(name.value);
        }
    }
    if names.is_empty() {
        return Severities::default();
    }
    Severities(names)
}

fn is_severity_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

pub(super) fn unknown_severity(name: &str, severities: &Severities) -> String {
    let known = severities.as_slice();
    // Severities are often short and numbered (`P1`, `P7`): one edit away
    // is not a typo there, so only a different case or a longer name is
    // suggested. `suggest::closest` compares in lower case.
    let lower: Vec<String> = known.iter().map(|k| k.to_ascii_lowercase()).collect();
    let suggestion = known
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name))
        .or_else(|| {
            let similar =
                watchkeeper_domain::suggest::closest(name, lower.iter().map(String::as_str))
                    .filter(|similar| similar.len() > 2)?;
            let index = lower.iter().position(|lower| lower == similar)?;
            known.get(index)
        });
    let hint = match suggestion {
        Some(similar) => format!("did you mean `{similar}`? "),
        None => String::new(),
    };
    format!(
        "unknown severity `{name}`; {hint}the severities are {} ([alerting] severities)",
        known.join(", ")
    )
}

/// A severity key: one of the severities, or `default` when absent.
pub(super) fn severity(
    raw: Text,
    severities: &Severities,
    default: &str,
    problems: &mut Problems<'_>,
) -> String {
    match raw {
        None => default.to_owned(),
        Some(raw) => {
            if severities.rank(&raw.value).is_none() {
                problems.at(&raw.at, unknown_severity(&raw.value, severities));
            }
            raw.value
        }
    }
}

fn threshold(raw: Located<i64>, key: &str, problems: &mut Problems<'_>) -> Option<u32> {
    match u32::try_from(raw.value) {
        Ok(count) if (1..=MAX_THRESHOLD).contains(&count) => Some(count),
        _ => {
            problems.at(
                &raw.at,
                format!(
                    "`{key}` must be a count of consecutive results from 1 to {MAX_THRESHOLD}, not {}",
                    raw.value
                ),
            );
            None
        }
    }
}

/// `labels = { team = "payments" }`: label names as Prometheus has them,
/// values not empty, none of the labels Watchkeeper sets itself.
pub(super) fn labels(raw: TextMap, key: &str, problems: &mut Problems<'_>) -> Labels {
    let mut labels = Labels::new();
    for (name, value) in raw {
        if !is_label_name(&name.value) {
            problems.at(
                &name.at,
                format!(
                    "invalid label name {:?} in `{key}`: letters, digits and _, not starting with a digit",
                    name.value
                ),
            );
        } else if key == "labels" && RESERVED_LABELS.contains(&name.value.as_str()) {
            let why = if name.value == "severity" {
                "use the `severity` key"
            } else {
                "it is set on every alert"
            };
            problems.at(
                &name.at,
                format!("label `{}` is Watchkeeper's own; {why}", name.value),
            );
        } else {
            labels.insert(name.value, value.value);
        }
    }
    labels
}

/// Label names (`group_by`, `equal`), each checked.
pub(super) fn label_names(
    raw: Vec<Located<String>>,
    key: &str,
    problems: &mut Problems<'_>,
) -> Vec<String> {
    raw.into_iter()
        .filter_map(|name| {
            if is_label_name(&name.value) {
                Some(name.value)
            } else {
                problems.at(
                    &name.at,
                    format!(
                        "invalid label name {:?} in `{key}`: letters, digits and _, not starting with a digit",
                        name.value
                    ),
                );
                None
            }
        })
        .collect()
}

/// A duration key; `positive` refuses zero.
pub(super) fn duration(
    raw: Located<String>,
    key: &str,
    positive: bool,
    problems: &mut Problems<'_>,
) -> Option<Duration> {
    match parse_duration(&raw.value) {
        Ok(duration) if positive && duration.is_zero() => {
            problems.at(&raw.at, format!("`{key}` must be longer than zero"));
            None
        }
        Ok(duration) => Some(duration),
        Err(message) => {
            problems.at(&raw.at, message);
            None
        }
    }
}

/// A monitor's alerting keys, before `depends_on` is resolved (`targets`).
pub(super) struct PendingMonitorAlerting {
    pub monitor: MonitorId,
    pub implicit_alert: bool,
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub severity: String,
    pub labels: Labels,
    /// Monitor or component ids as written, checked to be ids.
    pub depends_on: Vec<Located<String>>,
}

/// The alerting keys of one `[[monitor]]`.
pub(super) struct RawMonitorAlerting {
    pub failure_threshold: Integer,
    pub success_threshold: Integer,
    pub severity: Text,
    pub labels: TextMap,
    pub depends_on: TextList,
    pub alert: Flag,
}

pub(super) fn monitor_alerting(
    raw: RawMonitorAlerting,
    monitor: Option<&MonitorId>,
    settings: &AlertingSettings,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<PendingMonitorAlerting> {
    let RawMonitorAlerting {
        failure_threshold,
        success_threshold,
        severity: raw_severity,
        labels: raw_labels,
        depends_on,
        alert,
    } = raw;
    let failure_threshold = failure_threshold
        .and_then(|raw| threshold(raw, "failure_threshold", problems))
        .unwrap_or(settings.failure_threshold);
    let success_threshold = success_threshold
        .and_then(|raw| threshold(raw, "success_threshold", problems))
        .unwrap_or(settings.success_threshold);
    let severity = severity(
        raw_severity,
        &settings.severities,
        &settings.default_severity,
        problems,
    );
    let labels = labels(raw_labels, "labels", problems);
    let mut dependencies = Vec::new();
    for name in depends_on.map(|list| list.value).unwrap_or_default() {
        if let Err(error) = MonitorId::parse(&name.value) {
            problems.at(&name.at, format!("invalid id in `depends_on`: {error}"));
            continue;
        }
        if monitor.is_some_and(|monitor| monitor.as_str() == name.value) {
            problems.at(
                &name.at,
                format!("monitor `{}` cannot depend on itself", name.value),
            );
            continue;
        }
        references.add(Target::Dependency, name.clone());
        dependencies.push(name);
    }
    Some(PendingMonitorAlerting {
        monitor: monitor?.clone(),
        implicit_alert: alert.is_none_or(|flag| flag.value),
        failure_threshold,
        success_threshold,
        severity,
        labels,
        depends_on: dependencies,
    })
}

/// Where a rule's position is reported when a key is missing: the table.
pub(super) fn missing(at: &Loc, table: &str, key: &str, problems: &mut Problems<'_>) {
    problems.at(at, format!("{table} is missing `{key}`"));
}

/// A template that does not render at load, at its value.
pub(super) fn template_problem(
    key: &str,
    error: &watchkeeper_notify::template::TemplateError,
) -> String {
    let line = error
        .line
        .map(|line| format!(" (line {line} of the template)"))
        .unwrap_or_default();
    format!("`{key}` does not render{line}: {}", error.message)
}
