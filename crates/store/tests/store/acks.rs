//! Acknowledgements: of one firing episode of an alert, refused when the
//! alert is not firing in it, taken once per episode, stopping the alert's
//! escalation in the same transaction, cleared without starting it again;
//! an older episode's ack is not current once the alert fires again.

use jiff::Timestamp;
use watchkeeper_domain::alert::Transition;
use watchkeeper_store::{AckOutcome, AckVia};
use watchkeeper_testkit::on_both_engines;

use crate::alerts::alert_change;
use crate::oncall::{commit_ladders, ladder, new_ack, write_alerts};
use crate::{TestDatabase, at};

on_both_engines! {
    async fn an_ack_is_taken_once_per_firing_episode_and_stops_the_escalation_with_it(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let fired = alert_change("MonitorDown", "api", Transition::Fired, 20_000);
        let pending = alert_change("DbSlow", "db", Transition::Pending, 20_000);

        // Unknown, pending, or another episode: not firing, nothing written.
        assert_eq!(
            store
                .acknowledge(&new_ack(&fired, 20_000, 30_000, "carol"))
                .await
                .unwrap(),
            AckOutcome::NotFiring
        );
        write_alerts(&store, &[fired.clone(), pending.clone()]).await;
        assert_eq!(
            store
                .acknowledge(&new_ack(&pending, 20_000, 30_000, "carol"))
                .await
                .unwrap(),
            AckOutcome::NotFiring
        );
        assert_eq!(
            store
                .acknowledge(&new_ack(&fired, 19_999, 30_000, "carol"))
                .await
                .unwrap(),
            AckOutcome::NotFiring
        );
        assert!(store.acks_since(Timestamp::MIN).await.unwrap().is_empty());

        commit_ladders(&store, 1, vec![ladder(&fired, 20_000, 0, Some(320_000))]).await;
        let AckOutcome::Acknowledged(ack) = store
            .acknowledge(&new_ack(&fired, 20_000, 30_000, "carol"))
            .await
            .unwrap()
        else {
            panic!("not acknowledged");
        };
        assert_eq!(
            (ack.fingerprint.as_str(), ack.firing_since, ack.at),
            (fired.fingerprint.as_str(), at(20_000), at(30_000))
        );
        assert_eq!(
            (ack.actor.as_str(), ack.via, ack.comment.as_str()),
            ("carol", AckVia::Cli, "carol is on it")
        );
        assert_eq!((ack.cleared_at, ack.cleared_by.as_deref()), (None, None));
        // The ladder stopped in the ack's transaction.
        let stopped = store.escalation(&fired.fingerprint).await.unwrap().unwrap();
        assert!(stopped.stopped);
        assert_eq!(
            (stopped.next_due, stopped.updated_at, stopped.level),
            (None, at(30_000), 0)
        );

        // Twice: the first one stands.
        let mut by_link = new_ack(&fired, 20_000, 31_000, "dave");
        by_link.via = AckVia::Link;
        assert_eq!(
            store.acknowledge(&by_link).await.unwrap(),
            AckOutcome::AlreadyAcknowledged(ack.clone())
        );
        assert_eq!(
            store.current_ack(&fired.fingerprint).await.unwrap(),
            Some(ack.clone())
        );
        assert_eq!(store.current_ack(&pending.fingerprint).await.unwrap(), None);
        assert_eq!(
            store.current_acks().await.unwrap(),
            std::slice::from_ref(&ack)
        );
        assert_eq!(
            store.acks_since(at(30_000)).await.unwrap(),
            std::slice::from_ref(&ack)
        );
        assert!(store.acks_since(at(30_001)).await.unwrap().is_empty());

        // Taken back: cleared, no longer current, the ladder still stopped.
        let cleared = store
            .unacknowledge(&fired.fingerprint, "dave", at(40_000))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                cleared.id,
                cleared.cleared_at,
                cleared.cleared_by.as_deref()
            ),
            (ack.id, Some(at(40_000)), Some("dave"))
        );
        assert_eq!(
            store
                .unacknowledge(&fired.fingerprint, "dave", at(41_000))
                .await
                .unwrap(),
            None
        );
        assert_eq!(store.current_ack(&fired.fingerprint).await.unwrap(), None);
        assert!(store.current_acks().await.unwrap().is_empty());
        assert_eq!(
            store.escalation(&fired.fingerprint).await.unwrap(),
            Some(stopped)
        );
        // ... and the episode may be acknowledged again.
        let AckOutcome::Acknowledged(again) = store.acknowledge(&by_link).await.unwrap() else {
            panic!("not acknowledged again");
        };
        assert_eq!((again.actor.as_str(), again.via), ("dave", AckVia::Link));
        assert_ne!(again.id, ack.id);
        assert_eq!(
            store.acks_since(Timestamp::MIN).await.unwrap(),
            [cleared, again.clone()]
        );

        // A restart finds the same.
        store.close().await;
        let store = db.open().await;
        assert_eq!(store.current_acks().await.unwrap(), [again]);
        store.close().await;
    }
}

on_both_engines! {
    async fn an_older_episodes_ack_is_not_current_once_the_alert_fires_again(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let first = alert_change("MonitorDown", "api", Transition::Fired, 20_000);
        write_alerts(&store, std::slice::from_ref(&first)).await;
        let AckOutcome::Acknowledged(old) = store
            .acknowledge(&new_ack(&first, 20_000, 30_000, "carol"))
            .await
            .unwrap()
        else {
            panic!("not acknowledged");
        };
        // Resolved, the episode's ack is still the alert's latest.
        write_alerts(
            &store,
            &[alert_change(
                "MonitorDown",
                "api",
                Transition::Resolved,
                50_000,
            )],
        )
        .await;
        assert_eq!(
            store.current_ack(&first.fingerprint).await.unwrap(),
            Some(old.clone())
        );
        assert_eq!(
            store
                .acknowledge(&new_ack(&first, 20_000, 55_000, "dave"))
                .await
                .unwrap(),
            AckOutcome::NotFiring
        );

        // Firing again is a new episode: not acknowledged.
        write_alerts(
            &store,
            &[alert_change(
                "MonitorDown",
                "api",
                Transition::Fired,
                80_000,
            )],
        )
        .await;
        assert_eq!(store.current_ack(&first.fingerprint).await.unwrap(), None);
        assert!(store.current_acks().await.unwrap().is_empty());
        assert_eq!(
            store
                .unacknowledge(&first.fingerprint, "dave", at(85_000))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .acknowledge(&new_ack(&first, 20_000, 85_000, "dave"))
                .await
                .unwrap(),
            AckOutcome::NotFiring
        );
        let AckOutcome::Acknowledged(new) = store
            .acknowledge(&new_ack(&first, 80_000, 90_000, "dave"))
            .await
            .unwrap()
        else {
            panic!("the new episode is not acknowledged");
        };
        assert_eq!(
            store.current_acks().await.unwrap(),
            std::slice::from_ref(&new)
        );
        // The old one was never cleared: it is the record of the old episode.
        let all = store.acks_since(Timestamp::MIN).await.unwrap();
        assert_eq!(all, [old, new]);
        store.close().await;
    }
}
