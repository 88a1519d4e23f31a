//! Orphan collection by the sweep: objects no row names and temporary
//! files, older than `MEDIAQ_ORPHAN_GRACE_SECS`, are removed; everything a
//! row names, and everything younger, stays.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use mediaq_shared::domain::MediaId;
use mediaq_tests::{Kind, Stack, both_stacks, corpus};
use serde_json::json;

/// The grace period the sweep runs with here: planted "old" objects are
/// dated an hour back, "young" ones now.
const GRACE_SECS: &str = "600";

/// Where the stack's objects live on disk: the fs store's root, or the
/// test S3 server's directory for the stack's bucket.
fn store_root(stack: &Stack) -> PathBuf {
    match stack.kind {
        Kind::Embedded => stack.data_dir.path().join("objects"),
        Kind::Production => {
            Path::new(&std::env::var("MEDIAQ_TEST_S3_ROOT").unwrap()).join(&stack.env["MEDIAQ_S3_BUCKET"])
        }
    }
}

/// Every file under `dir`, temporary ones included.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() { found.extend(files_under(&path)) } else { found.push(path) }
    }
    found
}

fn age(path: &Path, by: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - by).unwrap();
}

/// Writes a file as if the store had, `old` or just now.
fn plant(path: &Path, old: bool) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"left behind").unwrap();
    if old {
        age(path, Duration::from_secs(3600));
    }
    path.to_owned()
}

/// A presigned upload initiated and PUT, not completed: its object has an
/// upload row and no media row.
async fn pending_presigned_upload(stack: &Stack, key: &str) {
    let bytes = std::fs::read(corpus("skimage_rocket.jpg")).unwrap();
    let body = json!({"name": "r.jpg", "contentType": "image/jpeg", "sizeBytes": bytes.len()});
    let (status, init) = stack.call(reqwest::Method::POST, "/api/v1/files/initiate", Some(key), Some(body)).await;
    assert_eq!(status, 200, "{init}");
    let res = stack.http.put(init["uploadUrl"].as_str().unwrap()).body(bytes).send().await.unwrap();
    assert!(res.status().is_success(), "presigned PUT: {}", res.status());
}

both_stacks!(the_sweep_removes_old_orphans_and_nothing_live, |stack: Stack| async move {
    let key = stack.key("alice");
    let (status, body) = stack.chevereto_upload(&key, &corpus("skimage_camera.png"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let id = body["image"]["id_encoded"].as_str().unwrap().to_owned();
    assert_eq!(stack.wait_settled(&key, &id, Duration::from_secs(60)).await["status"], "ready");
    pending_presigned_upload(&stack, &key).await;

    // Everything stored so far is live; date it past the grace period, so
    // only the rows can save it.
    let root = store_root(&stack);
    let live: Vec<PathBuf> = files_under(&root).into_iter().filter(|p| !p.starts_with(root.join(".tmp"))).collect();
    assert!(live.len() >= 3, "an original, its variants and an upload: {live:?}");
    for path in &live {
        age(path, Duration::from_secs(3600));
    }

    let no_row = |name: &str| root.join(format!("media/{}/{name}", MediaId::generate()));
    let old_orphans = vec![plant(&no_row("original.png"), true), plant(&no_row("upload"), true)];
    let mut survivors = vec![
        plant(&no_row("original.png"), false),
        // Not one of our key shapes: left alone, however old.
        plant(&root.join("media/not-an-id/original.png"), true),
    ];
    let mut removed_partials = 0;
    if stack.kind == Kind::Embedded {
        let old_partial = plant(&root.join(".tmp/abandoned"), true);
        survivors.push(plant(&root.join(".tmp/in-flight"), false));
        removed_partials = 1;
        assert!(old_partial.exists());
    }

    let out = stack.command(&["sweep"]).env("MEDIAQ_ORPHAN_GRACE_SECS", GRACE_SECS).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let expected = format!("removed {} orphaned objects and temporary files", old_orphans.len() + removed_partials);
    assert!(stdout.contains(&expected), "{stdout}");

    for path in &old_orphans {
        assert!(!path.exists(), "{} survived the sweep", path.display());
    }
    if stack.kind == Kind::Embedded {
        assert!(!root.join(".tmp/abandoned").exists(), "an old temporary file survived");
    }
    for path in live.iter().chain(&survivors) {
        assert!(path.exists(), "the sweep removed {}", path.display());
    }
    let (status, ..) = stack.fetch(body["image"]["url"].as_str().unwrap()).await;
    assert_eq!(status, 200, "the live media still serves");

    // A second sweep in a fresh process finds nothing more.
    let out = stack.command(&["sweep"]).env("MEDIAQ_ORPHAN_GRACE_SECS", GRACE_SECS).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed 0 orphaned"));
});
