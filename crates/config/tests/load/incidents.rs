//! `[incidents]` and `[[incident_template]]`: the defaults, a full policy
//! as written, and each mistake reported at its position (a template that
//! does not render, at the line of its `body`).

use std::time::Duration;

use watchkeeper_domain::incident::{Impact, IncidentStatus};

use crate::support::{assert_error, errors, load};

#[test]
fn without_the_section_alerts_open_no_incidents_and_defaults_apply() {
    let config = load("").unwrap();
    let incidents = &config.incidents;
    assert_eq!(incidents.policy.open_from, None);
    assert!(!incidents.policy.opens("P0"));
    assert_eq!(incidents.policy.join_window, Duration::from_secs(30 * 60));
    assert!(incidents.policy.resolve_with_alerts);
    assert_eq!(incidents.policy.impacts["P0"], Impact::MajorOutage);
    assert_eq!(incidents.policy.impacts["P1"], Impact::PartialOutage);
    assert_eq!(incidents.policy.impacts["P3"], Impact::DegradedPerformance);
    assert_eq!(incidents.next_update, None);
    assert!(incidents.templates.is_empty());
}

#[test]
fn a_policy_and_templates_load_as_written() {
    let config = load(
        r#"
[incidents]
open_from = "P2"
join_window = "1h"
resolve_with_alerts = false
impacts = { P1 = "major_outage" }
next_update = "30m"

[[incident_template]]
id = "payment-delay"
status = "identified"
body = "We've identified an issue affecting payment confirmations. {{ message or '' }}"

[[incident_template]]
id = "investigating"
subject = "{{ incident.title }}"
body = "Looking into {{ incident.affected }}."
"#,
    )
    .unwrap();
    let incidents = &config.incidents;
    assert_eq!(incidents.policy.open_from.as_deref(), Some("P2"));
    assert!(incidents.policy.opens("P2"));
    assert!(!incidents.policy.opens("P3"));
    assert_eq!(incidents.policy.join_window, Duration::from_secs(3600));
    assert!(!incidents.policy.resolve_with_alerts);
    assert_eq!(incidents.policy.impacts["P1"], Impact::MajorOutage);
    assert_eq!(incidents.next_update, Some(Duration::from_secs(1800)));
    let ids: Vec<&str> = incidents.templates.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["payment-delay", "investigating"]);
    assert_eq!(
        incidents.templates[0].status,
        Some(IncidentStatus::Identified)
    );
    assert_eq!(
        incidents.templates[1].subject.as_deref(),
        Some("{{ incident.title }}")
    );
}

#[test]
fn policy_mistakes_are_reported_where_they_are_written() {
    assert_error(
        "[incidents]\nopen_from = \"p2\"\n",
        "watchkeeper.toml:2:13: unknown severity `p2`; did you mean `P2`? the severities are P0, P1, P2, P3 ([alerting] severities)",
    );
    assert_error(
        "[incidents]\nimpacts = { P1 = \"outage\" }\n",
        "watchkeeper.toml:2:18: unknown impact `outage`; an impact is degraded_performance, partial_outage or major_outage",
    );
    assert_error(
        "[incidents]\njoin_window = \"0s\"\n",
        "watchkeeper.toml:2:15: `join_window` must be longer than zero",
    );
}

#[test]
fn a_template_that_does_not_render_is_an_error_at_its_body() {
    let text = "[[incident_template]]\nid = \"oops\"\nbody = \"\"\"\nHello\n{{ incident.titel }}\n\"\"\"\n";
    let message = errors(text);
    assert!(
        message.starts_with("watchkeeper.toml:3:8: incident template `oops` (body), line 2: "),
        "{message}"
    );
    assert!(message.contains("undefined"), "{message}");
}

#[test]
fn template_table_mistakes_are_each_reported() {
    let message = errors(
        r#"
[[incident_template]]
id = "a"
status = "fixed"
body = "x"

[[incident_template]]
id = "b"

[[incident_template]]
id = "c"
body = "{{ incident.title }"

[[incident_template]]
id = "c"
body = "ok"
"#,
    );
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 4, "{message}");
    assert!(
        lines[0].starts_with("watchkeeper.toml:4:10: unknown incident status `fixed`"),
        "{message}"
    );
    assert!(
        lines[1].starts_with("watchkeeper.toml:7:1: [[incident_template]] is missing `body`"),
        "{message}"
    );
    assert!(
        lines[3].starts_with("watchkeeper.toml:15:6: duplicate incident template id `c`"),
        "{message}"
    );
    assert!(
        lines[2].starts_with("watchkeeper.toml:12:8: incident template `c` (body)"),
        "{message}"
    );
}
