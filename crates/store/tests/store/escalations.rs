//! Escalation ladders and their steps, committed with the dispatcher's
//! cursor and deliveries: all of it or none; a ladder an ack stopped stays
//! stopped whatever a later commit of the same episode says, while a new
//! episode's ladder replaces it.

use watchkeeper_domain::alert::Transition;
use watchkeeper_store::{AckOutcome, DispatchCommit, NewDelivery};
use watchkeeper_testkit::on_both_engines;

use crate::alerts::alert_change;
use crate::oncall::{commit_ladders, ladder, new_ack, step, write_alerts};
use crate::{TestDatabase, at};

fn delivery(id: &str) -> NewDelivery {
    NewDelivery {
        id: id.to_owned(),
        notifier: "carol-email".to_owned(),
        group_key: "0{}".to_owned(),
        kind: "alert.firing".to_owned(),
        created_at: at(20_000),
        notification: "{}".to_owned(),
    }
}

on_both_engines! {
    async fn ladders_and_their_steps_are_committed_with_the_dispatch_step(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let api = alert_change("MonitorDown", "api", Transition::Fired, 20_000);
        let web = alert_change("MonitorDown", "web", Transition::Fired, 30_000);
        assert!(store.escalations().await.unwrap().is_empty());
        store
            .commit_dispatch(&DispatchCommit {
                cursor: 1,
                deliveries: vec![delivery("msg_20000")],
                escalations: vec![
                    ladder(&api, 20_000, 0, Some(320_000)),
                    ladder(&web, 30_000, 0, None),
                ],
                escalation_steps: vec![step(&api, 20_000, 0, 20_000)],
                ..DispatchCommit::default()
            })
            .await
            .unwrap();
        let mut both = vec![
            ladder(&api, 20_000, 0, Some(320_000)),
            ladder(&web, 30_000, 0, None),
        ];
        both.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        assert_eq!(store.escalations().await.unwrap(), both);
        assert_eq!(
            store.escalation(&web.fingerprint).await.unwrap(),
            Some(ladder(&web, 30_000, 0, None))
        );
        assert_eq!(store.escalation("0123456789abcdef").await.unwrap(), None);

        // The next level: the ladder moves, and its step is appended.
        let mut next = ladder(&api, 20_000, 1, Some(620_000));
        next.round = 2;
        commit_ladders(&store, 2, vec![next.clone()]).await;
        store
            .commit_dispatch(&DispatchCommit {
                cursor: 3,
                escalation_steps: vec![step(&api, 20_000, 1, 320_000)],
                ..DispatchCommit::default()
            })
            .await
            .unwrap();
        assert_eq!(
            store.escalation(&api.fingerprint).await.unwrap(),
            Some(next)
        );
        let steps = store.escalation_steps(&api.fingerprint, 10).await.unwrap();
        let levels: Vec<(u32, &str)> = steps.iter().map(|s| (s.level, s.note.as_str())).collect();
        assert_eq!(
            levels,
            [
                (1, "nobody is on call on schedule primary"),
                (0, "paged carol")
            ]
        );
        assert!(steps[0].id > steps[1].id);
        let first = &steps[1];
        let written = step(&api, 20_000, 0, 20_000);
        assert_eq!(
            (
                &first.fingerprint,
                first.firing_since,
                &first.policy,
                first.round,
                first.at,
                &first.target
            ),
            (
                &written.fingerprint,
                written.firing_since,
                &written.policy,
                0,
                at(20_000),
                &written.target
            )
        );
        assert_eq!(
            (
                first.person.as_deref(),
                first.notifier.as_deref(),
                first.delivery_id.as_deref()
            ),
            (Some("carol"), Some("carol-email"), Some("msg_20000"))
        );
        assert_eq!(
            (steps[0].person.as_deref(), steps[0].delivery_id.as_deref()),
            (None, None)
        );
        assert_eq!(
            store.escalation_steps(&api.fingerprint, 1).await.unwrap(),
            steps[..1]
        );
        assert!(
            store
                .escalation_steps(&web.fingerprint, 10)
                .await
                .unwrap()
                .is_empty()
        );
        store.close().await;
    }
}

on_both_engines! {
    async fn a_dispatch_step_that_fails_writes_none_of_its_ladders_or_steps(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let api = alert_change("MonitorDown", "api", Transition::Fired, 20_000);
        store
            .commit_dispatch(&DispatchCommit {
                cursor: 1,
                deliveries: vec![delivery("msg_1")],
                ..DispatchCommit::default()
            })
            .await
            .unwrap();
        // A delivery id that is taken fails the commit after its ladders
        // and steps were written in it.
        let error = store
            .commit_dispatch(&DispatchCommit {
                cursor: 2,
                escalations: vec![ladder(&api, 20_000, 0, Some(320_000))],
                escalation_steps: vec![step(&api, 20_000, 0, 20_000)],
                deliveries: vec![delivery("msg_1")],
                ..DispatchCommit::default()
            })
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot write the notification outbox"),
            "{error}"
        );
        assert_eq!(store.dispatch_cursor().await.unwrap(), 1);
        assert!(store.escalations().await.unwrap().is_empty());
        assert!(
            store
                .escalation_steps(&api.fingerprint, 10)
                .await
                .unwrap()
                .is_empty()
        );
        store.close().await;
    }
}

on_both_engines! {
    async fn a_stopped_ladder_stays_stopped_for_its_episode_and_a_new_episode_replaces_it(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let api = alert_change("MonitorDown", "api", Transition::Fired, 20_000);
        write_alerts(&store, std::slice::from_ref(&api)).await;
        commit_ladders(&store, 1, vec![ladder(&api, 20_000, 0, Some(320_000))]).await;
        let acked = store
            .acknowledge(&new_ack(&api, 20_000, 30_000, "carol"))
            .await
            .unwrap();
        assert!(matches!(acked, AckOutcome::Acknowledged(_)), "{acked:?}");

        // A step computed before the ack pages level 1 and says "climbing":
        // its level is recorded, the ladder stays stopped with nothing due.
        commit_ladders(&store, 2, vec![ladder(&api, 20_000, 1, Some(620_000))]).await;
        let after = store.escalation(&api.fingerprint).await.unwrap().unwrap();
        assert!(after.stopped, "{after:?}");
        assert_eq!(
            (after.level, after.next_due, after.firing_since),
            (1, None, at(20_000))
        );
        // Cleared, the ack does not start the ladder again either.
        store
            .unacknowledge(&api.fingerprint, "carol", at(40_000))
            .await
            .unwrap()
            .unwrap();
        commit_ladders(&store, 3, vec![ladder(&api, 20_000, 2, Some(920_000))]).await;
        let after = store.escalation(&api.fingerprint).await.unwrap().unwrap();
        assert!(after.stopped && after.next_due.is_none(), "{after:?}");
        // Stopped by a commit (resolved, say) rather than an ack: the same.
        let web = alert_change("MonitorDown", "web", Transition::Fired, 20_000);
        let mut resolved = ladder(&web, 20_000, 0, None);
        resolved.stopped = true;
        commit_ladders(&store, 4, vec![resolved]).await;
        commit_ladders(&store, 5, vec![ladder(&web, 20_000, 1, Some(620_000))]).await;
        let after = store.escalation(&web.fingerprint).await.unwrap().unwrap();
        assert!(after.stopped && after.next_due.is_none(), "{after:?}");
        assert_eq!(after.level, 1);

        // A new episode: its ladder is written whole.
        write_alerts(
            &store,
            &[
                alert_change("MonitorDown", "api", Transition::Resolved, 50_000),
                alert_change("MonitorDown", "api", Transition::Fired, 80_000),
            ],
        )
        .await;
        let fresh = ladder(&api, 80_000, 0, Some(380_000));
        commit_ladders(&store, 6, vec![fresh.clone()]).await;
        assert_eq!(
            store.escalation(&api.fingerprint).await.unwrap(),
            Some(fresh)
        );
        store.close().await;
    }
}

on_both_engines! {
    async fn a_ladder_of_an_episode_acknowledged_before_it_was_written_is_stored_stopped(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let api = alert_change("MonitorDown", "api", Transition::Fired, 20_000);
        write_alerts(&store, std::slice::from_ref(&api)).await;
        // Acknowledged before the dispatcher wrote the ladder (so the ack
        // had none to stop) ...
        let acked = store
            .acknowledge(&new_ack(&api, 20_000, 21_000, "carol"))
            .await
            .unwrap();
        assert!(matches!(acked, AckOutcome::Acknowledged(_)), "{acked:?}");
        assert_eq!(store.escalation(&api.fingerprint).await.unwrap(), None);
        // ... the ladder comes stopped, with nothing due.
        commit_ladders(&store, 1, vec![ladder(&api, 20_000, 0, Some(320_000))]).await;
        let stored = store.escalation(&api.fingerprint).await.unwrap().unwrap();
        assert!(stored.stopped && stored.next_due.is_none(), "{stored:?}");
        // Likewise over an older episode's row.
        write_alerts(
            &store,
            &[
                alert_change("MonitorDown", "api", Transition::Resolved, 50_000),
                alert_change("MonitorDown", "api", Transition::Fired, 80_000),
            ],
        )
        .await;
        store
            .acknowledge(&new_ack(&api, 80_000, 81_000, "carol"))
            .await
            .unwrap();
        commit_ladders(&store, 2, vec![ladder(&api, 80_000, 0, Some(380_000))]).await;
        let stored = store.escalation(&api.fingerprint).await.unwrap().unwrap();
        assert!(stored.stopped && stored.next_due.is_none(), "{stored:?}");
        assert_eq!(stored.firing_since, at(80_000));
        store.close().await;
    }
}
