//! Uploads cut off by the client at any point, on both stacks: before the
//! body, in its middle, one byte short, and with the whole body sent but
//! the connection closed before the answer (the handler is then dropped
//! wherever it is: the undo runs from `Drop`). Afterwards nothing is left
//! half-done: the quota is free again (a user whose quota fits one file
//! can upload it), the `Idempotency-Key` of the cut upload is free or
//! names a whole file, and no stray object stays in storage.

use std::time::{Duration, Instant};

use mediaq_tests::{Stack, both_stacks, noise};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

const BOUNDARY: &str = "mediaqcutoffboundary";

/// A multipart body of `POST /api/v1/files` with `bytes` as its file.
fn form(bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Sends the upload's head and the first `sent` bytes of `body` on a raw
/// connection, then closes it without reading an answer.
async fn cut_upload(stack: &Stack, key: &str, idem: &str, body: &[u8], sent: usize) {
    let addr = stack.url("").trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/files HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nIdempotency-Key: {idem}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    // The server may close first (it refused or answered): that is fine.
    let _ = tcp.write_all(&body[..sent]).await;
    let _ = tcp.flush().await;
    drop(tcp);
}

/// The whole upload with the same key, retried while the cut one is still
/// being undone (quota or key held for a moment); the file it names.
async fn upload_until_taken(stack: &Stack, key: &str, idem: &str, body: &[u8], round: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let res = stack
            .http
            .post(stack.url("/api/v1/files"))
            .bearer_auth(key)
            .header("Idempotency-Key", idem)
            .header("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let answer: Value = res.json().await.unwrap_or(Value::Null);
        if (200..=202).contains(&status) {
            return answer;
        }
        assert!(
            matches!(status, 403 | 409) && Instant::now() < deadline,
            "round {round}: the cut upload still holds the quota or its key: {status} {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Files in storage under `media/` (every media's objects).
fn stored_objects(stack: &Stack) -> Vec<std::path::PathBuf> {
    let mut todo = vec![stack.objects_dir().join("media")];
    let mut found = Vec::new();
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() { todo.push(entry.path()) } else { found.push(entry.path()) }
        }
    }
    found
}

both_stacks!(cut_off_uploads_leave_nothing_behind, |stack: Stack| async move {
    let admin = stack.admin_key("root");
    let alice = stack.key("alice");
    // A file of kind `file` is stored as sent, so its checksum is known.
    let bytes = noise(6, 0x2545_f491_4f6c_dd1d);
    let sha = hex::encode(Sha256::digest(&bytes));
    let body = form(&bytes);
    // Room for one file and its derivatives, not for two.
    let id = stack.call(Method::GET, "/api/v1/auth/me", Some(&alice), None).await.1["id"].as_i64().unwrap();
    let quota = json!({ "quotaBytes": (bytes.len() as u64) * 3 / 2 });
    assert_eq!(stack.call(Method::PATCH, &format!("/api/v1/admin/users/{id}"), Some(&admin), Some(quota)).await.0, 200);
    let cuts = [0, 1024, body.len() / 2, body.len() - 1, body.len()];
    for round in 0..20 {
        let idem = format!("cut-{round}");
        let sent = cuts[round % cuts.len()];
        cut_upload(&stack, &alice, &idem, &body, sent).await;
        let file = upload_until_taken(&stack, &alice, &idem, &body, round).await;
        let file_id = file["id"].as_str().unwrap().to_owned();
        let file = stack.wait_settled(&alice, &file_id, Duration::from_secs(60)).await;
        assert_eq!(file["sha256"], sha.as_str(), "round {round} (cut after {sent} bytes): {file}");
        let list = stack.call(Method::GET, "/api/v1/files", Some(&alice), None).await.1;
        assert_eq!(list["total"], 1, "round {round} (cut after {sent} bytes): {list}");
        let status =
            stack.call(Method::DELETE, &format!("/api/v1/files/{file_id}?permanent=true"), Some(&alice), None).await.0;
        assert_eq!(status, 204, "round {round}");
    }
    // Every object went with its file or its undone upload.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stored_objects(&stack).is_empty() {
        assert!(Instant::now() < deadline, "objects left in storage: {:?}", stored_objects(&stack));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
});
