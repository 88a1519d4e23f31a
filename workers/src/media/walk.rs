//! The chunk structure of PNG and RIFF (WebP) files walked through a
//! reader, for the steps that need the whole file (counting animation
//! frames, finding a trailing EXIF chunk, streaming a stripped copy): each
//! chunk's header is read and its data skipped unless the visitor reads it,
//! so memory stays flat whatever the file size. Lengths are checked against
//! the file's size before they are trusted, as `container` does for slices.

use std::io::{Read, Seek, SeekFrom};

use super::MediaError;
use super::container::PNG_SIGNATURE;
use super::source::{Reader, io};

/// One chunk: where it starts in the file, its whole size (header, data,
/// CRC or padding), and its data's length.
#[derive(Debug, Clone, Copy)]
pub struct ChunkAt {
    pub kind: [u8; 4],
    pub start: u64,
    pub end: u64,
    pub data_len: u64,
}

/// What a visitor wants after a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Continue,
    Stop,
}

fn truncated(what: &str) -> MediaError {
    MediaError::Corrupt(format!("the {what} is truncated"))
}

fn read_array<const N: usize>(r: &mut Reader<'_>) -> Result<Option<[u8; N]>, MediaError> {
    let mut buf = [0u8; N];
    let mut got = 0;
    while got < N {
        match r.read(&mut buf[got..]).map_err(io)? {
            0 => return Ok(None),
            n => got += n,
        }
    }
    Ok(Some(buf))
}

/// Reads up to `max` bytes of the data of `chunk` (the reader is at its data).
pub fn read_data(r: &mut Reader<'_>, chunk: &ChunkAt, skip: u64, max: u64) -> Result<Vec<u8>, MediaError> {
    goto(r, chunk.start + 8 + skip)?;
    let mut out = Vec::new();
    r.take(chunk.data_len.saturating_sub(skip).min(max)).read_to_end(&mut out).map_err(io)?;
    Ok(out)
}

/// Moves to `target` keeping the read buffer when it is close.
pub fn goto(r: &mut Reader<'_>, target: u64) -> Result<(), MediaError> {
    let cur = r.stream_position().map_err(io)?;
    let delta = i64::try_from(i128::from(target) - i128::from(cur)).map_err(|_| truncated("file"))?;
    r.seek_relative(delta).map_err(io)
}

fn file_len(r: &mut Reader<'_>) -> Result<u64, MediaError> {
    let len = r.seek(SeekFrom::End(0)).map_err(io)?;
    r.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(len)
}

/// Visits PNG chunks up to and including IEND (or the end of the file).
pub fn png<'a>(
    r: &mut Reader<'a>,
    mut visit: impl FnMut(&mut Reader<'a>, &ChunkAt) -> Result<Next, MediaError>,
) -> Result<(), MediaError> {
    let len = file_len(r)?;
    if read_array::<8>(r)?.as_ref() != Some(PNG_SIGNATURE) {
        return Err(MediaError::Corrupt("the PNG signature is missing".into()));
    }
    let mut pos = 8u64;
    while pos < len {
        goto(r, pos)?;
        let header: [u8; 8] = read_array(r)?.ok_or_else(|| truncated("PNG"))?;
        let data_len = u64::from(u32::from_be_bytes([header[0], header[1], header[2], header[3]]));
        if data_len > 0x7FFF_FFFF {
            return Err(MediaError::Corrupt(format!("a PNG chunk claims the impossible length {data_len}")));
        }
        let end = pos + 12 + data_len;
        if end > len {
            return Err(truncated("PNG"));
        }
        let chunk = ChunkAt { kind: [header[4], header[5], header[6], header[7]], start: pos, end, data_len };
        if visit(r, &chunk)? == Next::Stop || &chunk.kind == b"IEND" {
            break;
        }
        pos = end;
    }
    Ok(())
}

/// Visits the chunks of a RIFF WEBP file, up to the end of its RIFF
/// payload (trailing bytes are ignored).
pub fn riff<'a>(
    r: &mut Reader<'a>,
    mut visit: impl FnMut(&mut Reader<'a>, &ChunkAt) -> Result<Next, MediaError>,
) -> Result<(), MediaError> {
    let len = file_len(r)?;
    let header: [u8; 12] = read_array(r)?.ok_or_else(|| truncated("WebP"))?;
    if &header[..4] != b"RIFF" || &header[8..] != b"WEBP" {
        return Err(MediaError::Corrupt("the WebP RIFF header is missing".into()));
    }
    let size = u64::from(u32::from_le_bytes([header[4], header[5], header[6], header[7]]));
    let riff_end = (8 + size).min(len);
    let mut pos = 12u64;
    while pos + 8 <= riff_end {
        goto(r, pos)?;
        let h: [u8; 8] = read_array(r)?.ok_or_else(|| truncated("WebP"))?;
        let data_len = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        let data_end = pos + 8 + data_len;
        if data_end > riff_end {
            return Err(truncated("WebP"));
        }
        // Chunks are padded to an even size; a missing last pad byte is tolerated.
        let end = (data_end + (data_len & 1)).min(riff_end);
        let chunk = ChunkAt { kind: [h[0], h[1], h[2], h[3]], start: pos, end, data_len };
        if visit(r, &chunk)? == Next::Stop {
            break;
        }
        pos = end;
    }
    Ok(())
}

/// Copies `chunk` whole (header, data, CRC or padding) from `r` to `out`.
pub fn copy_chunk(r: &mut Reader<'_>, chunk: &ChunkAt, out: &mut impl std::io::Write) -> Result<(), MediaError> {
    goto(r, chunk.start)?;
    let copied = std::io::copy(&mut r.take(chunk.end - chunk.start), out).map_err(io)?;
    if copied != chunk.end - chunk.start {
        return Err(truncated("file"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::source::Source;
    use crate::media::testutil::corpus;

    #[test]
    fn png_and_riff_walks_see_every_chunk() {
        let bytes = corpus("skimage_chelsea.png");
        let mut kinds = Vec::new();
        png(&mut Source::bytes(&bytes).reader().unwrap(), |_, c| {
            kinds.push(c.kind);
            Ok(Next::Continue)
        })
        .unwrap();
        assert_eq!(kinds.first(), Some(b"IHDR"));
        assert_eq!(kinds.last(), Some(b"IEND"));
        let webp = corpus("derived_TwoWings.webp");
        let mut n = 0;
        riff(&mut Source::bytes(&webp).reader().unwrap(), |_, _| {
            n += 1;
            Ok(Next::Continue)
        })
        .unwrap();
        assert!(n >= 1);
        let cut = &bytes[..bytes.len() / 2];
        assert!(png(&mut Source::bytes(cut).reader().unwrap(), |_, _| Ok(Next::Continue)).is_err());
    }
}
