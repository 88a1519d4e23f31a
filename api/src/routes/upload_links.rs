//! Upload links (`/api/v1/folders/{id}/upload-links`, `/api/v1/upload-links`,
//! `POST /api/v1/public/upload/{token}`): anyone holding the token may
//! upload into one folder, without a key. The file is the folder owner's,
//! counted against their quota, and goes through the same ingest pipeline
//! as every upload. Tokens are 32 base62 characters (~190 bits), shown
//! once, stored as SHA-256.
//!
//! Answers of the public route: an unknown token (or a suspended owner,
//! or a folder in the trash) is a 404; a revoked or expired link is a 410
//! (the holder had a real link, and it is over); a link whose `maxFiles`
//! are taken is a 403, a file past what is left of `maxBytes` a 413; a
//! missing password 401, a wrong one 403 (counted by the link-password
//! rate limiter). Any file type is taken, as on the other native routes,
//! within `MEDIAQ_ALLOWED_TYPES` (415 otherwise). A refusal made before
//! the body is read still reads (and drops) a bounded part of it, so the
//! client gets the answer on a connection it can go on using.

use std::io;
use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, get, post};
use axum::{Json, Router, middleware};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::{UserStatus, random_token};
use mediaq_shared::keys::hash_key;
use mediaq_shared::repo::{RepoError, SlotTake, UploadLink, now};

use crate::audit::{self, Actor, ClientIp};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ingest::{Pending, UploadMeta};
use crate::json::Body;
use crate::link_access::{TOKEN_LEN, check_password, sent_password, token_shape_ok};
use crate::paging::ListQuery;
use crate::passwords;
use crate::policy;
use crate::quota;
use crate::ratelimit::{self, Attempts, RateLimits};
use crate::state::AppState;

/// The routes; the public upload sits behind the upload rate limiter
/// (per client IP: it carries no key).
pub fn router(limits: Arc<RateLimits>) -> Router<AppState> {
    let upload_limit = middleware::from_fn_with_state(limits, ratelimit::upload);
    Router::new()
        .route("/api/v1/folders/{id}/upload-links", post(create))
        .route("/api/v1/upload-links", get(list))
        .route("/api/v1/upload-links/{id}", delete(revoke))
        .route("/api/v1/public/upload/{token}", post(upload).route_layer(upload_limit))
}

fn resource(l: &UploadLink) -> Value {
    json!({
        "id": l.id, "folderId": l.folder_id, "expiresAt": l.expires_at, "maxFiles": l.max_files,
        "maxBytes": l.max_bytes, "filesUsed": l.files_used, "bytesUsed": l.bytes_used,
        "hasPassword": l.password_hash.is_some(), "createdAt": l.created_at,
    })
}

/// The body of `POST /api/v1/folders/{id}/upload-links`; every field is
/// optional (no expiry, no file or byte limit, no password).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewUploadLink {
    /// When the link stops taking uploads (RFC 3339, in the future).
    expires_at: Option<DateTime<Utc>>,
    /// How many files it takes in all (at least 1).
    #[schema(minimum = 1)]
    max_files: Option<u64>,
    /// How many bytes of files it takes in all (at least 1).
    #[schema(minimum = 1)]
    max_bytes: Option<u64>,
    /// Uploaders must send it as `X-Link-Password`.
    password: Option<String>,
}

/// `POST /api/v1/folders/{id}/upload-links` → 201 `{id, token, url, …}`.
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(folder): Path<String>,
    Body(body): Body<NewUploadLink>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let folder = policy::writable_folder(&state, &caller, &folder).await?;
    if body.max_files == Some(0) || body.max_bytes == Some(0) {
        return Err(ApiError::BadRequest("'maxFiles' and 'maxBytes' must be at least 1".into()));
    }
    let at = now();
    if body.expires_at.is_some_and(|e| e <= at) {
        return Err(ApiError::BadRequest("'expiresAt' must lie in the future".into()));
    }
    let password_hash = match body.password {
        Some(p) => {
            passwords::check_password("password", &p)?;
            Some(passwords::hash(p).await?)
        }
        None => None,
    };
    let link = UploadLink {
        id: random_token(12),
        owner_id: folder.owner_id,
        folder_id: folder.id,
        password_hash,
        expires_at: body.expires_at,
        max_files: body.max_files,
        max_bytes: body.max_bytes,
        files_used: 0,
        bytes_used: 0,
        created_at: at,
        revoked: false,
    };
    let token = random_token(TOKEN_LEN);
    state.repo.insert_upload_link(&link, &hash_key(&token)).await?;
    let target = Some(format!("folder:{}", link.folder_id));
    audit::record(&state, Actor::from(&caller), &ip, "upload_link.create", target, true).await;
    let mut out = resource(&link);
    out["token"] = json!(token);
    out["url"] = json!(state.url(&format!("/api/v1/public/upload/{token}")));
    Ok((StatusCode::CREATED, Json(out)))
}

/// `GET /api/v1/upload-links`: the caller's unrevoked links, no tokens,
/// paged and sorted like the other link lists.
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let links = state.repo.list_upload_links(caller.user.id).await?;
    Ok(Json(q.page_of(links.iter().map(resource).collect())?))
}

/// `DELETE /api/v1/upload-links/{id}`: revoked at once.
#[tracing::instrument(skip_all)]
async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let done = state.repo.revoke_upload_link(caller.user.id, &id, now()).await?;
    audit::record(&state, Actor::from(&caller), &ip, "upload_link.revoke", Some(format!("upload_link:{id}")), done)
        .await;
    if done { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::NotFound) }
}

fn gone() -> ApiError {
    ApiError::Gone("this upload link was revoked or has expired".into())
}

/// The live link of `token` (404 unknown, 410 over), its password checked.
async fn usable(
    state: &AppState,
    attempts: &Attempts,
    token: &str,
    headers: &HeaderMap,
) -> Result<UploadLink, ApiError> {
    if !token_shape_ok(token) {
        return Err(ApiError::NotFound);
    }
    let link = match state.repo.upload_link_by_token(&hash_key(token)).await {
        Ok(link) => link,
        Err(RepoError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if !policy::owner_active(state, link.owner_id).await? {
        return Err(ApiError::NotFound);
    }
    if link.revoked || link.expires_at.is_some_and(|e| e <= now()) {
        return Err(gone());
    }
    // A folder in the trash takes nothing until it is restored.
    match state.repo.folder(&link.folder_id).await {
        Ok(_) => {}
        Err(RepoError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    }
    if let Some(stored) = &link.password_hash {
        check_password(attempts, &link.id, stored, sent_password(headers, None)).await?;
    }
    Ok(link)
}

/// How far a request's declared length may pass what is left of a link's
/// `maxBytes`: the multipart framing around the file (boundaries, part
/// headers, a password field). The file itself must fit exactly.
const FRAMING_SLACK: u64 = 16 * 1024;

/// A slot taken on a link: given back in full when dropped (also when the
/// client goes away mid-upload) unless the upload was recorded.
struct Slot {
    state: AppState,
    link: String,
    files: u64,
    bytes: u64,
}

impl Slot {
    /// Takes a file slot and, of the byte budget, the declared length or
    /// what is left of it (when the length passes that by the framing
    /// slack at most). A read of the link that went stale before the
    /// UPDATE is tried again.
    async fn take(state: &AppState, link: &UploadLink, declared: u64) -> Result<Self, ApiError> {
        let mut current = link.clone();
        for _ in 0..8 {
            let left = current.max_bytes.map(|m| m.saturating_sub(current.bytes_used));
            let bytes = left.map_or(declared, |left| declared.min(left));
            let take = SlotTake { bytes, declared, slack: FRAMING_SLACK };
            if state.repo.take_upload_slot(&current.id, take, now()).await? {
                return Ok(Self { state: state.clone(), link: current.id.clone(), files: 1, bytes });
            }
            // Why not: read the link again.
            current = state.repo.upload_link(&link.id).await?;
            if current.revoked || current.expires_at.is_some_and(|e| e <= now()) {
                return Err(gone());
            }
            if current.max_files.is_some_and(|m| current.files_used >= m) {
                return Err(ApiError::Forbidden("this upload link has taken all the files it allows".into()));
            }
            if current.max_bytes.is_some_and(|m| current.bytes_used.saturating_add(declared) > m + FRAMING_SLACK) {
                return Err(Self::too_large(&current));
            }
        }
        Err(Self::too_large(&current))
    }

    fn too_large(link: &UploadLink) -> ApiError {
        ApiError::TooLarge { limit: link.max_bytes.map_or(0, |m| m.saturating_sub(link.bytes_used)) }
    }

    /// The file is stored and `used` bytes long: the slot becomes exactly
    /// that. What it took beyond goes back; what it lacks (when it took
    /// only what was left) is taken if the budget holds it, waiting a
    /// little for concurrent uploads to give back what they took beyond
    /// their files, and 413 otherwise (the slot is given back on drop).
    async fn fit(&mut self, used: u64) -> Result<(), ApiError> {
        if used <= self.bytes {
            let unused = self.bytes - used;
            if unused > 0 {
                self.state.repo.give_back_upload_slot(&self.link, 0, unused).await?;
            }
            self.bytes = used;
            return Ok(());
        }
        let lacking = used - self.bytes;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
        while !self.state.repo.grow_upload_slot(&self.link, lacking).await? {
            if tokio::time::Instant::now() >= deadline {
                return Err(Self::too_large(&self.state.repo.upload_link(&self.link).await?));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.bytes = used;
        Ok(())
    }

    /// The upload is recorded: the slot stays taken.
    fn keep(mut self) {
        (self.files, self.bytes) = (0, 0);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.files == 0 && self.bytes == 0 {
            return;
        }
        let (state, link, files, bytes) = (self.state.clone(), self.link.clone(), self.files, self.bytes);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = state.repo.give_back_upload_slot(&link, files, bytes).await {
                    tracing::warn!(error = %e, "could not give back an upload-link slot");
                }
            });
        }
    }
}

/// `POST /api/v1/public/upload/{token}`: multipart `file`, no key → 201
/// `{id, name, sizeBytes}`, the file in the link's folder.
#[tracing::instrument(skip_all)]
async fn upload(
    State(state): State<AppState>,
    attempts: Attempts,
    Path(token): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (link, owner, mut slot) = match admit(&state, &attempts, &token, request.headers()).await {
        Ok(admitted) => admitted,
        Err(e) => {
            quota::drain_refused(request.into_body()).await;
            return Err(e);
        }
    };
    let mut pending = Pending::new(&state, &owner).any_type().without_md5();
    let result = ingest(&mut pending, &link, &mut slot, request).await;
    pending.settle().await;
    let (id, name, size) = result?;
    slot.keep();
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "name": name, "sizeBytes": size }))))
}

/// Everything checked before a byte is read: the link, its owner, and a
/// slot on it for the declared size.
async fn admit(
    state: &AppState,
    attempts: &Attempts,
    token: &str,
    headers: &HeaderMap,
) -> Result<(UploadLink, mediaq_shared::domain::User, Slot), ApiError> {
    let link = usable(state, attempts, token, headers).await?;
    let owner = state.repo.user(link.owner_id).await?;
    if owner.status != UserStatus::Active {
        return Err(ApiError::NotFound);
    }
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let reserve = match (declared, link.max_bytes) {
        (Some(n), _) => n.min(state.config.max_upload_bytes),
        (None, None) => 0,
        (None, Some(_)) => {
            return Err(ApiError::BadRequest("send a Content-Length: this link limits the bytes it takes".into()));
        }
    };
    let slot = Slot::take(state, &link, reserve).await?;
    Ok((link, owner, slot))
}

/// Reserve quota → store the `file` part → check the folder and the
/// link's byte budget → record.
async fn ingest(
    pending: &mut Pending,
    link: &UploadLink,
    slot: &mut Slot,
    request: Request,
) -> Result<(String, String, u64), ApiError> {
    if let Err(e) = pending.reserve_for_body(request.headers()).await {
        quota::drain_refused(request.into_body()).await;
        return Err(e);
    }
    let mut multipart = Multipart::from_request(request, &()).await.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut filename = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
        if field.name() != Some("file") {
            continue;
        }
        if pending.has_file() {
            return Err(ApiError::BadRequest("send one 'file' part per upload".into()));
        }
        filename = field.file_name().map(str::to_owned);
        pending.store(Box::pin(field.map_err(io::Error::other))).await?;
    }
    if !pending.has_file() {
        return Err(ApiError::EmptySource);
    }
    pending.check_folder(Some(&link.folder_id)).await?;
    slot.fit(pending.stored_size().unwrap_or(0)).await?;
    let meta = UploadMeta { filename, album_id: Some(link.folder_id.clone()), ..UploadMeta::default() };
    let done = pending.commit(meta).await?;
    Ok((done.media.id.to_string(), done.media.original_filename, done.media.size))
}
