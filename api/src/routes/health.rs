//! `GET /healthz` (the process answers) and `GET /readyz` (database, queue
//! and storage all answer; a failure names which).

use std::future::Future;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (database, queue, storage) =
        tokio::join!(check(state.repo.ping()), check(state.queue.check()), check(state.storage.check()),);
    let checks = [
        ("database", state.repo.backend(), database),
        ("queue", state.queue.backend(), queue),
        ("storage", state.storage.backend(), storage),
    ];
    let failed: Vec<&str> = checks.iter().filter(|(_, _, r)| r.is_err()).map(|(name, _, _)| *name).collect();
    let detail: serde_json::Map<String, Value> = checks
        .iter()
        .map(|(name, backend, r)| {
            let v = match r {
                Ok(()) => json!({ "backend": backend, "ok": true }),
                Err(e) => json!({ "backend": backend, "ok": false, "error": e }),
            };
            ((*name).to_owned(), v)
        })
        .collect();
    if failed.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready", "checks": detail })))
    } else {
        for name in &failed {
            tracing::warn!(dependency = name, "readiness check failed");
        }
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "failed": failed, "checks": detail })))
    }
}

/// Runs one check with a timeout; the error is a short, non-secret text.
async fn check<E: std::fmt::Display>(f: impl Future<Output = Result<(), E>>) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, f).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string().chars().take(200).collect()),
        Err(_) => Err("timed out".into()),
    }
}
