//! The presigned flow: `initiate` reserves the declared size and signs a
//! PUT URL for exactly that many bytes; `complete` checks what arrived and
//! records it.
//!
//! `complete` claims the upload and inserts the media in one database
//! transaction (deleting the uploads row), so of any number of concurrent
//! or repeated completions exactly one records the media and the others
//! answer with it; none of them deletes an object a media row points at.
//! The winner then moves the bytes to the media's own original key, out of
//! reach of the upload URL, and only then enqueues processing.

use std::time::Duration;

use chrono::{DateTime, Utc};

use mediaq_shared::domain::{MediaId, Upload, User};
use mediaq_shared::events::FileEvent;
use mediaq_shared::queue::Job;
use mediaq_shared::repo::{RepoError, now};
use mediaq_shared::storage::{ByteRange, ObjectKey, StorageError, collect};

use super::{SNIFF_LEN, UploadMeta, delete_secret, new_media, sniff};
use crate::error::ApiError;
use crate::idempotency::{self, Claim};
use crate::quota;
use crate::state::AppState;

/// What `initiate` was asked for (already validated by the route).
#[derive(Debug)]
pub struct Request {
    pub name: String,
    pub content_type: String,
    pub size: u64,
}

/// A URL to PUT the bytes to.
#[derive(Debug)]
pub struct Initiated {
    pub id: MediaId,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Starts an upload of `req.size` bytes, honouring the `Idempotency-Key`:
/// the same key from the same caller answers the same upload.
#[tracing::instrument(skip_all, fields(owner = %owner.id, size = req.size))]
pub async fn initiate(state: &AppState, owner: &User, req: Request, idem: Option<&str>) -> Result<Initiated, ApiError> {
    if let Some(key) = idem
        && let Some((first, _)) = state.repo.idempotent_result(owner.id, key).await?
    {
        return again(state, owner, &first).await;
    }
    let id = MediaId::generate();
    // Held (under the file id) until complete, or until the upload expires.
    let hold = state.config.presign_ttl + Duration::from_secs(600);
    quota::reserve(state, owner, Some(id.as_str()), req.size, req.size, hold).await?;
    let started = start(state, owner, &id, req).await;
    let claimed = match (started, idem) {
        (Ok(done), Some(key)) => idempotency::claim(state, owner, key, &id).await.map(|c| (done, c)),
        (Ok(done), None) => Ok((done, Claim::Won)),
        (Err(e), _) => Err(e),
    };
    match claimed {
        Ok((done, Claim::Won)) => Ok(done),
        other => {
            // Refused, or a concurrent request with the same key won:
            // nothing was PUT to this upload yet, forget it.
            if let Err(e) = state.repo.delete_upload(&id).await {
                tracing::warn!(error = %e, "could not remove an upload never handed out");
            }
            quota::release(state, id.as_str()).await;
            match other {
                Ok((_, Claim::Lost(first))) => again(state, owner, &first).await,
                Err(e) => Err(e),
                Ok((done, Claim::Won)) => Ok(done),
            }
        }
    }
}

async fn start(state: &AppState, owner: &User, id: &MediaId, req: Request) -> Result<Initiated, ApiError> {
    let key = ObjectKey::upload(id);
    let signed = state.storage.presign_upload(&key, state.config.presign_ttl, req.size).await?;
    let upload = Upload {
        id: id.clone(),
        owner_id: owner.id,
        name: req.name,
        content_type: req.content_type,
        size_bytes: req.size,
        object_key: key.to_string(),
        created_at: now(),
        expires_at: signed.expires_at,
    };
    state.repo.insert_upload(&upload).await?;
    Ok(Initiated { id: id.clone(), url: signed.url, expires_at: signed.expires_at })
}

/// The upload an earlier initiate with the same key started, with a URL
/// signed again for the time it has left.
async fn again(state: &AppState, owner: &User, first: &MediaId) -> Result<Initiated, ApiError> {
    let upload = match state.repo.upload(first).await {
        Ok(u) if u.owner_id == owner.id => u,
        Ok(_) => return Err(ApiError::NotFound),
        Err(RepoError::NotFound) => {
            return Err(ApiError::Conflict(format!(
                "the upload started with this Idempotency-Key is completed (file {first}) or expired"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let left = (upload.expires_at - now()).to_std().ok().filter(|d| !d.is_zero());
    let left = left.ok_or_else(|| ApiError::Forbidden("this upload has expired; initiate a new one".into()))?;
    let key = ObjectKey::parse(&upload.object_key).ok_or(ApiError::NotFound)?;
    let signed = state.storage.presign_upload(&key, left, upload.size_bytes).await?;
    Ok(Initiated { id: upload.id, url: signed.url, expires_at: upload.expires_at })
}

/// Completes upload `id`: the media's id, recorded by this call or by a
/// completion that came first.
#[tracing::instrument(skip_all, fields(owner = %owner.id, media = %id))]
pub async fn complete(state: &AppState, owner: &User, id: &MediaId) -> Result<MediaId, ApiError> {
    let upload = match state.repo.upload(id).await {
        Ok(u) if u.owner_id == owner.id => u,
        Ok(_) => return Err(ApiError::NotFound),
        // Completed already: answer as the first completion did.
        Err(RepoError::NotFound) => return Ok(id.clone()),
        Err(e) => return Err(e.into()),
    };
    if upload.expires_at < now() {
        return Err(ApiError::Forbidden("this upload has expired; initiate a new one".into()));
    }
    let key = ObjectKey::parse(&upload.object_key).ok_or(ApiError::NotFound)?;
    let head = match check(state, &upload, &key).await {
        Ok(Ok(head)) => head,
        Ok(Err(size)) => {
            // The upload key only: no media row points at it.
            state.storage.delete(&key).await?;
            return Err(ApiError::BadRequest(format!(
                "the uploaded object has {size} bytes but {} were declared; it was removed, PUT it again",
                upload.size_bytes
            )));
        }
        // A concurrent completion moved the bytes away: it won.
        Err(StorageError::NotFound) if state.repo.upload(id).await.is_err() => return Ok(id.clone()),
        Err(StorageError::NotFound) => {
            return Err(ApiError::BadRequest(
                "nothing has been uploaded to uploadUrl yet: PUT the bytes there first".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let (mime, extension, kind) = match sniff(state, &head, super::Accept::Any) {
        Ok(found) => found,
        Err(e) => {
            // Only the upload key is removed: no media row points at it.
            state.storage.delete(&key).await?;
            state.repo.delete_upload(id).await?;
            quota::release(state, id.as_str()).await;
            return Err(e);
        }
    };
    let meta = UploadMeta { filename: Some(upload.name.clone()), ..UploadMeta::default() };
    let mut media = new_media(id.clone(), owner, meta, extension);
    let original = ObjectKey::original(id, extension);
    media.kind = kind;
    media.mime = mime.to_owned();
    media.size = upload.size_bytes;
    media.original_key = original.to_string();
    let (_, hash) = delete_secret();
    if !state.repo.complete_upload(&media, Some(&hash)).await? {
        return Ok(id.clone()); // Another completion won.
    }
    quota::release(state, id.as_str()).await;
    // The row points at `original` from here on; move the bytes there.
    if let Err(e) = state.storage.rename(&key, &original).await {
        settle_failed(state, id, "the uploaded object could not be moved into place").await;
        return Err(e.into());
    }
    if let Err(e) = state.queue.enqueue(Job::Process(id.clone(), kind)).await {
        settle_failed(state, id, "could not be queued for processing").await;
        return Err(e.into());
    }
    tracing::info!(size = media.size, mime = %media.mime, "presigned upload completed");
    Ok(id.clone())
}

/// The object's first bytes when its size is the declared one, else
/// `Err(its size)`.
async fn check(state: &AppState, upload: &Upload, key: &ObjectKey) -> Result<Result<Vec<u8>, u64>, StorageError> {
    let size = state.storage.size(key).await?;
    if size != upload.size_bytes {
        return Ok(Err(size));
    }
    let head = state.storage.get(key, Some(ByteRange { start: 0, end: Some(SNIFF_LEN as u64 - 1) })).await?;
    Ok(Ok(collect(head.stream).await.map_err(StorageError::Io)?))
}

async fn settle_failed(state: &AppState, id: &MediaId, why: &str) {
    match state.repo.fail_media(id, why).await {
        Ok(true) => crate::lifecycle::emit(state, id, Some(FileEvent::Failed)).await,
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "could not mark a media failed"),
    }
}
