//! Metadata storage behind one trait, used as [`DynRepo`]: SQLite for the
//! embedded default, Postgres in production.
//!
//! Both backends run the same SQL (see [`sql`]): runtime queries with `$n`
//! placeholders, which both databases accept. Each has its own migrations
//! under `migrations/`. Backends map "no row" and unique violations to
//! [`RepoError::NotFound`] and [`RepoError::Conflict`], so nobody above this
//! module matches on `sqlx::Error`.

#[macro_use]
mod sql;
#[macro_use]
pub mod accounts;
#[macro_use]
pub mod audit;
#[macro_use]
pub mod quota;
#[macro_use]
pub mod folders;
#[macro_use]
pub mod links;
#[macro_use]
pub mod shares;
#[macro_use]
pub mod writes;
#[macro_use]
pub mod files;
#[macro_use]
pub mod versions;
#[macro_use]
pub mod resumable;
#[macro_use]
pub mod webhooks;
#[macro_use]
pub mod upload_links;
#[macro_use]
pub mod sized_thumbs;
mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};

pub use accounts::{AccountRepo, Stats, Usage, UserFilter};
pub use audit::{AuditEntry, AuditFilter, AuditRepo};
pub use files::{FileQuery, FileRepo, FileSort, FolderFilter, TrashItem, TrashKind};
pub use folders::{Folder, FolderRepo};
pub use links::{LinkRepo, PublicLink};
pub use postgres::PostgresRepo;
pub use quota::{QuotaAnswer, QuotaRefusal, QuotaRepo, QuotaRequest};
pub use resumable::{Progress, Protocol, RecordedPart, ResumableRepo, ResumableUpload};
pub use shares::{Share, ShareRepo};
pub use sized_thumbs::{SizedThumb, SizedThumbRepo, ThumbClaim, ThumbDone};
pub use sqlite::{SqliteRepo, open_pool as open_sqlite_pool, open_queue_pool as open_sqlite_queue_pool};
pub use upload_links::{SlotTake, UploadLink, UploadLinkRepo};
pub use versions::{Refusal, Version, VersionChange, VersionRepo};
pub use webhooks::{Attempt, Delivery, Webhook, WebhookRepo};
pub use writes::{MediaWriteRepo, OriginalFacts, OwnerEdit, Processed, StuckMedia};

use crate::config::{Config, DatabaseConfig};
use crate::domain::{ApiKey, Media, MediaId, MediaStatus, Role, Upload, User, UserId, Variant};

pub type DynRepo = Arc<dyn Repo>;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Backend(String),
}

impl From<sqlx::Error> for RepoError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Conflict(db.constraint().unwrap_or("unique").to_owned())
            }
            other => {
                crate::metrics::database_error(error_kind(&other));
                Self::Backend(other.to_string())
            }
        }
    }
}

/// The kind a failed query is counted under in the metrics.
fn error_kind(e: &sqlx::Error) -> &'static str {
    use sqlx::Error as E;
    match e {
        E::Io(_) | E::Tls(_) | E::Protocol(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => "connection",
        E::Database(_) => "query",
        E::TypeNotFound { .. }
        | E::ColumnIndexOutOfBounds { .. }
        | E::ColumnNotFound(_)
        | E::ColumnDecode { .. }
        | E::Encode(_)
        | E::Decode(_) => "decode",
        _ => "other",
    }
}

impl From<sqlx::migrate::MigrateError> for RepoError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Backend(format!("migration failed: {e}"))
    }
}

/// The current time at the precision both databases store (milliseconds),
/// so a value written and read back compares equal.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

#[async_trait]
pub trait Repo:
    AccountRepo
    + QuotaRepo
    + FolderRepo
    + LinkRepo
    + ShareRepo
    + AuditRepo
    + MediaWriteRepo
    + FileRepo
    + VersionRepo
    + ResumableRepo
    + WebhookRepo
    + UploadLinkRepo
    + SizedThumbRepo
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Readiness: can the database answer a query?
    async fn ping(&self) -> Result<(), RepoError>;

    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), RepoError>;

    /// The user named `username`, created with `role` when missing. An
    /// existing user asked for as admin is promoted.
    async fn ensure_user(&self, username: &str, role: Role) -> Result<User, RepoError>;

    async fn user(&self, id: UserId) -> Result<User, RepoError>;

    /// Stores a new API key by its hash; the key itself is never stored.
    async fn insert_api_key(
        &self,
        user: UserId,
        label: Option<&str>,
        prefix: &str,
        hash: &str,
    ) -> Result<ApiKey, RepoError>;

    /// The owner of the unrevoked key with this hash; marks it used.
    async fn user_by_key_hash(&self, hash: &str) -> Result<(User, ApiKey), RepoError>;

    async fn insert_media(&self, media: &Media, delete_secret_hash: Option<&str>) -> Result<(), RepoError>;

    /// Completes a presigned upload: in one transaction, deletes the
    /// uploads row of `media.id` (owned by `media.owner_id`) and inserts
    /// `media`. False, with nothing written, when the row was already gone
    /// (another `complete` won, or the upload expired).
    async fn complete_upload(&self, media: &Media, delete_secret_hash: Option<&str>) -> Result<bool, RepoError>;

    async fn media(&self, id: &MediaId) -> Result<Media, RepoError>;

    /// The owner's media, newest first.
    async fn list_media(&self, owner: UserId, offset: u64, limit: u64) -> Result<Vec<Media>, RepoError>;

    /// Inserts or replaces the media's variant of this kind while the
    /// media is `processing`; false (nothing written) otherwise.
    async fn put_variant(&self, media: &MediaId, variant: &Variant) -> Result<bool, RepoError>;

    /// [`put_variant`](Self::put_variant), only while `version` is the
    /// media's current version (a job's derivatives never land on another
    /// version).
    async fn put_version_variant(&self, media: &MediaId, version: u32, variant: &Variant) -> Result<bool, RepoError>;

    async fn variants(&self, media: &MediaId) -> Result<Vec<Variant>, RepoError>;

    /// How many listable (not deleted or expired) media the owner has.
    async fn count_media(&self, owner: UserId) -> Result<u64, RepoError>;

    /// Moves a live media to `status` (`Deleted` or `Expired`); false when
    /// it was already in one of those states, so of several concurrent
    /// callers exactly one wins.
    async fn retire_media(&self, id: &MediaId, status: MediaStatus) -> Result<bool, RepoError>;

    /// Removes the media row and its variants (after its objects are gone).
    async fn delete_media(&self, id: &MediaId) -> Result<(), RepoError>;

    /// Counts one view of the media's page.
    async fn add_view(&self, id: &MediaId) -> Result<(), RepoError>;

    /// Removes the media's variant rows (after their objects are gone).
    async fn delete_variants(&self, id: &MediaId) -> Result<(), RepoError>;

    /// Live media whose expiry has passed, oldest first.
    async fn expired_media(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<Media>, RepoError>;

    /// Media retired (deleted, or expired with objects left) whose purge
    /// is still to do.
    async fn retired_media(&self, limit: u64) -> Result<Vec<MediaId>, RepoError>;

    /// The stored hash of the media's delete-URL secret.
    async fn delete_secret_hash(&self, id: &MediaId) -> Result<Option<String>, RepoError>;

    async fn insert_upload(&self, upload: &Upload) -> Result<(), RepoError>;
    async fn upload(&self, id: &MediaId) -> Result<Upload, RepoError>;
    async fn delete_upload(&self, id: &MediaId) -> Result<(), RepoError>;
    async fn expired_uploads(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<Upload>, RepoError>;

    /// Records that `owner`'s request with Idempotency-Key `key` made
    /// `media`; `Conflict` when the key was used already.
    async fn claim_idempotency_key(&self, owner: UserId, key: &str, media: &MediaId) -> Result<(), RepoError>;
    /// The media (and stored response, once known) of an earlier request.
    async fn idempotent_result(&self, owner: UserId, key: &str)
    -> Result<Option<(MediaId, Option<String>)>, RepoError>;
    async fn store_idempotent_response(&self, owner: UserId, key: &str, response: &str) -> Result<(), RepoError>;
    /// Forgets a key whose request failed.
    async fn release_idempotency_key(&self, owner: UserId, key: &str) -> Result<(), RepoError>;

    /// Of `ids`, those a media row or a presigned-upload row still names,
    /// whatever its status: their objects are in use. The orphan sweep
    /// removes the objects of the others.
    async fn ids_in_use(&self, ids: &[MediaId]) -> Result<std::collections::HashSet<MediaId>, RepoError>;
}

/// Connects to the configured database (creating a SQLite file and its
/// directory when missing). Migrations are applied by [`Repo::migrate`].
pub async fn connect(config: &Config) -> Result<DynRepo, RepoError> {
    Ok(match &config.database {
        DatabaseConfig::Sqlite { url } => Arc::new(SqliteRepo::connect(url).await?),
        DatabaseConfig::Postgres { url } => Arc::new(PostgresRepo::connect(url.expose()).await?),
    })
}
