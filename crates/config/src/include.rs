//! `include = ["monitors/*.toml"]`: expanding the main file's glob patterns
//! into the files to load, in a stable order.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use glob::{MatchOptions, Pattern};

use crate::error::ConfigError;
use crate::source::{Located, SourceFile};

const MATCH_OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    // Editors' hidden swap and backup files are not config.
    require_literal_leading_dot: true,
};

/// The files the patterns match, pattern by pattern, each pattern's matches
/// sorted by path; a file matched twice (or the main file itself) is loaded
/// once. Returns whether every pattern expanded cleanly.
pub(crate) fn expand(
    patterns: &[Located<String>],
    main: &SourceFile,
    errors: &mut Vec<ConfigError>,
) -> (Vec<PathBuf>, bool) {
    let mut seen: HashSet<PathBuf> = HashSet::new();
    seen.insert(identity(main.path()));
    let mut files = Vec::new();
    let mut complete = true;
    for pattern in patterns {
        let full = if Path::new(&pattern.value).is_absolute() || main.dir().as_os_str().is_empty() {
            pattern.value.clone()
        } else {
            format!(
                "{}/{}",
                Pattern::escape(&main.dir().to_string_lossy()),
                pattern.value
            )
        };
        let matches = match glob::glob_with(&full, MATCH_OPTIONS) {
            Ok(matches) => matches,
            Err(error) => {
                errors.push(ConfigError::at(
                    &pattern.at,
                    format!("invalid include pattern {:?}: {}", pattern.value, error.msg),
                ));
                complete = false;
                continue;
            }
        };
        let mut matched = 0;
        for entry in matches {
            match entry {
                Ok(path) if path.is_file() => {
                    matched += 1;
                    if seen.insert(identity(&path)) {
                        files.push(path);
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    errors.push(ConfigError::at(
                        &pattern.at,
                        format!(
                            "cannot read {} while expanding {:?}: {}",
                            error.path().display(),
                            pattern.value,
                            error.error()
                        ),
                    ));
                    complete = false;
                }
            }
        }
        if matched == 0 {
            let base = if main.dir().as_os_str().is_empty() {
                Path::new(".")
            } else {
                main.dir()
            };
            errors.push(ConfigError::at(
                &pattern.at,
                format!(
                    "include pattern {:?} matches no file (looked in {})",
                    pattern.value,
                    base.display()
                ),
            ));
            complete = false;
        }
    }
    (files, complete)
}

/// The same file reached by two spellings compares equal.
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
