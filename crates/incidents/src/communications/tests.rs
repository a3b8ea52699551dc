//! Tests for the parent module, with fixed times and the default templates.
use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::incident::{Impact, IncidentStatus};

use super::*;

fn incident() -> IncidentFacts {
    IncidentFacts {
        id: 12,
        title: "Payment Processing Delays".to_owned(),
        severity: "P1".to_owned(),
        status: IncidentStatus::Investigating,
        components: vec![
            ("Payments".to_owned(), Impact::PartialOutage),
            ("Email".to_owned(), Impact::DegradedPerformance),
        ],
        started_at: "2026-12-02T10:00:00Z".parse().unwrap(),
        resolved_at: None,
    }
}

fn update<'a>(
    incident: &'a IncidentFacts,
    status: IncidentStatus,
    message: Option<&'a str>,
) -> UpdateFacts<'a> {
    UpdateFacts {
        incident,
        status,
        message,
        next_update: Some(Duration::from_secs(30 * 60)),
        posted_at: "2026-12-02T10:32:40Z".parse().unwrap(),
    }
}

#[test]
fn each_status_has_a_default_in_the_seeds_words() {
    let communications = Communications::new(Vec::new()).unwrap();
    let incident = incident();
    let body = |status: IncidentStatus, message| {
        communications
            .render(status.as_str(), &update(&incident, status, message))
            .unwrap()
            .body
    };
    assert_eq!(
        body(IncidentStatus::Investigating, None),
        "We're investigating an issue affecting Payments, Email. We'll update this status as we learn more."
    );
    assert_eq!(
        body(
            IncidentStatus::Identified,
            Some("Confirmation emails may be delayed.")
        ),
        "We've identified the issue affecting Payments, Email. Confirmation emails may be delayed. We're working on a fix."
    );
    assert!(
        body(IncidentStatus::Resolved, None)
            .starts_with("The issue affecting Payments, Email has been resolved.")
    );
    assert!(body(IncidentStatus::Monitoring, None).contains("We're monitoring the results."));
}

#[test]
fn an_announcement_frames_the_body_as_the_seeds_post_it() {
    let incident = incident();
    let facts = update(&incident, IncidentStatus::Identified, None);
    assert_eq!(
        announcement(&incident.title, &facts, "We've identified an issue."),
        "[Identified] Payment Processing Delays\n\nWe've identified an issue.\n\n\
         Posted: 2026-12-02 10:32 UTC\nNext update: 30 minutes\n"
    );
    let no_promise = UpdateFacts {
        next_update: None,
        ..facts
    };
    assert!(
        announcement(&incident.title, &no_promise, "x").ends_with("Posted: 2026-12-02 10:32 UTC\n")
    );
}

#[test]
fn the_customer_email_has_a_subject_and_the_seeds_sections() {
    let communications = Communications::new(Vec::new()).unwrap();
    let mut incident = incident();
    incident.resolved_at = Some("2026-12-02T10:42:00Z".parse().unwrap());
    let rendered = communications
        .render(
            "customer-email",
            &update(
                &incident,
                IncidentStatus::Resolved,
                Some("Webhook verification failed."),
            ),
        )
        .unwrap();
    assert_eq!(
        rendered.subject.as_deref(),
        Some("Payment Processing Delays - Resolved")
    );
    for line in [
        "We experienced a service disruption on 2026-12-02 10:00 UTC until 2026-12-02 10:42 UTC (42 minutes)",
        "What happened:\n- Webhook verification failed.",
        "What we did:\n- The issue was resolved at 2026-12-02 10:42 UTC.",
        "What we're doing to prevent this:",
    ] {
        assert!(
            rendered.body.contains(line),
            "{line:?} missing from\n{}",
            rendered.body
        );
    }
}

#[test]
fn a_config_template_is_added_or_replaces_a_default() {
    let communications = Communications::new(vec![
        TemplateSpec {
            id: "payment-delay".to_owned(),
            status: Some(IncidentStatus::Identified),
            subject: None,
            body: "We've identified an issue affecting payment confirmations. {{ message }}\n\n\
                   Workaround: Check your Stripe dashboard for payment status."
                .to_owned(),
        },
        TemplateSpec {
            id: "investigating".to_owned(),
            status: Some(IncidentStatus::Investigating),
            subject: None,
            body: "Looking into {{ incident.title }}.".to_owned(),
        },
    ])
    .unwrap();
    let incident = incident();
    let rendered = communications
        .render(
            "payment-delay",
            &update(
                &incident,
                IncidentStatus::Identified,
                Some("Payments are safe."),
            ),
        )
        .unwrap();
    assert!(rendered.body.starts_with(
        "We've identified an issue affecting payment confirmations. Payments are safe."
    ));
    assert!(
        rendered
            .body
            .ends_with("Workaround: Check your Stripe dashboard for payment status.")
    );
    let replaced = communications
        .render(
            "investigating",
            &update(&incident, IncidentStatus::Investigating, None),
        )
        .unwrap();
    assert_eq!(replaced.body, "Looking into Payment Processing Delays.");
    assert!(communications.ids().any(|id| id == "customer-email"));
}

#[test]
fn a_typo_or_a_syntax_error_is_refused_at_load_with_its_line() {
    let typo = Communications::new(vec![TemplateSpec {
        id: "typo".to_owned(),
        status: None,
        subject: None,
        body: "line one\n{{ incident.titel }}".to_owned(),
    }])
    .unwrap_err();
    assert_eq!(typo.id, "typo");
    assert_eq!(typo.line, Some(2));
    assert!(
        typo.to_string()
            .starts_with("incident template `typo` (body), line 2: undefined value"),
        "{typo}"
    );
    let syntax = Communications::new(vec![TemplateSpec {
        id: "broken".to_owned(),
        status: None,
        subject: Some("{% if %}".to_owned()),
        body: "fine".to_owned(),
    }])
    .unwrap_err();
    assert_eq!(syntax.part, Some("subject"));
}

#[test]
fn an_unknown_template_names_the_ones_there_are() {
    let communications = Communications::new(Vec::new()).unwrap();
    let incident = incident();
    let error = communications
        .render("nope", &update(&incident, IncidentStatus::Identified, None))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "incident template `nope`: there is no such template (there are: customer-email, identified, \
         investigating, monitoring, postmortem, resolved)"
    );
}

#[test]
fn durations_read_as_a_person_says_them() {
    assert_eq!(human_duration(Duration::from_secs(30 * 60)), "30 minutes");
    assert_eq!(
        human_duration(Duration::from_secs(3_900)),
        "1 hour 5 minutes"
    );
    assert_eq!(human_duration(Duration::from_secs(86_400 + 300)), "1 day");
    assert_eq!(
        human_duration(Duration::from_secs(2 * 86_400 + 3 * 3_600 + 7)),
        "2 days 3 hours"
    );
    assert_eq!(human_duration(Duration::from_secs(45)), "45 seconds");
    assert_eq!(human_duration(Duration::ZERO), "0 seconds");
}

#[test]
fn utc_minutes() {
    let at: Timestamp = "2026-12-02T10:32:59Z".parse().unwrap();
    assert_eq!(utc_minute(at), "2026-12-02 10:32 UTC");
}
