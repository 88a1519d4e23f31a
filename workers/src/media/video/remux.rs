//! A metadata-free copy of a video, for `MEDIAQ_STRIP_EXIF`: the streams a
//! player needs (video, audio, subtitles) are copied packet by packet into
//! a new file of the same container — no re-encoding — and everything else
//! is left behind: container and stream tags (GPS `location` / ©xyz /
//! `com.apple.quicktime.location.ISO6709`, make, model, software, dates),
//! chapters, cover art, data and timecode tracks (GoPro GPMF telemetry,
//! `tmcd`, Apple timed metadata). Kept: each stream's language and, for
//! MP4/QuickTime, each track's display matrix (`matrix`), so it still
//! plays the same way up.

use std::path::Path;
use std::time::{Duration, Instant};

use ffmpeg::format::context::{Input, Output};
use ffmpeg::format::stream::Disposition;
use ffmpeg::{Dictionary, Packet, Rational, codec, encoder, format, media};
use ffmpeg_next as ffmpeg;
use tempfile::NamedTempFile;

use super::probe;
use crate::media::MediaError;

/// Remuxing reads the whole file: a large video may take a while.
const DEADLINE: Duration = Duration::from_secs(600);
/// Packets the muxer refuses (broken timestamps) before giving up.
const MAX_BAD_PACKETS: usize = 64;

/// The muxer that writes the same container as the upload, by its probed
/// MIME type.
fn muxer(mime: &str) -> Result<&'static str, MediaError> {
    Ok(match mime {
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        "video/3gpp" => "3gp",
        "video/3gpp2" => "3g2",
        "video/webm" => "webm",
        "video/x-matroska" => "matroska",
        other => return Err(MediaError::Unsupported(format!("{other} videos cannot be rewritten"))),
    })
}

fn failed(e: ffmpeg::Error) -> MediaError {
    MediaError::Corrupt(format!("the video could not be rewritten without its metadata: {e}"))
}

/// Writes a copy of the video at `path` (a `mime` container) without its
/// metadata to a temporary file.
pub fn strip_metadata(path: &Path, mime: &str) -> Result<Option<NamedTempFile>, MediaError> {
    super::init()?;
    let muxer = muxer(mime)?;
    let mut input = probe::open(path, Instant::now() + DEADLINE)?;
    let out = NamedTempFile::new().map_err(crate::media::source::io)?;
    let mut output = format::output_as(out.path(), muxer).map_err(failed)?;
    let map = add_streams(&input, &mut output)?;
    let mut options = Dictionary::new();
    // No "encoder" tag either: the output carries no tag at all.
    options.set("fflags", "+bitexact");
    output.write_header_with(options).map_err(failed)?;
    copy_packets(&mut input, &mut output, &map)?;
    output.write_trailer().map_err(failed)?;
    drop(output);
    if !matches!(muxer, "webm" | "matroska") {
        let tracks: Vec<(usize, usize)> = map.iter().enumerate().filter_map(|(i, m)| m.map(|(o, _)| (i, o))).collect();
        super::matrix::copy(path, out.path(), &tracks)?;
    }
    Ok(Some(out))
}

/// For each input stream, the output stream it goes to and both time
/// bases; `None` for streams left behind.
type StreamMap = Vec<Option<(usize, Rational)>>;

fn add_streams(input: &Input, output: &mut Output) -> Result<StreamMap, MediaError> {
    let mut map = Vec::new();
    for ist in input.streams() {
        let kept = matches!(ist.parameters().medium(), media::Type::Video | media::Type::Audio | media::Type::Subtitle)
            && !ist.disposition().contains(Disposition::ATTACHED_PIC);
        if !kept {
            map.push(None);
            continue;
        }
        let mut ost = output.add_stream(encoder::find(codec::Id::None)).map_err(failed)?;
        ost.set_parameters(ist.parameters());
        ost.set_time_base(ist.time_base());
        ost.set_avg_frame_rate(ist.avg_frame_rate());
        ost.set_rate(ist.rate());
        let mut tags = Dictionary::new();
        if let Some(language) = ist.metadata().get("language") {
            tags.set("language", language);
        }
        ost.set_metadata(tags);
        map.push(Some((ost.index(), ist.time_base())));
    }
    if map.iter().all(Option::is_none) {
        return Err(MediaError::Unsupported("the file has no stream to keep".into()));
    }
    Ok(map)
}

fn copy_packets(input: &mut Input, output: &mut Output, map: &StreamMap) -> Result<(), MediaError> {
    let out_bases: Vec<Rational> = output.streams().map(|s| s.time_base()).collect();
    let mut bad = 0usize;
    loop {
        let mut packet = Packet::empty();
        match packet.read(input) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => return Ok(()),
            Err(ffmpeg::Error::Exit) => return Err(MediaError::Corrupt("rewriting the video took too long".into())),
            Err(e) => return Err(failed(e)),
        }
        let Some(&Some((index, in_base))) = map.get(packet.stream()) else { continue };
        if packet.pts().is_none() && packet.dts().is_none() {
            continue;
        }
        let out_base = out_bases.get(index).copied().unwrap_or(in_base);
        packet.rescale_ts(in_base, out_base);
        packet.set_position(-1);
        packet.set_stream(index);
        if packet.write_interleaved(output).is_err() {
            bad += 1;
            if bad > MAX_BAD_PACKETS {
                return Err(MediaError::Corrupt("the video's timestamps are too broken to rewrite".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests;
