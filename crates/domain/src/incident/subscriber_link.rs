//! The links in a subscriber's messages: confirm a subscription (the
//! double opt-in of an email address) and unsubscribe in one click. Each
//! names what it does, the subscriber's id and the instant it was made,
//! and is signed with HMAC-SHA256 under the store's link key (the one ack
//! links use), so nothing secret is stored per subscriber and a link is
//! good for one row only: not for a later subscriber that reuses the id.
//!
//! Format: `wks1.` + base64url(`c|u` `.` id `.` created ms) + `.` +
//! base64url(signature of everything before the last dot). An unsubscribe
//! link never expires (a message read a year later must still work); a
//! confirmation is good while its row waits, which the caller bounds.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;

use crate::oncall::link::{LinkError, LinkKey};

const PREFIX: &str = "wks1.";

/// What a subscriber link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Confirm,
    Unsubscribe,
}

impl LinkPurpose {
    fn code(self) -> &'static str {
        match self {
            LinkPurpose::Confirm => "c",
            LinkPurpose::Unsubscribe => "u",
        }
    }
}

/// The subscriber a link names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriberLink {
    pub purpose: LinkPurpose,
    pub subscriber: i64,
    /// When the subscriber was made, ms since the epoch.
    pub created_ms: i64,
}

impl SubscriberLink {
    /// The link's token.
    pub fn sign(&self, key: &LinkKey) -> String {
        let claims = format!(
            "{}.{}.{}",
            self.purpose.code(),
            self.subscriber,
            self.created_ms
        );
        let signed = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(claims));
        let signature = key.mac(signed.as_bytes()).finalize().into_bytes();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The link a token signed with `key` stands for, if it is one for
    /// `purpose`.
    pub fn verify(
        token: &str,
        key: &LinkKey,
        purpose: LinkPurpose,
    ) -> Result<SubscriberLink, LinkError> {
        let (signed, signature) = token.rsplit_once('.').ok_or(LinkError::Malformed)?;
        let body = signed.strip_prefix(PREFIX).ok_or(LinkError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::Malformed)?;
        key.mac(signed.as_bytes())
            .verify_slice(&signature)
            .map_err(|_| LinkError::Tampered)?;
        let claims = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| LinkError::Malformed)?;
        let claims = String::from_utf8(claims).map_err(|_| LinkError::Malformed)?;
        let mut parts = claims.split('.');
        let (Some(code), Some(id), Some(created), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Malformed);
        };
        if code != purpose.code() {
            return Err(LinkError::Malformed);
        }
        Ok(SubscriberLink {
            purpose,
            subscriber: id.parse().map_err(|_| LinkError::Malformed)?,
            created_ms: created.parse().map_err(|_| LinkError::Malformed)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> LinkKey {
        LinkKey::new([byte; 32])
    }

    #[test]
    fn a_link_verifies_under_its_key_for_its_purpose_only() {
        let link = SubscriberLink {
            purpose: LinkPurpose::Unsubscribe,
            subscriber: 42,
            created_ms: 1_764_000_000_123,
        };
        let token = link.sign(&key(1));
        assert!(token.starts_with("wks1."));
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
        assert_eq!(
            SubscriberLink::verify(&token, &key(1), LinkPurpose::Unsubscribe),
            Ok(link)
        );
        assert_eq!(
            SubscriberLink::verify(&token, &key(2), LinkPurpose::Unsubscribe),
            Err(LinkError::Tampered)
        );
        assert_eq!(
            SubscriberLink::verify(&token, &key(1), LinkPurpose::Confirm),
            Err(LinkError::Malformed),
            "an unsubscribe link confirms nothing"
        );
        let mut cut = token.clone();
        cut.truncate(token.len() - 3);
        assert_eq!(
            SubscriberLink::verify(&cut, &key(1), LinkPurpose::Unsubscribe),
            Err(LinkError::Tampered)
        );
        assert_eq!(
            SubscriberLink::verify("nonsense", &key(1), LinkPurpose::Unsubscribe),
            Err(LinkError::Malformed)
        );
    }
}
