//! The notification outbox aggregate: the dispatcher's cursor over
//! `alert_events` (in `meta`), its route groups (`notification_groups`), the
//! deliveries their flushes produced (`deliveries`), each attempt at one
//! (`delivery_attempts`), and the notifiers a receiver disabled
//! (`disabled_notifiers`).
//!
//! The guarantee: [`Store::commit_dispatch`] advances the cursor, saves the
//! groups and writes the new deliveries in one transaction, so every
//! committed alert event is turned into deliveries exactly once, and a
//! delivery, once written, stays pending until an attempt's outcome is
//! recorded ([`Store::record_attempt`]). A crash between an attempt and its
//! record repeats that one attempt, with the same delivery id. The
//! escalation ladders the step moved and the steps they took (the on-call
//! aggregate's `escalations` and `escalation_steps`) commit in the same
//! transaction.
//!
//! The notification itself is opaque text here (JSON the notify crate
//! writes and reads), as labels are for alerts.

use std::time::Duration;

use jiff::Timestamp;

use crate::Store;
use crate::column::{millis, timestamp_from_millis};
use crate::error::StoreError;
use crate::oncall::{EscalationRecord, EscalationRow, NewEscalationStep};

/// A route group as the dispatcher keeps it between flushes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub key: String,
    pub next_flush: Timestamp,
    pub last_sent: Option<Timestamp>,
    /// Fingerprints firing in the group's last notification.
    pub sent_firing: Vec<String>,
    /// Every alert in the group.
    pub members: Vec<String>,
}

/// A delivery to write: one notification to one notifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// The webhook-id, unique, the same on every attempt.
    pub id: String,
    pub notifier: String,
    pub group_key: String,
    /// `alert.firing`, `alert.resolved`, `test`.
    pub kind: String,
    pub created_at: Timestamp,
    /// The notification, as the notify crate encodes it.
    pub notification: String,
}

/// What one dispatch step commits at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchCommit {
    /// The id of the last alert event this step accounts for.
    pub cursor: i64,
    /// Groups created or changed.
    pub groups: Vec<GroupRecord>,
    /// Keys of groups that are done.
    pub finished_groups: Vec<String>,
    pub deliveries: Vec<NewDelivery>,
    /// Ladders started or moved, upserted by fingerprint: a ladder of
    /// another episode is replaced whole, while a stopped one of the same
    /// episode stays stopped (an ack may have come after this step was
    /// computed), and a ladder of an acknowledged episode is stored stopped.
    pub escalations: Vec<EscalationRecord>,
    pub escalation_steps: Vec<NewEscalationStep>,
}

/// One dispatch step as the engines write it.
#[derive(Debug)]
pub(crate) struct DispatchWrite<'a> {
    pub cursor: i64,
    pub groups: &'a [GroupWrite],
    pub finished: &'a [String],
    pub deliveries: &'a [NewDelivery],
    pub escalations: &'a [EscalationRow],
    pub steps: &'a [NewEscalationStep],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    Delivered,
    /// Final: refused, or retried for as long as the policy allows.
    Failed,
    /// Final: its notifier was disabled before it was delivered.
    Dropped,
}

impl DeliveryStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Dropped => "dropped",
        }
    }

    pub(crate) const fn code(self) -> i64 {
        match self {
            DeliveryStatus::Pending => 0,
            DeliveryStatus::Delivered => 1,
            DeliveryStatus::Failed => 2,
            DeliveryStatus::Dropped => 3,
        }
    }

    fn from_code(what: &'static str, code: i64) -> Result<Self, StoreError> {
        Ok(match code {
            0 => DeliveryStatus::Pending,
            1 => DeliveryStatus::Delivered,
            2 => DeliveryStatus::Failed,
            3 => DeliveryStatus::Dropped,
            _ => {
                return Err(StoreError::InvalidRow {
                    what,
                    detail: format!("unknown delivery status {code}"),
                });
            }
        })
    }
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Grows in the order deliveries were written.
    pub seq: i64,
    pub id: String,
    pub notifier: String,
    pub group_key: String,
    pub kind: String,
    pub created_at: Timestamp,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<Timestamp>,
    pub last_attempt_at: Option<Timestamp>,
    pub last_outcome: Option<String>,
    pub finished_at: Option<Timestamp>,
    pub notification: String,
}

/// One attempt's record, and the delivery's state after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub delivery_seq: i64,
    /// 1 for the first attempt.
    pub number: u32,
    pub at: Timestamp,
    pub duration: Duration,
    /// What happened: `HTTP 500`, `connection refused`.
    pub outcome: String,
    /// What it meant: `delivered`, `retry at …`, `gave up: …`.
    pub decision: String,
    pub status: DeliveryStatus,
    /// When pending: the next attempt.
    pub next_attempt_at: Option<Timestamp>,
}

/// A stored attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub number: u32,
    pub at: Timestamp,
    pub duration: Duration,
    pub outcome: String,
    pub decision: String,
}

/// A notifier that stays disabled until its config's digest changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledNotifier {
    pub notifier: String,
    pub digest: String,
    pub at: Timestamp,
    pub reason: String,
}

/// Rows as the engines bind and read them.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct GroupRow {
    pub group_key: String,
    pub next_flush: i64,
    pub last_sent: Option<i64>,
    pub sent_firing: String,
    pub members: String,
}

#[derive(Debug)]
pub(crate) struct GroupWrite {
    pub group_key: String,
    pub next_flush: i64,
    pub last_sent: Option<i64>,
    pub sent_firing: String,
    pub members: String,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    pub seq: i64,
    pub id: String,
    pub notifier: String,
    pub group_key: String,
    pub kind: String,
    pub created_at: i64,
    pub status: i64,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub last_outcome: Option<String>,
    pub finished_at: Option<i64>,
    pub notification: String,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AttemptRow {
    pub number: i64,
    pub at: i64,
    pub duration_ms: i64,
    pub outcome: String,
    pub decision: String,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DisabledRow {
    pub notifier: String,
    pub digest: String,
    pub at: i64,
    pub reason: String,
}

/// The columns of `deliveries` as [`DeliveryRow`] reads them.
macro_rules! delivery_columns {
    () => {
        "seq, id, notifier, group_key, kind, created_at, status, attempts, next_attempt_at, \
         last_attempt_at, last_outcome, finished_at, notification"
    };
}
pub(crate) use delivery_columns;

fn json_list(what: &'static str, list: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(list).map_err(|error| StoreError::InvalidRow {
        what,
        detail: error.to_string(),
    })
}

impl GroupRecord {
    fn encode(&self) -> Result<GroupWrite, StoreError> {
        const WHAT: &str = "notification groups to write";
        Ok(GroupWrite {
            group_key: self.key.clone(),
            next_flush: millis(self.next_flush),
            last_sent: self.last_sent.map(millis),
            sent_firing: json_list(WHAT, &self.sent_firing)?,
            members: json_list(WHAT, &self.members)?,
        })
    }
}

impl GroupRow {
    fn decode(self, what: &'static str) -> Result<GroupRecord, StoreError> {
        let list = |text: &str| {
            serde_json::from_str::<Vec<String>>(text).map_err(|error| StoreError::InvalidRow {
                what,
                detail: format!("group {}: {error}", self.group_key),
            })
        };
        Ok(GroupRecord {
            next_flush: timestamp_from_millis(what, self.next_flush)?,
            last_sent: self
                .last_sent
                .map(|ms| timestamp_from_millis(what, ms))
                .transpose()?,
            sent_firing: list(&self.sent_firing)?,
            members: list(&self.members)?,
            key: self.group_key,
        })
    }
}

impl DeliveryRow {
    fn decode(self, what: &'static str) -> Result<Delivery, StoreError> {
        let at = |ms: Option<i64>| ms.map(|ms| timestamp_from_millis(what, ms)).transpose();
        Ok(Delivery {
            seq: self.seq,
            created_at: timestamp_from_millis(what, self.created_at)?,
            status: DeliveryStatus::from_code(what, self.status)?,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            next_attempt_at: at(self.next_attempt_at)?,
            last_attempt_at: at(self.last_attempt_at)?,
            finished_at: at(self.finished_at)?,
            id: self.id,
            notifier: self.notifier,
            group_key: self.group_key,
            kind: self.kind,
            last_outcome: self.last_outcome,
            notification: self.notification,
        })
    }
}

impl AttemptRow {
    fn decode(self, what: &'static str) -> Result<DeliveryAttempt, StoreError> {
        Ok(DeliveryAttempt {
            number: u32::try_from(self.number).unwrap_or(u32::MAX),
            at: timestamp_from_millis(what, self.at)?,
            duration: Duration::from_millis(u64::try_from(self.duration_ms).unwrap_or(0)),
            outcome: self.outcome,
            decision: self.decision,
        })
    }
}

/// One attempt as the engines write it.
#[derive(Debug)]
pub(crate) struct AttemptWrite<'a> {
    pub delivery_seq: i64,
    pub number: i64,
    pub at: i64,
    pub duration_ms: i64,
    pub outcome: &'a str,
    pub decision: &'a str,
    pub status: i64,
    pub next_attempt_at: Option<i64>,
    /// Set when the status is final.
    pub finished_at: Option<i64>,
}

/// What every backend does for the outbox, in SQL only.
pub(crate) trait OutboxRows {
    async fn dispatch_cursor(&self) -> Result<Option<i64>, sqlx::Error>;

    async fn notification_groups(&self) -> Result<Vec<GroupRow>, sqlx::Error>;

    /// In one transaction: the cursor, the groups, the finished groups
    /// removed, the escalations upserted and their steps appended, the
    /// deliveries inserted (pending, due at their creation).
    async fn commit_dispatch(&self, write: &DispatchWrite<'_>) -> Result<(), sqlx::Error>;

    /// Pending deliveries of `notifier` due at `now` (ms), oldest first.
    async fn due_deliveries(
        &self,
        notifier: &str,
        now: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, sqlx::Error>;

    /// Claims pending deliveries of `notifier` due at `now` (ms): their
    /// next attempt moves to `until`; returned as updated, in any order.
    async fn claim_due_deliveries(
        &self,
        notifier: &str,
        now: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, sqlx::Error>;

    /// The earliest next attempt among `notifier`'s pending deliveries.
    async fn next_due(&self, notifier: &str) -> Result<Option<i64>, sqlx::Error>;

    /// In one transaction: the attempt row and the delivery's new state.
    async fn record_attempt(&self, attempt: &AttemptWrite<'_>) -> Result<(), sqlx::Error>;

    /// Newest first, optionally of one notifier.
    async fn deliveries(
        &self,
        notifier: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, sqlx::Error>;

    async fn delivery(&self, id: &str) -> Result<Option<DeliveryRow>, sqlx::Error>;

    async fn delivery_attempts(&self, seq: i64) -> Result<Vec<AttemptRow>, sqlx::Error>;

    /// Pending deliveries per notifier.
    async fn pending_counts(&self) -> Result<Vec<(String, i64)>, sqlx::Error>;

    async fn disabled_notifiers(&self) -> Result<Vec<DisabledRow>, sqlx::Error>;

    /// In one transaction: the notifier disabled, and its pending
    /// deliveries dropped with `reason`; returns how many.
    async fn disable_notifier(&self, row: &DisabledRow) -> Result<u64, sqlx::Error>;

    async fn enable_notifier(&self, notifier: &str) -> Result<(), sqlx::Error>;

    /// In one transaction: finished deliveries (not pending) that finished
    /// before `before` (ms) deleted, with their attempts; how many.
    async fn prune_deliveries(&self, before: i64) -> Result<u64, sqlx::Error>;
}

fn write_error(source: sqlx::Error) -> StoreError {
    StoreError::Outbox { source }
}

impl Store {
    /// The id of the last alert event the dispatcher accounted for (0:
    /// none yet).
    pub async fn dispatch_cursor(&self) -> Result<i64, StoreError> {
        backend!(self, engine => engine.dispatch_cursor().await)
            .map(|cursor| cursor.unwrap_or(0))
            .map_err(|source| StoreError::Read {
                what: "the dispatch cursor",
                source,
            })
    }

    /// Every saved route group.
    pub async fn notification_groups(&self) -> Result<Vec<GroupRecord>, StoreError> {
        const WHAT: &str = "notification groups";
        let rows = backend!(self, engine => engine.notification_groups().await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// Commits one dispatch step at once (see the module's guarantee).
    pub async fn commit_dispatch(&self, commit: &DispatchCommit) -> Result<(), StoreError> {
        let groups = commit
            .groups
            .iter()
            .map(GroupRecord::encode)
            .collect::<Result<Vec<_>, _>>()?;
        let escalations: Vec<EscalationRow> = commit
            .escalations
            .iter()
            .map(EscalationRecord::encode)
            .collect();
        let write = DispatchWrite {
            cursor: commit.cursor,
            groups: &groups,
            finished: &commit.finished_groups,
            deliveries: &commit.deliveries,
            escalations: &escalations,
            steps: &commit.escalation_steps,
        };
        backend!(self, engine => engine.commit_dispatch(&write).await).map_err(write_error)
    }

    /// Claims up to `limit` pending deliveries of `notifier` due at `now`,
    /// in the order they were written: their next attempt moves to `until`,
    /// so another instance sharing the database does not take them too
    /// while this one attempts them (recording an attempt sets the next
    /// one; after a crash a claimed delivery is due again at `until`).
    pub async fn claim_due_deliveries(
        &self,
        notifier: &str,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        const WHAT: &str = "claimed deliveries";
        let rows = backend!(self, engine => engine
            .claim_due_deliveries(notifier, millis(now), millis(until), limit)
            .await)
        .map_err(write_error)?;
        let mut claimed = rows
            .into_iter()
            .map(|row| row.decode(WHAT))
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|delivery| delivery.seq);
        Ok(claimed)
    }

    /// Up to `limit` pending deliveries of `notifier` whose next attempt is
    /// due at `now`, in the order they were written.
    pub async fn due_deliveries(
        &self,
        notifier: &str,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        const WHAT: &str = "due deliveries";
        let rows =
            backend!(self, engine => engine.due_deliveries(notifier, millis(now), limit).await)
                .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// When `notifier`'s next pending delivery is due, if it has one.
    pub async fn next_delivery_due(&self, notifier: &str) -> Result<Option<Timestamp>, StoreError> {
        const WHAT: &str = "the next due delivery";
        let next = backend!(self, engine => engine.next_due(notifier).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        next.map(|ms| timestamp_from_millis(WHAT, ms)).transpose()
    }

    /// Records one attempt and the delivery's state after it, at once.
    pub async fn record_attempt(&self, attempt: &AttemptRecord) -> Result<(), StoreError> {
        let finished = attempt.status != DeliveryStatus::Pending;
        let write = AttemptWrite {
            delivery_seq: attempt.delivery_seq,
            number: i64::from(attempt.number),
            at: millis(attempt.at),
            duration_ms: i64::try_from(attempt.duration.as_millis()).unwrap_or(i64::MAX),
            outcome: &attempt.outcome,
            decision: &attempt.decision,
            status: attempt.status.code(),
            next_attempt_at: attempt.next_attempt_at.map(millis),
            finished_at: finished.then(|| millis(attempt.at)),
        };
        backend!(self, engine => engine.record_attempt(&write).await).map_err(write_error)
    }

    /// Up to `limit` deliveries, newest first, of one notifier or all.
    pub async fn deliveries(
        &self,
        notifier: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        const WHAT: &str = "deliveries";
        let rows = backend!(self, engine => engine.deliveries(notifier, limit).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// One delivery by id, with its attempts in order.
    pub async fn delivery(
        &self,
        id: &str,
    ) -> Result<Option<(Delivery, Vec<DeliveryAttempt>)>, StoreError> {
        const WHAT: &str = "a delivery";
        let Some(row) = backend!(self, engine => engine.delivery(id).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?
        else {
            return Ok(None);
        };
        let delivery = row.decode(WHAT)?;
        let attempts = backend!(self, engine => engine.delivery_attempts(delivery.seq).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?
            .into_iter()
            .map(|row| row.decode(WHAT))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((delivery, attempts)))
    }

    /// How many deliveries wait, per notifier that has any.
    pub async fn pending_deliveries(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = backend!(self, engine => engine.pending_counts().await).map_err(|source| {
            StoreError::Read {
                what: "pending deliveries",
                source,
            }
        })?;
        Ok(rows
            .into_iter()
            .map(|(notifier, count)| (notifier, u64::try_from(count).unwrap_or(0)))
            .collect())
    }

    pub async fn disabled_notifiers(&self) -> Result<Vec<DisabledNotifier>, StoreError> {
        const WHAT: &str = "disabled notifiers";
        let rows = backend!(self, engine => engine.disabled_notifiers().await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter()
            .map(|row| {
                Ok(DisabledNotifier {
                    at: timestamp_from_millis(WHAT, row.at)?,
                    notifier: row.notifier,
                    digest: row.digest,
                    reason: row.reason,
                })
            })
            .collect()
    }

    /// Disables a notifier until its config's digest changes; its pending
    /// deliveries are dropped with the reason. Returns how many were.
    pub async fn disable_notifier(&self, disabled: &DisabledNotifier) -> Result<u64, StoreError> {
        let row = DisabledRow {
            notifier: disabled.notifier.clone(),
            digest: disabled.digest.clone(),
            at: millis(disabled.at),
            reason: disabled.reason.clone(),
        };
        backend!(self, engine => engine.disable_notifier(&row).await).map_err(write_error)
    }

    pub async fn enable_notifier(&self, notifier: &str) -> Result<(), StoreError> {
        backend!(self, engine => engine.enable_notifier(notifier).await).map_err(write_error)
    }
}
