//! Multipart uploads on the file system store, with S3's semantics, and
//! the types both backends share.
//!
//! A part is a file `.multipart/{upload id}/{number:05}-{md5}` under the
//! root (the MD5 is its ETag, as on S3), written to a temporary file,
//! fsynced and renamed into place. Completion streams the parts, in
//! order, into the object through the ordinary `put` (temporary file,
//! fsync, rename), then removes the upload's directory. Writes in place
//! (tus) use [`write_at`].

use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};
use tokio_util::io::ReaderStream;

use super::{BodyStream, StorageError};

/// One stored part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    pub number: u32,
    /// Without quotes.
    pub etag: String,
    pub size: u64,
}

/// A [`write_at`](super::Storage::write_at) that failed after `written`
/// bytes (kept, durably).
#[derive(Debug)]
pub struct PartialWrite {
    pub written: u64,
    pub error: StorageError,
}

/// Bytes written to a file at once.
pub(super) const WRITE_BLOCK: usize = 1024 * 1024;

/// Bytes written between two background flushes of a write in place.
const FLUSH_EVERY: u64 = 16 * 1024 * 1024;

/// Flushes a file being written in the background, every [`FLUSH_EVERY`]
/// bytes, so the disk writes while the body is still arriving and the
/// `fdatasync` that ends the write (before its offset is recorded) finds
/// little left to do. A tus client waits for that answer before it sends
/// the next chunk: without this the network and the disk would take turns.
pub(super) struct Flusher {
    file: std::sync::Arc<std::fs::File>,
    running: Option<tokio::task::JoinHandle<()>>,
    flushed_at: u64,
}

impl Flusher {
    /// Flushes `file` (a clone of the handle being written).
    pub(super) fn new(file: std::fs::File) -> Self {
        Self { file: std::sync::Arc::new(file), running: None, flushed_at: 0 }
    }

    pub(super) fn maybe_start(&mut self, written: u64) {
        if written - self.flushed_at < FLUSH_EVERY || self.running.as_ref().is_some_and(|r| !r.is_finished()) {
            return;
        }
        self.flushed_at = written;
        let file = self.file.clone();
        // Errors surface in the final, awaited `fdatasync`.
        self.running = Some(tokio::task::spawn_blocking(move || {
            let _ = file.sync_data();
        }));
    }

    pub(super) async fn wait(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = r.await;
        }
    }
}

/// Where the file system store keeps parts.
pub(super) const PARTS_DIR: &str = ".multipart";

/// Upload ids are ours (random base62) or S3's; on the file system they
/// name a directory, so only these characters are taken.
pub fn valid_upload_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 1024
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
        && !id.starts_with('.')
}

pub(super) fn upload_dir(root: &Path, upload_id: &str) -> Result<PathBuf, StorageError> {
    if !valid_upload_id(upload_id) {
        return Err(StorageError::NotFound);
    }
    Ok(root.join(PARTS_DIR).join(upload_id))
}

/// Streams `body` into `tmp`, hashing it; returns size and MD5 (hex).
pub(super) async fn write_part(tmp: &Path, mut body: BodyStream<'_>) -> Result<(u64, String), StorageError> {
    let mut file = BufWriter::with_capacity(WRITE_BLOCK, File::create(tmp).await?);
    let mut md5 = Md5::new();
    let mut size = 0u64;
    while let Some(chunk) = body.try_next().await.map_err(StorageError::Body)? {
        md5.update(&chunk);
        file.write_all(&chunk).await?;
        size += chunk.len() as u64;
    }
    file.flush().await?;
    file.get_ref().sync_all().await?;
    Ok((size, hex::encode(md5.finalize())))
}

/// The parts in `dir`, by number.
pub(super) async fn read_parts(dir: &Path) -> Result<Vec<(StoredPart, PathBuf)>, StorageError> {
    let mut entries = fs::read_dir(dir).await.map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => StorageError::NotFound,
        _ => StorageError::Io(e),
    })?;
    let mut parts = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name();
        let Some((number, etag)) = name.to_str().and_then(|n| n.split_once('-')) else { continue };
        let Ok(number) = number.parse::<u32>() else { continue };
        let size = entry.metadata().await?.len();
        parts.push((StoredPart { number, etag: etag.to_owned(), size }, entry.path()));
    }
    parts.sort_by_key(|(p, _)| p.number);
    Ok(parts)
}

/// Part file name for `number` with ETag `etag`.
pub(super) fn part_name(number: u32, etag: &str) -> String {
    format!("{number:05}-{etag}")
}

/// The files of `parts` (number, ETag as the client sent it) in order, or
/// why they do not make an upload.
pub(super) async fn chosen_parts(dir: &Path, parts: &[(u32, String)]) -> Result<Vec<PathBuf>, StorageError> {
    let stored = read_parts(dir).await?;
    let mut files = Vec::with_capacity(parts.len());
    let mut last = 0;
    for (i, (number, etag)) in parts.iter().enumerate() {
        let etag = etag.trim_matches('"');
        let found = stored.iter().find(|(p, _)| p.number == *number && p.etag == etag);
        let Some((part, path)) = found else {
            return Err(StorageError::Backend(format!("part {number} with ETag {etag} was not uploaded")));
        };
        if *number <= last {
            return Err(StorageError::Backend("parts must be listed in ascending order".into()));
        }
        if i + 1 < parts.len() && part.size < 5 * 1024 * 1024 {
            return Err(StorageError::Backend(format!("part {number} is smaller than 5 MiB and not the last")));
        }
        last = *number;
        files.push(path.clone());
    }
    if files.is_empty() {
        return Err(StorageError::Backend("a multipart upload needs at least one part".into()));
    }
    Ok(files)
}

/// The parts' bytes one after the other.
pub(super) fn concat(files: Vec<PathBuf>) -> BodyStream<'static> {
    let opened = futures::stream::iter(files).then(|path| async move {
        let file = File::open(path).await?;
        Ok::<_, io::Error>(ReaderStream::with_capacity(file, 256 * 1024))
    });
    Box::pin(opened.try_flatten())
}

/// Writes `body` into `path` at `offset` (see `Storage::write_at`).
pub(super) async fn write_at(path: &Path, offset: u64, mut body: BodyStream<'_>) -> Result<u64, PartialWrite> {
    let fail = |written, error: StorageError| PartialWrite { written, error };
    let mut file =
        OpenOptions::new().write(true).create(true).truncate(false).open(path).await.map_err(|e| fail(0, e.into()))?;
    let len = file.metadata().await.map_err(|e| fail(0, e.into()))?.len();
    if len < offset {
        let why = format!("the stored upload has {len} bytes, fewer than its recorded offset {offset}");
        return Err(fail(0, StorageError::Backend(why)));
    }
    // Bytes past the offset were never recorded (a writer that died).
    file.set_len(offset).await.map_err(|e| fail(0, e.into()))?;
    file.seek(SeekFrom::Start(offset)).await.map_err(|e| fail(0, e.into()))?;
    // Request bodies arrive in small frames; each write of a tokio file is
    // a trip to the blocking pool, so they go to the disk in 1 MiB blocks.
    let flusher = file.try_clone().await.map_err(|e| fail(0, e.into()))?.into_std().await;
    let mut flusher = Flusher { file: std::sync::Arc::new(flusher), running: None, flushed_at: 0 };
    let mut file = BufWriter::with_capacity(WRITE_BLOCK, file);
    let mut written = 0u64;
    let mut failed = None;
    loop {
        match body.try_next().await {
            Ok(Some(chunk)) => {
                file.write_all(&chunk).await.map_err(|e| fail(written, e.into()))?;
                written += chunk.len() as u64;
                flusher.maybe_start(written);
            }
            Ok(None) => break,
            Err(e) => {
                failed = Some(StorageError::Body(e));
                break;
            }
        }
    }
    file.flush().await.map_err(|e| fail(written, e.into()))?;
    flusher.wait().await;
    file.get_ref().sync_data().await.map_err(|e| fail(written, e.into()))?;
    match failed {
        Some(error) => Err(fail(written, error)),
        None => Ok(written),
    }
}
