//! Turns a `reqwest` error into a [`ProbeFailure`] a person can act on: the
//! kind (timeout, dns, connect, tls, refused, protocol) and a message that
//! says what happened and where, found by walking the error's causes
//! (`GET https://…: tls: certificate has expired`).

use std::error::Error as StdError;

use watchkeeper_domain::observation::{FailureKind, ProbeFailure};

use super::tls_reason::tls_reason;
use crate::net::Unreachable;

/// `target` is `METHOD URL` (its password already hidden), put in front of
/// every message. The error's own URL is dropped: reqwest prints it whole,
/// password included, and `target` already says where.
pub(crate) fn describe(target: &str, error: reqwest::Error) -> ProbeFailure {
    let error = error.without_url();
    let (kind, what) = classify(&error);
    ProbeFailure::new(kind, format!("{target}: {what}"))
}

fn classify(error: &reqwest::Error) -> (FailureKind, String) {
    let causes = causes(error);
    for cause in &causes {
        if let Some(unreachable) = cause.downcast_ref::<Unreachable>() {
            return match unreachable {
                Unreachable::Refused(refused) => (FailureKind::Refused, refused.to_string()),
                Unreachable::Unresolved { .. } => (FailureKind::Dns, format!("dns: {unreachable}")),
            };
        }
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return (FailureKind::Tls, format!("tls: {}", tls_reason(tls)));
        }
    }
    if error.is_timeout() {
        return (FailureKind::Timeout, "timed out".to_owned());
    }
    for cause in &causes {
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            if hyper.is_parse() || hyper.is_parse_status() {
                return (
                    FailureKind::Protocol,
                    format!("invalid HTTP response ({hyper})"),
                );
            }
            // A server that speaks first (SSH, SMTP, a banner) races the
            // request: hyper then reports an unexpected message, or a
            // connection that was not ready (canceled), instead of a parse
            // error. hyper offers no predicate for the first but its text.
            if hyper.is_canceled() || hyper.to_string().contains("unexpected message") {
                return (
                    FailureKind::Protocol,
                    format!(
                        "invalid HTTP response (the server sent data before the request: not an HTTP server?; {hyper})"
                    ),
                );
            }
            if hyper.is_incomplete_message() {
                return (
                    FailureKind::Protocol,
                    "connection closed before a complete response".to_owned(),
                );
            }
        }
    }
    let io = causes
        .iter()
        .find_map(|cause| cause.downcast_ref::<std::io::Error>());
    if error.is_connect() {
        let reason = io.map_or_else(|| innermost(&causes), crate::net::io_reason);
        return (FailureKind::Connect, format!("connect: {reason}"));
    }
    if error.is_body() || error.is_decode() {
        return (
            FailureKind::Protocol,
            format!("reading the body: {}", innermost(&causes)),
        );
    }
    match io {
        Some(io) => (FailureKind::Io, crate::net::io_reason(io)),
        None => (FailureKind::Protocol, innermost(&causes)),
    }
}

/// The error and its causes, outermost first. An `io::Error` hides the error
/// it wraps from `source()` (it shows it in `Display` instead), so that
/// wrapped error is listed too: it is where rustls puts its own.
fn causes<'a>(error: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut causes = Vec::new();
    let mut next = Some(error);
    // Bounded: error chains are short, and a cycle must not hang a probe.
    while let Some(cause) = next
        && causes.len() < 32
    {
        causes.push(cause);
        // `io::Error::source` is the wrapped error's source, so walking on
        // from the wrapped error itself loses nothing (and finds nested
        // `io::Error`s, as hyper-rustls wraps tokio-rustls's).
        next = match cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => cause.source(),
        };
    }
    causes
}

/// The most specific description: the last cause's message.
fn innermost(causes: &[&(dyn StdError + 'static)]) -> String {
    causes
        .last()
        .map(|cause| cause.to_string())
        .unwrap_or_else(|| "request failed".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_error_inside_an_io_error_is_found() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Expired),
        );
        let found = causes(&io)
            .into_iter()
            .find_map(|cause| cause.downcast_ref::<rustls::Error>())
            .map(tls_reason);
        assert_eq!(found.as_deref(), Some("certificate has expired"));
    }
}
