//! The production metadata backend.

use sqlx::postgres::{PgPool, PgPoolOptions};

pub struct PostgresRepo {
    pool: PgPool,
}

impl PostgresRepo {
    const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

    pub async fn connect(url: &str) -> Result<Self, RepoError> {
        Ok(Self { pool: PgPoolOptions::new().max_connections(16).connect(url).await? })
    }
}

sql_repo!(PostgresRepo, sqlx::Postgres, "postgres");
sql_account_repo!(PostgresRepo);
sql_quota_repo!(PostgresRepo);
sql_folder_repo!(PostgresRepo);
sql_file_repo!(PostgresRepo);
sql_version_repo!(PostgresRepo);
sql_link_repo!(PostgresRepo);
sql_webhook_repo!(PostgresRepo);
sql_share_repo!(PostgresRepo);
sql_resumable_repo!(PostgresRepo);
sql_audit_repo!(PostgresRepo);
sql_upload_link_repo!(PostgresRepo);
sql_sized_thumb_repo!(PostgresRepo);
