//! Every upload mode on both stacks: multipart (done in `upload`), base64,
//! remote URL, presigned; the Chevereto variants clients rely on (imgBB
//! `image`, `format=txt|redirect`); Idempotency-Key; limits.

use std::time::{Duration, Instant};

use base64::Engine;
use mediaq_tests::{Kind, Stack, both_stacks, corpus};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

async fn chevereto_form(stack: &Stack, key: &str, form: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, String) {
    let res = stack.http.post(stack.url("/api/1/upload")).header("X-API-Key", key).form(form).send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

both_stacks!(base64_sources_in_every_spelling, |stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus("skimage_coffee.png")).unwrap();
    let plain = base64::engine::general_purpose::STANDARD.encode(&bytes);
    for source in [plain.clone(), format!("data:image/png;base64,{plain}")] {
        let (status, _, body) = chevereto_form(&stack, &key, &[("source", &source)]).await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["image"]["source_checksum"].as_str().unwrap(), hex::encode(md5::Md5::digest(&bytes)));
        assert_eq!(v["image"]["mime"], "image/png");
        assert_eq!(v["image"]["processing_status"], "ready");
    }
    let (status, _, body) = chevereto_form(&stack, &key, &[("source", "not*base64!")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], 120);
});

both_stacks!(imgbb_txt_and_redirect_answers, |stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus("skimage_rocket.jpg")).unwrap();
    let part = |name: &str| reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_owned());
    // imgBB clients send `image` and read `data`.
    let form = reqwest::multipart::Form::new().part("image", part("rocket.jpg"));
    let res = stack.http.post(stack.url(&format!("/api/1/upload?key={key}"))).multipart(form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["status"], 200, "{v}");
    assert_eq!(v["data"]["id"], v["data"]["id_encoded"]);
    assert!(v["data"]["url"].as_str().unwrap().ends_with(".jpg"));
    // format=txt: the URL alone.
    let form = reqwest::multipart::Form::new().part("source", part("r.jpg")).text("format", "txt");
    let res = stack.http.post(stack.url("/api/1/upload")).bearer_auth(&key).multipart(form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let url = res.text().await.unwrap();
    let (status, ct, served) = stack.fetch(&url).await;
    assert_eq!((status, ct.as_str(), served), (200, "image/jpeg", bytes.clone()));
    // format=redirect: to the viewer page, which shows the image.
    let form = reqwest::multipart::Form::new().part("source", part("r.jpg")).text("format", "redirect");
    let res = stack.http.post(stack.url("/api/1/upload")).bearer_auth(&key).multipart(form).send().await.unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/image/"), "{location}");
    let (status, ct, page) = stack.fetch(&stack.url(&location)).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"));
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("og:image") && page.contains("<img"), "{page}");
    // Errors with format=txt are text too.
    let form = reqwest::multipart::Form::new().text("format", "txt").text("source", "");
    let res = stack.http.post(stack.url("/api/1/upload")).bearer_auth(&key).multipart(form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
});

/// A one-shot HTTP server on loopback serving `body` with `content_type`.
async fn serve_once(body: Vec<u8>, content_type: &'static str) -> String {
    let headers = format!("Content-Type: {content_type}\r\n");
    mediaq_tests::serve_http(body, headers, None, "/photos/cat%20pic.jpg").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_url_refused_for_private_addresses_by_default() {
    let stack = Stack::start(Kind::Embedded).await;
    let key = stack.key("alice");
    for url in [
        "http://127.0.0.1:9/x.jpg",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x.png",
        "file:///etc/passwd",
        "http://2130706433/x.jpg",
    ] {
        let started = Instant::now();
        let (status, _, body) = chevereto_form(&stack, &key, &[("source", url)]).await;
        assert_eq!(status, 403, "{url}: {body}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], 403, "{url}");
        assert!(started.elapsed() < Duration::from_secs(5), "{url} took {:?}", started.elapsed());
    }
}

async fn remote_url_is_fetched_by_a_worker(stack: Stack) {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus("mate_LadyBird.jpg")).unwrap();
    let url = serve_once(bytes.clone(), "image/jpeg").await;
    let (status, _, body) = chevereto_form(&stack, &key, &[("source", &url)]).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let image = &v["image"];
    assert_eq!(image["processing_status"], "ready", "{image}");
    assert_eq!(image["source_checksum"].as_str().unwrap(), hex::encode(md5::Md5::digest(&bytes)));
    assert_eq!(image["original_filename"], "cat pic.jpg");
    assert_eq!(image["thumb"]["extension"], "jpg");
    let (status, _, served) = stack.fetch(image["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(image["size"].as_u64(), Some(served.len() as u64));
    let (w, h) = (image["width"].as_u64().unwrap() as u32, image["height"].as_u64().unwrap() as u32);
    let decoded = image::load_from_memory(&served).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (w, h));
    assert_eq!((w, h), image::load_from_memory(&bytes).map(|i| (i.width(), i.height())).unwrap());
    // Not an image or video: refused as Chevereto does (415, code 612),
    // nothing kept (the native route would take it as a file).
    let url = serve_once(b"<html>hello</html>".to_vec(), "text/html").await;
    let (status, _, body) = chevereto_form(&stack, &key, &[("source", &url)]).await;
    assert_eq!(status, 415, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], 612, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_url_embedded() {
    remote_url_is_fetched_by_a_worker(
        Stack::start_with(Kind::Embedded, &[("MEDIAQ_FETCH_ALLOW_PRIVATE", "true")]).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_url_production() {
    remote_url_is_fetched_by_a_worker(
        Stack::start_with(Kind::Production, &[("MEDIAQ_FETCH_ALLOW_PRIVATE", "true")]).await,
    )
    .await;
}

both_stacks!(presigned_flow_with_a_bare_curl_put, |stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus("mate_Dune.jpg")).unwrap();
    let initiate = |size: usize| {
        stack
            .http
            .post(stack.url("/api/v1/files/initiate"))
            .bearer_auth(&key)
            .json(&json!({ "name": "dune.jpg", "contentType": "image/jpeg", "sizeBytes": size }))
            .send()
    };
    let res = initiate(bytes.len()).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let init: Value = res.json().await.unwrap();
    let (id, upload_url) =
        (init["fileId"].as_str().unwrap().to_owned(), init["uploadUrl"].as_str().unwrap().to_owned());
    assert!(init["expiresAt"].is_string());
    let complete =
        || stack.http.post(stack.url("/api/v1/files/complete")).bearer_auth(&key).json(&json!({ "fileId": id })).send();
    // Completing before the PUT fails clearly.
    let res = complete().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
    // A short PUT is refused (the size is signed into the URL), so
    // complete still finds nothing.
    let status = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", &upload_url, "--data-binary", "@-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&bytes[..1000])?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).starts_with('4'), "{status:?}");
    let res = complete().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert!(res.text().await.unwrap().contains("nothing has been uploaded"));
    // The reference line, as written: curl -X PUT "<uploadUrl>" --data-binary @photo.jpg
    let photo = corpus("mate_Dune.jpg");
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "-w",
            "%{http_code}",
            "-X",
            "PUT",
            &upload_url,
            "--data-binary",
            &format!("@{}", photo.display()),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("200"), "{}", String::from_utf8_lossy(&out.stdout));
    let res = complete().await.unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let media = stack.wait_settled(&key, &id, Duration::from_secs(60)).await;
    assert_eq!(media["status"], "ready", "{media}");
    // The stored file is what the download link serves, and is the photo.
    let dl: Value = stack
        .http
        .get(stack.url(&format!("/api/v1/files/{id}/download")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (status, _, stored) = stack.fetch(dl["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(media["sha256"].as_str().unwrap(), hex::encode(Sha256::digest(&stored)));
    assert_eq!(media["sizeBytes"].as_u64(), Some(stored.len() as u64));
    let (a, b) = (image::load_from_memory(&stored).unwrap(), image::load_from_memory(&bytes).unwrap());
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    assert_eq!(media["variants"]["thumb"]["width"], 160);
    // Completing twice answers the same file; too large is refused up front.
    assert_eq!(complete().await.unwrap().status().as_u16(), 202);
    assert_eq!(initiate(10 << 40).await.unwrap().status().as_u16(), 413);
});

both_stacks!(idempotency_key_returns_the_first_result, |stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus("skimage_astronaut.png")).unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let form = reqwest::multipart::Form::new()
            .part("source", reqwest::multipart::Part::bytes(bytes.clone()).file_name("a.png"));
        let res = stack
            .http
            .post(stack.url("/api/1/upload"))
            .bearer_auth(&key)
            .header("Idempotency-Key", "retry-1")
            .multipart(form)
            .send()
            .await
            .unwrap();
        let v: Value = res.json().await.unwrap();
        ids.push(v["image"]["id_encoded"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids[0], ids[1]);
    for _ in 0..2 {
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(bytes.clone()).file_name("a.png"));
        let res = stack
            .http
            .post(stack.url("/api/v1/files"))
            .bearer_auth(&key)
            .header("Idempotency-Key", "native-1")
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 202);
        ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids[2], ids[3]);
    assert_ne!(ids[0], ids[2], "keys are per request, not global");
    let list: Value =
        stack.http.get(stack.url("/api/v1/files")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 2, "{list}");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_uploads_get_413_without_storing() {
    let stack = Stack::start_with(Kind::Embedded, &[("MEDIAQ_MAX_UPLOAD_BYTES", "100000")]).await;
    let key = stack.key("alice");
    let (status, body) = stack.chevereto_upload(&key, &corpus("mate_Aqua.jpg"), &[]).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], 400);
    // Without a Content-Length (chunked), the limit is enforced while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        std::fs::read(corpus("mate_Aqua.jpg")).unwrap().chunks(8192).map(|c| Ok(c.to_vec())).collect();
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .file_name("big.jpg");
    let res = stack
        .http
        .post(stack.url("/api/1/upload"))
        .bearer_auth(&key)
        .multipart(reqwest::multipart::Form::new().part("source", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
    // Base64 too, whichever limit it meets first.
    let encoded = base64::engine::general_purpose::STANDARD.encode(std::fs::read(corpus("mate_Aqua.jpg")).unwrap());
    let (status, _, body) = chevereto_form(&stack, &key, &[("source", &encoded)]).await;
    assert_eq!(status, 413, "{body}");
    let left: Vec<_> = std::fs::read_dir(stack.data_dir.path().join("objects/media"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "objects left behind: {left:?}");
}
