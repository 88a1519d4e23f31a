//! `ProcessMedia`: turn a stored original into a finished media.
//!
//! Idempotent: every object it writes has a fixed key and every row write
//! replaces the last, so a second run (a redelivery after a crash) yields
//! the same objects and row. A media already settled is left alone.

use mediaq_shared::domain::{Media, MediaKind, MediaStatus, Variant, VariantKind};
use mediaq_shared::queue::ProcessMedia;
use mediaq_shared::repo::RepoError;
use mediaq_shared::storage::{ObjectKey, collect, stream_of};

use crate::env::Env;
use crate::error::JobError;
use crate::media::{Rendered, image};

#[tracing::instrument(skip_all, fields(media = %job.media_id))]
pub async fn run(job: &ProcessMedia, env: &Env) -> Result<(), JobError> {
    let mut media = match env.repo.media(&job.media_id).await {
        Ok(m) => m,
        // Deleted before we got to it: nothing left to do.
        Err(RepoError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if media.status.is_settled() {
        return Ok(());
    }
    if media.status != MediaStatus::Processing {
        media.status = MediaStatus::Processing;
        env.repo.update_media(&media).await?;
    }
    match media.kind {
        MediaKind::Image => process_image(&mut media, env).await?,
        MediaKind::Video => return Err(JobError::Permanent("video processing is not available yet".into())),
    }
    media.status = MediaStatus::Ready;
    media.error = None;
    env.repo.update_media(&media).await?;
    tracing::info!(width = media.width, height = media.height, "media ready");
    Ok(())
}

async fn process_image(media: &mut Media, env: &Env) -> Result<(), JobError> {
    let key = ObjectKey::parse(&media.original_key).ok_or_else(|| JobError::Permanent("the stored key is not valid".into()))?;
    // The original is bounded by MEDIAQ_MAX_UPLOAD_BYTES; decoding needs it whole.
    let body = env.storage.get(&key, None).await?;
    let bytes = collect(body.stream).await.map_err(|e| JobError::Retryable(format!("reading the original: {e}")))?;
    let max_pixels = env.config.max_pixels;
    let out = env.cpu(move || image::process(&bytes, max_pixels).map_err(JobError::from)).await?;
    media.width = Some(out.width);
    media.height = Some(out.height);
    store_variant(media, env, VariantKind::Thumb, out.thumb).await?;
    if let Some(medium) = out.medium {
        store_variant(media, env, VariantKind::Medium, medium).await?;
    }
    Ok(())
}

async fn store_variant(media: &Media, env: &Env, kind: VariantKind, r: Rendered) -> Result<(), JobError> {
    let key = ObjectKey::variant(&media.id, kind, r.extension);
    let size = r.bytes.len() as u64;
    env.storage.put(&key, stream_of(r.bytes), r.mime).await?;
    let variant = Variant {
        kind,
        key: key.to_string(),
        mime: r.mime.to_owned(),
        extension: r.extension.to_owned(),
        width: r.width,
        height: r.height,
        size,
    };
    env.repo.put_variant(&media.id, &variant).await?;
    Ok(())
}

/// Marks the media failed with `reason` (a permanent failure, or the
/// last delivery of a retryable one).
pub async fn fail(job: &ProcessMedia, env: &Env, reason: &str) -> Result<(), JobError> {
    let mut media = match env.repo.media(&job.media_id).await {
        Ok(m) => m,
        Err(RepoError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    media.status = MediaStatus::Failed;
    media.error = Some(reason.to_owned());
    env.repo.update_media(&media).await?;
    Ok(())
}
