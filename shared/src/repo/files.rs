//! Files beyond media: the sorted and filtered list, the download counter
//! and the trash. `sql_file_repo!` implements the trait for both backends.
//!
//! Trash is a column, not a status: `trashed_at` is set only on a live
//! media (not `deleted` / `expired`) whose `trashed_at` is NULL, and
//! cleared only on a trashed one, so trash, restore, a permanent delete
//! and a job finishing never undo each other (a job writes `status`, the
//! trash writes `trashed_at`; `deleted` still always wins). Trashing a
//! folder marks it, its subfolders and their media in one transaction,
//! each taken-along row naming the folder in `trashed_with`, so the folder
//! is restored (or removed) as a whole.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Media, MediaId, MediaKind, UserId};
use crate::repo::RepoError;

/// Where a listed file sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderFilter {
    Any,
    /// Outside any folder.
    Root,
    In(String),
}

/// A sort field of the files list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSort {
    CreatedAt,
    UpdatedAt,
    Name,
    Size,
    Views,
    Downloads,
}

impl FileSort {
    /// The API name → field.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "createdAt" => Self::CreatedAt,
            "updatedAt" => Self::UpdatedAt,
            "name" => Self::Name,
            "size" => Self::Size,
            "views" => Self::Views,
            "downloads" => Self::Downloads,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Name => "original_filename",
            Self::Size => "size",
            Self::Views => "views",
            Self::Downloads => "downloads",
        }
    }
}

/// One page of an owner's live, untrashed files.
#[derive(Debug, Clone)]
pub struct FileQuery {
    pub owner: UserId,
    pub folder: FolderFilter,
    pub kind: Option<MediaKind>,
    pub is_public: Option<bool>,
    /// Name contains this, case-insensitive (taken literally: `%` and `_`
    /// are not wildcards).
    pub name_contains: Option<String>,
    pub sha256: Option<String>,
    pub sort: FileSort,
    pub descending: bool,
    pub offset: u64,
    pub limit: u64,
}

/// A value bound to a built query.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
}

impl FileQuery {
    /// The WHERE clause (after `WHERE`) and its values, `$1…` in order.
    pub(crate) fn filter(&self) -> (String, Vec<Bind>) {
        let mut sql = String::from("owner_id = $1 AND status NOT IN ('deleted', 'expired') AND trashed_at IS NULL");
        let mut binds = vec![Bind::Int(self.owner.0)];
        // Appends `clause` with its `?` numbered as the next placeholder.
        fn push(sql: &mut String, binds: &mut Vec<Bind>, clause: &str, value: Bind) {
            binds.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
        }
        match &self.folder {
            FolderFilter::Any => {}
            FolderFilter::Root => sql.push_str(" AND album_id IS NULL"),
            FolderFilter::In(id) => push(&mut sql, &mut binds, " AND album_id = ?", Bind::Text(id.clone())),
        }
        if let Some(kind) = self.kind {
            push(&mut sql, &mut binds, " AND kind = ?", Bind::Text(kind.as_str().to_owned()));
        }
        if let Some(public) = self.is_public {
            push(&mut sql, &mut binds, " AND is_public = ?", Bind::Bool(public));
        }
        if let Some(q) = &self.name_contains {
            let escaped = q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let clause = " AND LOWER(original_filename) LIKE ? ESCAPE '\\'";
            push(&mut sql, &mut binds, clause, Bind::Text(format!("%{escaped}%")));
        }
        if let Some(sha) = &self.sha256 {
            push(&mut sql, &mut binds, " AND sha256 = ?", Bind::Text(sha.clone()));
        }
        (sql, binds)
    }

    pub(crate) fn order(&self) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        format!("{} {dir}, id {dir}", self.sort.column())
    }
}

/// What a trash entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrashKind {
    File,
    Folder,
}

/// One entry of the trash: a file trashed on its own, or a folder (with
/// everything in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashItem {
    pub id: String,
    pub kind: TrashKind,
    pub owner_id: UserId,
    pub name: String,
    /// The file's size, or the total of the files the folder took along.
    pub size: u64,
    pub deleted_at: DateTime<Utc>,
}

#[async_trait]
pub trait FileRepo: Send + Sync {
    /// One page of files and how many match in all.
    async fn list_files(&self, query: &FileQuery) -> Result<(Vec<Media>, u64), RepoError>;

    /// Counts one served original (`downloads = downloads + 1`).
    async fn add_download(&self, id: &MediaId) -> Result<(), RepoError>;

    /// Trashes a live, untrashed media; false when it was not one.
    async fn trash_media(&self, id: &MediaId, at: DateTime<Utc>) -> Result<bool, RepoError>;

    /// Restores a media trashed on its own, to its folder (the root when
    /// that folder is gone or trashed); false when it was not one.
    async fn restore_media(&self, id: &MediaId) -> Result<bool, RepoError>;

    /// Trashes a live folder with its subfolders and their media; false
    /// when it was not a live folder of `owner`.
    async fn trash_folder(&self, id: &str, owner: UserId, at: DateTime<Utc>) -> Result<bool, RepoError>;

    /// Restores a trashed folder with everything it took along, under its
    /// parent (the root when that is gone or trashed); false when it was
    /// not a trashed folder.
    async fn restore_folder(&self, id: &str) -> Result<bool, RepoError>;

    /// Removes a trashed folder for good: the media it took along become
    /// `deleted` (returned, for their purge) and the folder rows go.
    /// `None` when it was not a trashed folder.
    async fn remove_trashed_folder(&self, id: &str) -> Result<Option<Vec<MediaId>>, RepoError>;

    /// The trash entry `id` of any owner, if it is one.
    async fn trash_item(&self, id: &str) -> Result<Option<TrashItem>, RepoError>;

    /// The owner's trash, newest first, and its size.
    async fn list_trash(&self, owner: UserId, offset: u64, limit: u64) -> Result<(Vec<TrashItem>, u64), RepoError>;

    /// Trash entries of every owner trashed before `before`, oldest first.
    async fn stale_trash(&self, before: DateTime<Utc>, limit: u64) -> Result<Vec<TrashItem>, RepoError>;
}

/// The trash as rows `(type, id, owner_id, name, size, deleted_at)`;
/// `{where}` is applied to both halves (columns `owner_id`, `trashed_at`).
pub(crate) const TRASH_SQL: &str = "SELECT 'file' AS kind, id, owner_id, original_filename AS name, size, trashed_at \
     FROM media WHERE trashed_at IS NOT NULL AND trashed_with IS NULL AND status NOT IN ('deleted', 'expired') AND {where} \
     UNION ALL SELECT 'folder' AS kind, f.id, f.owner_id, f.name, \
     CAST((SELECT COALESCE(SUM(m.size), 0) FROM media m WHERE m.trashed_with = f.id AND m.status NOT IN ('deleted', 'expired')) AS BIGINT) AS size, \
     f.trashed_at FROM folders f WHERE f.trashed_at IS NOT NULL AND f.trashed_with IS NULL AND {where}";

macro_rules! sql_file_repo {
    ($repo:ident) => {
        mod files_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};

            use super::{$repo, media_from_row};
            use crate::domain::{Media, MediaId, UserId};
            use crate::repo::RepoError;
            use crate::repo::files::{Bind, FileQuery, FileRepo, TRASH_SQL, TrashItem, TrashKind};
            use crate::repo::sql::{MEDIA_COLUMNS, to_i64, to_u64};

            type Tx<'c> = sqlx::Transaction<'c, super::Db>;

            #[derive(sqlx::FromRow)]
            struct TrashRow {
                kind: String,
                id: String,
                owner_id: i64,
                name: String,
                size: i64,
                trashed_at: DateTime<Utc>,
            }

            impl From<TrashRow> for TrashItem {
                fn from(r: TrashRow) -> Self {
                    TrashItem {
                        kind: if r.kind == "folder" { TrashKind::Folder } else { TrashKind::File },
                        id: r.id,
                        owner_id: UserId(r.owner_id),
                        name: r.name,
                        size: to_u64(r.size),
                        deleted_at: r.trashed_at,
                    }
                }
            }

            fn trash_sql(filter: &str, tail: &str) -> String {
                format!("SELECT * FROM ({}) t {tail}", TRASH_SQL.replace("{where}", filter))
            }

            macro_rules! bind_all {
                ($q:expr, $binds:expr) => {{
                    let mut q = $q;
                    for b in $binds {
                        q = match b {
                            Bind::Text(s) => q.bind(s.clone()),
                            Bind::Int(n) => q.bind(*n),
                            Bind::Bool(v) => q.bind(*v),
                        };
                    }
                    q
                }};
            }

            /// The folder `id` and the live folders below it (a subfolder
            /// trashed on its own stays a trash entry of its own).
            async fn live_subtree(tx: &mut Tx<'_>, id: &str) -> Result<Vec<String>, RepoError> {
                Ok(sqlx::query_scalar(
                    "WITH RECURSIVE tree(id, depth) AS (SELECT id, CAST(0 AS BIGINT) FROM folders WHERE id = $1 \
                     UNION ALL SELECT f.id, tree.depth + 1 FROM folders f JOIN tree ON f.parent_id = tree.id \
                     WHERE tree.depth < $2 AND f.trashed_at IS NULL) SELECT id FROM tree",
                )
                .bind(id)
                .bind(crate::repo::folders::MAX_FOLDER_DEPTH)
                .fetch_all(&mut **tx)
                .await?)
            }

            #[async_trait]
            impl FileRepo for $repo {
                async fn list_files(&self, query: &FileQuery) -> Result<(Vec<Media>, u64), RepoError> {
                    let (filter, binds) = query.filter();
                    let n = binds.len();
                    let sql = format!(
                        "SELECT {MEDIA_COLUMNS} FROM media WHERE {filter} ORDER BY {} LIMIT ${} OFFSET ${}",
                        query.order(),
                        n + 1,
                        n + 2
                    );
                    let q = bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), &binds);
                    let rows =
                        q.bind(to_i64(query.limit)).bind(to_i64(query.offset)).fetch_all(&self.pool).await?;
                    let count = format!("SELECT COUNT(*) FROM media WHERE {filter}");
                    let total: i64 = bind_all!(sqlx::query_scalar(sqlx::AssertSqlSafe(count)), &binds)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok((rows.iter().map(media_from_row).collect::<Result<_, _>>()?, to_u64(total)))
                }

                async fn add_download(&self, id: &MediaId) -> Result<(), RepoError> {
                    sqlx::query("UPDATE media SET downloads = downloads + 1 WHERE id = $1")
                        .bind(id.as_str())
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn trash_media(&self, id: &MediaId, at: DateTime<Utc>) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE media SET trashed_at = $2, trashed_with = NULL \
                         WHERE id = $1 AND trashed_at IS NULL AND status NOT IN ('deleted', 'expired')",
                    )
                    .bind(id.as_str())
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn restore_media(&self, id: &MediaId) -> Result<bool, RepoError> {
                    let done = sqlx::query(
                        "UPDATE media SET trashed_at = NULL, album_id = CASE WHEN album_id IS NULL OR EXISTS \
                         (SELECT 1 FROM folders f WHERE f.id = media.album_id AND f.trashed_at IS NULL) THEN album_id ELSE NULL END \
                         WHERE id = $1 AND trashed_at IS NOT NULL AND trashed_with IS NULL AND status NOT IN ('deleted', 'expired')",
                    )
                    .bind(id.as_str())
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn trash_folder(&self, id: &str, owner: UserId, at: DateTime<Utc>) -> Result<bool, RepoError> {
                    let mut tx = self.pool.begin().await?;
                    let done = sqlx::query(
                        "UPDATE folders SET trashed_at = $3, trashed_with = NULL WHERE id = $1 AND owner_id = $2 AND trashed_at IS NULL",
                    )
                    .bind(id)
                    .bind(owner.0)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Ok(false);
                    }
                    for folder in live_subtree(&mut tx, id).await? {
                        if folder != id {
                            sqlx::query("UPDATE folders SET trashed_at = $2, trashed_with = $3 WHERE id = $1 AND trashed_at IS NULL")
                                .bind(&folder)
                                .bind(at)
                                .bind(id)
                                .execute(&mut *tx)
                                .await?;
                        }
                        sqlx::query(
                            "UPDATE media SET trashed_at = $2, trashed_with = $3 WHERE album_id = $1 AND owner_id = $4 \
                             AND trashed_at IS NULL AND status NOT IN ('deleted', 'expired')",
                        )
                        .bind(&folder)
                        .bind(at)
                        .bind(id)
                        .bind(owner.0)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                async fn restore_folder(&self, id: &str) -> Result<bool, RepoError> {
                    let mut tx = self.pool.begin().await?;
                    let done = sqlx::query(
                        "UPDATE folders SET trashed_at = NULL, parent_id = CASE WHEN parent_id IS NULL OR EXISTS \
                         (SELECT 1 FROM folders p WHERE p.id = folders.parent_id AND p.trashed_at IS NULL) THEN parent_id ELSE NULL END \
                         WHERE id = $1 AND trashed_at IS NOT NULL AND trashed_with IS NULL",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Ok(false);
                    }
                    sqlx::query("UPDATE folders SET trashed_at = NULL, trashed_with = NULL WHERE trashed_with = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "UPDATE media SET trashed_at = NULL, trashed_with = NULL WHERE trashed_with = $1 \
                         AND status NOT IN ('deleted', 'expired')",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn remove_trashed_folder(&self, id: &str) -> Result<Option<Vec<MediaId>>, RepoError> {
                    let mut tx = self.pool.begin().await?;
                    // Claims the folder first (the write serializes removers).
                    let done = sqlx::query(
                        "UPDATE folders SET trashed_with = NULL WHERE id = $1 AND trashed_at IS NOT NULL AND trashed_with IS NULL",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Ok(None);
                    }
                    let ids: Vec<String> = sqlx::query_scalar(
                        "UPDATE media SET status = 'deleted', updated_at = $2 WHERE trashed_with = $1 \
                         AND status NOT IN ('deleted', 'expired') RETURNING id",
                    )
                    .bind(id)
                    .bind(crate::repo::now())
                    .fetch_all(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM folders WHERE id = $1").bind(id).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(Some(ids.iter().filter_map(|s| MediaId::parse(s)).collect()))
                }

                async fn trash_item(&self, id: &str) -> Result<Option<TrashItem>, RepoError> {
                    let sql = trash_sql("id = $1", "");
                    let row: Option<TrashRow> =
                        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                    Ok(row.map(TrashItem::from))
                }

                async fn list_trash(&self, owner: UserId, offset: u64, limit: u64) -> Result<(Vec<TrashItem>, u64), RepoError> {
                    let sql = trash_sql("owner_id = $1", "ORDER BY trashed_at DESC, id LIMIT $2 OFFSET $3");
                    let rows: Vec<TrashRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(owner.0)
                        .bind(to_i64(limit))
                        .bind(to_i64(offset))
                        .fetch_all(&self.pool)
                        .await?;
                    let count = format!("SELECT COUNT(*) FROM ({}) t", TRASH_SQL.replace("{where}", "owner_id = $1"));
                    let total: i64 =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(count)).bind(owner.0).fetch_one(&self.pool).await?;
                    Ok((rows.into_iter().map(TrashItem::from).collect(), to_u64(total)))
                }

                async fn stale_trash(&self, before: DateTime<Utc>, limit: u64) -> Result<Vec<TrashItem>, RepoError> {
                    let sql = trash_sql("trashed_at <= $1", "ORDER BY trashed_at LIMIT $2");
                    let rows: Vec<TrashRow> =
                        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(before).bind(to_i64(limit)).fetch_all(&self.pool).await?;
                    Ok(rows.into_iter().map(TrashItem::from).collect())
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_number_their_placeholders_and_escape_wildcards() {
        let query = FileQuery {
            owner: UserId(7),
            folder: FolderFilter::Root,
            kind: Some(MediaKind::File),
            is_public: Some(true),
            name_contains: Some("50%_Off\\".into()),
            sha256: Some("ab".repeat(32)),
            sort: FileSort::Downloads,
            descending: false,
            offset: 0,
            limit: 10,
        };
        let (sql, binds) = query.filter();
        assert!(sql.contains("album_id IS NULL") && sql.contains("kind = $2") && sql.contains("sha256 = $5"), "{sql}");
        assert!(sql.contains("LIKE $4 ESCAPE"), "{sql}");
        assert_eq!(binds.len(), 5);
        assert!(matches!(&binds[3], Bind::Text(t) if t == "%50\\%\\_off\\\\%"), "{:?}", binds[3]);
        assert_eq!(query.order(), "downloads ASC, id ASC");
        assert_eq!(FileSort::parse("bogus"), None);
    }
}
