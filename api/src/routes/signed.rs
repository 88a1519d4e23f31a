//! `PUT|GET /_storage/{key}?expires=…[&size=…]&signature=…`: the embedded
//! storage's presigned URLs, HMAC-checked (see `mediaq_shared::signing`),
//! mounted only when objects live on the file system.
//!
//! A PUT lands only on the upload key of a presigned upload that is still
//! open (initiated, not completed, not expired), and only with exactly the
//! declared `sizeBytes`: a differing `Content-Length` is refused up front
//! and the body is counted while streaming. A bare `curl -X PUT
//! --data-binary @file URL` works: nothing but the method, path, expiry
//! and size is signed. A GET streams the object back.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;

use mediaq_shared::domain::Upload;
use mediaq_shared::repo::{RepoError, now};
use mediaq_shared::signing::{SignatureError, SignedRequest};
use mediaq_shared::storage::{BodyStream, ObjectKey, StorageError, is_over_limit, limited};

use crate::delivery::{Servable, send};
use crate::error::ApiError;
use crate::quota;
use crate::state::AppState;

/// The query of a signed link: `expires`, `signature` and, on sized
/// uploads, `size`.
#[derive(Debug, Deserialize)]
pub struct Signature {
    expires: i64,
    size: Option<u64>,
    signature: String,
}

impl Signature {
    /// Checks that this signs `method` on `path` and has not expired (the
    /// one signature check of every signed route: `/_storage`, Uppy's
    /// single PUT and parts).
    pub fn check(&self, state: &AppState, method: &str, path: &str) -> Result<(), ApiError> {
        let req = SignedRequest { method, path, expires: self.expires, size: self.size, signature: &self.signature };
        state.signer.verify(&req, state.config.presign_ttl).map_err(|e| match e {
            SignatureError::Expired => ApiError::Forbidden("this link has expired".into()),
            SignatureError::Invalid => ApiError::Forbidden("this link's signature is not valid".into()),
            SignatureError::TooLong => {
                ApiError::Forbidden("this link lives longer than MEDIAQ_PRESIGN_TTL_SECS allows".into())
            }
        })
    }
}

fn verify(state: &AppState, method: &str, key: &str, sig: &Signature) -> Result<ObjectKey, ApiError> {
    let key = ObjectKey::parse(key).ok_or(ApiError::NotFound)?;
    sig.check(state, method, &format!("/_storage/{key}"))?;
    Ok(key)
}

/// The open upload `key` belongs to.
async fn open_upload(state: &AppState, key: &ObjectKey) -> Result<Upload, ApiError> {
    let closed = || ApiError::Forbidden("this upload is completed, expired or unknown: initiate a new one".into());
    let id = key.upload_id().ok_or_else(closed)?;
    match state.repo.upload(&id).await {
        Ok(u) if u.object_key == key.as_str() && u.expires_at > now() => Ok(u),
        Ok(_) | Err(RepoError::NotFound) => Err(closed()),
        Err(e) => Err(e.into()),
    }
}

/// The marker of a body that ended before its declared size.
#[derive(Debug, thiserror::Error)]
#[error("the body ended before its declared size")]
struct ShortBody;

/// `body`, failing once it passes `size` bytes or ends short of it.
fn exactly(body: BodyStream<'static>, size: u64) -> BodyStream<'static> {
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    let counted = limited(body, size).inspect_ok(move |c| {
        counter.fetch_add(c.len() as u64, Ordering::Relaxed);
    });
    let end = futures::stream::once(async move {
        (seen.load(Ordering::Relaxed) != size).then(|| Err(io::Error::other(ShortBody)))
    })
    .filter_map(futures::future::ready);
    Box::pin(counted.chain(end))
}

/// The key and size a PUT may write, or why not.
async fn check_put(
    state: &AppState,
    key: &str,
    sig: &Signature,
    headers: &HeaderMap,
) -> Result<(ObjectKey, u64), ApiError> {
    let key = verify(state, "PUT", key, sig)?;
    let size = open_upload(state, &key).await?.size_bytes;
    if sig.size.is_some_and(|s| s != size) {
        return Err(ApiError::Forbidden("this link's signature is not valid".into()));
    }
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(n) = declared.filter(|&n| n != size) {
        return Err(mismatch(size, &format!("declares {n} bytes")));
    }
    Ok((key, size))
}

fn mismatch(size: u64, got: &str) -> ApiError {
    ApiError::BadRequest(format!("this upload was initiated with sizeBytes {size}; the body {got}: nothing stored"))
}

pub async fn put(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(sig): Query<Signature>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (key, size) = match check_put(&state, &key, &sig, &headers).await {
        Ok(found) => found,
        Err(e) => {
            // Read (and drop) the body so the client gets this answer.
            quota::drain(body, state.config.max_upload_bytes).await;
            return Err(e);
        }
    };
    let mismatch = |got: &str| mismatch(size, got);
    let stream = exactly(Box::pin(body.into_data_stream().map_err(io::Error::other)), size);
    match state.storage.put(&key, stream, "application/octet-stream").await {
        Ok(_) => {}
        Err(e) if is_over_limit(&e) => return Err(mismatch("has more bytes")),
        Err(StorageError::Body(e)) if e.get_ref().is_some_and(|i| i.is::<ShortBody>()) => {
            return Err(mismatch("has fewer bytes"));
        }
        Err(StorageError::Body(e)) => {
            return Err(ApiError::BadRequest(format!("the upload body could not be read: {e}")));
        }
        Err(e) => return Err(e.into()),
    }
    // Completed while the bytes were on their way: the media's original
    // lives under its own key and these bytes are not it. They are left
    // for the purge of the media (deleting them here could race the
    // completion's move of the checked bytes).
    open_upload(&state, &key).await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn get(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(sig): Query<Signature>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = verify(&state, "GET", &key, &sig)?;
    let size = state.storage.size(&key).await?;
    let object = Servable {
        etag: format!("\"{key}-{size}\"").replace('/', "-"),
        key,
        mime: "application/octet-stream".into(),
        size,
    };
    // Signed GETs are downloads: never shown inline, whatever the bytes.
    let mut response = send(&state, &object, &headers).await?;
    response.headers_mut().insert(header::CONTENT_DISPOSITION, header::HeaderValue::from_static("attachment"));
    Ok(response)
}
