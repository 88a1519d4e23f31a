//! User administration (`/api/v1/admin/…`), for administrators only:
//! list users, approve, suspend, set role, status and quota, delete a
//! user with all their media, stats.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::{Role, UserId, UserStatus};
use mediaq_shared::repo::{AuditFilter, UserFilter};

use crate::audit::{self, Actor, ClientIp};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Body;
use crate::lifecycle::retire;
use crate::present::native::user as user_resource;
use crate::state::AppState;

const MAX_PAGE_SIZE: u64 = 100;

/// A whole number in `1..=max`, or `default` when absent.
pub fn page_number(name: &str, v: Option<&str>, default: u64, max: u64) -> Result<u64, ApiError> {
    match v {
        None => Ok(default),
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!("'{name}' must be a whole number from 1 to {max}"))),
        },
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    page: Option<String>,
    limit: Option<String>,
    status: Option<String>,
}

/// `GET /api/v1/admin/users?page=&limit=&status=`: users, oldest first.
#[tracing::instrument(skip_all)]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<UserQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let page = page_number("page", q.page.as_deref(), 1, 1_000_000)?;
    let limit = page_number("limit", q.limit.as_deref(), 20, MAX_PAGE_SIZE)?;
    let status = q.status.as_deref().map(parse_status).transpose()?;
    let (users, total) = state.repo.list_users(UserFilter { status, offset: (page - 1) * limit, limit }).await?;
    let mut items = Vec::with_capacity(users.len());
    for user in &users {
        items.push(user_resource(user, Some(state.repo.usage(user.id).await?)));
    }
    Ok(Json(json!({ "items": items, "page": page, "limit": limit, "total": total, "hasMore": page * limit < total })))
}

fn parse_status(s: &str) -> Result<UserStatus, ApiError> {
    s.parse()
        .map_err(|_| ApiError::BadRequest(format!("invalid 'status' {s:?}: expected pending, active or suspended")))
}

fn user_id(id: &str) -> Result<UserId, ApiError> {
    id.parse().map(UserId).map_err(|_| ApiError::NotFound)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserPatch {
    status: Option<String>,
    role: Option<String>,
    /// `null` makes the quota unlimited; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    quota_bytes: Option<Option<u64>>,
    /// Live files allowed; `null` is unlimited.
    #[serde(default, deserialize_with = "present")]
    quota_files: Option<Option<u64>>,
}

/// Tells a JSON `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

/// `PATCH /api/v1/admin/users/{id}` {status?, role?, quotaBytes?, quotaFiles?}.
#[tracing::instrument(skip_all)]
pub async fn patch_user(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
    Body(body): Body<UserPatch>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let id = user_id(&id)?;
    let user = state.repo.user(id).await?;
    if let Some(status) = body.status.as_deref() {
        state.repo.set_user_status(user.id, parse_status(status)?).await?;
    }
    if let Some(role) = body.role.as_deref() {
        let role: Role = role
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("invalid 'role' {role:?}: expected user or admin")))?;
        state.repo.set_user_role(user.id, role).await?;
    }
    if let Some(quota) = body.quota_bytes {
        state.repo.set_user_quota(user.id, quota).await?;
    }
    if let Some(quota) = body.quota_files {
        state.repo.set_user_file_quota(user.id, quota).await?;
    }
    audit::record(&state, Actor::from(&caller), &ip, "admin.user.update", Some(format!("user:{id}")), true).await;
    shown(&state, id).await
}

async fn shown(state: &AppState, id: UserId) -> Result<Json<Value>, ApiError> {
    let user = state.repo.user(id).await?;
    Ok(Json(user_resource(&user, Some(state.repo.usage(id).await?))))
}

/// `POST /api/v1/admin/users/{id}/approve`: the account becomes active.
#[tracing::instrument(skip_all)]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_status(state, &caller, &ip, &id, UserStatus::Active).await
}

/// `POST /api/v1/admin/users/{id}/suspend`: the account can do nothing.
#[tracing::instrument(skip_all)]
pub async fn suspend(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_status(state, &caller, &ip, &id, UserStatus::Suspended).await
}

async fn set_status(
    state: AppState,
    caller: &Caller,
    ip: &ClientIp,
    id: &str,
    status: UserStatus,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let id = user_id(id)?;
    state.repo.set_user_status(id, status).await?;
    let action = if status == UserStatus::Active { "admin.user.approve" } else { "admin.user.suspend" };
    audit::record(&state, Actor::from(caller), ip, action, Some(format!("user:{id}")), true).await;
    shown(&state, id).await
}

/// `GET /api/v1/admin/stats` → `{users, pendingUsers, suspendedUsers,
/// files, bytes}`.
#[tracing::instrument(skip_all)]
pub async fn stats(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let s = state.repo.stats().await?;
    Ok(Json(json!({
        "users": s.users, "pendingUsers": s.pending_users, "suspendedUsers": s.suspended_users,
        "files": s.files, "bytes": s.bytes,
    })))
}

/// `DELETE /api/v1/admin/users/{id}` → 202: the user is locked out at
/// once (suspended, keys and sessions revoked), every media retired and
/// queued for purging; the account row goes once no object is left.
#[tracing::instrument(skip_all)]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_admin()?;
    let id = user_id(&id)?;
    if id == caller.user.id {
        return Err(ApiError::BadRequest("administrators cannot delete their own account".into()));
    }
    let user = state.repo.user(id).await?;
    state.repo.set_user_status(id, UserStatus::Suspended).await?;
    state.repo.revoke_credentials(id).await?;
    let media = state.repo.live_media_ids(id).await?;
    for m in &media {
        retire(&state, m).await?;
    }
    tracing::info!(user = %id, files = media.len(), "user deletion started");
    audit::record(&state, Actor::from(&caller), &ip, "admin.user.delete", Some(format!("user:{id}")), true).await;
    tokio::spawn(finish_deletion(state, id));
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id.0, "username": user.username, "status": "deleting", "files": media.len() })),
    ))
}

/// Removes the account once the purge jobs have removed every object.
/// (If the process stops first, the account stays suspended with its
/// media retired; the sweep still purges them.)
async fn finish_deletion(state: AppState, id: UserId) {
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        match state.repo.unpurged_media(id).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => tracing::warn!(user = %id, error = %e, "checking a deleted user's media failed"),
        }
        if Instant::now() > deadline {
            tracing::warn!(user = %id, "media of a deleted user still not purged; the account is kept suspended");
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    match state.repo.delete_user(id).await {
        Ok(()) => tracing::info!(user = %id, "user deleted"),
        Err(e) => tracing::warn!(user = %id, error = %e, "deleting a user failed"),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    page: Option<String>,
    limit: Option<String>,
    actor_id: Option<i64>,
    action: Option<String>,
    result: Option<String>,
}

/// `GET /api/v1/admin/audit?page=&limit=&actorId=&action=&result=`: the
/// audit log, newest first.
#[tracing::instrument(skip_all)]
pub async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let page = page_number("page", q.page.as_deref(), 1, 1_000_000)?;
    let limit = page_number("limit", q.limit.as_deref(), 50, MAX_PAGE_SIZE)?;
    let filter =
        AuditFilter { actor_id: q.actor_id, action: q.action, result: q.result, offset: (page - 1) * limit, limit };
    let (entries, total) = state.repo.list_audit(&filter).await?;
    let items: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "id": e.id, "at": e.at, "actorId": e.actor_id, "actor": e.actor_name, "credential": e.credential,
                "ip": e.ip, "action": e.action, "target": e.target, "result": e.result,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "page": page, "limit": limit, "total": total, "hasMore": page * limit < total })))
}
