//! The notification outbox: a dispatch step's cursor, groups and deliveries
//! commit together; attempts move a delivery from pending to delivered or
//! failed; a disabled notifier's pending deliveries are dropped.

use std::time::Duration;

use watchkeeper_store::{
    AttemptRecord, DeliveryStatus, DisabledNotifier, DispatchCommit, GroupRecord, NewDelivery,
};
use watchkeeper_testkit::on_both_engines;

use crate::{TestDatabase, at};

fn delivery(id: &str, notifier: &str, ms: i64) -> NewDelivery {
    NewDelivery {
        id: id.to_owned(),
        notifier: notifier.to_owned(),
        group_key: "0{}".to_owned(),
        kind: "alert.firing".to_owned(),
        created_at: at(ms),
        notification: format!(r#"{{"id":"{id}"}}"#),
    }
}

fn group(key: &str, next_ms: i64, firing: &[&str]) -> GroupRecord {
    GroupRecord {
        key: key.to_owned(),
        next_flush: at(next_ms),
        last_sent: Some(at(next_ms - 300_000)),
        sent_firing: firing.iter().map(|f| (*f).to_owned()).collect(),
        members: vec!["aaaa".to_owned(), "bbbb".to_owned()],
    }
}

on_both_engines! {
    async fn a_dispatch_step_commits_its_cursor_groups_and_deliveries_together(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        assert_eq!(store.dispatch_cursor().await.unwrap(), 0);
        assert!(store.notification_groups().await.unwrap().is_empty());

        store
            .commit_dispatch(&DispatchCommit {
                cursor: 7,
                groups: vec![group("0{}", 330_000, &["aaaa"]), group("1{}", 30_000, &[])],
                finished_groups: Vec::new(),
                deliveries: vec![delivery("msg_1", "hook", 1_000), delivery("msg_2", "chat", 1_000)],
                ..DispatchCommit::default()
            })
            .await
            .unwrap();
        assert_eq!(store.dispatch_cursor().await.unwrap(), 7);
        let groups = store.notification_groups().await.unwrap();
        assert_eq!(groups, [group("0{}", 330_000, &["aaaa"]), group("1{}", 30_000, &[])]);

        // a later step changes one group, finishes the other
        store
            .commit_dispatch(&DispatchCommit {
                cursor: 9,
                groups: vec![group("0{}", 630_000, &[])],
                finished_groups: vec!["1{}".to_owned()],
                deliveries: vec![delivery("msg_3", "hook", 2_000)],
                ..DispatchCommit::default()
            })
            .await
            .unwrap();
        assert_eq!(store.dispatch_cursor().await.unwrap(), 9);
        assert_eq!(store.notification_groups().await.unwrap(), [group("0{}", 630_000, &[])]);

        // each notifier's due deliveries, in the order written
        let due = store.due_deliveries("hook", at(5_000), 10).await.unwrap();
        let ids: Vec<&str> = due.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["msg_1", "msg_3"]);
        assert!(due.iter().all(|d| d.status == DeliveryStatus::Pending && d.attempts == 0));
        assert_eq!(due[0].notification, r#"{"id":"msg_1"}"#);
        assert!(store.due_deliveries("hook", at(1_500), 10).await.unwrap().len() == 1);
        assert_eq!(store.next_delivery_due("hook").await.unwrap(), Some(at(1_000)));
        assert_eq!(store.next_delivery_due("nobody").await.unwrap(), None);
        assert_eq!(
            store.pending_deliveries().await.unwrap(),
            [("chat".to_owned(), 1), ("hook".to_owned(), 2)]
        );
    }
}

on_both_engines! {
    async fn a_delivery_is_pending_until_an_attempt_delivers_or_ends_it(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        store
            .commit_dispatch(&DispatchCommit {
                cursor: 1,
                deliveries: vec![delivery("msg_1", "hook", 1_000), delivery("msg_2", "hook", 1_000)],
                ..DispatchCommit::default()
            })
            .await
            .unwrap();
        let first = store.due_deliveries("hook", at(1_000), 10).await.unwrap();
        let (one, two) = (first[0].seq, first[1].seq);

        // a 500: retried later, so not due now
        store
            .record_attempt(&AttemptRecord {
                delivery_seq: one,
                number: 1,
                at: at(1_100),
                duration: Duration::from_millis(12),
                outcome: "HTTP 500".to_owned(),
                decision: "retry".to_owned(),
                status: DeliveryStatus::Pending,
                next_attempt_at: Some(at(6_100)),
            })
            .await
            .unwrap();
        let due: Vec<String> = store
            .due_deliveries("hook", at(2_000), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(due, ["msg_2"]);
        assert_eq!(store.next_delivery_due("hook").await.unwrap(), Some(at(1_000)));
        store
            .record_attempt(&AttemptRecord {
                delivery_seq: one,
                number: 2,
                at: at(6_200),
                duration: Duration::from_millis(8),
                outcome: "HTTP 204".to_owned(),
                decision: "delivered".to_owned(),
                status: DeliveryStatus::Delivered,
                next_attempt_at: None,
            })
            .await
            .unwrap();
        let (delivered, attempts) = store.delivery("msg_1").await.unwrap().unwrap();
        assert_eq!(delivered.status, DeliveryStatus::Delivered);
        assert_eq!(delivered.attempts, 2);
        assert_eq!(delivered.finished_at, Some(at(6_200)));
        assert_eq!(delivered.last_outcome.as_deref(), Some("HTTP 204"));
        assert_eq!(delivered.next_attempt_at, None);
        let outcomes: Vec<(u32, &str)> =
            attempts.iter().map(|a| (a.number, a.outcome.as_str())).collect();
        assert_eq!(outcomes, [(1, "HTTP 500"), (2, "HTTP 204")]);
        assert_eq!(attempts[0].duration, Duration::from_millis(12));
        assert_eq!(store.delivery("msg_9").await.unwrap(), None);

        // a 410: the notifier is disabled, what it still had is dropped
        let dropped = store
            .disable_notifier(&DisabledNotifier {
                notifier: "hook".to_owned(),
                digest: "d1".to_owned(),
                at: at(7_000),
                reason: "the receiver answered 410 Gone".to_owned(),
            })
            .await
            .unwrap();
        assert_eq!(dropped, 1);
        let (msg_two, _) = store.delivery("msg_2").await.unwrap().unwrap();
        assert_eq!(msg_two.seq, two);
        assert_eq!(msg_two.status, DeliveryStatus::Dropped);
        assert!(store.due_deliveries("hook", at(9_000), 10).await.unwrap().is_empty());
        let disabled = store.disabled_notifiers().await.unwrap();
        assert_eq!(disabled.len(), 1);
        assert_eq!(disabled[0].digest, "d1");
        store.enable_notifier("hook").await.unwrap();
        assert!(store.disabled_notifiers().await.unwrap().is_empty());

        // newest first, and by notifier
        let all: Vec<String> = store.deliveries(None, 10).await.unwrap().into_iter().map(|d| d.id).collect();
        assert_eq!(all, ["msg_2", "msg_1"]);
        assert!(store.deliveries(Some("chat"), 10).await.unwrap().is_empty());
    }
}

on_both_engines! {
    async fn pruning_deletes_finished_deliveries_past_the_rollup_retention_never_pending_ones(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        store
            .commit_dispatch(&DispatchCommit {
                cursor: 1,
                deliveries: vec![
                    delivery("msg_old", "hook", 1_000),
                    delivery("msg_new", "hook", 1_000),
                    delivery("msg_waiting", "hook", 1_000),
                ],
                ..DispatchCommit::default()
            })
            .await
            .unwrap();
        let due = store.due_deliveries("hook", at(1_000), 10).await.unwrap();
        for (delivery, finished_ms) in [(&due[0], 2_000), (&due[1], 90_000)] {
            store
                .record_attempt(&AttemptRecord {
                    delivery_seq: delivery.seq,
                    number: 1,
                    at: at(finished_ms),
                    duration: Duration::from_millis(3),
                    outcome: "HTTP 204".to_owned(),
                    decision: "delivered".to_owned(),
                    status: DeliveryStatus::Delivered,
                    next_attempt_at: None,
                })
                .await
                .unwrap();
        }
        // rollups kept from 60 s on: the delivery finished at 2 s goes
        let report = store.prune(at(0), at(60_000)).await.unwrap();
        assert_eq!(report.deliveries, 1);
        assert_eq!(store.delivery("msg_old").await.unwrap(), None);
        let (kept, attempts) = store.delivery("msg_new").await.unwrap().unwrap();
        assert_eq!((kept.status, attempts.len()), (DeliveryStatus::Delivered, 1));
        // a pending delivery is never pruned, however old
        let report = store.prune(at(0), at(10_000_000)).await.unwrap();
        assert_eq!(report.deliveries, 1);
        let (waiting, _) = store.delivery("msg_waiting").await.unwrap().unwrap();
        assert_eq!(waiting.status, DeliveryStatus::Pending);
    }
}
