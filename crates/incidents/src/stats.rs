//! MTTA and MTTR per severity over a set of incidents, as the API's
//! `/incidents/stats` answers and `/metrics` exports them: a pure function.

use std::collections::BTreeMap;

use serde::Serialize;
use watchkeeper_store::StoredIncident;

/// MTTA and MTTR of one severity, over the incidents asked about.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct SeverityStats {
    pub incidents: u64,
    pub acknowledged: u64,
    pub resolved: u64,
    /// Mean time from start to first acknowledgement, seconds.
    pub mtta_seconds: Option<f64>,
    /// Mean time from start to resolution, seconds.
    pub mttr_seconds: Option<f64>,
}

/// MTTA and MTTR per severity of `incidents` (a pure function).
pub fn by_severity(incidents: &[StoredIncident]) -> BTreeMap<String, SeverityStats> {
    let mut sums: BTreeMap<String, (SeverityStats, f64, f64)> = BTreeMap::new();
    for incident in incidents {
        let (stats, ack_sum, resolve_sum) = sums.entry(incident.severity.clone()).or_default();
        stats.incidents += 1;
        if let Some(at) = incident.acknowledged_at {
            stats.acknowledged += 1;
            *ack_sum += at
                .duration_since(incident.started_at)
                .as_secs_f64()
                .max(0.0);
        }
        if let Some(at) = incident.resolved_at {
            stats.resolved += 1;
            *resolve_sum += at
                .duration_since(incident.started_at)
                .as_secs_f64()
                .max(0.0);
        }
    }
    sums.into_iter()
        .map(|(severity, (mut stats, ack_sum, resolve_sum))| {
            let mean = |sum: f64, count: u64| (count > 0).then(|| sum / count as f64);
            stats.mtta_seconds = mean(ack_sum, stats.acknowledged);
            stats.mttr_seconds = mean(resolve_sum, stats.resolved);
            (severity, stats)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use jiff::Timestamp;
    use watchkeeper_domain::incident::IncidentStatus;

    use super::*;

    fn incident(
        severity: &str,
        ack_after: Option<i64>,
        resolve_after: Option<i64>,
    ) -> StoredIncident {
        let start = Timestamp::from_second(1_790_000_000).unwrap();
        let later = |seconds: i64| Timestamp::from_second(1_790_000_000 + seconds).unwrap();
        StoredIncident {
            id: 1,
            title: "t".to_owned(),
            severity: severity.to_owned(),
            status: IncidentStatus::Investigating,
            components: BTreeMap::new(),
            commander: None,
            opened_by_alert: true,
            started_at: start,
            acknowledged_at: ack_after.map(later),
            resolved_at: resolve_after.map(later),
            next_update_at: None,
            last_reminder_at: None,
            created_at: start,
            updated_at: start,
            alerts: Vec::new(),
        }
    }

    #[test]
    fn means_count_only_the_incidents_that_got_there() {
        let stats = by_severity(&[
            incident("P1", Some(60), Some(600)),
            incident("P1", Some(180), None),
            incident("P1", None, None),
            incident("P2", None, Some(1200)),
        ]);
        let p1 = &stats["P1"];
        assert_eq!((p1.incidents, p1.acknowledged, p1.resolved), (3, 2, 1));
        assert_eq!(p1.mtta_seconds, Some(120.0));
        assert_eq!(p1.mttr_seconds, Some(600.0));
        assert_eq!(stats["P2"].mtta_seconds, None);
        assert_eq!(stats["P2"].mttr_seconds, Some(1200.0));
    }
}
