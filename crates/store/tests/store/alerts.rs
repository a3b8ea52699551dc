//! Alert changes: written in a results batch's transaction, read back as
//! each alert's state now and as its events in order.

use watchkeeper_domain::Health;
use watchkeeper_domain::alert::fingerprint::fingerprint;
use watchkeeper_domain::alert::matcher::Labels;
use watchkeeper_domain::alert::{AlertChange, AlertPhase, AlertState, Transition};
use watchkeeper_store::{Batch, Committed, StoreError};
use watchkeeper_testkit::on_both_engines;

use crate::{TestDatabase, at, id, result};

/// The alert of rule `rule` about `monitor` after `transition` at `ms`.
pub(crate) fn alert_change(
    rule: &str,
    monitor: &str,
    transition: Transition,
    ms: i64,
) -> AlertChange {
    let labels = Labels::from([
        ("alertname".to_owned(), rule.to_owned()),
        ("monitor".to_owned(), monitor.to_owned()),
        ("severity".to_owned(), "P2".to_owned()),
    ]);
    let state = match transition {
        Transition::Fired => AlertState {
            phase: AlertPhase::Firing,
            active_since: Some(at(ms)),
            fired_at: Some(at(ms)),
            last_held: Some(at(ms)),
            resolved_at: None,
        },
        Transition::Resolved => AlertState {
            phase: AlertPhase::Resolved,
            active_since: None,
            fired_at: Some(at(ms - 30_000)),
            last_held: Some(at(ms - 10_000)),
            resolved_at: Some(at(ms)),
        },
        Transition::Pending => AlertState {
            phase: AlertPhase::Pending,
            active_since: Some(at(ms)),
            ..AlertState::default()
        },
        Transition::PendingCleared => AlertState::default(),
    };
    AlertChange {
        fingerprint: fingerprint(&labels),
        rule: rule.to_owned(),
        monitor: id(monitor),
        labels,
        transition,
        at: at(ms),
        state,
        reason: (transition == Transition::Fired).then(|| "connection refused".to_owned()),
    }
}

on_both_engines! {
    async fn alert_changes_are_stored_with_their_results_and_read_back_in_order(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db"]).await;
        let fired = alert_change("MonitorDown", "api", Transition::Fired, 20_000);
        let resolved = alert_change("MonitorDown", "api", Transition::Resolved, 50_000);
        let db_pending = alert_change("DbSlow", "db", Transition::Pending, 30_000);

        let first = store
            .write(Batch {
                results: &[result("api", 20_000, 100, Health::Down)],
                changes: &[],
                alerts: &[fired.clone(), db_pending.clone()],
            })
            .await
            .unwrap();
        let second = store
            .write(Batch {
                results: &[result("api", 50_000, 100, Health::Up)],
                changes: &[],
                alerts: std::slice::from_ref(&resolved),
            })
            .await
            .unwrap();
        let (Some(first_id), Some(second_id)) = (first.alert_event, second.alert_event) else {
            panic!("no event ids: {first:?} {second:?}");
        };
        assert!(second_id > first_id);
        assert_eq!(first.state_change, None);

        // Each alert as its last change left it.
        let alerts = store.alerts().await.unwrap();
        assert_eq!(alerts.len(), 2);
        let api = alerts.iter().find(|a| a.fingerprint == fired.fingerprint).unwrap();
        assert_eq!(api.state, resolved.state);
        assert_eq!(api.labels, fired.labels);
        assert_eq!((api.rule.as_str(), api.monitor.as_str()), ("MonitorDown", "api"));
        assert_eq!(api.updated_at, at(50_000));
        let db_alert = alerts.iter().find(|a| a.fingerprint == db_pending.fingerprint).unwrap();
        assert_eq!(db_alert.state.phase, AlertPhase::Pending);
        assert_eq!(store.alert(&fired.fingerprint).await.unwrap().as_ref(), Some(api));
        assert_eq!(store.alert("0123456789abcdef").await.unwrap(), None);

        // One alert's timeline, newest first.
        let events = store.alert_events(&fired.fingerprint, 10).await.unwrap();
        let timeline: Vec<_> = events.iter().map(|e| (e.transition, e.at)).collect();
        assert_eq!(
            timeline,
            [(Transition::Resolved, at(50_000)), (Transition::Fired, at(20_000))]
        );
        assert_eq!(events[1].reason.as_deref(), Some("connection refused"));

        // Every event after an id, oldest first: a consumer's cursor.
        let all = store.alert_events_after(0, 100).await.unwrap();
        let order: Vec<_> = all.iter().map(|e| e.transition).collect();
        assert_eq!(order, [Transition::Fired, Transition::Pending, Transition::Resolved]);
        assert_eq!(all.last().unwrap().id, second_id);
        assert!(store.alert_events_after(second_id, 100).await.unwrap().is_empty());
        assert_eq!(store.alert_events_after(all[0].id, 1).await.unwrap().len(), 1);

        // A restart finds the same.
        store.close().await;
        let again = db.open().await;
        assert_eq!(again.alerts().await.unwrap(), alerts);
        again.close().await;
    }
}

on_both_engines! {
    async fn a_batch_that_fails_stores_none_of_its_alert_changes(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        let fired = alert_change("MonitorDown", "api", Transition::Fired, 20_000);
        let error = store
            .write(Batch {
                results: &[result("nope", 20_000, 100, Health::Down)],
                changes: &[],
                alerts: std::slice::from_ref(&fired),
            })
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::UnregisteredMonitor { .. }), "{error}");
        assert!(store.alerts().await.unwrap().is_empty());
        assert!(store.alert_events_after(0, 10).await.unwrap().is_empty());
        // A batch of alert changes alone is written too.
        let committed = store
            .write(Batch {
                alerts: std::slice::from_ref(&fired),
                ..Batch::default()
            })
            .await
            .unwrap();
        assert_ne!(committed, Committed::default());
        assert_eq!(store.alerts().await.unwrap().len(), 1);
        store.close().await;
    }
}
