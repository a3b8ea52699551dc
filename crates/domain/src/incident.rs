//! Incidents, as pure values and decisions: an incident's status and its
//! components' impact (with the names Atlassian Statuspage gives them, so
//! its JSON can be served unchanged), what each timeline entry is, and the
//! rules that open incidents from alerts (`policy`), check a status change
//! (`lifecycle`) and decide a component's status (`component_status`).

pub mod component_status;
pub mod lifecycle;
pub mod policy;
pub mod subscriber_link;

use std::fmt;

/// Where an incident is in its life, in order. `Postmortem` follows
/// `Resolved` once a postmortem is being written (Statuspage's own
/// statuses stop at resolved; it shows `postmortem` as resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IncidentStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Postmortem,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 5] = [
        IncidentStatus::Investigating,
        IncidentStatus::Identified,
        IncidentStatus::Monitoring,
        IncidentStatus::Resolved,
        IncidentStatus::Postmortem,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Identified => "identified",
            IncidentStatus::Monitoring => "monitoring",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Postmortem => "postmortem",
        }
    }

    pub fn parse(text: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// Still open: not resolved and not in postmortem.
    pub fn is_open(self) -> bool {
        self < IncidentStatus::Resolved
    }

    /// As a person reads it: "Investigating".
    pub fn title(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "Investigating",
            IncidentStatus::Identified => "Identified",
            IncidentStatus::Monitoring => "Monitoring",
            IncidentStatus::Resolved => "Resolved",
            IncidentStatus::Postmortem => "Postmortem",
        }
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How badly an incident affects a component, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impact {
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl Impact {
    pub const ALL: [Impact; 3] = [
        Impact::DegradedPerformance,
        Impact::PartialOutage,
        Impact::MajorOutage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Impact::DegradedPerformance => "degraded_performance",
            Impact::PartialOutage => "partial_outage",
            Impact::MajorOutage => "major_outage",
        }
    }

    pub fn parse(text: &str) -> Option<Impact> {
        Impact::ALL
            .into_iter()
            .find(|impact| impact.as_str() == text)
    }

    /// As a person reads it: "Partial outage".
    pub fn title(self) -> &'static str {
        match self {
            Impact::DegradedPerformance => "Degraded performance",
            Impact::PartialOutage => "Partial outage",
            Impact::MajorOutage => "Major outage",
        }
    }
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a timeline entry records. Entries the incident itself owns are
/// stored with it; the acknowledgements, escalation steps and deliveries
/// of its alerts are read from where they are stored and merged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Opened, by an alert's policy or by a person.
    Opened,
    /// An alert joined the incident (the one that opened it included).
    AlertJoined,
    /// One of its alerts fired again, or resolved.
    AlertFired,
    AlertResolved,
    /// Acknowledged: the incident, or one of its alerts.
    Acknowledged,
    /// An escalation level paged someone about one of its alerts.
    Escalated,
    /// A notification about one of its alerts was delivered, or failed.
    Notified,
    /// A status change with its message: what the status page shows.
    Update,
    /// The title, severity, commander or affected components changed.
    Changed,
    /// A promised update was not posted in time.
    Reminder,
    /// A note on the timeline, not shown publicly.
    Note,
}

impl EntryKind {
    pub const ALL: [EntryKind; 11] = [
        EntryKind::Opened,
        EntryKind::AlertJoined,
        EntryKind::AlertFired,
        EntryKind::AlertResolved,
        EntryKind::Acknowledged,
        EntryKind::Escalated,
        EntryKind::Notified,
        EntryKind::Update,
        EntryKind::Changed,
        EntryKind::Reminder,
        EntryKind::Note,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Opened => "opened",
            EntryKind::AlertJoined => "alert_joined",
            EntryKind::AlertFired => "alert_fired",
            EntryKind::AlertResolved => "alert_resolved",
            EntryKind::Acknowledged => "acknowledged",
            EntryKind::Escalated => "escalated",
            EntryKind::Notified => "notified",
            EntryKind::Update => "update",
            EntryKind::Changed => "changed",
            EntryKind::Reminder => "reminder",
            EntryKind::Note => "note",
        }
    }

    pub fn parse(text: &str) -> Option<EntryKind> {
        EntryKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in IncidentStatus::ALL {
            assert_eq!(IncidentStatus::parse(status.as_str()), Some(status));
        }
        for impact in Impact::ALL {
            assert_eq!(Impact::parse(impact.as_str()), Some(impact));
        }
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(IncidentStatus::parse("Investigating"), None);
    }

    #[test]
    fn open_until_resolved_and_impacts_ordered() {
        assert!(IncidentStatus::Monitoring.is_open());
        assert!(!IncidentStatus::Resolved.is_open());
        assert!(!IncidentStatus::Postmortem.is_open());
        assert!(Impact::MajorOutage > Impact::PartialOutage);
        assert!(Impact::PartialOutage > Impact::DegradedPerformance);
    }
}
