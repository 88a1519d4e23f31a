//! Where an image's bytes are: its head in memory, and either nothing more
//! (the whole file is the head) or the rest in a local file that decoders
//! and structure walkers read through a buffered reader.
//!
//! Header facts come from the head; only what needs the whole file (frame
//! counting, decoding, metadata stripping) reads the file, piece by piece,
//! so memory stays bounded by what each step holds, not by the file size.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use super::MediaError;

/// A buffered reader over a file or a slice; `seek_relative` keeps the
/// buffer, so walkers hop over chunk data cheaply.
pub enum Reader<'a> {
    File(BufReader<File>),
    Slice(Cursor<&'a [u8]>),
}

impl Read for Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::File(r) => r.read(buf),
            Self::Slice(r) => r.read(buf),
        }
    }
}

impl BufRead for Reader<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        match self {
            Self::File(r) => r.fill_buf(),
            Self::Slice(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amt: usize) {
        match self {
            Self::File(r) => r.consume(amt),
            Self::Slice(r) => r.consume(amt),
        }
    }
}

impl Seek for Reader<'_> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            Self::File(r) => r.seek(pos),
            Self::Slice(r) => r.seek(pos),
        }
    }

    fn seek_relative(&mut self, offset: i64) -> std::io::Result<()> {
        match self {
            Self::File(r) => r.seek_relative(offset),
            Self::Slice(r) => r.seek_relative(offset),
        }
    }
}

/// Reads through a buffer of this size.
const READ_BUFFER: usize = 256 * 1024;

/// An image to process.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    head: &'a [u8],
    file: Option<&'a Path>,
    len: u64,
}

impl<'a> Source<'a> {
    /// A file held whole in memory.
    pub fn bytes(bytes: &'a [u8]) -> Self {
        Self { head: bytes, file: None, len: bytes.len() as u64 }
    }

    /// A JPEG's primary image (the bytes up to its EOI) from a file of
    /// `len` bytes; whatever followed it is never read.
    pub fn jpeg_primary(primary: &'a [u8], len: u64) -> Self {
        Self { head: primary, file: None, len }
    }

    /// The first bytes of `path` (a file of `len` bytes) and the file.
    pub fn file(head: &'a [u8], path: &'a Path, len: u64) -> Self {
        Self { head, file: Some(path), len }
    }

    /// The bytes in memory: the head, or the whole file.
    pub fn head(&self) -> &'a [u8] {
        self.head
    }

    /// Size of the whole upload.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the rest of the file is in a local file.
    pub fn has_file(&self) -> bool {
        self.file.is_some()
    }

    /// Whether bytes of the upload lie past [`Self::head`] and no file
    /// holds them (a JPEG's data after its primary image).
    pub fn has_unread_tail(&self) -> bool {
        self.file.is_none() && (self.head.len() as u64) < self.len
    }

    /// A reader over the whole file from its start.
    pub fn reader(&self) -> Result<Reader<'a>, MediaError> {
        Ok(match self.file {
            Some(path) => Reader::File(BufReader::with_capacity(READ_BUFFER, File::open(path).map_err(io)?)),
            None => Reader::Slice(Cursor::new(self.head)),
        })
    }

    /// The file's bytes up to the end `done` finds in them, read `READ_BUFFER`
    /// at a time; more than `cap` bytes without an end fail with `too_large`.
    /// Without an end the whole file is returned (a truncated file: the
    /// decoder reports it).
    pub fn read_until(
        &self,
        cap: u64,
        mut done: impl FnMut(&[u8]) -> Result<Option<usize>, MediaError>,
        too_large: impl Fn() -> MediaError,
    ) -> Result<Vec<u8>, MediaError> {
        let mut reader = self.reader()?;
        let mut out = Vec::new();
        loop {
            let before = out.len();
            let read = (&mut reader).take(READ_BUFFER as u64).read_to_end(&mut out).map_err(io)?;
            if let Some(end) = done(&out)? {
                out.truncate(end);
                return Ok(out);
            }
            if out.len() as u64 > cap {
                return Err(too_large());
            }
            if read == 0 || out.len() == before {
                return Ok(out);
            }
        }
    }
}

/// A local read failed: not the upload's fault, so worth retrying.
// By value so it fits `map_err` directly.
#[allow(clippy::needless_pass_by_value)]
pub fn io(e: std::io::Error) -> MediaError {
    MediaError::Io(e.to_string())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::media::image::{ImageOptions, process, process_bytes};
    use crate::media::testutil::corpus;

    fn opts(strip_exif: bool) -> ImageOptions {
        ImageOptions { max_pixels: 100_000_000, max_frames: 1000, resize_width: None, strip_exif }
    }

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn a_head_and_a_file_process_like_bytes_in_memory() {
        let names = ["mate_Storm.jpg", "skimage_chelsea.png", "derived_Path_anim.gif", "derived_TwoWings.webp"];
        for name in names {
            let bytes = corpus(name);
            let f = file_with(&bytes);
            let head = &bytes[..bytes.len().min(256 * 1024)];
            let from_file = process(&Source::file(head, f.path(), bytes.len() as u64), &opts(true)).unwrap();
            let in_memory = process_bytes(&bytes, &opts(true)).unwrap();
            let facts = |o: &crate::media::image::ImageOutput| (o.width, o.height, o.frames, o.mime);
            assert_eq!(facts(&from_file), facts(&in_memory), "{name}");
            assert_eq!(from_file.thumb.bytes, in_memory.thumb.bytes, "{name}");
            assert_eq!(from_file.exif, in_memory.exif, "{name}");
            let read = |o: &crate::media::image::ImageOutput| {
                o.replacement.as_ref().map(|r| std::fs::read(r.file.path()).unwrap())
            };
            assert_eq!(read(&from_file), read(&in_memory), "{name}");
        }
    }

    #[test]
    fn data_after_a_jpeg_is_never_needed_and_is_not_kept() {
        let jpeg = crate::media::encode::jpeg(&crate::media::testutil::quadrant(64, 48), 85, None).unwrap().bytes;
        let mut with_tail = jpeg.clone();
        with_tail.extend_from_slice(&[0x5A; 100_000]);
        // The job hands over the primary image only, with the upload's size.
        let src = Source::jpeg_primary(&jpeg, with_tail.len() as u64);
        let out = process(&src, &opts(true)).unwrap();
        let stored = std::fs::read(out.replacement.expect("the tail is dropped").file.path()).unwrap();
        assert_eq!(stored, jpeg);
        // Read from a file, the JPEG stops at its EOI too.
        let f = file_with(&with_tail);
        let out = process(&Source::file(&with_tail[..512], f.path(), with_tail.len() as u64), &opts(true)).unwrap();
        assert_eq!(std::fs::read(out.replacement.unwrap().file.path()).unwrap(), jpeg);
    }

    #[test]
    fn a_jpeg_scan_longer_than_its_pixels_can_need_is_refused() {
        let jpeg = crate::media::encode::jpeg(&crate::media::testutil::quadrant(16, 16), 85, None).unwrap().bytes;
        let mut endless = jpeg[..jpeg.len() - 2].to_vec();
        endless.resize(endless.len() + (9 << 20), 0);
        let f = file_with(&endless);
        let err = process(&Source::file(&endless[..1024], f.path(), endless.len() as u64), &opts(false)).unwrap_err();
        assert!(matches!(err, MediaError::OverLimit(_)), "{err}");
    }
}
