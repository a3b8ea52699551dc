//! Incident wiring: the [`OpenerSettings`] made from the config (again on
//! every reload), [`StoreIncidents`] (the web's writer over the store),
//! what an acknowledgement does to its alert's incident, and the MTTA /
//! MTTR / open gauges of `/metrics`, refreshed from the store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use jiff::SignedDuration;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use watchkeeper_config::Config;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::incident::EntryKind;
use watchkeeper_incidents::communications::Communications;
use watchkeeper_incidents::plan::OpenerSettings;
use watchkeeper_incidents::timeline::Names;
use watchkeeper_store::{
    IncidentChange, IncidentQuery, NewEntry, NewIncident, Store, StoreError, StoredAck,
    StoredIncident,
};
use watchkeeper_web::api::overrides::Pending;

/// What the opener and the API check and show incidents with.
pub fn opener_settings(config: &Config) -> Arc<OpenerSettings> {
    let incidents = &config.incidents;
    // Load rendered every template already; should that ever differ, the
    // built-in ones still work.
    let communications = Communications::new(incidents.templates.clone()).unwrap_or_else(|error| {
        tracing::error!(error = %error, "the config's incident templates do not compile; using the built-in ones");
        Communications::builtin()
    });
    let names = Names {
        components: config
            .components
            .iter()
            .map(|component| (component.id.to_string(), component.name.clone()))
            .collect(),
        monitors: config
            .monitors
            .iter()
            .map(|monitor| (monitor.id.to_string(), monitor.name.clone()))
            .collect(),
        runbooks: config
            .alerting
            .rules
            .iter()
            .filter_map(|rule| Some((rule.id.to_string(), rule.runbook.as_ref()?.to_string())))
            .collect(),
    };
    Arc::new(OpenerSettings {
        policy: incidents.policy.clone(),
        next_update: incidents.next_update,
        communications: Arc::new(communications),
        names,
    })
}

/// Writes incidents given over the API, and says so to readers.
pub struct StoreIncidents {
    pub store: Store,
    pub changed: Arc<watch::Sender<u64>>,
}

impl watchkeeper_web::IncidentWriter for StoreIncidents {
    fn open(&self, incident: NewIncident) -> Pending<'_, i64> {
        Box::pin(async move {
            let id = self
                .store
                .open_incident(&incident)
                .await
                .map_err(|error| error.to_string())?;
            tracing::info!(incident = id, title = %incident.title, severity = %incident.severity, "an incident was opened by hand");
            self.changed.send_modify(|count| *count += 1);
            Ok(id)
        })
    }

    fn change(&self, change: IncidentChange) -> Pending<'_, Option<StoredIncident>> {
        Box::pin(async move {
            let changed = self
                .store
                .change_incident(&change)
                .await
                .map_err(|error| error.to_string())?;
            if changed.is_some() {
                self.changed.send_modify(|count| *count += 1);
            }
            Ok(changed)
        })
    }
}

/// An acknowledgement of an alert in an open incident: the incident's
/// first acknowledgement time (when it has none), its commander (when it
/// has none), and an entry on its timeline.
pub async fn record_ack(store: &Store, ack: &StoredAck) -> Result<Option<i64>, StoreError> {
    let Some(incident) = store.incident_of_alert(&ack.fingerprint).await? else {
        return Ok(None);
    };
    let mut change = IncidentChange::new(incident.id, ack.at);
    change.acknowledged_at = Some(ack.at);
    if incident.commander.is_none() {
        change.commander = Some(Some(ack.actor.clone()));
    }
    let comment = if ack.comment.is_empty() {
        String::new()
    } else {
        format!(": {}", ack.comment)
    };
    change.entries.push(NewEntry {
        author: Some(ack.actor.clone()),
        fingerprint: Some(ack.fingerprint.clone()),
        body: format!(
            "{} acknowledged the alert (via {}){comment}",
            ack.actor,
            ack.via.as_str()
        ),
        ..NewEntry::new(ack.at, EntryKind::Acknowledged)
    });
    Ok(store
        .change_incident(&change)
        .await?
        .map(|stored| stored.id))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabels {
    severity: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// `watchkeeper_incidents_open`, `watchkeeper_incident_mtta_seconds` and
/// `watchkeeper_incident_mttr_seconds` per severity, over the incidents
/// started in the last 30 days.
#[derive(Clone)]
pub struct IncidentMetrics {
    open: Family<SeverityLabels, Gauge>,
    mtta: Family<SeverityLabels, FloatGauge>,
    mttr: Family<SeverityLabels, FloatGauge>,
}

/// How far back MTTA and MTTR look, and how often they are computed.
const METRICS_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);
const METRICS_EVERY: Duration = Duration::from_secs(30);
/// The most incidents one refresh reads.
const METRICS_LIMIT: u32 = 10_000;

impl IncidentMetrics {
    pub fn register(registry: &mut Registry) -> IncidentMetrics {
        let metrics = IncidentMetrics {
            open: Family::default(),
            mtta: Family::default(),
            mttr: Family::default(),
        };
        registry.register(
            "incidents_open",
            "Open incidents (investigating, identified or monitoring), per severity",
            metrics.open.clone(),
        );
        registry.register(
            "incident_mtta_seconds",
            "Mean time from an incident's start to its first acknowledgement, per severity, over the incidents of the last 30 days",
            metrics.mtta.clone(),
        );
        registry.register(
            "incident_mttr_seconds",
            "Mean time from an incident's start to its resolution, per severity, over the incidents of the last 30 days",
            metrics.mttr.clone(),
        );
        metrics
    }

    /// Sets every gauge from the store; severities without incidents read 0.
    pub async fn refresh(&self, store: &Store, clock: &dyn Clock) -> Result<(), StoreError> {
        let since = clock.now().checked_sub(METRICS_WINDOW).ok();
        let incidents = store
            .incidents(&IncidentQuery {
                open_only: false,
                since,
                until: None,
                before: None,
                limit: METRICS_LIMIT,
            })
            .await?;
        let stats = watchkeeper_incidents::stats::by_severity(&incidents);
        let mut open: BTreeMap<&str, i64> = BTreeMap::new();
        for incident in incidents.iter().filter(|i| i.status.is_open()) {
            *open.entry(incident.severity.as_str()).or_default() += 1;
        }
        self.open.clear();
        self.mtta.clear();
        self.mttr.clear();
        for (severity, stats) in &stats {
            let labels = SeverityLabels {
                severity: severity.clone(),
            };
            self.open
                .get_or_create(&labels)
                .set(open.get(severity.as_str()).copied().unwrap_or(0));
            if let Some(mtta) = stats.mtta_seconds {
                self.mtta.get_or_create(&labels).set(mtta);
            }
            if let Some(mttr) = stats.mttr_seconds {
                self.mttr.get_or_create(&labels).set(mttr);
            }
        }
        Ok(())
    }

    /// Refreshes every [`METRICS_EVERY`], and at once when incidents change.
    pub async fn run(
        self,
        store: Store,
        clock: Arc<dyn Clock>,
        mut changed: watch::Receiver<u64>,
        stop: CancellationToken,
    ) {
        let mut writers_gone = false;
        loop {
            if let Err(error) = self.refresh(&store, clock.as_ref()).await {
                tracing::warn!(error = %error, "cannot refresh the incident metrics");
            }
            tokio::select! {
                result = changed.changed(), if !writers_gone => writers_gone = result.is_err(),
                () = tokio::time::sleep(METRICS_EVERY) => {}
                () = stop.cancelled() => return,
            }
        }
    }
}
