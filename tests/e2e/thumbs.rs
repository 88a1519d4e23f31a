//! Thumbnails by size on both stacks: sizes, crop and formats measured by
//! decoding the answers; images, transparency and video (from its frame);
//! access for owner, sharee, others, public links; kept and revalidated;
//! files of kind `file` have none, trashed files are not served; 20
//! concurrent first requests over two API processes render once (each
//! answer says whether it rendered: `X-Cache: MISS` or `HIT`).

use std::time::{Duration, Instant};

use mediaq_tests::{Stack, both_stacks, corpus};
use reqwest::Method;
use serde_json::{Value, json};

/// GETs `url` with `key`; status, content type, bytes and ETag.
async fn get(stack: &Stack, url: &str, key: Option<&str>) -> (u16, String, Vec<u8>, String) {
    let (status, ct, bytes, etag, _) = get_cached(stack, url, key).await;
    (status, ct, bytes, etag)
}

/// [`get`], and the `X-Cache` header.
async fn get_cached(stack: &Stack, url: &str, key: Option<&str>) -> (u16, String, Vec<u8>, String, String) {
    let mut req = stack.http.get(url);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let res = req.send().await.unwrap();
    let header = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let (status, ct, etag, cache) = (res.status().as_u16(), header("content-type"), header("etag"), header("x-cache"));
    (status, ct, res.bytes().await.unwrap().to_vec(), etag, cache)
}

/// Decodes a thumbnail: its format and size.
fn measure(bytes: &[u8]) -> (image::ImageFormat, u32, u32, bool) {
    let format = image::guess_format(bytes).unwrap();
    let img = image::load_from_memory(bytes).unwrap();
    (format, img.width(), img.height(), img.color().has_alpha())
}

fn thumb(stack: &Stack, id: &str, query: &str) -> String {
    stack.url(&format!("/api/v1/files/{id}/thumb?{query}"))
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

both_stacks!(thumbnails_by_size_are_measured_kept_and_guarded, |stack: Stack| async move {
    use image::ImageFormat::{Jpeg, Png, WebP};
    let alice = stack.key("alice");
    let bob = stack.key("bob");
    let photo = id_of(&stack.upload_native(&alice, &corpus("mate_Aqua.jpg"), None).await); // 2560×1600
    let cases = [
        ("size=300x300", (Jpeg, 300, 188)),
        ("size=120x90&crop=1&format=png", (Png, 120, 90)),
        ("size=64x64&format=webp", (WebP, 64, 40)),
        ("size=2048x16", (Jpeg, 26, 16)),
        ("size=50x400&crop=1&format=jpeg", (Jpeg, 50, 400)),
    ];
    for (query, (format, w, h)) in cases {
        let (status, ct, bytes, _) = get(&stack, &thumb(&stack, &photo, query), Some(&alice)).await;
        assert_eq!(status, 200, "{query}: {}", String::from_utf8_lossy(&bytes));
        let (f, width, height, _) = measure(&bytes);
        assert_eq!((f, width, height), (format, w, h), "{query}");
        assert_eq!(ct, format!("image/{}", format.extensions_str()[0].replace("jpg", "jpeg")), "{query}");
    }
    // Never enlarged without crop.
    let cat = id_of(&stack.upload_native(&alice, &corpus("skimage_chelsea.png"), None).await); // 451×300
    let (_, _, bytes, _) = get(&stack, &thumb(&stack, &cat, "size=1000x1000"), Some(&alice)).await;
    assert_eq!(measure(&bytes), (Jpeg, 451, 300, false));
    // kde_Patak_1080_alpha.png has transparent pixels: PNG (or WebP when
    // asked) keeps them; JPEG only when asked for.
    let alpha = id_of(&stack.upload_native(&alice, &corpus("kde_Patak_1080_alpha.png"), None).await);
    let (_, _, bytes, _) = get(&stack, &thumb(&stack, &alpha, "size=100x100"), Some(&alice)).await;
    assert_eq!(measure(&bytes), (Png, 56, 100, true));
    let (_, _, bytes, _) = get(&stack, &thumb(&stack, &alpha, "size=100x100&format=webp"), Some(&alice)).await;
    assert_eq!(measure(&bytes), (WebP, 56, 100, true));
    let (_, _, bytes, _) = get(&stack, &thumb(&stack, &alpha, "size=100x100&format=jpeg"), Some(&alice)).await;
    assert_eq!(measure(&bytes), (Jpeg, 56, 100, false));
    // skimage_logo_alpha.png has an alpha channel but every pixel is
    // opaque: nothing to keep, so JPEG by default; PNG keeps the channel.
    let opaque = id_of(&stack.upload_native(&alice, &corpus("skimage_logo_alpha.png"), None).await);
    let (_, _, bytes, _) = get(&stack, &thumb(&stack, &opaque, "size=100x100"), Some(&alice)).await;
    assert_eq!(measure(&bytes), (Jpeg, 100, 100, false));
    let (_, _, bytes, _) = get(&stack, &thumb(&stack, &opaque, "size=100x100&format=png"), Some(&alice)).await;
    assert_eq!(measure(&bytes), (Png, 100, 100, true));
    // A video's thumbnail comes from its frame (1280×720).
    let video = id_of(&stack.upload_native(&alice, &corpus("video_h264_720p_10s.mp4"), None).await);
    let (status, _, bytes, _) = get(&stack, &thumb(&stack, &video, "size=320x320"), Some(&alice)).await;
    assert_eq!(status, 200);
    assert_eq!(measure(&bytes), (Jpeg, 320, 180, false));
    // Bad sizes are 400s.
    for query in ["size=15x100", "size=100x2049", "", "size=100", "size=64x64&format=gif", "size=64x64&crop=2"] {
        assert_eq!(get(&stack, &thumb(&stack, &photo, query), Some(&alice)).await.0, 400, "{query}");
    }
    // Kept: the same bytes again, not rendered again, and a 304 for its ETag.
    let url = thumb(&stack, &photo, "size=300x300");
    let (_, _, first, etag, cache) = get_cached(&stack, &url, Some(&alice)).await;
    let (_, _, again, etag2, cache2) = get_cached(&stack, &url, Some(&alice)).await;
    assert!(first == again && etag == etag2 && !etag.is_empty());
    assert_eq!((cache.as_str(), cache2.as_str()), ("HIT", "HIT"), "rendered by the size loop above");
    let (_, _, _, _, fresh) = get_cached(&stack, &thumb(&stack, &photo, "size=301x300"), Some(&alice)).await;
    assert_eq!(fresh, "MISS");
    let res = stack.http.get(&url).bearer_auth(&alice).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 304);
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    // Others: 404; no key: 401; a sharee may.
    assert_eq!(get(&stack, &url, Some(&bob)).await.0, 404);
    assert_eq!(get(&stack, &url, None).await.0, 401);
    let share = json!({ "fileId": photo, "username": "bob" });
    assert_eq!(stack.call(Method::POST, "/api/v1/shares", Some(&alice), Some(share)).await.0, 201);
    assert_eq!(get(&stack, &url, Some(&bob)).await.2, first);
    // Public links: a file link, a file in a folder link, a password.
    let make = |body: Value| stack.call(Method::POST, "/api/v1/links", Some(&alice), Some(body));
    let (_, link) = make(json!({ "fileId": photo, "allowDownload": false })).await;
    let base = link["url"].as_str().unwrap().to_owned();
    let (status, _, bytes, _) = get(&stack, &format!("{base}/thumb?size=200x200&crop=1"), None).await;
    assert_eq!(status, 200);
    assert_eq!(measure(&bytes), (Jpeg, 200, 200, false));
    let folder = stack.call(Method::POST, "/api/v1/folders", Some(&alice), Some(json!({ "name": "F" }))).await.1;
    let folder = id_of(&folder);
    let inside = id_of(&stack.upload_native(&alice, &corpus("kde_Path.jpg"), Some(&folder)).await);
    let (_, flink) = make(json!({ "folderId": folder, "password": "open-sesame" })).await;
    let fbase = flink["url"].as_str().unwrap().to_owned();
    let at = |q: &str| format!("{fbase}/thumb?size=100x100{q}");
    assert_eq!(get(&stack, &at(&format!("&fileId={inside}")), None).await.0, 401);
    assert_eq!(get(&stack, &at(&format!("&fileId={inside}&password=nope-nope")), None).await.0, 403);
    let (status, _, bytes, _) = get(&stack, &at(&format!("&fileId={inside}&password=open-sesame")), None).await;
    assert_eq!(status, 200);
    let (_, w, h, _) = measure(&bytes);
    assert!(w.max(h) == 100, "{w}×{h}");
    assert_eq!(get(&stack, &at(&format!("&fileId={photo}&password=open-sesame")), None).await.0, 404);
    assert_eq!(get(&stack, &at("&password=open-sesame"), None).await.0, 400);
    // A file that is not an image or a video has none: 400.
    let doc = stack.upload_bytes(&alice, "doc.pdf", crate::files_any::pdf("thumb"), None).await;
    assert_eq!(doc["kind"], "file", "{doc}");
    let (status, _, body, _) = get(&stack, &thumb(&stack, &id_of(&doc), "size=100x100"), Some(&alice)).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    // A file in the trash is not served (its owner restores it first).
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{cat}"), Some(&alice), None).await.0, 204);
    assert_eq!(get(&stack, &thumb(&stack, &cat, "size=1000x1000"), Some(&alice)).await.0, 404);
    assert_eq!(stack.call(Method::POST, &format!("/api/v1/trash/{cat}/restore"), Some(&alice), None).await.0, 200);
    assert_eq!(get(&stack, &thumb(&stack, &cat, "size=1000x1000"), Some(&alice)).await.0, 200);
    // Removed with the file: its kept sizes go with its objects.
    assert!(stack.objects_of(&photo) > 3);
    let del = stack.call(Method::DELETE, &format!("/api/v1/files/{photo}?permanent=true"), Some(&alice), None);
    assert_eq!(del.await.0, 204);
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack.objects_of(&photo) > 0 {
        assert!(Instant::now() < deadline, "the kept thumbnails outlived their file");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
});

async fn wait_ready(stack: &Stack, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stack.http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "the second API did not start; logs:\n{}", stack.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both_stacks!(concurrent_first_requests_render_once, |mut stack: Stack| async move {
    let alice = stack.key("alice");
    let photo = id_of(&stack.upload_native(&alice, &corpus("kde_Autumn.jpg"), None).await);
    // Two API processes over one database and store: the claim is shared.
    let second = stack.spawn_second_api();
    wait_ready(&stack, &second).await;
    for round in 0..20u32 {
        let size = format!("{}x{}", 100 + round, 80 + round);
        let requests: Vec<_> = (0..20)
            .map(|i| {
                let base = if i % 2 == 0 { stack.base.clone() } else { second.clone() };
                let req = stack.http.get(format!("{base}/api/v1/files/{photo}/thumb?size={size}")).bearer_auth(&alice);
                async move {
                    let res = req.send().await.unwrap();
                    let cache =
                        res.headers().get("x-cache").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
                    (res.status().as_u16(), res.bytes().await.unwrap().to_vec(), cache)
                }
            })
            .collect();
        let answers = futures::future::join_all(requests).await;
        assert!(
            answers.iter().all(|(s, _, _)| *s == 200),
            "round {round}: {:?}",
            answers.iter().map(|a| a.0).collect::<Vec<_>>()
        );
        assert!(answers.iter().all(|(_, b, _)| *b == answers[0].1), "round {round}: the answers differ");
        let caches: Vec<&str> = answers.iter().map(|(_, _, c)| c.as_str()).collect();
        let renders = caches.iter().filter(|c| **c == "MISS").count();
        assert_eq!(renders, 1, "round {round}: {renders} renders of {size}: {caches:?}");
        assert!(caches.iter().all(|c| *c == "MISS" || *c == "HIT"), "round {round}: {caches:?}");
    }
});
