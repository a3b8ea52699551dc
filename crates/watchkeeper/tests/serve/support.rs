//! `spawn_app`: a whole Watchkeeper (store, engine, HTTP server) in this
//! process on 127.0.0.1:0 with its database in a temporary directory or on
//! the test binary's PostgreSQL server (`storage(engine)`), plus
//! the small HTTP and store helpers the tests share.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use watchkeeper::{App, AppError};
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::storage::Database;
use watchkeeper_engine::{Supervisor, SystemClock};
use watchkeeper_notify::retry::RetryPolicy;
use watchkeeper_store::Store;
use watchkeeper_testkit::{Engine, TempConfig, poll_until, storage_toml};

/// How long a test waits for any one thing to become true.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// How long a stopped app may take to finish probes, flush and close.
pub const STOP_DEADLINE: Duration = Duration::from_secs(10);

/// The `[storage]` table of a SQLite test config: the database lives in
/// the config's temporary directory.
pub const STORAGE: &str = "[storage]\nurl = \"sqlite://watchkeeper.db\"\n";

/// The `[storage]` table of a test config on `engine`: [`STORAGE`], or a
/// fresh database on the test binary's PostgreSQL server.
pub async fn storage(engine: Engine) -> String {
    match engine {
        Engine::Sqlite => STORAGE.to_owned(),
        Engine::Postgres => storage_toml(&Database::Postgres(
            watchkeeper_testkit::postgres::fresh_database().await,
        )),
    }
}

/// A running in-process Watchkeeper.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    /// Sends an admin token, made in the store before the app started,
    /// with every request.
    pub client: reqwest::Client,
    /// That admin token, for a client that is not `client` (the CLI).
    pub admin_token: String,
    /// Every task of the app; tests use its kill hook.
    pub supervisor: Supervisor,
    /// Owns the directory holding the config and the database.
    config: TempConfig,
    /// Completing it starts the shutdown `App::run` waits for.
    shutdown: oneshot::Sender<()>,
    running: JoinHandle<Result<(), AppError>>,
}

/// Writes `toml` to a fresh temporary directory and runs Watchkeeper on it.
pub async fn spawn_app(toml: &str) -> TestApp {
    spawn_app_in(TempConfig::new(toml).unwrap()).await
}

/// Runs Watchkeeper on an existing config directory (and its database), as
/// a restart does.
pub async fn spawn_app_in(config: TempConfig) -> TestApp {
    spawn_app_with_clock(config, Arc::new(SystemClock::new())).await
}

/// Runs Watchkeeper on `config` with `clock` (a test may move it).
pub async fn spawn_app_with_clock(config: TempConfig, clock: Arc<dyn Clock>) -> TestApp {
    spawn_app_with(config, clock, RetryPolicy::default()).await
}

/// A notification retry policy whose delays are tenths of a second.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(400),
        ..RetryPolicy::default()
    }
}

/// Runs Watchkeeper on `config` with `clock` and a retry policy for its
/// notifications.
pub async fn spawn_app_with(
    config: TempConfig,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
) -> TestApp {
    let loaded = watchkeeper_config::load(config.path())
        .unwrap_or_else(|errors| panic!("the test config is invalid:\n{errors}"));
    let admin_token = admin_token_in(&loaded.storage).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = App::build(loaded, listener, clock)
        .await
        .unwrap()
        .with_retry_policy(retry);
    let base = format!("http://{}", app.local_addr());
    let supervisor = app.supervisor();
    let (shutdown, stop) = oneshot::channel::<()>();
    let running = tokio::spawn(app.run(async move {
        // A dropped sender stops the app too.
        let _ = stop.await;
    }));
    TestApp {
        base,
        client: authorized_client(&admin_token),
        admin_token,
        supervisor,
        config,
        shutdown,
        running,
    }
}

/// A new admin token in the store `storage` names (a fresh name each
/// time, so a restart on the same store makes another): the API's tests
/// run behind the token layer, as a real client does.
pub async fn admin_token_in(storage: &watchkeeper_domain::storage::StorageConfig) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    use watchkeeper_domain::access::{NewToken, Role, TokenName};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut random = [0u8; 32];
    random[..4].copy_from_slice(&n.to_le_bytes());
    random[4..8].copy_from_slice(&std::process::id().to_le_bytes());
    let token = NewToken::from_random(random);
    let store = Store::open(storage).await.unwrap();
    let name = TokenName::parse(&format!("test-admin-{n}")).unwrap();
    let at = jiff::Timestamp::from_second(1_772_000_000).unwrap();
    match store
        .create_token(&name, Role::Admin, &token.hash(), at)
        .await
    {
        Ok(()) => {}
        Err(error) => panic!("cannot make the test's admin token: {error}"),
    }
    store.close().await;
    token.reveal().to_owned()
}

/// [`http_client`] sending `Authorization: Bearer token` with every request.
pub fn authorized_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    headers.insert(reqwest::header::AUTHORIZATION, value);
    watchkeeper_testkit::loopback_client_builder()
        .timeout(Duration::from_secs(5))
        .default_headers(headers)
        .build()
        .unwrap()
}

impl TestApp {
    /// GETs `path` and returns the status and the body parsed as JSON.
    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"));
        let status = response.status();
        let body = response.text().await.unwrap();
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|error| panic!("GET {path} did not answer JSON ({error}): {body}"));
        (status, json)
    }

    /// POSTs to `path` (no body) and returns the status and the JSON body.
    pub async fn post_json(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|error| panic!("POST {path}: {error}"));
        let status = response.status();
        let body = response.text().await.unwrap();
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|error| panic!("POST {path} did not answer JSON ({error}): {body}"));
        (status, json)
    }

    /// GETs `path` and returns the body as text, asserting a 200.
    pub async fn get_text(&self, path: &str) -> String {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"));
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    /// `/api/v1/monitors/{id}`, asserting a 200.
    pub async fn monitor(&self, id: &str) -> Value {
        let (status, body) = self.get_json(&format!("/api/v1/monitors/{id}")).await;
        assert_eq!(status, 200, "GET /api/v1/monitors/{id}: {body}");
        body
    }

    /// Polls the monitor until its state is `health`, and returns the detail.
    pub async fn wait_for_state(&self, id: &str, health: &str) -> Value {
        poll_until(
            DEADLINE,
            &format!("monitor `{id}` to be {health}"),
            || async {
                let detail = self.monitor(id).await;
                (detail["state"] == health).then_some(detail)
            },
        )
        .await
    }

    /// Stops the app, asserts it stopped cleanly and in time, and gives back
    /// the directory (so a test can open the store or start it again).
    pub async fn stop(self) -> TempConfig {
        let (config, outcome) = self.stop_with_outcome().await;
        if let Err(error) = outcome {
            panic!("the app stopped with an error: {error}");
        }
        config
    }

    /// The database the app's config names, on either engine.
    pub fn database(&self) -> Database {
        watchkeeper_config::load(self.config.path())
            .unwrap_or_else(|errors| panic!("the test config is invalid:\n{errors}"))
            .storage
            .database
    }

    /// The config file the app was started from (a reload reads it again).
    pub fn config_path(&self) -> &std::path::Path {
        self.config.path()
    }

    /// Waits, without asking it to stop, for the app to end by itself (as
    /// it does when a task it cannot run without dies), and returns what
    /// `App::run` returned.
    pub async fn exit_by_itself(self) -> Result<(), AppError> {
        let TestApp {
            shutdown, running, ..
        } = self;
        let outcome = tokio::time::timeout(DEADLINE, running)
            .await
            .unwrap_or_else(|_| panic!("the app did not end by itself within {DEADLINE:?}"))
            .expect("the app task panicked");
        drop(shutdown);
        outcome
    }

    /// Stops the app, asserts it stopped in time, and gives back the
    /// directory and what `App::run` returned.
    pub async fn stop_with_outcome(self) -> (TempConfig, Result<(), AppError>) {
        let TestApp {
            config,
            shutdown,
            running,
            ..
        } = self;
        shutdown.send(()).unwrap();
        let outcome = tokio::time::timeout(STOP_DEADLINE, running)
            .await
            .unwrap_or_else(|_| panic!("the app did not stop within {STOP_DEADLINE:?}"))
            .expect("the app task panicked");
        (config, outcome)
    }
}

/// The database file of a SQLite config written by these tests.
pub fn db_path(config: &TempConfig) -> PathBuf {
    config.dir().join("watchkeeper.db")
}

/// Opens the database a stopped app's config names, on either engine.
pub async fn open_store(config: &TempConfig) -> Store {
    let loaded = watchkeeper_config::load(config.path())
        .unwrap_or_else(|errors| panic!("the test config is invalid:\n{errors}"));
    if let Database::Sqlite { path } = &loaded.storage.database {
        assert!(path.exists(), "no database at {}", path.display());
    }
    Store::open(&loaded.storage)
        .await
        .unwrap_or_else(|error| panic!("cannot open the app's store: {error}"))
}

pub fn monitor_id(id: &str) -> MonitorId {
    MonitorId::parse(id).unwrap()
}

/// The value of the first metric line that starts with `series ` (name and
/// labels exactly as exposed), if any.
pub fn metric_value(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        line.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|value| value.split_whitespace().next())
            .and_then(|value| value.parse().ok())
    })
}

/// A loopback server that reads the request and then answers bytes that are
/// not HTTP, as a non-HTTP service behind an HTTP monitor does. (The
/// testkit's `RawBehaviour::SendGarbage` speaks first, before the request.)
pub struct ReplyingGarbage {
    pub addr: SocketAddr,
    /// Accepts and answers until dropped.
    acceptor: JoinHandle<()>,
}

impl ReplyingGarbage {
    pub async fn spawn(reply: &'static [u8]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                connections.spawn(async move {
                    let mut request = [0_u8; 4096];
                    if stream.read(&mut request).await.is_ok()
                        && stream.write_all(reply).await.is_ok()
                        && stream.shutdown().await.is_ok()
                    {
                        // Read to the end before closing, so the close is a
                        // FIN and not a reset that could hide the reply.
                        let _ = tokio::time::timeout(Duration::from_secs(1), async {
                            while let Ok(1..) = stream.read(&mut request).await {}
                        })
                        .await;
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Self { addr, acceptor }
    }
}

impl Drop for ReplyingGarbage {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}
