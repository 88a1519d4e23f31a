//! The web app at `/`: its assets and headers over HTTP, and the app itself
//! driven in Debian's headless Chromium by `tests/browser/webapp.py`
//! (selenium from the venv `scripts/test.sh` prepares): register, log in,
//! upload two images through the file input and see their thumbnails,
//! paste and drop, a file over the limit refused with the server's reason,
//! copy a file's links, a new version with its progress bar, open a public
//! link logged out and a password-protected one, delete and restore from
//! the trash (when the server has one), search, folders (create, upload
//! into, move), a share with another user, API keys, the admin page, light
//! and dark, phone width. The browser run fails on any console error and
//! any request to another host, checked after every step. Also the link
//! page's API (`/meta`, `preview`, `targetName`) over HTTP.

use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use mediaq_tests::{Kind, Stack, both_stacks, both_stacks_with, corpus};

async fn get(stack: &Stack, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = stack.http.get(stack.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webapp_assets_and_headers() {
    let stack = Stack::start(Kind::Embedded).await;
    let page = get(&stack, "/", &[]).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    for part in ["script-src 'self';", "style-src 'self';", "frame-ancestors 'none'", "default-src 'none'"] {
        assert!(csp.contains(part), "CSP lacks {part}: {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<meta name="mediaq-first-run" content="true">"#), "{html}");
    assert!(!html.contains("<script>") && !html.contains(" style="), "inline script or style in {html}");
    // Scripts: type, ETag revalidation, gzip; Uppy within the budget.
    let uppy = get(&stack, "/web/vendor/uppy/uppy.min.mjs", &[("accept-encoding", "gzip")]).await;
    assert_eq!(uppy.status(), 200);
    assert!(uppy.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(uppy.headers()["content-encoding"], "gzip");
    let etag = uppy.headers()["etag"].to_str().unwrap().to_owned();
    let gzipped = uppy.bytes().await.unwrap().len();
    assert!(gzipped < 500 * 1024, "Uppy is {gzipped} bytes gzipped");
    let again = get(&stack, "/web/vendor/uppy/uppy.min.mjs", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);
    let css = get(&stack, "/web/app.css", &[]).await;
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert_eq!(get(&stack, "/web/nope.js", &[]).await.status(), 404);
    // Once someone exists, the first-run notice goes.
    stack.key("alice");
    let html = get(&stack, "/", &[]).await.text().await.unwrap();
    assert!(html.contains(r#"<meta name="mediaq-first-run" content="false">"#));
}

const LIMITS: &[(&str, &str)] = &[("MEDIAQ_OPEN_REGISTRATION", "true"), ("MEDIAQ_MAX_UPLOAD_BYTES", "1048576")];

both_stacks_with!(webapp_in_chromium, LIMITS, |stack: Stack| async move {
    let python = std::env::var("MEDIAQ_TEST_PYTHON")
        .expect("MEDIAQ_TEST_PYTHON is not set: run the suite with scripts/test.sh, which installs selenium");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/webapp.py");
    // The trash part runs once the server has a trash (the route answers
    // 401 without a key instead of 404).
    let trash = get(&stack, "/api/v1/trash", &[]).await.status() != 404;
    let shots = std::env::temp_dir().join(format!("mediaq-webapp-{:?}", stack.kind).to_lowercase());
    std::fs::create_dir_all(&shots).unwrap();
    let started = Instant::now();
    let mut command = tokio::process::Command::new(python);
    let image = |name| corpus(name).canonicalize().unwrap(); // chromedriver wants canonical paths
    let (first, second) = (image("skimage_chelsea.png"), image("mate_Aqua.jpg"));
    // Over the 1 MiB limit above: refused with the server's reason.
    let too_big = image("video_h264_720p_10s.mp4");
    command.arg(script).arg(&stack.base).arg(first).arg(second).arg(too_big).arg(&shots);
    if trash {
        command.arg("--trash");
    }
    // The script asks for an administrator's key once it has registered
    // (so the first-run page is seen with no account): one line each way.
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut errors = child.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        errors.read_to_string(&mut text).await.map(|_| text)
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line == "NEED ADMIN KEY" {
            let key = stack.admin_key("root");
            stdin.write_all(format!("{key}\n").as_bytes()).await.unwrap();
            stdin.flush().await.unwrap();
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let status = child.wait().await.unwrap();
    let stderr = stderr.await.unwrap().unwrap();
    println!("{stdout}browser run: {:.1} s, screenshots in {}", started.elapsed().as_secs_f64(), shots.display());
    assert!(status.success(), "browser test failed:\n{stdout}\n{stderr}\nserver log:\n{}", stack.logs());
    assert!(stdout.contains("PASSED"), "{stdout}");
});

/// `GET …/meta` with an optional `X-Link-Password`.
async fn meta(stack: &Stack, token: &str, password: Option<&str>) -> serde_json::Value {
    let mut req = stack.http.get(stack.url(&format!("/api/v1/public/links/{token}/meta")));
    if let Some(p) = password {
        req = req.header("x-link-password", p);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "meta must answer 200 for any token");
    res.json().await.unwrap()
}

// The link page's API: `/meta` answers 200 for any token and spends no
// view, checks a password without opening; the view's signed `preview`
// shows the picture without spending a second view; lists name targets.
both_stacks!(link_meta_preview_and_target_names, |stack: Stack| async move {
    let key = stack.key("alice");
    let file =
        crate::files_any::ready(&stack, &key, std::fs::read(corpus("skimage_chelsea.png")).unwrap(), "cat.png").await;
    let id = file["id"].as_str().unwrap();
    let body =
        serde_json::json!({ "fileId": id, "password": "link password 1", "maxViews": 1, "allowDownload": false });
    let (status, link) = stack.call(reqwest::Method::POST, "/api/v1/links", Some(&key), Some(body)).await;
    assert_eq!(status, 201, "{link}");
    let token = link["token"].as_str().unwrap();

    let locked = meta(&stack, token, None).await;
    assert_eq!(locked["available"], true);
    assert_eq!(locked["passwordRequired"], true);
    assert!(locked.get("allowDownload").is_none() && locked.get("passwordAccepted").is_none(), "{locked}");
    assert_eq!(meta(&stack, token, Some("wrong password")).await["passwordAccepted"], false);
    for _ in 0..2 {
        let open = meta(&stack, token, Some("link password 1")).await;
        assert_eq!(open["passwordAccepted"], true, "{open}");
        assert_eq!((open["allowDownload"].clone(), open["viewsLeft"].clone()), (false.into(), 1.into()), "{open}");
    }
    assert_eq!(meta(&stack, &"x".repeat(32), None).await, serde_json::json!({ "available": false }));

    // Opening spends the one view; the still it shows costs none.
    let res = stack
        .http
        .get(stack.url(&format!("/api/v1/public/links/{token}")))
        .header("x-link-password", "link password 1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let view: serde_json::Value = res.json().await.unwrap();
    assert_eq!(view["preview"]["type"], "image", "{view}");
    let url = view["preview"]["url"].as_str().unwrap();
    assert!(url.contains(".md.") || url.contains(".th."), "view-only shows a still, not the original: {url}");
    let (status, content_type, bytes) = stack.fetch(url).await;
    assert_eq!((status, content_type.starts_with("image/")), (200, true));
    assert!(!bytes.is_empty());
    assert_eq!(meta(&stack, token, None).await, serde_json::json!({ "available": false }), "used up");

    let (_, links) = stack.call(reqwest::Method::GET, "/api/v1/links", Some(&key), None).await;
    assert_eq!(links["items"][0]["targetName"], "cat.png", "{links}");
});
