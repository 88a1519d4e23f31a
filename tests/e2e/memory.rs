//! Memory of the worker: uploads of 256 MiB of several kinds to `mediaq
//! all` (embedded stack: API and workers in one process, so its peak RSS
//! covers both) must each grow the process's peak resident memory by less
//! than 64 MiB, whether the image's header passes the limits or not.
//! `scripts/bench-memory.sh` runs the same at 1 GiB on a release build.

use std::time::Duration;

use mediaq_tests::{Kind, Stack, corpus};
use serde_json::Value;

const MIB: usize = 1024 * 1024;
const BULK: usize = 256 * MIB;
const GOAL_KIB: u64 = 64 * 1024;

/// A field of /proc/PID/status, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// `BULK` bytes of noise: one random MiB repeated (xorshift, reproducible).
fn noise() -> Vec<u8> {
    mediaq_tests::noise(BULK / MIB, 0x9e37_79b9_7f4a_7c15)
}

/// A PNG header claiming `w`×`h` pixels (no image data).
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut png = std::fs::read(corpus("skimage_chelsea.png")).unwrap();
    png.truncate(33);
    png[16..20].copy_from_slice(&w.to_be_bytes());
    png[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// An MP4 with a `free` box of `BULK` bytes after its data, as some
/// cameras pad their files.
fn padded_mp4() -> Vec<u8> {
    let mut mp4 = std::fs::read(corpus("video_h264_720p_10s.mp4")).unwrap();
    mp4.extend_from_slice(&u32::try_from(BULK + 8).unwrap().to_be_bytes());
    mp4.extend_from_slice(b"free");
    mp4.resize(mp4.len() + BULK, 0);
    mp4
}

async fn upload(stack: &Stack, key: &str, name: &str, bytes: Vec<u8>) -> String {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    let res = stack.http.post(stack.url("/api/v1/files")).bearer_auth(key).multipart(form).send().await.unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 202, "{name}: {body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Uploads `bytes`, waits for the media to settle, and returns it with
/// the growth of the process's peak RSS (KiB) while it was handled.
async fn measured(stack: &Stack, key: &str, name: &str, bytes: Vec<u8>) -> (Value, u64) {
    let pid = stack.processes[0].id();
    // Writing 5 resets the peak (VmHWM) to the current RSS.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let before = status_kib(pid, "VmHWM:");
    let id = upload(stack, key, name, bytes).await;
    let media = stack.wait_settled(key, &id, Duration::from_secs(300)).await;
    (media, status_kib(pid, "VmHWM:").saturating_sub(before))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_uploads_of_every_kind_keep_the_worker_flat() {
    let limit = (2 * BULK).to_string();
    let stack = Stack::start_with(Kind::Embedded, &[("MEDIAQ_MAX_UPLOAD_BYTES", &limit)]).await;
    let key = stack.key("alice");
    // Warm up every path once (decoders, thread pools, allocator arenas).
    for name in ["mate_Aqua.jpg", "skimage_chelsea.png", "video_h264_720p_10s.mp4"] {
        let (media, _) = measured(&stack, &key, name, std::fs::read(corpus(name)).unwrap()).await;
        assert_eq!(media["status"], "ready", "{name}: {media}");
    }
    let jpeg = std::fs::read(corpus("mate_Aqua.jpg")).unwrap();
    let chelsea = std::fs::read(corpus("skimage_chelsea.png")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // Header passes; 256 MiB after the image's end.
        ("trailing.jpg", [jpeg, noise()].concat(), "ready"),
        ("trailing.png", [chelsea, noise()].concat(), "ready"),
        // Header over the pixel limit, then 256 MiB.
        ("bomb.png", [png_header(60_000, 60_000), noise()].concat(), "failed"),
        // Image magic, then random bytes.
        ("random.gif", [b"GIF89a".to_vec(), noise()].concat(), "failed"),
        ("random.jpg", [vec![0xFF, 0xD8, 0xFF], noise()].concat(), "failed"),
        ("padded.mp4", padded_mp4(), "ready"),
    ];
    let mut report = Vec::new();
    for (name, bytes, status) in cases {
        let (media, growth) = measured(&stack, &key, name, bytes).await;
        assert_eq!(media["status"], status, "{name}: {media}");
        report.push(format!("{name}: +{} MiB", growth / 1024));
        assert!(growth < GOAL_KIB, "{name}: peak RSS grew by {} MiB (goal < 64); {report:?}", growth / 1024);
    }
    eprintln!("peak RSS growth per 256 MiB upload: {report:?}");
}
