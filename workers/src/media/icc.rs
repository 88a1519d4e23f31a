//! ICC colour profiles carried from the upload into its derivatives, so a
//! wide-gamut photo (Display P3 from a phone, Adobe RGB from a camera)
//! keeps its colours in the thumb instead of looking washed out. Pixels
//! are never converted: they stay in the source's colour space and the
//! profile that describes them travels along.
//!
//! sRGB profiles are left out — sRGB is what a browser assumes without
//! one, so they would only add 3 KiB to every thumb — and so are profiles
//! over 64 KiB (lookup-table profiles), which would dwarf a thumb.

use std::io::Cursor;

use super::container::{jpeg_segments, webp_chunks};
use super::probe::Format;

const MAX_PROFILE: usize = 64 * 1024;
const JPEG_ICC: &[u8] = b"ICC_PROFILE\0";
/// Profile bytes per APP2 segment: 65535 less the length field, the
/// signature and the sequence and count bytes.
const JPEG_ICC_CHUNK: usize = 65535 - 2 - JPEG_ICC.len() - 2;

/// The profile to embed in derivatives of this image, if any.
pub fn profile(bytes: &[u8], format: Format) -> Option<Vec<u8>> {
    let icc = match format {
        Format::Jpeg => jpeg(bytes),
        Format::Png => png(bytes),
        Format::Webp => {
            webp_chunks(bytes).ok()?.map_while(Result::ok).find(|c| &c.kind == b"ICCP").map(|c| c.data.to_vec())
        }
        Format::Gif | Format::Bmp => None,
    }?;
    (icc.len() >= 132 && icc.len() <= MAX_PROFILE && !is_srgb(&icc)).then_some(icc)
}

/// APP2 "ICC_PROFILE" segments, joined in their sequence order.
fn jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut parts: Vec<(u8, &[u8])> = jpeg_segments(bytes)
        .ok()?
        .map_while(Result::ok)
        .filter(|s| s.marker == 0xE2 && s.payload.len() > JPEG_ICC.len() + 2 && s.payload.starts_with(JPEG_ICC))
        .map(|s| (s.payload[JPEG_ICC.len()], &s.payload[JPEG_ICC.len() + 2..]))
        .collect();
    parts.sort_by_key(|&(seq, _)| seq);
    let icc: Vec<u8> = parts.into_iter().flat_map(|(_, data)| data.iter().copied()).collect();
    (!icc.is_empty()).then_some(icc)
}

/// iCCP is deflated: let the png crate find and inflate it, bounded.
fn png(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_limits(png::Limits { bytes: 4 * MAX_PROFILE + (1 << 20) });
    let reader = decoder.read_info().ok()?;
    reader.info().icc_profile.as_ref().map(|p| p.to_vec())
}

/// Whether the profile's description names sRGB (ASCII in a v2 `desc`,
/// UTF-16 in a v4 `mluc`).
fn is_srgb(icc: &[u8]) -> bool {
    let be32 = |at: usize| icc.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize);
    let count = be32(128).unwrap_or(0).min(256);
    (0..count).any(|i| {
        let entry = 132 + 12 * i;
        if icc.get(entry..entry + 4) != Some(b"desc") {
            return false;
        }
        let (Some(offset), Some(size)) = (be32(entry + 4), be32(entry + 8)) else { return false };
        let desc = icc.get(offset..offset.saturating_add(size.min(512))).unwrap_or(&[]);
        desc.windows(4).any(|w| w == b"sRGB") || desc.windows(8).any(|w| w == b"\0s\0R\0G\0B")
    })
}

/// `jpeg` with the profile inserted as APP2 segments after SOI and any
/// JFIF APP0, where readers look for it.
pub fn into_jpeg(jpeg: Vec<u8>, icc: &[u8]) -> Vec<u8> {
    let chunks: Vec<&[u8]> = icc.chunks(JPEG_ICC_CHUNK).collect();
    let Ok(count) = u8::try_from(chunks.len()) else { return jpeg };
    let app0_end = match jpeg.get(2..6) {
        Some([0xFF, 0xE0, hi, lo]) => 4 + usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => 2,
    };
    let mut out = Vec::with_capacity(jpeg.len() + icc.len() + 18 * chunks.len());
    out.extend_from_slice(&jpeg[..app0_end.min(jpeg.len())]);
    for (i, chunk) in chunks.iter().enumerate() {
        // chunk ≤ JPEG_ICC_CHUNK, so the length fits in u16.
        let len = u16::try_from(2 + JPEG_ICC.len() + 2 + chunk.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&[0xFF, 0xE2]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(JPEG_ICC);
        // Sequence numbers start at 1; `i < count ≤ 255`.
        out.extend_from_slice(&[u8::try_from(i + 1).unwrap_or(u8::MAX), count]);
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&jpeg[app0_end.min(jpeg.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::corpus;

    #[test]
    fn adobe_rgb_is_kept_and_srgb_left_out() {
        let icc = profile(&corpus("skimage_rocket.jpg"), Format::Jpeg).unwrap();
        assert_eq!(icc.len(), 560);
        assert_eq!(profile(&corpus("kde_Path.jpg"), Format::Jpeg), None, "sRGB (v2 desc)");
        assert_eq!(profile(&corpus("kde_Patak_1080_alpha.png"), Format::Png), None, "sRGB (v4 mluc)");
        assert_eq!(profile(&corpus("mate_Aqua.jpg"), Format::Jpeg), None, "no profile");
    }

    #[test]
    fn a_profile_round_trips_through_a_jpeg() {
        let icc = profile(&corpus("skimage_rocket.jpg"), Format::Jpeg).unwrap();
        let plain = crate::media::encode::jpeg(&crate::media::testutil::quadrant(16, 16), 85, None).unwrap().bytes;
        let with = into_jpeg(plain, &icc);
        assert_eq!(jpeg(&with), Some(icc));
        assert!(image::load_from_memory(&with).is_ok());
    }
}
