//! The parts of a tus upload on S3, sent while the body keeps arriving.
//!
//! Each full part buffer is handed to a task of its own that uploads it;
//! the request goes on reading the next part meanwhile. At most
//! [`IN_FLIGHT`] parts of one writer are being sent at once (each holds a
//! permit of its writer's [`Held::parts`](super::held::Held) semaphore), so
//! memory stays at `(IN_FLIGHT + 1) × PART_SIZE` per PATCH however large
//! the chunk. A part counts only once its upload answered: the parts a
//! chunk records are those that went up, in order, and none of them when
//! one failed (the offset stays; the next chunk sends those numbers
//! again, replacing what landed). Every part task ends before its
//! writer's lock is let go, even when the request is dropped, so no stale
//! part of a writer can land after the next writer's part of the same
//! number.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use mediaq_shared::repo::RecordedPart;
use mediaq_shared::storage::{ObjectKey, StorageError, stream_of};

use crate::state::AppState;

/// Parts of one writer being sent at once.
pub const IN_FLIGHT: u32 = 3;

type Sending = JoinHandle<Result<RecordedPart, StorageError>>;

/// The parts of one chunk: those stored, then those being sent.
pub struct PartUploads {
    state: AppState,
    key: ObjectKey,
    upload_id: Option<String>,
    /// Parts stored, in order (the recorded ones first).
    stored: Vec<RecordedPart>,
    sending: VecDeque<Sending>,
    /// Bytes of the parts stored or being sent.
    sent: u64,
    permits: Arc<Semaphore>,
}

impl PartUploads {
    /// Continues after the recorded `parts` of multipart upload
    /// `upload_id` (created at the first part when `None`).
    pub fn new(
        state: &AppState,
        key: ObjectKey,
        upload_id: Option<String>,
        parts: Vec<RecordedPart>,
        permits: Arc<Semaphore>,
    ) -> Self {
        let sent = parts.iter().map(|p| p.size).sum();
        Self { state: state.clone(), key, upload_id, stored: parts, sending: VecDeque::new(), sent, permits }
    }

    /// True once the upload has a multipart upload underneath.
    pub fn started(&self) -> bool {
        self.upload_id.is_some()
    }

    /// Bytes in the parts stored or being sent.
    pub fn bytes(&self) -> u64 {
        self.sent
    }

    /// Starts sending `bytes` as the next part; waits first while
    /// [`IN_FLIGHT`] parts are on their way. An error is that of an
    /// earlier part (every part still on its way has ended then).
    pub async fn send(&mut self, bytes: Bytes) -> Result<(), StorageError> {
        if self.sending.len() >= IN_FLIGHT as usize {
            self.collect_oldest().await?;
        }
        let permit = self.permits.clone().acquire_owned().await.map_err(|e| StorageError::Backend(e.to_string()))?;
        let upload_id = self.upload_id().await?;
        let number = u32::try_from(self.stored.len() + self.sending.len() + 1).unwrap_or(u32::MAX);
        self.sent += bytes.len() as u64;
        let task = upload(self.state.clone(), self.key.clone(), upload_id, number, bytes, permit);
        self.sending.push_back(tokio::spawn(task));
        Ok(())
    }

    async fn upload_id(&mut self) -> Result<String, StorageError> {
        if let Some(id) = &self.upload_id {
            return Ok(id.clone());
        }
        let id = self.state.storage.create_multipart(&self.key, "application/octet-stream").await?;
        self.upload_id = Some(id.clone());
        Ok(id)
    }

    /// Waits for the oldest part on its way; on its failure, for all.
    async fn collect_oldest(&mut self) -> Result<(), StorageError> {
        let Some(task) = self.sending.pop_front() else { return Ok(()) };
        let done = task.await.map_err(|e| StorageError::Backend(format!("a part upload failed: {e}")));
        match done.and_then(|r| r) {
            Ok(part) => {
                self.stored.push(part);
                Ok(())
            }
            Err(e) => {
                for task in self.sending.drain(..) {
                    let _ = task.await;
                }
                Err(e)
            }
        }
    }

    /// Waits until every part is stored: the multipart upload and every
    /// part (the recorded ones first), or the first failure.
    pub async fn finish(mut self) -> Result<(Option<String>, Vec<RecordedPart>), StorageError> {
        while !self.sending.is_empty() {
            self.collect_oldest().await?;
        }
        Ok((self.upload_id.take(), std::mem::take(&mut self.stored)))
    }
}

async fn upload(
    state: AppState,
    key: ObjectKey,
    upload_id: String,
    number: u32,
    bytes: Bytes,
    permit: OwnedSemaphorePermit,
) -> Result<RecordedPart, StorageError> {
    let stored = state.storage.upload_part(&key, &upload_id, number, stream_of(bytes)).await;
    drop(permit);
    let stored = stored?;
    Ok(RecordedPart { number, etag: stored.etag, size: stored.size })
}
