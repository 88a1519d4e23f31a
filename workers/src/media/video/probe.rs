//! Opening a video and reading its facts — frame size, pixel aspect,
//! rotation, duration, container — from the container and stream headers
//! alone, so the limits are checked before any frame buffer exists.

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use ffmpeg::codec::packet::side_data::Type as SideDataType;
use ffmpeg::format::context::Input;
use ffmpeg::format::stream::Disposition;
use ffmpeg::{Codec, Dictionary, Rational, Stream, codec, format, media};
use ffmpeg_next as ffmpeg;

use super::VideoOptions;
use crate::media::MediaError;

/// Demuxers accepted, as FFmpeg names them ("mov,mp4,m4a,3gp,3g2,mj2" and
/// "matroska,webm"). The whitelist keeps hostile uploads away from the
/// playlist demuxers (HLS, concat), which open files and URLs named inside
/// the upload.
const DEMUXERS: &str = "mov,matroska";

/// A decoder name that does not exist. As FFmpeg's codec whitelist it stops
/// the stream probe (`avformat_find_stream_info`) from decoding frames, so
/// a stream whose header lies about a small size cannot make it allocate a
/// huge frame before our own limits run; the probe then reads headers and
/// parses bitstream headers only.
const NO_DECODER: &str = "mediaq-no-decoder";

/// The decoders FFmpeg may open (by FFmpeg's decoder names): the codecs
/// phones, cameras and the web record in. Any other codec is refused
/// before a decoder exists, and every decoder is opened with this list as
/// its `codec_whitelist`, so FFmpeg itself refuses anything else.
pub(super) const DECODERS: &str =
    "h264,hevc,vp8,vp9,libdav1d,libaom-av1,av1,mpeg4,h263,mjpeg,prores,mpeg1video,mpeg2video";

/// Options every video decoder is opened with.
pub(super) fn decoder_options() -> Dictionary<'static> {
    let mut options = Dictionary::new();
    options.set("codec_whitelist", DECODERS);
    options
}

/// How much of the file is read to tell WebM from Matroska.
const HEAD_BYTES: u64 = 4096;

/// What the headers say about the video.
pub(super) struct Facts {
    /// Index of the video stream the still comes from.
    pub stream: usize,
    pub decoder: Codec,
    pub time_base: Rational,
    /// First timestamp of the stream in `time_base`, 0 when not stated.
    pub start_pts: i64,
    /// Coded frame size as declared.
    pub width: u32,
    pub height: u32,
    pub sample_aspect: Rational,
    /// Clockwise quarter turns that show the picture upright.
    pub quarter_turns: u8,
    /// Container duration, else the stream's; 0 when neither is stated.
    pub duration_ms: u64,
    pub mime: &'static str,
}

/// Opens `path` for reading with FFmpeg, refusing other containers, other
/// protocols, and any I/O after `deadline`.
pub(super) fn open(path: &Path, deadline: Instant) -> Result<Input, MediaError> {
    // FFmpeg takes a URL; "file:" keeps a colon in the name from choosing
    // another protocol. ffmpeg-next panics on non-UTF-8 or NUL, so refuse.
    let url = match path.to_str() {
        Some(p) if !p.contains('\0') => format!("file:{p}"),
        _ => return Err(MediaError::Unsupported("the video's file path is not valid UTF-8".into())),
    };
    let mut options = Dictionary::new();
    options.set("format_whitelist", DEMUXERS);
    options.set("protocol_whitelist", "file");
    options.set("codec_whitelist", NO_DECODER);
    format::input_with_interrupt_and_dictionary(&url, move || Instant::now() > deadline, options)
        .map_err(|e| open_error(e, path))
}

fn open_error(e: ffmpeg::Error, path: &Path) -> MediaError {
    match e {
        ffmpeg::Error::InvalidData | ffmpeg::Error::Eof => {
            MediaError::Corrupt("no video container could be read from it (damaged, truncated or not a video)".into())
        }
        // The format whitelist answers EINVAL.
        ffmpeg::Error::Other { errno: ffmpeg::error::EINVAL } => MediaError::Unsupported(format!(
            "{}: only MP4, QuickTime, WebM and Matroska videos are supported",
            container_hint(path)
        )),
        ffmpeg::Error::Exit => MediaError::Corrupt("reading the video's headers took too long".into()),
        ffmpeg::Error::PatchWelcome => {
            MediaError::Unsupported("the video uses a feature FFmpeg does not support".into())
        }
        other => MediaError::Corrupt(format!("the video could not be opened: {other}")),
    }
}

/// A phrase naming what the file seems to be, for the refusal message.
fn container_hint(path: &Path) -> String {
    match head(path).ok().and_then(|h| infer::get(&h)) {
        Some(kind) => format!("the file is {}", kind.mime_type()),
        None => "the file is not in a supported container".into(),
    }
}

fn head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(HEAD_BYTES).read_to_end(&mut bytes)?;
    Ok(bytes)
}

impl Facts {
    /// Reads the facts of the first real video stream (cover art is not one).
    pub fn read(input: &Input, path: &Path) -> Result<Self, MediaError> {
        let stream = video_stream(input)?;
        let params = stream.parameters();
        let id = params.id();
        let decoder = ffmpeg::decoder::find(id)
            .filter(|d| DECODERS.split(',').any(|name| name == d.name()))
            .ok_or_else(|| MediaError::Unsupported(format!("the video codec ({}) is not supported", codec_name(id))))?;
        // An opened decoder reports what the headers declared; opening
        // parses codec headers (e.g. SPS) but decodes no frame.
        let declared = codec::Context::from_parameters(params)
            .and_then(|c| c.decoder().open_as_with(decoder, decoder_options()))
            .and_then(|d| d.video())
            .map_err(|e| MediaError::Corrupt(format!("the {} stream's headers are invalid: {e}", codec_name(id))))?;
        let start = stream.start_time();
        Ok(Self {
            stream: stream.index(),
            decoder,
            time_base: stream.time_base(),
            start_pts: if start == ffmpeg::ffi::AV_NOPTS_VALUE { 0 } else { start },
            width: declared.width(),
            height: declared.height(),
            sample_aspect: declared.aspect_ratio(),
            quarter_turns: quarter_turns(&stream),
            duration_ms: duration_ms(input, &stream),
            mime: mime(input, path)?,
        })
    }

    /// Refuses what exceeds the limits, naming the limit. A size the headers
    /// leave out (MPEG-4 Part 2 in MP4 keeps it in the bitstream) is checked
    /// on the decoded frame instead, with FFmpeg's own guard in force until
    /// then.
    pub fn check(&self, opts: &VideoOptions) -> Result<(), MediaError> {
        if self.width > 0 && self.height > 0 {
            check_size(self.width, self.height, self.sample_aspect, opts.max_pixels)?;
        }
        if self.duration_ms > opts.max_duration_ms {
            return Err(MediaError::OverLimit(format!(
                "the video lasts {}, longer than the duration limit of {}",
                seconds(self.duration_ms),
                seconds(opts.max_duration_ms)
            )));
        }
        Ok(())
    }
}

/// Refuses a frame of `width`×`height` whose coded or display size exceeds
/// `max_pixels`.
pub(super) fn check_size(width: u32, height: u32, sar: Rational, max_pixels: u64) -> Result<(), MediaError> {
    let (dw, dh) = display_size(width, height, sar);
    let pixels = (u64::from(width) * u64::from(height)).max(u64::from(dw) * u64::from(dh));
    if pixels > max_pixels {
        return Err(MediaError::OverLimit(format!(
            "the video is {width}×{height} ({pixels} pixels), more than the pixel limit of {max_pixels}"
        )));
    }
    Ok(())
}

fn video_stream(input: &Input) -> Result<Stream<'_>, MediaError> {
    let is_video = |s: &Stream| {
        s.parameters().medium() == media::Type::Video && !s.disposition().contains(Disposition::ATTACHED_PIC)
    };
    if let Some(best) = input.streams().best(media::Type::Video).filter(is_video) {
        return Ok(best);
    }
    input.streams().find(is_video).ok_or_else(|| MediaError::Unsupported("the file has no video stream".into()))
}

fn codec_name(id: codec::Id) -> &'static str {
    if id == codec::Id::None { "unknown" } else { id.name() }
}

/// Container duration, falling back to the stream's; 0 when neither is
/// stated (streamed recordings), and `tail` measures it instead.
fn duration_ms(input: &Input, stream: &Stream) -> u64 {
    let container = input.duration(); // in AV_TIME_BASE (µs); AV_NOPTS_VALUE is negative
    if container > 0 {
        return u64::try_from(container / 1000).unwrap_or(0);
    }
    let (d, tb) = (i128::from(stream.duration()), stream.time_base());
    let (num, den) = (i128::from(tb.numerator()), i128::from(tb.denominator()));
    if d > 0 && num > 0 && den > 0 { u64::try_from(d * num * 1000 / den).unwrap_or(u64::MAX) } else { 0 }
}

/// Frame size once the sample aspect ratio is applied (width stretched or
/// squeezed, as players do). Implausible ratios — beyond 4:1 either way —
/// are header noise and ignored.
pub(super) fn display_size(width: u32, height: u32, sar: Rational) -> (u32, u32) {
    let (num, den) = (i64::from(sar.numerator()), i64::from(sar.denominator()));
    if num <= 0 || den <= 0 || num > 4 * den || den > 4 * num {
        return (width, height);
    }
    let scaled = (i64::from(width) * num + den / 2) / den;
    (u32::try_from(scaled.max(1)).unwrap_or(width), height)
}

/// Clockwise quarter turns from the stream's display matrix, the way
/// FFmpeg's own player and CLI read it. Mirroring is not applied.
fn quarter_turns(stream: &Stream) -> u8 {
    stream.side_data().find(|sd| sd.kind() == SideDataType::DisplayMatrix).map_or(0, |sd| quarter_turns_of(sd.data()))
}

/// `matrix` is FFmpeg's 3×3 display matrix: nine native-endian i32, the
/// first two columns in 16.16 fixed point.
pub(super) fn quarter_turns_of(matrix: &[u8]) -> u8 {
    let m: Vec<f64> =
        matrix.chunks_exact(4).take(9).map(|c| f64::from(i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))).collect();
    let [a, b, _, c, d, ..] = m[..] else { return 0 };
    let (sx, sy) = (a.hypot(c), b.hypot(d));
    if sx == 0.0 || sy == 0.0 {
        return 0;
    }
    // av_display_rotation_get() is the negation of this angle.
    let clockwise = (b / sy).atan2(a / sx).to_degrees();
    // rem_euclid keeps it in 0..4, so the cast cannot truncate.
    ((clockwise / 90.0).round() as i64).rem_euclid(4) as u8
}

fn mime(input: &Input, path: &Path) -> Result<&'static str, MediaError> {
    let demuxer = input.format().name().to_owned();
    if !demuxer.starts_with("mov") && !demuxer.starts_with("matroska") {
        return Err(MediaError::Unsupported(format!("the {demuxer} container is not supported")));
    }
    // Read from the file, not FFmpeg's metadata: a brand is four arbitrary
    // bytes, not always text.
    let head = head(path).map_err(|e| MediaError::Corrupt(format!("the video could not be read: {e}")))?;
    if demuxer.starts_with("matroska") {
        return Ok(if ebml_doctype(&head) == Some(b"webm".as_slice()) { "video/webm" } else { "video/x-matroska" });
    }
    // The ftyp brand tells MP4 from QuickTime; files without one are old
    // QuickTime.
    Ok(match ftyp_brand(&head) {
        None | Some(b"qt  ") => "video/quicktime",
        Some([b'3', b'g', b'2', _]) => "video/3gpp2",
        Some([b'3', b'g', _, _]) => "video/3gpp",
        Some(_) => "video/mp4",
    })
}

/// The major brand of an ISO/QuickTime file whose first box is `ftyp`.
pub(super) fn ftyp_brand(head: &[u8]) -> Option<&[u8; 4]> {
    if head.get(4..8)? != b"ftyp" {
        return None;
    }
    head.get(8..12)?.try_into().ok()
}

/// The DocType of an EBML header ("webm" or "matroska"): element 0x4282,
/// a one-byte size, then the text.
pub(super) fn ebml_doctype(head: &[u8]) -> Option<&[u8]> {
    // The EBML header is the first few dozen bytes.
    let header = &head[..head.len().min(64)];
    let at = header.windows(2).position(|w| w == [0x42, 0x82])?;
    let size = usize::from(*head.get(at + 2)?);
    // A one-byte EBML size has its top bit set.
    let len = if size & 0x80 != 0 { size & 0x7f } else { return None };
    head.get(at + 3..at + 3 + len)
}

pub(super) fn seconds(ms: u64) -> String {
    format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(m: [i32; 9]) -> Vec<u8> {
        m.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    #[test]
    fn display_matrix_gives_quarter_turns() {
        let one = 1 << 16;
        assert_eq!(quarter_turns_of(&matrix([one, 0, 0, 0, one, 0, 0, 0, 1 << 30])), 0);
        assert_eq!(quarter_turns_of(&matrix([0, one, 0, -one, 0, 0, 0, 0, 1 << 30])), 1);
        assert_eq!(quarter_turns_of(&matrix([-one, 0, 0, 0, -one, 0, 0, 0, 1 << 30])), 2);
        assert_eq!(quarter_turns_of(&matrix([0, -one, 0, one, 0, 0, 0, 0, 1 << 30])), 3);
        assert_eq!(quarter_turns_of(&[0; 7]), 0, "short side data is ignored");
        assert_eq!(quarter_turns_of(&matrix([0; 9])), 0, "a degenerate matrix is ignored");
    }

    #[test]
    fn sample_aspect_stretches_width_within_reason() {
        assert_eq!(display_size(720, 576, Rational::new(16, 15)), (768, 576));
        assert_eq!(display_size(1440, 1080, Rational::new(4, 3)), (1920, 1080));
        assert_eq!(display_size(640, 360, Rational::new(0, 1)), (640, 360), "unset");
        assert_eq!(display_size(640, 360, Rational::new(1000, 1)), (640, 360), "absurd");
        assert_eq!(display_size(1, 360, Rational::new(1, 3)), (1, 360), "never zero");
    }

    #[test]
    fn ftyp_brand_tells_mp4_from_quicktime() {
        assert_eq!(ftyp_brand(b"\0\0\0\x14ftypqt  \0\0\0\0"), Some(b"qt  "));
        assert_eq!(ftyp_brand(b"\0\0\0\x20ftypisom"), Some(b"isom"));
        assert_eq!(ftyp_brand(b"\0\0\0\x08wide\0\0\0\x08mdat"), None, "old QuickTime");
        assert_eq!(ftyp_brand(b"\0\0\0\x20ftyp"), None, "cut short");
    }

    #[test]
    fn ebml_doctype_tells_webm_from_matroska() {
        let webm = [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84, b'w', b'e', b'b', b'm'];
        assert_eq!(ebml_doctype(&webm), Some(b"webm".as_slice()));
        assert_eq!(ebml_doctype(&[0x42, 0x82, 0x88, b'm', b'a']), None, "cut short");
        assert_eq!(ebml_doctype(b"not ebml"), None);
    }
}
