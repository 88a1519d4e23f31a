//! The embedded backend: one SQLite file in the data dir, in WAL mode so
//! the API reads while workers write.
//!
//! Durability: every connection runs `synchronous = FULL`, so a commit
//! (a media row, a queued job) has reached the disk when the call returns
//! and a power cut loses nothing acknowledged. (`NORMAL`, SQLite's usual
//! choice with WAL, keeps the database consistent but may lose the last
//! commits before a power cut, and a client would hold an id that no
//! longer exists.)

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub struct SqliteRepo {
    pool: SqlitePool,
}

impl SqliteRepo {
    const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

    pub async fn connect(url: &str) -> Result<Self, RepoError> {
        Ok(Self { pool: open_pool(url).await? })
    }
}

/// Opens a pool on a SQLite file, creating the file and its directory.
/// Shared with the embedded job queue, which lives in the same file.
pub async fn open_pool(url: &str) -> Result<SqlitePool, RepoError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| RepoError::Backend(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(SqlitePoolOptions::new().max_connections(8).connect_with(options).await?)
}

/// Opens the pool of the embedded job queue, its tables set up.
///
/// apalis' `setup` also runs `PRAGMA synchronous = OFF` (with other
/// per-connection pragmas) on the connection it is given, and that
/// connection would go on writing the shared file without syncing, so a
/// power cut could lose queued jobs or, during a checkpoint, damage the
/// file. So setup runs on a pool of its own, closed at once, and the queue
/// gets a fresh pool whose connections all keep [`open_pool`]'s settings.
pub async fn open_queue_pool(url: &str) -> Result<SqlitePool, RepoError> {
    let setup = open_pool(url).await?;
    let done = apalis_sqlite::SqliteStorage::setup(&setup).await;
    setup.close().await;
    done.map_err(|e| RepoError::Backend(format!("sqlite queue setup: {e}")))?;
    open_pool(url).await
}

sql_repo!(SqliteRepo, sqlx::Sqlite, "sqlite");
sql_account_repo!(SqliteRepo);
sql_quota_repo!(SqliteRepo);
sql_folder_repo!(SqliteRepo);
sql_file_repo!(SqliteRepo);
sql_version_repo!(SqliteRepo);
sql_link_repo!(SqliteRepo);
sql_webhook_repo!(SqliteRepo);
sql_share_repo!(SqliteRepo);
sql_resumable_repo!(SqliteRepo);
sql_audit_repo!(SqliteRepo);
sql_upload_link_repo!(SqliteRepo);
sql_sized_thumb_repo!(SqliteRepo);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// `PRAGMA synchronous` of `n` distinct connections of the pool
    /// (2 is FULL, 0 is OFF).
    async fn synchronous_of(pool: &SqlitePool, n: usize) -> Vec<i64> {
        let mut held = Vec::new();
        for _ in 0..n {
            held.push(pool.acquire().await.unwrap());
        }
        let mut modes = Vec::new();
        for conn in &mut held {
            modes.push(sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut **conn).await.unwrap());
        }
        modes
    }

    #[tokio::test]
    async fn every_connection_syncs_fully_the_queues_too() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let repo = open_pool(&url).await.unwrap();
        assert_eq!(synchronous_of(&repo, 3).await, vec![2, 2, 2]);
        let queue = open_queue_pool(&url).await.unwrap();
        assert_eq!(synchronous_of(&queue, 8).await, vec![2; 8], "apalis' setup left a connection unsynced");
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&queue).await.unwrap();
        assert_eq!(mode, "wal");
    }
}
