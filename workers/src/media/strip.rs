//! Metadata stripping without re-encoding: the file is rewritten segment
//! by segment (JPEG) or chunk by chunk (PNG, WebP), leaving out EXIF, XMP,
//! IPTC and text metadata — which is where GPS positions live — and keeping
//! pixels, ICC profiles and animation untouched. An image that was turned
//! by its EXIF orientation keeps a minimal EXIF holding only that, so it
//! still displays upright.

use super::MediaError;
use super::container::{Chunk, PNG_SIGNATURE, SOS, jpeg_image_end, jpeg_segments, png_chunks, webp_chunks};
use super::exif::{jpeg_app1, orientation_only};
use super::probe::Format;
use super::resize::Orientation;

/// The image without its metadata, or `None` when it has none to remove
/// (and for GIF and BMP, which carry no EXIF).
pub fn strip(bytes: &[u8], format: Format, orientation: Orientation) -> Result<Option<Vec<u8>>, MediaError> {
    let keep = (orientation != Orientation::UPRIGHT).then(|| orientation_only(orientation));
    match format {
        Format::Jpeg => jpeg(bytes, keep.as_deref()),
        Format::Png => png(bytes, keep.as_deref()),
        Format::Webp => webp(bytes, keep.as_deref()),
        Format::Gif | Format::Bmp => Ok(None),
    }
}

/// APP1 (EXIF, XMP), APP13 (Photoshop/IPTC) and APP2 "MPF" (the index of
/// images appended after EOI, which have their own EXIF) are dropped, and
/// so is everything after the primary image's EOI.
fn jpeg(bytes: &[u8], keep: Option<&[u8]>) -> Result<Option<Vec<u8>>, MediaError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut removed = false;
    let mut pending = keep.and_then(jpeg_app1);
    let mut scan_start = None;
    for seg in jpeg_segments(bytes)? {
        let seg = seg?;
        let is_meta = matches!(seg.marker, 0xE1 | 0xED) || (seg.marker == 0xE2 && seg.payload.starts_with(b"MPF\0"));
        // The kept EXIF goes right after a leading JFIF APP0, else first.
        if seg.marker != 0xE0
            && let Some(app1) = pending.take()
        {
            out.extend_from_slice(&app1);
        }
        removed |= is_meta;
        if !is_meta {
            out.extend_from_slice(&bytes[seg.start..seg.end]);
        }
        if seg.marker == SOS {
            scan_start = Some(seg.end);
        }
    }
    let scan_start = scan_start.ok_or_else(|| MediaError::Corrupt("the JPEG has no image data".into()))?;
    let end = jpeg_image_end(bytes, scan_start).unwrap_or(bytes.len());
    removed |= end < bytes.len();
    out.extend_from_slice(&bytes[scan_start..end]);
    Ok(removed.then_some(out))
}

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

/// eXIf and the text chunks (tEXt, zTXt, iTXt: XMP and legacy EXIF
/// profiles live there) are dropped; a kept eXIf goes before the first IDAT.
fn png(bytes: &[u8], keep: Option<&[u8]>) -> Result<Option<Vec<u8>>, MediaError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut removed = false;
    let mut pending = keep.map(|blob| png_chunk(b"eXIf", blob)).transpose()?;
    for chunk in png_chunks(bytes)? {
        let chunk = chunk?;
        if &chunk.kind == b"IDAT"
            && let Some(exif) = pending.take()
        {
            out.extend_from_slice(&exif);
        }
        if matches!(&chunk.kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt") {
            removed = true;
        } else {
            out.extend_from_slice(&bytes[chunk.start..chunk.end]);
        }
    }
    Ok(removed.then_some(out))
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

/// EXIF and XMP chunks are dropped and the VP8X flags follow; a kept EXIF
/// chunk goes last, where the container spec puts it.
fn webp(bytes: &[u8], keep: Option<&[u8]>) -> Result<Option<Vec<u8>>, MediaError> {
    let chunks: Vec<Chunk<'_>> = webp_chunks(bytes)?.collect::<Result<_, _>>()?;
    let removed = chunks.iter().any(|c| matches!(&c.kind, b"EXIF" | b"XMP "));
    let has_vp8x = chunks.first().is_some_and(|c| &c.kind == b"VP8X");
    if !removed {
        return Ok(None);
    }
    let mut out = b"RIFF\0\0\0\0WEBP".to_vec();
    for c in chunks.iter().filter(|c| !matches!(&c.kind, b"EXIF" | b"XMP ")) {
        let at = out.len();
        out.extend_from_slice(&bytes[c.start..c.end]);
        if &c.kind == b"VP8X" && out.len() > at + 8 {
            let flags = &mut out[at + 8];
            *flags &= !(VP8X_XMP | VP8X_EXIF);
            if keep.is_some() {
                *flags |= VP8X_EXIF;
            }
        }
    }
    // Without VP8X an EXIF chunk is not allowed: the orientation is lost,
    // as it would be for any reader of such a file.
    if let (Some(blob), true) = (keep, has_vp8x) {
        out.extend_from_slice(&riff_chunk(b"EXIF", blob));
    }
    if out.len() % 2 == 1 {
        out.push(0);
    }
    let riff_size = u32::try_from(out.len() - 8).map_err(|_| MediaError::Corrupt("the WebP is too large".into()))?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::exif::{raw_exif, read};
    use crate::media::testutil::{corpus, jpeg_with_exif, quadrant, test_exif};

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
