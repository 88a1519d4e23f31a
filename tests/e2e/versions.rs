//! Versions on both stacks: new content keeps the id and public link,
//! every URL serves the current version, old ones can be listed,
//! downloaded, restored (as a new version sharing the objects) and
//! deleted (409 for the current one); `MEDIAQ_MAX_VERSIONS` prunes the
//! oldest with their objects; every version counts in the quota. A race
//! test drives new versions, edits and deletes against each other.

use std::time::Duration;

use mediaq_tests::{Stack, both_stacks, both_stacks_with, corpus};
use reqwest::Method;
use serde_json::{Value, json};

use crate::files_any::{download, get, pdf, ready, sha256, zip};

async fn new_version(stack: &Stack, key: &str, id: &str, bytes: Vec<u8>, name: Option<&str>) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new();
    if let Some(n) = name {
        form = form.text("versionName", n.to_owned());
    }
    form = form.part("file", reqwest::multipart::Part::bytes(bytes).file_name("next"));
    let res = stack
        .http
        .post(stack.url(&format!("/api/v1/files/{id}/versions")))
        .bearer_auth(key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn versions_of(list: &Value) -> Vec<(u64, bool)> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_u64().unwrap(), v["current"].as_bool().unwrap()))
        .collect()
}

both_stacks!(versions_keep_the_file_and_serve_the_current_one, |stack: Stack| async move {
    let key = stack.key("alice");
    let bob = stack.key("bob");
    let v1 = pdf("first");
    let file = ready(&stack, &key, v1.clone(), "doc.pdf").await;
    let id = file["id"].as_str().unwrap().to_owned();
    let public = stack
        .call(Method::PATCH, &format!("/api/v1/files/{id}"), Some(&key), Some(json!({ "isPublic": true })))
        .await
        .1;
    let public_url = public["publicUrl"].as_str().unwrap().to_owned();
    let (status, link) = stack.call(Method::POST, "/api/v1/links", Some(&key), Some(json!({ "fileId": id }))).await;
    assert_eq!(status, 201, "{link}");
    let link_url = format!("{}/download", link["url"].as_str().unwrap());
    // Version 2: same id, public URL and link, new content.
    let v2 = zip(&[("notes.txt", b"second")]);
    assert_eq!(new_version(&stack, &bob, &id, v2.clone(), None).await.0, 404);
    let (status, body) = new_version(&stack, &key, &id, v2.clone(), Some("second draft")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        (body["id"].as_str(), body["version"].as_u64(), body["versionCount"].as_u64()),
        (Some(id.as_str()), Some(2), Some(2)),
        "{body}"
    );
    let now = stack.wait_settled(&key, &id, Duration::from_secs(60)).await;
    assert_eq!((now["status"].as_str(), now["sha256"].as_str()), (Some("ready"), Some(sha256(&v2).as_str())), "{now}");
    assert_eq!(now["versionName"], "second draft");
    for url in [&public_url, &link_url] {
        let (status, _, bytes) = get(&stack, url).await;
        assert_eq!((status, bytes == v2), (200, true), "{url} serves the current version");
    }
    let list = stack.call(Method::GET, &format!("/api/v1/files/{id}/versions"), Some(&key), None).await.1;
    assert_eq!(versions_of(&list), vec![(2, true), (1, false)], "{list}");
    assert_eq!(list["items"][1]["sha256"], sha256(&v1));
    assert_eq!(list["items"][0]["versionName"], "second draft");
    assert_eq!(list["items"][1]["contentType"], "application/pdf");
    let (_, bytes) = download(&stack, &key, &format!("/api/v1/files/{id}/versions/1/download")).await;
    assert_eq!(bytes, v1);
    assert_eq!(
        stack.call(Method::GET, &format!("/api/v1/files/{id}/versions/7/download"), Some(&key), None).await.0,
        404
    );
    // Both versions count in the quota.
    let me = stack.call(Method::GET, "/api/v1/auth/me", Some(&key), None).await.1;
    assert_eq!(me["usedBytes"].as_u64(), Some((v1.len() + v2.len()) as u64), "{me}");
    // Restore 1 → version 3 with v1's content, at once.
    let (status, body) =
        stack.call(Method::POST, &format!("/api/v1/files/{id}/versions/1/restore"), Some(&key), None).await;
    assert_eq!((status, body["version"].as_u64(), body["status"].as_str()), (202, Some(3), Some("ready")), "{body}");
    assert_eq!(get(&stack, &public_url).await.2, v1);
    // Deleting version 1 keeps version 3's bytes (they are shared).
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{id}/versions/3"), Some(&key), None).await.0, 409);
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{id}/versions/1"), Some(&key), None).await.0, 204);
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{id}/versions/1"), Some(&key), None).await.0, 404);
    let (status, _, bytes) = get(&stack, &public_url).await;
    assert_eq!((status, bytes == v1), (200, true), "shared object kept");
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{id}/versions/2"), Some(&key), None).await.0, 204);
    let list = stack.call(Method::GET, &format!("/api/v1/files/{id}/versions"), Some(&key), None).await.1;
    assert_eq!(versions_of(&list), vec![(3, true)]);
    assert_eq!(stack.objects_of(&id), 1, "only the current original is left");
    // Image versions get their own derivatives.
    let png = ready(&stack, &key, std::fs::read(corpus("skimage_camera.png")).unwrap(), "cam.png").await;
    let pid = png["id"].as_str().unwrap().to_owned();
    let (status, _) = new_version(&stack, &key, &pid, std::fs::read(corpus("skimage_coffee.png")).unwrap(), None).await;
    assert_eq!(status, 202);
    let now = stack.wait_settled(&key, &pid, Duration::from_secs(60)).await;
    assert_eq!(now["variants"]["thumb"]["width"], 160, "{now}");
    assert_ne!(now["variants"]["thumb"]["sizeBytes"], png["variants"]["thumb"]["sizeBytes"], "a thumb of its own");
});

both_stacks_with!(max_versions_prunes_the_oldest, &[("MEDIAQ_MAX_VERSIONS", "3")], |stack: Stack| async move {
    let key = stack.key("alice");
    let file = ready(&stack, &key, pdf("v1"), "doc.pdf").await;
    let id = file["id"].as_str().unwrap().to_owned();
    for n in 2..=5 {
        let (status, body) = new_version(&stack, &key, &id, pdf(&format!("v{n}")), None).await;
        assert_eq!(status, 202, "{body}");
        stack.wait_settled(&key, &id, Duration::from_secs(60)).await;
    }
    let list = stack.call(Method::GET, &format!("/api/v1/files/{id}/versions"), Some(&key), None).await.1;
    assert_eq!(versions_of(&list), vec![(5, true), (4, false), (3, false)], "{list}");
    assert_eq!(stack.objects_of(&id), 3, "pruned versions lose their objects");
    let me = stack.call(Method::GET, "/api/v1/auth/me", Some(&key), None).await.1;
    let sizes: u64 = (3..=5).map(|n| pdf(&format!("v{n}")).len() as u64).sum();
    assert_eq!(me["usedBytes"].as_u64(), Some(sizes));
    // The admin's stats count every kept version too (alice has all files).
    let admin = stack.admin_key("root");
    let stats = stack.call(Method::GET, "/api/v1/admin/stats", Some(&admin), None).await.1;
    assert_eq!((stats["files"].as_u64(), stats["bytes"].as_u64()), (Some(1), Some(sizes)), "{stats}");
    // A quota that the next version would pass refuses it.
    let uid = me["id"].as_u64().unwrap();
    stack
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{uid}"),
            Some(&admin),
            Some(json!({ "quotaBytes": sizes + 10 })),
        )
        .await;
    let (status, body) = new_version(&stack, &key, &id, pdf("too much"), None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{id}"), Some(&key), None).await.1["version"], 5);
});

/// Whether an image is gray (the camera picture) or in colour (coffee).
fn is_gray(bytes: &[u8]) -> bool {
    let img = image::load_from_memory(bytes).unwrap().to_rgb8();
    img.pixels().all(|p| p[0].abs_diff(p[1]) < 8 && p[1].abs_diff(p[2]) < 8)
}

both_stacks!(new_versions_edits_and_deletes_race, |stack: Stack| async move {
    let key = stack.key("alice");
    let camera = std::fs::read(corpus("skimage_camera.png")).unwrap();
    let coffee = std::fs::read(corpus("skimage_coffee.png")).unwrap();
    for round in 0..20 {
        let file = ready(&stack, &key, camera.clone(), "pic.png").await;
        let id = file["id"].as_str().unwrap().to_owned();
        stack.call(Method::PATCH, &format!("/api/v1/files/{id}"), Some(&key), Some(json!({ "isPublic": true }))).await;
        let delete = round % 4 == 0;
        let (a, b, p, d) = tokio::join!(
            new_version(&stack, &key, &id, coffee.clone(), Some("coffee")),
            new_version(&stack, &key, &id, camera.clone(), Some("camera")),
            stack.call(
                Method::PATCH,
                &format!("/api/v1/files/{id}"),
                Some(&key),
                Some(json!({ "name": format!("r{round}.png") }))
            ),
            async {
                if delete {
                    stack.call(Method::DELETE, &format!("/api/v1/files/{id}?permanent=true"), Some(&key), None).await.0
                } else {
                    0
                }
            }
        );
        assert!(
            [a.0, b.0].iter().all(|s| matches!(s, 202 | 404)) && matches!(p.0, 200 | 404),
            "round {round}: {a:?} {b:?} {p:?}; warnings and errors:\n{}",
            stack.logs().lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).collect::<Vec<_>>().join("\n")
        );
        if delete && d == 204 {
            assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{id}"), Some(&key), None).await.0, 404);
            continue;
        }
        let now = stack.wait_settled(&key, &id, Duration::from_secs(60)).await;
        assert_eq!(now["status"], "ready", "round {round}: {now}");
        // The current version's bytes, and thumbs made from them.
        let (status, _, bytes) = get(&stack, now["url"].as_str().unwrap()).await;
        assert_eq!(status, 200, "round {round}: original missing: {now}");
        assert_eq!(sha256(&bytes), now["sha256"].as_str().unwrap(), "round {round}");
        let (status, _, thumb) = get(&stack, now["variants"]["thumb"]["url"].as_str().unwrap()).await;
        assert_eq!(status, 200, "round {round}: thumb missing: {now}");
        assert_eq!(
            is_gray(&thumb),
            is_gray(&bytes),
            "round {round}: the thumb is of another version than the original: {now}"
        );
        let versions = stack.call(Method::GET, &format!("/api/v1/files/{id}/versions"), Some(&key), None).await.1;
        assert_eq!(versions["items"][0]["version"], now["version"]);
    }
});

/// A field of /proc/PID/status, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A 256 MiB new version is streamed: the peak RSS of `mediaq all` grows
/// by less than 64 MiB while it is received, hashed, stored and settled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_new_version_keeps_memory_flat() {
    let stack = Stack::start_with(mediaq_tests::Kind::Embedded, &[("MEDIAQ_MAX_UPLOAD_BYTES", "536870912")]).await;
    let key = stack.key("alice");
    let file = ready(&stack, &key, pdf("small"), "big.bin").await;
    let id = file["id"].as_str().unwrap().to_owned();
    // Warm up the version path once.
    assert_eq!(new_version(&stack, &key, &id, pdf("warm"), None).await.0, 202);
    stack.wait_settled(&key, &id, Duration::from_secs(60)).await;
    let bulk = mediaq_tests::noise(256, 0x9e37_79b9_7f4a_7c15);
    let pid = stack.processes[0].id();
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let before = status_kib(pid, "VmHWM:");
    let sha = sha256(&bulk);
    let (status, body) = new_version(&stack, &key, &id, bulk, Some("bulk")).await;
    assert_eq!(status, 202, "{body}");
    let now = stack.wait_settled(&key, &id, Duration::from_secs(300)).await;
    let growth = status_kib(pid, "VmHWM:").saturating_sub(before);
    assert_eq!((now["sha256"].as_str(), now["version"].as_u64()), (Some(sha.as_str()), Some(3)), "{now}");
    eprintln!("peak RSS growth for a 256 MiB new version: +{} MiB", growth / 1024);
    assert!(growth < 64 * 1024, "peak RSS grew by {} MiB", growth / 1024);
}
