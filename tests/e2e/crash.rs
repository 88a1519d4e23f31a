//! A worker killed with SIGKILL in the middle of a job does not lose it:
//! the job runs again (on a live worker) and the media becomes ready.

use std::time::{Duration, Instant};

use mediaq_tests::{Kind, Stack};
use serde_json::Value;

/// Uploads without waiting (`MEDIAQ_UPLOAD_WAIT_SECS=0`): the answer comes
/// back at once with the id and a `queued` status.
async fn upload_nowait(stack: &Stack, key: &str, name: &str) -> String {
    let (status, body) = stack.chevereto_upload(key, &mediaq_tests::corpus(name), &[]).await;
    assert_eq!(status, 200, "{body}");
    body["image"]["id_encoded"].as_str().unwrap().to_owned()
}

async fn status_of(stack: &Stack, key: &str, id: &str) -> Value {
    let res = stack.http.get(stack.url(&format!("/api/v1/files/{id}"))).bearer_auth(key).send().await.unwrap();
    res.json().await.unwrap()
}

/// Waits until one of `ids` is being processed.
async fn wait_processing(stack: &Stack, key: &str, ids: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for id in ids {
            if status_of(stack, key, id).await["status"] == "processing" {
                return;
            }
        }
        assert!(Instant::now() < deadline, "nothing started processing; logs:\n{}", stack.logs());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const BIG: [&str; 3] = ["kde_Altai_5120.png", "kde_Patak_5120_alpha.png", "kde_Volna_5120.jpg"];

async fn uploads(stack: &Stack, key: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for name in BIG {
        ids.push(upload_nowait(stack, key, name).await);
    }
    ids
}

async fn all_ready(stack: &Stack, key: &str, ids: &[String]) {
    for id in ids {
        // Orphaned jobs are re-queued after 4 missed 5 s heartbeats.
        let media = stack.wait_settled(key, id, Duration::from_secs(90)).await;
        assert_eq!(media["status"], "ready", "{media}");
        assert!(media["variants"]["thumb"]["url"].is_string(), "{media}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_worker_killed_mid_job_loses_nothing() {
    let mut stack = Stack::start_with(Kind::Production, &[("MEDIAQ_UPLOAD_WAIT_SECS", "0")]).await;
    let key = stack.key("dave");
    let ids = uploads(&stack, &key).await;
    wait_processing(&stack, &key, &ids).await;
    // Both workers die mid-job; a new one must pick the jobs up.
    stack.kill(1);
    stack.kill(2);
    stack.spawn(&["work"]);
    all_ready(&stack, &key, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_process_killed_mid_job_loses_nothing() {
    let mut stack = Stack::start_with(Kind::Embedded, &[("MEDIAQ_UPLOAD_WAIT_SECS", "0")]).await;
    let key = stack.key("erin");
    let ids = uploads(&stack, &key).await;
    wait_processing(&stack, &key, &ids).await;
    stack.kill(0);
    stack.spawn(&["all"]);
    stack.wait_ready().await;
    all_ready(&stack, &key, &ids).await;
}
