//! The `[[alert]]` and `[[slo]]` rules: ids, what they watch (`monitors`
//! or `component`, exactly one: references resolved by `references`,
//! expanded by `targets`), an alert's `window`, CEL `when` over the window
//! statistics, timing, severity, labels, annotation templates and runbook;
//! an SLO's objective, period and indicator.

use std::collections::HashMap;
use std::time::Duration;

use jiff::SignedDuration;
use url::Url;
use watchkeeper_domain::alert::Timing;
use watchkeeper_domain::alert::matcher::Labels;
use watchkeeper_domain::alert::slo::{Indicator, Objective};
use watchkeeper_domain::alert::variables::SCHEMA;
use watchkeeper_domain::condition::cost::AnswerLimit;
use watchkeeper_domain::condition::{Condition, ConditionError};
use watchkeeper_domain::id::{ComponentId, MonitorId, RuleId, SloId};
use watchkeeper_notify::template::AnnotationTemplate;

use super::alerting::{duration, labels, missing, severity, template_problem};
use super::references::{Defined, References, Target};
use super::{Problems, parse_id};
use crate::model::{AlertRule, AlertingSettings, Slo, Targets};
use crate::raw::{RawAlert, RawObjective, RawSlo};
use crate::raw_table::{Text, TextList};
use crate::source::{Loc, Located};

/// A rule or an SLO whose targets `targets` has yet to expand, with the
/// positions its checks report at.
pub(super) struct Pending<T> {
    pub value: T,
    /// The `monitors` or `component` value.
    pub targets_at: Loc,
    /// An alert's `window` (or its table, when the default is used); an
    /// SLO's `period`.
    pub window_at: Loc,
}

/// The default `window` of an `[[alert]]`: five minutes, Prometheus's
/// usual range for a rate.
pub(crate) const DEFAULT_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Each distinct `when` compiled once, shared by every `[[alert]]` that
/// repeats it (a generated config often gives a thousand monitors the same
/// rule); a bad one is still reported at each place it is written.
#[derive(Default)]
pub(super) struct CompiledWhens(HashMap<String, Result<Condition, ConditionError>>);

impl CompiledWhens {
    fn get(&mut self, source: &str) -> Result<Condition, ConditionError> {
        self.0
            .entry(source.to_owned())
            .or_insert_with(|| {
                Condition::compile(source, &SCHEMA).and_then(|condition| {
                    condition
                        .check_cost(AnswerLimit {
                            bytes: 0,
                            key: None,
                        })
                        .map(|_| condition)
                })
            })
            .clone()
    }
}

pub(super) fn validate_alert(
    raw: RawAlert,
    settings: &AlertingSettings,
    defined: &mut Defined,
    references: &mut References,
    whens: &mut CompiledWhens,
    problems: &mut Problems<'_>,
) -> Option<Pending<AlertRule>> {
    let RawAlert {
        at,
        id,
        monitors,
        component,
        window,
        when,
        hold_for,
        keep_firing_for,
        severity: raw_severity,
        labels: raw_labels,
        annotations,
        runbook,
        count_degraded_as_failure,
    } = raw;
    let before = problems.count();
    let label = id.as_ref().map_or_else(
        || "[[alert]]".to_owned(),
        |id| format!("alert `{}`", id.value),
    );
    let id = parse_id(
        id,
        &at,
        "alert",
        RuleId::parse,
        &mut defined.rules,
        problems,
    );
    let targets = targets(monitors, component, &at, &label, references, problems);
    let window_at = window
        .as_ref()
        .map_or_else(|| at.clone(), |raw| raw.at.clone());
    let window = window
        .and_then(|raw| duration(raw, "window", true, problems))
        .unwrap_or(DEFAULT_WINDOW);
    let when = match when {
        None => {
            missing(&at, &label, "when", problems);
            None
        }
        Some(raw) => match whens.get(&raw.value) {
            Ok(condition) => Some(condition),
            Err(error) => {
                problems.at(&raw.at, error.to_string());
                None
            }
        },
    };
    let timing = Timing {
        hold_for: hold_for
            .and_then(|raw| duration(raw, "for", false, problems))
            .unwrap_or_default(),
        keep_firing_for: keep_firing_for
            .and_then(|raw| duration(raw, "keep_firing_for", false, problems))
            .unwrap_or_default(),
    };
    let severity = severity(
        raw_severity,
        &settings.severities,
        &settings.default_severity,
        problems,
    );
    let labels = labels(raw_labels, "labels", problems);
    let annotations = annotation_templates(annotations, &labels, problems);
    let runbook = runbook.and_then(|raw| runbook_url(raw, problems));

    let (targets, targets_at) = targets?;
    let (id, when) = (id?, when?);
    if problems.count() > before {
        return None;
    }
    Some(Pending {
        value: AlertRule {
            id,
            targets,
            monitors: Vec::new(),
            window,
            when,
            timing,
            severity,
            labels,
            annotations,
            runbook,
            count_degraded_as_failure: count_degraded_as_failure.is_some_and(|flag| flag.value),
        },
        targets_at,
        window_at,
    })
}

fn annotation_templates(
    raw: Vec<(Located<String>, Located<String>)>,
    labels: &Labels,
    problems: &mut Problems<'_>,
) -> Labels {
    let mut annotations = Labels::new();
    for (name, source) in raw {
        if !watchkeeper_domain::alert::matcher::is_label_name(&name.value) {
            problems.at(
                &name.at,
                format!(
                    "invalid annotation name {:?}: letters, digits and _, not starting with a digit",
                    name.value
                ),
            );
            continue;
        }
        if let Err(error) = AnnotationTemplate::compile(&source.value, labels) {
            let key = format!("annotations.{}", name.value);
            problems.at(&source.at, template_problem(&key, &error));
            continue;
        }
        annotations.insert(name.value, source.value);
    }
    annotations
}

/// A runbook is a link for now (a runbook id later).
fn runbook_url(raw: Located<String>, problems: &mut Problems<'_>) -> Option<Url> {
    match Url::parse(&raw.value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
            Some(url)
        }
        Ok(_) | Err(_) => {
            problems.at(
                &raw.at,
                format!(
                    "`runbook` must be an http:// or https:// link, not {:?}",
                    raw.value
                ),
            );
            None
        }
    }
}

/// `monitors = [...]` or `component = "..."`, exactly one, each id noted
/// as a reference.
pub(super) fn targets(
    monitors: TextList,
    component: Text,
    table_at: &Loc,
    label: &str,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<(Targets, Loc)> {
    match (monitors, component) {
        (Some(_), Some(component)) => {
            problems.at(
                &component.at,
                format!("{label} names both `monitors` and `component`; give one of them"),
            );
            None
        }
        (None, None) => {
            problems.at(
                table_at,
                format!(
                    "{label} watches nothing; give `monitors = [...]` or `component = \"...\"`"
                ),
            );
            None
        }
        (None, Some(component)) => match ComponentId::parse(&component.value) {
            Ok(id) => {
                let at = component.at.clone();
                references.add(Target::Component, component);
                Some((Targets::Component(id), at))
            }
            Err(error) => {
                problems.at(&component.at, format!("invalid component id: {error}"));
                None
            }
        },
        (Some(list), None) => {
            if list.value.is_empty() {
                problems.at(&list.at, "`monitors` must name at least one monitor");
                return None;
            }
            let mut ids: Vec<MonitorId> = Vec::new();
            let before = problems.count();
            for name in list.value {
                match MonitorId::parse(&name.value) {
                    Ok(id) if ids.contains(&id) => problems.at(
                        &name.at,
                        format!("monitor `{}` is listed twice in `monitors`", name.value),
                    ),
                    Ok(id) => {
                        ids.push(id);
                        references.add(Target::Monitor, name);
                    }
                    Err(error) => {
                        problems.at(&name.at, format!("invalid monitor id: {error}"));
                    }
                }
            }
            (problems.count() == before).then_some((Targets::Monitors(ids), list.at))
        }
    }
}

pub(super) fn validate_slo(
    raw: RawSlo,
    settings: &AlertingSettings,
    defined: &mut Defined,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<Pending<Slo>> {
    let RawSlo {
        at,
        id,
        monitors,
        component,
        objective,
        period,
        latency,
        severity: raw_severity,
        labels: raw_labels,
    } = raw;
    let before = problems.count();
    let label = id
        .as_ref()
        .map_or_else(|| "[[slo]]".to_owned(), |id| format!("slo `{}`", id.value));
    let id = parse_id(id, &at, "slo", SloId::parse, &mut defined.slos, problems);
    let targets = targets(monitors, component, &at, &label, references, problems);
    let target = match objective {
        None => {
            missing(&at, &label, "objective", problems);
            None
        }
        Some(raw) => objective_fraction(raw, problems),
    };
    let period = match period {
        None => {
            missing(&at, &label, "period", problems);
            None
        }
        Some(raw) => {
            let at = raw.at.clone();
            duration(raw, "period", true, problems)
                .and_then(|period| SignedDuration::try_from(period).ok())
                .map(|period| Located::new(period, at))
        }
    };
    let indicator = match latency {
        None => Some(Indicator::Availability),
        Some(raw) => duration(raw, "latency", true, problems)
            .map(|threshold| Indicator::Latency { threshold }),
    };
    // Burn-rate alerts page: both of the workbook's are pages, so by
    // default they take the most severe severity.
    let severity = severity(
        raw_severity,
        &settings.severities,
        settings.severities.most_severe(),
        problems,
    );
    let labels = labels(raw_labels, "labels", problems);

    let (targets, targets_at) = targets?;
    let (id, target, period, indicator) = (id?, target?, period?, indicator?);
    if problems.count() > before {
        return None;
    }
    Some(Pending {
        value: Slo {
            id,
            targets,
            monitors: Vec::new(),
            objective: Objective {
                target,
                period: period.value,
                indicator,
            },
            severity,
            labels,
        },
        targets_at,
        window_at: period.at,
    })
}

/// `"99.9%"` or `0.999`: a fraction strictly between 0 and 1.
fn objective_fraction(raw: Located<RawObjective>, problems: &mut Problems<'_>) -> Option<f64> {
    let fraction = match &raw.value {
        RawObjective::Fraction(fraction) => Some(*fraction),
        RawObjective::Text(text) => text
            .trim()
            .strip_suffix('%')
            .and_then(|percent| percent.trim().parse::<f64>().ok())
            .map(|percent| percent / 100.0),
    };
    match fraction {
        Some(fraction) if fraction > 0.0 && fraction < 1.0 => Some(fraction),
        Some(_) => {
            problems.at(
                &raw.at,
                "`objective` must be above 0% and below 100% (an objective of 100% leaves no error budget)",
            );
            None
        }
        None => {
            problems.at(
                &raw.at,
                format!(
                    "`objective` must be a percentage like \"99.9%\" or a fraction like 0.999, not {:?}",
                    match &raw.value {
                        RawObjective::Text(text) => text.clone(),
                        RawObjective::Fraction(fraction) => fraction.to_string(),
                    }
                ),
            );
            None
        }
    }
}
