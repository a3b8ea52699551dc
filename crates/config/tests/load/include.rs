//! `include` globs: files load in a stable order, may hold only the sections
//! any file may hold, and errors name the included file.

use crate::support::Scratch;

const MAIN: &str =
    "include = [\"monitors/*.toml\", \"extra.toml\"]\n\n[[component]]\nid = \"api\"\n";

fn monitor_file(id: &str) -> String {
    format!(
        "[[monitor]]\nid = \"{id}\"\ncomponent = \"api\"\ntcp = {{ address = \"127.0.0.1:1\" }}\n"
    )
}

#[test]
fn included_files_load_in_pattern_then_path_order() {
    let scratch = Scratch::new(&[
        ("watchkeeper.toml", MAIN),
        ("monitors/b.toml", &monitor_file("b")),
        (
            "monitors/a.toml",
            &format!("[[component]]\nid = \"db\"\n{}", monitor_file("a")),
        ),
        ("monitors/.a.toml.swp", "not toml"),
        ("monitors/notes.txt", "not toml"),
        ("extra.toml", &monitor_file("extra")),
    ]);
    let config = scratch.load("watchkeeper.toml").unwrap();
    let ids: Vec<&str> = config.monitors.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, vec!["a", "b", "extra"]);
    let components: Vec<&str> = config.components.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(components, vec!["api", "db"]);
    assert_eq!(
        config.files,
        vec![
            scratch.path("watchkeeper.toml"),
            scratch.path("monitors/a.toml"),
            scratch.path("monitors/b.toml"),
            scratch.path("extra.toml"),
        ]
    );
}

#[test]
fn a_file_matched_twice_and_the_main_file_load_once() {
    let scratch = Scratch::new(&[
        (
            "watchkeeper.toml",
            "include = [\"*.toml\", \"m.toml\"]\n[[component]]\nid = \"api\"\n",
        ),
        ("m.toml", &monitor_file("m")),
    ]);
    let config = scratch.load("watchkeeper.toml").unwrap();
    assert_eq!(config.monitors.len(), 1);
    assert_eq!(
        config.files,
        vec![scratch.path("watchkeeper.toml"), scratch.path("m.toml")]
    );
}

#[test]
fn a_pattern_that_matches_nothing_is_an_error() {
    let scratch = Scratch::new(&[(
        "watchkeeper.toml",
        "include = [\"monitors/*.toml\"]\n[[monitor]]\nid = \"m\"\ncomponent = \"elsewhere\"\ntcp = { address = \"127.0.0.1:1\" }\n",
    )]);
    // The component may be in the file that is missing, so only the
    // include is blamed.
    assert_eq!(
        scratch.errors("watchkeeper.toml"),
        "<dir>/watchkeeper.toml:1:12: include pattern \"monitors/*.toml\" matches no file (looked in <dir>)"
    );
}

#[test]
fn included_files_hold_only_the_sections_any_file_may_hold() {
    let scratch = Scratch::new(&[
        ("watchkeeper.toml", "include = [\"more.toml\"]\n"),
        (
            "more.toml",
            "include = [\"again.toml\"]\n[server]\nlisten = \"127.0.0.1:1\"\n[[monitor]]\nid = \"x\"\ntcp = { address = \"127.0.0.1:1\" }\n",
        ),
        ("again.toml", ""),
    ]);
    assert_eq!(
        scratch.errors("watchkeeper.toml"),
        "<dir>/more.toml:1:1: an included file may not include other files; list every pattern in the main file\n\
         <dir>/more.toml:2:2: [server] belongs in the main config file; an included file may hold only [[component]], [[monitor]], [[alert]], [[slo]], [[route]], [[inhibit]], [[maintenance]], [[notifier]], [[person]], [[schedule]], [[escalation]] and [[incident_template]]"
    );
}

#[test]
fn errors_in_included_files_name_that_file_and_duplicates_span_files() {
    let scratch = Scratch::new(&[
        (
            "watchkeeper.toml",
            "include = [\"monitors/*.toml\"]\n[[component]]\nid = \"api\"\n",
        ),
        ("monitors/a.toml", &monitor_file("dup")),
        ("monitors/b.toml", &format!("\n{}", monitor_file("dup"))),
        ("monitors/c.toml", "[[monitor]\n"),
    ]);
    assert_eq!(
        scratch.errors("watchkeeper.toml"),
        "<dir>/monitors/b.toml:3:6: duplicate monitor id `dup` (first defined at <dir>/monitors/a.toml:2:6)\n\
         <dir>/monitors/c.toml:1:11: unclosed array table, expected `]`"
    );
}
