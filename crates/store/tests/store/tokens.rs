//! Tokens and the audit log: a token stored by its hash is found by it,
//! listed, revoked once; its last use is written at most once a minute; a
//! name is never given twice; audit entries read back newest first, paged
//! by id, with their JSON detail.

use watchkeeper_domain::access::{NewToken, Role, TokenName, parse_presented};
use watchkeeper_store::{NewAuditEntry, Revoked, StoreError};
use watchkeeper_testkit::on_both_engines;

use crate::{TestDatabase, at};

fn name(raw: &str) -> TokenName {
    TokenName::parse(raw).unwrap()
}

fn token(byte: u8) -> NewToken {
    NewToken::from_random([byte; 32])
}

on_both_engines! {
    async fn a_token_is_found_by_the_hash_of_its_text_and_never_stored_as_text(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let ci = token(1);
        store.create_token(&name("ci-bot"), Role::Responder, &ci.hash(), at(0)).await.unwrap();
        store.create_token(&name("alice"), Role::Admin, &token(2).hash(), at(1_000)).await.unwrap();

        let presented = parse_presented(ci.reveal()).unwrap();
        let found = store.token_by_hash(&presented).await.unwrap().unwrap();
        assert_eq!(found.name, name("ci-bot"));
        assert_eq!(found.role, Role::Responder);
        assert_eq!(found.created_at, at(0));
        assert_eq!((found.last_used_at, found.revoked_at), (None, None));
        assert_eq!(store.token_by_hash(&token(3).hash()).await.unwrap(), None);

        let listed: Vec<(String, Role)> = store
            .tokens()
            .await
            .unwrap()
            .into_iter()
            .map(|token| (token.name.to_string(), token.role))
            .collect();
        assert_eq!(
            listed,
            vec![("alice".to_owned(), Role::Admin), ("ci-bot".to_owned(), Role::Responder)]
        );
        // On disk: the hash, never the token.
        let rows = db.raw_token_rows().await;
        assert_eq!(
            rows,
            vec![
                format!("alice admin {}", token(2).hash().as_str()),
                format!("ci-bot responder {}", ci.hash().as_str()),
            ]
        );
        assert!(rows.iter().all(|row| !row.contains(ci.reveal())), "{rows:?}");
    }
}

on_both_engines! {
    async fn a_name_is_never_given_to_a_second_token_even_after_revoking(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        store.create_token(&name("ci-bot"), Role::Viewer, &token(1).hash(), at(0)).await.unwrap();
        let error = store
            .create_token(&name("ci-bot"), Role::Admin, &token(2).hash(), at(1))
            .await
            .unwrap_err();
        assert!(matches!(&error, StoreError::TokenNameTaken { name } if name == "ci-bot"), "{error}");
        assert_eq!(
            error.to_string(),
            "a token named ci-bot exists already (revoked tokens keep their names); choose another name"
        );
        store.revoke_token(&name("ci-bot"), at(2)).await.unwrap();
        assert!(matches!(
            store.create_token(&name("ci-bot"), Role::Admin, &token(2).hash(), at(3)).await,
            Err(StoreError::TokenNameTaken { .. })
        ));
        // The first token is unchanged by the refused ones.
        let tokens = store.tokens().await.unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].role, Role::Viewer);
    }
}

on_both_engines! {
    async fn revoking_stamps_the_token_once_and_an_unknown_name_is_told(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let ci = token(1);
        store.create_token(&name("ci-bot"), Role::Viewer, &ci.hash(), at(0)).await.unwrap();
        assert_eq!(store.revoke_token(&name("ci-bot"), at(5_000)).await.unwrap(), Revoked::Now);
        assert_eq!(
            store.revoke_token(&name("ci-bot"), at(9_000)).await.unwrap(),
            Revoked::Already(at(5_000))
        );
        assert_eq!(store.revoke_token(&name("nobody"), at(9_000)).await.unwrap(), Revoked::Unknown);
        // Still found by its hash, so the API can say it is revoked.
        let found = store.token_by_hash(&ci.hash()).await.unwrap().unwrap();
        assert_eq!(found.revoked_at, Some(at(5_000)));
    }
}

on_both_engines! {
    async fn a_last_use_is_written_at_most_once_a_minute(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let ci = token(1);
        let ci_name = name("ci-bot");
        store.create_token(&ci_name, Role::Viewer, &ci.hash(), at(0)).await.unwrap();
        let last_used = || async { store.token_by_hash(&ci.hash()).await.unwrap().unwrap().last_used_at };
        store.touch_token(&ci_name, at(10_000)).await.unwrap();
        assert_eq!(last_used().await, Some(at(10_000)));
        // Within the minute: the first use stays.
        store.touch_token(&ci_name, at(69_999)).await.unwrap();
        assert_eq!(last_used().await, Some(at(10_000)));
        store.touch_token(&ci_name, at(70_000)).await.unwrap();
        assert_eq!(last_used().await, Some(at(70_000)));
        // An older use arriving late never moves it back.
        store.touch_token(&ci_name, at(20_000)).await.unwrap();
        assert_eq!(last_used().await, Some(at(70_000)));
    }
}

on_both_engines! {
    async fn audit_entries_read_back_newest_first_paged_by_id(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let mut ids = Vec::new();
        for n in 0..5i64 {
            let detail = serde_json::json!({"n": n, "added": ["api"]});
            let entry = NewAuditEntry {
                at: at(n * 1_000),
                actor: if n == 0 { "public" } else { "alice" },
                role: (n != 0).then_some(Role::Admin),
                action: "config.reload",
                target: "-",
                detail: &detail,
                remote: (n % 2 == 1).then_some("127.0.0.1:50000"),
            };
            ids.push(store.record_audit(&entry).await.unwrap());
        }
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");

        let newest = store.audit(None, 2).await.unwrap();
        assert_eq!(newest.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ids[4], ids[3]]);
        let entry = &newest[1];
        assert_eq!(entry.at, at(3_000));
        assert_eq!((entry.actor.as_str(), entry.role), ("alice", Some(Role::Admin)));
        assert_eq!((entry.action.as_str(), entry.target.as_str()), ("config.reload", "-"));
        assert_eq!(entry.detail, serde_json::json!({"n": 3, "added": ["api"]}));
        assert_eq!(entry.remote.as_deref(), Some("127.0.0.1:50000"));

        let rest = store.audit(Some(ids[3]), 10).await.unwrap();
        assert_eq!(rest.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ids[2], ids[1], ids[0]]);
        assert_eq!((rest[2].actor.as_str(), rest[2].role, rest[2].remote.as_deref()), ("public", None, None));
    }
}
