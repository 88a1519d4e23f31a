//! [`Metered`]: a [`Storage`] that forwards every call to the configured
//! backend and counts, for the metrics, the bytes written and read and the
//! operations that failed in the backend. A missing object, a range out of
//! bounds or a failing client body is not a storage error and is not
//! counted.
//!
//! Every method of [`Storage`] is forwarded here, the provided ones
//! included (`writes_in_place`, `write_at`): a new trait method must be
//! forwarded too, or the backend's own version would be bypassed.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use metrics::{Counter, counter};

use super::{
    BodyStream, ByteRange, DynStorage, ObjectBody, ObjectKey, ObjectStream, PartialWrite, PresignedUrl, Storage,
    StorageError, StoredPart, Unsynced,
};
use crate::domain::MediaId;
use crate::metrics::{STORAGE_READ, STORAGE_WRITTEN, storage_error};

pub struct Metered {
    inner: DynStorage,
    written: Counter,
    read: Counter,
}

impl Metered {
    pub fn new(inner: DynStorage) -> Self {
        let backend = inner.backend();
        crate::metrics::register_error_counters(backend);
        let written = counter!(STORAGE_WRITTEN, "backend" => backend);
        let read = counter!(STORAGE_READ, "backend" => backend);
        Self { inner, written, read }
    }

    /// Counts `result` as a failed `operation` when the backend failed.
    fn count<T>(&self, operation: &'static str, result: Result<T, StorageError>) -> Result<T, StorageError> {
        if let Err(e) = &result
            && matches!(e, StorageError::Io(_) | StorageError::Backend(_))
        {
            storage_error(self.inner.backend(), operation);
        }
        result
    }

    fn wrote(&self, operation: &'static str, result: Result<u64, StorageError>) -> Result<u64, StorageError> {
        let result = self.count(operation, result);
        if let Ok(n) = &result {
            self.written.increment(*n);
        }
        result
    }
}

#[async_trait]
impl Storage for Metered {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn put(&self, key: &ObjectKey, body: BodyStream<'_>, content_type: &str) -> Result<u64, StorageError> {
        self.wrote("write", self.inner.put(key, body, content_type).await)
    }

    async fn get(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ObjectBody, StorageError> {
        let mut body = self.count("read", self.inner.get(key, range).await)?;
        let read = self.read.clone();
        body.stream = Box::pin(body.stream.inspect(move |chunk| {
            if let Ok(bytes) = chunk {
                read.increment(bytes.len() as u64);
            }
        }));
        Ok(body)
    }

    async fn size(&self, key: &ObjectKey) -> Result<u64, StorageError> {
        self.count("read", self.inner.size(key).await)
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        self.count("delete", self.inner.delete(key).await)
    }

    async fn delete_media(&self, media: &MediaId) -> Result<(), StorageError> {
        self.count("delete", self.inner.delete_media(media).await)
    }

    async fn presign_put(&self, key: &ObjectKey, ttl: Duration) -> Result<PresignedUrl, StorageError> {
        self.count("presign", self.inner.presign_put(key, ttl).await)
    }

    async fn presign_upload(&self, key: &ObjectKey, ttl: Duration, size: u64) -> Result<PresignedUrl, StorageError> {
        self.count("presign", self.inner.presign_upload(key, ttl, size).await)
    }

    async fn rename(&self, from: &ObjectKey, to: &ObjectKey) -> Result<(), StorageError> {
        self.count("write", self.inner.rename(from, to).await)
    }

    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<u64, StorageError> {
        self.count("write", self.inner.copy(from, to).await)
    }

    async fn presign_get(&self, key: &ObjectKey, ttl: Duration) -> Result<PresignedUrl, StorageError> {
        self.count("presign", self.inner.presign_get(key, ttl).await)
    }

    async fn check(&self) -> Result<(), StorageError> {
        self.count("check", self.inner.check().await)
    }

    fn list(&self, prefix: &str) -> ObjectStream {
        let backend = self.inner.backend();
        Box::pin(self.inner.list(prefix).inspect(move |item| {
            if matches!(item, Err(StorageError::Io(_) | StorageError::Backend(_))) {
                storage_error(backend, "read");
            }
        }))
    }

    async fn remove_stale_partials(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        self.count("delete", self.inner.remove_stale_partials(before).await)
    }

    async fn create_multipart(&self, key: &ObjectKey, content_type: &str) -> Result<String, StorageError> {
        self.count("write", self.inner.create_multipart(key, content_type).await)
    }

    async fn upload_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        number: u32,
        body: BodyStream<'_>,
    ) -> Result<StoredPart, StorageError> {
        let part = self.count("write", self.inner.upload_part(key, upload_id, number, body).await)?;
        self.written.increment(part.size);
        Ok(part)
    }

    async fn list_parts(&self, key: &ObjectKey, upload_id: &str) -> Result<Vec<StoredPart>, StorageError> {
        self.count("read", self.inner.list_parts(key, upload_id).await)
    }

    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        self.count("write", self.inner.complete_multipart(key, upload_id, parts).await)
    }

    async fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> Result<(), StorageError> {
        self.count("delete", self.inner.abort_multipart(key, upload_id).await)
    }

    async fn presign_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        number: u32,
        ttl: Duration,
    ) -> Result<PresignedUrl, StorageError> {
        self.count("presign", self.inner.presign_part(key, upload_id, number, ttl).await)
    }

    fn writes_in_place(&self) -> bool {
        self.inner.writes_in_place()
    }

    async fn write_at(&self, key: &ObjectKey, offset: u64, body: BodyStream<'_>) -> Result<Unsynced, PartialWrite> {
        let result = self.inner.write_at(key, offset, body).await;
        let written = match &result {
            Ok(unsynced) => unsynced.written(),
            Err(partial) => {
                if matches!(partial.error, StorageError::Io(_) | StorageError::Backend(_)) {
                    storage_error(self.inner.backend(), "write");
                }
                partial.written
            }
        };
        self.written.increment(written);
        result
    }
}
