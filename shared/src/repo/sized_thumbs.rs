//! Thumbnails by size, kept once made: one row per media and spec. A
//! render is claimed in the database first (an insert, or taking over a
//! claim left stale by a process that died, or a row made from content the
//! media no longer has), so of several API processes asked for the same
//! size at once exactly one renders; the others wait for the row to turn
//! `ready`. `sql_sized_thumb_repo!` implements the trait for both backends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Media, MediaId, Variant};
use crate::repo::RepoError;

/// A kept (or claimed) thumbnail of one size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizedThumb {
    pub spec: String,
    /// The object it was made from (the original, or a video's frame).
    pub source_key: String,
    /// True once `key` holds the rendered image.
    pub ready: bool,
    pub claim: String,
    pub claimed_at: DateTime<Utc>,
    pub key: Option<String>,
    pub mime: Option<String>,
    pub width: u32,
    pub height: u32,
    pub size: u64,
}

/// A claim on one render.
#[derive(Debug, Clone, Copy)]
pub struct ThumbClaim<'a> {
    pub media: &'a MediaId,
    pub spec: &'a str,
    pub source_key: &'a str,
    /// Random, names the claimer: only it may finish or drop the claim.
    pub claim: &'a str,
    pub now: DateTime<Utc>,
    /// A `rendering` claim older than this is taken over.
    pub stale_before: DateTime<Utc>,
}

/// A finished render, written under its claim.
#[derive(Debug, Clone)]
pub struct ThumbDone<'a> {
    pub key: &'a str,
    pub mime: &'a str,
    pub width: u32,
    pub height: u32,
    pub size: u64,
}

#[async_trait]
pub trait SizedThumbRepo: Send + Sync {
    async fn sized_thumb(&self, media: &MediaId, spec: &str) -> Result<Option<SizedThumb>, RepoError>;
    /// How many sizes the media has kept or claimed.
    async fn count_sized_thumbs(&self, media: &MediaId) -> Result<u64, RepoError>;
    /// Claims the render: true when this caller now holds it (a new row,
    /// a stale claim taken over, or a row made from other content).
    async fn claim_sized_thumb(&self, c: &ThumbClaim<'_>) -> Result<bool, RepoError>;
    /// Marks the claimed row ready; false when the claim was lost.
    async fn finish_sized_thumb(
        &self,
        media: &MediaId,
        spec: &str,
        claim: &str,
        done: &ThumbDone<'_>,
    ) -> Result<bool, RepoError>;
    /// Forgets a claim whose render failed.
    async fn drop_sized_thumb_claim(&self, media: &MediaId, spec: &str, claim: &str) -> Result<(), RepoError>;
    /// Records a copy: the media row and its variants in one transaction
    /// (the copy is ready at once; its objects are in place already).
    async fn insert_media_copy(&self, media: &Media, variants: &[Variant]) -> Result<(), RepoError>;
}

macro_rules! sql_sized_thumb_repo {
    ($repo:ident) => {
        mod sized_thumbs_impl {
            use async_trait::async_trait;
            use sqlx::Row;

            use super::{$repo, DbRow, insert_media_on};
            use crate::domain::{Media, MediaId, Variant};
            use crate::repo::RepoError;
            use crate::repo::sized_thumbs::{SizedThumb, SizedThumbRepo, ThumbClaim, ThumbDone};
            use crate::repo::sql::{to_i64, to_u32, to_u64};

            fn from_row(row: &DbRow) -> Result<SizedThumb, RepoError> {
                Ok(SizedThumb {
                    spec: row.try_get("spec")?,
                    source_key: row.try_get("source_key")?,
                    ready: row.try_get::<String, _>("status")? == "ready",
                    claim: row.try_get("claim")?,
                    claimed_at: row.try_get("claimed_at")?,
                    key: row.try_get("key")?,
                    mime: row.try_get("mime")?,
                    width: row.try_get::<Option<i64>, _>("width")?.map_or(0, to_u32),
                    height: row.try_get::<Option<i64>, _>("height")?.map_or(0, to_u32),
                    size: row.try_get::<Option<i64>, _>("size")?.map_or(0, to_u64),
                })
            }

            #[async_trait]
            impl SizedThumbRepo for $repo {
                async fn sized_thumb(&self, media: &MediaId, spec: &str) -> Result<Option<SizedThumb>, RepoError> {
                    let row = sqlx::query(
                        "SELECT spec, source_key, status, claim, claimed_at, key, mime, width, height, size \
                         FROM sized_thumbs WHERE media_id = $1 AND spec = $2",
                    )
                    .bind(media.as_str())
                    .bind(spec)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.as_ref().map(from_row).transpose()
                }

                async fn count_sized_thumbs(&self, media: &MediaId) -> Result<u64, RepoError> {
                    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sized_thumbs WHERE media_id = $1")
                        .bind(media.as_str())
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(to_u64(n))
                }

                async fn claim_sized_thumb(&self, c: &ThumbClaim<'_>) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "INSERT INTO sized_thumbs (media_id, spec, source_key, status, claim, claimed_at) \
                         VALUES ($1, $2, $3, 'rendering', $4, $5) ON CONFLICT (media_id, spec) DO UPDATE SET \
                         source_key = excluded.source_key, status = 'rendering', claim = excluded.claim, \
                         claimed_at = excluded.claimed_at, key = NULL, mime = NULL \
                         WHERE (sized_thumbs.status = 'rendering' AND sized_thumbs.claimed_at < $6) \
                         OR sized_thumbs.source_key <> excluded.source_key",
                    )
                    .bind(c.media.as_str())
                    .bind(c.spec)
                    .bind(c.source_key)
                    .bind(c.claim)
                    .bind(c.now)
                    .bind(c.stale_before)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn finish_sized_thumb(&self, media: &MediaId, spec: &str, claim: &str, d: &ThumbDone<'_>) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE sized_thumbs SET status = 'ready', key = $4, mime = $5, width = $6, height = $7, size = $8 \
                         WHERE media_id = $1 AND spec = $2 AND claim = $3",
                    )
                    .bind(media.as_str())
                    .bind(spec)
                    .bind(claim)
                    .bind(d.key)
                    .bind(d.mime)
                    .bind(i64::from(d.width))
                    .bind(i64::from(d.height))
                    .bind(to_i64(d.size))
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn drop_sized_thumb_claim(&self, media: &MediaId, spec: &str, claim: &str) -> Result<(), RepoError> {
                    sqlx::query("DELETE FROM sized_thumbs WHERE media_id = $1 AND spec = $2 AND claim = $3 AND status = 'rendering'")
                        .bind(media.as_str())
                        .bind(spec)
                        .bind(claim)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn insert_media_copy(&self, media: &Media, variants: &[Variant]) -> Result<(), RepoError> {
                    let mut tx = self.pool.begin().await?;
                    insert_media_on(&mut tx, media, None).await?;
                    for v in variants {
                        let q = sqlx::query(concat!(insert_variant!(), "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"));
                        bind_variant!(q, media.id.as_str(), v).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }
            }
        }
    };
}
