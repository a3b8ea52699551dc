//! From the raw mirror to the typed model: every semantic rule (durations,
//! addresses, URLs, ids, CEL) is checked here, and every violation is
//! reported, not only the first.
//!
//! Validation runs in three passes. First each section is checked on its
//! own, in its own submodule (`server`, `api`, `settings` for `[storage]` and
//! `[probes]`, `alerting` for `[alerting]` and a monitor's alerting keys,
//! `component`, `monitor` with a submodule per probe kind, `conditions`,
//! `rule` for `[[alert]]` and `[[slo]]`, `route` for `[[route]]` and
//! `[[inhibit]]`, `maintenance`, `notifier`, `oncall` for `[oncall]`,
//! `[[person]]` and `[[escalation]]`, `rotation` for `[[schedule]]`,
//! `incidents` for `[incidents]` and `[[incident_template]]`),
//! defining its ids and noting
//! the references it makes to other sections' ids. Then `references`
//! resolves every reference at once, when every file's ids are known.
//! Last, `targets` does what needs every monitor: components expanded to
//! their monitors, windows bounded by intervals, dependency cycles. This
//! module runs the passes and holds the helpers every section shares.

mod alerting;
mod api;
mod command;
mod component;
mod conditions;
mod dns;
mod http;
mod incidents;
mod maintenance;
mod monitor;
mod notifier;
mod oncall;
mod page_templates;
mod references;
mod rotation;
mod route;
mod rule;
mod schedule;
mod server;
mod settings;
mod targets;
mod tcp;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ConfigError;
use crate::model::{AlertingConfig, Config, OnCallConfig};
use crate::quantity::parse_size;
use crate::raw::{RawDocument, RawMainFile, RawSections};
use crate::raw_table::RawSize;
use crate::source::{Loc, Located};

/// Collects errors; every check reports through it.
struct Problems<'a>(&'a mut Vec<ConfigError>);

impl Problems<'_> {
    fn at(&mut self, at: &Loc, message: impl Into<String>) {
        self.0.push(ConfigError::at(at, message));
    }

    fn count(&self) -> usize {
        self.0.len()
    }
}

/// Builds the config from the main document and the included ones.
/// `includes_complete` is false when an include could not be read: then a
/// reference is not blamed for naming an id that may be in that file.
/// The result is only meaningful when no error was added.
pub(crate) fn config(
    main: RawDocument,
    included: Vec<RawDocument>,
    files: Vec<PathBuf>,
    includes_complete: bool,
    errors: &mut Vec<ConfigError>,
) -> Config {
    let mut problems = Problems(errors);
    let RawDocument {
        dir,
        main:
            RawMainFile {
                include: _,
                server,
                storage,
                probes,
                alerting,
                oncall,
                incidents,
                api,
                status_page,
            },
        sections,
    } = main;
    let server = server::validate_server(server, &mut problems);
    let storage = settings::validate_storage(storage, &dir, &mut problems);
    let probes = settings::validate_probes(probes, &mut problems);
    let (api, public_read_at) = api::validate_api(api);
    let (mut status_page, subscribe_by_email) =
        component::validate_status_page(status_page, &dir, &mut problems);
    // First: every section's severities are checked against it.
    let settings = alerting::validate_alerting(alerting, &mut problems);
    let (ack_targets, link_expiry) =
        oncall::validate_oncall(oncall, &settings.severities, &mut problems);

    let mut all_components = Vec::new();
    let mut all_monitors = Vec::new();
    let (mut all_alerts, mut all_slos, mut all_routes, mut all_inhibits) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut all_maintenance, mut all_notifiers) = (Vec::new(), Vec::new());
    let (mut all_people, mut all_schedules, mut all_escalations) =
        (Vec::new(), Vec::new(), Vec::new());
    let mut all_incident_templates = Vec::new();
    for (dir, sections) in std::iter::once((dir, sections)).chain(
        included
            .into_iter()
            .map(|document| (document.dir, document.sections)),
    ) {
        let RawSections {
            components,
            monitors,
            alerts,
            slos,
            routes,
            inhibits,
            maintenance,
            notifiers,
            people,
            schedules,
            escalations,
            incident_templates,
        } = sections;
        all_components.push(components);
        all_monitors.push((dir, monitors));
        all_alerts.extend(alerts);
        all_slos.extend(slos);
        all_routes.extend(routes);
        all_inhibits.extend(inhibits);
        all_maintenance.extend(maintenance);
        all_notifiers.extend(notifiers);
        all_people.extend(people);
        all_schedules.extend(schedules);
        all_escalations.extend(escalations);
        all_incident_templates.extend(incident_templates);
    }

    let incidents = incidents::validate_incidents(
        incidents,
        all_incident_templates,
        &settings.severities,
        &mut problems,
    );

    let mut defined = references::Defined::default();
    let mut references = references::References::default();
    let components: Vec<_> = all_components
        .into_iter()
        .flatten()
        .filter_map(|raw| component::validate_component(raw, &mut defined, &mut problems))
        .collect();
    let mut compiled = conditions::CompiledConditions::default();
    let mut monitors = Vec::new();
    let mut monitor_alerting = Vec::new();
    let mut private_monitors = BTreeSet::new();
    for (dir, raws) in all_monitors {
        for raw in raws {
            let monitor = monitor::validate_monitor(
                raw,
                &dir,
                &settings,
                &mut defined,
                &mut references,
                &mut compiled,
                &mut problems,
            );
            if let Some((monitor, alerting, public)) = monitor {
                if !public {
                    private_monitors.insert(monitor.id.clone());
                }
                monitors.push(Arc::new(monitor));
                monitor_alerting.push(alerting);
            }
        }
    }
    api::refuse_public_read(
        public_read_at.as_ref(),
        &components,
        &private_monitors,
        &mut problems,
    );
    let mut whens = rule::CompiledWhens::default();
    let rules: Vec<_> = all_alerts
        .into_iter()
        .filter_map(|raw| {
            rule::validate_alert(
                raw,
                &settings,
                &mut defined,
                &mut references,
                &mut whens,
                &mut problems,
            )
        })
        .collect();
    let slos: Vec<_> = all_slos
        .into_iter()
        .filter_map(|raw| {
            rule::validate_slo(raw, &settings, &mut defined, &mut references, &mut problems)
        })
        .collect();
    let routes = all_routes
        .into_iter()
        .filter_map(|raw| {
            route::validate_route(raw, &settings.severities, &mut references, &mut problems)
        })
        .collect();
    let inhibitions = all_inhibits
        .into_iter()
        .filter_map(|raw| route::validate_inhibit(raw, &settings.severities, &mut problems))
        .collect();
    let maintenance: Vec<_> = all_maintenance
        .into_iter()
        .filter_map(|raw| {
            maintenance::validate_maintenance(raw, &mut defined, &mut references, &mut problems)
        })
        .collect();
    maintenance::reject_overlaps(&maintenance, &mut problems);
    let notifiers: Vec<_> = all_notifiers
        .into_iter()
        .filter_map(|raw| notifier::validate_notifier(raw, &mut defined, &mut problems))
        .collect();
    component::check_subscription_notifier(
        &mut status_page,
        subscribe_by_email,
        &notifiers,
        &mut problems,
    );
    let people = all_people
        .into_iter()
        .filter_map(|raw| {
            oncall::validate_person(raw, &mut defined, &mut references, &mut problems)
        })
        .collect();
    let schedules = all_schedules
        .into_iter()
        .filter_map(|raw| {
            rotation::validate_schedule(raw, &mut defined, &mut references, &mut problems)
        })
        .collect();
    let escalations = all_escalations
        .into_iter()
        .filter_map(|raw| {
            oncall::validate_escalation(raw, &mut defined, &mut references, &mut problems)
        })
        .collect();

    // With an include missing, a reference or a component's monitors may
    // be in it: blame nothing that needs every file.
    let topology = targets::Topology::new(&monitors);
    let (monitor_alerting, rules, slos) = if includes_complete {
        references::resolve(references, &defined, &mut problems);
        (
            targets::dependencies(monitor_alerting, &topology, &mut problems),
            targets::rules(
                rules,
                &topology,
                storage.raw_retention,
                &defined,
                &mut problems,
            ),
            targets::slos(
                slos,
                &topology,
                storage.rollup_retention,
                &defined,
                &mut problems,
            ),
        )
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    drop(topology);

    Config {
        server,
        storage,
        probes,
        api,
        status_page,
        components,
        monitors,
        private_monitors,
        alerting: AlertingConfig {
            settings,
            monitors: monitor_alerting,
            rules,
            slos,
            routes,
            inhibitions,
            maintenance: maintenance
                .into_iter()
                .map(|checked| checked.window)
                .collect(),
            notifiers,
        },
        oncall: OnCallConfig {
            people,
            schedules,
            escalations,
            ack_targets,
            link_expiry,
        },
        incidents,
        files,
    }
}

fn non_empty(
    text: Option<Located<String>>,
    what: &str,
    problems: &mut Problems<'_>,
) -> Option<String> {
    let text = text?;
    if text.value.trim().is_empty() {
        problems.at(&text.at, format!("{what} must not be empty"));
        return None;
    }
    Some(text.value)
}

/// Parses an id and rejects one seen before, pointing at the first.
fn parse_id<Id: std::hash::Hash + Eq + Clone>(
    raw: Option<Located<String>>,
    table_at: &Loc,
    what: &str,
    parse: fn(&str) -> Result<Id, watchkeeper_domain::IdError>,
    seen: &mut HashMap<Id, Loc>,
    problems: &mut Problems<'_>,
) -> Option<Id> {
    let Some(raw) = raw else {
        problems.at(table_at, format!("[[{what}]] is missing `id`"));
        return None;
    };
    let id = match parse(&raw.value) {
        Ok(id) => id,
        Err(error) => {
            problems.at(&raw.at, format!("invalid {what} id: {error}"));
            return None;
        }
    };
    if let Some(first) = seen.get(&id) {
        problems.at(
            &raw.at,
            format!(
                "duplicate {what} id `{}` (first defined at {first})",
                raw.value
            ),
        );
        return None;
    }
    seen.insert(id.clone(), raw.at);
    Some(id)
}

/// Formats a duration the way a user would write it (`90s` as `1m 30s`).
fn humanize(duration: Duration) -> String {
    jiff::SignedDuration::try_from(duration)
        .map_or_else(|_| format!("{duration:?}"), |signed| format!("{signed:#}"))
}

/// `a`, `a or b`, `a, b or c`: one of a few names, for messages.
fn one_of(names: &[&str]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

fn required<T>(
    value: Option<T>,
    probe: &str,
    key: &str,
    at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<T> {
    if value.is_none() {
        problems.at(at, format!("the {probe} probe is missing `{key}`"));
    }
    value
}

fn size(raw: Located<RawSize>, key: &str, problems: &mut Problems<'_>) -> Option<usize> {
    let bytes = match &raw.value {
        RawSize::Bytes(bytes) => u64::try_from(*bytes).ok(),
        RawSize::Text(text) => match parse_size(text) {
            Ok(bytes) => Some(bytes),
            Err(message) => {
                problems.at(&raw.at, message);
                return None;
            }
        },
    };
    match bytes.and_then(|bytes| usize::try_from(bytes).ok()) {
        Some(bytes) if bytes > 0 => Some(bytes),
        _ => {
            problems.at(&raw.at, format!("`{key}` must be more than zero bytes"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_writes_durations_as_users_do() {
        assert_eq!(humanize(Duration::from_secs(90)), "1m 30s");
    }

    #[test]
    fn one_of_joins_names_with_a_final_or() {
        assert_eq!(one_of(&["http"]), "http");
        assert_eq!(one_of(&["http", "tcp"]), "http or tcp");
        assert_eq!(
            one_of(&["http", "tcp", "dns", "command"]),
            "http, tcp, dns or command"
        );
    }
}
