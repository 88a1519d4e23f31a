//! Metadata stripping without re-encoding: the file is rewritten segment
//! by segment (JPEG) or chunk by chunk (PNG, WebP), leaving out EXIF, XMP,
//! IPTC and text metadata — which is where GPS positions live — and keeping
//! pixels, ICC profiles and animation untouched. An image that was turned
//! by its EXIF orientation keeps a minimal EXIF holding only that, so it
//! still displays upright.

use std::io::{BufWriter, Seek, SeekFrom, Write};

use tempfile::NamedTempFile;

use super::MediaError;
use super::container::{PNG_SIGNATURE, SOS, jpeg_image_end, jpeg_segments};
use super::exif::{jpeg_app1, orientation_only};
use super::probe::Format;
use super::resize::Orientation;
use super::source::{Reader, Source, io};
use super::walk::{self, ChunkAt, Next};

/// A stripped copy being written to a temporary file.
struct Out {
    file: NamedTempFile,
    w: BufWriter<std::fs::File>,
    len: u64,
}

impl Out {
    fn new() -> Result<Self, MediaError> {
        let file = NamedTempFile::new().map_err(io)?;
        let w = BufWriter::with_capacity(256 * 1024, file.reopen().map_err(io)?);
        Ok(Self { file, w, len: 0 })
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), MediaError> {
        self.len += bytes.len() as u64;
        self.w.write_all(bytes).map_err(io)
    }

    fn copy(&mut self, r: &mut Reader<'_>, c: &ChunkAt) -> Result<(), MediaError> {
        self.len += c.end - c.start;
        walk::copy_chunk(r, c, &mut self.w)
    }

    fn finish(mut self) -> Result<NamedTempFile, MediaError> {
        self.w.flush().map_err(io)?;
        self.w.get_ref().sync_data().map_err(io)?;
        Ok(self.file)
    }
}

/// The image without its metadata, written to a temporary file, or `None`
/// when it has none to remove (and for GIF and BMP, which carry no EXIF).
/// PNG and WebP are copied chunk by chunk from the source's reader; a
/// JPEG from its primary image in memory.
pub fn strip(src: &Source<'_>, format: Format, orientation: Orientation) -> Result<Option<NamedTempFile>, MediaError> {
    let keep = (orientation != Orientation::UPRIGHT).then(|| orientation_only(orientation));
    match format {
        Format::Jpeg => jpeg(src, keep.as_deref()),
        Format::Png => png(src, keep.as_deref()),
        Format::Webp => webp(src, keep.as_deref()),
        Format::Gif | Format::Bmp => Ok(None),
    }
}

/// APP1 (EXIF, XMP), APP13 (Photoshop/IPTC) and APP2 "MPF" (the index of
/// images appended after EOI, which have their own EXIF) are dropped, and
/// so is everything after the primary image's EOI.
fn jpeg(src: &Source<'_>, keep: Option<&[u8]>) -> Result<Option<NamedTempFile>, MediaError> {
    let data = super::decode::jpeg_data(src, &super::probe::probe_head(src.head(), NO_LIMITS)?)?;
    let bytes = &data[..];
    let mut removed = src.has_unread_tail() || (src.has_file() && (bytes.len() as u64) < src.len());
    let mut pending = keep.and_then(jpeg_app1);
    let mut scan_start = None;
    let mut kept: Vec<(usize, usize)> = Vec::new();
    let mut app1_at = None;
    for seg in jpeg_segments(bytes)? {
        let seg = seg?;
        let is_meta = matches!(seg.marker, 0xE1 | 0xED) || (seg.marker == 0xE2 && seg.payload.starts_with(b"MPF\0"));
        // The kept EXIF goes right after a leading JFIF APP0, else first.
        if seg.marker != 0xE0 && pending.is_some() && app1_at.is_none() {
            app1_at = Some(kept.len());
        }
        removed |= is_meta;
        if !is_meta {
            kept.push((seg.start, seg.end));
        }
        if seg.marker == SOS {
            scan_start = Some(seg.end);
        }
    }
    let scan_start = scan_start.ok_or_else(|| MediaError::Corrupt("the JPEG has no image data".into()))?;
    let end = jpeg_image_end(bytes, scan_start).unwrap_or(bytes.len());
    removed |= end < bytes.len();
    if !removed {
        return Ok(None);
    }
    let mut out = Out::new()?;
    out.put(&bytes[..2])?;
    for (i, &(start, end)) in kept.iter().enumerate() {
        if app1_at == Some(i)
            && let Some(app1) = pending.take()
        {
            out.put(&app1)?;
        }
        out.put(&bytes[start..end])?;
    }
    out.put(&bytes[scan_start..end])?;
    out.finish().map(Some)
}

/// Limits for re-reading a header already checked.
const NO_LIMITS: super::probe::Limits = super::probe::Limits { max_pixels: u64::MAX, max_frames: u32::MAX };

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Result<Vec<u8>, MediaError> {
    let len = u32::try_from(data.len()).map_err(|_| MediaError::Corrupt("chunk too large".into()))?;
    let mut c = Vec::with_capacity(data.len() + 12);
    c.extend_from_slice(&len.to_be_bytes());
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    c.extend_from_slice(&crc.finalize().to_be_bytes());
    Ok(c)
}

fn is_png_meta(kind: &[u8; 4]) -> bool {
    matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt")
}

/// eXIf and the text chunks (tEXt, zTXt, iTXt: XMP and legacy EXIF
/// profiles live there) are dropped; a kept eXIf goes before the first IDAT.
/// A first pass over the chunk headers decides whether there is anything
/// to remove; the second copies the rest.
fn png(src: &Source<'_>, keep: Option<&[u8]>) -> Result<Option<NamedTempFile>, MediaError> {
    let mut r = src.reader()?;
    let mut removed = false;
    walk::png(&mut r, |_, c| {
        removed |= is_png_meta(&c.kind);
        Ok(if removed { Next::Stop } else { Next::Continue })
    })?;
    if !removed {
        return Ok(None);
    }
    let mut out = Out::new()?;
    out.put(PNG_SIGNATURE)?;
    let mut pending = keep.map(|blob| png_chunk(b"eXIf", blob)).transpose()?;
    walk::png(&mut r, |r, c| {
        if &c.kind == b"IDAT"
            && let Some(exif) = pending.take()
        {
            out.put(&exif)?;
        }
        if !is_png_meta(&c.kind) {
            out.copy(r, c)?;
        }
        Ok(Next::Continue)
    })?;
    out.finish().map(Some)
}

fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(data.len() + 9);
    c.extend_from_slice(kind);
    // Blobs here are EXIF we built (26 bytes): the length always fits.
    c.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
    c.extend_from_slice(data);
    if data.len() % 2 == 1 {
        c.push(0);
    }
    c
}

const VP8X_XMP: u8 = 0x04;
const VP8X_EXIF: u8 = 0x08;

fn is_webp_meta(kind: &[u8; 4]) -> bool {
    matches!(kind, b"EXIF" | b"XMP ")
}

/// EXIF and XMP chunks are dropped and the VP8X flags follow; a kept EXIF
/// chunk goes last, where the container spec puts it.
fn webp(src: &Source<'_>, keep: Option<&[u8]>) -> Result<Option<NamedTempFile>, MediaError> {
    let mut r = src.reader()?;
    let (mut removed, mut has_vp8x, mut first) = (false, false, true);
    walk::riff(&mut r, |_, c| {
        has_vp8x |= first && &c.kind == b"VP8X";
        first = false;
        removed |= is_webp_meta(&c.kind);
        Ok(Next::Continue)
    })?;
    if !removed {
        return Ok(None);
    }
    let mut out = Out::new()?;
    out.put(b"RIFF\0\0\0\0WEBP")?;
    walk::riff(&mut r, |r, c| {
        if is_webp_meta(&c.kind) {
            return Ok(Next::Continue);
        }
        if &c.kind != b"VP8X" {
            return out.copy(r, c).map(|()| Next::Continue);
        }
        let mut vp8x = walk::read_data(r, c, 0, 64)?;
        if let Some(flags) = vp8x.first_mut() {
            *flags &= !(VP8X_XMP | VP8X_EXIF);
            if keep.is_some() {
                *flags |= VP8X_EXIF;
            }
        }
        out.put(&riff_chunk(b"VP8X", &vp8x))?;
        Ok(Next::Continue)
    })?;
    // Without VP8X an EXIF chunk is not allowed: the orientation is lost,
    // as it would be for any reader of such a file.
    if let (Some(blob), true) = (keep, has_vp8x) {
        out.put(&riff_chunk(b"EXIF", blob))?;
    }
    if out.len % 2 == 1 {
        out.put(&[0])?;
    }
    let riff_size = u32::try_from(out.len - 8).map_err(|_| MediaError::Corrupt("the WebP is too large".into()))?;
    out.w.seek(SeekFrom::Start(4)).map_err(io)?;
    out.w.write_all(&riff_size.to_le_bytes()).map_err(io)?;
    out.finish().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::exif::{raw_exif, read};
    use crate::media::testutil::{corpus, jpeg_with_exif, quadrant, test_exif};

    /// The stripped bytes, if anything was removed.
    fn strip(bytes: &[u8], format: Format, o: Orientation) -> Result<Option<Vec<u8>>, MediaError> {
        Ok(super::strip(&Source::bytes(bytes), format, o)?.map(|f| std::fs::read(f.path()).unwrap()))
    }

    #[test]
    fn jpeg_loses_gps_keeps_pixels_and_orientation() {
        let jpeg = jpeg_with_exif(&test_exif(6, true));
        let out = strip(&jpeg, Format::Jpeg, Orientation::from_exif(6)).unwrap().unwrap();
        let info = read(&out, Format::Jpeg, true);
        assert_eq!(info.orientation, Orientation::from_exif(6));
        let json = info.json.unwrap();
        assert!(json.get("GPSLatitude").is_none() && json.get("Make").is_none(), "{json}");
        let (a, b) = (image::load_from_memory(&jpeg).unwrap(), image::load_from_memory(&out).unwrap());
        assert_eq!(a.as_bytes(), b.as_bytes(), "the pixels are not re-encoded");
    }

    #[test]
    fn jpeg_without_metadata_is_left_alone_and_upright_exif_goes_entirely() {
        let plain = crate::media::encode::jpeg(&quadrant(64, 48), 85, None).unwrap().bytes;
        assert_eq!(strip(&plain, Format::Jpeg, Orientation::UPRIGHT).unwrap(), None);
        let out = strip(&corpus("mate_Storm.jpg"), Format::Jpeg, Orientation::UPRIGHT).unwrap().unwrap();
        assert_eq!(raw_exif(&out, Format::Jpeg), None);
        assert!(image::load_from_memory(&out).is_ok());
    }

    #[test]
    fn png_and_webp_exif_chunks_are_removed() {
        let png = corpus("skimage_chelsea.png");
        let mut with_exif = png[..33].to_vec(); // signature + IHDR
        with_exif.extend_from_slice(&png_chunk(b"eXIf", &test_exif(1, true)).unwrap());
        with_exif.extend_from_slice(&png[33..]);
        assert!(raw_exif(&with_exif, Format::Png).is_some());
        let out = strip(&with_exif, Format::Png, Orientation::UPRIGHT).unwrap().unwrap();
        assert_eq!(raw_exif(&out, Format::Png), None);
        assert_eq!(image::load_from_memory(&out).unwrap(), image::load_from_memory(&png).unwrap());

        let webp = corpus("derived_TwoWings.webp");
        assert_eq!(strip(&webp, Format::Webp, Orientation::UPRIGHT).unwrap(), None);
        let mut with_exif = webp.clone();
        with_exif.extend_from_slice(&riff_chunk(b"EXIF", &test_exif(1, true)));
        let size = u32::try_from(with_exif.len() - 8).unwrap();
        with_exif[4..8].copy_from_slice(&size.to_le_bytes());
        assert!(raw_exif(&with_exif, Format::Webp).is_some());
        assert_eq!(strip(&with_exif, Format::Webp, Orientation::UPRIGHT).unwrap().unwrap(), webp);
    }
}
