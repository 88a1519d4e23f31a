//! Concurrent writers never undo each other, on both stacks: an owner's
//! PATCH, a delete, an expiry or a user deletion racing a worker that is
//! processing or fetching the same media; two opposite folder moves at
//! once. Each race is repeated to land in the window.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mediaq_tests::{Stack, both_stacks, both_stacks_with, corpus};
use reqwest::Method;
use serde_json::{Value, json};

/// Settings of the racing stacks: uploads answer at once (`queued`).
const NOWAIT: &[(&str, &str)] = &[("MEDIAQ_UPLOAD_WAIT_SECS", "0"), ("MEDIAQ_FETCH_ALLOW_PRIVATE", "true")];

/// An image processed in a fraction of a second (about 0.2 s in a debug
/// build): rounds are quick, and a request sent once it is seen
/// `processing` still lands while it processes.
const QUICK: &str = "skimage_chelsea.png";

/// An image that takes seconds to process (a debug build on 2 cores).
pub(crate) const SLOW: &str = "kde_Patak_1080_alpha.png";

pub(crate) async fn upload_nowait(stack: &Stack, key: &str, name: &str) -> String {
    let (status, body) = stack.chevereto_upload(key, &corpus(name), &[]).await;
    assert_eq!(status, 200, "{body}");
    body["image"]["id_encoded"].as_str().unwrap().to_owned()
}

pub(crate) async fn file(stack: &Stack, key: &str, id: &str) -> (u16, Value) {
    stack.call(Method::GET, &format!("/api/v1/files/{id}"), Some(key), None).await
}

/// Polls until the media is `processing` (true) or settled / gone (false:
/// this round missed the window).
pub(crate) async fn caught_processing(stack: &Stack, key: &str, id: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, body) = file(stack, key, id).await;
        match body["status"].as_str() {
            Some("processing") => return true,
            Some("queued") if code == 200 => {}
            _ => return false,
        }
        assert!(Instant::now() < deadline, "{id} never started; logs:\n{}", stack.logs());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until none of `ids` has an object left, and each answers 404.
pub(crate) async fn wait_gone(stack: &Stack, key: &str, ids: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in ids {
        loop {
            let (code, body) = file(stack, key, id).await;
            assert_ne!(body["status"], "ready", "{id} came back after it was removed: {body}");
            if matches!(code, 404 | 401) && stack.objects_of(id) == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{id}: {code} {body}, objects left; logs:\n{}", stack.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The workers' logs without terminal colours.
fn plain_logs(stack: &Stack) -> String {
    let (mut out, mut in_escape) = (String::new(), false);
    for c in stack.logs().chars() {
        match (in_escape, c) {
            (false, '\u{1b}') => in_escape = true,
            (true, 'm') => in_escape = false,
            (false, c) => out.push(c),
            (true, _) => {}
        }
    }
    out
}

/// Lines a worker logs when a job on a media ends: processed, fetched, or
/// stopped because the media was retired under it.
const JOB_ENDS: [&str; 3] = ["media ready", "remote source fetched", "removing what the job stored"];

/// Waits until the job of each of `caught` has ended (by its worker's log),
/// checking meanwhile that none of `removed` comes back `ready`.
async fn jobs_ended(stack: &Stack, key: &str, caught: &[String], removed: &[String]) {
    let done = AtomicBool::new(false);
    let watch = async {
        while !done.load(Ordering::SeqCst) {
            for id in removed {
                let body = file(stack, key, id).await.1;
                assert_ne!(body["status"], "ready", "{id} came back after it was removed: {body}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let ended = async {
        let deadline = Instant::now() + Duration::from_secs(90);
        for id in caught {
            while !plain_logs(stack).lines().any(|l| l.contains(id.as_str()) && JOB_ENDS.iter().any(|e| l.contains(e)))
            {
                assert!(Instant::now() < deadline, "the job of {id} never ended; logs:\n{}", stack.logs());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        done.store(true, Ordering::SeqCst);
    };
    tokio::join!(watch, ended);
}

fn assert_hit(hits: usize, rounds: usize, what: &str) {
    assert!(hits > 0, "none of {rounds} rounds caught the media {what}: the race was never run");
}

both_stacks_with!(patch_while_processing_is_kept, NOWAIT, |stack: Stack| async move {
    let key = stack.key("alice");
    let rounds = 30;
    let mut hits = 0;
    for round in 0..rounds {
        let id = upload_nowait(&stack, &key, QUICK).await;
        hits += usize::from(caught_processing(&stack, &key, &id).await);
        let edit = json!({ "isPublic": false, "title": format!("round {round}"), "name": format!("r{round}.png") });
        let (code, body) = stack.call(Method::PATCH, &format!("/api/v1/files/{id}"), Some(&key), Some(edit)).await;
        assert_eq!(code, 200, "{body}");
        let media = stack.wait_settled(&key, &id, Duration::from_secs(60)).await;
        assert_eq!(media["status"], "ready", "{media}");
        assert_eq!(
            (&media["isPublic"], &media["publicUrl"], &media["url"]),
            (&json!(false), &Value::Null, &Value::Null),
            "round {round}: the file went public again: {media}"
        );
        assert_eq!(media["title"], format!("round {round}"), "{media}");
        assert_eq!(media["name"], format!("r{round}.png"), "{media}");
    }
    assert_hit(hits, rounds, "processing");
});

both_stacks_with!(delete_while_processing_stays_gone, NOWAIT, |stack: Stack| async move {
    let key = stack.key("alice");
    let (rounds, mut caught, mut ids) = (12, Vec::new(), Vec::new());
    for _ in 0..rounds {
        let id = upload_nowait(&stack, &key, QUICK).await;
        if caught_processing(&stack, &key, &id).await {
            caught.push(id.clone());
        }
        let (code, body) =
            stack.call(Method::DELETE, &format!("/api/v1/files/{id}?permanent=true"), Some(&key), None).await;
        assert_eq!(code, 204, "{body}");
        ids.push(id);
    }
    assert_hit(caught.len(), rounds, "processing");
    jobs_ended(&stack, &key, &caught, &ids).await;
    wait_gone(&stack, &key, &ids).await;
});

both_stacks_with!(expiry_while_processing_stays_expired, NOWAIT, |stack: Stack| async move {
    let key = stack.key("alice");
    let (rounds, mut hits) = (3, Vec::new());
    for _ in 0..rounds {
        // Expires 1 s after the upload, while the large image still processes.
        let (status, body) = stack.chevereto_upload(&key, &corpus(SLOW), &[("expiration", "1")]).await;
        assert_eq!(status, 200, "{body}");
        let id = body["image"]["id_encoded"].as_str().unwrap().to_owned();
        if !caught_processing(&stack, &key, &id).await {
            continue;
        }
        // Sweep until the media is no longer processing: expired by the
        // sweep while its job runs (a hit), or finished first (a miss).
        let deadline = Instant::now() + Duration::from_secs(60);
        let last = loop {
            let out = stack.command(&["sweep"]).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let (code, body) = file(&stack, &key, &id).await;
            if body["status"] != "processing" {
                break code;
            }
            assert!(Instant::now() < deadline, "{id} never expired");
        };
        if last == 404 {
            hits.push(id);
        }
    }
    assert_hit(hits.len(), rounds, "processing when it expired");
    // No further sweep: it would expire a media that came back again.
    jobs_ended(&stack, &key, &hits, &hits).await;
    wait_gone(&stack, &key, &hits).await;
});

both_stacks_with!(user_deletion_while_processing_leaves_nothing, NOWAIT, |stack: Stack| async move {
    let admin = stack.admin_key("root");
    let (rounds, mut caught, mut ids) = (8, Vec::new(), Vec::new());
    for round in 0..rounds {
        let key = stack.key(&format!("victim{round}"));
        let user = stack.call(Method::GET, "/api/v1/auth/me", Some(&key), None).await.1["id"].as_i64().unwrap();
        let id = upload_nowait(&stack, &key, QUICK).await;
        if caught_processing(&stack, &key, &id).await {
            caught.push(id.clone());
        }
        let (code, body) = stack.call(Method::DELETE, &format!("/api/v1/admin/users/{user}"), Some(&admin), None).await;
        assert_eq!(code, 202, "{body}");
        ids.push((user, id));
    }
    assert_hit(caught.len(), rounds, "processing");
    jobs_ended(&stack, &admin, &caught, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    for (user, id) in &ids {
        loop {
            let (code, _) =
                stack.call(Method::PATCH, &format!("/api/v1/admin/users/{user}"), Some(&admin), Some(json!({}))).await;
            if code == 404 && stack.objects_of(id) == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "user {user} / {id} not fully removed; logs:\n{}", stack.logs());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
});

/// A loopback server that answers with `body` slowly (headers, then the
/// body in pieces for about a second), so a fetch is in flight for a while.
async fn serve_slowly(body: Vec<u8>) -> String {
    let headers = "Content-Type: image/png\r\nContent-Disposition: attachment; filename=\"served.png\"\r\n";
    mediaq_tests::serve_http(body, headers.into(), Some(Duration::from_millis(100)), "/remote.png").await
}

async fn remote_upload(stack: &Stack, key: &str, url: &str) -> String {
    let res = stack.http.post(stack.url("/api/1/upload")).header("X-API-Key", key).form(&[("source", url)]).send();
    let body: Value = res.await.unwrap().json().await.unwrap();
    body["image"]["id_encoded"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

both_stacks_with!(remote_fetch_racing_patch_and_delete, NOWAIT, |stack: Stack| async move {
    let key = stack.key("alice");
    let url = serve_slowly(std::fs::read(corpus(QUICK)).unwrap()).await;
    let (rounds, mut hits, mut deleted, mut caught) = (5, 0, Vec::new(), Vec::new());
    for round in 0..rounds {
        let renamed = remote_upload(&stack, &key, &url).await;
        hits += usize::from(caught_processing(&stack, &key, &renamed).await);
        let edit = json!({ "isPublic": false, "name": format!("mine{round}.png") });
        let (code, body) = stack.call(Method::PATCH, &format!("/api/v1/files/{renamed}"), Some(&key), Some(edit)).await;
        assert_eq!(code, 200, "{body}");
        let gone = remote_upload(&stack, &key, &url).await;
        if caught_processing(&stack, &key, &gone).await {
            caught.push(gone.clone());
        }
        let path = format!("/api/v1/files/{gone}?permanent=true");
        assert_eq!(stack.call(Method::DELETE, &path, Some(&key), None).await.0, 204);
        deleted.push(gone);
        let media = stack.wait_settled(&key, &renamed, Duration::from_secs(60)).await;
        assert_eq!(media["status"], "ready", "{media}");
        assert_eq!(
            (&media["name"], &media["isPublic"]),
            (&json!(format!("mine{round}.png")), &json!(false)),
            "{media}"
        );
    }
    assert_hit(hits + caught.len(), rounds * 2, "fetching");
    jobs_ended(&stack, &key, &caught, &deleted).await;
    wait_gone(&stack, &key, &deleted).await;
});

both_stacks!(opposite_folder_moves_never_make_a_cycle, |stack: Stack| async move {
    let key = stack.key("alice");
    let folder = |name: String| {
        let req = stack.call(Method::POST, "/api/v1/folders", Some(&key), Some(json!({ "name": name })));
        async move {
            let (code, body) = req.await;
            assert_eq!(code, 201, "{body}");
            body["id"].as_str().unwrap().to_owned()
        }
    };
    for round in 0..30 {
        let (a, b) = (folder(format!("a{round}")).await, folder(format!("b{round}")).await);
        let move_to = |id: &str, parent: &str| {
            stack.call(Method::PATCH, &format!("/api/v1/folders/{id}"), Some(&key), Some(json!({ "parentId": parent })))
        };
        let (ab, ba) = tokio::join!(move_to(&a, &b), move_to(&b, &a));
        let codes = [ab.0, ba.0];
        assert!(codes.contains(&200) && codes.contains(&400), "round {round}: {ab:?} {ba:?}");
        let parent = |id: &str| {
            let req = stack.call(Method::GET, &format!("/api/v1/folders/{id}"), Some(&key), None);
            async move { req.await.1["parentId"].clone() }
        };
        let (pa, pb) = (parent(&a).await, parent(&b).await);
        assert!(pa.is_null() || pb.is_null(), "round {round}: a cycle: a → {pa}, b → {pb}");
    }
    // Depth is bounded: a chain deeper than the limit is refused with a 400.
    let mut parent = folder("deep".into()).await;
    let mut refused = None;
    for level in 2..=40 {
        let body = json!({ "name": format!("l{level}"), "parentId": parent });
        let (code, body) = stack.call(Method::POST, "/api/v1/folders", Some(&key), Some(body)).await;
        if code == 400 {
            refused = Some(level);
            break;
        }
        assert_eq!(code, 201, "{body}");
        parent = body["id"].as_str().unwrap().to_owned();
    }
    assert_eq!(refused, Some(33), "folders nest at most 32 levels");
});
