//! `[status_page]` and a component's `public`: as written, and each
//! mistake at its position.

use crate::support::{assert_error, load};

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
