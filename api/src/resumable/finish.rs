//! The end of a resumable upload: its assembled object enters the ingest
//! pipeline like any other upload. The type is sniffed from its first
//! bytes; then a [`Pending`] adopts the object and the reservation, checks
//! the folder and records the media (processing queued: the job computes
//! SHA-256 and MD5 while streaming the original once). A refused upload
//! (a type we do not take, a folder gone) is removed, bytes and
//! reservation, like any refused upload.

use mediaq_shared::domain::{MediaId, User};
use mediaq_shared::repo::ResumableUpload;
use mediaq_shared::storage::{ByteRange, ObjectKey, StorageError, collect};

use super::meta::FileMeta;
use crate::error::ApiError;
use crate::ingest::{Accept, Pending, SNIFF_LEN, StoredOriginal, sniff};
use crate::quota::{self, Reserved};
use crate::state::AppState;

/// Records the assembled object `key` (`size` bytes) of `upload` as its
/// media; the upload's row is removed either way.
#[tracing::instrument(skip_all, fields(media = %upload.id, size))]
pub async fn finish(
    state: &AppState,
    owner: &User,
    upload: &ResumableUpload,
    key: ObjectKey,
    size: u64,
    reservation: Reserved,
) -> Result<MediaId, ApiError> {
    let head = match read_head(state, &key).await {
        Ok(head) => head,
        Err(e) => {
            drop_upload(state, upload, &key).await;
            return Err(e);
        }
    };
    let (mime, extension, kind) = match sniff(state, &head, Accept::Any) {
        Ok(found) => found,
        Err(e) => {
            drop_upload(state, upload, &key).await;
            return Err(e);
        }
    };
    let object = StoredOriginal { key, mime, extension, kind, size, sha256: None, md5: None };
    let meta = FileMeta::from_json(&upload.metadata);
    let mut pending = Pending::adopt(state, owner, upload.id.clone(), reservation, object);
    let recorded = match pending.check_folder(meta.folder_id.as_deref()).await {
        Ok(()) => pending.commit(meta.upload_meta()).await.map(|done| done.media.id),
        Err(e) => Err(e),
    };
    // On failure this removes the object and frees the reservation.
    pending.settle().await;
    if let Err(e) = state.repo.delete_resumable(&upload.id).await {
        tracing::warn!(error = %e, "could not remove a finished upload's row; the sweep will");
    }
    recorded
}

async fn read_head(state: &AppState, key: &ObjectKey) -> Result<Vec<u8>, ApiError> {
    let range = ByteRange { start: 0, end: Some(SNIFF_LEN as u64 - 1) };
    let body = state.storage.get(key, Some(range)).await?;
    Ok(collect(body.stream).await.map_err(StorageError::Io)?)
}

/// Removes an upload that will not become a media: its row, its bytes
/// (the assembled object, a staging tail, an open multipart upload) and
/// its reservation. Safe to repeat.
pub async fn drop_upload(state: &AppState, upload: &ResumableUpload, key: &ObjectKey) {
    if let Err(e) = state.repo.delete_resumable(&upload.id).await {
        tracing::warn!(error = %e, "could not remove an upload's row");
    }
    // A media row with this id (a completion that got that far) owns the
    // object: never remove it then.
    let recorded = !matches!(state.repo.media(&upload.id).await, Err(mediaq_shared::repo::RepoError::NotFound));
    if let Some(mp) = &upload.multipart_id
        && let Err(e) = state.storage.abort_multipart(key, mp).await
    {
        tracing::warn!(error = %e, "could not abort a multipart upload");
    }
    if upload.tail_bytes > 0 {
        let _ = state.storage.delete(&ObjectKey::tus_tail(&upload.id, upload.parts_bytes())).await;
    }
    if !recorded && let Err(e) = state.storage.delete(key).await {
        tracing::warn!(error = %e, "could not remove an upload's bytes");
    }
    quota::release(state, upload.id.as_str()).await;
}
