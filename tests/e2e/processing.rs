//! The worker pipeline over the whole corpus and over hostile inputs, on
//! both stacks: every real image and video becomes a ready media with true
//! facts and derivatives; bombs, header lies, truncated and random files
//! fail with a readable reason while the workers stay up.

use std::time::Duration;

use mediaq_tests::{Stack, both_stacks, corpus};
use serde_json::Value;

async fn upload_bytes(stack: &Stack, key: &str, name: &str, bytes: Vec<u8>) -> String {
    let form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    let res = stack.http.post(stack.url("/api/v1/files")).bearer_auth(key).multipart(form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202, "{name}");
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

fn corpus_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus(""))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| [".jpg", ".png", ".gif", ".webp", ".mp4", ".webm"].iter().any(|ext| n.ends_with(ext)))
        .collect();
    names.sort();
    names
}

both_stacks!(every_corpus_file_becomes_ready_with_true_facts, |stack: Stack| async move {
    let key = stack.key("alice");
    let names = corpus_files();
    assert!(names.len() >= 30, "corpus not found: {names:?}");
    let mut ids = Vec::new();
    for name in &names {
        ids.push(upload_bytes(&stack, &key, name, std::fs::read(corpus(name)).unwrap()).await);
    }
    for (name, id) in names.iter().zip(&ids) {
        let media = stack.wait_settled(&key, id, Duration::from_secs(300)).await;
        assert_eq!(media["status"], "ready", "{name}: {media}");
        let (w, h) = (media["width"].as_u64().unwrap(), media["height"].as_u64().unwrap());
        let thumb = &media["variants"]["thumb"];
        assert_eq!((thumb["width"].as_u64(), thumb["height"].as_u64()), (Some(160), Some(160)), "{name}");
        assert_eq!(media["variants"]["medium"].is_object(), w > 500, "{name}: medium only when wider than 500 px");
        if name.ends_with(".mp4") || name.ends_with(".webm") {
            let expected_ms = if name.contains("10s") { 10_000 } else { 20_000 };
            let ms = media["durationMs"].as_u64().unwrap();
            assert!(ms.abs_diff(expected_ms) < 500, "{name}: duration {ms} ms");
            assert!(media["variants"]["frame"].is_object(), "{name}: a video has a frame");
            let expected = if name.contains("720p") { (1280, 720) } else { (640, 360) };
            assert_eq!((w, h), expected, "{name}");
        } else {
            let decoded = image::image_dimensions(corpus(name)).unwrap();
            assert_eq!((w, h), (u64::from(decoded.0), u64::from(decoded.1)), "{name}");
            assert!(media["variants"]["frame"].is_null(), "{name}");
        }
        assert_eq!(media["isAnimated"], name.contains("anim"), "{name}");
    }
});

/// A PNG whose header claims `w`×`h` pixels, followed by a tiny body.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(b"IHDR");
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let crc = crc32(&ihdr);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc.to_be_bytes());
    png.extend_from_slice(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]);
    png
}

fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

both_stacks!(hostile_files_fail_cleanly_and_the_workers_stay_up, |stack: Stack| async move {
    let key = stack.key("mallory");
    let jpeg = std::fs::read(corpus("mate_Wood.jpg")).unwrap();
    let mp4 = std::fs::read(corpus("video_h264_720p_10s.mp4")).unwrap();
    let mut random = b"\xFF\xD8\xFF\xE0".to_vec();
    random.extend((0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bomb.png", png_claiming(100_000, 100_000)),
        ("liar.png", png_claiming(64, 64)),
        ("truncated.jpg", jpeg[..jpeg.len() / 3].to_vec()),
        ("random.jpg", random),
        ("truncated.mp4", mp4[..20_000].to_vec()),
    ];
    let mut ids = Vec::new();
    for (name, bytes) in &cases {
        ids.push(upload_bytes(&stack, &key, name, bytes.clone()).await);
    }
    for ((name, _), id) in cases.iter().zip(&ids) {
        let media = stack.wait_settled(&key, id, Duration::from_secs(120)).await;
        assert_eq!(media["status"], "failed", "{name}: {media}");
        let reason = media["error"].as_str().unwrap_or("");
        assert!(reason.len() > 10, "{name}: the reason says something: {reason:?}");
        if *name == "bomb.png" {
            assert!(reason.contains("pixels"), "{name}: {reason}");
        }
    }
    // Still serving, still processing.
    let good = upload_bytes(&stack, &key, "ok.jpg", jpeg).await;
    assert_eq!(stack.wait_settled(&key, &good, Duration::from_secs(60)).await["status"], "ready");
});
