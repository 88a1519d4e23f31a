//! Encoding outputs: JPEG through libjpeg-turbo for opaque images, PNG
//! (the `png` crate) where transparency must survive, each with the
//! source's ICC profile when it has one worth keeping (see `icc`). The
//! choice between them is the caller's; this module only writes bytes.

use turbojpeg::{Compressor, PixelFormat, Subsamp};

use super::decode::{Layout, Pixels};
use super::{MediaError, Rendered};

fn failed(e: impl std::fmt::Display) -> MediaError {
    MediaError::Corrupt(format!("encoding failed: {e}"))
}

/// Encodes `p` as a baseline JPEG at `quality` (alpha, if any, is
/// ignored), with Huffman tables optimised for the image: a little more
/// work for noticeably smaller files.
pub fn jpeg(p: &Pixels, quality: u8, icc: Option<&[u8]>) -> Result<Rendered, MediaError> {
    let gray_only;
    let (pixels, format) = match p.layout {
        Layout::Gray => (&p.data[..], PixelFormat::GRAY),
        Layout::Rgb => (&p.data[..], PixelFormat::RGB),
        Layout::Rgba => (&p.data[..], PixelFormat::RGBX),
        // libjpeg-turbo has no grey+alpha input: keep the grey samples.
        Layout::GrayAlpha => {
            gray_only = p.data.iter().step_by(2).copied().collect::<Vec<u8>>();
            (&gray_only[..], PixelFormat::GRAY)
        }
    };
    let mut c = Compressor::new().map_err(failed)?;
    c.set_quality(i32::from(quality)).map_err(failed)?;
    let gray = format == PixelFormat::GRAY;
    c.set_subsamp(if gray { Subsamp::Gray } else { Subsamp::Sub2x2 }).map_err(failed)?;
    c.set_optimize(true).map_err(failed)?;
    let width = p.width as usize;
    let image = turbojpeg::Image { pixels, width, pitch: width * format.size(), height: p.height as usize, format };
    let mut bytes = c.compress_to_vec(image).map_err(failed)?;
    if let Some(icc) = icc {
        bytes = super::icc::into_jpeg(bytes, icc);
    }
    Ok(Rendered { bytes, mime: "image/jpeg", extension: "jpg", width: p.width, height: p.height })
}

/// Encodes `p` as an 8-bit PNG in its own layout. `Fast` is fdeflate's
/// PNG-tuned mode: several times quicker than zlib level 6 for files a
/// few per cent larger.
pub fn png(p: &Pixels, icc: Option<&[u8]>) -> Result<Rendered, MediaError> {
    let mut bytes = Vec::new();
    let mut info = png::Info::with_size(p.width, p.height);
    info.color_type = match p.layout {
        Layout::Gray => png::ColorType::Grayscale,
        Layout::GrayAlpha => png::ColorType::GrayscaleAlpha,
        Layout::Rgb => png::ColorType::Rgb,
        Layout::Rgba => png::ColorType::Rgba,
    };
    info.bit_depth = png::BitDepth::Eight;
    info.icc_profile = icc.map(std::borrow::Cow::Borrowed);
    let mut e = png::Encoder::with_info(&mut bytes, info).map_err(failed)?;
    e.set_compression(png::Compression::Fast);
    let mut w = e.write_header().map_err(failed)?;
    w.write_image_data(&p.data).map_err(failed)?;
    w.finish().map_err(failed)?;
    Ok(Rendered { bytes, mime: "image/png", extension: "png", width: p.width, height: p.height })
}

/// Encodes `p` as a lossless WebP (the `image` crate's encoder; no ICC
/// profile is written).
pub fn webp(p: &Pixels) -> Result<Rendered, MediaError> {
    use image::ExtendedColorType;
    let color = match p.layout {
        Layout::Gray => ExtendedColorType::L8,
        Layout::GrayAlpha => ExtendedColorType::La8,
        Layout::Rgb => ExtendedColorType::Rgb8,
        Layout::Rgba => ExtendedColorType::Rgba8,
    };
    let mut bytes = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut bytes)
        .encode(&p.data, p.width, p.height, color)
        .map_err(failed)?;
    Ok(Rendered { bytes, mime: "image/webp", extension: "webp", width: p.width, height: p.height })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_encoders_round_trip_sizes_and_alpha() {
        let rgba = Pixels { width: 7, height: 3, layout: Layout::Rgba, data: [9, 99, 199, 50].repeat(21) };
        let out = png(&rgba, None).unwrap();
        let back = image::load_from_memory(&out.bytes).unwrap();
        assert_eq!((back.width(), back.height(), back.color()), (7, 3, image::ColorType::Rgba8));
        let out = jpeg(&rgba, 85, None).unwrap();
        assert_eq!((out.mime, out.extension), ("image/jpeg", "jpg"));
        assert_eq!(image::load_from_memory(&out.bytes).unwrap().width(), 7);
        let ga = Pixels { width: 2, height: 2, layout: Layout::GrayAlpha, data: vec![1, 255, 2, 255, 3, 255, 4, 255] };
        let back = image::load_from_memory(&jpeg(&ga, 85, None).unwrap().bytes).unwrap();
        assert_eq!(back.color(), image::ColorType::L8);
    }
}
