//! Upload links on both stacks: anonymous uploads of any file type land
//! in the folder, owned by its owner and counted in their quota; list
//! and revoke; passwords, expiry, byte budget, a folder in the trash,
//! `MEDIAQ_ALLOWED_TYPES`; and concurrent uploads through one link never
//! pass its `maxFiles` or `maxBytes`.

use std::time::{Duration, Instant};

use mediaq_tests::{Stack, both_stacks, both_stacks_with, corpus};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;

fn form(name: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()))
}

/// An anonymous upload through `url`; status and JSON body.
fn send(
    stack: &Stack,
    url: &str,
    password: Option<&str>,
    name: &str,
    bytes: Vec<u8>,
) -> impl Future<Output = (u16, Value)> + use<> {
    let mut req = stack.http.post(url).multipart(form(name, bytes));
    if let Some(p) = password {
        req = req.header("X-Link-Password", p);
    }
    async move {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

async fn folder(stack: &Stack, key: &str, name: &str) -> String {
    let (status, f) = stack.call(Method::POST, "/api/v1/folders", Some(key), Some(json!({ "name": name }))).await;
    assert_eq!(status, 201);
    f["id"].as_str().unwrap().to_owned()
}

async fn link(stack: &Stack, key: &str, folder: &str, body: Value) -> Value {
    let (status, link) =
        stack.call(Method::POST, &format!("/api/v1/folders/{folder}/upload-links"), Some(key), Some(body)).await;
    assert_eq!(status, 201, "{link}");
    link
}

both_stacks!(anonymous_uploads_land_in_the_owners_folder, |stack: Stack| async move {
    let alice = stack.key("alice");
    let bob = stack.key("bob");
    let inbox = folder(&stack, &alice, "Inbox").await;
    let path = format!("/api/v1/folders/{inbox}/upload-links");
    assert_eq!(stack.call(Method::POST, &path, Some(&bob), Some(json!({}))).await.0, 404);
    assert_eq!(stack.call(Method::POST, &path, None, Some(json!({}))).await.0, 401);
    assert_eq!(stack.call(Method::POST, &path, Some(&alice), Some(json!({ "maxFiles": 0 }))).await.0, 400);
    let open = link(&stack, &alice, &inbox, json!({})).await;
    let url = open["url"].as_str().unwrap().to_owned();
    let token = open["token"].as_str().unwrap().to_owned();
    assert!(url.ends_with(&format!("/api/v1/public/upload/{token}")) && token.len() == 32);
    // No key: 201 with id, name, size; the file is alice's, in the folder,
    // with exactly the bytes sent (a PDF: any type, stored as it came).
    let doc = crate::files_any::pdf("through a link");
    let (status, up) = send(&stack, &url, None, "report.pdf", doc.clone()).await;
    assert_eq!(status, 201, "{up}");
    assert_eq!((up["name"].as_str(), up["sizeBytes"].as_u64()), (Some("report.pdf"), Some(doc.len() as u64)));
    let id = up["id"].as_str().unwrap().to_owned();
    let file = stack.wait_settled(&alice, &id, Duration::from_secs(60)).await;
    assert_eq!((file["status"].as_str(), file["kind"].as_str()), (Some("ready"), Some("file")), "{file}");
    assert_eq!(file["sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(&doc)));
    let (_, dl) = stack.call(Method::GET, &format!("/api/v1/files/{id}/download"), Some(&alice), None).await;
    assert_eq!(stack.fetch(dl["url"].as_str().unwrap()).await.2, doc);
    // An image is processed like any upload (its metadata stripped, so
    // its checksum is the stored file's, which is what is served).
    let bytes = std::fs::read(corpus("kde_Path.jpg")).unwrap();
    let (status, up) = send(&stack, &url, None, "path.jpg", bytes.clone()).await;
    assert_eq!(status, 201, "{up}");
    let photo = stack.wait_settled(&alice, up["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!((photo["status"].as_str(), photo["kind"].as_str()), (Some("ready"), Some("image")), "{photo}");
    assert!(photo["variants"]["thumb"]["url"].is_string(), "{photo}");
    let (_, dl) = stack
        .call(Method::GET, &format!("/api/v1/files/{}/download", photo["id"].as_str().unwrap()), Some(&alice), None)
        .await;
    let served = stack.fetch(dl["url"].as_str().unwrap()).await.2;
    assert_eq!(photo["sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(&served)));
    let (_, listed) = stack.call(Method::GET, &format!("/api/v1/files?folderId={inbox}"), Some(&alice), None).await;
    assert!(listed["items"].as_array().unwrap().iter().any(|f| f["id"] == id.as_str()), "{listed}");
    assert_eq!(listed["total"], 2, "{listed}");
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{id}"), Some(&bob), None).await.0, 404);
    // Listed without the token; revoked → 410; bob cannot revoke.
    let (_, links) = stack.call(Method::GET, "/api/v1/upload-links", Some(&alice), None).await;
    assert_eq!((links["items"].as_array().unwrap().len(), links["total"].as_u64()), (1, Some(1)), "{links}");
    assert_eq!(links["items"][0]["filesUsed"], 2);
    assert_eq!(links["items"][0]["bytesUsed"], (doc.len() + bytes.len()) as u64, "{links}");
    assert_eq!(stack.call(Method::GET, "/api/v1/upload-links?sort=size", Some(&alice), None).await.0, 400);
    assert_eq!(stack.call(Method::GET, "/api/v1/upload-links", Some(&bob), None).await.1["total"], 0);
    assert!(!links.to_string().contains(&token));
    let link_id = open["id"].as_str().unwrap();
    let revoke = |key: &str| stack.call(Method::DELETE, &format!("/api/v1/upload-links/{link_id}"), Some(key), None);
    assert_eq!(revoke(&bob).await.0, 404);
    assert_eq!(revoke(&alice).await.0, 204);
    assert_eq!(send(&stack, &url, None, "late.jpg", bytes.clone()).await.0, 410);
    assert_eq!(send(&stack, &url.replace(&token[..6], "zzzzzz"), None, "x.jpg", bytes.clone()).await.0, 404);
    // A password: missing 401, wrong 403, right 201.
    let guarded = link(&stack, &alice, &inbox, json!({ "password": "let-me-in" })).await;
    let gurl = guarded["url"].as_str().unwrap();
    assert_eq!(send(&stack, gurl, None, "a.jpg", bytes.clone()).await.0, 401);
    assert_eq!(send(&stack, gurl, Some("wrong-one"), "a.jpg", bytes.clone()).await.0, 403);
    assert_eq!(send(&stack, gurl, Some("let-me-in"), "a.jpg", bytes.clone()).await.0, 201);
    // A byte budget smaller than the file: 413, and the slot is free again.
    let small = link(&stack, &alice, &inbox, json!({ "maxBytes": 1000, "maxFiles": 1 })).await;
    let surl = small["url"].as_str().unwrap();
    assert_eq!(send(&stack, surl, None, "big.jpg", bytes.clone()).await.0, 413);
    // A budget of exactly the file's size takes it (the multipart framing
    // around it is not counted), and then nothing more, not one byte.
    let exact = link(&stack, &alice, &inbox, json!({ "maxBytes": bytes.len() })).await;
    let eurl = exact["url"].as_str().unwrap();
    let (status, body) = send(&stack, eurl, None, "exact.jpg", bytes.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(send(&stack, eurl, None, "one.txt", b"x".to_vec()).await.0, 413);
    let short = link(&stack, &alice, &inbox, json!({ "maxBytes": bytes.len() - 1 })).await;
    assert_eq!(send(&stack, short["url"].as_str().unwrap(), None, "short.jpg", bytes.clone()).await.0, 413);
    // Expiry: 410 once past.
    let expiry = chrono::Utc::now() + chrono::TimeDelta::seconds(2);
    let brief = link(&stack, &alice, &inbox, json!({ "expiresAt": expiry.to_rfc3339() })).await;
    let burl = brief["url"].as_str().unwrap();
    assert_eq!(send(&stack, burl, None, "b.jpg", bytes.clone()).await.0, 201);
    // Waits for the clock, not for another party: the link's own expiry.
    let left = (expiry - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(100)).await;
    assert_eq!(send(&stack, burl, None, "c.jpg", bytes.clone()).await.0, 410);
    // A folder in the trash takes nothing (404) until it is restored.
    let trashy = folder(&stack, &alice, "Trashy").await;
    let tlink = link(&stack, &alice, &trashy, json!({})).await;
    let turl = tlink["url"].as_str().unwrap();
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/folders/{trashy}"), Some(&alice), None).await.0, 204);
    assert_eq!(send(&stack, turl, None, "t.pdf", doc.clone()).await.0, 404);
    let restore = stack.call(Method::POST, &format!("/api/v1/trash/{trashy}/restore"), Some(&alice), None).await;
    assert_eq!(restore.0, 200, "{}", restore.1);
    assert_eq!(send(&stack, turl, None, "t.pdf", doc.clone()).await.0, 201);
    // The owner's quota counts: over it, the upload is refused.
    let admin = stack.admin_key("root");
    let (_, me) = stack.call(Method::GET, "/api/v1/auth/me", Some(&alice), None).await;
    let patch = json!({ "quotaBytes": me["usedBytes"].as_u64().unwrap() + 1000 });
    let user = format!("/api/v1/admin/users/{}", me["id"]);
    assert_eq!(stack.call(Method::PATCH, &user, Some(&admin), Some(patch)).await.0, 200);
    let roomy = link(&stack, &alice, &inbox, json!({})).await;
    let (status, refused) = send(&stack, roomy["url"].as_str().unwrap(), None, "q.jpg", bytes.clone()).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["remaining"].is_u64(), "{refused}");
});

/// Link `id` once it counts `files` and `bytes` (what uploads reserved
/// and did not use goes back as they end, in the background), or as it
/// stands after a while.
async fn settled_use(stack: &Stack, key: &str, id: &str, files: u64, bytes: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, links) = stack.call(Method::GET, "/api/v1/upload-links?limit=100", Some(key), None).await;
        let l = links["items"].as_array().unwrap().iter().find(|l| l["id"] == id).unwrap().clone();
        if (l["filesUsed"] == files && l["bytesUsed"] == bytes) || Instant::now() > deadline {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both_stacks!(concurrent_uploads_never_pass_max_files_or_bytes, |stack: Stack| async move {
    let alice = stack.key("alice");
    let inbox = folder(&stack, &alice, "Race").await;
    // A PDF of 200 KB (any type goes; no image processing to wait for).
    let bytes = [crate::files_any::pdf("race"), vec![b'%'; 200_000]].concat();
    let size = bytes.len() as u64;
    let mut kept = 0;
    for round in 0..20u64 {
        // Even rounds: 3 files; odd rounds: exactly the bytes of 3 files
        // (each upload's body is a little more than its file).
        let limit = if round % 2 == 0 { json!({ "maxFiles": 3 }) } else { json!({ "maxBytes": 3 * size }) };
        let l = link(&stack, &alice, &inbox, limit).await;
        let url = l["url"].as_str().unwrap().to_owned();
        let uploads: Vec<_> =
            (0..8).map(|i| send(&stack, &url, None, &format!("r{round}-{i}.pdf"), bytes.clone())).collect();
        let answers = futures::future::join_all(uploads).await;
        let codes: Vec<u16> = answers.iter().map(|a| a.0).collect();
        let won = codes.iter().filter(|s| **s == 201).count();
        let refusal = if round % 2 == 0 { 403 } else { 413 };
        assert!(codes.iter().all(|s| *s == 201 || *s == refusal), "round {round}: {answers:?}");
        // Never more than the limit; with uploads this small, the limit.
        assert_eq!(won, 3, "round {round}: {codes:?}");
        kept += won;
        let used = settled_use(&stack, &alice, l["id"].as_str().unwrap(), 3, 3 * size).await;
        assert_eq!((used["filesUsed"].as_u64(), used["bytesUsed"].as_u64()), (Some(3), Some(3 * size)), "{used}");
    }
    let (_, listed) =
        stack.call(Method::GET, &format!("/api/v1/files?folderId={inbox}&limit=1"), Some(&alice), None).await;
    assert_eq!(listed["total"].as_u64(), Some(kept as u64), "{listed}");
});

both_stacks_with!(links_take_only_allowed_types, &[("MEDIAQ_ALLOWED_TYPES", "image/*")], |stack: Stack| async move {
    let alice = stack.key("alice");
    let inbox = folder(&stack, &alice, "Images").await;
    let l = link(&stack, &alice, &inbox, json!({ "maxFiles": 1 })).await;
    let url = l["url"].as_str().unwrap().to_owned();
    let (status, refused) = send(&stack, &url, None, "a.pdf", crate::files_any::pdf("no")).await;
    assert_eq!(status, 415, "{refused}");
    // The refused upload gave its slot back: the one file still fits.
    let bytes = std::fs::read(corpus("skimage_chelsea.png")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = send(&stack, &url, None, "a.png", bytes.clone()).await;
        if status == 201 {
            break;
        }
        assert!(status == 403 && Instant::now() < deadline, "{status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, listed) = stack.call(Method::GET, &format!("/api/v1/files?folderId={inbox}"), Some(&alice), None).await;
    assert_eq!(listed["total"], 1, "{listed}");
});
