//! A monitor's stored history through the API: results and state changes
//! newest first, a page at a time, each page's `next_until` leading to the
//! next with nothing skipped or repeated.

use watchkeeper_domain::check::StateChange;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_testkit::{monitor, result};

use crate::support::{Fixture, History, at, fixture};

/// `api` probed every minute for the last seven minutes, down at minute
/// 4 and up again at minute 3.
async fn probed() -> Fixture {
    let api = MonitorId::parse("api").unwrap();
    let change = |from: Option<Health>, to: Health, minutes_ago: i64| StateChange {
        monitor: api.clone(),
        from,
        to,
        at: at(minutes_ago),
        reason: None,
    };
    let results = (1..=7)
        .rev()
        .map(|ago| {
            let built = result("api", at(ago));
            if ago == 4 {
                built.down("refused")
            } else {
                built
            }
            .build()
        })
        .collect();
    fixture(
        vec![monitor("api").build(), monitor("db").build()],
        History {
            results,
            changes: vec![
                change(None, Health::Up, 7),
                change(Some(Health::Up), Health::Down, 4),
                change(Some(Health::Down), Health::Up, 3),
            ],
            ..History::default()
        },
    )
    .await
}

fn times(body: &serde_json::Value, list: &str, field: &str) -> Vec<String> {
    body[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect()
}

fn minute(ago: i64) -> String {
    format!("{:.3}", at(ago))
}

#[tokio::test]
async fn results_come_newest_first_and_the_cursor_walks_every_page_once() {
    let app = probed().await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/monitors/api/results?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let answer = app.get(&path).await;
        assert_eq!(answer.status, 200, "{path}");
        let body = answer.json();
        seen.extend(times(&body, "results", "started_at"));
        pages += 1;
        match body["next_until"].as_str() {
            Some(until) => path = format!("/api/v1/monitors/api/results?limit=3&until={until}"),
            None => break,
        }
        assert!(pages < 10, "the cursor does not end");
    }
    assert_eq!(seen, (1..=7).map(minute).collect::<Vec<_>>());
    // 3 + 3 + 1: the last page is short and says so.
    assert_eq!(pages, 3);

    // `since` is inclusive, `until` exclusive.
    let body = app
        .get(&format!(
            "/api/v1/monitors/api/results?since={}&until={}",
            minute(5),
            minute(2)
        ))
        .await
        .json();
    assert_eq!(
        times(&body, "results", "started_at"),
        [minute(3), minute(4), minute(5)]
    );
    assert_eq!(body["results"][1]["health"], "down");
    assert_eq!(body["results"][1]["reason"], "refused");
    assert_eq!(body["next_until"], serde_json::Value::Null);
}

#[tokio::test]
async fn state_changes_page_the_same_way() {
    let app = probed().await;
    let first = app
        .get("/api/v1/monitors/api/state-changes?limit=2")
        .await
        .json();
    assert_eq!(times(&first, "state_changes", "at"), [minute(3), minute(4)]);
    assert_eq!(first["state_changes"][1]["to"], "down");
    let until = first["next_until"].as_str().unwrap();
    let second = app
        .get(&format!(
            "/api/v1/monitors/api/state-changes?limit=2&until={until}"
        ))
        .await
        .json();
    assert_eq!(times(&second, "state_changes", "at"), [minute(7)]);
    assert_eq!(second["next_until"], serde_json::Value::Null);

    // A monitor never probed has an empty history, not an error.
    let empty = app.get("/api/v1/monitors/db/state-changes").await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json()["state_changes"], serde_json::json!([]));
}

#[tokio::test]
async fn unknown_monitors_and_bad_parameters_are_errors_naming_what_is_wrong() {
    let app = probed().await;
    for route in ["results", "state-changes"] {
        let answer = app.get(&format!("/api/v1/monitors/nope/{route}")).await;
        assert_eq!(answer.status, 404, "{route}");
        assert_eq!(answer.error().0, "not_found");
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=5000", "limit"),
            ("since=yesterday", "since"),
            ("until=2026-02-30T00:00:00Z", "until"),
            (
                "since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z",
                "since",
            ),
        ] {
            let answer = app
                .get(&format!("/api/v1/monitors/api/{route}?{query}"))
                .await;
            assert_eq!(answer.status, 400, "{route}?{query}");
            let (code, message) = answer.error();
            assert_eq!(code, "bad_request");
            assert!(
                message.starts_with(&format!("`{field}`")),
                "{route}?{query}: {message}"
            );
        }
    }
}
