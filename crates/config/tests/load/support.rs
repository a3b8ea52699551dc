//! Helpers: a fixed environment, loading from text, and a scratch directory.

use std::path::{Path, PathBuf};

use watchkeeper_config::{Config, ConfigErrors, load_str};

/// The environment every test sees.
pub fn env(name: &str) -> Option<String> {
    match name {
        "API_TOKEN" => Some("t0ken".to_owned()),
        "PGPASSWORD" => Some("pg-s3cret".to_owned()),
        "REGION" => Some("eu-west".to_owned()),
        _ => None,
    }
}

pub fn load(text: &str) -> Result<Config, ConfigErrors> {
    load_str(Path::new("watchkeeper.toml"), text, &env)
}

/// The errors a config must produce, one per line.
pub fn errors(text: &str) -> String {
    match load(text) {
        Ok(config) => panic!("expected errors, but the config loaded: {config:#?}"),
        Err(errors) => errors.to_string(),
    }
}

/// Asserts the config fails with exactly this one error line.
#[track_caller]
pub fn assert_error(text: &str, expected: &str) {
    assert_eq!(errors(text), expected, "config:\n{text}");
}

/// A monitor around a probe line, for rules about one monitor.
pub fn monitor(lines: &str) -> String {
    format!("[[monitor]]\nid = \"m\"\n{lines}\n")
}

/// A scratch directory holding the given files.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn load(&self, name: &str) -> Result<Config, ConfigErrors> {
        watchkeeper_config::load_with(&self.path(name), &env)
    }

    /// The errors of loading `name`, with the scratch directory written `<dir>`.
    pub fn errors(&self, name: &str) -> String {
        match self.load(name) {
            Ok(config) => panic!("expected errors, but the config loaded: {config:#?}"),
            Err(errors) => errors
                .to_string()
                .replace(&self.dir.path().display().to_string(), "<dir>"),
        }
    }
}
