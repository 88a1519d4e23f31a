//! The native files API, pages, serving headers, deletion and expiry, on
//! both stacks.

use std::time::Duration;

use mediaq_tests::{Kind, Stack, both_stacks, corpus};
use serde_json::{Value, json};
use sha2::Digest;

async fn native_upload(stack: &Stack, key: &str, name: &str) -> Value {
    let bytes = std::fs::read(corpus(name)).unwrap();
    let form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    let res = stack.http.post(stack.url("/api/v1/files")).bearer_auth(key).multipart(form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let queued: Value = res.json().await.unwrap();
    assert!(["queued", "processing", "ready"].contains(&queued["status"].as_str().unwrap()), "{queued}");
    stack.wait_settled(key, queued["id"].as_str().unwrap(), Duration::from_secs(60)).await
}

/// Whether any object of the media is still stored (embedded stack only;
/// on S3 the serving checks below cover it).
fn objects_left(stack: &Stack, id: &str) -> bool {
    stack.data_dir.path().join("objects/media").join(id).exists()
}

both_stacks!(files_api_owner_access_links_and_delete, |stack: Stack| async move {
    let alice = stack.key("alice");
    let bob = stack.key("bob");
    let file = native_upload(&stack, &alice, "skimage_chelsea.png").await;
    let id = file["id"].as_str().unwrap().to_owned();
    assert_eq!(file["status"], "ready");
    assert_eq!((file["width"].as_u64(), file["height"].as_u64()), (Some(451), Some(300)));
    assert_eq!(file["isPublic"], false);
    assert_eq!(file["contentType"], "image/png");
    let get = |key: Option<&str>, path: String| {
        let req = stack.http.get(stack.url(&path));
        match key {
            Some(k) => req.bearer_auth(k.to_owned()),
            None => req,
        }
        .send()
    };
    // Someone else, nobody, a wrong key.
    assert_eq!(get(Some(&bob), format!("/api/v1/files/{id}")).await.unwrap().status().as_u16(), 404);
    assert_eq!(get(None, format!("/api/v1/files/{id}")).await.unwrap().status().as_u16(), 401);
    assert_eq!(get(Some("mq_nope"), format!("/api/v1/files/{id}")).await.unwrap().status().as_u16(), 401);
    // Private: the bare image URL does not serve it; the resource's URL is
    // signed (for the owner's pages) and does, a tampered signature not.
    let signed_thumb = file["variants"]["thumb"]["url"].as_str().unwrap().to_owned();
    let (thumb_url, query) = signed_thumb.split_once('?').expect("a private thumbnail URL is signed");
    let thumb_url = thumb_url.to_owned();
    assert!(query.contains("signature="), "{signed_thumb}");
    assert_eq!(stack.fetch(&thumb_url).await.0, 404);
    assert_eq!(stack.fetch(&signed_thumb).await.0, 200);
    assert_eq!(stack.fetch(&signed_thumb.replace("signature=", "signature=0")).await.0, 404);
    let original = file["signedUrl"].as_str().expect("a private image has a signed original URL");
    assert_eq!(stack.fetch(original).await.0, 200);
    let other_file = signed_thumb.replace(".th.", ".md.");
    assert_eq!(stack.fetch(&other_file).await.0, 404, "a signature covers one path only");
    // Listing.
    native_upload(&stack, &alice, "skimage_camera.png").await;
    let page: Value = get(Some(&alice), "/api/v1/files?page=1&limit=1".into()).await.unwrap().json().await.unwrap();
    assert_eq!(
        (page["total"].as_u64(), page["hasMore"].as_bool(), page["items"].as_array().unwrap().len()),
        (Some(2), Some(true), 1)
    );
    let bobs: Value = get(Some(&bob), "/api/v1/files".into()).await.unwrap().json().await.unwrap();
    assert_eq!(bobs["total"], 0);
    let bad = get(Some(&alice), "/api/v1/files?limit=100000".into()).await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
    // A signed download URL.
    let dl: Value = get(Some(&alice), format!("/api/v1/files/{id}/download")).await.unwrap().json().await.unwrap();
    let (status, _, bytes) = stack.fetch(dl["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(file["sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 451);
    // Public link with a token; revoking it makes it 404.
    let patch = |body: Value| {
        stack.http.patch(stack.url(&format!("/api/v1/files/{id}"))).bearer_auth(&alice).json(&body).send()
    };
    let public: Value = patch(json!({ "isPublic": true, "title": "Chelsea" })).await.unwrap().json().await.unwrap();
    let link = public["publicUrl"].as_str().unwrap().to_owned();
    assert_eq!(public["title"], "Chelsea");
    assert_eq!(stack.fetch(&link).await.0, 200);
    assert_eq!(stack.fetch(&thumb_url).await.0, 200);
    assert_eq!(stack.fetch(&link.replace("token=", "token=x")).await.0, 404);
    assert_eq!(
        stack
            .http
            .patch(stack.url(&format!("/api/v1/files/{id}")))
            .bearer_auth(&bob)
            .json(&json!({"isPublic": true}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    patch(json!({ "isPublic": false })).await.unwrap();
    assert_eq!(stack.fetch(&link).await.0, 404);
    assert_eq!(patch(json!({ "colour": "red" })).await.unwrap().status().as_u16(), 400);
    // Permanent delete: gone at once, objects purged in the background.
    assert_eq!(
        stack
            .http
            .delete(stack.url(&format!("/api/v1/files/{id}")))
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        stack
            .http
            .delete(stack.url(&format!("/api/v1/files/{id}?permanent=true")))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    assert_eq!(get(Some(&alice), format!("/api/v1/files/{id}")).await.unwrap().status().as_u16(), 404);
    if stack.kind == Kind::Embedded {
        wait_until(|| !objects_left(&stack, &id)).await;
    }
});

async fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "condition not met in 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both_stacks!(serving_headers_pages_and_the_delete_url, |stack: Stack| async move {
    let key = stack.key("alice");
    let (status, body) = stack.chevereto_upload(&key, &corpus("mate_Storm.jpg"), &[("title", "Storm <b>&</b>")]).await;
    assert_eq!(status, 200, "{body}");
    let image = &body["image"];
    let url = image["url"].as_str().unwrap();
    let res = stack.http.get(url).send().await.unwrap();
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let res = stack.http.get(url).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 304);
    let res = stack.http.get(url).header("Range", "bytes=10-19").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 206);
    assert_eq!(res.headers()["content-range"].to_str().unwrap(), format!("bytes 10-19/{}", image["size"]));
    assert_eq!(res.bytes().await.unwrap().len(), 10);
    // The viewer page escapes the title and carries Open Graph tags.
    for page_url in [image["url_viewer"].as_str().unwrap(), image["url_short"].as_str().unwrap()] {
        let (status, ct, html) = stack.fetch(page_url).await;
        let html = String::from_utf8(html).unwrap();
        assert_eq!(status, 200);
        assert!(ct.starts_with("text/html"));
        assert!(html.contains("Storm &lt;b&gt;&amp;&lt;/b&gt;") && !html.contains("<b>&</b>"), "{html}");
        assert!(html.contains(r#"property="og:image""#));
    }
    let file: Value = stack
        .http
        .get(stack.url(&format!("/api/v1/files/{}", image["id_encoded"].as_str().unwrap())))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(file["views"], 2, "each viewer page load counts a view");
    // The delete URL: a GET only asks; a POST deletes.
    let delete_url = image["delete_url"].as_str().unwrap();
    assert!(delete_url.starts_with(image["url_viewer"].as_str().unwrap()));
    let (status, _, html) = stack.fetch(delete_url).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8(html).unwrap().contains("<form method=\"post\""));
    assert_eq!(stack.fetch(url).await.0, 200, "a GET never deletes");
    let wrong = format!("{}x", delete_url);
    assert_eq!(stack.http.post(&wrong).send().await.unwrap().status().as_u16(), 404);
    assert_eq!(stack.http.post(delete_url).send().await.unwrap().status().as_u16(), 200);
    assert_eq!(stack.fetch(url).await.0, 404);
    assert_eq!(stack.fetch(image["thumb"]["url"].as_str().unwrap()).await.0, 404);
    assert_eq!(stack.fetch(image["url_viewer"].as_str().unwrap()).await.0, 404);
    // CORS for browser clients.
    let res = stack
        .http
        .request(reqwest::Method::OPTIONS, stack.url("/api/v1/files/initiate"))
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert!(res.headers().contains_key("access-control-allow-origin"));
});

both_stacks!(expired_media_stop_serving_and_the_sweep_removes_them, |stack: Stack| async move {
    let key = stack.key("alice");
    let keeper = stack.chevereto_upload(&key, &corpus("skimage_rocket.jpg"), &[]).await.1;
    let (status, body) = stack.chevereto_upload(&key, &corpus("skimage_camera.png"), &[("expiration", "PT10S")]).await;
    assert_eq!(status, 200, "{body}");
    let image = &body["image"];
    assert!(image["expiration_date_gmt"].is_string());
    let url = image["url"].as_str().unwrap();
    assert_eq!(stack.fetch(url).await.0, 200);
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(stack.fetch(url).await.0, 404, "serving checks the expiry itself");
    let out = stack.command(&["sweep"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The workers' own sweep (every minute) may have expired it first.
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("expired 1 media") || said.contains("expired 0 media"), "{said}");
    let id = image["id_encoded"].as_str().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while stack.objects_of(id) > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stack.objects_of(id), 0, "the expired media's objects are gone");
    assert!(stack.objects_of(keeper["image"]["id_encoded"].as_str().unwrap()) > 0, "the sweep deletes nothing else");
    assert_eq!(stack.fetch(keeper["image"]["url"].as_str().unwrap()).await.0, 200);
    let out = stack.command(&["sweep"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("expired 0 media"));
});
