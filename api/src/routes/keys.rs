//! The caller's API keys (`/api/v1/keys`): create (the raw key is in the
//! answer once and stored nowhere), list (metadata only), revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::ApiKey;
use mediaq_shared::keys::issue_key;

use crate::audit::{self, Actor, ClientIp};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Body;
use crate::state::AppState;

const MAX_NAME: usize = 100;

fn key_resource(key: &ApiKey) -> Value {
    json!({
        "id": key.id,
        "name": key.label,
        "prefix": key.prefix,
        "createdAt": key.created_at,
        "lastUsedAt": key.last_used_at,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: Option<String>,
}

/// `POST /api/v1/keys` {name} → 201 with the key resource and `key`, the
/// raw key, shown this once.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Body(body): Body<NewKey>,
) -> Result<impl IntoResponse, ApiError> {
    let name = body.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME) {
        return Err(ApiError::BadRequest(format!("invalid 'name': expected at most {MAX_NAME} characters")));
    }
    let (raw, key) = issue_key(&state.repo, caller.user.id, name.as_deref()).await?;
    audit::record(&state, Actor::from(&caller), &ip, "key.create", Some(format!("key:{}", key.id)), true).await;
    let mut body = key_resource(&key);
    body["key"] = json!(raw);
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /api/v1/keys`: the caller's live keys, newest first.
#[tracing::instrument(skip_all)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let keys = state.repo.list_api_keys(caller.user.id).await?;
    Ok(Json(json!({ "items": keys.iter().map(key_resource).collect::<Vec<_>>() })))
}

/// `DELETE /api/v1/keys/{id}`: revokes one of the caller's keys; someone
/// else's (or an unknown) key is 404.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let done = state.repo.revoke_api_key(caller.user.id, id).await?;
    audit::record(&state, Actor::from(&caller), &ip, "key.revoke", Some(format!("key:{id}")), done).await;
    if done { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::NotFound) }
}
