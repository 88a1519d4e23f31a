//! Writes in place on the file system store (tus): a chunk's bytes go into
//! the object at the upload's offset, and are made durable by a separate
//! step, [`Unsynced::sync`], so the caller decides when to wait for the
//! disk (before it records the new offset, never after).
//!
//! The receive path is the upload's speed, so it copies as little as it
//! can: request frames are handed, as they came (`Bytes`, no copy), in
//! batches of about [`BATCH`] to one blocking writer thread, which writes
//! each batch with one `writev` while the next is being received (at most
//! [`QUEUE`] batches wait: memory stays flat). Every [`KICK`] bytes the
//! writer asks the kernel to start writing the new range back
//! (`posix_fadvise(DONTNEED)`, which starts write-back of dirty pages and
//! returns), so the disk works while the body is still arriving and the
//! final `fdatasync` finds little left to do.

use std::io::{self, IoSlice, Seek, SeekFrom, Write};
use std::num::NonZeroU64;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use tokio::sync::mpsc;

use super::multipart::PartialWrite;
use super::{BodyStream, StorageError};

/// Bytes handed to the writer thread at once.
const BATCH: usize = 1024 * 1024;
/// Frames in one batch at most (`writev` takes 1024).
const BATCH_FRAMES: usize = 512;
/// Batches waiting for the writer thread at most.
const QUEUE: usize = 4;
/// Bytes written between two write-back kicks.
const KICK: u64 = 4 * 1024 * 1024;

/// Bytes written in place, not yet durable (in the page cache).
#[derive(Debug)]
pub struct Unsynced {
    file: Arc<std::fs::File>,
    written: u64,
}

impl Unsynced {
    /// Bytes written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Makes the bytes durable (`fdatasync` on the descriptor that wrote
    /// them, so a failed write-back is reported here); returns them.
    pub async fn sync(self) -> Result<u64, StorageError> {
        let file = self.file;
        tokio::task::spawn_blocking(move || file.sync_data()).await.map_err(io::Error::other)??;
        Ok(self.written)
    }
}

/// Opens `path` for a write at `offset`: bytes past it (never recorded: a
/// writer that died) are cut off.
fn open_at(path: &Path, offset: u64) -> Result<std::fs::File, StorageError> {
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(path)?;
    let len = file.metadata()?.len();
    if len < offset {
        let why = format!("the stored upload has {len} bytes, fewer than its recorded offset {offset}");
        return Err(StorageError::Backend(why));
    }
    file.set_len(offset)?;
    file.seek(SeekFrom::Start(offset))?;
    Ok(file)
}

/// Writes `body` into `path` at `offset` (see `Storage::write_at`). A
/// body that fails part way: what arrived is made durable, and the error
/// says how much that was.
pub(super) async fn write_at(path: &Path, offset: u64, mut body: BodyStream<'_>) -> Result<Unsynced, PartialWrite> {
    let fail = |written, error: StorageError| PartialWrite { written, error };
    let owned = path.to_owned();
    let opened = tokio::task::spawn_blocking(move || open_at(&owned, offset)).await;
    let file = Arc::new(opened.map_err(|e| fail(0, io::Error::other(e).into()))?.map_err(|e| fail(0, e))?);
    let (tx, rx) = mpsc::channel::<Vec<Bytes>>(QUEUE);
    let writer = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || write_batches(&file, offset, rx))
    };
    let mut batch = Vec::new();
    let mut size = 0;
    let mut failed = None;
    loop {
        match body.try_next().await {
            Ok(Some(frame)) => {
                size += frame.len();
                batch.push(frame);
                if (size >= BATCH || batch.len() >= BATCH_FRAMES) && tx.send(std::mem::take(&mut batch)).await.is_err()
                {
                    // The writer stopped: its error is below.
                    break;
                }
                if batch.is_empty() {
                    size = 0;
                }
            }
            Ok(None) => break,
            Err(e) => {
                failed = Some(StorageError::Body(e));
                break;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch).await;
    }
    drop(tx);
    let (written, error) = writer.await.unwrap_or_else(|e| (0, Some(io::Error::other(e))));
    if let Some(e) = error {
        return Err(fail(written, e.into()));
    }
    let pending = Unsynced { file, written };
    match failed {
        Some(error) => match pending.sync().await {
            Ok(written) => Err(fail(written, error)),
            Err(e) => Err(fail(written, e)),
        },
        None => Ok(pending),
    }
}

/// The writer thread: writes every batch it is given, in order, and kicks
/// write-back every [`KICK`] bytes. Returns the bytes written and the
/// error that stopped it, if any.
fn write_batches(file: &std::fs::File, offset: u64, mut rx: mpsc::Receiver<Vec<Bytes>>) -> (u64, Option<io::Error>) {
    let mut written = 0u64;
    let mut kicked = 0u64;
    while let Some(batch) = rx.blocking_recv() {
        if let Err(e) = write_all(file, &batch, &mut written) {
            return (written, Some(e));
        }
        if written - kicked >= KICK {
            kick(file, offset + kicked, written - kicked);
            kicked = written;
        }
    }
    (written, None)
}

fn write_all(mut file: &std::fs::File, batch: &[Bytes], written: &mut u64) -> io::Result<()> {
    // Empty frames are left out: `writev` of empty slices only writes 0
    // bytes, which would read as a full disk.
    let mut slices: Vec<IoSlice<'_>> = batch.iter().filter(|b| !b.is_empty()).map(|b| IoSlice::new(b)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                *written += n as u64;
                IoSlice::advance_slices(&mut rest, n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Starts write-back of `len` bytes at `from` without waiting for it.
/// Only a hint: a failure shows in the final `fdatasync`.
fn kick(file: &std::fs::File, from: u64, len: u64) {
    let _ = rustix::fs::fadvise(file, from, NonZeroU64::new(len), rustix::fs::Advice::DontNeed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn empty_frames_anywhere_in_a_body_are_written_around() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("object");
        // Empty frames first and between, and a last batch of nothing but
        // empty frames (a multipart parser yields them at part ends).
        let big = Bytes::from(vec![b'x'; BATCH]);
        let frames = [Bytes::new(), Bytes::from("abc"), Bytes::new(), big.clone(), Bytes::new(), Bytes::new()];
        let body: BodyStream<'_> = Box::pin(futures::stream::iter(frames.map(Ok)));
        let written = write_at(&path, 0, body).await.unwrap().sync().await.unwrap();
        assert_eq!(written, 3 + BATCH as u64);
        assert_eq!(std::fs::read(&path).unwrap(), [b"abc".as_slice(), &big].concat());
    }
}
