//! `PurgeMedia`: remove every object of a deleted or expired media, then
//! its rows — a deleted media disappears entirely; an expired one stays as
//! a tombstone (status `expired`, no objects, no variants) so its owner can
//! see what happened. Safe to run twice or concurrently.

use mediaq_shared::domain::{MediaId, MediaStatus};
use mediaq_shared::repo::RepoError;

use crate::env::Env;
use crate::error::JobError;

#[tracing::instrument(skip_all, fields(media = %id))]
pub async fn run(id: &MediaId, env: &Env) -> Result<(), JobError> {
    let media = match env.repo.media(id).await {
        Ok(m) => m,
        Err(RepoError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if !media.status.is_retired() {
        // Only retired media are purged; a stray job must not eat live data.
        tracing::warn!(status = %media.status, "purge asked for a live media; ignored");
        return Ok(());
    }
    env.storage.delete_media(id).await?;
    env.repo.delete_variants(id).await?;
    if media.status == MediaStatus::Deleted {
        env.repo.delete_media(id).await?;
    } else {
        env.repo.clear_expired_original(id).await?;
    }
    tracing::info!(status = %media.status, "media purged");
    Ok(())
}
