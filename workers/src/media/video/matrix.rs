//! Keeping an MP4/QuickTime track's display matrix (its rotation) through
//! the remux: the matrix bytes of each kept track's `tkhd` box are copied
//! from the upload into the rewritten file, in place. FFmpeg's own route
//! (stream side data) cannot be set from safe Rust.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::media::MediaError;
use crate::media::source::io;

const MATRIX_LEN: usize = 36;

/// A box header at `at`: its type, where its payload starts and where it ends.
fn box_at(f: &mut File, at: u64, end: u64) -> std::io::Result<Option<([u8; 4], u64, u64)>> {
    if at + 8 > end {
        return Ok(None);
    }
    let mut h = [0u8; 8];
    f.seek(SeekFrom::Start(at))?;
    f.read_exact(&mut h)?;
    let kind = [h[4], h[5], h[6], h[7]];
    let (payload, size) = match u32::from_be_bytes([h[0], h[1], h[2], h[3]]) {
        0 => (at + 8, end - at),
        1 => {
            let mut l = [0u8; 8];
            f.read_exact(&mut l)?;
            (at + 16, u64::from_be_bytes(l))
        }
        n => (at + 8, u64::from(n)),
    };
    if size < payload - at || at + size > end {
        return Ok(None);
    }
    Ok(Some((kind, payload, at + size)))
}

/// The children of the box spanning `start..end` of type `kind`.
fn children(f: &mut File, start: u64, end: u64, kind: &[u8; 4]) -> std::io::Result<Vec<(u64, u64)>> {
    let mut found = Vec::new();
    let mut at = start;
    while let Some((k, payload, next)) = box_at(f, at, end)? {
        if &k == kind {
            found.push((payload, next));
        }
        at = next;
    }
    Ok(found)
}

/// Where each track's matrix lies in the file, in track order.
fn matrices(f: &mut File) -> std::io::Result<Vec<u64>> {
    let len = f.seek(SeekFrom::End(0))?;
    let mut out = Vec::new();
    for (moov, moov_end) in children(f, 0, len, b"moov")?.into_iter().take(1) {
        for (trak, trak_end) in children(f, moov, moov_end, b"trak")? {
            let Some(&(tkhd, tkhd_end)) = children(f, trak, trak_end, b"tkhd")?.first() else { continue };
            let mut version = [0u8];
            f.seek(SeekFrom::Start(tkhd))?;
            f.read_exact(&mut version)?;
            let at = tkhd + 4 + if version[0] == 1 { 32 } else { 20 } + 16;
            if at + MATRIX_LEN as u64 <= tkhd_end {
                out.push(at);
            }
        }
    }
    Ok(out)
}

/// Copies the matrix of input track `i` to output track `o` for each
/// `(i, o)` in `tracks`.
pub(super) fn copy(from: &Path, to: &Path, tracks: &[(usize, usize)]) -> Result<(), MediaError> {
    let mut input = File::open(from).map_err(io)?;
    let mut output = OpenOptions::new().read(true).write(true).open(to).map_err(io)?;
    let (src, dst) = (matrices(&mut input).map_err(io)?, matrices(&mut output).map_err(io)?);
    for &(i, o) in tracks {
        let (Some(&a), Some(&b)) = (src.get(i), dst.get(o)) else { continue };
        let mut m = [0u8; MATRIX_LEN];
        input.seek(SeekFrom::Start(a)).and_then(|_| input.read_exact(&mut m)).map_err(io)?;
        output.seek(SeekFrom::Start(b)).and_then(|_| output.write_all(&m)).map_err(io)?;
    }
    output.sync_data().map_err(io)
}
