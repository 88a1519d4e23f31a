//! Read-only shares on both stacks: a file and a folder shared with one
//! user, who can read and download but not change them; nobody else can;
//! the lists "with me" and "by me"; revoking ends access.

use std::time::Duration;

use mediaq_tests::{Stack, both_stacks, corpus};
use reqwest::Method;
use serde_json::{Value, json};

async fn upload(stack: &Stack, key: &str, folder: Option<&str>) -> String {
    let bytes = std::fs::read(corpus("skimage_chelsea.png")).unwrap();
    let mut form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name("cat.png"));
    if let Some(f) = folder {
        form = form.text("folderId", f.to_owned());
    }
    let res = stack.http.post(stack.url("/api/v1/files")).bearer_auth(key).multipart(form).send().await.unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    stack.wait_settled(key, &id, Duration::from_secs(60)).await;
    id
}

both_stacks!(shares_are_read_only_and_revocable, |stack: Stack| async move {
    let alice = stack.key("alice");
    let bob = stack.key("bob");
    let carol = stack.key("carol");
    let file = upload(&stack, &alice, None).await;
    let folder =
        stack.call(Method::POST, "/api/v1/folders", Some(&alice), Some(json!({ "name": "Family" }))).await.1["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let sub = stack
        .call(Method::POST, "/api/v1/folders", Some(&alice), Some(json!({ "name": "Kids", "parentId": folder })))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_sub = upload(&stack, &alice, Some(&sub)).await;
    let share = |key: &str, body: Value| stack.call(Method::POST, "/api/v1/shares", Some(key), Some(body));
    // Before sharing, bob sees nothing.
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{file}"), Some(&bob), None).await.0, 404);
    // Only the owner shares; with an existing other user; once.
    assert_eq!(share(&bob, json!({ "fileId": file, "username": "carol" })).await.0, 404);
    assert_eq!(share(&alice, json!({ "fileId": file, "username": "nobody" })).await.0, 400);
    assert_eq!(share(&alice, json!({ "fileId": file, "username": "alice" })).await.0, 400);
    let (status, file_share) = share(&alice, json!({ "fileId": file, "username": "bob" })).await;
    assert_eq!(status, 201, "{file_share}");
    assert_eq!(
        (file_share["owner"]["username"].as_str(), file_share["sharee"]["username"].as_str()),
        (Some("alice"), Some("bob"))
    );
    assert_eq!(share(&alice, json!({ "fileId": file, "username": "bob" })).await.0, 409);
    let (status, folder_share) = share(&alice, json!({ "folderId": folder, "username": "bob" })).await;
    assert_eq!(status, 201, "{folder_share}");
    // Bob reads and downloads; cannot modify (403); carol still gets 404.
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{file}"), Some(&bob), None).await.0, 200);
    let (status, dl) = stack.call(Method::GET, &format!("/api/v1/files/{file}/download"), Some(&bob), None).await;
    assert_eq!(status, 200);
    assert_eq!(stack.fetch(dl["url"].as_str().unwrap()).await.0, 200);
    assert_eq!(
        stack
            .call(Method::PATCH, &format!("/api/v1/files/{file}"), Some(&bob), Some(json!({ "title": "mine" })))
            .await
            .0,
        403
    );
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{file}"), Some(&bob), None).await.0, 403);
    assert_eq!(stack.call(Method::POST, "/api/v1/links", Some(&bob), Some(json!({ "fileId": file }))).await.0, 404);
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{file}"), Some(&carol), None).await.0, 404);
    // Through the folder: subfolders and their files too.
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/folders/{sub}"), Some(&bob), None).await.0, 200);
    let listed = stack.call(Method::GET, &format!("/api/v1/files?folderId={sub}"), Some(&bob), None).await.1;
    assert_eq!(listed["items"][0]["id"].as_str(), Some(in_sub.as_str()), "{listed}");
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{in_sub}"), Some(&bob), None).await.0, 200);
    assert_eq!(
        stack.call(Method::PATCH, &format!("/api/v1/folders/{sub}"), Some(&bob), Some(json!({ "name": "x" }))).await.0,
        403
    );
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/folders/{folder}"), Some(&bob), None).await.0, 403);
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/folders/{sub}"), Some(&carol), None).await.0, 404);
    // Lists.
    let with_me = stack.call(Method::GET, "/api/v1/shares/with-me", Some(&bob), None).await.1;
    assert_eq!(with_me["items"].as_array().unwrap().len(), 2);
    let by_me = stack.call(Method::GET, "/api/v1/shares/by-me", Some(&alice), None).await.1;
    assert_eq!(by_me["items"].as_array().unwrap().len(), 2);
    assert_eq!(stack.call(Method::GET, "/api/v1/shares/with-me", Some(&carol), None).await.1["items"], json!([]));
    // Revoke: only owner (or sharee); then access ends.
    let folder_share_id = folder_share["id"].as_str().unwrap();
    assert_eq!(
        stack.call(Method::DELETE, &format!("/api/v1/shares/{folder_share_id}"), Some(&carol), None).await.0,
        404
    );
    assert_eq!(
        stack.call(Method::DELETE, &format!("/api/v1/shares/{folder_share_id}"), Some(&alice), None).await.0,
        204
    );
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{in_sub}"), Some(&bob), None).await.0, 404);
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/folders/{sub}"), Some(&bob), None).await.0, 404);
    let file_share_id = file_share["id"].as_str().unwrap();
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/shares/{file_share_id}"), Some(&bob), None).await.0, 204);
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{file}"), Some(&bob), None).await.0, 404);
});
