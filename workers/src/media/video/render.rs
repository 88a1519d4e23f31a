//! Turning the decoded frame into the still a person sees: converted to
//! RGB with the frame's own colour matrix and range, stretched by its pixel
//! aspect, turned upright, and encoded as JPEG.

use ::image::ExtendedColorType;
use ::image::codecs::jpeg::JpegEncoder;
use ffmpeg::format::Pixel;
use ffmpeg::{Rational, filter, frame};
use ffmpeg_next as ffmpeg;

use super::probe::{Facts, display_size};
use crate::media::{MediaError, Rendered};

const JPEG_QUALITY: u8 = 85;

/// Renders `frame` upright at its display size as a JPEG.
pub(super) fn still(frame: &frame::Video, facts: &Facts) -> Result<Rendered, MediaError> {
    let rgb = to_rgb(frame, facts)
        .map_err(|e| MediaError::Corrupt(format!("the video frame could not be converted: {e}")))?;
    let (width, height) = (rgb.width(), rgb.height());
    let pixels = tight_rows(&rgb);
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
        .encode(&pixels, width, height, ExtendedColorType::Rgb8)
        .map_err(|e| MediaError::Unsupported(format!("the video frame cannot be stored as JPEG: {e}")))?;
    Ok(Rendered { bytes, mime: "image/jpeg", extension: "jpg", width, height })
}

/// Runs the frame through FFmpeg's scale (and transpose) filters, which
/// pick up the frame's colour matrix and range as the ffmpeg CLI does.
fn to_rgb(frame: &frame::Video, facts: &Facts) -> Result<frame::Video, ffmpeg::Error> {
    let format = frame.format().descriptor().ok_or(ffmpeg::Error::InvalidData)?.name();
    let (w, h) = display_size(frame.width(), frame.height(), sample_aspect(frame, facts));
    let turn = match facts.quarter_turns {
        1 => "transpose=clock,",
        2 => "hflip,vflip,",
        3 => "transpose=cclock,",
        _ => "",
    };
    let mut graph = filter::Graph::new();
    let buffer = filter::find("buffer").ok_or(ffmpeg::Error::FilterNotFound)?;
    let sink = filter::find("buffersink").ok_or(ffmpeg::Error::FilterNotFound)?;
    let args =
        format!("video_size={}x{}:pix_fmt={format}:time_base=1/1000:pixel_aspect=1/1", frame.width(), frame.height());
    graph.add(&buffer, "in", &args)?;
    graph.add(&sink, "out", "")?.set_pixel_format(Pixel::RGB24);
    let spec = format!("scale=w={w}:h={h}:flags=bicubic+accurate_rnd+full_chroma_int,{turn}format=rgb24");
    graph.output("in", 0)?.input("out", 0)?.parse(&spec)?;
    graph.validate()?;
    graph.get("in").ok_or(ffmpeg::Error::FilterNotFound)?.source().add(frame)?;
    graph.get("in").ok_or(ffmpeg::Error::FilterNotFound)?.source().flush()?;
    let mut rgb = frame::Video::empty();
    graph.get("out").ok_or(ffmpeg::Error::FilterNotFound)?.sink().frame(&mut rgb)?;
    Ok(rgb)
}

/// The frame's pixel aspect ratio, else the one the headers state.
pub(super) fn sample_aspect(frame: &frame::Video, facts: &Facts) -> Rational {
    let own = frame.aspect_ratio();
    if own.numerator() > 0 && own.denominator() > 0 { own } else { facts.sample_aspect }
}

/// The RGB rows without FFmpeg's line padding.
fn tight_rows(rgb: &frame::Video) -> Vec<u8> {
    let row = rgb.width() as usize * 3;
    let stride = rgb.stride(0);
    let data = rgb.data(0);
    let mut pixels = Vec::with_capacity(row * rgb.height() as usize);
    for y in 0..rgb.height() as usize {
        if let Some(line) = data.get(y * stride..y * stride + row) {
            pixels.extend_from_slice(line);
        }
    }
    pixels
}
