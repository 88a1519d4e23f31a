//! Phone videos lose their location and device tags when
//! `MEDIAQ_STRIP_EXIF` is on (the default): the stored original is a
//! stream copy without metadata, still playable, with its recorded size
//! and SHA-256 those of the stored bytes; with it off the bytes are kept
//! exactly. Fixtures are made with the ffmpeg CLI from a corpus clip and
//! checked with ffprobe.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mediaq_tests::{Kind, Stack, corpus};
use serde_json::Value;
use sha2::Digest;

/// The corpus clip with GPS and device tags as an iPhone writes them
/// (`use_metadata_tags` keeps the Apple key names in an mdta box).
fn phone_video(dir: &Path) -> PathBuf {
    let out = dir.join("IMG_0001.mp4");
    let clip = corpus("video_h264_720p_10s.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y", "-i"])
        .arg(&clip)
        .args(["-c", "copy", "-movflags", "use_metadata_tags"])
        .args(["-metadata", "location=+48.8584+002.2945/"])
        .args(["-metadata", "com.apple.quicktime.location.ISO6709=+48.8584+002.2945+035.000/"])
        .args(["-metadata", "make=Apple", "-metadata", "model=iPhone 15", "-metadata", "software=17.1"])
        .arg(&out)
        .status()
        .expect("the ffmpeg CLI makes the fixture");
    assert!(status.success());
    out
}

/// Container and stream tags and stream kinds, with the duration, as ffprobe reads them.
fn ffprobe(path: &Path) -> (String, Vec<String>, f64) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_format", "-show_streams", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let streams = v["streams"].as_array().unwrap();
    let mut tags = v["format"]["tags"].to_string();
    streams.iter().for_each(|s| tags.push_str(&s["tags"].to_string()));
    let kinds = streams.iter().map(|s| s["codec_type"].as_str().unwrap().to_owned()).collect();
    (tags, kinds, v["format"]["duration"].as_str().unwrap_or("0").parse().unwrap())
}

/// Uploads the phone video, waits until ready; returns the file resource
/// and the stored original's bytes.
async fn upload_and_download(stack: &Stack, video: &Path) -> (Value, Vec<u8>) {
    let key = stack.key("alice");
    let part = reqwest::multipart::Part::bytes(std::fs::read(video).unwrap()).file_name("IMG_0001.mp4");
    let form = reqwest::multipart::Form::new().part("file", part);
    let res = stack.http.post(stack.url("/api/v1/files")).bearer_auth(&key).multipart(form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let media = stack.wait_settled(&key, &id, Duration::from_secs(120)).await;
    assert_eq!(media["status"], "ready", "{media}");
    let (_, dl) = stack.call(reqwest::Method::GET, &format!("/api/v1/files/{id}/download"), Some(&key), None).await;
    let (status, _, bytes) = stack.fetch(dl["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    (media, bytes)
}

async fn stripped(stack: Stack) {
    let dir = tempfile::tempdir().unwrap();
    let video = phone_video(dir.path());
    let (tags, _, _) = ffprobe(&video);
    assert!(tags.contains("48.8584") && tags.contains("iPhone 15"), "fixture: {tags}");
    let (media, bytes) = upload_and_download(&stack, &video).await;
    let stored = dir.path().join("stored.mp4");
    std::fs::write(&stored, &bytes).unwrap();
    let (tags, kinds, duration) = ffprobe(&stored);
    for gone in ["48.8584", "location", "Apple", "iPhone", "make", "model", "software"] {
        assert!(!tags.contains(gone), "{gone} is still in the stored video: {tags}");
    }
    assert_eq!(kinds, ["video", "audio"], "the streams are kept");
    assert!((duration - 10.0).abs() < 0.2, "still plays for 10 s: {duration}");
    assert_eq!(media["sizeBytes"].as_u64(), Some(bytes.len() as u64), "size of the stored bytes");
    assert_eq!(media["sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(&bytes)));
    assert_ne!(bytes, std::fs::read(&video).unwrap());
    assert_eq!((media["width"].as_u64(), media["durationMs"].as_u64().map(|d| d / 1000)), (Some(1280), Some(10)));
}

async fn kept(stack: Stack) {
    let dir = tempfile::tempdir().unwrap();
    let video = phone_video(dir.path());
    let (media, bytes) = upload_and_download(&stack, &video).await;
    assert!(bytes == std::fs::read(&video).unwrap(), "with MEDIAQ_STRIP_EXIF=false the bytes are kept exactly");
    assert_eq!(media["sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(&bytes)));
}

mod video_tags_are_stripped {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn embedded() {
        stripped(Stack::start(Kind::Embedded).await).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn production() {
        stripped(Stack::start(Kind::Production).await).await;
    }
}

mod video_bytes_are_kept_without_strip_exif {
    use super::*;
    const OFF: &[(&str, &str)] = &[("MEDIAQ_STRIP_EXIF", "false")];
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn embedded() {
        kept(Stack::start_with(Kind::Embedded, OFF).await).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn production() {
        kept(Stack::start_with(Kind::Production, OFF).await).await;
    }
}
