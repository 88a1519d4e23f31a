//! The native files API (`/api/v1/files`): the caller's own media, as the
//! camelCase file resource, with problem+json errors. Someone else's file
//! answers 404, exactly as a missing one does (no existence leak); admins
//! see every file.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::{Media, MediaId, MediaStatus, Role, random_token};
use mediaq_shared::queue::Job;
use mediaq_shared::repo::OwnerEdit;
use mediaq_shared::storage::ObjectKey;

use crate::audit::{self, Actor, ClientIp};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ingest::PUBLIC_TOKEN_LEN;
use crate::present::native;
use crate::routes::serve::is_live;
use crate::state::AppState;

const MAX_PAGE_SIZE: u64 = 100;

/// The caller's live media `id`, or 404.
pub async fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<Media, ApiError> {
    let id = MediaId::parse(id).ok_or(ApiError::NotFound)?;
    let media = state.repo.media(&id).await?;
    let allowed = media.owner_id == caller.user.id || caller.user.role == Role::Admin;
    if !allowed || matches!(media.status, MediaStatus::Deleted | MediaStatus::Expired) {
        return Err(ApiError::NotFound);
    }
    Ok(media)
}

/// The live media `id` if the caller may read it: its owner, an admin, or
/// a user it is shared with (itself or through a folder); else 404.
pub async fn readable(state: &AppState, caller: &Caller, id: &str) -> Result<Media, ApiError> {
    match owned(state, caller, id).await {
        Err(ApiError::NotFound) => {}
        other => return other,
    }
    let media = state.repo.media(&MediaId::parse(id).ok_or(ApiError::NotFound)?).await?;
    if is_live_status(&media) && crate::routes::shares::can_read_media(state, caller.user.id, &media).await? {
        return Ok(media);
    }
    Err(ApiError::NotFound)
}

/// [`owned`], but 403 (not 404) for a user the file is shared with.
pub async fn writable(state: &AppState, caller: &Caller, id: &str) -> Result<Media, ApiError> {
    match owned(state, caller, id).await {
        Err(ApiError::NotFound) => {
            readable(state, caller, id).await?;
            Err(ApiError::Forbidden("this file is shared with you read-only".into()))
        }
        other => other,
    }
}

fn is_live_status(media: &Media) -> bool {
    !matches!(media.status, MediaStatus::Deleted | MediaStatus::Expired)
}

/// The file resource of `media`, with its variants.
pub async fn resource(state: &AppState, media: &Media) -> Result<Value, ApiError> {
    let variants = state.repo.variants(&media.id).await?;
    Ok(native::file(&state.config.public_url, media, &variants))
}

/// `GET /api/v1/files/{id}`: the file resource with its current status.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let media = readable(&state, &caller, &id).await?;
    Ok(Json(resource(&state, &media).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    page: Option<String>,
    limit: Option<String>,
    /// Only the media directly in this folder.
    folder_id: Option<String>,
}

/// `GET /api/v1/files?page=1&limit=20`: the caller's media, newest first.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(paging): Query<Paging>,
) -> Result<Json<Value>, ApiError> {
    let number = |name: &str, v: Option<&str>, default: u64, max: u64| -> Result<u64, ApiError> {
        match v {
            None => Ok(default),
            Some(s) => match s.parse::<u64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::BadRequest(format!("'{name}' must be a whole number from 1 to {max}"))),
            },
        }
    };
    let page = number("page", paging.page.as_deref(), 1, 1_000_000)?;
    let limit = number("limit", paging.limit.as_deref(), 20, MAX_PAGE_SIZE)?;
    let owner = caller.user.id;
    let (items, total) = match paging.folder_id.filter(|f| !f.is_empty()) {
        Some(folder) => {
            let folder = crate::routes::folders::readable_folder(&state, &caller, &folder).await?;
            state.repo.list_folder_media(folder.owner_id, &folder.id, (page - 1) * limit, limit).await?
        }
        None => {
            tokio::try_join!(state.repo.list_media(owner, (page - 1) * limit, limit), state.repo.count_media(owner))?
        }
    };
    let mut shown = Vec::with_capacity(items.len());
    for media in &items {
        shown.push(resource(&state, media).await?);
    }
    Ok(Json(json!({
        "items": shown, "page": page, "limit": limit, "total": total,
        "hasMore": page * limit < total,
    })))
}

/// `GET /api/v1/files/{id}/download`: a signed, expiring URL to the original.
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let media = readable(&state, &caller, &id).await?;
    let key = ObjectKey::parse(&media.original_key)
        .ok_or_else(|| ApiError::Unavailable { what: "this file (still being fetched)".into() })?;
    let signed = state.storage.presign_get(&key, state.config.presign_ttl).await?;
    Ok(Json(json!({ "url": signed.url, "expiresAt": signed.expires_at })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Patch {
    is_public: Option<bool>,
    name: Option<String>,
    title: Option<String>,
    folder_id: Option<String>,
}

/// `PATCH /api/v1/files/{id}`: make public (with a fresh link token) or
/// private (revoking the link), rename, retitle, move.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: crate::json::Body<Patch>,
) -> Result<Json<Value>, ApiError> {
    let media = writable(&state, &caller, &id).await?;
    let patch = body.0;
    let mut edit =
        OwnerEdit { public: patch.is_public, new_token: random_token(PUBLIC_TOKEN_LEN), ..OwnerEdit::default() };
    if let Some(name) = patch.name {
        let name = name.trim();
        if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) || name.contains(['/', '\\']) {
            return Err(ApiError::BadRequest(
                "'name' must be 1 to 255 characters, without slashes or control characters".into(),
            ));
        }
        edit.name = Some(name.to_owned());
    }
    if let Some(title) = patch.title {
        edit.title = Some(Some(title.trim().chars().take(255).collect()).filter(|t: &String| !t.is_empty()));
    }
    if let Some(folder) = patch.folder_id {
        let folder = Some(folder).filter(|f| !f.is_empty());
        if let Some(f) = &folder {
            crate::routes::folders::check_folder(&state, media.owner_id, f).await?;
        }
        edit.folder = Some(folder);
    }
    // Only the fields asked for are written, so a job finishing meanwhile
    // cannot undo this edit, nor this edit the job's facts. A media
    // deleted meanwhile is a 404.
    if !state.repo.edit_media(&media.id, &edit).await? {
        return Err(ApiError::NotFound);
    }
    let media = state.repo.media(&media.id).await?;
    Ok(Json(resource(&state, &media).await?))
}

/// `DELETE /api/v1/files/{id}`: gone at once for every reader; its
/// objects are purged in the background.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let media = writable(&state, &caller, &id).await?;
    retire(&state, &media.id).await?;
    audit::record(&state, Actor::from(&caller), &ip, "file.delete", Some(format!("file:{}", media.id.as_str())), true)
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks a media deleted and queues the purge of its objects. A purge
/// that cannot be queued now is picked up by the next sweep.
pub async fn retire(state: &AppState, id: &MediaId) -> Result<(), ApiError> {
    if state.repo.retire_media(id, MediaStatus::Deleted).await?
        && let Err(e) = state.queue.enqueue(Job::Purge(id.clone())).await
    {
        tracing::warn!(media = %id, error = %e, "purge not queued; the sweep will do it");
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct Token {
    token: Option<String>,
}

/// `GET /api/v1/public/files/{id}/download?token=T`: the original, for
/// anyone with the link. A wrong, missing or revoked token is a 404.
pub async fn public_download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Token>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let id = MediaId::parse(&id).ok_or(ApiError::NotFound)?;
    let media = state.repo.media(&id).await?;
    let presented = q.token.unwrap_or_default();
    let valid = media.is_public
        && media.public_token.as_deref().is_some_and(|t| constant_time_eq(t.as_bytes(), presented.as_bytes()));
    if !valid || !is_live(&media) || media.status != MediaStatus::Ready {
        return Err(ApiError::NotFound);
    }
    attachment(&state, &media, &headers).await
}

/// The original of `media` as a download (Range and ETag honoured).
pub async fn attachment(
    state: &AppState,
    media: &Media,
    headers: &axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let object = crate::routes::serve::original(media)?;
    let mut response = crate::routes::serve::send(state, &object, headers).await?;
    let disposition = format!("attachment; filename=\"{}\"", media.original_filename.replace(['"', '\\'], "_"));
    if let Ok(v) = axum::http::HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(response.into_response())
}

/// Compares secrets without leaking where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
