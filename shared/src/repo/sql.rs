//! The SQL both backends share, written once.
//!
//! `sql_repo!` expands to the [`Repo`](super::Repo) implementation for a
//! struct with a `pool: sqlx::Pool<DB>` field. The queries use `$n`
//! placeholders and types both SQLite and Postgres decode the same way
//! (BIGINT as i64, BOOLEAN as bool, timestamps as `DateTime<Utc>`), so the
//! one body serves both; a generic impl over `sqlx::Database` would need a
//! wall of `Encode`/`Decode` bounds for the same result.

/// Where applied migrations are recorded.
pub(crate) const MIGRATIONS_TABLE: &str = "_mediaq_migrations";

/// Columns of `media` an insert writes, in the order the insert binds them.
pub(crate) const MEDIA_INSERT_COLUMNS: &str = "id, owner_id, status, error, kind, mime, extension, original_filename, title, \
     description, tags, album_id, category_id, nsfw, is_public, size, width, height, duration_ms, is_animated, \
     original_key, sha256, md5, source_md5, exif, resize_width, views, created_at, updated_at, expires_at, source_url, public_token, use_file_date";

/// Columns of `media` that `media_from_row` reads: the inserted ones plus
/// those later writers own (versions, counters, trash), which start at
/// their defaults.
pub(crate) const MEDIA_COLUMNS: &str = "id, owner_id, status, error, kind, mime, extension, original_filename, title, \
     description, tags, album_id, category_id, nsfw, is_public, size, width, height, duration_ms, is_animated, \
     original_key, sha256, md5, source_md5, exif, resize_width, views, created_at, updated_at, expires_at, source_url, public_token, use_file_date, \
     version, version_name, version_at, downloads, trashed_at";

pub(crate) const USER_COLUMNS: &str = "id, username, role, status, quota_bytes, quota_files, created_at";

/// The head of an insert of one `variants` row (`$1` the media id, `$2..$8`
/// the variant, bound by [`bind_variant!`]).
macro_rules! insert_variant {
    () => {
        "INSERT INTO variants (media_id, kind, key, mime, extension, width, height, size) "
    };
}

/// The tail of an insert of a `variants` row that replaces the media's
/// row of the same kind.
macro_rules! variant_upsert {
    () => {
        " ON CONFLICT (media_id, kind) DO UPDATE SET key = excluded.key, mime = excluded.mime, \
         extension = excluded.extension, width = excluded.width, height = excluded.height, size = excluded.size"
    };
}

/// Binds `$1..$8` of an [`insert_variant!`]: media id `$m`, variant `$v`.
macro_rules! bind_variant {
    ($q:expr, $m:expr, $v:expr) => {
        $q.bind($m)
            .bind($v.kind.as_str())
            .bind(&$v.key)
            .bind(&$v.mime)
            .bind(&$v.extension)
            .bind(i64::from($v.width))
            .bind(i64::from($v.height))
            .bind(crate::repo::sql::to_i64($v.size))
    };
}

/// Count (`n`), original bytes (every version's) and variant bytes of a
/// user's live media (`$1`), trashed ones included. CAST: SUM is NUMERIC
/// on Postgres, INTEGER on SQLite.
/// Live media (trashed ones included) and the bytes they keep: every
/// version's original and derivatives (`originals`), and the current
/// version's derivatives (`derived`).
macro_rules! media_totals {
    () => {
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(m.size + \
         (SELECT COALESCE(SUM(v.size + v.derived_size), 0) FROM media_versions v WHERE v.media_id = m.id)), 0) AS BIGINT) AS originals, \
         CAST(COALESCE(SUM((SELECT COALESCE(SUM(v.size), 0) FROM variants v WHERE v.media_id = m.id)), 0) AS BIGINT) AS derived \
         FROM media m WHERE m.status NOT IN ('deleted', 'expired')"
    };
}

/// [`media_totals`] of one owner (`$1`): what their quota counts.
pub(crate) const USAGE_SQL: &str = concat!(media_totals!(), " AND m.owner_id = $1");

/// [`media_totals`] of everyone: the admin stats.
pub(crate) const TOTALS_SQL: &str = media_totals!();

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn to_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

pub(crate) fn parse_enum<T: std::str::FromStr<Err = crate::domain::UnknownValue>>(
    s: &str,
) -> Result<T, super::RepoError> {
    s.parse().map_err(|e: crate::domain::UnknownValue| super::RepoError::Corrupt(e.to_string()))
}

pub(crate) fn split_tags(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

macro_rules! sql_repo {
    ($repo:ident, $db:ty, $name:literal) => {
        use async_trait::async_trait;
        use sqlx::Row;

        use crate::domain::{ApiKey, Media, MediaId, MediaStatus, Role, Upload, User, UserId, Variant};
        use crate::repo::sql::{MEDIA_COLUMNS, MEDIA_INSERT_COLUMNS, USER_COLUMNS, parse_enum, split_tags, to_i64, to_u32, to_u64};
        use crate::repo::{Repo, RepoError, now};
        use chrono::{DateTime, Utc};

        type Db = $db;
        type DbRow = <$db as sqlx::Database>::Row;

        fn user_from_row(row: &DbRow) -> Result<User, RepoError> {
            Ok(User {
                id: UserId(row.try_get("id")?),
                username: row.try_get("username")?,
                role: parse_enum(&row.try_get::<String, _>("role")?)?,
                status: parse_enum(&row.try_get::<String, _>("status")?)?,
                quota_bytes: row.try_get::<Option<i64>, _>("quota_bytes")?.map(to_u64),
                quota_files: row.try_get::<Option<i64>, _>("quota_files")?.map(to_u64),
                created_at: row.try_get("created_at")?,
            })
        }

        fn key_from_row(row: &DbRow) -> Result<ApiKey, RepoError> {
            Ok(ApiKey {
                id: row.try_get("key_id")?,
                user_id: UserId(row.try_get("user_id")?),
                label: row.try_get("label")?,
                prefix: row.try_get("prefix")?,
                created_at: row.try_get("key_created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        }

        fn media_from_row(row: &DbRow) -> Result<Media, RepoError> {
            let exif: Option<String> = row.try_get("exif")?;
            Ok(Media {
                id: MediaId::parse(&row.try_get::<String, _>("id")?)
                    .ok_or_else(|| RepoError::Corrupt("media id".into()))?,
                owner_id: UserId(row.try_get("owner_id")?),
                status: parse_enum(&row.try_get::<String, _>("status")?)?,
                error: row.try_get("error")?,
                kind: parse_enum(&row.try_get::<String, _>("kind")?)?,
                mime: row.try_get("mime")?,
                extension: row.try_get("extension")?,
                original_filename: row.try_get("original_filename")?,
                title: row.try_get("title")?,
                description: row.try_get("description")?,
                tags: split_tags(&row.try_get::<String, _>("tags")?),
                album_id: row.try_get("album_id")?,
                category_id: row.try_get("category_id")?,
                nsfw: row.try_get("nsfw")?,
                is_public: row.try_get("is_public")?,
                size: to_u64(row.try_get("size")?),
                width: row.try_get::<Option<i64>, _>("width")?.map(to_u32),
                height: row.try_get::<Option<i64>, _>("height")?.map(to_u32),
                duration_ms: row.try_get::<Option<i64>, _>("duration_ms")?.map(to_u64),
                is_animated: row.try_get("is_animated")?,
                original_key: row.try_get("original_key")?,
                sha256: row.try_get("sha256")?,
                md5: row.try_get("md5")?,
                source_md5: row.try_get("source_md5")?,
                exif: exif.and_then(|s| serde_json::from_str(&s).ok()),
                resize_width: row.try_get::<Option<i64>, _>("resize_width")?.map(to_u32),
                views: to_u64(row.try_get("views")?),
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                expires_at: row.try_get("expires_at")?,
                source_url: row.try_get("source_url")?,
                public_token: row.try_get("public_token")?,
                use_file_date: row.try_get("use_file_date")?,
                version: to_u32(row.try_get("version")?),
                version_name: row.try_get("version_name")?,
                version_at: row.try_get("version_at")?,
                downloads: to_u64(row.try_get("downloads")?),
                trashed_at: row.try_get("trashed_at")?,
            })
        }

        fn upload_from_row(row: &DbRow) -> Result<Upload, RepoError> {
            Ok(Upload {
                id: MediaId::parse(&row.try_get::<String, _>("id")?).ok_or_else(|| RepoError::Corrupt("upload id".into()))?,
                owner_id: UserId(row.try_get("owner_id")?),
                name: row.try_get("name")?,
                content_type: row.try_get("content_type")?,
                size_bytes: to_u64(row.try_get("size_bytes")?),
                object_key: row.try_get("object_key")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        }

        fn variant_from_row(row: &DbRow) -> Result<Variant, RepoError> {
            Ok(Variant {
                kind: parse_enum(&row.try_get::<String, _>("kind")?)?,
                key: row.try_get("key")?,
                mime: row.try_get("mime")?,
                extension: row.try_get("extension")?,
                width: to_u32(row.try_get("width")?),
                height: to_u32(row.try_get("height")?),
                size: to_u64(row.try_get("size")?),
            })
        }

        /// Inserts a media row on `conn` (the pool's or a transaction's).
        async fn insert_media_on(
            conn: &mut <$db as sqlx::Database>::Connection,
            m: &Media,
            delete_secret_hash: Option<&str>,
        ) -> Result<(), RepoError> {
            let sql = format!(
                "INSERT INTO media ({MEDIA_INSERT_COLUMNS}, delete_secret_hash) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
                  $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34)"
            );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(m.id.as_str())
                .bind(m.owner_id.0)
                .bind(m.status.as_str())
                .bind(&m.error)
                .bind(m.kind.as_str())
                .bind(&m.mime)
                .bind(&m.extension)
                .bind(&m.original_filename)
                .bind(&m.title)
                .bind(&m.description)
                .bind(m.tags.join(","))
                .bind(&m.album_id)
                .bind(&m.category_id)
                .bind(m.nsfw)
                .bind(m.is_public)
                .bind(to_i64(m.size))
                .bind(m.width.map(i64::from))
                .bind(m.height.map(i64::from))
                .bind(m.duration_ms.map(to_i64))
                .bind(m.is_animated)
                .bind(&m.original_key)
                .bind(&m.sha256)
                .bind(&m.md5)
                .bind(&m.source_md5)
                .bind(m.exif.as_ref().map(|e| e.to_string()))
                .bind(m.resize_width.map(i64::from))
                .bind(to_i64(m.views))
                .bind(m.created_at)
                .bind(m.updated_at)
                .bind(m.expires_at)
                .bind(&m.source_url)
                .bind(&m.public_token)
                .bind(m.use_file_date)
                .bind(delete_secret_hash)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        #[async_trait]
        impl Repo for $repo {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn ping(&self) -> Result<(), RepoError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn migrate(&self) -> Result<(), RepoError> {
                // Our own bookkeeping table: apalis-sqlite keeps its own
                // migrations in `_sqlx_migrations` of the same file.
                let mut migrator = Self::MIGRATOR;
                migrator.dangerous_set_table_name(crate::repo::sql::MIGRATIONS_TABLE);
                migrator.run(&self.pool).await?;
                Ok(())
            }

            #[tracing::instrument(skip_all, fields(username))]
            async fn ensure_user(&self, username: &str, role: Role) -> Result<User, RepoError> {
                sqlx::query("INSERT INTO users (username, role, status, created_at) VALUES ($1, $2, 'active', $3) ON CONFLICT (username) DO NOTHING")
                    .bind(username)
                    .bind(role.as_str())
                    .bind(now())
                    .execute(&self.pool)
                    .await?;
                if role == Role::Admin {
                    sqlx::query("UPDATE users SET role = 'admin' WHERE username = $1").bind(username).execute(&self.pool).await?;
                }
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
                user_from_row(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(username).fetch_one(&self.pool).await?)
            }

            async fn user(&self, id: UserId) -> Result<User, RepoError> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
                user_from_row(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_one(&self.pool).await?)
            }

            #[tracing::instrument(skip_all, fields(user = %user))]
            async fn insert_api_key(&self, user: UserId, label: Option<&str>, prefix: &str, hash: &str) -> Result<ApiKey, RepoError> {
                let created_at = now();
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO api_keys (user_id, label, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(user.0)
                .bind(label)
                .bind(prefix)
                .bind(hash)
                .bind(created_at)
                .fetch_one(&self.pool)
                .await?;
                Ok(ApiKey { id, user_id: user, label: label.map(str::to_owned), prefix: prefix.to_owned(), created_at, last_used_at: None })
            }

            async fn user_by_key_hash(&self, hash: &str) -> Result<(User, ApiKey), RepoError> {
                let sql = "SELECT u.id, u.username, u.role, u.status, u.quota_bytes, u.quota_files, u.created_at, k.id AS key_id, k.user_id, k.label, \
                           k.prefix, k.created_at AS key_created_at, k.last_used_at \
                           FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL";
                let row = sqlx::query(sql).bind(hash).fetch_one(&self.pool).await?;
                let key = key_from_row(&row)?;
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(now()).bind(key.id).execute(&self.pool).await?;
                Ok((user_from_row(&row)?, key))
            }

            #[tracing::instrument(skip_all, fields(media = %m.id))]
            async fn insert_media(&self, m: &Media, delete_secret_hash: Option<&str>) -> Result<(), RepoError> {
                let mut conn = self.pool.acquire().await?;
                insert_media_on(&mut conn, m, delete_secret_hash).await
            }

            #[tracing::instrument(skip_all, fields(media = %m.id))]
            async fn complete_upload(&self, m: &Media, delete_secret_hash: Option<&str>) -> Result<bool, RepoError> {
                // Claim and record in one transaction: of concurrent
                // completions exactly one deletes the uploads row, and only
                // it inserts the media.
                let mut tx = self.pool.begin().await?;
                let claimed: Option<String> = sqlx::query_scalar("DELETE FROM uploads WHERE id = $1 AND owner_id = $2 RETURNING id")
                    .bind(m.id.as_str())
                    .bind(m.owner_id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                if claimed.is_none() {
                    tx.rollback().await?;
                    return Ok(false);
                }
                insert_media_on(&mut tx, m, delete_secret_hash).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn media(&self, id: &MediaId) -> Result<Media, RepoError> {
                let sql = format!("SELECT {MEDIA_COLUMNS} FROM media WHERE id = $1");
                media_from_row(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_one(&self.pool).await?)
            }

            async fn list_media(&self, owner: UserId, offset: u64, limit: u64) -> Result<Vec<Media>, RepoError> {
                let sql = format!(
                    "SELECT {MEDIA_COLUMNS} FROM media WHERE owner_id = $1 AND status NOT IN ('deleted', 'expired') \
                     AND trashed_at IS NULL ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner.0).bind(to_i64(limit)).bind(to_i64(offset)).fetch_all(&self.pool).await?;
                rows.iter().map(media_from_row).collect()
            }

            async fn put_variant(&self, media: &MediaId, v: &Variant) -> Result<bool, RepoError> {
                self.put_version_variant(media, 0, v).await
            }

            async fn put_version_variant(&self, media: &MediaId, version: u32, v: &Variant) -> Result<bool, RepoError> {
                // INSERT … SELECT … WHERE: the row is written only while the
                // media is processing (and at `version`, unless 0), atomically
                // with that check.
                let q = sqlx::query(concat!(
                    insert_variant!(),
                    "SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS \
                     (SELECT 1 FROM media WHERE id = $1 AND status = 'processing' AND ($9 = 0 OR version = $9))",
                    variant_upsert!()
                ));
                let done = bind_variant!(q, media.as_str(), v).bind(i64::from(version)).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn variants(&self, media: &MediaId) -> Result<Vec<Variant>, RepoError> {
                let rows = sqlx::query("SELECT kind, key, mime, extension, width, height, size FROM variants WHERE media_id = $1 ORDER BY kind")
                    .bind(media.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(variant_from_row).collect()
            }

            async fn count_media(&self, owner: UserId) -> Result<u64, RepoError> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media WHERE owner_id = $1 AND status NOT IN ('deleted', 'expired')")
                    .bind(owner.0)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(to_u64(n))
            }

            async fn retire_media(&self, id: &MediaId, status: MediaStatus) -> Result<bool, RepoError> {
                let done = sqlx::query("UPDATE media SET status = $2, updated_at = $3 WHERE id = $1 AND status NOT IN ('deleted', 'expired')")
                    .bind(id.as_str())
                    .bind(status.as_str())
                    .bind(now())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn add_view(&self, id: &MediaId) -> Result<(), RepoError> {
                sqlx::query("UPDATE media SET views = views + 1 WHERE id = $1").bind(id.as_str()).execute(&self.pool).await?;
                Ok(())
            }

            async fn delete_variants(&self, id: &MediaId) -> Result<(), RepoError> {
                sqlx::query("DELETE FROM variants WHERE media_id = $1").bind(id.as_str()).execute(&self.pool).await?;
                Ok(())
            }

            async fn delete_media(&self, id: &MediaId) -> Result<(), RepoError> {
                sqlx::query("DELETE FROM variants WHERE media_id = $1").bind(id.as_str()).execute(&self.pool).await?;
                sqlx::query("DELETE FROM media WHERE id = $1").bind(id.as_str()).execute(&self.pool).await?;
                Ok(())
            }

            async fn expired_media(&self, at: DateTime<Utc>, limit: u64) -> Result<Vec<Media>, RepoError> {
                let sql = format!(
                    "SELECT {MEDIA_COLUMNS} FROM media WHERE expires_at IS NOT NULL AND expires_at <= $1 \
                     AND status NOT IN ('deleted', 'expired') ORDER BY expires_at LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(at).bind(to_i64(limit)).fetch_all(&self.pool).await?;
                rows.iter().map(media_from_row).collect()
            }

            async fn retired_media(&self, limit: u64) -> Result<Vec<MediaId>, RepoError> {
                let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM media WHERE status = 'deleted' OR (status = 'expired' AND original_key <> '') ORDER BY updated_at LIMIT $1")
                    .bind(to_i64(limit))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(ids.iter().filter_map(|s| MediaId::parse(s)).collect())
            }

            async fn delete_secret_hash(&self, id: &MediaId) -> Result<Option<String>, RepoError> {
                Ok(sqlx::query_scalar("SELECT delete_secret_hash FROM media WHERE id = $1").bind(id.as_str()).fetch_one(&self.pool).await?)
            }

            async fn insert_upload(&self, u: &Upload) -> Result<(), RepoError> {
                sqlx::query(
                    "INSERT INTO uploads (id, owner_id, name, content_type, size_bytes, object_key, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(u.id.as_str())
                .bind(u.owner_id.0)
                .bind(&u.name)
                .bind(&u.content_type)
                .bind(to_i64(u.size_bytes))
                .bind(&u.object_key)
                .bind(u.created_at)
                .bind(u.expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn upload(&self, id: &MediaId) -> Result<Upload, RepoError> {
                let row = sqlx::query("SELECT * FROM uploads WHERE id = $1").bind(id.as_str()).fetch_one(&self.pool).await?;
                upload_from_row(&row)
            }

            async fn delete_upload(&self, id: &MediaId) -> Result<(), RepoError> {
                sqlx::query("DELETE FROM uploads WHERE id = $1").bind(id.as_str()).execute(&self.pool).await?;
                Ok(())
            }

            async fn expired_uploads(&self, at: DateTime<Utc>, limit: u64) -> Result<Vec<Upload>, RepoError> {
                let rows = sqlx::query("SELECT * FROM uploads WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2")
                    .bind(at)
                    .bind(to_i64(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(upload_from_row).collect()
            }

            async fn claim_idempotency_key(&self, owner: UserId, key: &str, media: &MediaId) -> Result<(), RepoError> {
                sqlx::query("INSERT INTO idempotency_keys (owner_id, key, media_id, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(owner.0)
                    .bind(key)
                    .bind(media.as_str())
                    .bind(now())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn idempotent_result(&self, owner: UserId, key: &str) -> Result<Option<(MediaId, Option<String>)>, RepoError> {
                let row = sqlx::query("SELECT media_id, response FROM idempotency_keys WHERE owner_id = $1 AND key = $2")
                    .bind(owner.0)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let id = MediaId::parse(&row.try_get::<String, _>("media_id")?).ok_or_else(|| RepoError::Corrupt("media id".into()))?;
                Ok(Some((id, row.try_get("response")?)))
            }

            async fn store_idempotent_response(&self, owner: UserId, key: &str, response: &str) -> Result<(), RepoError> {
                sqlx::query("UPDATE idempotency_keys SET response = $3 WHERE owner_id = $1 AND key = $2")
                    .bind(owner.0)
                    .bind(key)
                    .bind(response)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn release_idempotency_key(&self, owner: UserId, key: &str) -> Result<(), RepoError> {
                sqlx::query("DELETE FROM idempotency_keys WHERE owner_id = $1 AND key = $2").bind(owner.0).bind(key).execute(&self.pool).await?;
                Ok(())
            }

            async fn ids_in_use(&self, ids: &[MediaId]) -> Result<std::collections::HashSet<MediaId>, RepoError> {
                if ids.is_empty() {
                    return Ok(Default::default());
                }
                let list = |from: usize| (from..from + ids.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
                let sql = format!(
                    "SELECT id FROM media WHERE id IN ({}) UNION SELECT id FROM uploads WHERE id IN ({}) \
                     UNION SELECT id FROM resumable_uploads WHERE id IN ({})",
                    list(1),
                    list(ids.len() + 1),
                    list(2 * ids.len() + 1)
                );
                let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
                for id in ids.iter().chain(ids).chain(ids) {
                    query = query.bind(id.as_str());
                }
                let found = query.fetch_all(&self.pool).await?;
                Ok(found.iter().filter_map(|id| MediaId::parse(id)).collect())
            }
        }

        sql_media_write_repo!($repo);
    };
}
