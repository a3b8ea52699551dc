//! `watchkeeper token create | list | revoke` as a user runs them, on the
//! config's store (SQLite and PostgreSQL): the token printed once and
//! stored as its hash, a taken name, an unknown role or name refused with
//! their exit codes, revoking at once (and again, harmlessly). And a real
//! server over TCP: reads refused without a token unless `public_read`,
//! an admin's reload over the API audited with the client's address.

use watchkeeper_domain::access::{Role, parse_presented};
use watchkeeper_testkit::{TempConfig, on_both_engines};

use crate::cli::{Finished, run};
use crate::support::{open_store, spawn_app, storage};

async fn token(config: &TempConfig, args: &[&str]) -> Finished {
    let mut all = vec!["token"];
    all.extend_from_slice(args);
    run(config.path(), &all).await
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn tokens_are_created_listed_and_revoked_on_the_configs_store(engine) {
        let config = TempConfig::new(&storage(engine).await).unwrap();

        let created = token(&config, &["create", "--name", "ci-bot", "--role", "viewer"]).await;
        assert_eq!(created.code(), Some(0), "{created}");
        // The token alone on stdout; the warning on stderr.
        let text = created.stdout.trim_end_matches('\n');
        assert!(!text.contains('\n') && text.starts_with("wk_") && text.len() == 46, "{created}");
        assert!(created.stderr.contains("created token ci-bot (viewer); this is the only time it is shown"), "{created}");
        let admin = token(&config, &["create", "--name", "alice", "--role", "admin"]).await;
        assert_eq!(admin.code(), Some(0), "{admin}");
        assert_ne!(admin.stdout, created.stdout);

        // Stored by its hash, found by what a client will present.
        let store = open_store(&config).await;
        let found = store.token_by_hash(&parse_presented(text).unwrap()).await.unwrap().unwrap();
        assert_eq!((found.name.as_str(), found.role), ("ci-bot", Role::Viewer));
        assert_eq!(found.revoked_at, None);
        store.close().await;

        let listed = token(&config, &["list"]).await;
        assert_eq!(listed.code(), Some(0), "{listed}");
        let lines: Vec<&str> = listed.stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{listed}");
        assert!(lines[0].starts_with("NAME ") && lines[0].ends_with("REVOKED"), "{listed}");
        let cells = |line: &str| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        let (alice, ci) = (cells(lines[1]), cells(lines[2]));
        assert_eq!((alice[0].as_str(), alice[1].as_str()), ("alice", "admin"), "{listed}");
        assert_eq!(ci.len(), 5, "{listed}");
        assert_eq!((ci[0].as_str(), ci[1].as_str()), ("ci-bot", "viewer"), "{listed}");
        assert!(ci[2].parse::<jiff::Timestamp>().is_ok(), "{listed}");
        assert_eq!((ci[3].as_str(), ci[4].as_str()), ("-", "-"), "{listed}");
        assert!(!listed.stdout.contains(text), "a listed token shows its text:\n{listed}");

        let revoked = token(&config, &["revoke", "ci-bot"]).await;
        assert_eq!(revoked.code(), Some(0), "{revoked}");
        assert!(revoked.stderr.contains("revoked token ci-bot"), "{revoked}");
        let store = open_store(&config).await;
        let found = store.token_by_hash(&parse_presented(text).unwrap()).await.unwrap().unwrap();
        assert!(found.revoked_at.is_some(), "{found:?}");
        store.close().await;
        let listed = token(&config, &["list"]).await;
        let ci_line = listed.stdout.lines().find(|line| line.starts_with("ci-bot")).unwrap();
        let revoked_at = cells(ci_line)[4].parse::<jiff::Timestamp>();
        assert!(revoked_at.is_ok(), "no revocation time listed:\n{listed}");

        let again = token(&config, &["revoke", "ci-bot"]).await;
        assert_eq!(again.code(), Some(0), "{again}");
        assert!(again.stderr.contains("token ci-bot was revoked already, at "), "{again}");
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_taken_name_an_unknown_role_and_an_unknown_name_are_refused_with_their_codes(engine) {
        let config = TempConfig::new(&storage(engine).await).unwrap();
        let first = token(&config, &["create", "--name", "ci-bot", "--role", "responder"]).await;
        assert_eq!(first.code(), Some(0), "{first}");

        let taken = token(&config, &["create", "--name", "ci-bot", "--role", "admin"]).await;
        assert_eq!(taken.code(), Some(4), "{taken}");
        assert!(taken.stderr.contains("a token named ci-bot exists already"), "{taken}");
        assert_eq!(taken.stdout, "", "{taken}");

        let role = token(&config, &["create", "--name", "other", "--role", "root"]).await;
        assert_eq!(role.code(), Some(2), "{role}");
        assert!(role.stderr.contains("unknown role \"root\": expected viewer, responder or admin"), "{role}");

        let reserved = token(&config, &["create", "--name", "public", "--role", "viewer"]).await;
        assert_eq!(reserved.code(), Some(2), "{reserved}");
        assert!(reserved.stderr.contains("`public` is what the audit log calls"), "{reserved}");

        let unknown = token(&config, &["revoke", "nobody"]).await;
        assert_eq!(unknown.code(), Some(4), "{unknown}");
        assert!(unknown.stderr.contains("no token is named nobody"), "{unknown}");

        // None of the refused commands stored anything.
        let store = open_store(&config).await;
        let tokens = store.tokens().await.unwrap();
        assert_eq!(tokens.len(), 1, "{tokens:?}");
        assert_eq!(tokens[0].role, Role::Responder);
        store.close().await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_real_server_wants_a_token_and_audits_a_reload_with_the_clients_address(engine) {
        let app = spawn_app(&storage(engine).await).await;
        let anonymous = watchkeeper_testkit::loopback_client_builder().build().unwrap();
        let refused = anonymous.get(format!("{}/api/v1/monitors", app.base)).send().await.unwrap();
        assert_eq!(refused.status(), 401);
        assert_eq!(
            refused.headers()["www-authenticate"].to_str().unwrap(),
            "Bearer realm=\"watchkeeper\""
        );
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
        // /health and /metrics take no token.
        let health = anonymous.get(format!("{}/health", app.base)).send().await.unwrap();
        assert_eq!(health.status(), 200);

        let (status, _) = app.get_json("/api/v1/monitors").await;
        assert_eq!(status, 200);
        let (status, reloaded) = app.post_json("/api/v1/reload").await;
        assert_eq!(status, 200, "{reloaded}");
        let (status, log) = app.get_json("/api/v1/audit").await;
        assert_eq!(status, 200, "{log}");
        let entry = &log["entries"][0];
        assert_eq!(entry["action"], "config.reload", "{log}");
        assert_eq!(entry["role"], "admin", "{log}");
        assert!(entry["actor"].as_str().unwrap().starts_with("test-admin-"), "{log}");
        let remote: std::net::SocketAddr = entry["remote"].as_str().unwrap().parse().unwrap();
        assert!(remote.ip().is_loopback(), "{log}");
        assert_ne!(remote.port(), 0, "{log}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_public_read_anyone_reads_but_only_a_token_changes() {
    let app = spawn_app(&format!(
        "{}\n[api]\npublic_read = true\n",
        crate::support::STORAGE
    ))
    .await;
    let anonymous = watchkeeper_testkit::loopback_client_builder()
        .build()
        .unwrap();
    let read = anonymous
        .get(format!("{}/api/v1/monitors", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let audit = anonymous
        .get(format!("{}/api/v1/audit", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(audit.status(), 401);
    let reload = anonymous
        .post(format!("{}/api/v1/reload", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 401);
    app.stop().await;
}
