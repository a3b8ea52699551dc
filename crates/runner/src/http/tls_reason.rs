//! What a TLS failure means, in words: rustls's errors, the webpki errors
//! it passes on untranslated (`CaUsedAsEndEntity`, …) and the platform
//! verifier's, turned into the reasons docs/probes.md lists
//! (`certificate has expired (not valid after 2021-01-01T00:00:00Z)`),
//! never a type name such as `Other(OtherError(CaUsedAsEndEntity))`.

use std::error::Error as StdError;

use jiff::Timestamp;
use rustls::pki_types::UnixTime;
use rustls::{AlertDescription, CertificateError, Error as TlsError};

/// The text the platform verifier's private EKU error displays: it stands
/// for rustls's `InvalidPurpose` (a certificate whose extended key usage
/// does not include serving TLS), which the verifier rewrites into it.
const PLATFORM_EKU_ERROR: &str = "certificate had invalid extensions";

/// What a TLS failure means, in words.
pub(crate) fn tls_reason(error: &TlsError) -> String {
    match error {
        TlsError::InvalidCertificate(certificate) => certificate_reason(certificate),
        TlsError::AlertReceived(alert) => alert_reason(*alert),
        TlsError::InvalidMessage(message) => format!(
            "the server's answer is not valid TLS (is it plain HTTP, or another protocol?): {}",
            words(message)
        ),
        TlsError::PeerIncompatible(why) => format!(
            "the server and Watchkeeper have no TLS version, cipher suite or key exchange in common ({})",
            words(why)
        ),
        TlsError::PeerMisbehaved(why) => {
            format!("the server broke the TLS protocol ({})", words(why))
        }
        TlsError::NoCertificatesPresented => "the server sent no certificate".to_owned(),
        TlsError::DecryptError => "a TLS record from the server could not be decrypted".to_owned(),
        TlsError::PeerSentOversizedRecord => {
            "the server sent an oversized TLS record (is it speaking TLS?)".to_owned()
        }
        TlsError::General(what) => format!("handshake failed: {what}"),
        other => format!("handshake failed: {other}"),
    }
}

fn certificate_reason(error: &CertificateError) -> String {
    #[allow(deprecated)] // rustls still returns the context-free variants
    match error {
        CertificateError::Expired => "certificate has expired".to_owned(),
        CertificateError::ExpiredContext { not_after, .. } => {
            format!(
                "certificate has expired (not valid after {})",
                time(*not_after)
            )
        }
        CertificateError::NotValidYet => "certificate is not valid yet".to_owned(),
        CertificateError::NotValidYetContext { not_before, .. } => format!(
            "certificate is not valid yet (not valid before {})",
            time(*not_before)
        ),
        CertificateError::UnknownIssuer => {
            "certificate is not trusted (unknown issuer; self-signed?)".to_owned()
        }
        CertificateError::NotValidForName => {
            "certificate is not valid for this host name".to_owned()
        }
        CertificateError::NotValidForNameContext { presented, .. } if presented.is_empty() => {
            "certificate is not valid for this host name (it names no host)".to_owned()
        }
        CertificateError::NotValidForNameContext { presented, .. } => format!(
            "certificate is not valid for this host name (it is for {})",
            presented
                .iter()
                .map(|name| presented_name(name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        CertificateError::Revoked => "certificate has been revoked".to_owned(),
        CertificateError::BadSignature => {
            "certificate has a bad signature (it was not signed by the issuer it names)".to_owned()
        }
        CertificateError::UnsupportedSignatureAlgorithm
        | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "certificate is signed with an unsupported signature algorithm".to_owned()
        }
        CertificateError::BadEncoding => "certificate is malformed (bad encoding)".to_owned(),
        CertificateError::UnhandledCriticalExtension => {
            "certificate has a critical extension that is not supported".to_owned()
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            not_for_a_server()
        }
        CertificateError::UnknownRevocationStatus
        | CertificateError::ExpiredRevocationList
        | CertificateError::ExpiredRevocationListContext { .. } => {
            "certificate's revocation status cannot be checked".to_owned()
        }
        CertificateError::InvalidOcspResponse => "the server's OCSP response is invalid".to_owned(),
        CertificateError::ApplicationVerificationFailure => "certificate was rejected".to_owned(),
        CertificateError::Other(other) => other_certificate_reason(other.0.as_ref()),
        other => format!("certificate is invalid: {other}"),
    }
}

fn not_for_a_server() -> String {
    "certificate is not meant for a TLS server (its extended key usage)".to_owned()
}

/// The errors rustls passes on as `Other`: webpki's own, or the platform
/// verifier's.
fn other_certificate_reason(error: &(dyn StdError + Send + Sync + 'static)) -> String {
    use webpki::Error as Pki;
    let Some(pki) = error.downcast_ref::<Pki>() else {
        if error.to_string() == PLATFORM_EKU_ERROR {
            return not_for_a_server();
        }
        return format!("certificate is invalid: {error}");
    };
    match pki {
        Pki::CaUsedAsEndEntity => {
            "certificate is a CA certificate, not a server's (CA used as end entity)".to_owned()
        }
        Pki::EndEntityUsedAsCa => {
            "the chain uses a server's certificate as an issuer (end entity used as CA)".to_owned()
        }
        Pki::CertDistrusted => "certificate is explicitly distrusted".to_owned(),
        Pki::PathLenConstraintViolated => {
            "the chain is longer than its CA allows (path length constraint)".to_owned()
        }
        Pki::NameConstraintViolation => {
            "certificate names a host its CA may not issue for (name constraint)".to_owned()
        }
        Pki::MaximumPathDepthExceeded
        | Pki::MaximumPathBuildCallsExceeded
        | Pki::MaximumSignatureChecksExceeded
        | Pki::MaximumNameConstraintComparisonsExceeded => {
            "the certificate chain is too long or too complex to verify".to_owned()
        }
        Pki::UnsupportedCertVersion => {
            "certificate is not an X.509 version 3 certificate".to_owned()
        }
        Pki::SignatureAlgorithmMismatch => {
            "certificate's signature algorithm does not match the one it declares".to_owned()
        }
        other => format!("certificate is invalid: {}", words(other)),
    }
}

fn alert_reason(alert: AlertDescription) -> String {
    let name = words(&alert);
    match alert {
        AlertDescription::HandshakeFailure => format!(
            "the server refused the handshake: no TLS version or cipher suite in common? (alert: {name})"
        ),
        AlertDescription::ProtocolVersion => {
            format!("the server refused the handshake: no TLS version in common (alert: {name})")
        }
        AlertDescription::CertificateRequired => {
            format!("the server requires a client certificate (alert: {name})")
        }
        AlertDescription::UnrecognisedName => {
            format!("the server does not serve this host name (alert: {name})")
        }
        _ => format!("the server ended the handshake (alert: {name})"),
    }
}

/// A name the certificate presents, as webpki writes it
/// (`DnsName("other.test")`, `IpAddress(127.0.0.1)`), without the wrapping.
fn presented_name(name: &str) -> &str {
    let unwrapped = name
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            name.strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        });
    unwrapped.unwrap_or(name)
}

/// A timestamp from a certificate, as `2021-01-01T00:00:00Z`.
fn time(time: UnixTime) -> String {
    i64::try_from(time.as_secs())
        .ok()
        .and_then(|seconds| Timestamp::from_second(seconds).ok())
        .map_or_else(|| format!("{} (UNIX)", time.as_secs()), |t| t.to_string())
}

/// A variant's name in lower-case words (`HandshakeFailure` → `handshake
/// failure`), its fields left out: for the rarer errors, which have no
/// sentence of their own but whose name says enough.
fn words(value: &impl std::fmt::Debug) -> String {
    let debug = format!("{value:?}");
    let name = debug
        .split(['(', '{', ' '])
        .next()
        .unwrap_or(debug.as_str());
    let mut words = String::with_capacity(name.len() + 8);
    for (index, character) in name.char_indices() {
        if character.is_uppercase() && index > 0 {
            words.push(' ');
        }
        words.extend(character.to_lowercase());
    }
    words
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::OtherError;

    use super::*;

    fn certificate(error: CertificateError) -> String {
        tls_reason(&TlsError::InvalidCertificate(error))
    }

    #[test]
    fn certificate_errors_are_named_in_words() {
        assert_eq!(
            certificate(CertificateError::Expired),
            "certificate has expired"
        );
        assert_eq!(
            certificate(CertificateError::ExpiredContext {
                time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_609_545_600)),
                not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                    1_609_459_200
                )),
            }),
            "certificate has expired (not valid after 2021-01-01T00:00:00Z)"
        );
        assert_eq!(
            certificate(CertificateError::UnknownIssuer),
            "certificate is not trusted (unknown issuer; self-signed?)"
        );
        assert_eq!(
            certificate(CertificateError::NotValidForName),
            "certificate is not valid for this host name"
        );
        assert_eq!(
            certificate(CertificateError::InvalidPurpose),
            "certificate is not meant for a TLS server (its extended key usage)"
        );
    }

    /// rustls hands these on as `Other(OtherError(…))`: they must still read
    /// as words, not as a Debug print.
    #[test]
    fn webpki_errors_passed_on_by_rustls_are_named_in_words() {
        let other = |error: webpki::Error| {
            certificate(CertificateError::Other(OtherError(Arc::new(error))))
        };
        assert_eq!(
            other(webpki::Error::CaUsedAsEndEntity),
            "certificate is a CA certificate, not a server's (CA used as end entity)"
        );
        assert_eq!(
            other(webpki::Error::MalformedExtensions),
            "certificate is invalid: malformed extensions"
        );
    }

    #[test]
    fn the_names_a_certificate_is_for_are_shown_plainly() {
        let wrong_name = CertificateError::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            presented: vec![
                "DnsName(\"other.test\")".to_owned(),
                "IpAddress(10.0.0.1)".to_owned(),
                "DirectoryName".to_owned(),
            ],
        };
        assert_eq!(
            certificate(wrong_name),
            "certificate is not valid for this host name (it is for other.test, 10.0.0.1, DirectoryName)"
        );
    }

    #[test]
    fn handshake_alerts_say_what_the_server_refused() {
        assert_eq!(
            tls_reason(&TlsError::AlertReceived(AlertDescription::HandshakeFailure)),
            "the server refused the handshake: no TLS version or cipher suite in common? (alert: handshake failure)"
        );
        assert_eq!(
            tls_reason(&TlsError::AlertReceived(
                AlertDescription::CertificateRequired
            )),
            "the server requires a client certificate (alert: certificate required)"
        );
        assert_eq!(
            tls_reason(&TlsError::AlertReceived(AlertDescription::InternalError)),
            "the server ended the handshake (alert: internal error)"
        );
    }

    #[test]
    fn the_rarer_errors_still_read_as_words() {
        assert_eq!(
            certificate(CertificateError::BadSignature),
            "certificate has a bad signature (it was not signed by the issuer it names)"
        );
        assert_eq!(
            certificate(CertificateError::UnsupportedSignatureAlgorithmContext {
                signature_algorithm_id: Vec::new(),
                supported_algorithms: Vec::new(),
            }),
            "certificate is signed with an unsupported signature algorithm"
        );
        assert_eq!(
            tls_reason(&TlsError::PeerIncompatible(
                rustls::PeerIncompatible::NoCipherSuitesInCommon
            )),
            "the server and Watchkeeper have no TLS version, cipher suite or key exchange in common (no cipher suites in common)"
        );
    }
}
