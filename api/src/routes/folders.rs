//! Folders (`/api/v1/folders`), which are Chevereto's albums: nested per
//! user; create, list children, rename, move (never into itself), the
//! breadcrumb path to the root, and recursive delete that retires every
//! media inside (their objects are purged in the background). Someone
//! else's folder answers 404, as a missing one does.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::random_token;
use mediaq_shared::repo::folders::{FolderChange, MAX_FOLDER_DEPTH};
use mediaq_shared::repo::{Folder, now};

use crate::audit::{self, Actor, ClientIp};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Body;
use crate::policy::{check_folder, readable_folder, writable_folder};
use crate::state::AppState;

/// Deepest nesting followed when walking up to the root.
const MAX_DEPTH: usize = 64;

fn resource(f: &Folder) -> Value {
    crate::present::native::folder(f)
}

fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("'name' must be 1 to 255 characters without control characters".into()));
    }
    Ok(name.to_owned())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewFolder {
    name: String,
    parent_id: Option<String>,
}

/// `POST /api/v1/folders` {name, parentId?} → 201 folder.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<NewFolder>,
) -> Result<impl IntoResponse, ApiError> {
    let name = check_name(&body.name)?;
    let parent = body.parent_id.filter(|p| !p.is_empty());
    if let Some(parent) = &parent {
        check_folder(&state, caller.user.id, parent).await?;
    }
    let at = now();
    let folder = Folder {
        id: random_token(16),
        owner_id: caller.user.id,
        parent_id: parent,
        name,
        created_at: at,
        updated_at: at,
    };
    tree_change(state.repo.insert_folder(&folder).await?)?;
    Ok((StatusCode::CREATED, Json(resource(&folder))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct Children {
    parent_id: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    list: crate::paging::ListQuery,
}

/// `GET /api/v1/folders?parentId=`: the folders directly under a folder
/// (or at the root), by name.
#[tracing::instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<Children>,
) -> Result<Json<Value>, ApiError> {
    let (owner, parent) = match q.parent_id.filter(|p| !p.is_empty()) {
        Some(id) => {
            let parent = readable_folder(&state, &caller, &id).await?;
            (parent.owner_id, Some(parent.id))
        }
        None => (caller.user.id, None),
    };
    let children = state.repo.child_folders(owner, parent.as_deref()).await?;
    Ok(Json(q.list.page_of(children.iter().map(resource).collect())?))
}

/// The folders from the root down to `folder`.
async fn path_of(state: &AppState, folder: &Folder) -> Result<Vec<Value>, ApiError> {
    let mut path = vec![json!({ "id": folder.id, "name": folder.name })];
    let mut next = folder.parent_id.clone();
    while let Some(id) = next {
        if path.len() > MAX_DEPTH {
            break;
        }
        let parent = state.repo.folder(&id).await?;
        path.push(json!({ "id": parent.id, "name": parent.name }));
        next = parent.parent_id;
    }
    path.reverse();
    Ok(path)
}

/// `GET /api/v1/folders/{id}`: the folder, its breadcrumb `path` (root
/// first) and its child folders.
#[tracing::instrument(skip_all)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let folder = readable_folder(&state, &caller, &id).await?;
    let mut body = resource(&folder);
    body["path"] = json!(path_of(&state, &folder).await?);
    let children = state.repo.child_folders(folder.owner_id, Some(&folder.id)).await?;
    body["children"] = json!(children.iter().map(resource).collect::<Vec<_>>());
    Ok(Json(body))
}

/// `GET /api/v1/folders/{id}/path`: the breadcrumb, root first.
#[tracing::instrument(skip_all)]
pub async fn path(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let folder = readable_folder(&state, &caller, &id).await?;
    Ok(Json(json!({ "items": path_of(&state, &folder).await? })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FolderPatch {
    name: Option<String>,
    /// `null` moves the folder to the root; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    parent_id: Option<Option<String>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `PATCH /api/v1/folders/{id}` {name?, parentId?}: rename and/or move.
#[tracing::instrument(skip_all)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<FolderPatch>,
) -> Result<Json<Value>, ApiError> {
    let mut folder = writable_folder(&state, &caller, &id).await?;
    if let Some(name) = body.name {
        folder.name = check_name(&name)?;
    }
    if let Some(parent) = body.parent_id {
        let parent = parent.filter(|p| !p.is_empty());
        if let Some(p) = &parent {
            check_folder(&state, folder.owner_id, p).await?;
        }
        folder.parent_id = parent;
    }
    // The cycle and depth checks run inside the write's transaction.
    tree_change(state.repo.update_folder(&folder).await?)?;
    Ok(Json(resource(&state.repo.folder(&folder.id).await?)))
}

/// A refused tree change as a 400.
fn tree_change(change: FolderChange) -> Result<(), ApiError> {
    match change {
        FolderChange::Done => Ok(()),
        FolderChange::Cycle => {
            Err(ApiError::BadRequest("a folder cannot be moved into itself or one of its subfolders".into()))
        }
        FolderChange::TooDeep => {
            Err(ApiError::BadRequest(format!("folders can be nested at most {MAX_FOLDER_DEPTH} levels deep")))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Permanent {
    permanent: Option<bool>,
}

/// `DELETE /api/v1/folders/{id}[?permanent=true]`: the folder, its
/// subfolders and every media in them go to the trash as a whole (see
/// [`crate::lifecycle`]); permanently (or with `MEDIAQ_TRASH_DAYS=0`) the
/// media are retired at once and purged in the background.
#[tracing::instrument(skip_all)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<Permanent>,
) -> Result<StatusCode, ApiError> {
    let folder = writable_folder(&state, &caller, &id).await?;
    crate::lifecycle::delete_folder(&state, &folder, q.permanent.unwrap_or(false)).await?;
    audit::record(&state, Actor::from(&caller), &ip, "folder.delete", Some(format!("folder:{}", folder.id)), true)
        .await;
    Ok(StatusCode::NO_CONTENT)
}
