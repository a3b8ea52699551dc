//! From the raw mirror to the typed model: every semantic rule (durations,
//! addresses, URLs, ids, CEL) is checked here, and every violation is
//! reported, not only the first.
//!
//! Validation runs in two passes. First each section is checked on its own,
//! in its own submodule (`server`, `settings` for `[storage]` and
//! `[probes]`, `component`, `monitor` with a submodule per probe kind, and
//! `conditions`), defining its ids and noting the references it makes to
//! other sections' ids. Then `references` resolves every reference at once,
//! when every file's ids are known. This module runs the passes and holds
//! the helpers every section shares.

mod command;
mod component;
mod conditions;
mod dns;
mod http;
mod monitor;
mod references;
mod schedule;
mod server;
mod settings;
mod tcp;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ConfigError;
use crate::model::Config;
use crate::quantity::parse_size;
use crate::raw::{RawDocument, RawMainFile, RawSections};
use crate::raw_table::RawSize;
use crate::source::{Loc, Located};

/// Collects errors; every check reports through it.
struct Problems<'a>(&'a mut Vec<ConfigError>);

impl Problems<'_> {
    fn at(&mut self, at: &Loc, message: impl Into<String>) {
        self.0.push(ConfigError::at(at, message));
    }

    fn count(&self) -> usize {
        self.0.len()
    }
}

/// Builds the config from the main document and the included ones.
/// `includes_complete` is false when an include could not be read: then a
/// reference is not blamed for naming an id that may be in that file.
/// The result is only meaningful when no error was added.
pub(crate) fn config(
    main: RawDocument,
    included: Vec<RawDocument>,
    files: Vec<PathBuf>,
    includes_complete: bool,
    errors: &mut Vec<ConfigError>,
) -> Config {
    let mut problems = Problems(errors);
    let RawDocument {
        dir,
        main:
            RawMainFile {
                include: _,
                server,
                storage,
                probes,
            },
        sections,
    } = main;
    let server = server::validate_server(server, &mut problems);
    let storage = settings::validate_storage(storage, &dir, &mut problems);
    let probes = settings::validate_probes(probes, &mut problems);

    let mut all_components = Vec::new();
    let mut all_monitors = Vec::new();
    for (dir, sections) in std::iter::once((dir, sections)).chain(
        included
            .into_iter()
            .map(|document| (document.dir, document.sections)),
    ) {
        let RawSections {
            components,
            monitors,
        } = sections;
        all_components.push(components);
        all_monitors.push((dir, monitors));
    }

    let mut defined = references::Defined::default();
    let mut references = references::References::default();
    let components = all_components
        .into_iter()
        .flatten()
        .filter_map(|raw| component::validate_component(raw, &mut defined, &mut problems))
        .collect();
    let mut compiled = conditions::CompiledConditions::default();
    let mut monitors = Vec::new();
    for (dir, raws) in all_monitors {
        for raw in raws {
            let monitor = monitor::validate_monitor(
                raw,
                &dir,
                &mut defined,
                &mut references,
                &mut compiled,
                &mut problems,
            );
            if let Some(monitor) = monitor {
                monitors.push(Arc::new(monitor));
            }
        }
    }

    if includes_complete {
        references::resolve(references, &defined, &mut problems);
    }

    Config {
        server,
        storage,
        probes,
        components,
        monitors,
        files,
    }
}

fn non_empty(
    text: Option<Located<String>>,
    what: &str,
    problems: &mut Problems<'_>,
) -> Option<String> {
    let text = text?;
    if text.value.trim().is_empty() {
        problems.at(&text.at, format!("{what} must not be empty"));
        return None;
    }
    Some(text.value)
}

/// Parses an id and rejects one seen before, pointing at the first.
fn parse_id<Id: std::hash::Hash + Eq + Clone>(
    raw: Option<Located<String>>,
    table_at: &Loc,
    what: &str,
    parse: fn(&str) -> Result<Id, watchkeeper_domain::IdError>,
    seen: &mut HashMap<Id, Loc>,
    problems: &mut Problems<'_>,
) -> Option<Id> {
    let Some(raw) = raw else {
        problems.at(table_at, format!("[[{what}]] is missing `id`"));
        return None;
    };
    let id = match parse(&raw.value) {
        Ok(id) => id,
        Err(error) => {
            problems.at(&raw.at, format!("invalid {what} id: {error}"));
            return None;
        }
    };
    if let Some(first) = seen.get(&id) {
        problems.at(
            &raw.at,
            format!(
                "duplicate {what} id `{}` (first defined at {first})",
                raw.value
            ),
        );
        return None;
    }
    seen.insert(id.clone(), raw.at);
    Some(id)
}

/// Formats a duration the way a user would write it (`90s` as `1m 30s`).
fn humanize(duration: Duration) -> String {
    jiff::SignedDuration::try_from(duration)
        .map_or_else(|_| format!("{duration:?}"), |signed| format!("{signed:#}"))
}

/// `a`, `a or b`, `a, b or c`: one of a few names, for messages.
fn one_of(names: &[&str]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

fn required<T>(
    value: Option<T>,
    probe: &str,
    key: &str,
    at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<T> {
    if value.is_none() {
        problems.at(at, format!("the {probe} probe is missing `{key}`"));
    }
    value
}

fn size(raw: Located<RawSize>, key: &str, problems: &mut Problems<'_>) -> Option<usize> {
    let bytes = match &raw.value {
        RawSize::Bytes(bytes) => u64::try_from(*bytes).ok(),
        RawSize::Text(text) => match parse_size(text) {
            Ok(bytes) => Some(bytes),
            Err(message) => {
                problems.at(&raw.at, message);
                return None;
            }
        },
    };
    match bytes.and_then(|bytes| usize::try_from(bytes).ok()) {
        Some(bytes) if bytes > 0 => Some(bytes),
        _ => {
            problems.at(&raw.at, format!("`{key}` must be more than zero bytes"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_writes_durations_as_users_do() {
        assert_eq!(humanize(Duration::from_secs(90)), "1m 30s");
    }

    #[test]
    fn one_of_joins_names_with_a_final_or() {
        assert_eq!(one_of(&["http"]), "http");
        assert_eq!(one_of(&["http", "tcp"]), "http or tcp");
        assert_eq!(
            one_of(&["http", "tcp", "dns", "command"]),
            "http, tcp, dns or command"
        );
    }
}
