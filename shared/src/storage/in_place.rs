//! Writes on the file system store, of every upload and of every tus
//! chunk (in place, at the upload's offset); the bytes are made durable
//! by a separate step, [`Unsynced::sync`], so the caller decides when to
//! wait for the disk (before it records the new offset, never after).
//!
//! The receive path is the upload's speed, so it touches each byte as
//! little as it can. Request frames are copied into [`BUF`] buffers that
//! start on an [`ALIGN`] boundary, and one blocking writer thread writes
//! each full buffer while the next fills. Full buffers may wait for their
//! writer, [`AHEAD`] at most in the whole process (memory stays flat
//! however many uploads run; written buffers are kept, [`POOL`] at most,
//! for the next body). The body is done once its last buffer is handed
//! over; its writer may still be at work, and [`Unsynced::sync`] waits
//! for it. So a client that pauses between chunks (tuspy reads each one
//! before it sends it) finds the disk still writing the last one, rather
//! than the network and the disk taking turns. The writer holds an
//! exclusive lock on the file (`flock`) until it has ended and the
//! [`Unsynced`] it returned is synced or dropped: the next writer of the
//! same file, in this process or another, waits for it, so bytes a
//! writer had not written yet never land over the ones that follow (a
//! chunk refused for its checksum, a request cut off).
//!
//! Bytes past [`DIRECT_FROM`] go to the disk with direct I/O (`O_DIRECT`),
//! straight from those buffers: no page cache copy, no dirty pages for
//! the kernel to write back, and nothing that pushes other files out of
//! the cache. The first bytes of an object, all of a small
//! one, stay buffered, so a worker that reads a new photo finds it in
//! memory; write-back of those is started every [`KICK`] bytes
//! (`posix_fadvise(DONTNEED)`). A file system that refuses direct I/O
//! (tmpfs) gets buffered writes throughout.
//!
//! Why: a 5.1 GiB tus upload spent half of the server's CPU time in the
//! page cache copy, on a 2-core machine where the client and the kernel's
//! write-back need the same cores (README, "Benchmarks").

use std::io::{self, IoSlice};
use std::num::NonZeroU64;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::TryStreamExt;
use tokio::sync::mpsc;

use super::multipart::PartialWrite;
use super::{BodyStream, StorageError};

/// Bytes per write: a multiple of [`ALIGN`].
const BUF: usize = 4 * 1024 * 1024;
/// Direct I/O wants buffers, offsets and lengths on this boundary (4 KiB
/// covers disks of 512-byte and of 4 KiB blocks).
const ALIGN: usize = 4096;
/// Bytes of an object written through the page cache before direct I/O
/// takes over (a multiple of [`ALIGN`]).
const DIRECT_FROM: u64 = 8 * 1024 * 1024;
/// Full buffers handed to writer threads and not written yet, at most,
/// in the whole process ([`BUF`] each).
const AHEAD: usize = 8;
static WAITING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(AHEAD);
/// Buffered bytes written between two write-back kicks.
const KICK: u64 = 4 * 1024 * 1024;
/// Written buffers kept for the next bodies at most: as many as one
/// large upload keeps busy (filling, waiting, being written), so that it
/// does not fault fresh pages in for every buffer.
const POOL: usize = AHEAD + 2;

/// Buffers written and free again: reused, rather than each body
/// allocating (and faulting in) its own.
static FREE: Mutex<Vec<Aligned>> = Mutex::new(Vec::new());

/// A buffer whose bytes start on an [`ALIGN`] boundary in memory; it
/// holds at most `cap` bytes. Its allocation is reserved, not touched:
/// a small body costs the pages it fills, not a whole buffer.
struct Aligned {
    /// `start` bytes of padding, then the data; never grows past its
    /// capacity, so it never moves.
    raw: Vec<u8>,
    start: usize,
    cap: usize,
}

impl Aligned {
    /// An empty buffer for `cap` bytes, from the pool when it has one.
    fn take(cap: usize) -> Self {
        let mut buf = FREE.lock().ok().and_then(|mut free| free.pop()).unwrap_or_else(|| {
            let mut raw: Vec<u8> = Vec::with_capacity(BUF + ALIGN);
            let start = raw.as_ptr().align_offset(ALIGN);
            raw.resize(start, 0);
            Self { raw, start, cap }
        });
        buf.raw.truncate(buf.start);
        buf.cap = cap;
        buf
    }

    fn len(&self) -> usize {
        self.raw.len() - self.start
    }

    /// Back to the pool, unless it is full.
    fn give_back(self) {
        if let Ok(mut free) = FREE.lock()
            && free.len() < POOL
        {
            free.push(self);
        }
    }

    /// Moves what fits from the front of `frame` in.
    fn fill(&mut self, frame: &mut Bytes) {
        let n = frame.len().min(self.cap - self.len());
        self.raw.extend_from_slice(&frame.split_to(n));
    }

    fn is_full(&self) -> bool {
        self.len() == self.cap
    }

    fn data(&self) -> &[u8] {
        &self.raw[self.start..]
    }
}

/// What the writer thread did: bytes written, and the error that stopped it.
type Outcome = (u64, Option<io::Error>);

/// Bytes received, not yet durable: the writer thread may still be
/// writing the last of them; the rest are in the page cache, or written
/// with direct I/O and not yet flushed from the disk's own cache.
#[derive(Debug)]
pub struct Unsynced {
    file: Arc<std::fs::File>,
    written: u64,
    writer: tokio::task::JoinHandle<Outcome>,
}

impl Unsynced {
    /// Bytes received (and handed to the writer).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Waits for the writer, then makes the bytes durable (`fdatasync` on
    /// the descriptor that wrote the buffered ones, so a failed write-back
    /// is reported here; direct writes report their errors to the
    /// writer); returns them.
    pub async fn sync(self) -> Result<u64, StorageError> {
        match settle(self.file, self.writer).await {
            (_, Some(e)) => Err(e.into()),
            (wrote, None) if wrote != self.written => {
                Err(StorageError::Backend(format!("wrote {wrote} of {} bytes received", self.written)))
            }
            (wrote, None) => Ok(wrote),
        }
    }
}

/// Waits for `writer`, then, unless it failed, makes what it wrote
/// durable (`fdatasync`): the bytes written, and the error met.
async fn settle(file: Arc<std::fs::File>, writer: tokio::task::JoinHandle<Outcome>) -> Outcome {
    let (wrote, error) = writer.await.unwrap_or_else(|e| (0, Some(io::Error::other(e))));
    if error.is_some() {
        return (wrote, error);
    }
    let synced = tokio::task::spawn_blocking(move || file.sync_data()).await;
    (wrote, synced.map_err(io::Error::other).and_then(|r| r).err())
}

/// Takes the file's exclusive lock, held until every descriptor of this
/// open file is closed (the writer thread's last): waits for a writer of
/// the same file still at work. A file system without `flock` (some
/// FUSE ones) is written without the lock, with a warning.
fn wait_for_writer(file: &std::fs::File) -> io::Result<()> {
    loop {
        match file.lock() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if e.kind() == io::ErrorKind::Unsupported
                    || [rustix::io::Errno::NOLCK, rustix::io::Errno::OPNOTSUPP]
                        .iter()
                        .any(|n| e.raw_os_error() == Some(n.raw_os_error())) =>
            {
                tracing::warn!(error = %e, "this file system cannot lock files; writers of one upload are not kept apart");
                return Ok(());
            }
            other => return other,
        }
    }
}

/// Opens `path` for a write at `offset`, once the writer before has
/// ended (see the module header): bytes past it (never recorded: a
/// writer that died) are cut off. Also returns a descriptor for direct
/// I/O, where the file system takes it.
fn open_at(path: &Path, offset: u64) -> Result<(std::fs::File, Option<std::fs::File>), StorageError> {
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(path)?;
    wait_for_writer(&file)?;
    let len = file.metadata()?.len();
    if len < offset {
        let why = format!("the stored upload has {len} bytes, fewer than its recorded offset {offset}");
        return Err(StorageError::Backend(why));
    }
    file.set_len(offset)?;
    let direct =
        std::fs::OpenOptions::new().write(true).custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32).open(path).ok();
    Ok((file, direct))
}

/// Writes `body` into `path` at `offset` (see `Storage::write_at`). A
/// body that fails part way: what arrived is made durable, and the error
/// says how much that was.
pub(super) async fn write_at(path: &Path, offset: u64, mut body: BodyStream<'_>) -> Result<Unsynced, PartialWrite> {
    let fail = |written, error: StorageError| PartialWrite { written, error };
    let owned = path.to_owned();
    let opened = tokio::task::spawn_blocking(move || open_at(&owned, offset)).await;
    let (file, direct) = opened.map_err(|e| fail(0, io::Error::other(e).into()))?.map_err(|e| fail(0, e))?;
    let file = Arc::new(file);
    let (tx, rx) = mpsc::channel::<Waiting>(AHEAD);
    let writer = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || write_buffers(&file, direct, offset, rx))
    };
    // The first buffer ends on an aligned file offset; every later one
    // starts on one.
    let head = match (offset % ALIGN as u64) as usize {
        0 => BUF,
        into => ALIGN - into,
    };
    let mut buf = Aligned::take(head);
    let mut received = 0;
    // Set when the body stops early: with the client's error, or with
    // none when the writer stopped (its own error says why).
    let mut stopped: Option<Option<StorageError>> = None;
    'body: loop {
        match body.try_next().await {
            Ok(Some(mut frame)) => {
                received += frame.len() as u64;
                while !frame.is_empty() {
                    buf.fill(&mut frame);
                    if buf.is_full() && hand_over(&tx, std::mem::replace(&mut buf, Aligned::take(BUF))).await.is_err() {
                        stopped = Some(None);
                        break 'body;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                stopped = Some(Some(StorageError::Body(e)));
                break;
            }
        }
    }
    if buf.len() == 0 {
        buf.give_back();
    } else if hand_over(&tx, buf).await.is_err() {
        stopped.get_or_insert(None);
    }
    drop(tx);
    let Some(why) = stopped else {
        return Ok(Unsynced { file, written: received, writer });
    };
    // What arrived is kept: written, and made durable. The writer's own
    // error, when it has one, says more than the body's.
    let (written, error) = settle(file, writer).await;
    let why = match (error, why) {
        (Some(e), _) => e.into(),
        (None, Some(why)) => why,
        (None, None) => StorageError::Backend("the upload's writer stopped".into()),
    };
    Err(fail(written, why))
}

/// A full buffer on its way to the writer, with its place in [`AHEAD`].
type Waiting = (Aligned, tokio::sync::SemaphorePermit<'static>);

/// Hands `buf` to the writer once one of the [`AHEAD`] places is free.
/// An error: the writer stopped.
async fn hand_over(tx: &mpsc::Sender<Waiting>, buf: Aligned) -> Result<(), ()> {
    let place = WAITING.acquire().await.map_err(|_| ())?;
    tx.send((buf, place)).await.map_err(|_| ())
}

/// The writer thread: writes every buffer it is given, in order, from
/// `offset` on, and gives it back to the pool. Returns the bytes written and the
/// error that stopped it, if any.
fn write_buffers(
    file: &std::fs::File,
    mut direct: Option<std::fs::File>,
    offset: u64,
    mut rx: mpsc::Receiver<Waiting>,
) -> Outcome {
    let mut pos = offset;
    let mut kicked = offset;
    let mut batch = Vec::with_capacity(AHEAD);
    while let Some(first) = rx.blocking_recv() {
        // What else is waiting goes out with it.
        batch.push(first);
        while let Ok(next) = rx.try_recv() {
            batch.push(next);
        }
        let mut done = 0;
        let result = write_batch(file, &mut direct, pos, &batch, &mut done);
        pos += done;
        if let Err(e) = result {
            return (pos - offset, Some(e));
        }
        // Only bytes that went through the page cache need a kick.
        let buffered_end = if direct.is_some() { pos.min(DIRECT_FROM) } else { pos };
        if buffered_end.saturating_sub(kicked) >= KICK {
            kick(file, kicked, buffered_end - kicked);
            kicked = buffered_end;
        }
        for (buf, _place) in batch.drain(..) {
            buf.give_back();
        }
    }
    (pos - offset, None)
}

/// Writes the buffers of `batch` one after the other from `pos`; `done`
/// counts the bytes written. A run of whole buffers past [`DIRECT_FROM`]
/// goes to the disk in one direct write (`pwritev`): a disk given 32 MiB
/// at once writes faster than one given 4 MiB at a time.
fn write_batch(
    file: &std::fs::File,
    direct: &mut Option<std::fs::File>,
    pos: u64,
    batch: &[Waiting],
    done: &mut u64,
) -> io::Result<()> {
    let mut i = 0;
    // Bytes of `batch[i]` already written.
    let mut into = 0;
    while i < batch.len() {
        let at = pos + *done;
        let run = match direct.as_ref() {
            Some(_) if into == 0 && at >= DIRECT_FROM && at.is_multiple_of(ALIGN as u64) => {
                batch[i..].iter().take_while(|(b, _)| b.len() > 0 && b.len().is_multiple_of(ALIGN)).count()
            }
            _ => 0,
        };
        if run > 1
            && let Some(d) = direct.as_ref()
        {
            let slices: Vec<IoSlice<'_>> = batch[i..i + run].iter().map(|(b, _)| IoSlice::new(b.data())).collect();
            match rustix::io::pwritev(d, &slices, at) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(mut n) => {
                    *done += n as u64;
                    // Whole buffers written; a partial write goes on below.
                    while n > 0 && n >= batch[i].0.len() {
                        n -= batch[i].0.len();
                        i += 1;
                    }
                    into = n;
                    continue;
                }
                Err(rustix::io::Errno::INTR) => continue,
                // Refused: one buffer at a time, below ([`write_out`] finds out how).
                Err(rustix::io::Errno::INVAL) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut wrote = into;
        let result = write_out(file, direct, at - into as u64, batch[i].0.data(), &mut wrote);
        *done += (wrote - into) as u64;
        result?;
        i += 1;
        into = 0;
    }
    Ok(())
}

/// Writes `data` at `pos`: with direct I/O from [`DIRECT_FROM`] on, where
/// the offset, the memory and the length allow it, through the page cache
/// otherwise. `done` counts the bytes written. A file system that turns
/// direct I/O down after all (EINVAL) is written buffered from then on.
fn write_out(
    file: &std::fs::File,
    direct: &mut Option<std::fs::File>,
    pos: u64,
    data: &[u8],
    done: &mut usize,
) -> io::Result<()> {
    while *done < data.len() {
        let at = pos + *done as u64;
        let rest = &data[*done..];
        let whole = rest.len() / ALIGN * ALIGN;
        let wrote = match direct.as_ref() {
            Some(d)
                if at >= DIRECT_FROM
                    && at.is_multiple_of(ALIGN as u64)
                    && whole > 0
                    && rest.as_ptr().align_offset(ALIGN) == 0 =>
            {
                match d.write_at(&rest[..whole], at) {
                    Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {
                        tracing::info!(error = %e, "direct I/O refused; writing through the page cache");
                        *direct = None;
                        continue;
                    }
                    other => other,
                }
            }
            // Up to where direct I/O starts, or all of it.
            Some(_) if at < DIRECT_FROM => {
                let upto = usize::try_from(DIRECT_FROM - at).unwrap_or(usize::MAX).min(rest.len());
                file.write_at(&rest[..upto], at)
            }
            _ => file.write_at(rest, at),
        };
        match wrote {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => *done += n,
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
    use futures::StreamExt;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn empty_frames_anywhere_in_a_body_are_written_around() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("object");
        // Empty frames first and between, and a last batch of nothing but
        // empty frames (a multipart parser yields them at part ends).
        let big = Bytes::from(vec![b'x'; BUF]);
        let frames = [Bytes::new(), Bytes::from("abc"), Bytes::new(), big.clone(), Bytes::new(), Bytes::new()];
        let body: BodyStream<'_> = Box::pin(futures::stream::iter(frames.map(Ok)));
        let written = write_at(&path, 0, body).await.unwrap().sync().await.unwrap();
        assert_eq!(written, 3 + BUF as u64);
        assert_eq!(std::fs::read(&path).unwrap(), [b"abc".as_slice(), &big].concat());
    }

    /// `len` reproducible bytes (xorshift) in frames of odd sizes, as a
    /// network delivers them.
    fn noise(seed: u64, len: usize) -> (Vec<u8>, Vec<Bytes>) {
        let mut x = seed | 1;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut frames = Vec::new();
        let mut at = 0;
        let mut size = 1;
        while at < len {
            let n = size.min(len - at);
            frames.push(Bytes::copy_from_slice(&bytes[at..at + n]));
            at += n;
            size = size * 7 % 300_007 + 1;
        }
        (bytes, frames)
    }

    fn stream(frames: Vec<Bytes>) -> BodyStream<'static> {
        Box::pin(futures::stream::iter(frames.into_iter().map(Ok)))
    }

    /// Chunks that start and end off the 4 KiB grid, cross the point where
    /// direct I/O takes over and resume past it (as tus chunks do) land
    /// byte for byte; bytes past a resumed offset are cut off.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chunks_at_any_offset_land_byte_for_byte() {
        let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
        let path = dir.path().join("object");
        let first = DIRECT_FROM as usize + BUF + 12_345;
        let (a, frames) = noise(1, first);
        assert_eq!(write_at(&path, 0, stream(frames)).await.unwrap().sync().await.unwrap(), first as u64);
        let (b, frames) = noise(2, 3 * BUF + 777);
        assert_eq!(write_at(&path, first as u64, stream(frames)).await.unwrap().sync().await.unwrap(), b.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), [a.as_slice(), &b].concat());
        // A writer that died left bytes past the recorded offset: the next
        // chunk at that offset replaces them.
        let resume = first + BUF + 5;
        let (c, frames) = noise(3, 100_003);
        assert_eq!(write_at(&path, resume as u64, stream(frames)).await.unwrap().sync().await.unwrap(), c.len() as u64);
        let whole = [&a, &b[..resume - first], c.as_slice()].concat();
        assert_eq!(std::fs::read(&path).unwrap(), whole);
    }

    /// A chunk answered but never recorded (its checksum did not match)
    /// may still be on its way to the disk when the client sends it again:
    /// none of its bytes may land after the next chunk's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_still_at_work_is_waited_for() {
        let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
        let path = dir.path().join("object");
        // Buffers that wait together go out in one write (`pwritev`), in order.
        let (first, frames) = noise(5, DIRECT_FROM as usize + AHEAD * BUF + 4321);
        write_at(&path, 0, stream(frames)).await.unwrap().sync().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), first);
        let head = &first[..DIRECT_FROM as usize];
        for round in 0..8 {
            let (_, frames) = noise(6 + round, AHEAD * BUF + 4321);
            let (again, resent) = noise(100 + round, BUF + 17);
            let dropped = write_at(&path, DIRECT_FROM, stream(frames)).await.unwrap();
            drop(dropped);
            write_at(&path, DIRECT_FROM, stream(resent)).await.unwrap().sync().await.unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), [head, &again].concat(), "round {round}");
        }
    }

    /// A body that fails part way keeps exactly what arrived, and says how
    /// much that was.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_that_fails_keeps_what_arrived() {
        let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
        let path = dir.path().join("object");
        let (a, frames) = noise(4, DIRECT_FROM as usize + 2 * BUF + 999);
        let body: BodyStream<'_> =
            Box::pin(futures::stream::iter(frames.into_iter().map(Ok)).chain(futures::stream::once(async {
                Err(io::Error::new(io::ErrorKind::ConnectionReset, "client went away"))
            })));
        let partial = write_at(&path, 0, body).await.unwrap_err();
        assert!(matches!(partial.error, StorageError::Body(_)), "{:?}", partial.error);
        assert_eq!(partial.written, a.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), a);
    }
}
