//! `tokens` and `audit` on SQLite: a token is inserted unless its name is
//! taken, looked up by hash or name, revoked and touched by one conditional
//! `UPDATE` each; an audit entry is one `INSERT` on the writer connection,
//! whose single connection makes ids follow commit order.

use super::SqliteStore;
use crate::tokens::{AuditInsert, AuditRow, TokenRow, TokenRows};

const TOKEN_COLUMNS: &str = "name, role, hash, created_at, last_used_at, revoked_at";

impl TokenRows for SqliteStore {
    async fn insert_token(
        &self,
        name: &str,
        role: &str,
        hash: &str,
        created_at: i64,
    ) -> Result<bool, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO tokens (name, role, hash, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(role)
        .bind(hash)
        .bind(created_at)
        .execute(&self.writer)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn tokens(&self) -> Result<Vec<TokenRow>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY name"
        )))
        .fetch_all(&self.reader)
        .await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1"
        )))
        .bind(hash)
        .fetch_optional(&self.reader)
        .await
    }

    async fn token_by_name(&self, name: &str) -> Result<Option<TokenRow>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE name = ?1"
        )))
        .bind(name)
        .fetch_optional(&self.reader)
        .await
    }

    async fn revoke_token(&self, name: &str, at: i64) -> Result<bool, sqlx::Error> {
        let revoked =
            sqlx::query("UPDATE tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL")
                .bind(name)
                .bind(at)
                .execute(&self.writer)
                .await?;
        Ok(revoked.rows_affected() == 1)
    }

    async fn touch_token(&self, name: &str, at: i64, not_before: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE tokens SET last_used_at = ?2 \
             WHERE name = ?1 AND (last_used_at IS NULL OR last_used_at <= ?3)",
        )
        .bind(name)
        .bind(at)
        .bind(not_before)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn insert_audit(&self, row: &AuditInsert<'_>) -> Result<i64, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO audit (at, actor, role, action, target, detail, remote) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(row.at)
        .bind(row.actor)
        .bind(row.role)
        .bind(row.action)
        .bind(row.target)
        .bind(&row.detail)
        .bind(row.remote)
        .execute(&self.writer)
        .await?;
        Ok(inserted.last_insert_rowid())
    }

    async fn audit_before(&self, before: i64, limit: u32) -> Result<Vec<AuditRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, at, actor, role, action, target, detail, remote FROM audit \
             WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
    }
}
