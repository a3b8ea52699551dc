//! The outbox at run time: one dispatcher and one sender per notifier, all
//! in one task ([`Notifications::run`]) that the binary supervises.
//!
//! - The dispatcher is woken by the engine's committed alert events. It
//!   reads the events after its cursor, lets [`Dispatcher`] decide, and
//!   commits the cursor, the changed groups and the new deliveries in one
//!   transaction ([`Store::commit_dispatch`]). It also wakes when a group's
//!   next flush is due, when an escalation level is due, and when a
//!   silence or an acknowledgement changes. Escalation ladders
//!   ([`Escalations`]), the pages they make and the steps recording them
//!   commit in the same transaction, so a restart continues each ladder
//!   where it was.
//! - Each notifier's sender takes its due deliveries in order, makes one
//!   attempt each (15 s at most), and records the attempt and the
//!   delivery's new state at once ([`Store::record_attempt`]). A slow or
//!   hanging receiver holds up only its own notifier's queue; probes and
//!   the other notifiers go on.
//! - A store error ends the task; the supervisor restarts it from what is
//!   stored, so nothing committed is lost, and an attempt in flight at a
//!   crash is made again with the same delivery id.
//! - Stopping (shutdown, or a reload that replaces the configuration)
//!   happens between two attempts: an attempt in flight gets up to 5 s to
//!   end and be recorded, so a clean stop sends nothing twice; only one
//!   that outlasts that (or a crash) is made again, with the same id.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::try_join_all;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::alert::Transition;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::id::{PersonId, ScheduleId};
use watchkeeper_domain::notifier::{Channel, NotifierSpec};
use watchkeeper_domain::oncall::link::LinkKey;
use watchkeeper_domain::oncall::schedule::Override;
use watchkeeper_domain::target_policy::TargetPolicy;
use watchkeeper_store::{
    AttemptRecord, Delivery, DeliveryStatus, DisabledNotifier, DispatchCommit, NewDelivery, Store,
    StoreError,
};

use crate::channel::{self, Answer};
use crate::dispatch::{AlertInfo, DispatchConfig, Dispatcher, Links, Outgoing};
use crate::escalate::Escalations;
use crate::metrics::NotifyMetrics;
use crate::payload::{AlertStatus, Notification};
use crate::retry::{Attempt, Decision, RetryPolicy};
use crate::template::MessageTemplates;

mod sender;
pub use sender::digest;

/// How long one attempt may take, connect to last byte.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// Events read per store query.
const EVENTS_PER_READ: u32 = 500;
/// Deliveries a sender takes per query.
const DELIVERIES_PER_READ: u32 = 20;
/// How stale the published quiet of alerts may get.
const QUIET_REFRESH: Duration = Duration::from_secs(10);
/// The longest a sender or the dispatcher sleeps without looking again.
const LONGEST_SLEEP: Duration = Duration::from_secs(3_600);

/// Everything the outbox needs besides its configuration.
pub struct Notifications {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub policy: Arc<TargetPolicy>,
    pub retry: RetryPolicy,
    pub metrics: NotifyMetrics,
    /// Where the dispatcher publishes why each quieted firing alert is
    /// not sent (fingerprint → reason), for the API.
    pub quiet: watch::Sender<Arc<BTreeMap<String, String>>>,
    /// The store's key for acknowledgement links (`None`: notifications
    /// carry none).
    pub link_key: Option<LinkKey>,
}

impl Notifications {
    /// Runs until `cancel`, or until a store error (then it returns, for
    /// the supervisor to start it again). `config` changes on reload;
    /// `events` is the engine's last committed alert event id; `silences`
    /// changes whenever a silence is added or expired.
    pub async fn run(
        self: Arc<Self>,
        mut config: watch::Receiver<Arc<DispatchConfig>>,
        events: watch::Receiver<Option<i64>>,
        silences: watch::Receiver<u64>,
        cancel: CancellationToken,
    ) {
        loop {
            let current = config.borrow_and_update().clone();
            // Ends the round between two attempts, never in the middle of one.
            let stop = cancel.child_token();
            let round = self.round(current, events.clone(), silences.clone(), stop.clone());
            tokio::pin!(round);
            tokio::select! {
                () = cancel.cancelled() => {
                    finish(round, &stop).await;
                    return;
                }
                ended = &mut round => {
                    if let Err(error) = ended {
                        tracing::error!(error = %error, "notifications stopped; they start again from the store");
                    }
                    return;
                }
                changed = config.changed() => {
                    finish(round, &stop).await;
                    if changed.is_err() {
                        // The reloader is gone: keep the config we have.
                        cancel.cancelled().await;
                        return;
                    }
                    tracing::info!("notifications start again with the reloaded config");
                }
            }
        }
    }

    async fn round(
        &self,
        config: Arc<DispatchConfig>,
        events: watch::Receiver<Option<i64>>,
        silences: watch::Receiver<u64>,
        stop: CancellationToken,
    ) -> Result<(), NotifyError> {
        let client = watchkeeper_runner::outbound_client(self.policy.clone(), &[], ATTEMPT_TIMEOUT)
            .map_err(|error| NotifyError::Client(error.to_string()))?;
        let wakers: BTreeMap<String, Arc<Notify>> = config
            .notifiers
            .iter()
            .map(|spec| (spec.id.to_string(), Arc::new(Notify::new())))
            .collect();
        let senders = config.notifiers.iter().map(|spec| {
            let wake = wakers
                .get(spec.id.as_str())
                .cloned()
                .unwrap_or_else(|| Arc::new(Notify::new()));
            self.send_loop(spec, &client, wake, stop.clone())
        });
        // Everything runs until `stop`; the first to fail ends them all.
        tokio::try_join!(
            self.dispatch_loop(config.clone(), events, silences, &wakers, stop.clone()),
            try_join_all(senders),
        )
        .map(|_| ())
    }

    async fn dispatch_loop(
        &self,
        config: Arc<DispatchConfig>,
        mut events: watch::Receiver<Option<i64>>,
        mut silences: watch::Receiver<u64>,
        wakers: &BTreeMap<String, Arc<Notify>>,
        stop: CancellationToken,
    ) -> Result<(), NotifyError> {
        let store = &self.store;
        let mut cursor = store.dispatch_cursor().await?;
        let alerts = store
            .alerts()
            .await?
            .iter()
            .map(|alert| AlertInfo::of(alert, None))
            .collect();
        let groups = store.notification_groups().await?;
        let link_expiry = config.link_expiry;
        let mut dispatcher = Dispatcher::new(config, alerts, groups, self.clock.now());
        if let Some(key) = &self.link_key {
            dispatcher.set_links(Links {
                key: key.clone(),
                expiry: link_expiry,
            });
        }
        let mut escalations = Escalations::restore(&store.escalations().await?);
        let mut acknowledged = BTreeSet::new();
        let mut engine_gone = false;
        let mut writers_gone = false;
        let mut silences_changed = true;
        loop {
            events.borrow_and_update();
            if silences_changed {
                silences.borrow_and_update();
                let now = self.clock.now();
                let active = store
                    .silences(now)
                    .await?
                    .into_iter()
                    .map(|stored| stored.silence)
                    .collect();
                dispatcher.set_silences(active);
                // Acknowledgements wake this loop the same way.
                acknowledged = store
                    .current_acks()
                    .await?
                    .into_iter()
                    .map(|ack| (ack.fingerprint, ack.firing_since))
                    .collect();
                silences_changed = false;
            }
            let read_from = cursor;
            cursor = self.read_events(&mut dispatcher, cursor).await?;
            let now = self.clock.now();
            let mut outgoing = dispatcher.flush_due(now);
            let (groups, finished_groups) = dispatcher.take_changes();
            let due = escalations.step(&dispatcher.escalation_views(&acknowledged, now), now);
            let mut escalation_steps = Vec::new();
            if !due.is_empty() {
                let overrides = self.overrides(now).await?;
                for page in &due {
                    let (pages, steps) = dispatcher.page(page, &overrides, dispatcher.links(), now);
                    outgoing.extend(pages);
                    escalation_steps.extend(steps);
                }
            }
            let ladders = escalations.take_changes(now);
            if cursor != read_from
                || !groups.is_empty()
                || !finished_groups.is_empty()
                || !outgoing.is_empty()
                || !ladders.is_empty()
                || !escalation_steps.is_empty()
            {
                let deliveries = outgoing
                    .iter()
                    .map(|out| new_delivery(out, now))
                    .collect::<Result<Vec<_>, _>>()?;
                store
                    .commit_dispatch(&DispatchCommit {
                        cursor,
                        groups,
                        finished_groups,
                        deliveries,
                        escalations: ladders,
                        escalation_steps,
                    })
                    .await?;
                for page in &due {
                    self.metrics.level_paged(page.policy.as_str(), page.level);
                }
                for out in &outgoing {
                    self.metrics.notification_created(&out.notifier);
                    if let Some(wake) = wakers.get(&out.notifier) {
                        wake.notify_one();
                    }
                }
            }
            self.publish_quiet(&dispatcher);
            // Silences and maintenance windows end by themselves: look again
            // at least every QUIET_REFRESH so the API's view follows.
            let next = [dispatcher.next_flush(), escalations.next_due()]
                .into_iter()
                .flatten()
                .min();
            let sleep = next
                .map_or(LONGEST_SLEEP, |at| until(self.clock.now(), at))
                .min(QUIET_REFRESH);
            tokio::select! {
                changed = events.changed(), if !engine_gone => {
                    engine_gone = changed.is_err();
                }
                changed = silences.changed(), if !writers_gone => {
                    writers_gone = changed.is_err();
                    silences_changed = !writers_gone;
                }
                () = tokio::time::sleep(sleep) => {}
                () = stop.cancelled() => return Ok(()),
            }
        }
    }

    /// The run-time schedule overrides not over by `now`, by schedule.
    async fn overrides(
        &self,
        now: Timestamp,
    ) -> Result<BTreeMap<ScheduleId, Vec<Override>>, NotifyError> {
        let mut by_schedule: BTreeMap<ScheduleId, Vec<Override>> = BTreeMap::new();
        for row in self.store.overrides(None, now).await? {
            let (Ok(schedule), Ok(person)) = (
                ScheduleId::parse(&row.schedule),
                PersonId::parse(&row.person),
            ) else {
                continue;
            };
            by_schedule.entry(schedule).or_default().push(Override {
                id: Some(row.id),
                person,
                start: row.start,
                end: row.end,
            });
        }
        Ok(by_schedule)
    }

    /// Publishes which firing alerts are quiet and why, when it changed.
    fn publish_quiet(&self, dispatcher: &Dispatcher) {
        let quiet: BTreeMap<String, String> = dispatcher
            .quieted(self.clock.now())
            .into_iter()
            .map(|(fingerprint, quiet)| (fingerprint, quiet.describe()))
            .collect();
        self.quiet.send_if_modified(|current| {
            if **current == quiet {
                return false;
            }
            *current = Arc::new(quiet);
            true
        });
    }

    /// Feeds every event after `cursor` to the dispatcher; returns the new
    /// cursor.
    async fn read_events(
        &self,
        dispatcher: &mut Dispatcher,
        mut cursor: i64,
    ) -> Result<i64, NotifyError> {
        loop {
            let events = self
                .store
                .alert_events_after(cursor, EVENTS_PER_READ)
                .await?;
            let Some(last) = events.last() else {
                return Ok(cursor);
            };
            let last_id = last.id;
            for event in events {
                // pending and its clearing are not news
                if !matches!(event.transition, Transition::Fired | Transition::Resolved) {
                    continue;
                }
                // An alert's labels, rule and monitor never change (its
                // fingerprint is theirs): the row is read only for one the
                // dispatcher has not seen yet.
                let known = dispatcher.alert(&event.fingerprint).cloned();
                let mut alert = match known {
                    Some(alert) => alert,
                    None => match self.store.alert(&event.fingerprint).await? {
                        Some(row) => AlertInfo::of(&row, None),
                        None => continue,
                    },
                };
                if event.transition == Transition::Fired {
                    alert.firing = true;
                    alert.fired_at = Some(event.at);
                    alert.resolved_at = None;
                    alert.reason = event.reason.clone();
                } else {
                    alert.firing = false;
                    alert.resolved_at = Some(event.at);
                }
                dispatcher.observe(alert, self.clock.now());
            }
            cursor = last_id;
        }
    }
}

/// How long a stopping round may take to finish the attempts in flight
/// (and record them) before it is dropped; an attempt dropped is made again
/// after the restart, with the same delivery id.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Stops a round between two attempts: `stop` is cancelled (by its parent
/// or here), and the round is given [`STOP_GRACE`] to end.
async fn finish(
    round: std::pin::Pin<&mut impl std::future::Future<Output = Result<(), NotifyError>>>,
    stop: &CancellationToken,
) {
    stop.cancel();
    match tokio::time::timeout(STOP_GRACE, round).await {
        Ok(Err(error)) => tracing::error!(error = %error, "notifications stopped with an error"),
        Ok(Ok(())) => {}
        Err(_) => tracing::warn!(
            "an attempt in flight did not end within {} s; it is made again after the restart",
            STOP_GRACE.as_secs()
        ),
    }
}

fn new_delivery(out: &Outgoing, now: Timestamp) -> Result<NewDelivery, NotifyError> {
    let kind = match out.notification.status() {
        AlertStatus::Firing => "alert.firing",
        AlertStatus::Resolved => "alert.resolved",
    };
    Ok(NewDelivery {
        id: out.notification.id.clone(),
        notifier: out.notifier.clone(),
        group_key: out.notification.group_key.clone(),
        kind: kind.to_owned(),
        created_at: now,
        notification: serde_json::to_string(&out.notification)
            .map_err(|error| NotifyError::Encode(error.to_string()))?,
    })
}

/// How long from `now` until `at` (zero when it has passed).
fn until(now: Timestamp, at: Timestamp) -> Duration {
    let ahead = at.duration_since(now);
    if ahead <= SignedDuration::ZERO {
        Duration::ZERO
    } else {
        ahead.unsigned_abs().min(LONGEST_SLEEP)
    }
}

/// Why the outbox stopped (the supervisor starts it again).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot build the HTTP client for notifications: {0}")]
    Client(String),
    #[error("notifier {0}: its template does not compile: {1}")]
    Template(String, String),
    #[error("cannot encode a notification: {0}")]
    Encode(String),
}
