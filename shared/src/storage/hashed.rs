//! Storing a stream while hashing it (SHA-256 and MD5 in the same pass)
//! and counting it against a size limit: the one way uploads and remote
//! fetches reach storage.

use std::io;

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use md5::Md5;
use sha2::{Digest, Sha256};

use super::{BodyStream, DynStorage, ObjectKey, StorageError};

/// What was stored.
#[derive(Debug, Clone)]
pub struct Hashed {
    pub size: u64,
    pub sha256: String,
    pub md5: String,
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

/// Streams `body` to `key`, hashing and counting as it goes; a body over
/// `limit` bytes fails (nothing is stored) with [`LimitExceeded`].
pub async fn put_hashed(
    storage: &DynStorage,
    key: &ObjectKey,
    body: BodyStream<'_>,
    content_type: &str,
    limit: u64,
) -> Result<Hashed, StorageError> {
    let mut sha256 = Sha256::new();
    let mut md5 = Md5::new();
    let hashing = limited(body, limit).map(|chunk| {
        let chunk = chunk?;
        sha256.update(&chunk);
        md5.update(&chunk);
        Ok(chunk)
    });
    let size = storage.put(key, Box::pin(hashing), content_type).await?;
    Ok(Hashed { size, sha256: hex::encode(sha256.finalize()), md5: hex::encode(md5.finalize()) })
}
