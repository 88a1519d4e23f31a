//! Taking in one upload: sniff its type from the first bytes, stream it to
//! storage while hashing it (SHA-256 and MD5 in the same pass) and counting
//! it against the size limit, then record the media and enqueue processing.
//!
//! Whatever goes wrong, nothing is left behind: a refused or broken body
//! leaves no object (storage puts are all-or-nothing) and no row.

use std::io;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use mediaq_shared::domain::{self, Media, MediaId, MediaKind, MediaStatus, User, random_token};
use mediaq_shared::queue::Job;
use mediaq_shared::repo::now;
use mediaq_shared::storage::{BodyStream, ObjectKey, StorageError, is_over_limit, put_hashed, read_head};

use crate::error::ApiError;
use crate::quota::Reserved;
use crate::state::AppState;

/// Bytes looked at to decide the type.
pub const SNIFF_LEN: usize = 512;

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
    /// Date the media by its EXIF date taken (admins only).
    pub use_file_date: bool,
}

/// A stored, recorded and enqueued upload.
#[derive(Debug)]
pub struct Ingested {
    pub media: Media,
    /// The secret of the delete URL, shown once; only its hash is stored.
    pub delete_secret: String,
}

/// An original in storage, not yet recorded: the form it came in may
/// still hold the key or metadata.
#[derive(Debug)]
pub struct StoredOriginal {
    pub id: MediaId,
    pub key: ObjectKey,
    pub mime: &'static str,
    pub extension: &'static str,
    pub kind: MediaKind,
    pub size: u64,
    /// Known when the bytes came through the API; a presigned upload is
    /// hashed by the worker.
    pub sha256: Option<String>,
    pub md5: Option<String>,
}

/// Sniffs, hashes and streams `body` to storage, within the size limit.
pub async fn store(state: &AppState, body: BodyStream<'_>) -> Result<StoredOriginal, ApiError> {
    store_within(state, body, None).await
}

/// [`store`], also within the room `quota` reserved: a body that goes
/// past it is refused and nothing is kept.
#[tracing::instrument(skip_all)]
pub async fn store_within(
    state: &AppState,
    mut body: BodyStream<'_>,
    quota: Option<&Reserved>,
) -> Result<StoredOriginal, ApiError> {
    let head = read_head(&mut body, SNIFF_LEN).await.map_err(|e| read_error(&e))?;
    if head.is_empty() {
        return Err(ApiError::EmptySource);
    }
    let (mime, extension, kind) = sniff(&head)?;
    let id = MediaId::generate();
    let key = ObjectKey::original(&id, extension);
    let max = state.config.max_upload_bytes;
    let cap = quota.and_then(Reserved::cap).filter(|&c| c < max);
    let whole = Box::pin(futures::stream::once(async { Ok(head) }).chain(body));
    let hashed =
        put_hashed(&state.storage, &key, whole, mime, cap.unwrap_or(max)).await.map_err(|e| match (quota, cap) {
            (Some(q), Some(_)) if is_over_limit(&e) => q.exceeded(),
            _ => body_error(e, max),
        })?;
    Ok(StoredOriginal {
        id,
        key,
        mime,
        extension,
        kind,
        size: hashed.size,
        sha256: Some(hashed.sha256),
        md5: Some(hashed.md5),
    })
}

/// A new media row for `owner`, before its bytes are known.
fn new_media(id: MediaId, owner: &User, meta: UploadMeta, extension: &str) -> Media {
    let at = now();
    Media {
        id,
        owner_id: owner.id,
        status: MediaStatus::Queued,
        error: None,
        kind: MediaKind::Image,
        mime: "application/octet-stream".into(),
        extension: extension.to_owned(),
        original_filename: original_filename(meta.filename.as_deref(), extension),
        title: meta.title,
        description: meta.description,
        tags: meta.tags,
        album_id: meta.album_id,
        category_id: meta.category_id,
        nsfw: meta.nsfw,
        public_token: meta.is_public.then(|| random_token(PUBLIC_TOKEN_LEN)),
        is_public: meta.is_public,
        size: 0,
        width: None,
        height: None,
        duration_ms: None,
        is_animated: false,
        original_key: String::new(),
        sha256: None,
        md5: None,
        source_md5: None,
        exif: None,
        resize_width: meta.resize_width,
        views: 0,
        created_at: at,
        updated_at: at,
        expires_at: meta.expires_at,
        source_url: None,
        use_file_date: meta.use_file_date,
    }
}

/// Characters of a public-link token: 32 base62 characters, ~190 bits.
pub const PUBLIC_TOKEN_LEN: usize = 32;

/// Records a stored original as a new media of `owner` and enqueues its
/// processing. On failure the object is removed.
#[tracing::instrument(skip_all, fields(owner = %owner.id, media = %stored.id))]
pub async fn record(
    state: &AppState,
    owner: &User,
    stored: StoredOriginal,
    meta: UploadMeta,
) -> Result<Ingested, ApiError> {
    let mut media = new_media(stored.id.clone(), owner, meta, stored.extension);
    media.kind = stored.kind;
    media.mime = stored.mime.to_owned();
    media.size = stored.size;
    media.original_key = stored.key.to_string();
    media.sha256 = stored.sha256.clone();
    media.md5 = stored.md5.clone();
    media.source_md5 = stored.md5.clone();
    let job = Job::Process(media.id.clone(), media.kind);
    match insert_and_enqueue(state, media, job).await {
        Ok(done) => {
            tracing::info!(size = done.media.size, mime = %done.media.mime, "upload stored");
            Ok(done)
        }
        Err(e) => {
            discard(state, stored).await;
            Err(e)
        }
    }
}

/// Records a remote-URL upload; a worker fetches it (SSRF-checked again
/// there, after DNS resolution).
#[tracing::instrument(skip_all, fields(owner = %owner.id))]
pub async fn record_remote(
    state: &AppState,
    owner: &User,
    url: &url::Url,
    mut meta: UploadMeta,
) -> Result<Ingested, ApiError> {
    if meta.filename.is_none() {
        meta.filename =
            url.path_segments().and_then(|mut s| s.next_back()).filter(|s| !s.is_empty()).map(str::to_owned);
    }
    let mut media = new_media(MediaId::generate(), owner, meta, "bin");
    media.source_url = Some(url.to_string());
    let job = Job::Fetch(media.id.clone());
    insert_and_enqueue(state, media, job).await
}

async fn insert_and_enqueue(state: &AppState, media: Media, job: Job) -> Result<Ingested, ApiError> {
    let delete_secret = random_token(32);
    let secret_hash = hex::encode(Sha256::digest(delete_secret.as_bytes()));
    state.repo.insert_media(&media, Some(&secret_hash)).await?;
    if let Err(e) = state.queue.enqueue(job).await {
        // Keep the record honest: the row says why nothing will happen.
        let _ = state.repo.fail_media(&media.id, "could not be queued for processing").await;
        return Err(e.into());
    }
    Ok(Ingested { media, delete_secret })
}

/// Removes the object of an upload that will not be recorded.
pub async fn discard(state: &AppState, stored: StoredOriginal) {
    if let Err(e) = state.storage.delete(&stored.key).await {
        tracing::warn!(key = %stored.key, error = %e, "could not remove the object of a refused upload");
    }
}

/// The type of a file from its first bytes (never from its name or the
/// client's Content-Type): MIME type, extension and kind.
pub fn sniff(head: &[u8]) -> Result<(&'static str, &'static str, MediaKind), ApiError> {
    domain::sniff(head).map_err(|detected| ApiError::UnsupportedType { detected: detected.map(str::to_owned) })
}

fn body_error(e: StorageError, limit: u64) -> ApiError {
    match e {
        e if is_over_limit(&e) => ApiError::TooLarge { limit },
        StorageError::Body(inner) => read_error(&inner),
        other => other.into(),
    }
}

fn read_error(e: &io::Error) -> ApiError {
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
