//! A step of the sweep: resumable uploads (tus, Uppy multipart and single
//! PUTs) past their expiry are removed — the row (one guarded delete, so
//! of several sweepers one does the rest), the storage multipart upload
//! underneath (aborted), the staging tail and the assembled bytes — and
//! their quota reservation is released. An upload that is being written
//! (a live lock) is left for a later sweep. The assembled object is kept
//! when a media row has the upload's id: a completion that got that far
//! owns it.

use mediaq_shared::repo::{RepoError, ResumableUpload, now};
use mediaq_shared::storage::ObjectKey;

use crate::env::Env;
use crate::error::JobError;

/// Uploads removed per sweep at most.
const BATCH: u64 = 100;

/// Removes expired resumable uploads; returns how many, and how many failed.
pub async fn run(env: &Env) -> Result<(u64, u64), JobError> {
    let mut removed = 0;
    let mut failed = 0;
    for upload in env.repo.expired_resumables(now(), BATCH).await? {
        match remove(env, &upload).await {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(upload = %upload.id, error = %e, "sweep: an expired upload could not be removed");
                failed += 1;
            }
        }
    }
    Ok((removed, failed))
}

async fn remove(env: &Env, upload: &ResumableUpload) -> Result<bool, JobError> {
    if !env.repo.delete_resumable(&upload.id).await? {
        return Ok(false);
    }
    let key = ObjectKey::parse(&upload.object_key);
    if let (Some(key), Some(mp)) = (&key, &upload.multipart_id) {
        env.storage.abort_multipart(key, mp).await?;
    }
    if upload.tail_bytes > 0 {
        env.storage.delete(&ObjectKey::tus_tail(&upload.id, upload.parts_bytes())).await?;
    }
    let recorded = !matches!(env.repo.media(&upload.id).await, Err(RepoError::NotFound));
    if let Some(key) = key.filter(|_| !recorded) {
        env.storage.delete(&key).await?;
    }
    env.repo.release_quota(upload.id.as_str()).await?;
    tracing::info!(upload = %upload.id, protocol = upload.protocol.as_str(), offset = upload.offset, "expired upload removed");
    Ok(true)
}
