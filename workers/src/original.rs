//! Reading a stored original for processing without ever holding it whole
//! in memory, and storing a replacement from a local file.
//!
//! - [`probe_head`]: ranged reads of the first bytes only (256 KiB, then
//!   ×4 while the headers run past them, at most [`HEAD_CAP`]), probed
//!   there: an unsupported, oversized or broken file fails before the rest
//!   of its body is read.
//! - [`read_jpeg`]: a JPEG's primary image, read up to its EOI (what
//!   libjpeg-turbo needs in one buffer) from where the head ended, refused
//!   past a size its pixels cannot need; trailing data is never read.
//! - [`download`]: everything else goes to a temporary file, streamed, for
//!   decoders and walkers to read through a buffer.
//! - [`put_file`]: a replacement streamed from its file, hashed on the way.
//!
//! These use the `Storage` trait as it is (ranged `get`, streamed `put`).

use futures::TryStreamExt;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use mediaq_shared::storage::{ByteRange, DynStorage, Hashed, Md5, ObjectKey, StorageError, put_hashed};

use crate::error::JobError;
use crate::media::MediaError;
use crate::media::image::{JpegEnd, jpeg_byte_cap, jpeg_too_large};
use crate::media::probe::{Limits, Probe, probe_head as probe_bytes};

/// The first read of an original.
pub const HEAD_START: u64 = 256 * 1024;
/// Headers longer than this (JPEG segments before the frame header, PNG
/// chunks before the image data) are refused as corrupt.
pub const HEAD_CAP: u64 = 16 * 1024 * 1024;

fn reading(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(format!("reading the original: {e}"))
}

fn temp(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(format!("temporary file: {e}"))
}

/// The first `len` bytes of the object (fewer when it is shorter) and its size.
async fn read_range(storage: &DynStorage, key: &ObjectKey, len: u64) -> Result<(Vec<u8>, u64), JobError> {
    let body = match storage.get(key, Some(ByteRange { start: 0, end: Some(len - 1) })).await {
        Ok(body) => body,
        // An empty object has no range to read.
        Err(StorageError::InvalidRange) => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e.into()),
    };
    let total = body.total;
    let mut stream = body.stream;
    let mut head = Vec::with_capacity(usize::try_from(len.min(total)).unwrap_or(0));
    while let Some(chunk) = stream.try_next().await.map_err(reading)? {
        head.extend_from_slice(&chunk);
        if head.len() as u64 >= len {
            break;
        }
    }
    head.truncate(usize::try_from(len).unwrap_or(usize::MAX));
    Ok((head, total))
}

/// The head of an original as read by [`probe_head`].
pub struct Head {
    pub bytes: Vec<u8>,
    /// The size of the whole object.
    pub total: u64,
    pub probe: Probe,
}

/// Reads and probes the head of the original; a refusal (unsupported,
/// over a limit, corrupt headers) is a permanent failure, decided before
/// the body is read.
pub async fn probe_head(storage: &DynStorage, key: &ObjectKey, limits: Limits) -> Result<Head, JobError> {
    let mut want = HEAD_START;
    loop {
        let (head, total) = read_range(storage, key, want).await?;
        match probe_bytes(&head, limits) {
            // The headers may go on past the head: read more.
            Err(MediaError::Corrupt(_)) if (head.len() as u64) < total && want < HEAD_CAP => want *= 4,
            Err(MediaError::Corrupt(why)) if (head.len() as u64) < total => {
                return Err(JobError::Permanent(format!(
                    "{} (its headers run past the first {} MiB)",
                    MediaError::Corrupt(why),
                    HEAD_CAP >> 20
                )));
            }
            other => return Ok(Head { bytes: head, total, probe: other? }),
        }
    }
}

/// A JPEG's bytes up to the end of its primary image (its EOI), and the
/// size of the whole object. Only the bytes after the `head` that
/// [`probe_head`] read are read now (none when the image ends within it).
/// Fails once more than [`jpeg_byte_cap`] bytes have been read without an
/// EOI.
pub async fn read_jpeg(storage: &DynStorage, key: &ObjectKey, head: Head) -> Result<(Vec<u8>, u64), JobError> {
    let Head { bytes: mut data, total, probe } = head;
    let cap = jpeg_byte_cap(&probe);
    let mut end = JpegEnd::default();
    let from = data.len() as u64;
    if let Some(at) = end.find(&data)? {
        data.truncate(at);
        return Ok((data, total));
    }
    if from >= total {
        return Ok((data, total));
    }
    let body = match storage.get(key, Some(ByteRange { start: from, end: None })).await {
        Ok(body) => body,
        // Shortened since the head was read: what was read is all there is.
        Err(StorageError::InvalidRange) => return Ok((data, total)),
        Err(e) => return Err(e.into()),
    };
    let mut stream = body.stream;
    while let Some(chunk) = stream.try_next().await.map_err(reading)? {
        data.extend_from_slice(&chunk);
        if let Some(at) = end.find(&data)? {
            data.truncate(at);
            break;
        }
        if data.len() as u64 > cap {
            return Err(jpeg_too_large(&probe).into());
        }
    }
    Ok((data, total))
}

/// Streams the object to a new temporary file; returns it and its size.
pub async fn download(storage: &DynStorage, key: &ObjectKey) -> Result<(tempfile::NamedTempFile, u64), JobError> {
    let mut body = storage.get(key, None).await?.stream;
    let tmp = tempfile::NamedTempFile::new().map_err(temp)?;
    let mut file = tokio::fs::File::from_std(tmp.reopen().map_err(temp)?);
    let mut size = 0u64;
    while let Some(chunk) = body.try_next().await.map_err(reading)? {
        file.write_all(&chunk).await.map_err(temp)?;
        size += chunk.len() as u64;
    }
    file.flush().await.map_err(temp)?;
    Ok((tmp, size))
}

/// Stores the file at `path` under `key`, hashing it on the way.
pub async fn put_file(
    storage: &DynStorage,
    key: &ObjectKey,
    path: &std::path::Path,
    mime: &str,
) -> Result<Hashed, JobError> {
    let file = tokio::fs::File::open(path).await.map_err(temp)?;
    let body = Box::pin(ReaderStream::with_capacity(file, 256 * 1024));
    Ok(put_hashed(storage, key, body, mime, u64::MAX, Md5::Yes).await?)
}
