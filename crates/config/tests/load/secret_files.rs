//! `*_file` secrets are read only from regular files of at most 64 KiB, and
//! the config file and its includes only from regular files of at most
//! 64 MiB: a device, a named pipe or a directory is refused before it is
//! opened (a pipe would hang `validate`, /dev/zero would grow it without
//! end), each at the position of the path, with every other error of the
//! config.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::Scratch;

/// The most a secret file may hold.
const LIMIT: usize = 64 * 1024;

/// Loads `name` on another thread, so a read that blocks fails the test
/// instead of hanging it.
fn errors_within_a_deadline(scratch: &Scratch, name: &str) -> String {
    let path = scratch.path(name);
    let dir = scratch.dir.path().display().to_string();
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = watchkeeper_config::load_with(&path, &crate::support::env);
        let _ = done.send(outcome);
    });
    match result.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(config)) => panic!("expected errors, but the config loaded: {config:#?}"),
        Ok(Err(errors)) => errors.to_string().replace(&dir, "<dir>"),
        Err(_) => panic!("loading {name} did not finish within 10 s: a file read blocked"),
    }
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

#[test]
fn a_secret_file_must_be_a_regular_file_of_at_most_64_kib() {
    let too_large = "x".repeat(LIMIT + 1);
    let scratch = Scratch::new(&[
        ("secrets/dir/.keep", ""),
        ("secrets/large", &too_large),
        (
            "watchkeeper.toml",
            "[server]\n\
             region_file = \"secrets/dir\"\n\
             [[monitor]]\n\
             id = \"api\"\n\
             http = { url = \"http://127.0.0.1/\", fallback_url_file = \"secrets/pipe\", headers = { Authorization_file = \"/dev/zero\" } }\n\
             [[monitor]]\n\
             id = \"db\"\n\
             command = { argv = [\"true\"], env = { PGPASSWORD_file = \"secrets/large\" } }\n",
        ),
    ]);
    mkfifo(&scratch.path("secrets/pipe"));
    assert_eq!(
        errors_within_a_deadline(&scratch, "watchkeeper.toml"),
        "<dir>/watchkeeper.toml:2:15: `region_file` file <dir>/secrets/dir is a directory, not a regular file\n\
         <dir>/watchkeeper.toml:5:57: `fallback_url_file` file <dir>/secrets/pipe is a named pipe, not a regular file\n\
         <dir>/watchkeeper.toml:5:106: `Authorization_file` file /dev/zero is a character device, not a regular file\n\
         <dir>/watchkeeper.toml:8:56: `PGPASSWORD_file` file <dir>/secrets/large is larger than 64 KiB, the most a secret file may hold"
    );
}

#[test]
fn a_secret_file_of_exactly_64_kib_is_read() {
    let largest = "x".repeat(LIMIT);
    let scratch = Scratch::new(&[
        ("secrets/token", &largest),
        (
            "watchkeeper.toml",
            "[[monitor]]\nid = \"m\"\nhttp = { url = \"http://127.0.0.1/\", headers = { Authorization_file = \"secrets/token\" } }\n",
        ),
    ]);
    let config = scratch.load("watchkeeper.toml").unwrap();
    let watchkeeper_domain::monitor::ProbeSpec::Http(http) = &config.monitors[0].probe else {
        panic!("expected an http monitor")
    };
    assert_eq!(http.headers[0].1.expose().len(), LIMIT);
}

#[test]
fn a_secret_file_that_is_not_utf8_is_refused() {
    let scratch = Scratch::new(&[(
        "watchkeeper.toml",
        "[server]\nregion_file = \"secrets/binary\"\n",
    )]);
    std::fs::create_dir_all(scratch.path("secrets")).unwrap();
    std::fs::write(scratch.path("secrets/binary"), [0xff, 0xfe, b'x']).unwrap();
    assert_eq!(
        scratch.errors("watchkeeper.toml"),
        "<dir>/watchkeeper.toml:2:15: `region_file` file <dir>/secrets/binary is not UTF-8 text"
    );
}

#[test]
fn the_config_file_must_be_a_regular_file_and_an_included_pipe_is_no_file() {
    let scratch = Scratch::new(&[(
        "watchkeeper.toml",
        "include = [\"monitors/pipe.toml\"]\n[[monitor]]\nid = \"api\"\nhttp = { url = \"http://127.0.0.1/\" }\n",
    )]);
    std::fs::create_dir(scratch.path("monitors")).unwrap();
    mkfifo(&scratch.path("monitors/pipe.toml"));
    mkfifo(&scratch.path("main-pipe.toml"));
    assert_eq!(
        errors_within_a_deadline(&scratch, "watchkeeper.toml"),
        "<dir>/watchkeeper.toml:1:12: include pattern \"monitors/pipe.toml\" matches no file (looked in <dir>)"
    );
    assert_eq!(
        errors_within_a_deadline(&scratch, "main-pipe.toml"),
        "<dir>/main-pipe.toml:1:1: cannot read config file: it is a named pipe, not a regular file"
    );
    assert_eq!(
        errors_within_a_deadline(&scratch, "missing.toml"),
        "<dir>/missing.toml:1:1: cannot read config file: there is no such file; give its path with --config PATH or set WATCHKEEPER_CONFIG"
    );
}
