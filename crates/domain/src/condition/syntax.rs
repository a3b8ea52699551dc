//! CEL's parse errors in words a config author reads: the first error's
//! column (and line, in a multi-line condition), without ANTLR's grammar
//! jargon, and quoted input cut short.

use crate::condition::{ConditionError, QUOTED_SOURCE_CHARS};

/// A readable syntax error from CEL's, with the column of the first error.
pub(crate) fn syntax(source: &str, errors: &cel::ParseErrors) -> ConditionError {
    let Some(first) = errors.errors.first() else {
        return ConditionError::Syntax {
            expression: source.to_owned(),
            message: errors.to_string(),
            offset: None,
        };
    };
    let (line, column) = first.pos;
    let detail = plain(
        first
            .msg
            .strip_prefix("Syntax error: ")
            .unwrap_or(&first.msg),
    );
    let offset = offset_of(source, line, column);
    let message = match offset {
        Some(offset) if source.contains('\n') => {
            format!(
                "{detail} (line {line}, column {column}, character {})",
                offset + 1
            )
        }
        Some(_) => format!("{detail} (at column {column})"),
        None => detail,
    };
    ConditionError::Syntax {
        expression: source.to_owned(),
        message,
        offset,
    }
}

/// The parser's message without its grammar jargon: ANTLR's `expecting
/// {…}` lists every token class and helps no one writing a condition.
fn plain(message: &str) -> String {
    let quoted = |rest: &str| rest.split_once("' expecting").map(|(input, _)| cut(input));
    if message.starts_with("mismatched input '<EOF>'") {
        return "the expression ends too soon".to_owned();
    }
    for prefix in ["mismatched input '", "extraneous input '"] {
        if let Some(input) = message.strip_prefix(prefix).and_then(quoted) {
            return format!("unexpected `{input}`");
        }
    }
    if let Some(rest) = message.strip_prefix("token recognition error at: '") {
        return match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => format!("a string opened with `{quote}` is never closed"),
            Some(character) => format!("unexpected character `{character}`"),
            None => message.to_owned(),
        };
    }
    if let Some(input) = message
        .strip_prefix("no viable alternative at input '")
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return format!("cannot make sense of `{}`", cut(input));
    }
    message.to_owned()
}

/// A piece of the source quoted in a parser message, cut like the source.
fn cut(input: &str) -> String {
    match input.char_indices().nth(QUOTED_SOURCE_CHARS) {
        None => input.to_owned(),
        Some((end, _)) => format!("{}…", &input[..end]),
    }
}

/// The 0-based character offset of a 1-based line and column.
fn offset_of(source: &str, line: isize, column: isize) -> Option<usize> {
    let line = usize::try_from(line).ok()?.checked_sub(1)?;
    let column = usize::try_from(column).ok()?.checked_sub(1)?;
    let before: usize = source
        .split_inclusive('\n')
        .take(line)
        .map(|text| text.chars().count())
        .sum();
    let offset = before + column;
    (offset <= source.chars().count()).then_some(offset)
}
