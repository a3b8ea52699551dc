//! The page's templates: the built-in `page.html`, `incident.html` and
//! `style.css` compiled into the binary, each replaceable from
//! `[status_page] templates_dir` (read and compiled at config load, so only
//! a template that compiles reaches here). A custom template that fails to
//! render — a filter on a missing value, a loop over a number — is logged
//! and the built-in page is shown instead: a mistake in a theme must not
//! take the status page down in an outage.
//!
//! A custom `page.html` is the base of the others: the built-in incident
//! page and the "no such incident" page extend it and fill its
//! `{% block main %}` (and `{% block title %}`), so it should define them.

use std::sync::Arc;

use minijinja::{AutoEscape, Environment, context};

use super::model::{IncidentView, PageModel};
use crate::error::ApiError;

const PAGE: &str = include_str!("page.html");
const INCIDENT: &str = include_str!("incident.html");
const STYLE: &str = include_str!("style.css");

/// What the not-found page says, inside the page's `main` block.
const NOT_FOUND: &str = "{% extends \"page.html\" %}{% block main %}<p class=\"back\"><a href=\"/\">← {{ page.title }}</a></p><p class=\"quiet\">There is no such incident.</p>{% endblock %}";

/// A short page about a subscription (confirm, unsubscribe, done), in the
/// page's frame.
const NOTICE: &str = "{% extends \"page.html\" %}{% block title %}{{ notice.heading }} · {{ page.title }}{% endblock %}{% block main %}<p class=\"back\"><a href=\"/\">← {{ page.title }}</a></p><section class=\"notice\"><h2>{{ notice.heading }}</h2><p>{{ notice.message }}</p>{% if notice.button %}<form method=\"post\"><button type=\"submit\">{{ notice.button }}</button></form>{% endif %}</section>{% endblock %}";

/// Templates replacing the built-in ones; `None`: the built-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomTemplates {
    pub page: Option<Arc<str>>,
    pub incident: Option<Arc<str>>,
    /// `ACCENT` in it is replaced by the configured accent, as in the
    /// built-in one.
    pub style: Option<Arc<str>>,
}

impl CustomTemplates {
    fn any_html(&self) -> bool {
        self.page.is_some() || self.incident.is_some()
    }
}

fn environment(custom: Option<&CustomTemplates>) -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    let page = custom.and_then(|c| c.page.as_deref()).unwrap_or(PAGE);
    let incident = custom
        .and_then(|c| c.incident.as_deref())
        .unwrap_or(INCIDENT);
    env.add_template_owned("page.html", page.to_owned())?;
    env.add_template_owned("incident.html", incident.to_owned())?;
    env.add_template("not_found.html", NOT_FOUND)?;
    env.add_template("notice.html", NOTICE)?;
    Ok(env)
}

fn render_with(
    custom: Option<&CustomTemplates>,
    template: &str,
    context: &minijinja::Value,
) -> Result<String, minijinja::Error> {
    environment(custom)?.get_template(template)?.render(context)
}

/// Renders `template` (`page.html`, `incident.html` or `not_found.html`)
/// with the custom templates, or with the built-in ones when there are none
/// or they fail.
pub(super) fn render(
    custom: &CustomTemplates,
    template: &str,
    page: &PageModel,
    incident: Option<&IncidentView>,
) -> Result<String, ApiError> {
    render_context(
        custom,
        template,
        &context! { page => page, incident => incident },
    )
}

/// What a notice page says.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Notice {
    pub heading: &'static str,
    pub message: String,
    /// The label of a button that POSTs to the same URL, if any.
    pub button: Option<&'static str>,
}

/// A notice page, in the page's frame.
pub(super) fn render_notice(
    custom: &CustomTemplates,
    page: &PageModel,
    notice: &Notice,
) -> Result<String, ApiError> {
    render_context(
        custom,
        "notice.html",
        &context! { page => page, notice => notice },
    )
}

fn render_context(
    custom: &CustomTemplates,
    template: &str,
    context: &minijinja::Value,
) -> Result<String, ApiError> {
    if custom.any_html() {
        match render_with(Some(custom), template, context) {
            Ok(body) => return Ok(body),
            Err(error) => tracing::error!(
                template,
                error = %format!("{error:#}"),
                "a status page template from templates_dir did not render; showing the built-in one"
            ),
        }
    }
    render_with(None, template, context)
        .map_err(|error| ApiError::Internal(format!("the status page did not render: {error:#}")))
}

/// The stylesheet with the accent in place.
pub(super) fn stylesheet(custom: &CustomTemplates, accent: &str) -> String {
    custom
        .style
        .as_deref()
        .unwrap_or(STYLE)
        .replace("ACCENT", accent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status_page::model::PageSettings;

    fn page() -> PageModel {
        PageModel::chrome(&PageSettings::default(), jiff::Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn a_custom_page_replaces_the_built_in_one_and_still_escapes() {
        let custom = CustomTemplates {
            page: Some(Arc::from(
                "<h1>{{ page.title }}</h1>{% block main %}main{% endblock %}",
            )),
            ..CustomTemplates::default()
        };
        let mut model = page();
        model.title = "<b>Acme</b>".to_owned();
        let body = render(&custom, "page.html", &model, None).unwrap();
        assert_eq!(body, "<h1>&lt;b&gt;Acme&lt;&#x2f;b&gt;</h1>main");
        // The not-found page extends the custom page.
        let body = render(&custom, "not_found.html", &model, None).unwrap();
        assert!(body.starts_with("<h1>&lt;b&gt;Acme"), "{body}");
        assert!(body.contains("There is no such incident."), "{body}");
    }

    #[test]
    fn a_custom_page_that_fails_to_render_falls_back_to_the_built_in_one() {
        let custom = CustomTemplates {
            // Compiles, but a number cannot be iterated.
            page: Some(Arc::from("{% for x in 3 %}{{ x }}{% endfor %}")),
            ..CustomTemplates::default()
        };
        let body = render(&custom, "page.html", &page(), None).unwrap();
        let builtin = render(&CustomTemplates::default(), "page.html", &page(), None).unwrap();
        assert_eq!(body, builtin);
        assert!(body.starts_with("<!doctype html>"), "{body}");
    }

    #[test]
    fn the_stylesheet_takes_the_accent_in_either_case() {
        let custom = CustomTemplates {
            style: Some(Arc::from("a { color: ACCENT }")),
            ..CustomTemplates::default()
        };
        assert_eq!(stylesheet(&custom, "#123456"), "a { color: #123456 }");
        let builtin = stylesheet(&CustomTemplates::default(), "#123456");
        assert!(builtin.contains("#123456") && !builtin.contains("ACCENT"));
    }
}
