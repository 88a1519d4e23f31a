//! Read-only shares (`/api/v1/shares`): a file or a folder (with all it
//! holds, subfolders included) shared with another user, who may then
//! read and download it through the ordinary routes but not change it.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::{UserId, UserStatus, random_token};
use mediaq_shared::repo::{RepoError, Share, now};

use crate::audit::{self, Actor, ClientIp};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Body;
use crate::paging::ListQuery;
use crate::policy::owned_target;
use crate::state::AppState;

async fn resource(state: &AppState, share: &Share) -> Result<Value, ApiError> {
    let owner = state.repo.user(share.owner_id).await?;
    let sharee = state.repo.user(share.sharee_id).await?;
    let name = crate::routes::link_meta::target_name(state, &share.target_kind, &share.target_id).await?;
    Ok(json!({
        "id": share.id, "targetKind": share.target_kind, "targetId": share.target_id, "targetName": name,
        "createdAt": share.created_at,
        "owner": { "id": owner.id.0, "username": owner.username },
        "sharee": { "id": sharee.id.0, "username": sharee.username },
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewShare {
    file_id: Option<String>,
    folder_id: Option<String>,
    username: String,
}

/// `POST /api/v1/shares` {fileId | folderId, username} → 201 share.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Body(body): Body<NewShare>,
) -> Result<impl IntoResponse, ApiError> {
    let target = owned_target(&state, &caller, body.file_id, body.folder_id).await?;
    let (kind, owner) = (target.kind.as_str(), target.owner);
    let sharee = match state.repo.user_credentials(&body.username).await {
        Ok((user, _)) if user.status == UserStatus::Active => user,
        Ok(_) | Err(RepoError::NotFound) => {
            return Err(ApiError::BadRequest(format!("there is no active user {:?}", body.username)));
        }
        Err(e) => return Err(e.into()),
    };
    if sharee.id == owner {
        return Err(ApiError::BadRequest("a file or folder cannot be shared with its owner".into()));
    }
    let share = Share {
        id: random_token(12),
        owner_id: owner,
        sharee_id: sharee.id,
        target_kind: kind.to_owned(),
        target_id: target.id,
        created_at: now(),
    };
    match state.repo.insert_share(&share).await {
        Ok(()) => {
            let target = Some(format!("{kind}:{} -> user:{}", share.target_id, share.sharee_id));
            audit::record(&state, Actor::from(&caller), &ip, "share.create", target, true).await;
            Ok((StatusCode::CREATED, Json(resource(&state, &share).await?)))
        }
        Err(RepoError::Conflict(_)) => {
            Err(ApiError::Conflict(format!("this {kind} is already shared with {}", sharee.username)))
        }
        Err(e) => Err(e.into()),
    }
}

async fn listed(state: &AppState, user: UserId, incoming: bool, q: &ListQuery) -> Result<Json<Value>, ApiError> {
    let mut items = Vec::new();
    for share in state.repo.list_shares(user, incoming).await? {
        items.push(resource(state, &share).await?);
    }
    Ok(Json(q.page_of(items)?))
}

/// `GET /api/v1/shares/with-me`: what others share with the caller
/// (paged, sorted: see [`ListQuery`]).
#[tracing::instrument(skip_all)]
pub async fn with_me(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    listed(&state, caller.user.id, true, &q).await
}

/// `GET /api/v1/shares/by-me`: what the caller shares.
#[tracing::instrument(skip_all)]
pub async fn by_me(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    listed(&state, caller.user.id, false, &q).await
}

/// `DELETE /api/v1/shares/{id}`: revoked by its owner (or dropped by the
/// user it was shared with).
#[tracing::instrument(skip_all)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let share = state.repo.share(&id).await?;
    let me = caller.user.id;
    if share.owner_id != me && share.sharee_id != me && !caller.is_admin() {
        return Err(ApiError::NotFound);
    }
    state.repo.delete_share(&share.id).await?;
    audit::record(&state, Actor::from(&caller), &ip, "share.revoke", Some(format!("share:{}", share.id)), true).await;
    Ok(StatusCode::NO_CONTENT)
}
