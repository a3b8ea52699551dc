//! What a probe saw. A probe returns either an [`Observation`] (the target
//! answered; conditions decide whether the answer is good) or a
//! [`ProbeFailure`] (it could not get an answer: refused, timed out, TLS error,
//! body too large…). Neither is an `Err` of Watchkeeper's own.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Observation {
    /// From the start of the probe to the end of reading the answer.
    pub latency: Duration,
    pub detail: ObservationDetail,
}

impl Observation {
    /// The length of the longest text its conditions can read (the body,
    /// stdout or stderr, the reply, all DNS answers together): what the
    /// cost of judging it grows with.
    pub fn answer_len(&self) -> usize {
        match &self.detail {
            ObservationDetail::Http(http) => http.body.len(),
            ObservationDetail::Tcp(tcp) => tcp.received.as_ref().map_or(0, Vec::len),
            ObservationDetail::Dns(dns) => dns.answers.iter().map(String::len).sum(),
            ObservationDetail::Command(command) => command.stdout.len().max(command.stderr.len()),
        }
    }
}

#[derive(Debug, Clone)]
pub enum ObservationDetail {
    Http(HttpObservation),
    Tcp(TcpObservation),
    Dns(DnsObservation),
    Command(CommandObservation),
}

#[derive(Debug, Clone)]
pub struct HttpObservation {
    pub status: u16,
    /// Lower-case names; repeated headers appear once per value, in order.
    pub headers: Vec<(String, String)>,
    /// The whole body (never more than the monitor's body limit).
    pub body: Vec<u8>,
    /// Time left until the peer certificate's `notAfter` (negative once
    /// expired); `None` for plain HTTP.
    pub cert_expires_in: Option<jiff::SignedDuration>,
    /// The URL that answered, after redirects.
    pub final_url: String,
}

#[derive(Debug, Clone)]
pub struct TcpObservation {
    /// What the peer sent back after `send`, if anything was read.
    pub received: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct DnsObservation {
    /// Answers in presentation form: addresses for A/AAAA, names for CNAME,
    /// `"10 mail.example.com."` for MX, the joined strings for TXT.
    pub answers: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CommandObservation {
    /// `None` when the process was killed by a signal.
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why a probe got no usable answer. `message` is for people and says what
/// happened and where, e.g. `connect to 127.0.0.1:9: connection refused`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl ProbeFailure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    Timeout,
    Dns,
    Connect,
    Tls,
    /// The target address is refused by the target policy (link-local,
    /// cloud metadata, or loopback when denied).
    Refused,
    /// The peer answered something that is not the protocol.
    Protocol,
    BodyTooLarge,
    /// A command could not be started.
    Spawn,
    Io,
}

impl FailureKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Dns => "dns",
            FailureKind::Connect => "connect",
            FailureKind::Tls => "tls",
            FailureKind::Refused => "refused",
            FailureKind::Protocol => "protocol",
            FailureKind::BodyTooLarge => "body_too_large",
            FailureKind::Spawn => "spawn",
            FailureKind::Io => "io",
        }
    }
}
