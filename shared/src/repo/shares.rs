//! Read-only shares of a file or a folder with another user.
//! `sql_share_repo!` implements the trait for both backends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::UserId;
use crate::repo::RepoError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub id: String,
    pub owner_id: UserId,
    pub sharee_id: UserId,
    /// `file` or `folder`.
    pub target_kind: String,
    pub target_id: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait ShareRepo: Send + Sync {
    /// `Conflict` when the target is already shared with that user.
    async fn insert_share(&self, share: &Share) -> Result<(), RepoError>;
    async fn share(&self, id: &str) -> Result<Share, RepoError>;
    /// Shares made to (`incoming`) or by the user, newest first.
    async fn list_shares(&self, user: UserId, incoming: bool) -> Result<Vec<Share>, RepoError>;
    async fn delete_share(&self, id: &str) -> Result<(), RepoError>;
    /// Whether `kind`/`target` is shared with `sharee`.
    async fn is_shared(&self, sharee: UserId, kind: &str, target: &str) -> Result<bool, RepoError>;
}

macro_rules! sql_share_repo {
    ($repo:ident) => {
        mod shares_impl {
            use async_trait::async_trait;
            use sqlx::Row;

            use super::{$repo, DbRow};
            use crate::domain::UserId;
            use crate::repo::RepoError;
            use crate::repo::shares::{Share, ShareRepo};

            const COLUMNS: &str = "id, owner_id, sharee_id, target_kind, target_id, created_at";

            fn share_from_row(row: &DbRow) -> Result<Share, RepoError> {
                Ok(Share {
                    id: row.try_get("id")?,
                    owner_id: UserId(row.try_get("owner_id")?),
                    sharee_id: UserId(row.try_get("sharee_id")?),
                    target_kind: row.try_get("target_kind")?,
                    target_id: row.try_get("target_id")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            #[async_trait]
            impl ShareRepo for $repo {
                async fn insert_share(&self, s: &Share) -> Result<(), RepoError> {
                    sqlx::query("INSERT INTO shares (id, owner_id, sharee_id, target_kind, target_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(&s.id)
                        .bind(s.owner_id.0)
                        .bind(s.sharee_id.0)
                        .bind(&s.target_kind)
                        .bind(&s.target_id)
                        .bind(s.created_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn share(&self, id: &str) -> Result<Share, RepoError> {
                    let sql = format!("SELECT {COLUMNS} FROM shares WHERE id = $1");
                    share_from_row(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&self.pool).await?)
                }

                async fn list_shares(&self, user: UserId, incoming: bool) -> Result<Vec<Share>, RepoError> {
                    let column = if incoming { "sharee_id" } else { "owner_id" };
                    let sql = format!("SELECT {COLUMNS} FROM shares WHERE {column} = $1 ORDER BY created_at DESC, id");
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user.0).fetch_all(&self.pool).await?;
                    rows.iter().map(share_from_row).collect()
                }

                async fn delete_share(&self, id: &str) -> Result<(), RepoError> {
                    sqlx::query("DELETE FROM shares WHERE id = $1").bind(id).execute(&self.pool).await?;
                    Ok(())
                }

                async fn is_shared(&self, sharee: UserId, kind: &str, target: &str) -> Result<bool, RepoError> {
                    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shares WHERE sharee_id = $1 AND target_kind = $2 AND target_id = $3")
                        .bind(sharee.0)
                        .bind(kind)
                        .bind(target)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(n > 0)
                }
            }
        }
    };
}
