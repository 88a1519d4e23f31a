//! Targeted writes to a media row: each writer sets only the columns it
//! owns, and every status change is a conditional update from the state
//! its caller expects. So writers never undo each other — a worker ending
//! its job cannot revert a concurrent PATCH — and `deleted` / `expired`
//! always win: nothing moves a media out of them.
//!
//! Who owns what:
//! - the owner (PATCH): name, title, folder, public flag and token, in any
//!   status but a retired one ([`MediaWriteRepo::edit_media`]);
//! - the jobs, while the media is unsettled: the original's facts (kind,
//!   type, size, key, checksums) and the processing facts (dimensions,
//!   duration, animation, EXIF, the date taken); the delivery count;
//! - retirement and purge: status `deleted` / `expired` (`retire_media`)
//!   and the tombstone's cleared key.
//!
//! Every method returns whether it applied; a job whose write did not
//! apply stops (see `workers::jobs`). `sql_media_write_repo!` implements
//! the trait for both backends, once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Media, MediaId, MediaKind, MediaStatus, Variant};
use crate::repo::RepoError;

/// The stored original's facts, written by jobs only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalFacts {
    pub kind: MediaKind,
    pub mime: String,
    pub extension: String,
    pub size: u64,
    pub key: String,
    pub sha256: Option<String>,
    pub md5: Option<String>,
    pub source_md5: Option<String>,
    /// The version these facts are of: a job's writes apply only while it
    /// is still the current one (a new version switched in meanwhile
    /// stops the job, so no version ever gets another one's facts).
    pub version: u32,
}

impl OriginalFacts {
    pub fn of(m: &Media) -> Self {
        Self {
            kind: m.kind,
            mime: m.mime.clone(),
            extension: m.extension.clone(),
            size: m.size,
            key: m.original_key.clone(),
            sha256: m.sha256.clone(),
            md5: m.md5.clone(),
            source_md5: m.source_md5.clone(),
            version: m.version,
        }
    }
}

/// What processing learnt, written when the media becomes `ready`.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    /// The original as it is stored now (replaced by a resize or EXIF
    /// removal, or unchanged; checksums computed for a presigned upload).
    pub original: OriginalFacts,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    pub is_animated: bool,
    pub exif: Option<serde_json::Value>,
    /// With `use_file_date`: the date taken, which becomes `created_at`.
    pub taken_at: Option<DateTime<Utc>>,
}

impl Processed {
    pub fn of(m: &Media, taken_at: Option<DateTime<Utc>>) -> Self {
        Self {
            original: OriginalFacts::of(m),
            width: m.width,
            height: m.height,
            duration_ms: m.duration_ms,
            is_animated: m.is_animated,
            exif: m.exif.clone(),
            taken_at,
        }
    }
}

/// The owner's edit (PATCH): `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerEdit {
    pub name: Option<String>,
    /// `Some(None)` clears the title.
    pub title: Option<Option<String>>,
    /// `Some(None)` moves the media to the root.
    pub folder: Option<Option<String>>,
    /// `Some(true)` makes it public, keeping its token or taking
    /// `new_token`; `Some(false)` makes it private and revokes the token.
    pub public: Option<bool>,
    pub new_token: String,
}

/// An unsettled media nothing has touched for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckMedia {
    pub id: MediaId,
    pub kind: MediaKind,
    pub status: MediaStatus,
    /// Deliveries of its current job so far.
    pub attempts: u32,
    /// A remote-URL upload whose original is not fetched yet.
    pub needs_fetch: bool,
}

#[async_trait]
pub trait MediaWriteRepo: Send + Sync {
    /// A job starts on the media: `queued | processing → processing`,
    /// counting one delivery. `Some(n)`: this is delivery `n` of the
    /// current job (1 for the first); `None`: the media is retired,
    /// settled or gone, so there is nothing to do.
    async fn start_job(&self, id: &MediaId) -> Result<Option<u32>, RepoError>;

    /// A remote original is stored: `processing → queued` with its facts,
    /// the delivery count reset for the processing job. `name` is
    /// `(seen, fetched)`: the fetched file name replaces the name only if
    /// it is still `seen` (an owner's rename meanwhile wins).
    async fn record_fetched(
        &self,
        id: &MediaId,
        original: &OriginalFacts,
        name: Option<(&str, &str)>,
    ) -> Result<bool, RepoError>;

    /// Processing replaced the stored original (resize, EXIF removal):
    /// writes its facts while the media is `processing`.
    async fn replace_original(&self, id: &MediaId, original: &OriginalFacts) -> Result<bool, RepoError>;

    /// `processing → ready` with the processing facts; clears `error`.
    /// `variants` (derivatives whose objects are stored) are recorded in
    /// the same transaction: all of it applies, or none (`false`).
    async fn finish_processing(
        &self,
        id: &MediaId,
        processed: &Processed,
        variants: &[Variant],
    ) -> Result<bool, RepoError>;

    /// `queued | processing → failed` with `reason`.
    async fn fail_media(&self, id: &MediaId, reason: &str) -> Result<bool, RepoError>;

    /// [`fail_media`](Self::fail_media), only while `version` is current.
    async fn fail_version(&self, id: &MediaId, version: u32, reason: &str) -> Result<bool, RepoError>;

    /// The owner's edit, in any status but `deleted` / `expired`.
    async fn edit_media(&self, id: &MediaId, edit: &OwnerEdit) -> Result<bool, RepoError>;

    /// The purge of an expired media: its tombstone loses its original key.
    async fn clear_expired_original(&self, id: &MediaId) -> Result<bool, RepoError>;

    /// Media `queued` or `processing` and not written since `before`,
    /// oldest first.
    async fn stuck_media(&self, before: DateTime<Utc>, limit: u64) -> Result<Vec<StuckMedia>, RepoError>;

    /// Claims a stuck media for one sweeper (bumps `updated_at` when it is
    /// still unsettled and untouched since `before`).
    async fn claim_stuck(&self, id: &MediaId, before: DateTime<Utc>) -> Result<bool, RepoError>;
}

/// Binds `$2..$9` of a query to the original's facts (see `ORIGINAL_SET`).
macro_rules! bind_original {
    ($q:expr, $o:expr) => {
        $q.bind($o.kind.as_str())
            .bind(&$o.mime)
            .bind(&$o.extension)
            .bind(crate::repo::sql::to_i64($o.size))
            .bind(&$o.key)
            .bind(&$o.sha256)
            .bind(&$o.md5)
            .bind(&$o.source_md5)
    };
}

macro_rules! sql_media_write_repo {
    ($repo:ident) => {
        mod media_writes_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};

            use super::$repo;
            use crate::domain::{MediaId, Variant};
            use crate::repo::sql::{parse_enum, to_i64, to_u32};
            use crate::repo::writes::{MediaWriteRepo, OriginalFacts, OwnerEdit, Processed, StuckMedia};
            use crate::repo::{RepoError, now};

            #[derive(sqlx::FromRow)]
            struct StuckRow {
                id: String,
                kind: String,
                status: String,
                attempts: i64,
                original_key: String,
                source_url: Option<String>,
            }

            impl TryFrom<StuckRow> for StuckMedia {
                type Error = RepoError;
                fn try_from(r: StuckRow) -> Result<Self, RepoError> {
                    Ok(StuckMedia {
                        id: MediaId::parse(&r.id).ok_or_else(|| RepoError::Corrupt("media id".into()))?,
                        kind: parse_enum(&r.kind)?,
                        status: parse_enum(&r.status)?,
                        attempts: to_u32(r.attempts),
                        needs_fetch: r.original_key.is_empty() && r.source_url.is_some(),
                    })
                }
            }

            /// `SET` list for `$2..$9`, the original's facts.
            const ORIGINAL_SET: &str = "kind = $2, mime = $3, extension = $4, size = $5, original_key = $6, \
                 sha256 = $7, md5 = $8, source_md5 = $9";

            #[async_trait]
            impl MediaWriteRepo for $repo {
                #[tracing::instrument(skip_all, fields(media = %id))]
                async fn start_job(&self, id: &MediaId) -> Result<Option<u32>, RepoError> {
                    let n: Option<i64> = sqlx::query_scalar(
                        "UPDATE media SET status = 'processing', attempts = attempts + 1, updated_at = $2 \
                         WHERE id = $1 AND status IN ('queued', 'processing') RETURNING attempts",
                    )
                    .bind(id.as_str())
                    .bind(now())
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(n.map(to_u32))
                }

                #[tracing::instrument(skip_all, fields(media = %id))]
                async fn record_fetched(&self, id: &MediaId, o: &OriginalFacts, name: Option<(&str, &str)>) -> Result<bool, RepoError> {
                    let sql = format!(
                        "UPDATE media SET {ORIGINAL_SET}, status = 'queued', attempts = 0, updated_at = $10, \
                         original_filename = CASE WHEN original_filename = $11 THEN $12 ELSE original_filename END \
                         WHERE id = $1 AND status = 'processing'"
                    );
                    let (seen, fetched) = name.map_or((None, None), |(s, f)| (Some(s), Some(f)));
                    let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str());
                    let done = bind_original!(q, o).bind(now()).bind(seen).bind(fetched).execute(&self.pool).await?;
                    Ok(done.rows_affected() == 1)
                }

                #[tracing::instrument(skip_all, fields(media = %id))]
                async fn replace_original(&self, id: &MediaId, o: &OriginalFacts) -> Result<bool, RepoError> {
                    let sql = format!(
                        "UPDATE media SET {ORIGINAL_SET}, updated_at = $10 WHERE id = $1 AND status = 'processing' AND version = $11"
                    );
                    let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str());
                    let done = bind_original!(q, o).bind(now()).bind(i64::from(o.version)).execute(&self.pool).await?;
                    Ok(done.rows_affected() == 1)
                }

                #[tracing::instrument(skip_all, fields(media = %id))]
                async fn finish_processing(&self, id: &MediaId, p: &Processed, variants: &[Variant]) -> Result<bool, RepoError> {
                    let sql = format!(
                        "UPDATE media SET {ORIGINAL_SET}, status = 'ready', error = NULL, updated_at = $10, \
                         width = $11, height = $12, duration_ms = $13, is_animated = $14, exif = $15, \
                         created_at = COALESCE($16, created_at) WHERE id = $1 AND status = 'processing' AND version = $17"
                    );
                    // One transaction, one commit (one fsync) for the row and its variants.
                    let mut tx = self.pool.begin().await?;
                    let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str());
                    let done = bind_original!(q, p.original)
                        .bind(now())
                        .bind(p.width.map(i64::from))
                        .bind(p.height.map(i64::from))
                        .bind(p.duration_ms.map(to_i64))
                        .bind(p.is_animated)
                        .bind(p.exif.as_ref().map(|e| e.to_string()))
                        .bind(p.taken_at)
                        .bind(i64::from(p.original.version))
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() != 1 {
                        return Ok(false); // Dropping `tx` rolls back.
                    }
                    for v in variants {
                        // The media row updated above is locked until the
                        // commit: it guards these rows too.
                        let q = sqlx::query(concat!(
                            insert_variant!(),
                            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            variant_upsert!()
                        ));
                        bind_variant!(q, id.as_str(), v).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                #[tracing::instrument(skip_all, fields(media = %id))]
                async fn fail_media(&self, id: &MediaId, reason: &str) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE media SET status = 'failed', error = $2, updated_at = $3 \
                         WHERE id = $1 AND status IN ('queued', 'processing')",
                    )
                    .bind(id.as_str())
                    .bind(reason)
                    .bind(now())
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                #[tracing::instrument(skip_all, fields(media = %id))]
                async fn fail_version(&self, id: &MediaId, version: u32, reason: &str) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE media SET status = 'failed', error = $2, updated_at = $3 \
                         WHERE id = $1 AND status IN ('queued', 'processing') AND version = $4",
                    )
                    .bind(id.as_str())
                    .bind(reason)
                    .bind(now())
                    .bind(i64::from(version))
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                #[tracing::instrument(skip_all, fields(media = %id))]
                async fn edit_media(&self, id: &MediaId, e: &OwnerEdit) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE media SET original_filename = COALESCE($2, original_filename), \
                         title = CASE WHEN $3 THEN $4 ELSE title END, \
                         album_id = CASE WHEN $5 THEN $6 ELSE album_id END, \
                         is_public = COALESCE($7, is_public), \
                         public_token = CASE WHEN $7 IS NULL THEN public_token WHEN $7 THEN COALESCE(public_token, $8) ELSE NULL END, \
                         updated_at = $9 WHERE id = $1 AND status NOT IN ('deleted', 'expired')",
                    )
                    .bind(id.as_str())
                    .bind(&e.name)
                    .bind(e.title.is_some())
                    .bind(e.title.clone().flatten())
                    .bind(e.folder.is_some())
                    .bind(e.folder.clone().flatten())
                    .bind(e.public)
                    .bind(&e.new_token)
                    .bind(now())
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn clear_expired_original(&self, id: &MediaId) -> Result<bool, RepoError> {
                    let done = sqlx::query("UPDATE media SET original_key = '', updated_at = $2 WHERE id = $1 AND status = 'expired'")
                        .bind(id.as_str())
                        .bind(now())
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn stuck_media(&self, before: DateTime<Utc>, limit: u64) -> Result<Vec<StuckMedia>, RepoError> {
                    let rows: Vec<StuckRow> = sqlx::query_as(
                        "SELECT id, kind, status, attempts, original_key, source_url FROM media \
                         WHERE status IN ('queued', 'processing') AND updated_at <= $1 ORDER BY updated_at LIMIT $2",
                    )
                    .bind(before)
                    .bind(to_i64(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(StuckMedia::try_from).collect()
                }

                async fn claim_stuck(&self, id: &MediaId, before: DateTime<Utc>) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE media SET updated_at = $3 WHERE id = $1 AND status IN ('queued', 'processing') AND updated_at <= $2",
                    )
                    .bind(id.as_str())
                    .bind(before)
                    .bind(now())
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }
            }
        }
    };
}
