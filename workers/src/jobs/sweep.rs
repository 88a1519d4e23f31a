//! The expiry sweep, scheduled every minute in `mediaq all` and `mediaq
//! work`, and run once by `mediaq sweep`: expired media stop being listed
//! and lose every object; presigned uploads never completed are removed;
//! deleted media whose purge was never queued are purged. Several sweepers
//! at once are safe: each media is claimed by one conditional update, and
//! every removal is idempotent.

use mediaq_shared::domain::MediaStatus;
use mediaq_shared::repo::now;
use mediaq_shared::storage::{ObjectKey, StorageError};

use crate::env::Env;
use crate::error::JobError;
use crate::jobs::{orphans, purge};

/// Rows handled per batch.
const BATCH: u64 = 100;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub expired: u64,
    pub purged: u64,
    pub abandoned_uploads: u64,
    /// Temporary files and objects no row names (see `orphans`).
    pub orphans: u64,
}

#[tracing::instrument(skip_all)]
pub async fn run(env: &Env) -> Result<Swept, JobError> {
    let mut swept = Swept::default();
    loop {
        let due = env.repo.expired_media(now(), BATCH).await?;
        if due.is_empty() {
            break;
        }
        for media in &due {
            if env.repo.retire_media(&media.id, MediaStatus::Expired).await? {
                swept.expired += 1;
                purge::run(&media.id, env).await?;
            }
        }
        if (due.len() as u64) < BATCH {
            break;
        }
    }
    for id in env.repo.retired_media(BATCH).await? {
        purge::run(&id, env).await?;
        swept.purged += 1;
    }
    for upload in env.repo.expired_uploads(now(), BATCH).await? {
        if let Some(key) = ObjectKey::parse(&upload.object_key) {
            match env.storage.delete(&key).await {
                Ok(()) | Err(StorageError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        env.repo.delete_upload(&upload.id).await?;
        swept.abandoned_uploads += 1;
    }
    let collected = orphans::run_if_due(env).await?;
    swept.orphans = collected.partials + collected.objects;
    if swept != Swept::default() {
        tracing::info!(
            expired = swept.expired,
            purged = swept.purged,
            abandoned_uploads = swept.abandoned_uploads,
            orphans = swept.orphans,
            "sweep"
        );
    }
    Ok(swept)
}
