//! Who may do what over the API: [`Role`] (viewer < responder < admin),
//! the API token's format (`wk_` + 256 random bits, base64url), its stored
//! hash, parsing a presented token, token names, and the once-a-minute rule
//! for recording a token's last use.
//!
//! Pure: the random bytes come from the caller ([`NewToken::from_random`];
//! the binary reads them from the operating system), so nothing here does
//! IO. The token itself is never stored: only [`TokenHash`], the SHA-256 of
//! its text, which is what a presented token is looked up by.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use crate::id::{IdError, check_id};

/// What a token may do. Ordered: each role may do everything the roles
/// below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads everything under `/api/v1` except the audit log.
    Viewer,
    /// A viewer who may also acknowledge alerts and create and expire
    /// silences.
    Responder,
    /// Everything: reloads, the audit log.
    Admin,
}

impl Role {
    /// Every role, weakest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Responder, Role::Admin];

    /// The name used in the CLI, the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected viewer, responder or admin")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;
    fn from_str(raw: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == raw)
            .ok_or_else(|| UnknownRole(raw.to_owned()))
    }
}

/// What every token starts with, so a leaked one is recognisable (secret
/// scanners, logs) and a mistyped header is told apart from a wrong token.
pub const TOKEN_PREFIX: &str = "wk_";

/// Random bytes in a token: 256 bits, twice the 128 a guess must beat.
pub const TOKEN_RANDOM_BYTES: usize = 32;

/// Characters after the prefix: 32 bytes in unpadded base64url.
const TOKEN_SECRET_CHARS: usize = 43;

/// A freshly made token: shown once to whoever created it, never stored.
/// Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    text: String,
}

impl NewToken {
    /// The token made of `random`, which must come from a cryptographically
    /// secure source (the binary uses the operating system's).
    pub fn from_random(random: [u8; TOKEN_RANDOM_BYTES]) -> NewToken {
        NewToken {
            text: format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random)),
        }
    }

    /// The token's text, to show once.
    pub fn reveal(&self) -> &str {
        &self.text
    }

    /// What the store keeps.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.text)
    }
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewToken(wk_***)")
    }
}

/// The SHA-256 of a token's text, as 64 lowercase hex digits: what the
/// store keeps and looks a presented token up by. A plain hash (no salt, no
/// slow KDF) is enough because the token is 256 random bits, not a
/// password: there is nothing to guess from the hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    fn of(text: &str) -> TokenHash {
        let digest = Sha256::digest(text.as_bytes());
        TokenHash(digest.iter().map(|byte| format!("{byte:02x}")).collect())
    }

    /// A hash read back from the store, as it was written.
    pub fn from_stored(hex: String) -> TokenHash {
        TokenHash(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a presented token is not even worth looking up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    #[error("a Watchkeeper token starts with `wk_`")]
    Prefix,
    #[error("a Watchkeeper token is `wk_` and 43 base64url characters")]
    Shape,
}

/// The hash to look a presented token up by, if it has a token's shape.
/// Never says more than which rule the text broke, and never quotes it.
pub fn parse_presented(text: &str) -> Result<TokenHash, TokenFormatError> {
    let secret = text
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(TokenFormatError::Prefix)?;
    let well_formed = secret.len() == TOKEN_SECRET_CHARS
        && URL_SAFE_NO_PAD
            .decode(secret)
            .is_ok_and(|bytes| bytes.len() == TOKEN_RANDOM_BYTES);
    if !well_formed {
        return Err(TokenFormatError::Shape);
    }
    Ok(TokenHash::of(text))
}

/// The actor an audit entry names for a request without a token (a read
/// under `[api] public_read`); no token may take this name.
pub const PUBLIC_ACTOR: &str = "public";

/// A token's name: the rules of ids (1–64 of `a-z 0-9 - _ .`, starting
/// with a letter or digit), and not [`PUBLIC_ACTOR`]. Names are what the
/// audit log records, so a name is never given to a second token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenName(Arc<str>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenNameError {
    #[error("invalid token name: {0}")]
    Id(#[from] IdError),
    #[error("`public` is what the audit log calls a caller without a token; choose another name")]
    Reserved,
}

impl TokenName {
    pub fn parse(raw: &str) -> Result<TokenName, TokenNameError> {
        check_id(raw)?;
        if raw == PUBLIC_ACTOR {
            return Err(TokenNameError::Reserved);
        }
        Ok(TokenName(Arc::from(raw)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How stale a token's recorded last use may get: it is written again only
/// when it is at least this old, so a client polling every second costs
/// one write a minute, not one per request.
pub const LAST_USE_PRECISION: SignedDuration = SignedDuration::from_secs(60);

/// Whether a use at `now` should be recorded, given the last one recorded.
pub fn last_use_is_stale(recorded: Option<Timestamp>, now: Timestamp) -> bool {
    recorded.is_none_or(|recorded| now.duration_since(recorded) >= LAST_USE_PRECISION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse_from_their_names() {
        assert!(Role::Admin.allows(Role::Responder));
        assert!(Role::Responder.allows(Role::Viewer));
        assert!(Role::Viewer.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Responder));
        assert!(!Role::Responder.allows(Role::Admin));
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!(
            "root".parse::<Role>().unwrap_err().to_string(),
            "unknown role \"root\": expected viewer, responder or admin"
        );
        assert!("Admin".parse::<Role>().is_err());
    }

    #[test]
    fn a_new_token_is_the_prefix_and_its_bytes_in_base64url() {
        let token = NewToken::from_random([0xfb; TOKEN_RANDOM_BYTES]);
        assert_eq!(
            token.reveal(),
            "wk_-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s"
        );
        assert_eq!(token.reveal().len(), 3 + TOKEN_SECRET_CHARS);
        assert_eq!(format!("{token:?}"), "NewToken(wk_***)");
        // Different bytes, different token and hash.
        let other = NewToken::from_random([0xfa; TOKEN_RANDOM_BYTES]);
        assert_ne!(token.reveal(), other.reveal());
        assert_ne!(token.hash(), other.hash());
    }

    #[test]
    fn the_hash_is_sha256_of_the_text_in_hex() {
        let token = NewToken::from_random([0; TOKEN_RANDOM_BYTES]);
        assert_eq!(token.reveal(), format!("wk_{}", "A".repeat(43)));
        // `printf %s wk_AAA…A | sha256sum`
        assert_eq!(
            token.hash().as_str(),
            "0c79ae766bb1d0557a3f54e491c56180a6c8d1654185dfa8a2d86a8c83e4dcaf"
        );
        assert_eq!(token.hash().as_str().len(), 64);
        assert!(
            token
                .hash()
                .as_str()
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn a_presented_token_is_looked_up_by_the_same_hash() {
        let token = NewToken::from_random([7; TOKEN_RANDOM_BYTES]);
        assert_eq!(parse_presented(token.reveal()), Ok(token.hash()));
    }

    #[test]
    fn text_without_a_tokens_shape_is_refused_before_any_lookup() {
        let good = NewToken::from_random([7; TOKEN_RANDOM_BYTES]);
        let good = good.reveal();
        assert_eq!(parse_presented(""), Err(TokenFormatError::Prefix));
        assert_eq!(
            parse_presented(&good.replacen("wk_", "gh_", 1)),
            Err(TokenFormatError::Prefix)
        );
        assert_eq!(
            parse_presented(&good[..good.len() - 1]),
            Err(TokenFormatError::Shape)
        );
        assert_eq!(
            parse_presented(&format!("{good}A")),
            Err(TokenFormatError::Shape)
        );
        // Right length, a character outside base64url.
        let mut bad = good.to_owned();
        bad.replace_range(5..6, "+");
        assert_eq!(parse_presented(&bad), Err(TokenFormatError::Shape));
    }

    #[test]
    fn token_names_follow_the_id_rules_and_public_is_reserved() {
        assert_eq!(TokenName::parse("ci-bot").unwrap().as_str(), "ci-bot");
        assert_eq!(TokenName::parse("public"), Err(TokenNameError::Reserved));
        assert!(matches!(
            TokenName::parse("CI Bot"),
            Err(TokenNameError::Id(IdError::InvalidCharacter { .. }))
        ));
        assert!(matches!(
            TokenName::parse(""),
            Err(TokenNameError::Id(IdError::Empty))
        ));
    }

    #[test]
    fn a_last_use_is_recorded_again_once_a_minute_old() {
        let at: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        let later = |secs| at + SignedDuration::from_secs(secs);
        assert!(last_use_is_stale(None, at));
        assert!(!last_use_is_stale(Some(at), at));
        assert!(!last_use_is_stale(Some(at), later(59)));
        assert!(last_use_is_stale(Some(at), later(60)));
        // A clock that went back never counts as stale.
        assert!(!last_use_is_stale(Some(at), later(-5)));
    }
}
