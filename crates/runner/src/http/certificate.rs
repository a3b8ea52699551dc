//! Reads the peer certificate's `notAfter` and says how long is left.

use jiff::{SignedDuration, Timestamp};

/// Time from `now` until the certificate's `notAfter` (negative once
/// expired); `None` if the DER cannot be parsed.
pub(crate) fn expires_in(der: &[u8], now: Timestamp) -> Option<SignedDuration> {
    let (_rest, certificate) = match x509_parser::parse_x509_certificate(der) {
        Ok(parsed) => parsed,
        Err(error) => {
            tracing::debug!(error = %error, "cannot parse the peer certificate");
            return None;
        }
    };
    let not_after = certificate.validity().not_after.timestamp();
    let not_after = Timestamp::from_second(not_after).ok()?;
    Some(not_after.duration_since(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(expires_in(b"not a certificate", Timestamp::UNIX_EPOCH), None);
    }
}
