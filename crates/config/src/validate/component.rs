//! The `[[component]]` rules: an id unique across every file, names that
//! are not empty when given, and whether it is public. `[status_page]`:
//! its title, links (absolute http(s) URLs) and accent colour (`#rrggbb`).

use watchkeeper_domain::id::ComponentId;

use super::references::Defined;
use super::{Problems, non_empty, parse_id};
use crate::model::{Component, StatusPageConfig};
use crate::raw::{RawComponent, RawStatusPage};
use crate::source::Located;

pub(super) fn validate_component(
    raw: RawComponent,
    defined: &mut Defined,
    problems: &mut Problems<'_>,
) -> Option<Component> {
    let RawComponent {
        at,
        id,
        name,
        group,
        description,
        public,
    } = raw;
    let before = problems.count();
    let id = parse_id(
        id,
        &at,
        "component",
        ComponentId::parse,
        &mut defined.components,
        problems,
    );
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
        public: public.is_none_or(|flag| flag.value),
    })
}

/// `dir` is the main config file's directory (a relative `templates_dir`
/// is under it).
/// Returns `subscribe_by_email` apart: it names a notifier, checked once
/// they are all read ([`check_subscription_notifier`]).
pub(super) fn validate_status_page(
    raw: RawStatusPage,
    dir: &std::path::Path,
    problems: &mut Problems<'_>,
) -> (StatusPageConfig, Option<Located<String>>) {
    let RawStatusPage {
        title,
        description,
        logo,
        links,
        accent,
        templates_dir,
        url,
        subscribe_by_email,
        subscribe_by_webhook,
    } = raw;
    let mut page = StatusPageConfig {
        url: url.and_then(|raw| web_url(&raw, "url", problems)),
        subscribe_by_webhook: subscribe_by_webhook.is_some_and(|flag| flag.value),
        ..StatusPageConfig::default()
    };
    if let Some(raw) = templates_dir {
        page.templates = super::page_templates::page_templates(raw, dir, problems);
    }
    if let Some(title) = non_empty(title, "`title`", problems) {
        page.title = title;
    }
    page.description = non_empty(description, "`description`", problems);
    page.logo = logo.and_then(|raw| web_url(&raw, "logo", problems));
    for (name, url) in links {
        if name.value.trim().is_empty() {
            problems.at(&name.at, "a link's name must not be empty");
            continue;
        }
        if let Some(url) = web_url(&url, "links", problems) {
            page.links.push((name.value, url));
        }
    }
    page.accent = accent.and_then(|raw| {
        let hex = raw.value.strip_prefix('#').unwrap_or("");
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            Some(raw.value.to_ascii_lowercase())
        } else {
            problems.at(
                &raw.at,
                format!(
                    "`accent` must be a colour like \"#0b6bcb\", not {:?}",
                    raw.value
                ),
            );
            None
        }
    });
    (page, subscribe_by_email)
}

/// `subscribe_by_email` must name an email notifier: its server and
/// sender mail the subscribers.
pub(super) fn check_subscription_notifier(
    page: &mut StatusPageConfig,
    raw: Option<Located<String>>,
    notifiers: &[watchkeeper_domain::notifier::NotifierSpec],
    problems: &mut Problems<'_>,
) {
    let Some(raw) = raw else { return };
    let found = notifiers.iter().find(|spec| spec.id.as_str() == raw.value);
    match found {
        Some(spec) if matches!(spec.channel, watchkeeper_domain::notifier::Channel::Email(_)) => {
            page.subscribe_by_email = Some(spec.id.clone());
        }
        Some(_) => problems.at(
            &raw.at,
            format!(
                "`subscribe_by_email` names notifier `{}`, which is not an email notifier: subscribers are mailed through an email notifier's server",
                raw.value
            ),
        ),
        None => {
            let ids: Vec<&str> = notifiers.iter().map(|spec| spec.id.as_str()).collect();
            problems.at(
                &raw.at,
                format!(
                    "`subscribe_by_email` names notifier `{}`, which is not defined{}",
                    raw.value,
                    if ids.is_empty() { String::new() } else { format!("; the notifiers are {}", ids.join(", ")) }
                ),
            );
        }
    }
}

/// An absolute `http` or `https` URL (a page links nothing else).
fn web_url(raw: &Located<String>, key: &str, problems: &mut Problems<'_>) -> Option<url::Url> {
    match url::Url::parse(&raw.value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
        Ok(url) => {
            problems.at(
                &raw.at,
                format!(
                    "`{key}` must be an http or https URL, not {}:",
                    url.scheme()
                ),
            );
            None
        }
        Err(error) => {
            problems.at(
                &raw.at,
                format!("`{key}` is not a URL ({:?}): {error}", raw.value),
            );
            None
        }
    }
}
