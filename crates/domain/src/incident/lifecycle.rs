//! Which status changes an incident may make, and what each one does to
//! its times; and when a promised update is overdue.
//!
//! Open statuses (investigating, identified, monitoring) may follow each
//! other in any order: work is not always linear. Resolving sets the
//! resolution time; a resolved incident may be reopened (an open status
//! again, the resolution cleared) or move on to `postmortem`, which is
//! final. An update that keeps the status is always allowed.

use jiff::Timestamp;
use thiserror::Error;

use super::IncidentStatus;

/// Why a status change is refused, in words for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StatusError {
    #[error("an open incident must be resolved before its postmortem (it is {from})")]
    PostmortemBeforeResolved { from: IncidentStatus },
    #[error("the incident is in postmortem; it cannot become {to} again")]
    AfterPostmortem { to: IncidentStatus },
}

/// What a permitted status change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub from: IncidentStatus,
    pub to: IncidentStatus,
    /// The incident is resolved by this change: its resolution time is set.
    pub resolves: bool,
    /// A resolved incident is opened again: its resolution time is cleared.
    pub reopens: bool,
}

/// Checks a change of status from `from` to `to`.
pub fn change_status(
    from: IncidentStatus,
    to: IncidentStatus,
) -> Result<StatusChange, StatusError> {
    use IncidentStatus::{Postmortem, Resolved};
    match (from, to) {
        (Postmortem, to) if to != Postmortem => Err(StatusError::AfterPostmortem { to }),
        (from, Postmortem) if from.is_open() => Err(StatusError::PostmortemBeforeResolved { from }),
        _ => Ok(StatusChange {
            from,
            to,
            resolves: from.is_open() && to == Resolved,
            reopens: !from.is_open() && to.is_open(),
        }),
    }
}

/// Whether the reminder for a promised update is due at `now`: the
/// incident is open, promised an update by `next_update_at`, that time
/// has passed, and no reminder was sent for this promise yet (a new
/// promise clears `reminded_at`).
pub fn reminder_due(
    status: IncidentStatus,
    next_update_at: Option<Timestamp>,
    reminded_at: Option<Timestamp>,
    now: Timestamp,
) -> bool {
    status.is_open() && reminded_at.is_none() && next_update_at.is_some_and(|due| due <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;

    #[test]
    fn open_statuses_follow_each_other_in_any_order() {
        for from in [Investigating, Identified, Monitoring] {
            for to in [Investigating, Identified, Monitoring] {
                let change = change_status(from, to).unwrap();
                assert!(!change.resolves && !change.reopens, "{from} → {to}");
            }
        }
        assert!(change_status(Monitoring, Investigating).is_ok());
    }

    #[test]
    fn resolving_and_reopening_move_the_resolution_time() {
        let resolve = change_status(Identified, Resolved).unwrap();
        assert!(resolve.resolves && !resolve.reopens);
        let reopen = change_status(Resolved, Investigating).unwrap();
        assert!(reopen.reopens && !reopen.resolves);
        let again = change_status(Resolved, Resolved).unwrap();
        assert!(!again.resolves && !again.reopens);
    }

    #[test]
    fn postmortem_only_after_resolution_and_then_final() {
        assert_eq!(
            change_status(Monitoring, Postmortem),
            Err(StatusError::PostmortemBeforeResolved { from: Monitoring })
        );
        let postmortem = change_status(Resolved, Postmortem).unwrap();
        assert!(!postmortem.resolves && !postmortem.reopens);
        assert!(change_status(Postmortem, Postmortem).is_ok());
        assert_eq!(
            change_status(Postmortem, Investigating),
            Err(StatusError::AfterPostmortem { to: Investigating })
        );
        assert_eq!(
            change_status(Postmortem, Identified)
                .unwrap_err()
                .to_string(),
            "the incident is in postmortem; it cannot become identified again"
        );
    }

    #[test]
    fn a_reminder_is_due_once_per_promise_while_open() {
        let due: Timestamp = "2026-12-02T10:30:00Z".parse().unwrap();
        let before: Timestamp = "2026-12-02T10:29:59Z".parse().unwrap();
        assert!(!reminder_due(Identified, Some(due), None, before));
        assert!(reminder_due(Identified, Some(due), None, due));
        assert!(
            !reminder_due(Identified, Some(due), Some(due), due),
            "already reminded"
        );
        assert!(
            !reminder_due(Resolved, Some(due), None, due),
            "resolved promises nothing"
        );
        assert!(!reminder_due(Identified, None, None, due));
    }
}
