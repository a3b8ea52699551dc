//! Opening, pruning and measuring the database.

use watchkeeper_domain::storage::StorageConfig;
use watchkeeper_domain::{Health, MonitorId};
use watchkeeper_store::Store;
use watchkeeper_testkit::{Engine, on_both_engines};

use crate::{TestDatabase, at, change, id, last_results, result};

const MINUTE: i64 = 60_000;

#[tokio::test]
async fn opening_a_file_that_is_not_a_database_fails_and_leaves_it_untouched() {
    let db = TestDatabase::new(Engine::Sqlite).await;
    let content = "# not a database, just notes\n".repeat(300).into_bytes();
    std::fs::write(db.path(), &content).unwrap();

    let error = Store::open(&StorageConfig::sqlite(db.path()))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&db.path().display().to_string()),
        "the error should name the file: {message}"
    );
    assert!(message.starts_with("cannot open database"), "{message}");
    assert_eq!(std::fs::read(db.path()).unwrap(), content);
}

/// A closed database file holding one monitor and one result.
async fn database_with_one_result() -> TestDatabase {
    let db = TestDatabase::new(Engine::Sqlite).await;
    let store = db.open_with(&["api"]).await;
    store
        .write_batch(&[result("api", 0, 1_000, Health::Up)], &[])
        .await
        .unwrap();
    store.close().await;
    db
}

#[tokio::test]
async fn a_new_database_has_small_pages_so_a_batch_writes_less() {
    let db = database_with_one_result().await;
    // The page size is the big-endian u16 at offset 16 of the file header.
    let header = std::fs::read(db.path()).unwrap();
    assert_eq!(u16::from_be_bytes([header[16], header[17]]), 1024);
}

#[tokio::test]
async fn opening_a_damaged_database_fails_and_leaves_it_untouched() {
    let db = database_with_one_result().await;
    // Keep the 100-byte header, scribble over the schema that follows it.
    let mut content = std::fs::read(db.path()).unwrap();
    assert!(content.len() > 4096);
    content[100..4096].fill(0xA5);
    std::fs::write(db.path(), &content).unwrap();

    let error = Store::open(&StorageConfig::sqlite(db.path()))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&db.path().display().to_string()),
        "the error should name the file: {message}"
    );
    assert_eq!(std::fs::read(db.path()).unwrap(), content);
}

#[tokio::test]
async fn opening_creates_a_missing_file_but_not_a_missing_directory() {
    let db = TestDatabase::new(Engine::Sqlite).await;
    let store = db.open().await;
    assert!(db.path().exists());
    assert!(store.size_bytes().await.unwrap() > 0);
    store.close().await;

    let nested = db
        .path()
        .with_file_name("missing-dir")
        .join("watchkeeper.db");
    let error = Store::open(&StorageConfig::sqlite(&nested))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("missing-dir"),
        "the error should name the path: {error}"
    );
}

on_both_engines! {
    async fn prune_removes_old_results_and_rollups_but_keeps_every_state_change(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db"]).await;
        // Two results per minute in minutes 0..6 for each monitor.
        let batch: Vec<_> = (0..6)
            .flat_map(|minute| {
                [0, 30_000].into_iter().flat_map(move |offset| {
                    let ms = minute * MINUTE + offset;
                    [
                        result("api", ms, 1_000, Health::Up),
                        result("db", ms, 1_000, Health::Up),
                    ]
                })
            })
            .collect();
        let changes = [
            change("api", None, Health::Up, 0),
            change("api", Some(Health::Up), Health::Down, 30_000),
            change("api", Some(Health::Down), Health::Up, 60_000),
            change("db", None, Health::Up, 0),
        ];
        store.write_batch(&batch, &changes).await.unwrap();
        assert_eq!(store.roll_up(at(6 * MINUTE)).await.unwrap(), 12);
        // A tail not rolled up yet, in minute 8.
        store
            .write_batch(&[result("api", 8 * MINUTE, 1_000, Health::Up)], &[])
            .await
            .unwrap();

        let report = store.prune(at(3 * MINUTE), at(2 * MINUTE)).await.unwrap();
        assert_eq!((report.results, report.rollups), (12, 4));
        let api_results = store
            .results_between(&id("api"), at(0), at(10 * MINUTE))
            .await
            .unwrap();
        assert_eq!(
            api_results.first().map(|r| r.started_at),
            Some(at(3 * MINUTE))
        );
        assert_eq!(api_results.len(), 7);
        let api_rollups = store
            .rollups(&id("api"), at(0), at(10 * MINUTE))
            .await
            .unwrap();
        assert_eq!(api_rollups.first().map(|r| r.minute), Some(at(2 * MINUTE)));
        assert_eq!(api_rollups.len(), 4);

        // Raw results newer than the roll-up watermark survive any prune.
        let report = store.prune(at(60 * MINUTE), at(60 * MINUTE)).await.unwrap();
        assert_eq!((report.results, report.rollups), (12, 8));
        let left = store
            .results_between(&id("api"), at(0), at(60 * MINUTE))
            .await
            .unwrap();
        assert_eq!(
            left.iter().map(|r| r.started_at).collect::<Vec<_>>(),
            vec![at(8 * MINUTE)]
        );

        assert_eq!(store.state_changes(&id("api"), 10).await.unwrap().len(), 3);
        assert_eq!(store.state_changes(&id("db"), 10).await.unwrap().len(), 1);
        assert_eq!(store.current_states().await.unwrap().len(), 2);
    }
}

on_both_engines! {
    /// Also the measurement behind the bytes-per-result figure in
    /// docs/storage.md: 1,000 monitors, 100 results each at a 10 s interval.
    async fn results_stay_compact_and_prune_works_through_many_chunks(engine) {
        const MONITORS: i64 = 1_000;
        const ROUNDS: i64 = 100;
        let db = TestDatabase::new(engine).await;
        let names: Vec<String> = (0..MONITORS).map(|n| format!("monitor-{n:04}")).collect();
        let ids: Vec<MonitorId> = names.iter().map(|name| id(name)).collect();
        let store = db.open().await;
        store.register_monitors(&ids).await.unwrap();
        store.close().await;
        let store = db.open().await;
        let empty = store.size_bytes().await.unwrap();

        // Ten batches of 10,000: one result per monitor per round; one in fifty
        // is down with a typical reason.
        for batch_number in 0..10 {
            let batch: Vec<_> = (0..ROUNDS / 10)
                .flat_map(|round_in_batch| {
                    let round = batch_number * (ROUNDS / 10) + round_in_batch;
                    names.iter().enumerate().map(move |(n, name)| {
                        let n = i64::try_from(n).unwrap();
                        let health = if (round + n) % 50 == 0 {
                            Health::Down
                        } else {
                            Health::Up
                        };
                        let latency_us = 20_000 + u64::try_from((n * 7 + round * 13) % 5_000).unwrap();
                        let mut r = result(name, round * 10_000 + n, latency_us, health);
                        if health == Health::Down {
                            r.reason = Some("status == 200 failed: status was 503".to_owned());
                        }
                        r
                    })
                })
                .collect();
            store.write_batch(&batch, &[]).await.unwrap();
        }
        store.close().await;
        let store = db.open().await;
        let full = store.size_bytes().await.unwrap();
        let results = u64::try_from(MONITORS * ROUNDS).unwrap();
        #[allow(clippy::cast_precision_loss)]
        let bytes_per_result = (full - empty) as f64 / results as f64;
        eprintln!(
            "{results} results: {empty} bytes before, {full} bytes after, {bytes_per_result:.1} bytes per result"
        );
        // A PostgreSQL row carries a 24-byte header and a line pointer, and
        // the primary key is an index of its own (SQLite's is the table).
        let (most_per_result, most_per_rollup) = match engine {
            Engine::Sqlite => (32.0, 60.0),
            Engine::Postgres => (112.0, 192.0),
        };
        assert!(
            bytes_per_result < most_per_result,
            "{bytes_per_result:.1} bytes per result"
        );

        // Roll everything up, then prune it all: far more than one chunk.
        let end = at(ROUNDS * 10_000 + MINUTE);
        let mut rolled = 0;
        for _ in 0..10 {
            let written = store.roll_up(end).await.unwrap();
            if written == 0 {
                break;
            }
            rolled += written;
        }
        assert_eq!(rolled, u64::try_from(MONITORS * 17).unwrap());
        store.close().await;
        let store = db.open().await;
        let with_rollups = store.size_bytes().await.unwrap();
        #[allow(clippy::cast_precision_loss)]
        let bytes_per_rollup = (with_rollups - full) as f64 / rolled as f64;
        eprintln!("{rolled} rollups: {bytes_per_rollup:.1} bytes per rollup");
        assert!(
            bytes_per_rollup < most_per_rollup,
            "{bytes_per_rollup:.1} bytes per rollup"
        );
        let report = store.prune(end, at(0)).await.unwrap();
        assert_eq!(report.results, results);
        assert_eq!(report.rollups, 0);
        assert!(last_results(&store).await.is_empty());
    }
}
