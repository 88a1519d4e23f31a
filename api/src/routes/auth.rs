//! Accounts and sessions (`/api/v1/auth/…`): register, log in for a
//! bearer session token, log out, who am I, change password.
//!
//! A new account is pending until an administrator approves it, unless
//! `MEDIAQ_OPEN_REGISTRATION=true`. Failed logins are answered only after
//! a delay, and an unknown username costs the same hashing time as a
//! wrong password, so neither guessing nor probing for names is cheap.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::{Role, UserStatus};
use mediaq_shared::keys::{hash_key, new_session_token};
use mediaq_shared::repo::{RepoError, now};

use crate::audit::{self, Actor, ClientIp};
use crate::auth::{Caller, Credential, check_status};
use crate::error::ApiError;
use crate::json::Body;
use crate::passwords;
use crate::present::native::user as user_resource;
use crate::state::AppState;

/// How long a failed login waits before answering.
const FAILED_LOGIN_DELAY: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    username: String,
    password: String,
}

/// `POST /api/v1/auth/register` {username, password} → 201 with the user.
#[tracing::instrument(skip_all)]
pub async fn register(
    State(state): State<AppState>,
    ip: ClientIp,
    Body(body): Body<Credentials>,
) -> Result<impl IntoResponse, ApiError> {
    passwords::check_username(&body.username)?;
    passwords::check_password("password", &body.password)?;
    // A taken name costs no hashing (the insert below still settles races).
    match state.repo.user_credentials(&body.username).await {
        Ok(_) => return Err(taken(&body.username)),
        Err(RepoError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let hash = passwords::hash(body.password).await?;
    let status = if state.config.open_registration { UserStatus::Active } else { UserStatus::Pending };
    let user = match state.repo.create_user(&body.username, &hash, Role::User, status).await {
        Ok(user) => user,
        Err(RepoError::Conflict(_)) => return Err(taken(&body.username)),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %user.id, status = %user.status, "registered");
    audit::record(&state, Actor::from(&user), &ip, "user.register", Some(format!("user:{}", user.id)), true).await;
    Ok((StatusCode::CREATED, Json(user_resource(&user, None))))
}

fn taken(username: &str) -> ApiError {
    ApiError::Conflict(format!("the username '{username}' is taken"))
}

/// `POST /api/v1/auth/login` {username, password} → {token, expiresAt, user}.
#[tracing::instrument(skip_all)]
pub async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    Body(body): Body<Credentials>,
) -> Result<Json<Value>, ApiError> {
    let found = match state.repo.user_credentials(&body.username).await {
        Ok(found) => Some(found),
        Err(RepoError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let (user, stored) = match found {
        Some((user, stored)) => (Some(user), stored),
        None => (None, None),
    };
    let matches = passwords::verify(body.password, stored).await?;
    let Some(user) = user.filter(|_| matches) else {
        let actor = Actor { name: Some(body.username.chars().take(64).collect()), ..Actor::default() };
        audit::record(&state, actor, &ip, "auth.login", None, false).await;
        tokio::time::sleep(FAILED_LOGIN_DELAY).await;
        return Err(ApiError::Unauthorized("invalid username or password".into()));
    };
    check_status(user.status)?;
    let token = new_session_token();
    let ttl = chrono::TimeDelta::from_std(state.config.session_ttl).map_err(|e| ApiError::Internal(e.to_string()))?;
    let expires_at = now() + ttl;
    let session = state.repo.insert_session(user.id, &hash_key(&token), expires_at).await?;
    let actor = Actor { credential: Some(format!("session:{session}")), ..Actor::from(&user) };
    audit::record(&state, actor, &ip, "auth.login", None, true).await;
    tracing::info!(user = %user.id, "logged in");
    Ok(Json(json!({ "token": token, "expiresAt": expires_at, "user": user_resource(&user, None) })))
}

/// `POST /api/v1/auth/logout`: ends the session the request used.
#[tracing::instrument(skip_all)]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    match caller.credential {
        Credential::Session(id) => {
            state.repo.delete_session(id).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        Credential::Key(_) => Err(ApiError::BadRequest(
            "logout ends a login session, but this request used an API key; revoke keys with DELETE /api/v1/keys/{id}"
                .into(),
        )),
    }
}

/// `GET /api/v1/auth/me`: the caller, with quota and usage. `quotaBytes`
/// is the quota that applies (the server default when none is set).
#[tracing::instrument(skip_all)]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let usage = state.repo.usage(caller.user.id).await?;
    let mut user = caller.user;
    user.quota_bytes = user.quota_bytes.or(state.config.default_quota_bytes);
    Ok(Json(user_resource(&user, Some(usage))))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PasswordChange {
    old_password: Option<String>,
    new_password: String,
}

/// `POST /api/v1/auth/password` {oldPassword, newPassword}: changes the
/// password and ends every other session. `oldPassword` may be left out
/// only by an account that has none yet (made with `mediaq key create`).
#[tracing::instrument(skip_all)]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Body(body): Body<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    passwords::check_password("newPassword", &body.new_password)?;
    let stored = state.repo.password_hash(caller.user.id).await?;
    if stored.is_some() {
        let old = body
            .old_password
            .ok_or_else(|| ApiError::BadRequest("'oldPassword' is required to change the password".into()))?;
        if !passwords::verify(old, stored).await? {
            audit::record(&state, Actor::from(&caller), &ip, "auth.password", None, false).await;
            tokio::time::sleep(FAILED_LOGIN_DELAY).await;
            return Err(ApiError::Forbidden("'oldPassword' is not the current password".into()));
        }
    }
    let hash = passwords::hash(body.new_password).await?;
    state.repo.set_password(caller.user.id, &hash).await?;
    let keep = match caller.credential {
        Credential::Session(id) => Some(id),
        Credential::Key(_) => None,
    };
    state.repo.delete_sessions(caller.user.id, keep).await?;
    tracing::info!(user = %caller.user.id, "password changed");
    audit::record(&state, Actor::from(&caller), &ip, "auth.password", None, true).await;
    Ok(StatusCode::NO_CONTENT)
}
