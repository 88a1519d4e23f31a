//! Folders (Chevereto's albums): a tree per user. Media point at their
//! folder through `media.album_id`. `sql_folder_repo!` implements the
//! trait for both backends, once.
//!
//! The tree stays a tree: creating and moving a folder check depth and
//! cycles and write in one transaction serialized per owner (on Postgres
//! the owner's `users` row is locked; on SQLite the transaction's first
//! statement is that same write, which takes the database's write lock),
//! so two opposite moves at once cannot both pass their check. Every
//! recursive query carries a depth column bounded by [`MAX_FOLDER_DEPTH`],
//! so even a damaged tree cannot make one run forever.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Media, MediaId, UserId};
use crate::repo::RepoError;

/// Levels a folder tree may have (a folder at the root is level 1).
pub const MAX_FOLDER_DEPTH: i64 = 32;

/// The outcome of creating or moving a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderChange {
    Done,
    /// The new parent is the folder itself or one of its subfolders.
    Cycle,
    /// The folder, or one below it, would sit deeper than [`MAX_FOLDER_DEPTH`].
    TooDeep,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub id: String,
    pub owner_id: UserId,
    pub parent_id: Option<String>,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
pub trait FolderRepo: Send + Sync {
    /// Creates the folder unless it would be too deep.
    async fn insert_folder(&self, folder: &Folder) -> Result<FolderChange, RepoError>;
    async fn folder(&self, id: &str) -> Result<Folder, RepoError>;
    /// The owner's folders directly under `parent` (the root when `None`), by name.
    async fn child_folders(&self, owner: UserId, parent: Option<&str>) -> Result<Vec<Folder>, RepoError>;
    /// Writes back name and parent, unless the new parent would make a
    /// cycle or the tree too deep; the check and the write are one
    /// serialized transaction.
    async fn update_folder(&self, folder: &Folder) -> Result<FolderChange, RepoError>;
    /// The folder and every folder below it, the folder first (at most
    /// [`MAX_FOLDER_DEPTH`] levels).
    async fn folder_subtree(&self, id: &str) -> Result<Vec<String>, RepoError>;
    /// Live media directly in any of `folders`.
    async fn media_in_folders(&self, folders: &[String]) -> Result<Vec<MediaId>, RepoError>;
    /// Deletes the folder (its subfolders go with it).
    async fn delete_folder(&self, id: &str) -> Result<(), RepoError>;
    /// The owner's live media in `folder`, newest first, and their count.
    async fn list_folder_media(
        &self,
        owner: UserId,
        folder: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Media>, u64), RepoError>;
}

macro_rules! sql_folder_repo {
    ($repo:ident) => {
        mod folders_impl {
            use async_trait::async_trait;
            use sqlx::Row;

            use super::{$repo, DbRow, media_from_row};
            use crate::domain::{Media, MediaId, UserId};
            use crate::repo::RepoError;
            use crate::repo::folders::{Folder, FolderChange, FolderRepo, MAX_FOLDER_DEPTH};
            use crate::repo::sql::{MEDIA_COLUMNS, to_i64, to_u64};

            fn folder_from_row(row: &DbRow) -> Result<Folder, RepoError> {
                Ok(Folder {
                    id: row.try_get("id")?,
                    owner_id: UserId(row.try_get("owner_id")?),
                    parent_id: row.try_get("parent_id")?,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            const COLUMNS: &str = "id, owner_id, parent_id, name, created_at, updated_at";

            /// The folder `$1` (depth 0) and every folder below it with its
            /// depth, at most `$2` levels down, the folder first.
            const SUBTREE_SQL: &str = "WITH RECURSIVE tree(id, depth) AS (SELECT id, CAST(0 AS BIGINT) FROM folders WHERE id = $1 \
                 UNION ALL SELECT f.id, tree.depth + 1 FROM folders f JOIN tree ON f.parent_id = tree.id WHERE tree.depth < $2 \
                 AND f.trashed_at IS NULL) SELECT id, depth FROM tree ORDER BY depth";

            type Tx<'c> = sqlx::Transaction<'c, super::Db>;

            /// Serializes tree changes of one owner: a write to their `users`
            /// row as the transaction's first statement locks that row on
            /// Postgres and takes the write lock on SQLite.
            async fn lock_tree(tx: &mut Tx<'_>, owner: UserId) -> Result<(), RepoError> {
                sqlx::query("UPDATE users SET status = status WHERE id = $1").bind(owner.0).execute(&mut **tx).await?;
                Ok(())
            }

            /// The level of folder `id` (1 at the root), counting at most one
            /// past [`MAX_FOLDER_DEPTH`].
            async fn level(tx: &mut Tx<'_>, id: &str) -> Result<i64, RepoError> {
                let n: Option<i64> = sqlx::query_scalar(
                    "WITH RECURSIVE up(id, parent_id, depth) AS (SELECT id, parent_id, CAST(1 AS BIGINT) FROM folders WHERE id = $1 \
                     UNION ALL SELECT f.id, f.parent_id, up.depth + 1 FROM folders f JOIN up ON f.id = up.parent_id WHERE up.depth <= $2) \
                     SELECT CAST(MAX(depth) AS BIGINT) FROM up",
                )
                .bind(id)
                .bind(MAX_FOLDER_DEPTH)
                .fetch_one(&mut **tx)
                .await?;
                Ok(n.unwrap_or(0))
            }

            #[async_trait]
            impl FolderRepo for $repo {
                async fn insert_folder(&self, f: &Folder) -> Result<FolderChange, RepoError> {
                    let mut tx = self.pool.begin().await?;
                    lock_tree(&mut tx, f.owner_id).await?;
                    if let Some(parent) = &f.parent_id
                        && level(&mut tx, parent).await? + 1 > MAX_FOLDER_DEPTH
                    {
                        return Ok(FolderChange::TooDeep);
                    }
                    sqlx::query("INSERT INTO folders (id, owner_id, parent_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(&f.id)
                        .bind(f.owner_id.0)
                        .bind(&f.parent_id)
                        .bind(&f.name)
                        .bind(f.created_at)
                        .bind(f.updated_at)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(FolderChange::Done)
                }

                async fn folder(&self, id: &str) -> Result<Folder, RepoError> {
                    // A trashed folder is gone for everything but the trash.
                    let sql = format!("SELECT {COLUMNS} FROM folders WHERE id = $1 AND trashed_at IS NULL");
                    folder_from_row(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&self.pool).await?)
                }

                async fn child_folders(&self, owner: UserId, parent: Option<&str>) -> Result<Vec<Folder>, RepoError> {
                    let sql = format!(
                        "SELECT {COLUMNS} FROM folders WHERE owner_id = $1 AND (parent_id = $2 OR ($2 IS NULL AND parent_id IS NULL)) \
                         AND trashed_at IS NULL ORDER BY name, id"
                    );
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner.0).bind(parent).fetch_all(&self.pool).await?;
                    rows.iter().map(folder_from_row).collect()
                }

                async fn update_folder(&self, f: &Folder) -> Result<FolderChange, RepoError> {
                    let mut tx = self.pool.begin().await?;
                    lock_tree(&mut tx, f.owner_id).await?;
                    if let Some(parent) = &f.parent_id {
                        let below: Vec<(String, i64)> = sqlx::query_as(SUBTREE_SQL).bind(&f.id).bind(MAX_FOLDER_DEPTH).fetch_all(&mut *tx).await?;
                        if below.iter().any(|(id, _)| id == parent) {
                            return Ok(FolderChange::Cycle);
                        }
                        let height = below.iter().map(|(_, depth)| *depth).max().unwrap_or(0);
                        if level(&mut tx, parent).await? + 1 + height > MAX_FOLDER_DEPTH {
                            return Ok(FolderChange::TooDeep);
                        }
                    }
                    let done = sqlx::query("UPDATE folders SET name = $2, parent_id = $3, updated_at = $4 WHERE id = $1")
                        .bind(&f.id)
                        .bind(&f.name)
                        .bind(&f.parent_id)
                        .bind(crate::repo::now())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(RepoError::NotFound);
                    }
                    tx.commit().await?;
                    Ok(FolderChange::Done)
                }

                async fn folder_subtree(&self, id: &str) -> Result<Vec<String>, RepoError> {
                    let rows: Vec<(String, i64)> = sqlx::query_as(SUBTREE_SQL).bind(id).bind(MAX_FOLDER_DEPTH).fetch_all(&self.pool).await?;
                    Ok(rows.into_iter().map(|(id, _)| id).collect())
                }

                async fn media_in_folders(&self, folders: &[String]) -> Result<Vec<MediaId>, RepoError> {
                    let mut out = Vec::new();
                    for folder in folders {
                        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM media WHERE album_id = $1 AND status NOT IN ('deleted', 'expired') AND trashed_at IS NULL")
                            .bind(folder)
                            .fetch_all(&self.pool)
                            .await?;
                        out.extend(ids.iter().filter_map(|s| MediaId::parse(s)));
                    }
                    Ok(out)
                }

                async fn delete_folder(&self, id: &str) -> Result<(), RepoError> {
                    sqlx::query("DELETE FROM folders WHERE id = $1").bind(id).execute(&self.pool).await?;
                    Ok(())
                }

                async fn list_folder_media(&self, owner: UserId, folder: &str, offset: u64, limit: u64) -> Result<(Vec<Media>, u64), RepoError> {
                    let live = "owner_id = $1 AND album_id = $2 AND status NOT IN ('deleted', 'expired') AND trashed_at IS NULL";
                    let sql = format!("SELECT {MEDIA_COLUMNS} FROM media WHERE {live} ORDER BY created_at DESC, id LIMIT $3 OFFSET $4");
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(owner.0)
                        .bind(folder)
                        .bind(to_i64(limit))
                        .bind(to_i64(offset))
                        .fetch_all(&self.pool)
                        .await?;
                    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM media WHERE {live}")))
                        .bind(owner.0)
                        .bind(folder)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok((rows.iter().map(media_from_row).collect::<Result<_, _>>()?, to_u64(total)))
                }
            }
        }
    };
}
