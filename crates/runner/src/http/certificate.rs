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

    fn certificate_until(year: i32, month: u8, day: u8) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["example.test".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(year, month, day);
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn expiry_is_measured_from_the_clock() {
        let der = certificate_until(2030, 1, 11);
        let now: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            expires_in(&der, now),
            Some(SignedDuration::from_hours(10 * 24))
        );
    }

    #[test]
    fn an_expired_certificate_has_negative_time_left() {
        let der = certificate_until(2030, 1, 1);
        let now: Timestamp = "2030-01-01T06:00:00Z".parse().unwrap();
        assert_eq!(expires_in(&der, now), Some(SignedDuration::from_hours(-6)));
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(
            expires_in(b"not a certificate", Timestamp::UNIX_EPOCH),
            None
        );
    }
}
