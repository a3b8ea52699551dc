//! The kinds of value a declared field can hold, each a [`FromField`]
//! impl: text (with `K_file`), quotable text, lists, maps, integers,
//! flags and sizes. A kind of one table only (`parity`) is an impl beside
//! its type in `raw`.

use super::FromField;
use crate::source::{Located, Origin};
use crate::tree::{Fields, Node, Reader};

/// `key = "text"` (or `key_file = "path"`): interpolated, located.
pub(crate) type Text = Option<Located<String>>;
/// [`Text`] and where it came from, for a value an error quotes (a URL):
/// one from the environment or a file is not shown.
pub(crate) type QuotableText = Option<(Located<String>, Origin)>;
/// `key = ["a", "b"]`: the list and each element located.
pub(crate) type TextList = Option<Located<Vec<Located<String>>>>;
/// `key = { NAME = "value", OTHER_file = "path" }`, in written order; an
/// absent table is empty.
pub(crate) type TextMap = Vec<(Located<String>, Located<String>)>;
/// `key = 3`.
pub(crate) type Integer = Option<Located<i64>>;
/// `key = true`.
pub(crate) type Flag = Option<Located<bool>>;
/// `key = "1MiB"` or `key = 1048576`.
pub(crate) type Size = Option<Located<RawSize>>;

/// `"1MiB"` or `1048576`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawSize {
    Text(String),
    Bytes(i64),
}

impl FromField<&'static str> for Text {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        fields.text(reader, key)
    }
}

impl FromField<&'static str> for QuotableText {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        fields.text_with_origin(reader, key)
    }
}

impl FromField<&'static str> for TextList {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        fields.texts(reader, key)
    }
}

/// A list whose own position nobody needs (`include`, `allow`); absent is
/// empty.
impl FromField<&'static str> for Vec<Located<String>> {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        fields
            .texts(reader, key)
            .map(|list| list.value)
            .unwrap_or_default()
    }
}

impl FromField<&'static str> for TextMap {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        fields.text_map(reader, key).unwrap_or_default()
    }
}

impl FromField<&'static str> for Integer {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        fields.integer(reader, key)
    }
}

impl FromField<&'static str> for Flag {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        fields.boolean(reader, key)
    }
}

impl FromField<&'static str> for Size {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        let node = fields.node(key)?;
        read_size(reader, node, &format!("`{key}`"))
    }
}

fn read_size(reader: &mut Reader<'_>, node: &Node<'_>, what: &str) -> Size {
    if node.get_ref().is_integer() {
        let bytes = reader.integer(node, what)?;
        return Some(Located::new(RawSize::Bytes(bytes.value), bytes.at));
    }
    if node.get_ref().is_str() {
        let text = reader.text(node, what)?;
        return Some(Located::new(RawSize::Text(text.value), text.at));
    }
    let at = reader.loc(node.span());
    reader.error(
        &at,
        format!(
            "{what} must be a size like \"1MiB\" or a number of bytes, found {}",
            node.get_ref().type_str()
        ),
    );
    None
}
