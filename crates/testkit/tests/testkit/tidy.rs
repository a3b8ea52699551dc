//! Tidy: every Rust file under `crates/` starts with a `//!` line saying
//! what it owns. The test names each file that does not.

use std::path::{Path, PathBuf};

/// `crates/`, the parent of this crate's directory.
fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every `.rs` file under `dir`, skipping build output and hidden folders.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, found);
            }
        } else if name.ends_with(".rs") {
            found.push(path);
        }
    }
}

/// Files whose first line does not start with `//!`, relative to `root`.
fn files_without_a_doc_line(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    files.sort();
    files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            !text.lines().next().unwrap_or("").starts_with("//!")
        })
        .map(|path| path.strip_prefix(root).unwrap().display().to_string())
        .collect()
}

#[test]
fn every_rust_file_starts_with_a_doc_line() {
    let root = crates_dir();
    let mut checked = Vec::new();
    rust_files(&root, &mut checked);
    assert!(
        checked.len() > 50,
        "found only {} .rs files under {}",
        checked.len(),
        root.display()
    );
    let missing = files_without_a_doc_line(&root);
    assert!(
        missing.is_empty(),
        "these files do not start with a `//!` line saying what they own:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn files_without_a_doc_line_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a/src")).unwrap();
    std::fs::create_dir_all(dir.path().join("a/target/debug")).unwrap();
    for (path, text) in [
        ("a/src/lib.rs", "//! Owns a.\n"),
        ("a/src/plain.rs", "// Not a doc line.\n//! Too late.\n"),
        ("a/src/empty.rs", ""),
        (
            "a/src/attribute.rs",
            "#![forbid(unsafe_code)]\n//! Too late.\n",
        ),
        ("a/target/debug/build.rs", "fn main() {}\n"),
        ("a/notes.txt", "no doc line, not Rust\n"),
    ] {
        std::fs::write(dir.path().join(path), text).unwrap();
    }
    assert_eq!(
        files_without_a_doc_line(dir.path()),
        ["a/src/attribute.rs", "a/src/empty.rs", "a/src/plain.rs"]
    );
}
