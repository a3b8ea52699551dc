//! On-call: schedule overrides (an overlap refused without writing, touching
//! spans allowed, a removed one out of the way, two adds at once never both
//! taken), the ack-link key and the used links; the helpers the ack and
//! escalation tests share, and the history `copy` carries over
//! (`write_history`, `assert_copied`).

use jiff::Timestamp;
use watchkeeper_domain::alert::{AlertChange, Transition};
use watchkeeper_store::{
    AckOutcome, AckVia, Batch, DispatchCommit, EscalationRecord, NewAck, NewEscalationStep,
    NewOverride, OverrideConflict, Store,
};
use watchkeeper_testkit::on_both_engines;

use crate::alerts::alert_change;
use crate::{TestDatabase, at};

const HOUR: i64 = 3_600_000;

pub(crate) fn new_override(schedule: &str, person: &str, from_ms: i64, to_ms: i64) -> NewOverride {
    NewOverride {
        schedule: schedule.to_owned(),
        person: person.to_owned(),
        start: at(from_ms),
        end: at(to_ms),
        author: "alice".to_owned(),
        comment: String::new(),
        created_at: at(-HOUR),
    }
}

pub(crate) fn new_ack(alert: &AlertChange, firing_ms: i64, ms: i64, actor: &str) -> NewAck {
    NewAck {
        fingerprint: alert.fingerprint.clone(),
        firing_since: at(firing_ms),
        at: at(ms),
        actor: actor.to_owned(),
        via: AckVia::Cli,
        comment: format!("{actor} is on it"),
    }
}

/// The ladder of `alert`'s episode that fired at `firing_ms`.
pub(crate) fn ladder(
    alert: &AlertChange,
    firing_ms: i64,
    level: u32,
    next_due_ms: Option<i64>,
) -> EscalationRecord {
    EscalationRecord {
        fingerprint: alert.fingerprint.clone(),
        policy: "default".to_owned(),
        firing_since: at(firing_ms),
        level,
        round: 0,
        next_due: next_due_ms.map(at),
        stopped: false,
        updated_at: at(firing_ms + i64::from(level) * 300_000),
    }
}

pub(crate) fn step(alert: &AlertChange, firing_ms: i64, level: u32, ms: i64) -> NewEscalationStep {
    NewEscalationStep {
        fingerprint: alert.fingerprint.clone(),
        firing_since: at(firing_ms),
        policy: "default".to_owned(),
        level,
        round: 0,
        at: at(ms),
        target: "schedule:primary".to_owned(),
        person: (level == 0).then(|| "carol".to_owned()),
        notifier: (level == 0).then(|| "carol-email".to_owned()),
        delivery_id: (level == 0).then(|| format!("msg_{ms}")),
        note: if level == 0 {
            "paged carol".to_owned()
        } else {
            "nobody is on call on schedule primary".to_owned()
        },
    }
}

/// Writes `changes` as the recorder does: one batch of alert changes.
pub(crate) async fn write_alerts(store: &Store, changes: &[AlertChange]) {
    store
        .write(Batch {
            alerts: changes,
            ..Batch::default()
        })
        .await
        .unwrap();
}

pub(crate) async fn commit_ladders(store: &Store, cursor: i64, ladders: Vec<EscalationRecord>) {
    store
        .commit_dispatch(&DispatchCommit {
            cursor,
            escalations: ladders,
            ..DispatchCommit::default()
        })
        .await
        .unwrap();
}

on_both_engines! {
    async fn an_overlapping_override_is_refused_and_touching_ones_are_taken(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let mut first = new_override("primary", "carol", 0, HOUR);
        first.comment = "swapped with dave".to_owned();
        let stored = store.add_override(&first).await.unwrap().unwrap();
        assert_eq!(
            (
                stored.schedule.as_str(),
                stored.person.as_str(),
                stored.start,
                stored.end
            ),
            ("primary", "carol", at(0), at(HOUR))
        );
        assert_eq!(
            (stored.author.as_str(), stored.comment.as_str()),
            ("alice", "swapped with dave")
        );
        assert_eq!(
            (
                stored.created_at,
                stored.removed_at,
                stored.removed_by.as_deref()
            ),
            (at(-HOUR), None, None)
        );
        assert_eq!(
            store
                .overrides(Some("primary"), Timestamp::MIN)
                .await
                .unwrap(),
            std::slice::from_ref(&stored)
        );

        // Overlapping it, even by a millisecond at either end: refused,
        // naming it, and nothing written.
        for (from, to) in [
            (HOUR / 2, 2 * HOUR),
            (-HOUR, 1),
            (HOUR - 1, 2 * HOUR),
            (10, 20),
        ] {
            let refused = store
                .add_override(&new_override("primary", "dave", from, to))
                .await
                .unwrap();
            assert_eq!(
                refused,
                Err(OverrideConflict {
                    existing: stored.clone()
                }),
                "{from}..{to}"
            );
        }
        assert_eq!(
            store.overrides(None, Timestamp::MIN).await.unwrap(),
            std::slice::from_ref(&stored)
        );

        // Touching ends do not overlap; another schedule is its own.
        let after = store
            .add_override(&new_override("primary", "dave", HOUR, 2 * HOUR))
            .await
            .unwrap()
            .unwrap();
        let before = store
            .add_override(&new_override("primary", "erin", -HOUR, 0))
            .await
            .unwrap()
            .unwrap();
        let other = store
            .add_override(&new_override("secondary", "dave", 0, HOUR))
            .await
            .unwrap()
            .unwrap();
        assert!(after.id != stored.id && before.id != after.id && other.id != before.id);

        // Those that end after the instant, by start then id.
        let ids = |list: Vec<watchkeeper_store::StoredOverride>| {
            list.into_iter().map(|o| o.id).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(store.overrides(None, Timestamp::MIN).await.unwrap()),
            [before.id, stored.id, other.id, after.id]
        );
        assert_eq!(
            ids(store.overrides(None, at(0)).await.unwrap()),
            [stored.id, other.id, after.id]
        );
        assert_eq!(
            ids(store.overrides(Some("primary"), at(HOUR)).await.unwrap()),
            [after.id]
        );
        assert_eq!(
            ids(store.overrides(Some("secondary"), at(0)).await.unwrap()),
            [other.id]
        );
        assert!(
            store
                .overrides(Some("nobody"), Timestamp::MIN)
                .await
                .unwrap()
                .is_empty()
        );

        // Removed: stamped, out of the list, and out of the way.
        let removed = store
            .remove_override(stored.id, "bob", at(60_000))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (removed.removed_at, removed.removed_by.as_deref()),
            (Some(at(60_000)), Some("bob"))
        );
        assert_eq!(removed.person, "carol");
        assert_eq!(
            store
                .remove_override(stored.id, "bob", at(61_000))
                .await
                .unwrap(),
            None,
            "removed already"
        );
        assert_eq!(
            store
                .remove_override(9_999, "bob", at(61_000))
                .await
                .unwrap(),
            None,
            "unknown"
        );
        assert_eq!(
            ids(store.overrides(Some("primary"), at(0)).await.unwrap()),
            [after.id]
        );
        let again = store
            .add_override(&new_override("primary", "dave", 0, HOUR))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            ids(store.overrides(Some("primary"), at(0)).await.unwrap()),
            [again.id, after.id]
        );

        // A reopened store reads the same.
        store.close().await;
        let store = db.open().await;
        assert_eq!(
            ids(store.overrides(Some("primary"), at(0)).await.unwrap()),
            [again.id, after.id]
        );
        store.close().await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn of_overlapping_overrides_added_at_once_exactly_one_is_taken(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        for round in 0..25 {
            let schedule = format!("s{round}");
            let adds = (0..4).map(|n| {
                let store = store.clone();
                let add = new_override(&schedule, &format!("p{n}"), n * 1_000, HOUR + n * 1_000);
                tokio::spawn(async move { store.add_override(&add).await })
            });
            let mut taken = 0;
            for add in futures_util::future::join_all(adds).await {
                taken += usize::from(add.unwrap().unwrap().is_ok());
            }
            assert_eq!(taken, 1, "round {round}");
            assert_eq!(
                store
                    .overrides(Some(&schedule), Timestamp::MIN)
                    .await
                    .unwrap()
                    .len(),
                1
            );
        }
        store.close().await;
    }
}

on_both_engines! {
    async fn the_link_key_is_the_first_one_stored_across_calls_and_reopening(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let first: [u8; 32] = std::array::from_fn(|n| u8::try_from(n * 5 + 1).unwrap());
        assert_eq!(store.link_key(first).await.unwrap(), first);
        assert_eq!(store.link_key([2; 32]).await.unwrap(), first);
        // Another instance sharing the database agrees.
        let other = db.open().await;
        assert_eq!(other.link_key([3; 32]).await.unwrap(), first);
        other.close().await;
        // Beside it, the integers of meta are as they were.
        commit_ladders(&store, 7, Vec::new()).await;
        assert_eq!(store.dispatch_cursor().await.unwrap(), 7);
        store.close().await;
        let store = db.open().await;
        assert_eq!(store.link_key([4; 32]).await.unwrap(), first);
        assert_eq!(store.dispatch_cursor().await.unwrap(), 7);
        store.close().await;
    }
}

on_both_engines! {
    async fn a_link_is_used_once_until_its_mark_is_pruned_with_the_rollups(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        assert!(store.use_link("n-old", at(0)).await.unwrap());
        assert!(!store.use_link("n-old", at(1_000)).await.unwrap());
        assert!(store.use_link("n-new", at(90_000)).await.unwrap());
        assert!(!store.use_link("n-new", at(91_000)).await.unwrap());
        // Rollups kept from 60 s on: the mark made at 0 goes.
        let report = store.prune(at(0), at(60_000)).await.unwrap();
        assert_eq!(report.used_links, 1);
        assert!(!store.use_link("n-new", at(92_000)).await.unwrap());
        assert!(store.use_link("n-old", at(93_000)).await.unwrap());
        store.close().await;
    }
}

/// What the copy test's SQLite database holds of on-call: overrides (one
/// removed), a firing alert acknowledged twice (the first cleared), its
/// ladder and two steps, eight used links (two batches of seven) and the
/// link key. The alert is one more in `alerts`, with one more event.
pub(crate) async fn write_history(store: &Store) {
    let mut ids = Vec::new();
    for (n, schedule) in ["primary", "primary", "secondary"].iter().enumerate() {
        let n = i64::try_from(n).unwrap();
        let mut add = new_override(schedule, "carol", n * HOUR, (n + 1) * HOUR);
        add.comment = format!("cover {n}");
        ids.push(store.add_override(&add).await.unwrap().unwrap().id);
    }
    store
        .remove_override(ids[0], "bob", at(HOUR))
        .await
        .unwrap()
        .unwrap();
    let fired = alert_change("Slow", "web", Transition::Fired, 200_000);
    write_alerts(store, std::slice::from_ref(&fired)).await;
    store
        .commit_dispatch(&DispatchCommit {
            cursor: 2,
            escalations: vec![ladder(&fired, 200_000, 1, Some(800_000))],
            escalation_steps: vec![
                step(&fired, 200_000, 0, 200_000),
                step(&fired, 200_000, 1, 500_000),
            ],
            ..DispatchCommit::default()
        })
        .await
        .unwrap();
    store
        .acknowledge(&new_ack(&fired, 200_000, 510_000, "carol"))
        .await
        .unwrap();
    store
        .unacknowledge(&fired.fingerprint, "carol", at(520_000))
        .await
        .unwrap()
        .unwrap();
    store
        .acknowledge(&new_ack(&fired, 200_000, 530_000, "dave"))
        .await
        .unwrap();
    for n in 0..8 {
        assert!(
            store
                .use_link(&format!("nonce-{n}"), at(n * 1_000))
                .await
                .unwrap()
        );
    }
    store.link_key([9; 32]).await.unwrap();
}

/// `to` reads back what `write_history` wrote into `from`, and its ids go
/// on past the copied ones.
pub(crate) async fn assert_copied(from: &Store, to: &Store) {
    assert_eq!(
        to.overrides(None, Timestamp::MIN).await.unwrap(),
        from.overrides(None, Timestamp::MIN).await.unwrap()
    );
    assert_eq!(to.overrides(None, Timestamp::MIN).await.unwrap().len(), 2);
    assert_eq!(
        to.acks_since(Timestamp::MIN).await.unwrap(),
        from.acks_since(Timestamp::MIN).await.unwrap()
    );
    assert_eq!(
        to.current_acks().await.unwrap(),
        from.current_acks().await.unwrap()
    );
    assert_eq!(to.current_acks().await.unwrap().len(), 1);
    let ladders = from.escalations().await.unwrap();
    assert_eq!(to.escalations().await.unwrap(), ladders);
    assert!(ladders[0].stopped);
    let fingerprint = &ladders[0].fingerprint;
    assert_eq!(
        to.escalation_steps(fingerprint, 10).await.unwrap(),
        from.escalation_steps(fingerprint, 10).await.unwrap()
    );
    assert_eq!(to.escalation_steps(fingerprint, 10).await.unwrap().len(), 2);
    assert_eq!(to.link_key([1; 32]).await.unwrap(), [9; 32]);
    for n in 0..8 {
        assert!(
            !to.use_link(&format!("nonce-{n}"), at(900_000))
                .await
                .unwrap(),
            "nonce-{n}"
        );
    }

    // New rows get ids past the copied ones.
    let copied = from.overrides(None, Timestamp::MIN).await.unwrap();
    let added = to
        .add_override(&new_override("tertiary", "erin", 0, HOUR))
        .await
        .unwrap()
        .unwrap();
    assert!(copied.iter().all(|o| o.id < added.id), "{added:?}");
    let copied_acks = from.acks_since(Timestamp::MIN).await.unwrap();
    let cleared = to
        .unacknowledge(fingerprint, "erin", at(900_000))
        .await
        .unwrap()
        .unwrap();
    let mut ack = new_ack(
        &alert_change("Slow", "web", Transition::Fired, 200_000),
        200_000,
        910_000,
        "erin",
    );
    ack.via = AckVia::Api;
    let AckOutcome::Acknowledged(next) = to.acknowledge(&ack).await.unwrap() else {
        panic!("not acknowledged on the target after clearing {cleared:?}");
    };
    assert!(copied_acks.iter().all(|a| a.id < next.id), "{next:?}");
    let copied_steps = from.escalation_steps(fingerprint, 10).await.unwrap();
    let fired = alert_change("Slow", "web", Transition::Fired, 200_000);
    to.commit_dispatch(&DispatchCommit {
        cursor: 3,
        escalation_steps: vec![step(&fired, 200_000, 1, 800_000)],
        ..DispatchCommit::default()
    })
    .await
    .unwrap();
    let newest = to.escalation_steps(fingerprint, 1).await.unwrap();
    assert!(newest[0].id > copied_steps[0].id, "{newest:?}");
}
