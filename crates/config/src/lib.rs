//! The only code that knows the watchkeeper.toml format: it reads the main
//! file and the files it includes, and turns them into a validated
//! [`Config`], or reports every problem at once as `FILE:LINE:COL: message`.
//!
//! Layers, each in its own module:
//! - `source`: a file's text and offset → line:column;
//! - `tree`: typed, positioned access to the parsed TOML, `${VAR}`
//!   interpolation, `*_file` secrets (read by `bounded_file`: a regular
//!   file of at most 64 KiB), unknown-key rejection;
//! - `raw`: the raw mirror of the format (which keys exist where), each
//!   table declared once with `raw_table`'s macros, which generate its
//!   reader;
//! - `validate`: the rules, section by section, then a pass that resolves
//!   references between sections, producing the `model` types ([`Config`]
//!   and its parts).
//!
//! Adding a key costs its declaration in `raw` and its rule in the
//! table's `validate` function (which destructures the raw struct whole,
//! so a declared key does not compile until it is validated); see
//! ARCHITECTURE.md, "Adding a config key".
//!
//! The format is documented in `docs/config.md`.

mod bounded_file;
mod error;
mod include;
mod interpolate;
mod model;
mod quantity;
mod raw;
mod raw_table;
mod source;
mod tree;
mod validate;

use std::path::Path;

pub use error::{ConfigError, ConfigErrors};
pub use model::{
    AlertRule, AlertingConfig, AlertingSettings, DEFAULT_FAILURE_THRESHOLD, DEFAULT_SEVERITIES,
    DEFAULT_SEVERITY, DEFAULT_SUCCESS_THRESHOLD, MAX_THRESHOLD, MIN_SLO_PERIOD, MonitorAlerting,
    Severities, Slo, Targets,
};
pub use model::{
    ApiConfig, Component, Config, DEFAULT_DATABASE_FILE, DEFAULT_HEADER_TIMEOUT, DEFAULT_INTERVAL,
    DEFAULT_LISTEN, DEFAULT_RAW_RETENTION, DEFAULT_ROLLUP_RETENTION, DEFAULT_TIMEOUT, Database,
    MAX_CONCURRENCY, MAX_CONNECTIONS, MAX_HEADER_TIMEOUT, MAX_REDIRECTS_LIMIT, MIN_HEADER_TIMEOUT,
    MIN_INTERVAL, MIN_RAW_RETENTION, MIN_ROLLUP_RETENTION, PostgresUrl, ProbesConfig, ServerConfig,
    StorageConfig,
};
pub use model::{
    DEFAULT_JOIN_WINDOW, DEFAULT_LINK_EXPIRY, IncidentsConfig, OnCallConfig, PageTemplates,
    StatusPageConfig,
};

use raw::FileRole;
use source::SourceFile;
use tree::Reader;

/// Loads the config at `path`, reading `${VAR}`s from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, &|name| std::env::var(name).ok())
}

/// Loads the config at `path`, reading `${VAR}`s through `env`.
pub fn load_with(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let text = bounded_file::read_text(path, bounded_file::CONFIG_LIMIT).map_err(|problem| {
        ConfigErrors(vec![ConfigError::file(
            path.to_path_buf(),
            format!(
                "cannot read config file: {}",
                unreadable_config(path, &problem)
            ),
        )])
    })?;
    load_str(path, &text, env)
}

/// Why the config file could not be read; a missing one says where it
/// was looked for and how to name another, since the default path is
/// relative to wherever the command ran.
fn unreadable_config(path: &Path, problem: &bounded_file::FileProblem) -> String {
    match problem {
        bounded_file::FileProblem::Unreadable(error)
            if error.kind() == std::io::ErrorKind::NotFound =>
        {
            let place = match std::env::current_dir() {
                Ok(dir) if path.is_relative() => format!(" in {}", dir.display()),
                _ => String::new(),
            };
            format!(
                "there is no such file{place}; give its path with --config PATH or set WATCHKEEPER_CONFIG"
            )
        }
        problem => problem.to_string(),
    }
}

/// Loads a config whose main file's text is given; `path` names it in
/// errors, and includes, `*_file` secrets and relative paths resolve
/// against its directory.
pub fn load_str(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let main = SourceFile::new(path, text.to_owned());
    let tree = tree::parse_document(main.text()).map_err(|(offset, message)| {
        ConfigErrors(vec![ConfigError::at(&main.loc(offset), message)])
    })?;
    let main_document = raw::read_document(
        &mut Reader::new(&main, env, &mut errors),
        tree.get_ref(),
        FileRole::Main,
    );
    // The spanned tree is several times the size of what was read from it
    // (about 2 KB per monitor); free it before validation builds the model.
    drop(tree);

    let mut files = vec![path.to_path_buf()];
    let mut included = Vec::new();
    let (include_paths, mut complete) =
        include::expand(&main_document.main.include, &main, &mut errors);
    for include_path in include_paths {
        let text = match bounded_file::read_text(&include_path, bounded_file::CONFIG_LIMIT) {
            Ok(text) => text,
            Err(error) => {
                errors.push(ConfigError::file(
                    include_path,
                    format!("cannot read included file: {error}"),
                ));
                complete = false;
                continue;
            }
        };
        let source = SourceFile::new(&include_path, text);
        match tree::parse_document(source.text()) {
            Ok(tree) => included.push(raw::read_document(
                &mut Reader::new(&source, env, &mut errors),
                tree.get_ref(),
                FileRole::Included,
            )),
            Err((offset, message)) => {
                errors.push(ConfigError::at(&source.loc(offset), message));
                complete = false;
            }
        }
        files.push(include_path);
    }

    let config = validate::config(main_document, included, files, complete, &mut errors);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors::sorted(errors))
    }
}
