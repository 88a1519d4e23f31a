//! Webhooks (`/api/v1/webhooks`): a user subscribes a URL to file events
//! of their own files; deliveries are signed and retried by the workers
//! (`mediaq_shared::webhooks`). The secret is shown once, at creation.
//! The URL must pass the remote-fetch address rules (checked here at once,
//! and again, with DNS, at every attempt).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::random_token;
use mediaq_shared::events::FileEvent;
use mediaq_shared::fetch::check_url;
use mediaq_shared::repo::{RepoError, Webhook, now};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Body;
use crate::state::AppState;

/// Attempts the delivery log shows.
const LOG_LIMIT: u64 = 100;
/// Webhooks one user may have.
const MAX_PER_USER: usize = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list).post(create))
        .route("/api/v1/webhooks/{id}", delete(remove))
        .route("/api/v1/webhooks/{id}/deliveries", get(deliveries))
}

fn resource(hook: &Webhook) -> Value {
    json!({ "id": hook.id, "url": hook.url, "events": hook.events, "createdAt": hook.created_at })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    url: String,
    events: Vec<String>,
}

/// `POST /api/v1/webhooks` {url, events} → 201 with the secret, once.
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<NewWebhook>,
) -> Result<impl IntoResponse, ApiError> {
    let url = check_url(&body.url, state.config.fetch_allow_private)
        .map_err(|e| ApiError::BadRequest(format!("url: {e}")))?;
    if body.events.is_empty() {
        return Err(ApiError::BadRequest("events: name at least one event".into()));
    }
    let mut events = Vec::new();
    for name in &body.events {
        let event = FileEvent::parse(name).ok_or_else(|| {
            let known: Vec<_> = FileEvent::ALL.iter().map(|e| e.as_str()).collect();
            ApiError::BadRequest(format!("events: unknown event {name:?}; known: {}", known.join(", ")))
        })?;
        if !events.contains(&event.as_str().to_owned()) {
            events.push(event.as_str().to_owned());
        }
    }
    if state.repo.list_webhooks(caller.user.id).await?.len() >= MAX_PER_USER {
        return Err(ApiError::Conflict(format!("at most {MAX_PER_USER} webhooks per user")));
    }
    let hook = Webhook {
        id: format!("wh_{}", random_token(20)),
        owner_id: caller.user.id,
        url: url.to_string(),
        events,
        secret: mediaq_shared::webhooks::new_secret(),
        created_at: now(),
    };
    state.repo.insert_webhook(&hook).await?;
    let mut shown = resource(&hook);
    shown["secret"] = json!(hook.secret);
    Ok((StatusCode::CREATED, Json(shown)))
}

/// `GET /api/v1/webhooks`: the caller's webhooks (without secrets).
async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let hooks = state.repo.list_webhooks(caller.user.id).await?;
    Ok(Json(json!({ "data": hooks.iter().map(resource).collect::<Vec<_>>() })))
}

/// `DELETE /api/v1/webhooks/{id}` → 204; queued deliveries are dropped.
async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if state.repo.delete_webhook(caller.user.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// `GET /api/v1/webhooks/{id}/deliveries`: the latest attempts, newest
/// first: event, attempt, HTTP status (null: no answer), time.
async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match state.repo.webhook(&id).await {
        Ok(hook) if hook.owner_id == caller.user.id => {}
        Ok(_) | Err(RepoError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    }
    let attempts = state.repo.attempts(&id, LOG_LIMIT).await?;
    let data: Vec<Value> = attempts
        .iter()
        .map(|a| {
            json!({
                "id": a.delivery_id, "event": a.event, "attempt": a.attempt,
                "httpStatus": a.http_status, "error": a.error, "at": a.at,
            })
        })
        .collect();
    Ok(Json(json!({ "data": data })))
}
