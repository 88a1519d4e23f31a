//! Administration on both stacks: stats, and deleting a user with every
//! object they stored.

use std::time::{Duration, Instant};

use mediaq_tests::{Kind, Stack, both_stacks, corpus};
use reqwest::Method;
use serde_json::Value;

both_stacks!(admin_stats_and_user_deletion_purges_everything, |stack: Stack| async move {
    let admin = stack.admin_key("root");
    let alice = stack.key("alice");
    let bob = stack.key("bob");
    let mut ids = Vec::new();
    for name in ["skimage_chelsea.png", "skimage_camera.png"] {
        let (status, body) = stack.chevereto_upload(&alice, &corpus(name), &[]).await;
        assert_eq!(status, 200, "{body}");
        ids.push(body["image"]["id_encoded"].as_str().unwrap().to_owned());
    }
    let url = stack.chevereto_upload(&alice, &corpus("skimage_rocket.jpg"), &[]).await.1["image"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stack.fetch(&url).await.0, 200);
    let (status, stats) = stack.call(Method::GET, "/api/v1/admin/stats", Some(&admin), None).await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(
        (stats["users"].as_u64(), stats["files"].as_u64(), stats["pendingUsers"].as_u64()),
        (Some(3), Some(3), Some(0)),
        "{stats}"
    );
    assert!(stats["bytes"].as_u64().unwrap() > 0);
    assert_eq!(stack.call(Method::GET, "/api/v1/admin/stats", Some(&bob), None).await.0, 403);
    let alice_id = stack.call(Method::GET, "/api/v1/auth/me", Some(&alice), None).await.1["id"].as_i64().unwrap();
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/admin/users/{alice_id}"), Some(&bob), None).await.0, 403);
    let (status, gone) =
        stack.call(Method::DELETE, &format!("/api/v1/admin/users/{alice_id}"), Some(&admin), None).await;
    assert_eq!((status, gone["files"].as_u64()), (202, Some(3)), "{gone}");
    // Locked out at once; media gone at once; the account and objects soon.
    assert_eq!(stack.call(Method::GET, "/api/v1/auth/me", Some(&alice), None).await.0, 401);
    assert_eq!(stack.fetch(&url).await.0, 404);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, _) = stack
            .call(Method::PATCH, &format!("/api/v1/admin/users/{alice_id}"), Some(&admin), Some(serde_json::json!({})))
            .await;
        let objects_left = stack.kind == Kind::Embedded
            && ids.iter().any(|id| stack.data_dir.path().join("objects/media").join(id).exists());
        if status == 404 && !objects_left {
            break;
        }
        assert!(Instant::now() < deadline, "user {alice_id} not fully deleted; logs:\n{}", stack.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stats: Value = stack.call(Method::GET, "/api/v1/admin/stats", Some(&admin), None).await.1;
    assert_eq!(
        (stats["users"].as_u64(), stats["files"].as_u64(), stats["bytes"].as_u64()),
        (Some(2), Some(0), Some(0)),
        "{stats}"
    );
    // A name freed by deletion can be registered again.
    let (status, _) = stack
        .call(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(serde_json::json!({ "username": "alice", "password": "new-alice-1" })),
        )
        .await;
    assert_eq!(status, 201);
});

both_stacks!(audit_log_records_who_did_what, |stack: Stack| async move {
    let admin = stack.admin_key("root");
    let bob = stack.key("bob");
    let body = |u: &str, p: &str| Some(serde_json::json!({ "username": u, "password": p }));
    assert_eq!(stack.call(Method::POST, "/api/v1/auth/register", None, body("dana", "dana-pass-1")).await.0, 201);
    assert_eq!(stack.call(Method::POST, "/api/v1/auth/login", None, body("dana", "wrong-pass-1")).await.0, 401);
    let (_, key) =
        stack.call(Method::POST, "/api/v1/keys", Some(&bob), Some(serde_json::json!({ "name": "ci" }))).await;
    let raw = key["key"].as_str().unwrap().to_owned();
    assert_eq!(stack.call(Method::GET, "/api/v1/admin/audit", Some(&bob), None).await.0, 403);
    let (status, log) = stack.call(Method::GET, "/api/v1/admin/audit", Some(&admin), None).await;
    assert_eq!(status, 200, "{log}");
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["key.create", "auth.login", "user.register"], "{log}");
    assert!(!log.to_string().contains(&raw), "no secrets in the log");
    let created = &log["items"][0];
    assert_eq!(
        (created["actor"].as_str(), created["result"].as_str(), created["ip"].as_str()),
        (Some("bob"), Some("ok"), Some("127.0.0.1")),
        "{created}"
    );
    assert!(created["credential"].as_str().unwrap().starts_with("key:"));
    let (_, failed) =
        stack.call(Method::GET, "/api/v1/admin/audit?action=auth.login&result=failed", Some(&admin), None).await;
    assert_eq!((failed["total"].as_u64(), failed["items"][0]["actor"].as_str()), (Some(1), Some("dana")), "{failed}");
    let (_, paged) = stack.call(Method::GET, "/api/v1/admin/audit?limit=1&page=2", Some(&admin), None).await;
    assert_eq!((paged["items"][0]["action"].as_str(), paged["hasMore"].as_bool()), (Some("auth.login"), Some(true)));
});
