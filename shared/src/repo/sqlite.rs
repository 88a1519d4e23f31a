//! The embedded backend: one SQLite file in the data dir, in WAL mode so
//! the API reads while workers write.

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
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| RepoError::Backend(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(SqlitePoolOptions::new().max_connections(8).connect_with(options).await?)
}

sql_repo!(SqliteRepo, sqlx::Sqlite, "sqlite");
sql_account_repo!(SqliteRepo);
sql_quota_repo!(SqliteRepo);
sql_folder_repo!(SqliteRepo);
sql_link_repo!(SqliteRepo);
sql_share_repo!(SqliteRepo);
sql_audit_repo!(SqliteRepo);
