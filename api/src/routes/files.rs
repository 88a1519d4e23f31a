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

use mediaq_shared::domain::MediaKind;
use mediaq_shared::domain::random_token;
use mediaq_shared::repo::{FileQuery, FileSort, FolderFilter, OwnerEdit};
use mediaq_shared::storage::ObjectKey;

use crate::audit::{self, Actor, ClientIp};
use crate::auth::Caller;
use crate::cache;
use crate::delivery::attachment;
use crate::error::ApiError;
use crate::ingest::PUBLIC_TOKEN_LEN;
use crate::paging::{self, Page};
use crate::policy::{self, readable_file, writable_file};
use crate::present::native::resource;
use crate::state::AppState;

/// `GET /api/v1/files/{id}`: the file resource with its current status.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let media = readable_file(&state, &caller, &id).await?;
    Ok(Json(resource(&state, &media).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    page: Option<String>,
    limit: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    kind: Option<String>,
    is_public: Option<String>,
    q: Option<String>,
    /// A folder id, or `root` for files outside any folder.
    folder_id: Option<String>,
    sha256: Option<String>,
}

/// `GET /api/v1/files`: the caller's files (a folder's, for its sharees
/// too), paged, sorted and filtered: `{items, page, limit, total,
/// totalPages}`. Any bad value is a 400.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let page = Page::parse(p.page.as_deref(), p.limit.as_deref())?;
    let mut query = FileQuery {
        owner: caller.user.id,
        folder: FolderFilter::Any,
        kind: p.kind.as_deref().map(parse_kind).transpose()?,
        is_public: p.is_public.as_deref().map(parse_bool).transpose()?,
        name_contains: p.q.filter(|q| !q.is_empty()),
        sha256: p.sha256.as_deref().map(parse_sha256).transpose()?,
        sort: match p.sort.as_deref() {
            None => FileSort::CreatedAt,
            Some(s) => FileSort::parse(s).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "'sort' must be one of createdAt, updatedAt, name, size, views, downloads, not {s:?}"
                ))
            })?,
        },
        descending: paging::descending(p.order.as_deref())?,
        offset: page.offset(),
        limit: page.limit,
    };
    match p.folder_id.as_deref() {
        None | Some("") => {}
        Some("root") => query.folder = FolderFilter::Root,
        Some(id) => {
            // A sharee lists the owner's folder.
            let folder = policy::readable_folder(&state, &caller, id).await?;
            query.owner = folder.owner_id;
            query.folder = FolderFilter::In(folder.id);
        }
    }
    if query.name_contains.as_ref().is_some_and(|q| q.chars().count() > 255) {
        return Err(ApiError::BadRequest("'q' must be at most 255 characters".into()));
    }
    let (items, total) = state.repo.list_files(&query).await?;
    let mut shown = Vec::with_capacity(items.len());
    for media in &items {
        shown.push(resource(&state, media).await?);
    }
    Ok(Json(page.body(shown, total)))
}

fn parse_kind(s: &str) -> Result<MediaKind, ApiError> {
    s.parse().map_err(|_| ApiError::BadRequest(format!("'kind' must be image, video or file, not {s:?}")))
}

fn parse_bool(s: &str) -> Result<bool, ApiError> {
    match s {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::BadRequest(format!("'isPublic' must be true or false, not {s:?}"))),
    }
}

fn parse_sha256(s: &str) -> Result<String, ApiError> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(ApiError::BadRequest("'sha256' must be 64 hexadecimal characters".into()))
    }
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
    // The bytes go out from storage directly: counted when handed out.
    state.repo.add_download(&media.id).await?;
    let body = Json(json!({ "url": signed.url, "expiresAt": signed.expires_at }));
    Ok(([(axum::http::header::CACHE_CONTROL, cache::no_store())], body))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Deserialize)]
pub struct Permanent {
    permanent: Option<bool>,
}

/// `DELETE /api/v1/files/{id}[?permanent=true]`: gone at once for every
/// reader, into the trash (restorable) or, permanently, retired with its
/// objects purged in the background (see [`crate::lifecycle`]).
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<Permanent>,
) -> Result<StatusCode, ApiError> {
    let media = writable_file(&state, &caller, &id).await?;
    crate::lifecycle::delete_file(&state, &media.id, q.permanent.unwrap_or(false)).await?;
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
