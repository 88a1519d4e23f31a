//! Public links on both stacks: file and folder links, passwords, expiry,
//! view-only, view budgets, revocation; all without a key, and 404 for
//! anything wrong. The older `isPublic` link still works beside them.

use std::time::Duration;

use mediaq_tests::{Stack, both_stacks, corpus};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;

async fn upload(stack: &Stack, key: &str, folder: Option<&str>) -> Value {
    let bytes = std::fs::read(corpus("skimage_chelsea.png")).unwrap();
    let mut form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name("cat.png"));
    if let Some(f) = folder {
        form = form.text("folderId", f.to_owned());
    }
    let res = stack.http.post(stack.url("/api/v1/files")).bearer_auth(key).multipart(form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let body: Value = res.json().await.unwrap();
    stack.wait_settled(key, body["id"].as_str().unwrap(), Duration::from_secs(60)).await
}

async fn public(stack: &Stack, path: &str, password: Option<&str>) -> (u16, Vec<u8>) {
    let mut req = stack.http.get(stack.url(path));
    if let Some(p) = password {
        req = req.header("X-Link-Password", p);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

fn path_of(url: &Value) -> String {
    let url = url.as_str().unwrap();
    url[url.find("/api/").unwrap()..].to_owned()
}

both_stacks!(public_links_for_files_and_folders, |stack: Stack| async move {
    let alice = stack.key("alice");
    let bob = stack.key("bob");
    let file = upload(&stack, &alice, None).await;
    let id = file["id"].as_str().unwrap().to_owned();
    let make = |key: &str, body: Value| stack.call(Method::POST, "/api/v1/links", Some(key), Some(body));
    // Someone else's file cannot be linked; nobody without a key can link.
    assert_eq!(make(&bob, json!({ "fileId": id })).await.0, 404);
    assert_eq!(stack.call(Method::POST, "/api/v1/links", None, Some(json!({ "fileId": id }))).await.0, 401);
    assert_eq!(make(&alice, json!({ "fileId": id, "folderId": "x" })).await.0, 400);
    // A plain file link: view and download, no key.
    let (status, link) = make(&alice, json!({ "fileId": id })).await;
    assert_eq!(status, 201, "{link}");
    let token = link["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 22);
    let path = path_of(&link["url"]);
    let (status, body) = public(&stack, &path, None).await;
    assert_eq!(status, 200);
    let view: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((view["kind"].as_str(), view["file"]["id"].as_str()), (Some("file"), Some(id.as_str())));
    let (status, bytes) = public(&stack, &path_of(&view["downloadUrl"]), None).await;
    assert_eq!(status, 200);
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), file["sha256"].as_str().unwrap());
    assert_eq!(public(&stack, &path.replace(&token[..4], "zzzz"), None).await.0, 404);
    assert_eq!(public(&stack, "/api/v1/public/links/short", None).await.0, 404);
    // Listed without the token; revoked → 404; bob cannot revoke it.
    let (_, links) = stack.call(Method::GET, "/api/v1/links", Some(&alice), None).await;
    assert_eq!(links["items"].as_array().unwrap().len(), 1);
    assert!(!links.to_string().contains(&token));
    let link_id = link["id"].as_str().unwrap();
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/links/{link_id}"), Some(&bob), None).await.0, 404);
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/links/{link_id}"), Some(&alice), None).await.0, 204);
    assert_eq!(public(&stack, &path, None).await.0, 404);
    // Password, view-only, view budget, expiry.
    let (_, guarded) =
        make(&alice, json!({ "fileId": id, "password": "open-sesame", "allowDownload": false, "maxViews": 2 })).await;
    let guarded_path = path_of(&guarded["url"]);
    assert_eq!(public(&stack, &guarded_path, None).await.0, 401);
    assert_eq!(public(&stack, &guarded_path, Some("wrong-pass")).await.0, 403);
    let (status, body) = public(&stack, &guarded_path, Some("open-sesame")).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_slice::<Value>(&body).unwrap()["downloadUrl"].is_null());
    assert_eq!(public(&stack, &format!("{guarded_path}/download"), Some("open-sesame")).await.0, 403);
    assert_eq!(public(&stack, &format!("{guarded_path}?password=open-sesame"), None).await.0, 404, "two views spent");
    let (_, brief) = make(&alice, json!({ "fileId": id, "expiresIn": "2" })).await;
    let brief_path = path_of(&brief["url"]);
    assert_eq!(public(&stack, &brief_path, None).await.0, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(public(&stack, &brief_path, None).await.0, 404);
    // A folder link lists and serves what is inside, nothing else.
    let folder =
        stack.call(Method::POST, "/api/v1/folders", Some(&alice), Some(json!({ "name": "Shared" }))).await.1["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let sub = stack
        .call(Method::POST, "/api/v1/folders", Some(&alice), Some(json!({ "name": "Sub", "parentId": folder })))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let inside = upload(&stack, &alice, Some(&folder)).await;
    let deeper = upload(&stack, &alice, Some(&sub)).await;
    let (status, flink) = make(&alice, json!({ "folderId": folder })).await;
    assert_eq!(status, 201, "{flink}");
    let fpath = path_of(&flink["url"]);
    let listing: Value = serde_json::from_slice(&public(&stack, &fpath, None).await.1).unwrap();
    assert_eq!(listing["files"].as_array().unwrap().len(), 1, "{listing}");
    assert_eq!(listing["files"][0]["id"], inside["id"]);
    assert_eq!(listing["folders"][0]["name"], "Sub");
    assert_eq!(public(&stack, &path_of(&listing["files"][0]["downloadUrl"]), None).await.0, 200);
    let sub_listing: Value =
        serde_json::from_slice(&public(&stack, &format!("{fpath}?folderId={sub}"), None).await.1).unwrap();
    assert_eq!(sub_listing["files"][0]["id"], deeper["id"]);
    assert_eq!(
        public(&stack, &format!("{fpath}/files/{}/download", deeper["id"].as_str().unwrap()), None).await.0,
        200
    );
    assert_eq!(public(&stack, &format!("{fpath}/files/{id}/download"), None).await.0, 404, "a file outside the folder");
    let bob_folder =
        stack.call(Method::POST, "/api/v1/folders", Some(&bob), Some(json!({ "name": "b" }))).await.1["id"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(public(&stack, &format!("{fpath}?folderId={bob_folder}"), None).await.0, 404);
    assert_eq!(make(&bob, json!({ "folderId": folder })).await.0, 404);
    // The isPublic link keeps working.
    let patched = stack
        .call(Method::PATCH, &format!("/api/v1/files/{id}"), Some(&alice), Some(json!({ "isPublic": true })))
        .await
        .1;
    assert_eq!(stack.fetch(patched["publicUrl"].as_str().unwrap()).await.0, 200);
    // Deleting the file ends its links.
    assert_eq!(
        stack
            .call(Method::DELETE, &format!("/api/v1/files/{}", inside["id"].as_str().unwrap()), Some(&alice), None)
            .await
            .0,
        204
    );
    assert_eq!(public(&stack, &path_of(&listing["files"][0]["downloadUrl"]), None).await.0, 404);
});
