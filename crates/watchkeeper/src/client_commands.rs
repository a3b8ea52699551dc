//! The client commands of the binary (`alert list | ack | unack | resolve`, `silence add | list |
//! expire`, `oncall`, `oncall override add | list | remove`): their command lines, and running them against a server with
//! `watchkeeper::client`, printing tables or JSON, exit codes as `main`'s.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use watchkeeper::client;

use crate::{EXIT_FAILED, load};

/// Where the client commands find the server, and with which token.
#[derive(Debug, clap::Args)]
pub(crate) struct ServerArgs {
    /// The server's base URL; default: WATCHKEEPER_SERVER, else the
    /// config's [server] listen address.
    #[arg(long, env = "WATCHKEEPER_SERVER")]
    server: Option<String>,
    /// Print the server's JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AlertCommand {
    /// List every alert, firing first, with why a quiet one is not sent.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Acknowledge a firing alert (by its fingerprint, as `alert list`
    /// shows it): its escalation stops. The token's name is recorded.
    Ack {
        fingerprint: String,
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Take an acknowledgement back (the escalation does not restart).
    Unack {
        fingerprint: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Resolve a firing alert by hand (announced like any resolution; it
    /// fires again if its rule still holds on the next result).
    Resolve {
        fingerprint: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SilenceCommand {
    /// Silence the alerts the matchers select, from now (the token's name
    /// is recorded as its author).
    Add {
        /// A matcher (`severity=P2`, `team=~"pay.*"`); repeat for more, all must match.
        #[arg(long = "match", required = true)]
        matchers: Vec<String>,
        /// How long: `2h`, `90m`.
        #[arg(long = "for", conflicts_with = "until")]
        duration: Option<String>,
        /// Until this RFC 3339 instant.
        #[arg(long)]
        until: Option<String>,
        /// Why (required).
        #[arg(long)]
        comment: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List active and pending silences (--all: expired too).
    List {
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// End a silence now.
    Expire {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// `oncall`: who is on call; `oncall override …`: swaps at run time.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct OncallArgs {
    #[command(subcommand)]
    command: Option<OverrideGroup>,
    /// Who is on call at this RFC 3339 instant instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Only this schedule.
    #[arg(long)]
    schedule: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum OverrideGroup {
    /// Overrides: someone on call instead, for a span, without a deploy.
    Override {
        #[command(subcommand)]
        command: OverrideCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum OverrideCommand {
    /// Put PERSON on call on SCHEDULE from --start (default now) for --for
    /// or until --end (the token's name is recorded as its author).
    Add {
        schedule: String,
        #[arg(long)]
        person: String,
        /// RFC 3339; default now.
        #[arg(long)]
        start: Option<String>,
        /// RFC 3339.
        #[arg(
            long,
            conflicts_with = "duration",
            required_unless_present = "duration"
        )]
        end: Option<String>,
        /// How long: `8h`, `2d`.
        #[arg(long = "for")]
        duration: Option<String>,
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// The overrides of SCHEDULE that are not over yet.
    List {
        schedule: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove override ID from SCHEDULE.
    Remove {
        schedule: String,
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// The client for `args`: its `--server`, else the config's listen
/// address (the config is read only for that).
pub(crate) fn client_for(path: &Path, args: &ServerArgs) -> Result<client::Client, ExitCode> {
    let server = match &args.server {
        Some(server) => server.clone(),
        None => match load(path) {
            Ok(config) => format!("http://{}", config.server.listen),
            Err(code) => return Err(code),
        },
    };
    let token = std::env::var("WATCHKEEPER_TOKEN").ok();
    client::Client::new(&server, token).map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::from(EXIT_FAILED)
    })
}

/// Prints a client command's answer (`render` unless `--json`).
pub(crate) fn print_answer(
    answer: Result<serde_json::Value, client::ClientError>,
    json: bool,
    render: fn(&serde_json::Value) -> String,
) -> ExitCode {
    match answer {
        Ok(body) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                );
            } else {
                print!("{}", render(&body));
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

pub(crate) async fn alert_command(path: &Path, command: AlertCommand) -> ExitCode {
    match command {
        AlertCommand::List { server } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            print_answer(client.alerts().await, server.json, client::render_alerts)
        }
        AlertCommand::Ack {
            fingerprint,
            comment,
            server,
        } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            let answer = client.acknowledge(&fingerprint, comment.as_deref()).await;
            print_answer(answer, server.json, client::render_ack)
        }
        AlertCommand::Unack {
            fingerprint,
            server,
        } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            let answer = client.unacknowledge(&fingerprint).await;
            print_answer(answer, server.json, client::render_ack)
        }
        AlertCommand::Resolve {
            fingerprint,
            server,
        } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            let answer = client.resolve(&fingerprint).await;
            print_answer(answer, server.json, client::render_resolved)
        }
    }
}

pub(crate) async fn silence_command(path: &Path, command: SilenceCommand) -> ExitCode {
    match command {
        SilenceCommand::Add {
            matchers,
            duration,
            until,
            comment,
            server,
        } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            let answer = client
                .add_silence(&matchers, duration.as_deref(), until.as_deref(), &comment)
                .await;
            print_answer(answer, server.json, client::render_silence)
        }
        SilenceCommand::List { all, server } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            print_answer(
                client.silences(all).await,
                server.json,
                client::render_silences,
            )
        }
        SilenceCommand::Expire { id, server } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            print_answer(
                client.expire_silence(&id).await,
                server.json,
                client::render_silence,
            )
        }
    }
}

pub(crate) async fn oncall_command(path: &Path, args: OncallArgs) -> ExitCode {
    let OncallArgs {
        command,
        at,
        schedule,
        server,
    } = args;
    let Some(OverrideGroup::Override { command }) = command else {
        let client = match client_for(path, &server) {
            Ok(client) => client,
            Err(code) => return code,
        };
        let answer = client.oncall(at.as_deref(), schedule.as_deref()).await;
        return print_answer(answer, server.json, client::render_oncall);
    };
    match command {
        OverrideCommand::Add {
            schedule,
            person,
            start,
            end,
            duration,
            comment,
            server,
        } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            let mut body = serde_json::json!({ "person": person });
            for (key, value) in [
                ("start", start),
                ("end", end),
                ("duration", duration),
                ("comment", comment),
            ] {
                if let Some(value) = value {
                    body[key] = serde_json::json!(value);
                }
            }
            let answer = client.add_override(&schedule, &body).await;
            print_answer(answer, server.json, client::render_override)
        }
        OverrideCommand::List { schedule, server } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            print_answer(
                client.overrides(&schedule).await,
                server.json,
                client::render_overrides,
            )
        }
        OverrideCommand::Remove {
            schedule,
            id,
            server,
        } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            print_answer(
                client.remove_override(&schedule, &id).await,
                server.json,
                client::render_override,
            )
        }
    }
}
