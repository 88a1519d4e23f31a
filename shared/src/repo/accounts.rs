//! Account storage: users with passwords, login sessions, key management
//! and user administration. A trait of its own (a supertrait of
//! [`Repo`](super::Repo)) so the shared SQL stays in files of one job;
//! `sql_account_repo!` implements it for both backends, once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{ApiKey, MediaId, Role, User, UserId, UserStatus};
use crate::repo::RepoError;

/// What a user stores: live media and their derivatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub used_bytes: u64,
    pub file_count: u64,
}

/// Counts for the admin dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub users: u64,
    pub pending_users: u64,
    pub suspended_users: u64,
    pub files: u64,
    /// Originals and variants of live media.
    pub bytes: u64,
}

/// Which users [`AccountRepo::list_users`] returns.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserFilter {
    pub status: Option<UserStatus>,
    pub offset: u64,
    pub limit: u64,
}

#[async_trait]
pub trait AccountRepo: Send + Sync {
    /// Creates a user with a password hash; `Conflict` when the name is taken.
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        status: UserStatus,
    ) -> Result<User, RepoError>;

    /// The user named `username` and their password hash (none for users
    /// made by `mediaq key create`).
    async fn user_credentials(&self, username: &str) -> Result<(User, Option<String>), RepoError>;

    /// The stored password hash of a user.
    async fn password_hash(&self, user: UserId) -> Result<Option<String>, RepoError>;

    async fn set_password(&self, user: UserId, hash: &str) -> Result<(), RepoError>;

    /// Stores a session by the hash of its token; returns its id.
    async fn insert_session(&self, user: UserId, hash: &str, expires_at: DateTime<Utc>) -> Result<i64, RepoError>;

    /// The owner of the unexpired session with this token hash, and the
    /// session id; marks it used.
    async fn user_by_session_hash(&self, hash: &str, now: DateTime<Utc>) -> Result<(User, i64), RepoError>;

    async fn delete_session(&self, id: i64) -> Result<(), RepoError>;

    /// Ends every session of `user` except `keep`.
    async fn delete_sessions(&self, user: UserId, keep: Option<i64>) -> Result<(), RepoError>;

    /// Bytes (originals and variants) and count of the user's live media.
    async fn usage(&self, user: UserId) -> Result<Usage, RepoError>;

    /// The user's unrevoked keys, newest first.
    async fn list_api_keys(&self, user: UserId) -> Result<Vec<ApiKey>, RepoError>;

    /// Revokes the user's key `id`; false when they have no such live key.
    async fn revoke_api_key(&self, user: UserId, id: i64) -> Result<bool, RepoError>;

    /// Users, oldest first, and how many match the filter in all.
    async fn list_users(&self, filter: UserFilter) -> Result<(Vec<User>, u64), RepoError>;

    async fn set_user_status(&self, user: UserId, status: UserStatus) -> Result<(), RepoError>;
    async fn set_user_role(&self, user: UserId, role: Role) -> Result<(), RepoError>;
    /// `None` makes the quota unlimited.
    async fn set_user_quota(&self, user: UserId, quota_bytes: Option<u64>) -> Result<(), RepoError>;

    /// Ids of the user's live media.
    async fn live_media_ids(&self, user: UserId) -> Result<Vec<MediaId>, RepoError>;
    /// How many of the user's media rows still have objects to purge.
    async fn unpurged_media(&self, user: UserId) -> Result<u64, RepoError>;
    /// Ends every session and revokes every key of the user.
    async fn revoke_credentials(&self, user: UserId) -> Result<(), RepoError>;
    /// Deletes the user row (folders, links, shares and tombstones go with it).
    async fn delete_user(&self, user: UserId) -> Result<(), RepoError>;
    async fn stats(&self) -> Result<Stats, RepoError>;
}

macro_rules! sql_account_repo {
    ($repo:ident) => {
        mod accounts_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use super::{$repo, key_from_row, user_from_row};
            use crate::domain::{ApiKey, MediaId, Role, User, UserId, UserStatus};
            use crate::repo::accounts::{AccountRepo, Stats, Usage, UserFilter};
            use crate::repo::sql::{TOTALS_SQL, USAGE_SQL, USER_COLUMNS, to_i64, to_u64};
            use crate::repo::{RepoError, now};

            fn changed(done: u64) -> Result<(), RepoError> {
                if done == 0 { Err(RepoError::NotFound) } else { Ok(()) }
            }

            #[async_trait]
            impl AccountRepo for $repo {
                #[tracing::instrument(skip_all, fields(username))]
                async fn create_user(&self, username: &str, password_hash: &str, role: Role, status: UserStatus) -> Result<User, RepoError> {
                    let sql = format!(
                        "INSERT INTO users (username, role, status, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {USER_COLUMNS}"
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(username)
                        .bind(role.as_str())
                        .bind(status.as_str())
                        .bind(password_hash)
                        .bind(now())
                        .fetch_one(&self.pool)
                        .await?;
                    user_from_row(&row)
                }

                async fn user_credentials(&self, username: &str) -> Result<(User, Option<String>), RepoError> {
                    let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1");
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(username).fetch_one(&self.pool).await?;
                    Ok((user_from_row(&row)?, row.try_get("password_hash")?))
                }

                async fn password_hash(&self, user: UserId) -> Result<Option<String>, RepoError> {
                    Ok(sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1").bind(user.0).fetch_one(&self.pool).await?)
                }

                async fn set_password(&self, user: UserId, hash: &str) -> Result<(), RepoError> {
                    let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1").bind(user.0).bind(hash).execute(&self.pool).await?;
                    changed(done.rows_affected())
                }

                async fn insert_session(&self, user: UserId, hash: &str, expires_at: DateTime<Utc>) -> Result<i64, RepoError> {
                    Ok(sqlx::query_scalar(
                        "INSERT INTO sessions (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id",
                    )
                    .bind(user.0)
                    .bind(hash)
                    .bind(now())
                    .bind(expires_at)
                    .fetch_one(&self.pool)
                    .await?)
                }

                async fn user_by_session_hash(&self, hash: &str, at: DateTime<Utc>) -> Result<(User, i64), RepoError> {
                    let sql = "SELECT u.id, u.username, u.role, u.status, u.quota_bytes, u.quota_files, u.created_at, s.id AS session_id \
                               FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2";
                    let row = sqlx::query(sql).bind(hash).bind(at).fetch_one(&self.pool).await?;
                    let id: i64 = row.try_get("session_id")?;
                    sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2").bind(at).bind(id).execute(&self.pool).await?;
                    Ok((user_from_row(&row)?, id))
                }

                async fn delete_session(&self, id: i64) -> Result<(), RepoError> {
                    sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(&self.pool).await?;
                    Ok(())
                }

                async fn delete_sessions(&self, user: UserId, keep: Option<i64>) -> Result<(), RepoError> {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
                        .bind(user.0)
                        .bind(keep.unwrap_or(-1))
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn usage(&self, user: UserId) -> Result<Usage, RepoError> {
                    let row = sqlx::query(USAGE_SQL)
                    .bind(user.0)
                    .fetch_one(&self.pool)
                    .await?;
                    let used = to_u64(row.try_get("originals")?).saturating_add(to_u64(row.try_get("derived")?));
                    Ok(Usage { used_bytes: used, file_count: to_u64(row.try_get("n")?) })
                }

                async fn list_api_keys(&self, user: UserId) -> Result<Vec<ApiKey>, RepoError> {
                    let rows = sqlx::query(
                        "SELECT id AS key_id, user_id, label, prefix, created_at AS key_created_at, last_used_at FROM api_keys \
                         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id DESC",
                    )
                    .bind(user.0)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(key_from_row).collect()
                }

                async fn revoke_api_key(&self, user: UserId, id: i64) -> Result<bool, RepoError> {
                    let done = sqlx::query("UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
                        .bind(id)
                        .bind(user.0)
                        .bind(now())
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn list_users(&self, filter: UserFilter) -> Result<(Vec<User>, u64), RepoError> {
                    let status = filter.status.map(UserStatus::as_str);
                    let sql = format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE ($1 IS NULL OR status = $1) ORDER BY id LIMIT $2 OFFSET $3"
                    );
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(status)
                        .bind(to_i64(filter.limit))
                        .bind(to_i64(filter.offset))
                        .fetch_all(&self.pool)
                        .await?;
                    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE ($1 IS NULL OR status = $1)")
                        .bind(status)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok((rows.iter().map(user_from_row).collect::<Result<_, _>>()?, to_u64(total)))
                }

                async fn set_user_status(&self, user: UserId, status: UserStatus) -> Result<(), RepoError> {
                    let done = sqlx::query("UPDATE users SET status = $2 WHERE id = $1").bind(user.0).bind(status.as_str()).execute(&self.pool).await?;
                    changed(done.rows_affected())
                }

                async fn set_user_role(&self, user: UserId, role: Role) -> Result<(), RepoError> {
                    let done = sqlx::query("UPDATE users SET role = $2 WHERE id = $1").bind(user.0).bind(role.as_str()).execute(&self.pool).await?;
                    changed(done.rows_affected())
                }

                async fn set_user_quota(&self, user: UserId, quota_bytes: Option<u64>) -> Result<(), RepoError> {
                    let done = sqlx::query("UPDATE users SET quota_bytes = $2 WHERE id = $1")
                        .bind(user.0)
                        .bind(quota_bytes.map(to_i64))
                        .execute(&self.pool)
                        .await?;
                    changed(done.rows_affected())
                }

                async fn live_media_ids(&self, user: UserId) -> Result<Vec<MediaId>, RepoError> {
                    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM media WHERE owner_id = $1 AND status NOT IN ('deleted', 'expired')")
                        .bind(user.0)
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(ids.iter().filter_map(|s| MediaId::parse(s)).collect())
                }

                async fn unpurged_media(&self, user: UserId) -> Result<u64, RepoError> {
                    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media WHERE owner_id = $1 AND NOT (status = 'expired' AND original_key = '')")
                        .bind(user.0)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(to_u64(n))
                }

                async fn revoke_credentials(&self, user: UserId) -> Result<(), RepoError> {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.0).execute(&self.pool).await?;
                    sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL").bind(user.0).bind(now()).execute(&self.pool).await?;
                    Ok(())
                }

                async fn delete_user(&self, user: UserId) -> Result<(), RepoError> {
                    let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(user.0).execute(&self.pool).await?;
                    changed(done.rows_affected())
                }

                async fn stats(&self) -> Result<Stats, RepoError> {
                    let row = sqlx::query(
                        "SELECT COUNT(*) AS users, \
                         CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending, \
                         CAST(COALESCE(SUM(CASE WHEN status = 'suspended' THEN 1 ELSE 0 END), 0) AS BIGINT) AS suspended FROM users",
                    )
                    .fetch_one(&self.pool)
                    .await?;
                    let media = sqlx::query(TOTALS_SQL)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(Stats {
                        users: to_u64(row.try_get("users")?),
                        pending_users: to_u64(row.try_get("pending")?),
                        suspended_users: to_u64(row.try_get("suspended")?),
                        files: to_u64(media.try_get("n")?),
                        bytes: to_u64(media.try_get("originals")?).saturating_add(to_u64(media.try_get("derived")?)),
                    })
                }
            }
        }
    };
}
