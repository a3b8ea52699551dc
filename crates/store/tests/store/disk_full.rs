//! A full disk: on a real small filesystem (a tmpfs mounted for the test),
//! every write path fails with SQLite's "database or disk is full" while
//! there is no space, and works again by itself once space returns, with
//! nothing that failed meanwhile lost when it is written again.

use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::Health;
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::storage::StorageConfig;
use watchkeeper_store::{Store, StoreError};
use watchkeeper_testkit::SmallFilesystem;

use crate::{at, change, id, result};

const MINUTE: i64 = 60_000;

/// What SQLite says for `SQLITE_FULL` (code 13).
const DISK_FULL: &str = "database or disk is full";

/// 100 results of `monitor` at a 1 s interval, starting `from_ms` after the
/// base.
fn results(monitor: &str, from_ms: i64) -> Vec<CheckResult> {
    (0..100)
        .map(|n| result(monitor, from_ms + n * 1_000, 20_000 + n as u64, Health::Up))
        .collect()
}

fn assert_disk_full<T: std::fmt::Debug>(what: &str, outcome: Result<T, StoreError>) {
    let error = outcome.expect_err(&format!("{what} succeeded on a full disk"));
    let message = error.to_string();
    assert!(
        message.contains(DISK_FULL),
        "{what} on a full disk should fail with {DISK_FULL:?}, not: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_disk_was_full_every_write_path_works_again_once_space_returns() {
    let disk = SmallFilesystem::mount(8 << 20).unwrap();
    let path = disk.path().join("watchkeeper.db");

    // Minutes 0 and 1 are written while there is space; closing truncates
    // the write-ahead log, so the reopened store has to grow it to write.
    let store = Store::open(&StorageConfig::sqlite(&path)).await.unwrap();
    store
        .register_monitors(&[id("api"), id("db")])
        .await
        .unwrap();
    let before = results("api", 0);
    store.write_batch(&before, &[]).await.unwrap();
    store.close().await;
    let store = Store::open(&StorageConfig::sqlite(&path)).await.unwrap();

    let filler = disk.fill().unwrap();
    assert!(filler.bytes() > 0, "the filesystem was full already");

    // While the disk is full, each write path says so (and not something
    // else, such as a transaction left open by the one before).
    let during = results("db", 30_000);
    let went_down = change("db", None, Health::Down, 30_000);
    assert_disk_full(
        "write_batch",
        store
            .write_batch(&during, std::slice::from_ref(&went_down))
            .await,
    );
    assert_disk_full("roll_up", store.roll_up(at(2 * MINUTE)).await);
    assert_disk_full(
        "save_recent",
        store
            .save_recent([vec![before[99].clone()]], at(MINUTE))
            .await,
    );
    assert_disk_full(
        "register_monitors",
        store.register_monitors(&[id("new")]).await,
    );
    // A second failed attempt of the same batch, as the engine retries it.
    assert_disk_full(
        "write_batch again",
        store
            .write_batch(&during, std::slice::from_ref(&went_down))
            .await,
    );

    filler.release().unwrap();

    // Space is back: the batch that failed is written whole, and every
    // other write path works, with no reopening of the store.
    store
        .write_batch(&during, std::slice::from_ref(&went_down))
        .await
        .unwrap();
    let after = results("api", 2 * MINUTE);
    store.write_batch(&after, &[]).await.unwrap();
    let rolled = store.roll_up(at(2 * MINUTE)).await.unwrap();
    assert!(rolled > 0, "nothing was rolled up");
    store
        .save_recent([vec![after[99].clone()]], at(200_000))
        .await
        .unwrap();
    store.register_monitors(&[id("new")]).await.unwrap();
    store.prune(Timestamp::MIN, Timestamp::MIN).await.unwrap();

    let mut api_expected = before.clone();
    api_expected.extend(after.iter().cloned());
    let api = store
        .results_between(&id("api"), Timestamp::MIN, Timestamp::MAX)
        .await
        .unwrap();
    assert_eq!(api, api_expected);
    let db = store
        .results_between(&id("db"), Timestamp::MIN, Timestamp::MAX)
        .await
        .unwrap();
    assert_eq!(db, during);
    assert_eq!(
        store.state_changes(&id("db"), 10).await.unwrap(),
        vec![went_down]
    );
    let minutes: Vec<_> = store
        .rollups(&id("api"), at(0), at(2 * MINUTE))
        .await
        .unwrap()
        .into_iter()
        .map(|rollup| (rollup.minute, rollup.count))
        .collect();
    assert_eq!(minutes, vec![(at(0), 60), (at(MINUTE), 40)]);
    store.close().await;

    // A second fill and release: recovery is not a one-off.
    let store = Store::open(&StorageConfig::sqlite(&path)).await.unwrap();
    let filler = disk.fill().unwrap();
    let late = vec![result("db", 300_000, 1_000, Health::Up)];
    assert_disk_full(
        "write_batch after a recovery",
        store.write_batch(&late, &[]).await,
    );
    filler.release().unwrap();
    tokio::time::timeout(Duration::from_secs(10), store.write_batch(&late, &[]))
        .await
        .unwrap()
        .unwrap();
    store.close().await;
}
