//! Public links to a file or a folder: an unguessable token (stored as a
//! hash), an optional password, expiry, download or view-only, and a view
//! budget spent atomically. `sql_link_repo!` implements it for both
//! backends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::UserId;
use crate::repo::RepoError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicLink {
    pub id: String,
    pub owner_id: UserId,
    /// `file` or `folder`.
    pub target_kind: String,
    pub target_id: String,
    pub password_hash: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub allow_download: bool,
    pub max_views: Option<u64>,
    pub views: u64,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
}

#[async_trait]
pub trait LinkRepo: Send + Sync {
    async fn insert_link(&self, link: &PublicLink, token_hash: &str) -> Result<(), RepoError>;
    /// The link with this token hash, whatever its state.
    async fn link_by_token(&self, token_hash: &str) -> Result<PublicLink, RepoError>;
    /// Counts one view if the link is live (not revoked, not expired, views
    /// left); false otherwise. Concurrent callers never pass `max_views`.
    async fn spend_link_view(&self, id: &str, now: DateTime<Utc>) -> Result<bool, RepoError>;
    /// The owner's unrevoked links, newest first.
    async fn list_links(&self, owner: UserId) -> Result<Vec<PublicLink>, RepoError>;
    /// False when the owner has no such live link.
    async fn revoke_link(&self, owner: UserId, id: &str, now: DateTime<Utc>) -> Result<bool, RepoError>;
}

macro_rules! sql_link_repo {
    ($repo:ident) => {
        mod links_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use super::{$repo, DbRow};
            use crate::domain::UserId;
            use crate::repo::RepoError;
            use crate::repo::links::{LinkRepo, PublicLink};
            use crate::repo::sql::{to_i64, to_u64};

            const COLUMNS: &str = "id, owner_id, target_kind, target_id, password_hash, expires_at, allow_download, max_views, views, created_at, revoked_at";

            fn link_from_row(row: &DbRow) -> Result<PublicLink, RepoError> {
                Ok(PublicLink {
                    id: row.try_get("id")?,
                    owner_id: UserId(row.try_get("owner_id")?),
                    target_kind: row.try_get("target_kind")?,
                    target_id: row.try_get("target_id")?,
                    password_hash: row.try_get("password_hash")?,
                    expires_at: row.try_get("expires_at")?,
                    allow_download: row.try_get("allow_download")?,
                    max_views: row.try_get::<Option<i64>, _>("max_views")?.map(to_u64),
                    views: to_u64(row.try_get("views")?),
                    created_at: row.try_get("created_at")?,
                    revoked: row.try_get::<Option<DateTime<Utc>>, _>("revoked_at")?.is_some(),
                })
            }

            #[async_trait]
            impl LinkRepo for $repo {
                async fn insert_link(&self, l: &PublicLink, token_hash: &str) -> Result<(), RepoError> {
                    sqlx::query(
                        "INSERT INTO public_links (id, owner_id, target_kind, target_id, token_hash, password_hash, expires_at, \
                         allow_download, max_views, views, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10)",
                    )
                    .bind(&l.id)
                    .bind(l.owner_id.0)
                    .bind(&l.target_kind)
                    .bind(&l.target_id)
                    .bind(token_hash)
                    .bind(&l.password_hash)
                    .bind(l.expires_at)
                    .bind(l.allow_download)
                    .bind(l.max_views.map(to_i64))
                    .bind(l.created_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn link_by_token(&self, token_hash: &str) -> Result<PublicLink, RepoError> {
                    let sql = format!("SELECT {COLUMNS} FROM public_links WHERE token_hash = $1");
                    link_from_row(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_one(&self.pool).await?)
                }

                async fn spend_link_view(&self, id: &str, at: DateTime<Utc>) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE public_links SET views = views + 1 WHERE id = $1 AND revoked_at IS NULL \
                         AND (expires_at IS NULL OR expires_at > $2) AND (max_views IS NULL OR views < max_views)",
                    )
                    .bind(id)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn list_links(&self, owner: UserId) -> Result<Vec<PublicLink>, RepoError> {
                    let sql = format!("SELECT {COLUMNS} FROM public_links WHERE owner_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id");
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner.0).fetch_all(&self.pool).await?;
                    rows.iter().map(link_from_row).collect()
                }

                async fn revoke_link(&self, owner: UserId, id: &str, at: DateTime<Utc>) -> Result<bool, RepoError> {
                    let done = sqlx::query("UPDATE public_links SET revoked_at = $3 WHERE id = $1 AND owner_id = $2 AND revoked_at IS NULL")
                        .bind(id)
                        .bind(owner.0)
                        .bind(at)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }
            }
        }
    };
}
