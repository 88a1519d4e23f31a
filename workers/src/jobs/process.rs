//! `ProcessMedia`: turn a stored original into a finished media —
//! checksum (when the bytes never passed through the API), probe, the
//! stored image's resize / EXIF removal, derivatives, facts — then `ready`.
//!
//! Idempotent: every object it writes has a fixed key, every row write
//! replaces the last (the derivatives' rows are written with `ready`, in
//! one transaction), and a media already settled is left alone, so a
//! redelivery after a crash yields the same objects and row. Row writes
//! touch only the job's own columns and apply only while the media is
//! `processing`: a PATCH meanwhile stays, and a media deleted or expired
//! meanwhile stops the job, which removes what it stored.

use futures::TryStreamExt;
use md5::Md5;
use sha2::{Digest, Sha256};

use mediaq_shared::domain::{Media, MediaKind, Variant, VariantKind};
use mediaq_shared::events::FileEvent;
use mediaq_shared::queue::ProcessMedia;
use mediaq_shared::repo::{OriginalFacts, Processed};
use mediaq_shared::storage::{ObjectKey, stream_of};

use crate::env::Env;
use crate::error::JobError;
use crate::media::Rendered;
use crate::media::image::{self, ImageOptions, ImageOutput};
use crate::media::probe::{Format, Limits};
use crate::media::source::Source;
use crate::media::video::{self, VideoOptions};
use crate::original;

#[tracing::instrument(skip_all, fields(media = %job.media_id))]
pub async fn run(job: &ProcessMedia, env: &Env) -> Result<(), JobError> {
    let Some(mut media) = super::start(env, &job.media_id).await? else { return Ok(()) };
    let version = media.version;
    match process(&mut media, env).await {
        Err(JobError::Stopped) => super::stopped(env, &media.id).await,
        // A permanent failure fails this version only: when a newer one
        // became current meanwhile, its own job settles it.
        Err(JobError::Permanent(reason)) => {
            if env.repo.fail_version(&media.id, version, &reason).await? {
                Err(JobError::Permanent(reason))
            } else {
                super::stopped(env, &media.id).await
            }
        }
        other => other,
    }
}

/// Everything between start and `ready`. Every row write is guarded by
/// the `processing` status: [`JobError::Stopped`] when one does not apply.
async fn process(media: &mut Media, env: &Env) -> Result<(), JobError> {
    let key = original_key(media)?;
    if media.sha256.is_none() {
        checksum(media, env, &key).await?;
    }
    let variants = match media.kind {
        MediaKind::Image => process_image(media, env, &key).await?,
        MediaKind::Video => process_video(media, env, &key).await?,
        // Any other file is stored and checksummed, never decoded.
        MediaKind::File => Vec::new(),
    };
    let taken_at = if media.use_file_date { date_taken(media.exif.as_ref()) } else { None };
    if !env.repo.finish_processing(&media.id, &Processed::of(media, taken_at), &variants).await? {
        return Err(JobError::Stopped);
    }
    env.emit(&media.id, Some(FileEvent::Ready)).await;
    tracing::info!(width = media.width, height = media.height, "media ready");
    Ok(())
}

fn original_key(media: &Media) -> Result<ObjectKey, JobError> {
    ObjectKey::parse(&media.original_key).ok_or_else(|| JobError::Permanent("the stored original is missing".into()))
}

/// SHA-256 and MD5 of an original that reached storage directly (a
/// presigned PUT), streamed: memory stays flat whatever the size.
async fn checksum(media: &mut Media, env: &Env, key: &ObjectKey) -> Result<(), JobError> {
    let mut body = env.storage.get(key, None).await?.stream;
    let (mut sha256, mut md5) = (Sha256::new(), Md5::new());
    while let Some(chunk) =
        body.try_next().await.map_err(|e| JobError::Retryable(format!("reading the original: {e}")))?
    {
        sha256.update(&chunk);
        md5.update(&chunk);
    }
    let md5 = hex::encode(md5.finalize());
    media.sha256 = Some(hex::encode(sha256.finalize()));
    media.source_md5 = Some(md5.clone());
    media.md5 = Some(md5);
    Ok(())
}

async fn process_image(media: &mut Media, env: &Env, key: &ObjectKey) -> Result<Vec<Variant>, JobError> {
    let opts = ImageOptions {
        max_pixels: env.config.max_pixels,
        max_frames: env.config.max_frames,
        resize_width: media.resize_width,
        strip_exif: env.config.strip_exif,
    };
    let started = std::time::Instant::now();
    let out = image_output(env, key, opts).await?;
    let rendered = started.elapsed();
    media.width = Some(out.width);
    media.height = Some(out.height);
    media.is_animated = out.is_animated;
    media.exif = out.exif;
    if let Some(r) = out.replacement {
        replace_original(media, env, key, Replacement { path: r.file.path(), mime: r.mime, extension: r.extension })
            .await?;
    }
    let mut outputs = vec![(VariantKind::Thumb, out.thumb)];
    outputs.extend(out.medium.map(|m| (VariantKind::Medium, m)));
    let variants = store_variants(media, env, outputs).await?;
    // Where a job's time goes (`MEDIAQ_LOG=mediaq_workers=debug`).
    tracing::debug!(read_render_ms = rendered.as_millis(), total_ms = started.elapsed().as_millis(), "image done");
    Ok(variants)
}

/// Probes a bounded head of the original and refuses by its header facts
/// before reading the rest; then reads only what decoding needs: a JPEG up
/// to its EOI in memory, anything else through a temporary file.
async fn image_output(env: &Env, key: &ObjectKey, opts: ImageOptions) -> Result<ImageOutput, JobError> {
    let limits = Limits { max_pixels: opts.max_pixels, max_frames: opts.max_frames };
    let head = original::probe_head(&env.storage, key, limits).await?;
    if head.probe.format == Format::Jpeg {
        let (primary, total) = original::read_jpeg(&env.storage, key, head).await?;
        tracing::debug!(bytes = primary.len(), "original read");
        let src = move || image::process(&Source::jpeg_primary(&primary, total), &opts).map_err(JobError::from);
        return env.cpu(src).await;
    }
    let (tmp, total) = original::download(&env.storage, key).await?;
    env.cpu(move || image::process(&Source::file(&head.bytes, tmp.path(), total), &opts).map_err(JobError::from)).await
}

/// A new original in a local file.
struct Replacement<'a> {
    path: &'a std::path::Path,
    mime: &'a str,
    extension: &'a str,
}

/// Stores the resized or metadata-stripped image or video as the
/// original, streamed from its file. Its checksum changes; `source_md5`
/// keeps the upload's.
async fn replace_original(media: &mut Media, env: &Env, old: &ObjectKey, r: Replacement<'_>) -> Result<(), JobError> {
    // The same revision as the original: each version keeps its own keys.
    let key = old.original_like(&media.id, r.extension);
    let stored = original::put_file(&env.storage, &key, r.path, r.mime).await?;
    media.sha256 = Some(stored.sha256);
    media.md5 = stored.md5;
    media.size = stored.size;
    r.mime.clone_into(&mut media.mime);
    r.extension.clone_into(&mut media.extension);
    media.original_key = key.to_string();
    if &key != old {
        // Record the new key first: a crash here leaves an extra object
        // under the media's prefix (purged with it), never a dangling row.
        if !env.repo.replace_original(&media.id, &OriginalFacts::of(media)).await? {
            return Err(JobError::Stopped);
        }
        env.storage.delete(old).await?;
    }
    Ok(())
}

/// EXIF `DateTimeOriginal` ("2019:05:01 12:30:00"), taken as UTC: EXIF
/// rarely says its zone.
fn date_taken(exif: Option<&serde_json::Value>) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = exif?.get("DateTimeOriginal")?.as_str()?;
    let naive = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y:%m:%d %H:%M:%S").ok()?;
    Some(naive.and_utc())
}

async fn process_video(media: &mut Media, env: &Env, key: &ObjectKey) -> Result<Vec<Variant>, JobError> {
    // ffmpeg reads from a file: copy the original to a temporary one.
    let (tmp, _) = original::download(&env.storage, key).await?;
    let opts = VideoOptions {
        max_pixels: env.config.max_pixels,
        max_duration_ms: u64::try_from(env.config.max_video_duration.as_millis()).unwrap_or(u64::MAX),
    };
    let strip = env.config.strip_exif;
    let (out, remuxed) = env
        .cpu(move || {
            let out = video::process(tmp.path(), &opts)?;
            // With MEDIAQ_STRIP_EXIF, the stored video loses its metadata tags too.
            let remuxed = if strip { video::strip_metadata(tmp.path(), out.mime)? } else { None };
            Ok((out, remuxed))
        })
        .await?;
    if let Some(file) = remuxed {
        let extension = media.extension.clone();
        replace_original(media, env, key, Replacement { path: file.path(), mime: out.mime, extension: &extension })
            .await?;
    }
    media.width = Some(out.width);
    media.height = Some(out.height);
    media.duration_ms = Some(out.duration_ms);
    // Thumb and medium come from the frame, as Chevereto makes them.
    let frame_bytes = out.frame.bytes.clone();
    let opts = ImageOptions { max_pixels: env.config.max_pixels, max_frames: 1, resize_width: None, strip_exif: false };
    let stills = env.cpu(move || image::process_bytes(&frame_bytes, &opts).map_err(JobError::from)).await?;
    let mut outputs = vec![(VariantKind::Frame, out.frame), (VariantKind::Thumb, stills.thumb)];
    outputs.extend(stills.medium.map(|m| (VariantKind::Medium, m)));
    store_variants(media, env, outputs).await
}

/// Stores the derivatives' objects side by side, each durable before it
/// returns; their rows are written with `ready` ([`process`]), so a row
/// never names an object that is not stored.
async fn store_variants(
    media: &Media,
    env: &Env,
    outputs: Vec<(VariantKind, Rendered)>,
) -> Result<Vec<Variant>, JobError> {
    let original = original_key(media)?;
    let puts = outputs.into_iter().map(|(kind, r)| {
        let key = original.variant_like(&media.id, kind, r.extension);
        async move {
            let size = r.bytes.len() as u64;
            env.storage.put(&key, stream_of(r.bytes), r.mime).await?;
            Ok::<_, JobError>(Variant {
                kind,
                key: key.to_string(),
                mime: r.mime.to_owned(),
                extension: r.extension.to_owned(),
                width: r.width,
                height: r.height,
                size,
            })
        }
    });
    futures::future::try_join_all(puts).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_taken_reads_exif_dates_only() {
        let exif = serde_json::json!({ "DateTimeOriginal": "2019:05:01 12:30:00" });
        assert_eq!(date_taken(Some(&exif)).map(|d| d.to_rfc3339()), Some("2019-05-01T12:30:00+00:00".into()));
        assert_eq!(date_taken(Some(&serde_json::json!({ "DateTimeOriginal": "yesterday" }))), None);
        assert_eq!(date_taken(None), None);
    }
}
