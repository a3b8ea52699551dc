//! Reading a file the config names: only a regular file, of at most a
//! given size. A path to /dev/zero would grow `validate` without end and a
//! named pipe would hang it; both, and directories, are refused before they
//! are opened, and the read itself is bounded, so a file swapped or grown
//! in the meantime cannot get past either check. Used for `K_file` secrets
//! (64 KiB) and for the config file and its includes (64 MiB).

use std::fs::{File, FileType, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::OFlag;

/// The most a secret file may hold. A token, a password, a URL or a
/// private key fits in far less; anything larger is a wrong path.
pub(crate) const SECRET_LIMIT: u64 = 64 * 1024;
/// The most a config file (or an included one) may hold: 50,000 monitors
/// take about 10 MiB.
pub(crate) const CONFIG_LIMIT: u64 = 64 * 1024 * 1024;

/// Why a file could not be used; the caller names the file and its role.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileProblem {
    #[error("{0}")]
    Unreadable(#[from] std::io::Error),
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("it is larger than {}", size_text(*.0))]
    TooLarge(u64),
    #[error("it is not UTF-8 text")]
    NotText,
}

fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * 1024 && b % (1024 * 1024) == 0 => format!("{} MiB", b / (1024 * 1024)),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}

/// The whole text of the regular file at `path`, if it holds at most
/// `limit` bytes.
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String, FileProblem> {
    // Follows symlinks: a secret mounted as a link to a file is fine.
    let metadata = std::fs::metadata(path)?;
    if let Some(what) = not_a_regular_file(metadata.file_type()) {
        return Err(FileProblem::NotRegular(what));
    }
    if metadata.len() > limit {
        return Err(FileProblem::TooLarge(limit));
    }
    // Non-blocking, so a pipe put there since the check above cannot hang
    // the open; what was opened is checked again.
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)?;
    let opened = file.metadata()?;
    if let Some(what) = not_a_regular_file(opened.file_type()) {
        return Err(FileProblem::NotRegular(what));
    }
    let mut contents = Vec::new();
    file.take(limit + 1).read_to_end(&mut contents)?;
    if contents.len() as u64 > limit {
        return Err(FileProblem::TooLarge(limit));
    }
    String::from_utf8(contents).map_err(|_| FileProblem::NotText)
}

/// What the file is, in words, when it is not a regular file.
fn not_a_regular_file(file_type: FileType) -> Option<&'static str> {
    if file_type.is_file() {
        None
    } else if file_type.is_dir() {
        Some("a directory")
    } else if file_type.is_fifo() {
        Some("a named pipe")
    } else if file_type.is_char_device() {
        Some("a character device")
    } else if file_type.is_block_device() {
        Some("a block device")
    } else if file_type.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_the_path_is_instead() {
        let error = read_text(Path::new("/dev/null"), SECRET_LIMIT).unwrap_err();
        assert_eq!(
            error.to_string(),
            "it is a character device, not a regular file"
        );
        let dir = tempfile::tempdir().unwrap();
        let error = read_text(dir.path(), SECRET_LIMIT).unwrap_err();
        assert_eq!(error.to_string(), "it is a directory, not a regular file");
    }

    #[test]
    fn reads_a_file_up_to_the_limit_and_not_a_byte_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, vec![b'x'; SECRET_LIMIT as usize]).unwrap();
        assert_eq!(
            read_text(&path, SECRET_LIMIT).unwrap().len(),
            SECRET_LIMIT as usize
        );
        std::fs::write(&path, vec![b'x'; SECRET_LIMIT as usize + 1]).unwrap();
        let error = read_text(&path, SECRET_LIMIT).unwrap_err();
        assert_eq!(error.to_string(), "it is larger than 64 KiB");
        assert_eq!(
            FileProblem::TooLarge(CONFIG_LIMIT).to_string(),
            "it is larger than 64 MiB"
        );
    }
}
