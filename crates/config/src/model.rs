//! The validated config: what the rest of Watchkeeper works from. Every value
//! here has passed validation; a [`Config`] can only come from
//! [`crate::load`] and friends. The alerting part is in `alerting`, the
//! on-call part in `oncall`, the incident part in `incidents`.

mod alerting;
mod incidents;
mod oncall;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use watchkeeper_domain::id::{ComponentId, MonitorId, NotifierId};
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::target_policy::TargetPolicy;

pub use alerting::{
    AlertRule, AlertingConfig, AlertingSettings, DEFAULT_FAILURE_THRESHOLD, DEFAULT_SEVERITIES,
    DEFAULT_SEVERITY, DEFAULT_SUCCESS_THRESHOLD, MAX_THRESHOLD, MIN_SLO_PERIOD, MonitorAlerting,
    Severities, Slo, Targets,
};
pub use incidents::{DEFAULT_JOIN_WINDOW, IncidentsConfig};
pub use oncall::{DEFAULT_LINK_EXPIRY, OnCallConfig};

pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
/// How long a client may take to send a request's headers, and how long an
/// idle keep-alive connection stays open: enough for a slow mobile link,
/// short enough that a client sending half a request cannot hold a
/// connection for long.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest `[server] header_timeout`: below a second, a real client on
/// a slow link would be cut off.
pub const MIN_HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest `[server] header_timeout`: beyond it, the timeout no longer
/// stops a client that holds connections by sending headers slowly.
pub const MAX_HEADER_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The most connections `[server] max_connections` may allow: far beyond
/// what the open-files limit of one process usually holds.
pub const MAX_CONNECTIONS: usize = 65_536;
/// `[server] requests_per_second` when not given: far beyond a person's
/// browser or a dashboard polling, well below a client in a loop.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 100;
/// `[server] auth_failures_per_minute` when not given: enough for a
/// person mistyping, too few to guess a token.
pub const DEFAULT_AUTH_FAILURES_PER_MINUTE: u32 = 10;
/// The database file used when `[storage] url` is not given, beside the config.
pub const DEFAULT_DATABASE_FILE: &str = "watchkeeper.db";
pub use watchkeeper_domain::storage::{
    DEFAULT_RAW_RETENTION, DEFAULT_ROLLUP_RETENTION, Database, PostgresUrl, StorageConfig,
};
/// The shortest rollup retention accepted. The status page shows 90 days of
/// history, so anything shorter leaves part of it blank.
pub const MIN_ROLLUP_RETENTION: Duration = Duration::from_secs(86_400);
/// The shortest raw-result retention accepted: raw results feed the minute
/// rollups and recent-history views.
pub const MIN_RAW_RETENTION: Duration = Duration::from_secs(3600);
/// The most probes `[probes] concurrency` may allow at once: far beyond what
/// one process can usefully run, and well inside what the engine's
/// semaphore accepts (a larger count makes it panic at start).
pub const MAX_CONCURRENCY: usize = 65_536;
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The default timeout, cut down to the interval when the interval is shorter.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_REDIRECTS_LIMIT: u8 = 20;

/// A whole, validated watchkeeper.toml (and the files it includes).
/// Non-exhaustive so that only validation can build one.
#[derive(Debug)]
#[non_exhaustive]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub probes: ProbesConfig,
    /// Who may use `/api/v1` without a token.
    pub api: ApiConfig,
    /// The public status page's title, logo, links and colour.
    pub status_page: StatusPageConfig,
    /// In the order written (main file first, then included files).
    pub components: Vec<Component>,
    /// In the order written (main file first, then included files).
    pub monitors: Vec<Arc<MonitorSpec>>,
    /// Monitors written with `public = false`: probed and alerted on like
    /// any other, but never counted or shown on the status page or any
    /// unauthenticated route.
    pub private_monitors: BTreeSet<MonitorId>,
    /// Rules, SLOs, routes, inhibitions, maintenance windows, notifiers.
    pub alerting: AlertingConfig,
    /// People, schedules, escalation policies, acknowledgement settings.
    pub oncall: OnCallConfig,
    /// When alerts open incidents, and what incidents say.
    pub incidents: IncidentsConfig,
    /// The main file and every included file, in load order (for reloads and
    /// messages).
    pub files: Vec<PathBuf>,
}

impl Config {
    pub fn monitor(&self, id: &MonitorId) -> Option<&Arc<MonitorSpec>> {
        self.monitors.iter().find(|monitor| &monitor.id == id)
    }

    pub fn component(&self, id: &ComponentId) -> Option<&Component> {
        self.components.iter().find(|component| &component.id == id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where the HTTP server (API, status page, metrics) listens.
    pub listen: SocketAddr,
    /// Which region this instance probes from, recorded with results.
    pub region: Option<String>,
    /// How long a client may take to send a request's headers; also how
    /// long an idle keep-alive connection is kept.
    pub header_timeout: Duration,
    /// At most this many HTTP connections are open at once (more than
    /// zero); `None`: a share of the open-files limit, decided at start.
    pub max_connections: Option<usize>,
    /// Requests per second one client address may make to the status page
    /// and the API (bursts of twice as many); 0: no limit.
    pub requests_per_second: u32,
    /// Failed authentications per minute one address may make before its
    /// requests with a token are refused for a while; 0: no limit.
    pub auth_failures_per_minute: u32,
}

/// `[api]`: the REST API's access rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiConfig {
    /// Reads (`GET`) under `/api/v1` need no token; the audit log and
    /// every change still do. Default `false`.
    pub public_read: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbesConfig {
    /// Which addresses probes may connect to.
    pub policy: TargetPolicy,
    /// At most this many probes run at once (more than zero); `None`: as
    /// many as the monitors can have open, within the open-files limit
    /// (`watchkeeper_domain::schedule::automatic_concurrency`).
    pub concurrency: Option<usize>,
}

/// A `[[component]]`: a box on the status page that monitors report into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub id: ComponentId,
    /// Human name; defaults to the id.
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    /// `false`: it, its monitors and its incidents' impact on it never
    /// appear on the status page or any unauthenticated route.
    pub public: bool,
}

/// `[status_page]`: how the public page presents itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPageConfig {
    /// The page's title and the banner's name; default "Status".
    pub title: String,
    pub description: Option<String>,
    /// An image URL shown beside the title.
    pub logo: Option<url::Url>,
    /// Links in the page's header, in the order written (`{ Home = "https://…" }`).
    pub links: Vec<(String, url::Url)>,
    /// `#rrggbb`: links and the operational colour's accent.
    pub accent: Option<String>,
    /// From `templates_dir`: the templates that replace the built-in ones.
    pub templates: Option<PageTemplates>,
    /// Where visitors reach the page; `None`: the server's own address.
    pub url: Option<url::Url>,
    /// `subscribe_by_email`: the email notifier that mails subscribers;
    /// `None`: no email subscriptions.
    pub subscribe_by_email: Option<NotifierId>,
    pub subscribe_by_webhook: bool,
}

/// The status page's own templates, read from `templates_dir` at load;
/// `None`: the built-in one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageTemplates {
    pub dir: PathBuf,
    pub page: Option<String>,
    pub incident: Option<String>,
    pub style: Option<String>,
}

impl Default for StatusPageConfig {
    fn default() -> Self {
        StatusPageConfig {
            title: "Status".to_owned(),
            description: None,
            logo: None,
            links: Vec::new(),
            accent: None,
            templates: None,
            url: None,
            subscribe_by_email: None,
            subscribe_by_webhook: false,
        }
    }
}
