//! From the raw mirror to the typed model: every semantic rule (durations,
//! addresses, URLs, ids, references between monitors and components, CEL)
//! is checked here, and every violation is reported, not only the first.

use std::collections::HashMap;
use std::net::{Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;
use watchkeeper_domain::condition::{Condition, ConditionError};
use watchkeeper_domain::id::{ComponentId, MonitorId};
use watchkeeper_domain::monitor::{
    CommandSpec, DEFAULT_BODY_LIMIT, DEFAULT_MAX_REDIRECTS, DEFAULT_OUTPUT_LIMIT, DnsRecordType,
    DnsSpec, HttpSpec, MonitorSpec, Parity, ProbeKind, ProbeSpec, RedirectPolicy, Secret, TcpSpec,
};
use watchkeeper_domain::target_policy::TargetPolicy;

use crate::error::ConfigError;
use crate::model::{
    Component, Config, DEFAULT_DATABASE_FILE, DEFAULT_INTERVAL, DEFAULT_RAW_RETENTION,
    DEFAULT_ROLLUP_RETENTION, DEFAULT_TIMEOUT, MAX_CONCURRENCY, MAX_REDIRECTS_LIMIT, MIN_INTERVAL,
    MIN_RAW_RETENTION, MIN_ROLLUP_RETENTION, ProbesConfig, StorageConfig,
};
use crate::quantity::{parse_duration, parse_size};
use crate::raw::{
    RawCommand, RawComponent, RawDns, RawDocument, RawHttp, RawMonitor, RawParity, RawProbe,
    RawProbes, RawSize, RawStorage, RawTcp, TextList,
};
use crate::source::{Loc, Located, Origin};

mod server;

/// The conditions a monitor gets when it gives no `expect`.
pub(crate) fn default_expect(kind: ProbeKind) -> &'static [&'static str] {
    match kind {
        ProbeKind::Http => &["status >= 200 && status < 400"],
        ProbeKind::Tcp => &[],
        ProbeKind::Dns => &["size(answers) > 0"],
        ProbeKind::Command => &["exit_code == 0"],
    }
}

/// Collects errors; every check reports through it.
struct Problems<'a>(&'a mut Vec<ConfigError>);

impl Problems<'_> {
    fn at(&mut self, at: &Loc, message: impl Into<String>) {
        self.0.push(ConfigError::at(at, message));
    }

    fn count(&self) -> usize {
        self.0.len()
    }
}

/// Builds the config from the main document and the included ones.
/// `includes_complete` is false when an include could not be read: then a
/// monitor naming a component is not blamed for the component being missing.
/// The result is only meaningful when no error was added.
pub(crate) fn config(
    main: RawDocument,
    included: Vec<RawDocument>,
    files: Vec<PathBuf>,
    includes_complete: bool,
    errors: &mut Vec<ConfigError>,
) -> Config {
    let mut problems = Problems(errors);
    let RawDocument {
        dir,
        include: _,
        server,
        storage,
        probes,
        components,
        monitors,
    } = main;
    let server = server::validate_server(server, &mut problems);
    let storage = validate_storage(storage, &dir, &mut problems);
    let probes = validate_probes(probes, &mut problems);

    let mut all_components = vec![components];
    let mut all_monitors = vec![(dir, monitors)];
    for document in included {
        all_components.push(document.components);
        all_monitors.push((document.dir, document.monitors));
    }

    let mut component_ids: HashMap<ComponentId, Loc> = HashMap::new();
    let mut components = Vec::new();
    for raw in all_components.into_iter().flatten() {
        if let Some(component) = validate_component(raw, &mut component_ids, &mut problems) {
            components.push(component);
        }
    }
    let components_known = includes_complete.then_some(&component_ids);

    let mut monitor_ids: HashMap<MonitorId, Loc> = HashMap::new();
    let mut compiled = CompiledConditions::default();
    let mut monitors = Vec::new();
    for (dir, raws) in all_monitors {
        for raw in raws {
            let context = MonitorContext {
                dir: &dir,
                components: components_known,
            };
            if let Some(monitor) = validate_monitor(
                raw,
                &context,
                &mut monitor_ids,
                &mut compiled,
                &mut problems,
            ) {
                monitors.push(Arc::new(monitor));
            }
        }
    }

    Config {
        server,
        storage,
        probes,
        components,
        monitors,
        files,
    }
}

fn non_empty(
    text: Option<Located<String>>,
    what: &str,
    problems: &mut Problems<'_>,
) -> Option<String> {
    let text = text?;
    if text.value.trim().is_empty() {
        problems.at(&text.at, format!("{what} must not be empty"));
        return None;
    }
    Some(text.value)
}

fn validate_storage(raw: RawStorage, dir: &Path, problems: &mut Problems<'_>) -> StorageConfig {
    let RawStorage {
        url,
        raw_retention,
        rollup_retention,
    } = raw;
    let database = match url {
        None => dir.join(DEFAULT_DATABASE_FILE),
        Some(url) => match database_path(&url.value) {
            Ok(path) if path.is_absolute() => path,
            Ok(path) => dir.join(path),
            Err(message) => {
                problems.at(&url.at, message);
                dir.join(DEFAULT_DATABASE_FILE)
            }
        },
    };
    let raw_retention = retention(
        raw_retention,
        "raw_retention",
        DEFAULT_RAW_RETENTION,
        MIN_RAW_RETENTION,
        "1h",
        problems,
    );
    let rollup_retention = retention(
        rollup_retention,
        "rollup_retention",
        DEFAULT_ROLLUP_RETENTION,
        MIN_ROLLUP_RETENTION,
        "1d",
        problems,
    );
    StorageConfig {
        database,
        raw_retention,
        rollup_retention,
    }
}

/// `sqlite://PATH`, `sqlite:PATH` or a plain path.
fn database_path(url: &str) -> Result<PathBuf, String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return Err(
            "PostgreSQL storage is not supported yet; use url = \"sqlite://PATH\" or a plain file path"
                .to_owned(),
        );
    }
    let path = if lower.starts_with("sqlite://") {
        &url["sqlite://".len()..]
    } else if lower.starts_with("sqlite:") {
        &url["sqlite:".len()..]
    } else if let Some((scheme, _)) = url.split_once("://") {
        return Err(format!(
            "unsupported storage scheme `{scheme}://`; use \"sqlite://PATH\" or a plain file path"
        ));
    } else {
        url
    };
    if path.trim().is_empty() {
        return Err(format!("storage url {url:?} names no database file"));
    }
    Ok(PathBuf::from(path))
}

fn retention(
    raw: Option<Located<String>>,
    key: &str,
    default: Duration,
    minimum: Duration,
    minimum_text: &str,
    problems: &mut Problems<'_>,
) -> Duration {
    let Some(raw) = raw else {
        return default;
    };
    match parse_duration(&raw.value) {
        Ok(duration) if duration >= minimum => duration,
        Ok(_) => {
            problems.at(
                &raw.at,
                format!(
                    "`{key}` must be at least {minimum_text}, not {:?}",
                    raw.value
                ),
            );
            default
        }
        Err(message) => {
            problems.at(&raw.at, message);
            default
        }
    }
}

fn validate_probes(raw: RawProbes, problems: &mut Problems<'_>) -> ProbesConfig {
    let RawProbes {
        concurrency,
        allow_loopback,
        allow,
    } = raw;
    let concurrency = concurrency.and_then(|raw| match usize::try_from(raw.value) {
        Ok(value) if (1..=MAX_CONCURRENCY).contains(&value) => Some(value),
        Ok(value) if value > MAX_CONCURRENCY => {
            problems.at(
                &raw.at,
                format!("`concurrency` must be at most {MAX_CONCURRENCY}, not {value}"),
            );
            None
        }
        _ => {
            problems.at(
                &raw.at,
                format!("`concurrency` must be a positive number, not {}", raw.value),
            );
            None
        }
    });
    let allow = allow
        .into_iter()
        .filter_map(|network| {
            let parsed = network
                .value
                .parse::<IpNet>()
                .ok()
                .or_else(|| network.value.parse::<std::net::IpAddr>().ok().map(IpNet::from));
            if parsed.is_none() {
                problems.at(
                    &network.at,
                    format!(
                        "invalid network {:?} in `allow`: expected an address or CIDR, like \"169.254.169.254/32\"",
                        network.value
                    ),
                );
            }
            parsed
        })
        .collect();
    ProbesConfig {
        policy: TargetPolicy {
            allow_loopback: allow_loopback.is_none_or(|flag| flag.value),
            allow,
        },
        concurrency,
    }
}

fn validate_component(
    raw: RawComponent,
    seen: &mut HashMap<ComponentId, Loc>,
    problems: &mut Problems<'_>,
) -> Option<Component> {
    let RawComponent {
        at,
        id,
        name,
        group,
        description,
    } = raw;
    let before = problems.count();
    let id = parse_id(id, &at, "component", ComponentId::parse, seen, problems);
    let name = non_empty(name, "`name`", problems);
    let group = non_empty(group, "`group`", problems);
    let description = non_empty(description, "`description`", problems);
    let id = id?;
    if problems.count() > before {
        return None;
    }
    Some(Component {
        name: name.unwrap_or_else(|| id.to_string()),
        id,
        group,
        description,
    })
}

/// Parses an id and rejects one seen before, pointing at the first.
fn parse_id<Id: std::hash::Hash + Eq + Clone>(
    raw: Option<Located<String>>,
    table_at: &Loc,
    what: &str,
    parse: fn(&str) -> Result<Id, watchkeeper_domain::IdError>,
    seen: &mut HashMap<Id, Loc>,
    problems: &mut Problems<'_>,
) -> Option<Id> {
    let Some(raw) = raw else {
        problems.at(table_at, format!("[[{what}]] is missing `id`"));
        return None;
    };
    let id = match parse(&raw.value) {
        Ok(id) => id,
        Err(error) => {
            problems.at(&raw.at, format!("invalid {what} id: {error}"));
            return None;
        }
    };
    if let Some(first) = seen.get(&id) {
        problems.at(
            &raw.at,
            format!(
                "duplicate {what} id `{}` (first defined at {first})",
                raw.value
            ),
        );
        return None;
    }
    seen.insert(id.clone(), raw.at);
    Some(id)
}

struct MonitorContext<'a> {
    /// The directory of the file the monitor is written in.
    dir: &'a Path,
    /// The components defined anywhere, or `None` when some file could not
    /// be read and a missing component may just be in it.
    components: Option<&'a HashMap<ComponentId, Loc>>,
}

/// Each distinct condition is compiled once per probe kind and shared by
/// every monitor that lists it (most http monitors say `status == 200`); a
/// bad one is still reported at each place it is written.
#[derive(Default)]
struct CompiledConditions(HashMap<(ProbeKind, String), Result<Condition, ConditionError>>);

impl CompiledConditions {
    fn get(&mut self, source: &str, kind: ProbeKind) -> Result<Condition, ConditionError> {
        self.0
            .entry((kind, source.to_owned()))
            .or_insert_with(|| Condition::compile(source, kind))
            .clone()
    }
}

fn validate_monitor(
    raw: RawMonitor,
    context: &MonitorContext<'_>,
    seen: &mut HashMap<MonitorId, Loc>,
    compiled: &mut CompiledConditions,
    problems: &mut Problems<'_>,
) -> Option<MonitorSpec> {
    let RawMonitor {
        at,
        id,
        name,
        component,
        interval,
        timeout,
        probes,
        expect,
        degraded_if,
    } = raw;
    let before = problems.count();
    let label = id.as_ref().map_or_else(
        || "[[monitor]]".to_owned(),
        |id| format!("monitor `{}`", id.value),
    );
    let id = parse_id(id, &at, "monitor", MonitorId::parse, seen, problems);
    let name = non_empty(name, "`name`", problems);
    let component = component.and_then(|raw| component_ref(raw, context.components, problems));

    let interval = match interval {
        None => DEFAULT_INTERVAL,
        Some(raw) => match parse_duration(&raw.value) {
            Ok(interval) if interval >= MIN_INTERVAL => interval,
            Ok(_) => {
                problems.at(
                    &raw.at,
                    format!("`interval` must be at least 1s, not {:?}", raw.value),
                );
                DEFAULT_INTERVAL
            }
            Err(message) => {
                problems.at(&raw.at, message);
                DEFAULT_INTERVAL
            }
        },
    };
    let timeout = match timeout {
        None => DEFAULT_TIMEOUT.min(interval),
        Some(raw) => match parse_duration(&raw.value) {
            Ok(timeout) if timeout.is_zero() => {
                problems.at(&raw.at, "`timeout` must be longer than zero");
                interval
            }
            Ok(timeout) if timeout > interval => {
                problems.at(
                    &raw.at,
                    format!(
                        "`timeout` {:?} is longer than the interval ({:?}); a probe must finish before the next one is due",
                        raw.value,
                        humanize(interval)
                    ),
                );
                interval
            }
            Ok(timeout) => timeout,
            Err(message) => {
                problems.at(&raw.at, message);
                interval
            }
        },
    };

    // The kind comes from the key written, so conditions are checked even
    // when the probe itself has errors.
    let kind = probes.first().map(|probe| probe.value.kind());
    let probe = single_probe(probes, &at, &label, context, problems);
    let (expect, degraded_if) = match kind {
        Some(kind) => (
            conditions(expect, kind, default_expect(kind), &at, compiled, problems),
            conditions(degraded_if, kind, &[], &at, compiled, problems),
        ),
        // Without a probe kind the variables are unknown; the missing probe
        // is already reported.
        None => (Vec::new(), Vec::new()),
    };

    let (id, probe) = (id?, probe?);
    if problems.count() > before {
        return None;
    }
    Some(MonitorSpec {
        name: name.unwrap_or_else(|| id.to_string()),
        id,
        component,
        interval,
        timeout,
        probe,
        expect,
        degraded_if,
    })
}

/// Formats a duration the way a user would write it (`90s` as `1m 30s`).
fn humanize(duration: Duration) -> String {
    jiff::SignedDuration::try_from(duration)
        .map_or_else(|_| format!("{duration:?}"), |signed| format!("{signed:#}"))
}

fn component_ref(
    raw: Located<String>,
    known: Option<&HashMap<ComponentId, Loc>>,
    problems: &mut Problems<'_>,
) -> Option<ComponentId> {
    let id = match ComponentId::parse(&raw.value) {
        Ok(id) => id,
        Err(error) => {
            problems.at(&raw.at, format!("invalid component id: {error}"));
            return None;
        }
    };
    if let Some(known) = known
        && !known.contains_key(&id)
    {
        let mut names: Vec<&str> = known.keys().map(ComponentId::as_str).collect();
        names.sort_unstable();
        let list = if names.is_empty() {
            "none are defined; add a [[component]]".to_owned()
        } else {
            format!("known components: {}", names.join(", "))
        };
        problems.at(
            &raw.at,
            format!("unknown component `{}`; {list}", raw.value),
        );
        return None;
    }
    Some(id)
}

fn single_probe(
    probes: Vec<Located<RawProbe>>,
    monitor_at: &Loc,
    label: &str,
    context: &MonitorContext<'_>,
    problems: &mut Problems<'_>,
) -> Option<ProbeSpec> {
    let mut probes = probes.into_iter();
    let Some(first) = probes.next() else {
        problems.at(
            monitor_at,
            format!("{label} has no probe; give exactly one of http, tcp, dns or command"),
        );
        return None;
    };
    let mut extra = false;
    for other in probes {
        extra = true;
        problems.at(
            &other.at,
            format!(
                "{label} has more than one probe ({} and {}); give exactly one of http, tcp, dns or command",
                first.value.key(),
                other.value.key()
            ),
        );
    }
    let at = first.at;
    let probe = match first.value {
        RawProbe::Http(http) => validate_http(*http, &at, problems).map(ProbeSpec::Http),
        RawProbe::Tcp(tcp) => validate_tcp(tcp, &at, problems).map(ProbeSpec::Tcp),
        RawProbe::Dns(dns) => validate_dns(dns, &at, problems).map(ProbeSpec::Dns),
        RawProbe::Command(command) => {
            validate_command(command, &at, context.dir, problems).map(ProbeSpec::Command)
        }
    };
    if extra { None } else { probe }
}

fn conditions(
    raw: TextList,
    kind: ProbeKind,
    defaults: &[&str],
    monitor_at: &Loc,
    compiled: &mut CompiledConditions,
    problems: &mut Problems<'_>,
) -> Vec<Condition> {
    let sources: Vec<Located<String>> = match raw {
        Some(list) => list.value,
        None => defaults
            .iter()
            .map(|source| Located::new((*source).to_owned(), monitor_at.clone()))
            .collect(),
    };
    sources
        .into_iter()
        .filter_map(|source| match compiled.get(&source.value, kind) {
            Ok(condition) => Some(condition),
            Err(error) => {
                problems.at(&source.at, error.to_string());
                None
            }
        })
        .collect()
}

fn required<T>(
    value: Option<T>,
    probe: &str,
    key: &str,
    at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<T> {
    if value.is_none() {
        problems.at(at, format!("the {probe} probe is missing `{key}`"));
    }
    value
}

/// An http(s) URL with a host. Errors quote the value only if it was
/// written literally in the file (see [`Origin`]).
fn web_url(
    (raw, origin): &(Located<String>, Origin),
    key: &str,
    problems: &mut Problems<'_>,
) -> Option<Url> {
    let url = match Url::parse(&raw.value) {
        Ok(url) => url,
        Err(error) => {
            problems.at(
                &raw.at,
                format!("invalid `{key}` {}: {error}", origin.quote(&raw.value)),
            );
            return None;
        }
    };
    if !matches!(url.scheme(), "http" | "https") {
        problems.at(
            &raw.at,
            format!(
                "`{key}` must be an http:// or https:// URL, not {}://",
                url.scheme()
            ),
        );
        return None;
    }
    if url.host_str().is_none_or(str::is_empty) {
        problems.at(
            &raw.at,
            format!("`{key}` {} has no host", origin.quote(&raw.value)),
        );
        return None;
    }
    Some(url)
}

/// RFC 9110 `token`: the characters a header name may hold.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn size(raw: Located<RawSize>, key: &str, problems: &mut Problems<'_>) -> Option<usize> {
    let bytes = match &raw.value {
        RawSize::Bytes(bytes) => u64::try_from(*bytes).ok(),
        RawSize::Text(text) => match parse_size(text) {
            Ok(bytes) => Some(bytes),
            Err(message) => {
                problems.at(&raw.at, message);
                return None;
            }
        },
    };
    match bytes.and_then(|bytes| usize::try_from(bytes).ok()) {
        Some(bytes) if bytes > 0 => Some(bytes),
        _ => {
            problems.at(&raw.at, format!("`{key}` must be more than zero bytes"));
            None
        }
    }
}

fn validate_http(raw: RawHttp, at: &Loc, problems: &mut Problems<'_>) -> Option<HttpSpec> {
    let RawHttp {
        url,
        method,
        headers,
        body,
        follow_redirects,
        max_redirects,
        verify_tls,
        body_limit,
        fallback_url,
        parity,
    } = raw;
    let before = problems.count();
    let url =
        required(url, "http", "url", at, problems).and_then(|url| web_url(&url, "url", problems));
    let method = match method {
        None => "GET".to_owned(),
        Some(method) => {
            if method.value.is_empty() || !method.value.bytes().all(|b| b.is_ascii_uppercase()) {
                problems.at(
                    &method.at,
                    format!(
                        "`method` must be upper-case letters, like \"GET\" or \"POST\", not {:?}",
                        method.value
                    ),
                );
            }
            method.value
        }
    };
    let headers = headers
        .into_iter()
        .map(|(name, value)| {
            if !is_header_name(&name.value) {
                problems.at(&name.at, format!("invalid header name {:?}", name.value));
            }
            if value.value.chars().any(|c| c.is_control() && c != '\t') {
                problems.at(
                    &value.at,
                    format!(
                        "the value of header `{}` contains a control character (such as a newline)",
                        name.value
                    ),
                );
            }
            (name.value, Secret(value.value))
        })
        .collect();
    let follow = follow_redirects.is_none_or(|flag| flag.value);
    let max_hops = match max_redirects {
        None => DEFAULT_MAX_REDIRECTS,
        Some(raw) => {
            if !follow {
                problems.at(
                    &raw.at,
                    "`max_redirects` has no effect with follow_redirects = false",
                );
            }
            match u8::try_from(raw.value) {
                Ok(hops) if hops <= MAX_REDIRECTS_LIMIT => hops,
                _ => {
                    problems.at(
                        &raw.at,
                        format!(
                            "`max_redirects` must be between 0 and {MAX_REDIRECTS_LIMIT}, not {}",
                            raw.value
                        ),
                    );
                    DEFAULT_MAX_REDIRECTS
                }
            }
        }
    };
    let redirects = if follow {
        RedirectPolicy::Follow { max_hops }
    } else {
        RedirectPolicy::None
    };
    let body_limit = body_limit
        .and_then(|raw| size(raw, "body_limit", problems))
        .unwrap_or(DEFAULT_BODY_LIMIT);
    let fallback_given = fallback_url.is_some();
    let fallback_url = fallback_url.and_then(|raw| web_url(&raw, "fallback_url", problems));
    let parity = match parity {
        None => Parity::Off,
        Some(raw) => {
            let parity = match raw.value {
                RawParity::Flag(false) => Parity::Off,
                RawParity::Flag(true) => Parity::Body,
                RawParity::Fields(fields) => json_fields(fields, &raw.at, problems),
            };
            if parity != Parity::Off && !fallback_given {
                problems.at(
                    &raw.at,
                    "`parity` compares the answer with `fallback_url`, which is not given",
                );
            }
            parity
        }
    };
    if problems.count() > before {
        return None;
    }
    Some(HttpSpec {
        url: url?,
        method,
        headers,
        body: body.map(|body| body.value),
        redirects,
        verify_tls: verify_tls.is_none_or(|flag| flag.value),
        body_limit,
        fallback_url,
        parity,
    })
}

fn json_fields(fields: Vec<Located<String>>, at: &Loc, problems: &mut Problems<'_>) -> Parity {
    if fields.is_empty() {
        problems.at(
            at,
            "`parity = []` compares nothing; use parity = true for the whole body or list JSON fields",
        );
    }
    let mut paths = Vec::new();
    for field in fields {
        if field.value.split('.').any(str::is_empty) {
            problems.at(
                &field.at,
                format!(
                    "invalid JSON field {:?}: expected a dotted path like \"data.version\"",
                    field.value
                ),
            );
        }
        paths.push(field.value);
    }
    Parity::JsonFields(paths)
}

/// `host:port`, with IPv6 hosts in brackets (`[::1]:80`). The host comes
/// back without brackets.
fn host_port(raw: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(bracketed) = raw.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(|| {
            format!("invalid address {raw:?}: missing `]` after the IPv6 address")
        })?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "invalid address {raw:?}: {host:?} is not an IPv6 address"
            ));
        }
        let port = after.strip_prefix(':').ok_or_else(|| {
            format!("invalid address {raw:?}: expected HOST:PORT, like \"[::1]:80\"")
        })?;
        (host, port)
    } else {
        let (host, port) = raw.rsplit_once(':').ok_or_else(|| {
            format!("invalid address {raw:?}: expected HOST:PORT, like \"127.0.0.1:5432\"")
        })?;
        if host.contains(':') {
            return Err(format!(
                "invalid address {raw:?}: write IPv6 addresses in brackets, like \"[::1]:80\""
            ));
        }
        if host.is_empty() || host.chars().any(char::is_whitespace) {
            return Err(format!(
                "invalid address {raw:?}: expected HOST:PORT, like \"127.0.0.1:5432\""
            ));
        }
        (host, port)
    };
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok((host.to_owned(), port)),
        _ => Err(format!(
            "invalid address {raw:?}: the port must be a number from 1 to 65535"
        )),
    }
}

fn validate_tcp(raw: RawTcp, at: &Loc, problems: &mut Problems<'_>) -> Option<TcpSpec> {
    let RawTcp {
        address,
        send,
        expect,
    } = raw;
    let address = required(address, "tcp", "address", at, problems)?;
    match host_port(&address.value) {
        Ok((host, port)) => Some(TcpSpec {
            host,
            port,
            send: send.map(|send| send.value),
            expect: expect.map(|expect| expect.value),
        }),
        Err(message) => {
            problems.at(&address.at, message);
            None
        }
    }
}

fn validate_dns(raw: RawDns, at: &Loc, problems: &mut Problems<'_>) -> Option<DnsSpec> {
    let RawDns {
        name,
        record_type,
        server,
    } = raw;
    let before = problems.count();
    let name = required(name, "dns", "name", at, problems).and_then(|name| {
        if name.value.trim().is_empty() || name.value.chars().any(char::is_whitespace) {
            problems.at(&name.at, format!("invalid DNS name {:?}", name.value));
            None
        } else {
            Some(name.value)
        }
    });
    let record = match record_type {
        None => Some(DnsRecordType::A),
        Some(raw) => {
            let record = DnsRecordType::parse(&raw.value);
            if record.is_none() {
                problems.at(
                    &raw.at,
                    format!(
                        "unknown DNS record type {:?}; expected one of A, AAAA, CNAME, MX, TXT",
                        raw.value
                    ),
                );
            }
            record
        }
    };
    let server = server.and_then(|raw| match raw.value.parse::<SocketAddr>() {
        Ok(server) => Some(server),
        Err(_) => {
            problems.at(
                &raw.at,
                format!(
                    "invalid DNS server {:?}: expected IP:PORT, like \"127.0.0.1:53\"",
                    raw.value
                ),
            );
            None
        }
    });
    if problems.count() > before {
        return None;
    }
    Some(DnsSpec {
        name: name?,
        record: record?,
        server,
    })
}

fn validate_command(
    raw: RawCommand,
    at: &Loc,
    dir: &Path,
    problems: &mut Problems<'_>,
) -> Option<CommandSpec> {
    let RawCommand {
        argv,
        env,
        cwd,
        output_limit,
    } = raw;
    let before = problems.count();
    let argv = match argv {
        None => {
            problems.at(at, "the command probe is missing `argv`");
            Vec::new()
        }
        Some(argv) => {
            match argv.value.first() {
                None => problems.at(&argv.at, "`argv` must name a program: it is empty"),
                Some(program) if program.value.trim().is_empty() => {
                    problems.at(&program.at, "the program in `argv` must not be empty");
                }
                Some(_) => {}
            }
            argv.value.into_iter().map(|arg| arg.value).collect()
        }
    };
    let env = env
        .into_iter()
        .map(|(name, value)| {
            if name.value.is_empty() || name.value.contains(['=', '\0']) {
                problems.at(
                    &name.at,
                    format!("invalid environment variable name {:?}", name.value),
                );
            }
            if value.value.contains('\0') {
                problems.at(
                    &value.at,
                    format!("the value of `{}` contains a NUL byte", name.value),
                );
            }
            (name.value, Secret(value.value))
        })
        .collect();
    let cwd = cwd.map(|cwd| dir.join(cwd.value));
    let output_limit = output_limit
        .and_then(|raw| size(raw, "output_limit", problems))
        .unwrap_or(DEFAULT_OUTPUT_LIMIT);
    if problems.count() > before {
        return None;
    }
    Some(CommandSpec {
        argv,
        env,
        cwd,
        output_limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_conditions_compile_for_their_kind() {
        for kind in [
            ProbeKind::Http,
            ProbeKind::Tcp,
            ProbeKind::Dns,
            ProbeKind::Command,
        ] {
            for source in default_expect(kind) {
                assert!(Condition::compile(source, kind).is_ok(), "{source}");
            }
        }
    }

    #[test]
    fn host_port_accepts_names_ipv4_and_bracketed_ipv6() {
        assert_eq!(
            host_port("127.0.0.1:5432"),
            Ok(("127.0.0.1".to_owned(), 5432))
        );
        assert_eq!(
            host_port("db.internal:6379"),
            Ok(("db.internal".to_owned(), 6379))
        );
        assert_eq!(host_port("[::1]:80"), Ok(("::1".to_owned(), 80)));
    }

    #[test]
    fn host_port_rejects_malformed_addresses() {
        for bad in [
            "localhost",
            ":80",
            "::1:80",
            "[::1]80",
            "[nope]:80",
            "host:0",
            "host:70000",
            "host:http",
        ] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
        assert!(host_port("::1:80").unwrap_err().contains("brackets"));
    }

    #[test]
    fn database_path_accepts_sqlite_urls_and_plain_paths() {
        assert_eq!(database_path("sqlite://wk.db"), Ok(PathBuf::from("wk.db")));
        assert_eq!(
            database_path("sqlite:///var/lib/wk.db"),
            Ok(PathBuf::from("/var/lib/wk.db"))
        );
        assert_eq!(database_path("sqlite:wk.db"), Ok(PathBuf::from("wk.db")));
        assert_eq!(database_path("data/wk.db"), Ok(PathBuf::from("data/wk.db")));
    }

    #[test]
    fn database_path_says_postgres_is_not_supported_yet() {
        let error = database_path("postgres://user@localhost/wk").unwrap_err();
        assert!(
            error.contains("PostgreSQL storage is not supported yet"),
            "{error}"
        );
        assert!(
            database_path("mysql://x")
                .unwrap_err()
                .contains("unsupported storage scheme")
        );
        assert!(database_path("sqlite://").is_err());
    }

    #[test]
    fn header_names_are_tokens() {
        assert!(is_header_name("Authorization"));
        assert!(is_header_name("X-Api-Key"));
        assert!(!is_header_name("Bad Header"));
        assert!(!is_header_name("colon:"));
        assert!(!is_header_name(""));
    }

    #[test]
    fn humanize_writes_durations_as_users_do() {
        assert_eq!(humanize(Duration::from_secs(90)), "1m 30s");
    }
}
