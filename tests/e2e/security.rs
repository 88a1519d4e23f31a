//! Security properties on both stacks: what caches may keep, suspension
//! taking content offline and back, secrets kept out of the request log,
//! and the brakes on unauthenticated password hashing (register and
//! link-password rate limits, taken names refused before hashing).

use std::time::{Duration, Instant};

use mediaq_tests::{Kind, Stack, both_stacks, corpus};
use reqwest::Method;
use serde_json::{Value, json};

const NO_STORE: &str = "private, no-store";

/// Status and `Cache-Control` of a GET, with optional extra header.
async fn get(stack: &Stack, url: &str, header: Option<(&str, &str)>) -> (u16, String) {
    let mut req = stack.http.get(url);
    if let Some((k, v)) = header {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    let cache = res.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (res.status().as_u16(), cache)
}

fn url(stack: &Stack, v: &Value) -> String {
    let s = v.as_str().unwrap_or_else(|| panic!("not a URL: {v}"));
    if s.starts_with("http") { s.to_owned() } else { stack.url(s) }
}

/// A ready public image by the Chevereto route (`fields` such as expiration).
async fn image(stack: &Stack, key: &str, fields: &[(&str, &str)]) -> Value {
    let (status, body) = stack.chevereto_upload(key, &corpus("skimage_chelsea.png"), fields).await;
    assert_eq!(status, 200, "{body}");
    body["image"].clone()
}

/// A new link (201) to `target`; returns its URL.
async fn link(stack: &Stack, key: &str, target: Value) -> String {
    let (status, body) = stack.call(Method::POST, "/api/v1/links", Some(key), Some(target)).await;
    assert_eq!(status, 201, "{body}");
    url(stack, &body["url"])
}

/// The public-token download URL of a file made public.
async fn token_url(stack: &Stack, key: &str, id: &str) -> String {
    let path = format!("/api/v1/files/{id}");
    let (status, body) = stack.call(Method::PATCH, &path, Some(key), Some(json!({ "isPublic": true }))).await;
    assert_eq!(status, 200, "{body}");
    url(stack, &body["publicUrl"])
}

both_stacks!(cache_headers_match_what_may_be_kept, |stack: Stack| async move {
    let alice = stack.key("alice");
    // A public image that never expires: a year, immutable.
    let forever = image(&stack, &alice, &[]).await;
    let (status, cache) = get(&stack, &url(&stack, &forever["url"]), None).await;
    assert_eq!((status, cache.as_str()), (200, "public, max-age=31536000, immutable"));
    let (status, cache) = get(&stack, &url(&stack, &forever["thumb"]["url"]), None).await;
    assert_eq!((status, cache.as_str()), (200, "public, max-age=31536000, immutable"));
    // One that expires in 5 minutes: never immutable, never past expiry.
    let brief = image(&stack, &alice, &[("expiration", "PT5M")]).await;
    let (status, cache) = get(&stack, &url(&stack, &brief["url"]), None).await;
    assert_eq!(status, 200);
    assert!(!cache.contains("immutable"), "{cache}");
    let max_age: i64 = cache.strip_prefix("public, max-age=").unwrap_or_else(|| panic!("{cache}")).parse().unwrap();
    assert!((1..=300).contains(&max_age), "{cache}");
    // A signed download: the URL is a secret, so are its bytes.
    let id = forever["id_encoded"].as_str().unwrap();
    let res = stack.http.get(stack.url(&format!("/api/v1/files/{id}/download"))).bearer_auth(&alice).send().await;
    let res = res.unwrap();
    assert_eq!(res.headers()["cache-control"], NO_STORE);
    let signed: Value = res.json().await.unwrap();
    let signed = url(&stack, &signed["url"]);
    if signed.starts_with(&stack.base) {
        assert_eq!(get(&stack, &signed, None).await, (200, NO_STORE.to_owned()), "signed download {signed}");
    } else {
        assert_eq!(stack.kind, Kind::Production, "only S3 presigns point elsewhere");
    }
    // A public-token download.
    let token = token_url(&stack, &alice, id).await;
    assert_eq!(get(&stack, &token, None).await, (200, NO_STORE.to_owned()));
    // A link: its view and its download.
    let plain = link(&stack, &alice, json!({ "fileId": id })).await;
    assert_eq!(get(&stack, &plain, None).await, (200, NO_STORE.to_owned()));
    assert_eq!(get(&stack, &format!("{plain}/download"), None).await, (200, NO_STORE.to_owned()));
    // A password link.
    let guarded = link(&stack, &alice, json!({ "fileId": id, "password": "open-sesame" })).await;
    let pw = Some(("X-Link-Password", "open-sesame"));
    assert_eq!(get(&stack, &format!("{guarded}/download"), pw).await, (200, NO_STORE.to_owned()));
});

/// Everything of alice's that others can reach without her key.
struct Reachable {
    image: String,
    thumb: String,
    viewer: String,
    token: String,
    link: String,
    guarded: String,
    file: String,
}

impl Reachable {
    /// Status of each way in, by name.
    async fn statuses(&self, stack: &Stack, bob: &str) -> Vec<(&'static str, u16)> {
        let pw = Some(("X-Link-Password", "open-sesame"));
        vec![
            ("image", get(stack, &self.image, None).await.0),
            ("thumb", get(stack, &self.thumb, None).await.0),
            ("viewer", get(stack, &self.viewer, None).await.0),
            ("token download", get(stack, &self.token, None).await.0),
            ("link", get(stack, &self.link, None).await.0),
            ("link download", get(stack, &format!("{}/download", self.link), None).await.0),
            ("password link", get(stack, &format!("{}/download", self.guarded), pw).await.0),
            ("share", stack.call(Method::GET, &self.file, Some(bob), None).await.0),
        ]
    }
}

both_stacks!(suspension_takes_content_offline_until_reactivated, |stack: Stack| async move {
    let admin = stack.admin_key("root");
    let alice = stack.key("alice");
    let bob = stack.key("bob");
    let img = image(&stack, &alice, &[]).await;
    let id = img["id_encoded"].as_str().unwrap().to_owned();
    let (status, share) = stack
        .call(Method::POST, "/api/v1/shares", Some(&alice), Some(json!({ "fileId": id, "username": "bob" })))
        .await;
    assert_eq!(status, 201, "{share}");
    let reachable = Reachable {
        image: url(&stack, &img["url"]),
        thumb: url(&stack, &img["thumb"]["url"]),
        viewer: url(&stack, &img["url_viewer"]),
        token: token_url(&stack, &alice, &id).await,
        link: link(&stack, &alice, json!({ "fileId": id })).await,
        guarded: link(&stack, &alice, json!({ "fileId": id, "password": "open-sesame" })).await,
        file: format!("/api/v1/files/{id}"),
    };
    let alice_id = stack.call(Method::GET, "/api/v1/auth/me", Some(&alice), None).await.1["id"].as_i64().unwrap();
    let all = |status: u16| -> Vec<(&'static str, u16)> {
        ["image", "thumb", "viewer", "token download", "link", "link download", "password link", "share"]
            .into_iter()
            .map(|name| (name, status))
            .collect()
    };
    assert_eq!(reachable.statuses(&stack, &bob).await, all(200));
    for round in 0..2 {
        let (status, _) =
            stack.call(Method::POST, &format!("/api/v1/admin/users/{alice_id}/suspend"), Some(&admin), None).await;
        assert_eq!(status, 200);
        assert_eq!(reachable.statuses(&stack, &bob).await, all(404), "suspended (round {round})");
        let (status, _) =
            stack.call(Method::POST, &format!("/api/v1/admin/users/{alice_id}/approve"), Some(&admin), None).await;
        assert_eq!(status, 200);
        assert_eq!(reachable.statuses(&stack, &bob).await, all(200), "active again (round {round})");
    }
});

both_stacks!(link_tokens_and_delete_secrets_stay_out_of_the_log, |stack: Stack| async move {
    let alice = stack.key("alice");
    let img = image(&stack, &alice, &[]).await;
    let id = img["id_encoded"].as_str().unwrap().to_owned();
    let plain = link(&stack, &alice, json!({ "fileId": id })).await;
    let guarded = link(&stack, &alice, json!({ "fileId": id, "password": "open-sesame-42" })).await;
    assert_eq!(get(&stack, &plain, None).await.0, 200);
    assert_eq!(get(&stack, &format!("{plain}/download"), None).await.0, 200);
    assert_eq!(get(&stack, &format!("{guarded}?password=open-sesame-42"), None).await.0, 200);
    assert_eq!(get(&stack, &format!("{guarded}/download"), Some(("X-Link-Password", "wrong-one-1"))).await.0, 403);
    let delete_url = url(&stack, &img["delete_url"]);
    assert_eq!(get(&stack, &delete_url, None).await.0, 200);
    let logs = stack.logs();
    assert!(logs.contains("/api/v1/public/links/"), "link requests are logged:\n{logs}");
    for secret in [
        plain.rsplit('/').next().unwrap(),
        guarded.rsplit('/').next().unwrap(),
        "open-sesame-42",
        delete_url.rsplit('/').next().unwrap(),
    ] {
        assert!(!logs.contains(secret), "{secret} is in the log:\n{logs}");
    }
});

/// Register with `name`; the status and how long it took.
async fn register(stack: &Stack, name: &str) -> (u16, Duration) {
    let started = Instant::now();
    let body = json!({ "username": name, "password": "long-enough-1" });
    let (status, _) = stack.call(Method::POST, "/api/v1/auth/register", None, Some(body)).await;
    (status, started.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn password_brakes(kind: Kind) {
    let stack =
        Stack::start_with(kind, &[("MEDIAQ_REGISTER_RATE_PER_MIN", "8"), ("MEDIAQ_LINK_PASSWORD_RATE_PER_MIN", "3")])
            .await;
    // A taken name is refused before hashing: far faster than a sign-up.
    let (mut fresh, mut taken) = (Vec::new(), Vec::new());
    for i in 0..3 {
        let (status, took) = register(&stack, &format!("new{i}")).await;
        assert_eq!(status, 201);
        fresh.push(took);
        let (status, took) = register(&stack, "new0").await;
        assert_eq!(status, 409);
        taken.push(took);
    }
    let (fresh, taken) = (median(fresh), median(taken));
    assert!(taken * 2 < fresh, "a taken name took {taken:?}, a sign-up {fresh:?}");
    // Registrations per IP: 8 a minute, then 429 with Retry-After.
    assert_eq!(register(&stack, "new3").await.0, 201);
    assert_eq!(register(&stack, "new4").await.0, 201);
    let res = stack
        .http
        .post(stack.url("/api/v1/auth/register"))
        .json(&json!({ "username": "new5", "password": "long-enough-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    // Link-password attempts: 3 a minute from one address, then 429 even
    // for the right password; asking without one costs nothing.
    let alice = stack.key("alice");
    let id = image(&stack, &alice, &[]).await["id_encoded"].as_str().unwrap().to_owned();
    let guarded = link(&stack, &alice, json!({ "fileId": id, "password": "open-sesame" })).await;
    assert_eq!(get(&stack, &guarded, None).await.0, 401);
    assert_eq!(get(&stack, &guarded, None).await.0, 401);
    for _ in 0..3 {
        assert_eq!(get(&stack, &guarded, Some(("X-Link-Password", "guess-guess"))).await.0, 403);
    }
    let res = stack.http.get(&guarded).header("X-Link-Password", "open-sesame").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_brakes_embedded() {
    password_brakes(Kind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_brakes_production() {
    password_brakes(Kind::Production).await;
}
