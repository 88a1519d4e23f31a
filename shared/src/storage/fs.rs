//! Objects as files under a root directory (the embedded default).
//!
//! Writes go to a temporary file beside the objects and are renamed into
//! place once complete, so a reader never sees half an object and a failed
//! upload leaves nothing. Presigned URLs point at the API's own
//! `/_storage/{key}` route, HMAC-signed by [`UrlSigner`].

use std::io::{self, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use tokio::fs::{self, File};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use super::{BodyStream, ByteRange, ObjectBody, ObjectKey, PresignedUrl, Storage, StorageError};
use crate::domain::{MediaId, random_token};
use crate::signing::UrlSigner;

/// The API route that serves presigned requests for this backend.
pub const SIGNED_ROUTE: &str = "/_storage/";

pub struct FsStorage {
    root: PathBuf,
    public_url: String,
    signer: UrlSigner,
}

impl FsStorage {
    pub async fn open(root: PathBuf, public_url: String, signer: UrlSigner) -> io::Result<Self> {
        fs::create_dir_all(root.join(".tmp")).await?;
        Ok(Self { root, public_url, signer })
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        // ObjectKey only holds `media/{id}/{name}` shapes, never `..`.
        self.root.join(key.as_str())
    }

    fn presign(&self, method: &str, key: &ObjectKey, ttl: Duration, size: Option<u64>) -> PresignedUrl {
        let expires_at = chrono::Utc::now() + ttl;
        let path = format!("{SIGNED_ROUTE}{key}");
        let query = match size {
            Some(size) => self.signer.sign_sized(method, &path, expires_at, size),
            None => self.signer.sign(method, &path, expires_at),
        };
        PresignedUrl { url: format!("{}{path}?{query}", self.public_url), expires_at }
    }

    async fn write_new(&self, tmp: &PathBuf, mut body: BodyStream<'_>) -> Result<u64, StorageError> {
        let mut file = File::create(tmp).await?;
        let mut written = 0u64;
        while let Some(chunk) = body.try_next().await.map_err(StorageError::Body)? {
            file.write_all(&chunk).await?;
            written += chunk.len() as u64;
        }
        file.flush().await?;
        file.sync_all().await?;
        Ok(written)
    }
}

#[async_trait]
impl Storage for FsStorage {
    fn backend(&self) -> &'static str {
        "fs"
    }

    async fn put(&self, key: &ObjectKey, body: BodyStream<'_>, _content_type: &str) -> Result<u64, StorageError> {
        let dest = self.path(key);
        let tmp = self.root.join(".tmp").join(random_token(16));
        let written = match self.write_new(&tmp, body).await {
            Ok(n) => n,
            Err(e) => {
                let _ = fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).await?;
        }
        fs::rename(&tmp, &dest).await?;
        Ok(written)
    }

    async fn get(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ObjectBody, StorageError> {
        let mut file = File::open(self.path(key)).await.map_err(not_found)?;
        let total = file.metadata().await?.len();
        let Some(range) = range else {
            let stream = Box::pin(ReaderStream::with_capacity(file, 64 * 1024));
            return Ok(ObjectBody { stream, len: total, total, range: None });
        };
        let (start, end) = range.resolve(total)?;
        file.seek(SeekFrom::Start(start)).await?;
        let len = end - start + 1;
        let stream = Box::pin(ReaderStream::with_capacity(file.take(len), 64 * 1024));
        Ok(ObjectBody { stream, len, total, range: Some((start, end)) })
    }

    async fn size(&self, key: &ObjectKey) -> Result<u64, StorageError> {
        Ok(fs::metadata(self.path(key)).await.map_err(not_found)?.len())
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        let path = self.path(key);
        match fs::remove_file(&path).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        // Drop the media's directory once it is empty; a non-empty one stays.
        if let Some(dir) = path.parent() {
            let _ = fs::remove_dir(dir).await;
        }
        Ok(())
    }

    async fn delete_media(&self, media: &MediaId) -> Result<(), StorageError> {
        match fs::remove_dir_all(self.root.join(ObjectKey::media_prefix(media))).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn presign_put(&self, key: &ObjectKey, ttl: Duration) -> Result<PresignedUrl, StorageError> {
        Ok(self.presign("PUT", key, ttl, None))
    }

    async fn presign_upload(&self, key: &ObjectKey, ttl: Duration, size: u64) -> Result<PresignedUrl, StorageError> {
        Ok(self.presign("PUT", key, ttl, Some(size)))
    }

    async fn rename(&self, from: &ObjectKey, to: &ObjectKey) -> Result<(), StorageError> {
        let dest = self.path(to);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).await?;
        }
        // One rename(2): atomic, and of two concurrent movers one fails
        // with NotFound.
        fs::rename(self.path(from), &dest).await.map_err(not_found)
    }

    async fn presign_get(&self, key: &ObjectKey, ttl: Duration) -> Result<PresignedUrl, StorageError> {
        Ok(self.presign("GET", key, ttl, None))
    }

    async fn check(&self) -> Result<(), StorageError> {
        let probe = self.root.join(".tmp").join(format!("ready-{}", random_token(8)));
        fs::write(&probe, b"ok").await?;
        fs::remove_file(&probe).await?;
        Ok(())
    }
}

fn not_found(e: io::Error) -> StorageError {
    if e.kind() == io::ErrorKind::NotFound { StorageError::NotFound } else { StorageError::Io(e) }
}
