//! Folders as streamed ZIPs on both stacks, opened by standard tools
//! (`unzip -t`, Python's zipfile): every entry's SHA-256 is the file's,
//! subfolders are paths, names are safe and unique, files of any type are
//! in, trashed files and folders are not; access for owner, sharee,
//! others and folder links; an empty folder is a valid empty archive. And
//! memory stays flat for a zip and for copies of large files (embedded
//! stack: API and workers in one process).

use std::collections::BTreeMap;
use std::process::Command;

use mediaq_tests::{Kind, Stack, both_stacks, corpus, noise};
use reqwest::Method;
use serde_json::{Value, json};

/// Entry name → SHA-256 of a ZIP, read by Python's zipfile (which checks
/// every CRC) after `unzip -t` has tested it. `unzip` calls an archive
/// without entries "empty" and fails, so an empty one is left to Python.
fn open_zip(bytes: &[u8]) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.zip");
    std::fs::write(&path, bytes).unwrap();
    let tested = Command::new("unzip").arg("-t").arg(&path).output().unwrap();
    let empty = String::from_utf8_lossy(&tested.stdout).contains("zipfile is empty");
    assert!(tested.status.success() || empty, "unzip -t: {}", String::from_utf8_lossy(&tested.stdout));
    let script = "import sys, zipfile, hashlib, json\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        assert z.testzip() is None\n\
        print(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))";
    let out = Command::new("python3").args(["-c", script]).arg(&path).output().unwrap();
    assert!(out.status.success(), "zipfile: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn get(stack: &Stack, url: &str, key: Option<&str>) -> (u16, Vec<u8>) {
    let mut req = stack.http.get(url);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

async fn folder(stack: &Stack, key: &str, name: &str, parent: Option<&str>) -> String {
    let body = json!({ "name": name, "parentId": parent });
    let (status, f) = stack.call(Method::POST, "/api/v1/folders", Some(key), Some(body)).await;
    assert_eq!(status, 201, "{f}");
    f["id"].as_str().unwrap().to_owned()
}

fn sha(v: &Value) -> String {
    v["sha256"].as_str().unwrap().to_owned()
}

both_stacks!(folders_zip_with_paths_and_checksums, |stack: Stack| async move {
    let alice = stack.key("alice");
    let bob = stack.key("bob");
    let album = folder(&stack, &alice, "Holiday", None).await;
    let sub = folder(&stack, &alice, "Day/2", Some(&album)).await;
    let deeper = folder(&stack, &alice, "..", Some(&sub)).await;
    let a = stack.upload_native(&alice, &corpus("mate_Aqua.jpg"), Some(&album)).await;
    let b = stack.upload_native(&alice, &corpus("kde_Path.jpg"), Some(&album)).await;
    let b2 = stack.upload_native(&alice, &corpus("kde_Path.jpg"), Some(&album)).await;
    let c = stack.upload_native(&alice, &corpus("skimage_chelsea.png"), Some(&sub)).await;
    let d = stack.upload_native(&alice, &corpus("video_h264_720p_10s.mp4"), Some(&deeper)).await;
    let doc = stack.upload_bytes(&alice, "notes.pdf", crate::files_any::pdf("zip"), Some(&sub)).await;
    // In the trash: a file, and a folder with a file; neither is zipped.
    let old = folder(&stack, &alice, "Old", Some(&album)).await;
    stack.upload_bytes(&alice, "old.pdf", crate::files_any::pdf("old"), Some(&old)).await;
    let gone = stack.upload_bytes(&alice, "gone.pdf", crate::files_any::pdf("gone"), Some(&album)).await;
    let trash = |path: String| stack.call(Method::DELETE, &path, Some(&alice), None);
    assert_eq!(trash(format!("/api/v1/folders/{old}")).await.0, 204);
    assert_eq!(trash(format!("/api/v1/files/{}", gone["id"].as_str().unwrap())).await.0, 204);
    let url = stack.url(&format!("/api/v1/folders/{album}/zip"));
    let res = stack.http.get(&url).bearer_auth(&alice).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("Holiday.zip"));
    let entries = open_zip(&res.bytes().await.unwrap());
    let expected: BTreeMap<String, String> = [
        ("mate_Aqua.jpg".to_owned(), sha(&a)),
        ("kde_Path.jpg".to_owned(), sha(&b)),
        ("kde_Path (2).jpg".to_owned(), sha(&b2)),
        ("Day_2/skimage_chelsea.png".to_owned(), sha(&c)),
        ("Day_2/notes.pdf".to_owned(), sha(&doc)),
        ("Day_2/_/video_h264_720p_10s.mp4".to_owned(), sha(&d)),
    ]
    .into_iter()
    .collect();
    // The two kde_Path.jpg are the same bytes: compare the multiset.
    let mut got: Vec<_> = entries.iter().map(|(k, v)| (k.replace(" (2)", ""), v.clone())).collect();
    let mut want: Vec<_> = expected.iter().map(|(k, v)| (k.replace(" (2)", ""), v.clone())).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{entries:?}");
    assert!(entries.contains_key("kde_Path (2).jpg"), "{entries:?}");
    // Access: bob 404, no key 401, a sharee of the folder 200.
    assert_eq!(get(&stack, &url, Some(&bob)).await.0, 404);
    assert_eq!(get(&stack, &url, None).await.0, 401);
    let share = json!({ "folderId": album, "username": "bob" });
    assert_eq!(stack.call(Method::POST, "/api/v1/shares", Some(&alice), Some(share)).await.0, 201);
    let (status, bytes) = get(&stack, &stack.url(&format!("/api/v1/folders/{sub}/zip")), Some(&bob)).await;
    assert_eq!(status, 200);
    assert_eq!(open_zip(&bytes).len(), 3);
    // Folder links: downloads allowed, view-only, password; not file links.
    let make = |body: Value| stack.call(Method::POST, "/api/v1/links", Some(&alice), Some(body));
    let (_, open) = make(json!({ "folderId": album })).await;
    let (status, bytes) = get(&stack, &format!("{}/zip", open["url"].as_str().unwrap()), None).await;
    assert_eq!(status, 200);
    assert_eq!(open_zip(&bytes), entries);
    let (_, view_only) = make(json!({ "folderId": album, "allowDownload": false })).await;
    assert_eq!(get(&stack, &format!("{}/zip", view_only["url"].as_str().unwrap()), None).await.0, 403);
    let (_, guarded) = make(json!({ "folderId": sub, "password": "open-sesame" })).await;
    let gurl = format!("{}/zip", guarded["url"].as_str().unwrap());
    assert_eq!(get(&stack, &gurl, None).await.0, 401);
    assert_eq!(get(&stack, &format!("{gurl}?password=open-sesame"), None).await.0, 200);
    let (_, file_link) = make(json!({ "fileId": a["id"] })).await;
    assert_eq!(get(&stack, &format!("{}/zip", file_link["url"].as_str().unwrap()), None).await.0, 404);
    // A trashed folder has no archive; an empty folder is an empty, valid
    // one: nothing but the end-of-central-directory record(s).
    assert_eq!(get(&stack, &stack.url(&format!("/api/v1/folders/{old}/zip")), Some(&alice)).await.0, 404);
    let empty = folder(&stack, &alice, "Empty", None).await;
    let (status, bytes) = get(&stack, &stack.url(&format!("/api/v1/folders/{empty}/zip")), Some(&alice)).await;
    assert_eq!(status, 200);
    assert!(open_zip(&bytes).is_empty());
    assert!(bytes.starts_with(b"PK\x05\x06") || bytes.starts_with(b"PK\x06\x06"), "{bytes:?}");
    assert!(bytes.len() <= 22 + 56 + 20, "{} bytes", bytes.len());
});

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Growth of the peak RSS of process `pid` while `work` runs, in MiB.
async fn peak_growth_mib<F: Future<Output = ()>>(pid: u32, work: F) -> u64 {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let before = status_kib(pid, "VmHWM:");
    work.await;
    status_kib(pid, "VmHWM:").saturating_sub(before) / 1024
}

/// Three files of 96 MiB: zipped (streamed to disk, as a client would),
/// copied one by one and copied as a folder; the peak RSS of `mediaq all`
/// grows by less than 64 MiB for each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zip_and_copies_of_large_files_keep_memory_flat() {
    let stack = Stack::start_with(Kind::Embedded, &[("MEDIAQ_MAX_UPLOAD_BYTES", "1073741824")]).await;
    let alice = stack.key("alice");
    let album = folder(&stack, &alice, "Big", None).await;
    let mut want = BTreeMap::new();
    let mut ids = Vec::new();
    for i in 0..3u64 {
        let file = stack.upload_bytes(&alice, &format!("big{i}.bin"), noise(96, 0x9e37_79b9 + i), Some(&album)).await;
        assert_eq!(file["status"], "ready", "{file}");
        want.insert(format!("big{i}.bin"), sha(&file));
        ids.push(file["id"].as_str().unwrap().to_owned());
    }
    let pid = stack.processes[0].id();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.zip");
    let zipped = peak_growth_mib(pid, async {
        let url = stack.url(&format!("/api/v1/folders/{album}/zip"));
        let mut res = stack.http.get(url).bearer_auth(&alice).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let mut out = std::fs::File::create(&path).unwrap();
        while let Some(chunk) = res.chunk().await.unwrap() {
            std::io::Write::write_all(&mut out, &chunk).unwrap();
        }
    })
    .await;
    eprintln!("zip of 3 × 96 MiB: peak RSS grew by {zipped} MiB");
    assert!(zipped < 64, "zip: peak RSS grew by {zipped} MiB");
    assert_eq!(open_zip(&std::fs::read(&path).unwrap()), want);
    let copied = peak_growth_mib(pid, async {
        let (status, copy) =
            stack.call(Method::POST, &format!("/api/v1/files/{}/copy", ids[0]), Some(&alice), None).await;
        assert_eq!(status, 201, "{copy}");
        assert_eq!(copy["sha256"].as_str(), Some(want["big0.bin"].as_str()));
    })
    .await;
    eprintln!("copy of 96 MiB: peak RSS grew by {copied} MiB");
    assert!(copied < 64, "copy: peak RSS grew by {copied} MiB");
    let tree = peak_growth_mib(pid, async {
        let (status, tree) =
            stack.call(Method::POST, &format!("/api/v1/folders/{album}/copy"), Some(&alice), None).await;
        assert_eq!(status, 201, "{tree}");
        assert_eq!(tree["files"], 4, "{tree}");
    })
    .await;
    eprintln!("folder copy of 4 × 96 MiB: peak RSS grew by {tree} MiB");
    assert!(tree < 64, "folder copy: peak RSS grew by {tree} MiB");
}
