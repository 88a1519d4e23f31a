//! Quotas on both stacks: refused before storing on every upload route,
//! with `current`, `limit`, `remaining`; file-count quotas; concurrent
//! uploads never exceed the quota together; the server default.

use std::time::Duration;

use mediaq_tests::{Kind, Stack, both_stacks, corpus};
use reqwest::Method;
use serde_json::{Value, json};

const FILE: &str = "skimage_chelsea.png";

async fn native_upload(stack: &Stack, key: &str) -> (u16, Value) {
    let bytes = std::fs::read(corpus(FILE)).unwrap();
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(FILE));
    let res = stack.http.post(stack.url("/api/v1/files")).bearer_auth(key).multipart(form).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body: Value = res.json().await.unwrap();
    if status == 403 {
        assert!(ct.starts_with("application/problem+json"), "{ct}");
    }
    (status, body)
}

async fn user_id(stack: &Stack, key: &str) -> i64 {
    stack.call(Method::GET, "/api/v1/auth/me", Some(key), None).await.1["id"].as_i64().unwrap()
}

/// An admin's PATCH of user `id`; returns the status.
async fn patch_user(stack: &Stack, admin: &str, id: i64, body: Value) -> u16 {
    stack.call(Method::PATCH, &format!("/api/v1/admin/users/{id}"), Some(admin), Some(body)).await.0
}

both_stacks!(quota_refuses_before_storing_and_holds_under_concurrency, |stack: Stack| async move {
    let admin = stack.admin_key("root");
    let alice = stack.key("alice");
    let size = std::fs::metadata(corpus(FILE)).unwrap().len();
    let alice_id = user_id(&stack, &alice).await;
    assert_eq!(patch_user(&stack, &admin, alice_id, json!({ "quotaBytes": size * 3 / 2 })).await, 200);
    // The first fits; the second does not, on any route.
    let (status, first) = native_upload(&stack, &alice).await;
    assert_eq!(status, 202, "{first}");
    stack.wait_settled(&alice, first["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    let me = stack.call(Method::GET, "/api/v1/auth/me", Some(&alice), None).await.1;
    let used = me["usedBytes"].as_u64().unwrap();
    assert!(used > size, "derivatives count too: {me}");
    let (status, refused) = native_upload(&stack, &alice).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!((refused["current"].as_u64(), refused["limit"].as_u64()), (Some(used), Some(size * 3 / 2)), "{refused}");
    assert_eq!(refused["remaining"].as_u64(), Some((size * 3 / 2).saturating_sub(used)));
    assert!(refused["detail"].as_str().unwrap().contains("quota"), "{refused}");
    let (status, chev) = stack.chevereto_upload(&alice, &corpus(FILE), &[]).await;
    assert_eq!(status, 403, "{chev}");
    assert_eq!(chev["status_code"], 403);
    assert_eq!(chev["error"]["limit"].as_u64(), Some(size * 3 / 2), "{chev}");
    assert!(chev["error"]["message"].as_str().unwrap().contains(&format!("of {} bytes", size * 3 / 2)), "{chev}");
    let (status, init) = stack
        .call(Method::POST, "/api/v1/files/initiate", Some(&alice), Some(json!({ "name": "x.png", "sizeBytes": size })))
        .await;
    assert_eq!(status, 403, "{init}");
    assert!(init["remaining"].is_u64());
    let me = stack.call(Method::GET, "/api/v1/auth/me", Some(&alice), None).await.1;
    assert_eq!((me["fileCount"].as_u64(), me["usedBytes"].as_u64()), (Some(1), Some(used)), "nothing stored: {me}");

    // A presigned initiate holds its size until complete.
    assert_eq!(patch_user(&stack, &admin, alice_id, json!({ "quotaBytes": used + size + size / 2 })).await, 200);
    let (status, held) = stack
        .call(Method::POST, "/api/v1/files/initiate", Some(&alice), Some(json!({ "name": "x.png", "sizeBytes": size })))
        .await;
    assert_eq!(status, 200, "{held}");
    assert_eq!(native_upload(&stack, &alice).await.0, 403);

    // File-count quota.
    assert_eq!(patch_user(&stack, &admin, alice_id, json!({ "quotaBytes": null, "quotaFiles": 1 })).await, 200);
    let (status, files) = native_upload(&stack, &alice).await;
    assert_eq!(status, 403, "{files}");
    assert!(files["detail"].as_str().unwrap().contains("file quota"), "{files}");

    // Concurrent uploads: room for two, six at once.
    let bob = stack.key("bob");
    let bob_id = user_id(&stack, &bob).await;
    assert_eq!(patch_user(&stack, &admin, bob_id, json!({ "quotaBytes": size * 5 / 2 })).await, 200);
    let results = futures::future::join_all((0..6).map(|_| native_upload(&stack, &bob))).await;
    let ok = results.iter().filter(|(s, _)| *s == 202).count();
    assert!((1..=2).contains(&ok), "{results:?}");
    assert!(results.iter().all(|(s, _)| *s == 202 || *s == 403), "{results:?}");
    let me = stack.call(Method::GET, "/api/v1/auth/me", Some(&bob), None).await.1;
    assert_eq!(me["fileCount"].as_u64(), Some(ok as u64), "{me}");
});

async fn default_quota(kind: Kind) {
    let stack = Stack::start_with(kind, &[("MEDIAQ_DEFAULT_QUOTA_BYTES", "1000")]).await;
    let carol = stack.key("carol");
    let me = stack.call(Method::GET, "/api/v1/auth/me", Some(&carol), None).await.1;
    assert_eq!(me["quotaBytes"], 1000);
    let (status, body) = native_upload(&stack, &carol).await;
    assert_eq!((status, body["limit"].as_u64()), (403, Some(1000)), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_quota_embedded() {
    default_quota(Kind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_quota_production() {
    default_quota(Kind::Production).await;
}
