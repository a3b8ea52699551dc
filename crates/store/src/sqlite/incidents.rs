//! Incidents on SQLite: a commit (the opener's cursor, incidents opened,
//! changes applied) or one change in one transaction on the writer, whose
//! single connection serialises them, so entry ids grow in commit order;
//! the reads in one snapshot of a reader. Lists of ids and statuses travel
//! as JSON arrays read by `json_each`.

use sqlx::SqliteConnection;

use super::{SqliteStore, json_rows, meta};
use crate::incidents::{
    AlertWrite, ChangeWrite, CommitOutcome, CommitWrite, ComponentRow, EntryRow, EntryWrite,
    IncidentAlertRow, IncidentParts, IncidentRow, IncidentRows, IncidentWrite, QueryWrite,
    component_columns, entry_columns, incident_alert_columns, incident_columns,
};
use crate::meta::MetaKey;

async fn insert_incident(
    connection: &mut SqliteConnection,
    incident: &IncidentWrite<'_>,
) -> Result<i64, sqlx::Error> {
    let id = sqlx::query_scalar(
        "INSERT INTO incidents (title, severity, status, commander, opened_by_alert, started_at, \
         next_update_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id",
    )
    .bind(incident.title)
    .bind(incident.severity)
    .bind(incident.status)
    .bind(incident.commander)
    .bind(incident.opened_by_alert)
    .bind(incident.started_at)
    .bind(incident.next_update_at)
    .bind(incident.created_at)
    .fetch_one(&mut *connection)
    .await?;
    upsert_components(connection, id, &incident.components).await?;
    upsert_alerts(connection, id, &incident.alerts).await?;
    insert_entries(connection, id, &incident.entries).await?;
    Ok(id)
}

/// `false` when no incident has the change's id; then nothing was written.
async fn apply_change(
    connection: &mut SqliteConnection,
    change: &ChangeWrite<'_>,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE incidents SET updated_at = ?2, title = COALESCE(?3, title), \
         severity = COALESCE(?4, severity), status = COALESCE(?5, status), \
         commander = CASE WHEN ?6 THEN ?7 ELSE commander END, \
         acknowledged_at = COALESCE(acknowledged_at, ?8), \
         resolved_at = CASE WHEN ?9 THEN ?10 ELSE resolved_at END, \
         next_update_at = CASE WHEN ?11 THEN ?12 ELSE next_update_at END, \
         last_reminder_at = COALESCE(?13, last_reminder_at) \
         WHERE id = ?1",
    )
    .bind(change.id)
    .bind(change.at)
    .bind(change.title)
    .bind(change.severity)
    .bind(change.status)
    .bind(change.commander.is_some())
    .bind(change.commander.flatten())
    .bind(change.acknowledged_at)
    .bind(change.resolved_at.is_some())
    .bind(change.resolved_at.flatten())
    .bind(change.next_update_at.is_some())
    .bind(change.next_update_at.flatten())
    .bind(change.last_reminder_at)
    .execute(&mut *connection)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    upsert_components(connection, change.id, &change.components).await?;
    upsert_alerts(connection, change.id, &change.join_alerts).await?;
    for (fingerprint, firing) in &change.alert_firing {
        sqlx::query(
            "UPDATE incident_alerts SET firing = ?3 WHERE incident_id = ?1 AND fingerprint = ?2",
        )
        .bind(change.id)
        .bind(fingerprint)
        .bind(firing)
        .execute(&mut *connection)
        .await?;
    }
    insert_entries(connection, change.id, &change.entries).await?;
    Ok(true)
}

async fn upsert_components(
    connection: &mut SqliteConnection,
    incident: i64,
    components: &[(&str, &'static str)],
) -> Result<(), sqlx::Error> {
    for (component, impact) in components {
        sqlx::query(
            "INSERT INTO incident_components (incident_id, component, impact) \
             VALUES (?1, ?2, ?3) \
             ON CONFLICT (incident_id, component) DO UPDATE SET impact = excluded.impact",
        )
        .bind(incident)
        .bind(component)
        .bind(impact)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// An alert the incident holds already keeps its `joined_at`.
async fn upsert_alerts(
    connection: &mut SqliteConnection,
    incident: i64,
    alerts: &[AlertWrite<'_>],
) -> Result<(), sqlx::Error> {
    for alert in alerts {
        sqlx::query(
            "INSERT INTO incident_alerts (incident_id, fingerprint, monitor, joined_at, firing) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (incident_id, fingerprint) DO UPDATE SET monitor = excluded.monitor, \
             firing = excluded.firing",
        )
        .bind(incident)
        .bind(alert.fingerprint)
        .bind(alert.monitor)
        .bind(alert.joined_at)
        .bind(alert.firing)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

async fn insert_entries(
    connection: &mut SqliteConnection,
    incident: i64,
    entries: &[EntryWrite<'_>],
) -> Result<(), sqlx::Error> {
    for entry in entries {
        sqlx::query(
            "INSERT INTO incident_entries (incident_id, at, kind, author, status, subject, body, \
             fingerprint, template) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .bind(incident)
        .bind(entry.at)
        .bind(entry.kind)
        .bind(entry.author)
        .bind(entry.status)
        .bind(entry.subject)
        .bind(entry.body)
        .bind(entry.fingerprint)
        .bind(entry.template)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// `incidents` with their components and alerts, read on `connection`.
async fn with_parts(
    connection: &mut SqliteConnection,
    incidents: Vec<IncidentRow>,
) -> Result<IncidentParts, sqlx::Error> {
    if incidents.is_empty() {
        return Ok(IncidentParts::default());
    }
    let ids: Vec<i64> = incidents.iter().map(|row| row.id).collect();
    let ids = json_rows(&ids)?;
    let components: Vec<ComponentRow> = sqlx::query_as(concat!(
        "SELECT ",
        component_columns!(),
        " FROM incident_components WHERE incident_id IN (SELECT value FROM json_each(?1))"
    ))
    .bind(&ids)
    .fetch_all(&mut *connection)
    .await?;
    let alerts: Vec<IncidentAlertRow> = sqlx::query_as(concat!(
        "SELECT ",
        incident_alert_columns!(),
        " FROM incident_alerts WHERE incident_id IN (SELECT value FROM json_each(?1))"
    ))
    .bind(&ids)
    .fetch_all(&mut *connection)
    .await?;
    Ok(IncidentParts {
        incidents,
        components,
        alerts,
    })
}

async fn select_incident(
    connection: &mut SqliteConnection,
    id: i64,
) -> Result<IncidentParts, sqlx::Error> {
    let rows: Vec<IncidentRow> = sqlx::query_as(concat!(
        "SELECT ",
        incident_columns!(),
        " FROM incidents WHERE id = ?1"
    ))
    .bind(id)
    .fetch_all(&mut *connection)
    .await?;
    with_parts(connection, rows).await
}

impl IncidentRows for SqliteStore {
    async fn incident_cursor(&self) -> Result<Option<i64>, sqlx::Error> {
        let mut connection = self.reader.acquire().await?;
        meta::select(&mut connection, MetaKey::IncidentCursor).await
    }

    async fn commit_incidents(
        &self,
        write: &CommitWrite<'_>,
    ) -> Result<CommitOutcome, sqlx::Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        if let Some(cursor) = write.cursor {
            meta::upsert(&mut tx, MetaKey::IncidentCursor, cursor).await?;
        }
        let mut ids = Vec::with_capacity(write.open.len());
        for incident in &write.open {
            ids.push(insert_incident(&mut tx, incident).await?);
        }
        for change in &write.changes {
            if !apply_change(&mut tx, change).await? {
                // Dropping the transaction rolls it back: nothing written.
                return Ok(CommitOutcome::UnknownIncident(change.id));
            }
        }
        tx.commit().await?;
        Ok(CommitOutcome::Committed(ids))
    }

    async fn change_incident(
        &self,
        change: &ChangeWrite<'_>,
    ) -> Result<Option<IncidentParts>, sqlx::Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        if !apply_change(&mut tx, change).await? {
            return Ok(None);
        }
        let parts = select_incident(&mut tx, change.id).await?;
        tx.commit().await?;
        Ok(Some(parts))
    }

    async fn incidents(&self, query: &QueryWrite<'_>) -> Result<IncidentParts, sqlx::Error> {
        let statuses = query.statuses.map(json_rows).transpose()?;
        let mut tx = self.reader.begin().await?;
        let rows: Vec<IncidentRow> = sqlx::query_as(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents \
             WHERE (?1 IS NULL OR status IN (SELECT value FROM json_each(?1))) \
             AND (?2 IS NULL OR started_at >= ?2) AND (?3 IS NULL OR started_at < ?3) \
             AND (?4 IS NULL OR id < ?4) ORDER BY id DESC LIMIT ?5"
        ))
        .bind(statuses)
        .bind(query.since)
        .bind(query.until)
        .bind(query.before)
        .bind(i64::from(query.limit))
        .fetch_all(&mut *tx)
        .await?;
        let parts = with_parts(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(parts)
    }

    async fn incident(&self, id: i64) -> Result<IncidentParts, sqlx::Error> {
        let mut tx = self.reader.begin().await?;
        let parts = select_incident(&mut tx, id).await?;
        tx.commit().await?;
        Ok(parts)
    }

    async fn incident_of_alert(
        &self,
        fingerprint: &str,
        statuses: &[&'static str],
    ) -> Result<IncidentParts, sqlx::Error> {
        let statuses = json_rows(statuses)?;
        let mut tx = self.reader.begin().await?;
        let rows: Vec<IncidentRow> = sqlx::query_as(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents \
             WHERE id IN (SELECT incident_id FROM incident_alerts WHERE fingerprint = ?1) \
             AND status IN (SELECT value FROM json_each(?2)) ORDER BY id DESC LIMIT 1"
        ))
        .bind(fingerprint)
        .bind(statuses)
        .fetch_all(&mut *tx)
        .await?;
        let parts = with_parts(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(parts)
    }

    async fn incident_entries(&self, id: i64) -> Result<Vec<EntryRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM incident_entries WHERE incident_id = ?1 ORDER BY at, id"
        ))
        .bind(id)
        .fetch_all(&self.reader)
        .await
    }

    async fn entries_after(&self, after: i64, limit: u32) -> Result<Vec<EntryRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM incident_entries WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
    }
}
