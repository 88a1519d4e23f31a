//! Native ingest: `POST /api/v1/files` (multipart `file`, or JSON `{"url"}`
//! / `{"base64", "name"}`) and the presigned flow, `POST
//! /api/v1/files/initiate` → `PUT uploadUrl` → `POST /api/v1/files/complete`.

use std::io;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::MediaId;
use mediaq_shared::repo::now;
use mediaq_shared::storage::stream_of;

use crate::auth::Caller;
use crate::body::Lease;
use crate::error::ApiError;
use crate::idempotency;
use crate::ingest::{Claimed, Pending, UploadMeta, presigned};
use crate::params;
use crate::policy::owned_file as owned;
use crate::present::native::resource;
use crate::quota;
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
    let mut pending = Pending::new(&state, &caller.user).any_type().without_md5();
    let result = ingest(&state, &mut pending, request, idem.as_deref()).await;
    pending.settle().await;
    accepted(&state, &caller, result?.as_str()).await
}

/// Reserve → store → check → claim → record, through `pending`.
async fn ingest(
    state: &AppState,
    pending: &mut Pending,
    request: Request,
    idem: Option<&str>,
) -> Result<MediaId, ApiError> {
    // Room is reserved before any byte is stored.
    if let Err(e) = pending.reserve_for_body(request.headers()).await {
        quota::drain(request.into_body(), state.config.max_upload_bytes.saturating_mul(2)).await;
        return Err(e);
    }
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"));
    let (fields, filename, mut lease) = if is_multipart {
        let (fields, filename) = read_multipart(pending, request).await?;
        (fields, filename, Lease::default())
    } else {
        // JSON carries base64 in memory: the inline limits apply.
        let (_, limit) = params::inline_limits(state.config.max_upload_bytes);
        let (fields, lease) = crate::json::parse_held::<Fields>(request, limit).await?;
        (fields, None, lease)
    };
    let meta = fields.meta(filename)?;
    pending.check_folder(meta.album_id.as_deref()).await?;
    let url = match (pending.has_file(), &fields.url, &fields.base64) {
        (true, None, None) => None,
        (false, Some(url), None) => Some(params::remote_url(url, state.config.fetch_allow_private)?),
        (false, None, Some(data)) => {
            let bytes = params::base64(data)?;
            lease.add(bytes.len() as u64)?;
            pending.store(stream_of(bytes)).await?;
            None
        }
        (false, None, None) => return Err(ApiError::EmptySource),
        _ => return Err(ApiError::BadRequest("send exactly one of a 'file' part, 'url' or 'base64'".into())),
    };
    if let Claimed::Earlier(first) = pending.claim(idem).await? {
        return Ok(first);
    }
    let done = match url {
        Some(url) => pending.commit_remote(&url, meta).await?,
        None => pending.commit(meta).await?,
    };
    Ok(done.media.id)
}

async fn accepted(state: &AppState, caller: &Caller, id: &str) -> Result<(StatusCode, Json<Value>), ApiError> {
    let media = owned(state, caller, id).await?;
    Ok((StatusCode::ACCEPTED, Json(resource(state, &media).await?)))
}

async fn read_multipart(pending: &mut Pending, request: Request) -> Result<(Fields, Option<String>), ApiError> {
    let mut multipart = Multipart::from_request(request, &()).await.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut fields = Fields::default();
    let mut filename = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if pending.has_file() {
                return Err(ApiError::BadRequest("send one 'file' part per upload".into()));
            }
            filename = field.file_name().map(str::to_owned);
            pending.store(Box::pin(field.map_err(io::Error::other))).await?;
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
        let value =
            String::from_utf8(value).map_err(|_| ApiError::BadRequest(format!("form field '{name}' is not UTF-8")))?;
        match name.as_str() {
            "folderId" => fields.folder_id = Some(value),
            "expiration" => fields.expiration = Some(value),
            "name" => fields.name = Some(value),
            "title" => fields.title = Some(value),
            _ => {}
        }
    }
    Ok((fields, filename))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
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
    headers: HeaderMap,
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
    // Any type is taken; MEDIAQ_ALLOWED_TYPES may narrow it (checked
    // again on the bytes at `complete`).
    let declared = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if declared != "application/octet-stream" && !state.config.allowed_types.allows(&declared) {
        return Err(ApiError::UnsupportedType { detected: Some(declared) });
    }
    let idem = idempotency::key_from(&headers)?;
    let req = presigned::Request { name: name.to_owned(), content_type, size: req.size_bytes };
    let done = presigned::initiate(&state, &caller.user, req, idem.as_deref()).await?;
    Ok(Json(
        json!({ "fileId": done.id.as_str(), "uploadUrl": done.url, "expiresAt": done.expires_at, "method": "PUT" }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
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
    let id = presigned::complete(&state, &caller.user, &id).await?;
    accepted(&state, &caller, id.as_str()).await
}
