//! The native file resource (camelCase), from the same stored media as the
//! Chevereto view.

use serde_json::{Map, Value, json};

use mediaq_shared::domain::{Media, User, Variant};
use mediaq_shared::repo::{Folder, Usage};

use super::MediaUrls;
use crate::error::ApiError;
use crate::state::AppState;

/// The file resource of `media`, with its variants.
pub async fn resource(state: &AppState, media: &Media) -> Result<Value, ApiError> {
    let variants = state.repo.variants(&media.id).await?;
    let mut shown = file(&state.config.public_url, media, &variants);
    shown["versionCount"] = json!(state.repo.older_versions(&media.id).await? + 1);
    super::signed::sign_private(state, media, &variants, &mut shown);
    Ok(shown)
}

/// A folder as the native API shows it.
pub fn folder(f: &Folder) -> Value {
    json!({ "id": f.id, "name": f.name, "parentId": f.parent_id, "createdAt": f.created_at, "updatedAt": f.updated_at })
}

/// A user as the native API shows it (with usage when known).
pub fn user(user: &User, usage: Option<Usage>) -> Value {
    let mut v = json!({
        "id": user.id.0,
        "username": user.username,
        "role": user.role,
        "status": user.status,
        "quotaBytes": user.quota_bytes,
        "quotaFiles": user.quota_files,
        "createdAt": user.created_at,
    });
    if let Some(u) = usage {
        v["usedBytes"] = json!(u.used_bytes);
        v["fileCount"] = json!(u.file_count);
    }
    v
}

pub fn file(base: &str, media: &Media, variants: &[Variant]) -> Value {
    let urls = MediaUrls::new(base, media);
    let variant_map: Map<String, Value> = variants
        .iter()
        .map(|v| {
            let shown = json!({ "url": urls.variant(v), "width": v.width, "height": v.height, "sizeBytes": v.size, "contentType": v.mime });
            (v.kind.as_str().to_owned(), shown)
        })
        .collect();
    json!({
        "id": media.id.as_str(),
        "name": media.original_filename,
        "title": media.title,
        "contentType": media.mime,
        "kind": media.kind.as_str(),
        "sizeBytes": media.size,
        "status": media.status.as_str(),
        "error": media.error,
        "sha256": media.sha256,
        "width": media.width,
        "height": media.height,
        "durationMs": media.duration_ms,
        "isAnimated": media.is_animated,
        "isPublic": media.is_public,
        "views": media.views,
        "downloads": media.downloads,
        "version": media.version,
        "versionName": media.version_name,
        "url": media.is_public.then(|| urls.original()),
        "publicUrl": media.public_token.as_ref().filter(|_| media.is_public).map(|t| format!("{base}/api/v1/public/files/{}/download?token={t}", media.id)),
        "viewerUrl": media.is_public.then(|| urls.viewer()),
        "createdAt": media.created_at,
        "updatedAt": media.updated_at,
        "expiresAt": media.expires_at,
        "variants": variant_map,
    })
}
