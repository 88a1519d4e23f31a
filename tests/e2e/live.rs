//! Live status over Server-Sent Events, on both stacks: a file's stream
//! sends its current status first, one `status` event per change, and
//! closes once settled — `ready` from a worker (another process in
//! production, heard through Redis), `deleted` from a delete; strangers
//! get 404.

use std::time::{Duration, Instant};

use mediaq_tests::{Stack, both_stacks_with, corpus};
use reqwest::Method;
use serde_json::Value;

/// Uploads answer at once (`queued`); remote sources on loopback.
const NOWAIT: &[(&str, &str)] = &[("MEDIAQ_UPLOAD_WAIT_SECS", "0"), ("MEDIAQ_FETCH_ALLOW_PRIVATE", "true")];

/// An open event stream, read event by event.
pub(crate) struct Events {
    res: reqwest::Response,
    buf: String,
}

impl Events {
    pub(crate) async fn open(stack: &Stack, key: &str, id: &str) -> (u16, Self) {
        let url = stack.url(&format!("/api/v1/files/{id}/events"));
        let res = stack.http.get(url).bearer_auth(key).send().await.unwrap();
        let code = res.status().as_u16();
        if code == 200 {
            let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(ct.starts_with("text/event-stream"), "content type {ct}");
        }
        (code, Self { res, buf: String::new() })
    }

    /// The next event as (name, data), or `None` once the server closed
    /// the stream. Keep-alive comments are skipped.
    pub(crate) async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut name, mut data) = (String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some((name, serde_json::from_str(&data).unwrap()));
            }
            let chunk =
                tokio::time::timeout(Duration::from_secs(60), self.res.chunk()).await.expect("no event in 60 s");
            match chunk.unwrap() {
                Some(bytes) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                None => return None,
            }
        }
    }

    /// Every event until the stream closes; the statuses in order.
    pub(crate) async fn statuses_until_closed(&mut self, id: &str) -> Vec<String> {
        let mut seen = Vec::new();
        while let Some((name, data)) = self.next().await {
            assert_eq!(name, "status");
            assert_eq!(data["id"], id, "{data}");
            seen.push(data["status"].as_str().unwrap().to_owned());
        }
        seen
    }
}

/// A loopback server sending a PNG over about a second, so the upload is
/// still queued or processing when its stream opens.
async fn slow_source() -> String {
    let body = std::fs::read(corpus("skimage_chelsea.png")).unwrap();
    let headers = "Content-Type: image/png\r\n".to_owned();
    mediaq_tests::serve_http(body, headers, Some(Duration::from_millis(100)), "/slow.png").await
}

async fn remote_upload(stack: &Stack, key: &str, url: &str) -> String {
    let (code, body) =
        stack.call(Method::POST, "/api/v1/files", Some(key), Some(serde_json::json!({ "url": url }))).await;
    assert_eq!(code, 202, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// No status twice in a row, every one but the last unsettled.
fn assert_changes(seen: &[String], last: &str) {
    assert_eq!(seen.last().map(String::as_str), Some(last), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] != w[1]), "a status was sent twice in a row: {seen:?}");
    for s in &seen[..seen.len() - 1] {
        assert!(s == "queued" || s == "processing", "{seen:?}");
    }
}

both_stacks_with!(events_follow_a_file_until_ready, NOWAIT, |stack: Stack| async move {
    let key = stack.key("alice");
    let url = slow_source().await;
    for _ in 0..3 {
        let id = remote_upload(&stack, &key, &url).await;
        let (code, mut events) = Events::open(&stack, &key, &id).await;
        assert_eq!(code, 200);
        let seen = events.statuses_until_closed(&id).await;
        assert!(seen.len() >= 2, "the unsettled status first, then ready: {seen:?}");
        assert_changes(&seen, "ready");
        // Settled: one event with the current status, then the end.
        let (_, mut again) = Events::open(&stack, &key, &id).await;
        assert_eq!(again.statuses_until_closed(&id).await, ["ready"]);
    }
    // A stranger's request looks like a missing file.
    let id = remote_upload(&stack, &key, &url).await;
    let (code, _) = Events::open(&stack, &stack.key("mallory"), &id).await;
    assert_eq!(code, 404);
    let (code, _) = Events::open(&stack, &key, "nope").await;
    assert_eq!(code, 404);
});

both_stacks_with!(events_end_with_deleted_when_the_file_is_deleted, NOWAIT, |stack: Stack| async move {
    let key = stack.key("alice");
    let url = slow_source().await;
    let id = remote_upload(&stack, &key, &url).await;
    let (code, mut events) = Events::open(&stack, &key, &id).await;
    assert_eq!(code, 200);
    let (_, first) = events.next().await.unwrap();
    let first = first["status"].as_str().unwrap().to_owned();
    assert!(first == "queued" || first == "processing", "{first}");
    let started = Instant::now();
    let (code, body) =
        stack.call(Method::DELETE, &format!("/api/v1/files/{id}?permanent=true"), Some(&key), None).await;
    assert!(code == 200 || code == 204, "{code} {body}");
    let mut seen = vec![first];
    seen.extend(events.statuses_until_closed(&id).await);
    assert_changes(&seen, "deleted");
    assert!(started.elapsed() < Duration::from_secs(30));
});
