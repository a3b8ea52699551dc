//! The `watchkeeper` command line: `serve`, `validate`, `check`,
//! `store copy`, `token create | list | revoke`, `notify test`, and the
//! client commands `alert list` and `silence …` (in `client_commands`).
//!
//! Exit codes: 0 all good; 1 a monitor failed (`check`) or the daemon could
//! not run (`serve`); 2 the configuration (or the command line) is invalid;
//! 3 a task `serve` cannot run without (the scheduler, the recorder) died;
//! 4 a token name that is taken (`token create`) or unknown (`token revoke`).
//! Each command's `--help` lists its own ([`CHECK_EXITS`] and beside it).

mod client_commands;
mod incident_command;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use client_commands::{
    AlertCommand, OncallArgs, SilenceCommand, alert_command, oncall_command, silence_command,
};
use incident_command::{IncidentCommand, incident_command};
use tokio::net::TcpListener;
use watchkeeper::check_command;
use watchkeeper::logging::{self, LogFormat};
use watchkeeper::token_command::{self, TOKEN_EXITS, TokenCommandError};
use watchkeeper_config::Config;
use watchkeeper_domain::access::{Role, TokenName};
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::storage::{Database, PostgresUrl, StorageConfig};
use watchkeeper_engine::SystemClock;
use watchkeeper_runner::Prober;
use watchkeeper_store::Revoked;
use watchkeeper_store::Store;

/// What the binary does today, the first line of `--help`. It names only
/// what is built: when runbooks land, they join it
/// (and the CLI test that pins it changes with them).
const TAGLINE: &str = "Monitors services, pages people and runs incidents from one TOML file: probes, state history, alert rules and SLOs, notifications, on-call and escalation, incidents and postmortems, a status page, Prometheus metrics, a JSON API";

/// `serve --help`: how the daemon ends.
const SERVE_EXITS: &str = "\
Exit codes:
  0  stopped by SIGTERM or SIGINT, every result written
  1  could not start (the address, the store, the probes), failed while running,
     or results or state changes could not be written before exiting
  2  the configuration or the command line is invalid
  3  a task serve cannot run without (the scheduler, the recorder) died;
     a supervisor such as systemd should restart it";

/// `validate --help`.
const VALIDATE_EXITS: &str = "\
Exit codes:
  0  the configuration is valid
  2  the configuration is invalid (every error printed as FILE:LINE:COL: message),
     or the command line is";

/// `check --help`.
const CHECK_EXITS: &str = "\
Exit codes:
  0  every monitor checked passed (up or degraded)
  1  a monitor failed (down), or the probes could not start
  2  the configuration is invalid, a named monitor is not in it,
     or the command line is invalid";

#[derive(Debug, Parser)]
#[command(
    name = "watchkeeper",
    version,
    about = TAGLINE,
    after_help = "Each command's --help lists its exit codes."
)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        short,
        global = true,
        default_value = "watchkeeper.toml",
        env = "WATCHKEEPER_CONFIG"
    )]
    config: PathBuf,
    /// Log format: human-readable lines or one JSON object per line.
    #[arg(long, global = true, value_enum, default_value = "human")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: scheduler, probes, store and HTTP API.
    #[command(after_help = SERVE_EXITS)]
    Serve {
        /// Listen here instead of [server] listen.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Check the configuration; print every error as FILE:LINE:COL: message.
    #[command(after_help = VALIDATE_EXITS)]
    Validate,
    /// Probe monitors once, now, and print the results (all monitors if none named).
    #[command(after_help = CHECK_EXITS)]
    Check {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Monitor ids to check.
        monitors: Vec<String>,
    },
    /// Work on the store directly.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// API tokens, on the config's store directly (no server needed).
    #[command(after_help = TOKEN_EXITS)]
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Alerts on a running server (GET /api/v1/alerts).
    Alert {
        #[command(subcommand)]
        command: AlertCommand,
    },
    /// Silences on a running server (/api/v1/silences).
    Silence {
        #[command(subcommand)]
        command: SilenceCommand,
    },
    /// Who is on call on a running server (/api/v1/oncall), and overrides.
    Oncall(OncallArgs),
    /// Incidents on a running server (/api/v1/incidents): list, show, open,
    /// post updates, write the postmortem.
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// Work with notifiers.
    Notify {
        #[command(subcommand)]
        command: NotifyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum NotifyCommand {
    /// Send a test notification (alert WatchkeeperTest, severity P3) to one
    /// notifier now and print the receiver's answer. Exit 0 when it was
    /// delivered, 1 when not, 2 for a config error or an unknown notifier.
    Test {
        /// The [[notifier]]'s id.
        notifier: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Make a token; print it once on stdout (it is stored only as a hash).
    #[command(after_help = TOKEN_EXITS)]
    Create {
        /// Who or what will use it, as the audit log will name it:
        /// lowercase letters, digits, '-', '_', '.'.
        #[arg(long, value_parser = parse_token_name)]
        name: TokenName,
        /// viewer (reads), responder (acknowledges, silences) or admin
        /// (everything).
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Show every token: name, role, created, last used, revoked.
    #[command(after_help = TOKEN_EXITS)]
    List,
    /// Refuse a token from now on (the API checks the store on every
    /// request).
    #[command(after_help = TOKEN_EXITS)]
    Revoke {
        #[arg(value_parser = parse_token_name)]
        name: TokenName,
    },
}

fn parse_token_name(raw: &str) -> Result<TokenName, String> {
    TokenName::parse(raw).map_err(|error| error.to_string())
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse::<Role>().map_err(|error| error.to_string())
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Copy the config's SQLite database into an empty PostgreSQL database,
    /// every table, with progress on stderr.
    Copy {
        /// The target: postgres://USER[:PASSWORD]@HOST:PORT/DATABASE (the
        /// password may also come from PGPASSWORD or a pgpass file:
        /// PGPASSFILE, ~/.pgpass).
        #[arg(long)]
        to: String,
        /// Rows per batch.
        #[arg(long, default_value_t = watchkeeper_store::DEFAULT_COPY_BATCH)]
        batch: usize,
    },
}

const EXIT_FAILED: u8 = 1;
const EXIT_CONFIG: u8 = 2;
const EXIT_TASK_DIED: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Validate => validate(&cli.config),
            Command::Check { json, monitors } => check(&cli.config, json, &monitors).await,
            Command::Serve { listen } => serve(&cli.config, listen).await,
            Command::Store {
                command: StoreCommand::Copy { to, batch },
            } => store_copy(&cli.config, &to, batch).await,
            Command::Notify {
                command: NotifyCommand::Test { notifier },
            } => notify_test(&cli.config, &notifier).await,
            Command::Alert { command } => alert_command(&cli.config, command).await,
            Command::Silence { command } => silence_command(&cli.config, command).await,
            Command::Oncall(args) => oncall_command(&cli.config, args).await,
            Command::Incident { command } => incident_command(&cli.config, command).await,
            Command::Token { command } => token(&cli.config, command).await,
        }
    })
}

/// Loads the config, or prints every error and returns the exit code.
fn load(path: &Path) -> Result<Config, ExitCode> {
    watchkeeper_config::load(path).map_err(|errors| {
        eprintln!("{errors}");
        let count = errors.0.len();
        eprintln!(
            "{} error{} in the configuration",
            count,
            if count == 1 { "" } else { "s" }
        );
        ExitCode::from(EXIT_CONFIG)
    })
}

fn validate(path: &Path) -> ExitCode {
    match load(path) {
        Ok(config) => {
            println!(
                "{}: ok ({} monitor{}, {} component{}, {} file{})",
                path.display(),
                config.monitors.len(),
                plural(config.monitors.len()),
                config.components.len(),
                plural(config.components.len()),
                config.files.len(),
                plural(config.files.len()),
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

async fn check(path: &Path, json: bool, wanted: &[String]) -> ExitCode {
    let config = match load(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let monitors = if wanted.is_empty() {
        config.monitors.clone()
    } else {
        let mut selected = Vec::new();
        for name in wanted {
            match config.monitors.iter().find(|m| m.id.as_str() == name) {
                Some(monitor) => selected.push(monitor.clone()),
                None => {
                    let known: Vec<&str> = config.monitors.iter().map(|m| m.id.as_str()).collect();
                    eprintln!(
                        "error: unknown monitor `{name}`; known monitors: {}",
                        known.join(", ")
                    );
                    return ExitCode::from(EXIT_CONFIG);
                }
            }
        }
        selected
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let prober = match Prober::new(config.probes.policy.clone(), clock.clone()) {
        Ok(prober) => Arc::new(prober),
        Err(error) => {
            eprintln!("error: cannot start the prober: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let lines = check_command::run(prober, clock, monitors).await;
    if json {
        match serde_json::to_string_pretty(&lines) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("error: cannot encode results: {error}");
                return ExitCode::from(EXIT_FAILED);
            }
        }
    } else {
        print!("{}", check_command::render_table(&lines));
    }
    if lines.iter().all(|line| line.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

async fn notify_test(path: &Path, notifier: &str) -> ExitCode {
    let config = match load(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    match watchkeeper::notify_command::run(&config, notifier, clock).await {
        Ok(report) => {
            print!("{}", report.render(notifier));
            if report.delivered() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILED)
            }
        }
        Err(error @ watchkeeper::notify_command::NotifyTestError::UnknownNotifier { .. }) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

async fn store_copy(path: &Path, to: &str, batch: usize) -> ExitCode {
    let config = match load(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match copy_store(config, to, batch).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

async fn copy_store(config: Config, to: &str, batch: usize) -> anyhow::Result<()> {
    let Database::Sqlite { path } = &config.storage.database else {
        anyhow::bail!(
            "store copy copies the config's SQLite database; this config's storage is {}",
            config.storage.database
        );
    };
    if !path.exists() {
        anyhow::bail!("there is no SQLite database at {}", path.display());
    }
    let mut target = PostgresUrl::parse(to).context("--to")?;
    if target.password().is_none()
        && let Ok(password) = std::env::var("PGPASSWORD")
    {
        target = target.with_password(password).context("--to")?;
    }
    let from = Store::open(&config.storage).await?;
    let to = Store::open(&StorageConfig::postgres(target.clone())).await?;
    eprintln!("copying {} into {target}", config.storage.database);
    let report = from
        .copy_to(&to, batch, &mut |progress| {
            eprintln!("{}: {} rows copied", progress.table, progress.copied);
        })
        .await;
    from.close().await;
    to.close().await;
    let report = report?;
    eprintln!(
        "copied {} monitors, {} results, {} state changes, {} rollups, {} recent results, {} alerts, {} alert events, {} meta values, {} tokens, {} audit entries, {} notification groups, {} deliveries, {} delivery attempts, {} disabled notifiers, {} silences, {} schedule overrides, {} acknowledgements, {} escalations, {} escalation steps, {} used links, {} incidents, {} incident components, {} incident alerts, {} incident entries, {} subscribers",
        report.monitors,
        report.results,
        report.state_changes,
        report.rollups,
        report.recent_results,
        report.alerts,
        report.alert_events,
        report.meta,
        report.tokens,
        report.audit,
        report.notification_groups,
        report.deliveries,
        report.delivery_attempts,
        report.disabled_notifiers,
        report.silences,
        report.schedule_overrides,
        report.alert_acks,
        report.escalations,
        report.escalation_steps,
        report.used_links,
        report.incidents,
        report.incident_components,
        report.incident_alerts,
        report.incident_entries,
        report.subscribers
    );
    Ok(())
}

async fn token(path: &Path, command: TokenCommand) -> ExitCode {
    let config = match load(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let store = match Store::open(&config.storage).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let clock = SystemClock::new();
    let done = run_token_command(&store, command, clock.wall()).await;
    store.close().await;
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn run_token_command(
    store: &Store,
    command: TokenCommand,
    now: jiff::Timestamp,
) -> Result<(), TokenCommandError> {
    match command {
        TokenCommand::Create { name, role } => {
            let token = token_command::create(store, &name, role, now).await?;
            // The token alone on stdout, so `TOKEN=$(watchkeeper token create …)` works.
            println!("{}", token.reveal());
            eprintln!(
                "created token {name} ({role}); this is the only time it is shown: keep it now"
            );
        }
        TokenCommand::List => {
            print!("{}", token_command::render_list(&store.tokens().await?));
        }
        TokenCommand::Revoke { name } => match token_command::revoke(store, &name, now).await? {
            Revoked::Already(at) => eprintln!("token {name} was revoked already, at {at}"),
            _ => eprintln!("revoked token {name}; the API refuses it from now on"),
        },
    }
    Ok(())
}

async fn serve(path: &Path, listen: Option<SocketAddr>) -> ExitCode {
    let config = match load(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match run_server(config, listen).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            match error.downcast_ref::<watchkeeper::AppError>() {
                Some(watchkeeper::AppError::TaskDied { .. }) => ExitCode::from(EXIT_TASK_DIED),
                _ => ExitCode::from(EXIT_FAILED),
            }
        }
    }
}

async fn run_server(config: Config, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    match watchkeeper::open_files::raise() {
        Ok(limit) => tracing::debug!(limit, "open-files limit"),
        Err(error) => tracing::warn!(error = %error, "cannot raise the open-files limit"),
    }
    let address = listen.unwrap_or(config.server.listen);
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let app = watchkeeper::App::build(config, listener, clock).await?;
    app.run(watchkeeper::shutdown_signal()).await?;
    Ok(())
}
