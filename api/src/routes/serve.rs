//! Public media by URL: `GET /images/{id}/{name}[.th|.md|.fr].{ext}`.
//!
//! Only public, finished media of an active owner are served (see
//! [`crate::policy::public_media`]); the bytes go out through
//! [`crate::delivery`], cached as [`Cache::public_media`] says: a year and
//! `immutable` for media that never expire, no longer than their expiry
//! otherwise.
//!
//! A private media is served to whoever holds a signed URL for it
//! (`?expires=…&signature=…`, made by [`crate::present::signed`] for its
//! owner's pages), while the media is live, finished and its owner active,
//! cached only by that browser and only while the signature holds.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;

use mediaq_shared::domain::{Media, MediaId, MediaKind, MediaStatus, VariantKind};
use mediaq_shared::signing::SignedRequest;
use mediaq_shared::storage::ObjectKey;

use crate::cache::Cache;
use crate::delivery::{Servable, attachment, original, send_cached};
use crate::error::ApiError;
use crate::policy;
use crate::state::AppState;

pub async fn image_file(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    Query(sig): Query<Signature>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = MediaId::parse(&id).ok_or(ApiError::NotFound)?;
    // Only finished media: processing may still replace the original
    // (resize, EXIF removal), and these URLs are cached.
    let (media, cache) = match (sig.expires, sig.signature.as_deref()) {
        (Some(expires), Some(signature)) => {
            let path = format!("/images/{id}/{file}");
            let req = SignedRequest { method: "GET", path: &path, expires, size: None, signature };
            state.signer.verify(&req, state.config.presign_ttl).map_err(|_| ApiError::NotFound)?;
            let left = expires - Utc::now().timestamp();
            (signed_media(&state, &id).await?, Cache::Private { max_age: left })
        }
        _ => {
            let media = policy::public_media(&state, &id, true).await?;
            let cache = Cache::public_media(&media, Utc::now());
            (media, cache)
        }
    };
    let variant = variant_of(&file);
    if variant.is_none() && media.kind == MediaKind::File {
        // Files are never shown inline: an attachment, whatever the URL.
        return attachment(&state, &media, &headers).await;
    }
    let object = match variant {
        None => original(&media)?,
        Some(kind) => {
            let variants = state.repo.variants(&media.id).await?;
            let v = variants.into_iter().find(|v| v.kind == kind).ok_or(ApiError::NotFound)?;
            Servable {
                key: ObjectKey::parse(&v.key).ok_or(ApiError::NotFound)?,
                etag: format!("\"{}-{}-{}\"", media.id, kind, v.size),
                mime: v.mime,
                size: v.size,
            }
        }
    };
    send_cached(&state, &object, &headers, cache).await
}

/// The signature query of a private media's URL.
#[derive(Debug, serde::Deserialize)]
pub struct Signature {
    expires: Option<i64>,
    signature: Option<String>,
}

/// The media behind a valid signed URL: live, ready, its owner active.
async fn signed_media(state: &AppState, id: &MediaId) -> Result<Media, ApiError> {
    let media = state.repo.media(id).await?;
    if !policy::is_live(&media) || media.status != MediaStatus::Ready {
        return Err(ApiError::NotFound);
    }
    if !policy::owner_active(state, media.owner_id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(media)
}

/// `name.th.jpg` → thumb; `name.jpg` → the original (`None`).
fn variant_of(file: &str) -> Option<VariantKind> {
    let mut parts = file.rsplitn(3, '.');
    let _ext = parts.next();
    let suffix = parts.next()?;
    parts.next()?;
    VariantKind::from_suffix(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_map_to_variants() {
        assert_eq!(variant_of("cat.jpg"), None);
        assert_eq!(variant_of("cat.th.jpg"), Some(VariantKind::Thumb));
        assert_eq!(variant_of("cat.md.png"), Some(VariantKind::Medium));
        assert_eq!(variant_of("cat.fr.jpg"), Some(VariantKind::Frame));
        assert_eq!(variant_of("cat.xx.jpg"), None);
    }
}
