//! On-call wiring: the [`Directory`] the API reads, made from the config
//! (and made again on every reload); [`StoreOverrides`] and
//! [`StoreAcks`], the web's writers over the store (an acknowledgement
//! also acknowledges its alert's incident); and the link key.

use jiff::Timestamp;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use watchkeeper_config::OnCallConfig;
use watchkeeper_domain::oncall::Directory;
use watchkeeper_domain::oncall::link::LinkKey;
use watchkeeper_store::{
    AckOutcome, NewAck, NewOverride, OverrideConflict, Store, StoredAck, StoredOverride,
};
use watchkeeper_web::api::overrides::Pending;

/// What the API reads of the on-call config.
pub fn directory(oncall: &OnCallConfig) -> Directory {
    Directory {
        people: oncall.people.clone(),
        schedules: oncall.schedules.clone(),
        ack_targets: oncall.ack_targets.clone(),
    }
}

/// Writes schedule overrides given over the API.
pub struct StoreOverrides {
    pub store: Store,
}

impl watchkeeper_web::OverrideWriter for StoreOverrides {
    fn add(&self, new: NewOverride) -> Pending<'_, Result<StoredOverride, OverrideConflict>> {
        Box::pin(async move {
            let added = self
                .store
                .add_override(&new)
                .await
                .map_err(|error| error.to_string())?;
            if let Ok(stored) = &added {
                tracing::info!(id = stored.id, schedule = %stored.schedule, person = %stored.person, start = %stored.start, end = %stored.end, author = %stored.author, "on-call override added");
            }
            Ok(added)
        })
    }

    fn remove(&self, id: i64, by: String, at: Timestamp) -> Pending<'_, Option<StoredOverride>> {
        Box::pin(async move {
            let removed = self
                .store
                .remove_override(id, &by, at)
                .await
                .map_err(|error| error.to_string())?;
            if let Some(row) = &removed {
                tracing::info!(id, schedule = %row.schedule, by = %by, "on-call override removed");
            }
            Ok(removed)
        })
    }
}

/// The key acknowledgement links are signed with: the store's, made from
/// the OS's random bytes the first time any instance asks (every instance
/// sharing the database agrees on it).
pub async fn link_key(store: &Store) -> Result<LinkKey, String> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh)
        .map_err(|error| format!("no random bytes for the link key: {error}"))?;
    let key = store
        .link_key(fresh)
        .await
        .map_err(|error| error.to_string())?;
    Ok(LinkKey::new(key))
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SeverityLabels {
    severity: String,
}

/// Time to acknowledge, per severity: `watchkeeper_alert_ack_seconds`, a
/// histogram whose sum over its count is the MTTA.
#[derive(Clone)]
pub struct AckMetrics {
    seconds: Family<SeverityLabels, Histogram>,
}

impl AckMetrics {
    pub fn register(registry: &mut Registry) -> AckMetrics {
        // One minute to a day, around the seeds' targets (15 min, 1 h, 4 h, 24 h).
        let seconds = Family::<SeverityLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                60.0,
                300.0,
                900.0,
                1800.0,
                3600.0,
                4.0 * 3600.0,
                24.0 * 3600.0,
            ])
        });
        registry.register(
            "alert_ack_seconds",
            "Time from an alert firing to its acknowledgement, per severity (MTTA: sum / count)",
            seconds.clone(),
        );
        AckMetrics { seconds }
    }

    fn observe(&self, severity: &str, seconds: f64) {
        self.seconds
            .get_or_create(&SeverityLabels {
                severity: severity.to_owned(),
            })
            .observe(seconds);
    }
}

/// Writes acknowledgements (API, CLI, links) and wakes the dispatcher, so
/// an acknowledged alert's ladder stops at once.
pub struct StoreAcks {
    pub store: Store,
    pub changed: std::sync::Arc<watch::Sender<u64>>,
    pub key: tokio::sync::OnceCell<LinkKey>,
    pub metrics: AckMetrics,
    /// Where a resolution by hand goes: the engine's recorder.
    pub engine: watchkeeper_engine::ExternalResults,
    /// Told when an acknowledgement reached an incident.
    pub incidents_changed: std::sync::Arc<watch::Sender<u64>>,
}

impl watchkeeper_web::AckWriter for StoreAcks {
    fn acknowledge(&self, ack: NewAck) -> Pending<'_, AckOutcome> {
        Box::pin(async move {
            let outcome = self
                .store
                .acknowledge(&ack)
                .await
                .map_err(|error| error.to_string())?;
            if let AckOutcome::Acknowledged(stored) = &outcome {
                tracing::info!(alert = %stored.fingerprint, by = %stored.actor, via = stored.via.as_str(), "alert acknowledged");
                let severity = match self.store.alert(&stored.fingerprint).await {
                    Ok(Some(alert)) => alert.labels.get("severity").cloned().unwrap_or_default(),
                    _ => String::new(),
                };
                let waited = stored
                    .at
                    .duration_since(stored.firing_since)
                    .as_secs_f64()
                    .max(0.0);
                self.metrics.observe(&severity, waited);
                self.changed.send_modify(|generation| *generation += 1);
                // The alert's incident is acknowledged too; the ack stands
                // even if that write fails.
                match crate::incidents::record_ack(&self.store, stored).await {
                    Ok(Some(incident)) => {
                        tracing::info!(incident, alert = %stored.fingerprint, "the alert's incident is acknowledged");
                        self.incidents_changed.send_modify(|count| *count += 1);
                    }
                    Ok(None) => {}
                    Err(error) => {
                        tracing::warn!(error = %error, alert = %stored.fingerprint, "cannot record the acknowledgement on the alert's incident")
                    }
                }
            }
            Ok(outcome)
        })
    }

    fn unacknowledge(
        &self,
        fingerprint: String,
        by: String,
        at: Timestamp,
    ) -> Pending<'_, Option<StoredAck>> {
        Box::pin(async move {
            let cleared = self
                .store
                .unacknowledge(&fingerprint, &by, at)
                .await
                .map_err(|error| error.to_string())?;
            if cleared.is_some() {
                tracing::info!(alert = %fingerprint, by = %by, "acknowledgement taken back");
                self.changed.send_modify(|generation| *generation += 1);
            }
            Ok(cleared)
        })
    }

    fn resolve(
        &self,
        fingerprint: String,
        by: String,
    ) -> Pending<'_, watchkeeper_engine::ManualResolution> {
        Box::pin(async move {
            let outcome = self
                .engine
                .resolve_alert(fingerprint.clone(), by.clone())
                .await;
            if outcome == watchkeeper_engine::ManualResolution::Resolved {
                tracing::info!(alert = %fingerprint, by = %by, "alert resolved by hand");
            }
            Ok(outcome)
        })
    }

    fn link_key(&self) -> Pending<'_, LinkKey> {
        Box::pin(async move {
            self.key
                .get_or_try_init(|| link_key(&self.store))
                .await
                .cloned()
        })
    }

    fn use_link(&self, nonce: String, at: Timestamp) -> Pending<'_, bool> {
        Box::pin(async move {
            self.store
                .use_link(&nonce, at)
                .await
                .map_err(|error| error.to_string())
        })
    }
}
