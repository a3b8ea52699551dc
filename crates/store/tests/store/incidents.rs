//! Incidents: opened and read back as written; a commit is all or nothing
//! (an unknown incident in its changes leaves nothing written and the
//! cursor where it was); changes (the first ack wins, components upserted,
//! alerts joined and their firing set, a reopen clearing `resolved_at`);
//! the open incident of an alert; queries by status, start and id, paged;
//! timelines in `(at, id)` order and the entries after an id; a stored
//! name it does not know read as an invalid row; and the history `copy`
//! carries over (`write_history`, `assert_copied`).

use std::collections::BTreeMap;

use watchkeeper_domain::incident::{EntryKind, Impact, IncidentStatus};
use watchkeeper_store::{
    IncidentAlert, IncidentChange, IncidentCommit, IncidentQuery, NewEntry, NewIncident, Store,
    StoreError, StoredIncident,
};
use watchkeeper_testkit::on_both_engines;

use crate::{TestDatabase, at};

const MINUTE: i64 = 60_000;

pub(crate) fn alert(fingerprint: &str, monitor: &str, joined_ms: i64) -> IncidentAlert {
    IncidentAlert {
        fingerprint: fingerprint.to_owned(),
        monitor: monitor.to_owned(),
        joined_at: at(joined_ms),
        firing: true,
    }
}

/// An incident an alert opened at `started_ms`, on `api` (partial outage),
/// with its alert and an `opened` entry.
pub(crate) fn new_incident(title: &str, started_ms: i64, fingerprint: &str) -> NewIncident {
    let mut opened = NewEntry::new(at(started_ms), EntryKind::Opened);
    opened.body = format!("{title} opened");
    opened.fingerprint = Some(fingerprint.to_owned());
    NewIncident {
        title: title.to_owned(),
        severity: "critical".to_owned(),
        status: IncidentStatus::Investigating,
        components: BTreeMap::from([("api".to_owned(), Impact::PartialOutage)]),
        commander: None,
        opened_by_alert: true,
        started_at: at(started_ms),
        created_at: at(started_ms + 1_000),
        next_update_at: Some(at(started_ms + 30 * MINUTE)),
        alerts: vec![alert(fingerprint, "api", started_ms)],
        entries: vec![opened],
    }
}

fn resolve(id: i64, ms: i64) -> IncidentChange {
    let mut change = IncidentChange::new(id, at(ms));
    change.status = Some(IncidentStatus::Resolved);
    change.resolved_at = Some(Some(at(ms)));
    change
}

fn titles(incidents: &[StoredIncident]) -> Vec<&str> {
    incidents.iter().map(|i| i.title.as_str()).collect()
}

async fn get(store: &Store, id: i64) -> StoredIncident {
    store.incident(id).await.unwrap().unwrap()
}

/// Three incidents (two opened by one commit that moves the cursor to
/// 7), one acknowledged, joined by a second alert, resolved, with a nine
/// entries' timeline in all.
pub(crate) async fn write_history(store: &Store) {
    let mut second = new_incident("Second", MINUTE, "fp-2");
    second
        .components
        .insert("db".to_owned(), Impact::MajorOutage);
    second.commander = Some("carol".to_owned());
    let ids = store
        .commit_incidents(&IncidentCommit {
            cursor: Some(7),
            open: vec![new_incident("First", 0, "fp-1"), second],
            changes: Vec::new(),
        })
        .await
        .unwrap();
    let mut manual = new_incident("By hand", 2 * MINUTE, "fp-3");
    manual.opened_by_alert = false;
    manual.alerts.clear();
    store.open_incident(&manual).await.unwrap();
    let mut change = resolve(ids[1], 10 * MINUTE);
    change.acknowledged_at = Some(at(2 * MINUTE));
    change.last_reminder_at = Some(at(3 * MINUTE));
    change.join_alerts = vec![alert("fp-4", "db", 4 * MINUTE)];
    change.alert_firing = vec![("fp-2".to_owned(), false)];
    for n in 0..6 {
        let mut note = NewEntry::new(at(4 * MINUTE + n), EntryKind::Note);
        note.author = Some("dave".to_owned());
        note.status = Some(IncidentStatus::Identified);
        note.subject = Some(format!("note {n}"));
        note.body = format!("body {n}");
        note.fingerprint = Some("fp-4".to_owned());
        note.template = Some("identified".to_owned());
        change.entries.push(note);
    }
    store.change_incident(&change).await.unwrap().unwrap();
}

/// `to` reads back what `write_history` wrote into `from`, and its ids go
/// on past the copied ones.
pub(crate) async fn assert_copied(from: &Store, to: &Store) {
    let copied = from.incidents(&IncidentQuery::default()).await.unwrap();
    assert_eq!(copied.len(), 3);
    assert_eq!(
        to.incidents(&IncidentQuery::default()).await.unwrap(),
        copied
    );
    for incident in &copied {
        assert_eq!(
            to.incident_entries(incident.id).await.unwrap(),
            from.incident_entries(incident.id).await.unwrap()
        );
    }
    let entries = from.entries_after(0, 100).await.unwrap();
    assert_eq!(entries.len(), 9);
    assert_eq!(to.entries_after(0, 100).await.unwrap(), entries);
    assert_eq!(to.incident_cursor().await.unwrap(), 7);
    assert_eq!(
        to.incident_of_alert("fp-1").await.unwrap(),
        from.incident_of_alert("fp-1").await.unwrap()
    );

    // New incidents and entries get ids past the copied ones.
    let id = to
        .open_incident(&new_incident("After", 20 * MINUTE, "fp-9"))
        .await
        .unwrap();
    assert!(copied.iter().all(|incident| incident.id < id), "{id}");
    let newest = to.entries_after(0, 100).await.unwrap();
    assert_eq!(newest.len(), 10);
    assert!(
        newest[9].id > entries[8].id && newest[9].incident == id,
        "{newest:?}"
    );
}

on_both_engines! {
    async fn an_opened_incident_reads_back_as_it_was_written(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let mut new = new_incident("API errors", 0, "fp-b");
        new.commander = Some("carol".to_owned());
        new.components.insert("db".to_owned(), Impact::DegradedPerformance);
        // Read back by joined_at, then fingerprint.
        new.alerts = vec![alert("fp-b", "api", 5_000), alert("fp-c", "db", 0), alert("fp-a", "api", 5_000)];
        let mut update = NewEntry::new(at(2_000), EntryKind::Update);
        update.author = Some("carol".to_owned());
        update.status = Some(IncidentStatus::Investigating);
        update.subject = Some("Errors on the API".to_owned());
        update.body = "We are looking into it.".to_owned();
        update.template = Some("investigating".to_owned());
        new.entries.push(update.clone());

        let id = store.open_incident(&new).await.unwrap();
        let stored = get(&store, id).await;
        assert_eq!(stored, StoredIncident {
            id,
            title: new.title.clone(),
            severity: "critical".to_owned(),
            status: IncidentStatus::Investigating,
            components: new.components.clone(),
            commander: Some("carol".to_owned()),
            opened_by_alert: true,
            started_at: at(0),
            acknowledged_at: None,
            resolved_at: None,
            next_update_at: Some(at(30 * MINUTE)),
            last_reminder_at: None,
            created_at: at(1_000),
            updated_at: at(1_000),
            alerts: vec![alert("fp-c", "db", 0), alert("fp-a", "api", 5_000), alert("fp-b", "api", 5_000)],
        });
        let entries = store.incident_entries(id).await.unwrap();
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|entry| entry.incident == id));
        let read: Vec<NewEntry> = entries
            .into_iter()
            .map(|e| NewEntry {
                at: e.at,
                kind: e.kind,
                author: e.author,
                status: e.status,
                subject: e.subject,
                body: e.body,
                fingerprint: e.fingerprint,
                template: e.template,
            })
            .collect();
        assert_eq!(read, new.entries);

        assert_eq!(store.incident(id + 1).await.unwrap(), None);
        assert!(store.incident_entries(id + 1).await.unwrap().is_empty());
        assert_eq!(store.incident_cursor().await.unwrap(), 0, "no cursor yet");
    }

    async fn a_commit_naming_an_unknown_incident_writes_nothing(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let first = store
            .commit_incidents(&IncidentCommit {
                cursor: Some(3),
                open: vec![new_incident("First", 0, "fp-1")],
                changes: Vec::new(),
            })
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(store.incident_cursor().await.unwrap(), 3);
        let before = get(&store, first[0]).await;
        let entries_before = store.entries_after(0, 100).await.unwrap();

        let mut retitle = IncidentChange::new(first[0], at(MINUTE));
        retitle.title = Some("Renamed".to_owned());
        retitle.entries.push(NewEntry::new(at(MINUTE), EntryKind::Changed));
        let unknown = first[0] + 100;
        let error = store
            .commit_incidents(&IncidentCommit {
                cursor: Some(9),
                open: vec![new_incident("Second", MINUTE, "fp-2")],
                changes: vec![retitle.clone(), IncidentChange::new(unknown, at(MINUTE))],
            })
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::UnknownIncident { id } if id == unknown), "{error}");
        assert!(error.to_string().contains(&unknown.to_string()), "{error}");
        assert_eq!(store.incident_cursor().await.unwrap(), 3, "the cursor did not move");
        assert_eq!(titles(&store.incidents(&IncidentQuery::default()).await.unwrap()), ["First"]);
        assert_eq!(get(&store, first[0]).await, before);
        assert_eq!(store.entries_after(0, 100).await.unwrap(), entries_before);
        assert_eq!(store.incident_of_alert("fp-2").await.unwrap(), None);

        // The same commit without the unknown change: all of it, the new
        // ids in order.
        let ids = store
            .commit_incidents(&IncidentCommit {
                cursor: Some(9),
                open: vec![new_incident("Second", MINUTE, "fp-2"), new_incident("Third", MINUTE, "fp-3")],
                changes: vec![retitle],
            })
            .await
            .unwrap();
        assert_eq!(ids.len(), 2);
        assert!(first[0] < ids[0] && ids[0] < ids[1], "{first:?} {ids:?}");
        assert_eq!(get(&store, ids[1]).await.title, "Third");
        assert_eq!(get(&store, first[0]).await.title, "Renamed");
        assert_eq!(store.incident_cursor().await.unwrap(), 9);
        // No cursor: it stays.
        store.commit_incidents(&IncidentCommit::default()).await.unwrap();
        assert_eq!(store.incident_cursor().await.unwrap(), 9);
    }

    async fn changes_keep_the_first_ack_upsert_components_and_set_only_what_they_name(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let id = store.open_incident(&new_incident("Slow", 0, "fp-1")).await.unwrap();

        let mut ack = IncidentChange::new(id, at(MINUTE));
        ack.acknowledged_at = Some(at(MINUTE));
        ack.commander = Some(Some("carol".to_owned()));
        ack.components = BTreeMap::from([
            ("api".to_owned(), Impact::MajorOutage),
            ("db".to_owned(), Impact::DegradedPerformance),
        ]);
        let after = store.change_incident(&ack).await.unwrap().unwrap();
        assert_eq!(after.acknowledged_at, Some(at(MINUTE)));
        assert_eq!(after.commander.as_deref(), Some("carol"));
        assert_eq!(after.updated_at, at(MINUTE));
        assert_eq!(after.components, BTreeMap::from([
            ("api".to_owned(), Impact::MajorOutage),
            ("db".to_owned(), Impact::DegradedPerformance),
        ]));

        let mut late = IncidentChange::new(id, at(2 * MINUTE));
        late.acknowledged_at = Some(at(2 * MINUTE));
        late.components = BTreeMap::from([("db".to_owned(), Impact::PartialOutage)]);
        late.last_reminder_at = Some(at(2 * MINUTE));
        late.next_update_at = Some(Some(at(40 * MINUTE)));
        let after = store.change_incident(&late).await.unwrap().unwrap();
        assert_eq!(after.acknowledged_at, Some(at(MINUTE)), "the first ack wins");
        assert_eq!(after.components, BTreeMap::from([
            ("api".to_owned(), Impact::MajorOutage),
            ("db".to_owned(), Impact::PartialOutage),
        ]), "upserted, none removed");
        assert_eq!(after.commander.as_deref(), Some("carol"), "not named: unchanged");
        assert_eq!(after.last_reminder_at, Some(at(2 * MINUTE)));
        assert_eq!(after.next_update_at, Some(at(40 * MINUTE)));
        assert_eq!((after.title.as_str(), after.severity.as_str()), ("Slow", "critical"));
        assert_eq!(after.status, IncidentStatus::Investigating);
        assert_eq!(after, get(&store, id).await, "the incident after the change, as stored");

        let mut clear = IncidentChange::new(id, at(3 * MINUTE));
        clear.commander = Some(None);
        clear.next_update_at = Some(None);
        clear.severity = Some("minor".to_owned());
        clear.status = Some(IncidentStatus::Identified);
        let after = store.change_incident(&clear).await.unwrap().unwrap();
        assert_eq!(after.commander, None);
        assert_eq!(after.next_update_at, None);
        assert_eq!(after.last_reminder_at, Some(at(2 * MINUTE)));
        assert_eq!((after.severity.as_str(), after.status), ("minor", IncidentStatus::Identified));

        assert_eq!(store.change_incident(&IncidentChange::new(id + 1, at(0))).await.unwrap(), None);
        assert_eq!(store.incident(id + 1).await.unwrap(), None, "nothing written");
    }

    async fn an_alert_finds_the_newest_open_incident_holding_it(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let older = store.open_incident(&new_incident("Older", 0, "fp-1")).await.unwrap();
        assert_eq!(store.incident_of_alert("fp-2").await.unwrap(), None);

        let mut join = IncidentChange::new(older, at(MINUTE));
        join.join_alerts = vec![alert("fp-2", "db", MINUTE)];
        store.change_incident(&join).await.unwrap().unwrap();
        assert_eq!(store.incident_of_alert("fp-2").await.unwrap().unwrap().id, older);
        assert_eq!(store.incident_of_alert("fp-1").await.unwrap().unwrap().id, older);

        let newer = store.open_incident(&new_incident("Newer", 2 * MINUTE, "fp-2")).await.unwrap();
        assert_eq!(store.incident_of_alert("fp-2").await.unwrap().unwrap().id, newer);

        // Joining again updates firing and monitor, keeps joined_at; and
        // alert_firing sets firing of the alerts it holds only.
        let mut again = IncidentChange::new(older, at(3 * MINUTE));
        let mut moved = alert("fp-2", "db-2", 3 * MINUTE);
        moved.firing = false;
        again.join_alerts = vec![moved];
        again.alert_firing = vec![("fp-1".to_owned(), false), ("fp-9".to_owned(), false)];
        let after = store.change_incident(&again).await.unwrap().unwrap();
        let mut resolved_first = alert("fp-1", "api", 0);
        resolved_first.firing = false;
        let mut rejoined = alert("fp-2", "db-2", MINUTE);
        rejoined.firing = false;
        assert_eq!(after.alerts, vec![resolved_first, rejoined]);

        store.change_incident(&resolve(newer, 4 * MINUTE)).await.unwrap().unwrap();
        assert_eq!(store.incident_of_alert("fp-2").await.unwrap().unwrap().id, older, "a resolved one is not found");
        let mut postmortem = resolve(older, 5 * MINUTE);
        postmortem.status = Some(IncidentStatus::Postmortem);
        store.change_incident(&postmortem).await.unwrap().unwrap();
        assert_eq!(store.incident_of_alert("fp-2").await.unwrap(), None);
        assert_eq!(store.incident_of_alert("fp-1").await.unwrap(), None);
    }

    async fn a_reopen_clears_resolved_at(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let id = store.open_incident(&new_incident("Flaky", 0, "fp-1")).await.unwrap();
        let resolved = store.change_incident(&resolve(id, MINUTE)).await.unwrap().unwrap();
        assert_eq!((resolved.status, resolved.resolved_at), (IncidentStatus::Resolved, Some(at(MINUTE))));

        let mut reopen = IncidentChange::new(id, at(2 * MINUTE));
        reopen.status = Some(IncidentStatus::Investigating);
        reopen.resolved_at = Some(None);
        reopen.alert_firing = vec![("fp-1".to_owned(), true)];
        let reopened = store.change_incident(&reopen).await.unwrap().unwrap();
        assert_eq!((reopened.status, reopened.resolved_at), (IncidentStatus::Investigating, None));
        assert_eq!(store.incident_of_alert("fp-1").await.unwrap().unwrap().id, id);
    }

    async fn queries_filter_by_status_and_start_and_page_by_id(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let mut ids = Vec::new();
        for n in 0..5 {
            let new = new_incident(&format!("n{n}"), n * MINUTE, &format!("fp-{n}"));
            ids.push(store.open_incident(&new).await.unwrap());
        }
        // n1 resolved, n3 in postmortem.
        store.change_incident(&resolve(ids[1], 10 * MINUTE)).await.unwrap().unwrap();
        let mut postmortem = resolve(ids[3], 10 * MINUTE);
        postmortem.status = Some(IncidentStatus::Postmortem);
        store.change_incident(&postmortem).await.unwrap().unwrap();

        let all = store.incidents(&IncidentQuery::default()).await.unwrap();
        assert_eq!(titles(&all), ["n4", "n3", "n2", "n1", "n0"], "newest id first");
        assert!(all.iter().all(|i| i.alerts.len() == 1 && i.components.len() == 1), "with their parts");
        let open = IncidentQuery { open_only: true, ..IncidentQuery::default() };
        assert_eq!(titles(&store.incidents(&open).await.unwrap()), ["n4", "n2", "n0"]);
        let window = IncidentQuery { since: Some(at(MINUTE)), until: Some(at(3 * MINUTE)), ..IncidentQuery::default() };
        assert_eq!(titles(&store.incidents(&window).await.unwrap()), ["n2", "n1"], "[since, until)");
        let open_window = IncidentQuery { open_only: true, ..window };
        assert_eq!(titles(&store.incidents(&open_window).await.unwrap()), ["n2"]);

        // Pages of two, each before the last id read.
        let mut pages = Vec::new();
        let mut before = None;
        loop {
            let page = store
                .incidents(&IncidentQuery { before, limit: 2, ..IncidentQuery::default() })
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            pages.push(titles(&page).join(","));
        }
        assert_eq!(pages, ["n4,n3", "n2,n1", "n0"]);
        assert!(store.incidents(&IncidentQuery { limit: 0, ..IncidentQuery::default() }).await.unwrap().is_empty());
        assert_eq!(IncidentQuery::default().limit, 50);
    }

    async fn timelines_read_in_at_then_id_order_and_feeds_by_id(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let first = store.open_incident(&new_incident("First", 0, "fp-1")).await.unwrap();
        let second = store.open_incident(&new_incident("Second", MINUTE, "fp-2")).await.unwrap();
        // Written out of time order: a note back-dated before the update,
        // two entries in one millisecond.
        let mut change = IncidentChange::new(first, at(5 * MINUTE));
        let mut update = NewEntry::new(at(5 * MINUTE), EntryKind::Update);
        update.body = "update".to_owned();
        let mut note = NewEntry::new(at(2 * MINUTE), EntryKind::Note);
        note.body = "note".to_owned();
        note.author = Some("dave".to_owned());
        let mut reminder = NewEntry::new(at(5 * MINUTE), EntryKind::Reminder);
        reminder.body = "reminder".to_owned();
        change.entries = vec![update, note, reminder];
        store.change_incident(&change).await.unwrap().unwrap();
        let mut other = IncidentChange::new(second, at(3 * MINUTE));
        let mut joined = NewEntry::new(at(3 * MINUTE), EntryKind::AlertJoined);
        joined.fingerprint = Some("fp-3".to_owned());
        other.entries = vec![joined];
        store.change_incident(&other).await.unwrap().unwrap();

        let timeline: Vec<String> = store
            .incident_entries(first)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.kind, e.body))
            .collect();
        assert_eq!(timeline, ["opened First opened", "note note", "update update", "reminder reminder"]);

        let feed = store.entries_after(0, 100).await.unwrap();
        let ids: Vec<i64> = feed.iter().map(|e| e.id).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "by id: {ids:?}");
        let feed: Vec<(i64, EntryKind)> = feed.iter().map(|e| (e.incident, e.kind)).collect();
        assert_eq!(feed, [
            (first, EntryKind::Opened),
            (second, EntryKind::Opened),
            (first, EntryKind::Update),
            (first, EntryKind::Note),
            (first, EntryKind::Reminder),
            (second, EntryKind::AlertJoined),
        ], "in commit order");
        let page = store.entries_after(ids[1], 2).await.unwrap();
        assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), &ids[2..4]);
        assert!(store.entries_after(ids[5], 10).await.unwrap().is_empty());
    }

    async fn a_stored_status_impact_or_kind_it_does_not_know_is_an_invalid_row(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open().await;
        let id = store.open_incident(&new_incident("Damaged", 0, "fp-1")).await.unwrap();
        for (damage, repair) in [
            (
                "UPDATE incidents SET status = 'sleeping'",
                "UPDATE incidents SET status = 'investigating'",
            ),
            (
                "UPDATE incident_components SET impact = 'meh'",
                "UPDATE incident_components SET impact = 'partial_outage'",
            ),
        ] {
            db.execute_raw(damage).await;
            let error = store.incident(id).await.unwrap_err();
            assert!(matches!(error, StoreError::InvalidRow { .. }), "{damage}: {error}");
            let error = store.incidents(&IncidentQuery::default()).await.unwrap_err();
            assert!(matches!(error, StoreError::InvalidRow { .. }), "{damage}: {error}");
            db.execute_raw(repair).await;
            assert_eq!(get(&store, id).await.id, id, "{repair}");
        }
        db.execute_raw("UPDATE incident_entries SET kind = 'gossip'").await;
        let error = store.incident_entries(id).await.unwrap_err();
        assert!(error.to_string().contains("gossip"), "{error}");
        assert!(matches!(store.entries_after(0, 10).await, Err(StoreError::InvalidRow { .. })));
    }
}
