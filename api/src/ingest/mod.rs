//! Taking in one upload, through one pipeline for every route.
//!
//! A [`Pending`] upload holds what an ingest has spent so far: a quota
//! reservation, a stored object (sniffed, hashed and counted against the
//! limits on its way in, see [`store`]) and an `Idempotency-Key` claim.
//! It ends one of two ways: [`Pending::commit`] records the media and
//! enqueues its processing (the row then owns the object, the reservation
//! is released, the claim names the media), or it is discarded, by
//! [`Pending::settle`] or by being dropped (a cancelled request), which
//! removes the object and frees the reservation and the claim. No cleanup
//! ever deletes an object once a media row points at it. The presigned
//! flow ([`presigned`]) completes with the same guarantees.
//!
//! Routes only parse their input, drive a [`Pending`] and present the
//! result.

mod pending;
pub mod presigned;
mod store;

pub use pending::{Claimed, Pending};
pub use store::StoredOriginal;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use mediaq_shared::domain::{self, Media, MediaId, MediaKind, MediaStatus, User, random_token};
use mediaq_shared::repo::now;

use crate::error::ApiError;
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

/// A new media row for `owner`, before its bytes are known.
pub(crate) fn new_media(id: MediaId, owner: &User, meta: UploadMeta, extension: &str) -> Media {
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
        version: 1,
        version_name: None,
        version_at: None,
        downloads: 0,
        trashed_at: None,
    }
}

/// Characters of a public-link token: 32 base62 characters, ~190 bits.
pub const PUBLIC_TOKEN_LEN: usize = 32;

/// A fresh delete-URL secret and the hash stored in its place.
fn delete_secret() -> (String, String) {
    let secret = random_token(32);
    let hash = hex::encode(Sha256::digest(secret.as_bytes()));
    (secret, hash)
}

/// What an ingest route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Images and videos only (the Chevereto route).
    Media,
    /// Any file (the native routes); kind `file` for what is neither.
    Any,
}

/// The type of a file from its first bytes (never from its name or the
/// client's Content-Type): MIME type, extension and kind. Refused (415)
/// when the route does not take it or `MEDIAQ_ALLOWED_TYPES` leaves it out.
pub fn sniff(
    state: &AppState,
    head: &[u8],
    accept: Accept,
) -> Result<(&'static str, &'static str, MediaKind), ApiError> {
    let found = match accept {
        Accept::Media => domain::sniff(head)
            .map_err(|detected| ApiError::UnsupportedType { detected: detected.map(str::to_owned) })?,
        Accept::Any => domain::sniff_any(head),
    };
    if !state.config.allowed_types.allows(found.0) {
        return Err(ApiError::UnsupportedType { detected: Some(found.0.to_owned()) });
    }
    Ok(found)
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
