//! One config file's text and the mapping from byte offsets to 1-based
//! line:column positions (columns count characters, not bytes).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use watchkeeper_domain::monitor::RedactedUrlText;

/// A position in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loc {
    pub file: Arc<Path>,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A value read from the config, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located<T> {
    pub value: T,
    pub at: Loc,
}

impl<T> Located<T> {
    pub fn new(value: T, at: Loc) -> Self {
        Self { value, at }
    }
}

/// Where a string value came from. An error message quotes a value only
/// when it was written literally: one taken from the environment or a
/// `*_file` may be a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    Literal,
    /// Interpolated; holds the text as written, with its `${NAME}`s.
    Interpolated(String),
    /// Read from the file named by this key.
    File(String),
}

impl Origin {
    /// `value` as an error message may show it.
    pub fn quote(&self, value: &str) -> String {
        match self {
            Origin::Literal => format!("{value:?}"),
            Origin::Interpolated(written) => format!("{written:?} (its value is not shown)"),
            Origin::File(key) => format!("(read from `{key}`, not shown)"),
        }
    }

    /// A URL as [`Origin::quote`] shows it, and with the password of its
    /// userinfo as `***` (the text may not parse, so it is masked as text).
    pub fn quote_url(&self, value: &str) -> String {
        match self {
            Origin::Literal => self.quote(&RedactedUrlText(value).to_string()),
            Origin::Interpolated(written) => {
                Origin::Interpolated(RedactedUrlText(written).to_string()).quote(value)
            }
            Origin::File(_) => self.quote(value),
        }
    }
}

#[derive(Debug)]
pub(crate) struct SourceFile {
    path: Arc<Path>,
    /// Where relative paths written in this file (includes, `*_file`
    /// secrets, the database, a command's cwd) are resolved from.
    dir: PathBuf,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: &Path, text: String) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(index, _)| index + 1))
            .collect();
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self {
            path: Arc::from(path),
            dir,
            text,
            line_starts,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Resolves a path written in this file against the file's directory.
    pub fn resolve(&self, written: &str) -> PathBuf {
        let written = Path::new(written);
        if written.is_absolute() {
            written.to_path_buf()
        } else {
            self.dir.join(written)
        }
    }

    pub fn loc(&self, offset: usize) -> Loc {
        let offset = offset.min(self.text.len());
        let line_index = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let line_start = self.line_starts[line_index];
        let column = match self.text.get(line_start..offset) {
            Some(before) => before.chars().count() + 1,
            None => offset - line_start + 1,
        };
        Loc {
            file: Arc::clone(&self.path),
            line: line_index + 1,
            column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_lines_and_character_columns() {
        let source = SourceFile::new(Path::new("w.toml"), "a = 1\nbé = \"x\"\n".to_owned());
        let at = |offset| {
            let loc = source.loc(offset);
            (loc.line, loc.column)
        };
        assert_eq!(at(0), (1, 1));
        assert_eq!(at(4), (1, 5));
        assert_eq!(at(6), (2, 1));
        // "é" is two bytes but one column.
        assert_eq!(at(10), (2, 4));
        assert_eq!(at(100), (3, 1));
        assert_eq!(source.loc(6).to_string(), "w.toml:2:1");
    }

    #[test]
    fn relative_paths_resolve_beside_the_file() {
        let source = SourceFile::new(Path::new("/etc/wk/w.toml"), String::new());
        assert_eq!(
            source.resolve("db.sqlite"),
            PathBuf::from("/etc/wk/db.sqlite")
        );
        assert_eq!(source.resolve("/var/db"), PathBuf::from("/var/db"));
        let bare = SourceFile::new(Path::new("w.toml"), String::new());
        assert_eq!(bare.resolve("db.sqlite"), PathBuf::from("db.sqlite"));
    }
}
