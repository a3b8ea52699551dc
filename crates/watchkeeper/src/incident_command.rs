//! `watchkeeper incident list | show | open | update | postmortem`: the
//! incident commands' command lines, run against a server's
//! `/api/v1/incidents` with `watchkeeper::client` (`--server`,
//! `WATCHKEEPER_TOKEN`). `update` renders the template, shows the
//! announcement and posts it (`--preview` only shows it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Value, json};
use watchkeeper::client;

use crate::EXIT_FAILED;
use crate::client_commands::{ServerArgs, client_for, print_answer};

#[derive(Debug, clap::Args)]
pub(crate) struct UpdateArgs {
    /// investigating, identified, monitoring, resolved or postmortem.
    #[arg(long)]
    status: Option<String>,
    /// A template id ([[incident_template]] or a built-in one such as
    /// `identified`); default: the status's own, or none with --message.
    #[arg(long)]
    template: Option<String>,
    /// Your words: the template's `message`, or the whole update.
    #[arg(long)]
    message: Option<String>,
    /// Promise the next update in this long (`30m`); a reminder comes if
    /// none is posted by then.
    #[arg(long)]
    next_update: Option<String>,
    /// Who leads the incident from now.
    #[arg(long)]
    commander: Option<String>,
    /// Show the announcement without posting it.
    #[arg(long)]
    preview: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum IncidentCommand {
    /// List incidents, newest first (--open: only open ones).
    List {
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One incident with its whole timeline.
    Show {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Open an incident by hand (you become its commander unless
    /// --commander says otherwise).
    Open {
        /// What is wrong, as the status page will say it.
        #[arg(long)]
        title: String,
        #[arg(long)]
        severity: String,
        /// An affected component and its impact: `payments=partial_outage`
        /// (degraded_performance, partial_outage, major_outage); repeat.
        #[arg(long = "component")]
        components: Vec<String>,
        #[command(flatten)]
        update: UpdateArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Post an update: render the template, show it, post it.
    Update {
        id: String,
        /// Change a component's impact: `payments=major_outage`; repeat.
        #[arg(long = "component")]
        components: Vec<String>,
        /// Change the severity.
        #[arg(long)]
        severity: Option<String>,
        #[command(flatten)]
        update: UpdateArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Write the postmortem as Markdown, measured from the store.
    Postmortem {
        id: String,
        /// Write it to this file instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// `component=impact` pairs as the API's `components` object.
fn components(pairs: &[String]) -> Result<Value, ExitCode> {
    let mut map = serde_json::Map::new();
    for pair in pairs {
        let Some((component, impact)) = pair.split_once('=') else {
            eprintln!(
                "error: --component {pair:?} must be COMPONENT=IMPACT, e.g. payments=partial_outage"
            );
            return Err(ExitCode::from(EXIT_FAILED));
        };
        map.insert(component.trim().to_owned(), json!(impact.trim()));
    }
    Ok(Value::Object(map))
}

fn update_body(update: UpdateArgs) -> Value {
    let UpdateArgs {
        status,
        template,
        message,
        next_update,
        commander,
        preview,
    } = update;
    let mut body = json!({ "preview": preview });
    for (key, value) in [
        ("status", status),
        ("template", template),
        ("message", message),
        ("next_update", next_update),
        ("commander", commander),
    ] {
        if let Some(value) = value {
            body[key] = json!(value);
        }
    }
    body
}

pub(crate) async fn incident_command(path: &Path, command: IncidentCommand) -> ExitCode {
    match command {
        IncidentCommand::List {
            open,
            limit,
            server,
        } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            let answer = client.incidents(open, limit).await;
            print_answer(answer, server.json, client::render_incidents)
        }
        IncidentCommand::Show { id, server } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            print_answer(
                client.incident(&id).await,
                server.json,
                client::render_incident,
            )
        }
        IncidentCommand::Open {
            title,
            severity,
            components: pairs,
            update,
            server,
        } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            let mut body = update_body(update);
            body["title"] = json!(title);
            body["severity"] = json!(severity);
            body["components"] = match components(&pairs) {
                Ok(components) => components,
                Err(code) => return code,
            };
            let answer = client.open_incident(&body).await;
            print_answer(answer, server.json, client::render_posted)
        }
        IncidentCommand::Update {
            id,
            components: pairs,
            severity,
            update,
            server,
        } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            let mut body = update_body(update);
            if let Some(severity) = severity {
                body["severity"] = json!(severity);
            }
            if !pairs.is_empty() {
                body["components"] = match components(&pairs) {
                    Ok(components) => components,
                    Err(code) => return code,
                };
            }
            let answer = client.update_incident(&id, &body).await;
            print_answer(answer, server.json, client::render_posted)
        }
        IncidentCommand::Postmortem { id, out, server } => {
            let client = match client_for(path, &server) {
                Ok(client) => client,
                Err(code) => return code,
            };
            let markdown = match client.postmortem(&id).await {
                Ok(markdown) => markdown,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(EXIT_FAILED);
                }
            };
            match out {
                None => {
                    print!("{markdown}");
                    ExitCode::SUCCESS
                }
                Some(file) => match std::fs::write(&file, markdown) {
                    Ok(()) => {
                        eprintln!(
                            "wrote the postmortem of incident {id} to {}",
                            file.display()
                        );
                        ExitCode::SUCCESS
                    }
                    Err(error) => {
                        eprintln!("error: cannot write {}: {error}", file.display());
                        ExitCode::from(EXIT_FAILED)
                    }
                },
            }
        }
    }
}
