//! Presigned uploads under retries and hostile clients, on both stacks:
//! concurrent and repeated `complete`, PUT after `complete`, a body of the
//! wrong size, `initiate` with an Idempotency-Key; the signed storage
//! route only on the file system store, and never for longer than the TTL.

use std::time::Duration;

use mediaq_shared::config::Secret;
use mediaq_shared::signing::UrlSigner;
use mediaq_tests::{Kind, Stack, both_stacks, corpus};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const FILE: &str = "skimage_camera.png";

/// `initiate` for `size` bytes; returns (status, body).
async fn initiate(stack: &Stack, key: &str, size: usize, idem: Option<&str>) -> (u16, Value) {
    let mut req = stack
        .http
        .post(stack.url("/api/v1/files/initiate"))
        .bearer_auth(key)
        .json(&json!({ "name": "camera.png", "contentType": "image/png", "sizeBytes": size }));
    if let Some(k) = idem {
        req = req.header("Idempotency-Key", k);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn put(stack: &Stack, url: &str, bytes: Vec<u8>) -> u16 {
    stack.http.put(url).body(bytes).send().await.unwrap().status().as_u16()
}

async fn complete(stack: &Stack, key: &str, id: &str) -> (u16, Value) {
    let res = stack
        .http
        .post(stack.url("/api/v1/files/complete"))
        .bearer_auth(key)
        .json(&json!({ "fileId": id }))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// The bytes the download link of media `id` serves.
async fn served(stack: &Stack, key: &str, id: &str) -> Vec<u8> {
    let res = stack.http.get(stack.url(&format!("/api/v1/files/{id}/download"))).bearer_auth(key).send().await;
    let dl: Value = res.unwrap().json().await.unwrap();
    let (status, _, bytes) = stack.fetch(dl["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    bytes
}

/// Initiates and PUTs `bytes`; returns (fileId, uploadUrl).
async fn uploaded(stack: &Stack, key: &str, bytes: &[u8]) -> (String, String) {
    let (status, init) = initiate(stack, key, bytes.len(), None).await;
    assert_eq!(status, 200, "{init}");
    let (id, url) = (init["fileId"].as_str().unwrap().to_owned(), init["uploadUrl"].as_str().unwrap().to_owned());
    assert_eq!(put(stack, &url, bytes.to_vec()).await, 200);
    (id, url)
}

both_stacks!(concurrent_completes_record_one_intact_media, |stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus(FILE)).unwrap();
    let rounds: u64 = 20;
    let mut ids = Vec::new();
    for _ in 0..rounds {
        let (id, _) = uploaded(&stack, &key, &bytes).await;
        // A retrying client: three at once.
        let answers = futures::future::join_all((0..3).map(|_| complete(&stack, &key, &id))).await;
        for (status, body) in &answers {
            assert_eq!(*status, 202, "{body}");
            assert_eq!(body["id"].as_str(), Some(id.as_str()), "{body}");
        }
        ids.push(id);
    }
    let want = hex::encode(Sha256::digest(&bytes));
    for id in &ids {
        let media = stack.wait_settled(&key, id, Duration::from_secs(60)).await;
        assert_eq!(media["status"], "ready", "{media}");
        assert_eq!(media["sha256"].as_str(), Some(want.as_str()), "{media}");
        assert_eq!(hex::encode(Sha256::digest(served(&stack, &key, id).await)), want);
    }
    let (status, list) = stack.call(reqwest::Method::GET, "/api/v1/files?limit=100", Some(&key), None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"].as_u64(), Some(rounds), "one media per upload: {list}");
});

both_stacks!(a_put_after_complete_changes_nothing, |stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus(FILE)).unwrap();
    let (id, url) = uploaded(&stack, &key, &bytes).await;
    assert_eq!(complete(&stack, &key, &id).await.0, 202);
    let media = stack.wait_settled(&key, &id, Duration::from_secs(60)).await;
    assert_eq!(media["status"], "ready", "{media}");
    // Same size, other bytes, to the old URL.
    let mut evil = bytes.clone();
    evil[1000..2000].fill(0);
    let status = put(&stack, &url, evil).await;
    if stack.kind == Kind::Embedded {
        assert_eq!(status, 403, "the embedded PUT must be closed after complete");
    }
    assert_eq!(served(&stack, &key, &id).await, bytes, "the checked original was replaced");
    let again = stack.wait_settled(&key, &id, Duration::from_secs(5)).await;
    assert_eq!(again["sha256"], media["sha256"]);
    // Completing again still answers the same, intact file.
    assert_eq!(complete(&stack, &key, &id).await.0, 202);
    assert_eq!(served(&stack, &key, &id).await, bytes);
});

both_stacks!(a_put_of_another_size_is_refused, |stack: Stack| async move {
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus(FILE)).unwrap();
    let (status, init) = initiate(&stack, &key, bytes.len(), None).await;
    assert_eq!(status, 200, "{init}");
    let (id, url) = (init["fileId"].as_str().unwrap(), init["uploadUrl"].as_str().unwrap());
    for wrong in [bytes[..1000].to_vec(), [bytes.as_slice(), b"trailing"].concat()] {
        let status = put(&stack, url, wrong).await;
        assert!((400..500).contains(&status), "a PUT of the wrong size got {status}");
    }
    if stack.kind == Kind::Embedded {
        // Without a Content-Length the body is counted as it streams.
        for wrong in [bytes[..1000].to_vec(), [bytes.as_slice(), b"trailing"].concat()] {
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> = wrong.chunks(4096).map(|c| Ok(c.to_vec())).collect();
            let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
            let status = stack.http.put(url).body(body).send().await.unwrap().status().as_u16();
            assert_eq!(status, 400, "a chunked PUT of the wrong size");
        }
    }
    let (status, body) = complete(&stack, &key, id).await;
    assert_eq!(status, 400, "nothing of the wrong size may have been kept: {body}");
    // The right size still goes through.
    assert_eq!(put(&stack, url, bytes.clone()).await, 200);
    assert_eq!(complete(&stack, &key, id).await.0, 202);
});

both_stacks!(initiate_honours_the_idempotency_key, |stack: Stack| async move {
    let key = stack.key("alice");
    let first = futures::future::join_all((0..3).map(|_| initiate(&stack, &key, 1234, Some("init-1")))).await;
    for (status, body) in &first {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["fileId"], first[0].1["fileId"], "same key, same upload");
    }
    let (status, later) = initiate(&stack, &key, 1234, Some("init-1")).await;
    assert_eq!((status, &later["fileId"]), (200, &first[0].1["fileId"]));
    let (_, other) = initiate(&stack, &key, 1234, Some("init-2")).await;
    assert_ne!(other["fileId"], first[0].1["fileId"]);
    // Another caller's key is their own.
    let bob = stack.key("bob");
    let (_, theirs) = initiate(&stack, &bob, 1234, Some("init-1")).await;
    assert_ne!(theirs["fileId"], first[0].1["fileId"]);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_route_is_only_on_the_file_system_store() {
    let stack = Stack::start(Kind::Production).await;
    let key = stack.key("alice");
    let (_, init) = initiate(&stack, &key, 10, None).await;
    let path = format!("/_storage/media/{}/upload?expires=9999999999&signature=00", init["fileId"].as_str().unwrap());
    for method in [reqwest::Method::GET, reqwest::Method::PUT] {
        let res = stack.http.request(method.clone(), stack.url(&path)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 404, "{method} /_storage on S3");
    }
    assert!(!init["uploadUrl"].as_str().unwrap().contains("/_storage/"), "{init}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_never_outlive_the_ttl() {
    let stack = Stack::start_with(Kind::Embedded, &[("MEDIAQ_PRESIGN_TTL_SECS", "300")]).await;
    let key = stack.key("alice");
    let bytes = std::fs::read(corpus(FILE)).unwrap();
    let (id, url) = uploaded(&stack, &key, &bytes).await;
    // A GET signed with the deployment's own secret, but for a year.
    let secret = std::fs::read_to_string(stack.data_dir.path().join("signing.key")).unwrap();
    let signer = UrlSigner::new(Secret::new(secret.trim()));
    let path = format!("/_storage/media/{id}/upload");
    let year = signer.sign("GET", &path, chrono::Utc::now() + chrono::Duration::days(365));
    let res = stack.http.get(stack.url(&format!("{path}?{year}"))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403, "a year-long signature was accepted");
    let short = signer.sign("GET", &path, chrono::Utc::now() + chrono::Duration::seconds(60));
    let res = stack.http.get(stack.url(&format!("{path}?{short}"))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(url.contains("size="), "the upload URL signs the size: {url}");
}
