//! The routes of `@uppy/aws-s3` on both stacks, called the way the plugin
//! calls them (`endpoint` = `<public URL>/api/v1`, a bearer key): a single
//! PUT through `/s3/params`, a multipart upload (create, sign, PUT parts,
//! list, complete), and an abort. The real plugin in Chromium is
//! `tus_clients::uppy_in_chromium`.

use std::time::Duration;

use mediaq_tests::{Stack, both_stacks_with, corpus};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const NO_STRIP: &[(&str, &str)] = &[("MEDIAQ_STRIP_EXIF", "false")];

async fn call(stack: &Stack, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    stack.call(method, &format!("/api/v1{path}"), Some(key), body).await
}

/// PUTs `bytes` to a signed URL; returns the status and the ETag.
async fn put(stack: &Stack, url: &str, bytes: Vec<u8>) -> (u16, Option<String>) {
    let res = stack.http.put(url).body(bytes).send().await.unwrap();
    let etag = res.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    (res.status().as_u16(), etag)
}

both_stacks_with!(uppy_single_put_is_recorded_at_once, NO_STRIP, |stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus("skimage_camera.png")).unwrap();
    let (status, params) = call(
        &stack,
        &key,
        reqwest::Method::GET,
        "/s3/params?filename=cam.png&type=image%2Fpng&metadata%5Btitle%5D=Cam",
        None,
    )
    .await;
    assert_eq!(status, 200, "{params}");
    assert_eq!(params["method"], "PUT");
    let (status, etag) = put(&stack, params["url"].as_str().unwrap(), bytes.clone()).await;
    assert_eq!(status, 200);
    assert!(etag.is_some(), "Uppy needs an ETag");
    // Listed at once; processed.
    let (_, list) = call(&stack, &key, reqwest::Method::GET, "/files", None).await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let file = stack.wait_settled(&key, &id, Duration::from_secs(60)).await;
    assert_eq!(file["status"], "ready", "{file}");
    assert_eq!(file["name"], "cam.png");
    assert_eq!(file["sha256"].as_str(), Some(hex::encode(Sha256::digest(&bytes)).as_str()));
    // The URL is spent.
    assert_eq!(put(&stack, params["url"].as_str().unwrap(), bytes).await.0, 403);
});

both_stacks_with!(uppy_multipart_upload_and_abort, NO_STRIP, |stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus("kde_Patak_5120_alpha.png")).unwrap();
    let (status, created) = call(
        &stack,
        &key,
        reqwest::Method::POST,
        "/s3/multipart",
        Some(json!({"filename": "patak.png", "type": "image/png", "metadata": {"name": "patak.png"}})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let (upload_id, object) = (created["uploadId"].as_str().unwrap(), created["key"].as_str().unwrap());
    let q = format!("key={}", urlencode(object));
    let mut parts = Vec::new();
    for (i, chunk) in bytes.chunks(5 * 1024 * 1024).enumerate() {
        let n = i + 1;
        let (status, signed) =
            call(&stack, &key, reqwest::Method::GET, &format!("/s3/multipart/{upload_id}/{n}?{q}"), None).await;
        assert_eq!(status, 200, "{signed}");
        let (status, etag) = put(&stack, signed["url"].as_str().unwrap(), chunk.to_vec()).await;
        assert_eq!(status, 200);
        parts.push(json!({"PartNumber": n, "ETag": etag.unwrap()}));
    }
    let (status, listed) =
        call(&stack, &key, reqwest::Method::GET, &format!("/s3/multipart/{upload_id}?{q}"), None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), parts.len(), "{listed}");
    let (status, done) = call(
        &stack,
        &key,
        reqwest::Method::POST,
        &format!("/s3/multipart/{upload_id}/complete?{q}"),
        Some(json!({ "parts": parts })),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let id = done["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let file = stack.wait_settled(&key, &id, Duration::from_secs(120)).await;
    assert_eq!(file["status"], "ready", "{file}");
    assert_eq!(file["sha256"].as_str(), Some(hex::encode(Sha256::digest(&bytes)).as_str()));
    // Another caller cannot touch an upload; an abort removes it.
    let (_, other) =
        call(&stack, &key, reqwest::Method::POST, "/s3/multipart", Some(json!({"filename": "x.png"}))).await;
    let (other_id, other_key) = (other["uploadId"].as_str().unwrap(), other["key"].as_str().unwrap());
    let q = format!("key={}", urlencode(other_key));
    let bob = stack.key("bob");
    let (status, _) = call(&stack, &bob, reqwest::Method::GET, &format!("/s3/multipart/{other_id}?{q}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&stack, &key, reqwest::Method::DELETE, &format!("/s3/multipart/{other_id}?{q}"), None).await;
    assert_eq!(status, 200);
    let (status, _) = call(&stack, &key, reqwest::Method::GET, &format!("/s3/multipart/{other_id}?{q}"), None).await;
    assert_eq!(status, 404);
});

fn urlencode(s: &str) -> String {
    s.replace('/', "%2F")
}
