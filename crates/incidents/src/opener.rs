//! The opener: a task that reads every alert event once, in commit order
//! (after the cursor it stores with its writes), and opens, joins,
//! records and resolves incidents as [`crate::plan::step`] decides; and
//! that posts a reminder on the timeline of an open incident whose
//! promised update is overdue.
//!
//! Each step is one store commit together with the cursor, so a crash
//! repeats nothing and loses nothing: after a restart the opener goes on
//! from the last event it committed. It reads the open incidents again
//! after each commit, so a person's change made meanwhile (a status, an
//! impact) is what the next decision sees.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::alert::Transition;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::incident::EntryKind;
use watchkeeper_domain::incident::lifecycle::reminder_due;
use watchkeeper_store::{
    IncidentChange, IncidentCommit, IncidentQuery, NewEntry, Store, StoreError, StoredIncident,
};

use crate::communications::utc_minute;
use crate::plan::{Event, OpenerSettings, Step, step};

/// Events read per store query.
const EVENTS_PER_READ: u32 = 200;
/// The most open incidents the opener considers at once: far beyond what
/// a team works on, and a bound on what one wake reads.
const OPEN_LIMIT: u32 = 1_000;
/// How often the opener looks at reminders when nothing wakes it.
const REMINDER_CHECK: Duration = Duration::from_secs(15);

/// Why the opener stopped (the supervisor starts it again).
#[derive(Debug, thiserror::Error)]
pub enum OpenerError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Opener {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Bumped after every commit that changed an incident, for readers
    /// that cache what they show.
    pub changed: Arc<watch::Sender<u64>>,
}

impl Opener {
    /// Runs until `stop`, or until a store error. `settings` changes on
    /// reload; `events` is the engine's last committed alert event id.
    pub async fn run(
        self: Arc<Self>,
        mut settings: watch::Receiver<Arc<OpenerSettings>>,
        mut events: watch::Receiver<Option<i64>>,
        stop: CancellationToken,
    ) -> Result<(), OpenerError> {
        let mut cursor = self.store.incident_cursor().await?;
        let mut events_gone = false;
        let mut settings_gone = false;
        // A person's change (a new promise) wakes it too; its own commits
        // wake it once more, which finds nothing to do.
        let mut incidents_changed = self.changed.subscribe();
        loop {
            events.borrow_and_update();
            incidents_changed.borrow_and_update();
            let current = settings.borrow_and_update().clone();
            cursor = self.read_events(&current, cursor).await?;
            let now = self.clock.now();
            let next = self.remind(now).await?;
            // Wake for the next promise due, and look again at least every
            // REMINDER_CHECK (a person's update changes the promises).
            let sleep = next
                .map(|due| due.duration_since(now).unsigned_abs())
                .unwrap_or(REMINDER_CHECK)
                .min(REMINDER_CHECK);
            tokio::select! {
                changed = events.changed(), if !events_gone => events_gone = changed.is_err(),
                changed = settings.changed(), if !settings_gone => settings_gone = changed.is_err(),
                _ = incidents_changed.changed() => {}
                () = tokio::time::sleep(sleep) => {}
                () = stop.cancelled() => return Ok(()),
            }
        }
    }

    async fn open_incidents(&self) -> Result<Vec<StoredIncident>, StoreError> {
        self.store
            .incidents(&IncidentQuery {
                open_only: true,
                limit: OPEN_LIMIT,
                ..IncidentQuery::default()
            })
            .await
    }

    /// Applies every event after `cursor`; returns the new cursor.
    async fn read_events(
        &self,
        settings: &OpenerSettings,
        mut cursor: i64,
    ) -> Result<i64, OpenerError> {
        let mut open = self.open_incidents().await?;
        loop {
            let events = self
                .store
                .alert_events_after(cursor, EVENTS_PER_READ)
                .await?;
            let Some(last) = events.last().map(|event| event.id) else {
                return Ok(cursor);
            };
            for event in events {
                if !matches!(event.transition, Transition::Fired | Transition::Resolved) {
                    continue;
                }
                let Some(alert) = self.store.alert(&event.fingerprint).await? else {
                    continue;
                };
                let now = self.clock.now();
                let decided = step(
                    settings,
                    &open,
                    &alert,
                    Event {
                        transition: event.transition,
                        at: event.at,
                        reason: event.reason.as_deref(),
                    },
                    now,
                );
                let commit = match decided {
                    Step::Nothing => continue,
                    Step::Open(incident) => IncidentCommit {
                        cursor: Some(event.id),
                        open: vec![incident],
                        changes: Vec::new(),
                    },
                    Step::Change(change) => IncidentCommit {
                        cursor: Some(event.id),
                        open: Vec::new(),
                        changes: vec![change],
                    },
                };
                let opened = self.store.commit_incidents(&commit).await?;
                for id in opened {
                    tracing::info!(incident = id, alert = %event.fingerprint, "an alert opened an incident");
                }
                self.changed.send_modify(|count| *count += 1);
                open = self.open_incidents().await?;
            }
            // The events that touched nothing: only the cursor moves.
            self.store
                .commit_incidents(&IncidentCommit {
                    cursor: Some(last),
                    open: Vec::new(),
                    changes: Vec::new(),
                })
                .await?;
            cursor = last;
        }
    }

    /// A reminder on the timeline of each open incident whose promised
    /// update is overdue, once per promise; when the next promise not yet
    /// due falls due.
    async fn remind(&self, now: Timestamp) -> Result<Option<Timestamp>, OpenerError> {
        let mut next: Option<Timestamp> = None;
        for incident in self.open_incidents().await? {
            let Some(due) = incident.next_update_at else {
                continue;
            };
            // A reminder before this promise was for an earlier one.
            let reminded = incident.last_reminder_at.filter(|at| *at >= due);
            if !reminder_due(incident.status, Some(due), reminded, now) {
                if due > now {
                    next = Some(next.map_or(due, |next| next.min(due)));
                }
                continue;
            }
            let late = now.duration_since(due).max(SignedDuration::ZERO);
            let who = incident.commander.as_deref().map_or_else(
                || "no commander is set".to_owned(),
                |c| format!("commander: {c}"),
            );
            let mut change = IncidentChange::new(incident.id, now);
            change.last_reminder_at = Some(now);
            change.entries.push(NewEntry {
                author: incident.commander.clone(),
                body: format!(
                    "The update promised for {} is overdue ({}); post one with `watchkeeper incident update {}` ({who})",
                    utc_minute(due),
                    crate::communications::human_duration(late.unsigned_abs()),
                    incident.id,
                ),
                ..NewEntry::new(now, EntryKind::Reminder)
            });
            if self.store.change_incident(&change).await?.is_some() {
                tracing::warn!(incident = incident.id, commander = ?incident.commander, "an incident's promised update is overdue");
                self.changed.send_modify(|count| *count += 1);
            }
        }
        Ok(next)
    }
}
