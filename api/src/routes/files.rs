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

use mediaq_shared::domain::random_token;
use mediaq_shared::repo::OwnerEdit;
use mediaq_shared::storage::ObjectKey;

use crate::audit::{self, Actor, ClientIp};
use crate::auth::Caller;
use crate::cache;
use crate::delivery::attachment;
use crate::error::ApiError;
use crate::ingest::PUBLIC_TOKEN_LEN;
use crate::lifecycle::retire;
use crate::policy::{self, readable_file, writable_file};
use crate::present::native::resource;
use crate::state::AppState;

const MAX_PAGE_SIZE: u64 = 100;

/// `GET /api/v1/files/{id}`: the file resource with its current status.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let media = readable_file(&state, &caller, &id).await?;
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
            let folder = policy::readable_folder(&state, &caller, &folder).await?;
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

/// `GET /api/v1/files/{id}/download`: a signed, expiring URL to the
/// original (a secret: never stored by a cache).
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let media = readable_file(&state, &caller, &id).await?;
    let key = ObjectKey::parse(&media.original_key)
        .ok_or_else(|| ApiError::Unavailable { what: "this file (still being fetched)".into() })?;
    let signed = state.storage.presign_get(&key, state.config.presign_ttl).await?;
    let body = Json(json!({ "url": signed.url, "expiresAt": signed.expires_at }));
    Ok(([(axum::http::header::CACHE_CONTROL, cache::no_store())], body))
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
    let media = writable_file(&state, &caller, &id).await?;
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
            policy::check_folder(&state, media.owner_id, f).await?;
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
    let media = writable_file(&state, &caller, &id).await?;
    retire(&state, &media.id).await?;
    audit::record(&state, Actor::from(&caller), &ip, "file.delete", Some(format!("file:{}", media.id.as_str())), true)
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct Token {
    token: Option<String>,
}

/// `GET /api/v1/public/files/{id}/download?token=T`: the original, for
/// anyone with the link, never stored by a cache. A wrong, missing or
/// revoked token, or a suspended owner, is a 404.
pub async fn public_download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Token>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let media = policy::token_media(&state, &id, q.token.as_deref().unwrap_or_default()).await?;
    attachment(&state, &media, &headers).await
}
