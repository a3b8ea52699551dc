//! `watchkeeper store copy` as a user runs it: the config's SQLite database
//! into an empty PostgreSQL one, with progress on stderr; a full target
//! refused; and a target that needs a password, given in the URL, in
//! `PGPASSWORD` or in a pgpass file — never printed, and a wrong one
//! refused by the server.

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use watchkeeper_domain::Health;
use watchkeeper_domain::check::{CheckResult, StateChange};
use watchkeeper_domain::storage::{PostgresUrl, StorageConfig};
use watchkeeper_store::Store;
use watchkeeper_testkit::TempConfig;
use watchkeeper_testkit::postgres::{connect_text, database_with_password, fresh_database};

use crate::cli::{Finished, run, run_with_env};
use crate::support::{STORAGE, db_path, monitor_id};

/// The password the target's role logs in with.
const PASSWORD: &str = "kestrel-71-harbour";
/// A password the server must refuse.
const WRONG_PASSWORD: &str = "osprey-13-quay";

/// A SQLite config whose database holds twelve results of `api` 10 s
/// apart, the state change to up and their two minutes of rollups; the
/// results are returned.
async fn config_with_history() -> (TempConfig, Vec<CheckResult>, StateChange) {
    let config = TempConfig::new(STORAGE).unwrap();
    let sqlite = Store::open(&StorageConfig::sqlite(db_path(&config)))
        .await
        .unwrap();
    sqlite
        .register_monitors(&[monitor_id("api")])
        .await
        .unwrap();
    let start: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
    let results: Vec<CheckResult> = (0..12i64)
        .map(|n| CheckResult {
            monitor: monitor_id("api"),
            due_at: start + SignedDuration::from_secs(n * 10),
            started_at: start + SignedDuration::from_secs(n * 10),
            latency: Duration::from_millis(3),
            evaluation: Duration::ZERO,
            health: Health::Up,
            reason: None,
            fallback: None,
        })
        .collect();
    let went_up = StateChange {
        monitor: monitor_id("api"),
        from: None,
        to: Health::Up,
        at: start,
        reason: None,
    };
    sqlite
        .write_batch(&results, std::slice::from_ref(&went_up))
        .await
        .unwrap();
    while sqlite
        .roll_up(start + SignedDuration::from_mins(2))
        .await
        .unwrap()
        > 0
    {}
    sqlite.close().await;
    (config, results, went_up)
}

/// The results of `api` in the PostgreSQL database at `url`.
async fn copied_results(url: PostgresUrl) -> Vec<CheckResult> {
    let copied = Store::open(&StorageConfig::postgres(url)).await.unwrap();
    let stored = copied
        .results_between(&monitor_id("api"), Timestamp::MIN, Timestamp::MAX)
        .await
        .unwrap();
    copied.close().await;
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_copies_the_sqlite_database_into_an_empty_postgres_one() {
    let (config, results, went_up) = config_with_history().await;
    let target = fresh_database().await;
    let to = connect_text(&target);
    let finished = run(
        config.path(),
        &["store", "copy", "--to", &to, "--batch", "5"],
    )
    .await;
    assert_eq!(finished.code(), Some(0), "{finished}");
    for line in [
        "results: 5 rows copied",
        "results: 10 rows copied",
        "results: 12 rows copied",
        "copied 1 monitors, 12 results, 1 state changes, 2 rollups",
    ] {
        assert!(finished.stderr.contains(line), "no {line:?} in\n{finished}");
    }

    let copied = Store::open(&StorageConfig::postgres(target)).await.unwrap();
    let stored = copied
        .results_between(&monitor_id("api"), Timestamp::MIN, Timestamp::MAX)
        .await
        .unwrap();
    assert_eq!(stored, results);
    assert_eq!(
        copied.state_changes(&monitor_id("api"), 10).await.unwrap(),
        vec![went_up]
    );
    let rollups = copied
        .rollups(&monitor_id("api"), Timestamp::MIN, Timestamp::MAX)
        .await
        .unwrap();
    assert_eq!(
        rollups
            .iter()
            .map(|rollup| rollup.count)
            .collect::<Vec<_>>(),
        vec![6, 6]
    );
    copied.close().await;

    let again = run(config.path(), &["store", "copy", "--to", &to]).await;
    assert_eq!(again.code(), Some(1), "{again}");
    assert!(again.stderr.contains("is not empty"), "{again}");
}

/// Neither password appears anywhere in what the command printed.
fn assert_no_password_shown(finished: &Finished) {
    for password in [PASSWORD, WRONG_PASSWORD] {
        for (stream, text) in [("stdout", &finished.stdout), ("stderr", &finished.stderr)] {
            assert!(
                !text.contains(password),
                "a password is on {stream}:\n{finished}"
            );
        }
    }
}

/// A copy that the server refused: exit 1, the server's reason, no password.
fn assert_refused(finished: &Finished) {
    assert_eq!(finished.code(), Some(1), "{finished}");
    assert!(
        finished.stderr.contains("password authentication failed"),
        "{finished}"
    );
    assert_no_password_shown(finished);
}

/// The target's role must log in with its password (the test cluster asks
/// its members for it; `database_with_password` checks that a wrong one is
/// refused). Each way of giving it works, a missing or wrong one is refused
/// by the server, and no password is ever printed: the URL's reads `***`.
/// The child's `HOME` is its config directory, so no `~/.pgpass` of the
/// machine's answers for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_into_a_database_that_needs_a_password() {
    let (config, results, _) = config_with_history().await;
    let home = config.dir().to_str().unwrap().to_owned();
    let no_pgpass = [("HOME", home.as_str()), ("PGPASSFILE", "/nonexistent")];

    let target = database_with_password(PASSWORD).await;
    let without_password = target.without_password().to_string();
    let with_wrong_password = {
        let mut url = target.without_password().clone();
        url.set_password(Some(WRONG_PASSWORD)).unwrap();
        url.to_string()
    };

    // No password at all, then a wrong one each way: refused, nothing copied.
    let none = run_with_env(
        config.path(),
        &["store", "copy", "--to", &without_password],
        &no_pgpass,
    )
    .await;
    assert_refused(&none);
    let mut wrong_env = no_pgpass.to_vec();
    wrong_env.push(("PGPASSWORD", WRONG_PASSWORD));
    let wrong = run_with_env(
        config.path(),
        &["store", "copy", "--to", &without_password],
        &wrong_env,
    )
    .await;
    assert_refused(&wrong);
    let wrong_in_url = run_with_env(
        config.path(),
        &["store", "copy", "--to", &with_wrong_password],
        &no_pgpass,
    )
    .await;
    assert_refused(&wrong_in_url);
    assert!(wrong_in_url.stderr.contains(":***@"), "{wrong_in_url}");

    // The right one in PGPASSWORD.
    let mut right_env = no_pgpass.to_vec();
    right_env.push(("PGPASSWORD", PASSWORD));
    let copied = run_with_env(
        config.path(),
        &["store", "copy", "--to", &without_password],
        &right_env,
    )
    .await;
    assert_eq!(copied.code(), Some(0), "{copied}");
    assert_no_password_shown(&copied);
    assert!(copied.stderr.contains("copied 1 monitors"), "{copied}");
    assert_eq!(copied_results(target).await, results);

    // The right one in the URL: shown as `***` in the progress.
    let target = database_with_password(PASSWORD).await;
    let copied = run_with_env(
        config.path(),
        &["store", "copy", "--to", &connect_text(&target)],
        &no_pgpass,
    )
    .await;
    assert_eq!(copied.code(), Some(0), "{copied}");
    assert_no_password_shown(&copied);
    let shown = format!("into {target}");
    assert!(shown.contains(":***@"), "{shown}");
    assert!(copied.stderr.contains(&shown), "no {shown:?} in\n{copied}");
    assert_eq!(copied_results(target).await, results);

    // The right one in a pgpass file (as libpq reads it; it must be 0600).
    let target = database_with_password(PASSWORD).await;
    let url = target.without_password();
    let pgpass = config.dir().join("pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "{}:{}:{}:{}:{PASSWORD}\n",
            url.host_str().unwrap(),
            url.port().unwrap(),
            target.database(),
            url.username()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let pgpass_env = [
        ("HOME", home.as_str()),
        ("PGPASSFILE", pgpass.to_str().unwrap()),
    ];
    let copied = run_with_env(
        config.path(),
        &["store", "copy", "--to", url.as_str()],
        &pgpass_env,
    )
    .await;
    assert_eq!(copied.code(), Some(0), "{copied}");
    assert_no_password_shown(&copied);
    assert_eq!(copied_results(target).await, results);
}
