//! What a monitor is, after the config has been parsed and validated: the
//! typed model every other crate works from. `config` builds these; `runner`
//! executes the probe; `engine` schedules them.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::condition::Condition;
pub use crate::condition::cost::AnswerLimit;
use crate::id::{ComponentId, MonitorId};
use crate::schedule::Schedule;

/// One `[[monitor]]`. Equal when every field is: what a reload compares
/// (conditions by their source).
#[derive(Debug, PartialEq)]
pub struct MonitorSpec {
    pub id: MonitorId,
    /// Human name; defaults to the id.
    pub name: String,
    pub component: Option<ComponentId>,
    /// When it is probed: every interval, or on a calendar.
    pub schedule: Schedule,
    /// Total time one probe may take, connection set-up and body included.
    pub timeout: Duration,
    pub probe: ProbeSpec,
    /// All must hold for the result to count as up (or degraded).
    pub expect: Vec<Condition>,
    /// If `expect` holds and any of these holds, the result is degraded.
    pub degraded_if: Vec<Condition>,
}

impl MonitorSpec {
    /// Connections (or child processes) one check holds open at once: two
    /// for an http monitor with a fallback URL, probed side by side.
    pub fn connections(&self) -> usize {
        match &self.probe {
            ProbeSpec::Http(http) if http.fallback_url.is_some() => 2,
            _ => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    Http,
    Tcp,
    Dns,
    Command,
}

impl ProbeKind {
    /// [`ProbeSpec::answer_limit`] with every setting at its default.
    pub const fn default_answer_limit(self) -> AnswerLimit {
        match self {
            ProbeKind::Http => AnswerLimit {
                bytes: DEFAULT_BODY_LIMIT as u64,
                key: Some("body_limit"),
            },
            ProbeKind::Command => AnswerLimit {
                bytes: DEFAULT_OUTPUT_LIMIT as u64,
                key: Some("output_limit"),
            },
            ProbeKind::Tcp => AnswerLimit {
                bytes: TCP_RECEIVE_LIMIT as u64,
                key: None,
            },
            // a DNS message is at most 64 KiB
            ProbeKind::Dns => AnswerLimit {
                bytes: 65_535,
                key: None,
            },
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Http => "http",
            ProbeKind::Tcp => "tcp",
            ProbeKind::Dns => "dns",
            ProbeKind::Command => "command",
        }
    }
}

// Specs are built once at load and shared behind an `Arc`; the size
// difference between variants costs nothing worth an extra indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq)]
pub enum ProbeSpec {
    Http(HttpSpec),
    Tcp(TcpSpec),
    Dns(DnsSpec),
    Command(CommandSpec),
}

impl ProbeSpec {
    pub fn kind(&self) -> ProbeKind {
        match self {
            ProbeSpec::Http(_) => ProbeKind::Http,
            ProbeSpec::Tcp(_) => ProbeKind::Tcp,
            ProbeSpec::Dns(_) => ProbeKind::Dns,
            ProbeSpec::Command(_) => ProbeKind::Command,
        }
    }

    /// The most answer text this probe hands its conditions, and the key
    /// that sets it; what a condition's worst-case cost is judged against.
    pub fn answer_limit(&self) -> AnswerLimit {
        match self {
            ProbeSpec::Http(http) => AnswerLimit {
                bytes: http.body_limit as u64,
                key: Some("body_limit"),
            },
            ProbeSpec::Command(command) => AnswerLimit {
                bytes: command.output_limit as u64,
                key: Some("output_limit"),
            },
            ProbeSpec::Tcp(_) | ProbeSpec::Dns(_) => self.kind().default_answer_limit(),
        }
    }

    /// A one-line description of the target for tables and logs (no secrets).
    pub fn target(&self) -> String {
        match self {
            ProbeSpec::Http(http) => format!("{} {}", http.method, RedactedUrl(&http.url)),
            ProbeSpec::Tcp(tcp) => format!("tcp {}:{}", tcp.host, tcp.port),
            ProbeSpec::Dns(dns) => format!("dns {} {}", dns.record.as_str(), dns.name),
            ProbeSpec::Command(cmd) => format!("exec {}", cmd.argv.join(" ")),
        }
    }
}

/// A URL as it may be shown — in reasons, logs, the API and `check`: the
/// password of its userinfo reads `***` (`https://user:***@host/`), so a
/// credential written as `https://user:${TOKEN}@host/` never leaves the
/// request. Everything else, the query string included, is shown as is.
#[derive(Debug, Clone, Copy)]
pub struct RedactedUrl<'a>(pub &'a Url);

impl fmt::Display for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.0;
        if url.password().is_none() {
            return fmt::Display::fmt(url, f);
        }
        let mut shown = url.clone();
        // Cannot fail: a URL that has a password can have another one.
        let _ = shown.set_password(Some("***"));
        fmt::Display::fmt(&shown, f)
    }
}

/// The text of a URL that did not parse, as it may be shown: the password
/// of what reads as its userinfo (from after `scheme://` to the last `@`)
/// reads `***`, as [`RedactedUrl`] shows a parsed one
/// (`http://user:***@/x`). Without a parse there is no knowing where the
/// userinfo ends, so it is taken to end at the *last* `@`: a `/` or `#`
/// left unencoded in a password must not cut the mask short. An `@` later
/// in the path or query therefore hides more than the password, never less.
#[derive(Debug, Clone, Copy)]
pub struct RedactedUrlText<'a>(pub &'a str);

impl fmt::Display for RedactedUrlText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        let start = authority_start(text);
        let rest = &text[start..];
        let password = rest
            .rfind('@')
            .and_then(|at| rest[..at].find(':').map(|colon| (colon, at)));
        match password {
            Some((colon, at)) => {
                let user_end = start + colon + 1;
                write!(f, "{}***{}", &text[..user_end], &rest[at..])
            }
            None => f.write_str(text),
        }
    }
}

/// Where the authority of a URL's text starts: after `scheme:` and any
/// slashes. A scheme is taken as one only when slashes follow it, or when
/// it is one whose URLs always have an authority (`http:user:pw@host`
/// parses as `http://user:pw@host`); otherwise `user:pw@host` reads as
/// userinfo from the first character.
fn authority_start(text: &str) -> usize {
    const WITH_AUTHORITY: [&str; 6] = ["http", "https", "ws", "wss", "ftp", "file"];
    let is_scheme = |scheme: &str| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    };
    let after_scheme = match text.find(':') {
        Some(colon)
            if is_scheme(&text[..colon])
                && (text[colon + 1..].starts_with(['/', '\\'])
                    || WITH_AUTHORITY
                        .iter()
                        .any(|known| text[..colon].eq_ignore_ascii_case(known))) =>
        {
            colon + 1
        }
        _ => 0,
    };
    let slashes = text[after_scheme..]
        .chars()
        .take_while(|c| matches!(c, '/' | '\\'))
        .count();
    after_scheme + slashes
}

/// A value that must never reach a log: `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// A tcp probe reads at most this much of the peer's reply.
pub const TCP_RECEIVE_LIMIT: usize = 64 * 1024;
pub const DEFAULT_OUTPUT_LIMIT: usize = 64 * 1024;
pub const DEFAULT_MAX_REDIRECTS: u8 = 10;

#[derive(Debug, PartialEq)]
pub struct HttpSpec {
    pub url: Url,
    /// Upper-case HTTP method, e.g. `GET`.
    pub method: String,
    /// Header values may carry credentials, hence `Secret`.
    pub headers: Vec<(String, Secret)>,
    pub body: Option<String>,
    pub redirects: RedirectPolicy,
    /// TLS certificate verification; on unless the user opts out explicitly.
    pub verify_tls: bool,
    /// A body larger than this fails the probe instead of being read.
    pub body_limit: usize,
    /// Probed and recorded beside `url` (the seeds' fallback domain).
    pub fallback_url: Option<Url>,
    pub parity: Parity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectPolicy {
    None,
    Follow {
        max_hops: u8,
        /// Where the configured headers go once a redirect leaves the
        /// URL's origin.
        headers: RedirectHeaders,
    },
}

impl RedirectPolicy {
    /// What a monitor follows unless its config says otherwise.
    pub const DEFAULT: RedirectPolicy = RedirectPolicy::Follow {
        max_hops: DEFAULT_MAX_REDIRECTS,
        headers: RedirectHeaders::SameOrigin,
    };
}

/// Which hops of a redirect chain get the monitor's configured `headers`.
/// An origin is a scheme, host and port, as browsers compare them. The
/// URL's own user and password go to its origin only, whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedirectHeaders {
    /// Up to the first hop to another origin, and no further (the default):
    /// a key for one host is not handed to whichever host it redirects to.
    #[default]
    SameOrigin,
    /// Every hop, whatever its origin: for a target that redirects to
    /// another host that needs the same headers.
    All,
}

impl RedirectHeaders {
    pub const fn as_str(self) -> &'static str {
        match self {
            RedirectHeaders::SameOrigin => "same-origin",
            RedirectHeaders::All => "all",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "same-origin" => Some(RedirectHeaders::SameOrigin),
            "all" => Some(RedirectHeaders::All),
            _ => None,
        }
    }
}

/// Whether the fallback must return the same data as the primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parity {
    Off,
    /// The whole body, byte for byte.
    Body,
    /// These JSON fields (dotted paths such as `status` or `data.version`).
    JsonFields(Vec<String>),
}

#[derive(Debug, PartialEq)]
pub struct TcpSpec {
    pub host: String,
    pub port: u16,
    /// Written after connecting.
    pub send: Option<String>,
    /// The probe fails unless what the peer sends back contains this.
    pub expect: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsRecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
}

impl DnsRecordType {
    pub const fn as_str(self) -> &'static str {
        match self {
            DnsRecordType::A => "A",
            DnsRecordType::Aaaa => "AAAA",
            DnsRecordType::Cname => "CNAME",
            DnsRecordType::Mx => "MX",
            DnsRecordType::Txt => "TXT",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_uppercase().as_str() {
            "A" => Some(DnsRecordType::A),
            "AAAA" => Some(DnsRecordType::Aaaa),
            "CNAME" => Some(DnsRecordType::Cname),
            "MX" => Some(DnsRecordType::Mx),
            "TXT" => Some(DnsRecordType::Txt),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq)]
pub struct DnsSpec {
    pub name: String,
    pub record: DnsRecordType,
    /// Ask this server instead of the system resolver.
    pub server: Option<SocketAddr>,
}

#[derive(Debug, PartialEq)]
pub struct CommandSpec {
    /// Program and arguments; never passed through a shell. Non-empty.
    pub argv: Vec<String>,
    pub env: Vec<(String, Secret)>,
    pub cwd: Option<PathBuf>,
    /// stdout and stderr are each cut at this many bytes.
    pub output_limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(raw: &str) -> String {
        RedactedUrl(&raw.parse().unwrap()).to_string()
    }

    #[test]
    fn a_url_password_is_never_shown() {
        assert_eq!(
            shown("https://user:s3cret@api.example.com/health?region=eu"),
            "https://user:***@api.example.com/health?region=eu"
        );
        assert_eq!(
            shown("https://:s3cret@api.example.com/"),
            "https://:***@api.example.com/"
        );
        // Percent-encoded passwords are replaced whole.
        assert_eq!(
            shown("http://svc:p%40ss%3Aword@127.0.0.1:8080/"),
            "http://svc:***@127.0.0.1:8080/"
        );
    }

    #[test]
    fn a_url_without_a_password_is_shown_as_it_is() {
        for raw in [
            "https://api.example.com/health",
            "https://user@api.example.com/",
            "http://[::1]:8080/status?verbose=1#top",
        ] {
            assert_eq!(shown(raw), raw);
        }
    }

    fn shown_text(raw: &str) -> String {
        RedactedUrlText(raw).to_string()
    }

    #[test]
    fn the_password_in_a_url_that_does_not_parse_is_never_shown() {
        for (raw, masked) in [
            ("http://user:S3cretPW@/x", "http://user:***@/x"),
            ("http://:s3cret@/x", "http://:***@/x"),
            ("https://user:pw@[::1/", "https://user:***@[::1/"),
            // An unencoded `/`, `#` or `@` in the password does not cut it short.
            (
                "http://svc:pa/ss@127.0.0.1:99999/",
                "http://svc:***@127.0.0.1:99999/",
            ),
            ("http://svc:p#w@h:0x/", "http://svc:***@h:0x/"),
            ("http://svc:p@w@h:0x/", "http://svc:***@h:0x/"),
            // Without slashes, or without a scheme at all.
            ("http:user:pw@/x", "http:user:***@/x"),
            ("//user:pw@/x", "//user:***@/x"),
            ("user:pw@host:x", "user:***@host:x"),
            // An `@` after the host hides more than the password, never less.
            ("http://host:99999/a@b", "http://host:***@b"),
        ] {
            assert_eq!(shown_text(raw), masked, "{raw}");
        }
    }

    #[test]
    fn url_text_without_a_password_is_shown_as_it_is() {
        for raw in [
            "http://user@/x",
            "http://[::1/",
            "not a url",
            "",
            "http://127.0.0.1:99999/",
        ] {
            assert_eq!(shown_text(raw), raw);
        }
    }

    #[test]
    fn the_http_target_hides_the_password() {
        let probe = ProbeSpec::Http(HttpSpec {
            url: "https://ci:t0ken@api.example.com/health".parse().unwrap(),
            method: "HEAD".to_owned(),
            headers: Vec::new(),
            body: None,
            redirects: RedirectPolicy::None,
            verify_tls: true,
            body_limit: DEFAULT_BODY_LIMIT,
            fallback_url: None,
            parity: Parity::Off,
        });
        assert_eq!(probe.target(), "HEAD https://ci:***@api.example.com/health");
    }

    /// Specs are shared across probe tasks behind an `Arc`.
    #[test]
    fn specs_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::MonitorSpec>();
    }
}
