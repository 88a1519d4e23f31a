//! The signed PUT routes of Uppy uploads (no API key: the HMAC signature
//! made by `/api/v1/s3/params` or the file system store's `presign_part`
//! is the credential, like `/_storage`):
//!
//! - `PUT /api/v1/s3/put/{id}`: a single PUT, on both deployments routed
//!   through mediaq, so the bytes go through the ingest pipeline as they
//!   arrive (sniffed, hashed, counted against the limit and the quota) and
//!   the file is recorded and queued before the answer: mediaq knows at
//!   once that it arrived. The answer's `ETag` is the MD5 of the bytes.
//! - `PUT /_multipart/{upload id}/{part}`: a part of a multipart upload on
//!   the file system store (S3 takes its parts itself).

use std::io;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;

use mediaq_shared::domain::MediaId;
use mediaq_shared::repo::{Protocol, RepoError, ResumableUpload, now};
use mediaq_shared::storage::{ObjectKey, is_over_limit, limited};

use super::held::Held;
use super::meta::FileMeta;
use crate::auth::check_status;
use crate::error::ApiError;
use crate::ingest::Pending;
use crate::quota;
use crate::routes::signed::Signature;
use crate::state::AppState;

fn closed() -> ApiError {
    ApiError::Forbidden("this upload is completed, expired or unknown: start a new one".into())
}

fn open(found: Result<ResumableUpload, RepoError>, protocol: Protocol) -> Result<ResumableUpload, ApiError> {
    match found {
        Ok(u) if u.protocol == protocol && u.expires_at > now() => Ok(u),
        Ok(_) | Err(RepoError::NotFound) => Err(closed()),
        Err(e) => Err(e.into()),
    }
}

fn etag(res: &mut Response, md5: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{md5}\"")) {
        res.headers_mut().insert(header::ETAG, v);
    }
}

/// `PUT /api/v1/s3/put/{id}?expires=…&signature=…`.
pub async fn single_put(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(sig): Query<Signature>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    sig.check(&state, "PUT", &format!("/api/v1/s3/put/{id}"))?;
    let id = MediaId::parse(&id).ok_or_else(closed)?;
    let upload = open(state.repo.resumable(&id).await, Protocol::S3Put)?;
    let owner = state.repo.user(upload.owner_id).await?;
    check_status(owner.status)?;
    let Some(held) = Held::take(&state, &id, 0).await? else {
        quota::drain(body, state.config.max_upload_bytes).await;
        return Err(ApiError::Conflict("another PUT to this URL is under way".into()));
    };
    let meta = FileMeta::from_json(&upload.metadata);
    let mut pending = Pending::with_id(&state, &owner, id.clone());
    let result = async {
        pending.reserve_for_body(&headers).await?;
        pending.store(Box::pin(body.into_data_stream().map_err(io::Error::other))).await?;
        pending.check_folder(meta.folder_id.as_deref()).await?;
        pending.commit(meta.upload_meta()).await
    }
    .await;
    pending.settle().await;
    let done = match result {
        Ok(done) => done,
        Err(e) => {
            held.release().await;
            return Err(e);
        }
    };
    held.forget();
    if let Err(e) = state.repo.delete_resumable(&id).await {
        tracing::warn!(error = %e, "could not remove a finished single PUT's row; the sweep will");
    }
    let mut res = StatusCode::OK.into_response();
    etag(&mut res, done.media.md5.as_deref().unwrap_or_default());
    Ok(res)
}

/// `PUT /_multipart/{upload id}/{part}?expires=…&signature=…`.
pub async fn part_put(
    State(state): State<AppState>,
    Path((upload_id, part)): Path<(String, u32)>,
    Query(sig): Query<Signature>,
    body: Body,
) -> Result<Response, ApiError> {
    sig.check(&state, "PUT", &format!("/_multipart/{upload_id}/{part}"))?;
    let upload = open(state.repo.resumable_by_multipart(&upload_id).await, Protocol::S3Multipart)?;
    let key = ObjectKey::parse(&upload.object_key).ok_or_else(closed)?;
    let max = state.config.max_upload_bytes;
    let stream = limited(Box::pin(body.into_data_stream().map_err(io::Error::other)), max);
    let stored = match state.storage.upload_part(&key, &upload_id, part, stream).await {
        Ok(stored) => stored,
        Err(e) if is_over_limit(&e) => return Err(ApiError::TooLarge { limit: max }),
        Err(mediaq_shared::storage::StorageError::Body(e)) => {
            return Err(ApiError::BadRequest(format!("the part could not be read: {e}")));
        }
        Err(e) => return Err(e.into()),
    };
    let mut res = StatusCode::OK.into_response();
    etag(&mut res, &stored.etag);
    Ok(res)
}
