//! Writing one chunk of a tus upload where the backend does it best.
//!
//! - File system: written in place into the assembled object at the
//!   upload's offset (`Storage::write_at`); nothing is copied at the end.
//!   The bytes come back not yet durable ([`Written::pending`]): they are
//!   synced before their offset is recorded. Bytes past the offset left
//!   by a writer that died are cut off by the next write.
//! - S3: a multipart upload of the assembled object. The incoming bytes
//!   (after the staging tail, below) fill a part buffer of [`PART_SIZE`];
//!   every full buffer becomes a part, sent by a task of its own while the
//!   next one fills (at most `parts::IN_FLIGHT` at once, see `parts`);
//!   the chunk is done once they all went up. What is left under 5 MiB when the
//!   chunk ends is put in a staging object (`media/{id}/tail.{P}`, P = the
//!   bytes in parts), read back in front of the next chunk. A tail only
//!   ever grows while P stays, so a writer that died after replacing it
//!   leaves a longer object whose first `tail_bytes` bytes are still right.
//!
//! Nothing is recorded here: the caller records the returned [`Written`]
//! under its lock, or not at all (a checksum mismatch, a refused body),
//! and unrecorded bytes are overwritten by the next chunk.

use std::io;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use futures::TryStreamExt;
use tokio::sync::Semaphore;

use mediaq_shared::repo::{RecordedPart, ResumableUpload};
use mediaq_shared::storage::{
    BodyStream, ByteRange, ObjectKey, StorageError, Unsynced, is_over_limit, limited, stream_of,
};

use super::parts::PartUploads;
use crate::error::ApiError;
use crate::state::AppState;

/// Bytes per S3 part (S3 wants at least 5 MiB but the last).
const PART_SIZE: usize = 8 * 1024 * 1024;
const MIN_PART: usize = 5 * 1024 * 1024;

/// The checksum a client sent with a chunk (tus `Upload-Checksum`).
#[derive(Debug, Clone)]
pub struct Checksum {
    pub sha256: bool,
    pub expected: Vec<u8>,
}

/// A running hash of one of the two algorithms.
enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    fn new(sha256: bool) -> Self {
        if sha256 { Self::Sha256(sha2::Digest::new()) } else { Self::Sha1(sha1::Digest::new()) }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha1(h) => sha1::Digest::update(h, data),
            Self::Sha256(h) => sha2::Digest::update(h, data),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Self::Sha1(h) => sha1::Digest::finalize(h).to_vec(),
            Self::Sha256(h) => sha2::Digest::finalize(h).to_vec(),
        }
    }
}

/// Where a chunk left the upload (to record).
#[derive(Debug)]
pub struct Written {
    pub offset: u64,
    /// Bytes written in place that are not durable yet: to sync before
    /// the offset is recorded.
    pub pending: Option<Unsynced>,
    pub multipart_id: Option<String>,
    pub parts: Vec<RecordedPart>,
    pub tail_bytes: u64,
    /// Tail objects the recorded state no longer needs.
    pub stale_tail: Option<ObjectKey>,
}

/// Why a chunk is not recorded.
#[derive(Debug)]
pub enum ChunkError {
    /// The chunk passed the declared length.
    TooLong,
    /// Its checksum did not match: discarded.
    Mismatch,
    /// The client's body failed and the chunk carried a checksum, so
    /// nothing of it may be kept.
    BodyFailed(io::Error),
    Api(ApiError),
}

impl From<StorageError> for ChunkError {
    fn from(e: StorageError) -> Self {
        Self::Api(e.into())
    }
}

/// The multipart upload a new upload of `length` bytes writes on S3,
/// started at once so that it is recorded with the upload from the first
/// (and aborted with it by termination or the sweep, whatever happens to
/// a chunk); none where bytes are written in place or fit one object.
pub async fn start_parts(state: &AppState, key: &ObjectKey, length: u64) -> Result<Option<String>, StorageError> {
    if state.storage.writes_in_place() || length < MIN_PART as u64 {
        return Ok(None);
    }
    Ok(Some(state.storage.create_multipart(key, "application/octet-stream").await?))
}

/// Writes `body` at the upload's offset. A body that fails part way keeps
/// what arrived (unless a checksum was sent).
pub async fn write(
    state: &AppState,
    upload: &ResumableUpload,
    body: BodyStream<'_>,
    checksum: Option<&Checksum>,
    permits: Arc<Semaphore>,
) -> Result<Written, ChunkError> {
    let room = upload.length.unwrap_or(state.config.max_upload_bytes).saturating_sub(upload.offset);
    let hasher = checksum.map(|c| Arc::new(Mutex::new(Some(Hasher::new(c.sha256)))));
    let seen = hasher.clone();
    let body = limited(body, room).inspect_ok(move |chunk| {
        if let Some(h) = &seen
            && let Ok(mut h) = h.lock()
            && let Some(h) = h.as_mut()
        {
            h.update(chunk);
        }
    });
    let (written, failed) = if state.storage.writes_in_place() {
        in_place(state, upload, Box::pin(body)).await?
    } else {
        in_parts(state, upload, Box::pin(body), checksum.is_some(), permits).await?
    };
    if let Some(e) = failed {
        return Err(e);
    }
    if let (Some(c), Some(h)) = (checksum, hasher) {
        let digest = h.lock().ok().and_then(|mut h| h.take()).map(Hasher::finish);
        if digest.as_deref() != Some(c.expected.as_slice()) {
            return Err(ChunkError::Mismatch);
        }
    }
    Ok(written)
}

/// Sorts a failed body: over the length, or a client gone.
fn body_failure(e: StorageError, checksum: bool) -> Result<Option<ChunkError>, ChunkError> {
    if is_over_limit(&e) {
        return Err(ChunkError::TooLong);
    }
    match e {
        StorageError::Body(e) if checksum => Err(ChunkError::BodyFailed(e)),
        // Keep what arrived: the client resumes from the recorded offset.
        StorageError::Body(e) => {
            tracing::info!(error = %e, "an upload chunk ended early; keeping what arrived");
            Ok(None)
        }
        other => Err(other.into()),
    }
}

async fn in_place(
    state: &AppState,
    upload: &ResumableUpload,
    body: BodyStream<'_>,
) -> Result<(Written, Option<ChunkError>), ChunkError> {
    let key = ObjectKey::parse(&upload.object_key).ok_or(ChunkError::Api(ApiError::NotFound))?;
    let (written, pending, failed) = match state.storage.write_at(&key, upload.offset, body).await {
        Ok(unsynced) => (unsynced.written(), Some(unsynced), None),
        Err(partial) => (partial.written, None, body_failure(partial.error, false)?),
    };
    let done = Written {
        offset: upload.offset + written,
        pending,
        multipart_id: None,
        parts: Vec::new(),
        tail_bytes: 0,
        stale_tail: None,
    };
    Ok((done, failed))
}

/// The S3 way (see the module header).
async fn in_parts(
    state: &AppState,
    upload: &ResumableUpload,
    body: BodyStream<'_>,
    checksum: bool,
    permits: Arc<Semaphore>,
) -> Result<(Written, Option<ChunkError>), ChunkError> {
    let key = ObjectKey::parse(&upload.object_key).ok_or(ChunkError::Api(ApiError::NotFound))?;
    let start_parts = upload.parts_bytes();
    let old_tail = ObjectKey::tus_tail(&upload.id, start_parts);
    let mut parts = PartUploads::new(state, key.clone(), upload.multipart_id.clone(), upload.parts.clone(), permits);
    let mut buf = read_tail(state, &old_tail, upload.tail_bytes).await?;
    let failed = fill_parts(&mut parts, &mut buf, body, checksum).await?;
    let length = upload.length.unwrap_or(u64::MAX);
    let parts_bytes = parts.bytes();
    let offset = parts_bytes + buf.len() as u64;
    let complete = offset == length && failed.is_none();
    let leftover = buf.freeze();
    let mut tail_bytes = 0;
    if complete && !parts.started() {
        // Small enough for one object. (A checksum mismatch found next
        // leaves it unrecorded; the next chunk writes it again.)
        state.storage.put(&key, stream_of(leftover), "application/octet-stream").await?;
    } else if complete || leftover.len() >= MIN_PART {
        // The last part may be short; the upload is completed by
        // `assemble` once the checksum is checked.
        if !leftover.is_empty() {
            parts.send(leftover).await?;
        }
    } else if !leftover.is_empty() {
        let tail = ObjectKey::tus_tail(&upload.id, parts_bytes);
        tail_bytes = leftover.len() as u64;
        state.storage.put(&tail, stream_of(leftover), "application/octet-stream").await?;
    }
    let (multipart_id, parts) = parts.finish().await?;
    let stale_tail = (upload.tail_bytes > 0 && (parts_bytes != start_parts || tail_bytes == 0)).then_some(old_tail);
    Ok((Written { offset, pending: None, multipart_id, parts, tail_bytes, stale_tail }, failed))
}

/// Reads `body` into part buffers, sending each full one while the next
/// fills; what is left (under one part) stays in `buf`. Returns how the
/// body failed, if it did and what arrived is kept.
async fn fill_parts(
    parts: &mut PartUploads,
    buf: &mut BytesMut,
    mut body: BodyStream<'_>,
    checksum: bool,
) -> Result<Option<ChunkError>, ChunkError> {
    loop {
        let mut frame = match body.try_next().await {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(None),
            Err(e) => return body_failure(StorageError::Body(e), checksum),
        };
        while !frame.is_empty() {
            let take = frame.len().min(PART_SIZE - buf.len());
            buf.extend_from_slice(&frame.split_to(take));
            if buf.len() == PART_SIZE {
                let full = std::mem::replace(buf, BytesMut::with_capacity(PART_SIZE));
                parts.send(full.freeze()).await?;
            }
        }
    }
}

/// The recorded first `len` bytes of a staging tail, in a part buffer.
async fn read_tail(state: &AppState, tail: &ObjectKey, len: u64) -> Result<BytesMut, ChunkError> {
    let mut buf = BytesMut::with_capacity(PART_SIZE);
    if len == 0 {
        return Ok(buf);
    }
    let range = ByteRange { start: 0, end: Some(len - 1) };
    let mut stream = state.storage.get(tail, Some(range)).await?.stream;
    while let Some(chunk) = stream.try_next().await.map_err(StorageError::Io)? {
        let take = chunk.len().min(PART_SIZE - buf.len());
        buf.extend_from_slice(&chunk[..take]);
    }
    buf.truncate(usize::try_from(len).unwrap_or(usize::MAX));
    Ok(buf)
}

/// Joins an S3 upload's recorded parts into its object (after the
/// checksum was checked); nothing to do on the file system or when the
/// object went up in one PUT.
pub async fn assemble(state: &AppState, key: &ObjectKey, written: &Written) -> Result<(), ApiError> {
    if let Some(id) = &written.multipart_id {
        let parts: Vec<(u32, String)> = written.parts.iter().map(|p| (p.number, p.etag.clone())).collect();
        state.storage.complete_multipart(key, id, &parts).await?;
    }
    Ok(())
}
