//! Rate limits against a running server: a client over `[server]
//! requests_per_second` gets 429 with `Retry-After` in the JSON error
//! shape on the status page and the API alike; an address past `[server]
//! auth_failures_per_minute` is refused even with a good token until the
//! minute allows more.

use crate::support::{STORAGE, spawn_app};

fn plain() -> reqwest::Client {
    watchkeeper_testkit::loopback_client_builder()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_in_a_loop_is_told_to_retry_later() {
    let app = spawn_app(&format!(
        "{STORAGE}[server]\nlisten = \"127.0.0.1:0\"\nrequests_per_second = 2\n[api]\npublic_read = true\n"
    ))
    .await;
    let client = plain();
    let mut limited = None;
    // A burst of twice the rate passes, then the limit answers.
    for n in 0..20 {
        let path = if n % 2 == 0 { "/" } else { "/api/v1/monitors" };
        let answer = client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        if answer.status() == 429 {
            limited = Some((n, answer));
            break;
        }
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
    }
    let (n, answer) = limited.expect("20 requests at once are limited");
    assert!(n >= 4, "the burst of 4 passes first, limited at {n}");
    let retry: u64 = answer.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_tokens_stops_even_a_good_one_for_a_while() {
    let app = spawn_app(&format!(
        "{STORAGE}[server]\nlisten = \"127.0.0.1:0\"\nauth_failures_per_minute = 3\n"
    ))
    .await;
    let client = plain();
    let wrong = format!("Bearer wk_{}", "Q".repeat(43));
    let statuses = {
        let mut statuses = Vec::new();
        for _ in 0..5 {
            let answer = client
                .get(format!("{}/api/v1/monitors", app.base))
                .header("authorization", &wrong)
                .send()
                .await
                .unwrap();
            statuses.push(answer.status().as_u16());
        }
        statuses
    };
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // The admin token is good, but this address is out of attempts.
    let good = client
        .get(format!("{}/api/v1/monitors", app.base))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 429);
    assert!(good.headers().contains_key("retry-after"));
    // No token at all is not a guess: the status page still answers.
    assert_eq!(
        client
            .get(format!("{}/", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}
