//! The sweep, scheduled every minute in `mediaq all` and `mediaq work`,
//! and run once by `mediaq sweep`: expired media stop being listed and
//! lose every object; presigned uploads never completed are removed;
//! resumable uploads (tus, Uppy) past their expiry are removed with
//! their bytes and reservations (see `resumable`); deleted media whose
//! purge was never queued are purged; media stuck in
//! `queued` / `processing` for `MEDIAQ_STUCK_SECS` (their queue entry
//! lost, or their worker gone) are queued again, or marked failed once
//! their job reached the delivery limit. Several sweepers at once are
//! safe: each media is claimed by one conditional update, and every
//! removal is idempotent. One item failing is logged and skipped; the
//! rest of the sweep goes on.

use mediaq_shared::domain::{MediaId, MediaStatus};
use mediaq_shared::events::FileEvent;
use mediaq_shared::queue::{Job, MAX_ATTEMPTS};
use mediaq_shared::repo::{StuckMedia, TrashKind, now};
use mediaq_shared::storage::{ObjectKey, StorageError};

use crate::env::Env;
use crate::error::JobError;
use crate::jobs::{self, orphans, purge};

/// Rows handled per batch.
const BATCH: u64 = 100;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub expired: u64,
    pub purged: u64,
    pub abandoned_uploads: u64,
    /// Expired resumable uploads (tus, Uppy) removed with their bytes.
    pub expired_resumables: u64,
    /// Stuck media queued again.
    pub requeued: u64,
    /// Stuck media marked failed at the delivery limit.
    pub gave_up: u64,
    /// Items that failed (logged; the next sweep tries them again).
    pub errors: u64,
    /// Temporary files and objects no row names (see `orphans`).
    pub orphans: u64,
    /// Trash entries past `MEDIAQ_TRASH_DAYS` removed for good.
    pub trash: u64,
}

#[tracing::instrument(skip_all)]
pub async fn run(env: &Env) -> Result<Swept, JobError> {
    let mut swept = Swept::default();
    expire(env, &mut swept).await?;
    for id in env.repo.retired_media(BATCH).await? {
        match purge::run(&id, env).await {
            Ok(()) => swept.purged += 1,
            Err(e) => item_failed(&mut swept, "purge", id.as_str(), &e),
        }
    }
    for upload in env.repo.expired_uploads(now(), BATCH).await? {
        match remove_upload(env, &upload).await {
            Ok(()) => swept.abandoned_uploads += 1,
            Err(e) => item_failed(&mut swept, "abandoned upload", upload.id.as_str(), &e),
        }
    }
    match jobs::resumable::run(env).await {
        Ok((removed, failed)) => {
            swept.expired_resumables = removed;
            swept.errors += failed;
        }
        Err(e) => item_failed(&mut swept, "expired resumable uploads", "-", &e),
    }
    requeue_stuck(env, &mut swept).await?;
    empty_old_trash(env, &mut swept).await?;
    match orphans::run_if_due(env).await {
        Ok(collected) => swept.orphans = collected.partials + collected.objects,
        Err(e) => item_failed(&mut swept, "orphan collection", "-", &e),
    }
    if swept != Swept::default() {
        tracing::info!(
            expired = swept.expired,
            purged = swept.purged,
            abandoned_uploads = swept.abandoned_uploads,
            expired_resumables = swept.expired_resumables,
            requeued = swept.requeued,
            gave_up = swept.gave_up,
            errors = swept.errors,
            orphans = swept.orphans,
            trash = swept.trash,
            "sweep"
        );
    }
    Ok(swept)
}

fn item_failed(swept: &mut Swept, what: &str, id: &str, e: &JobError) {
    tracing::warn!(item = what, id, error = %e, "sweep: one item failed; going on");
    swept.errors += 1;
}

/// Retires and purges media whose expiry has passed, batch by batch.
async fn expire(env: &Env, swept: &mut Swept) -> Result<(), JobError> {
    loop {
        let due = env.repo.expired_media(now(), BATCH).await?;
        let before = *swept;
        for media in &due {
            match env.repo.retire_media(&media.id, MediaStatus::Expired).await {
                Ok(true) => {
                    swept.expired += 1;
                    env.emit(&media.id, Some(FileEvent::Expired)).await;
                }
                Ok(false) => continue,
                Err(e) => {
                    item_failed(swept, "expiry", media.id.as_str(), &e.into());
                    continue;
                }
            }
            // A purge failing here is retried with the retired media below
            // and by the next sweep.
            if let Err(e) = purge::run(&media.id, env).await {
                item_failed(swept, "purge", media.id.as_str(), &e);
            }
        }
        // Stop on a short batch, or when nothing in it could be retired
        // (the same rows would come back forever).
        if (due.len() as u64) < BATCH || swept.expired == before.expired {
            return Ok(());
        }
    }
}

/// Removes for good the trash entries older than `MEDIAQ_TRASH_DAYS`: a
/// file is retired, a folder's media are retired with it and its rows
/// removed; their objects are purged here or by the next sweep.
async fn empty_old_trash(env: &Env, swept: &mut Swept) -> Result<(), JobError> {
    let days = i64::from(env.config.trash_days);
    let Some(before) = now().checked_sub_signed(chrono::Duration::days(days)) else { return Ok(()) };
    for item in env.repo.stale_trash(before, BATCH).await? {
        let retired = match item.kind {
            TrashKind::File => match MediaId::parse(&item.id) {
                Some(id) => match env.repo.retire_media(&id, MediaStatus::Deleted).await {
                    Ok(true) => vec![id],
                    Ok(false) => vec![],
                    Err(e) => {
                        item_failed(swept, "trash", &item.id, &e.into());
                        continue;
                    }
                },
                None => continue,
            },
            TrashKind::Folder => match env.repo.remove_trashed_folder(&item.id).await {
                Ok(ids) => ids.unwrap_or_default(),
                Err(e) => {
                    item_failed(swept, "trash", &item.id, &e.into());
                    continue;
                }
            },
        };
        swept.trash += 1;
        for id in retired {
            if let Err(e) = purge::run(&id, env).await {
                item_failed(swept, "purge", id.as_str(), &e);
            }
        }
    }
    Ok(())
}

async fn remove_upload(env: &Env, upload: &mediaq_shared::domain::Upload) -> Result<(), JobError> {
    if let Some(key) = ObjectKey::parse(&upload.object_key) {
        match env.storage.delete(&key).await {
            Ok(()) | Err(StorageError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    env.repo.delete_upload(&upload.id).await?;
    Ok(())
}

/// Queues again the media nothing has touched for `MEDIAQ_STUCK_SECS`
/// while unsettled; fails those whose job reached the delivery limit.
async fn requeue_stuck(env: &Env, swept: &mut Swept) -> Result<(), JobError> {
    let age = chrono::Duration::from_std(env.config.stuck_after).unwrap_or(chrono::Duration::MAX);
    let Some(before) = now().checked_sub_signed(age) else { return Ok(()) };
    for media in env.repo.stuck_media(before, BATCH).await? {
        match requeue(env, &media, before).await {
            Ok(Requeued::Queued) => swept.requeued += 1,
            Ok(Requeued::Failed) => swept.gave_up += 1,
            Ok(Requeued::Taken) => {}
            Err(e) => item_failed(swept, "stuck media", media.id.as_str(), &e),
        }
    }
    Ok(())
}

enum Requeued {
    Queued,
    Failed,
    /// Another sweeper claimed it, or it moved on meanwhile.
    Taken,
}

async fn requeue(env: &Env, media: &StuckMedia, before: chrono::DateTime<chrono::Utc>) -> Result<Requeued, JobError> {
    if !env.repo.claim_stuck(&media.id, before).await? {
        return Ok(Requeued::Taken);
    }
    if media.attempts as usize >= MAX_ATTEMPTS {
        jobs::fail(env, &media.id, &jobs::gave_up(media.attempts)).await?;
        tracing::warn!(media = %media.id, attempts = media.attempts, "stuck media failed at the delivery limit");
        return Ok(Requeued::Failed);
    }
    let job = if media.needs_fetch { Job::Fetch(media.id.clone()) } else { Job::Process(media.id.clone(), media.kind) };
    env.queue.enqueue(job).await.map_err(|e| JobError::Retryable(e.to_string()))?;
    tracing::info!(media = %media.id, status = %media.status, attempts = media.attempts, "stuck media queued again");
    Ok(Requeued::Queued)
}
