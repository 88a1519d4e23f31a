//! Decoding to 8-bit pixels, once per image, no larger than needed.
//!
//! JPEG goes through libjpeg-turbo (the `turbojpeg` crate) with DCT-domain
//! scaling ("shrink on load"): the decoder is asked for the smallest 1/8
//! multiple that still covers every output, so a 5120×2880 photo for a
//! 500 px medium is decoded at 640×360. That is where most of the speed
//! comes from: decoding is ~85–90 % of a thumbnailer's time. CMYK and
//! YCCK JPEGs, which libjpeg-turbo cannot turn into RGB, go to the
//! pure-Rust decoder instead. PNG goes through the `png` crate straight to
//! 8 bits per channel, GIF through the `gif` crate, WebP and BMP through
//! `image`. Every decoder gets allocation limits derived from the probed
//! (already limit-checked) size.

use std::borrow::Cow;

use image::{DynamicImage, ImageFormat, ImageReader};
use turbojpeg::{Colorspace, Decompressor, PixelFormat, ScalingFactor};

use super::MediaError;
use super::container::JpegEnd;
use super::probe::{Format, Probe};
use super::source::Source;

/// How the bytes of a pixel are laid out (always 8 bits per channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
}

impl Layout {
    pub fn channels(self) -> usize {
        match self {
            Self::Gray => 1,
            Self::GrayAlpha => 2,
            Self::Rgb => 3,
            Self::Rgba => 4,
        }
    }

    pub fn has_alpha(self) -> bool {
        matches!(self, Self::GrayAlpha | Self::Rgba)
    }
}

/// A decoded (or resized) image: rows packed without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
    pub data: Vec<u8>,
}

impl Pixels {
    /// Whether any pixel is less than fully opaque. A decoder's alpha
    /// channel is often all 255 (RGBA PNGs, GIFs without transparency);
    /// such images are treated, and encoded, as opaque.
    pub fn has_transparency(&self) -> bool {
        let n = self.layout.channels();
        self.layout.has_alpha() && self.data.chunks_exact(n).any(|p| p[n - 1] != 255)
    }
}

/// The decoded image must be at least this large (stored orientation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub width: u32,
    pub height: u32,
}

/// Limits libjpeg-turbo's work on progressive files crafted with endless
/// scans (a known denial of service); real files use about ten.
const MAX_JPEG_SCANS: u32 = 500;

/// Decodes the first frame of the probed image, at reduced size where the
/// format allows and `need` permits. PNG, GIF, WebP and BMP are decoded
/// from a reader; a JPEG's compressed data up to its EOI is held in memory
/// (libjpeg-turbo takes one buffer), at most [`jpeg_byte_cap`].
pub fn decode(src: &Source<'_>, probe: &Probe, need: Need) -> Result<Pixels, MediaError> {
    let pixels = match probe.format {
        // Only what libjpeg-turbo cannot convert is retried: the pure-Rust
        // decoder would accept a truncated file, which must fail instead.
        Format::Jpeg => {
            let data = jpeg_data(src, probe)?;
            match jpeg(&data, probe, need) {
                Err(MediaError::Unsupported(_)) => with_image(&Source::bytes(&data), ImageFormat::Jpeg, probe),
                other => other,
            }
        }
        Format::Png => png(src, probe),
        Format::Gif => super::gif::first_frame(src, probe),
        Format::Webp => with_image(src, ImageFormat::WebP, probe),
        Format::Bmp => with_image(src, ImageFormat::Bmp, probe),
    }?;
    if pixels.width == 0 || pixels.height == 0 {
        return Err(MediaError::Corrupt("the image decoded to no pixels".into()));
    }
    Ok(pixels)
}

/// Compressed bytes a JPEG of the probed size may use: as many as its raw
/// RGB pixels (3 per pixel; real photos use well under 1, even at quality
/// 100) plus 8 MiB for headers.
pub fn jpeg_byte_cap(probe: &Probe) -> u64 {
    probe.pixels().saturating_mul(3).saturating_add(8 << 20)
}

/// A JPEG's bytes up to the end of its primary image: in memory already,
/// or read from the file up to its EOI, refused past [`jpeg_byte_cap`].
pub fn jpeg_data<'a>(src: &Source<'a>, probe: &Probe) -> Result<Cow<'a, [u8]>, MediaError> {
    if !src.has_file() {
        return Ok(Cow::Borrowed(src.head()));
    }
    let mut end = JpegEnd::default();
    src.read_until(jpeg_byte_cap(probe), |read| end.find(read), || jpeg_too_large(probe)).map(Cow::Owned)
}

pub fn jpeg_too_large(probe: &Probe) -> MediaError {
    MediaError::OverLimit(format!(
        "the JPEG's data is larger than a {}×{} image can need ({} bytes at most)",
        probe.width,
        probe.height,
        jpeg_byte_cap(probe)
    ))
}

/// The smallest k/8 (k = 1..=8) that keeps both sides at least `need`.
pub fn jpeg_scale(width: u32, height: u32, need: Need) -> ScalingFactor {
    let covers = |k: u32, size: u32, need: u32| u64::from(size) * u64::from(k) >= u64::from(need.min(size)) * 8;
    let k = (1..=8).find(|&k| covers(k, width, need.width) && covers(k, height, need.height)).unwrap_or(8);
    ScalingFactor::new(k as usize, 8)
}

// By value so it fits `map_err` directly.
#[allow(clippy::needless_pass_by_value)]
fn tj(e: turbojpeg::Error) -> MediaError {
    MediaError::Corrupt(format!("JPEG: {e}"))
}

fn jpeg(bytes: &[u8], probe: &Probe, need: Need) -> Result<Pixels, MediaError> {
    let mut d = Decompressor::new().map_err(tj)?;
    let header = d.read_header(bytes).map_err(tj)?;
    if (header.width, header.height) != (probe.width as usize, probe.height as usize) {
        return Err(MediaError::Corrupt("the JPEG headers disagree about its size".into()));
    }
    let (format, layout) = match header.colorspace {
        Colorspace::Gray => (PixelFormat::GRAY, Layout::Gray),
        Colorspace::YCbCr | Colorspace::RGB => (PixelFormat::RGB, Layout::Rgb),
        // CMYK and YCCK: libjpeg-turbo cannot convert them to RGB.
        _ => return Err(MediaError::Unsupported("JPEG colour space".into())),
    };
    let scale = if header.is_lossless { ScalingFactor::ONE } else { jpeg_scale(probe.width, probe.height, need) };
    d.set_scaling_factor(scale).map_err(tj)?;
    d.set_scan_limit(MAX_JPEG_SCANS).map_err(tj)?;
    let scaled = header.scaled(scale);
    let pitch = scaled.width * layout.channels();
    let mut data = vec![0; pitch * scaled.height];
    let mut decompress = |bytes: &[u8], data: &mut [u8]| {
        let image = turbojpeg::Image { pixels: data, width: scaled.width, pitch, height: scaled.height, format };
        match d.decompress(bytes, image) {
            // A warning, not an error: the image was decoded whole. Writers
            // that pad before a marker are common and browsers show the files.
            Err(turbojpeg::Error::TurboJpegError(m)) if m.contains("extraneous bytes before marker") => Ok(()),
            other => other,
        }
    };
    // At 1/8 only DC coefficients count: a progressive file's AC scans
    // are left undecoded. Anything unexpected decodes the whole file.
    let dc = (scale == ScalingFactor::ONE_EIGHTH).then(|| super::progressive::dc_scans(bytes)).flatten();
    if dc.is_none_or(|dc| decompress(&dc, &mut data).is_err()) {
        decompress(bytes, &mut data).map_err(tj)?;
    }
    // Both sides are at most the probed u16 sizes, so these cannot fail.
    let width = u32::try_from(scaled.width).map_err(|_| MediaError::Corrupt("JPEG width".into()))?;
    let height = u32::try_from(scaled.height).map_err(|_| MediaError::Corrupt("JPEG height".into()))?;
    Ok(Pixels { width, height, layout, data })
}

/// Decoder bookkeeping beyond the output buffer (zlib windows, rows,
/// palettes): generous, but bounded.
const DECODER_OVERHEAD: u64 = 64 * 1024 * 1024;

fn png(src: &Source<'_>, probe: &Probe) -> Result<Pixels, MediaError> {
    let failed = |e: png::DecodingError| MediaError::Corrupt(format!("PNG: {e}"));
    let mut decoder = png::Decoder::new(src.reader()?);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_limits(png::Limits { bytes: DECODER_OVERHEAD as usize });
    let mut reader = decoder.read_info().map_err(failed)?;
    let info = reader.info();
    if (info.width, info.height) != (probe.width, probe.height) {
        return Err(MediaError::Corrupt("the PNG headers disagree about its size".into()));
    }
    let size = reader.output_buffer_size().ok_or_else(|| MediaError::OverLimit("the PNG is too large".into()))?;
    let mut data = vec![0; size];
    let out = reader.next_frame(&mut data).map_err(failed)?;
    data.truncate(out.buffer_size());
    let layout = match out.color_type {
        png::ColorType::Grayscale => Layout::Gray,
        png::ColorType::GrayscaleAlpha => Layout::GrayAlpha,
        png::ColorType::Rgb => Layout::Rgb,
        png::ColorType::Rgba => Layout::Rgba,
        png::ColorType::Indexed => return Err(MediaError::Corrupt("the PNG palette could not be expanded".into())),
    };
    Ok(Pixels { width: out.width, height: out.height, layout, data })
}

fn with_image(src: &Source<'_>, format: ImageFormat, probe: &Probe) -> Result<Pixels, MediaError> {
    let failed = |e: image::ImageError| MediaError::Corrupt(format!("{}: {e}", probe.format.name()));
    let mut reader = ImageReader::with_format(src.reader()?, format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(probe.width);
    limits.max_image_height = Some(probe.height);
    // The first frame at up to 16 bits per channel RGBA, plus bookkeeping.
    limits.max_alloc = Some(probe.pixels().saturating_mul(8).saturating_add(DECODER_OVERHEAD));
    reader.limits(limits);
    reader.decode().map(into_pixels).map_err(failed)
}

/// 8-bit pixels from whatever the decoder produced, without a copy when it
/// is already 8-bit.
fn into_pixels(img: DynamicImage) -> Pixels {
    let (width, height) = (img.width(), img.height());
    let (layout, data) = match img {
        DynamicImage::ImageLuma8(b) => (Layout::Gray, b.into_raw()),
        DynamicImage::ImageLumaA8(b) => (Layout::GrayAlpha, b.into_raw()),
        DynamicImage::ImageRgb8(b) => (Layout::Rgb, b.into_raw()),
        DynamicImage::ImageRgba8(b) => (Layout::Rgba, b.into_raw()),
        DynamicImage::ImageLuma16(_) => (Layout::Gray, img.into_luma8().into_raw()),
        DynamicImage::ImageLumaA16(_) => (Layout::GrayAlpha, img.into_luma_alpha8().into_raw()),
        other if other.color().has_alpha() => (Layout::Rgba, other.into_rgba8().into_raw()),
        other => (Layout::Rgb, other.into_rgb8().into_raw()),
    };
    Pixels { width, height, layout, data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::probe::{Limits, probe};
    use crate::media::testutil::corpus;

    const LIMITS: Limits = Limits { max_pixels: 100_000_000, max_frames: 1000 };
    const THUMB: Need = Need { width: 160, height: 160 };

    fn decode_file(name: &str, need: Need) -> Pixels {
        let bytes = corpus(name);
        decode(&Source::bytes(&bytes), &probe(&bytes, LIMITS).unwrap(), need).unwrap()
    }

    #[test]
    fn jpeg_scale_keeps_every_side_at_least_needed() {
        assert_eq!(jpeg_scale(5120, 2880, Need { width: 500, height: 160 }), ScalingFactor::new(1, 8));
        assert_eq!(jpeg_scale(2560, 1600, Need { width: 500, height: 160 }), ScalingFactor::new(2, 8));
        assert_eq!(jpeg_scale(640, 427, Need { width: 500, height: 160 }), ScalingFactor::new(7, 8));
        // A side smaller than the need is kept whole, not upscaled.
        assert_eq!(jpeg_scale(100, 4000, Need { width: 160, height: 160 }), ScalingFactor::ONE);
    }

    #[test]
    fn a_progressive_jpeg_at_one_eighth_looks_like_its_whole_decode() {
        let fast = decode_file("kde_Volna_5120.jpg", Need { width: 500, height: 160 });
        assert_eq!((fast.width, fast.height, fast.layout), (640, 360, Layout::Rgb));
        let mut d = Decompressor::new().unwrap();
        d.set_scaling_factor(ScalingFactor::ONE_EIGHTH).unwrap();
        let mut whole = vec![0; fast.data.len()];
        let image = turbojpeg::Image {
            pixels: &mut whole[..],
            width: 640,
            pitch: 640 * 3,
            height: 360,
            format: PixelFormat::RGB,
        };
        d.decompress(&corpus("kde_Volna_5120.jpg"), image).unwrap();
        let diff: u64 = fast.data.iter().zip(&whole).map(|(a, b)| u64::from(a.abs_diff(*b))).sum();
        let mean = diff as f64 / whole.len() as f64;
        // Only block smoothing differs (not an exact match, not a blank).
        assert!(mean > 0.0 && mean < 1.0, "mean difference {mean}");
    }

    #[test]
    fn jpeg_is_decoded_shrunk_and_png_whole() {
        let p = decode_file("kde_SafeLanding_5120.jpg", Need { width: 500, height: 160 });
        assert_eq!((p.width, p.height, p.layout), (640, 360, Layout::Rgb));
        let p = decode_file("skimage_camera.png", THUMB);
        assert_eq!((p.width, p.height, p.layout), (512, 512, Layout::Gray));
        let p = decode_file("kde_Patak_1080_alpha.png", THUMB);
        assert_eq!((p.width, p.height, p.layout), (1080, 1920, Layout::Rgba));
        assert!(p.has_transparency());
    }

    #[test]
    fn gif_and_webp_decode_their_first_frame() {
        let p = decode_file("derived_Path_anim.gif", THUMB);
        assert_eq!((p.width, p.height, p.layout), (480, 300, Layout::Rgba));
        let p = decode_file("derived_TwoWings.webp", THUMB);
        assert_eq!((p.width, p.height, p.layout), (2560, 1600, Layout::Rgb));
    }

    #[test]
    fn cmyk_jpegs_fall_back_to_the_rust_decoder() {
        let cmyk = turbojpeg::Image {
            pixels: &[0u8, 255, 255, 0].repeat(64)[..],
            width: 8,
            pitch: 32,
            height: 8,
            format: PixelFormat::CMYK,
        };
        let mut c = turbojpeg::Compressor::new().unwrap();
        c.set_subsamp(turbojpeg::Subsamp::None).unwrap();
        let bytes = c.compress_to_vec(cmyk).unwrap();
        let p = decode(&Source::bytes(&bytes), &probe(&bytes, LIMITS).unwrap(), THUMB).unwrap();
        assert_eq!((p.width, p.height, p.layout), (8, 8, Layout::Rgb));
    }

    #[test]
    fn a_truncated_jpeg_is_an_error() {
        let bytes = corpus("mate_Aqua.jpg");
        let cut = &bytes[..bytes.len() / 2];
        let err = decode(&Source::bytes(cut), &probe(cut, LIMITS).unwrap(), THUMB).unwrap_err();
        assert!(matches!(err, MediaError::Corrupt(_)), "{err}");
    }
}
