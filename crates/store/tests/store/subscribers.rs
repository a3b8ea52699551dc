//! Subscribers: added once per kind and address, confirmed by id and
//! creation time, removed for good; the subscription cursor moves only
//! from where it was read, with its deliveries.

use watchkeeper_store::{NewDelivery, NewSubscriber};
use watchkeeper_testkit::on_both_engines;

use crate::{TestDatabase, at};

fn email(address: &str, at_ms: i64) -> NewSubscriber {
    NewSubscriber {
        kind: "email".to_owned(),
        address: address.to_owned(),
        at: at(at_ms),
        confirmed: false,
    }
}

fn delivery(id: &str) -> NewDelivery {
    NewDelivery {
        id: id.to_owned(),
        notifier: "@subscribers".to_owned(),
        group_key: "subscriptions".to_owned(),
        kind: "incident.update".to_owned(),
        created_at: at(5_000),
        notification: "{}".to_owned(),
    }
}

on_both_engines! {
    async fn subscribers_are_confirmed_and_removed_by_id_and_creation_time(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&[]).await;
        let (ann, new) = store.add_subscriber(&email("ann@example.com", 1_000)).await.unwrap();
        assert!(new);
        assert_eq!(ann.confirmed_at, None);
        let (again, new) = store.add_subscriber(&email("ann@example.com", 2_000)).await.unwrap();
        assert!(!new, "the same address is one subscriber");
        assert_eq!(again, ann, "and keeps its creation time");
        let hook = NewSubscriber {
            kind: "webhook".to_owned(),
            address: "http://127.0.0.1:9/hook".to_owned(),
            at: at(1_500),
            confirmed: true,
        };
        let (hook, _) = store.add_subscriber(&hook).await.unwrap();
        assert_eq!(hook.confirmed_at, Some(at(1_500)));

        assert!(!store.confirm_subscriber(ann.id, at(999), at(3_000)).await.unwrap(), "another row's link");
        assert!(store.confirm_subscriber(ann.id, ann.created_at, at(3_000)).await.unwrap());
        assert!(store.confirm_subscriber(ann.id, ann.created_at, at(4_000)).await.unwrap());
        let ann = store.subscriber(ann.id).await.unwrap().unwrap();
        assert_eq!(ann.confirmed_at, Some(at(3_000)), "the first confirmation stands");

        let (bob, _) = store.add_subscriber(&email("bob@example.com", 2_000)).await.unwrap();
        assert_eq!(store.remove_unconfirmed(at(2_000)).await.unwrap(), 0);
        assert_eq!(store.remove_unconfirmed(at(2_001)).await.unwrap(), 1);
        assert_eq!(store.subscriber(bob.id).await.unwrap(), None);

        assert!(!store.remove_subscriber(ann.id, Some(at(1))).await.unwrap());
        assert!(store.remove_subscriber(ann.id, Some(ann.created_at)).await.unwrap());
        assert!(!store.remove_subscriber(ann.id, None).await.unwrap(), "gone");
        let left: Vec<String> = store.subscribers().await.unwrap().into_iter().map(|s| s.address).collect();
        assert_eq!(left, ["http://127.0.0.1:9/hook"]);
    }

    async fn two_instances_never_claim_the_same_delivery(engine) {
        let db = TestDatabase::new(engine).await;
        let one = db.open_with(&[]).await;
        let two = db.open_with(&[]).await;
        let ids = ["sub-1-1", "sub-1-2", "sub-1-3", "sub-1-4", "sub-1-5"];
        one.write_deliveries(&ids.map(delivery)).await.unwrap();
        let claim = |store: &watchkeeper_store::Store, now: i64| {
            let store = store.clone();
            async move {
                store
                    .claim_due_deliveries("@subscribers", at(now), at(now + 60_000), 10)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|d| d.id)
                    .collect::<Vec<String>>()
            }
        };
        // At once, as two servers polling the same database.
        let (mut a, b) = tokio::join!(claim(&one, 10_000), claim(&two, 10_000));
        assert!(a.iter().all(|id| !b.contains(id)), "{a:?} and {b:?} overlap");
        a.extend(b);
        a.sort();
        assert_eq!(a, ids, "between them, every due delivery once");
        assert!(claim(&one, 69_999).await.is_empty(), "claimed until 70 s");
        // A claim that ran out (its instance died mid-attempt) is due again.
        assert_eq!(claim(&two, 70_000).await.len(), 5);
    }

    async fn the_subscription_cursor_moves_only_from_where_it_was_read(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&[]).await;
        assert_eq!(store.subscription_cursor().await.unwrap(), None);
        assert!(store.commit_subscriptions(None, 4, &[delivery("sub-4-1")]).await.unwrap());
        assert!(!store.commit_subscriptions(None, 5, &[delivery("sub-5-1")]).await.unwrap(), "another instance was first");
        assert!(!store.commit_subscriptions(Some(3), 5, &[delivery("sub-5-1")]).await.unwrap());
        assert!(store.commit_subscriptions(Some(4), 7, &[delivery("sub-7-1")]).await.unwrap());
        assert_eq!(store.subscription_cursor().await.unwrap(), Some(7));
        store.write_deliveries(&[delivery("confirm-1")]).await.unwrap();
        assert_eq!(store.subscription_cursor().await.unwrap(), Some(7));
        let due: Vec<String> = store
            .due_deliveries("@subscribers", at(10_000), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(due, ["sub-4-1", "sub-7-1", "confirm-1"], "nothing of the lost commits");
    }
}
