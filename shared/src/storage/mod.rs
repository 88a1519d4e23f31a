//! Object storage behind one streaming trait: `fs` under the data dir or
//! `s3` (AWS, MinIO, any S3-compatible server).
//!
//! Bodies move as streams of `Bytes` in both directions, so no object is
//! ever held whole in memory. Every key comes from [`ObjectKey`]'s
//! constructors; nothing above this module formats a key by hand.

mod fs;
mod hashed;
mod in_place;
mod key;
mod metered;
mod multipart;
mod s3;
mod s3_parts;

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::Stream;

pub use fs::FsStorage;
pub use hashed::{Hashed, LimitExceeded, Md5, is_over_limit, limited, put_hashed, read_head};
pub use in_place::Unsynced;
pub use key::ObjectKey;
pub use metered::Metered;
pub use multipart::{PartialWrite, StoredPart, valid_upload_id};
pub use s3::S3Storage;

use crate::config::{Config, StorageConfig};
use crate::domain::MediaId;
use crate::signing::UrlSigner;

/// A body on its way into storage; it may borrow from the request.
pub type BodyStream<'a> = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send + 'a>>;

/// A body on its way out of storage.
pub type ByteStream = BodyStream<'static>;

/// The shared handle every part of mediaq uses.
pub type DynStorage = Arc<dyn Storage>;

/// Objects found by [`Storage::list`], one at a time.
pub type ObjectStream = Pin<Box<dyn Stream<Item = Result<ListedObject, StorageError>> + Send + 'static>>;

/// One stored object as a listing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// The key as stored; not necessarily one [`ObjectKey::parse`] accepts.
    pub key: String,
    pub size: u64,
    pub modified: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object not found")]
    NotFound,
    #[error("requested range not satisfiable")]
    InvalidRange,
    /// The body stream given to `put` failed (client gone, limit hit…);
    /// the inner error is the stream's own, for the caller to inspect.
    #[error("upload body: {0}")]
    Body(#[source] io::Error),
    #[error("storage i/o: {0}")]
    Io(#[from] io::Error),
    #[error("storage backend: {0}")]
    Backend(String),
}

/// A byte range as HTTP `Range` asks for it (`end` inclusive, open when
/// `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: Option<u64>,
}

impl ByteRange {
    /// The concrete inclusive bounds within an object of `total` bytes.
    pub fn resolve(self, total: u64) -> Result<(u64, u64), StorageError> {
        let end = self.end.map_or(total.saturating_sub(1), |e| e.min(total.saturating_sub(1)));
        if total == 0 || self.start > end {
            return Err(StorageError::InvalidRange);
        }
        Ok((self.start, end))
    }
}

/// An object (or a range of it) being read.
pub struct ObjectBody {
    pub stream: ByteStream,
    /// Bytes in `stream`.
    pub len: u64,
    /// Size of the whole object.
    pub total: u64,
    /// Inclusive bounds served, when a range was asked for.
    pub range: Option<(u64, u64)>,
}

/// A URL that lets a client act on one object without other credentials.
#[derive(Debug, Clone)]
pub struct PresignedUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// `fs` or `s3`, for logs and readiness answers.
    fn backend(&self) -> &'static str;

    /// Stores `body` under `key`, replacing any object there, and returns
    /// its size. The object appears whole or not at all: a failed body
    /// leaves nothing behind.
    async fn put(&self, key: &ObjectKey, body: BodyStream<'_>, content_type: &str) -> Result<u64, StorageError>;

    async fn get(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ObjectBody, StorageError>;

    /// The object's size; `NotFound` when absent.
    async fn size(&self, key: &ObjectKey) -> Result<u64, StorageError>;

    /// Removes the object; removing a missing one is not an error, so
    /// retried purges are safe.
    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError>;

    /// Removes every object of a media (original, upload, variants, and
    /// anything a crashed job wrote), so a purge leaves no orphan. Safe to
    /// repeat.
    async fn delete_media(&self, media: &MediaId) -> Result<(), StorageError>;

    /// A URL a client can `PUT` the bytes to, signing no header the
    /// client does not send (a bare `curl -X PUT --data-binary` works).
    async fn presign_put(&self, key: &ObjectKey, ttl: Duration) -> Result<PresignedUrl, StorageError>;

    /// [`presign_put`](Self::presign_put) for a body of exactly `size`
    /// bytes: the size is signed into the URL (on S3 as the signed
    /// `Content-Length`, which `curl --data-binary` sends anyway), so a
    /// body of another size is refused.
    async fn presign_upload(&self, key: &ObjectKey, ttl: Duration, size: u64) -> Result<PresignedUrl, StorageError>;

    /// Moves an object to a new key (`NotFound` when `from` is absent).
    /// A presigned upload's bytes move to the media's own key once
    /// checked, so a later PUT to the old URL cannot replace them.
    async fn rename(&self, from: &ObjectKey, to: &ObjectKey) -> Result<(), StorageError>;

    /// Copies an object to a new key and returns its size (`NotFound`
    /// when `from` is absent); the copy appears whole or not at all. The
    /// bytes never pass through this process's memory (fs: a kernel copy
    /// on the blocking pool; S3: server-side copy, multipart beyond 5 GiB).
    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<u64, StorageError>;

    async fn presign_get(&self, key: &ObjectKey, ttl: Duration) -> Result<PresignedUrl, StorageError>;

    /// Readiness: is the backend reachable and usable?
    async fn check(&self) -> Result<(), StorageError>;

    /// Every object whose key starts with `prefix`, in no set order, read
    /// page by page (S3) or directory by directory (fs) so memory stays flat
    /// however many objects there are. Objects removed during the walk may
    /// or may not be listed. Temporary files of unfinished writes are not
    /// objects and never listed.
    fn list(&self, prefix: &str) -> ObjectStream;

    /// Removes what writes that never finished left behind (fs: temporary
    /// files last written before `before`), and returns how many. A write
    /// still in progress keeps touching its file, so it is never removed.
    /// S3 has nothing to do: a failed upload aborts its multipart upload,
    /// and one cut short by a crash is for the bucket's
    /// `AbortIncompleteMultipartUpload` lifecycle rule (see README).
    async fn remove_stale_partials(&self, before: DateTime<Utc>) -> Result<u64, StorageError>;

    // Multipart uploads, with S3's semantics on both backends (see
    // `multipart`): parts of at least 5 MiB but the last, numbered from 1.

    /// Starts a multipart upload to `key`; returns its upload id.
    async fn create_multipart(&self, key: &ObjectKey, content_type: &str) -> Result<String, StorageError>;

    /// Stores part `number` (replacing an earlier one with that number).
    async fn upload_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        number: u32,
        body: BodyStream<'_>,
    ) -> Result<StoredPart, StorageError>;

    /// The parts stored so far, by number.
    async fn list_parts(&self, key: &ObjectKey, upload_id: &str) -> Result<Vec<StoredPart>, StorageError>;

    /// Joins `parts` (number, ETag), in order, into the object at `key`.
    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError>;

    /// Drops the upload and its parts (no error when it is gone).
    async fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> Result<(), StorageError>;

    /// A URL a client PUTs part `number` to, signing no header.
    async fn presign_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        number: u32,
        ttl: Duration,
    ) -> Result<PresignedUrl, StorageError>;

    /// True when [`write_at`](Self::write_at) works (the file system store).
    fn writes_in_place(&self) -> bool {
        false
    }

    /// Writes `body` into the object at `offset`, dropping whatever lay
    /// past `offset` first; the bytes are durable once the returned
    /// [`Unsynced::sync`] has run. A body that fails part way keeps
    /// (durably) what arrived. Only where
    /// [`writes_in_place`](Self::writes_in_place).
    async fn write_at(&self, key: &ObjectKey, offset: u64, body: BodyStream<'_>) -> Result<Unsynced, PartialWrite> {
        let _ = (key, offset, body);
        Err(PartialWrite { written: 0, error: StorageError::Backend("writes in place are not supported".into()) })
    }
}

/// Builds the configured backend, counted in the metrics ([`Metered`]).
pub async fn connect(config: &Config, signer: UrlSigner) -> Result<DynStorage, StorageError> {
    let backend: DynStorage = match &config.storage {
        StorageConfig::Fs { root } => Arc::new(FsStorage::open(root.clone(), config.public_url.clone(), signer).await?),
        StorageConfig::S3(s3) => Arc::new(S3Storage::new(s3).await),
    };
    Ok(Arc::new(Metered::new(backend)))
}

/// Reads a whole stream into memory: only for bounded objects (images
/// already checked against the pixel and byte limits, test fixtures).
pub async fn collect(mut stream: ByteStream) -> io::Result<Vec<u8>> {
    use futures::TryStreamExt;
    let mut out = Vec::new();
    while let Some(chunk) = stream.try_next().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A stream over bytes already in memory.
pub fn stream_of(bytes: impl Into<Bytes>) -> ByteStream {
    Box::pin(futures::stream::once(futures::future::ready(Ok(bytes.into()))))
}
