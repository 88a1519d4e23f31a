//! Probing: the format from magic bytes, then width, height, frame count
//! and alpha from the headers alone, before any pixel is decoded. Frame
//! counting walks GIF blocks and WebP chunks without decompressing them and
//! stops one past the limit, so a 100 000-frame GIF fails in microseconds.

use super::MediaError;
use super::container::png_chunks;
use super::source::Source;
use super::walk::{self, Next};

/// The still-image formats this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Webp,
    Bmp,
}

impl Format {
    /// The format from the first bytes of the file, or `None`.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(Self::Jpeg),
            [0x89, b'P', b'N', b'G', ..] => Some(Self::Png),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Self::Gif),
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(Self::Webp),
            [b'B', b'M', ..] => Some(Self::Bmp),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::Gif => "GIF",
            Self::Webp => "WebP",
            Self::Bmp => "BMP",
        }
    }
}

/// What the headers say about an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: Format,
    /// Canvas size as stored (before any EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// Frames of an animation (APNG, GIF, WebP); 1 for a still image.
    pub frames: u32,
    /// The header declares an alpha channel or transparency.
    pub alpha: bool,
    /// The pixels are stored losslessly (PNG, GIF, BMP, lossless WebP).
    pub lossless: bool,
}

impl Probe {
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    pub fn is_animated(&self) -> bool {
        self.frames > 1
    }
}

/// The limits a probe is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_pixels: u64,
    pub max_frames: u32,
}

/// Reads the headers of a file held in memory and checks them against
/// `limits`; nothing is decoded.
pub fn probe(bytes: &[u8], limits: Limits) -> Result<Probe, MediaError> {
    probe_source(&Source::bytes(bytes), limits)
}

/// The facts of the first bytes of a file (`head`), checked against
/// `limits`: the format, the canvas size and, where the headers say,
/// alpha and APNG frames. GIF and extended WebP count their frames in
/// [`probe_source`]. A head cut short inside the headers is `Corrupt`:
/// the caller reads more and asks again.
pub fn probe_head(head: &[u8], limits: Limits) -> Result<Probe, MediaError> {
    let format = Format::sniff(head).ok_or_else(|| {
        MediaError::Unsupported("the file is not a supported image (JPEG, PNG, GIF, WebP or BMP)".into())
    })?;
    let probe = match format {
        Format::Jpeg => jpeg(head)?,
        Format::Png => png(head, limits)?,
        Format::Gif => super::gif::header(head, limits)?,
        Format::Webp => webp_head(head, limits)?,
        Format::Bmp => bmp(head)?,
    };
    check(&probe, limits)?;
    Ok(probe)
}

/// [`probe_head`], then the walks that need the whole file: GIF blocks and
/// extended WebP chunks (frames, lossless data), hopping over their data.
pub fn probe_source(src: &Source<'_>, limits: Limits) -> Result<Probe, MediaError> {
    let probe = probe_head(src.head(), limits)?;
    let probe = match probe.format {
        Format::Gif => super::gif::walk(src, limits)?,
        Format::Webp if src.head().get(12..16) == Some(b"VP8X") => webp_walk(src, probe, limits)?,
        _ => probe,
    };
    check(&probe, limits)?;
    Ok(probe)
}

/// Refuses empty images and those over the pixel or frame limit.
pub fn check(p: &Probe, limits: Limits) -> Result<(), MediaError> {
    let name = p.format.name();
    if p.width == 0 || p.height == 0 {
        return Err(MediaError::Corrupt(format!("the {name} header gives no pixels ({}×{})", p.width, p.height)));
    }
    check_pixels(name, p.width, p.height, limits.max_pixels)?;
    if p.frames > limits.max_frames {
        return Err(frames_over(name, limits.max_frames));
    }
    Ok(())
}

pub fn check_pixels(name: &str, width: u32, height: u32, max_pixels: u64) -> Result<(), MediaError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(MediaError::OverLimit(format!(
            "the {name} is {width}×{height} ({pixels} pixels), more than the limit of {max_pixels} pixels"
        )));
    }
    Ok(())
}

pub fn frames_over(name: &str, max_frames: u32) -> MediaError {
    MediaError::OverLimit(format!("the {name} animation has more than the limit of {max_frames} frames"))
}

/// The size from the first start-of-frame segment.
fn jpeg(bytes: &[u8]) -> Result<Probe, MediaError> {
    for seg in super::container::jpeg_segments(bytes)? {
        let seg = seg?;
        // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
        let is_sof = (0xC0..=0xCF).contains(&seg.marker) && ![0xC4, 0xC8, 0xCC].contains(&seg.marker);
        if is_sof {
            let p = seg.payload;
            let (Some(h), Some(w)) = (p.get(1..3), p.get(3..5)) else {
                return Err(MediaError::Corrupt("the JPEG frame header is truncated".into()));
            };
            let height = u32::from(u16::from_be_bytes([h[0], h[1]]));
            let width = u32::from(u16::from_be_bytes([w[0], w[1]]));
            return Ok(Probe { format: Format::Jpeg, width, height, frames: 1, alpha: false, lossless: false });
        }
        if seg.marker == super::container::SOS {
            break;
        }
    }
    Err(MediaError::Corrupt("the JPEG has no frame header before its first scan".into()))
}

/// IHDR for the size; acTL (before the first IDAT) for an APNG's frames.
fn png(bytes: &[u8], limits: Limits) -> Result<Probe, MediaError> {
    let mut chunks = png_chunks(bytes)?;
    let ihdr = match chunks.next() {
        Some(Ok(c)) if &c.kind == b"IHDR" && c.data.len() == 13 => c.data,
        Some(Err(e)) => return Err(e),
        _ => return Err(MediaError::Corrupt("the PNG does not start with a valid IHDR".into())),
    };
    let width = u32::from_be_bytes([ihdr[0], ihdr[1], ihdr[2], ihdr[3]]);
    let height = u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]]);
    let mut probe =
        Probe { format: Format::Png, width, height, frames: 1, alpha: matches!(ihdr[9], 4 | 6), lossless: true };
    // Only the first dimensions are needed to refuse a bomb: check before walking on.
    check(&probe, limits)?;
    for chunk in chunks {
        let chunk = chunk?;
        match &chunk.kind {
            b"tRNS" => probe.alpha = true,
            b"acTL" if chunk.data.len() >= 4 => {
                let d = chunk.data;
                probe.frames = u32::from_be_bytes([d[0], d[1], d[2], d[3]]).max(1);
            }
            b"IDAT" => break,
            _ => {}
        }
    }
    Ok(probe)
}

fn u24(d: &[u8], at: usize) -> Option<u32> {
    d.get(at..at + 3).map(|s| u32::from_le_bytes([s[0], s[1], s[2], 0]))
}

/// The first image chunk: VP8X for the canvas and flags (frames and
/// lossless data are found by [`webp_walk`]), else the VP8 or VP8L
/// bitstream header, of which the head needs only the first bytes.
fn webp_head(head: &[u8], limits: Limits) -> Result<Probe, MediaError> {
    let bad = |what: &str| MediaError::Corrupt(format!("the WebP {what} header is invalid"));
    let le32 = |at: usize| head.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize);
    let mut pos = 12usize;
    while let Some(len) = le32(pos + 4) {
        let d = head.get(pos + 8..).map_or(&[][..], |rest| &rest[..rest.len().min(len)]);
        match &head[pos..pos + 4] {
            b"VP8X" => {
                let flags = *d.first().ok_or_else(|| bad("VP8X"))?;
                let w = u24(d, 4).ok_or_else(|| bad("VP8X"))? + 1;
                let h = u24(d, 7).ok_or_else(|| bad("VP8X"))? + 1;
                let p = Probe {
                    format: Format::Webp,
                    width: w,
                    height: h,
                    frames: 1,
                    alpha: flags & 0x10 != 0,
                    lossless: false,
                };
                check(&p, limits)?;
                return Ok(p);
            }
            b"VP8 " => return vp8(d).ok_or_else(|| bad("VP8")),
            b"VP8L" => return vp8l(d).ok_or_else(|| bad("VP8L")),
            _ => pos = pos.saturating_add(8).saturating_add(len).saturating_add(len & 1),
        }
    }
    Err(MediaError::Corrupt("the WebP has no image data".into()))
}

/// Counts an extended WebP's ANMF frames (stopping one past the limit)
/// and notes lossless image data.
fn webp_walk(src: &Source<'_>, mut probe: Probe, limits: Limits) -> Result<Probe, MediaError> {
    let mut frames = 0u32;
    let mut r = src.reader()?;
    walk::riff(&mut r, |r, c| {
        match &c.kind {
            b"VP8L" => probe.lossless = true,
            b"ANMF" => {
                frames += 1;
                if frames > limits.max_frames {
                    return Err(frames_over("WebP", limits.max_frames));
                }
                let d = walk::read_data(r, c, 0, 16)?;
                anmf_fits(&d, &probe).ok_or_else(|| MediaError::Corrupt("the WebP ANMF header is invalid".into()))?;
            }
            _ => {}
        }
        Ok(Next::Continue)
    })?;
    probe.frames = frames.max(1);
    Ok(probe)
}

/// An animation frame must lie inside the canvas (offsets are stored
/// halved), so no frame buffer is ever larger than the checked canvas.
fn anmf_fits(d: &[u8], canvas: &Probe) -> Option<()> {
    let (x, y) = (u24(d, 0)? * 2, u24(d, 3)? * 2);
    let (w, h) = (u24(d, 6)? + 1, u24(d, 9)? + 1);
    (x + w <= canvas.width && y + h <= canvas.height).then_some(())
}

/// A lossy frame: tag (3 bytes), start code, then 14-bit width and height.
fn vp8(d: &[u8]) -> Option<Probe> {
    if d.get(3..6)? != [0x9D, 0x01, 0x2A] {
        return None;
    }
    let w = u32::from(u16::from_le_bytes([*d.get(6)?, *d.get(7)?]) & 0x3FFF);
    let h = u32::from(u16::from_le_bytes([*d.get(8)?, *d.get(9)?]) & 0x3FFF);
    Some(Probe { format: Format::Webp, width: w, height: h, frames: 1, alpha: false, lossless: false })
}

/// A lossless frame: signature 0x2F, then 14-bit width-1, height-1, alpha bit.
fn vp8l(d: &[u8]) -> Option<Probe> {
    if *d.first()? != 0x2F {
        return None;
    }
    let bits = u32::from_le_bytes([*d.get(1)?, *d.get(2)?, *d.get(3)?, *d.get(4)?]);
    let (w, h) = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
    Some(Probe { format: Format::Webp, width: w, height: h, frames: 1, alpha: bits >> 28 & 1 == 1, lossless: true })
}

/// BITMAPFILEHEADER, then an OS/2 core header (16-bit sizes) or a
/// BITMAPINFOHEADER and its successors (signed 32-bit; negative height
/// means top-down rows).
fn bmp(bytes: &[u8]) -> Result<Probe, MediaError> {
    let bad = || MediaError::Corrupt("the BMP header is truncated or invalid".into());
    let le16 = |at: usize| bytes.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let le32 = |at: usize| bytes.get(at..at + 4).map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let header_size = le32(14).ok_or_else(bad)?;
    let (width, height, bits) = if header_size == 12 {
        (u32::from(le16(18).ok_or_else(bad)?), u32::from(le16(20).ok_or_else(bad)?), le16(24).ok_or_else(bad)?)
    } else {
        let w = le32(18).ok_or_else(bad)?;
        let h = le32(22).ok_or_else(bad)?;
        (u32::try_from(w).map_err(|_| bad())?, h.unsigned_abs(), le16(28).ok_or_else(bad)?)
    };
    Ok(Probe { format: Format::Bmp, width, height, frames: 1, alpha: bits == 32, lossless: true })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::corpus;

    const LIMITS: Limits = Limits { max_pixels: 100_000_000, max_frames: 1000 };

    #[test]
    fn corpus_headers_give_the_sizes_vips_reports() {
        let cases = [
            ("mate_Aqua.jpg", Format::Jpeg, 2560, 1600, 1),
            ("kde_Volna_5120.jpg", Format::Jpeg, 5120, 2880, 1),
            ("kde_Patak_1080_alpha.png", Format::Png, 1080, 1920, 1),
            ("skimage_camera.png", Format::Png, 512, 512, 1),
            ("derived_TwoWings.webp", Format::Webp, 2560, 1600, 1),
            ("derived_Path_anim.gif", Format::Gif, 480, 300, 24),
        ];
        for (name, format, w, h, frames) in cases {
            let p = probe(&corpus(name), LIMITS).unwrap();
            assert_eq!((p.format, p.width, p.height, p.frames), (format, w, h, frames), "{name}");
        }
        assert!(probe(&corpus("kde_Patak_1080_alpha.png"), LIMITS).unwrap().alpha);
    }

    #[test]
    fn a_png_claiming_60000_squared_is_refused_from_its_header() {
        let mut png = corpus("skimage_chelsea.png");
        png[16..24].copy_from_slice(&[0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60]);
        let err = probe(&png, LIMITS).unwrap_err();
        assert!(matches!(err, MediaError::OverLimit(_)), "{err}");
        assert!(err.to_string().contains("60000×60000"), "{err}");
    }

    #[test]
    fn animated_webp_and_apng_frames_are_counted() {
        use crate::media::testutil::{animated_webp, apng};
        let colors = [[200, 10, 10], [10, 200, 10], [10, 10, 200]];
        for (bytes, format) in [(animated_webp(40, 30, &colors), Format::Webp), (apng(40, 30, &colors), Format::Png)] {
            let p = probe(&bytes, LIMITS).unwrap();
            assert_eq!((p.format, p.width, p.height, p.frames), (format, 40, 30, 3));
            let err = probe(&bytes, Limits { max_frames: 2, ..LIMITS }).unwrap_err();
            assert!(matches!(err, MediaError::OverLimit(_)), "{format:?}: {err}");
            // The first frame is what gets decoded for the still thumb.
            let need = crate::media::decode::Need { width: 1, height: 1 };
            let first = crate::media::decode::decode(&Source::bytes(&bytes), &p, need).unwrap();
            // (image-webp's frame compositing may round by one.)
            let close = first.data[..3].iter().zip([200u8, 10, 10]).all(|(a, b)| a.abs_diff(b) <= 1);
            assert!(close, "{format:?}: {:?}", &first.data[..3]);
        }
    }

    #[test]
    fn unknown_bytes_are_unsupported() {
        let err = probe(b"\x00\x01definitely not an image", LIMITS).unwrap_err();
        assert!(matches!(err, MediaError::Unsupported(_)), "{err}");
        assert!(probe(&[], LIMITS).is_err());
        assert!(probe(b"BM", LIMITS).is_err());
        assert!(probe(b"RIFF\x04\0\0\0WEBP", LIMITS).is_err());
    }
}
