//! `PUT|GET /_storage/{key}?expires=…&signature=…`: the embedded storage's
//! presigned URLs, HMAC-checked (see `mediaq_shared::signing`). A PUT is
//! streamed to storage within the upload size limit; a GET streams back.
//! A bare `curl -X PUT --data-binary @file URL` works: nothing but the
//! method, path and expiry is signed.

use std::io;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use serde::Deserialize;

use mediaq_shared::signing::SignatureError;
use mediaq_shared::storage::{ObjectKey, StorageError, is_over_limit, limited};

use super::serve::{Servable, send};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct Signature {
    expires: i64,
    signature: String,
}

fn verify(state: &AppState, method: &str, key: &str, sig: &Signature) -> Result<ObjectKey, ApiError> {
    let key = ObjectKey::parse(key).ok_or(ApiError::NotFound)?;
    let path = format!("/_storage/{key}");
    state.signer.verify(method, &path, sig.expires, &sig.signature).map_err(|e| match e {
        SignatureError::Expired => ApiError::Forbidden("this upload/download link has expired".into()),
        SignatureError::Invalid => ApiError::Forbidden("this link's signature is not valid".into()),
    })?;
    Ok(key)
}

pub async fn put(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(sig): Query<Signature>,
    body: Body,
) -> Result<Response, ApiError> {
    let key = verify(&state, "PUT", &key, &sig)?;
    let limit = state.config.max_upload_bytes;
    let stream = limited(Box::pin(body.into_data_stream().map_err(io::Error::other)), limit);
    match state.storage.put(&key, stream, "application/octet-stream").await {
        Ok(_) => Ok(StatusCode::OK.into_response()),
        Err(e) if is_over_limit(&e) => Err(ApiError::TooLarge { limit }),
        Err(StorageError::Body(e)) => Err(ApiError::BadRequest(format!("the upload body could not be read: {e}"))),
        Err(e) => Err(e.into()),
    }
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
    send(&state, &object, &headers).await
}
