//! The append-only audit log: who did what, from where, with what result.
//! The trait has no way to change or remove an entry.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::repo::RepoError;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Option<DateTime<Utc>>,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    /// `key:ID` or `session:ID` (never the secret).
    pub credential: Option<String>,
    pub ip: Option<String>,
    pub action: String,
    pub target: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub result: String,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<i64>,
    pub action: Option<String>,
    pub result: Option<String>,
    pub offset: u64,
    pub limit: u64,
}

#[async_trait]
pub trait AuditRepo: Send + Sync {
    /// Appends an entry (its `id` and `at` are set here).
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), RepoError>;
    /// Entries newest first, and how many match in all.
    async fn list_audit(&self, filter: &AuditFilter) -> Result<(Vec<AuditEntry>, u64), RepoError>;
}

macro_rules! sql_audit_repo {
    ($repo:ident) => {
        mod audit_impl {
            use async_trait::async_trait;
            use sqlx::Row;

            use super::$repo;
            use crate::repo::audit::{AuditEntry, AuditFilter, AuditRepo};
            use crate::repo::sql::{to_i64, to_u64};
            use crate::repo::{RepoError, now};

            const WHERE: &str =
                "($1 IS NULL OR actor_id = $1) AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR result = $3)";

            #[async_trait]
            impl AuditRepo for $repo {
                async fn append_audit(&self, e: &AuditEntry) -> Result<(), RepoError> {
                    sqlx::query(
                        "INSERT INTO audit_log (at, actor_id, actor_name, credential, ip, action, target, result) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(now())
                    .bind(e.actor_id)
                    .bind(&e.actor_name)
                    .bind(&e.credential)
                    .bind(&e.ip)
                    .bind(&e.action)
                    .bind(&e.target)
                    .bind(&e.result)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn list_audit(&self, f: &AuditFilter) -> Result<(Vec<AuditEntry>, u64), RepoError> {
                    let sql = format!(
                        "SELECT id, at, actor_id, actor_name, credential, ip, action, target, result FROM audit_log \
                         WHERE {WHERE} ORDER BY id DESC LIMIT $4 OFFSET $5"
                    );
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(f.actor_id)
                        .bind(&f.action)
                        .bind(&f.result)
                        .bind(to_i64(f.limit))
                        .bind(to_i64(f.offset))
                        .fetch_all(&self.pool)
                        .await?;
                    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT COUNT(*) FROM audit_log WHERE {WHERE}"
                    )))
                    .bind(f.actor_id)
                    .bind(&f.action)
                    .bind(&f.result)
                    .fetch_one(&self.pool)
                    .await?;
                    let entries = rows
                        .iter()
                        .map(|r| {
                            Ok(AuditEntry {
                                id: r.try_get("id")?,
                                at: Some(r.try_get("at")?),
                                actor_id: r.try_get("actor_id")?,
                                actor_name: r.try_get("actor_name")?,
                                credential: r.try_get("credential")?,
                                ip: r.try_get("ip")?,
                                action: r.try_get("action")?,
                                target: r.try_get("target")?,
                                result: r.try_get("result")?,
                            })
                        })
                        .collect::<Result<Vec<_>, RepoError>>()?;
                    Ok((entries, to_u64(total)))
                }
            }
        }
    };
}
