//! Tests for the status page's model: statuses from monitors and
//! incidents, uptime bars, private components kept out, and the HTML
//! escaping every value.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::incident::{EntryKind, Impact, IncidentStatus};
use watchkeeper_store::{DayCount, StoredEntry, StoredIncident};

use super::model::{Inputs, PageComponent, PageSettings, build, percent};

fn now() -> Timestamp {
    "2026-12-02T10:30:00Z".parse().unwrap()
}

/// Renders with the built-in templates.
fn render(
    template: &str,
    page: &super::model::PageModel,
    incident: Option<&super::model::IncidentView>,
) -> Result<String, crate::error::ApiError> {
    super::templates::render(&super::CustomTemplates::default(), template, page, incident)
}

fn id(text: &str) -> MonitorId {
    MonitorId::parse(text).unwrap()
}

fn settings() -> PageSettings {
    PageSettings {
        title: "Acme <Status>".to_owned(),
        components: vec![
            PageComponent {
                id: "api".to_owned(),
                name: "API".to_owned(),
                group: Some("Backend".to_owned()),
                description: None,
                monitors: vec![id("api-1"), id("api-2")],
            },
            PageComponent {
                id: "web".to_owned(),
                name: "<script>alert(1)</script>".to_owned(),
                group: Some("Backend".to_owned()),
                description: None,
                monitors: vec![id("web")],
            },
        ],
        ..PageSettings::default()
    }
}

fn incident(
    id: i64,
    component: &str,
    impact: Impact,
    status: IncidentStatus,
) -> (StoredIncident, Vec<StoredEntry>) {
    let at = now();
    let incident = StoredIncident {
        id,
        title: "Payments <b>slow</b>".to_owned(),
        severity: "P1".to_owned(),
        status,
        components: BTreeMap::from([(component.to_owned(), impact)]),
        commander: None,
        opened_by_alert: true,
        started_at: at,
        acknowledged_at: None,
        resolved_at: (!status.is_open()).then_some(at),
        next_update_at: None,
        last_reminder_at: None,
        created_at: at,
        updated_at: at,
        alerts: Vec::new(),
    };
    let entry = StoredEntry {
        id: id * 10,
        incident: id,
        at,
        kind: EntryKind::Update,
        author: None,
        status: Some(status),
        subject: None,
        body: "We're <i>investigating</i>.".to_owned(),
        fingerprint: None,
        template: None,
    };
    (incident, vec![entry])
}

#[test]
fn a_component_is_the_worse_of_its_monitors_and_its_incidents() {
    let healths = HashMap::from([
        (id("api-1"), Some(Health::Up)),
        (id("api-2"), Some(Health::Down)),
        (id("web"), Some(Health::Up)),
    ]);
    let incidents = [incident(
        1,
        "web",
        Impact::MajorOutage,
        IncidentStatus::Identified,
    )];
    let page = build(
        &settings(),
        &Inputs {
            healths: &healths,
            incidents: &incidents,
            daily: &HashMap::new(),
            now: now(),
        },
    );
    let components = &page.groups[0].components;
    assert_eq!(components[0].status, "partial_outage");
    assert_eq!(components[1].status, "major_outage");
    assert_eq!(page.groups[0].status, "major_outage");
    assert_eq!(page.indicator, "critical");
    assert_eq!(page.active.len(), 1);
    assert_eq!(page.active[0].impact, "critical");
}

#[test]
fn uptime_bars_cover_ninety_days_coloured_by_availability() {
    let today = now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let yesterday = today.yesterday().unwrap();
    let daily = HashMap::from([
        (
            id("api-1"),
            vec![DayCount {
                day: yesterday,
                count: 1000,
                failures: 20,
                degraded: 0,
            }],
        ),
        (
            id("api-2"),
            vec![DayCount {
                day: today,
                count: 100,
                failures: 0,
                degraded: 0,
            }],
        ),
    ]);
    let page = build(
        &settings(),
        &Inputs {
            healths: &HashMap::new(),
            incidents: &[],
            daily: &daily,
            now: now(),
        },
    );
    let api = &page.groups[0].components[0];
    assert_eq!(api.days.len(), 90);
    assert_eq!(api.days[89].class, "up");
    assert_eq!(api.days[88].class, "partial");
    assert_eq!(
        api.days[88].title,
        "2026-12-01: 98.00 % (20 of 1,000 failed)"
    );
    assert_eq!(api.days[0].class, "none");
    assert_eq!(api.uptime.as_deref(), Some("98.18 %"));
    assert_eq!(page.groups[0].components[1].uptime, None);
    assert_eq!(page.indicator, "none");
    assert_eq!(page.history.len(), 14);
}

#[test]
fn percent_never_rounds_a_failure_up_to_a_hundred() {
    assert_eq!(percent(0.99999), "99.99 %");
    assert_eq!(percent(1.0), "100.00 %");
}

#[test]
fn an_incident_on_private_components_only_is_not_shown() {
    let incidents = [
        incident(
            1,
            "billing-internal",
            Impact::MajorOutage,
            IncidentStatus::Investigating,
        ),
        incident(
            2,
            "api",
            Impact::DegradedPerformance,
            IncidentStatus::Resolved,
        ),
    ];
    let page = build(
        &settings(),
        &Inputs {
            healths: &HashMap::new(),
            incidents: &incidents,
            daily: &HashMap::new(),
            now: now(),
        },
    );
    assert!(page.active.is_empty());
    assert_eq!(page.indicator, "none");
    assert_eq!(page.history[0].incidents.len(), 1);
    assert_eq!(page.history[0].incidents[0].id, 2);
}

#[test]
fn every_supplied_string_is_escaped_in_the_html() {
    let incidents = [incident(
        1,
        "api",
        Impact::PartialOutage,
        IncidentStatus::Investigating,
    )];
    let page = build(
        &settings(),
        &Inputs {
            healths: &HashMap::new(),
            incidents: &incidents,
            daily: &HashMap::new(),
            now: now(),
        },
    );
    let html = render("page.html", &page, None).unwrap();
    for raw in [
        "<script>",
        "<b>slow</b>",
        "<i>investigating</i>",
        "<Status>",
    ] {
        assert!(!html.contains(raw), "{raw} is not escaped");
    }
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("style="), "no inline styles");
    assert!(!html.contains("<script"), "no scripts");
}

/// The size of the page at 50 components with 90 days of data each: what
/// a visitor downloads, raw and gzipped (as the server sends it to
/// browsers). Printed for docs/status-page.md.
#[test]
fn fifty_components_with_ninety_days_stay_small_once_compressed() {
    use std::io::Write;
    let today = now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut components = Vec::new();
    let mut daily = HashMap::new();
    for n in 0..50 {
        let monitor = id(&format!("m-{n}"));
        components.push(PageComponent {
            id: format!("c-{n}"),
            name: format!("Component number {n}"),
            group: Some(format!("Group {}", n / 10)),
            description: None,
            monitors: vec![monitor.clone()],
        });
        let days = (0..90)
            .map(|back| DayCount {
                day: today.checked_sub(jiff::Span::new().days(back)).unwrap(),
                count: 8_640,
                failures: (back as u64 * 7 + n) % 13,
                degraded: 0,
            })
            .collect();
        daily.insert(monitor, days);
    }
    let settings = PageSettings {
        components,
        ..PageSettings::default()
    };
    let page = build(
        &settings,
        &Inputs {
            healths: &HashMap::new(),
            incidents: &[],
            daily: &daily,
            now: now(),
        },
    );
    let html = render("page.html", &page, None).unwrap();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(html.as_bytes()).unwrap();
    let compressed = gzip.finish().unwrap().len();
    println!(
        "50 components × 90 days: {} bytes, {compressed} gzipped",
        html.len()
    );
    assert!(compressed < 100_000, "{compressed} bytes gzipped");
}

#[test]
fn feeds_and_badges_render_hostile_strings_inert() {
    use super::feeds::{ATOM_TEMPLATE, FeedEntry, RSS_TEMPLATE, render as feed};
    let entries = [FeedEntry {
        id: 7,
        incident: 3,
        title: "Payments <script>alert(1)</script> & more".to_owned(),
        status: "Identified",
        body: "]]><evil/> \"quoted\" 'single'".to_owned(),
        at: "2026-12-02T10:30:00.000Z".to_owned(),
        at_rfc2822: "Wed, 02 Dec 2026 10:30:00 +0000".to_owned(),
    }];
    for template in [ATOM_TEMPLATE, RSS_TEMPLATE] {
        let xml = feed(template, "Acme <Status>", &entries, now()).unwrap();
        for raw in ["<script>", "<evil/>", "<Status>", "& more"] {
            assert!(!xml.contains(raw), "{raw} in {xml}");
        }
        assert!(xml.contains("&lt;script&gt;"), "{xml}");
        assert!(xml.contains("urn:watchkeeper:incident:3:update:7"), "{xml}");
    }
    let svg = super::badges::badge("status", "<b>x</b>", "#2fa86b").unwrap();
    assert!(!svg.contains("<b>"), "{svg}");
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(
        svg.contains("aria-label=\"status: &lt;b&gt;x&lt;&#x2f;b&gt;\""),
        "{svg}"
    );
}

#[test]
fn maintenance_in_progress_and_upcoming_on_public_components_only() {
    use watchkeeper_domain::alert::maintenance::{MaintenanceWindow, When};
    use watchkeeper_domain::id::ComponentId;
    let hours = |h: i64| {
        now()
            .checked_add(jiff::SignedDuration::from_hours(h))
            .unwrap()
    };
    let window = |id: &str, component: &str, start: i64, end: i64| MaintenanceWindow {
        id: id.to_owned(),
        title: format!("{id} <b>work</b>"),
        monitors: Vec::new(),
        components: vec![ComponentId::parse(component).unwrap()],
        when: When::Once {
            start: hours(start),
            end: hours(end),
        },
    };
    let mut settings = settings();
    settings.maintenance = vec![
        window("later", "api", 72, 74),
        window("now", "api", -1, 1),
        window("private", "billing-internal", -1, 1),
        window("far", "web", 24 * 30, 24 * 30 + 1),
    ];
    let healths = HashMap::from([(id("api-1"), Some(Health::Down))]);
    let page = build(
        &settings,
        &Inputs {
            healths: &healths,
            incidents: &[],
            daily: &HashMap::new(),
            now: now(),
        },
    );
    let ids: Vec<(&str, &str)> = page
        .maintenance
        .iter()
        .map(|m| (m.id.as_str(), m.status))
        .collect();
    assert_eq!(ids, [("now", "in_progress"), ("later", "scheduled")]);
    // Monitors failing in a planned window are expected.
    assert_eq!(page.groups[0].components[0].status, "under_maintenance");
    assert_eq!(page.indicator, "none");
    let html = render("page.html", &page, None).unwrap();
    assert!(html.contains("now &lt;b&gt;work&lt;&#x2f;b&gt;"), "{html}");
    assert!(!html.contains("private"), "{html}");
}

/// Every key a Statuspage `summary.json` has, at every level, is in ours,
/// with a value of the same JSON type (or null where Statuspage allows
/// it). The fixture is a Statuspage body with invented values; the keys
/// are Statuspage's public v2 contract.
#[test]
fn summary_json_has_every_key_statuspage_has() {
    use watchkeeper_domain::alert::maintenance::{MaintenanceWindow, When};
    use watchkeeper_domain::id::ComponentId;
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/statuspage_summary.json")).unwrap();
    let mut settings = settings();
    settings.maintenance = vec![MaintenanceWindow {
        id: "db".to_owned(),
        title: "Database upgrade".to_owned(),
        monitors: Vec::new(),
        components: vec![ComponentId::parse("api").unwrap()],
        when: When::Once {
            start: now()
                .checked_add(jiff::SignedDuration::from_hours(48))
                .unwrap(),
            end: now()
                .checked_add(jiff::SignedDuration::from_hours(49))
                .unwrap(),
        },
    }];
    let incidents = [incident(
        1,
        "api",
        Impact::PartialOutage,
        IncidentStatus::Identified,
    )];
    let healths = HashMap::from([(id("api-1"), Some(Health::Down))]);
    let model = build(
        &settings,
        &Inputs {
            healths: &healths,
            incidents: &incidents,
            daily: &HashMap::new(),
            now: now(),
        },
    );
    let ours = super::statuspage::summary_body(&settings, &model, &incidents, now());
    fn same_shape(
        path: &str,
        theirs: &serde_json::Value,
        ours: &serde_json::Value,
        missing: &mut Vec<String>,
    ) {
        use serde_json::Value::*;
        match (theirs, ours) {
            (Object(theirs), Object(ours)) => {
                for (key, value) in theirs {
                    match ours.get(key) {
                        None => missing.push(format!("{path}.{key}")),
                        Some(mine) => same_shape(&format!("{path}.{key}"), value, mine, missing),
                    }
                }
            }
            (Array(theirs), Array(ours)) => {
                if let (Some(first), Some(mine)) = (theirs.first(), ours.first()) {
                    same_shape(&format!("{path}[]"), first, mine, missing);
                }
            }
            (Null, _) | (_, Null) => {}
            (String(_), String(_)) | (Number(_), Number(_)) | (Bool(_), Bool(_)) => {}
            (theirs, ours) => missing.push(format!("{path}: {theirs} but ours is {ours}")),
        }
    }
    let mut missing = Vec::new();
    same_shape("", &fixture, &ours, &mut missing);
    assert!(
        missing.is_empty(),
        "not like Statuspage: {missing:#?}\n{ours:#}"
    );
    for key in ["incidents", "scheduled_maintenances"] {
        assert_eq!(ours[key].as_array().unwrap().len(), 1, "{key}: {ours:#}");
    }
    insta::assert_json_snapshot!("summary_json", ours);
}
