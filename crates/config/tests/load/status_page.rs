//! `[status_page]` and a component's `public`: as written, and each
//! mistake at its position; a `templates_dir` read and compiled at load.

use crate::support::{Scratch, assert_error, load};

#[test]
fn the_status_page_and_private_components_load_as_written() {
    let config = load(
        r##"
[status_page]
title = "Acme Status"
logo = "https://acme.example/logo.svg"
links = { Home = "https://acme.example", Support = "https://acme.example/help" }
accent = "#0B6BCB"

[[component]]
id = "api"

[[component]]
id = "billing-internal"
public = false
"##,
    )
    .unwrap();
    let page = &config.status_page;
    assert_eq!(page.title, "Acme Status");
    assert_eq!(page.accent.as_deref(), Some("#0b6bcb"));
    let links: Vec<&str> = page.links.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(links, ["Home", "Support"]);
    assert!(config.components[0].public);
    assert!(!config.components[1].public);
    assert_eq!(load("").unwrap().status_page.title, "Status");
}

#[test]
fn status_page_mistakes_are_reported_where_they_are_written() {
    assert_error(
        "[status_page]\naccent = \"blue\"\n",
        "watchkeeper.toml:2:10: `accent` must be a colour like \"#0b6bcb\", not \"blue\"",
    );
    assert_error(
        "[status_page]\nlogo = \"javascript:alert(1)\"\n",
        "watchkeeper.toml:2:8: `logo` must be an http or https URL, not javascript:",
    );
}

#[test]
fn a_monitor_can_be_private_and_public_read_refuses_anything_private() {
    let config = load(
        r#"
[[component]]
id = "api"

[[monitor]]
id = "api-internal"
component = "api"
public = false
tcp = { address = "127.0.0.1:5432" }

[[monitor]]
id = "api-health"
component = "api"
tcp = { address = "127.0.0.1:8080" }
"#,
    )
    .unwrap();
    let private: Vec<&str> = config
        .private_monitors
        .iter()
        .map(|id| id.as_str())
        .collect();
    assert_eq!(private, ["api-internal"]);

    assert_error(
        "[api]\npublic_read = true\n\n[[component]]\nid = \"ledger\"\npublic = false\n\n\
         [[monitor]]\nid = \"db\"\npublic = false\ntcp = { address = \"127.0.0.1:5432\" }\n",
        "watchkeeper.toml:2:15: `public_read = true` would show component `ledger`, monitor `db` \
         to anyone through /api/v1; remove it and give readers a viewer token \
         (`watchkeeper token create --name NAME --role viewer`)",
    );
    // Without anything private, public reads are fine.
    assert!(load("[api]\npublic_read = true\n").unwrap().api.public_read);
}

#[test]
fn a_templates_dir_is_read_and_compiled_at_load() {
    let scratch = Scratch::new(&[
        (
            "watchkeeper.toml",
            "[status_page]\ntemplates_dir = \"theme\"\n",
        ),
        (
            "theme/page.html",
            "<h1>{{ page.title }}</h1>{% block main %}{% endblock %}",
        ),
        ("theme/style.css", "body { color: ACCENT }"),
        ("theme/.keep", ""),
    ]);
    let config = scratch.load("watchkeeper.toml").unwrap();
    let templates = config.status_page.templates.unwrap();
    assert_eq!(templates.dir, scratch.path("theme"));
    assert_eq!(
        templates.page.as_deref(),
        Some("<h1>{{ page.title }}</h1>{% block main %}{% endblock %}")
    );
    assert_eq!(templates.incident, None);
    assert_eq!(templates.style.as_deref(), Some("body { color: ACCENT }"));
}

#[test]
fn a_templates_dir_mistake_is_reported_at_its_file_and_line() {
    let scratch = Scratch::new(&[
        (
            "watchkeeper.toml",
            "[status_page]\ntemplates_dir = \"theme\"\n",
        ),
        ("theme/page.html", "<h1>\n{{ page.title }}\n{% if %}\n"),
        ("theme/index.html", "misspelt"),
    ]);
    let errors = scratch.errors("watchkeeper.toml");
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines.len(), 2, "{errors}");
    assert_eq!(
        lines[0],
        "<dir>/theme/index.html:1:1: `index.html` is not a status page template; \
         a templates_dir holds page.html, incident.html, style.css"
    );
    assert!(
        lines[1]
            .starts_with("<dir>/theme/page.html:3:1: the template does not compile: syntax error"),
        "{errors}"
    );

    let missing = Scratch::new(&[(
        "watchkeeper.toml",
        "[status_page]\ntemplates_dir = \"nowhere\"\n",
    )]);
    let errors = missing.errors("watchkeeper.toml");
    assert!(
        errors.starts_with(
            "<dir>/watchkeeper.toml:2:17: `templates_dir` <dir>/nowhere cannot be read: "
        ),
        "{errors}"
    );
}

#[test]
fn subscriptions_name_an_email_notifier_and_the_page_has_an_address() {
    let config = load(
        r#"
[status_page]
url = "https://status.acme.example/"
subscribe_by_email = "mail"
subscribe_by_webhook = true

[[notifier]]
id = "mail"
email = { smtp = "smtp://127.0.0.1:2525", tls = "none", from = "Acme <status@acme.example>", to = ["oncall@acme.example"] }
"#,
    )
    .unwrap();
    let page = &config.status_page;
    assert_eq!(
        page.url.as_ref().map(|url| url.as_str()),
        Some("https://status.acme.example/")
    );
    assert_eq!(
        page.subscribe_by_email.as_ref().map(|id| id.as_str()),
        Some("mail")
    );
    assert!(page.subscribe_by_webhook);
    let none = load("").unwrap();
    assert_eq!(none.status_page.subscribe_by_email, None);
    assert!(!none.status_page.subscribe_by_webhook);

    assert_error(
        "[status_page]\nsubscribe_by_email = \"mial\"\n\n[[notifier]]\nid = \"mail\"\n\
         email = { smtp = \"smtp://127.0.0.1:2525\", tls = \"none\", from = \"a@b.example\", to = [\"c@d.example\"] }\n",
        "watchkeeper.toml:2:22: `subscribe_by_email` names notifier `mial`, which is not defined; the notifiers are mail",
    );
    assert_error(
        "[status_page]\nsubscribe_by_email = \"hook\"\n\n[[notifier]]\nid = \"hook\"\n\
         webhook = { url = \"http://127.0.0.1:9/hook\" }\n",
        "watchkeeper.toml:2:22: `subscribe_by_email` names notifier `hook`, which is not an email notifier: \
         subscribers are mailed through an email notifier's server",
    );
    assert_error(
        "[status_page]\nurl = \"ftp://status.acme.example\"\n",
        "watchkeeper.toml:2:7: `url` must be an http or https URL, not ftp:",
    );
}
