//! A throwaway PostgreSQL server for the tests of one test binary, and a
//! fresh database on it for each test ([`fresh_database`]).
//!
//! Unless `WATCHKEEPER_TEST_POSTGRES_URL` names a server to use instead (a
//! superuser URL; test databases are created on it and left there, named
//! `watchkeeper_test_<pid>_<n>`), the first test that asks starts a cluster
//! of its own: Debian's `postgresql` package's `initdb` and `pg_ctl`
//! (found under `/usr/lib/postgresql/<version>/bin`, else on `PATH`), in a
//! temporary directory, on a free port of 127.0.0.1, as the `postgres` user
//! when the tests run as root, with durability off (nothing here outlives
//! the run). `./scripts/test` installs the package when it is missing.
//!
//! The cluster stops when the test binary exits, however it exits: a
//! watchdog process holds the read end of a pipe whose write end only this
//! process holds, and when that end closes (at exit, on a panic, on
//! SIGKILL) it stops the server and removes the directory.
//!
//! A test never skips: when no server can be had, [`fresh_database`]
//! panics with the reason (the binaries missing, initdb's or the server's
//! own words).
//!
//! The cluster trusts every connection, except those of the members of
//! [`PASSWORD_ROLES`], which must give their password (SCRAM): what
//! [`database_with_password`] makes, for tests of password handling.

use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use watchkeeper_domain::storage::PostgresUrl;

/// The variable that names a server to use instead of a throwaway one.
pub const POSTGRES_URL_VARIABLE: &str = "WATCHKEEPER_TEST_POSTGRES_URL";

/// How many times a start is tried on another port, should the free port
/// picked have been taken by someone else in between.
const START_ATTEMPTS: usize = 3;

/// The group whose members the cluster asks for a password (the
/// `pg_hba.conf` line [`Server::start`] writes before the trust lines).
pub const PASSWORD_ROLES: &str = "watchkeeper_password_roles";

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static DATABASES: AtomicU64 = AtomicU64::new(0);

/// The server this test binary uses.
#[derive(Debug)]
struct Server {
    /// A superuser URL on the server's maintenance database.
    admin: PostgresUrl,
    /// The write end of the watchdog's pipe, held until the process exits;
    /// `None` for a server named by [`POSTGRES_URL_VARIABLE`].
    _watchdog: Option<Mutex<ChildStdin>>,
}

/// A new, empty database on this test binary's server, as a URL the store
/// can open.
///
/// # Panics
///
/// When no server can be had or the database cannot be created, with the
/// reason: a test that needs PostgreSQL fails rather than skip.
pub async fn fresh_database() -> PostgresUrl {
    let server = match SERVER.get_or_init(Server::start) {
        Ok(server) => server,
        Err(reason) => panic!("PostgreSQL is not available for this test: {reason}"),
    };
    let name = format!(
        "watchkeeper_test_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    let admin = server.admin.clone();
    let created = async {
        let mut connection = PgConnection::connect(&connect_text(&admin)).await?;
        // `name` is ours: letters, digits and underscores only.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE template0"
        )))
        .execute(&mut connection)
        .await?;
        connection.close().await
    };
    if let Err(error) = created.await {
        panic!("cannot create test database {name} on {admin}: {error}");
    }
    admin.with_database(&name)
}

/// A new, empty database owned by a new role that must log in with
/// `password` (SCRAM), as a URL holding that password. Checked before it is
/// returned: a wrong password is refused, so a test that succeeds with it
/// really gave the password.
///
/// # Panics
///
/// As [`fresh_database`]; also when the server lets the role in with a
/// wrong password (a server named by [`POSTGRES_URL_VARIABLE`] whose
/// `pg_hba.conf` trusts everyone: give it a line
/// `host all +watchkeeper_password_roles all scram-sha-256` before those).
pub async fn database_with_password(password: &str) -> PostgresUrl {
    let admin = admin_url();
    let name = format!(
        "watchkeeper_pw_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    let created = async {
        let mut connection = PgConnection::connect(&connect_text(&admin)).await?;
        // Tests running at once may both create the group: either way it is there.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DO $$ BEGIN CREATE ROLE {PASSWORD_ROLES} NOLOGIN; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )))
        .execute(&mut connection)
        .await?;
        // `name` is ours (letters, digits, underscores); the password is a
        // test's constant, quoted as a literal.
        let literal = password.replace('\'', "''");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE ROLE {name} LOGIN PASSWORD '{literal}' IN ROLE {PASSWORD_ROLES}"
        )))
        .execute(&mut connection)
        .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} OWNER {name} TEMPLATE template0"
        )))
        .execute(&mut connection)
        .await?;
        connection.close().await
    };
    if let Err(error) = created.await {
        panic!("cannot create role and database {name} on {admin}: {error}");
    }
    let mut text = admin.with_database(&name).without_password().clone();
    // Cannot fail: the admin URL has a user, so it can have another.
    let _ = text.set_username(&name);
    let without = PostgresUrl::parse(text.as_str())
        .unwrap_or_else(|error| panic!("the URL of {name}: {error}"));
    let wrong = without
        .clone()
        .with_password(format!("not-{password}"))
        .unwrap_or_else(|error| panic!("the URL of {name}: {error}"));
    if let Ok(connection) = PgConnection::connect(&connect_text(&wrong)).await {
        let _ = connection.close().await;
        panic!(
            "{admin} let {name} in with a wrong password: its pg_hba.conf trusts \
             {PASSWORD_ROLES}; add `host all +{PASSWORD_ROLES} all scram-sha-256` before \
             its trust lines"
        );
    }
    without
        .with_password(password.to_owned())
        .unwrap_or_else(|error| panic!("the URL of {name}: {error}"))
}

/// The superuser URL of this binary's server, starting it if needed (for
/// tests that look at the server itself, such as terminating backends).
///
/// # Panics
///
/// As [`fresh_database`].
pub fn admin_url() -> PostgresUrl {
    match SERVER.get_or_init(Server::start) {
        Ok(server) => server.admin.clone(),
        Err(reason) => panic!("PostgreSQL is not available for this test: {reason}"),
    }
}

/// The URL as a driver takes it, password included.
pub fn connect_text(url: &PostgresUrl) -> String {
    let mut text = url.without_password().clone();
    if let Some(password) = url.password() {
        // Cannot fail: the URL has a user.
        let _ = text.set_password(Some(password));
    }
    text.to_string()
}

impl Server {
    fn start() -> Result<Server, String> {
        if let Ok(text) = std::env::var(POSTGRES_URL_VARIABLE) {
            let admin = PostgresUrl::parse(&text)
                .map_err(|error| format!("{POSTGRES_URL_VARIABLE}: {error}"))?;
            return Ok(Server {
                admin,
                _watchdog: None,
            });
        }
        let bin = binaries()?;
        let user = ServerUser::for_this_process()?;
        let dir = tempfile::Builder::new()
            .prefix("watchkeeper-postgres-")
            .tempdir()
            .map_err(|error| format!("cannot make a directory for the cluster: {error}"))?
            .keep();
        user.own(&dir)?;
        // First the watchdog, so that whatever happens next is cleaned up.
        let watchdog = watchdog(&bin, &dir, &user)?;
        let data = dir.join("data");
        run(
            user.command(bin.join("initdb"))
                .arg("--pgdata")
                .arg(&data)
                .args(["--username=postgres", "--auth=trust", "--encoding=UTF8"])
                .args(["--locale=C", "--no-sync"]),
            "initdb",
        )?;
        ask_password_roles_for_a_password(&data)?;
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            let settings = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                dir.display()
            );
            let started = run(
                user.command(bin.join("pg_ctl"))
                    .arg("--pgdata")
                    .arg(&data)
                    .arg("--log")
                    .arg(dir.join("server.log"))
                    .args(["--wait", "--timeout=60", "-o", &settings, "start"]),
                "pg_ctl start",
            );
            match started {
                Ok(()) => {
                    let admin = PostgresUrl::parse(&format!(
                        "postgres://postgres@127.0.0.1:{port}/postgres"
                    ))
                    .map_err(|error| error.to_string())?;
                    return Ok(Server {
                        admin,
                        _watchdog: Some(Mutex::new(watchdog)),
                    });
                }
                Err(error) => {
                    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                    failures.push(format!("{error}\nserver log:\n{log}"));
                }
            }
        }
        Err(failures.join("\n"))
    }
}

/// Puts a line before initdb's trust lines in `pg_hba.conf`, so that the
/// members of [`PASSWORD_ROLES`] must give their password over TCP (the
/// first line that matches a connection decides).
fn ask_password_roles_for_a_password(data: &Path) -> Result<(), String> {
    let path = data.join("pg_hba.conf");
    let trusting = std::fs::read_to_string(&path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let line = format!("host all +{PASSWORD_ROLES} all scram-sha-256\n");
    // Rewritten in place: the file keeps its owner, the server's user.
    std::fs::write(&path, format!("{line}{trusting}"))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// The directory holding `initdb` and `pg_ctl`: the newest version under
/// `/usr/lib/postgresql`, else wherever `PATH` finds `initdb`.
fn binaries() -> Result<PathBuf, String> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .ok_or_else(|| {
            "no initdb and pg_ctl under /usr/lib/postgresql/*/bin or on PATH: install Debian's \
             `postgresql` package (./scripts/test does), or set WATCHKEEPER_TEST_POSTGRES_URL"
                .to_owned()
        })
}

/// Who runs the server: this process's user, or `postgres` when that is
/// root (PostgreSQL refuses to run as root).
struct ServerUser {
    /// `(uid, gid)` to switch to; `None`: stay who we are.
    switch_to: Option<(u32, u32)>,
}

impl ServerUser {
    fn for_this_process() -> Result<Self, String> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(Self { switch_to: None });
        }
        let user = nix::unistd::User::from_name("postgres")
            .map_err(|error| format!("cannot look up the postgres user: {error}"))?
            .ok_or_else(|| {
                "the tests run as root and there is no `postgres` user to run PostgreSQL as \
                 (Debian's postgresql package creates it)"
                    .to_owned()
            })?;
        Ok(Self {
            switch_to: Some((user.uid.as_raw(), user.gid.as_raw())),
        })
    }

    fn own(&self, dir: &Path) -> Result<(), String> {
        match self.switch_to {
            None => Ok(()),
            Some((uid, gid)) => std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .map_err(|error| format!("cannot give {} to postgres: {error}", dir.display())),
        }
    }

    fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut command = Command::new(program.as_ref());
        if let Some((uid, gid)) = self.switch_to {
            use std::os::unix::process::CommandExt as _;
            command.uid(uid).gid(gid);
        }
        // The server must not hold this process's output open after it.
        command.stdin(Stdio::null());
        command
    }
}

/// Runs a command to completion; its output is the error when it fails.
fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .output()
        .map_err(|error| format!("cannot run {what}: {error}"))?;
    if status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({status}):\n{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    ))
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|error| format!("cannot find a free port: {error}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|error| format!("cannot find a free port: {error}"))
}

/// Starts the process that stops the cluster in `dir` and removes `dir`
/// once the returned pipe closes. It ignores the signals a terminal sends
/// its whole process group, and holds none of this process's output.
fn watchdog(bin: &Path, dir: &Path, user: &ServerUser) -> Result<ChildStdin, String> {
    const SCRIPT: &str = "trap '' INT HUP TERM; cat > /dev/null; \
         \"$0\" --pgdata \"$1/data\" --mode=immediate --wait stop; rm -rf \"$1\"";
    let mut child = user
        .command("/bin/sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg(bin.join("pg_ctl"))
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot start the cluster's watchdog: {error}"))?;
    child
        .stdin
        .take()
        .ok_or_else(|| "the cluster's watchdog has no stdin".to_owned())
}
