//! The Chevereto upload, end to end, on both stacks: the answer carries the
//! true facts of the file, and every URL in it serves what it should.

use md5::{Digest, Md5};
use mediaq_tests::{Stack, both_stacks, corpus};
use serde_json::Value;

async fn check_variant(stack: &Stack, image: &Value, field: &str, width: u32, height: u32, mime: &str) {
    let url = image[field]["url"].as_str().unwrap_or_else(|| panic!("no {field} url in {image}"));
    let (status, ct, bytes) = stack.fetch(url).await;
    assert_eq!(status, 200, "{url}");
    assert_eq!(ct, mime, "{url}");
    assert_eq!(image[field]["size"].as_u64().unwrap(), bytes.len() as u64);
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (width, height), "{field}");
}

both_stacks!(jpeg_upload_comes_back_with_thumb_and_medium, |stack: Stack| async move {
    let key = stack.key("alice");
    let file = corpus("mate_Aqua.jpg");
    let original = std::fs::read(&file).unwrap();
    let (status, body) = stack.chevereto_upload(&key, &file, &[("title", "Aqua"), ("tags", "sea, blue")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status_code"], 200);
    let image = &body["image"];
    assert_eq!(image["processing_status"], "ready", "{image}");
    assert_eq!((image["width"].as_u64(), image["height"].as_u64()), (Some(2560), Some(1600)));
    assert_eq!(image["mime"], "image/jpeg");
    assert_eq!(image["extension"], "jpg");
    assert_eq!(image["original_filename"], "mate_Aqua.jpg");
    assert_eq!(image["title"], "Aqua");
    assert_eq!(image["tags"], serde_json::json!(["sea", "blue"]));
    assert_eq!(image["source_checksum"].as_str().unwrap(), hex::encode(Md5::digest(&original)), "MD5 of the upload");
    assert_eq!(image["chain"], 15, "original, image, medium and thumb");

    // Stored without its metadata (MEDIAQ_STRIP_EXIF defaults to true):
    // `checksum` and `size` describe the bytes `url` serves.
    let (status, ct, bytes) = stack.fetch(image["url"].as_str().unwrap()).await;
    assert_eq!((status, ct.as_str()), (200, "image/jpeg"));
    assert_eq!(image["size"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(image["checksum"].as_str().unwrap(), hex::encode(Md5::digest(&bytes)));
    let served = image::load_from_memory(&bytes).unwrap();
    assert_eq!((served.width(), served.height()), (2560, 1600));
    check_variant(&stack, image, "thumb", 160, 160, "image/jpeg").await;
    check_variant(&stack, image, "medium", 500, 313, "image/jpeg").await; // 312.5 rounds up
    assert!(image["frame"]["url"].is_null());
});

both_stacks!(alpha_png_keeps_alpha_and_small_images_get_no_medium, |stack: Stack| async move {
    let key = stack.key("bob");
    let (status, body) = stack.chevereto_upload(&key, &corpus("kde_Patak_1080_alpha.png"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let image = &body["image"];
    assert_eq!((image["width"].as_u64(), image["height"].as_u64()), (Some(1080), Some(1920)));
    check_variant(&stack, image, "medium", 500, 889, "image/png").await;
    let medium = stack.fetch(image["medium"]["url"].as_str().unwrap()).await.2;
    let rgba = image::load_from_memory(&medium).unwrap().to_rgba8();
    assert!(rgba.pixels().any(|p| p.0[3] < 255), "the medium keeps its transparency");
    // A small image gets no medium.
    let (status, body) = stack.chevereto_upload(&key, &corpus("skimage_chelsea.png"), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["image"]["medium"]["url"].is_null(), "no medium for a 451 px wide image");
    assert_eq!(body["image"]["chain"], 13);
    check_variant(&stack, &body["image"], "thumb", 160, 160, "image/jpeg").await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originals_are_kept_byte_for_byte_when_metadata_stripping_is_off() {
    let stack = Stack::start_with(mediaq_tests::Kind::Embedded, &[("MEDIAQ_STRIP_EXIF", "false")]).await;
    let key = stack.key("alice");
    let original = std::fs::read(corpus("mate_Aqua.jpg")).unwrap();
    let (status, body) = stack.chevereto_upload(&key, &corpus("mate_Aqua.jpg"), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["image"]["checksum"], body["image"]["source_checksum"]);
    assert_eq!(stack.fetch(body["image"]["url"].as_str().unwrap()).await.2, original);
}

both_stacks!(refused_uploads_say_why_and_store_nothing, |stack: Stack| async move {
    let key = stack.key("carol");
    // Wrong key.
    let (status, body) =
        stack.chevereto_upload("mq_wrongwrongwrongwrongwrongwrongwrongwrong", &corpus("mate_Aqua.jpg"), &[]).await;
    assert_eq!((status, body["error"]["code"].as_u64()), (401, Some(100)), "{body}");
    // Not an image.
    let text = stack.data_dir.path().join("notes.png");
    std::fs::write(&text, "just some text, named like an image").unwrap();
    let (status, body) = stack.chevereto_upload(&key, &text, &[]).await;
    assert_eq!((status, body["error"]["code"].as_u64()), (415, Some(612)), "{body}");
    // No source at all.
    let res = stack
        .http
        .post(stack.url("/api/1/upload"))
        .header("X-API-Key", &key)
        .form(&[("title", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 130, "{body}");
    // A bad parameter after the file.
    let (status, body) = stack.chevereto_upload(&key, &corpus("skimage_camera.png"), &[("expiration", "soon")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("expiration"), "{body}");
    // use_file_date is for administrators.
    let (status, body) = stack.chevereto_upload(&key, &corpus("skimage_camera.png"), &[("use_file_date", "1")]).await;
    assert_eq!(status, 403, "{body}");
    // None of it left an object behind.
    if stack.kind == mediaq_tests::Kind::Embedded {
        let objects = stack.data_dir.path().join("objects/media");
        let left: Vec<_> = std::fs::read_dir(&objects).map(|d| d.flatten().collect()).unwrap_or_default();
        assert!(left.is_empty(), "objects left behind: {left:?}");
    }
});

both_stacks!(health_and_readiness_answer, |stack: Stack| async move {
    let (status, _, _) = stack.fetch(&stack.url("/healthz")).await;
    assert_eq!(status, 200);
    let res = stack.http.get(stack.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    for part in ["database", "queue", "storage"] {
        assert_eq!(body["checks"][part]["ok"], true, "{body}");
    }
});

both_stacks!(width_resizes_the_stored_image_and_keeps_the_source_checksum, |stack: Stack| async move {
    let key = stack.key("alice");
    let original = std::fs::read(corpus("mate_Aqua.jpg")).unwrap();
    let (status, body) = stack.chevereto_upload(&key, &corpus("mate_Aqua.jpg"), &[("width", "800")]).await;
    assert_eq!(status, 200, "{body}");
    let image = &body["image"];
    assert_eq!((image["width"].as_u64(), image["height"].as_u64()), (Some(800), Some(500)));
    assert_eq!(image["source_checksum"].as_str().unwrap(), hex::encode(Md5::digest(&original)));
    let (_, _, served) = stack.fetch(image["url"].as_str().unwrap()).await;
    assert_eq!(image["checksum"].as_str().unwrap(), hex::encode(Md5::digest(&served)));
    let decoded = image::load_from_memory(&served).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (800, 500));
    check_variant(&stack, image, "medium", 500, 313, "image/jpeg").await;
    // Wider than the image: never upscaled. Nonsense: a clear 400.
    let (_, body) = stack.chevereto_upload(&key, &corpus("skimage_chelsea.png"), &[("width", "4000")]).await;
    assert_eq!(body["image"]["width"], 451);
    let (status, body) = stack.chevereto_upload(&key, &corpus("skimage_chelsea.png"), &[("width", "wide")]).await;
    assert_eq!(status, 400, "{body}");
});
