//! `[incidents]` (the severity that opens incidents, the join window, the
//! impact of each severity, whether incidents resolve with their alerts,
//! the next update automatic updates promise) and `[[incident_template]]`
//! (ids, statuses, and bodies checked by rendering every template once).

use std::collections::HashMap;

use watchkeeper_domain::incident::policy::IncidentPolicy;
use watchkeeper_domain::incident::{Impact, IncidentStatus};
use watchkeeper_incidents::communications::{Communications, TemplateSpec};

use super::alerting::{duration, unknown_severity};
use super::{Problems, non_empty, one_of};
use crate::model::{DEFAULT_JOIN_WINDOW, IncidentsConfig, Severities};
use crate::raw::{RawIncidentTemplate, RawIncidents};
use crate::source::Loc;

/// Both sections at once: a template's error is reported at its table.
pub(super) fn validate_incidents(
    raw: RawIncidents,
    templates: Vec<RawIncidentTemplate>,
    severities: &Severities,
    problems: &mut Problems<'_>,
) -> IncidentsConfig {
    let RawIncidents {
        open_from,
        join_window,
        resolve_with_alerts,
        impacts,
        next_update,
    } = raw;
    let open_from = open_from.and_then(|raw| {
        if severities.rank(&raw.value).is_some() {
            Some(raw.value)
        } else {
            problems.at(&raw.at, unknown_severity(&raw.value, severities));
            None
        }
    });
    let join_window = join_window
        .and_then(|raw| duration(raw, "join_window", true, problems))
        .unwrap_or(DEFAULT_JOIN_WINDOW);
    let next_update = next_update.and_then(|raw| duration(raw, "next_update", true, problems));
    let mut impact_of = IncidentPolicy::default_impacts(severities.as_slice());
    for (severity, impact) in impacts {
        if severities.rank(&severity.value).is_none() {
            problems.at(&severity.at, unknown_severity(&severity.value, severities));
            continue;
        }
        match Impact::parse(&impact.value) {
            Some(parsed) => {
                impact_of.insert(severity.value, parsed);
            }
            None => {
                let names: Vec<&str> = Impact::ALL.iter().map(|i| i.as_str()).collect();
                problems.at(
                    &impact.at,
                    format!(
                        "unknown impact `{}`; an impact is {}",
                        impact.value,
                        one_of(&names)
                    ),
                );
            }
        }
    }
    let templates = validate_templates(templates, problems);
    IncidentsConfig {
        policy: IncidentPolicy {
            severities: severities.as_slice().to_vec(),
            open_from,
            join_window,
            impacts: impact_of,
            resolve_with_alerts: resolve_with_alerts.is_none_or(|flag| flag.value),
        },
        next_update,
        templates,
    }
}

/// Where a template's parts were written, to point at the one that fails.
struct Written {
    table: Loc,
    subject: Option<Loc>,
    body: Option<Loc>,
}

fn validate_templates(
    raws: Vec<RawIncidentTemplate>,
    problems: &mut Problems<'_>,
) -> Vec<TemplateSpec> {
    let mut seen: HashMap<String, Loc> = HashMap::new();
    let mut written: HashMap<String, Written> = HashMap::new();
    let mut specs = Vec::new();
    for raw in raws {
        let RawIncidentTemplate {
            at,
            id,
            status,
            subject,
            body,
        } = raw;
        let before = problems.count();
        let id_at = id.as_ref().map(|id| id.at.clone());
        let id = match non_empty(id, "`id`", problems) {
            Some(id) if id.chars().any(char::is_whitespace) => {
                if let Some(id_at) = &id_at {
                    problems.at(id_at, format!("template id `{id}` may not contain spaces"));
                }
                None
            }
            Some(id) => Some(id),
            None => {
                if id_at.is_none() {
                    problems.at(&at, "[[incident_template]] is missing `id`");
                }
                None
            }
        };
        let status = status.and_then(|raw| match IncidentStatus::parse(&raw.value) {
            Some(status) => Some(status),
            None => {
                let names: Vec<&str> = IncidentStatus::ALL.iter().map(|s| s.as_str()).collect();
                problems.at(
                    &raw.at,
                    format!(
                        "unknown incident status `{}`; a status is {}",
                        raw.value,
                        one_of(&names)
                    ),
                );
                None
            }
        });
        let Some(body_raw) = body else {
            problems.at(&at, "[[incident_template]] is missing `body`");
            continue;
        };
        let Some(id) = id else { continue };
        if let Some(first) = seen.get(&id) {
            problems.at(
                id_at.as_ref().unwrap_or(&at),
                format!("duplicate incident template id `{id}` (first defined at {first})"),
            );
            continue;
        }
        seen.insert(id.clone(), id_at.clone().unwrap_or_else(|| at.clone()));
        if problems.count() > before {
            continue;
        }
        written.insert(
            id.clone(),
            Written {
                table: at,
                subject: subject.as_ref().map(|raw| raw.at.clone()),
                body: Some(body_raw.at.clone()),
            },
        );
        specs.push(TemplateSpec {
            id,
            status,
            subject: subject.map(|raw| raw.value),
            body: body_raw.value,
        });
    }
    // Every template is compiled and rendered together; one error at a
    // time, so each failing template is tried alone to report them all.
    if Communications::new(specs.clone()).is_err() {
        let mut good = Vec::new();
        for spec in specs {
            match Communications::new(vec![spec.clone()]) {
                Ok(_) => good.push(spec),
                Err(error) => {
                    let place = written.get(&spec.id);
                    let at = place.and_then(|place| match error.part {
                        Some("subject") => place.subject.clone(),
                        Some("body") => place.body.clone(),
                        _ => None,
                    });
                    let at = at.or_else(|| place.map(|place| place.table.clone()));
                    if let Some(at) = at {
                        problems.at(&at, error.to_string());
                    }
                }
            }
        }
        return good;
    }
    specs
}
