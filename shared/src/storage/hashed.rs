//! Storing a stream while hashing it (SHA-256, and MD5 where the caller
//! needs it, at the same time on two threads over the same chunks) and
//! counting it against a size limit: the one way uploads and remote
//! fetches reach storage.

use std::io;

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use super::{BodyStream, DynStorage, ObjectKey, StorageError};

/// What was stored.
#[derive(Debug, Clone)]
pub struct Hashed {
    pub size: u64,
    pub sha256: String,
    /// When asked for ([`Md5::Yes`]).
    pub md5: Option<String>,
}

/// Whether [`put_hashed`] computes an MD5 too. It costs more CPU than
/// the rest of an upload together (one core at about 475 MB/s here), and
/// only the Chevereto answer (`checksum`) and S3-style ETags show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Md5 {
    Yes,
    No,
}

/// The marker inside the `io::Error` a body fails with once it passes
/// the limit; see [`is_over_limit`].
#[derive(Debug, thiserror::Error)]
#[error("the body is larger than the limit")]
pub struct LimitExceeded;

/// True when a put failed because its body passed the limit.
pub fn is_over_limit(e: &StorageError) -> bool {
    matches!(e, StorageError::Body(inner) if inner.get_ref().is_some_and(|i| i.is::<LimitExceeded>()))
}

/// Reads the first `len` bytes of `body` (fewer if it is shorter), for
/// sniffing; the caller chains them back in front of the rest.
pub async fn read_head(body: &mut BodyStream<'_>, len: usize) -> io::Result<Bytes> {
    let mut head = BytesMut::new();
    while head.len() < len {
        match body.try_next().await? {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => break,
        }
    }
    Ok(head.freeze())
}

/// `body`, failing with [`LimitExceeded`] once more than `limit` bytes
/// have passed.
pub fn limited(body: BodyStream<'_>, limit: u64) -> BodyStream<'_> {
    let mut seen = 0u64;
    Box::pin(body.map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > limit { Err(io::Error::other(LimitExceeded)) } else { Ok(chunk) }
    }))
}

/// Chunks the MD5 hasher may lag behind (memory stays bounded: a request
/// body's chunks are at most a few hundred KiB).
const MD5_QUEUE: usize = 16;

/// Streams `body` to `key`, hashing and counting as it goes; a body over
/// `limit` bytes fails (nothing is stored) with [`LimitExceeded`].
///
/// SHA-256 runs inline as the chunks pass; MD5, the slower of the two,
/// runs at the same time on a blocking thread fed the same chunks (`Bytes`
/// are shared, not copied) through a bounded channel, so a slow hasher
/// holds the body back instead of buffering it.
pub async fn put_hashed(
    storage: &DynStorage,
    key: &ObjectKey,
    body: BodyStream<'_>,
    content_type: &str,
    limit: u64,
    with_md5: Md5,
) -> Result<Hashed, StorageError> {
    let (tx, md5) = if with_md5 == Md5::Yes {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(MD5_QUEUE);
        let md5 = tokio::task::spawn_blocking(move || {
            let mut md5 = md5::Md5::new();
            while let Some(chunk) = rx.blocking_recv() {
                md5.update(&chunk);
            }
            hex::encode(md5.finalize())
        });
        (Some(tx), Some(md5))
    } else {
        (None, None)
    };
    let mut sha256 = Sha256::new();
    let hashing = limited(body, limit)
        .map_ok(|chunk| {
            sha256.update(&chunk);
            chunk
        })
        .and_then(|chunk| {
            let tx = tx.clone();
            async move {
                if let Some(tx) = tx {
                    tx.send(chunk.clone()).await.map_err(|_| io::Error::other("the MD5 hasher stopped"))?;
                }
                Ok(chunk)
            }
        });
    let stored = storage.put(key, Box::pin(hashing), content_type).await;
    // The hasher ends once every sender is gone.
    drop(tx);
    let size = stored?;
    let md5 = match md5 {
        Some(hasher) => Some(hasher.await.map_err(|e| StorageError::Backend(format!("MD5 hasher: {e}")))?),
        None => None,
    };
    Ok(Hashed { size, sha256: hex::encode(sha256.finalize()), md5 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn both_digests_match_one_pass_over_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let signer = crate::signing::UrlSigner::new(crate::config::Secret::new("k".repeat(32)));
        let fs = super::super::FsStorage::open(dir.path().join("objects"), "http://x".into(), signer).await.unwrap();
        let storage: DynStorage = std::sync::Arc::new(fs);
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let chunks: Vec<io::Result<Bytes>> = data.chunks(65_537).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let key = ObjectKey::original(&crate::domain::MediaId::generate(), "bin");
        let body: BodyStream<'_> = Box::pin(futures::stream::iter(chunks));
        let hashed = put_hashed(&storage, &key, body, "application/octet-stream", u64::MAX, Md5::Yes).await.unwrap();
        assert_eq!(hashed.size, data.len() as u64);
        assert_eq!(hashed.sha256, hex::encode(Sha256::digest(&data)));
        assert_eq!(hashed.md5, Some(hex::encode(md5::Md5::digest(&data))));
        let chunks: Vec<io::Result<Bytes>> = data.chunks(65_537).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let body: BodyStream<'_> = Box::pin(futures::stream::iter(chunks));
        let hashed = put_hashed(&storage, &key, body, "application/octet-stream", u64::MAX, Md5::No).await.unwrap();
        assert_eq!((hashed.size, hashed.md5), (data.len() as u64, None));
        assert_eq!(hashed.sha256, hex::encode(Sha256::digest(&data)));
        let over = Box::pin(futures::stream::iter(vec![Ok(Bytes::from(data))]));
        let err = put_hashed(&storage, &key, over, "application/octet-stream", 1000, Md5::No).await.unwrap_err();
        assert!(is_over_limit(&err), "{err}");
    }
}
