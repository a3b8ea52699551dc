//! Status page wiring: the [`PageSettings`] the web shows, made from the
//! config's `[status_page]` and its public components (again on every
//! reload). A private component (`public = false`) is left out here, so no
//! public route can show it.

use std::sync::Arc;

use watchkeeper_config::Config;
use watchkeeper_web::status_page::model::{DEFAULT_ACCENT, PageComponent, PageSettings};

pub fn page_settings(config: &Config) -> Arc<PageSettings> {
    let page = &config.status_page;
    let components = config
        .components
        .iter()
        .filter(|component| component.public)
        .map(|component| PageComponent {
            id: component.id.to_string(),
            name: component.name.clone(),
            group: component.group.clone(),
            description: component.description.clone(),
            monitors: config
                .monitors
                .iter()
                .filter(|monitor| monitor.component.as_ref() == Some(&component.id))
                .map(|monitor| monitor.id.clone())
                .collect(),
        })
        .collect();
    Arc::new(PageSettings {
        title: page.title.clone(),
        description: page.description.clone(),
        logo: page.logo.as_ref().map(ToString::to_string),
        links: page
            .links
            .iter()
            .map(|(name, url)| (name.clone(), url.to_string()))
            .collect(),
        accent: page
            .accent
            .clone()
            .unwrap_or_else(|| DEFAULT_ACCENT.to_owned()),
        components,
        maintenance: config.alerting.maintenance.clone(),
    })
}
