//! The `[[monitor]]` rules: its id, timing (`schedule`: an interval or a
//! calendar, and a timeout that fits), exactly one probe (each kind checked in its own module) and
//! its conditions; the component it names is a reference, resolved by
//! `references` once every file is read. Its alerting keys (thresholds,
//! severity, labels, `depends_on`, `alert`) are checked by `alerting`.

use std::path::Path;

use watchkeeper_domain::id::{ComponentId, MonitorId};
use watchkeeper_domain::monitor::{MonitorSpec, ProbeSpec};

use super::alerting::{PendingMonitorAlerting, RawMonitorAlerting, monitor_alerting};
use super::conditions::{CompiledConditions, Judged, conditions, default_expect};
use super::references::{Defined, References, Target};
use super::schedule::{monitor_schedule, monitor_timeout};
use super::{Problems, command, dns, http, non_empty, one_of, parse_id, tcp};
use crate::model::AlertingSettings;
use crate::raw::{RawMonitor, RawProbe};
use crate::source::{Loc, Located};

/// `dir` is the directory of the file the monitor is written in. Beside
/// the spec and its alerting comes whether it is public (`public = false`:
/// never on the status page or any unauthenticated route).
pub(super) fn validate_monitor(
    raw: RawMonitor,
    dir: &Path,
    settings: &AlertingSettings,
    defined: &mut Defined,
    references: &mut References,
    compiled: &mut CompiledConditions,
    problems: &mut Problems<'_>,
) -> Option<(MonitorSpec, PendingMonitorAlerting, bool)> {
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
        failure_threshold,
        success_threshold,
        severity,
        labels,
        depends_on,
        alert,
        public,
    } = raw;
    let before = problems.count();
    let label = id.as_ref().map_or_else(
        || "[[monitor]]".to_owned(),
        |id| format!("monitor `{}`", id.value),
    );
    let id = parse_id(
        id,
        &at,
        "monitor",
        MonitorId::parse,
        &mut defined.monitors,
        problems,
    );
    let name = non_empty(name, "`name`", problems);
    let component = component.and_then(|raw| component_ref(raw, references, problems));
    let schedule = monitor_schedule(interval, schedule, time_zone, run_at, problems);
    let timeout = monitor_timeout(timeout, &schedule, problems);

    // The kind comes from the key written, so conditions are checked even
    // when the probe itself has errors.
    let kind = probes.first().map(|probe| probe.value.kind());
    let probe = single_probe(probes, &at, &label, dir, problems);
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

    let alerting = monitor_alerting(
        RawMonitorAlerting {
            failure_threshold,
            success_threshold,
            severity,
            labels,
            depends_on,
            alert,
        },
        id.as_ref(),
        settings,
        references,
        problems,
    );

    let (id, probe, alerting) = (id?, probe?, alerting?);
    if problems.count() > before {
        return None;
    }
    Some((
        MonitorSpec {
            name: name.unwrap_or_else(|| id.to_string()),
            id,
            component,
            schedule,
            timeout,
            probe,
            expect,
            degraded_if,
        },
        alerting,
        public.is_none_or(|flag| flag.value),
    ))
}

/// A component id as written; whether one is defined is for the
/// reference pass.
fn component_ref(
    raw: Located<String>,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<ComponentId> {
    match ComponentId::parse(&raw.value) {
        Ok(id) => {
            references.add(Target::Component, raw);
            Some(id)
        }
        Err(error) => {
            problems.at(&raw.at, format!("invalid component id: {error}"));
            None
        }
    }
}

fn single_probe(
    probes: Vec<Located<RawProbe>>,
    monitor_at: &Loc,
    label: &str,
    dir: &Path,
    problems: &mut Problems<'_>,
) -> Option<ProbeSpec> {
    let kinds = one_of(RawProbe::KEYS);
    let mut probes = probes.into_iter();
    let Some(first) = probes.next() else {
        problems.at(
            monitor_at,
            format!("{label} has no probe; give exactly one of {kinds}"),
        );
        return None;
    };
    let mut extra = false;
    for other in probes {
        extra = true;
        problems.at(
            &other.at,
            format!(
                "{label} has more than one probe ({} and {}); give exactly one of {kinds}",
                first.value.key(),
                other.value.key()
            ),
        );
    }
    let at = first.at;
    let probe = match first.value {
        RawProbe::Http(raw) => http::validate_http(*raw, &at, problems).map(ProbeSpec::Http),
        RawProbe::Tcp(raw) => tcp::validate_tcp(raw, &at, problems).map(ProbeSpec::Tcp),
        RawProbe::Dns(raw) => dns::validate_dns(raw, &at, problems).map(ProbeSpec::Dns),
        RawProbe::Command(raw) => {
            command::validate_command(raw, &at, dir, problems).map(ProbeSpec::Command)
        }
    };
    if extra { None } else { probe }
}
