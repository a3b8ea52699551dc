//! Status page subscriptions against a running Watchkeeper, on both
//! engines, with a real SMTP server (aiosmtpd) and a webhook sink on
//! loopback: a visitor subscribes from the page's form, is mailed a
//! confirmation and hears nothing until they follow it; every public
//! incident update then reaches each subscriber, with a one-click
//! unsubscribe link (and `List-Unsubscribe` headers) that ends it; an
//! incident on a private component reaches nobody; a bad address is
//! refused with a reason; admins list and remove subscribers over the
//! API. And a promised update that passes without one pages the
//! incident's commander through their contacts, once.

use serde_json::{Value, json};
use watchkeeper_testkit::{PySink, on_both_engines, poll_until};

use crate::sink::WebhookSink;
use crate::support::{DEADLINE, spawn_app, storage};

/// A form body of one field, percent-encoded.
fn form(field: &str, value: &str) -> String {
    let encoded: String = value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect();
    format!("{field}={encoded}")
}

/// The line of `text` that starts with `prefix`.
fn link(text: &str, prefix: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix} in {text}"))
        .to_owned()
}

on_both_engines! {
    async fn a_visitor_subscribes_confirms_hears_each_public_update_and_unsubscribes(engine) {
        let storage = storage(engine).await;
        let mut smtp = PySink::smtp(&[]).await.unwrap();
        let hook = WebhookSink::spawn().await;
        // A receiver that is gone for good: its 410 removes the subscriber.
        let departed = WebhookSink::spawn().await;
        departed.answer(&[410; 8]);
        let app = spawn_app(&format!(
            r#"
{storage}
[status_page]
title = "Acme Status"
subscribe_by_email = "mail"
subscribe_by_webhook = true

[[component]]
id = "payments"
name = "Payments"

[[component]]
id = "ledger"
public = false

[[notifier]]
id = "mail"
email = {{ smtp = "smtp://127.0.0.1:{port}", tls = "none", from = "Acme Status <status@acme.example>", to = ["oncall@acme.example"] }}
"#,
            port = smtp.addr().port(),
        ))
        .await;
        let visitor = watchkeeper_testkit::loopback_client_builder().build().unwrap();
        let page = visitor.get(format!("{}/", app.base)).send().await.unwrap();
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("form-action 'self'"), "{csp}");
        let page = page.text().await.unwrap();
        assert!(page.contains(r#"<form method="post" action="/subscribe">"#), "{page}");
        assert!(page.contains(r#"name="webhook""#));

        // A bad address is refused with a reason, and nothing is sent.
        let refused = visitor
            .post(format!("{}/subscribe", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form("email", "not an address"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
        assert!(refused.text().await.unwrap().contains("is not an email address"));
        let refused = visitor
            .post(format!("{}/subscribe", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form("webhook", "http://169.254.169.254/latest"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400, "a metadata address is refused");

        let subscribed = visitor
            .post(format!("{}/subscribe", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form("email", "ann@example.com"))
            .send()
            .await
            .unwrap();
        assert_eq!(subscribed.status(), 200);
        assert!(subscribed.text().await.unwrap().contains("Check your inbox"));
        let mails = smtp.wait_for(1, DEADLINE).await;
        assert_eq!(mails[0]["rcpt_tos"], json!(["ann@example.com"]));
        assert_eq!(mails[0]["subject"], "Confirm your subscription to Acme Status");
        let confirm = link(mails[0]["text"].as_str().unwrap(), &format!("{}/subscriptions/confirm/", app.base));

        // Opening the link only shows a button; pressing it confirms.
        let shown = visitor.get(&confirm).send().await.unwrap().text().await.unwrap();
        assert!(shown.contains(r#"<form method="post"><button type="submit">Confirm</button></form>"#), "{shown}");
        let confirmed = visitor.post(&confirm).send().await.unwrap();
        assert_eq!(confirmed.status(), 200);
        assert!(confirmed.text().await.unwrap().contains("Subscribed"));
        let forged = visitor.post(format!("{confirm}x")).send().await.unwrap();
        assert_eq!(forged.status(), 404);

        let webhook = visitor
            .post(format!("{}/subscribe", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form("webhook", &hook.url))
            .send()
            .await
            .unwrap();
        assert_eq!(webhook.status(), 200);
        let webhook = visitor
            .post(format!("{}/subscribe", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form("webhook", &departed.url))
            .send()
            .await
            .unwrap();
        assert_eq!(webhook.status(), 200);

        // A private incident reaches nobody; a public one everybody.
        let private = app
            .client
            .post(format!("{}/api/v1/incidents", app.base))
            .json(&json!({"title": "Ledger lag", "severity": "P2", "components": {"ledger": "major_outage"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(private.status(), 201, "{}", private.text().await.unwrap());
        let opened = app
            .client
            .post(format!("{}/api/v1/incidents", app.base))
            .json(&json!({"title": "Payment Processing Delays", "severity": "P1", "components": {"payments": "partial_outage"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(opened.status(), 201);
        let opened: Value = opened.json().await.unwrap();
        let id = opened["incident"]["id"].as_i64().unwrap_or_else(|| opened["id"].as_i64().unwrap());

        let mails = smtp.wait_for(2, DEADLINE).await;
        let update = &mails[1];
        assert_eq!(update["rcpt_tos"], json!(["ann@example.com"]));
        assert_eq!(update["subject"], "[Investigating] Payment Processing Delays");
        let text = update["text"].as_str().unwrap();
        assert!(text.contains(&format!("Follow it: {}/incidents/{id}", app.base)), "{text}");
        let unsubscribe = link(text, "Unsubscribe: ").trim_start_matches("Unsubscribe: ").to_owned();
        let headers = &update["headers"];
        assert_eq!(headers["list-unsubscribe"], format!("<{unsubscribe}>"));
        assert_eq!(headers["list-unsubscribe-post"], "List-Unsubscribe=One-Click");

        let posted = hook.wait_for(1, "the webhook subscriber hears the update").await;
        assert_eq!(posted[0].body["incident"]["name"], "Payment Processing Delays");
        assert_eq!(posted[0].body["incident"]["status"], "investigating");
        assert!(posted[0].body["meta"]["unsubscribe"].as_str().unwrap().starts_with(&format!("{}/unsubscribe/", app.base)));
        assert!(posted[0].header("webhook-id").starts_with("sub-"));

        // A mail client's one-click unsubscribe: a POST to the link.
        let gone = visitor
            .post(&unsubscribe)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), 200);
        assert!(gone.text().await.unwrap().contains("Unsubscribed"));

        let update = app
            .client
            .post(format!("{}/api/v1/incidents/{id}/updates", app.base))
            .json(&json!({"status": "identified", "message": "A slow card network; we are routing around it."}))
            .send()
            .await
            .unwrap();
        assert_eq!(update.status(), 201, "{}", update.text().await.unwrap());
        let posted = hook.wait_for(2, "the webhook subscriber hears the second update").await;
        assert_eq!(posted[1].body["incident"]["status"], "identified");
        let names: Vec<&Value> = posted.iter().map(|p| &p.body["incident"]["name"]).collect();
        assert_eq!(names, [&json!("Payment Processing Delays"), &json!("Payment Processing Delays")], "nothing about the private incident");
        // The second update was planned with the first's subscribers gone:
        // the outbox holds nothing more for the address.
        poll_until(DEADLINE, "every subscriber delivery settled", || async {
            let (_, deliveries) = app.get_json("/api/v1/deliveries?notifier=@subscribers").await;
            let pending = deliveries["deliveries"].as_array().map(|all| {
                all.iter().filter(|d| d["status"] == "pending").count()
            });
            (pending == Some(0)).then_some(())
        })
        .await;
        assert_eq!(smtp.received().len(), 2, "nothing after unsubscribing");
        assert_eq!(departed.received().len(), 1, "nothing after answering 410");
        // Admins see who is left and can remove them.
        let (code, listed) = app.get_json("/api/v1/subscriptions").await;
        assert_eq!(code, 200);
        let left = listed["subscribers"].as_array().unwrap();
        assert_eq!(left.len(), 1, "{listed}");
        assert_eq!(left[0]["kind"], "webhook");
        assert_eq!(left[0]["status"], "confirmed");
        let removed = app
            .client
            .delete(format!("{}/api/v1/subscriptions/{}", app.base, left[0]["id"]))
            .send()
            .await
            .unwrap();
        assert_eq!(removed.status(), 200);
        let (_, listed) = app.get_json("/api/v1/subscriptions").await;
        assert_eq!(listed["subscribers"], json!([]));
        app.stop().await;
    }
}

on_both_engines! {
    async fn an_overdue_update_pages_the_incident_commander(engine) {
        let storage = storage(engine).await;
        let hook = WebhookSink::spawn().await;
        let app = spawn_app(&format!(
            r#"
{storage}
[[component]]
id = "payments"

[[person]]
id = "alice"
name = "Alice Example"
contact = ["hook"]

[[notifier]]
id = "hook"
webhook = {{ url = "{hook}" }}
"#,
            hook = hook.url,
        ))
        .await;
        let opened = app
            .client
            .post(format!("{}/api/v1/incidents", app.base))
            .json(&json!({
                "title": "Payment Processing Delays", "severity": "P1",
                "components": {"payments": "partial_outage"},
                "commander": "alice", "next_update": "1s",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(opened.status(), 201, "{}", opened.text().await.unwrap());
        let paged = hook.wait_for(1, "the commander is reminded").await;
        let data = &paged[0].body["data"];
        assert_eq!(paged[0].body["type"], "alert.firing");
        assert_eq!(data["page"]["reminder"], true, "{data}");
        assert_eq!(data["page"]["person"]["id"], "alice");
        assert_eq!(data["alerts"][0]["rule"], "IncidentUpdateOverdue");
        assert_eq!(data["alerts"][0]["severity"], "P1");
        assert!(data["alerts"][0]["reason"].as_str().unwrap().contains("is overdue"), "{data}");
        // Once per promise: nothing more arrives for it.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        assert_eq!(hook.received().len(), 1);
        app.stop().await;
    }
}
