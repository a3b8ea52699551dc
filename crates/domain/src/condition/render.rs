//! Renders CEL values the way a person would write them in a condition:
//! `503`, `"degraded"`, `1.204s`, `[]`, `{"status": "ok"}`. Long strings and
//! large lists or maps are cut so that an explanation stays one readable line.

use std::fmt::Write as _;

use cel::Value;
use cel::objects::Key;

/// Strings longer than this many characters are cut and end with `…`.
const STRING_CHARS: usize = 120;
/// Lists and maps show at most this many items.
const COMPOUND_ITEMS: usize = 10;

/// The value as a CEL literal; a cut string notes its full length in bytes:
/// `"<first 120 characters>…" (4821 bytes)`.
pub(crate) fn value(value: &Value) -> String {
    match value {
        Value::String(text) => excerpt(text, STRING_CHARS),
        other => {
            let mut out = String::new();
            nested(&mut out, other);
            out
        }
    }
}

/// `text` quoted and escaped as a CEL string literal, cut after `max_chars`
/// characters; a cut text ends with `…` and notes its full length in bytes:
/// `"<first max_chars characters>…" (4821 bytes)`. Probe failure reasons use
/// it too, so a long answer reads the same there as in an explanation.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    if string_cut(&mut out, text, max_chars) {
        let _ = write!(out, " ({} bytes)", text.len());
    }
    out
}

/// A duration as Go and CEL's `duration()` write it: `250ms`, `1.204s`,
/// `3m5s`, `72h0m0s`. Above a second it is rounded to the millisecond, below
/// to three decimals of its unit, so a latency reads `1.204s`, not
/// `1.204381923s`.
pub(crate) fn duration(duration: chrono::Duration) -> String {
    let negative = duration < chrono::Duration::zero();
    let seconds = u128::from(duration.num_seconds().unsigned_abs());
    let nanos = seconds * 1_000_000_000 + u128::from(duration.subsec_nanos().unsigned_abs());
    let sign = if negative { "-" } else { "" };
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000 {
        return format!("{sign}{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{sign}{}µs", decimal(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        let rounded = decimal(nanos, 1_000_000);
        // 999.9996ms rounds up to a whole second
        if rounded != "1000" {
            return format!("{sign}{rounded}ms");
        }
    }
    let millis = (nanos + 500_000) / 1_000_000;
    let hours = millis / 3_600_000;
    let minutes = millis / 60_000 % 60;
    let seconds = decimal(millis % 60_000 * 1_000_000, 1_000_000_000);
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{seconds}s")
    } else {
        format!("{sign}{seconds}s")
    }
}

/// `amount / unit` with up to three decimals, trailing zeros dropped.
fn decimal(amount: u128, unit: u128) -> String {
    let thousandths = (amount * 1_000 + unit / 2) / unit;
    let whole = thousandths / 1_000;
    let fraction = thousandths % 1_000;
    if fraction == 0 {
        whole.to_string()
    } else {
        let digits = format!("{fraction:03}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
}

fn nested(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Int(number) => {
            let _ = write!(out, "{number}");
        }
        Value::UInt(number) => {
            let _ = write!(out, "{number}u");
        }
        Value::Float(number) => double(out, *number),
        Value::String(text) => {
            string(out, text);
        }
        Value::Bytes(bytes) => self::bytes(out, bytes),
        Value::Duration(span) => out.push_str(&duration(*span)),
        Value::Timestamp(instant) => {
            let _ = write!(out, "timestamp(\"{}\")", instant.to_rfc3339());
        }
        Value::List(items) => {
            out.push('[');
            for (index, item) in items.iter().take(COMPOUND_ITEMS).enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                nested(out, item);
            }
            if items.len() > COMPOUND_ITEMS {
                let _ = write!(out, ", …] ({} items)", items.len());
            } else {
                out.push(']');
            }
        }
        Value::Map(map) => {
            let mut entries: Vec<(&Key, &Value)> = map.map.iter().collect();
            entries.sort_by(|left, right| left.0.cmp(right.0));
            out.push('{');
            for (index, (key, item)) in entries.iter().take(COMPOUND_ITEMS).enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                self::key(out, key);
                out.push_str(": ");
                nested(out, item);
            }
            if entries.len() > COMPOUND_ITEMS {
                let _ = write!(out, ", …}} ({} entries)", entries.len());
            } else {
                out.push('}');
            }
        }
        other => {
            let _ = write!(out, "{other:?}");
        }
    }
}

pub(crate) fn key(out: &mut String, key: &Key) {
    match key {
        Key::Int(number) => {
            let _ = write!(out, "{number}");
        }
        Key::Uint(number) => {
            let _ = write!(out, "{number}u");
        }
        Key::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Key::String(text) => {
            string(out, text);
        }
    }
}

fn double(out: &mut String, number: f64) {
    if number.is_nan() {
        out.push_str("double(\"NaN\")");
    } else if number.is_infinite() {
        out.push_str(if number > 0.0 {
            "double(\"Infinity\")"
        } else {
            "double(\"-Infinity\")"
        });
    } else if number.fract() == 0.0 && number.abs() < 1e16 {
        let _ = write!(out, "{number:.1}");
    } else {
        let _ = write!(out, "{number}");
    }
}

/// Writes a quoted, escaped string; returns whether it was cut.
pub(crate) fn string(out: &mut String, text: &str) -> bool {
    string_cut(out, text, STRING_CHARS)
}

/// Writes a quoted, escaped string of at most `max_chars` characters;
/// returns whether it was cut.
fn string_cut(out: &mut String, text: &str, max_chars: usize) -> bool {
    out.push('"');
    let mut cut = false;
    for (index, character) in text.chars().enumerate() {
        if index == max_chars {
            cut = true;
            out.push('…');
            break;
        }
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if control.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(control));
            }
            printable => out.push(printable),
        }
    }
    out.push('"');
    cut
}

fn bytes(out: &mut String, bytes: &[u8]) {
    out.push_str("b\"");
    for (index, byte) in bytes.iter().enumerate() {
        if index == STRING_CHARS {
            out.push('…');
            break;
        }
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(*byte)),
            other => {
                let _ = write!(out, "\\x{other:02x}");
            }
        }
    }
    out.push('"');
}
