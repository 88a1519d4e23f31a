//! Resumable uploads (tus, S3 multipart and single PUTs for Uppy): one row
//! per upload, holding its offset, its parts and who is writing it.
//!
//! Writers take the upload with a guarded update ([`ResumableRepo::lock_resumable`]:
//! only at the offset they expect, only when nobody holds a live lock), so
//! of two concurrent PATCHes one proceeds and the other is refused; the
//! winner records its progress with another guarded update naming its
//! lock token. A crashed writer's lock lapses after its lease.
//! `sql_resumable_repo!` implements it for both backends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{MediaId, UserId};
use crate::repo::RepoError;

/// Which protocol an upload speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tus,
    S3Multipart,
    S3Put,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tus => "tus",
            Self::S3Multipart => "s3-multipart",
            Self::S3Put => "s3-put",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Tus, Self::S3Multipart, Self::S3Put].into_iter().find(|p| p.as_str() == s)
    }
}

/// One part recorded for an upload assembled by a storage multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordedPart {
    pub number: u32,
    pub etag: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumableUpload {
    pub id: MediaId,
    pub owner_id: UserId,
    pub protocol: Protocol,
    pub length: Option<u64>,
    pub offset: u64,
    /// JSON object of the client's metadata.
    pub metadata: String,
    pub object_key: String,
    pub multipart_id: Option<String>,
    pub parts: Vec<RecordedPart>,
    pub tail_bytes: u64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl ResumableUpload {
    /// Bytes held by the recorded parts.
    pub fn parts_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }
}

/// Progress a writer records when it lets go of an upload.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    pub offset: u64,
    pub multipart_id: Option<&'a str>,
    pub parts: &'a [RecordedPart],
    pub tail_bytes: u64,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait ResumableRepo: Send + Sync {
    async fn insert_resumable(&self, upload: &ResumableUpload) -> Result<(), RepoError>;
    async fn resumable(&self, id: &MediaId) -> Result<ResumableUpload, RepoError>;
    /// The upload a storage multipart upload belongs to.
    async fn resumable_by_multipart(&self, multipart_id: &str) -> Result<ResumableUpload, RepoError>;
    /// Takes the upload for writing at `offset` until `until`: false when
    /// its offset is another, it expired, or a live lock is held.
    async fn lock_resumable(
        &self,
        id: &MediaId,
        offset: u64,
        token: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, RepoError>;
    /// Extends a held lock; false when it is no longer ours.
    async fn renew_resumable_lock(&self, id: &MediaId, token: &str, until: DateTime<Utc>) -> Result<bool, RepoError>;
    /// Records progress and lets go, if the lock is still ours; the quota
    /// reservation of the upload (same id) is extended with it.
    async fn advance_resumable(&self, id: &MediaId, token: &str, progress: &Progress<'_>) -> Result<bool, RepoError>;
    /// Lets go without progress (no error when the lock is gone).
    async fn unlock_resumable(&self, id: &MediaId, token: &str) -> Result<(), RepoError>;
    /// Removes the row; false when it was gone already, so of several
    /// removers (termination, completion, the sweep) exactly one wins.
    async fn delete_resumable(&self, id: &MediaId) -> Result<bool, RepoError>;
    /// Uploads whose expiry has passed and that nobody is writing.
    async fn expired_resumables(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<ResumableUpload>, RepoError>;
}

pub(crate) fn parse_protocol(s: &str) -> Result<Protocol, RepoError> {
    Protocol::parse(s).ok_or_else(|| RepoError::Corrupt(format!("upload protocol {s}")))
}

pub(crate) fn parse_parts(s: &str) -> Result<Vec<RecordedPart>, RepoError> {
    serde_json::from_str(s).map_err(|e| RepoError::Corrupt(format!("upload parts: {e}")))
}

pub(crate) fn parts_json(parts: &[RecordedPart]) -> String {
    serde_json::to_string(parts).unwrap_or_else(|_| "[]".into())
}

macro_rules! sql_resumable_repo {
    ($repo:ident) => {
        mod resumable_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use super::{$repo, DbRow};
            use crate::domain::{MediaId, UserId};
            use crate::repo::RepoError;
            use crate::repo::resumable::{
                Progress, ResumableRepo, ResumableUpload, parse_parts, parse_protocol, parts_json,
            };
            use crate::repo::sql::{to_i64, to_u64};

            const COLUMNS: &str = "id, owner_id, protocol, length, upload_offset, metadata, object_key, multipart_id, \
                parts, tail_bytes, created_at, expires_at";

            fn from_row(row: &DbRow) -> Result<ResumableUpload, RepoError> {
                Ok(ResumableUpload {
                    id: MediaId::parse(&row.try_get::<String, _>("id")?)
                        .ok_or_else(|| RepoError::Corrupt("upload id".into()))?,
                    owner_id: UserId(row.try_get("owner_id")?),
                    protocol: parse_protocol(&row.try_get::<String, _>("protocol")?)?,
                    length: row.try_get::<Option<i64>, _>("length")?.map(to_u64),
                    offset: to_u64(row.try_get("upload_offset")?),
                    metadata: row.try_get("metadata")?,
                    object_key: row.try_get("object_key")?,
                    multipart_id: row.try_get("multipart_id")?,
                    parts: parse_parts(&row.try_get::<String, _>("parts")?)?,
                    tail_bytes: to_u64(row.try_get("tail_bytes")?),
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                })
            }

            #[async_trait]
            impl ResumableRepo for $repo {
                async fn insert_resumable(&self, u: &ResumableUpload) -> Result<(), RepoError> {
                    let sql = format!("INSERT INTO resumable_uploads ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)");
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(u.id.as_str())
                        .bind(u.owner_id.0)
                        .bind(u.protocol.as_str())
                        .bind(u.length.map(to_i64))
                        .bind(to_i64(u.offset))
                        .bind(&u.metadata)
                        .bind(&u.object_key)
                        .bind(&u.multipart_id)
                        .bind(parts_json(&u.parts))
                        .bind(to_i64(u.tail_bytes))
                        .bind(u.created_at)
                        .bind(u.expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn resumable(&self, id: &MediaId) -> Result<ResumableUpload, RepoError> {
                    let sql = format!("SELECT {COLUMNS} FROM resumable_uploads WHERE id = $1");
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_one(&self.pool).await?;
                    from_row(&row)
                }

                async fn resumable_by_multipart(&self, multipart_id: &str) -> Result<ResumableUpload, RepoError> {
                    let sql = format!("SELECT {COLUMNS} FROM resumable_uploads WHERE multipart_id = $1");
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(multipart_id).fetch_one(&self.pool).await?;
                    from_row(&row)
                }

                async fn lock_resumable(
                    &self,
                    id: &MediaId,
                    offset: u64,
                    token: &str,
                    until: DateTime<Utc>,
                    now: DateTime<Utc>,
                ) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE resumable_uploads SET lock_token = $3, locked_until = $4 WHERE id = $1 AND upload_offset = $2 \
                         AND expires_at > $5 AND (lock_token IS NULL OR locked_until < $5)",
                    )
                    .bind(id.as_str())
                    .bind(to_i64(offset))
                    .bind(token)
                    .bind(until)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn renew_resumable_lock(&self, id: &MediaId, token: &str, until: DateTime<Utc>) -> Result<bool, RepoError> {
                    let done = sqlx::query("UPDATE resumable_uploads SET locked_until = $3 WHERE id = $1 AND lock_token = $2")
                        .bind(id.as_str())
                        .bind(token)
                        .bind(until)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn advance_resumable(&self, id: &MediaId, token: &str, p: &Progress<'_>) -> Result<bool, RepoError> {
                    let mut tx = self.pool.begin().await?;
                    let done = sqlx::query(
                        "UPDATE resumable_uploads SET upload_offset = $3, multipart_id = $4, parts = $5, tail_bytes = $6, \
                         expires_at = $7, lock_token = NULL, locked_until = NULL WHERE id = $1 AND lock_token = $2",
                    )
                    .bind(id.as_str())
                    .bind(token)
                    .bind(to_i64(p.offset))
                    .bind(p.multipart_id)
                    .bind(parts_json(p.parts))
                    .bind(to_i64(p.tail_bytes))
                    .bind(p.expires_at)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Ok(false);
                    }
                    sqlx::query("UPDATE quota_reservations SET expires_at = $2 WHERE id = $1")
                        .bind(id.as_str())
                        .bind(p.expires_at)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn unlock_resumable(&self, id: &MediaId, token: &str) -> Result<(), RepoError> {
                    sqlx::query("UPDATE resumable_uploads SET lock_token = NULL, locked_until = NULL WHERE id = $1 AND lock_token = $2")
                        .bind(id.as_str())
                        .bind(token)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn delete_resumable(&self, id: &MediaId) -> Result<bool, RepoError> {
                    let done = sqlx::query("DELETE FROM resumable_uploads WHERE id = $1").bind(id.as_str()).execute(&self.pool).await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn expired_resumables(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<ResumableUpload>, RepoError> {
                    let sql = format!(
                        "SELECT {COLUMNS} FROM resumable_uploads WHERE expires_at < $1 AND (lock_token IS NULL OR locked_until < $1) \
                         ORDER BY expires_at LIMIT $2"
                    );
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(to_i64(limit)).fetch_all(&self.pool).await?;
                    rows.iter().map(from_row).collect()
                }
            }
        }
    };
}
