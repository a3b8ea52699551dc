//! The `[[monitor]]` rules: its id, timing (interval and a timeout that
//! fits in it), exactly one probe (each kind checked in its own module) and
//! its conditions; the component it names is a reference, resolved by
//! `references` once every file is read.

use std::path::Path;

use watchkeeper_domain::id::{ComponentId, MonitorId};
use watchkeeper_domain::monitor::{MonitorSpec, ProbeSpec};

use super::conditions::{CompiledConditions, Judged, conditions, default_expect};
use super::references::{Defined, References, Target};
use super::{Problems, command, dns, http, humanize, non_empty, one_of, parse_id, tcp};
use crate::model::{DEFAULT_INTERVAL, DEFAULT_TIMEOUT, MIN_INTERVAL};
use crate::quantity::parse_duration;
use crate::raw::{RawMonitor, RawProbe};
use crate::raw_table::Text;
use crate::source::{Loc, Located};

/// `dir` is the directory of the file the monitor is written in.
pub(super) fn validate_monitor(
    raw: RawMonitor,
    dir: &Path,
    defined: &mut Defined,
    references: &mut References,
    compiled: &mut CompiledConditions,
    problems: &mut Problems<'_>,
) -> Option<MonitorSpec> {
    let RawMonitor {
        at,
        id,
        name,
        component,
        interval,
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
    let interval = validate_interval(interval, problems);
    let timeout = validate_timeout(timeout, interval, problems);

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

    let (id, probe) = (id?, probe?);
    if problems.count() > before {
        return None;
    }
    Some(MonitorSpec {
        name: name.unwrap_or_else(|| id.to_string()),
        id,
        component,
        interval,
        timeout,
        probe,
        expect,
        degraded_if,
    })
}

fn validate_interval(raw: Text, problems: &mut Problems<'_>) -> std::time::Duration {
    let Some(raw) = raw else {
        return DEFAULT_INTERVAL;
    };
    match parse_duration(&raw.value) {
        Ok(interval) if interval >= MIN_INTERVAL => interval,
        Ok(_) => {
            problems.at(
                &raw.at,
                format!("`interval` must be at least 1s, not {:?}", raw.value),
            );
            DEFAULT_INTERVAL
        }
        Err(message) => {
            problems.at(&raw.at, message);
            DEFAULT_INTERVAL
        }
    }
}

fn validate_timeout(
    raw: Text,
    interval: std::time::Duration,
    problems: &mut Problems<'_>,
) -> std::time::Duration {
    let Some(raw) = raw else {
        return DEFAULT_TIMEOUT.min(interval);
    };
    match parse_duration(&raw.value) {
        Ok(timeout) if timeout.is_zero() => {
            problems.at(&raw.at, "`timeout` must be longer than zero");
            interval
        }
        Ok(timeout) if timeout > interval => {
            problems.at(
                &raw.at,
                format!(
                    "`timeout` {:?} is longer than the interval ({:?}); a probe must finish before the next one is due",
                    raw.value,
                    humanize(interval)
                ),
            );
            interval
        }
        Ok(timeout) => timeout,
        Err(message) => {
            problems.at(&raw.at, message);
            interval
        }
    }
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
