//! Builders for the domain values tests write out again and again: a
//! [`MonitorSpec`] and a [`CheckResult`] with sensible defaults, so a test
//! states only what it is about.
//!
//! ```
//! use std::time::Duration;
//! use watchkeeper_testkit::{monitor, result};
//! use watchkeeper_domain::Health;
//!
//! let spec = monitor("api").timeout(Duration::from_secs(2)).build();
//! let at = "2026-01-01T00:00:00Z".parse().unwrap();
//! let down = result("api", at).down("connection refused").build();
//! assert_eq!(spec.id.as_str(), "api");
//! assert_eq!(down.health, Health::Down);
//! ```
//!
//! Ids and URLs are the test's own constants: a malformed one panics with
//! the value, which fails the test that wrote it.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::condition::Condition;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::{ComponentId, MonitorId};
use watchkeeper_domain::monitor::{
    DEFAULT_BODY_LIMIT, HttpSpec, MonitorSpec, Parity, ProbeSpec, RedirectPolicy, TcpSpec,
};
use watchkeeper_domain::schedule::Schedule;

/// A monitor `id`: TCP to 127.0.0.1:9 (discard, where nothing listens in
/// a test), every second, 1 s timeout, no conditions.
pub fn monitor(id: &str) -> MonitorBuilder {
    MonitorBuilder {
        spec: MonitorSpec {
            id: monitor_id(id),
            name: id.to_owned(),
            component: None,
            schedule: Schedule::Every(Duration::from_secs(1)),
            timeout: Duration::from_secs(1),
            probe: ProbeSpec::Tcp(TcpSpec {
                host: "127.0.0.1".to_owned(),
                port: 9,
                send: None,
                expect: None,
            }),
            expect: Vec::new(),
            degraded_if: Vec::new(),
        },
    }
}

/// An HTTP probe of `url` with every setting at its default (GET, the
/// default redirects and body limit, TLS verified, no fallback).
pub fn http_probe(url: &str) -> HttpSpec {
    HttpSpec {
        url: url
            .parse()
            .unwrap_or_else(|error| panic!("test URL {url:?}: {error}")),
        method: "GET".to_owned(),
        headers: Vec::new(),
        body: None,
        redirects: RedirectPolicy::DEFAULT,
        verify_tls: true,
        body_limit: DEFAULT_BODY_LIMIT,
        fallback_url: None,
        parity: Parity::Off,
    }
}

pub struct MonitorBuilder {
    spec: MonitorSpec,
}

impl MonitorBuilder {
    pub fn name(mut self, name: &str) -> Self {
        self.spec.name = name.to_owned();
        self
    }

    pub fn component(mut self, component: &str) -> Self {
        let id = ComponentId::parse(component)
            .unwrap_or_else(|error| panic!("test component id {component:?}: {error}"));
        self.spec.component = Some(id);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.spec.timeout = timeout;
        self
    }

    pub fn probe(mut self, probe: ProbeSpec) -> Self {
        self.spec.probe = probe;
        self
    }

    /// An HTTP probe of `url` ([`http_probe`]).
    pub fn http(self, url: &str) -> Self {
        self.probe(ProbeSpec::Http(http_probe(url)))
    }

    /// Adds a condition to `expect`, compiled for the probe set so far.
    pub fn expect(mut self, source: &str) -> Self {
        let condition = self.compile(source);
        self.spec.expect.push(condition);
        self
    }

    /// Adds a condition to `degraded_if`, compiled for the probe set so far.
    pub fn degraded_if(mut self, source: &str) -> Self {
        let condition = self.compile(source);
        self.spec.degraded_if.push(condition);
        self
    }

    pub fn build(self) -> MonitorSpec {
        self.spec
    }

    /// The spec behind an `Arc`, as the engine and the board take it.
    pub fn arc(self) -> Arc<MonitorSpec> {
        Arc::new(self.spec)
    }

    fn compile(&self, source: &str) -> Condition {
        Condition::compile(source, self.spec.probe.kind())
            .unwrap_or_else(|error| panic!("test condition {source:?}: {error}"))
    }
}

/// A result of monitor `id` that started at `started_at`, exactly when it
/// was due: up, 10 ms latency, no reason, no fallback.
pub fn result(id: &str, started_at: Timestamp) -> ResultBuilder {
    ResultBuilder {
        result: CheckResult {
            monitor: monitor_id(id),
            due_at: started_at,
            started_at,
            latency: Duration::from_millis(10),
            evaluation: Duration::ZERO,
            health: Health::Up,
            reason: None,
            fallback: None,
        },
    }
}

pub struct ResultBuilder {
    result: CheckResult,
}

impl ResultBuilder {
    /// Down, for `reason`.
    pub fn down(mut self, reason: &str) -> Self {
        self.result.health = Health::Down;
        self.result.reason = Some(reason.to_owned());
        self
    }

    pub fn build(self) -> CheckResult {
        self.result
    }
}

fn monitor_id(id: &str) -> MonitorId {
    MonitorId::parse(id).unwrap_or_else(|error| panic!("test monitor id {id:?}: {error}"))
}
