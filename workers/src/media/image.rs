//! Still images: read the dimensions from the header before any decode,
//! refuse what exceeds the pixel limit, then decode once (with allocation
//! limits) and render Chevereto's derivatives from that one decode:
//! a 160×160 thumb cropped to fill, and a 500 px wide medium only when the
//! image is wider. Opaque results are JPEG; results with alpha are PNG.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageEncoder, ImageReader, Limits};

use super::{MediaError, Rendered};

pub const THUMB_SIZE: u32 = 160;
pub const MEDIUM_WIDTH: u32 = 500;
const JPEG_QUALITY: u8 = 85;

/// Facts read from an image and the derivatives made from it.
#[derive(Debug)]
pub struct ImageOutput {
    pub width: u32,
    pub height: u32,
    pub thumb: Rendered,
    pub medium: Option<Rendered>,
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, MediaError> {
    ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| MediaError::Corrupt(e.to_string()))
}

/// Width and height from the header alone; no pixel is decoded.
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), MediaError> {
    reader(bytes)?.into_dimensions().map_err(|e| MediaError::Corrupt(e.to_string()))
}

/// Probes, checks against `max_pixels`, decodes and renders.
pub fn process(bytes: &[u8], max_pixels: u64) -> Result<ImageOutput, MediaError> {
    let (width, height) = dimensions(bytes)?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 {
        return Err(MediaError::Corrupt("the image has no pixels".into()));
    }
    if pixels > max_pixels {
        return Err(MediaError::OverLimit(format!(
            "the image is {width}×{height} ({pixels} pixels), more than the limit of {max_pixels} pixels"
        )));
    }
    let mut reader = reader(bytes)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // Room for the decoded image at 16 bits per channel RGBA, no more.
    limits.max_alloc = Some(pixels.saturating_mul(8).saturating_add(64 * 1024 * 1024));
    reader.limits(limits);
    let img = reader.decode().map_err(|e| MediaError::Corrupt(e.to_string()))?;
    Ok(ImageOutput { width, height, thumb: thumb(&img)?, medium: medium(&img)? })
}

/// The 160×160 thumb, cropped to fill around the centre.
fn thumb(img: &DynamicImage) -> Result<Rendered, MediaError> {
    let (w, h) = (img.width(), img.height());
    let side = w.min(h);
    let square = img.crop_imm((w - side) / 2, (h - side) / 2, side, side);
    let size = THUMB_SIZE.min(side);
    encode(&square.resize_exact(size, size, FilterType::Triangle))
}

/// 500 px wide, height following the ratio; only for wider images.
fn medium(img: &DynamicImage) -> Result<Option<Rendered>, MediaError> {
    if img.width() <= MEDIUM_WIDTH {
        return Ok(None);
    }
    let height = (u64::from(img.height()) * u64::from(MEDIUM_WIDTH) / u64::from(img.width())).max(1);
    let height = u32::try_from(height).unwrap_or(u32::MAX);
    encode(&img.resize_exact(MEDIUM_WIDTH, height, FilterType::Triangle)).map(Some)
}

/// JPEG for opaque images, PNG where there is alpha.
pub fn encode(img: &DynamicImage) -> Result<Rendered, MediaError> {
    let mut bytes = Vec::new();
    let (width, height) = (img.width(), img.height());
    let failed = |e: image::ImageError| MediaError::Corrupt(format!("encoding a derivative failed: {e}"));
    if img.color().has_alpha() {
        let rgba = img.to_rgba8();
        PngEncoder::new(&mut bytes).write_image(&rgba, width, height, image::ExtendedColorType::Rgba8).map_err(failed)?;
        return Ok(Rendered { bytes, mime: "image/png", extension: "png", width, height });
    }
    let rgb = img.to_rgb8();
    JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY).write_image(&rgb, width, height, image::ExtendedColorType::Rgb8).map_err(failed)?;
    Ok(Rendered { bytes, mime: "image/jpeg", extension: "jpg", width, height })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn corpus(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus").join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn jpeg_gets_a_square_thumb_and_a_medium() {
        let out = process(&corpus("skimage_chelsea.png"), 100_000_000).unwrap();
        assert_eq!((out.width, out.height), (451, 300));
        assert_eq!((out.thumb.width, out.thumb.height), (160, 160));
        assert!(out.medium.is_none(), "451 px is not wider than 500");

        let out = process(&corpus("mate_Aqua.jpg"), 100_000_000).unwrap();
        assert_eq!(out.thumb.mime, "image/jpeg");
        let medium = out.medium.unwrap();
        assert_eq!(medium.width, 500);
        assert_eq!(image::load_from_memory(&medium.bytes).unwrap().width(), 500);
    }

    #[test]
    fn alpha_stays_alpha() {
        let out = process(&corpus("skimage_logo_alpha.png"), 100_000_000).unwrap();
        assert_eq!(out.thumb.mime, "image/png");
        assert!(image::load_from_memory(&out.thumb.bytes).unwrap().color().has_alpha());
    }

    #[test]
    fn pixel_limit_is_checked_before_decoding() {
        let err = process(&corpus("kde_Altai_5120.png"), 1_000_000).unwrap_err();
        assert!(matches!(err, MediaError::OverLimit(_)), "{err}");
        assert!(err.to_string().contains("5120×2880"), "{err}");
    }

    #[test]
    fn garbage_and_truncation_fail_cleanly() {
        assert!(process(b"definitely not an image", 1_000_000).is_err());
        let jpeg = corpus("skimage_rocket.jpg");
        assert!(process(&jpeg[..200], 100_000_000).is_err());
    }
}
