//! Copies on both stacks: a file copy has a new id and the same bytes, is
//! ready at once with its derivatives, lands where asked, counts in the
//! quota; a folder copy copies the tree; a sharee copies into their own
//! space; over the quota nothing is copied. A versioned file is copied as
//! its current version only; trashed files and folders are not copied.
//! Copies racing deletes of their source end whole or not at all.

use std::time::{Duration, Instant};

use mediaq_tests::{Stack, both_stacks, both_stacks_with, corpus};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;

async fn folder(stack: &Stack, key: &str, name: &str, parent: Option<&str>) -> String {
    let body = json!({ "name": name, "parentId": parent });
    let (status, f) = stack.call(Method::POST, "/api/v1/folders", Some(key), Some(body)).await;
    assert_eq!(status, 201, "{f}");
    f["id"].as_str().unwrap().to_owned()
}

/// The bytes of a file through its signed download URL.
async fn bytes_of(stack: &Stack, key: &str, id: &str) -> Vec<u8> {
    let (status, dl) = stack.call(Method::GET, &format!("/api/v1/files/{id}/download"), Some(key), None).await;
    assert_eq!(status, 200, "{dl}");
    let (status, _, bytes) = stack.fetch(dl["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    bytes
}

async fn listed(stack: &Stack, key: &str, folder: &str) -> Vec<Value> {
    let (_, list) =
        stack.call(Method::GET, &format!("/api/v1/files?folderId={folder}&limit=100"), Some(key), None).await;
    list["items"].as_array().unwrap().clone()
}

both_stacks!(files_and_folders_copy_with_quota, |stack: Stack| async move {
    let alice = stack.key("alice");
    let bob = stack.key("bob");
    let album = folder(&stack, &alice, "Album", None).await;
    let other = folder(&stack, &alice, "Other", None).await;
    let sub = folder(&stack, &alice, "Sub", Some(&album)).await;
    let photo = stack.upload_native(&alice, &corpus("mate_Aqua.jpg"), Some(&album)).await;
    let video = stack.upload_native(&alice, &corpus("video_h264_720p_10s.mp4"), Some(&sub)).await;
    let id = photo["id"].as_str().unwrap();
    // A file copy: new id, same bytes and checksum, ready with derivatives, beside the source.
    let (status, copy) = stack.call(Method::POST, &format!("/api/v1/files/{id}/copy"), Some(&alice), None).await;
    assert_eq!(status, 201, "{copy}");
    let copy_id = copy["id"].as_str().unwrap();
    assert_ne!(copy_id, id);
    assert_eq!((copy["status"].as_str(), &copy["sha256"]), (Some("ready"), &photo["sha256"]));
    assert_eq!(copy["variants"]["thumb"]["sizeBytes"], photo["variants"]["thumb"]["sizeBytes"]);
    let bytes = bytes_of(&stack, &alice, copy_id).await;
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), photo["sha256"].as_str().unwrap());
    assert_eq!(listed(&stack, &alice, &album).await.len(), 2);
    // Into another folder, renamed; the source is untouched by deleting the copy.
    let body = json!({ "folderId": other, "name": "renamed.jpg" });
    let (status, moved) = stack.call(Method::POST, &format!("/api/v1/files/{id}/copy"), Some(&alice), Some(body)).await;
    assert_eq!(status, 201, "{moved}");
    assert_eq!(moved["name"], "renamed.jpg");
    assert_eq!(listed(&stack, &alice, &other).await.len(), 1);
    let del = stack.call(Method::DELETE, &format!("/api/v1/files/{copy_id}?permanent=true"), Some(&alice), None);
    assert_eq!(del.await.0, 204);
    assert_eq!(bytes_of(&stack, &alice, id).await.len() as u64, photo["sizeBytes"].as_u64().unwrap());
    // Others: 404; a folder that is not theirs: 400.
    assert_eq!(stack.call(Method::POST, &format!("/api/v1/files/{id}/copy"), Some(&bob), None).await.0, 404);
    let bad = json!({ "folderId": "nope" });
    assert_eq!(stack.call(Method::POST, &format!("/api/v1/files/{id}/copy"), Some(&alice), Some(bad)).await.0, 400);
    // A folder copy: the tree and every file.
    let body = json!({ "name": "Album copy" });
    let (status, tree) =
        stack.call(Method::POST, &format!("/api/v1/folders/{album}/copy"), Some(&alice), Some(body)).await;
    assert_eq!(status, 201, "{tree}");
    assert_eq!(
        (tree["folders"].as_u64(), tree["files"].as_u64(), tree["name"].as_str()),
        (Some(2), Some(2), Some("Album copy"))
    );
    let new_root = tree["id"].as_str().unwrap();
    assert_eq!(listed(&stack, &alice, new_root).await.len(), 1);
    let (_, got) = stack.call(Method::GET, &format!("/api/v1/folders/{new_root}"), Some(&alice), None).await;
    let new_sub = got["children"][0]["id"].as_str().unwrap().to_owned();
    let inside = listed(&stack, &alice, &new_sub).await;
    assert_eq!((inside.len(), &inside[0]["sha256"]), (1, &video["sha256"]));
    assert_ne!(inside[0]["id"], video["id"]);
    // A sharee copies into their own space (their quota, their root).
    let share = json!({ "folderId": album, "username": "bob" });
    assert_eq!(stack.call(Method::POST, "/api/v1/shares", Some(&alice), Some(share)).await.0, 201);
    let (status, mine) = stack.call(Method::POST, &format!("/api/v1/files/{id}/copy"), Some(&bob), None).await;
    assert_eq!(status, 201, "{mine}");
    let (_, bob_files) = stack.call(Method::GET, "/api/v1/files", Some(&bob), None).await;
    assert_eq!(bob_files["items"][0]["id"], mine["id"]);
    // Over the quota: 403 with the numbers, nothing copied.
    let admin = stack.admin_key("root");
    let (_, me) = stack.call(Method::GET, "/api/v1/auth/me", Some(&alice), None).await;
    let patch = json!({ "quotaBytes": me["usedBytes"].as_u64().unwrap() + 1000 });
    let user = format!("/api/v1/admin/users/{}", me["id"]);
    assert_eq!(stack.call(Method::PATCH, &user, Some(&admin), Some(patch)).await.0, 200);
    let (status, refused) =
        stack.call(Method::POST, &format!("/api/v1/folders/{album}/copy"), Some(&alice), None).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["remaining"].is_u64());
    let (_, after) = stack.call(Method::GET, "/api/v1/auth/me", Some(&alice), None).await;
    assert_eq!(after["fileCount"], me["fileCount"]);
    assert_eq!(stack.call(Method::POST, &format!("/api/v1/files/{id}/copy"), Some(&alice), None).await.0, 403);
});

both_stacks!(copies_take_the_current_version_and_leave_the_trash, |stack: Stack| async move {
    let alice = stack.key("alice");
    let album = folder(&stack, &alice, "Docs", None).await;
    let v1 = crate::files_any::pdf("first");
    let file = stack.upload_bytes(&alice, "doc.pdf", v1, Some(&album)).await;
    let id = file["id"].as_str().unwrap().to_owned();
    let v2 = crate::files_any::pdf("second");
    let part = reqwest::multipart::Part::bytes(v2.clone()).file_name("doc.pdf");
    let url = stack.url(&format!("/api/v1/files/{id}/versions"));
    let form = reqwest::multipart::Form::new().part("file", part);
    let res = stack.http.post(url).bearer_auth(&alice).multipart(form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let current = stack.wait_settled(&alice, &id, Duration::from_secs(60)).await;
    assert_eq!((current["version"].as_u64(), current["versionCount"].as_u64()), (Some(2), Some(2)), "{current}");
    // The copy is the current content, as version 1 of its own.
    let (status, copy) = stack.call(Method::POST, &format!("/api/v1/files/{id}/copy"), Some(&alice), None).await;
    assert_eq!(status, 201, "{copy}");
    assert_eq!(copy["sha256"], current["sha256"]);
    assert_eq!((copy["version"].as_u64(), copy["versionCount"].as_u64()), (Some(1), Some(1)), "{copy}");
    let copy_id = copy["id"].as_str().unwrap();
    assert_eq!(bytes_of(&stack, &alice, copy_id).await, v2);
    let (_, versions) = stack.call(Method::GET, &format!("/api/v1/files/{copy_id}/versions"), Some(&alice), None).await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 1, "{versions}");
    // In the trash: a file is not copied (404), nor left in a folder copy;
    // a trashed subfolder is left out; a trashed folder is not copied.
    let sub = folder(&stack, &alice, "Sub", Some(&album)).await;
    stack.upload_bytes(&alice, "inner.pdf", crate::files_any::pdf("inner"), Some(&sub)).await;
    let del = |path: String| stack.call(Method::DELETE, &path, Some(&alice), None);
    assert_eq!(del(format!("/api/v1/files/{copy_id}")).await.0, 204);
    assert_eq!(stack.call(Method::POST, &format!("/api/v1/files/{copy_id}/copy"), Some(&alice), None).await.0, 404);
    assert_eq!(del(format!("/api/v1/folders/{sub}")).await.0, 204);
    let (status, tree) = stack.call(Method::POST, &format!("/api/v1/folders/{album}/copy"), Some(&alice), None).await;
    assert_eq!(status, 201, "{tree}");
    assert_eq!((tree["folders"].as_u64(), tree["files"].as_u64()), (Some(1), Some(1)), "{tree}");
    let inside = listed(&stack, &alice, tree["id"].as_str().unwrap()).await;
    assert_eq!((inside.len(), &inside[0]["sha256"]), (1, &current["sha256"]));
    assert_eq!(stack.call(Method::POST, &format!("/api/v1/folders/{sub}/copy"), Some(&alice), None).await.0, 404);
    // Into a trashed folder: 400, as for any folder that is not there.
    let into = json!({ "folderId": sub });
    assert_eq!(stack.call(Method::POST, &format!("/api/v1/files/{id}/copy"), Some(&alice), Some(into)).await.0, 400);
});

/// Media directories holding at least one object.
fn media_dirs(stack: &Stack) -> usize {
    let dir = stack.objects_dir().join("media");
    std::fs::read_dir(dir)
        .map(|d| d.flatten().filter(|e| stack.objects_of(&e.file_name().to_string_lossy()) > 0).count())
        .unwrap_or(0)
}

both_stacks!(copies_racing_deletes_end_whole_or_not_at_all, |stack: Stack| async move {
    let alice = stack.key("alice");
    let source = stack
        .upload_bytes(&alice, "seed.pdf", [crate::files_any::pdf("seed"), vec![b'%'; 300_000]].concat(), None)
        .await;
    let sha = source["sha256"].as_str().unwrap().to_owned();
    let copy = |id: &str| stack.call(Method::POST, &format!("/api/v1/files/{id}/copy"), Some(&alice), None);
    let mut whole = 0;
    for round in 0..24 {
        // A fresh ready file each round: a copy of the seed.
        let (status, victim) = copy(source["id"].as_str().unwrap()).await;
        assert_eq!(status, 201, "{victim}");
        let victim = victim["id"].as_str().unwrap().to_owned();
        let delete = stack.call(Method::DELETE, &format!("/api/v1/files/{victim}?permanent=true"), Some(&alice), None);
        let ((copied, body), (deleted, _)) = tokio::join!(copy(&victim), delete);
        assert_eq!(deleted, 204, "round {round}");
        match copied {
            201 => {
                whole += 1;
                let id = body["id"].as_str().unwrap();
                assert_eq!(body["sha256"].as_str(), Some(sha.as_str()), "round {round}: {body}");
                let bytes = bytes_of(&stack, &alice, id).await;
                assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), sha, "round {round}: the copy is not whole");
            }
            404 => {}
            other => panic!("round {round}: copy answered {other}: {body}"),
        }
    }
    eprintln!("{whole} of 24 copies won their race");
    // Nothing leaks: the quota counts the seed and the whole copies, and
    // only their objects stay once the deleted ones are purged.
    let (_, me) = stack.call(Method::GET, "/api/v1/auth/me", Some(&alice), None).await;
    assert_eq!(me["fileCount"].as_u64(), Some(1 + whole), "{me}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while media_dirs(&stack) != 1 + whole as usize {
        assert!(Instant::now() < deadline, "{} media hold objects, {} should", media_dirs(&stack), 1 + whole);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
});

both_stacks_with!(
    copies_and_link_uploads_announce_file_ready,
    &[("MEDIAQ_FETCH_ALLOW_PRIVATE", "true")],
    |stack: Stack| async move {
        let alice = stack.key("alice");
        let (url, got) = crate::webhooks::receiver(Vec::new()).await;
        let hook = json!({ "url": url, "events": ["file.ready"] });
        assert_eq!(stack.call(Method::POST, "/api/v1/webhooks", Some(&alice), Some(hook)).await.0, 201);
        let inbox = folder(&stack, &alice, "Inbox", None).await;
        let source = stack.upload_bytes(&alice, "a.pdf", crate::files_any::pdf("hook"), Some(&inbox)).await;
        let (status, copy) = stack
            .call(Method::POST, &format!("/api/v1/files/{}/copy", source["id"].as_str().unwrap()), Some(&alice), None)
            .await;
        assert_eq!(status, 201, "{copy}");
        let (_, link) = stack
            .call(Method::POST, &format!("/api/v1/folders/{inbox}/upload-links"), Some(&alice), Some(json!({})))
            .await;
        let part = reqwest::multipart::Part::bytes(crate::files_any::pdf("anonymous")).file_name("b.pdf");
        let form = reqwest::multipart::Form::new().part("file", part);
        let res = stack.http.post(link["url"].as_str().unwrap()).multipart(form).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 201);
        let uploaded: Value = res.json().await.unwrap();
        // Three new files, three `file.ready`: the upload, the copy, the link upload.
        let seen = crate::webhooks::wait_for(&got, 3, &stack).await;
        let ready: Vec<String> = seen
            .iter()
            .map(|r| serde_json::from_str::<Value>(&r.body).unwrap())
            .filter(|b| b["type"] == "file.ready")
            .map(|b| b["data"]["id"].as_str().unwrap().to_owned())
            .collect();
        for id in [&source["id"], &copy["id"], &uploaded["id"]] {
            assert!(ready.iter().any(|r| r == id.as_str().unwrap()), "no file.ready for {id}: {ready:?}");
        }
    }
);
