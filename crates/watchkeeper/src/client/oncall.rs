//! How `oncall` and `oncall override …` print the server's answers.

use serde_json::Value;

use super::{table, text};

/// `oncall`: one line per schedule, who is on call, since, until, and who
/// is next.
pub fn render_oncall(body: &Value) -> String {
    let schedules = body["schedules"].as_array().cloned().unwrap_or_default();
    if schedules.is_empty() {
        return "no on-call schedules are configured\n".to_owned();
    }
    let rows: Vec<Vec<String>> = schedules
        .iter()
        .map(|schedule| {
            let now = &schedule["on_call"];
            let next = &schedule["next"];
            let (who, why, since, until) = if now.is_null() {
                (
                    "nobody".to_owned(),
                    String::new(),
                    String::new(),
                    String::new(),
                )
            } else {
                (
                    person(&now["person"]),
                    reason(now),
                    or_dash(text(now, "since")),
                    or_dash(text(now, "until")),
                )
            };
            let next = if next.is_null() {
                String::new()
            } else {
                person(&next["person"])
            };
            vec![
                text(schedule, "id").to_owned(),
                who,
                why,
                since,
                until,
                next,
            ]
        })
        .collect();
    format!(
        "on call at {}\n{}",
        text(body, "at"),
        table(
            &["SCHEDULE", "ON CALL", "WHY", "SINCE", "UNTIL", "NEXT"],
            &rows
        )
    )
}

/// A time, or `-` when there is none within a year.
fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

fn person(person: &Value) -> String {
    let (id, name) = (text(person, "id"), text(person, "name"));
    if name.is_empty() || name == id {
        id.to_owned()
    } else {
        format!("{name} ({id})")
    }
}

fn reason(shift: &Value) -> String {
    match text(shift, "source") {
        "override" => match shift["override_id"].as_i64() {
            Some(id) => format!("override {id}"),
            None => "override (config)".to_owned(),
        },
        _ => format!("layer {}", text(shift, "layer")),
    }
}

/// `oncall override list`.
pub fn render_overrides(body: &Value) -> String {
    let overrides = body["overrides"].as_array().cloned().unwrap_or_default();
    if overrides.is_empty() {
        return "no current overrides\n".to_owned();
    }
    let rows: Vec<Vec<String>> = overrides.iter().map(override_row).collect();
    table(&["ID", "PERSON", "START", "END", "BY", "COMMENT"], &rows)
}

/// One override, as `oncall override add` and `remove` print it.
pub fn render_override(body: &Value) -> String {
    table(
        &["ID", "PERSON", "START", "END", "BY", "COMMENT"],
        &[override_row(body)],
    )
}

fn override_row(one: &Value) -> Vec<String> {
    vec![
        one["id"]
            .as_i64()
            .map_or_else(|| "config".to_owned(), |id| id.to_string()),
        person(&one["person"]),
        text(one, "start").to_owned(),
        text(one, "end").to_owned(),
        text(one, "author").to_owned(),
        text(one, "comment").to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oncall_table_names_who_why_and_who_is_next() {
        let body = serde_json::json!({
            "at": "2026-12-02T10:00:00.000Z",
            "schedules": [
                {"id": "primary", "name": "Primary",
                 "on_call": {"person": {"id": "alice", "name": "Alice Example"}, "source": "layer", "layer": "base",
                             "since": "2026-11-30T09:00:00.000Z", "until": "2026-12-07T09:00:00.000Z"},
                 "next": {"person": {"id": "bob", "name": "bob"}, "source": "override", "override_id": 4,
                          "since": "2026-12-07T09:00:00.000Z", "until": "2026-12-08T09:00:00.000Z"}},
                {"id": "nights", "name": "Nights", "on_call": null, "next": null}
            ]
        });
        let printed = render_oncall(&body);
        let lines: Vec<&str> = printed.lines().collect();
        assert_eq!(lines[0], "on call at 2026-12-02T10:00:00.000Z");
        assert!(lines[1].starts_with("SCHEDULE"), "{printed}");
        assert!(
            lines[2].starts_with("primary   Alice Example (alice)  layer base"),
            "{printed}"
        );
        assert!(
            lines[2].ends_with("2026-12-07T09:00:00.000Z  bob"),
            "{printed}"
        );
        assert!(lines[3].starts_with("nights    nobody"), "{printed}");
    }
}
