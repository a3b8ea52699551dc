//! What a person does to incidents, as plain functions: open one, and
//! post an update (a status, a template's text or their own words, a
//! promised next update, a commander, changed impacts). Each checks the
//! request against the config and the incident's status and returns what
//! to store, with the update as the seeds announce it; the API calls them
//! and writes the result.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use watchkeeper_domain::incident::lifecycle::{StatusError, change_status};
use watchkeeper_domain::incident::{EntryKind, Impact, IncidentStatus};
use watchkeeper_store::{IncidentChange, NewEntry, NewIncident, StoredIncident};

use crate::communications::{IncidentFacts, TemplateError, UpdateFacts, announcement};
use crate::plan::OpenerSettings;

/// The longest "next update" promise: a week (beyond, nobody is waiting).
pub const MAX_NEXT_UPDATE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a person's request is refused; `field` names what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RequestError {
    pub field: &'static str,
    pub message: String,
}

impl RequestError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        RequestError {
            field,
            message: message.into(),
        }
    }
}

impl From<StatusError> for RequestError {
    fn from(error: StatusError) -> Self {
        RequestError::new("status", error.to_string())
    }
}

impl From<TemplateError> for RequestError {
    fn from(error: TemplateError) -> Self {
        RequestError::new("template", error.to_string())
    }
}

/// An update as a person asks for it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateRequest {
    pub status: Option<IncidentStatus>,
    pub template: Option<String>,
    pub message: Option<String>,
    pub next_update: Option<Duration>,
    pub commander: Option<String>,
    pub severity: Option<String>,
    /// Components whose impact changes (or that become affected).
    pub impacts: BTreeMap<String, Impact>,
    /// Who asks (a token's name, or the body's author on an open server).
    pub author: String,
}

/// A new incident as a person asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenRequest {
    pub title: String,
    pub severity: String,
    pub components: BTreeMap<String, Impact>,
    /// The first update's; `investigating` when not given.
    pub update: UpdateRequest,
}

/// What an accepted update stores, and how it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Posted<T> {
    pub write: T,
    /// `[Identified] Title`, the text, when it was posted and when the
    /// next update is due: what the CLI shows.
    pub announcement: String,
}

fn check_severity(settings: &OpenerSettings, severity: &str) -> Result<(), RequestError> {
    if settings
        .policy
        .severities
        .iter()
        .any(|known| known == severity)
    {
        return Ok(());
    }
    Err(RequestError::new(
        "severity",
        format!(
            "unknown severity `{severity}`; the severities are {}",
            settings.policy.severities.join(", ")
        ),
    ))
}

fn check_components(
    settings: &OpenerSettings,
    components: &BTreeMap<String, Impact>,
) -> Result<(), RequestError> {
    for component in components.keys() {
        if !settings.names.components.contains_key(component) {
            let known: Vec<&str> = settings
                .names
                .components
                .keys()
                .map(String::as_str)
                .collect();
            return Err(RequestError::new(
                "components",
                format!(
                    "unknown component `{component}`; the components are {}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    Ok(())
}

fn after(now: Timestamp, duration: Duration) -> Result<Timestamp, RequestError> {
    if duration.is_zero() || duration > MAX_NEXT_UPDATE {
        return Err(RequestError::new(
            "next_update",
            "must be more than zero and at most 7 days",
        ));
    }
    SignedDuration::try_from(duration)
        .ok()
        .and_then(|signed| now.checked_add(signed).ok())
        .ok_or_else(|| RequestError::new("next_update", "is too far ahead"))
}

/// The text of an update: the template's (given, or the one named after
/// the status when there is no message) rendered with the message, or the
/// message alone.
fn text(
    settings: &OpenerSettings,
    request: &UpdateRequest,
    facts: &IncidentFacts,
    status: IncidentStatus,
    now: Timestamp,
) -> Result<(Option<String>, Option<String>, String), RequestError> {
    let message = request
        .message
        .as_deref()
        .map(str::trim)
        .filter(|message| !message.is_empty());
    let template = match (&request.template, message) {
        (Some(template), _) => Some(template.clone()),
        (None, Some(_)) => None,
        (None, None) => Some(status.as_str().to_owned()),
    };
    let Some(template) = template else {
        return Ok((None, None, message.unwrap_or_default().to_owned()));
    };
    let rendered = settings.communications.render(
        &template,
        &UpdateFacts {
            incident: facts,
            status,
            message,
            next_update: request.next_update,
            posted_at: now,
        },
    )?;
    Ok((Some(template), rendered.subject, rendered.body))
}

/// The status an update posts: the one asked for, else its template's,
/// else the incident's own.
fn status_of(
    settings: &OpenerSettings,
    request: &UpdateRequest,
    current: IncidentStatus,
) -> Result<IncidentStatus, RequestError> {
    if let Some(status) = request.status {
        return Ok(status);
    }
    let Some(id) = &request.template else {
        return Ok(current);
    };
    let spec = settings.communications.template(id).ok_or_else(|| {
        RequestError::new(
            "template",
            format!(
                "there is no template `{id}` (there are: {})",
                settings.communications.ids().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    Ok(spec.status.unwrap_or(current))
}

/// Checks an update of `incident` and makes the change it stores.
pub fn update(
    settings: &OpenerSettings,
    incident: &StoredIncident,
    request: &UpdateRequest,
    now: Timestamp,
) -> Result<Posted<IncidentChange>, RequestError> {
    let status = status_of(settings, request, incident.status)?;
    let changed = change_status(incident.status, status)?;
    if let Some(severity) = &request.severity {
        check_severity(settings, severity)?;
    }
    check_components(settings, &request.impacts)?;
    let said = request
        .message
        .as_deref()
        .is_some_and(|message| !message.trim().is_empty());
    if !said && request.status.is_none() && request.template.is_none() {
        return Err(RequestError::new(
            "message",
            "an update says something: give a message, a template or a status",
        ));
    }
    let resolved_at = if changed.resolves {
        Some(now)
    } else if changed.reopens {
        None
    } else {
        incident.resolved_at
    };
    let mut components = incident.components.clone();
    components.extend(request.impacts.clone());
    let facts = IncidentFacts {
        id: incident.id,
        title: incident.title.clone(),
        severity: request
            .severity
            .clone()
            .unwrap_or_else(|| incident.severity.clone()),
        status,
        components: settings.display(&components),
        started_at: incident.started_at,
        resolved_at,
    };
    let (template, subject, body) = text(settings, request, &facts, status, now)?;
    let next_update_at = match request.next_update {
        Some(duration) if status.is_open() => Some(after(now, duration)?),
        Some(_) => {
            return Err(RequestError::new(
                "next_update",
                "a resolved incident promises no next update",
            ));
        }
        None => None,
    };
    let mut change = IncidentChange::new(incident.id, now);
    if status != incident.status {
        change.status = Some(status);
    }
    if changed.resolves {
        change.resolved_at = Some(Some(now));
    } else if changed.reopens {
        change.resolved_at = Some(None);
    }
    // An update answers the promise it was due for, and makes a new one
    // or none: a reminder comes only for a promise not kept.
    change.next_update_at = Some(next_update_at);
    change.severity = request.severity.clone().filter(|s| *s != incident.severity);
    change.components = request.impacts.clone();
    let commander = request
        .commander
        .clone()
        .or_else(|| incident.commander.is_none().then(|| request.author.clone()));
    if commander.is_some() && commander != incident.commander {
        change.commander = Some(commander.clone());
    }
    let mut changes = Vec::new();
    if let Some(severity) = &change.severity {
        changes.push(format!("severity {} → {severity}", incident.severity));
    }
    for (component, impact) in &request.impacts {
        changes.push(format!(
            "{} is {}",
            settings.component_name(component),
            impact.as_str()
        ));
    }
    if let Some(Some(commander)) = &change.commander {
        changes.push(format!("commander: {commander}"));
    }
    if !changes.is_empty() {
        change.entries.push(NewEntry {
            author: Some(request.author.clone()),
            body: changes.join("; "),
            ..NewEntry::new(now, EntryKind::Changed)
        });
    }
    change.entries.push(NewEntry {
        author: Some(request.author.clone()),
        status: Some(status),
        subject,
        body: body.clone(),
        template,
        ..NewEntry::new(now, EntryKind::Update)
    });
    let announcement = announcement(
        &incident.title,
        &UpdateFacts {
            incident: &facts,
            status,
            message: None,
            next_update: request.next_update,
            posted_at: now,
        },
        &body,
    );
    Ok(Posted {
        write: change,
        announcement,
    })
}

/// Checks a new incident and makes it, with its first update.
pub fn open(
    settings: &OpenerSettings,
    request: &OpenRequest,
    now: Timestamp,
) -> Result<Posted<NewIncident>, RequestError> {
    let title = request.title.trim();
    if title.is_empty() {
        return Err(RequestError::new("title", "must not be empty"));
    }
    if title.chars().count() > 200 {
        return Err(RequestError::new("title", "may be at most 200 characters"));
    }
    check_severity(settings, &request.severity)?;
    check_components(settings, &request.components)?;
    let status = request
        .update
        .status
        .unwrap_or(IncidentStatus::Investigating);
    if !status.is_open() {
        return Err(RequestError::new(
            "status",
            "a new incident is open: investigating, identified or monitoring",
        ));
    }
    let facts = IncidentFacts {
        id: 0,
        title: title.to_owned(),
        severity: request.severity.clone(),
        status,
        components: settings.display(&request.components),
        started_at: now,
        resolved_at: None,
    };
    let (template, subject, body) = text(settings, &request.update, &facts, status, now)?;
    let next_update_at = request
        .update
        .next_update
        .map(|duration| after(now, duration))
        .transpose()?;
    let author = request.update.author.clone();
    let commander = request
        .update
        .commander
        .clone()
        .or_else(|| Some(author.clone()));
    let entries = vec![
        NewEntry {
            author: Some(author.clone()),
            status: Some(status),
            body: format!("Opened by {author}"),
            ..NewEntry::new(now, EntryKind::Opened)
        },
        NewEntry {
            author: Some(author),
            status: Some(status),
            subject,
            body: body.clone(),
            template,
            ..NewEntry::new(now, EntryKind::Update)
        },
    ];
    let announcement = announcement(
        title,
        &UpdateFacts {
            incident: &facts,
            status,
            message: None,
            next_update: request.update.next_update,
            posted_at: now,
        },
        &body,
    );
    Ok(Posted {
        write: NewIncident {
            title: title.to_owned(),
            severity: request.severity.clone(),
            status,
            components: request.components.clone(),
            commander,
            opened_by_alert: false,
            started_at: now,
            created_at: now,
            next_update_at,
            alerts: Vec::new(),
            entries,
        },
        announcement,
    })
}

#[cfg(test)]
mod tests;
