//! Rate limits on both stacks: logins per IP, uploads per key, answered
//! with 429 and Retry-After (Chevereto JSON on the Chevereto route).

use mediaq_tests::{Kind, Stack, corpus};
use serde_json::{Value, json};

async fn limits(kind: Kind) {
    let stack =
        Stack::start_with(kind, &[("MEDIAQ_LOGIN_RATE_PER_MIN", "3"), ("MEDIAQ_UPLOAD_RATE_PER_MIN", "2")]).await;
    let login = || {
        stack
            .http
            .post(stack.url("/api/v1/auth/login"))
            .json(&json!({ "username": "eve", "password": "guess-guess" }))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(login().await.unwrap().status().as_u16(), 401);
    }
    let res = login().await.unwrap();
    assert_eq!(res.status().as_u16(), 429);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
    let body: Value = res.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("too many"), "{body}");
    // Uploads per key.
    let bob = stack.key("bob");
    let initiate = || {
        stack
            .http
            .post(stack.url("/api/v1/files/initiate"))
            .bearer_auth(&bob)
            .json(&json!({ "name": "a.png", "sizeBytes": 10 }))
            .send()
    };
    assert_eq!(initiate().await.unwrap().status().as_u16(), 200);
    assert_eq!(initiate().await.unwrap().status().as_u16(), 200);
    let res = initiate().await.unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let (status, chev) = stack.chevereto_upload(&bob, &corpus("skimage_chelsea.png"), &[]).await;
    assert_eq!((status, chev["status_code"].as_u64()), (429, Some(429)), "{chev}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_embedded() {
    limits(Kind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_production() {
    limits(Kind::Production).await;
}
