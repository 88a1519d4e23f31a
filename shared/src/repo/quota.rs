//! Quota reservations: an upload reserves room before its bytes are
//! stored and releases it once the media is recorded (or it failed).
//!
//! A reservation locks the user's row first (an `UPDATE` that changes
//! nothing, which takes the row lock on Postgres and the write lock on
//! SQLite), then counts live media, their variants and unexpired
//! reservations with fresh reads, so concurrent uploads of one user are
//! checked one after the other and together never exceed the quota.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::UserId;
use crate::repo::RepoError;

/// What an upload asks to reserve.
#[derive(Debug, Clone)]
pub struct QuotaRequest<'a> {
    /// Chosen by the caller (a presigned upload uses its file id).
    pub id: &'a str,
    pub user: UserId,
    /// Bytes wanted; fewer (down to `min_bytes`) are granted when that is
    /// all that is left.
    pub want_bytes: u64,
    pub min_bytes: u64,
    /// Files the upload adds (1, or 0 for a size-only check).
    pub files: u64,
    pub expires_at: DateTime<Utc>,
    /// The byte quota of users who have none of their own.
    pub default_quota: Option<u64>,
}

/// Which limit refused a reservation, with the numbers to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaRefusal {
    /// True for the file-count limit, false for bytes.
    pub files: bool,
    /// Used plus reserved by uploads in flight.
    pub current: u64,
    pub limit: u64,
    pub remaining: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaAnswer {
    /// Bytes granted; `limit` and `current` (before this reservation) are
    /// the byte quota's, when there is one.
    Granted {
        bytes: u64,
        limit: Option<u64>,
        current: u64,
    },
    Refused(QuotaRefusal),
}

#[async_trait]
pub trait QuotaRepo: Send + Sync {
    async fn reserve_quota(&self, req: &QuotaRequest<'_>) -> Result<QuotaAnswer, RepoError>;
    /// Forgets a reservation (no error when it is gone already).
    async fn release_quota(&self, id: &str) -> Result<(), RepoError>;
    /// `None` makes the file count unlimited.
    async fn set_user_file_quota(&self, user: UserId, quota_files: Option<u64>) -> Result<(), RepoError>;
}

/// Decides a reservation from the counts read under the lock.
pub(crate) fn decide(
    req: &QuotaRequest<'_>,
    quota: Option<u64>,
    quota_files: Option<u64>,
    used: (u64, u64),
    reserved: (u64, u64),
) -> QuotaAnswer {
    let current = used.0.saturating_add(reserved.0);
    let limit = quota.or(req.default_quota);
    if let Some(max) = quota_files {
        let files = used.1.saturating_add(reserved.1);
        if req.files > 0 && files.saturating_add(req.files) > max {
            return QuotaAnswer::Refused(QuotaRefusal {
                files: true,
                current: files,
                limit: max,
                remaining: max.saturating_sub(files),
            });
        }
    }
    match limit {
        None => QuotaAnswer::Granted { bytes: req.want_bytes, limit: None, current },
        Some(limit) => {
            let remaining = limit.saturating_sub(current);
            if remaining < req.min_bytes.max(1) {
                QuotaAnswer::Refused(QuotaRefusal { files: false, current, limit, remaining })
            } else {
                QuotaAnswer::Granted { bytes: req.want_bytes.min(remaining), limit: Some(limit), current }
            }
        }
    }
}

macro_rules! sql_quota_repo {
    ($repo:ident) => {
        mod quota_impl {
            use async_trait::async_trait;
            use sqlx::Row;

            use super::$repo;
            use crate::domain::UserId;
            use crate::repo::quota::{QuotaAnswer, QuotaRepo, QuotaRequest, decide};
            use crate::repo::sql::{USAGE_SQL, to_i64, to_u64};
            use crate::repo::RepoError;

            #[async_trait]
            impl QuotaRepo for $repo {
                #[tracing::instrument(skip_all, fields(user = %req.user, want = req.want_bytes))]
                async fn reserve_quota(&self, req: &QuotaRequest<'_>) -> Result<QuotaAnswer, RepoError> {
                    let mut tx = self.pool.begin().await?;
                    let row = sqlx::query("UPDATE users SET quota_bytes = quota_bytes WHERE id = $1 RETURNING quota_bytes, quota_files")
                        .bind(req.user.0)
                        .fetch_one(&mut *tx)
                        .await?;
                    let quota = row.try_get::<Option<i64>, _>("quota_bytes")?.map(to_u64);
                    let quota_files = row.try_get::<Option<i64>, _>("quota_files")?.map(to_u64);
                    // One statement, so one snapshot: read in two, an upload
                    // recording its media and then releasing its reservation
                    // in between (Postgres, READ COMMITTED) would be counted
                    // in neither, and the quota overrun.
                    let sql = format!(
                        "SELECT u.n, u.originals, u.derived, r.bytes AS held_bytes, r.files AS held_files FROM ({USAGE_SQL}) u, \
                         (SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS bytes, CAST(COALESCE(SUM(files), 0) AS BIGINT) AS files \
                          FROM quota_reservations WHERE user_id = $1 AND expires_at > $2) r"
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(req.user.0).bind(crate::repo::now()).fetch_one(&mut *tx).await?;
                    let used = (to_u64(row.try_get("originals")?).saturating_add(to_u64(row.try_get("derived")?)), to_u64(row.try_get("n")?));
                    let held = (to_u64(row.try_get("held_bytes")?), to_u64(row.try_get("held_files")?));
                    let answer = decide(req, quota, quota_files, used, held);
                    if let QuotaAnswer::Granted { bytes, .. } = answer {
                        sqlx::query("INSERT INTO quota_reservations (id, user_id, bytes, files, expires_at) VALUES ($1, $2, $3, $4, $5)")
                            .bind(req.id)
                            .bind(req.user.0)
                            .bind(to_i64(bytes))
                            .bind(to_i64(req.files))
                            .bind(req.expires_at)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(answer)
                }

                async fn release_quota(&self, id: &str) -> Result<(), RepoError> {
                    sqlx::query("DELETE FROM quota_reservations WHERE id = $1 OR expires_at < $2")
                        .bind(id)
                        .bind(crate::repo::now())
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn set_user_file_quota(&self, user: UserId, quota_files: Option<u64>) -> Result<(), RepoError> {
                    let done = sqlx::query("UPDATE users SET quota_files = $2 WHERE id = $1")
                        .bind(user.0)
                        .bind(quota_files.map(to_i64))
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 0 { Err(RepoError::NotFound) } else { Ok(()) }
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(want: u64, min: u64) -> QuotaRequest<'static> {
        QuotaRequest {
            id: "x",
            user: UserId(1),
            want_bytes: want,
            min_bytes: min,
            files: 1,
            expires_at: Utc::now(),
            default_quota: None,
        }
    }

    #[test]
    fn decides_within_limits() {
        assert_eq!(
            decide(&req(500, 500), None, None, (10, 1), (0, 0)),
            QuotaAnswer::Granted { bytes: 500, limit: None, current: 10 }
        );
        assert_eq!(
            decide(&req(500, 1), Some(300), None, (100, 1), (50, 0)),
            QuotaAnswer::Granted { bytes: 150, limit: Some(300), current: 150 }
        );
        let refused = QuotaAnswer::Refused(QuotaRefusal { files: false, current: 250, limit: 300, remaining: 50 });
        assert_eq!(decide(&req(500, 100), Some(300), None, (200, 1), (50, 0)), refused);
        let files = QuotaAnswer::Refused(QuotaRefusal { files: true, current: 2, limit: 2, remaining: 0 });
        assert_eq!(decide(&req(1, 1), None, Some(2), (0, 1), (0, 1)), files);
        let mut default = req(10, 10);
        default.default_quota = Some(5);
        assert!(matches!(decide(&default, None, None, (0, 0), (0, 0)), QuotaAnswer::Refused(_)));
    }
}
