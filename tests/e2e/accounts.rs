//! Accounts on both stacks: registration and approval, login sessions,
//! API keys, password changes, suspension.

use std::time::{Duration, Instant};

use mediaq_tests::{Kind, Stack, both_stacks, corpus};
use reqwest::Method;
use serde_json::{Value, json};

async fn login(stack: &Stack, username: &str, password: &str) -> (u16, Value) {
    stack
        .call(Method::POST, "/api/v1/auth/login", None, Some(json!({ "username": username, "password": password })))
        .await
}

both_stacks!(register_approve_login_keys_password_suspend, |stack: Stack| async move {
    let admin = stack.admin_key("root");
    let bob = stack.key("bob");
    // Register: pending, so nothing works until approved.
    let (status, alice) = stack
        .call(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({ "username": "alice", "password": "alice-pass-1" })),
        )
        .await;
    assert_eq!(status, 201, "{alice}");
    assert_eq!((alice["status"].as_str(), alice["role"].as_str()), (Some("pending"), Some("user")));
    assert!(alice.get("password").is_none() && alice.get("passwordHash").is_none());
    let alice_id = alice["id"].as_i64().unwrap();
    let (status, dup) = stack
        .call(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({ "username": "alice", "password": "another-pass" })),
        )
        .await;
    assert_eq!(status, 409, "{dup}");
    assert_eq!(
        stack
            .call(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(json!({ "username": "a b", "password": "long-enough" }))
            )
            .await
            .0,
        400
    );
    assert_eq!(
        stack
            .call(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(json!({ "username": "carol", "password": "short" }))
            )
            .await
            .0,
        400
    );
    let (status, body) = login(&stack, "alice", "alice-pass-1").await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("approval"), "{body}");

    // Only an admin sees and approves users.
    assert_eq!(stack.call(Method::GET, "/api/v1/admin/users", Some(&bob), None).await.0, 403);
    assert_eq!(stack.call(Method::GET, "/api/v1/admin/users", None, None).await.0, 401);
    let (status, pending) = stack.call(Method::GET, "/api/v1/admin/users?status=pending", Some(&admin), None).await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["total"], 1);
    assert_eq!(pending["items"][0]["username"], "alice");
    assert_eq!(
        stack.call(Method::POST, &format!("/api/v1/admin/users/{alice_id}/approve"), Some(&bob), None).await.0,
        403
    );
    let (status, approved) =
        stack.call(Method::POST, &format!("/api/v1/admin/users/{alice_id}/approve"), Some(&admin), None).await;
    assert_eq!((status, approved["status"].as_str()), (200, Some("active")), "{approved}");

    // Wrong password or unknown user: 401 after a delay.
    let started = Instant::now();
    let (status, body) = login(&stack, "alice", "wrong-password").await;
    assert_eq!(status, 401, "{body}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(login(&stack, "nobody", "whatever-pass").await.0, 401);

    // A session token works like a key, on native and Chevereto routes.
    let (status, session) = login(&stack, "alice", "alice-pass-1").await;
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 40 && session["expiresAt"].is_string());
    let (status, me) = stack.call(Method::GET, "/api/v1/auth/me", Some(&token), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["username"].as_str(), me["usedBytes"].as_u64(), me["fileCount"].as_u64()),
        (Some("alice"), Some(0), Some(0))
    );
    assert!(me["quotaBytes"].is_null());
    let (status, up) = stack.chevereto_upload(&token, &corpus("skimage_chelsea.png"), &[]).await;
    assert_eq!(status, 200, "{up}");
    let id = up["image"]["id_encoded"].as_str().unwrap().to_owned();
    stack.wait_settled(&token, &id, Duration::from_secs(60)).await;
    let me = stack.call(Method::GET, "/api/v1/auth/me", Some(&token), None).await.1;
    assert_eq!(me["fileCount"], 1);
    assert!(
        me["usedBytes"].as_u64().unwrap() > std::fs::metadata(corpus("skimage_chelsea.png")).unwrap().len() / 2,
        "{me}"
    );
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{id}"), Some(&bob), None).await.0, 404);

    // API keys: shown once, listed without the key, revocable by the owner only.
    let (status, created) =
        stack.call(Method::POST, "/api/v1/keys", Some(&token), Some(json!({ "name": "laptop" }))).await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("mq_") && key.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{id}"), Some(&key), None).await.0, 200);
    let (_, keys) = stack.call(Method::GET, "/api/v1/keys", Some(&key), None).await;
    let listed = keys["items"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "laptop");
    assert!(listed[0]["lastUsedAt"].is_string(), "{keys}");
    assert!(!keys.to_string().contains(&key) && listed[0].get("key").is_none());
    let key_id = listed[0]["id"].as_i64().unwrap();
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/keys/{key_id}"), Some(&bob), None).await.0, 404);
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/keys/{key_id}"), Some(&token), None).await.0, 204);
    assert_eq!(stack.call(Method::GET, "/api/v1/auth/me", Some(&key), None).await.0, 401);
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/keys/{key_id}"), Some(&token), None).await.0, 404);

    // Password change: needs the old one; other sessions end.
    let other = login(&stack, "alice", "alice-pass-1").await.1["token"].as_str().unwrap().to_owned();
    let change = |old: &str, new: &str| json!({ "oldPassword": old, "newPassword": new });
    assert_eq!(
        stack
            .call(Method::POST, "/api/v1/auth/password", Some(&token), Some(change("nope-nope", "alice-pass-2")))
            .await
            .0,
        403
    );
    assert_eq!(
        stack
            .call(Method::POST, "/api/v1/auth/password", Some(&token), Some(json!({ "newPassword": "alice-pass-2" })))
            .await
            .0,
        400
    );
    assert_eq!(
        stack
            .call(Method::POST, "/api/v1/auth/password", Some(&token), Some(change("alice-pass-1", "alice-pass-2")))
            .await
            .0,
        204
    );
    assert_eq!(stack.call(Method::GET, "/api/v1/auth/me", Some(&token), None).await.0, 200);
    assert_eq!(stack.call(Method::GET, "/api/v1/auth/me", Some(&other), None).await.0, 401);
    assert_eq!(login(&stack, "alice", "alice-pass-1").await.0, 401);
    assert_eq!(login(&stack, "alice", "alice-pass-2").await.0, 200);

    // Logout ends the session; an API key cannot "log out".
    assert_eq!(stack.call(Method::POST, "/api/v1/auth/logout", Some(&bob), None).await.0, 400);
    assert_eq!(stack.call(Method::POST, "/api/v1/auth/logout", Some(&token), None).await.0, 204);
    assert_eq!(stack.call(Method::GET, "/api/v1/auth/me", Some(&token), None).await.0, 401);

    // Suspended: every credential refused with a clear 403.
    let token = login(&stack, "alice", "alice-pass-2").await.1["token"].as_str().unwrap().to_owned();
    let (status, _) =
        stack.call(Method::POST, &format!("/api/v1/admin/users/{alice_id}/suspend"), Some(&admin), None).await;
    assert_eq!(status, 200);
    let (status, body) = stack.call(Method::GET, "/api/v1/auth/me", Some(&token), None).await;
    assert_eq!(status, 403);
    assert!(body["detail"].as_str().unwrap().contains("suspended"));
    assert_eq!(login(&stack, "alice", "alice-pass-2").await.0, 403);
    // Admin sets role and quota.
    let (status, user) = stack
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{alice_id}"),
            Some(&admin),
            Some(json!({ "status": "active", "role": "admin", "quotaBytes": 1000 })),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        (user["status"].as_str(), user["role"].as_str(), user["quotaBytes"].as_u64()),
        (Some("active"), Some("admin"), Some(1000))
    );
    let (_, user) = stack
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{alice_id}"),
            Some(&admin),
            Some(json!({ "quotaBytes": null })),
        )
        .await;
    assert!(user["quotaBytes"].is_null(), "{user}");
    assert_eq!(
        stack.call(Method::PATCH, "/api/v1/admin/users/999999", Some(&admin), Some(json!({ "role": "user" }))).await.0,
        404
    );
    assert_eq!(stack.call(Method::GET, "/api/v1/auth/me", Some(&token), None).await.0, 200);
});

async fn open_registration(kind: Kind) {
    let stack = Stack::start_with(kind, &[("MEDIAQ_OPEN_REGISTRATION", "true")]).await;
    let (status, user) = stack
        .call(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({ "username": "dave", "password": "dave-pass-1" })),
        )
        .await;
    assert_eq!((status, user["status"].as_str()), (201, Some("active")), "{user}");
    assert_eq!(login(&stack, "dave", "dave-pass-1").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_registration_embedded() {
    open_registration(Kind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_registration_production() {
    open_registration(Kind::Production).await;
}
