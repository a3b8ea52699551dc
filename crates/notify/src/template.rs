//! The text of a notification, from minijinja templates: a `title` and a
//! `text`, each with a default and overridable per notifier.
//!
//! Templates see the group as the webhook payload's `data` has it
//! (`status`, `receiver`, `group_labels`, `common_labels`, `alerts` with
//! each alert's `rule`, `status`, `severity`, `labels`, `annotations`,
//! `monitors`, `reason`, `runbook`, `starts_at`, `ends_at`, `url`), plus
//! `firing` and `resolved` (how many of each) and `severity` (the most
//! urgent firing one).
//!
//! Undefined names are errors, not empty text, and [`MessageTemplates::compile`]
//! renders each template once against a sample group: a typo
//! (`{{ alert.rul }}`) is a config error at load, with the line it is on,
//! not a blank message at 3 a.m.
//!
//! An alert rule's annotations (`summary`, `description`) are templates
//! too, rendered per alert: [`AnnotationTemplate`] checks one the same way,
//! against a sample alert carrying the rule's own labels.

use jiff::Timestamp;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

use crate::payload::{AlertMessage, AlertStatus, Labels, Message, Notification, webhook};

/// The default title: `[FIRING:2] api-down and 1 more`, `[RESOLVED] api-down`.
pub const DEFAULT_TITLE: &str = "[{{ status|upper }}{% if status == 'firing' %}:{{ firing }}{% endif %}] \
{{ alerts[0].rule }}{% if alerts|length > 1 %} and {{ alerts|length - 1 }} more{% endif %}";

/// The default text: one paragraph per alert with its summary (or the
/// failed condition), monitors and runbook.
pub const DEFAULT_TEXT: &str = "{% if page and page.reminder %}Reminder for \
{% if page.person %}{{ page.person.name }}{% else %}{{ page.target }}{% endif %}, who leads {{ page.policy }}

{% elif page %}Paging \
{% if page.person %}{{ page.person.name }}{% else %}{{ page.target }}{% endif %}: \
level {{ page.level }} of escalation {{ page.policy }}{% if page.round > 1 %}, round {{ page.round }}{% endif %}

{% endif %}{% for alert in alerts %}\
{{ alert.status|upper }} {{ alert.severity }} {{ alert.rule }}\
{% if 'summary' in alert.annotations %}: {{ alert.annotations.summary }}{% endif %}
{% if alert.reason %}{{ alert.reason }}
{% endif %}monitors: {{ alert.monitors|join(', ') }}
{% if alert.runbook %}runbook: {{ alert.runbook }}
{% endif %}{{ alert.url }}
{% if alert.ack_url %}acknowledge: {{ alert.ack_url }}
{% endif %}{% if not loop.last %}
{% endif %}{% endfor %}";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{template} template{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct TemplateError {
    /// `title` or `text`.
    pub template: &'static str,
    /// The line in the template's own source, from 1.
    pub line: Option<usize>,
    pub message: String,
}

impl TemplateError {
    fn new(template: &'static str, error: &minijinja::Error) -> Self {
        // minijinja's `Display` adds the template's name and line; keep
        // the reason alone, the line in its own field.
        let message = match error.detail() {
            Some(detail) => format!("{}: {detail}", error.kind()),
            None => error.kind().to_string(),
        };
        Self {
            template,
            line: error.line(),
            message,
        }
    }
}

/// A notifier's compiled templates.
#[derive(Debug)]
pub struct MessageTemplates {
    env: Environment<'static>,
}

impl MessageTemplates {
    /// Compiles the notifier's `title` and `text` (the defaults where
    /// `None`) and renders each against a sample group.
    pub fn compile(title: Option<&str>, text: Option<&str>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(false);
        for (name, source) in [
            ("title", title.unwrap_or(DEFAULT_TITLE)),
            ("text", text.unwrap_or(DEFAULT_TEXT)),
        ] {
            env.add_template_owned(name, source.to_owned())
                .map_err(|error| TemplateError::new(name, &error))?;
        }
        let templates = Self { env };
        templates.render(&sample())?;
        templates.render(&sample_page())?;
        Ok(templates)
    }

    pub fn render(&self, notification: &Notification) -> Result<Message, TemplateError> {
        let context = context(notification);
        let render = |name: &'static str| {
            self.env
                .get_template(name)
                .and_then(|template| template.render(&context))
                .map_err(|error| TemplateError::new(name, &error))
        };
        Ok(Message {
            title: render("title")?.trim().to_owned(),
            text: render("text")?.trim_end().to_owned(),
        })
    }
}

/// One annotation of an alert rule, compiled. It sees the alert:
/// `rule`, `severity`, `labels` (the rule's, and `alertname`, `monitor`,
/// `severity`), `monitor`, `reason` (the last result's, or none),
/// `runbook` (or none) and `stats`, the window statistics an alert's
/// `when` reads (`stats.availability`, `stats.p95_latency`, …; latencies
/// as text such as `"1.2s"`).
#[derive(Debug)]
pub struct AnnotationTemplate {
    env: Environment<'static>,
}

impl AnnotationTemplate {
    /// Compiles `source` and renders it against a sample alert with
    /// `labels` (the rule's own), so a name the alert will not have is an
    /// error now.
    pub fn compile(source: &str, labels: &Labels) -> Result<Self, TemplateError> {
        let template = Self::compile_unchecked(source)?;
        template.render(&sample_alert(labels))?;
        Ok(template)
    }

    /// Compiles `source` without the check against a sample: for a source
    /// the config already checked.
    pub fn compile_unchecked(source: &str) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_template_owned("annotation", source.to_owned())
            .map_err(|error| TemplateError::new("annotation", &error))?;
        Ok(Self { env })
    }

    /// Renders it for one alert (a context shaped as documented above).
    pub fn render(&self, alert: &Value) -> Result<String, TemplateError> {
        self.env
            .get_template("annotation")
            .and_then(|template| template.render(alert))
            .map_err(|error| TemplateError::new("annotation", &error))
    }
}

/// The alert an annotation is checked against at load.
fn sample_alert(labels: &Labels) -> Value {
    let mut labels = labels.clone();
    for (name, value) in [
        ("alertname", "sample"),
        ("monitor", "sample"),
        ("severity", "P2"),
    ] {
        labels
            .entry(name.to_owned())
            .or_insert_with(|| value.to_owned());
    }
    serde_json::json!({
        "rule": "sample",
        "severity": "P2",
        "labels": labels,
        "monitor": "sample",
        "reason": "status == 200 failed: status was 500",
        "runbook": "https://example.invalid/runbook",
        "stats": {
            "samples": 30,
            "availability": 0.9,
            "error_rate": 0.1,
            "consecutive_failures": 3,
            "consecutive_successes": 0,
            "avg_latency": "120ms",
            "p50_latency": "100ms",
            "p95_latency": "2.1s",
            "p99_latency": "2.5s",
        },
    })
}

fn context(notification: &Notification) -> Value {
    let mut data = webhook(notification)["data"].take();
    let firing = notification.firing().count();
    if let Value::Object(map) = &mut data {
        map.insert("firing".into(), firing.into());
        map.insert(
            "resolved".into(),
            (notification.alerts.len() - firing).into(),
        );
        map.insert("severity".into(), notification.severity().into());
    }
    data
}

/// A page to a person, with an acknowledgement link: templates are checked
/// against it too, so one that reads `page` without `{% if page %}` fails
/// at load, not on the first page.
fn sample_page() -> Notification {
    let mut page = sample();
    page.alerts.truncate(1);
    page.alerts[0].ack_url = Some("http://127.0.0.1/ack/wk1.sample".into());
    page.page = Some(crate::payload::PageInfo {
        policy: "sample".into(),
        level: 2,
        round: 1,
        target: "schedule:sample".into(),
        person: Some(crate::payload::PagedPerson {
            id: "sample".into(),
            name: "Sample Person".into(),
            email: Some("sample@example.invalid".into()),
            slack: Some("U0SAMPLE".into()),
        }),
        reminder: false,
    });
    page
}

/// A group with one alert of each status, every field set, for checking
/// templates at load.
fn sample() -> Notification {
    let at = Timestamp::UNIX_EPOCH;
    let alert = |rule: &str, status| AlertMessage {
        fingerprint: "0000000000000000".into(),
        rule: rule.into(),
        status,
        severity: "P2".into(),
        labels: Labels::from([("team".to_owned(), "sample".to_owned())]),
        annotations: Labels::from([
            ("summary".to_owned(), "sample summary".to_owned()),
            ("description".to_owned(), "sample description".to_owned()),
        ]),
        monitors: vec!["sample".into()],
        reason: Some("status == 200 failed: status was 500".into()),
        runbook: Some("https://example.invalid/runbook".into()),
        starts_at: at,
        ends_at: (status == AlertStatus::Resolved).then_some(at),
        url: "http://127.0.0.1/api/v1/alerts/0000000000000000".into(),
        ack_url: None,
    };
    Notification {
        id: "msg_sample".into(),
        receiver: "sample".into(),
        group_key: "sample".into(),
        group_labels: Labels::new(),
        alerts: vec![
            alert("sample-firing", AlertStatus::Firing),
            alert("sample-resolved", AlertStatus::Resolved),
        ],
        external_url: "http://127.0.0.1".into(),
        sent_at: at,
        page: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(alerts: &[(&str, AlertStatus, Option<&str>)]) -> Notification {
        let mut n = sample();
        n.alerts = alerts
            .iter()
            .map(|(rule, status, summary)| {
                let mut alert = sample().alerts[0].clone();
                alert.rule = (*rule).into();
                alert.status = *status;
                alert.severity = "P1".into();
                alert.monitors = vec!["api".into(), "edge".into()];
                alert.annotations = summary
                    .map(|s| Labels::from([("summary".to_owned(), s.to_owned())]))
                    .unwrap_or_default();
                alert.runbook = None;
                alert.url = format!("http://wk/alerts/{rule}");
                alert
            })
            .collect();
        n
    }

    #[test]
    fn the_defaults_say_what_fires_and_why() {
        let templates = MessageTemplates::compile(None, None).unwrap();
        let message = templates
            .render(&group(&[
                ("api-down", AlertStatus::Firing, Some("API is down")),
                ("db-slow", AlertStatus::Firing, None),
            ]))
            .unwrap();
        assert_eq!(message.title, "[FIRING:2] api-down and 1 more");
        assert_eq!(
            message.text,
            "FIRING P1 api-down: API is down\n\
             status == 200 failed: status was 500\n\
             monitors: api, edge\n\
             http://wk/alerts/api-down\n\
             \n\
             FIRING P1 db-slow\n\
             status == 200 failed: status was 500\n\
             monitors: api, edge\n\
             http://wk/alerts/db-slow"
        );
        let resolved = templates
            .render(&group(&[("api-down", AlertStatus::Resolved, None)]))
            .unwrap();
        assert_eq!(resolved.title, "[RESOLVED] api-down");
    }

    #[test]
    fn a_notifier_can_override_each_template() {
        let templates = MessageTemplates::compile(
            Some("{{ severity }} {{ receiver }}: {{ firing }} firing, {{ resolved }} resolved"),
            Some("{% for a in alerts %}{{ a.rule }}={{ a.labels.team }};{% endfor %}"),
        )
        .unwrap();
        let message = templates.render(&sample()).unwrap();
        assert_eq!(message.title, "P2 sample: 1 firing, 1 resolved");
        assert_eq!(message.text, "sample-firing=sample;sample-resolved=sample;");
    }

    #[test]
    fn an_annotation_sees_the_alert_and_the_rules_own_labels() {
        let labels = Labels::from([("team".to_owned(), "payments".to_owned())]);
        let template = AnnotationTemplate::compile(
            "{{ labels.team }}: p95 {{ stats.p95_latency }} on {{ monitor }}",
            &labels,
        )
        .unwrap();
        assert_eq!(
            template.render(&sample_alert(&labels)).unwrap(),
            "payments: p95 2.1s on sample"
        );
        let error = AnnotationTemplate::compile("{{ labels.team }}", &Labels::new()).unwrap_err();
        assert_eq!(error.template, "annotation");
        assert!(error.message.contains("undefined"), "{error}");
    }

    #[test]
    fn a_syntax_error_or_an_unknown_name_is_an_error_at_load_with_its_line() {
        let error = MessageTemplates::compile(Some("{{ status"), None).unwrap_err();
        assert_eq!(error.template, "title");
        assert_eq!(error.line, Some(1));
        assert!(error.message.contains("syntax error"), "{error}");

        let error =
            MessageTemplates::compile(None, Some("line one\n{{ alerts[0].rul }}")).unwrap_err();
        assert_eq!(error.template, "text");
        assert_eq!(error.line, Some(2));
        assert!(error.message.contains("undefined"), "{error}");
        assert_eq!(
            error.to_string(),
            format!("text template, line 2: {}", error.message)
        );
    }
}
