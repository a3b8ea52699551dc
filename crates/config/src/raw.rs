//! The raw mirror of watchkeeper.toml: which keys exist where, read from the
//! spanned tree into plain values that remember their positions. Strings are
//! already interpolated and `*_file` secrets already read; nothing is
//! validated beyond TOML types (that is `validate`'s job).

use std::path::PathBuf;

use toml::de::DeTable;
use watchkeeper_domain::monitor::ProbeKind;

use crate::source::{Loc, Located, Origin};
use crate::tree::{Fields, Node, Reader};

pub(crate) type Text = Option<Located<String>>;
pub(crate) type TextList = Option<Located<Vec<Located<String>>>>;
pub(crate) type TextMap = Vec<(Located<String>, Located<String>)>;
/// A string and where it came from, for values an error quotes.
pub(crate) type QuotableText = Option<(Located<String>, Origin)>;

/// Whether a file is the one given on the command line or an included one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileRole {
    Main,
    Included,
}

#[derive(Debug, Default)]
pub(crate) struct RawDocument {
    /// The directory of the file this came from: relative paths in it
    /// (a command's cwd, the database) resolve against it.
    pub dir: PathBuf,
    pub include: Vec<Located<String>>,
    pub server: RawServer,
    pub storage: RawStorage,
    pub probes: RawProbes,
    pub components: Vec<RawComponent>,
    pub monitors: Vec<RawMonitor>,
}

#[derive(Debug, Default)]
pub(crate) struct RawServer {
    pub listen: Text,
    pub region: Text,
    pub header_timeout: Text,
    pub max_connections: Option<Located<i64>>,
}

#[derive(Debug, Default)]
pub(crate) struct RawStorage {
    pub url: Text,
    /// PostgreSQL only: `password` or, better, `password_file`.
    pub password: Text,
    pub raw_retention: Text,
    pub rollup_retention: Text,
}

#[derive(Debug, Default)]
pub(crate) struct RawProbes {
    pub concurrency: Option<Located<i64>>,
    pub allow_loopback: Option<Located<bool>>,
    pub allow: Vec<Located<String>>,
}

#[derive(Debug)]
pub(crate) struct RawComponent {
    /// Where the `[[component]]` starts.
    pub at: Loc,
    pub id: Text,
    pub name: Text,
    pub group: Text,
    pub description: Text,
}

#[derive(Debug)]
pub(crate) struct RawMonitor {
    /// Where the `[[monitor]]` starts.
    pub at: Loc,
    pub id: Text,
    pub name: Text,
    pub component: Text,
    pub interval: Text,
    pub timeout: Text,
    /// Every probe key given; exactly one is valid. Located at the key.
    pub probes: Vec<Located<RawProbe>>,
    pub expect: TextList,
    pub degraded_if: TextList,
}

#[derive(Debug)]
pub(crate) enum RawProbe {
    Http(Box<RawHttp>),
    Tcp(RawTcp),
    Dns(RawDns),
    Command(RawCommand),
}

impl RawProbe {
    pub fn kind(&self) -> ProbeKind {
        match self {
            RawProbe::Http(_) => ProbeKind::Http,
            RawProbe::Tcp(_) => ProbeKind::Tcp,
            RawProbe::Dns(_) => ProbeKind::Dns,
            RawProbe::Command(_) => ProbeKind::Command,
        }
    }

    pub fn key(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// The probe keys a monitor may hold, in the order they are documented.
pub(crate) const PROBE_KEYS: [&str; 4] = ["http", "tcp", "dns", "command"];

#[derive(Debug)]
pub(crate) struct RawHttp {
    pub url: QuotableText,
    pub method: Text,
    pub headers: TextMap,
    pub body: Text,
    pub follow_redirects: Option<Located<bool>>,
    pub max_redirects: Option<Located<i64>>,
    pub redirect_headers: Text,
    pub verify_tls: Option<Located<bool>>,
    pub body_limit: Option<Located<RawSize>>,
    pub fallback_url: QuotableText,
    pub parity: Option<Located<RawParity>>,
}

#[derive(Debug)]
pub(crate) struct RawTcp {
    pub address: Text,
    pub send: Text,
    pub expect: Text,
}

#[derive(Debug)]
pub(crate) struct RawDns {
    pub name: Text,
    pub record_type: Text,
    pub server: Text,
}

#[derive(Debug)]
pub(crate) struct RawCommand {
    pub argv: TextList,
    pub env: TextMap,
    pub cwd: Text,
    pub output_limit: Option<Located<RawSize>>,
}

/// `"1MiB"` or `1048576`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawSize {
    Text(String),
    Bytes(i64),
}

/// `parity = true` or `parity = ["status", "data.version"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawParity {
    Flag(bool),
    Fields(Vec<Located<String>>),
}

pub(crate) fn read_document(
    reader: &mut Reader<'_>,
    table: &DeTable<'_>,
    role: FileRole,
) -> RawDocument {
    let mut fields = Fields::new(table, "the top level");
    let mut document = RawDocument {
        dir: reader.source().dir().to_path_buf(),
        ..RawDocument::default()
    };
    match role {
        FileRole::Main => {
            if let Some(patterns) = fields.texts(reader, "include") {
                document.include = patterns.value;
            }
            if let Some((_, server)) = fields.table(reader, "server") {
                document.server = read_server(reader, server);
            }
            if let Some((_, storage)) = fields.table(reader, "storage") {
                document.storage = read_storage(reader, storage);
            }
            if let Some((_, probes)) = fields.table(reader, "probes") {
                document.probes = read_probes(reader, probes);
            }
        }
        FileRole::Included => {
            fields.forbid(
                reader,
                "include",
                "an included file may not include other files; list every pattern in the main file",
            );
            for section in ["server", "storage", "probes"] {
                fields.forbid(
                    reader,
                    section,
                    &format!(
                        "[{section}] belongs in the main config file; an included file may hold only [[component]] and [[monitor]]"
                    ),
                );
            }
        }
    }
    document.components = fields
        .tables(reader, "component")
        .into_iter()
        .map(|(at, table)| read_component(reader, at, table))
        .collect();
    document.monitors = fields
        .tables(reader, "monitor")
        .into_iter()
        .map(|(at, table)| read_monitor(reader, at, table))
        .collect();
    fields.finish(reader);
    document
}

fn read_server(reader: &mut Reader<'_>, table: &DeTable<'_>) -> RawServer {
    let mut fields = Fields::new(table, "[server]");
    let server = RawServer {
        listen: fields.text(reader, "listen"),
        region: fields.text(reader, "region"),
        header_timeout: fields.text(reader, "header_timeout"),
        max_connections: fields.integer(reader, "max_connections"),
    };
    fields.finish(reader);
    server
}

fn read_storage(reader: &mut Reader<'_>, table: &DeTable<'_>) -> RawStorage {
    let mut fields = Fields::new(table, "[storage]");
    let storage = RawStorage {
        url: fields.text(reader, "url"),
        password: fields.text(reader, "password"),
        raw_retention: fields.text(reader, "raw_retention"),
        rollup_retention: fields.text(reader, "rollup_retention"),
    };
    fields.finish(reader);
    storage
}

fn read_probes(reader: &mut Reader<'_>, table: &DeTable<'_>) -> RawProbes {
    let mut fields = Fields::new(table, "[probes]");
    let probes = RawProbes {
        concurrency: fields.integer(reader, "concurrency"),
        allow_loopback: fields.boolean(reader, "allow_loopback"),
        allow: fields
            .texts(reader, "allow")
            .map(|allow| allow.value)
            .unwrap_or_default(),
    };
    fields.finish(reader);
    probes
}

fn read_component(reader: &mut Reader<'_>, at: Loc, table: &DeTable<'_>) -> RawComponent {
    let mut fields = Fields::new(table, "[[component]]");
    let component = RawComponent {
        at,
        id: fields.text(reader, "id"),
        name: fields.text(reader, "name"),
        group: fields.text(reader, "group"),
        description: fields.text(reader, "description"),
    };
    fields.finish(reader);
    component
}

fn read_monitor(reader: &mut Reader<'_>, at: Loc, table: &DeTable<'_>) -> RawMonitor {
    let mut fields = Fields::new(table, "[[monitor]]");
    let id = fields.text(reader, "id");
    let name = fields.text(reader, "name");
    let component = fields.text(reader, "component");
    let interval = fields.text(reader, "interval");
    let timeout = fields.text(reader, "timeout");
    let mut probes = Vec::new();
    for key in PROBE_KEYS {
        let Some(key_at) = fields.key_loc(reader, key) else {
            fields.node(key);
            continue;
        };
        let Some((_, probe)) = fields.table(reader, key) else {
            continue;
        };
        let raw = match key {
            "http" => RawProbe::Http(Box::new(read_http(reader, probe))),
            "tcp" => RawProbe::Tcp(read_tcp(reader, probe)),
            "dns" => RawProbe::Dns(read_dns(reader, probe)),
            _ => RawProbe::Command(read_command(reader, probe)),
        };
        probes.push(Located::new(raw, key_at));
    }
    let monitor = RawMonitor {
        at,
        id,
        name,
        component,
        interval,
        timeout,
        probes,
        expect: fields.texts(reader, "expect"),
        degraded_if: fields.texts(reader, "degraded_if"),
    };
    fields.finish(reader);
    monitor
}

fn read_http(reader: &mut Reader<'_>, table: &DeTable<'_>) -> RawHttp {
    let mut fields = Fields::new(table, "http");
    let http = RawHttp {
        url: fields.text_with_origin(reader, "url"),
        method: fields.text(reader, "method"),
        headers: fields.text_map(reader, "headers").unwrap_or_default(),
        body: fields.text(reader, "body"),
        follow_redirects: fields.boolean(reader, "follow_redirects"),
        max_redirects: fields.integer(reader, "max_redirects"),
        redirect_headers: fields.text(reader, "redirect_headers"),
        verify_tls: fields.boolean(reader, "verify_tls"),
        body_limit: fields
            .node("body_limit")
            .and_then(|node| read_size(reader, node, "`body_limit`")),
        fallback_url: fields.text_with_origin(reader, "fallback_url"),
        parity: fields
            .node("parity")
            .and_then(|node| read_parity(reader, node)),
    };
    fields.finish(reader);
    http
}

fn read_tcp(reader: &mut Reader<'_>, table: &DeTable<'_>) -> RawTcp {
    let mut fields = Fields::new(table, "tcp");
    let tcp = RawTcp {
        address: fields.text(reader, "address"),
        send: fields.text(reader, "send"),
        expect: fields.text(reader, "expect"),
    };
    fields.finish(reader);
    tcp
}

fn read_dns(reader: &mut Reader<'_>, table: &DeTable<'_>) -> RawDns {
    let mut fields = Fields::new(table, "dns");
    let dns = RawDns {
        name: fields.text(reader, "name"),
        record_type: fields.text(reader, "type"),
        server: fields.text(reader, "server"),
    };
    fields.finish(reader);
    dns
}

fn read_command(reader: &mut Reader<'_>, table: &DeTable<'_>) -> RawCommand {
    let mut fields = Fields::new(table, "command");
    let command = RawCommand {
        argv: fields.texts(reader, "argv"),
        env: fields.text_map(reader, "env").unwrap_or_default(),
        cwd: fields.text(reader, "cwd"),
        output_limit: fields
            .node("output_limit")
            .and_then(|node| read_size(reader, node, "`output_limit`")),
    };
    fields.finish(reader);
    command
}

fn read_size(reader: &mut Reader<'_>, node: &Node<'_>, what: &str) -> Option<Located<RawSize>> {
    if node.get_ref().is_integer() {
        let bytes = reader.integer(node, what)?;
        return Some(Located::new(RawSize::Bytes(bytes.value), bytes.at));
    }
    if node.get_ref().is_str() {
        let text = reader.text(node, what)?;
        return Some(Located::new(RawSize::Text(text.value), text.at));
    }
    let at = reader.loc(node.span());
    reader.error(
        &at,
        format!(
            "{what} must be a size like \"1MiB\" or a number of bytes, found {}",
            node.get_ref().type_str()
        ),
    );
    None
}

fn read_parity(reader: &mut Reader<'_>, node: &Node<'_>) -> Option<Located<RawParity>> {
    if node.get_ref().is_bool() {
        let flag = reader.boolean(node, "`parity`")?;
        return Some(Located::new(RawParity::Flag(flag.value), flag.at));
    }
    if node.get_ref().is_array() {
        let fields = reader.texts(node, "`parity`")?;
        return Some(Located::new(RawParity::Fields(fields.value), fields.at));
    }
    let at = reader.loc(node.span());
    reader.error(
        &at,
        format!(
            "`parity` must be true, false or a list of JSON fields like [\"status\", \"data.version\"], found {}",
            node.get_ref().type_str()
        ),
    );
    None
}
