//! `Store::copy_to`: a SQLite database with results, state changes,
//! rollups, a recent-results save, tokens and audit entries, the outbox,
//! silences, on-call (overrides, acks, ladders and their steps, used
//! links, the link key) and incidents (their components, alerts, timelines
//! and the opener's cursor), copied into an empty PostgreSQL database,
//! reads back the same; a target with data is refused.

use jiff::Timestamp;
use watchkeeper_domain::Health;
use watchkeeper_domain::access::{NewToken, Role, TokenName};
use watchkeeper_domain::alert::Transition;
use watchkeeper_domain::alert::matcher::Matcher;
use watchkeeper_domain::alert::silence::Silence;
use watchkeeper_store::{
    AttemptRecord, DeliveryStatus, DisabledNotifier, DispatchCommit, GroupRecord, NewDelivery,
};
use watchkeeper_store::{Batch, CopyProgress, NewAuditEntry, Store, StoreError};
use watchkeeper_testkit::Engine;

use crate::alerts::alert_change;
use crate::{TestDatabase, at, change, id, result};

const MINUTE: i64 = 60_000;

/// Three monitors, five minutes of results every 10 s, state changes, the
/// first four minutes rolled up, and a save of recent results.
async fn sqlite_with_history() -> (TestDatabase, Store) {
    let db = TestDatabase::new(Engine::Sqlite).await;
    let store = db.open_with(&["api", "db", "web"]).await;
    let mut results = Vec::new();
    for n in 0..30 {
        let ms = n * 10_000;
        let health = if (10..14).contains(&n) {
            Health::Down
        } else {
            Health::Up
        };
        results.push(result("api", ms, 1_000 + u64::try_from(n).unwrap(), health));
        results.push(result("db", ms + 1, 2_000, Health::Up));
    }
    let changes = [
        change("api", None, Health::Up, 0),
        change("db", None, Health::Up, 1),
        change("api", Some(Health::Up), Health::Down, 100_000),
        change("api", Some(Health::Down), Health::Up, 140_000),
    ];
    let alerts = [
        alert_change("MonitorDown", "api", Transition::Fired, 120_000),
        alert_change("MonitorDown", "api", Transition::Resolved, 150_000),
        alert_change("DbSlow", "db", Transition::Pending, 150_000),
    ];
    store
        .write(Batch {
            results: &results,
            changes: &changes,
            alerts: &alerts,
        })
        .await
        .unwrap();
    while store.roll_up(at(4 * MINUTE)).await.unwrap() > 0 {}
    let recent: Vec<_> = results.iter().rev().take(4).cloned().collect();
    store.save_recent([recent], at(300_000)).await.unwrap();
    let admin = TokenName::parse("alice").unwrap();
    let bot = TokenName::parse("ci-bot").unwrap();
    store
        .create_token(
            &admin,
            Role::Admin,
            &NewToken::from_random([1; 32]).hash(),
            at(0),
        )
        .await
        .unwrap();
    store
        .create_token(
            &bot,
            Role::Viewer,
            &NewToken::from_random([2; 32]).hash(),
            at(0),
        )
        .await
        .unwrap();
    store.touch_token(&admin, at(60_000)).await.unwrap();
    store.revoke_token(&bot, at(90_000)).await.unwrap();
    for n in 0..3 {
        let detail = serde_json::json!({ "n": n });
        store
            .record_audit(&NewAuditEntry {
                at: at(n * 1_000),
                actor: "alice",
                role: Some(Role::Admin),
                action: "config.reload",
                target: "-",
                detail: &detail,
                remote: Some("127.0.0.1:4000"),
            })
            .await
            .unwrap();
    }
    // The outbox: a group, nine deliveries (two batches of seven), three
    // attempts, a disabled notifier; and two silences.
    store
        .commit_dispatch(&DispatchCommit {
            cursor: 2,
            groups: vec![GroupRecord {
                key: "0{}".to_owned(),
                next_flush: at(300_000),
                last_sent: Some(at(0)),
                sent_firing: vec!["aaaa".to_owned()],
                members: vec!["aaaa".to_owned()],
            }],
            finished_groups: Vec::new(),
            deliveries: (0..9)
                .map(|n| NewDelivery {
                    id: format!("msg_{n}"),
                    notifier: "hook".to_owned(),
                    group_key: "0{}".to_owned(),
                    kind: "alert.firing".to_owned(),
                    created_at: at(n * 1_000),
                    notification: format!(r#"{{"n":{n}}}"#),
                })
                .collect(),
            ..DispatchCommit::default()
        })
        .await
        .unwrap();
    let first = store.due_deliveries("hook", at(0), 1).await.unwrap()[0].seq;
    for (number, status) in [(1, DeliveryStatus::Pending), (2, DeliveryStatus::Delivered)] {
        store
            .record_attempt(&AttemptRecord {
                delivery_seq: first,
                number,
                at: at(i64::from(number) * 10_000),
                duration: std::time::Duration::from_millis(5),
                outcome: format!("HTTP {}", if number == 1 { 500 } else { 204 }),
                decision: "…".to_owned(),
                status,
                next_attempt_at: (status == DeliveryStatus::Pending).then(|| at(15_000)),
            })
            .await
            .unwrap();
    }
    store
        .disable_notifier(&DisabledNotifier {
            notifier: "gone".to_owned(),
            digest: "d1".to_owned(),
            at: at(5_000),
            reason: "410".to_owned(),
        })
        .await
        .unwrap();
    for (n, end) in [(1, 60_000), (2, 9_000_000)] {
        store
            .add_silence(
                &Silence {
                    id: format!("sil_{n}"),
                    matchers: vec![Matcher::parse("monitor=api").unwrap()],
                    starts_at: at(0),
                    ends_at: at(end),
                    created_by: "alice".to_owned(),
                    comment: "copy".to_owned(),
                },
                at(0),
            )
            .await
            .unwrap();
    }
    crate::oncall::write_history(&store).await;
    crate::incidents::write_history(&store).await;
    for (n, confirmed) in [(1, true), (2, false)] {
        store
            .add_subscriber(&watchkeeper_store::NewSubscriber {
                kind: "email".to_owned(),
                address: format!("s{n}@example.com"),
                at: at(n),
                confirmed,
            })
            .await
            .unwrap();
    }
    (db, store)
}

#[tokio::test]
async fn a_sqlite_database_copied_into_postgres_reads_back_the_same() {
    let (_sqlite, from) = sqlite_with_history().await;
    let target = TestDatabase::new(Engine::Postgres).await;
    let to = target.open().await;
    let mut seen: Vec<CopyProgress> = Vec::new();
    // Batches of 7: several per table.
    let report = from
        .copy_to(&to, 7, &mut |progress| seen.push(progress))
        .await
        .unwrap();
    assert_eq!(
        (
            report.monitors,
            report.results,
            report.state_changes,
            report.rollups,
            report.recent_results,
            report.alerts,
            report.alert_events,
            report.meta,
            report.tokens,
            report.audit
        ),
        (3, 60, 4, 8, 4, 3, 4, 5, 2, 3)
    );
    assert_eq!(
        (
            report.notification_groups,
            report.deliveries,
            report.delivery_attempts,
            report.disabled_notifiers,
            report.silences
        ),
        (1, 9, 2, 1, 2)
    );
    assert_eq!(
        (
            report.schedule_overrides,
            report.alert_acks,
            report.escalations,
            report.escalation_steps,
            report.used_links
        ),
        (3, 2, 1, 2, 8)
    );
    assert_eq!(
        (
            report.incidents,
            report.incident_components,
            report.incident_alerts,
            report.incident_entries
        ),
        (3, 4, 3, 9)
    );
    assert_eq!(report.subscribers, 2);
    assert_eq!(
        to.subscribers().await.unwrap(),
        from.subscribers().await.unwrap()
    );
    let (third, new) = to
        .add_subscriber(&watchkeeper_store::NewSubscriber {
            kind: "webhook".to_owned(),
            address: "http://127.0.0.1:9/".to_owned(),
            at: at(3),
            confirmed: true,
        })
        .await
        .unwrap();
    assert!(new);
    assert_eq!(third.id, 3, "ids go on after the copied ones");
    let entries_progress: Vec<u64> = seen
        .iter()
        .filter(|progress| progress.table == "incident_entries")
        .map(|progress| progress.copied)
        .collect();
    assert_eq!(entries_progress, vec![7, 9]);
    let used_links_progress: Vec<u64> = seen
        .iter()
        .filter(|progress| progress.table == "used_links")
        .map(|progress| progress.copied)
        .collect();
    assert_eq!(used_links_progress, vec![7, 8]);
    // Progress after every batch, counting up to the table's total.
    let results_progress: Vec<u64> = seen
        .iter()
        .filter(|progress| progress.table == "results")
        .map(|progress| progress.copied)
        .collect();
    assert_eq!(results_progress, vec![7, 14, 21, 28, 35, 42, 49, 56, 60]);

    for monitor in ["api", "db", "web"] {
        let monitor = id(monitor);
        assert_eq!(
            to.results_between(&monitor, Timestamp::MIN, Timestamp::MAX)
                .await
                .unwrap(),
            from.results_between(&monitor, Timestamp::MIN, Timestamp::MAX)
                .await
                .unwrap(),
            "results of {monitor}"
        );
        assert_eq!(
            to.state_changes(&monitor, 100).await.unwrap(),
            from.state_changes(&monitor, 100).await.unwrap(),
            "state changes of {monitor}"
        );
        assert_eq!(
            to.rollups(&monitor, Timestamp::MIN, Timestamp::MAX)
                .await
                .unwrap(),
            from.rollups(&monitor, Timestamp::MIN, Timestamp::MAX)
                .await
                .unwrap(),
            "rollups of {monitor}"
        );
        assert_eq!(
            to.availability(&monitor, at(0)).await.unwrap(),
            from.availability(&monitor, at(0)).await.unwrap(),
            "availability of {monitor}"
        );
    }
    assert_eq!(
        to.current_states().await.unwrap(),
        from.current_states().await.unwrap()
    );
    assert_eq!(
        to.load_recent(10).await.unwrap(),
        from.load_recent(10).await.unwrap()
    );
    assert_eq!(to.alerts().await.unwrap(), from.alerts().await.unwrap());
    assert_eq!(
        to.alert_events_after(0, 100).await.unwrap(),
        from.alert_events_after(0, 100).await.unwrap()
    );
    assert_eq!(to.tokens().await.unwrap(), from.tokens().await.unwrap());
    let alice = NewToken::from_random([1; 32]).hash();
    assert_eq!(
        to.token_by_hash(&alice).await.unwrap(),
        from.token_by_hash(&alice).await.unwrap()
    );
    assert_eq!(
        to.audit(None, 100).await.unwrap(),
        from.audit(None, 100).await.unwrap()
    );
    assert_eq!(to.dispatch_cursor().await.unwrap(), 2);
    assert_eq!(
        to.notification_groups().await.unwrap(),
        from.notification_groups().await.unwrap()
    );
    assert_eq!(
        to.deliveries(None, 100).await.unwrap(),
        from.deliveries(None, 100).await.unwrap()
    );
    assert_eq!(
        to.delivery("msg_0").await.unwrap(),
        from.delivery("msg_0").await.unwrap()
    );
    assert_eq!(
        to.disabled_notifiers().await.unwrap(),
        from.disabled_notifiers().await.unwrap()
    );
    assert_eq!(
        to.silences(Timestamp::MIN).await.unwrap(),
        from.silences(Timestamp::MIN).await.unwrap()
    );
    // A new delivery on the target gets a seq past the copied ones.
    to.commit_dispatch(&DispatchCommit {
        cursor: 3,
        deliveries: vec![NewDelivery {
            id: "msg_new".to_owned(),
            notifier: "hook".to_owned(),
            group_key: "0{}".to_owned(),
            kind: "alert.resolved".to_owned(),
            created_at: at(400_000),
            notification: "{}".to_owned(),
        }],
        ..DispatchCommit::default()
    })
    .await
    .unwrap();
    let newest = to.deliveries(None, 1).await.unwrap();
    let copied_max = from.deliveries(None, 1).await.unwrap()[0].seq;
    assert!(
        newest[0].id == "msg_new" && newest[0].seq > copied_max,
        "{newest:?}"
    );
    crate::oncall::assert_copied(&from, &to).await;
    crate::incidents::assert_copied(&from, &to).await;
    // The watermark came along: nothing is rolled up twice.
    assert_eq!(to.roll_up(at(4 * MINUTE)).await.unwrap(), 0);

    // The target goes on: new monitors and state changes get fresh keys
    // and ids past the copied ones.
    to.register_monitors(&[id("new")]).await.unwrap();
    to.write_batch(
        &[result("new", 400_000, 1_000, Health::Up)],
        &[change("new", None, Health::Up, 400_000)],
    )
    .await
    .unwrap();
    assert_eq!(to.state_changes(&id("new"), 10).await.unwrap().len(), 1);
    assert_eq!(to.state_changes(&id("api"), 10).await.unwrap().len(), 3);
    let next = to
        .write(Batch {
            alerts: &[alert_change(
                "MonitorDown",
                "new",
                Transition::Fired,
                400_000,
            )],
            ..Batch::default()
        })
        .await
        .unwrap();
    let copied_last = from
        .alert_events_after(0, 100)
        .await
        .unwrap()
        .last()
        .unwrap()
        .id;
    assert!(
        next.alert_event > Some(copied_last),
        "alert event ids go on past the copied ones"
    );
    // And audit ids go on past the copied ones.
    let copied_audit = from.audit(None, 1).await.unwrap()[0].id;
    let detail = serde_json::json!({});
    let next_audit = to
        .record_audit(&NewAuditEntry {
            at: at(400_000),
            actor: "alice",
            role: Some(Role::Admin),
            action: "config.reload",
            target: "-",
            detail: &detail,
            remote: None,
        })
        .await
        .unwrap();
    assert!(
        next_audit > copied_audit,
        "{next_audit} after {copied_audit}"
    );
    from.close().await;
    to.close().await;
}

#[tokio::test]
async fn a_target_that_holds_data_is_refused_and_left_as_it_was() {
    let (_sqlite, from) = sqlite_with_history().await;
    let target = TestDatabase::new(Engine::Postgres).await;
    let to = target.open_with(&["other"]).await;
    let error = from.copy_to(&to, 100, &mut |_| {}).await.unwrap_err();
    assert!(
        matches!(error, StoreError::CopyTargetNotEmpty { table: "monitors" }),
        "{error}"
    );
    assert!(error.to_string().contains("not empty"), "{error}");
    assert!(to.current_states().await.unwrap().is_empty());
    assert!(
        to.results_between(&id("api"), Timestamp::MIN, Timestamp::MAX)
            .await
            .unwrap()
            .is_empty()
    );

    // And a copy goes from SQLite to PostgreSQL only.
    let error = to.copy_to(&from, 100, &mut |_| {}).await.unwrap_err();
    assert!(matches!(error, StoreError::CopyEngines { .. }), "{error}");
}
