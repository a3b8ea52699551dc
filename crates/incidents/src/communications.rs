//! What an incident tells the world, from minijinja templates: a status
//! page update per status, a resolution notice and a customer email by
//! default (modelled on the seeds' templates), each overridable and
//! extendable with `[[incident_template]]` in the config.
//!
//! A template renders the *body* of an update (what the status page shows
//! under the status); [`announcement`] frames it as the seeds post it:
//!
//! ```text
//! [Identified] Payment Processing Delays
//!
//! We've identified an issue affecting payment confirmations. …
//!
//! Posted: 2026-12-02 10:32 UTC
//! Next update: 30 minutes
//! ```
//!
//! Templates see `incident` (`id`, `title`, `severity`, `status`,
//! `components` (each `name` and `impact`), `affected` (the components'
//! names joined, or "our service"), `started_at`, `resolved_at`,
//! `duration`), `status` (the update's, as a title: "Identified"),
//! `message` (what the person typed, or none), `next_update` ("30
//! minutes", or none) and `posted_at`. Undefined names are errors, and
//! [`Communications::new`] renders each template once against a sample
//! incident, so a typo is a config error at load, not a blank update.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use minijinja::{Environment, UndefinedBehavior, context};
use serde::Serialize;
use watchkeeper_domain::incident::{Impact, IncidentStatus};

/// A template as the config gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSpec {
    pub id: String,
    /// The status an update made with it posts when the person names none.
    pub status: Option<IncidentStatus>,
    /// An email's subject line; a status page update has none.
    pub subject: Option<String>,
    pub body: String,
}

/// The built-in templates: one per status (its id is the status's name),
/// and `customer-email`.
pub fn defaults() -> Vec<TemplateSpec> {
    let update = |status: IncidentStatus, body: &str| TemplateSpec {
        id: status.as_str().to_owned(),
        status: Some(status),
        subject: None,
        body: body.to_owned(),
    };
    vec![
        update(
            IncidentStatus::Investigating,
            "We're investigating an issue affecting {{ incident.affected }}.\
{% if message %} {{ message }}{% endif %} \
We'll update this status as we learn more.",
        ),
        update(
            IncidentStatus::Identified,
            "We've identified the issue affecting {{ incident.affected }}.\
{% if message %} {{ message }}{% endif %} We're working on a fix.",
        ),
        update(
            IncidentStatus::Monitoring,
            "A fix has been put in place for the issue affecting {{ incident.affected }}.\
{% if message %} {{ message }}{% endif %} We're monitoring the results.",
        ),
        update(
            IncidentStatus::Resolved,
            "The issue affecting {{ incident.affected }} has been resolved.\
{% if message %} {{ message }}{% endif %} \
We're monitoring closely to ensure stability.",
        ),
        update(
            IncidentStatus::Postmortem,
            "We have written up what happened to {{ incident.affected }} and what we are doing \
so that it does not happen again.{% if message %} {{ message }}{% endif %}",
        ),
        TemplateSpec {
            id: "customer-email".to_owned(),
            status: None,
            subject: Some("{{ incident.title }} - {{ status }}".to_owned()),
            body: "Hi,

We experienced a service disruption{% if incident.resolved_at %} on {{ incident.started_at }} \
until {{ incident.resolved_at }} ({{ incident.duration }}){% else %} since {{ incident.started_at }}{% endif %} \
that may have affected {{ incident.affected }}.

What happened:
- {{ message or incident.title }}

What we did:
- {% if incident.resolved_at %}The issue was resolved at {{ incident.resolved_at }}.\
{% else %}We are working on it; its status is {{ status }}.{% endif %}

What we're doing to prevent this:
- We will share the postmortem once it is written.

We apologize for any inconvenience.
"
            .to_owned(),
        },
    ]
}

/// Why a template cannot be used, with the line in its own source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("incident template `{id}`{}{}: {message}",
    part.map(|p| format!(" ({p})")).unwrap_or_default(),
    line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct TemplateError {
    pub id: String,
    /// `subject` or `body`.
    pub part: Option<&'static str>,
    pub line: Option<usize>,
    pub message: String,
}

impl TemplateError {
    fn new(id: &str, part: &'static str, error: &minijinja::Error) -> Self {
        let message = match error.detail() {
            Some(detail) => format!("{}: {detail}", error.kind()),
            None => error.kind().to_string(),
        };
        TemplateError {
            id: id.to_owned(),
            part: Some(part),
            line: error.line(),
            message,
        }
    }
}

/// An incident as templates see it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFacts {
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub status: IncidentStatus,
    /// Each affected component's display name and impact.
    pub components: Vec<(String, Impact)>,
    pub started_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

/// One update to render.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateFacts<'a> {
    pub incident: &'a IncidentFacts,
    pub status: IncidentStatus,
    pub message: Option<&'a str>,
    pub next_update: Option<Duration>,
    pub posted_at: Timestamp,
}

/// A rendered template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub body: String,
}

/// The compiled templates: the defaults, then the config's (the same id
/// replaces a default).
#[derive(Debug)]
pub struct Communications {
    env: Environment<'static>,
    specs: BTreeMap<String, TemplateSpec>,
}

impl Communications {
    /// Compiles the defaults and `config`, and renders each once against
    /// a sample incident.
    pub fn new(config: Vec<TemplateSpec>) -> Result<Communications, TemplateError> {
        let mut specs: BTreeMap<String, TemplateSpec> = defaults()
            .into_iter()
            .map(|spec| (spec.id.clone(), spec))
            .collect();
        for spec in config {
            specs.insert(spec.id.clone(), spec);
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        for spec in specs.values() {
            env.add_template_owned(body_name(&spec.id), spec.body.clone())
                .map_err(|error| TemplateError::new(&spec.id, "body", &error))?;
            if let Some(subject) = &spec.subject {
                env.add_template_owned(subject_name(&spec.id), subject.clone())
                    .map_err(|error| TemplateError::new(&spec.id, "subject", &error))?;
            }
        }
        let communications = Communications { env, specs };
        let resolved = sample_incident();
        let open = IncidentFacts {
            resolved_at: None,
            ..resolved.clone()
        };
        for spec in communications.specs.values() {
            for (sample, message) in [
                (&open, None),
                (
                    &resolved,
                    Some("Payments are processed, confirmations are late."),
                ),
            ] {
                communications.render(
                    &spec.id,
                    &UpdateFacts {
                        incident: sample,
                        status: spec.status.unwrap_or(IncidentStatus::Identified),
                        message,
                        next_update: Some(Duration::from_secs(30 * 60)),
                        posted_at: sample.started_at,
                    },
                )?;
            }
        }
        Ok(communications)
    }

    /// The built-in templates alone (none, should they ever fail to
    /// compile: a test proves they do not).
    pub fn builtin() -> Communications {
        Communications::new(Vec::new()).unwrap_or_else(|error| {
            tracing::error!(error = %error, "the built-in incident templates do not compile");
            Communications {
                env: Environment::new(),
                specs: BTreeMap::new(),
            }
        })
    }

    /// The template `id`, if there is one.
    pub fn template(&self, id: &str) -> Option<&TemplateSpec> {
        self.specs.get(id)
    }

    /// Every template's id, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.specs.keys().map(String::as_str)
    }

    /// Renders the template `id` for `facts`.
    pub fn render(&self, id: &str, facts: &UpdateFacts<'_>) -> Result<Rendered, TemplateError> {
        let spec = self.specs.get(id).ok_or_else(|| TemplateError {
            id: id.to_owned(),
            part: None,
            line: None,
            message: format!(
                "there is no such template (there are: {})",
                self.specs.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })?;
        let values = context(facts);
        let render = |name: String, part: &'static str| {
            self.env
                .get_template(&name)
                .and_then(|template| template.render(&values))
                .map_err(|error| TemplateError::new(id, part, &error))
        };
        let body = render(body_name(id), "body")?.trim().to_owned();
        let subject = match spec.subject {
            Some(_) => Some(render(subject_name(id), "subject")?.trim().to_owned()),
            None => None,
        };
        Ok(Rendered { subject, body })
    }
}

fn body_name(id: &str) -> String {
    format!("{id}.body")
}

fn subject_name(id: &str) -> String {
    format!("{id}.subject")
}

#[derive(Serialize)]
struct ComponentValue<'a> {
    name: &'a str,
    impact: &'static str,
}

fn context(facts: &UpdateFacts<'_>) -> minijinja::Value {
    let incident = facts.incident;
    let components: Vec<ComponentValue<'_>> = incident
        .components
        .iter()
        .map(|(name, impact)| ComponentValue {
            name,
            impact: impact.title(),
        })
        .collect();
    let affected = if incident.components.is_empty() {
        "our service".to_owned()
    } else {
        incident
            .components
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    context! {
        incident => context! {
            id => incident.id,
            title => &incident.title,
            severity => &incident.severity,
            status => incident.status.title(),
            components => components,
            affected => affected,
            started_at => utc_minute(incident.started_at),
            resolved_at => incident.resolved_at.map(utc_minute),
            duration => incident
                .resolved_at
                .map(|end| human_duration(end.duration_since(incident.started_at).unsigned_abs())),
        },
        status => facts.status.title(),
        message => facts.message,
        next_update => facts.next_update.map(human_duration),
        posted_at => utc_minute(facts.posted_at),
    }
}

/// An update framed as the seeds post one: `[Status] Title`, the body,
/// then when it was posted and when the next one is due.
pub fn announcement(title: &str, update: &UpdateFacts<'_>, body: &str) -> String {
    let mut text = format!(
        "[{}] {title}\n\n{body}\n\nPosted: {}",
        update.status.title(),
        utc_minute(update.posted_at)
    );
    if let Some(next) = update.next_update {
        text.push_str(&format!("\nNext update: {}", human_duration(next)));
    }
    text.push('\n');
    text
}

/// `2026-12-02 10:32 UTC`.
pub fn utc_minute(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// `30 minutes`, `1 hour 5 minutes`, `2 days 3 hours`, `45 seconds`: the
/// two largest units, as a person says it.
pub fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let units = [
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let mut parts = Vec::new();
    let mut rest = seconds;
    for (size, name) in units {
        let count = rest / size;
        if count > 0 && parts.len() < 2 {
            parts.push(format!(
                "{count} {name}{}",
                if count == 1 { "" } else { "s" }
            ));
            rest -= count * size;
        } else if !parts.is_empty() {
            // Two units at most, and adjacent ones: "1 day 5 minutes" says
            // less than "1 day".
            break;
        }
    }
    if parts.is_empty() {
        "0 seconds".to_owned()
    } else {
        parts.join(" ")
    }
}

fn sample_incident() -> IncidentFacts {
    IncidentFacts {
        id: 1,
        title: "Payment Processing Delays".to_owned(),
        severity: "P1".to_owned(),
        status: IncidentStatus::Identified,
        components: vec![("Payments".to_owned(), Impact::PartialOutage)],
        started_at: Timestamp::UNIX_EPOCH,
        resolved_at: Some(Timestamp::UNIX_EPOCH),
    }
}

#[cfg(test)]
mod tests;
