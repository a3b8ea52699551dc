//! `[status_page] templates_dir`: a directory of templates that replace
//! the built-in ones — `page.html`, `incident.html` (minijinja) and
//! `style.css` — each optional. They are read here, at load and on every
//! reload, and compiled, so a syntax error is a config error at its file
//! and line; any other file there is refused as a misspelling. A template
//! that compiles but fails to render is the web's to catch: it logs it and
//! shows the built-in page instead.

use std::path::Path;
use std::sync::Arc;

use super::Problems;
use crate::bounded_file;
use crate::model::PageTemplates;
use crate::source::{Loc, Located};

/// The most one template may hold: the built-in page is about 8 KiB.
const TEMPLATE_LIMIT: u64 = 1024 * 1024;

/// The files a templates directory may hold.
const TEMPLATE_FILES: [&str; 3] = ["page.html", "incident.html", "style.css"];

pub(super) fn page_templates(
    raw: Located<String>,
    dir: &Path,
    problems: &mut Problems<'_>,
) -> Option<PageTemplates> {
    let path = dir.join(&raw.value);
    let entries = match std::fs::read_dir(&path) {
        Ok(entries) => entries,
        Err(error) => {
            problems.at(
                &raw.at,
                format!("`templates_dir` {} cannot be read: {error}", path.display()),
            );
            return None;
        }
    };
    let mut templates = PageTemplates {
        dir: path.clone(),
        ..PageTemplates::default()
    };
    let before = problems.count();
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    for name in names {
        let file = path.join(&name);
        let at = Loc {
            file: Arc::from(file.as_path()),
            line: 1,
            column: 1,
        };
        let slot = match name.as_str() {
            "page.html" => &mut templates.page,
            "incident.html" => &mut templates.incident,
            "style.css" => &mut templates.style,
            other => {
                problems.at(
                    &at,
                    format!(
                        "`{other}` is not a status page template; a templates_dir holds {}",
                        TEMPLATE_FILES.join(", ")
                    ),
                );
                continue;
            }
        };
        match bounded_file::read_text(&file, TEMPLATE_LIMIT) {
            Ok(text) => *slot = Some(text),
            Err(problem) => problems.at(&at, format!("cannot read the template: {problem}")),
        }
    }
    compile(&templates, problems);
    (problems.count() == before).then_some(templates)
}

/// Compiles the HTML templates as the page will (HTML-escaped, trimmed
/// blocks), reporting a syntax error at its line.
fn compile(templates: &PageTemplates, problems: &mut Problems<'_>) {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    for (name, text) in [
        ("page.html", &templates.page),
        ("incident.html", &templates.incident),
    ] {
        let Some(text) = text else { continue };
        if let Err(error) = env.template_from_named_str(name, text) {
            let at = Loc {
                file: Arc::from(templates.dir.join(name).as_path()),
                line: error.line().unwrap_or(1),
                column: 1,
            };
            problems.at(
                &at,
                format!("the template does not compile: {}", error_text(&error)),
            );
        }
    }
}

/// minijinja's message without its own "(in page.html:3)" suffix: the
/// position is the config error's.
fn error_text(error: &minijinja::Error) -> String {
    match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    }
}
