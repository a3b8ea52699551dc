//! Throwaway config files: a `watchkeeper.toml` in a fresh directory that is
//! removed when the test is done with it.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// The file name Watchkeeper looks for by default.
pub const CONFIG_FILE_NAME: &str = "watchkeeper.toml";

/// A `watchkeeper.toml` written into a fresh temporary directory. The
/// directory and everything in it lives as long as this value.
#[derive(Debug)]
pub struct TempConfig {
    /// Owns the directory: dropping it deletes the directory.
    dir: TempDir,
    path: PathBuf,
}

impl TempConfig {
    /// Writes `toml` as `watchkeeper.toml` in a new temporary directory.
    pub fn new(toml: &str) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("watchkeeper-test-")
            .tempdir()?;
        let path = dir.path().join(CONFIG_FILE_NAME);
        std::fs::write(&path, toml)?;
        Ok(Self { dir, path })
    }

    /// The `watchkeeper.toml` file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory holding it; relative paths in the config resolve here.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes another file beside the config (e.g. `runbooks/failover.toml`),
    /// creating parent directories, and returns its path.
    pub fn write_file(
        &self,
        relative: impl AsRef<Path>,
        contents: &str,
    ) -> std::io::Result<PathBuf> {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, contents)?;
        Ok(path)
    }
}
