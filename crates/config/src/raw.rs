//! The raw mirror of watchkeeper.toml: which keys exist where, each table
//! declared once with `raw_table!` (see `raw_table` for the kinds of value
//! and how a table is read). Strings are already interpolated and `*_file`
//! secrets already read; nothing is validated beyond TOML types (that is
//! `validate`'s job, which destructures each struct whole, so a key
//! declared here does not compile until it is validated).
//!
//! To add a key: add a field `name: Kind = "key"` to its table here, then
//! take it apart in the table's `validate` function and document it in
//! docs/config.md (a test checks that every key declared here is there).

mod alerting;
mod incidents;
mod oncall;

use std::path::PathBuf;

use toml::de::DeTable;
use watchkeeper_domain::monitor::ProbeKind;

use crate::raw_table::{
    Flag, FromField, Integer, QuotableText, Size, Table, Text, TextList, TextMap, raw_one_of,
    raw_table,
};
use crate::source::Located;
use crate::tree::{Fields, Reader};

pub(crate) use alerting::{
    RawAlert, RawAlerting, RawChannel, RawCommandChannel, RawEmailChannel, RawInhibit,
    RawMaintenance, RawMatch, RawNotifier, RawNtfyChannel, RawObjective, RawPagerDutyChannel,
    RawRoute, RawSelector, RawSlo, RawTemplates, RawWebhookChannel,
};
pub(crate) use incidents::{RawIncidentTemplate, RawIncidents};
pub(crate) use oncall::{
    RawEscalation, RawLayer, RawLevel, RawOnCall, RawOverride, RawPerson, RawRestriction,
    RawSchedule,
};

/// Whether a file is the one given on the command line or an included one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileRole {
    Main,
    Included,
}

/// One file of the config.
#[derive(Debug, Default)]
pub(crate) struct RawDocument {
    /// The directory of the file this came from: relative paths in it
    /// (a command's cwd, the database) resolve against it.
    pub dir: PathBuf,
    /// Empty in an included file, which may not hold these keys.
    pub main: RawMainFile,
    pub sections: RawSections,
}

raw_table! {
    /// The top-level keys only the main file may hold.
    pub(crate) struct RawMainFile in "the top level" {
        include: Vec<Located<String>> = "include",
        server: RawServer = "server",
        storage: RawStorage = "storage",
        probes: RawProbes = "probes",
        alerting: RawAlerting = "alerting",
        oncall: RawOnCall = "oncall",
        incidents: RawIncidents = "incidents",
        api: RawApi = "api",
        status_page: RawStatusPage = "status_page",
    }
}

raw_table! {
    /// The top-level keys any file may hold.
    pub(crate) struct RawSections in "the top level" {
        components: Vec<RawComponent> = "component",
        monitors: Vec<RawMonitor> = "monitor",
        alerts: Vec<RawAlert> = "alert",
        slos: Vec<RawSlo> = "slo",
        routes: Vec<RawRoute> = "route",
        inhibits: Vec<RawInhibit> = "inhibit",
        maintenance: Vec<RawMaintenance> = "maintenance",
        notifiers: Vec<RawNotifier> = "notifier",
        people: Vec<RawPerson> = "person",
        schedules: Vec<RawSchedule> = "schedule",
        escalations: Vec<RawEscalation> = "escalation",
        incident_templates: Vec<RawIncidentTemplate> = "incident_template",
    }
}

raw_table! {
    pub(crate) struct RawServer in "[server]" {
        listen: Text = "listen",
        region: Text = "region",
        header_timeout: Text = "header_timeout",
        max_connections: Integer = "max_connections",
        requests_per_second: Integer = "requests_per_second",
        auth_failures_per_minute: Integer = "auth_failures_per_minute",
    }
}

raw_table! {
    pub(crate) struct RawStorage in "[storage]" {
        url: Text = "url",
        /// PostgreSQL only: `password` or, better, `password_file`.
        password: Text = "password",
        raw_retention: Text = "raw_retention",
        rollup_retention: Text = "rollup_retention",
    }
}

raw_table! {
    pub(crate) struct RawApi in "[api]" {
        /// Whether `/api/v1` reads need no token.
        public_read: Flag = "public_read",
    }
}

raw_table! {
    pub(crate) struct RawStatusPage in "[status_page]" {
        title: Text = "title",
        description: Text = "description",
        logo: Text = "logo",
        links: TextMap = "links",
        accent: Text = "accent",
        /// A directory of templates replacing the built-in ones.
        templates_dir: Text = "templates_dir",
        /// Where visitors reach the page: the links sent to subscribers.
        url: Text = "url",
        /// The email notifier whose server and sender mail subscribers.
        subscribe_by_email: Text = "subscribe_by_email",
        subscribe_by_webhook: Flag = "subscribe_by_webhook",
    }
}

raw_table! {
    pub(crate) struct RawProbes in "[probes]" {
        concurrency: Integer = "concurrency",
        allow_loopback: Flag = "allow_loopback",
        allow: Vec<Located<String>> = "allow",
    }
}

raw_table! {
    pub(crate) struct RawComponent in "[[component]]" {
        at,
        id: Text = "id",
        name: Text = "name",
        group: Text = "group",
        description: Text = "description",
        /// `false`: never on the status page or any unauthenticated route.
        public: Flag = "public",
    }
}

raw_table! {
    pub(crate) struct RawMonitor in "[[monitor]]" {
        at,
        id: Text = "id",
        name: Text = "name",
        component: Text = "component",
        interval: Text = "interval",
        /// A cron expression; `time_zone` is its zone.
        schedule: Text = "schedule",
        time_zone: Text = "time_zone",
        /// A one-shot instant (the `at` key).
        run_at: Text = "at",
        timeout: Text = "timeout",
        /// Every probe key given; exactly one is valid. Located at the key.
        probes: Vec<Located<RawProbe>> = RawProbe::KEYS,
        expect: TextList = "expect",
        degraded_if: TextList = "degraded_if",
        /// Its implicit alert: thresholds (overriding `[alerting]`),
        /// severity, labels, dependencies, and `alert = false` to have none.
        failure_threshold: Integer = "failure_threshold",
        success_threshold: Integer = "success_threshold",
        severity: Text = "severity",
        labels: TextMap = "labels",
        depends_on: TextList = "depends_on",
        alert: Flag = "alert",
        /// `false`: never on the status page or any unauthenticated route.
        public: Flag = "public",
    }
}

raw_one_of! {
    /// The probe of a monitor, in the order the keys are documented.
    pub(crate) enum RawProbe {
        Http(Box<RawHttp>) = "http",
        Tcp(RawTcp) = "tcp",
        Dns(RawDns) = "dns",
        Command(RawCommand) = "command",
    }
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
}

raw_table! {
    pub(crate) struct RawHttp in "http" {
        url: QuotableText = "url",
        method: Text = "method",
        headers: TextMap = "headers",
        body: Text = "body",
        follow_redirects: Flag = "follow_redirects",
        max_redirects: Integer = "max_redirects",
        redirect_headers: Text = "redirect_headers",
        verify_tls: Flag = "verify_tls",
        body_limit: Size = "body_limit",
        fallback_url: QuotableText = "fallback_url",
        parity: Option<Located<RawParity>> = "parity",
    }
}

raw_table! {
    pub(crate) struct RawTcp in "tcp" {
        address: Text = "address",
        send: Text = "send",
        expect: Text = "expect",
    }
}

raw_table! {
    pub(crate) struct RawDns in "dns" {
        name: Text = "name",
        record_type: Text = "type",
        server: Text = "server",
    }
}

raw_table! {
    pub(crate) struct RawCommand in "command" {
        argv: TextList = "argv",
        env: TextMap = "env",
        cwd: Text = "cwd",
        output_limit: Size = "output_limit",
    }
}

/// `parity = true` or `parity = ["status", "data.version"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawParity {
    Flag(bool),
    Fields(Vec<Located<String>>),
}

impl FromField<&'static str> for Option<Located<RawParity>> {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        let node = fields.node(key)?;
        let what = format!("`{key}`");
        if node.get_ref().is_bool() {
            let flag = reader.boolean(node, &what)?;
            return Some(Located::new(RawParity::Flag(flag.value), flag.at));
        }
        if node.get_ref().is_array() {
            let fields = reader.texts(node, &what)?;
            return Some(Located::new(RawParity::Fields(fields.value), fields.at));
        }
        let at = reader.loc(node.span());
        reader.error(
            &at,
            format!(
                "{what} must be true, false or a list of JSON fields like [\"status\", \"data.version\"], found {}",
                node.get_ref().type_str()
            ),
        );
        None
    }
}

/// Reads one file. An included file may hold only [`RawSections`]; the
/// main file's own keys there are errors (and are not read).
pub(crate) fn read_document(
    reader: &mut Reader<'_>,
    table: &DeTable<'_>,
    role: FileRole,
) -> RawDocument {
    let mut fields = Fields::new(table, RawSections::SECTION);
    let start = reader.source().loc(0);
    let main = match role {
        FileRole::Main => RawMainFile::read_fields(reader, start.clone(), &mut fields),
        FileRole::Included => {
            forbid_main_file_keys(reader, &mut fields);
            RawMainFile::default()
        }
    };
    let sections = RawSections::read_fields(reader, start, &mut fields);
    fields.finish(reader);
    RawDocument {
        dir: reader.source().dir().to_path_buf(),
        main,
        sections,
    }
}

fn forbid_main_file_keys(reader: &mut Reader<'_>, fields: &mut Fields<'_, '_>) {
    let allowed: Vec<String> = RawSections::keys()
        .iter()
        .map(ToString::to_string)
        .collect();
    let allowed = match allowed.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => "nothing".to_owned(),
    };
    for key in RawMainFile::keys() {
        let why = match key.name {
            "include" => {
                "an included file may not include other files; list every pattern in the main file"
                    .to_owned()
            }
            _ => format!(
                "{key} belongs in the main config file; an included file may hold only {allowed}"
            ),
        };
        fields.forbid(reader, key.name, &why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key declared here is documented in docs/config.md, in the
    /// section of its table.
    #[test]
    fn every_declared_key_is_documented_in_its_section() {
        let docs = include_str!("../../../docs/config.md");
        let mut tables = Vec::new();
        let mut visit = |section: &'static str, keys: Vec<crate::raw_table::Key>| {
            tables.push((section, keys));
        };
        RawMainFile::visit(&mut visit);
        RawSections::visit(&mut visit);
        let mut missing = Vec::new();
        for (section, keys) in tables {
            let text = docs_section(docs, section)
                .unwrap_or_else(|| panic!("docs/config.md has no section for {section}"));
            // The first cell of each row: `key`, `[key]` or `a` / `b`.
            let documented: Vec<&str> = text
                .lines()
                .filter_map(|line| line.strip_prefix("| ")?.split(" |").next())
                .flat_map(|cell| cell.split(" / "))
                .map(|name| name.trim_matches(['`', '[', ']']))
                .collect();
            for key in keys {
                if !documented.contains(&key.name) {
                    missing.push(format!("{section}: {key}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys not in their table in docs/config.md:\n{}",
            missing.join("\n")
        );
    }

    /// The text under the heading that names `section` (`## \`[server]\``,
    /// `### \`http\``, `## Top level`), up to the next heading of its level.
    fn docs_section<'d>(docs: &'d str, section: &str) -> Option<&'d str> {
        let title = if section == RawSections::SECTION {
            " Top level".to_owned()
        } else {
            format!(" `{section}`")
        };
        let mut lines = docs.split_inclusive('\n');
        let mut offset = 0;
        let (level, start) = loop {
            let line = lines.next()?;
            offset += line.len();
            let hashes = line.chars().take_while(|c| *c == '#').count();
            if hashes > 0 && line[hashes..].trim_end() == title {
                break (hashes, offset);
            }
        };
        let mut end = start;
        for line in lines {
            let hashes = line.chars().take_while(|c| *c == '#').count();
            if hashes > 0 && hashes <= level {
                break;
            }
            end += line.len();
        }
        Some(&docs[start..end])
    }

    #[test]
    fn the_document_lists_its_keys_in_reading_order() {
        let keys: Vec<String> = RawMainFile::keys()
            .iter()
            .chain(RawSections::keys().iter())
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            keys,
            [
                "`include`",
                "[server]",
                "[storage]",
                "[probes]",
                "[alerting]",
                "[oncall]",
                "[incidents]",
                "[api]",
                "[status_page]",
                "[[component]]",
                "[[monitor]]",
                "[[alert]]",
                "[[slo]]",
                "[[route]]",
                "[[inhibit]]",
                "[[maintenance]]",
                "[[notifier]]",
                "[[person]]",
                "[[schedule]]",
                "[[escalation]]",
                "[[incident_template]]",
            ]
        );
    }
}
