//! Stock tus clients, unchanged, against both stacks: tuspy (a whole
//! upload with sha1 checksums, and one interrupted and resumed from the
//! server's offset) and tus-js-client on Node (interrupted, resumed).
//! `scripts/test.sh` installs them from PyPI and npm.

use std::process::Command;
use std::time::Duration;

use mediaq_tests::{Stack, both_stacks_with, corpus};
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
