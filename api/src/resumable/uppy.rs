//! The routes `@uppy/aws-s3` 5.x calls with `endpoint` = `<public
//! URL>/api/v1` (its "Companion" protocol): params for a single PUT,
//! create / sign part / list parts / complete / abort of a multipart
//! upload. Parts go to S3 directly (presigned `UploadPart` URLs) or, on
//! the file system store, to the API's own signed part route. Completion
//! enters the ingest pipeline (see `finish`). The upload id Uppy holds is
//! the storage's; the file id is the last segment of the `key`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::MediaId;
use mediaq_shared::repo::{Protocol, RepoError, ResumableUpload, now};
use mediaq_shared::storage::ObjectKey;

use super::finish::{drop_upload, finish};
use super::held::Held;
use super::meta::FileMeta;
use super::tus::expiry;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::quota;
use crate::state::AppState;

fn new_upload(
    caller: &Caller,
    protocol: Protocol,
    meta: &FileMeta,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> ResumableUpload {
    let id = MediaId::generate();
    ResumableUpload {
        object_key: ObjectKey::assembled(&id).to_string(),
        id,
        owner_id: caller.user.id,
        protocol,
        length: None,
        offset: 0,
        metadata: meta.to_json(),
        multipart_id: None,
        parts: Vec::new(),
        tail_bytes: 0,
        created_at: now(),
        expires_at,
    }
}

/// `GET /s3/params?filename=&type=&metadata[k]=v`: a single PUT through
/// mediaq's own signed route.
pub async fn params(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let extra: BTreeMap<String, String> = query
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("metadata[")?.strip_suffix(']')?.to_owned(), v.clone())))
        .collect();
    let meta = FileMeta::from_map(query.get("filename").cloned(), query.get("type").cloned(), &extra)?;
    if let Some(folder) = meta.folder_id.as_deref() {
        crate::policy::check_folder(&state, caller.user.id, folder).await?;
    }
    let ttl = TimeDelta::from_std(state.config.presign_ttl).unwrap_or(TimeDelta::hours(1));
    let expires_at = now() + ttl;
    let upload = new_upload(&caller, Protocol::S3Put, &meta, expires_at);
    state.repo.insert_resumable(&upload).await?;
    let path = format!("/api/v1/s3/put/{}", upload.id);
    let query = state.signer.sign("PUT", &path, expires_at);
    Ok(Json(json!({ "method": "PUT", "url": state.url(&format!("{path}?{query}")), "fields": {}, "headers": {} })))
}

#[derive(Debug, Deserialize)]
pub struct Create {
    filename: Option<String>,
    #[serde(rename = "type")]
    content_type: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, Value>,
}

/// `POST /s3/multipart` `{filename, type, metadata}` → `{uploadId, key}`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: crate::json::Body<Create>,
) -> Result<Json<Value>, ApiError> {
    let req = body.0;
    let extra = req
        .metadata
        .iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k.clone(), s.clone())),
            Value::Number(n) => Some((k.clone(), n.to_string())),
            _ => None,
        })
        .collect();
    let meta = FileMeta::from_map(req.filename, req.content_type, &extra)?;
    if let Some(folder) = meta.folder_id.as_deref() {
        crate::policy::check_folder(&state, caller.user.id, folder).await?;
    }
    let mut upload = new_upload(&caller, Protocol::S3Multipart, &meta, expiry(&state));
    let key = ObjectKey::assembled(&upload.id);
    let multipart = state.storage.create_multipart(&key, "application/octet-stream").await?;
    upload.multipart_id = Some(multipart.clone());
    if let Err(e) = state.repo.insert_resumable(&upload).await {
        let _ = state.storage.abort_multipart(&key, &multipart).await;
        return Err(e.into());
    }
    Ok(Json(json!({ "uploadId": multipart, "key": key.as_str() })))
}

#[derive(Debug, Deserialize)]
pub struct KeyQuery {
    key: String,
}

/// The caller's open multipart upload `upload_id` with object `key`.
async fn owned(
    state: &AppState,
    caller: &Caller,
    upload_id: &str,
    key: &str,
) -> Result<(ResumableUpload, ObjectKey), ApiError> {
    let upload = match state.repo.resumable_by_multipart(upload_id).await {
        Ok(u) if u.owner_id == caller.user.id && u.protocol == Protocol::S3Multipart && u.object_key == key => u,
        Ok(_) | Err(RepoError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let key = ObjectKey::parse(&upload.object_key).ok_or(ApiError::NotFound)?;
    Ok((upload, key))
}

/// `GET /s3/multipart/{uploadId}/{partNumber}?key=` → `{url}`.
pub async fn sign_part(
    State(state): State<AppState>,
    caller: Caller,
    Path((upload_id, part)): Path<(String, String)>,
    Query(q): Query<KeyQuery>,
) -> Result<Json<Value>, ApiError> {
    let number = part.parse::<u32>().ok().filter(|n| (1..=10_000).contains(n));
    let number = number.ok_or_else(|| ApiError::BadRequest("partNumber goes from 1 to 10000".into()))?;
    let (_, key) = owned(&state, &caller, &upload_id, &q.key).await?;
    let signed = state.storage.presign_part(&key, &upload_id, number, state.config.presign_ttl).await?;
    Ok(Json(json!({ "url": signed.url, "expires": state.config.presign_ttl.as_secs() })))
}

/// `GET /s3/multipart/{uploadId}?key=` → `[{PartNumber, Size, ETag}]`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(upload_id): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Result<Json<Value>, ApiError> {
    let (_, key) = owned(&state, &caller, &upload_id, &q.key).await?;
    let parts = state.storage.list_parts(&key, &upload_id).await?;
    let parts: Vec<Value> = parts
        .iter()
        .map(|p| json!({ "PartNumber": p.number, "Size": p.size, "ETag": format!("\"{}\"", p.etag) }))
        .collect();
    Ok(Json(Value::Array(parts)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Part {
    part_number: u32,
    #[serde(rename = "ETag")]
    etag: String,
}

#[derive(Debug, Deserialize)]
pub struct Complete {
    parts: Vec<Part>,
}

/// `POST /s3/multipart/{uploadId}/complete?key=` `{parts}` → `{location}`.
pub async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    Path(upload_id): Path<String>,
    Query(q): Query<KeyQuery>,
    body: crate::json::Body<Complete>,
) -> Result<Json<Value>, ApiError> {
    let (upload, key) = owned(&state, &caller, &upload_id, &q.key).await?;
    let Some(held) = Held::take(&state, &upload.id, 0).await? else {
        return Err(ApiError::Conflict("this upload is being completed by another request".into()));
    };
    let parts: Vec<(u32, String)> = body.0.parts.into_iter().map(|p| (p.part_number, p.etag)).collect();
    if let Err(e) = state.storage.complete_multipart(&key, &upload_id, &parts).await {
        held.release().await;
        return Err(ApiError::BadRequest(format!("the parts could not be joined: {e}")));
    }
    held.forget();
    let size = state.storage.size(&key).await?;
    let max = state.config.max_upload_bytes;
    if size > max {
        drop_upload(&state, &upload, &key).await;
        return Err(ApiError::TooLarge { limit: max });
    }
    let reservation = match quota::reserve(
        &state,
        &caller.user,
        Some(upload.id.as_str()),
        size,
        size,
        state.config.presign_ttl,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            drop_upload(&state, &upload, &key).await;
            return Err(e);
        }
    };
    let id = finish(&state, &caller.user, &upload, key, size, reservation).await?;
    Ok(Json(json!({ "location": state.url(&format!("/api/v1/files/{id}")) })))
}

/// `DELETE /s3/multipart/{uploadId}?key=`: aborts; `{}`.
pub async fn abort(
    State(state): State<AppState>,
    caller: Caller,
    Path(upload_id): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (upload, key) = owned(&state, &caller, &upload_id, &q.key).await?;
    drop_upload(&state, &upload, &key).await;
    Ok((StatusCode::OK, Json(json!({}))))
}
