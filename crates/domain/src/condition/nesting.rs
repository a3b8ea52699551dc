//! How deeply a condition nests, read from its text before CEL parses it.
//! CEL's generated parser recurses once per level of brackets and of
//! `? :`, and a few thousand levels overflow a thread's stack (a debug
//! build overflows 2 MiB at twenty): a condition nested deeper than
//! [`MAX_NESTING`] is refused before it reaches the parser. CEL itself
//! refuses more than 96 levels after parsing, so nothing that parses is
//! lost.

/// The deepest a condition may nest brackets and conditionals together.
pub(crate) const MAX_NESTING: usize = 64;

/// Whether `source` nests brackets (`(`, `[`, `{`) and conditionals (each
/// `?` counts until its group closes) deeper than [`MAX_NESTING`], outside
/// string literals.
pub(crate) fn too_deep(source: &str) -> bool {
    let bytes = source.as_bytes();
    // conditionals opened in each bracket group still open, and their sum
    let mut groups: Vec<usize> = vec![0];
    let mut conditionals = 0;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'"' | b'\'' => {
                index = string_end(bytes, index);
                continue;
            }
            b'(' | b'[' | b'{' => groups.push(0),
            b')' | b']' | b'}' if groups.len() > 1 => {
                conditionals -= groups.pop().unwrap_or(0);
            }
            b'?' => {
                if let Some(open) = groups.last_mut() {
                    *open += 1;
                }
                conditionals += 1;
            }
            _ => {}
        }
        if groups.len() - 1 + conditionals > MAX_NESTING {
            return true;
        }
        index += 1;
    }
    false
}

/// The index just past the string literal whose opening quote is at
/// `start`: single or triple quoted, raw (`r"…"`, `br'…'`) or with
/// backslash escapes; the end of the text when it is never closed.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let prefix = |back: usize| start.checked_sub(back).and_then(|at| bytes.get(at));
    let raw = matches!(prefix(1), Some(b'r' | b'R'))
        || (matches!(prefix(1), Some(b'b' | b'B')) && matches!(prefix(2), Some(b'r' | b'R')));
    let triple = bytes.get(start..start + 3) == Some(&[quote, quote, quote][..]);
    let mut index = start + if triple { 3 } else { 1 };
    while index < bytes.len() {
        match bytes[index] {
            b'\\' if !raw => index += 2,
            byte if byte == quote => {
                if !triple {
                    return index + 1;
                }
                if bytes.get(index..index + 3) == Some(&[quote, quote, quote][..]) {
                    return index + 3;
                }
                index += 1;
            }
            _ => index += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_and_conditionals_count_together() {
        let parens = |depth: usize| format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
        assert!(!too_deep(&parens(MAX_NESTING)));
        assert!(too_deep(&parens(MAX_NESTING + 1)));
        assert!(too_deep(&parens(20_000)));
        let chain = |count: usize| format!("{}1", "true ? 1 : ".repeat(count));
        assert!(!too_deep(&chain(MAX_NESTING)));
        assert!(too_deep(&chain(MAX_NESTING + 1)));
        // a conditional ends with its group
        let closed = "(a ? b : c) && ".repeat(200) + "true";
        assert!(!too_deep(&closed));
        assert!(!too_deep(
            "json.items.all(i, i.ok) && [1, 2][0] == 1 && {'a': 1}.a == 1"
        ));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let deep = "(".repeat(100);
        assert!(!too_deep(&format!(r#"body.contains("{deep}")"#)));
        assert!(!too_deep(&format!("body.contains('{deep}')")));
        assert!(!too_deep(&format!(r#"body == """{deep}" "" """"#)));
        assert!(!too_deep(&format!(r#"body == "\"{deep}""#)));
        // a raw string has no escapes: its backslash does not hide the quote
        assert!(too_deep(&format!(r#"body == r"\" + {deep}"#)));
        assert!(too_deep(&format!(r#"body == br'\' + {deep}"#)));
    }
}
