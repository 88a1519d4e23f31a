//! Images as Chevereto makes them: probe the headers and refuse what is
//! over the limits, read the EXIF, decode once — no larger than the
//! largest output needs — and render from that one decode the 160×160
//! thumb (cropped to fill), the 500 px wide medium (only for wider
//! images) and, when asked, a resized or metadata-stripped replacement of
//! the stored original.
//!
//! Sizes are as seen: EXIF orientation is applied to every derivative and
//! to a resized original, and the reported width and height are upright.
//! Opaque outputs are JPEG; outputs with transparency are PNG; both carry
//! the upload's colour profile unless it is sRGB.

use std::io::Write;

use tempfile::NamedTempFile;

use super::decode::{self, Need, Pixels};
use super::probe::{self, Format, Limits, Probe};
use super::resize::{self, Fit, Orientation};
use super::source::{Source, io};
use super::{MediaError, Rendered, encode, exif, icc, strip};

pub use super::container::JpegEnd;
pub use super::decode::{jpeg_byte_cap, jpeg_too_large};

pub const THUMB_SIZE: u32 = 160;
pub const MEDIUM_WIDTH: u32 = 500;
/// JPEG quality of thumbs and mediums.
pub const JPEG_QUALITY: u8 = 85;
/// JPEG quality of a resized original: it replaces the upload, so it is
/// kept closer to it than the derivatives.
pub const STORED_JPEG_QUALITY: u8 = 90;
/// A sensible default for [`ImageOptions::max_frames`].
pub const DEFAULT_MAX_FRAMES: u32 = 5000;

/// What the caller allows and asks for.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// Refuse images (or GIF frames) with more pixels than this, from the
    /// header, before decoding.
    pub max_pixels: u64,
    /// Refuse animations with more frames than this; counting stops there.
    pub max_frames: u32,
    /// Chevereto's `width`: the stored image is resized to this width
    /// (height following), only ever down and never for animations.
    pub resize_width: Option<u32>,
    /// Store the original without EXIF/XMP/IPTC (GPS included), keeping
    /// only its orientation; the reported EXIF then leaves out GPS tags.
    pub strip_exif: bool,
}

/// Facts read from an image and the files made from it.
#[derive(Debug)]
pub struct ImageOutput {
    /// Upright size of the image as stored after this run (after a resize).
    pub width: u32,
    pub height: u32,
    /// MIME type of the image as stored after this run (the upload's,
    /// from its magic bytes, or the replacement's).
    pub mime: &'static str,
    /// Frames of an animation; 1 for a still image.
    pub frames: u32,
    pub is_animated: bool,
    /// EXIF as Chevereto's `original_exifdata` (tag name → value).
    pub exif: Option<serde_json::Value>,
    /// New bytes for the stored original (resized and/or stripped); `None`
    /// keeps the upload as it is. A resized original is re-encoded with
    /// its orientation applied and carries no metadata.
    pub replacement: Option<Replacement>,
    pub thumb: Rendered,
    pub medium: Option<Rendered>,
}

/// A new stored original, in a temporary file (it may be as large as the
/// upload).
#[derive(Debug)]
pub struct Replacement {
    pub file: NamedTempFile,
    pub mime: &'static str,
    pub extension: &'static str,
    pub width: u32,
    pub height: u32,
}

impl Replacement {
    fn from_rendered(r: &Rendered) -> Result<Self, MediaError> {
        let mut file = NamedTempFile::new().map_err(io)?;
        file.write_all(&r.bytes).and_then(|()| file.as_file().sync_data()).map_err(io)?;
        Ok(Self { file, mime: r.mime, extension: r.extension, width: r.width, height: r.height })
    }
}

/// The outputs to render, as upright sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    thumb: u32,
    medium: Option<(u32, u32)>,
    resized: Option<(u32, u32)>,
}

/// `height * width / of`, rounded, at least 1.
fn scale(height: u32, width: u32, of: u32) -> u32 {
    let h = (u64::from(height) * u64::from(width) + u64::from(of) / 2) / u64::from(of).max(1);
    u32::try_from(h).unwrap_or(u32::MAX).max(1)
}

impl Plan {
    fn new((w, h): (u32, u32), resize_width: Option<u32>, animated: bool) -> Self {
        let resized = resize_width.filter(|&rw| rw > 0 && rw < w && !animated).map(|rw| (rw, scale(h, rw, w)));
        let (sw, sh) = resized.unwrap_or((w, h));
        let medium = (sw > MEDIUM_WIDTH).then(|| (MEDIUM_WIDTH, scale(sh, MEDIUM_WIDTH, sw)));
        Self { thumb: THUMB_SIZE.min(sw).min(sh), medium, resized }
    }

    /// The smallest decode (in stored orientation) that covers every output.
    fn need(&self, o: Orientation) -> Need {
        let (mut width, mut height) = (self.thumb, self.thumb);
        for (w, h) in [self.medium, self.resized].into_iter().flatten() {
            let (w, h) = o.apply_to_size((w, h));
            (width, height) = (width.max(w), height.max(h));
        }
        Need { width, height }
    }
}

/// Probes, checks the limits, reads the EXIF, decodes once and renders.
/// A JPEG read from a file is first read up to its EOI (bounded by
/// [`jpeg_byte_cap`]); everything else is read through the source's reader.
pub fn process(src: &Source<'_>, opts: &ImageOptions) -> Result<ImageOutput, MediaError> {
    let probe = probe::probe_source(src, Limits { max_pixels: opts.max_pixels, max_frames: opts.max_frames })?;
    if probe.format == Format::Jpeg && src.has_file() {
        let primary = decode::jpeg_data(src, &probe)?;
        return render(&Source::jpeg_primary(&primary, src.len()), &probe, opts);
    }
    render(src, &probe, opts)
}

/// [`process`] of a file held in memory.
pub fn process_bytes(bytes: &[u8], opts: &ImageOptions) -> Result<ImageOutput, MediaError> {
    process(&Source::bytes(bytes), opts)
}

fn render(src: &Source<'_>, probe: &Probe, opts: &ImageOptions) -> Result<ImageOutput, MediaError> {
    let exif = exif::read_source(src, probe.format, !opts.strip_exif);
    let icc = icc::profile(src.head(), probe.format);
    let icc = icc.as_deref();
    let o = exif.orientation;
    let upright = o.apply_to_size((probe.width, probe.height));
    let plan = Plan::new(upright, opts.resize_width, probe.is_animated());
    let mut pixels = decode::decode(src, probe, plan.need(o))?;
    let transparent = pixels.has_transparency();
    if transparent {
        resize::premultiply(&mut pixels)?;
    }
    let draw = |(w, h): (u32, u32), fit: Fit| -> Result<Pixels, MediaError> {
        let (rw, rh) = o.apply_to_size((w, h));
        Ok(resize::orient(resize::resize(&pixels, rw, rh, fit, transparent)?, o))
    };
    let derivative = |p: Pixels| if transparent { encode::png(&p, icc) } else { encode::jpeg(&p, JPEG_QUALITY, icc) };
    // The thumb is drawn and encoded on a second core while this one makes
    // the medium and the resized original from the same decode.
    let (thumb, medium, resized) = std::thread::scope(|scope| {
        let thumb = scope.spawn(|| derivative(draw((plan.thumb, plan.thumb), Fit::Cover)?));
        let medium = plan.medium.map(|size| draw(size, Fit::Stretch).and_then(derivative)).transpose();
        let resized = plan.resized.map(|size| draw(size, Fit::Stretch)).transpose();
        // A panic goes on up, as it would have on this thread.
        let thumb = thumb.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (thumb, medium, resized)
    });
    let (thumb, medium, resized) = (thumb?, medium?, resized?);
    // The full decode is no longer needed: free it before encoding.
    drop(pixels);
    let replacement = match resized {
        Some(p) => Some(Replacement::from_rendered(&stored(&p, probe, transparent, icc)?)?),
        None if opts.strip_exif => stripped(src, probe, o)?,
        None => None,
    };
    let (width, height) = plan.resized.unwrap_or(upright);
    Ok(ImageOutput {
        width,
        height,
        mime: replacement.as_ref().map_or(mime(probe.format), |r| r.mime),
        frames: probe.frames,
        is_animated: probe.is_animated(),
        exif: exif.json,
        replacement,
        thumb,
        medium,
    })
}

/// A resized original: PNG where there is transparency or the upload was
/// lossless (PNG, GIF, BMP, lossless WebP), JPEG otherwise.
fn stored(p: &Pixels, probe: &Probe, transparent: bool, icc: Option<&[u8]>) -> Result<Rendered, MediaError> {
    if transparent || probe.lossless { encode::png(p, icc) } else { encode::jpeg(p, STORED_JPEG_QUALITY, icc) }
}

fn stripped(src: &Source<'_>, probe: &Probe, o: Orientation) -> Result<Option<Replacement>, MediaError> {
    let Some(file) = strip::strip(src, probe.format, o)? else { return Ok(None) };
    let (mime, extension) = (mime(probe.format), extension(probe.format));
    let (width, height) = o.apply_to_size((probe.width, probe.height));
    Ok(Some(Replacement { file, mime, extension, width, height }))
}

pub fn mime(format: Format) -> &'static str {
    match format {
        Format::Jpeg => "image/jpeg",
        Format::Png => "image/png",
        Format::Gif => "image/gif",
        Format::Webp => "image/webp",
        Format::Bmp => "image/bmp",
    }
}

pub fn extension(format: Format) -> &'static str {
    match format {
        Format::Jpeg => "jpg",
        Format::Png => "png",
        Format::Gif => "gif",
        Format::Webp => "webp",
        Format::Bmp => "bmp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::{corpus, is_red, jpeg_with_exif, quadrant, test_exif};

    fn opts() -> ImageOptions {
        ImageOptions { max_pixels: 100_000_000, max_frames: 1000, resize_width: None, strip_exif: false }
    }

    fn process(bytes: &[u8], opts: &ImageOptions) -> Result<ImageOutput, MediaError> {
        process_bytes(bytes, opts)
    }

    fn decoded(r: &Rendered) -> ::image::DynamicImage {
        let img = ::image::load_from_memory(&r.bytes).unwrap();
        assert_eq!((img.width(), img.height()), (r.width, r.height), "{}", r.mime);
        img
    }

    /// A replacement read back as a rendered file.
    fn read_back(r: &Replacement) -> Rendered {
        let bytes = std::fs::read(r.file.path()).unwrap();
        Rendered { bytes, mime: r.mime, extension: r.extension, width: r.width, height: r.height }
    }

    #[test]
    fn a_photo_gets_a_square_jpeg_thumb_and_a_500px_medium() {
        let out = process(&corpus("mate_Aqua.jpg"), &opts()).unwrap();
        assert_eq!(
            (out.width, out.height, out.mime, out.frames, out.is_animated),
            (2560, 1600, "image/jpeg", 1, false)
        );
        assert_eq!((out.thumb.mime, out.thumb.width, out.thumb.height), ("image/jpeg", 160, 160));
        decoded(&out.thumb);
        let medium = out.medium.unwrap();
        assert_eq!((medium.width, medium.height), (500, 313));
        decoded(&medium);
        assert!(out.replacement.is_none());
    }

    #[test]
    fn no_medium_for_images_up_to_500px_wide() {
        let out = process(&corpus("skimage_chelsea.png"), &opts()).unwrap();
        assert_eq!((out.width, out.height), (451, 300));
        assert_eq!((out.thumb.width, out.thumb.height, out.thumb.mime), (160, 160, "image/jpeg"));
        assert!(out.medium.is_none());
    }

    #[test]
    fn transparency_stays_png_with_alpha() {
        let out = process(&corpus("kde_Patak_1080_alpha.png"), &opts()).unwrap();
        assert_eq!(out.thumb.mime, "image/png");
        assert!(decoded(&out.thumb).color().has_alpha());
        let medium = out.medium.unwrap();
        assert_eq!((medium.mime, medium.width, medium.height), ("image/png", 500, 889));
        assert!(decoded(&medium).color().has_alpha());
    }

    #[test]
    fn width_resizes_the_stored_image_down_only() {
        let o = ImageOptions { resize_width: Some(1000), ..opts() };
        let out = process(&corpus("mate_Aqua.jpg"), &o).unwrap();
        let stored = read_back(&out.replacement.unwrap());
        assert_eq!((out.width, out.height, stored.width, stored.height), (1000, 625, 1000, 625));
        assert_eq!(stored.mime, "image/jpeg");
        decoded(&stored);
        assert_eq!(out.medium.map(|m| (m.width, m.height)), Some((500, 313)));

        let o = ImageOptions { resize_width: Some(400), ..opts() };
        let out = process(&corpus("skimage_logo_alpha.png"), &o).unwrap();
        let stored = read_back(&out.replacement.unwrap());
        assert_eq!((stored.mime, stored.width, stored.height), ("image/png", 400, 400));
        assert!(out.medium.is_none(), "the stored image is no longer wider than 500");

        let o = ImageOptions { resize_width: Some(5000), ..opts() };
        let out = process(&corpus("mate_Aqua.jpg"), &o).unwrap();
        assert!(out.replacement.is_none() && out.width == 2560);
    }

    #[test]
    fn animations_keep_their_original_and_get_a_still_thumb() {
        let o = ImageOptions { resize_width: Some(200), ..opts() };
        let out = process(&corpus("derived_Path_anim.gif"), &o).unwrap();
        assert_eq!((out.frames, out.is_animated, out.width, out.height), (24, true, 480, 300));
        assert!(out.replacement.is_none(), "animations are never resized");
        assert_eq!((out.thumb.width, out.thumb.height), (160, 160));
        decoded(&out.thumb);
        let o = ImageOptions { max_frames: 10, ..opts() };
        let err = process(&corpus("derived_Path_anim.gif"), &o).unwrap_err();
        assert!(matches!(err, MediaError::OverLimit(_)), "{err}");
    }

    #[test]
    fn webp_and_bmp_are_handled() {
        let out = process(&corpus("derived_TwoWings.webp"), &opts()).unwrap();
        assert_eq!((out.width, out.height, out.mime), (2560, 1600, "image/webp"));
        decoded(&out.medium.unwrap());
        let q = quadrant(300, 200);
        let mut bmp = std::io::Cursor::new(Vec::new());
        ::image::RgbImage::from_raw(300, 200, q.data).unwrap().write_to(&mut bmp, ::image::ImageFormat::Bmp).unwrap();
        let out = process(bmp.get_ref(), &opts()).unwrap();
        assert_eq!((out.width, out.height, out.mime, out.thumb.width), (300, 200, "image/bmp", 160));
    }

    #[test]
    fn a_wide_gamut_profile_travels_to_the_derivatives() {
        let rocket = corpus("skimage_rocket.jpg");
        let adobe_rgb = icc::profile(&rocket, Format::Jpeg).unwrap();
        let out = process(&rocket, &opts()).unwrap();
        assert_eq!(icc::profile(&out.thumb.bytes, Format::Jpeg).as_ref(), Some(&adobe_rgb));
        assert_eq!(icc::profile(&out.medium.unwrap().bytes, Format::Jpeg), Some(adobe_rgb.clone()));
        let png = encode::png(&quadrant(8, 8), Some(&adobe_rgb)).unwrap();
        assert_eq!(icc::profile(&png.bytes, Format::Png), Some(adobe_rgb));
    }

    /// A 1200×800 JPEG stored on its side: EXIF 6 turns it 90° clockwise,
    /// so its red top-left quadrant is seen at the top right.
    fn sideways_jpeg(gps: bool) -> Vec<u8> {
        let jpeg = encode::jpeg(&quadrant(1200, 800), 90, None).unwrap().bytes;
        let with_exif = jpeg_with_exif(&test_exif(6, gps));
        // Swap the small fixture's image data for the large one, keeping the APP1.
        let app1_end = 4 + usize::from(u16::from_be_bytes([with_exif[4], with_exif[5]]));
        [&with_exif[..app1_end], &jpeg[2..]].concat()
    }

    #[test]
    fn exif_orientation_is_applied_to_sizes_and_derivatives() {
        let out = process(&sideways_jpeg(false), &opts()).unwrap();
        assert_eq!((out.width, out.height), (800, 1200));
        let medium = decoded(out.medium.as_ref().unwrap()).to_rgb8();
        assert_eq!(medium.dimensions(), (500, 750));
        assert!(is_red(&medium.get_pixel(450, 50).0) && !is_red(&medium.get_pixel(50, 50).0));
        let thumb = decoded(&out.thumb).to_rgb8();
        assert!(is_red(&thumb.get_pixel(150, 10).0) && !is_red(&thumb.get_pixel(10, 10).0));

        let o = ImageOptions { resize_width: Some(400), ..opts() };
        let out = process(&sideways_jpeg(false), &o).unwrap();
        let stored = decoded(&read_back(&out.replacement.unwrap())).to_rgb8();
        assert_eq!(stored.dimensions(), (400, 600));
        assert!(is_red(&stored.get_pixel(390, 10).0));
    }

    #[test]
    fn strip_exif_drops_gps_from_the_file_and_the_json() {
        let jpeg = sideways_jpeg(true);
        let out = process(&jpeg, &opts()).unwrap();
        assert!(out.exif.unwrap().get("GPSLatitude").is_some());
        let out = process(&jpeg, &ImageOptions { strip_exif: true, ..opts() }).unwrap();
        let json = out.exif.unwrap();
        assert!(json.get("GPSLatitude").is_none() && json["Orientation"] == 6, "{json}");
        let stored = read_back(&out.replacement.unwrap());
        assert_eq!((stored.mime, stored.width, stored.height), ("image/jpeg", 800, 1200));
        let again = exif::read(&stored.bytes, Format::Jpeg, true);
        assert_eq!(again.orientation, Orientation::from_exif(6), "still displays upright");
        assert!(again.json.unwrap().get("GPSLatitude").is_none());
    }

    fn png_with_ihdr(width: u32, height: u32) -> Vec<u8> {
        let mut png = corpus("skimage_chelsea.png");
        png[16..20].copy_from_slice(&width.to_be_bytes());
        png[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32fast::hash(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        png
    }

    #[test]
    fn hostile_files_fail_cleanly() {
        let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert!(matches!(process(&random, &opts()), Err(MediaError::Unsupported(_))));
        let jpeg = corpus("skimage_rocket.jpg");
        for cut in [3, 200, jpeg.len() / 3] {
            assert!(process(&jpeg[..cut], &opts()).is_err(), "JPEG cut at {cut}");
        }
        let err = process(&png_with_ihdr(60_000, 60_000), &opts()).unwrap_err();
        assert!(matches!(err, MediaError::OverLimit(_)) && err.to_string().contains("60000×60000"), "{err}");
        // Header lies both ways: data for 451×300 under a header of 100×100 or of 9000×9000.
        for (w, h) in [(100, 100), (9000, 9000)] {
            match process(&png_with_ihdr(w, h), &opts()) {
                Ok(out) => assert_eq!((out.width, out.height), (w, h)),
                Err(e) => assert!(matches!(e, MediaError::Corrupt(_)), "{e}"),
            }
        }
        let mut junk_jpeg = jpeg;
        junk_jpeg.truncate(600);
        junk_jpeg.extend(std::iter::repeat_n(0x5A, 4000));
        assert!(process(&junk_jpeg, &opts()).is_err());
    }

    /// Corpus files with bytes overwritten, bits flipped or cut short: each
    /// either processes or fails with an error, never a panic.
    #[test]
    fn mutated_files_never_panic() {
        let inputs: Vec<Vec<u8>> =
            ["skimage_rocket.jpg", "skimage_chelsea.png", "derived_TwoWings.webp", "skimage_camera.png"]
                .into_iter()
                .map(corpus)
                .collect();
        let o = ImageOptions { resize_width: Some(300), strip_exif: true, ..opts() };
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..200 {
            let mut b = inputs[i % inputs.len()].clone();
            let len = b.len() as u64;
            match next() % 3 {
                0 => (0..1 + next() % 8).for_each(|_| b[(next() % len.min(2000)) as usize] = next() as u8),
                1 => (0..1 + next() % 20).for_each(|_| b[(next() % len) as usize] ^= 1 << (next() % 8)),
                _ => b.truncate((next() % len) as usize),
            }
            let _ = std::panic::catch_unwind(|| process(&b, &o)).unwrap_or_else(|_| panic!("mutation {i} panicked"));
        }
    }
}
