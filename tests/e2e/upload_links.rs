//! Upload links on both stacks: anonymous uploads land in the folder,
//! owned by its owner and counted in their quota; list and revoke;
//! passwords, expiry, byte budget; and concurrent uploads through a link
//! with `maxFiles` = 3 never take more than 3.

use std::time::Duration;

use mediaq_tests::{Stack, both_stacks, corpus};
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
    // No key: 201 with id, name, size; the file is alice's, in the folder.
    let bytes = std::fs::read(corpus("kde_Path.jpg")).unwrap();
    let (status, up) = send(&stack, &url, None, "path.jpg", bytes.clone()).await;
    assert_eq!(status, 201, "{up}");
    assert_eq!((up["name"].as_str(), up["sizeBytes"].as_u64()), (Some("path.jpg"), Some(bytes.len() as u64)));
    let id = up["id"].as_str().unwrap().to_owned();
    let file = stack.wait_settled(&alice, &id, Duration::from_secs(60)).await;
    assert_eq!(file["status"], "ready");
    assert_eq!(file["sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(&bytes)));
    let (_, listed) = stack.call(Method::GET, &format!("/api/v1/files?folderId={inbox}"), Some(&alice), None).await;
    assert!(listed["items"].as_array().unwrap().iter().any(|f| f["id"] == id.as_str()), "{listed}");
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{id}"), Some(&bob), None).await.0, 404);
    // Listed without the token; revoked → 410; bob cannot revoke.
    let (_, links) = stack.call(Method::GET, "/api/v1/upload-links", Some(&alice), None).await;
    assert_eq!(links["items"].as_array().unwrap().len(), 1);
    assert_eq!(links["items"][0]["filesUsed"], 1);
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
    // Expiry: 410 once past.
    let soon = (chrono::Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    let brief = link(&stack, &alice, &inbox, json!({ "expiresAt": soon })).await;
    let burl = brief["url"].as_str().unwrap();
    assert_eq!(send(&stack, burl, None, "b.jpg", bytes.clone()).await.0, 201);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(send(&stack, burl, None, "c.jpg", bytes.clone()).await.0, 410);
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

both_stacks!(concurrent_uploads_never_pass_max_files, |stack: Stack| async move {
    let alice = stack.key("alice");
    let inbox = folder(&stack, &alice, "Race").await;
    let bytes = std::fs::read(corpus("skimage_chelsea.png")).unwrap();
    for round in 0..5 {
        let l = link(&stack, &alice, &inbox, json!({ "maxFiles": 3 })).await;
        let url = l["url"].as_str().unwrap().to_owned();
        let uploads: Vec<_> =
            (0..10).map(|i| send(&stack, &url, None, &format!("r{round}-{i}.png"), bytes.clone())).collect();
        let answers = futures::future::join_all(uploads).await;
        let won = answers.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(won, 3, "round {round}: {:?}", answers.iter().map(|a| a.0).collect::<Vec<_>>());
        assert!(answers.iter().all(|(s, _)| *s == 201 || *s == 403), "round {round}: {answers:?}");
    }
    let (_, listed) =
        stack.call(Method::GET, &format!("/api/v1/files?folderId={inbox}&limit=100"), Some(&alice), None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 15, "{listed}");
});
