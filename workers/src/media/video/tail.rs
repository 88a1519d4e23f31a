//! Checking that the file holds what its headers promise. A truncated
//! upload keeps headers that state the full duration (MP4 with the index
//! first, WebM), so the last second is read — packets only, nothing
//! decoded — and its timestamps compared with the stated duration.

use ffmpeg::format::context::Input;
use ffmpeg::{Packet, Rational, Rescale};
use ffmpeg_next as ffmpeg;

use super::probe::seconds;
use crate::media::MediaError;

/// How far before the stated end reading starts (it starts at the keyframe
/// before that point).
const TAIL_MS: i64 = 1000;
/// Packets read looking for the end; past this the answer is unknown.
const MAX_TAIL_PACKETS: usize = 20_000;

const MS: Rational = Rational(1, 1000);

/// Where the file's data ends, in ms from its start: `None` when it is too
/// long to tell. Fails when data is missing or cut short, or ends well
/// before `stated_ms`.
pub(super) fn data_end_ms(input: &mut Input, stated_ms: u64) -> Result<Option<u64>, MediaError> {
    let (bases, start_ms) = streams(input);
    if stated_ms > 0 {
        let from = i64::try_from(stated_ms).unwrap_or(i64::MAX).saturating_sub(TAIL_MS).max(0).saturating_add(start_ms);
        let from_us = from.rescale(MS, ffmpeg::rescale::TIME_BASE);
        // On failure reading simply goes on from where it is.
        let _ = input.seek(from_us, ..from_us);
    }
    let mut end_ms = i64::MIN;
    for _ in 0..MAX_TAIL_PACKETS {
        let mut packet = Packet::empty();
        match packet.read(input) {
            Ok(()) if packet.is_corrupt() => return Err(truncated()),
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => {
                let end = if end_ms == i64::MIN { None } else { u64::try_from(end_ms - start_ms).ok() };
                return check(end, stated_ms);
            }
            // mov reports samples its index lists but the file lacks.
            Err(ffmpeg::Error::InvalidData) => return Err(truncated()),
            Err(ffmpeg::Error::Exit) => return Err(MediaError::Corrupt("reading the video took too long".into())),
            Err(e) => return Err(MediaError::Corrupt(format!("the video could not be read: {e}"))),
        }
        let Some(&tb) = bases.get(packet.stream()) else { continue };
        if let Some(ts) = packet.pts().or(packet.dts()) {
            end_ms = end_ms.max(ts.saturating_add(packet.duration().max(0)).rescale(tb, MS));
        }
    }
    Ok(None)
}

/// Each stream's time base, and the earliest start in ms (0 if none stated).
fn streams(input: &Input) -> (Vec<Rational>, i64) {
    let bases = input.streams().map(|s| s.time_base()).collect();
    let start = input
        .streams()
        .filter(|s| s.start_time() != ffmpeg::ffi::AV_NOPTS_VALUE)
        .map(|s| s.start_time().rescale(s.time_base(), MS))
        .min()
        .unwrap_or(0);
    (bases, start)
}

fn check(end_ms: Option<u64>, stated_ms: u64) -> Result<Option<u64>, MediaError> {
    let Some(end) = end_ms else { return Err(MediaError::Corrupt("the video holds no data".into())) };
    // Slack for streams that stop a little early and durations that round.
    let slack = (stated_ms / 20).max(1000);
    if end.saturating_add(slack) < stated_ms {
        return Err(MediaError::Corrupt(format!(
            "the video is truncated: its data ends at {} of the {} its header states",
            seconds(end),
            seconds(stated_ms)
        )));
    }
    Ok(Some(end))
}

fn truncated() -> MediaError {
    MediaError::Corrupt("the video is truncated: data its index lists is missing".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_must_reach_near_the_stated_end() {
        assert_eq!(check(Some(9_980), 10_000).ok(), Some(Some(9_980)));
        assert!(check(Some(9_100), 10_000).is_ok(), "within a second");
        assert!(check(Some(570_000), 600_000).is_ok(), "within 5 %");
        assert!(check(Some(5_000), 10_000).is_err());
        assert!(check(None, 10_000).is_err());
        assert_eq!(check(Some(3_000), 0).ok(), Some(Some(3_000)), "no stated duration: the data's is used");
    }
}
