//! Versions of a file (`/api/v1/files/{id}/versions`): new content keeps
//! the file's id, links, shares and folder; list, download one, restore
//! one (a new version sharing its objects), delete an old one. The current
//! version is what every URL serves. New content goes through the same
//! ingest pipeline as uploads (quota reserved first, streamed, undone on
//! failure) and the same processing job; the switch itself is one guarded
//! transaction (see `mediaq_shared::repo::versions`).

use std::io;

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures::TryStreamExt;
use serde_json::{Value, json};

use mediaq_shared::domain::Media;
use mediaq_shared::repo::{Refusal, VersionChange};
use mediaq_shared::storage::ObjectKey;

use crate::auth::Caller;
use crate::cache;
use crate::error::ApiError;
use crate::ingest::Pending;
use crate::lifecycle::remove_objects;
use crate::policy::{readable_file, writable_file};
use crate::present::native::resource;
use crate::state::AppState;

/// Longest `versionName`.
const MAX_NAME: usize = 255;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/files/{id}/versions", get(list).post(create))
        .route("/api/v1/files/{id}/versions/{n}", delete(remove))
        .route("/api/v1/files/{id}/versions/{n}/download", get(download))
        .route("/api/v1/files/{id}/versions/{n}/restore", post(restore))
}

/// `POST /api/v1/files/{id}/versions`: multipart `file` (and optional
/// `versionName`) → 202 with the file resource, the new content current.
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let media = match writable_file(&state, &caller, &id).await {
        Ok(media) => media,
        Err(e) => {
            crate::quota::drain_refused(request.into_body()).await;
            return Err(e);
        }
    };
    let owner = state.repo.user(media.owner_id).await?;
    let mut pending = Pending::for_version(&state, &owner, &media.id);
    let result = ingest(&state, &mut pending, request).await;
    pending.settle().await;
    result?;
    let media = state.repo.media(&media.id).await?;
    Ok((StatusCode::ACCEPTED, Json(resource(&state, &media).await?)))
}

async fn ingest(state: &AppState, pending: &mut Pending, request: Request) -> Result<u32, ApiError> {
    if let Err(e) = pending.reserve_for_body(request.headers()).await {
        crate::quota::drain(request.into_body(), state.config.max_upload_bytes.saturating_mul(2)).await;
        return Err(e);
    }
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::BadRequest("send the new version as multipart/form-data with a 'file' part".into()));
    }
    let mut multipart = Multipart::from_request(request, &()).await.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut name = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
        match field.name().unwrap_or_default() {
            "file" => pending.store(Box::pin(field.map_err(io::Error::other))).await?,
            "versionName" => {
                let mut value = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
                    if value.len() + chunk.len() > MAX_NAME * 4 {
                        return Err(ApiError::BadRequest(format!(
                            "'versionName' is longer than {MAX_NAME} characters"
                        )));
                    }
                    value.extend_from_slice(&chunk);
                }
                name = Some(check_name(&value)?);
            }
            _ => {}
        }
    }
    if !pending.has_file() {
        return Err(ApiError::EmptySource);
    }
    pending.commit_version(name.as_deref().filter(|n| !n.is_empty())).await
}

fn check_name(value: &[u8]) -> Result<String, ApiError> {
    let name = std::str::from_utf8(value).map_err(|_| ApiError::BadRequest("'versionName' is not UTF-8".into()))?;
    let name = name.trim();
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "'versionName' must be at most {MAX_NAME} characters without control characters"
        )));
    }
    Ok(name.to_owned())
}

/// `GET /api/v1/files/{id}/versions`: every kept version, newest first.
async fn list(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let media = readable_file(&state, &caller, &id).await?;
    let mut items = vec![json!({
        "version": media.version,
        "versionName": media.version_name,
        "sizeBytes": media.size,
        "sha256": media.sha256,
        "contentType": media.mime,
        "createdAt": media.version_at.unwrap_or(media.created_at),
        "current": true,
    })];
    for v in state.repo.versions(&media.id).await? {
        items.push(json!({
            "version": v.version,
            "versionName": v.name,
            "sizeBytes": v.size,
            "sha256": v.sha256,
            "contentType": v.mime,
            "createdAt": v.created_at,
            "current": false,
        }));
    }
    Ok(Json(json!({ "items": items })))
}

fn number(n: &str) -> Result<u32, ApiError> {
    n.parse::<u32>().ok().filter(|&n| n >= 1).ok_or(ApiError::NotFound)
}

/// The stored original of version `n` of `media`.
async fn version_key(state: &AppState, media: &Media, n: u32) -> Result<String, ApiError> {
    if n == media.version {
        return Ok(media.original_key.clone());
    }
    let versions = state.repo.versions(&media.id).await?;
    versions.into_iter().find(|v| v.version == n).map(|v| v.original_key).ok_or(ApiError::NotFound)
}

/// `GET /api/v1/files/{id}/versions/{n}/download`: `{url, expiresAt}`.
async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let media = readable_file(&state, &caller, &id).await?;
    let key = version_key(&state, &media, number(&n)?).await?;
    let key = ObjectKey::parse(&key)
        .ok_or_else(|| ApiError::Unavailable { what: "this version (still being fetched)".into() })?;
    let signed = state.storage.presign_get(&key, state.config.presign_ttl).await?;
    state.repo.add_download(&media.id).await?;
    let body = Json(json!({ "url": signed.url, "expiresAt": signed.expires_at }));
    Ok(([(header::CACHE_CONTROL, cache::no_store())], body))
}

fn refused(r: Refusal, conflict: &str) -> ApiError {
    match r {
        Refusal::NotFound => ApiError::NotFound,
        Refusal::Conflict => ApiError::Conflict(conflict.to_owned()),
    }
}

/// `POST /api/v1/files/{id}/versions/{n}/restore`: n's content becomes
/// version N+1; 202 with the file resource.
async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let media = writable_file(&state, &caller, &id).await?;
    let n = number(&n)?;
    match state.repo.restore_version(&media.id, n, state.config.max_versions).await? {
        VersionChange::Done { unreferenced, .. } => remove_objects(&state, &unreferenced).await,
        VersionChange::Refused(r) => return Err(refused(r, "this version was never processed and cannot be restored")),
    }
    let media = state.repo.media(&media.id).await?;
    Ok((StatusCode::ACCEPTED, Json(resource(&state, &media).await?)))
}

/// `DELETE /api/v1/files/{id}/versions/{n}`: removes an old version (409
/// for the current one).
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let media = writable_file(&state, &caller, &id).await?;
    match state.repo.delete_version(&media.id, number(&n)?).await? {
        VersionChange::Done { unreferenced, .. } => remove_objects(&state, &unreferenced).await,
        VersionChange::Refused(r) => {
            return Err(refused(r, "this is the current version: upload or restore another one first"));
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
