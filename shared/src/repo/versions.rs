//! Versions of a file. The media row always describes the current version
//! (its content facts, its `variants` rows); each older one is a snapshot
//! in `media_versions`, taken when it was replaced. `sql_version_repo!`
//! implements the trait for both backends.
//!
//! Every change of the current version is one transaction that first
//! writes the media row (locking it on Postgres, taking the write lock on
//! SQLite), then snapshots, switches and prunes: concurrent new versions,
//! restores, deletes and edits serialize, and the media never points at a
//! key another version's removal deleted. Objects are removed only after
//! the commit, and only keys no remaining version (nor the current one)
//! names: a restore shares its source's objects instead of copying them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{MediaId, MediaKind, Variant};
use crate::repo::RepoError;
use crate::repo::writes::OriginalFacts;

/// An older version, as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub version: u32,
    pub name: Option<String>,
    /// Whether its processing had finished (only those can be restored).
    pub ready: bool,
    pub kind: MediaKind,
    pub mime: String,
    pub size: u64,
    pub original_key: String,
    pub sha256: Option<String>,
    pub variants: Vec<Variant>,
    pub created_at: DateTime<Utc>,
}

/// The outcome of a change of the current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionChange {
    /// The new current version's number, and the object keys nothing
    /// names any more (to remove now).
    Done { version: u32, unreferenced: Vec<String> },
    /// The file is gone, trashed, or (restore) the version is missing or
    /// was never processed; (delete) the version is the current one.
    Refused(Refusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such live file, or no such version.
    NotFound,
    /// The version is the current one (delete), or was never processed
    /// (restore).
    Conflict,
}

#[async_trait]
pub trait VersionRepo: Send + Sync {
    /// Makes `new` (stored, not yet processed) the current version `N+1`,
    /// keeping at most `max` versions. The caller queues its processing.
    async fn add_version(
        &self,
        id: &MediaId,
        new: &OriginalFacts,
        name: Option<&str>,
        max: u32,
    ) -> Result<VersionChange, RepoError>;

    /// Makes the content of version `n` the current version `N+1` (ready at
    /// once, sharing `n`'s objects), keeping at most `max` versions.
    async fn restore_version(&self, id: &MediaId, n: u32, max: u32) -> Result<VersionChange, RepoError>;

    /// Removes the older version `n`.
    async fn delete_version(&self, id: &MediaId, n: u32) -> Result<VersionChange, RepoError>;

    /// The older versions, newest first.
    async fn versions(&self, id: &MediaId) -> Result<Vec<Version>, RepoError>;

    /// How many older versions are kept.
    async fn older_versions(&self, id: &MediaId) -> Result<u32, RepoError>;
}

/// The variants of a snapshot as stored (JSON).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredVariant {
    kind: String,
    key: String,
    mime: String,
    extension: String,
    width: u32,
    height: u32,
    size: u64,
}

pub(crate) fn variants_to_json(variants: &[Variant]) -> String {
    let stored: Vec<StoredVariant> = variants
        .iter()
        .map(|v| StoredVariant {
            kind: v.kind.as_str().to_owned(),
            key: v.key.clone(),
            mime: v.mime.clone(),
            extension: v.extension.clone(),
            width: v.width,
            height: v.height,
            size: v.size,
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn variants_from_json(s: &str) -> Vec<Variant> {
    let stored: Vec<StoredVariant> = serde_json::from_str(s).unwrap_or_default();
    stored
        .into_iter()
        .filter_map(|v| {
            Some(Variant {
                kind: v.kind.parse().ok()?,
                key: v.key,
                mime: v.mime,
                extension: v.extension,
                width: v.width,
                height: v.height,
                size: v.size,
            })
        })
        .collect()
}

macro_rules! sql_version_repo {
    ($repo:ident) => {
        mod versions_impl {
            use std::collections::HashSet;

            use async_trait::async_trait;
            use chrono::{DateTime, Utc};

            use super::{$repo, variant_from_row};
            use crate::domain::{MediaId, Variant};
            use crate::repo::sql::{parse_enum, to_i64, to_u32, to_u64};
            use crate::repo::versions::{
                Refusal, Version, VersionChange, VersionRepo, variants_from_json, variants_to_json,
            };
            use crate::repo::writes::OriginalFacts;
            use crate::repo::{RepoError, now};

            type Tx<'c> = sqlx::Transaction<'c, super::Db>;

            #[derive(sqlx::FromRow)]
            struct VersionRow {
                version: i64,
                version_name: Option<String>,
                status: String,
                kind: String,
                mime: String,
                extension: String,
                size: i64,
                original_key: String,
                sha256: Option<String>,
                md5: Option<String>,
                source_md5: Option<String>,
                width: Option<i64>,
                height: Option<i64>,
                duration_ms: Option<i64>,
                is_animated: bool,
                variants: String,
                created_at: DateTime<Utc>,
            }

            impl TryFrom<&VersionRow> for Version {
                type Error = RepoError;
                fn try_from(r: &VersionRow) -> Result<Self, RepoError> {
                    Ok(Version {
                        version: to_u32(r.version),
                        name: r.version_name.clone(),
                        ready: r.status == "ready",
                        kind: parse_enum(&r.kind)?,
                        mime: r.mime.clone(),
                        size: to_u64(r.size),
                        original_key: r.original_key.clone(),
                        sha256: r.sha256.clone(),
                        variants: variants_from_json(&r.variants),
                        created_at: r.created_at,
                    })
                }
            }

            const VERSION_COLUMNS: &str = "version, version_name, status, kind, mime, extension, size, original_key, \
                 sha256, md5, source_md5, width, height, duration_ms, is_animated, variants, created_at";

            /// Locks the live, untrashed media `id` for this transaction;
            /// its current version number, or `None` when it is not one.
            async fn lock(tx: &mut Tx<'_>, id: &MediaId) -> Result<Option<u32>, RepoError> {
                let v: Option<i64> = sqlx::query_scalar(
                    "UPDATE media SET version = version WHERE id = $1 AND trashed_at IS NULL \
                     AND status NOT IN ('deleted', 'expired') RETURNING version",
                )
                .bind(id.as_str())
                .fetch_optional(&mut **tx)
                .await?;
                Ok(v.map(to_u32))
            }

            /// Snapshots the current version into `media_versions` and
            /// removes its variant rows (they move into the snapshot).
            async fn snapshot_current(tx: &mut Tx<'_>, id: &MediaId) -> Result<(), RepoError> {
                let rows = sqlx::query("SELECT kind, key, mime, extension, width, height, size FROM variants WHERE media_id = $1")
                    .bind(id.as_str())
                    .fetch_all(&mut **tx)
                    .await?;
                let variants: Vec<Variant> = rows.iter().map(variant_from_row).collect::<Result<_, _>>()?;
                let derived: u64 = variants.iter().map(|v| v.size).sum();
                sqlx::query(
                    "INSERT INTO media_versions (media_id, version, version_name, status, kind, mime, extension, size, \
                     original_key, sha256, md5, source_md5, width, height, duration_ms, is_animated, variants, derived_size, created_at) \
                     SELECT id, version, version_name, status, kind, mime, extension, size, original_key, sha256, md5, source_md5, \
                     width, height, duration_ms, is_animated, $2, $3, COALESCE(version_at, created_at) FROM media WHERE id = $1",
                )
                .bind(id.as_str())
                .bind(variants_to_json(&variants))
                .bind(to_i64(derived))
                .execute(&mut **tx)
                .await?;
                sqlx::query("DELETE FROM variants WHERE media_id = $1").bind(id.as_str()).execute(&mut **tx).await?;
                Ok(())
            }

            /// Removes the oldest versions past `max` (the current one
            /// counts); returns the keys of the removed rows.
            async fn prune(tx: &mut Tx<'_>, id: &MediaId, max: u32) -> Result<Vec<String>, RepoError> {
                let keep = i64::from(max.saturating_sub(1));
                let sql = format!("SELECT {VERSION_COLUMNS} FROM media_versions WHERE media_id = $1 ORDER BY version DESC");
                let rows: Vec<VersionRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_all(&mut **tx).await?;
                let mut keys = Vec::new();
                for row in rows.iter().skip(usize::try_from(keep).unwrap_or(usize::MAX)) {
                    sqlx::query("DELETE FROM media_versions WHERE media_id = $1 AND version = $2")
                        .bind(id.as_str())
                        .bind(row.version)
                        .execute(&mut **tx)
                        .await?;
                    keys.push(row.original_key.clone());
                    keys.extend(variants_from_json(&row.variants).into_iter().map(|v| v.key));
                }
                Ok(keys)
            }

            /// Of `keys`, those no version of the media (kept or current)
            /// names any more.
            async fn unreferenced(tx: &mut Tx<'_>, id: &MediaId, keys: Vec<String>) -> Result<Vec<String>, RepoError> {
                if keys.is_empty() {
                    return Ok(keys);
                }
                let mut used: HashSet<String> = HashSet::new();
                let current: String =
                    sqlx::query_scalar("SELECT original_key FROM media WHERE id = $1").bind(id.as_str()).fetch_one(&mut **tx).await?;
                used.insert(current);
                let variant_keys: Vec<String> =
                    sqlx::query_scalar("SELECT key FROM variants WHERE media_id = $1").bind(id.as_str()).fetch_all(&mut **tx).await?;
                used.extend(variant_keys);
                let kept: Vec<(String, String)> = sqlx::query_as("SELECT original_key, variants FROM media_versions WHERE media_id = $1")
                    .bind(id.as_str())
                    .fetch_all(&mut **tx)
                    .await?;
                for (key, variants) in kept {
                    used.insert(key);
                    used.extend(variants_from_json(&variants).into_iter().map(|v| v.key));
                }
                let mut out: Vec<String> = keys.into_iter().filter(|k| !k.is_empty() && !used.contains(k)).collect();
                out.sort();
                out.dedup();
                Ok(out)
            }

            /// Inserts `variants` as the current version's rows.
            async fn put_variants(tx: &mut Tx<'_>, id: &MediaId, variants: &[Variant]) -> Result<(), RepoError> {
                for v in variants {
                    let q = sqlx::query(concat!(insert_variant!(), "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"));
                    bind_variant!(q, id.as_str(), v).execute(&mut **tx).await?;
                }
                Ok(())
            }

            #[async_trait]
            impl VersionRepo for $repo {
                #[tracing::instrument(skip_all, fields(media = %id))]
                async fn add_version(
                    &self,
                    id: &MediaId,
                    new: &OriginalFacts,
                    name: Option<&str>,
                    max: u32,
                ) -> Result<VersionChange, RepoError> {
                    let mut tx = self.pool.begin().await?;
                    if lock(&mut tx, id).await?.is_none() {
                        return Ok(VersionChange::Refused(Refusal::NotFound));
                    }
                    snapshot_current(&mut tx, id).await?;
                    let at = now();
                    let version: i64 = sqlx::query_scalar(
                        "UPDATE media SET kind = $2, mime = $3, extension = $4, size = $5, original_key = $6, sha256 = $7, \
                         md5 = $8, source_md5 = $9, width = NULL, height = NULL, duration_ms = NULL, is_animated = FALSE, \
                         exif = NULL, status = 'queued', error = NULL, attempts = 0, version = version + 1, \
                         version_name = $10, version_at = $11, updated_at = $11 WHERE id = $1 RETURNING version",
                    )
                    .bind(id.as_str())
                    .bind(new.kind.as_str())
                    .bind(&new.mime)
                    .bind(&new.extension)
                    .bind(to_i64(new.size))
                    .bind(&new.key)
                    .bind(&new.sha256)
                    .bind(&new.md5)
                    .bind(&new.source_md5)
                    .bind(name)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    let pruned = prune(&mut tx, id, max).await?;
                    let unreferenced = unreferenced(&mut tx, id, pruned).await?;
                    tx.commit().await?;
                    Ok(VersionChange::Done { version: to_u32(version), unreferenced })
                }

                #[tracing::instrument(skip_all, fields(media = %id, n))]
                async fn restore_version(&self, id: &MediaId, n: u32, max: u32) -> Result<VersionChange, RepoError> {
                    let mut tx = self.pool.begin().await?;
                    if lock(&mut tx, id).await?.is_none() {
                        return Ok(VersionChange::Refused(Refusal::NotFound));
                    }
                    let sql = format!("SELECT {VERSION_COLUMNS} FROM media_versions WHERE media_id = $1 AND version = $2");
                    let row: Option<VersionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(id.as_str())
                        .bind(i64::from(n))
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(row) = row else { return Ok(VersionChange::Refused(Refusal::NotFound)) };
                    if row.status != "ready" {
                        return Ok(VersionChange::Refused(Refusal::Conflict));
                    }
                    snapshot_current(&mut tx, id).await?;
                    let at = now();
                    let version: i64 = sqlx::query_scalar(
                        "UPDATE media SET kind = $2, mime = $3, extension = $4, size = $5, original_key = $6, sha256 = $7, \
                         md5 = $8, source_md5 = $9, width = $10, height = $11, duration_ms = $12, is_animated = $13, \
                         exif = NULL, status = 'ready', error = NULL, attempts = 0, version = version + 1, \
                         version_name = $14, version_at = $15, updated_at = $15 WHERE id = $1 RETURNING version",
                    )
                    .bind(id.as_str())
                    .bind(&row.kind)
                    .bind(&row.mime)
                    .bind(&row.extension)
                    .bind(row.size)
                    .bind(&row.original_key)
                    .bind(&row.sha256)
                    .bind(&row.md5)
                    .bind(&row.source_md5)
                    .bind(row.width)
                    .bind(row.height)
                    .bind(row.duration_ms)
                    .bind(row.is_animated)
                    .bind(&row.version_name)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    put_variants(&mut tx, id, &variants_from_json(&row.variants)).await?;
                    let pruned = prune(&mut tx, id, max).await?;
                    let unreferenced = unreferenced(&mut tx, id, pruned).await?;
                    tx.commit().await?;
                    Ok(VersionChange::Done { version: to_u32(version), unreferenced })
                }

                #[tracing::instrument(skip_all, fields(media = %id, n))]
                async fn delete_version(&self, id: &MediaId, n: u32) -> Result<VersionChange, RepoError> {
                    let mut tx = self.pool.begin().await?;
                    let Some(current) = lock(&mut tx, id).await? else {
                        return Ok(VersionChange::Refused(Refusal::NotFound));
                    };
                    if n == current {
                        return Ok(VersionChange::Refused(Refusal::Conflict));
                    }
                    let row: Option<(String, String)> = sqlx::query_as(
                        "DELETE FROM media_versions WHERE media_id = $1 AND version = $2 RETURNING original_key, variants",
                    )
                    .bind(id.as_str())
                    .bind(i64::from(n))
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((key, variants)) = row else { return Ok(VersionChange::Refused(Refusal::NotFound)) };
                    let mut keys = vec![key];
                    keys.extend(variants_from_json(&variants).into_iter().map(|v| v.key));
                    let unreferenced = unreferenced(&mut tx, id, keys).await?;
                    tx.commit().await?;
                    Ok(VersionChange::Done { version: current, unreferenced })
                }

                async fn versions(&self, id: &MediaId) -> Result<Vec<Version>, RepoError> {
                    let sql = format!("SELECT {VERSION_COLUMNS} FROM media_versions WHERE media_id = $1 ORDER BY version DESC");
                    let rows: Vec<VersionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_all(&self.pool).await?;
                    rows.iter().map(Version::try_from).collect()
                }

                async fn older_versions(&self, id: &MediaId) -> Result<u32, RepoError> {
                    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media_versions WHERE media_id = $1")
                        .bind(id.as_str())
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(to_u32(n))
                }
            }
        }
    };
}
