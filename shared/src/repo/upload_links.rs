//! Upload links: anyone holding the token (stored hashed) may upload into
//! one folder, counted against the folder owner's quota, within the
//! link's expiry, file count and byte budget. A slot is taken by one
//! conditional UPDATE (files and bytes together): the request's declared
//! length may pass what is left of the budget by a `slack` (the multipart
//! framing around the file), the bytes taken never do. Once the file is
//! stored, the slot is trimmed to its size, or grown to it by another
//! conditional UPDATE; so concurrent uploads through one link never pass
//! its limits, and a file of exactly the bytes left fits. A failed upload
//! gives its slot back. `sql_upload_link_repo!` implements the trait for
//! both backends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::UserId;
use crate::repo::RepoError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadLink {
    pub id: String,
    pub owner_id: UserId,
    pub folder_id: String,
    pub password_hash: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub max_files: Option<u64>,
    pub max_bytes: Option<u64>,
    pub files_used: u64,
    pub bytes_used: u64,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
}

/// What [`UploadLinkRepo::take_upload_slot`] takes and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotTake {
    /// The bytes taken from the budget.
    pub bytes: u64,
    /// The request's declared length.
    pub declared: u64,
    /// How far `declared` may pass what is left of the budget.
    pub slack: u64,
}

#[async_trait]
pub trait UploadLinkRepo: Send + Sync {
    async fn insert_upload_link(&self, link: &UploadLink, token_hash: &str) -> Result<(), RepoError>;
    /// The link with this token hash, whatever its state.
    async fn upload_link_by_token(&self, token_hash: &str) -> Result<UploadLink, RepoError>;
    async fn upload_link(&self, id: &str) -> Result<UploadLink, RepoError>;
    /// The owner's unrevoked links, newest first.
    async fn list_upload_links(&self, owner: UserId) -> Result<Vec<UploadLink>, RepoError>;
    /// False when the owner has no such unrevoked link.
    async fn revoke_upload_link(&self, owner: UserId, id: &str, now: DateTime<Utc>) -> Result<bool, RepoError>;
    /// Takes one file slot and `take.bytes` of the byte budget while the
    /// link is live, a file slot is free, those bytes fit, and
    /// `take.declared` fits within the budget plus `take.slack`; false
    /// (nothing taken) otherwise.
    async fn take_upload_slot(&self, id: &str, take: SlotTake, now: DateTime<Utc>) -> Result<bool, RepoError>;
    /// Adds `bytes` to a taken slot when they fit the budget; false
    /// (nothing taken) otherwise.
    async fn grow_upload_slot(&self, id: &str, bytes: u64) -> Result<bool, RepoError>;
    /// Gives back `files` slots and `bytes` (a failed upload, or the part
    /// of a reservation a finished upload did not use).
    async fn give_back_upload_slot(&self, id: &str, files: u64, bytes: u64) -> Result<(), RepoError>;
}

macro_rules! sql_upload_link_repo {
    ($repo:ident) => {
        mod upload_links_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use super::{$repo, DbRow};
            use crate::domain::UserId;
            use crate::repo::RepoError;
            use crate::repo::sql::{to_i64, to_u64};
            use crate::repo::upload_links::{SlotTake, UploadLink, UploadLinkRepo};

            const COLUMNS: &str = "id, owner_id, folder_id, password_hash, expires_at, max_files, max_bytes, \
                 files_used, bytes_used, created_at, revoked_at";

            fn from_row(row: &DbRow) -> Result<UploadLink, RepoError> {
                Ok(UploadLink {
                    id: row.try_get("id")?,
                    owner_id: UserId(row.try_get("owner_id")?),
                    folder_id: row.try_get("folder_id")?,
                    password_hash: row.try_get("password_hash")?,
                    expires_at: row.try_get("expires_at")?,
                    max_files: row.try_get::<Option<i64>, _>("max_files")?.map(to_u64),
                    max_bytes: row.try_get::<Option<i64>, _>("max_bytes")?.map(to_u64),
                    files_used: to_u64(row.try_get("files_used")?),
                    bytes_used: to_u64(row.try_get("bytes_used")?),
                    created_at: row.try_get("created_at")?,
                    revoked: row.try_get::<Option<DateTime<Utc>>, _>("revoked_at")?.is_some(),
                })
            }

            #[async_trait]
            impl UploadLinkRepo for $repo {
                async fn insert_upload_link(&self, l: &UploadLink, token_hash: &str) -> Result<(), RepoError> {
                    sqlx::query(
                        "INSERT INTO upload_links (id, owner_id, folder_id, token_hash, password_hash, expires_at, \
                         max_files, max_bytes, files_used, bytes_used, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, $9)",
                    )
                    .bind(&l.id)
                    .bind(l.owner_id.0)
                    .bind(&l.folder_id)
                    .bind(token_hash)
                    .bind(&l.password_hash)
                    .bind(l.expires_at)
                    .bind(l.max_files.map(to_i64))
                    .bind(l.max_bytes.map(to_i64))
                    .bind(l.created_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn upload_link_by_token(&self, token_hash: &str) -> Result<UploadLink, RepoError> {
                    let sql = format!("SELECT {COLUMNS} FROM upload_links WHERE token_hash = $1");
                    from_row(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_one(&self.pool).await?)
                }

                async fn upload_link(&self, id: &str) -> Result<UploadLink, RepoError> {
                    let sql = format!("SELECT {COLUMNS} FROM upload_links WHERE id = $1");
                    from_row(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&self.pool).await?)
                }

                async fn list_upload_links(&self, owner: UserId) -> Result<Vec<UploadLink>, RepoError> {
                    let sql = format!(
                        "SELECT {COLUMNS} FROM upload_links WHERE owner_id = $1 AND revoked_at IS NULL \
                         ORDER BY created_at DESC, id"
                    );
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner.0).fetch_all(&self.pool).await?;
                    rows.iter().map(from_row).collect()
                }

                async fn revoke_upload_link(&self, owner: UserId, id: &str, at: DateTime<Utc>) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE upload_links SET revoked_at = $3 WHERE id = $1 AND owner_id = $2 AND revoked_at IS NULL",
                    )
                    .bind(id)
                    .bind(owner.0)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn take_upload_slot(
                    &self,
                    id: &str,
                    take: SlotTake,
                    at: DateTime<Utc>,
                ) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE upload_links SET files_used = files_used + 1, bytes_used = bytes_used + $2 \
                         WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3) \
                         AND (max_files IS NULL OR files_used < max_files) \
                         AND (max_bytes IS NULL OR (bytes_used + $2 <= max_bytes AND bytes_used + $4 <= max_bytes + $5))",
                    )
                    .bind(id)
                    .bind(to_i64(take.bytes))
                    .bind(at)
                    .bind(to_i64(take.declared))
                    .bind(to_i64(take.slack))
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn grow_upload_slot(&self, id: &str, bytes: u64) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE upload_links SET bytes_used = bytes_used + $2 \
                         WHERE id = $1 AND (max_bytes IS NULL OR bytes_used + $2 <= max_bytes)",
                    )
                    .bind(id)
                    .bind(to_i64(bytes))
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn give_back_upload_slot(&self, id: &str, files: u64, bytes: u64) -> Result<(), RepoError> {
                    sqlx::query(
                        "UPDATE upload_links SET files_used = CASE WHEN files_used >= $2 THEN files_used - $2 ELSE 0 END, \
                         bytes_used = CASE WHEN bytes_used >= $3 THEN bytes_used - $3 ELSE 0 END WHERE id = $1",
                    )
                    .bind(id)
                    .bind(to_i64(files))
                    .bind(to_i64(bytes))
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }
            }
        }
    };
}
