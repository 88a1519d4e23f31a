//! Thumbnails by size (`GET /api/v1/files/{id}/thumb?size=WxH`): the same
//! pipeline as the job's derivatives — probe and limits, EXIF orientation,
//! one shrink-on-load decode no larger than the output needs, SIMD resize,
//! libjpeg-turbo / PNG encode — for one requested size and format.
//!
//! Without `crop` the image fits inside W×H keeping its aspect ratio and
//! is never enlarged; with `crop` it fills exactly W×H, cut around the
//! centre. The default format is JPEG, or PNG when the image has
//! transparent pixels (so transparency survives; an alpha channel whose
//! every pixel is opaque has nothing to keep, as for the job's
//! derivatives); WebP is lossless (the `image` crate's encoder) and keeps
//! transparency too.

use mediaq_shared::thumbs::{ThumbFormat, ThumbSpec};

use super::decode::{self, Need};
use super::image::JPEG_QUALITY;
use super::probe::{self, Format, Limits};
use super::resize::{self, Fit};
use super::source::Source;
use super::{MediaError, Rendered, encode, exif, icc};

/// Renders `spec` from the image at `src` (probed against `limits` first).
pub fn render(src: &Source<'_>, limits: Limits, spec: ThumbSpec) -> Result<Rendered, MediaError> {
    let probe = probe::probe_source(src, limits)?;
    if probe.format == Format::Jpeg && src.has_file() {
        let primary = decode::jpeg_data(src, &probe)?;
        return draw(&Source::jpeg_primary(&primary, src.len()), &probe, spec);
    }
    draw(src, &probe, spec)
}

/// The upright output size for an upright source of `(w, h)`.
pub fn output_size((w, h): (u32, u32), spec: ThumbSpec) -> (u32, u32) {
    if spec.crop {
        return (spec.width, spec.height);
    }
    let scale = (f64::from(spec.width) / f64::from(w)).min(f64::from(spec.height) / f64::from(h)).min(1.0);
    let side = |v: u32, max: u32| {
        let scaled = (f64::from(v) * scale).round();
        // In range: scale ≤ 1, so the result is at most `v`.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let scaled = scaled as u32;
        scaled.clamp(1, max)
    };
    (side(w, spec.width), side(h, spec.height))
}

fn draw(src: &Source<'_>, probe: &probe::Probe, spec: ThumbSpec) -> Result<Rendered, MediaError> {
    let o = exif::read_source(src, probe.format, false).orientation;
    let icc = icc::profile(src.head(), probe.format);
    let upright = o.apply_to_size((probe.width, probe.height));
    let (w, h) = o.apply_to_size(output_size(upright, spec));
    let mut pixels = decode::decode(src, probe, Need { width: w, height: h })?;
    let transparent = pixels.has_transparency();
    if transparent {
        resize::premultiply(&mut pixels)?;
    }
    let fit = if spec.crop { Fit::Cover } else { Fit::Stretch };
    let out = resize::orient(resize::resize(&pixels, w, h, fit, transparent)?, o);
    drop(pixels);
    let format = spec.format.unwrap_or(if transparent { ThumbFormat::Png } else { ThumbFormat::Jpeg });
    match format {
        ThumbFormat::Jpeg => encode::jpeg(&out, JPEG_QUALITY, icc.as_deref()),
        ThumbFormat::Png => encode::png(&out, icc.as_deref()),
        ThumbFormat::Webp => encode::webp(&out),
    }
}

/// [`render`] of a file held in memory.
pub fn render_bytes(bytes: &[u8], limits: Limits, spec: ThumbSpec) -> Result<Rendered, MediaError> {
    render(&Source::bytes(bytes), limits, spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::corpus;

    const LIMITS: Limits = Limits { max_pixels: 100_000_000, max_frames: 1000 };

    fn spec(width: u32, height: u32, crop: bool, format: Option<ThumbFormat>) -> ThumbSpec {
        ThumbSpec { width, height, crop, format }
    }

    fn check(r: &Rendered, format: ::image::ImageFormat) -> ::image::DynamicImage {
        assert_eq!(::image::guess_format(&r.bytes).unwrap(), format);
        let img = ::image::load_from_memory(&r.bytes).unwrap();
        assert_eq!((img.width(), img.height()), (r.width, r.height));
        img
    }

    #[test]
    fn fit_keeps_the_ratio_crop_fills_and_small_images_are_not_enlarged() {
        let photo = corpus("mate_Aqua.jpg"); // 2560×1600
        let r = render_bytes(&photo, LIMITS, spec(300, 300, false, None)).unwrap();
        assert_eq!((r.width, r.height), (300, 188));
        check(&r, ::image::ImageFormat::Jpeg);
        let r = render_bytes(&photo, LIMITS, spec(120, 90, true, Some(ThumbFormat::Png))).unwrap();
        assert_eq!((r.width, r.height), (120, 90));
        check(&r, ::image::ImageFormat::Png);
        let r = render_bytes(&photo, LIMITS, spec(64, 48, false, Some(ThumbFormat::Webp))).unwrap();
        check(&r, ::image::ImageFormat::WebP);
        let cat = corpus("skimage_chelsea.png"); // 451×300
        let r = render_bytes(&cat, LIMITS, spec(2048, 2048, false, None)).unwrap();
        assert_eq!((r.width, r.height), (451, 300));
    }

    #[test]
    fn transparency_defaults_to_png() {
        // Transparent pixels: PNG by default, WebP keeps them too.
        let patak = corpus("kde_Patak_1080_alpha.png");
        let r = render_bytes(&patak, LIMITS, spec(100, 100, false, None)).unwrap();
        assert_eq!(r.mime, "image/png");
        assert!(check(&r, ::image::ImageFormat::Png).color().has_alpha());
        let r = render_bytes(&patak, LIMITS, spec(100, 100, false, Some(ThumbFormat::Webp))).unwrap();
        assert!(check(&r, ::image::ImageFormat::WebP).color().has_alpha());
        // An alpha channel whose every pixel is opaque: nothing to keep.
        let opaque = render_bytes(&corpus("skimage_logo_alpha.png"), LIMITS, spec(100, 100, false, None)).unwrap();
        assert_eq!(opaque.mime, "image/jpeg");
    }
}
