//! One job per file; this module re-exports them and holds the steps
//! the media jobs share: starting (one counted delivery), and stopping
//! when the media was retired under them.

pub mod fetch;
pub mod orphans;
pub mod process;
pub mod purge;
pub mod resumable;
pub mod sweep;

use mediaq_shared::domain::{Media, MediaId, MediaStatus};
use mediaq_shared::events::FileEvent;
use mediaq_shared::queue::MAX_ATTEMPTS;
use mediaq_shared::repo::RepoError;

use crate::env::Env;
use crate::error::JobError;

/// Starts a delivery of a job on media `id`: counts it, and returns the
/// media, or `None` when there is nothing to do — the media is retired,
/// settled (a redelivery after the job finished) or gone, or this
/// delivery is past the limit (then the media is marked failed: a job
/// that kills its worker every time must still end).
///
/// The row is read before the start is recorded, so the values a job
/// compares against later (the file name a fetch may replace) are never
/// ones an owner wrote after the job began.
pub(crate) async fn start(env: &Env, id: &MediaId) -> Result<Option<Media>, JobError> {
    let mut media = match env.repo.media(id).await {
        Ok(m) if m.status.is_settled() => return Ok(None),
        Ok(m) => m,
        Err(RepoError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(delivery) = env.repo.start_job(id).await? else { return Ok(None) };
    if media.status != MediaStatus::Processing {
        env.emit(id, None).await;
    }
    if delivery as usize > MAX_ATTEMPTS {
        tracing::warn!(media = %id, delivery, "delivery limit reached; marking the media failed");
        fail(env, id, &gave_up(delivery - 1)).await?;
        return Ok(None);
    }
    media.status = MediaStatus::Processing;
    Ok(Some(media))
}

/// The reason of a media whose job was delivered `attempts` times and never
/// finished.
pub(crate) fn gave_up(attempts: u32) -> String {
    format!("processing never finished: gave up after {attempts} attempts (the worker stopped or crashed each time)")
}

/// Marks the media failed (from `queued` / `processing` only); when it
/// was retired meanwhile, removes whatever this job stored instead.
pub async fn fail(env: &Env, id: &MediaId, reason: &str) -> Result<(), JobError> {
    if env.repo.fail_media(id, reason).await? {
        env.emit(id, Some(FileEvent::Failed)).await;
    } else {
        stopped(env, id).await?;
    }
    Ok(())
}

/// A guarded write of a job did not apply. When the media was retired or
/// removed under the job, every object and variant row it may have written
/// is removed now: the purge may already have run, and nothing may outlive
/// a deleted or expired media. When another delivery settled it, the
/// objects are the same fixed keys that delivery wrote, so they stay.
pub(crate) async fn stopped(env: &Env, id: &MediaId) -> Result<(), JobError> {
    match env.repo.media(id).await {
        Ok(m) if !m.status.is_retired() => return Ok(()),
        Ok(_) | Err(RepoError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(media = %id, "media retired during its job; removing what the job stored");
    env.storage.delete_media(id).await?;
    env.repo.delete_variants(id).await?;
    Ok(())
}
