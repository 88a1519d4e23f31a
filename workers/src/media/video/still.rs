//! Decoding the one frame the still is made from: about 1 s in, or the
//! first frame of a short clip. The decoder refuses frames over the pixel
//! limit (the bitstream may disagree with the headers), and the work is
//! bounded by packet counts, so a stream that never yields a picture fails
//! quickly instead of being read to the end.

use ffmpeg::format::context::Input;
use ffmpeg::{Discard, Packet, Rescale, codec, frame};
use ffmpeg_next as ffmpeg;

use super::probe::Facts;
use crate::media::MediaError;

/// Where the still is taken from, in ms after the start.
const STILL_AT_MS: i64 = 1000;
/// Clips shorter than this use their first frame.
const SHORT_CLIP_MS: u64 = 2000;
/// Video packets decoded in search of the frame at `STILL_AT_MS`; past
/// this the latest frame decoded is used, and with none the file fails.
const MAX_VIDEO_PACKETS: usize = 600;
/// Packets of other streams skipped before giving up on the video stream.
const MAX_OTHER_PACKETS: usize = 20_000;
/// Damaged packets (unreadable, truncated, rejected by the decoder) tolerated.
const MAX_BAD_PACKETS: usize = 64;

/// Decodes the frame the still is made from.
pub(super) fn decode(input: &mut Input, facts: &Facts, max_pixels: u64) -> Result<frame::Video, MediaError> {
    let mut decoder = open_decoder(input, facts, max_pixels)?;
    let target = seek(input, facts);
    let mut search = Search { target, best: None, video: 0, other: 0, bad: 0 };
    loop {
        let mut packet = Packet::empty();
        match packet.read(input) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            // A demuxer can resync past bad data; mov says so for data
            // missing from a truncated file.
            Err(ffmpeg::Error::InvalidData) => {
                if search.damaged() {
                    break;
                }
                continue;
            }
            Err(ffmpeg::Error::Exit) => return Err(MediaError::Corrupt("reading the video took too long".into())),
            Err(e) => return Err(MediaError::Corrupt(format!("the video could not be read: {e}"))),
        }
        if packet.stream() != facts.stream {
            search.other += 1;
            if search.other > MAX_OTHER_PACKETS {
                break;
            }
            continue;
        }
        // Frames before the target that no other frame refers to need not
        // be decoded: this halves the walk from the keyframe.
        let early = matches!((target, packet.pts()), (Some(t), Some(pts)) if pts < t);
        decoder.skip_frame(if early { Discard::NonReference } else { Discard::Default });
        // A packet cut short by the end of the file.
        if packet.is_corrupt() || decoder.send_packet(&packet).is_err() {
            if search.damaged() {
                break;
            }
            continue;
        }
        search.video += 1;
        if search.drain(&mut decoder) || search.video >= MAX_VIDEO_PACKETS {
            return search.finish();
        }
    }
    // End of input: the decoder still holds frames it was reordering.
    if decoder.send_eof().is_ok() {
        search.drain(&mut decoder);
    }
    search.finish()
}

fn open_decoder(input: &Input, facts: &Facts, max_pixels: u64) -> Result<ffmpeg::decoder::Video, MediaError> {
    let stream =
        input.stream(facts.stream).ok_or_else(|| MediaError::Corrupt("the video stream disappeared".into()))?;
    let mut options = super::probe::decoder_options();
    // FFmpeg's own guard on every frame buffer it allocates; its option
    // range stops at i32::MAX.
    options.set("max_pixels", &max_pixels.min(i32::MAX as u64).to_string());
    // One thread: the worker runs several jobs at once, one per core, and
    // frame threading would multiply the frames held in memory.
    options.set("threads", "1");
    let failed = |e: ffmpeg::Error| MediaError::Corrupt(format!("the video decoder could not start: {e}"));
    let context = codec::Context::from_parameters(stream.parameters()).map_err(failed)?;
    context.decoder().open_as_with(facts.decoder, options).and_then(|d| d.video()).map_err(failed)
}

/// Seeks to the still's position and returns it in stream time base, or
/// `None` for a short clip, whose first frame is used.
fn seek(input: &mut Input, facts: &Facts) -> Option<i64> {
    let short = facts.duration_ms < SHORT_CLIP_MS;
    let offset = if short { 0 } else { STILL_AT_MS.rescale(ffmpeg::Rational::new(1, 1000), facts.time_base) };
    let target = facts.start_pts.saturating_add(offset);
    let target_us = target.rescale(facts.time_base, ffmpeg::rescale::TIME_BASE);
    // To the keyframe at or before the target (the range end is inclusive);
    // decoding walks from there. Failing that, to the start; failing that
    // too, decoding finds nothing and says so.
    if input.seek(target_us, ..target_us).is_err() {
        let _ = input.seek(0, ..);
    }
    (!short).then_some(target)
}

struct Search {
    target: Option<i64>,
    best: Option<frame::Video>,
    video: usize,
    other: usize,
    bad: usize,
}

impl Search {
    /// Counts a damaged packet; true once there have been too many.
    fn damaged(&mut self) -> bool {
        self.bad += 1;
        self.bad > MAX_BAD_PACKETS
    }

    /// Takes the frames the decoder has ready; true once one at or past the
    /// target is in hand.
    fn drain(&mut self, decoder: &mut ffmpeg::decoder::Video) -> bool {
        loop {
            let mut frame = frame::Video::empty();
            if decoder.receive_frame(&mut frame).is_err() {
                return false;
            }
            // Concealment over missing data: not what the video looks like.
            if frame.is_corrupt() || frame.width() == 0 || frame.height() == 0 {
                continue;
            }
            let reached = match (self.target, frame.timestamp()) {
                (Some(target), Some(ts)) => ts >= target,
                _ => true,
            };
            self.best = Some(frame);
            if reached {
                return true;
            }
        }
    }

    fn finish(self) -> Result<frame::Video, MediaError> {
        self.best.ok_or_else(|| {
            let why = if self.bad > 0 {
                "its frames are damaged, or larger than the pixel limit"
            } else {
                "no frame could be decoded"
            };
            MediaError::Corrupt(format!("the video has no picture: {why}"))
        })
    }
}
