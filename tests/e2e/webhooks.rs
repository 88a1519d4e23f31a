//! Webhooks on both stacks: a subscription's deliveries carry Standard
//! Webhooks signatures that the reference Python library (`standardwebhooks`
//! from PyPI, installed by scripts/test.sh) verifies; a delivery answered
//! 500 is retried with the same message id and body; the delivery log shows
//! each attempt's HTTP status; deleting a file sends `file.deleted`.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mediaq_tests::{Stack, both_stacks_with, corpus};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SETTINGS: &[(&str, &str)] = &[("MEDIAQ_FETCH_ALLOW_PRIVATE", "true")];

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: String,
}

/// A loopback webhook receiver answering the statuses of `script` in
/// turn (then 200), recording every request.
pub(crate) async fn receiver(script: Vec<u16>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = got.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let Some(received) = read_request(&mut sock).await else { continue };
            let n = {
                let mut log = log.lock().unwrap();
                log.push(received);
                log.len()
            };
            let status = script.get(n - 1).copied().unwrap_or(200);
            let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = sock.write_all(answer.as_bytes()).await;
        }
    });
    (url, got)
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        let Some(end) = text.find("\r\n\r\n") else { continue };
        let headers: BTreeMap<String, String> = text[..end]
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        if buf.len() >= end + 4 + len {
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
            return Some(Received { headers, body });
        }
    }
}

/// Verifies every request with the Standard Webhooks Python library;
/// returns the verified payloads.
fn verify_with_library(secret: &str, requests: &[Received]) -> Vec<Value> {
    let python = std::env::var("MEDIAQ_TEST_PYTHON").expect("MEDIAQ_TEST_PYTHON: run the suite with scripts/test.sh");
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
job = json.load(sys.stdin)
hook = Webhook(job["secret"])
print(json.dumps([hook.verify(r["body"], r["headers"]) for r in job["requests"]]))
"#;
    let input = json!({
        "secret": secret,
        "requests": requests.iter().map(|r| json!({ "body": r.body, "headers": r.headers })).collect::<Vec<_>>(),
    });
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "standardwebhooks refused a delivery: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) async fn wait_for(got: &Arc<Mutex<Vec<Received>>>, n: usize, stack: &Stack) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = got.lock().unwrap().clone();
        if seen.len() >= n {
            return seen;
        }
        assert!(Instant::now() < deadline, "{} of {n} deliveries after 60 s; logs:\n{}", seen.len(), stack.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both_stacks_with!(webhooks_are_signed_retried_and_logged, SETTINGS, |stack: Stack| async move {
    let key = stack.key("alice");
    let (url, got) = receiver(vec![500]).await;
    let (code, body) = stack
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(&key),
            Some(json!({ "url": url, "events": ["file.ready", "file.deleted"] })),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let (hook, secret) = (body["id"].as_str().unwrap().to_owned(), body["secret"].as_str().unwrap().to_owned());
    assert!(secret.starts_with("whsec_"), "{secret}");
    let (_, list) = stack.call(Method::GET, "/api/v1/webhooks", Some(&key), None).await;
    assert_eq!(list["data"][0]["id"], hook.as_str(), "{list}");
    assert!(list["data"][0].get("secret").is_none(), "the secret is shown once: {list}");
    let (code, _) =
        stack.call(Method::POST, "/api/v1/webhooks", Some(&key), Some(json!({ "url": url, "events": ["nope"] }))).await;
    assert_eq!(code, 400);
    let (code, _) = stack
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(&key),
            Some(json!({ "url": "ftp://x/", "events": ["file.ready"] })),
        )
        .await;
    assert_eq!(code, 400);

    // Ready: the first attempt is answered 500, the retry 200.
    let (status, up) = stack.chevereto_upload(&key, &corpus("skimage_rocket.jpg"), &[]).await;
    assert_eq!(status, 200, "{up}");
    let id = up["image"]["id_encoded"].as_str().unwrap().to_owned();
    let seen = wait_for(&got, 2, &stack).await;
    let payloads = verify_with_library(&secret, &seen);
    assert_eq!(seen[0].headers["webhook-id"], seen[1].headers["webhook-id"], "a retry keeps the message id");
    assert_eq!(seen[0].body, seen[1].body);
    assert_eq!(payloads[0]["type"], "file.ready");
    assert_eq!(payloads[0]["data"]["id"], id.as_str());
    assert_eq!(payloads[0]["data"]["status"], "ready");
    // A tampered body fails the library's check (so the check can fail).
    let mut forged = seen[0].clone();
    forged.body = forged.body.replace("file.ready", "file.failed");
    let refused = std::panic::catch_unwind(|| verify_with_library(&secret, &[forged]));
    assert!(refused.is_err(), "a forged body verified");

    // The log: attempt 1 answered 500, attempt 2 answered 200.
    let log_path = format!("/api/v1/webhooks/{hook}/deliveries");
    let deadline = Instant::now() + Duration::from_secs(30);
    let log = loop {
        let (code, log) = stack.call(Method::GET, &log_path, Some(&key), None).await;
        assert_eq!(code, 200, "{log}");
        if log["data"].as_array().unwrap().len() >= 2 {
            break log;
        }
        assert!(Instant::now() < deadline, "{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let attempts: Vec<(u64, u64)> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["attempt"].as_u64().unwrap(), a["httpStatus"].as_u64().unwrap()))
        .collect();
    assert_eq!(attempts, [(2, 200), (1, 500)], "{log}");
    assert_eq!(log["data"][0]["event"], "file.ready");

    // Deleted: one more delivery, verified.
    let (code, _) = stack.call(Method::DELETE, &format!("/api/v1/files/{id}?permanent=true"), Some(&key), None).await;
    assert!(code == 200 || code == 204);
    let seen = wait_for(&got, 3, &stack).await;
    let payloads = verify_with_library(&secret, &seen[2..]);
    assert_eq!(payloads[0]["type"], "file.deleted");
    assert_eq!(payloads[0]["data"]["id"], id.as_str());

    // Someone else sees no such webhook; the owner removes it.
    let (code, _) = stack.call(Method::GET, &log_path, Some(&stack.key("mallory")), None).await;
    assert_eq!(code, 404);
    let (code, _) =
        stack.call(Method::DELETE, &format!("/api/v1/webhooks/{hook}"), Some(&stack.key("mallory")), None).await;
    assert_eq!(code, 404);
    let (code, _) = stack.call(Method::DELETE, &format!("/api/v1/webhooks/{hook}"), Some(&key), None).await;
    assert_eq!(code, 204);
    let (_, list) = stack.call(Method::GET, "/api/v1/webhooks", Some(&key), None).await;
    assert_eq!(list["data"], json!([]));
});
