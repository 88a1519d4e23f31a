//! Videos, in-process with FFmpeg: the facts a media record needs (display
//! size, duration, container type) read from the headers and checked
//! against the limits before anything is decoded, then one frame from
//! about a second in rendered upright as a JPEG still; and, for
//! `MEDIAQ_STRIP_EXIF`, a copy without metadata (`remux`). FFmpeg opens
//! only allow-listed demuxers (`mov`, `matroska`), the `file` protocol and
//! allow-listed decoders (`probe::DECODERS`).
//!
//! Synchronous and CPU-bound: callers run [`process`] on the blocking pool,
//! several at once if they like.

mod matrix;
mod probe;
mod remux;
mod render;
mod still;
mod tail;

pub use remux::strip_metadata;

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ffmpeg_next as ffmpeg;

use super::{MediaError, Rendered};

/// A whole `process` call may read the file for this long; a hostile file
/// that makes FFmpeg crawl fails instead of holding a worker.
const DEADLINE: Duration = Duration::from_secs(30);

/// Limits a video must respect before anything is decoded.
#[derive(Debug, Clone, Copy)]
pub struct VideoOptions {
    /// Largest frame, in pixels (coded or display size, whichever is larger).
    pub max_pixels: u64,
    pub max_duration_ms: u64,
}

/// Facts read from a video and the still made from it.
#[derive(Debug)]
pub struct VideoOutput {
    /// Display size: sample aspect ratio and rotation applied.
    pub width: u32,
    pub height: u32,
    /// Container duration, falling back to the video stream's, then to the
    /// timestamps of the data; 0 only for a very long file stating neither.
    pub duration_ms: u64,
    /// The container as probed: `video/mp4`, `video/quicktime`,
    /// `video/webm`, `video/x-matroska`, `video/3gpp`, `video/3gpp2`.
    pub mime: &'static str,
    /// JPEG still from about 1 s in (the first frame of clips under 2 s),
    /// upright, at the display size.
    pub frame: Rendered,
}

/// Probes `path`, checks it against `opts`, and renders its still.
pub fn process(path: &Path, opts: &VideoOptions) -> Result<VideoOutput, MediaError> {
    init()?;
    let mut input = probe::open(path, Instant::now() + DEADLINE)?;
    let mut facts = probe::Facts::read(&input, path)?;
    facts.check(opts)?;
    let data_end_ms = tail::data_end_ms(&mut input, facts.duration_ms)?;
    if facts.duration_ms == 0 {
        // Stated nowhere (a streamed recording): measured, and limited too.
        facts.duration_ms = data_end_ms.unwrap_or(0);
        facts.check(opts)?;
    }
    let decoded = still::decode(&mut input, &facts, opts.max_pixels)?;
    let sar = render::sample_aspect(&decoded, &facts);
    probe::check_size(decoded.width(), decoded.height(), sar, opts.max_pixels)?;
    let frame = render::still(&decoded, &facts)?;
    Ok(VideoOutput {
        width: frame.width,
        height: frame.height,
        duration_ms: facts.duration_ms,
        mime: facts.mime,
        frame,
    })
}

/// Initialises FFmpeg once per process and silences its logging: every
/// failure reaches the caller as a `MediaError`, and hostile files would
/// otherwise flood stderr.
fn init() -> Result<(), MediaError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        ffmpeg::init().map_err(|e| e.to_string())?;
        ffmpeg::log::set_level(ffmpeg::log::Level::Quiet);
        Ok(())
    })
    .clone()
    .map_err(|e| MediaError::Unsupported(format!("video support is unavailable: FFmpeg failed to start ({e})")))
}

#[cfg(test)]
mod tests;
