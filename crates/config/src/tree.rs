//! Reading the spanned TOML tree: typed access to a table's keys with their
//! positions, `${VAR}` interpolation and `K_file` secrets on every string,
//! and rejection of every key nobody asked for (with a "did you mean").
//!
//! Nothing here knows the watchkeeper schema; `raw` says which keys exist.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::bounded_file::{self, FileProblem, SECRET_LIMIT};
use crate::error::ConfigError;
use crate::interpolate::{interpolate, references_variable};
use crate::source::{Loc, Located, Origin, SourceFile};

/// The suffix that makes `K_file = "path"` read `K` from a file.
const FILE_SUFFIX: &str = "_file";

pub(crate) type Node<'i> = Spanned<DeValue<'i>>;

/// Reads one file's tree, collecting errors instead of stopping at the first.
pub(crate) struct Reader<'a> {
    source: &'a SourceFile,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: &'a mut Vec<ConfigError>,
}

impl<'a> Reader<'a> {
    pub fn new(
        source: &'a SourceFile,
        env: &'a dyn Fn(&str) -> Option<String>,
        errors: &'a mut Vec<ConfigError>,
    ) -> Self {
        Self {
            source,
            env,
            errors,
        }
    }

    pub fn source(&self) -> &SourceFile {
        self.source
    }

    pub fn loc(&self, span: std::ops::Range<usize>) -> Loc {
        self.source.loc(span.start)
    }

    pub fn error(&mut self, at: &Loc, message: impl Into<String>) {
        self.errors.push(ConfigError::at(at, message));
    }

    fn type_error(&mut self, node: &Node<'_>, what: &str, expected: &str) {
        let at = self.loc(node.span());
        let found = node.get_ref().type_str();
        self.error(&at, format!("{what} must be {expected}, found {found}"));
    }

    /// A string value, interpolated.
    pub fn text(&mut self, node: &Node<'_>, what: &str) -> Option<Located<String>> {
        self.text_with_origin(node, what).map(|(text, _)| text)
    }

    /// A string value, interpolated, and whether it is quotable as it is.
    fn text_with_origin(
        &mut self,
        node: &Node<'_>,
        what: &str,
    ) -> Option<(Located<String>, Origin)> {
        let at = self.loc(node.span());
        let Some(raw) = node.get_ref().as_str() else {
            self.type_error(node, what, "a string");
            return None;
        };
        match interpolate(raw, self.env) {
            Ok(value) => {
                let origin = if references_variable(raw) {
                    Origin::Interpolated(raw.to_owned())
                } else {
                    Origin::Literal
                };
                Some((Located::new(value, at), origin))
            }
            Err(problems) => {
                for problem in problems {
                    self.error(&at, problem.message());
                }
                None
            }
        }
    }

    /// The contents of the file named by `key` (a `K_file`), trailing
    /// newlines trimmed and not interpolated; only a regular file of at
    /// most 64 KiB (see [`bounded_file`]).
    fn secret_file(&mut self, key: &str, node: &Node<'_>) -> Option<Located<String>> {
        let written = self.text(node, &format!("`{key}`"))?;
        let path = self.source.resolve(&written.value);
        match bounded_file::read_text(&path, SECRET_LIMIT) {
            Ok(contents) => Some(Located::new(
                contents.trim_end_matches(['\n', '\r']).to_owned(),
                written.at,
            )),
            Err(problem) => {
                let file = path.display();
                let message = match problem {
                    FileProblem::Unreadable(error) => {
                        format!("cannot read `{key}` file {file}: {error}")
                    }
                    FileProblem::NotRegular(what) => {
                        format!("`{key}` file {file} is {what}, not a regular file")
                    }
                    FileProblem::TooLarge(_) => format!(
                        "`{key}` file {file} is larger than 64 KiB, the most a secret file may hold"
                    ),
                    FileProblem::NotText => format!("`{key}` file {file} is not UTF-8 text"),
                };
                self.error(&written.at, message);
                None
            }
        }
    }

    pub fn integer(&mut self, node: &Node<'_>, what: &str) -> Option<Located<i64>> {
        let at = self.loc(node.span());
        let Some(integer) = node.get_ref().as_integer() else {
            self.type_error(node, what, "an integer");
            return None;
        };
        match i64::from_str_radix(integer.as_str(), integer.radix()) {
            Ok(value) => Some(Located::new(value, at)),
            Err(_) => {
                self.error(&at, format!("{what} is out of range"));
                None
            }
        }
    }

    pub fn boolean(&mut self, node: &Node<'_>, what: &str) -> Option<Located<bool>> {
        let at = self.loc(node.span());
        match node.get_ref().as_bool() {
            Some(value) => Some(Located::new(value, at)),
            None => {
                self.type_error(node, what, "true or false");
                None
            }
        }
    }

    /// An array of strings, each interpolated and located. Bad elements are
    /// reported and left out.
    pub fn texts(&mut self, node: &Node<'_>, what: &str) -> Option<Located<Vec<Located<String>>>> {
        let at = self.loc(node.span());
        let Some(array) = node.get_ref().as_array() else {
            self.type_error(node, what, "an array of strings");
            return None;
        };
        let items = array
            .iter()
            .filter_map(|item| self.text(item, &format!("each element of {what}")))
            .collect();
        Some(Located::new(items, at))
    }

    /// A table of string values such as `headers` or `env`: keys are kept as
    /// written (not interpolated), `NAME_file` reads `NAME`'s value from a file.
    pub fn text_map(
        &mut self,
        node: &Node<'_>,
        what: &str,
    ) -> Option<Vec<(Located<String>, Located<String>)>> {
        let Some(table) = node.get_ref().as_table() else {
            self.type_error(node, what, "a table of strings");
            return None;
        };
        let mut entries = Vec::new();
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            let key_at = self.loc(key.span());
            if let Some(base) = name
                .strip_suffix(FILE_SUFFIX)
                .filter(|base| !base.is_empty())
            {
                if table.contains_key(base) {
                    self.error(
                        &key_at,
                        format!("give either `{base}` or `{name}` in {what}, not both"),
                    );
                    continue;
                }
                if let Some(text) = self.secret_file(name, value) {
                    entries.push((Located::new(base.to_owned(), key_at), text));
                }
            } else if let Some(text) = self.text(value, &format!("`{name}` in {what}")) {
                entries.push((Located::new(name.to_owned(), key_at), text));
            }
        }
        // Written order, not the map's key order.
        entries.sort_by_key(|(key, _)| (key.at.line, key.at.column));
        Some(entries)
    }
}

/// One table being read: every key asked for becomes allowed; `finish`
/// reports the keys nobody asked for.
pub(crate) struct Fields<'t, 'i> {
    table: &'t DeTable<'i>,
    /// How messages name this table, e.g. `[server]` or `the http probe`.
    section: String,
    allowed: Vec<String>,
    used: Vec<String>,
}

impl<'t, 'i> Fields<'t, 'i> {
    pub fn new(table: &'t DeTable<'i>, section: impl Into<String>) -> Self {
        Self {
            table,
            section: section.into(),
            allowed: Vec::new(),
            used: Vec::new(),
        }
    }

    /// The raw node under `key`, marking the key as known and used.
    pub fn node(&mut self, key: &str) -> Option<&'t Node<'i>> {
        self.allowed.push(key.to_owned());
        let node = self.table.get(key)?;
        self.used.push(key.to_owned());
        Some(node)
    }

    /// Where `key` itself is written, if present.
    pub fn key_loc(&self, reader: &Reader<'_>, key: &str) -> Option<Loc> {
        self.table
            .get_key_value(key)
            .map(|(key, _)| reader.loc(key.span()))
    }

    /// A string under `key`, or read from the file named by `key_file`.
    pub fn text(&mut self, reader: &mut Reader<'_>, key: &str) -> Option<Located<String>> {
        self.text_with_origin(reader, key).map(|(text, _)| text)
    }

    /// [`Fields::text`], and where the value came from, so that an error
    /// about it quotes it only when that gives nothing away.
    pub fn text_with_origin(
        &mut self,
        reader: &mut Reader<'_>,
        key: &str,
    ) -> Option<(Located<String>, Origin)> {
        let file_key = format!("{key}{FILE_SUFFIX}");
        let direct = self.node(key);
        let from_file = self.node(&file_key);
        match (direct, from_file) {
            (Some(_), Some(_)) => {
                let at = self
                    .key_loc(reader, &file_key)
                    .unwrap_or_else(|| reader.loc(0..0));
                reader.error(
                    &at,
                    format!(
                        "give either `{key}` or `{file_key}` in {}, not both",
                        self.section
                    ),
                );
                None
            }
            (Some(node), None) => reader.text_with_origin(node, &format!("`{key}`")),
            (None, Some(node)) => reader
                .secret_file(&file_key, node)
                .map(|text| (text, Origin::File(file_key))),
            (None, None) => None,
        }
    }

    pub fn integer(&mut self, reader: &mut Reader<'_>, key: &str) -> Option<Located<i64>> {
        let node = self.node(key)?;
        reader.integer(node, &format!("`{key}`"))
    }

    pub fn boolean(&mut self, reader: &mut Reader<'_>, key: &str) -> Option<Located<bool>> {
        let node = self.node(key)?;
        reader.boolean(node, &format!("`{key}`"))
    }

    pub fn texts(
        &mut self,
        reader: &mut Reader<'_>,
        key: &str,
    ) -> Option<Located<Vec<Located<String>>>> {
        let node = self.node(key)?;
        reader.texts(node, &format!("`{key}`"))
    }

    pub fn text_map(
        &mut self,
        reader: &mut Reader<'_>,
        key: &str,
    ) -> Option<Vec<(Located<String>, Located<String>)>> {
        let node = self.node(key)?;
        reader.text_map(node, &format!("`{key}`"))
    }

    /// A sub-table (`[server]`, `http = { … }`) and where it starts.
    pub fn table(&mut self, reader: &mut Reader<'_>, key: &str) -> Option<(Loc, &'t DeTable<'i>)> {
        let node = self.node(key)?;
        match node.get_ref().as_table() {
            Some(table) => Some((reader.loc(node.span()), table)),
            None => {
                reader.type_error(node, &format!("`{key}`"), "a table");
                None
            }
        }
    }

    /// The tables of `[[key]]`, each with where it starts.
    pub fn tables(&mut self, reader: &mut Reader<'_>, key: &str) -> Vec<(Loc, &'t DeTable<'i>)> {
        let Some(node) = self.node(key) else {
            return Vec::new();
        };
        let Some(array) = node.get_ref().as_array() else {
            reader.type_error(
                node,
                &format!("`{key}`"),
                &format!("an array of tables ([[{key}]])"),
            );
            return Vec::new();
        };
        array
            .iter()
            .filter_map(|item| match item.get_ref().as_table() {
                Some(table) => Some((reader.loc(item.span()), table)),
                None => {
                    reader.type_error(item, &format!("each `{key}`"), "a table");
                    None
                }
            })
            .collect()
    }

    /// Reports a key that is present but may not be written here.
    pub fn forbid(&mut self, reader: &mut Reader<'_>, key: &str, why: &str) {
        if let Some(at) = self.key_loc(reader, key) {
            self.used.push(key.to_owned());
            reader.error(&at, why);
        }
    }

    /// The allowed keys worth listing: `K_file` goes without saying.
    fn listed(&self) -> Vec<&str> {
        self.allowed
            .iter()
            .map(String::as_str)
            .filter(|key| {
                key.strip_suffix(FILE_SUFFIX)
                    .is_none_or(|base| !self.allowed.iter().any(|allowed| allowed == base))
            })
            .collect()
    }

    /// Reports every key of the table that was never asked for.
    pub fn finish(self, reader: &mut Reader<'_>) {
        for (key, _) in self.table.iter() {
            let name: &str = key.get_ref().as_ref();
            if self.used.iter().any(|used| used == name) {
                continue;
            }
            let hint = match watchkeeper_domain::suggest::closest(
                name,
                self.allowed.iter().map(String::as_str),
            ) {
                Some(similar) => format!("; did you mean `{similar}`?"),
                None => format!("; expected one of: {}", self.listed().join(", ")),
            };
            let at = reader.loc(key.span());
            reader.error(
                &at,
                format!("unknown key `{name}` in {}{hint}", self.section),
            );
        }
    }
}

/// Parses a whole document, or returns the first syntax error with its offset.
pub(crate) fn parse_document(text: &str) -> Result<Spanned<DeTable<'_>>, (usize, String)> {
    DeTable::parse(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        (offset, error.message().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_carry_their_offset() {
        let (offset, message) = parse_document("a = 1\nb = \n").unwrap_err();
        assert_eq!(offset, 10);
        assert!(
            message.contains("string values must be quoted"),
            "{message}"
        );
        let document = parse_document("b = 1\na = 2\n").unwrap();
        assert_eq!(document.get_ref().len(), 2);
    }
}
