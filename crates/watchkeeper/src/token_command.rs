//! `watchkeeper token create | list | revoke`: API tokens managed on the
//! store directly (the config's `[storage]`), like `store copy`, so an
//! operator can make the first admin token before any server runs. The
//! token's random bits come from the operating system here; its format and
//! hash are `domain::access`'s; what is stored is `store::tokens`'s.

use std::fmt::Write as _;

use jiff::Timestamp;
use watchkeeper_domain::access::{NewToken, Role, TOKEN_RANDOM_BYTES, TokenName};
use watchkeeper_store::{Revoked, Store, StoreError, StoredToken};

/// `token --help`: how each command ends.
pub const TOKEN_EXITS: &str = "\
Exit codes:
  0  done (revoking a token revoked already changes nothing and is done too)
  1  the store could not be opened, read or written, or no random bits
  2  the configuration or the command line is invalid (an unknown role,
     a malformed name)
  4  create: a token by that name exists (revoked tokens keep their names);
     revoke: no token has that name";

#[derive(Debug, thiserror::Error)]
pub enum TokenCommandError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read random bits from the operating system: {0}")]
    Random(getrandom::Error),
    #[error("no token is named {0}; `watchkeeper token list` shows them")]
    Unknown(TokenName),
}

impl TokenCommandError {
    /// The exit code documented in [`TOKEN_EXITS`].
    pub fn exit_code(&self) -> u8 {
        match self {
            TokenCommandError::Store(StoreError::TokenNameTaken { .. })
            | TokenCommandError::Unknown(_) => 4,
            TokenCommandError::Store(_) | TokenCommandError::Random(_) => 1,
        }
    }
}

/// Makes a token, stores its hash under `name`, and returns it: the only
/// time its text exists outside the caller's hands.
pub async fn create(
    store: &Store,
    name: &TokenName,
    role: Role,
    at: Timestamp,
) -> Result<NewToken, TokenCommandError> {
    let mut random = [0u8; TOKEN_RANDOM_BYTES];
    getrandom::fill(&mut random).map_err(TokenCommandError::Random)?;
    let token = NewToken::from_random(random);
    store.create_token(name, role, &token.hash(), at).await?;
    Ok(token)
}

/// Revokes `name` at `at`; an unknown name is an error, a token revoked
/// already is not (it says when).
pub async fn revoke(
    store: &Store,
    name: &TokenName,
    at: Timestamp,
) -> Result<Revoked, TokenCommandError> {
    match store.revoke_token(name, at).await? {
        Revoked::Unknown => Err(TokenCommandError::Unknown(name.clone())),
        revoked => Ok(revoked),
    }
}

/// The table `token list` prints: one line per token, by name, times in
/// UTC to the second, `-` for never.
pub fn render_list(tokens: &[StoredToken]) -> String {
    let when = |at: Option<Timestamp>| {
        at.map_or_else(
            || "-".to_owned(),
            |at| {
                at.round(jiff::Unit::Second)
                    .map_or_else(|_| at.to_string(), |at| at.to_string())
            },
        )
    };
    let rows: Vec<[String; 5]> = tokens
        .iter()
        .map(|token| {
            [
                token.name.to_string(),
                token.role.to_string(),
                when(Some(token.created_at)),
                when(token.last_used_at),
                when(token.revoked_at),
            ]
        })
        .collect();
    let header = ["NAME", "ROLE", "CREATED", "LAST USED", "REVOKED"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header.map(str::to_owned)).chain(rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(
        name: &str,
        role: Role,
        last_used: Option<&str>,
        revoked: Option<&str>,
    ) -> StoredToken {
        StoredToken {
            name: TokenName::parse(name).unwrap(),
            role,
            created_at: "2026-03-01T12:00:00.250Z".parse().unwrap(),
            last_used_at: last_used.map(|at| at.parse().unwrap()),
            revoked_at: revoked.map(|at| at.parse().unwrap()),
        }
    }

    #[test]
    fn the_list_is_a_table_with_dashes_for_never() {
        let table = render_list(&[
            token("alice", Role::Admin, Some("2026-03-02T08:30:00Z"), None),
            token("old-ci", Role::Viewer, None, Some("2026-03-03T09:00:00Z")),
        ]);
        assert_eq!(
            table,
            "\
NAME    ROLE    CREATED               LAST USED             REVOKED
alice   admin   2026-03-01T12:00:00Z  2026-03-02T08:30:00Z  -
old-ci  viewer  2026-03-01T12:00:00Z  -                     2026-03-03T09:00:00Z
"
        );
        assert_eq!(
            render_list(&[]),
            "NAME  ROLE  CREATED  LAST USED  REVOKED\n"
        );
    }

    #[test]
    fn exit_codes_tell_a_taken_or_unknown_name_from_a_failing_store() {
        let name = TokenName::parse("ci").unwrap();
        assert_eq!(TokenCommandError::Unknown(name).exit_code(), 4);
        assert_eq!(
            TokenCommandError::Store(StoreError::TokenNameTaken { name: "ci".into() }).exit_code(),
            4
        );
        assert_eq!(
            TokenCommandError::Store(StoreError::InvalidRow {
                what: "tokens",
                detail: String::new()
            })
            .exit_code(),
            1
        );
    }
}
