//! From the raw mirror to the typed model: every semantic rule (durations,
//! addresses, URLs, ids, references between monitors and components, CEL)
//! is checked here, and every violation is reported, not only the first.
//!
//! This module holds the whole-config rules (ids, components, conditions)
//! and the helpers every table shares; each probe kind's table and the
//! top-level settings are checked in their own submodule.

mod command;
mod dns;
mod http;
mod server;
mod settings;
mod tcp;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use watchkeeper_domain::condition::{Condition, ConditionError};
use watchkeeper_domain::id::{ComponentId, MonitorId};
use watchkeeper_domain::monitor::{AnswerLimit, MonitorSpec, ProbeKind, ProbeSpec};
use watchkeeper_domain::schedule::{CalendarError, CronSchedule, Schedule};

use crate::error::ConfigError;
use crate::model::{Component, Config, DEFAULT_INTERVAL, DEFAULT_TIMEOUT, MIN_INTERVAL};
use crate::quantity::{parse_duration, parse_size};
use crate::raw::{RawComponent, RawDocument, RawMonitor, RawProbe, RawSize, Text, TextList};
use crate::source::{Loc, Located};

/// The conditions a monitor gets when it gives no `expect`.
pub(crate) fn default_expect(kind: ProbeKind) -> &'static [&'static str] {
    match kind {
        ProbeKind::Http => &["status >= 200 && status < 400"],
        ProbeKind::Tcp => &[],
        ProbeKind::Dns => &["size(answers) > 0"],
        ProbeKind::Command => &["exit_code == 0"],
    }
}

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
/// monitor naming a component is not blamed for the component being missing.
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
        include: _,
        server,
        storage,
        probes,
        components,
        monitors,
    } = main;
    let server = server::validate_server(server, &mut problems);
    let storage = settings::validate_storage(storage, &dir, &mut problems);
    let probes = settings::validate_probes(probes, &mut problems);

    let mut all_components = vec![components];
    let mut all_monitors = vec![(dir, monitors)];
    for document in included {
        all_components.push(document.components);
        all_monitors.push((document.dir, document.monitors));
    }

    let mut component_ids: HashMap<ComponentId, Loc> = HashMap::new();
    let mut components = Vec::new();
    for raw in all_components.into_iter().flatten() {
        if let Some(component) = validate_component(raw, &mut component_ids, &mut problems) {
            components.push(component);
        }
    }
    let components_known = includes_complete.then_some(&component_ids);

    let mut monitor_ids: HashMap<MonitorId, Loc> = HashMap::new();
    let mut compiled = CompiledConditions::default();
    let mut monitors = Vec::new();
    for (dir, raws) in all_monitors {
        for raw in raws {
            let context = MonitorContext {
                dir: &dir,
                components: components_known,
            };
            if let Some(monitor) = validate_monitor(
                raw,
                &context,
                &mut monitor_ids,
                &mut compiled,
                &mut problems,
            ) {
                monitors.push(Arc::new(monitor));
            }
        }
    }

    Config {
        server,
        storage,
        probes,
        components,
        monitors,
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

fn validate_component(
    raw: RawComponent,
    seen: &mut HashMap<ComponentId, Loc>,
    problems: &mut Problems<'_>,
) -> Option<Component> {
    let RawComponent {
        at,
        id,
        name,
        group,
        description,
    } = raw;
    let before = problems.count();
    let id = parse_id(id, &at, "component", ComponentId::parse, seen, problems);
    let name = non_empty(name, "`name`", problems);
    let group = non_empty(group, "`group`", problems);
    let description = non_empty(description, "`description`", problems);
    let id = id?;
    if problems.count() > before {
        return None;
    }
    Some(Component {
        name: name.unwrap_or_else(|| id.to_string()),
        id,
        group,
        description,
    })
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

struct MonitorContext<'a> {
    /// The directory of the file the monitor is written in.
    dir: &'a Path,
    /// The components defined anywhere, or `None` when some file could not
    /// be read and a missing component may just be in it.
    components: Option<&'a HashMap<ComponentId, Loc>>,
}

/// Each distinct condition is compiled once per probe kind and shared by
/// every monitor that lists it (most http monitors say `status == 200`); a
/// bad one is still reported at each place it is written.
#[derive(Default)]
struct CompiledConditions(HashMap<(ProbeKind, String), Result<Condition, ConditionError>>);

impl CompiledConditions {
    fn get(&mut self, source: &str, kind: ProbeKind) -> Result<Condition, ConditionError> {
        self.0
            .entry((kind, source.to_owned()))
            .or_insert_with(|| Condition::compile(source, kind))
            .clone()
    }
}

fn validate_monitor(
    raw: RawMonitor,
    context: &MonitorContext<'_>,
    seen: &mut HashMap<MonitorId, Loc>,
    compiled: &mut CompiledConditions,
    problems: &mut Problems<'_>,
) -> Option<MonitorSpec> {
    let RawMonitor {
        at,
        id,
        name,
        component,
        interval,
        schedule,
        time_zone,
        run_at,
        timeout,
        probes,
        expect,
        degraded_if,
    } = raw;
    let before = problems.count();
    let label = id.as_ref().map_or_else(
        || "[[monitor]]".to_owned(),
        |id| format!("monitor `{}`", id.value),
    );
    let id = parse_id(id, &at, "monitor", MonitorId::parse, seen, problems);
    let name = non_empty(name, "`name`", problems);
    let component = component.and_then(|raw| component_ref(raw, context.components, problems));

    let schedule = monitor_schedule(interval, schedule, time_zone, run_at, problems);
    let timeout = monitor_timeout(timeout, &schedule, problems);

    // The kind comes from the key written, so conditions are checked even
    // when the probe itself has errors.
    let kind = probes.first().map(|probe| probe.value.kind());
    let probe = single_probe(probes, &at, &label, context, problems);
    let (expect, degraded_if) = match kind {
        Some(kind) => {
            // a condition's worst case is judged against this monitor's
            // largest answer (its body or output limit)
            let limit = probe
                .as_ref()
                .map_or(kind.default_answer_limit(), ProbeSpec::answer_limit);
            let judged = Judged { kind, limit };
            (
                conditions(
                    expect,
                    judged,
                    default_expect(kind),
                    &at,
                    compiled,
                    problems,
                ),
                conditions(degraded_if, judged, &[], &at, compiled, problems),
            )
        }
        // Without a probe kind the variables are unknown; the missing probe
        // is already reported.
        None => (Vec::new(), Vec::new()),
    };

    let (id, probe) = (id?, probe?);
    if problems.count() > before {
        return None;
    }
    Some(MonitorSpec {
        name: name.unwrap_or_else(|| id.to_string()),
        id,
        component,
        schedule,
        timeout,
        probe,
        expect,
        degraded_if,
    })
}

/// `interval`, or a calendar: `schedule` (with `time_zone`) or `at`; at
/// most one of the three.
fn monitor_schedule(
    interval: Text,
    cron: Text,
    time_zone: Text,
    run_at: Text,
    problems: &mut Problems<'_>,
) -> Schedule {
    let fallback = Schedule::Every(DEFAULT_INTERVAL);
    let given: Vec<(&str, &Located<String>)> = [
        ("interval", interval.as_ref()),
        ("schedule", cron.as_ref()),
        ("at", run_at.as_ref()),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.map(|value| (key, value)))
    .collect();
    if let [(first, _), rest @ ..] = given.as_slice() {
        for (key, value) in rest {
            problems.at(
                &value.at,
                format!(
                    "`{key}` cannot be set beside `{first}`: a monitor runs every `interval`, on a cron `schedule`, or once `at` an instant"
                ),
            );
        }
        if !rest.is_empty() {
            return fallback;
        }
    }
    if let Some(zone) = &time_zone
        && cron.is_none()
    {
        problems.at(
            &zone.at,
            "`time_zone` applies only to a cron `schedule`; `at` takes an offset (`2026-06-01T06:00:00+02:00`)",
        );
    }
    if let Some(raw) = cron {
        let zone = time_zone.as_ref().map_or("UTC", |zone| zone.value.as_str());
        return match CronSchedule::parse(&raw.value, zone) {
            Ok(cron) => Schedule::Cron(Box::new(cron)),
            Err(error @ CalendarError::Cron { .. }) => {
                problems.at(&raw.at, format!("`schedule`: {error}"));
                fallback
            }
            Err(error @ CalendarError::TimeZone { .. }) => {
                let at = time_zone.as_ref().map_or(&raw.at, |zone| &zone.at);
                problems.at(at, format!("`time_zone`: {error}"));
                fallback
            }
        };
    }
    if let Some(raw) = run_at {
        return match raw.value.parse::<jiff::Timestamp>() {
            Ok(at) => Schedule::At(at),
            Err(error) => {
                problems.at(
                    &raw.at,
                    format!(
                        "`at` must be an instant with an offset, such as \"2026-06-01T06:00:00Z\" or \"2026-06-01T08:00:00+02:00\", not {:?}: {error}",
                        raw.value
                    ),
                );
                fallback
            }
        };
    }
    match interval {
        None => fallback,
        Some(raw) => match parse_duration(&raw.value) {
            Ok(interval) if interval >= MIN_INTERVAL => Schedule::Every(interval),
            Ok(_) => {
                problems.at(
                    &raw.at,
                    format!("`interval` must be at least 1s, not {:?}", raw.value),
                );
                fallback
            }
            Err(message) => {
                problems.at(&raw.at, message);
                fallback
            }
        },
    }
}

/// A probe must finish before the schedule's next probe can be due: within
/// the interval, or a minute for cron (its finest step).
fn monitor_timeout(timeout: Text, schedule: &Schedule, problems: &mut Problems<'_>) -> Duration {
    let gap = schedule.shortest_gap();
    let default = gap.map_or(DEFAULT_TIMEOUT, |gap| DEFAULT_TIMEOUT.min(gap));
    let Some(raw) = timeout else {
        return default;
    };
    match parse_duration(&raw.value) {
        Ok(timeout) if timeout.is_zero() => {
            problems.at(&raw.at, "`timeout` must be longer than zero");
            default
        }
        Ok(timeout) if gap.is_some_and(|gap| timeout > gap) => {
            let gap = gap.unwrap_or(timeout);
            let message = match schedule {
                Schedule::Every(_) => format!(
                    "`timeout` {:?} is longer than the interval ({:?}); a probe must finish before the next one is due",
                    raw.value,
                    humanize(gap)
                ),
                _ => format!(
                    "`timeout` {:?} is longer than a minute, the shortest time between two runs of a cron `schedule`",
                    raw.value
                ),
            };
            problems.at(&raw.at, message);
            gap
        }
        Ok(timeout) => timeout,
        Err(message) => {
            problems.at(&raw.at, message);
            default
        }
    }
}

/// Formats a duration the way a user would write it (`90s` as `1m 30s`).
fn humanize(duration: Duration) -> String {
    jiff::SignedDuration::try_from(duration)
        .map_or_else(|_| format!("{duration:?}"), |signed| format!("{signed:#}"))
}

fn component_ref(
    raw: Located<String>,
    known: Option<&HashMap<ComponentId, Loc>>,
    problems: &mut Problems<'_>,
) -> Option<ComponentId> {
    let id = match ComponentId::parse(&raw.value) {
        Ok(id) => id,
        Err(error) => {
            problems.at(&raw.at, format!("invalid component id: {error}"));
            return None;
        }
    };
    if let Some(known) = known
        && !known.contains_key(&id)
    {
        let mut names: Vec<&str> = known.keys().map(ComponentId::as_str).collect();
        names.sort_unstable();
        let list = if names.is_empty() {
            "none are defined; add a [[component]]".to_owned()
        } else {
            format!("known components: {}", names.join(", "))
        };
        problems.at(
            &raw.at,
            format!("unknown component `{}`; {list}", raw.value),
        );
        return None;
    }
    Some(id)
}

fn single_probe(
    probes: Vec<Located<RawProbe>>,
    monitor_at: &Loc,
    label: &str,
    context: &MonitorContext<'_>,
    problems: &mut Problems<'_>,
) -> Option<ProbeSpec> {
    let mut probes = probes.into_iter();
    let Some(first) = probes.next() else {
        problems.at(
            monitor_at,
            format!("{label} has no probe; give exactly one of http, tcp, dns or command"),
        );
        return None;
    };
    let mut extra = false;
    for other in probes {
        extra = true;
        problems.at(
            &other.at,
            format!(
                "{label} has more than one probe ({} and {}); give exactly one of http, tcp, dns or command",
                first.value.key(),
                other.value.key()
            ),
        );
    }
    let at = first.at;
    let probe = match first.value {
        RawProbe::Http(http) => http::validate_http(*http, &at, problems).map(ProbeSpec::Http),
        RawProbe::Tcp(tcp) => tcp::validate_tcp(tcp, &at, problems).map(ProbeSpec::Tcp),
        RawProbe::Dns(dns) => dns::validate_dns(dns, &at, problems).map(ProbeSpec::Dns),
        RawProbe::Command(command) => {
            command::validate_command(command, &at, context.dir, problems).map(ProbeSpec::Command)
        }
    };
    if extra { None } else { probe }
}

/// What a monitor's conditions are checked for: the variables of its probe
/// kind, and the cost of the largest answer its probe can return.
#[derive(Clone, Copy)]
struct Judged {
    kind: ProbeKind,
    limit: AnswerLimit,
}

fn conditions(
    raw: TextList,
    Judged { kind, limit }: Judged,
    defaults: &[&str],
    monitor_at: &Loc,
    compiled: &mut CompiledConditions,
    problems: &mut Problems<'_>,
) -> Vec<Condition> {
    let sources: Vec<Located<String>> = match raw {
        Some(list) => list.value,
        None => defaults
            .iter()
            .map(|source| Located::new((*source).to_owned(), monitor_at.clone()))
            .collect(),
    };
    sources
        .into_iter()
        .filter_map(|source| {
            match compiled
                .get(&source.value, kind)
                .and_then(|condition| condition.check_cost(limit).map(|_| condition))
            {
                Ok(condition) => Some(condition),
                Err(error) => {
                    problems.at(&source.at, error.to_string());
                    None
                }
            }
        })
        .collect()
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
    fn default_conditions_compile_for_their_kind() {
        for kind in [
            ProbeKind::Http,
            ProbeKind::Tcp,
            ProbeKind::Dns,
            ProbeKind::Command,
        ] {
            for source in default_expect(kind) {
                assert!(Condition::compile(source, kind).is_ok(), "{source}");
            }
        }
    }

    #[test]
    fn humanize_writes_durations_as_users_do() {
        assert_eq!(humanize(Duration::from_secs(90)), "1m 30s");
    }
}
