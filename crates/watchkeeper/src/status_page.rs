//! Status page wiring: the [`PageSettings`] the web shows, made from the
//! config's `[status_page]` and its public components (again on every
//! reload). A private component (`public = false`) is left out of the
//! page's components here, and a private monitor out of its component's
//! monitors, so no public route can show or count them; only
//! `every_component`, which the authenticated API alone reads, has them.
//! The templates from `templates_dir` were read by the config load, so a
//! reload picks up an edited template.

use std::sync::Arc;

use watchkeeper_config::Component;
use watchkeeper_config::Config;
use watchkeeper_web::status_page::CustomTemplates;
use watchkeeper_web::status_page::model::{
    AnyComponent, DEFAULT_ACCENT, PageComponent, PageSettings, Subscribe,
};

/// `component` with its monitors (the private ones too when `private`).
fn page_component(config: &Config, component: &Component, private: bool) -> PageComponent {
    PageComponent {
        id: component.id.to_string(),
        name: component.name.clone(),
        group: component.group.clone(),
        description: component.description.clone(),
        monitors: config
            .monitors
            .iter()
            .filter(|monitor| monitor.component.as_ref() == Some(&component.id))
            .filter(|monitor| private || !config.private_monitors.contains(&monitor.id))
            .map(|monitor| monitor.id.clone())
            .collect(),
    }
}

pub fn page_settings(config: &Config) -> Arc<PageSettings> {
    let page = &config.status_page;
    let components = config
        .components
        .iter()
        .filter(|component| component.public)
        .map(|component| page_component(config, component, false))
        .collect();
    let every_component = config
        .components
        .iter()
        .map(|component| AnyComponent {
            component: page_component(config, component, true),
            public: component.public,
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
        every_component,
        templates: page
            .templates
            .as_ref()
            .map(|templates| CustomTemplates {
                page: templates.page.as_deref().map(Arc::from),
                incident: templates.incident.as_deref().map(Arc::from),
                style: templates.style.as_deref().map(Arc::from),
            })
            .unwrap_or_default(),
        subscribe: Subscribe {
            email: page.subscribe_by_email.is_some(),
            webhook: page.subscribe_by_webhook,
        },
    })
}
