//! Stock tus clients, unchanged, against both stacks: tuspy (a whole
//! upload with sha1 checksums, and one interrupted and resumed from the
//! server's offset) and tus-js-client on Node (interrupted, resumed).
//! `scripts/test.sh` installs them from PyPI and npm.

use std::process::Command;
use std::time::Duration;

use mediaq_tests::{Kind, Stack, both_stacks_with, corpus};
use sha2::{Digest, Sha256};

const NO_STRIP: &[(&str, &str)] = &[("MEDIAQ_STRIP_EXIF", "false")];
const FILE: &str = "mate_Elephants_1920.jpg";

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run the suite with scripts/test.sh"))
}

fn script(name: &str) -> String {
    format!("{}/clients/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs a client; returns the upload URLs it printed.
fn run(mut cmd: Command) -> Vec<String> {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "client failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout.lines().filter(|l| l.starts_with("http")).map(str::to_owned).collect()
}

/// Every upload became a processed file with the client's bytes.
async fn check(stack: &Stack, key: &str, urls: &[String], want: usize) {
    assert_eq!(urls.len(), want, "{urls:?}");
    let bytes = std::fs::read(corpus(FILE)).unwrap();
    for url in urls {
        let id = url.rsplit('/').next().unwrap();
        let file = stack.wait_settled(key, id, Duration::from_secs(60)).await;
        assert_eq!(file["status"], "ready", "{file}");
        assert_eq!(file["sha256"].as_str(), Some(hex::encode(Sha256::digest(&bytes)).as_str()), "{file}");
    }
}

both_stacks_with!(tuspy_uploads_and_resumes, NO_STRIP, |stack: Stack| async move {
    let key = stack.key("alice");
    let mut cmd = Command::new(required("MEDIAQ_TEST_PYTHON"));
    cmd.arg(script("tuspy_upload.py")).arg(stack.url("/api/v1/tus")).arg(&key).arg(corpus(FILE));
    let urls = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    check(&stack, &key, &urls, 2).await;
});

both_stacks_with!(tus_js_client_resumes, NO_STRIP, |stack: Stack| async move {
    let key = stack.key("alice");
    let mut cmd = Command::new("node");
    cmd.env("NODE_PATH", required("MEDIAQ_TEST_NODE_MODULES"));
    cmd.arg(script("tus_js_upload.js")).arg(stack.url("/api/v1/tus")).arg(&key).arg(corpus(FILE));
    let urls = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    check(&stack, &key, &urls, 1).await;
});

/// Uppy 5 with `@uppy/aws-s3` in headless Chromium (selenium), the page
/// on another origin than mediaq: a small file (single PUT) and a large
/// one (multipart, 3 parts). On the production stack the parts go to S3
/// through a CORS-adding proxy (the test S3 server has no CORS; a real
/// bucket has the operator's), at `MEDIAQ_S3_PUBLIC_ENDPOINT`.
async fn uppy_in_chromium(kind: Kind) {
    let proxy = mediaq_tests::free_port();
    let public = format!("http://127.0.0.1:{proxy}");
    let mut extra = vec![("MEDIAQ_STRIP_EXIF", "false")];
    if kind == Kind::Production {
        extra.push(("MEDIAQ_S3_PUBLIC_ENDPOINT", public.as_str()));
    }
    let stack = Stack::start_with(kind, &extra).await;
    let key = stack.key("alice");
    let files = ["skimage_camera.png", "kde_Patak_5120_alpha.png"];
    let dist = format!("{}/uppy/dist", required("MEDIAQ_TEST_NODE_MODULES"));
    let mut cmd = Command::new(required("MEDIAQ_TEST_PYTHON"));
    cmd.arg(script("uppy_upload.py")).arg(stack.url("/api/v1")).arg(&key).arg(dist);
    if kind == Kind::Production {
        cmd.arg("--s3-proxy").arg(format!("{proxy}={}", required("MEDIAQ_TEST_S3_ENDPOINT")));
    }
    cmd.args(files.iter().map(|f| corpus(f)));
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "uppy failed:\n{stdout}\n{}\n{}", String::from_utf8_lossy(&out.stderr), stack.logs());
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["failed"].as_array().unwrap().len(), 0, "{result}");
    assert_eq!(result["successful"].as_array().unwrap().len(), 2, "{result}");
    // Both are listed and processed, with the bytes Chromium sent.
    let (_, list) = stack.call(reqwest::Method::GET, "/api/v1/files", Some(&key), None).await;
    let items = list["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{list}");
    for item in items {
        let id = item["id"].as_str().unwrap();
        let file = stack.wait_settled(&key, id, Duration::from_secs(120)).await;
        assert_eq!(file["status"], "ready", "{file}");
        let name = if file["name"] == "skimage_camera.png" { files[0] } else { files[1] };
        let bytes = std::fs::read(corpus(name)).unwrap();
        assert_eq!(file["sha256"].as_str(), Some(hex::encode(Sha256::digest(&bytes)).as_str()), "{file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uppy_in_chromium_embedded() {
    uppy_in_chromium(Kind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uppy_in_chromium_production() {
    uppy_in_chromium(Kind::Production).await;
}
