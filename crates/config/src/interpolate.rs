//! `${VAR}` interpolation of string values: `$${` is a literal `${`, and a
//! `$` not followed by `{` stays as it is.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InterpolationError {
    Missing(String),
    InvalidName(String),
    Unterminated,
}

impl InterpolationError {
    pub fn message(&self) -> String {
        match self {
            InterpolationError::Missing(name) => {
                format!("environment variable `{name}` is not set")
            }
            InterpolationError::InvalidName(name) => format!(
                "`${{{name}}}` is not a valid variable reference: names are letters, digits and '_', not starting with a digit (write `$${{` for a literal `${{`)"
            ),
            InterpolationError::Unterminated => {
                "`${` without a closing `}` (write `$${` for a literal `${`)".to_owned()
            }
        }
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A piece of a string value as interpolation reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    /// Kept as it is (`$${` reads as the text `${`).
    Text(&'a str),
    /// `${NAME}`: the name, not checked yet.
    Reference(&'a str),
    /// `${` with no closing `}`; nothing follows.
    Unterminated,
}

/// `raw` cut into [`Piece`]s: `$${` is a literal `${`, and a `$` not
/// followed by `{` stays as it is.
fn pieces(raw: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(dollar) = rest.find('$') else {
            return Some(Piece::Text(std::mem::take(&mut rest)));
        };
        if dollar > 0 {
            let (text, after) = rest.split_at(dollar);
            rest = after;
            return Some(Piece::Text(text));
        }
        if let Some(after) = rest.strip_prefix("$${") {
            rest = after;
            return Some(Piece::Text("${"));
        }
        if let Some(reference) = rest.strip_prefix("${") {
            let Some(close) = reference.find('}') else {
                rest = "";
                return Some(Piece::Unterminated);
            };
            rest = &reference[close + 1..];
            return Some(Piece::Reference(&reference[..close]));
        }
        rest = &rest[1..];
        Some(Piece::Text("$"))
    })
}

/// Replaces every `${NAME}` in `raw` with the variable's value. Returns every
/// problem found (each missing variable once), not only the first.
pub(crate) fn interpolate(
    raw: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<InterpolationError>> {
    let mut out = String::with_capacity(raw.len());
    let mut errors = Vec::new();
    for piece in pieces(raw) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Unterminated => errors.push(InterpolationError::Unterminated),
            Piece::Reference(name) if !valid_name(name) => {
                errors.push(InterpolationError::InvalidName(name.to_owned()));
            }
            Piece::Reference(name) => match env(name) {
                Some(value) => out.push_str(&value),
                None => {
                    let missing = InterpolationError::Missing(name.to_owned());
                    if !errors.contains(&missing) {
                        errors.push(missing);
                    }
                }
            },
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Whether `raw` takes anything from the environment: a `${NAME}` that is
/// not the literal `$${`.
pub(crate) fn references_variable(raw: &str) -> bool {
    pieces(raw).any(|piece| !matches!(piece, Piece::Text(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn replaces_variables_and_keeps_other_dollars() {
        assert_eq!(
            interpolate("Bearer ${TOKEN}", &env),
            Ok("Bearer s3cret".to_owned())
        );
        assert_eq!(
            interpolate("${TOKEN}${EMPTY}-${TOKEN}", &env),
            Ok("s3cret-s3cret".to_owned())
        );
        assert_eq!(interpolate("cost $5 $", &env), Ok("cost $5 $".to_owned()));
        assert_eq!(interpolate("no vars", &env), Ok("no vars".to_owned()));
    }

    #[test]
    fn double_dollar_brace_is_a_literal() {
        assert_eq!(interpolate("$${TOKEN}", &env), Ok("${TOKEN}".to_owned()));
        // `$${` always wins, so a `$` before it stays a plain `$`.
        assert_eq!(interpolate("$$${TOKEN}", &env), Ok("$${TOKEN}".to_owned()));
        assert_eq!(interpolate("$ ${TOKEN}", &env), Ok("$ s3cret".to_owned()));
    }

    #[test]
    fn reports_every_missing_variable_once() {
        assert_eq!(
            interpolate("${A} ${B} ${A}", &env),
            Err(vec![
                InterpolationError::Missing("A".to_owned()),
                InterpolationError::Missing("B".to_owned())
            ])
        );
    }

    #[test]
    fn rejects_malformed_references() {
        assert_eq!(
            interpolate("${", &env),
            Err(vec![InterpolationError::Unterminated])
        );
        assert_eq!(
            interpolate("${1X} ${a-b}", &env),
            Err(vec![
                InterpolationError::InvalidName("1X".to_owned()),
                InterpolationError::InvalidName("a-b".to_owned())
            ])
        );
    }

    #[test]
    fn tells_a_reference_from_a_literal_dollar() {
        assert!(references_variable("https://${HOST}/health"));
        assert!(references_variable("$ ${TOKEN}"));
        // As `interpolate` reads them: `$` then the literal `$${`.
        assert!(!references_variable("$$${TOKEN}"));
        assert!(!references_variable("$${TOKEN} costs $5"));
        assert!(!references_variable("no vars"));
    }
}
