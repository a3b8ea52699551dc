//! Writing copied incidents, their components, alerts and timeline entries,
//! and the status page's subscribers, into PostgreSQL for `Store::copy_to`: one `UNNEST` statement per table
//! per batch, ids as they were (the sequences are moved past them by
//! `finish_copy`).

use sqlx::PgConnection;

use crate::incidents::{ComponentRow, EntryRow, IncidentAlertRow, IncidentRow};

pub(crate) async fn insert_incident_copies(
    connection: &mut PgConnection,
    rows: &[IncidentRow],
) -> Result<(), sqlx::Error> {
    let text = |field: fn(&IncidentRow) -> &str| -> Vec<&str> { rows.iter().map(field).collect() };
    let number = |field: fn(&IncidentRow) -> i64| -> Vec<i64> { rows.iter().map(field).collect() };
    let optional = |field: fn(&IncidentRow) -> Option<i64>| -> Vec<Option<i64>> {
        rows.iter().map(field).collect()
    };
    sqlx::query(
        "INSERT INTO incidents (id, title, severity, status, commander, opened_by_alert, \
         started_at, acknowledged_at, resolved_at, next_update_at, last_reminder_at, created_at, \
         updated_at) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::bool[], $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], \
         $13::int8[])",
    )
    .bind(number(|row| row.id))
    .bind(text(|row| &row.title))
    .bind(text(|row| &row.severity))
    .bind(text(|row| &row.status))
    .bind(
        rows.iter()
            .map(|row| row.commander.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|row| row.opened_by_alert)
            .collect::<Vec<_>>(),
    )
    .bind(number(|row| row.started_at))
    .bind(optional(|row| row.acknowledged_at))
    .bind(optional(|row| row.resolved_at))
    .bind(optional(|row| row.next_update_at))
    .bind(optional(|row| row.last_reminder_at))
    .bind(number(|row| row.created_at))
    .bind(number(|row| row.updated_at))
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_incident_component_copies(
    connection: &mut PgConnection,
    rows: &[ComponentRow],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO incident_components (incident_id, component, impact) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[])",
    )
    .bind(rows.iter().map(|row| row.incident_id).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|row| row.component.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|row| row.impact.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_incident_alert_copies(
    connection: &mut PgConnection,
    rows: &[IncidentAlertRow],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO incident_alerts (incident_id, fingerprint, monitor, joined_at, firing) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::int8[], $5::bool[])",
    )
    .bind(rows.iter().map(|row| row.incident_id).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|row| row.fingerprint.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|row| row.monitor.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|row| row.joined_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.firing).collect::<Vec<_>>())
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_incident_entry_copies(
    connection: &mut PgConnection,
    rows: &[EntryRow],
) -> Result<(), sqlx::Error> {
    let optional = |field: fn(&EntryRow) -> Option<&str>| -> Vec<Option<&str>> {
        rows.iter().map(field).collect()
    };
    sqlx::query(
        "INSERT INTO incident_entries (id, incident_id, at, kind, author, status, subject, body, \
         fingerprint, template) \
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::text[], $5::text[], \
         $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])",
    )
    .bind(rows.iter().map(|row| row.id).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.incident_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.at).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.kind.as_str()).collect::<Vec<_>>())
    .bind(optional(|row| row.author.as_deref()))
    .bind(optional(|row| row.status.as_deref()))
    .bind(optional(|row| row.subject.as_deref()))
    .bind(rows.iter().map(|row| row.body.as_str()).collect::<Vec<_>>())
    .bind(optional(|row| row.fingerprint.as_deref()))
    .bind(optional(|row| row.template.as_deref()))
    .execute(connection)
    .await?;
    Ok(())
}

/// The status page's subscribers, ids as they were.
pub(crate) async fn insert_subscriber_copies(
    connection: &mut PgConnection,
    rows: &[crate::subscribers::SubscriberRow],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO subscribers (id, kind, address, created_at, confirmed_at) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[])",
    )
    .bind(rows.iter().map(|row| row.id).collect::<Vec<i64>>())
    .bind(
        rows.iter()
            .map(|row| row.kind.as_str())
            .collect::<Vec<&str>>(),
    )
    .bind(
        rows.iter()
            .map(|row| row.address.as_str())
            .collect::<Vec<&str>>(),
    )
    .bind(rows.iter().map(|row| row.created_at).collect::<Vec<i64>>())
    .bind(
        rows.iter()
            .map(|row| row.confirmed_at)
            .collect::<Vec<Option<i64>>>(),
    )
    .execute(connection)
    .await?;
    Ok(())
}
