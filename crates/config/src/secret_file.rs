//! Reading a `K_file` secret: only a regular file, of at most 64 KiB. A
//! path to /dev/zero would grow `validate` without end and a named pipe
//! would hang it; both, and directories, are refused before they are
//! opened, and the read itself is bounded, so a file swapped or grown in
//! the meantime cannot get past either check.

use std::fs::{File, FileType, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

/// The most a secret file may hold. A token, a password, a URL or a
/// private key fits in far less; anything larger is a wrong path.
pub(crate) const LIMIT: u64 = 64 * 1024;

/// Why a `K_file` could not be used. Each message names the key and the
/// file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SecretFileError {
    #[error("cannot read `{key}` file {}: {source}", path.display())]
    Unreadable {
        key: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{key}` file {} is {what}, not a regular file", path.display())]
    NotRegular {
        key: String,
        path: PathBuf,
        what: &'static str,
    },
    #[error(
        "`{key}` file {} is larger than 64 KiB, the most a secret file may hold",
        path.display()
    )]
    TooLarge { key: String, path: PathBuf },
    #[error("`{key}` file {} is not UTF-8 text", path.display())]
    NotText { key: String, path: PathBuf },
}

/// The whole contents of the secret file at `path`, named `key` in errors.
pub(crate) fn read(key: &str, path: &Path) -> Result<String, SecretFileError> {
    let unreadable = |source| SecretFileError::Unreadable {
        key: key.to_owned(),
        path: path.to_path_buf(),
        source,
    };
    let not_regular = |what| SecretFileError::NotRegular {
        key: key.to_owned(),
        path: path.to_path_buf(),
        what,
    };
    let too_large = || SecretFileError::TooLarge {
        key: key.to_owned(),
        path: path.to_path_buf(),
    };
    // Follows symlinks: a secret mounted as a link to a file is fine.
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    if let Some(what) = not_a_regular_file(metadata.file_type()) {
        return Err(not_regular(what));
    }
    if metadata.len() > LIMIT {
        return Err(too_large());
    }
    // Non-blocking, so a pipe put there since the check above cannot hang
    // the open; what was opened is checked again.
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(unreadable)?;
    let opened = file.metadata().map_err(unreadable)?;
    if let Some(what) = not_a_regular_file(opened.file_type()) {
        return Err(not_regular(what));
    }
    let mut contents = Vec::new();
    file.take(LIMIT + 1)
        .read_to_end(&mut contents)
        .map_err(unreadable)?;
    if contents.len() as u64 > LIMIT {
        return Err(too_large());
    }
    String::from_utf8(contents).map_err(|_| SecretFileError::NotText {
        key: key.to_owned(),
        path: path.to_path_buf(),
    })
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
        let error = read("A_file", Path::new("/dev/null")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`A_file` file /dev/null is a character device, not a regular file"
        );
        let dir = tempfile::tempdir().unwrap();
        let error = read("A_file", dir.path()).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("is a directory, not a regular file"),
            "{error}"
        );
    }

    #[test]
    fn reads_a_file_up_to_the_limit_and_not_a_byte_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, vec![b'x'; LIMIT as usize]).unwrap();
        assert_eq!(read("A_file", &path).unwrap().len(), LIMIT as usize);
        std::fs::write(&path, vec![b'x'; LIMIT as usize + 1]).unwrap();
        assert!(matches!(
            read("A_file", &path),
            Err(SecretFileError::TooLarge { .. })
        ));
    }
}
