//! The access matrix, on both stacks: every account route driven as the
//! owner, another user, an admin, an anonymous visitor, a wrong key and a
//! public-link token used as a key; each gets exactly its expected status.
//! Someone else's private object is a 404, never a 403 (no existence leak).

use std::time::Duration;

use mediaq_tests::{Stack, both_stacks, corpus};
use reqwest::Method;
use serde_json::{Value, json};

/// Expected statuses for [owner, other, admin, anonymous, wrong key, link token as key].
type Row = (Method, String, Option<Value>, [u16; 6]);

both_stacks!(every_route_answers_each_caller_as_it_should, |stack: Stack| async move {
    let owner = stack.key("alice");
    let other = stack.key("bob");
    let admin = stack.admin_key("root");
    stack.key("carol");
    let wrong = "mq_0000000000000000000000000000000000000000".to_owned();
    let (_, up) = stack.chevereto_upload(&owner, &corpus("skimage_chelsea.png"), &[]).await;
    let file = up["image"]["id_encoded"].as_str().unwrap().to_owned();
    stack.wait_settled(&owner, &file, Duration::from_secs(60)).await;
    let folder = stack.call(Method::POST, "/api/v1/folders", Some(&owner), Some(json!({ "name": "F" }))).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = stack.call(Method::POST, "/api/v1/links", Some(&owner), Some(json!({ "fileId": file }))).await.1;
    let (link_id, token) = (link["id"].as_str().unwrap().to_owned(), link["token"].as_str().unwrap().to_owned());
    let share = stack
        .call(Method::POST, "/api/v1/shares", Some(&owner), Some(json!({ "folderId": folder, "username": "carol" })))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key_id =
        stack.call(Method::GET, "/api/v1/keys", Some(&owner), None).await.1["items"][0]["id"].as_i64().unwrap();
    let owner_id = stack.call(Method::GET, "/api/v1/auth/me", Some(&owner), None).await.1["id"].as_i64().unwrap();
    let r = |m: Method, p: String, b: Option<Value>, s: [u16; 6]| -> Row { (m, p, b, s) };
    let rows = vec![
        r(Method::GET, "/api/v1/auth/me".into(), None, [200, 200, 200, 401, 401, 401]),
        r(Method::GET, "/api/v1/keys".into(), None, [200, 200, 200, 401, 401, 401]),
        r(Method::DELETE, format!("/api/v1/keys/{key_id}"), None, [0, 404, 404, 401, 401, 401]),
        r(Method::GET, format!("/api/v1/files/{file}"), None, [200, 404, 200, 401, 401, 401]),
        r(Method::GET, format!("/api/v1/files/{file}/download"), None, [200, 404, 200, 401, 401, 401]),
        r(
            Method::PATCH,
            format!("/api/v1/files/{file}"),
            Some(json!({ "title": "t" })),
            [200, 404, 200, 401, 401, 401],
        ),
        r(Method::GET, "/api/v1/files".into(), None, [200, 200, 200, 401, 401, 401]),
        r(Method::GET, format!("/api/v1/files?folderId={folder}"), None, [200, 404, 200, 401, 401, 401]),
        r(Method::GET, "/api/v1/folders".into(), None, [200, 200, 200, 401, 401, 401]),
        r(Method::GET, format!("/api/v1/folders/{folder}"), None, [200, 404, 200, 401, 401, 401]),
        r(Method::GET, format!("/api/v1/folders/{folder}/path"), None, [200, 404, 200, 401, 401, 401]),
        r(Method::GET, format!("/api/v1/folders?parentId={folder}"), None, [200, 404, 200, 401, 401, 401]),
        r(
            Method::PATCH,
            format!("/api/v1/folders/{folder}"),
            Some(json!({ "name": "G" })),
            [200, 404, 200, 401, 401, 401],
        ),
        r(
            Method::POST,
            "/api/v1/folders".into(),
            Some(json!({ "name": "x", "parentId": folder })),
            [201, 400, 400, 401, 401, 401],
        ),
        r(Method::POST, "/api/v1/links".into(), Some(json!({ "fileId": file })), [201, 404, 201, 401, 401, 401]),
        r(Method::GET, "/api/v1/links".into(), None, [200, 200, 200, 401, 401, 401]),
        r(Method::DELETE, format!("/api/v1/links/{link_id}"), None, [0, 404, 404, 401, 401, 401]),
        r(
            Method::POST,
            "/api/v1/shares".into(),
            Some(json!({ "fileId": file, "username": "carol" })),
            [0, 404, 0, 401, 401, 401],
        ),
        r(Method::GET, "/api/v1/shares/with-me".into(), None, [200, 200, 200, 401, 401, 401]),
        r(Method::GET, "/api/v1/shares/by-me".into(), None, [200, 200, 200, 401, 401, 401]),
        r(Method::DELETE, format!("/api/v1/shares/{share}"), None, [0, 404, 0, 401, 401, 401]),
        r(Method::GET, "/api/v1/admin/users".into(), None, [403, 403, 200, 401, 401, 401]),
        r(Method::GET, "/api/v1/admin/stats".into(), None, [403, 403, 200, 401, 401, 401]),
        r(Method::GET, "/api/v1/admin/audit".into(), None, [403, 403, 200, 401, 401, 401]),
        r(Method::PATCH, format!("/api/v1/admin/users/{owner_id}"), Some(json!({})), [403, 403, 200, 401, 401, 401]),
        r(Method::POST, format!("/api/v1/admin/users/{owner_id}/approve"), None, [403, 403, 200, 401, 401, 401]),
        r(
            Method::POST,
            "/api/v1/files/initiate".into(),
            Some(json!({ "name": "a.png", "sizeBytes": 10 })),
            [200, 200, 200, 401, 401, 401],
        ),
        // Public routes ignore credentials: the token is what counts.
        r(Method::GET, format!("/api/v1/public/links/{token}"), None, [200, 200, 200, 200, 200, 200]),
        r(
            Method::GET,
            // Another last character (a token may end in 'x' itself).
            format!(
                "/api/v1/public/links/{}{}",
                &token[..token.len() - 1],
                if token.ends_with('x') { 'y' } else { 'x' }
            ),
            None,
            [404, 404, 404, 404, 404, 404],
        ),
        r(Method::DELETE, format!("/api/v1/folders/{folder}"), None, [0, 404, 0, 401, 401, 401]),
        r(Method::DELETE, format!("/api/v1/files/{file}"), None, [0, 404, 0, 401, 401, 401]),
    ];
    let callers: [Option<&str>; 6] = [Some(&owner), Some(&other), Some(&admin), None, Some(&wrong), Some(&token)];
    let mut wrong_answers = Vec::new();
    for (method, path, body, expected) in &rows {
        for (who, (caller, want)) in
            ["owner", "other", "admin", "anonymous", "wrong key", "link token"].iter().zip(callers.iter().zip(expected))
        {
            if *want == 0 {
                continue;
            }
            let (got, answer) = stack.call(method.clone(), path, *caller, body.clone()).await;
            if got != *want {
                wrong_answers.push(format!("{method} {path} as {who}: {got} (expected {want}) {answer}"));
            }
        }
    }
    assert!(wrong_answers.is_empty(), "{}", wrong_answers.join("\n"));
    // Finally the owner deletes what others could not.
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{file}"), Some(&owner), None).await.0, 204);
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/folders/{folder}"), Some(&owner), None).await.0, 204);
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/links/{link_id}"), Some(&owner), None).await.0, 204);
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/keys/{key_id}"), Some(&owner), None).await.0, 204);
    assert_eq!(stack.call(Method::GET, "/api/v1/auth/me", Some(&owner), None).await.0, 401);
});
