//! Each monitor's recent results across a restart: the engine saves what it
//! holds in memory, and loading merges that save with the results that
//! started after it. And the migration that put results in time order.

use std::path::Path;

use watchkeeper_domain::Health;
use watchkeeper_testkit::{Engine, on_both_engines};

use crate::{TestDatabase, at, id, newest, result};

on_both_engines! {
    async fn without_a_save_the_newest_stored_results_are_loaded(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db"]).await;
        let api: Vec<_> = (0..5)
            .map(|n| result("api", n * 10_000, 1_000, Health::Up))
            .collect();
        let db_result = result("db", 3_000, 2_000, Health::Down);
        let mut batch = api.clone();
        batch.push(db_result.clone());
        store.write_batch(&batch, &[]).await.unwrap();

        let recent = store.load_recent(3).await.unwrap();
        assert_eq!(recent.len(), 2);
        assert_eq!(
            recent[&id("api")],
            vec![api[4].clone(), api[3].clone(), api[2].clone()]
        );
        assert_eq!(recent[&id("db")], vec![db_result]);
    }
}

on_both_engines! {
    async fn a_save_is_merged_with_the_results_that_started_after_it(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "rare"]).await;
        // Stored before the save; only what the save holds should come back
        // from before `covered_until`.
        let old: Vec<_> = (0..4)
            .map(|n| result("api", n * 10_000, 1_000, Health::Up))
            .collect();
        let rare = result("rare", 5_000, 3_000, Health::Degraded);
        let mut batch = old.clone();
        batch.push(rare.clone());
        store.write_batch(&batch, &[]).await.unwrap();
        // The save holds the two newest of "api" and "rare"'s only result, and
        // one more "api" result that started after `covered_until` and is also
        // stored: it must come back once.
        let after = result("api", 40_000, 1_000, Health::Down);
        store
            .write_batch(std::slice::from_ref(&after), &[])
            .await
            .unwrap();
        let saved = store
            .save_recent(
                [
                    vec![old[3].clone(), old[2].clone(), after.clone()],
                    Vec::new(),
                    vec![rare.clone()],
                ],
                at(35_000),
            )
            .await
            .unwrap();
        assert_eq!(saved, 4);
        let later = result("api", 50_000, 1_000, Health::Up);
        store
            .write_batch(std::slice::from_ref(&later), &[])
            .await
            .unwrap();

        let recent = store.load_recent(10).await.unwrap();
        assert_eq!(
            recent[&id("api")],
            vec![later.clone(), after.clone(), old[3].clone(), old[2].clone()],
            "the save, the results after it, no duplicates, and not the older stored results"
        );
        assert_eq!(recent[&id("rare")], vec![rare.clone()]);
        // The limit keeps the newest.
        let two = store.load_recent(2).await.unwrap();
        assert_eq!(two[&id("api")], vec![later.clone(), after.clone()]);

        // It survives a restart, and a later save replaces the earlier one.
        store.close().await;
        let store = db.open().await;
        assert_eq!(store.load_recent(10).await.unwrap(), recent);
        store
            .save_recent([vec![later.clone()]], at(50_001))
            .await
            .unwrap();
        let recent = store.load_recent(10).await.unwrap();
        assert_eq!(recent.len(), 1, "{recent:?}");
        assert_eq!(recent[&id("api")], vec![later]);
    }
}

on_both_engines! {
    async fn a_save_naming_an_unknown_monitor_fails_and_keeps_the_previous_save(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        let kept = result("api", 0, 1_000, Health::Up);
        store
            .save_recent([vec![kept.clone()]], at(1))
            .await
            .unwrap();
        let error = store
            .save_recent(
                [
                    vec![result("api", 5_000, 1_000, Health::Up)],
                    vec![result("ghost", 0, 1_000, Health::Up)],
                ],
                at(2),
            )
            .await
            .unwrap_err();
        assert!(error.to_string().contains("ghost"), "{error}");
        assert_eq!(store.load_recent(10).await.unwrap()[&id("api")], vec![kept]);
    }
}

/// A database written by a Watchkeeper before migration 0002 (results
/// clustered by monitor) keeps every result, and its newest ten per monitor
/// become the save, so the first start after upgrading shows them.
#[tokio::test]
async fn the_migration_to_time_order_keeps_every_result_and_saves_the_newest() {
    let db = TestDatabase::new(Engine::Sqlite).await;
    let first_only = tempfile::tempdir().unwrap();
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let first = std::fs::read_dir(&migrations)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("0001_")
        })
        .unwrap();
    std::fs::copy(&first, first_only.path().join(first.file_name().unwrap())).unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db.path())
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(first_only.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO monitors (key, id) VALUES (1, 'api'), (2, 'db')")
        .execute(&pool)
        .await
        .unwrap();
    // 12 results of "api" every 10 s, 1 of "db"; "api" is down at 30 s.
    for n in 0..12i64 {
        let started = at(n * 10_000).as_millisecond();
        let (health, reason) = if n == 3 { (2, Some("boom")) } else { (0, None) };
        sqlx::query(
            "INSERT INTO results (monitor, started_at, lag_ms, latency_us, health, reason) \
             VALUES (1, ?1, 2, 1000, ?2, ?3)",
        )
        .bind(started)
        .bind(health)
        .bind(reason)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO results (monitor, started_at, lag_ms, latency_us, health) \
         VALUES (2, ?1, 2, 2000, 0)",
    )
    .bind(at(3_000).as_millisecond())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = db.open().await;
    let all = newest(&store, &id("api"), 100).await;
    assert_eq!(all.len(), 12);
    assert_eq!(all[8].started_at, at(30_000));
    assert_eq!(all[8].health, Health::Down);
    assert_eq!(all[8].reason.as_deref(), Some("boom"));
    let recent = store.load_recent(100).await.unwrap();
    assert_eq!(recent[&id("api")], all[..10].to_vec(), "the newest ten");
    assert_eq!(recent[&id("db")].len(), 1);
    // New results go on being written, and a second one in the same
    // millisecond as a migrated one is still kept.
    store
        .write_batch(&[result("api", 110_000, 1_000, Health::Up)], &[])
        .await
        .unwrap();
    assert_eq!(newest(&store, &id("api"), 100).await.len(), 13);
}
