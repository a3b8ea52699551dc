//! Writing and reading raw results and state changes.

use watchkeeper_domain::Health;
use watchkeeper_domain::check::MonitorStatus;
use watchkeeper_store::StoreError;
use watchkeeper_testkit::on_both_engines;

use crate::{TestDatabase, at, change, id, last_results, newest, result, with_fallback};

on_both_engines! {
    async fn results_round_trip_with_and_without_fallback_and_reasons(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db"]).await;
        let plain = result("api", 0, 12_345, Health::Up);
        let down_with_fallback_up = with_fallback(
            result("api", 10_000, 30_000_001, Health::Down),
            Health::Up,
            4_321,
            None,
        );
        let degraded_with_fallback_down = with_fallback(
            result("api", 20_000, 900_000, Health::Degraded),
            Health::Down,
            5_000_000,
            Some("connect to 127.0.0.1:9: connection refused"),
        );
        let other = result("db", 5_000, 700, Health::Up);
        let written = vec![
            plain.clone(),
            down_with_fallback_up.clone(),
            other.clone(),
            degraded_with_fallback_down.clone(),
        ];
        store.write_batch(&written, &[]).await.unwrap();

        assert_eq!(
            newest(&store, &id("api"), 10).await,
            vec![
                degraded_with_fallback_down.clone(),
                down_with_fallback_up.clone(),
                plain.clone()
            ]
        );
        assert_eq!(
            newest(&store, &id("api"), 1).await,
            vec![degraded_with_fallback_down.clone()]
        );
        // Half-open: the result started exactly at `to` is left out.
        assert_eq!(
            store
                .results_between(&id("api"), at(0), at(20_000))
                .await
                .unwrap(),
            vec![plain.clone(), down_with_fallback_up.clone()]
        );
        assert_eq!(
            store
                .results_between(&id("api"), at(1), at(20_001))
                .await
                .unwrap(),
            vec![down_with_fallback_up, degraded_with_fallback_down.clone()]
        );

        let last = last_results(&store).await;
        assert_eq!(last.len(), 2);
        assert_eq!(last[&id("api")], degraded_with_fallback_down);
        assert_eq!(last[&id("db")], other);
    }
}

on_both_engines! {
    async fn two_results_in_the_same_millisecond_are_both_kept(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        let first = result("api", 1_000, 100, Health::Up);
        let second = result("api", 1_000, 200, Health::Down);
        store
            .write_batch(std::slice::from_ref(&first), &[])
            .await
            .unwrap();
        // The same millisecond again, once in a later batch and once twice in one.
        store
            .write_batch(&[second.clone(), second.clone()], &[])
            .await
            .unwrap();

        let stored = newest(&store, &id("api"), 10).await;
        assert_eq!(stored.len(), 3);
        let started: Vec<_> = stored.iter().map(|r| r.started_at).collect();
        assert_eq!(started, vec![at(1_002), at(1_001), at(1_000)]);
        // Only started_at moves; due_at and everything else are as written.
        assert_eq!(stored[2], first);
        for nudged in &stored[..2] {
            assert_eq!(nudged.due_at, second.due_at);
            assert_eq!(nudged.latency, second.latency);
            assert_eq!(nudged.reason, second.reason);
        }
    }
}

on_both_engines! {
    /// A batch is written in one statement; when one of its rows collides with a
    /// stored result, the whole batch is still written, each row exactly once.
    async fn a_collision_in_a_batch_still_writes_every_row_exactly_once(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db"]).await;
        store
            .write_batch(
                &[
                    result("api", 1_000, 100, Health::Up),
                    result("db", 1_000, 100, Health::Up),
                ],
                &[],
            )
            .await
            .unwrap();
        store
            .write_batch(
                &[
                    result("db", 2_000, 100, Health::Up),
                    result("api", 1_000, 200, Health::Down),
                    result("api", 3_000, 300, Health::Up),
                ],
                &[
                    change("api", Some(Health::Up), Health::Down, 1_000),
                    change("api", Some(Health::Down), Health::Up, 3_000),
                ],
            )
            .await
            .unwrap();

        let started = |id_: &str| {
            let store = store.clone();
            let id_ = id(id_);
            async move {
                let stored = newest(&store, &id_, 10).await;
                stored.iter().map(|r| r.started_at).collect::<Vec<_>>()
            }
        };
        assert_eq!(started("api").await, vec![at(3_000), at(1_001), at(1_000)]);
        assert_eq!(started("db").await, vec![at(2_000), at(1_000)]);
        let changes = store.state_changes(&id("api"), 10).await.unwrap();
        let order: Vec<_> = changes.iter().map(|c| c.to).collect();
        assert_eq!(order, vec![Health::Up, Health::Down], "newest first");
    }
}

on_both_engines! {
    async fn a_result_for_an_unregistered_monitor_fails_the_whole_batch(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        let batch = [
            result("api", 0, 100, Health::Up),
            result("ghost", 0, 100, Health::Up),
        ];
        let error = store
            .write_batch(&batch, &[change("api", None, Health::Up, 0)])
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StoreError::UnregisteredMonitor { monitor } if monitor.as_str() == "ghost"),
            "{error}"
        );
        assert!(newest(&store, &id("api"), 10).await.is_empty());
        assert!(
            store
                .state_changes(&id("api"), 10)
                .await
                .unwrap()
                .is_empty()
        );

        let error = store
            .write_batch(&[], &[change("ghost", None, Health::Up, 0)])
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::UnregisteredMonitor { .. }),
            "{error}"
        );
    }
}

on_both_engines! {
    async fn registration_is_idempotent_and_survives_a_restart(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db"]).await;
        store
            .register_monitors(&[id("db"), id("web"), id("api")])
            .await
            .unwrap();
        store
            .write_batch(&[result("web", 0, 100, Health::Up)], &[])
            .await
            .unwrap();
        store.close().await;

        // After a restart, known monitors need no new registration.
        let store = db.open().await;
        store
            .write_batch(
                &[
                    result("api", 0, 100, Health::Up),
                    result("web", 10_000, 100, Health::Up),
                ],
                &[],
            )
            .await
            .unwrap();
        store
            .register_monitors(&[id("api"), id("web")])
            .await
            .unwrap();
        assert_eq!(newest(&store, &id("web"), 10).await.len(), 2);
        assert_eq!(newest(&store, &id("api"), 10).await.len(), 1);
        assert_eq!(last_results(&store).await.len(), 2);
    }
}

on_both_engines! {
    async fn state_changes_are_returned_newest_first(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db"]).await;
        let changes = [
            change("api", None, Health::Up, 0),
            change("api", Some(Health::Up), Health::Down, 20_000),
            change("db", None, Health::Down, 25_000),
            change("api", Some(Health::Down), Health::Degraded, 40_000),
            change("api", Some(Health::Degraded), Health::Up, 50_000),
        ];
        store.write_batch(&[], &changes).await.unwrap();

        let api = store.state_changes(&id("api"), 10).await.unwrap();
        assert_eq!(
            api,
            vec![
                changes[4].clone(),
                changes[3].clone(),
                changes[1].clone(),
                changes[0].clone()
            ]
        );
        assert_eq!(
            store.state_changes(&id("api"), 2).await.unwrap(),
            api[..2].to_vec()
        );
        assert_eq!(
            store.state_changes(&id("db"), 10).await.unwrap(),
            vec![changes[2].clone()]
        );
    }
}

on_both_engines! {
    async fn current_states_after_a_restart_equal_what_was_written(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db", "quiet"]).await;
        store
            .write_batch(
                &[result("api", 0, 100, Health::Up)],
                &[
                    change("api", None, Health::Up, 0),
                    change("db", None, Health::Up, 0),
                ],
            )
            .await
            .unwrap();
        store
            .write_batch(
                &[result("db", 30_000, 100, Health::Down)],
                &[
                    change("db", Some(Health::Up), Health::Down, 30_000),
                    change("api", Some(Health::Up), Health::Degraded, 31_000),
                ],
            )
            .await
            .unwrap();
        let before = store.current_states().await.unwrap();
        store.close().await;

        let store = db.open().await;
        let after = store.current_states().await.unwrap();
        assert_eq!(after, before);
        assert_eq!(after.len(), 2, "a monitor without changes has no state");
        assert_eq!(
            after[&id("db")],
            MonitorStatus {
                health: Health::Down,
                since: at(30_000),
                reason: Some("went down".to_owned()),
            }
        );
        assert_eq!(
            after[&id("api")],
            MonitorStatus {
                health: Health::Degraded,
                since: at(31_000),
                reason: Some("went degraded".to_owned()),
            }
        );
    }
}

on_both_engines! {
    async fn a_batch_of_ten_thousand_results_is_written_in_one_call(engine) {
        let db = TestDatabase::new(engine).await;
        let names: Vec<String> = (0..100).map(|n| format!("monitor-{n}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let store = db.open_with(&refs).await;
        let batch: Vec<_> = (0..10_000i64)
            .map(|n| {
                let monitor = &names[usize::try_from(n % 100).unwrap()];
                result(monitor, (n / 100) * 10_000, 1_000, Health::Up)
            })
            .collect();
        store.write_batch(&batch, &[]).await.unwrap();

        let last = last_results(&store).await;
        assert_eq!(last.len(), 100);
        assert!(last.values().all(|r| r.started_at == at(990_000)));
        assert_eq!(
            store
                .results_between(&id("monitor-42"), at(0), at(1_000_000))
                .await
                .unwrap()
                .len(),
            100
        );
    }
}

on_both_engines! {
    /// Two instances share one database: a monitor another process registered
    /// after this store opened is found when its rows are read, not skipped.
    async fn a_monitor_registered_by_another_process_is_found(engine) {
        let db = TestDatabase::new(engine).await;
        let this = db.open_with(&["api"]).await;
        let other = db.open().await;
        other
            .register_monitors(&[id("api"), id("worker")])
            .await
            .unwrap();
        let worker = result("worker", 1_000, 100, Health::Down);
        other
            .write_batch(
                std::slice::from_ref(&worker),
                &[change("worker", None, Health::Down, 1_000)],
            )
            .await
            .unwrap();

        assert_eq!(newest(&this, &id("worker"), 10).await, vec![worker.clone()]);
        assert_eq!(
            this.state_changes(&id("worker"), 10).await.unwrap().len(),
            1
        );
        assert_eq!(
            this.current_states().await.unwrap()[&id("worker")].health,
            Health::Down
        );
        assert_eq!(last_results(&this).await[&id("worker")], worker);
        assert_eq!(
            this.availability_all(at(0))
                .await
                .unwrap()
                .get(&id("worker")),
            Some(&0.0)
        );
    }
}

on_both_engines! {
async fn a_batch_returns_the_id_of_its_last_state_change(engine) {
    let db = TestDatabase::new(engine).await;
    let store = db.open_with(&["api", "db"]).await;
    let first = store
        .write_batch(
            &[result("api", 0, 100, Health::Up)],
            &[
                change("api", None, Health::Up, 0),
                change("db", None, Health::Down, 0),
            ],
        )
        .await
        .unwrap();
    let first = first.expect("a batch with state changes names the last one");
    // Results alone commit no state change.
    let none = store
        .write_batch(&[result("api", 10_000, 100, Health::Up)], &[])
        .await
        .unwrap();
    assert_eq!(none, None);
    let second = store
        .write_batch(
            &[],
            &[change("api", Some(Health::Up), Health::Down, 20_000)],
        )
        .await
        .unwrap();
    // Ids grow with every change, so a waiter can tell how far it has read.
    assert_eq!(second, Some(first + 1));
}
}

on_both_engines! {
    async fn results_and_state_changes_come_in_pages_newest_first_within_a_time_range(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db"]).await;
        let results: Vec<_> = (0..5)
            .map(|n| result("api", n * 10_000, 1_000, Health::Up))
            .chain([result("db", 15_000, 1_000, Health::Up)])
            .collect();
        let changes = [
            change("api", None, Health::Up, 0),
            change("api", Some(Health::Up), Health::Down, 20_000),
            change("api", Some(Health::Down), Health::Up, 30_000),
        ];
        store.write_batch(&results, &changes).await.unwrap();

        let page = |from, before, limit| {
            let store = store.clone();
            async move {
                store
                    .results_page(&id("api"), at(from), at(before), limit)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.started_at)
                    .collect::<Vec<_>>()
            }
        };
        // Newest first, two at a time, each page before the last one's time.
        assert_eq!(page(0, 1_000_000, 2).await, [at(40_000), at(30_000)]);
        assert_eq!(page(0, 30_000, 2).await, [at(20_000), at(10_000)]);
        assert_eq!(page(0, 10_000, 2).await, [at(0)]);
        // `from` is inclusive, `before` exclusive; other monitors never show.
        assert_eq!(page(10_000, 30_000, 10).await, [at(20_000), at(10_000)]);
        assert!(
            store
                .results_page(&id("nobody"), at(0), at(50_000), 10)
                .await
                .unwrap()
                .is_empty()
        );

        let in_range = store
            .state_changes_in(&id("api"), at(0), at(30_000), 10)
            .await
            .unwrap();
        assert_eq!(
            in_range.iter().map(|c| c.at).collect::<Vec<_>>(),
            [at(20_000), at(0)]
        );
        let first = store
            .state_changes_in(&id("api"), at(0), at(50_000), 1)
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].to, Health::Up);
        assert_eq!(first[0].at, at(30_000));
        // The unbounded read is the same as before.
        assert_eq!(store.state_changes(&id("api"), 10).await.unwrap().len(), 3);
    }
}
