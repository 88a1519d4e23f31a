//! Streaming one body into storage: sniff its type from the first bytes,
//! then store it while hashing it (SHA-256 and MD5 in the same pass) and
//! counting it against the size limit and the quota room. A refused or
//! broken body leaves no object (storage puts are all-or-nothing).

use std::io;

use futures::StreamExt;

use mediaq_shared::domain::{MediaId, MediaKind};
use mediaq_shared::storage::{BodyStream, Md5, ObjectKey, StorageError, is_over_limit, put_hashed, read_head};

use super::{Accept, SNIFF_LEN, sniff};
use crate::error::ApiError;
use crate::quota::Reserved;
use crate::state::AppState;

/// An original in storage, not yet recorded.
#[derive(Debug)]
pub struct StoredOriginal {
    pub key: ObjectKey,
    pub mime: &'static str,
    pub extension: &'static str,
    pub kind: MediaKind,
    pub size: u64,
    /// Known when the bytes came through the API; a presigned upload is
    /// hashed by the worker.
    pub sha256: Option<String>,
    pub md5: Option<String>,
}

/// Sniffs, hashes (MD5 too with [`Md5::Yes`]) and streams `body` to the original key of `id`, within
/// the upload limit and the room `quota` reserved: a body that goes past
/// either is refused and nothing is kept.
#[tracing::instrument(skip_all, fields(media = %id))]
pub(super) async fn store_within(
    state: &AppState,
    id: &MediaId,
    mut body: BodyStream<'_>,
    quota: Option<&Reserved>,
    accept: Accept,
    revision: Option<&str>,
    md5: Md5,
) -> Result<StoredOriginal, ApiError> {
    let head = read_head(&mut body, SNIFF_LEN).await.map_err(|e| read_error(&e))?;
    if head.is_empty() {
        return Err(ApiError::EmptySource);
    }
    let (mime, extension, kind) = sniff(state, &head, accept)?;
    let key = ObjectKey::original_rev(id, revision, extension);
    let max = state.config.max_upload_bytes;
    let cap = quota.and_then(Reserved::cap).filter(|&c| c < max);
    let whole = Box::pin(futures::stream::once(async { Ok(head) }).chain(body));
    let hashed = put_hashed(&state.storage, &key, whole, mime, cap.unwrap_or(max), md5).await.map_err(|e| {
        match (quota, cap) {
            (Some(q), Some(_)) if is_over_limit(&e) => q.exceeded(),
            _ => body_error(e, max),
        }
    })?;
    Ok(StoredOriginal { key, mime, extension, kind, size: hashed.size, sha256: Some(hashed.sha256), md5: hashed.md5 })
}

fn body_error(e: StorageError, limit: u64) -> ApiError {
    match e {
        e if is_over_limit(&e) => ApiError::TooLarge { limit },
        StorageError::Body(inner) => read_error(&inner),
        other => other.into(),
    }
}

fn read_error(e: &io::Error) -> ApiError {
    ApiError::BadRequest(format!("the upload body could not be read: {e}"))
}
