//! The remux on phone-like fixtures the ffmpeg CLI makes from a corpus
//! clip, checked with `ffprobe` as a person would: the tags are gone, the
//! streams, duration, rotation and language are still there.

use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

use super::*;
use crate::media::video::tests::{corpus, ffmpeg, testsrc};
use crate::media::video::{VideoOptions, process};

const ROOMY: VideoOptions = VideoOptions { max_pixels: 100_000_000, max_duration_ms: 3_600_000 };

/// `ffprobe -show_format -show_streams` as JSON.
fn ffprobe(path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_format", "-show_streams", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("ffprobe JSON")
}

/// Every tag key ffprobe reports, container and streams.
fn tags(probe: &Value) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    let mut add = |v: &Value| {
        if let Some(map) = v["tags"].as_object() {
            all.extend(map.iter().map(|(k, v)| format!("{k}={v}")));
        }
    };
    add(&probe["format"]);
    probe["streams"].as_array().expect("streams").iter().for_each(&mut add);
    all
}

fn kinds(probe: &Value) -> Vec<String> {
    probe["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| s["codec_type"].as_str().unwrap_or("").into())
        .collect()
}

/// The corpus clip with a French audio track, GPS, device tags, a
/// rotation and (QuickTime) a timecode track, as phones write them.
fn phone(dir: &TempDir, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let clip = corpus("video_h264_720p_10s.mp4");
    let clip = clip.to_str().expect("utf-8");
    let mut args = vec!["-i", clip, "-f", "lavfi", "-i", "sine=duration=10", "-map", "0:v", "-map", "1:a"];
    args.extend(["-c:v", "copy", "-c:a", "aac", "-metadata:s:a:0", "language=fra", "-metadata:s:v:0", "rotate=90"]);
    args.extend(["-metadata", "location=+48.8584+002.2945/", "-metadata", "make=Apple"]);
    args.extend(["-metadata", "model=iPhone 15", "-metadata", "software=17.1", "-metadata", "title=at the tower"]);
    args.extend(extra);
    ffmpeg(dir, name, &args)
}

fn assert_clean(original: &Path, mime: &str) -> Value {
    let before = ffprobe(original);
    let joined = tags(&before).join(" ");
    assert!(joined.contains("48.8584") && joined.contains("iPhone 15"), "the fixture has the tags: {joined}");
    let out = strip_metadata(original, mime).expect("remuxed").expect("a copy");
    let after = ffprobe(out.path());
    let left = tags(&after);
    for banned in ["48.8584", "location", "Apple", "iPhone", "make", "model", "software", "title", "creation_time"] {
        assert!(!left.iter().any(|t| t.contains(banned)), "{banned} survived: {left:?}");
    }
    assert_eq!(kinds(&after), ["video", "audio"], "only what plays is kept");
    let duration: f64 = after["format"]["duration"].as_str().expect("a duration").parse().expect("seconds");
    assert!((duration - 10.0).abs() < 0.2, "duration {duration}");
    assert!(left.iter().any(|t| t == "language=\"fra\""), "the language is kept: {left:?}");
    // Not re-encoded: the video stream is the same bytes' codec and size.
    assert_eq!(after["streams"][0]["codec_name"], before["streams"][0]["codec_name"]);
    let (a, b) = (process(original, &ROOMY).expect("original"), process(out.path(), &ROOMY).expect("remuxed"));
    assert_eq!((b.width, b.height, b.mime), (a.width, a.height, a.mime), "rotation and container are kept");
    assert_eq!((b.width, b.height), (720, 1280), "still shown upright");
    after
}

#[test]
fn mp4_loses_gps_and_device_tags_and_still_plays() {
    let dir = TempDir::new().expect("temp dir");
    let video = phone(&dir, "phone.mp4", &["-movflags", "use_metadata_tags"]);
    assert_clean(&video, "video/mp4");
}

#[test]
fn quicktime_loses_apple_keys_and_timecode_tracks() {
    let dir = TempDir::new().expect("temp dir");
    let iso6709 = "com.apple.quicktime.location.ISO6709=+48.8584+002.2945+035.000/";
    let extra = ["-metadata", iso6709, "-movflags", "use_metadata_tags", "-timecode", "01:00:00:00"];
    let video = phone(&dir, "phone.mov", &extra);
    assert!(kinds(&ffprobe(&video)).contains(&"data".to_owned()), "the fixture has a timecode track");
    assert_clean(&video, "video/quicktime");
}

#[test]
fn webm_loses_its_tags() {
    let dir = TempDir::new().expect("temp dir");
    let clip = corpus("video_vp9_360p_20s.webm");
    let args = ["-i", clip.to_str().expect("utf-8"), "-c", "copy", "-metadata", "title=at the tower"];
    let video = ffmpeg(&dir, "tagged.webm", &[&args[..], &["-metadata", "location=+48.8584+002.2945/"]].concat());
    let out = strip_metadata(&video, "video/webm").expect("remuxed").expect("a copy");
    let left = tags(&ffprobe(out.path()));
    assert!(!left.iter().any(|t| t.contains("48.8584") || t.contains("tower")), "{left:?}");
    let facts = process(out.path(), &ROOMY).expect("still a video");
    assert_eq!((facts.width, facts.height, facts.mime), (640, 360, "video/webm"));
    assert!(facts.duration_ms.abs_diff(20_000) <= 100, "{} ms", facts.duration_ms);
}

#[test]
fn codecs_off_the_decoder_allow_list_are_refused() {
    let dir = TempDir::new().expect("temp dir");
    let cases: [(&str, &str, &[&str]); 3] =
        [("ffv1.mkv", "ffv1", &[]), ("png.mov", "png", &["-pix_fmt", "rgb24"]), ("raw.mkv", "rawvideo", &[])];
    for (name, codec, extra) in cases {
        let video = testsrc(&dir, name, "320x240", "1", &[&["-c:v", codec][..], extra].concat());
        let e = process(&video, &ROOMY).expect_err(name);
        assert!(matches!(e, MediaError::Unsupported(_)) && e.to_string().contains(codec), "{name}: {e}");
    }
}
