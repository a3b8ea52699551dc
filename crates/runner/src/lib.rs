//! The only code that touches targets: http, tcp, dns and command probes, and
//! the check that turns one monitor's probe into a [`CheckResult`].
//!
//! # Shape
//!
//! A [`Prober`] is built once and shared (`Arc<Prober>`) by every probe task.
//! It owns the long-lived, expensive things: one `reqwest` client per TLS
//! verification setting, so the TLS configuration and session cache are
//! built once (each probe still opens its own connection); one DNS resolver per DNS server; the
//! [`TargetPolicy`]; and the [`Clock`]. No lock is held across an `.await`, so
//! one probe never waits behind another.
//!
//! # A failing target is data
//!
//! [`Prober::probe`] returns `Ok(Observation)` when the target answered
//! (conditions then decide whether the answer is good) and
//! `Err(ProbeFailure)` when it could not get an answer. Neither is a fault of
//! Watchkeeper's own; [`RunnerError`] is kept for those (e.g. the TLS backend
//! cannot start). A probe never panics on what a target sends.
//!
//! # How a check is decided ([`Prober::check`])
//!
//! - `started_at` is the clock's time when the check starts; `latency` is the
//!   primary probe's latency, or the time until it failed.
//! - A probe failure makes the result **down**, with the failure's message as
//!   the reason (`GET http://127.0.0.1:9/health: connect: connection refused`).
//! - An observation is judged by the monitor's `expect` and `degraded_if`
//!   conditions: up, degraded or down with the verdict's reason.
//! - An http monitor with a `fallback_url` probes both URLs concurrently, with
//!   the same method, headers, body and timeout, and judges the fallback with
//!   the same conditions; the fallback's own result is recorded beside the
//!   primary's. Then:
//!   - primary down → **down**, whatever the fallback says (the reason names
//!     the fallback's state too);
//!   - primary up or degraded, fallback down → **degraded**, reason
//!     `fallback <url>: <reason>`;
//!   - parity on, both answered and their data differ → **degraded**, reason
//!     `parity: json.status differs: primary "ok", fallback "degraded"` or
//!     `parity: bodies differ (primary 17 bytes, fallback 23 bytes)`.
//!
//!   Several degraded reasons are joined with `; `.
//!
//! # Target policy
//!
//! Link-local and cloud-metadata targets are refused (loopback too when the
//! policy denies it). Host names are checked before any lookup, IP literals
//! before any packet is sent, and every address a name resolves to is checked
//! by the resolver the HTTP client and the TCP probe connect through, so DNS
//! cannot be used to sneak past the policy. Each redirect hop is checked as
//! well, and only `http:` and `https:` hops are followed. HTTP proxies from
//! the environment are not used, for the same reason.

pub use http::ClientError;
pub use outbound::{api_client, check_outbound_url, describe_outbound_error, outbound_client};

mod check;
mod command;
mod dns;
mod http;
mod net;
mod outbound;
mod parity;
mod tcp;
mod units;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::monitor::{MonitorSpec, ProbeSpec};
use watchkeeper_domain::observation::{Observation, ProbeFailure};
use watchkeeper_domain::target_policy::TargetPolicy;

/// Watchkeeper's own faults while setting up probes (not a target's).
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] ClientError),
}

/// A probe of any kind, boxed (see [`Prober::probe`]).
type ProbeFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Observation, ProbeFailure>> + Send + 'a>,
>;

/// Runs probes. Cheap to share: wrap it in an `Arc` and hand it to every
/// probe task.
pub struct Prober {
    /// Refuses link-local, metadata and (optionally) loopback targets.
    policy: Arc<TargetPolicy>,
    /// The only source of "now" (check start, certificate expiry).
    clock: Arc<dyn Clock>,
    /// One client per `verify_tls`, built on first use.
    http: http::HttpClients,
    /// One resolver per DNS server (or the system configuration).
    dns: dns::DnsResolvers,
}

impl Prober {
    /// Builds the prober and its default HTTP client, so a broken TLS backend
    /// is reported at start-up rather than on every probe.
    pub fn new(policy: TargetPolicy, clock: Arc<dyn Clock>) -> Result<Prober, RunnerError> {
        Prober::with_extra_roots(policy, clock, Vec::new())
    }

    /// Like [`Prober::new`], and https targets whose chain ends at one of
    /// `extra_roots` (DER certificates) are trusted too, beside the system's
    /// trust store. Tests use it for a CA made at test time; it is the seam
    /// for a private CA in the configuration.
    pub fn with_extra_roots(
        policy: TargetPolicy,
        clock: Arc<dyn Clock>,
        extra_roots: Vec<Vec<u8>>,
    ) -> Result<Prober, RunnerError> {
        let policy = Arc::new(policy);
        let extra_roots = extra_roots
            .into_iter()
            .map(rustls::pki_types::CertificateDer::from)
            .collect();
        let http =
            http::HttpClients::new(policy.clone(), extra_roots).map_err(RunnerError::HttpClient)?;
        Ok(Prober {
            policy,
            clock,
            http,
            dns: dns::DnsResolvers::default(),
        })
    }

    /// One probe of one target. A failing target is data: `Err(ProbeFailure)`,
    /// never a panic. `timeout` bounds the whole probe, connection set-up and
    /// reading the answer included.
    pub async fn probe(
        &self,
        spec: &ProbeSpec,
        timeout: Duration,
    ) -> Result<Observation, ProbeFailure> {
        // Boxed: the probe futures are large (an http one is kilobytes) and
        // differ by kind, so each probe allocates just what its kind needs,
        // and the check future that the scheduler spawns stays small instead
        // of being as large as the largest kind and copied on every spawn.
        let probe: ProbeFuture<'_> = match spec {
            ProbeSpec::Http(http) => {
                Box::pin(
                    self.http
                        .probe(http, &http.url, timeout, self.clock.as_ref()),
                )
            }
            ProbeSpec::Tcp(tcp) => Box::pin(tcp::probe(tcp, timeout, &self.policy)),
            ProbeSpec::Dns(dns) => Box::pin(self.dns.probe(dns, timeout, &self.policy)),
            ProbeSpec::Command(command) => Box::pin(command::probe(command, timeout)),
        };
        probe.await
    }

    /// The full check of one monitor: probe (and the fallback, for http),
    /// judge, compare for parity, and build the [`CheckResult`]. See the crate
    /// docs for the rules.
    pub async fn check(&self, monitor: &MonitorSpec, due_at: Timestamp) -> CheckResult {
        check::run(self, monitor, due_at).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn prober_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Prober>();
    }

    /// The engine may build the prober before its runtime starts.
    #[test]
    fn a_prober_can_be_built_outside_a_runtime() {
        let clock = std::sync::Arc::new(watchkeeper_domain::ManualClock::new(
            jiff::Timestamp::UNIX_EPOCH,
        ));
        let prober = super::Prober::new(Default::default(), clock);
        assert!(prober.is_ok());
    }
}
