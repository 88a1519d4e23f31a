//! `process` end to end, on the corpus videos and on fixtures the ffmpeg
//! CLI makes in a temporary directory, asserting what a person would
//! notice: size, duration, container, a still that looks like the video
//! (compared with what the CLI shows), and clean, quick refusals.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use ::image::RgbImage;
use tempfile::TempDir;

use super::*;

const ROOMY: VideoOptions = VideoOptions { max_pixels: 100_000_000, max_duration_ms: 3_600_000 };

pub(super) fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus").join(name)
}

/// Makes a fixture with the ffmpeg CLI (the test script installs it):
/// `args` then the output file. A CLI that hangs fails the test.
pub(super) fn ffmpeg(dir: &TempDir, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.path().join(name);
    let mut child = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .arg(&out)
        .spawn()
        .expect("the ffmpeg CLI makes the video fixtures");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for ffmpeg") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ffmpeg hung making {name}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "ffmpeg could not make {name}");
    out
}

/// testsrc2 (moving, colourful) at `size` for `secs`.
pub(super) fn testsrc(dir: &TempDir, name: &str, size: &str, secs: &str, codec: &[&str]) -> PathBuf {
    let src = format!("testsrc2=size={size}:rate=25");
    let args: Vec<&str> = ["-f", "lavfi", "-i", &src, "-t", secs, "-pix_fmt", "yuv420p"]
        .into_iter()
        .chain(codec.iter().copied())
        .collect();
    ffmpeg(dir, name, &args)
}

fn jpeg(out: &VideoOutput) -> RgbImage {
    assert_eq!((out.frame.mime, out.frame.extension), ("image/jpeg", "jpg"));
    let img = ::image::load_from_memory_with_format(&out.frame.bytes, ::image::ImageFormat::Jpeg)
        .expect("the still is a JPEG")
        .to_rgb8();
    assert_eq!((img.width(), img.height()), (out.frame.width, out.frame.height), "the JPEG is the size it claims");
    assert_eq!((img.width(), img.height()), (out.width, out.height), "the still is at the video's display size");
    img
}

/// Standard deviation of luma: a uniform (grey, black) still is near 0.
fn spread(img: &RgbImage) -> f64 {
    let luma: Vec<f64> =
        img.pixels().map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])).collect();
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    (luma.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / luma.len() as f64).sqrt()
}

/// Mean absolute difference per channel between two same-sized images.
fn distance(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    sum as f64 / a.as_raw().len() as f64
}

/// The frame the ffmpeg CLI shows (autorotated) at `seek` seconds.
fn cli_frame(dir: &TempDir, video: &Path, seek: &str) -> RgbImage {
    let name = format!("cli-{seek}.png");
    let input = video.to_str().expect("utf-8 temp path");
    let png = ffmpeg(dir, &name, &["-ss", seek, "-i", input, "-frames:v", "1"]);
    ::image::open(png).expect("the CLI wrote a PNG").to_rgb8()
}

fn err(path: &Path, opts: &VideoOptions) -> MediaError {
    let started = Instant::now();
    let e = process(path, opts).expect_err("the file is refused");
    assert!(started.elapsed() < Duration::from_secs(2), "refusing took {:?}", started.elapsed());
    e
}

#[test]
fn corpus_mp4_h264() {
    let out = process(&corpus("video_h264_720p_10s.mp4"), &ROOMY).expect("processed");
    assert_eq!((out.width, out.height, out.mime), (1280, 720, "video/mp4"));
    assert!(out.duration_ms.abs_diff(10_000) <= 50, "{} ms", out.duration_ms);
    let img = jpeg(&out);
    assert!(spread(&img) > 20.0, "the still has content, spread {}", spread(&img));
}

#[test]
fn corpus_webm_vp9() {
    let out = process(&corpus("video_vp9_360p_20s.webm"), &ROOMY).expect("processed");
    assert_eq!((out.width, out.height, out.mime), (640, 360, "video/webm"));
    assert!(out.duration_ms.abs_diff(20_000) <= 50, "{} ms", out.duration_ms);
    let img = jpeg(&out);
    assert!(spread(&img) > 20.0, "the still has content, spread {}", spread(&img));
}

#[test]
fn the_file_name_does_not_matter() {
    // Workers hand over temporary files with no extension.
    let dir = TempDir::new().expect("temp dir");
    for (source, name, mime) in
        [("video_vp9_360p_20s.webm", "upload", "video/webm"), ("video_h264_720p_10s.mp4", "clip.webm", "video/mp4")]
    {
        let path = dir.path().join(name);
        std::fs::copy(corpus(source), &path).expect("copy");
        assert_eq!(process(&path, &ROOMY).expect("processed").mime, mime, "{name}");
    }
}

#[test]
fn still_is_the_frame_one_second_in() {
    let dir = TempDir::new().expect("temp dir");
    let video = corpus("video_h264_720p_10s.mp4");
    let ours = jpeg(&process(&video, &ROOMY).expect("processed"));
    let (at_one, at_zero) = (cli_frame(&dir, &video, "1"), cli_frame(&dir, &video, "0"));
    let (near, far) = (distance(&ours, &at_one), distance(&ours, &at_zero));
    assert!(near < 3.0 && near < far, "1 s: {near:.2}, 0 s: {far:.2}");
}

#[test]
fn hevc_mov() {
    let dir = TempDir::new().expect("temp dir");
    let video = testsrc(&dir, "hevc.mov", "320x240", "1", &["-c:v", "libx265", "-x265-params", "log-level=error"]);
    let out = process(&video, &ROOMY).expect("processed");
    assert_eq!((out.width, out.height, out.mime), (320, 240, "video/quicktime"));
    assert!(out.duration_ms.abs_diff(1000) <= 50, "{} ms", out.duration_ms);
    let img = jpeg(&out);
    assert!(distance(&img, &cli_frame(&dir, &video, "0")) < 3.0, "a short clip's still is its first frame");
}

#[test]
fn other_codecs_and_containers() {
    let dir = TempDir::new().expect("temp dir");
    let cases: [(&str, &[&str], &str); 7] = [
        ("vp8.webm", &["-c:v", "libvpx"], "video/webm"),
        ("av1.mp4", &["-c:v", "libaom-av1", "-cpu-used", "8"], "video/mp4"),
        ("hevc10.mp4", &["-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error"], "video/mp4"),
        ("h264.mkv", &["-c:v", "libx264"], "video/x-matroska"),
        ("mjpeg.mov", &["-c:v", "mjpeg", "-pix_fmt", "yuvj420p"], "video/quicktime"),
        ("mpeg4.mp4", &["-c:v", "mpeg4"], "video/mp4"),
        ("phone.3gp", &["-c:v", "libx264"], "video/3gpp"),
    ];
    for (name, codec, mime) in cases {
        let video = testsrc(&dir, name, "320x240", "1", codec);
        let out = process(&video, &ROOMY).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((out.width, out.height, out.mime), (320, 240, mime), "{name}");
        assert!(out.duration_ms.abs_diff(1000) <= 50, "{name}: {} ms", out.duration_ms);
        let d = distance(&jpeg(&out), &cli_frame(&dir, &video, "0"));
        assert!(d < 3.0, "{name}: the still is the first frame (distance {d:.2})");
    }
}

#[test]
fn half_second_clip_uses_its_first_frame() {
    let dir = TempDir::new().expect("temp dir");
    let video = testsrc(&dir, "short.mp4", "320x240", "0.5", &["-c:v", "libx264"]);
    let out = process(&video, &ROOMY).expect("processed");
    assert!(out.duration_ms.abs_diff(500) <= 50, "{} ms", out.duration_ms);
    assert!(distance(&jpeg(&out), &cli_frame(&dir, &video, "0")) < 3.0);
}

#[test]
fn phone_rotation_is_applied() {
    let dir = TempDir::new().expect("temp dir");
    let plain = testsrc(&dir, "plain.mp4", "320x240", "1", &["-c:v", "libx264"]);
    for (turn, name) in [("90", "r90.mp4"), ("180", "r180.mp4"), ("270", "r270.mp4")] {
        let tag = format!("rotate={turn}");
        let rotated =
            ffmpeg(&dir, name, &["-i", plain.to_str().expect("utf-8"), "-c", "copy", "-metadata:s:v:0", &tag]);
        let out = process(&rotated, &ROOMY).expect("processed");
        let expected = if turn == "180" { (320, 240) } else { (240, 320) };
        assert_eq!((out.width, out.height), expected, "rotate={turn}");
        let d = distance(&jpeg(&out), &cli_frame(&dir, &rotated, "0"));
        assert!(d < 3.0, "rotate={turn}: upright as players show it (distance {d:.2})");
    }
}

#[test]
fn sample_aspect_ratio_is_applied() {
    let dir = TempDir::new().expect("temp dir");
    let video = testsrc(&dir, "anamorphic.mp4", "360x240", "1", &["-vf", "setsar=2", "-c:v", "libx264"]);
    let out = process(&video, &ROOMY).expect("processed");
    assert_eq!((out.width, out.height), (720, 240));
    jpeg(&out);
}

#[test]
fn limits_refuse_before_decoding_and_name_the_limit() {
    let video = corpus("video_vp9_360p_20s.webm");
    let pixels = VideoOptions { max_pixels: 640 * 360 - 1, ..ROOMY };
    let e = err(&video, &pixels);
    assert!(matches!(e, MediaError::OverLimit(_)) && e.to_string().contains("pixel limit"), "{e}");
    let duration = VideoOptions { max_duration_ms: 10_000, ..ROOMY };
    let e = err(&video, &duration);
    assert!(matches!(e, MediaError::OverLimit(_)) && e.to_string().contains("duration limit of 10.0 s"), "{e}");
}

/// The first `len` bytes of `source`, as an upload cut short.
fn cut(dir: &TempDir, source: &Path, len: impl Fn(usize) -> usize) -> PathBuf {
    let bytes = std::fs::read(source).expect("source");
    let name = source.file_name().expect("a file name");
    let path = dir.path().join(name);
    std::fs::write(&path, &bytes[..len(bytes.len())]).expect("write");
    path
}

#[test]
fn truncated_files_are_corrupt() {
    let dir = TempDir::new().expect("temp dir");
    let (mp4, webm) = (corpus("video_h264_720p_10s.mp4"), corpus("video_vp9_360p_20s.webm"));
    let cuts = [
        cut(&dir, &mp4, |_| 20 * 1024),
        cut(&dir, &mp4, |n| n * 9 / 10),
        cut(&dir, &webm, |n| n / 2),
        cut(&dir, &webm, |n| n / 20),
    ];
    for path in cuts {
        let e = err(&path, &ROOMY);
        assert!(matches!(e, MediaError::Corrupt(_)) && e.to_string().contains("truncated"), "{}: {e}", path.display());
    }
}

#[test]
fn streamed_webm_without_duration_is_measured() {
    let dir = TempDir::new().expect("temp dir");
    let video =
        testsrc(&dir, "live.webm", "320x240", "3", &["-c:v", "libvpx-vp9", "-deadline", "realtime", "-live", "1"]);
    let out = process(&video, &ROOMY).expect("processed");
    assert_eq!((out.width, out.height, out.mime), (320, 240, "video/webm"));
    assert!(out.duration_ms.abs_diff(3000) <= 50, "{} ms", out.duration_ms);
    let short = VideoOptions { max_duration_ms: 2000, ..ROOMY };
    assert!(matches!(process(&video, &short), Err(MediaError::OverLimit(_))), "the measured duration is limited too");
}

/// A 2048×2048 H.264 MP4 whose sample description claims 320×240.
fn understated(dir: &TempDir) -> PathBuf {
    let honest = testsrc(dir, "big.mp4", "2048x2048", "0.2", &["-c:v", "libx264", "-preset", "ultrafast"]);
    let mut bytes = std::fs::read(&honest).expect("fixture");
    let stsd = bytes.windows(4).position(|w| w == b"stsd").expect("an stsd box");
    let avc1 = stsd + bytes[stsd..].windows(4).position(|w| w == b"avc1").expect("an avc1 entry");
    // Width and height sit 28 bytes after the entry's type.
    bytes[avc1 + 28..avc1 + 32].copy_from_slice(&[0x01, 0x40, 0x00, 0xf0]);
    let path = dir.path().join("lying.mp4");
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn frames_larger_than_the_header_says_are_refused() {
    let dir = TempDir::new().expect("temp dir");
    let lying = understated(&dir);
    let e = err(&lying, &VideoOptions { max_pixels: 1_000_000, ..ROOMY });
    assert!(matches!(e, MediaError::Corrupt(_) | MediaError::OverLimit(_)), "{e}");
    let out = process(&lying, &ROOMY).expect("within the limit the real size wins");
    assert_eq!((out.width, out.height), (2048, 2048));
    jpeg(&out);
    // MPEG-4 Part 2 in MP4 states its size only in the bitstream.
    let mpeg4 = testsrc(&dir, "mpeg4.mp4", "320x240", "1", &["-c:v", "mpeg4"]);
    let e = err(&mpeg4, &VideoOptions { max_pixels: 320 * 240 - 1, ..ROOMY });
    assert!(matches!(e, MediaError::Corrupt(_) | MediaError::OverLimit(_)), "{e}");
}

#[test]
fn unknown_codecs_are_unsupported() {
    let dir = TempDir::new().expect("temp dir");
    for (name, audio) in [("alone.mp4", false), ("with-audio.mp4", true)] {
        let video = testsrc(&dir, name, "320x240", "1", &["-c:v", "libx264"]);
        let video = if audio {
            let v = video.to_str().expect("utf-8");
            ffmpeg(&dir, "muxed.mp4", &["-i", v, "-f", "lavfi", "-i", "sine=duration=1", "-c:v", "copy", "-c:a", "aac"])
        } else {
            video
        };
        let mut bytes = std::fs::read(&video).expect("fixture");
        let stsd = bytes.windows(4).position(|w| w == b"stsd").expect("an stsd box");
        let avc1 = stsd + bytes[stsd..].windows(4).position(|w| w == b"avc1").expect("an avc1 entry");
        bytes[avc1..avc1 + 4].copy_from_slice(b"zzzz");
        std::fs::write(&video, bytes).expect("write");
        let e = err(&video, &ROOMY);
        assert!(matches!(e, MediaError::Unsupported(_)), "{name}: {e}");
    }
}

#[test]
fn random_and_empty_files_are_refused() {
    let dir = TempDir::new().expect("temp dir");
    // xorshift: reproducible noise
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect();
    for (name, bytes) in [("noise.mp4", noise.as_slice()), ("empty.webm", &[][..])] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let e = err(&path, &ROOMY);
        assert!(matches!(e, MediaError::Corrupt(_) | MediaError::Unsupported(_)), "{name}: {e}");
    }
}

#[test]
fn audio_only_has_no_video_stream() {
    let dir = TempDir::new().expect("temp dir");
    let audio = ffmpeg(&dir, "tone.m4a", &["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac"]);
    let e = err(&audio, &ROOMY);
    assert!(matches!(e, MediaError::Unsupported(_)) && e.to_string().contains("no video stream"), "{e}");
}

#[test]
fn playlists_are_not_followed() {
    let dir = TempDir::new().expect("temp dir");
    let playlist = dir.path().join("clip.mp4");
    std::fs::write(&playlist, "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
        .expect("write");
    let e = err(&playlist, &ROOMY);
    assert!(matches!(e, MediaError::Unsupported(_)), "{e}");
}

#[test]
fn runs_on_several_threads_at_once() {
    let handles: Vec<_> = ["video_h264_720p_10s.mp4", "video_vp9_360p_20s.webm"]
        .into_iter()
        .cycle()
        .take(4)
        .map(|name| std::thread::spawn(move || process(&corpus(name), &ROOMY).map(|o| (o.width, o.height))))
        .collect();
    for h in handles {
        let size = h.join().expect("no panic").expect("processed");
        assert!(size == (1280, 720) || size == (640, 360), "{size:?}");
    }
}

/// Time per corpus video, single-threaded; the minimum is the figure
/// to trust on a busy machine. In a release build:
/// `cargo test --release -p mediaq-workers --lib video::tests::timing -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a check"]
fn timing() {
    for name in ["video_h264_720p_10s.mp4", "video_vp9_360p_20s.webm"] {
        let path = corpus(name);
        let mut ms: Vec<f64> = (0..21)
            .map(|_| {
                let started = Instant::now();
                process(&path, &ROOMY).expect("processed");
                started.elapsed().as_secs_f64() * 1000.0
            })
            .skip(1)
            .collect();
        ms.sort_by(f64::total_cmp);
        eprintln!("{name}: min {:.1} ms, median {:.1} ms over {} runs", ms[0], ms[ms.len() / 2], ms.len());
    }
}
