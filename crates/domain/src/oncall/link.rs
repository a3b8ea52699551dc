//! Acknowledgement links: a notification carries a link that acknowledges
//! its alert in one click, without a token. The link names the alert's
//! firing episode (its fingerprint and when it fired), the person it was
//! sent to, when it expires and a nonce, and is signed with HMAC-SHA256
//! under a key the server keeps in its store. A link that was tampered
//! with, has expired or was used already changes nothing, and says which.
//!
//! Format: `wk1.` + base64url(JSON claims) + `.` + base64url(signature of
//! everything before the last dot). The key is given by the caller (the
//! store holds it), the time too, so this is pure.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PREFIX: &str = "wk1.";

/// What a link acknowledges, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckClaims {
    /// The alert's fingerprint.
    pub fingerprint: String,
    /// When this firing began, in milliseconds since the epoch: a link
    /// from an earlier firing does not acknowledge a later one.
    pub firing_since_ms: i64,
    /// The person it was sent to (empty when sent to a channel).
    pub person: String,
    /// Expiry, in seconds since the epoch.
    pub expires: i64,
    /// Unique per delivery, so the store can refuse a second use.
    pub nonce: String,
}

impl AckClaims {
    /// The claims as signed: short keys keep the link short.
    fn encode(&self) -> Vec<u8> {
        json!({
            "a": self.fingerprint,
            "s": self.firing_since_ms,
            "p": self.person,
            "e": self.expires,
            "n": self.nonce,
        })
        .to_string()
        .into_bytes()
    }

    fn decode(bytes: &[u8]) -> Option<AckClaims> {
        let value: Value = serde_json::from_slice(bytes).ok()?;
        Some(AckClaims {
            fingerprint: value["a"].as_str()?.to_owned(),
            firing_since_ms: value["s"].as_i64()?,
            person: value["p"].as_str()?.to_owned(),
            expires: value["e"].as_i64()?,
            nonce: value["n"].as_str()?.to_owned(),
        })
    }
}

/// Why a link is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not an acknowledgement link, or it was cut or changed")]
    Malformed,
    #[error("this link's signature does not match: it was changed, or made by another server")]
    Tampered,
    #[error("this link expired at {0}")]
    Expired(Timestamp),
}

/// Signs and checks links under one key.
#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(***)")
    }
}

impl LinkKey {
    pub fn new(bytes: [u8; 32]) -> LinkKey {
        LinkKey(bytes)
    }

    pub(crate) fn mac(&self, signed: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(signed);
        mac
    }

    /// The link's token for `claims`.
    pub fn sign(&self, claims: &AckClaims) -> String {
        let signed = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(claims.encode()));
        let signature = self.mac(signed.as_bytes()).finalize().into_bytes();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The claims of a token signed with this key and not expired at
    /// `now`. (Whether it was used already is the store's to say.)
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<AckClaims, LinkError> {
        let (signed, signature) = token.rsplit_once('.').ok_or(LinkError::Malformed)?;
        let body = signed.strip_prefix(PREFIX).ok_or(LinkError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::Malformed)?;
        self.mac(signed.as_bytes())
            .verify_slice(&signature)
            .map_err(|_| LinkError::Tampered)?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| LinkError::Malformed)?;
        let claims = AckClaims::decode(&json).ok_or(LinkError::Malformed)?;
        let expires = Timestamp::from_second(claims.expires).map_err(|_| LinkError::Malformed)?;
        if now >= expires {
            return Err(LinkError::Expired(expires));
        }
        Ok(claims)
    }
}

/// A nonce derived from a delivery's id: the same on every attempt of it
/// (so a retried message carries the same link), different between any two
/// deliveries.
pub fn nonce_for(delivery_id: &str) -> String {
    let digest = Sha256::digest(delivery_id.as_bytes());
    digest[..12]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires: i64) -> AckClaims {
        AckClaims {
            fingerprint: "9f2c41".to_owned(),
            firing_since_ms: 1_800_000_000_000,
            person: "alice".to_owned(),
            expires,
            nonce: nonce_for("msg_1"),
        }
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let key = LinkKey::new([7; 32]);
        let token = key.sign(&claims(1_800_086_400));
        assert!(token.starts_with("wk1."));
        assert_eq!(
            key.verify(&token, at(1_800_000_000)),
            Ok(claims(1_800_086_400))
        );
        assert_eq!(
            key.verify(&token, at(1_800_086_400)),
            Err(LinkError::Expired(at(1_800_086_400)))
        );
    }

    #[test]
    fn a_changed_link_or_another_key_is_refused() {
        let key = LinkKey::new([7; 32]);
        let token = key.sign(&claims(1_800_086_400));
        let other = LinkKey::new([8; 32]);
        assert_eq!(
            other.verify(&token, at(1_800_000_000)),
            Err(LinkError::Tampered)
        );
        // Claims for a longer expiry, with the old signature.
        let forged_body = URL_SAFE_NO_PAD.encode(claims(1_900_000_000).encode());
        let signature = token.rsplit_once('.').unwrap().1;
        let forged = format!("wk1.{forged_body}.{signature}");
        assert_eq!(
            key.verify(&forged, at(1_800_000_000)),
            Err(LinkError::Tampered)
        );
        assert_eq!(key.verify("wk1.abc", at(0)), Err(LinkError::Malformed));
        assert_eq!(key.verify("hello", at(0)), Err(LinkError::Malformed));
        let cut = &token[..token.len() - 3];
        assert_eq!(key.verify(cut, at(1_800_000_000)), Err(LinkError::Tampered));
    }

    #[test]
    fn nonces_follow_the_delivery() {
        assert_eq!(nonce_for("msg_1"), nonce_for("msg_1"));
        assert_ne!(nonce_for("msg_1"), nonce_for("msg_2"));
        assert_eq!(nonce_for("msg_1").len(), 24);
    }
}
