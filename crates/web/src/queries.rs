//! The read-only view of the store that handlers get. `AppState` holds a
//! [`Queries`], never the [`Store`] itself, so no handler can write results,
//! roll up or prune: that is the engine's recorder's alone, and an HTTP
//! request (which anyone reaching the port can make) cannot start it. The
//! only writes from HTTP are an audit entry (`audit::Audit`) and a token's
//! last use (`auth::Authority`), each behind its own narrow handle.
//! A route that needs another read adds one method here.

use std::collections::HashMap;

use jiff::Timestamp;
use watchkeeper_domain::alert::StoredAlert;
use watchkeeper_domain::check::{CheckResult, StateChange};
use watchkeeper_domain::id::MonitorId;
use watchkeeper_incidents::timeline::{Names, Record};
use watchkeeper_store::{
    AlertEvent, AuditEntry, DayCount, Delivery, DeliveryAttempt, EscalationStep, IncidentQuery,
    Store, StoreError, StoredAck, StoredEntry, StoredIncident, StoredOverride, StoredSilence,
};

#[derive(Clone)]
pub struct Queries {
    store: Store,
}

impl Queries {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Up to `limit` state changes of one monitor, newest first.
    pub async fn state_changes(
        &self,
        id: &MonitorId,
        limit: u32,
    ) -> Result<Vec<StateChange>, StoreError> {
        self.store.state_changes(id, limit).await
    }

    /// Up to `limit` state changes of one monitor at `[from, before)`,
    /// newest first.
    pub async fn state_changes_in(
        &self,
        id: &MonitorId,
        from: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<StateChange>, StoreError> {
        self.store.state_changes_in(id, from, before, limit).await
    }

    /// Up to `limit` raw results of one monitor that started in `[from,
    /// before)`, newest first.
    pub async fn results(
        &self,
        id: &MonitorId,
        from: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<CheckResult>, StoreError> {
        self.store.results_page(id, from, before, limit).await
    }

    /// Every stored alert with its state now.
    pub async fn alerts(&self) -> Result<Vec<StoredAlert>, StoreError> {
        self.store.alerts().await
    }

    /// One stored alert, by fingerprint.
    pub async fn alert(&self, fingerprint: &str) -> Result<Option<StoredAlert>, StoreError> {
        self.store.alert(fingerprint).await
    }

    /// Up to `limit` changes of one alert, newest first.
    pub async fn alert_events(
        &self,
        fingerprint: &str,
        limit: u32,
    ) -> Result<Vec<AlertEvent>, StoreError> {
        self.store.alert_events(fingerprint, limit).await
    }

    /// Up to `limit` deliveries, newest first, of one notifier or all.
    pub async fn deliveries(
        &self,
        notifier: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.store.deliveries(notifier, limit).await
    }

    /// One delivery with its attempts.
    pub async fn delivery(
        &self,
        id: &str,
    ) -> Result<Option<(Delivery, Vec<DeliveryAttempt>)>, StoreError> {
        self.store.delivery(id).await
    }

    /// Silences that end after `after` (`Timestamp::MIN`: all).
    /// The run-time overrides of `schedule` (or every schedule) not removed
    /// and ending after `ending_after`, by start.
    pub async fn overrides(
        &self,
        schedule: Option<&str>,
        ending_after: Timestamp,
    ) -> Result<Vec<StoredOverride>, StoreError> {
        self.store.overrides(schedule, ending_after).await
    }

    /// The standing acknowledgement of the alert's current firing.
    pub async fn current_ack(&self, fingerprint: &str) -> Result<Option<StoredAck>, StoreError> {
        self.store.current_ack(fingerprint).await
    }

    /// Every standing acknowledgement.
    pub async fn current_acks(&self) -> Result<Vec<StoredAck>, StoreError> {
        self.store.current_acks().await
    }

    /// Acknowledgements made since `after` (for MTTA).
    pub async fn acks_since(&self, after: Timestamp) -> Result<Vec<StoredAck>, StoreError> {
        self.store.acks_since(after).await
    }

    /// One alert's escalation steps, newest first.
    pub async fn escalation_steps(
        &self,
        fingerprint: &str,
        limit: u32,
    ) -> Result<Vec<EscalationStep>, StoreError> {
        self.store.escalation_steps(fingerprint, limit).await
    }

    pub async fn silences(&self, after: Timestamp) -> Result<Vec<StoredSilence>, StoreError> {
        self.store.silences(after).await
    }

    pub async fn silence(&self, id: &str) -> Result<Option<StoredSilence>, StoreError> {
        self.store.silence(id).await
    }

    pub async fn subscribers(
        &self,
    ) -> Result<Vec<watchkeeper_store::StoredSubscriber>, StoreError> {
        self.store.subscribers().await
    }

    pub async fn subscriber(
        &self,
        id: i64,
    ) -> Result<Option<watchkeeper_store::StoredSubscriber>, StoreError> {
        self.store.subscriber(id).await
    }

    /// Fraction of checks since `since` that were not down.
    pub async fn availability(
        &self,
        id: &MonitorId,
        since: Timestamp,
    ) -> Result<Option<f64>, StoreError> {
        self.store.availability(id, since).await
    }

    /// [`Queries::availability`] of every monitor with data since `since`.
    pub async fn availability_all(
        &self,
        since: Timestamp,
    ) -> Result<HashMap<MonitorId, f64>, StoreError> {
        self.store.availability_all(since).await
    }

    /// Incidents as `query` selects them, newest first.
    pub async fn incidents(
        &self,
        query: &IncidentQuery,
    ) -> Result<Vec<StoredIncident>, StoreError> {
        self.store.incidents(query).await
    }

    pub async fn incident(&self, id: i64) -> Result<Option<StoredIncident>, StoreError> {
        self.store.incident(id).await
    }

    /// An incident's timeline merged with its alerts' escalation steps and
    /// notifications, and what its postmortem measures (reads only).
    pub async fn incident_record(
        &self,
        incident: &StoredIncident,
        names: &Names,
        now: Timestamp,
    ) -> Result<Record, StoreError> {
        watchkeeper_incidents::timeline::gather(&self.store, incident, names, now).await
    }

    /// An incident's own timeline entries, in time order.
    pub async fn incident_entries(&self, id: i64) -> Result<Vec<StoredEntry>, StoreError> {
        self.store.incident_entries(id).await
    }

    /// Probes and failures of `monitors` per UTC day in `[from, to)`.
    pub async fn daily_counts(
        &self,
        monitors: &[MonitorId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<HashMap<MonitorId, Vec<DayCount>>, StoreError> {
        self.store.daily_counts(monitors, from, to).await
    }

    /// Up to `limit` audit entries with an id below `before`, newest first.
    pub async fn audit(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.store.audit(before, limit).await
    }
}
