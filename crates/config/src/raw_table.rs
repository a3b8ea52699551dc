//! Declaring a raw table once: `raw_table!` turns a struct whose fields name
//! their TOML key into the struct, its reader (every key read through
//! [`FromField`], every other key an "unknown key" error with a "did you
//! mean") and the list of its keys; `raw_one_of!` declares a set of keys of
//! which a table holds exactly one (a monitor's probe). The kinds of value
//! a field can hold are the [`FromField`] impls in `kinds`; `raw` holds the
//! declarations themselves.
//!
//! Reading never stops at an error: a value of the wrong type is reported
//! at its position and read as absent, so every error of a file is
//! collected in one pass. Whether a value is *valid* is `validate`'s job.

mod kinds;

use toml::de::DeTable;

pub(crate) use kinds::{Flag, Integer, QuotableText, RawSize, Size, Text, TextList, TextMap};

use crate::source::Loc;
use crate::tree::{Fields, Reader};

/// How a key is written, for messages and the docs: `key`, `[key]` or
/// `[[key]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Value,
    Table,
    Tables,
}

/// A key a table allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub name: &'static str,
    pub shape: Shape,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.shape {
            Shape::Value => write!(f, "`{}`", self.name),
            Shape::Table => write!(f, "[{}]", self.name),
            Shape::Tables => write!(f, "[[{}]]", self.name),
        }
    }
}

/// A kind of value a declared field holds, read from the key (or keys) `K`
/// names. Absent keys read as `None`, an empty list or the default;
/// present ones of the wrong type are reported and read as absent.
pub(crate) trait FromField<K>: Sized {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: K) -> Self;

    /// How the key is written (a plain value unless said otherwise).
    fn shape(_key: &K) -> Shape {
        Shape::Value
    }

    /// Visits the tables this field holds, for the docs test.
    #[cfg(test)]
    fn visit_tables(_key: &K, _visit: &mut dyn FnMut(&'static str, Vec<Key>)) {}
}

/// The TOML key names a field's `K` stands for.
pub(crate) trait FieldKey {
    fn names(&self) -> Vec<&'static str>;
}

impl FieldKey for &'static str {
    fn names(&self) -> Vec<&'static str> {
        vec![*self]
    }
}

impl FieldKey for &'static [&'static str] {
    fn names(&self) -> Vec<&'static str> {
        self.to_vec()
    }
}

/// A table declared with `raw_table!`.
pub(crate) trait Table: Sized {
    /// How messages name the table: `[server]`, `[[monitor]]`, `http`.
    const SECTION: &'static str;

    /// Reads the declared keys from `fields`, leaving the unknown-key
    /// check to the caller (the top level reads two tables' keys from one
    /// [`Fields`]). `start` is where the table starts.
    fn read_fields(reader: &mut Reader<'_>, start: Loc, fields: &mut Fields<'_, '_>) -> Self;

    /// The keys, in declaration order.
    fn keys() -> Vec<Key>;

    /// Visits this table's section and keys, then those of the tables in
    /// it (for the docs test).
    #[cfg(test)]
    fn visit(visit: &mut dyn FnMut(&'static str, Vec<Key>));

    /// Reads `table`, which starts at `start`, and reports every key not
    /// declared.
    fn read(reader: &mut Reader<'_>, start: Loc, table: &DeTable<'_>) -> Self {
        let mut fields = Fields::new(table, Self::SECTION);
        let value = Self::read_fields(reader, start, &mut fields);
        fields.finish(reader);
        value
    }
}

/// A large table stays behind a box where it is one of several.
impl<T: Table> Table for Box<T> {
    const SECTION: &'static str = T::SECTION;

    fn read_fields(reader: &mut Reader<'_>, start: Loc, fields: &mut Fields<'_, '_>) -> Self {
        Box::new(T::read_fields(reader, start, fields))
    }

    fn keys() -> Vec<Key> {
        T::keys()
    }

    #[cfg(test)]
    fn visit(visit: &mut dyn FnMut(&'static str, Vec<Key>)) {
        T::visit(visit);
    }
}

/// Declares a raw table: the struct, with `pub` fields, and its [`Table`]
/// impl. Each field is `name: Kind = "key"`, read in the order written
/// (which is also the order an "expected one of" lists them); the kind is
/// a type with a [`FromField`] impl. `Text` fields also accept
/// `key_file = "path"` (a secret read from a file).
///
/// Two forms:
/// - `struct RawServer in "[server]" { … }`: a table under a key
///   (`[server]`, `http = { … }`), `Default` when absent; a field of this
///   type reads it.
/// - `struct RawMonitor in "[[monitor]]" { at, … }`: an element of an array
///   of tables, with `at`, where it starts; a `Vec<RawMonitor>` field reads
///   them all.
macro_rules! raw_table {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $section:literal {
            at,
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty = $key:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug)]
        $vis struct $name {
            /// Where the table starts.
            pub at: $crate::source::Loc,
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        $crate::raw_table::raw_table!(@impl $name, $section, [at], $( $field : $ty = $key ),*);

        impl $crate::raw_table::FromField<&'static str> for Vec<$name> {
            fn from_field(
                fields: &mut $crate::tree::Fields<'_, '_>,
                reader: &mut $crate::tree::Reader<'_>,
                key: &'static str,
            ) -> Self {
                fields
                    .tables(reader, key)
                    .into_iter()
                    .map(|(start, table)| {
                        <$name as $crate::raw_table::Table>::read(reader, start, table)
                    })
                    .collect()
            }

            fn shape(_key: &&'static str) -> $crate::raw_table::Shape {
                $crate::raw_table::Shape::Tables
            }

            #[cfg(test)]
            fn visit_tables(
                _key: &&'static str,
                visit: &mut dyn FnMut(&'static str, Vec<$crate::raw_table::Key>),
            ) {
                <$name as $crate::raw_table::Table>::visit(visit);
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $section:literal {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty = $key:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        $vis struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        $crate::raw_table::raw_table!(@impl $name, $section, [], $( $field : $ty = $key ),*);

        impl $crate::raw_table::FromField<&'static str> for $name {
            fn from_field(
                fields: &mut $crate::tree::Fields<'_, '_>,
                reader: &mut $crate::tree::Reader<'_>,
                key: &'static str,
            ) -> Self {
                match fields.table(reader, key) {
                    Some((start, table)) => {
                        <$name as $crate::raw_table::Table>::read(reader, start, table)
                    }
                    None => Self::default(),
                }
            }

            fn shape(_key: &&'static str) -> $crate::raw_table::Shape {
                $crate::raw_table::Shape::Table
            }

            #[cfg(test)]
            fn visit_tables(
                _key: &&'static str,
                visit: &mut dyn FnMut(&'static str, Vec<$crate::raw_table::Key>),
            ) {
                <$name as $crate::raw_table::Table>::visit(visit);
            }
        }
    };
    (@impl $name:ident, $section:literal, [$($at:ident)?], $( $field:ident : $ty:ty = $key:expr ),*) => {
        impl $crate::raw_table::Table for $name {
            const SECTION: &'static str = $section;

            #[allow(unused_variables)]
            fn read_fields(
                reader: &mut $crate::tree::Reader<'_>,
                start: $crate::source::Loc,
                fields: &mut $crate::tree::Fields<'_, '_>,
            ) -> Self {
                Self {
                    $( $at: start, )?
                    $( $field: <$ty as $crate::raw_table::FromField<_>>::from_field(fields, reader, $key), )*
                }
            }

            fn keys() -> Vec<$crate::raw_table::Key> {
                let mut keys = Vec::new();
                $(
                    let shape = <$ty as $crate::raw_table::FromField<_>>::shape(&$key);
                    keys.extend(
                        $crate::raw_table::FieldKey::names(&$key)
                            .into_iter()
                            .map(|name| $crate::raw_table::Key { name, shape }),
                    );
                )*
                keys
            }

            #[cfg(test)]
            fn visit(visit: &mut dyn FnMut(&'static str, Vec<$crate::raw_table::Key>)) {
                visit($section, <Self as $crate::raw_table::Table>::keys());
                $( <$ty as $crate::raw_table::FromField<_>>::visit_tables(&$key, visit); )*
            }
        }
    };
}
pub(crate) use raw_table;

/// Declares keys of which a table may hold one, each a table of its own
/// kind (`http = { … }`, `tcp = { … }`): the enum, its `KEYS` in the order
/// declared, `key()`, and a reader for a `Vec<Located<Enum>>` field
/// (`= Enum::KEYS`) that holds every one given, in that order, each located
/// at its key. Whether exactly one was given is `validate`'s to say.
macro_rules! raw_one_of {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident($payload:ty) = $key:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant($payload), )*
        }

        impl $name {
            /// The keys, in the order declared (and documented).
            pub(crate) const KEYS: &'static [&'static str] = &[$($key),*];

            /// The key this one was given under.
            pub(crate) fn key(&self) -> &'static str {
                match self {
                    $( $name::$variant(_) => $key, )*
                }
            }
        }

        impl $crate::raw_table::FromField<&'static [&'static str]>
            for Vec<$crate::source::Located<$name>>
        {
            fn from_field(
                fields: &mut $crate::tree::Fields<'_, '_>,
                reader: &mut $crate::tree::Reader<'_>,
                _keys: &'static [&'static str],
            ) -> Self {
                let mut given = Vec::new();
                $(
                    match fields.key_loc(reader, $key) {
                        // Still allowed, for the unknown-key check.
                        None => {
                            let _ = fields.node($key);
                        }
                        Some(key_at) => {
                            if let Some((_, table)) = fields.table(reader, $key) {
                                let value = <$payload as $crate::raw_table::Table>::read(
                                    reader,
                                    key_at.clone(),
                                    table,
                                );
                                given.push($crate::source::Located::new(
                                    $name::$variant(value),
                                    key_at,
                                ));
                            }
                        }
                    }
                )*
                given
            }

            fn shape(_keys: &&'static [&'static str]) -> $crate::raw_table::Shape {
                $crate::raw_table::Shape::Table
            }

            #[cfg(test)]
            fn visit_tables(
                _keys: &&'static [&'static str],
                visit: &mut dyn FnMut(&'static str, Vec<$crate::raw_table::Key>),
            ) {
                $( <$payload as $crate::raw_table::Table>::visit(visit); )*
            }
        }
    };
}
pub(crate) use raw_one_of;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::error::ConfigError;
    use crate::source::{Located, Origin, SourceFile};

    raw_table! {
        /// Every kind of value, nested.
        struct RawSample in "[sample]" {
            text: Text = "text",
            quoted: QuotableText = "quoted",
            list: TextList = "list",
            plain_list: Vec<Located<String>> = "plain_list",
            map: TextMap = "map",
            number: Integer = "number",
            flag: Flag = "flag",
            size: Size = "size",
            inner: RawInner = "inner",
            items: Vec<RawItem> = "item",
            kinds: Vec<Located<RawKind>> = RawKind::KEYS,
        }
    }

    raw_table! {
        struct RawInner in "inner" {
            value: Text = "value",
        }
    }

    raw_table! {
        struct RawItem in "[[item]]" {
            at,
            id: Text = "id",
        }
    }

    raw_one_of! {
        enum RawKind {
            First(RawInner) = "first",
            Second(Box<RawInner>) = "second",
        }
    }

    fn read(text: &str) -> (RawSample, Vec<String>) {
        let source = SourceFile::new(Path::new("t.toml"), text.to_owned());
        let tree = crate::tree::parse_document(source.text()).unwrap();
        let mut errors: Vec<ConfigError> = Vec::new();
        let env = |name: &str| (name == "HOME").then(|| "/home/wk".to_owned());
        let sample = {
            let mut reader = Reader::new(&source, &env, &mut errors);
            RawSample::read(&mut reader, source.loc(0), tree.get_ref())
        };
        // Sorted by position, as the loader reports them.
        let errors = crate::error::ConfigErrors::sorted(errors)
            .iter()
            .map(ToString::to_string)
            .collect();
        (sample, errors)
    }

    #[test]
    fn every_kind_of_value_is_read_with_its_position() {
        let (sample, errors) = read(
            "text = \"${HOME}/x\"\nquoted = \"q\"\nlist = [\"a\", \"b\"]\nplain_list = [\"c\"]\n\
             map = { B = \"2\", A = \"1\" }\nnumber = 7\nflag = true\nsize = \"1KiB\"\n\
             inner = { value = \"v\" }\nsecond = { value = \"s\" }\n\
             [[item]]\nid = \"one\"\n[[item]]\nid = \"two\"\n",
        );
        assert_eq!(errors, Vec::<String>::new());
        let text = sample.text.unwrap();
        assert_eq!(
            (text.value.as_str(), text.at.line, text.at.column),
            ("/home/wk/x", 1, 8)
        );
        let (quoted, origin) = sample.quoted.unwrap();
        assert_eq!((quoted.value.as_str(), origin), ("q", Origin::Literal));
        let list: Vec<String> = sample
            .list
            .unwrap()
            .value
            .into_iter()
            .map(|item| item.value)
            .collect();
        assert_eq!(list, ["a", "b"]);
        assert_eq!(sample.plain_list[0].value, "c");
        let map: Vec<(String, String)> = sample
            .map
            .into_iter()
            .map(|(name, value)| (name.value, value.value))
            .collect();
        assert_eq!(
            map,
            [
                ("B".to_owned(), "2".to_owned()),
                ("A".to_owned(), "1".to_owned())
            ]
        );
        assert_eq!(sample.number.unwrap().value, 7);
        assert!(sample.flag.unwrap().value);
        assert_eq!(sample.size.unwrap().value, RawSize::Text("1KiB".to_owned()));
        assert_eq!(sample.inner.value.unwrap().value, "v");
        let items: Vec<(String, usize)> = sample
            .items
            .into_iter()
            .map(|item| (item.id.unwrap().value, item.at.line))
            .collect();
        assert_eq!(items, [("one".to_owned(), 11), ("two".to_owned(), 13)]);
        assert_eq!(sample.kinds.len(), 1);
        assert_eq!(sample.kinds[0].value.key(), "second");
        let RawKind::Second(second) = &sample.kinds[0].value else {
            panic!("{:?}", sample.kinds)
        };
        assert_eq!(second.value.as_ref().unwrap().value, "s");
        assert_eq!(
            (sample.kinds[0].at.line, sample.kinds[0].at.column),
            (10, 1)
        );
    }

    #[test]
    fn absent_keys_read_as_absent_and_wrong_types_are_all_reported() {
        let (sample, errors) = read("");
        assert!(sample.text.is_none() && sample.items.is_empty() && sample.kinds.is_empty());
        assert!(sample.inner.value.is_none() && sample.map.is_empty());

        let (sample, errors_of_bad) = read(
            "text = 1\nnumber = \"x\"\nsize = true\ninner = 3\nfirst = 1\nitem = 2\n\
             [sample_typo]\n",
        );
        assert!(errors.is_empty());
        assert!(sample.text.is_none() && sample.number.is_none() && sample.size.is_none());
        assert_eq!(
            errors_of_bad,
            [
                "t.toml:1:8: `text` must be a string, found integer",
                "t.toml:2:10: `number` must be an integer, found string",
                "t.toml:3:8: `size` must be a size like \"1MiB\" or a number of bytes, found boolean",
                "t.toml:4:9: `inner` must be a table, found integer",
                "t.toml:5:9: `first` must be a table, found integer",
                "t.toml:6:8: `item` must be an array of tables ([[item]]), found integer",
                "t.toml:7:2: unknown key `sample_typo` in [sample]; expected one of: text, quoted, \
                 list, plain_list, map, number, flag, size, inner, item, first, second",
            ]
        );
    }

    #[test]
    fn unknown_keys_of_nested_tables_name_their_table() {
        let (sample, errors) =
            read("inner = { valeu = 1 }\nfirst = { value = \"x\", extra = 2 }\n");
        let [
            Located {
                value: RawKind::First(first),
                ..
            },
        ] = &sample.kinds[..]
        else {
            panic!("{:?}", sample.kinds)
        };
        assert_eq!(first.value.as_ref().unwrap().value, "x");
        assert_eq!(
            errors,
            [
                "t.toml:1:11: unknown key `valeu` in inner; did you mean `value`?",
                "t.toml:2:24: unknown key `extra` in inner; expected one of: value",
            ]
        );
    }

    #[test]
    fn keys_are_listed_in_declaration_order_with_their_shape() {
        let keys: Vec<String> = RawSample::keys().iter().map(ToString::to_string).collect();
        assert_eq!(
            keys,
            [
                "`text`",
                "`quoted`",
                "`list`",
                "`plain_list`",
                "`map`",
                "`number`",
                "`flag`",
                "`size`",
                "[inner]",
                "[[item]]",
                "[first]",
                "[second]",
            ]
        );
        let mut sections = Vec::new();
        RawSample::visit(&mut |section, _| sections.push(section));
        assert_eq!(
            sections,
            ["[sample]", "inner", "[[item]]", "inner", "inner"]
        );
    }
}
