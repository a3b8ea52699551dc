//! [`SmallFilesystem`]: a real filesystem of a few MiB (a tmpfs mounted in a
//! temporary directory, unmounted when dropped), and [`Filler`], a file that
//! takes every byte left on it, for tests of what happens when the disk is
//! full and when space returns.
//!
//! Mounting needs root (CAP_SYS_ADMIN). Without it [`SmallFilesystem::mount`]
//! returns an error saying so, and the test that wanted it fails: a disk-full
//! test that quietly skips would prove nothing.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A tmpfs of a fixed size mounted on a fresh temporary directory.
#[derive(Debug)]
pub struct SmallFilesystem {
    /// The mount point; removed (after the unmount) when dropped.
    dir: TempDir,
}

impl SmallFilesystem {
    /// Mounts a tmpfs of `bytes` (rounded up to whole pages by the kernel).
    pub fn mount(bytes: u64) -> io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("watchkeeper-small-fs-")
            .tempdir()?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={bytes},mode=0700"))
            .arg("watchkeeper-test")
            .arg(dir.path())
            .output()?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "cannot mount a {bytes}-byte tmpfs on {} ({}): {}; \
                 this test needs root (CAP_SYS_ADMIN) to make a real small filesystem",
                dir.path().display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(Self { dir })
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file that takes every byte left on the filesystem, so the
    /// next write of any other file that needs space fails with `ENOSPC`.
    pub fn fill(&self) -> io::Result<Filler> {
        let path = self.path().join("filler");
        let mut file = File::create(&path)?;
        let mut written: u64 = 0;
        // Large chunks first, then smaller ones into the last partial page.
        for chunk in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
            let bytes = vec![0x5a_u8; chunk];
            loop {
                match file.write(&bytes) {
                    Ok(0) => break,
                    Ok(n) => {
                        written += n as u64;
                        if n < chunk {
                            break;
                        }
                    }
                    Err(error) if error.kind() == io::ErrorKind::StorageFull => break,
                    Err(error) => return Err(error),
                }
            }
        }
        file.sync_all()?;
        Ok(Filler { path, written })
    }
}

impl Drop for SmallFilesystem {
    fn drop(&mut self) {
        // Lazy: a store a failed test left open must not keep the mount.
        let unmounted = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
        if !matches!(unmounted, Ok(status) if status.success()) {
            eprintln!(
                "warning: cannot unmount the test tmpfs at {}: {unmounted:?}",
                self.dir.path().display()
            );
        }
    }
}

/// A file taking all the space that was left; [`Filler::release`] deletes it.
#[derive(Debug)]
pub struct Filler {
    path: PathBuf,
    written: u64,
}

impl Filler {
    /// How many bytes it took.
    pub fn bytes(&self) -> u64 {
        self.written
    }

    /// Deletes the file: the space is free again.
    pub fn release(self) -> io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}
