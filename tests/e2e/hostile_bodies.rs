//! Hostile request bodies, on both stacks: anonymous and wrongly keyed
//! 60 MB Chevereto requests are refused without the server holding them
//! (its peak RSS is read from /proc), the request memory budget answers
//! 503, and a stalled body gets 408 within the configured timeout.

use std::time::{Duration, Instant};

use mediaq_tests::{Kind, Stack, both_stacks, corpus};
use serde_json::Value;

const BIG: usize = 60 * 1000 * 1000;
/// Peak RSS growth allowed for all the refused requests together.
const MAX_GROWTH_KIB: u64 = 10 * 1024;

async fn answer(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
}

fn objects_left(stack: &Stack) -> Vec<std::path::PathBuf> {
    let dir = stack.data_dir.path().join("objects/media");
    std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}

both_stacks!(unauthenticated_large_bodies_cost_nothing, |stack: Stack| async move {
    let key = stack.key("alice");
    let url = stack.url("/api/1/upload");
    let wrong = "mq_wrongwrongwrongwrongwrongwrongwrongwrong";
    // A big base64-looking source, as a form value.
    let source = "A".repeat(BIG);
    let (peak_before, _) = stack.memory_kib(0);
    // Anonymous urlencoded; wrong key in a header; wrong key in the form, first.
    let requests = [
        stack.http.post(&url).form(&[("source", source.as_str())]),
        stack.http.post(&url).header("X-API-Key", wrong).form(&[("source", source.as_str())]),
        stack.http.post(&url).form(&[("key", wrong), ("source", source.as_str())]),
        stack.http.post(&url).form(&[("source", source.as_str()), ("key", key.as_str())]),
    ];
    for (i, req) in requests.into_iter().enumerate() {
        let (status, body) = answer(req.send().await.unwrap()).await;
        assert_eq!((status, body["error"]["code"].as_u64()), (401, Some(100)), "{body}");
        println!("urlencoded {i}: server VmHWM {} KiB", stack.memory_kib(0).0);
    }
    // Multipart: an anonymous file part, and one before a key field.
    let file = || reqwest::multipart::Part::bytes(vec![0x89u8; BIG]).file_name("big.png");
    let forms = [
        reqwest::multipart::Form::new().part("source", file()),
        reqwest::multipart::Form::new().part("source", file()).text("key", key.clone()),
        reqwest::multipart::Form::new().text("key", wrong).part("source", file()),
    ];
    for (i, form) in forms.into_iter().enumerate() {
        let (status, body) = answer(stack.http.post(&url).multipart(form).send().await.unwrap()).await;
        assert_eq!((status, body["error"]["code"].as_u64()), (401, Some(100)), "{body}");
        println!("multipart {i}: server VmHWM {} KiB", stack.memory_kib(0).0);
    }
    let (peak_after, rss) = stack.memory_kib(0);
    println!("server VmHWM {peak_before} KiB -> {peak_after} KiB (VmRSS {rss} KiB)");
    assert!(
        peak_after - peak_before < MAX_GROWTH_KIB,
        "refused requests raised the server's peak RSS by {} KiB",
        peak_after - peak_before
    );
    assert!(objects_left(&stack).is_empty(), "objects stored for refused requests: {:?}", objects_left(&stack));
    // A key before the file still works, and so does a small file before it.
    let (status, body) = stack.chevereto_upload(&key, &corpus("skimage_camera.png"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let part = reqwest::multipart::Part::bytes(std::fs::read(corpus("skimage_camera.png")).unwrap()).file_name("c.png");
    let form = reqwest::multipart::Form::new().part("source", part).text("key", key.clone());
    let (status, body) = answer(stack.http.post(&url).multipart(form).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_memory_budget_refuses_with_503() {
    let stack = Stack::start_with(Kind::Embedded, &[("MEDIAQ_REQUEST_MEMORY_BYTES", "1048576")]).await;
    let key = stack.key("alice");
    let source = "A".repeat(2 * 1024 * 1024);
    let res = stack.http.post(stack.url("/api/1/upload")).bearer_auth(&key).form(&[("source", &source)]).send();
    let res = res.await.unwrap();
    let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = answer(res).await;
    assert_eq!(status, 503, "{body}");
    assert!(retry.is_some(), "503 without Retry-After");
    assert!(body["error"]["message"].as_str().unwrap().contains("memory"), "{body}");
    // Streamed uploads hold nothing whole: unaffected.
    let (status, body) = stack.chevereto_upload(&key, &corpus("skimage_camera.png"), &[]).await;
    assert_eq!(status, 200, "{body}");
}

/// A body that sends `first` and then nothing, never ending.
fn stalled(first: &'static [u8]) -> reqwest::Body {
    let head = futures::stream::once(async move { Ok::<_, std::io::Error>(first.to_vec()) });
    reqwest::Body::wrap_stream(futures::StreamExt::chain(head, futures::stream::pending()))
}

async fn stalled_body_gets_408(kind: Kind) {
    let stack = Stack::start_with(kind, &[("MEDIAQ_BODY_TIMEOUT_SECS", "2")]).await;
    let key = stack.key("alice");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let boundary = "XyZ";
    let head: &'static [u8] =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"source\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n\x1a\n";
    for path in ["/api/1/upload", "/api/v1/files"] {
        let started = Instant::now();
        let res = client
            .post(stack.url(path))
            .bearer_auth(&key)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(stalled(head))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: no answer to a stalled body: {e}"));
        let elapsed = started.elapsed();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, 408, "{path}: {text}");
        assert!(text.contains("stalled"), "{path}: {text}");
        assert!(elapsed < Duration::from_secs(10), "{path}: answered after {elapsed:?}");
    }
    let (status, list) = stack.call(reqwest::Method::GET, "/api/v1/files", Some(&key), None).await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(0)), "{list}");
    assert!(objects_left(&stack).is_empty(), "objects stored from stalled bodies: {:?}", objects_left(&stack));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_body_gets_408_embedded() {
    stalled_body_gets_408(Kind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_body_gets_408_production() {
    stalled_body_gets_408(Kind::Production).await;
}

// A refusal made before the request body is read (here a new version of
// a file that does not exist) reads and drops a bounded part of the body
// first, so the client, still sending, gets the 404 rather than a broken
// pipe, and its next request does not land on a socket the server is
// closing. An answer given before the body was read to its end says
// `Connection: close`; an answer to a body read whole keeps the
// connection.
both_stacks!(answers_before_the_body_is_read_close_the_connection, |stack: Stack| async move {
    let key = stack.key("alice");
    let photo = std::fs::read(corpus("skimage_coffee.png")).unwrap();
    let file = stack.upload_bytes(&key, "kept.png", photo.clone(), None).await;
    let id = file["id"].as_str().unwrap().to_owned();
    // One connection only, reused whenever the server allows it.
    let http = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
    for round in 0..40 {
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(vec![7u8; 4 << 20]).file_name("next.bin"));
        let res = http
            .post(stack.url("/api/v1/files/nosuchfile00/versions"))
            .bearer_auth(&key)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 404, "round {round}");
        drop(res.text().await);
        // The next request goes out at once, on whatever the pool holds.
        let res = http.get(stack.url(&format!("/api/v1/files/{id}"))).bearer_auth(&key).send().await;
        let res = res.unwrap_or_else(|e| panic!("round {round}: the request after a refused body failed: {e:?}"));
        assert_eq!(res.status().as_u16(), 200, "round {round}");
        assert!(res.headers().get("connection").is_none_or(|v| v != "close"), "round {round}");
        // A wrong key is refused before any of the body is read (64 KiB:
        // all in the socket's buffers, so the client is done sending):
        // that answer says `Connection: close`, and the next request
        // still goes through.
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(vec![7u8; 64 << 10]).file_name("small.bin"));
        let res = http.post(stack.url("/api/v1/files")).bearer_auth("mq_wrong").multipart(form).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 401, "round {round}");
        assert_eq!(res.headers().get("connection").map(|v| v.to_str().unwrap()), Some("close"), "round {round}");
        drop(res.text().await);
        let res = http.get(stack.url(&format!("/api/v1/files/{id}"))).bearer_auth(&key).send().await;
        let res = res.unwrap_or_else(|e| panic!("round {round}: the request after an unread body failed: {e:?}"));
        assert_eq!(res.status().as_u16(), 200, "round {round}");
    }
    // A body read to its end keeps the connection open.
    let res = http
        .patch(stack.url(&format!("/api/v1/files/{id}")))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "name": "still.png" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers().get("connection").is_none_or(|v| v != "close"));
});
