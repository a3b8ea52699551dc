//! What only PostgreSQL has: a server that may refuse us or end our
//! sessions, and a password that must never be shown.

use std::time::Duration;

use jiff::Timestamp;
use sqlx::Connection as _;
use watchkeeper_domain::Health;
use watchkeeper_domain::storage::StorageConfig;
use watchkeeper_store::Store;
use watchkeeper_testkit::postgres::{admin_url, connect_text};
use watchkeeper_testkit::{Engine, poll_until};

use crate::{TestDatabase, at, id, result};

#[tokio::test]
async fn opening_a_database_that_does_not_exist_names_it_without_the_password() {
    let url = admin_url()
        .with_database("watchkeeper_no_such_database")
        .with_password("hunter2".to_owned())
        .unwrap();
    let error = Store::open(&StorageConfig::postgres(url))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("cannot open database postgres://"),
        "{message}"
    );
    assert!(
        message.contains("watchkeeper_no_such_database"),
        "{message}"
    );
    assert!(message.contains(":***@"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
}

/// The PostgreSQL counterpart of a full disk: the server ends every session
/// of the store (a restart, a failover, an operator's
/// `pg_terminate_backend`). The pool drops the broken connections and opens
/// new ones, so writing goes on without reopening the store.
#[tokio::test]
async fn writing_resumes_after_the_server_ended_every_session() {
    let db = TestDatabase::new(Engine::Postgres).await;
    let store = db.open_with(&["api"]).await;
    let first = result("api", 0, 1_000, Health::Up);
    store
        .write_batch(std::slice::from_ref(&first), &[])
        .await
        .unwrap();
    // Several connections in the pool, all idle now.
    let api = id("api");
    let reads = (0..4).map(|_| store.availability(&api, at(-1)));
    for read in futures_util::future::join_all(reads).await {
        read.unwrap();
    }

    let StorageConfig { database, .. } = db.storage_config().clone();
    let watchkeeper_domain::storage::Database::Postgres(url) = database else {
        unreachable!("a PostgreSQL test database");
    };
    let mut admin = sqlx::PgConnection::connect(&connect_text(&admin_url()))
        .await
        .unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
    )
    .bind(url.database())
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!ended.is_empty(), "the store had no session to end");
    admin.close().await.unwrap();

    // A write may meet a connection that broke under it and fail once; the
    // next ones get fresh connections.
    let mut failures = 0;
    let written = poll_until(Duration::from_secs(10), "a write to succeed", || {
        let store = store.clone();
        failures += 1;
        async move {
            let second = result("api", 10_000, 1_000, Health::Up);
            store
                .write_batch(std::slice::from_ref(&second), &[])
                .await
                .ok()
                .map(|_| second)
        }
    })
    .await;
    assert!(
        failures <= 2,
        "{failures} attempts before a write went through"
    );
    let stored = store
        .results_between(&id("api"), Timestamp::MIN, Timestamp::MAX)
        .await
        .unwrap();
    assert_eq!(stored, vec![first, written]);
    store.close().await;
}
