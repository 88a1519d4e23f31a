//! Taking in one upload: sniff its type from the first bytes, stream it to
//! storage while hashing it (SHA-256 and MD5 in the same pass) and counting
//! it against the size limit, then record the media and enqueue processing.
//!
//! Whatever goes wrong, nothing is left behind: a refused or broken body
//! leaves no object (storage puts are all-or-nothing) and no row.

use std::io;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use md5::Md5;
use sha2::{Digest, Sha256};

use mediaq_shared::domain::{Media, MediaId, MediaKind, MediaStatus, User, extension_for_mime, random_token};
use mediaq_shared::queue::ProcessMedia;
use mediaq_shared::repo::now;
use mediaq_shared::storage::{BodyStream, ObjectKey, StorageError};

use crate::error::ApiError;
use crate::state::AppState;

/// Bytes looked at to decide the type.
const SNIFF_LEN: usize = 512;

/// What the client told us about the upload, besides its bytes.
#[derive(Debug, Default, Clone)]
pub struct UploadMeta {
    pub filename: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub album_id: Option<String>,
    pub category_id: Option<String>,
    pub nsfw: bool,
    pub is_public: bool,
    pub resize_width: Option<u32>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored, recorded and enqueued upload.
#[derive(Debug)]
pub struct Ingested {
    pub media: Media,
    /// The secret of the delete URL, shown once; only its hash is stored.
    pub delete_secret: String,
}

/// The marker inside the `io::Error` the counting stream fails with.
#[derive(Debug, thiserror::Error)]
#[error("upload exceeds the size limit")]
struct LimitExceeded;

#[derive(Default)]
struct Digests {
    sha256: Sha256,
    md5: Md5,
    len: u64,
}

/// An original in storage, not yet recorded: the form it came in may
/// still hold the key or metadata.
#[derive(Debug)]
pub struct StoredOriginal {
    id: MediaId,
    key: ObjectKey,
    mime: &'static str,
    extension: &'static str,
    kind: MediaKind,
    size: u64,
    sha256: String,
    md5: String,
}

/// Sniffs, hashes and streams `body` to storage, within the size limit.
#[tracing::instrument(skip_all)]
pub async fn store(state: &AppState, mut body: BodyStream<'_>) -> Result<StoredOriginal, ApiError> {
    let head = read_head(&mut body).await?;
    if head.is_empty() {
        return Err(ApiError::EmptySource);
    }
    let detected = infer::get(&head).map(|t| t.mime_type());
    let (extension, kind) = detected
        .and_then(extension_for_mime)
        .ok_or_else(|| ApiError::UnsupportedType { detected: detected.map(str::to_owned) })?;
    let mime = detected.unwrap_or_default();

    let id = MediaId::generate();
    let key = ObjectKey::original(&id, extension);
    let limit = state.config.max_upload_bytes;
    let mut digests = Digests::default();
    let counted = futures::stream::once(async { Ok(head) }).chain(body).map(|chunk| {
        let chunk = chunk?;
        digests.len += chunk.len() as u64;
        if digests.len > limit {
            return Err(io::Error::other(LimitExceeded));
        }
        digests.sha256.update(&chunk);
        digests.md5.update(&chunk);
        Ok(chunk)
    });
    let stored = state.storage.put(&key, Box::pin(counted), mime).await;
    let size = stored.map_err(|e| body_error(e, limit))?;
    Ok(StoredOriginal {
        id,
        key,
        mime,
        extension,
        kind,
        size,
        sha256: hex::encode(digests.sha256.finalize()),
        md5: hex::encode(digests.md5.finalize()),
    })
}

/// Records a stored original as a new media of `owner` and enqueues its
/// processing. On failure the object is removed.
#[tracing::instrument(skip_all, fields(owner = %owner.id, media = %stored.id))]
pub async fn record(state: &AppState, owner: &User, stored: StoredOriginal, meta: UploadMeta) -> Result<Ingested, ApiError> {
    let delete_secret = random_token(32);
    let at = now();
    let media = Media {
        id: stored.id.clone(),
        owner_id: owner.id,
        status: MediaStatus::Queued,
        error: None,
        kind: stored.kind,
        mime: stored.mime.to_owned(),
        extension: stored.extension.to_owned(),
        original_filename: original_filename(meta.filename.as_deref(), stored.extension),
        title: meta.title,
        description: meta.description,
        tags: meta.tags,
        album_id: meta.album_id,
        category_id: meta.category_id,
        nsfw: meta.nsfw,
        is_public: meta.is_public,
        size: stored.size,
        width: None,
        height: None,
        duration_ms: None,
        is_animated: false,
        original_key: stored.key.to_string(),
        sha256: Some(stored.sha256.clone()),
        md5: Some(stored.md5.clone()),
        source_md5: Some(stored.md5.clone()),
        exif: None,
        resize_width: meta.resize_width,
        views: 0,
        created_at: at,
        updated_at: at,
        expires_at: meta.expires_at,
    };
    let secret_hash = hex::encode(Sha256::digest(delete_secret.as_bytes()));
    if let Err(e) = state.repo.insert_media(&media, Some(&secret_hash)).await {
        discard(state, stored).await;
        return Err(e.into());
    }
    if let Err(e) = state.queue.enqueue_process(ProcessMedia { media_id: media.id.clone() }).await {
        // Keep the record honest: the bytes are gone, the row says why.
        discard(state, stored).await;
        let mut failed = media;
        failed.status = MediaStatus::Failed;
        failed.error = Some("could not be queued for processing".into());
        let _ = state.repo.update_media(&failed).await;
        return Err(e.into());
    }
    tracing::info!(size = media.size, mime = %media.mime, "upload stored");
    Ok(Ingested { media, delete_secret })
}

/// Removes the object of an upload that will not be recorded.
pub async fn discard(state: &AppState, stored: StoredOriginal) {
    if let Err(e) = state.storage.delete(&stored.key).await {
        tracing::warn!(key = %stored.key, error = %e, "could not remove the object of a refused upload");
    }
}

/// Reads until `SNIFF_LEN` bytes (or the whole body, if shorter).
async fn read_head(body: &mut BodyStream<'_>) -> Result<Bytes, ApiError> {
    let mut head = BytesMut::new();
    while head.len() < SNIFF_LEN {
        match body.try_next().await {
            Ok(Some(chunk)) => head.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return Err(read_error(&e)),
        }
    }
    Ok(head.freeze())
}

fn body_error(e: StorageError, limit: u64) -> ApiError {
    match e {
        StorageError::Body(inner) if inner.get_ref().is_some_and(|i| i.is::<LimitExceeded>()) => ApiError::TooLarge { limit },
        StorageError::Body(inner) => read_error(&inner),
        other => other.into(),
    }
}

fn read_error(e: &io::Error) -> ApiError {
    if e.get_ref().is_some_and(|i| i.is::<LimitExceeded>()) {
        return ApiError::BadRequest("upload exceeds the size limit".into());
    }
    ApiError::BadRequest(format!("the upload body could not be read: {e}"))
}

/// The client's file name, cleaned of paths and control characters, or a
/// made-up one when it sent none.
fn original_filename(sent: Option<&str>, extension: &str) -> String {
    let base = sent.map(|s| s.rsplit(['/', '\\']).next().unwrap_or(s)).unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    if clean.trim().is_empty() { format!("upload.{extension}") } else { clean }
}

/// The Chevereto `name` of a media: its file name stem as a slug (ASCII
/// letters, digits, `-` and `_`; never a dot, so `name.th.ext` parses
/// back unambiguously).
pub fn slug(filename: &str) -> String {
    let stem = filename.rsplit_once('.').map_or(filename, |(s, _)| s);
    let mut out = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 100 {
            break;
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() { "file".to_owned() } else { trimmed.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_have_no_dots_or_spaces() {
        assert_eq!(slug("Badgers _ animated video.mp4"), "Badgers-_-animated-video");
        assert_eq!(slug("a.b.c.png"), "a-b-c");
        assert_eq!(slug("...png"), "file");
        assert_eq!(slug("日本.jpg"), "file");
    }

    #[test]
    fn filenames_lose_paths() {
        assert_eq!(original_filename(Some("C:\\x\\cat.png"), "png"), "cat.png");
        assert_eq!(original_filename(Some("../../etc/passwd"), "png"), "passwd");
        assert_eq!(original_filename(None, "jpg"), "upload.jpg");
    }
}
