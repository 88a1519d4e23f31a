//! Native ingest: `POST /api/v1/files` (multipart `file`, or JSON `{"url"}`
//! / `{"base64", "name"}`) and the presigned flow, `POST
//! /api/v1/files/initiate` → `PUT uploadUrl` → `POST /api/v1/files/complete`.

use std::io;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::{MediaId, Upload, User, extension_for_mime};
use mediaq_shared::repo::{RepoError, now};
use mediaq_shared::storage::{ByteRange, ObjectKey, StorageError, collect, stream_of};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::idempotency::{self, Claim};
use crate::ingest::{self, SNIFF_LEN, StoredOriginal, UploadMeta, sniff};
use crate::params;
use crate::policy::owned_file as owned;
use crate::present::native::resource;
use crate::quota::{self, Reserved};
use crate::state::AppState;

/// Largest text field of a native multipart form.
const MAX_FIELD_BYTES: usize = 64 * 1024;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Fields {
    url: Option<String>,
    base64: Option<String>,
    name: Option<String>,
    title: Option<String>,
    folder_id: Option<String>,
    expiration: Option<String>,
}

impl Fields {
    fn meta(&self, filename: Option<String>) -> Result<UploadMeta, ApiError> {
        Ok(UploadMeta {
            filename: self.name.clone().or(filename),
            title: self.title.clone(),
            album_id: self.folder_id.clone().filter(|f| !f.is_empty()),
            expires_at: self.expiration.as_deref().map(|v| params::expiration(v, now())).transpose()?,
            ..UploadMeta::default()
        })
    }
}

/// `POST /api/v1/files`: 202 with the file resource, processing queued.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let idem = idempotency::key_from(request.headers())?;
    if let Some(key) = &idem
        && let Some((id, _)) = state.repo.idempotent_result(caller.user.id, key).await?
    {
        // A retry: read (and drop) its body so the client gets the answer.
        quota::drain(request.into_body(), state.config.max_upload_bytes.saturating_mul(2)).await;
        return accepted(&state, &caller, id.as_str()).await;
    }
    // Room is reserved before any byte is stored and released once the
    // media is recorded (its bytes then count as used).
    let reserved = match quota::reserve_for_body(&state, &caller.user, request.headers()).await {
        Ok(reserved) => reserved,
        Err(e) => {
            quota::drain(request.into_body(), state.config.max_upload_bytes.saturating_mul(2)).await;
            return Err(e);
        }
    };
    let result = create_within(&state, &caller, request, idem, &reserved).await;
    quota::release(&state, &reserved.id).await;
    result
}

async fn create_within(
    state: &AppState,
    caller: &Caller,
    request: Request,
    idem: Option<String>,
    reserved: &Reserved,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"));
    let (stored, fields, filename) = if is_multipart {
        read_multipart(state, request, reserved).await?
    } else {
        // JSON carries base64 in memory: the inline limits apply.
        let (_, limit) = params::inline_limits(state.config.max_upload_bytes);
        let fields: Fields = crate::json::parse(request, limit).await?;
        (None, fields, None)
    };
    let checked = match fields.meta(filename) {
        Ok(meta) => match meta.album_id.as_deref() {
            Some(folder) => crate::policy::check_folder(state, caller.user.id, folder).await.map(|()| meta),
            None => Ok(meta),
        },
        Err(e) => Err(e),
    };
    let meta = match checked {
        Ok(meta) => meta,
        Err(e) => {
            if let Some(s) = stored {
                ingest::discard(state, s).await;
            }
            return Err(e);
        }
    };
    let ingested = match (stored, &fields.url, &fields.base64) {
        (Some(stored), None, None) => record_once(state, &caller.user, stored, meta, idem.as_deref()).await?,
        (None, Some(url), None) => {
            let url = params::remote_url(url, state.config.fetch_allow_private)?;
            let done = ingest::record_remote(state, &caller.user, &url, meta).await?;
            claim_after(state, &caller.user, idem.as_deref(), &done.media.id).await?
        }
        (None, None, Some(data)) => {
            let bytes = params::base64(data)?;
            let stored = ingest::store_within(state, stream_of(bytes), Some(reserved)).await?;
            record_once(state, &caller.user, stored, meta, idem.as_deref()).await?
        }
        (None, None, None) => return Err(ApiError::EmptySource),
        (stored, _, _) => {
            if let Some(s) = stored {
                ingest::discard(state, s).await;
            }
            return Err(ApiError::BadRequest("send exactly one of a 'file' part, 'url' or 'base64'".into()));
        }
    };
    accepted(state, caller, ingested.as_str()).await
}

/// Records `stored`, unless an earlier request with the same
/// Idempotency-Key already did (then that media's id is returned).
async fn record_once(
    state: &AppState,
    owner: &User,
    stored: StoredOriginal,
    meta: UploadMeta,
    idem: Option<&str>,
) -> Result<MediaId, ApiError> {
    if let Some(key) = idem
        && let Claim::Lost(first) = idempotency::claim(state, owner, key, &stored.id).await?
    {
        ingest::discard(state, stored).await;
        return Ok(first);
    }
    match ingest::record(state, owner, stored, meta).await {
        Ok(done) => Ok(done.media.id),
        Err(e) => {
            if let Some(key) = idem {
                idempotency::release(state, owner, key).await;
            }
            Err(e)
        }
    }
}

/// For uploads recorded before their id is known to the key (remote URLs).
async fn claim_after(state: &AppState, owner: &User, idem: Option<&str>, id: &MediaId) -> Result<MediaId, ApiError> {
    match idem {
        Some(key) => match idempotency::claim(state, owner, key, id).await? {
            Claim::Won => Ok(id.clone()),
            Claim::Lost(first) => {
                crate::lifecycle::retire(state, id).await?;
                Ok(first)
            }
        },
        None => Ok(id.clone()),
    }
}

async fn accepted(state: &AppState, caller: &Caller, id: &str) -> Result<(StatusCode, Json<Value>), ApiError> {
    let media = owned(state, caller, id).await?;
    Ok((StatusCode::ACCEPTED, Json(resource(state, &media).await?)))
}

async fn read_multipart(
    state: &AppState,
    request: Request,
    reserved: &Reserved,
) -> Result<(Option<StoredOriginal>, Fields, Option<String>), ApiError> {
    let mut multipart = Multipart::from_request(request, &()).await.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut fields = Fields::default();
    let mut stored: Option<StoredOriginal> = None;
    let mut filename = None;
    let outcome = async {
        while let Some(mut field) = multipart.next_field().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "file" {
                if stored.is_some() {
                    return Err(ApiError::BadRequest("send one 'file' part per upload".into()));
                }
                filename = field.file_name().map(str::to_owned);
                stored =
                    Some(ingest::store_within(state, Box::pin(field.map_err(io::Error::other)), Some(reserved)).await?);
                continue;
            }
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
                if value.len() + chunk.len() > MAX_FIELD_BYTES {
                    return Err(ApiError::BadRequest(format!(
                        "form field '{name}' is longer than {MAX_FIELD_BYTES} bytes"
                    )));
                }
                value.extend_from_slice(&chunk);
            }
            let value = String::from_utf8(value)
                .map_err(|_| ApiError::BadRequest(format!("form field '{name}' is not UTF-8")))?;
            match name.as_str() {
                "folderId" => fields.folder_id = Some(value),
                "expiration" => fields.expiration = Some(value),
                "name" => fields.name = Some(value),
                "title" => fields.title = Some(value),
                _ => {}
            }
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => Ok((stored, fields, filename)),
        Err(e) => {
            if let Some(s) = stored {
                ingest::discard(state, s).await;
            }
            Err(e)
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Initiate {
    name: String,
    content_type: Option<String>,
    size_bytes: u64,
}

/// `POST /api/v1/files/initiate`: a URL to PUT the bytes to.
pub async fn initiate(
    State(state): State<AppState>,
    caller: Caller,
    body: crate::json::Body<Initiate>,
) -> Result<Json<Value>, ApiError> {
    let req = body.0;
    let name = req.name.trim();
    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("'name' must be 1 to 255 characters without control characters".into()));
    }
    if req.size_bytes == 0 {
        return Err(ApiError::EmptySource);
    }
    if req.size_bytes > state.config.max_upload_bytes {
        return Err(ApiError::TooLarge { limit: state.config.max_upload_bytes });
    }
    let content_type = req.content_type.unwrap_or_else(|| "application/octet-stream".into());
    let declared = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if declared != "application/octet-stream" && extension_for_mime(&declared).is_none() {
        return Err(ApiError::UnsupportedType { detected: Some(declared) });
    }
    let id = MediaId::generate();
    // Held (under the file id) until complete, or until the upload expires.
    let hold = state.config.presign_ttl + std::time::Duration::from_secs(600);
    quota::reserve(&state, &caller.user, Some(id.as_str()), req.size_bytes, req.size_bytes, hold).await?;
    let key = ObjectKey::upload(&id);
    let signed = match state.storage.presign_put(&key, state.config.presign_ttl).await {
        Ok(signed) => signed,
        Err(e) => {
            quota::release(&state, id.as_str()).await;
            return Err(e.into());
        }
    };
    let upload = Upload {
        id: id.clone(),
        owner_id: caller.user.id,
        name: name.to_owned(),
        content_type,
        size_bytes: req.size_bytes,
        object_key: key.to_string(),
        created_at: now(),
        expires_at: signed.expires_at,
    };
    state.repo.insert_upload(&upload).await?;
    Ok(Json(json!({ "fileId": id.as_str(), "uploadUrl": signed.url, "expiresAt": signed.expires_at, "method": "PUT" })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Complete {
    file_id: String,
}

/// `POST /api/v1/files/complete`: checks the object exists with the
/// declared size and its type is one we take, then queues processing.
pub async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    body: crate::json::Body<Complete>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = MediaId::parse(&body.0.file_id).ok_or(ApiError::NotFound)?;
    let upload = match state.repo.upload(&id).await {
        Ok(u) if u.owner_id == caller.user.id => u,
        Ok(_) => return Err(ApiError::NotFound),
        // Completed already: answer as the first completion did.
        Err(RepoError::NotFound) => return accepted(&state, &caller, id.as_str()).await,
        Err(e) => return Err(e.into()),
    };
    if upload.expires_at < now() {
        return Err(ApiError::Forbidden("this upload has expired; initiate a new one".into()));
    }
    let key = ObjectKey::parse(&upload.object_key).ok_or(ApiError::NotFound)?;
    let size = match state.storage.size(&key).await {
        Ok(size) => size,
        Err(StorageError::NotFound) => {
            return Err(ApiError::BadRequest(
                "nothing has been uploaded to uploadUrl yet: PUT the bytes there first".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if size != upload.size_bytes {
        state.storage.delete(&key).await?;
        return Err(ApiError::BadRequest(format!(
            "the uploaded object has {size} bytes but {} were declared; it was removed, PUT it again",
            upload.size_bytes
        )));
    }
    let head = state.storage.get(&key, Some(ByteRange { start: 0, end: Some(SNIFF_LEN as u64 - 1) })).await?;
    let head = collect(head.stream).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let (mime, extension, kind) = match sniff(&head) {
        Ok(found) => found,
        Err(e) => {
            state.storage.delete(&key).await?;
            state.repo.delete_upload(&id).await?;
            quota::release(&state, id.as_str()).await;
            return Err(e);
        }
    };
    let stored = StoredOriginal { id: id.clone(), key, mime, extension, kind, size, sha256: None, md5: None };
    let meta = UploadMeta { filename: Some(upload.name.clone()), ..UploadMeta::default() };
    ingest::record(&state, &caller.user, stored, meta).await?;
    quota::release(&state, id.as_str()).await;
    state.repo.delete_upload(&id).await?;
    accepted(&state, &caller, id.as_str()).await
}
