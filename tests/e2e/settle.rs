//! Every media settles, on both stacks: a media whose worker is killed
//! every time it processes it ends `failed` with a reason once its job had
//! its deliveries, and a media whose queue entry was lost is processed
//! after the stuck-media sweep. `MEDIAQ_STUCK_SECS=1` lets `mediaq sweep`
//! find stuck media at once.

use std::time::{Duration, Instant};

use mediaq_tests::{Kind, Stack, both_stacks_with};

use crate::races::{SLOW, file, upload_nowait};

const SETTINGS: &[(&str, &str)] = &[("MEDIAQ_UPLOAD_WAIT_SECS", "0"), ("MEDIAQ_STUCK_SECS", "1")];

/// Runs `mediaq sweep` until it reports a stuck media queued again or
/// failed (true), or until media `id` left `status` by other means, such
/// as the sweep scheduled in a running worker (false).
async fn sweep_until_stuck_found(stack: &Stack, id: &str, status: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if row(stack, id).await.0 != status {
            return false;
        }
        let out = stack.command(&["sweep"]).output().unwrap();
        assert!(out.status.success(), "sweep failed: {}", String::from_utf8_lossy(&out.stderr));
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        if !report.contains("queued 0 stuck") || !report.contains("failed 0 at") {
            return true;
        }
        assert!(Instant::now() < deadline, "the sweep never found the stuck media: {report}");
        // Stuck means untouched for MEDIAQ_STUCK_SECS (1 s): look again.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The indices of the processes running workers.
fn worker_processes(stack: &Stack) -> Vec<usize> {
    match stack.kind {
        Kind::Embedded => vec![stack.processes.len() - 1],
        Kind::Production => vec![stack.processes.len() - 2, stack.processes.len() - 1],
    }
}

async fn restart_workers(stack: &mut Stack) {
    match stack.kind {
        Kind::Embedded => {
            stack.spawn(&["all"]);
            stack.wait_ready().await;
        }
        Kind::Production => {
            stack.spawn(&["work"]);
            stack.spawn(&["work"]);
        }
    }
}

/// The media's status and last write time, read from its row (the API
/// may be down while the embedded process is killed).
async fn row(stack: &Stack, id: &str) -> (String, String) {
    let sql = "SELECT status, CAST(updated_at AS TEXT) FROM media WHERE id = $1";
    match stack.kind {
        Kind::Embedded => {
            let url = format!("sqlite://{}", stack.data_dir.path().join("mediaq.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let row = sqlx::query_as(sql).bind(id).fetch_one(&pool).await.unwrap();
            pool.close().await;
            row
        }
        Kind::Production => {
            let pool = sqlx::PgPool::connect(&stack.env["MEDIAQ_DATABASE_URL"]).await.unwrap();
            let row = sqlx::query_as(sql).bind(id).fetch_one(&pool).await.unwrap();
            pool.close().await;
            row
        }
    }
}

/// Waits until a new delivery of `id` is running (`processing`, and the
/// row written since `seen`: each start of a job writes it), or the media
/// failed.
async fn wait_new_delivery(stack: &Stack, id: &str, seen: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, written) = row(stack, id).await;
        match status.as_str() {
            "processing" if written != seen => return status,
            "failed" => return status,
            "ready" => panic!("processing finished before the kill"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "no new delivery of {id} ({status}); logs:\n{}", stack.logs());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

both_stacks_with!(a_job_killing_its_worker_every_time_ends_failed, SETTINGS, |mut stack: Stack| async move {
    let key = stack.key("alice");
    let id = upload_nowait(&stack, &key, SLOW).await;
    let (mut seen, mut kills) = (String::new(), 0);
    while wait_new_delivery(&stack, &id, &seen).await != "failed" {
        for index in worker_processes(&stack) {
            stack.kill(index);
        }
        kills += 1;
        assert!(kills <= 5, "delivered again after {kills} kills");
        assert!(sweep_until_stuck_found(&stack, &id, "processing").await);
        // The sweep's claim wrote the row; the next start writes it again.
        seen = row(&stack, &id).await.1;
        restart_workers(&mut stack).await;
    }
    let media = file(&stack, &key, &id).await.1;
    assert_eq!(media["status"], "failed", "{media}");
    let reason = media["error"].as_str().unwrap_or_default();
    assert!(reason.contains("gave up after 5 attempts"), "{media}");
});

/// Removes every queued job, as a Redis FLUSHDB or a lost queue would.
async fn lose_queue(stack: &Stack) {
    match stack.kind {
        Kind::Embedded => {
            let url = format!("sqlite://{}", stack.data_dir.path().join("mediaq.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query("DELETE FROM Jobs").execute(&pool).await.unwrap();
            pool.close().await;
        }
        Kind::Production => {
            let client = redis::Client::open(stack.env["MEDIAQ_QUEUE_URL"].as_str()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            redis::cmd("FLUSHDB").query_async::<()>(&mut conn).await.unwrap();
        }
    }
}

both_stacks_with!(a_media_whose_queue_entry_was_lost_is_processed, SETTINGS, |mut stack: Stack| async move {
    let key = stack.key("alice");
    // Only the API runs while the upload is queued and its entry lost.
    for index in worker_processes(&stack).into_iter().rev() {
        stack.kill(index);
    }
    if stack.kind == Kind::Embedded {
        stack.spawn(&["serve"]);
        stack.wait_ready().await;
    }
    let id = upload_nowait(&stack, &key, "skimage_chelsea.png").await;
    lose_queue(&stack).await;
    match stack.kind {
        Kind::Embedded => {
            let serve = stack.processes.len() - 1;
            stack.kill(serve);
            restart_workers(&mut stack).await;
        }
        Kind::Production => restart_workers(&mut stack).await,
    }
    assert_eq!(file(&stack, &key, &id).await.1["status"], "queued");
    sweep_until_stuck_found(&stack, &id, "queued").await;
    let media = stack.wait_settled(&key, &id, Duration::from_secs(60)).await;
    assert_eq!(media["status"], "ready", "{media}");
});
