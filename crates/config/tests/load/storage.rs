//! `[storage]`: PostgreSQL URLs checked with their positions, passwords from
//! the URL, the environment or `password_file`, and never quoted.

use watchkeeper_config::Database;

use crate::support::{Scratch, assert_error, load};

#[test]
fn postgres_urls_are_checked_with_their_position_and_never_quote_the_password() {
    assert_error(
        "[storage]\nurl = \"postgres://wk:hunter2@/wk\"\n",
        "watchkeeper.toml:2:7: storage url names no host: write postgres://user@HOST:5432/database",
    );
    assert_error(
        "[storage]\nurl = \"postgresql://wk:hunter2@db.internal/wk?ssl_mode=require\"\n",
        "watchkeeper.toml:2:7: storage url has an unknown parameter `ssl_mode`; known: sslmode, sslrootcert, sslcert, sslkey, application_name",
    );
    assert_error(
        "[storage]\nurl = \"postgres://wk@db.internal\"\n",
        "watchkeeper.toml:2:7: storage url names no database: write postgres://user@host:5432/DATABASE",
    );
    assert_error(
        "[storage]\nurl = \"sqlite://wk.db\"\npassword = \"hunter2\"\n",
        "watchkeeper.toml:3:12: a password applies to a PostgreSQL database only; this storage is SQLite",
    );
    let config = load(
        "[storage]\nurl = \"postgres://wk:s%40cret@db.internal:5433/watch?sslmode=verify-full\"\n",
    )
    .unwrap();
    let Database::Postgres(url) = &config.storage.database else {
        panic!("expected PostgreSQL: {:?}", config.storage.database);
    };
    assert_eq!(url.password(), Some("s@cret"));
    assert_eq!(
        url.to_string(),
        "postgres://wk:***@db.internal:5433/watch?sslmode=verify-full"
    );
    assert!(!format!("{config:?}").contains("cret"));
}

#[test]
fn a_postgres_password_comes_from_password_file_or_the_environment() {
    let scratch = Scratch::new(&[
        (
            "watchkeeper.toml",
            "[storage]\nurl = \"postgres://wk@db.internal/watch\"\npassword_file = \"pg.secret\"\n",
        ),
        ("pg.secret", "from-file\n"),
        (
            "both.toml",
            "[storage]\nurl = \"postgres://wk:inline@db.internal/watch\"\npassword_file = \"pg.secret\"\n",
        ),
    ]);
    let config = scratch.load("watchkeeper.toml").unwrap();
    let Database::Postgres(url) = &config.storage.database else {
        panic!("expected PostgreSQL: {:?}", config.storage.database);
    };
    assert_eq!(url.password(), Some("from-file"));
    assert_eq!(url.to_string(), "postgres://wk:***@db.internal/watch");
    let errors = scratch.errors("both.toml");
    assert_eq!(
        errors,
        "<dir>/both.toml:3:17: the storage url has a password and `password_file` gives another: give one"
    );
    assert!(
        !errors.contains("inline") && !errors.contains("from-file"),
        "{errors}"
    );

    // The support environment has PGPASSWORD=pg-s3cret.
    let config = load("[storage]\nurl = \"postgres://wk:${PGPASSWORD}@db.internal/watch\"\n");
    let Database::Postgres(url) = &config.unwrap().storage.database else {
        panic!("expected PostgreSQL");
    };
    assert_eq!(url.password(), Some("pg-s3cret"));
}
