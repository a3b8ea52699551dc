//! Config errors as users see them: `FILE:LINE:COL: message`, every one at once.

use std::fmt;
use std::path::PathBuf;

use crate::source::Loc;

/// One problem in a config file, at the 1-based line and column of the
/// offending key or value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", file.display())]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ConfigError {
    pub(crate) fn at(loc: &Loc, message: impl Into<String>) -> Self {
        Self {
            file: loc.file.to_path_buf(),
            line: loc.line,
            column: loc.column,
            message: message.into(),
        }
    }

    /// An error about a whole file (it could not be read), reported at 1:1.
    pub(crate) fn file(file: PathBuf, message: impl Into<String>) -> Self {
        Self {
            file,
            line: 1,
            column: 1,
            message: message.into(),
        }
    }
}

/// Every error found in a config, sorted by file, then line, then column.
/// `Display` prints one error per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub(crate) fn sorted(mut errors: Vec<ConfigError>) -> Self {
        errors.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        Self(errors)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_file_line_column_and_message_one_per_line_sorted() {
        let error = |file: &str, line, column, message: &str| ConfigError {
            file: PathBuf::from(file),
            line,
            column,
            message: message.to_owned(),
        };
        let errors = ConfigErrors::sorted(vec![
            error("b.toml", 1, 1, "third"),
            error("a.toml", 3, 2, "second"),
            error("a.toml", 1, 9, "first"),
        ]);
        assert_eq!(
            errors.to_string(),
            "a.toml:1:9: first\na.toml:3:2: second\nb.toml:1:1: third"
        );
    }
}
