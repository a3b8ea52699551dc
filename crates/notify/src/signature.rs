//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): a
//! receiver checks that a delivery came from us and is recent.
//!
//! - The secret is written `whsec_<base64 key>`; the key is the bytes the
//!   base64 decodes to.
//! - The signed content is `{webhook-id}.{webhook-timestamp}.{body}`,
//!   the timestamp in whole seconds since the Unix epoch.
//! - `webhook-signature` is `v1,<base64 HMAC-SHA256 of the content>`;
//!   several signatures (during a secret rotation) are separated by spaces,
//!   and a receiver accepts any one that verifies.
//! - A receiver refuses a timestamp more than [`TOLERANCE`] away from its
//!   own clock, so a captured delivery cannot be replayed later.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

/// How far a delivery's timestamp may be from the receiver's clock, as the
/// reference libraries allow.
pub const TOLERANCE: SignedDuration = SignedDuration::from_mins(5);

const PREFIX: &str = "whsec_";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("a Standard Webhooks secret starts with `whsec_` followed by base64")]
    NoPrefix,
    #[error("the secret after `whsec_` is not base64: {0}")]
    NotBase64(String),
    #[error("the secret is empty")]
    Empty,
    #[error("no `v1,` signature in `webhook-signature`")]
    NoSignature,
    #[error("no signature matches")]
    Mismatch,
    #[error("`webhook-timestamp` {0:?} is not whole seconds since the epoch")]
    BadTimestamp(String),
    #[error("`webhook-timestamp` is {0} s away from now, more than the 300 s allowed")]
    TooOld(i64),
}

/// A signing key. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(***)")
    }
}

impl SigningSecret {
    /// Parses `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let encoded = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(SignatureError::NoPrefix)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|error| SignatureError::NotBase64(error.to_string()))?;
        if key.is_empty() {
            return Err(SignatureError::Empty);
        }
        Ok(Self { key })
    }

    /// The `webhook-signature` header value for one delivery.
    pub fn sign(&self, id: &str, timestamp: Timestamp, body: &[u8]) -> String {
        let tag = self.mac(id, timestamp.as_second(), body).finalize();
        format!("v1,{}", STANDARD.encode(tag.into_bytes()))
    }

    /// Checks a delivery's headers against its body as a receiver does:
    /// the timestamp within [`TOLERANCE`] of `now`, and one `v1`
    /// signature that matches (compared in constant time).
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<(), SignatureError> {
        let seconds: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| SignatureError::BadTimestamp(timestamp.to_owned()))?;
        let apart = now.as_second().saturating_sub(seconds);
        if apart.unsigned_abs() > TOLERANCE.as_secs().unsigned_abs() {
            return Err(SignatureError::TooOld(apart));
        }
        let mut any = false;
        for candidate in signatures.split(' ') {
            let Some(encoded) = candidate.strip_prefix("v1,") else {
                continue;
            };
            any = true;
            let Ok(tag) = STANDARD.decode(encoded) else {
                continue;
            };
            if self.mac(id, seconds, body).verify_slice(&tag).is_ok() {
                return Ok(());
            }
        }
        Err(if any {
            SignatureError::Mismatch
        } else {
            SignatureError::NoSignature
        })
    }

    fn mac(&self, id: &str, seconds: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length; `new_from_slice` cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(seconds.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's test vectors
    /// (also used by the reference libraries' own tests).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    #[test]
    fn signs_the_specifications_example() {
        let secret = SigningSecret::parse(SECRET).unwrap();
        assert_eq!(secret.sign(ID, at(TIMESTAMP), BODY), EXPECTED);
    }

    #[test]
    fn verifies_a_good_delivery_and_refuses_a_changed_one() {
        let secret = SigningSecret::parse(SECRET).unwrap();
        let ts = TIMESTAMP.to_string();
        let now = at(TIMESTAMP + 10);
        assert_eq!(secret.verify(ID, &ts, EXPECTED, BODY, now), Ok(()));
        // Any one of several signatures will do.
        let rotated = format!("v1,bm90IGl0 {EXPECTED}");
        assert_eq!(secret.verify(ID, &ts, &rotated, BODY, now), Ok(()));
        assert_eq!(
            secret.verify(ID, &ts, EXPECTED, br#"{"test": 1}"#, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            secret.verify("msg_other", &ts, EXPECTED, BODY, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            secret.verify(ID, &ts, "v2,abc", BODY, now),
            Err(SignatureError::NoSignature)
        );
    }

    #[test]
    fn refuses_a_timestamp_outside_five_minutes() {
        let secret = SigningSecret::parse(SECRET).unwrap();
        let ts = TIMESTAMP.to_string();
        assert_eq!(
            secret.verify(ID, &ts, EXPECTED, BODY, at(TIMESTAMP + 300)),
            Ok(())
        );
        assert_eq!(
            secret.verify(ID, &ts, EXPECTED, BODY, at(TIMESTAMP + 301)),
            Err(SignatureError::TooOld(301))
        );
        assert_eq!(
            secret.verify(ID, &ts, EXPECTED, BODY, at(TIMESTAMP - 301)),
            Err(SignatureError::TooOld(-301))
        );
        assert!(matches!(
            secret.verify(ID, "yesterday", EXPECTED, BODY, at(TIMESTAMP)),
            Err(SignatureError::BadTimestamp(_))
        ));
    }

    #[test]
    fn a_secret_must_be_whsec_and_base64_and_never_shows() {
        assert_eq!(
            SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SignatureError::NoPrefix)
        );
        assert!(matches!(
            SigningSecret::parse("whsec_not base64!"),
            Err(SignatureError::NotBase64(_))
        ));
        assert_eq!(SigningSecret::parse("whsec_"), Err(SignatureError::Empty));
        let secret = SigningSecret::parse(SECRET).unwrap();
        assert_eq!(format!("{secret:?}"), "SigningSecret(***)");
    }
}
