//! Public links (`/api/v1/links`, `/api/v1/public/links/{token}`): a file
//! or a folder shared with anyone holding the token (~190 random bits,
//! stored hashed), with an optional password (argon2id), expiry, download
//! or view-only, and a view budget. A wrong, expired, used-up or revoked
//! token is a 404, exactly like one that never existed.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::{Media, MediaStatus, random_token};
use mediaq_shared::keys::hash_key;
use mediaq_shared::repo::{Folder, PublicLink, now};

use crate::audit::{self, Actor, ClientIp};
use crate::auth::Caller;
use crate::cache;
use crate::delivery::attachment;
use crate::error::ApiError;
use crate::json::Body;
use crate::passwords;
use crate::policy::{self, TargetKind, is_live, owned_target};
use crate::ratelimit::Attempts;
use crate::state::AppState;

const TOKEN_LEN: usize = 32;

fn resource(link: &PublicLink) -> Value {
    json!({
        "id": link.id, "targetKind": link.target_kind, "targetId": link.target_id,
        "expiresAt": link.expires_at, "allowDownload": link.allow_download, "maxViews": link.max_views,
        "views": link.views, "hasPassword": link.password_hash.is_some(), "createdAt": link.created_at,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewLink {
    file_id: Option<String>,
    folder_id: Option<String>,
    password: Option<String>,
    /// ISO 8601 duration or seconds.
    expires_in: Option<String>,
    allow_download: Option<bool>,
    max_views: Option<u64>,
}

/// `POST /api/v1/links` {fileId | folderId, password?, expiresIn?,
/// allowDownload?, maxViews?} → 201 with `token` and `url`, shown once.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Body(body): Body<NewLink>,
) -> Result<impl IntoResponse, ApiError> {
    let target = owned_target(&state, &caller, body.file_id, body.folder_id).await?;
    if body.max_views == Some(0) {
        return Err(ApiError::BadRequest("'maxViews' must be at least 1".into()));
    }
    let password_hash = match body.password {
        Some(p) => {
            passwords::check_password("password", &p)?;
            Some(passwords::hash(p).await?)
        }
        None => None,
    };
    let at = now();
    let expires_at = body.expires_in.as_deref().map(|v| crate::params::expiration(v, at)).transpose()?;
    let link = PublicLink {
        id: random_token(12),
        owner_id: target.owner,
        target_kind: target.kind.as_str().to_owned(),
        target_id: target.id,
        password_hash,
        expires_at,
        allow_download: body.allow_download.unwrap_or(true),
        max_views: body.max_views,
        views: 0,
        created_at: at,
        revoked: false,
    };
    let token = random_token(TOKEN_LEN);
    state.repo.insert_link(&link, &hash_key(&token)).await?;
    audit::record(
        &state,
        Actor::from(&caller),
        &ip,
        "link.create",
        Some(format!("{}:{}", link.target_kind, link.target_id)),
        true,
    )
    .await;
    let mut out = resource(&link);
    out["token"] = json!(token);
    out["url"] = json!(state.url(&format!("/api/v1/public/links/{token}")));
    Ok((StatusCode::CREATED, Json(out)))
}

/// `GET /api/v1/links`: the caller's live links (without tokens).
#[tracing::instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<crate::paging::ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let links = state.repo.list_links(caller.user.id).await?;
    let mut items = Vec::with_capacity(links.len());
    for link in &links {
        let mut item = resource(link);
        item["targetName"] =
            json!(crate::routes::link_meta::target_name(&state, &link.target_kind, &link.target_id).await?);
        items.push(item);
    }
    Ok(Json(q.page_of(items)?))
}

/// `DELETE /api/v1/links/{id}`: revokes the link at once.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let done = state.repo.revoke_link(caller.user.id, &id, now()).await?;
    audit::record(&state, Actor::from(&caller), &ip, "link.revoke", Some(format!("link:{id}")), done).await;
    if done { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::NotFound) }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct Access {
    password: Option<String>,
    folder_id: Option<String>,
}

/// A usable link for `token`, its password checked and one view spent
/// (see [`crate::link_access::open`]).
async fn open(
    state: &AppState,
    attempts: &Attempts,
    token: &str,
    headers: &HeaderMap,
    q: &Access,
) -> Result<PublicLink, ApiError> {
    crate::link_access::open(state, attempts, token, headers, q.password.as_deref()).await
}

/// Headers of every answer a link gives: reached with a secret, so never
/// stored by a cache.
fn private() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, cache::no_store())]
}

fn file_summary(media: &Media) -> Value {
    json!({
        "id": media.id.as_str(), "name": media.original_filename, "contentType": media.mime, "size": media.size,
        "width": media.width, "height": media.height, "createdAt": media.created_at,
    })
}

/// The folder a folder link shows: its own, or `sub` when inside it.
async fn shown_folder(state: &AppState, link: &PublicLink, sub: Option<&str>) -> Result<Folder, ApiError> {
    match sub.filter(|s| !s.is_empty()) {
        Some(sub) if state.repo.folder_subtree(&link.target_id).await?.iter().any(|f| f == sub) => {
            Ok(state.repo.folder(sub).await?)
        }
        Some(_) => Err(ApiError::NotFound),
        None => Ok(state.repo.folder(&link.target_id).await?),
    }
}

/// `GET /api/v1/public/links/{token}[?folderId=]`: what the link shows —
/// a file, or a folder's files and subfolders — with download URLs when
/// downloads are allowed.
#[tracing::instrument(skip_all)]
pub async fn view(
    State(state): State<AppState>,
    attempts: Attempts,
    Path(token): Path<String>,
    Query(q): Query<Access>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let link = open(&state, &attempts, &token, &headers, &q).await?;
    let base = format!("/api/v1/public/links/{token}");
    if link.target_kind == TargetKind::File.as_str() {
        let media = policy::linked_media(&state, &link, &link.target_id).await?;
        // A public view of the file (one atomic increment).
        state.repo.add_view(&media.id).await?;
        let download = link.allow_download.then(|| state.url(&format!("{base}/download")));
        let preview = crate::routes::link_meta::preview(&state, &media, link.allow_download).await?;
        let body = json!({
            "kind": "file", "file": file_summary(&media), "allowDownload": link.allow_download,
            "downloadUrl": download, "preview": preview,
        });
        return Ok((private(), Json(body)));
    }
    let folder = shown_folder(&state, &link, q.folder_id.as_deref()).await?;
    let (media, _) = state.repo.list_folder_media(link.owner_id, &folder.id, 0, 1000).await?;
    let mut files: Vec<Value> = Vec::new();
    for m in media.iter().filter(|m| m.status == MediaStatus::Ready && is_live(m)) {
        let mut v = file_summary(m);
        if link.allow_download {
            v["downloadUrl"] = json!(state.url(&format!("{base}/files/{}/download", m.id.as_str())));
        }
        v["thumbUrl"] = json!(crate::routes::link_meta::thumb_url(&state, m).await?);
        files.push(v);
    }
    let children = state.repo.child_folders(link.owner_id, Some(&folder.id)).await?;
    let folders: Vec<Value> = children.iter().map(|f| json!({ "id": f.id, "name": f.name })).collect();
    let body = json!({
        "kind": "folder", "folder": { "id": folder.id, "name": folder.name },
        "folders": folders, "files": files, "allowDownload": link.allow_download,
    });
    Ok((private(), Json(body)))
}

/// `GET /api/v1/public/links/{token}/download`: the file of a file link.
#[tracing::instrument(skip_all)]
pub async fn download(
    State(state): State<AppState>,
    attempts: Attempts,
    Path(token): Path<String>,
    Query(q): Query<Access>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let link = open(&state, &attempts, &token, &headers, &q).await?;
    if link.target_kind != TargetKind::File.as_str() {
        return Err(ApiError::NotFound);
    }
    if !link.allow_download {
        return Err(ApiError::Forbidden("this link is view-only: downloads are not allowed".into()));
    }
    let media = policy::linked_media(&state, &link, &link.target_id).await?;
    attachment(&state, &media, &headers).await
}

/// `GET /api/v1/public/links/{token}/files/{id}/download`: a file inside
/// the folder of a folder link (or its subfolders).
#[tracing::instrument(skip_all)]
pub async fn folder_download(
    State(state): State<AppState>,
    attempts: Attempts,
    Path((token, id)): Path<(String, String)>,
    Query(q): Query<Access>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let link = open(&state, &attempts, &token, &headers, &q).await?;
    if link.target_kind != TargetKind::Folder.as_str() {
        return Err(ApiError::NotFound);
    }
    if !link.allow_download {
        return Err(ApiError::Forbidden("this link is view-only: downloads are not allowed".into()));
    }
    let media = policy::linked_media(&state, &link, &id).await?;
    if !policy::in_linked_folder(&state, &link, &media).await? {
        return Err(ApiError::NotFound);
    }
    attachment(&state, &media, &headers).await
}
