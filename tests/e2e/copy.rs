//! Copies on both stacks: a file copy has a new id and the same bytes, is
//! ready at once with its derivatives, lands where asked, counts in the
//! quota; a folder copy copies the tree; a sharee copies into their own
//! space; over the quota nothing is copied.

use mediaq_tests::{Stack, both_stacks, corpus};
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
