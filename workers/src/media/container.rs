//! Walks the structure of JPEG, PNG and RIFF (WebP) files without decoding
//! any pixel: the segments before a JPEG's first scan, PNG chunks and RIFF
//! chunks, each as a byte range of the file. Probing, EXIF reading and
//! metadata stripping all build on these walkers, so every length field is
//! checked against the bytes actually there before it is used.

use super::MediaError;

fn truncated(what: &str) -> MediaError {
    MediaError::Corrupt(format!("the {what} is truncated"))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// One JPEG marker segment: `bytes[start..end]` is the whole segment
/// (marker and length included), `payload` what follows the length.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub marker: u8,
    pub start: usize,
    pub end: usize,
    pub payload: &'a [u8],
}

/// Start of scan: the entropy-coded data follows this segment.
pub const SOS: u8 = 0xDA;
const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;

/// The segments of a JPEG from the one after SOI up to and including the
/// first SOS; `None` after that, after EOI, or after an error.
pub struct JpegSegments<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

/// Walks a JPEG's header segments; fails at once when there is no SOI.
pub fn jpeg_segments(bytes: &[u8]) -> Result<JpegSegments<'_>, MediaError> {
    if bytes.get(..2) != Some(&[0xFF, SOI][..]) {
        return Err(MediaError::Corrupt("the JPEG does not start with SOI".into()));
    }
    Ok(JpegSegments { bytes, pos: 2, done: false })
}

impl<'a> JpegSegments<'a> {
    fn read(&mut self) -> Result<Option<Segment<'a>>, MediaError> {
        let b = self.bytes;
        let start = self.pos;
        if b.get(start) != Some(&0xFF) {
            return Err(MediaError::Corrupt(format!("no JPEG marker at byte {start}")));
        }
        // Any number of 0xFF fill bytes may precede a marker code.
        let mut at = start + 1;
        while b.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *b.get(at).ok_or_else(|| truncated("JPEG header"))?;
        if marker == EOI {
            return Ok(None);
        }
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            self.pos = at + 1;
            return Ok(Some(Segment { marker, start, end: at + 1, payload: &[] }));
        }
        let len = usize::from(be16(b, at + 1).ok_or_else(|| truncated("JPEG header"))?);
        if len < 2 {
            return Err(MediaError::Corrupt(format!("a JPEG segment has the impossible length {len}")));
        }
        let end = at + 1 + len;
        let payload = b.get(at + 3..end).ok_or_else(|| truncated("JPEG header"))?;
        self.pos = end;
        Ok(Some(Segment { marker, start, end, payload }))
    }
}

impl<'a> Iterator for JpegSegments<'a> {
    type Item = Result<Segment<'a>, MediaError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.read().transpose();
        self.done = !matches!(item, Some(Ok(s)) if s.marker != SOS);
        item
    }
}

/// Where the first EOI after `from` ends, if there is one. In entropy-coded
/// data 0xFF is always followed by 0x00 or a restart marker, so the first
/// `FF D9` is the end of the image; what follows (often a second image with
/// its own metadata, as phones append) is not part of the primary image.
pub fn jpeg_image_end(bytes: &[u8], from: usize) -> Option<usize> {
    let tail = bytes.get(from..)?;
    tail.windows(2).position(|w| w == [0xFF, EOI]).map(|i| from + i + 2)
}

/// Header segments before the first scan longer than this are refused.
pub const MAX_JPEG_HEADERS: usize = 16 << 20;

/// Finds where a JPEG's primary image ends in a file read piece by piece
/// (see [`jpeg_image_end`]); each call searches only the new bytes.
#[derive(Debug, Default)]
pub struct JpegEnd {
    scan_start: Option<usize>,
    searched: usize,
}

impl JpegEnd {
    /// `read` is the file so far; the end of the primary image once it is
    /// in there. Headers that do not reach a scan within
    /// [`MAX_JPEG_HEADERS`] bytes are corrupt.
    pub fn find(&mut self, read: &[u8]) -> Result<Option<usize>, MediaError> {
        let scan_start = match self.scan_start {
            Some(s) => s,
            None => {
                let sos = jpeg_segments(read)?.map_while(Result::ok).find(|s| s.marker == SOS);
                let Some(sos) = sos else {
                    if read.len() > MAX_JPEG_HEADERS {
                        return Err(MediaError::Corrupt("the JPEG's headers never reach its image data".into()));
                    }
                    return Ok(None);
                };
                self.scan_start = Some(sos.end);
                sos.end
            }
        };
        let end = jpeg_image_end(read, self.searched.max(scan_start));
        self.searched = read.len().saturating_sub(1).max(scan_start);
        Ok(end)
    }
}

/// One PNG chunk or RIFF chunk: its type and its contents.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    pub kind: [u8; 4],
    pub data: &'a [u8],
}

pub const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// Walks PNG chunks up to and including IEND, or to an error.
pub struct PngChunks<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

pub fn png_chunks(bytes: &[u8]) -> Result<PngChunks<'_>, MediaError> {
    if !bytes.starts_with(PNG_SIGNATURE) {
        return Err(MediaError::Corrupt("the PNG signature is missing".into()));
    }
    Ok(PngChunks { bytes, pos: PNG_SIGNATURE.len(), done: false })
}

impl<'a> PngChunks<'a> {
    fn read(&mut self) -> Result<Option<Chunk<'a>>, MediaError> {
        let (b, start) = (self.bytes, self.pos);
        if start == b.len() {
            return Ok(None);
        }
        let len = be32(b, start).ok_or_else(|| truncated("PNG"))?;
        if len > 0x7FFF_FFFF {
            return Err(MediaError::Corrupt(format!("a PNG chunk claims the impossible length {len}")));
        }
        let kind_bytes = b.get(start + 4..start + 8).ok_or_else(|| truncated("PNG"))?;
        let kind = [kind_bytes[0], kind_bytes[1], kind_bytes[2], kind_bytes[3]];
        let data_end = start + 8 + len as usize;
        if &kind == b"IDAT" && data_end + 4 > b.len() {
            // The image data of a file's head, cut where the head ends:
            // probes need only to know it starts here. Walking ends with it.
            self.pos = b.len();
            return Ok(Some(Chunk { kind, data: &b[start + 8..data_end.min(b.len())] }));
        }
        let data = b.get(start + 8..data_end).ok_or_else(|| truncated("PNG"))?;
        let end = data_end + 4;
        if end > b.len() {
            return Err(truncated("PNG"));
        }
        self.pos = end;
        Ok(Some(Chunk { kind, data }))
    }
}

impl<'a> Iterator for PngChunks<'a> {
    type Item = Result<Chunk<'a>, MediaError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.read().transpose();
        self.done = !matches!(item, Some(Ok(c)) if &c.kind != b"IEND");
        item
    }
}

/// Walks the chunks of a RIFF WEBP file; ends at the end of the RIFF
/// payload (trailing bytes after it are ignored) or at an error.
pub struct RiffChunks<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    failed: bool,
}

pub fn webp_chunks(bytes: &[u8]) -> Result<RiffChunks<'_>, MediaError> {
    if bytes.get(..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WEBP") {
        return Err(MediaError::Corrupt("the WebP RIFF header is missing".into()));
    }
    let size = le32(bytes, 4).ok_or_else(|| truncated("WebP"))? as usize;
    // A RIFF size past the end of the file is a truncated file: walk what is there.
    let end = (8 + size).min(bytes.len());
    Ok(RiffChunks { bytes, pos: 12, end, failed: false })
}

impl<'a> RiffChunks<'a> {
    fn read(&mut self) -> Result<Option<Chunk<'a>>, MediaError> {
        let (b, start) = (self.bytes, self.pos);
        if start + 8 > self.end {
            return Ok(None);
        }
        let kind = [b[start], b[start + 1], b[start + 2], b[start + 3]];
        let len = le32(b, start + 4).ok_or_else(|| truncated("WebP"))? as usize;
        let data_end = start + 8 + len;
        let data = b.get(start + 8..data_end).filter(|_| data_end <= self.end).ok_or_else(|| truncated("WebP"))?;
        // Chunks are padded to an even size; a missing last pad byte is tolerated.
        let end = (data_end + (len & 1)).min(self.end);
        self.pos = end;
        Ok(Some(Chunk { kind, data }))
    }
}

impl<'a> Iterator for RiffChunks<'a> {
    type Item = Result<Chunk<'a>, MediaError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.read().transpose();
        self.failed = matches!(item, Some(Err(_)));
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_walk_stops_at_the_first_scan() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xFF, 0xDA, 0, 2, 9, 9, 0xFF, 0xD9];
        let segs: Vec<_> = jpeg_segments(&jpeg).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[0].marker, segs[0].payload), (0xE0, &[1, 2][..]));
        assert_eq!((segs[1].marker, segs[1].end), (SOS, 13));
        assert_eq!(jpeg_image_end(&jpeg, 13), Some(17));
        let mut end = JpegEnd::default();
        assert_eq!(end.find(&jpeg[..10]).unwrap(), None, "the scan has not started");
        assert_eq!(end.find(&jpeg[..16]).unwrap(), None);
        assert_eq!(end.find(&jpeg).unwrap(), Some(17), "an EOI split across reads is found");
    }

    #[test]
    fn lengths_past_the_end_are_errors_not_panics() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 1];
        assert!(jpeg_segments(&jpeg).unwrap().any(|s| s.is_err()));
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend_from_slice(&[0x7F, 0, 0, 0, b'I', b'H', b'D', b'R']);
        assert!(png_chunks(&png).unwrap().any(|c| c.is_err()));
        let webp = *b"RIFF\xff\xff\xff\xffWEBPVP8 \xff\xff\xff\x7f";
        assert!(webp_chunks(&webp).unwrap().any(|c| c.is_err()));
    }
}
