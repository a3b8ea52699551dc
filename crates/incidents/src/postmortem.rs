//! The postmortem, in the seeds' template: summary, impact measured from
//! the store, the timeline from stored events, then root cause,
//! resolution, prevention and action items as sections to fill, prefilled
//! where the data says (the conditions that failed, the runbooks the
//! alerts named, the resolving update).
//!
//! [`render`] is a pure function of [`PostmortemFacts`] (gathered from the
//! store by [`crate::timeline`]), through a minijinja template compiled
//! into the binary; its output is fixed by a snapshot test.

use std::time::Duration;

use jiff::Timestamp;
use minijinja::{Environment, UndefinedBehavior, context};
use serde::Serialize;
use watchkeeper_domain::incident::{Impact, IncidentStatus};

use crate::communications::human_duration;

const TEMPLATE: &str = include_str!("postmortem.md.j2");

/// A monitor of an affected component, measured over the incident.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorImpact {
    pub monitor: String,
    /// Probes during the incident, and how many failed.
    pub probes: u64,
    pub failed: u64,
}

/// One of the incident's alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertFacts {
    pub rule: String,
    pub monitor: String,
    pub severity: Option<String>,
    /// The condition that failed, as the alert's first firing said.
    pub reason: Option<String>,
    pub runbook: Option<String>,
    pub fired_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineLine {
    pub at: Timestamp,
    pub text: String,
}

/// What the postmortem says, gathered from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct PostmortemFacts {
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub status: IncidentStatus,
    pub commander: Option<String>,
    pub started_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// When the postmortem was written (the end of an open incident's
    /// measured span).
    pub written_at: Timestamp,
    /// Display name and impact of each affected component.
    pub components: Vec<(String, Impact)>,
    pub monitors: Vec<MonitorImpact>,
    pub alerts: Vec<AlertFacts>,
    /// Notifications about its alerts delivered, and failed for good.
    pub notifications_delivered: u64,
    pub notifications_failed: u64,
    /// People paged by escalation.
    pub pages: u64,
    /// The last update's message when it resolved the incident.
    pub resolution: Option<String>,
    pub timeline: Vec<TimelineLine>,
}

#[derive(Serialize)]
struct MonitorRow<'a> {
    monitor: &'a str,
    probes: u64,
    failed: u64,
    availability: Option<String>,
}

#[derive(Serialize)]
struct AlertRow<'a> {
    rule: &'a str,
    monitor: &'a str,
    severity: Option<&'a str>,
    reason: Option<&'a str>,
    runbook: Option<&'a str>,
    fired_at: Option<String>,
    resolved_at: Option<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    at: String,
    text: &'a str,
}

/// The postmortem as Markdown.
pub fn render(facts: &PostmortemFacts) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_filter("cell", cell);
    env.add_template("postmortem", TEMPLATE)?;
    let end = facts.resolved_at.unwrap_or(facts.written_at);
    let since = |at: Option<Timestamp>| {
        at.map(|at| human_duration(at.duration_since(facts.started_at).unsigned_abs()))
    };
    let monitors: Vec<MonitorRow<'_>> = facts
        .monitors
        .iter()
        .map(|monitor| MonitorRow {
            monitor: &monitor.monitor,
            probes: monitor.probes,
            failed: monitor.failed,
            availability: (monitor.probes > 0).then(|| {
                let up = monitor.probes.saturating_sub(monitor.failed) as f64;
                format!("{:.2} %", 100.0 * up / monitor.probes as f64)
            }),
        })
        .collect();
    let alerts: Vec<AlertRow<'_>> = facts
        .alerts
        .iter()
        .map(|alert| AlertRow {
            rule: &alert.rule,
            monitor: &alert.monitor,
            severity: alert.severity.as_deref(),
            reason: alert.reason.as_deref(),
            runbook: alert.runbook.as_deref(),
            fired_at: alert.fired_at.map(utc_second),
            resolved_at: alert.resolved_at.map(utc_second),
        })
        .collect();
    let timeline: Vec<Line<'_>> = facts
        .timeline
        .iter()
        .map(|line| Line {
            at: utc_second(line.at),
            text: &line.text,
        })
        .collect();
    let components: Vec<String> = facts
        .components
        .iter()
        .map(|(name, impact)| format!("{name} ({})", impact.title().to_lowercase()))
        .collect();
    let runbooks: Vec<&str> = {
        let mut runbooks: Vec<&str> = facts
            .alerts
            .iter()
            .filter_map(|a| a.runbook.as_deref())
            .collect();
        runbooks.sort_unstable();
        runbooks.dedup();
        runbooks
    };
    env.get_template("postmortem")?.render(context! {
        id => facts.id,
        title => &facts.title,
        severity => &facts.severity,
        status => facts.status.as_str(),
        commander => facts.commander.as_deref(),
        date => facts.started_at.strftime("%Y-%m-%d").to_string(),
        started_at => utc_second(facts.started_at),
        acknowledged_at => facts.acknowledged_at.map(utc_second),
        time_to_acknowledge => since(facts.acknowledged_at),
        resolved_at => facts.resolved_at.map(utc_second),
        ongoing => facts.resolved_at.is_none(),
        duration => human_duration(end.duration_since(facts.started_at).unsigned_abs()),
        written_at => utc_second(facts.written_at),
        components => components,
        monitors => monitors,
        alerts => alerts,
        notifications_delivered => facts.notifications_delivered,
        notifications_failed => facts.notifications_failed,
        pages => facts.pages,
        resolution => facts.resolution.as_deref(),
        runbooks => runbooks,
        timeline => timeline,
    })
}

/// Text safe in a Markdown table cell: no line breaks, pipes escaped.
fn cell(text: String) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// `2026-12-02 10:32:05 UTC`.
pub fn utc_second(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How long an incident lasted (or has lasted by `now`).
pub fn duration(started_at: Timestamp, end: Timestamp) -> Duration {
    end.duration_since(started_at).unsigned_abs()
}

#[cfg(test)]
mod tests;
