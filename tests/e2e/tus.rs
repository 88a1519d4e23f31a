//! tus 1.0 at `/api/v1/tus` on both stacks, driven over HTTP as a tus
//! client would: a chunked upload that becomes a processed file, wrong
//! offsets (409), wrong checksums (460, chunk discarded), termination,
//! a quota smaller than `Upload-Length`, creation-with-upload, a restart
//! of the API mid-upload, the expiry sweep, and concurrent PATCHes on
//! one upload (one wins, the other gets 409).

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mediaq_tests::{Kind, Stack, both_stacks_with, corpus};
use reqwest::{Method, Response};
use sha2::{Digest, Sha256};

const NO_STRIP: &[(&str, &str)] = &[("MEDIAQ_STRIP_EXIF", "false")];

async fn create(stack: &Stack, key: &str, length: usize, body: Option<Vec<u8>>) -> Response {
    let mut req = stack
        .http
        .post(stack.url("/api/v1/tus"))
        .bearer_auth(key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", format!("filename {}", STANDARD.encode("big picture.png")));
    if let Some(b) = body {
        req = req.header("Content-Type", "application/offset+octet-stream").body(b);
    }
    req.send().await.unwrap()
}

async fn created(stack: &Stack, key: &str, length: usize) -> String {
    let res = create(stack, key, length, None).await;
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(res.headers()["tus-resumable"], "1.0.0");
    assert!(res.headers().contains_key("upload-expires"));
    res.headers()["location"].to_str().unwrap().to_owned()
}

async fn patch(stack: &Stack, key: &str, url: &str, offset: usize, bytes: Vec<u8>, sum: Option<String>) -> Response {
    let mut req = stack
        .http
        .patch(url)
        .bearer_auth(key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream");
    if let Some(s) = sum {
        req = req.header("Upload-Checksum", s);
    }
    req.body(bytes).send().await.unwrap()
}

/// `(status, Upload-Offset)` of a HEAD.
async fn head(stack: &Stack, key: &str, url: &str) -> (u16, Option<u64>) {
    let res = stack.http.head(url).bearer_auth(key).header("Tus-Resumable", "1.0.0").send().await.unwrap();
    let offset = res.headers().get("upload-offset").map(|v| v.to_str().unwrap().parse().unwrap());
    if res.status() == 200 {
        assert_eq!(res.headers()["cache-control"], "no-store");
    }
    (res.status().as_u16(), offset)
}

fn id_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Uploads `bytes` in `chunk`-sized PATCHes; returns the file id.
async fn upload(stack: &Stack, key: &str, bytes: &[u8], chunk: usize) -> String {
    let url = created(stack, key, bytes.len()).await;
    for (i, part) in bytes.chunks(chunk).enumerate() {
        let res = patch(stack, key, &url, i * chunk, part.to_vec(), None).await;
        assert_eq!(res.status().as_u16(), 204, "{}", res.text().await.unwrap());
    }
    id_of(&url).to_owned()
}

both_stacks_with!(a_chunked_upload_becomes_a_processed_file, NO_STRIP, |stack: Stack| async move {
    let key = stack.key("alice");
    let opts = stack.http.request(Method::OPTIONS, stack.url("/api/v1/tus")).send().await.unwrap();
    assert_eq!(opts.headers()["tus-version"], "1.0.0");
    assert!(opts.headers()["tus-extension"].to_str().unwrap().contains("creation-with-upload"));
    assert_eq!(opts.headers()["tus-checksum-algorithm"], "sha1,sha256");
    // 13 MB in 3 MiB chunks: on S3, parts of 8 MiB and staging tails.
    let bytes = std::fs::read(corpus("kde_Patak_5120_alpha.png")).unwrap();
    let id = upload(&stack, &key, &bytes, 3 * 1024 * 1024).await;
    let file = stack.wait_settled(&key, &id, Duration::from_secs(120)).await;
    assert_eq!(file["status"], "ready", "{file}");
    assert_eq!(file["sha256"].as_str(), Some(sha256(&bytes).as_str()), "{file}");
    assert_eq!(file["name"], "big picture.png");
    assert_eq!(file["sizeBytes"].as_u64(), Some(bytes.len() as u64));
    // Nothing left beside the original and its variants.
    let (status, offset) = head(&stack, &key, &stack.url(&format!("/api/v1/tus/{id}"))).await;
    assert_eq!((status, offset), (200, Some(bytes.len() as u64)));
    assert!(stack.objects_of(&id) <= 3, "staging objects left behind");
});

both_stacks_with!(wrong_offsets_and_checksums_are_refused, NO_STRIP, |stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus("skimage_camera.png")).unwrap();
    let url = created(&stack, &key, bytes.len()).await;
    let half = bytes.len() / 2;
    assert_eq!(patch(&stack, &key, &url, 0, bytes[..half].to_vec(), None).await.status(), 204);
    // Wrong offset.
    assert_eq!(patch(&stack, &key, &url, 5, bytes[half..].to_vec(), None).await.status(), 409);
    // Wrong checksum: discarded, offset unchanged.
    let wrong = format!("sha256 {}", STANDARD.encode(Sha256::digest(b"something else")));
    let res = patch(&stack, &key, &url, half, bytes[half..].to_vec(), Some(wrong)).await;
    assert_eq!(res.status().as_u16(), 460);
    assert_eq!(res.headers()["tus-resumable"], "1.0.0");
    assert_eq!(head(&stack, &key, &url).await, (200, Some(half as u64)));
    // Unsupported algorithm, unsupported version, wrong content type.
    let md5 = patch(&stack, &key, &url, half, bytes[half..].to_vec(), Some("md5 AAAA".into())).await;
    assert_eq!(md5.status(), 400);
    let old = stack.http.head(&url).bearer_auth(&key).header("Tus-Resumable", "0.2.2").send().await.unwrap();
    assert_eq!(old.status(), 412);
    let ct = stack.http.patch(&url).bearer_auth(&key).header("Tus-Resumable", "1.0.0").header("Upload-Offset", "0");
    assert_eq!(ct.body("x").send().await.unwrap().status(), 415);
    // Someone else's upload does not exist for them; no key is a 401.
    let bob = stack.key("bob");
    assert_eq!(head(&stack, &bob, &url).await.0, 404);
    assert_eq!(stack.http.head(&url).header("Tus-Resumable", "1.0.0").send().await.unwrap().status(), 401);
    // The right sha1 goes through and completes the file.
    let sha1 = <sha1::Sha1 as sha1::Digest>::digest(&bytes[half..]);
    let right = format!("sha1 {}", STANDARD.encode(sha1));
    assert_eq!(patch(&stack, &key, &url, half, bytes[half..].to_vec(), Some(right)).await.status(), 204);
    let file = stack.wait_settled(&key, id_of(&url), Duration::from_secs(60)).await;
    assert_eq!(file["sha256"].as_str(), Some(sha256(&bytes).as_str()), "{file}");
});

both_stacks_with!(
    termination_and_quota_free_the_room,
    &[("MEDIAQ_DEFAULT_QUOTA_BYTES", "100000")],
    |stack: Stack| async move {
        let key = stack.key("alice");
        let over = create(&stack, &key, 200_000, None).await;
        assert_eq!(over.status().as_u16(), 413);
        let problem: serde_json::Value = over.json().await.unwrap();
        assert_eq!(problem["limit"], 100_000, "{problem}");
        let url = created(&stack, &key, 60_000).await;
        // Reserved at creation: a second one does not fit.
        assert_eq!(create(&stack, &key, 60_000, None).await.status(), 413);
        assert_eq!(patch(&stack, &key, &url, 0, vec![7u8; 30_000], None).await.status(), 204);
        let del = stack.http.delete(&url).bearer_auth(&key).header("Tus-Resumable", "1.0.0").send().await.unwrap();
        assert_eq!(del.status(), 204);
        assert_eq!(head(&stack, &key, &url).await.0, 404);
        assert_eq!(patch(&stack, &key, &url, 30_000, vec![7u8; 10], None).await.status(), 404);
        assert_eq!(stack.objects_of(id_of(&url)), 0, "the bytes of a terminated upload remain");
        // Released: there is room again.
        created(&stack, &key, 60_000).await;
    }
);

both_stacks_with!(creation_with_upload_records_the_file, NO_STRIP, |stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus("skimage_camera.png")).unwrap();
    let res = create(&stack, &key, bytes.len(), Some(bytes.clone())).await;
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(res.headers()["upload-offset"].to_str().unwrap(), bytes.len().to_string());
    let url = res.headers()["location"].to_str().unwrap().to_owned();
    let file = stack.wait_settled(&key, id_of(&url), Duration::from_secs(60)).await;
    assert_eq!(file["status"], "ready", "{file}");
    assert_eq!(file["sha256"].as_str(), Some(sha256(&bytes).as_str()));
});

/// Restarts the API process(es) of the stack (SIGKILL, as in a crash).
async fn restart_api(stack: &mut Stack) {
    stack.kill(0);
    let args: &[&str] = if stack.kind == Kind::Embedded { &["all"] } else { &["serve"] };
    let index = stack.spawn(args);
    stack.processes.swap(0, index);
    stack.wait_ready().await;
}

both_stacks_with!(an_upload_resumes_after_the_api_restarts, NO_STRIP, |mut stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus("mate_Elephants_1920.jpg")).unwrap();
    let url = created(&stack, &key, bytes.len()).await;
    let third = bytes.len() / 3;
    assert_eq!(patch(&stack, &key, &url, 0, bytes[..third].to_vec(), None).await.status(), 204);
    // A PATCH in flight when the API dies: it sends some bytes, then stalls.
    // Probing with an empty PATCH tells when it holds the upload (409); a
    // probe that got there first (204) made it fail (the server reads a
    // refused chunk for at most 5 s), so it is sent again.
    let deadline = Instant::now() + Duration::from_secs(40);
    let (tx, inflight) = loop {
        let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
        tx.unbounded_send(Ok(bytes[third..third + 1000].to_vec())).unwrap();
        let req = stack
            .http
            .patch(&url)
            .bearer_auth(&key)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", third.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(reqwest::Body::wrap_stream(rx))
            .send();
        let inflight = tokio::spawn(req);
        let held = loop {
            if patch(&stack, &key, &url, third, Vec::new(), None).await.status() == 409 {
                break true;
            }
            if inflight.is_finished() {
                break false;
            }
        };
        if held {
            break (tx, inflight);
        }
        assert!(Instant::now() < deadline, "the stalled PATCH never took the upload");
    };
    restart_api(&mut stack).await;
    let _ = inflight.await;
    drop(tx);
    // The offset survived; resume from it (the dead writer's lock lapses).
    let (status, offset) = head(&stack, &key, &url).await;
    assert_eq!(status, 200);
    let offset = usize::try_from(offset.unwrap()).unwrap();
    assert!(offset >= third, "offset went back to {offset}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = patch(&stack, &key, &url, offset, bytes[offset..].to_vec(), None).await;
        if res.status() == 204 {
            break;
        }
        assert_eq!(res.status(), 409, "{}", res.text().await.unwrap());
        assert!(Instant::now() < deadline, "the upload stayed locked");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let file = stack.wait_settled(&key, id_of(&url), Duration::from_secs(60)).await;
    assert_eq!(file["sha256"].as_str(), Some(sha256(&bytes).as_str()), "{file}");
});

both_stacks_with!(
    the_sweep_removes_expired_uploads,
    &[("MEDIAQ_TUS_EXPIRY_SECS", "1"), ("MEDIAQ_DEFAULT_QUOTA_BYTES", "100000")],
    |stack: Stack| async move {
        let key = stack.key("alice");
        let url = created(&stack, &key, 60_000).await;
        assert_eq!(patch(&stack, &key, &url, 0, vec![1u8; 20_000], None).await.status(), 204);
        assert_eq!(create(&stack, &key, 60_000, None).await.status(), 413);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = stack.command(&["sweep"]).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            if head(&stack, &key, &url).await.0 == 404 {
                break;
            }
            assert!(Instant::now() < deadline, "the expired upload was never swept");
        }
        assert_eq!(stack.objects_of(id_of(&url)), 0, "the bytes of an expired upload remain");
        created(&stack, &key, 60_000).await;
    }
);

both_stacks_with!(concurrent_patches_one_wins, NO_STRIP, |stack: Stack| async move {
    let key = stack.key("alice");
    let n = 64 * 1024;
    for round in 0..20u8 {
        let url = created(&stack, &key, 2 * n).await;
        let (a, b) = (vec![round; n], vec![round.wrapping_add(100); n]);
        let (ra, rb) =
            tokio::join!(patch(&stack, &key, &url, 0, a.clone(), None), patch(&stack, &key, &url, 0, b.clone(), None));
        let statuses = [ra.status().as_u16(), rb.status().as_u16()];
        assert!(statuses.contains(&204) && statuses.contains(&409), "round {round}: {statuses:?}");
        assert_eq!(head(&stack, &key, &url).await, (200, Some(n as u64)));
        let winner = if statuses[0] == 204 { &a } else { &b };
        let dir = stack.objects_dir().join("media").join(id_of(&url));
        let stored = match stack.kind {
            Kind::Embedded => std::fs::read(dir.join("original")).unwrap(),
            Kind::Production => std::fs::read(dir.join("tail.0")).unwrap(),
        };
        assert_eq!(&stored[..n], winner.as_slice(), "round {round}: the loser's bytes were kept");
        stack.http.delete(&url).bearer_auth(&key).header("Tus-Resumable", "1.0.0").send().await.unwrap();
    }
});

/// Waits until the API process at `base` answers `/readyz`.
async fn wait_ready_at(stack: &Stack, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stack.http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "the second API did not start; logs:\n{}", stack.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// Two API processes over one database and store; the chunks of one upload
// alternate between them, each sent the moment the one before it was
// answered (on the file system store that answer comes before its offset
// is recorded). The other process must never show an offset but the one
// before or after that chunk, must refuse a PATCH at the old offset (409,
// its bytes never kept) and one past the answered offset, and must take
// the next chunk at the answered one; the file ends intact. Chunks of
// 1 MiB + 7 bytes: on S3 some end in a staging tail, some fill parts.
both_stacks_with!(chunks_alternate_between_two_api_processes, NO_STRIP, |mut stack: Stack| async move {
    let key = stack.key("alice");
    let second = stack.spawn_second_api();
    wait_ready_at(&stack, &second).await;
    let (chunk, rounds) = (1024 * 1024 + 7, 24);
    let bytes: Vec<u8> = (0..chunk * rounds).map(|i| u8::try_from(i * 7919 % 251).unwrap()).collect();
    let id = id_of(&created(&stack, &key, bytes.len()).await).to_owned();
    let urls = [stack.url(&format!("/api/v1/tus/{id}")), format!("{second}/api/v1/tus/{id}")];
    let mut offset = 0;
    for (i, part) in bytes.chunks(chunk).enumerate() {
        let (this, other) = (&urls[i % 2], &urls[(i + 1) % 2]);
        let res = patch(&stack, &key, this, offset, part.to_vec(), None).await;
        assert_eq!(res.status(), 204, "chunk {i}: {}", res.text().await.unwrap());
        let answered = offset + part.len();
        assert_eq!(res.headers()["upload-offset"].to_str().unwrap(), answered.to_string(), "chunk {i}");
        if answered == bytes.len() {
            break;
        }
        let stale = patch(&stack, &key, other, offset, vec![0xEE; part.len()], None).await;
        assert_eq!(stale.status(), 409, "chunk {i}: a PATCH at the old offset on the other process");
        if i % 2 == 0 {
            let (status, seen) = head(&stack, &key, other).await;
            assert_eq!(status, 200);
            let seen = usize::try_from(seen.unwrap()).unwrap();
            assert!(seen == offset || seen == answered, "chunk {i}: the other process shows offset {seen}");
        }
        if i == rounds / 2 {
            let ahead = patch(&stack, &key, other, answered + 1, vec![0xEE; 10], None).await;
            assert_eq!(ahead.status(), 409, "a PATCH past the answered offset");
        }
        offset = answered;
    }
    let file = stack.wait_settled(&key, &id, Duration::from_secs(120)).await;
    assert_eq!(file["sizeBytes"].as_u64(), Some(bytes.len() as u64), "{file}");
    assert_eq!(file["sha256"].as_str(), Some(sha256(&bytes).as_str()), "{file}");
    let left: Vec<_> = std::fs::read_dir(stack.objects_dir().join("media").join(&id))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("tail."))
        .collect();
    assert!(left.is_empty(), "staging objects left: {left:?}");
});
