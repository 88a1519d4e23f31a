//! Copies: `POST /api/v1/files/{id}/copy` `{"folderId"?, "name"?}` and
//! `POST /api/v1/folders/{id}/copy` `{"parentId"?, "name"?}` → 201 with
//! the new file or folder. The caller may copy what they can read (their
//! own, or what is shared with them); the copy is theirs, in their quota.
//! Without `folderId` / `parentId` the copy goes beside the source when
//! the caller owns it, else to their root. See [`crate::copying`].

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::copying;
use crate::error::ApiError;
use crate::json::Body;
use crate::policy;
use crate::present::native::resource;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/files/{id}/copy", post(copy_file))
        .route("/api/v1/folders/{id}/copy", post(copy_folder))
}

/// The JSON body, or the defaults when the request has none.
async fn optional_body<T: serde::de::DeserializeOwned + Default>(request: Request) -> Result<T, ApiError> {
    let headers = request.headers();
    let empty = headers.get(header::CONTENT_LENGTH).is_none_or(|v| v == "0")
        && !headers.contains_key(header::TRANSFER_ENCODING);
    if empty {
        return Ok(T::default());
    }
    Ok(Body::<T>::from_request(request, &()).await?.0)
}

fn clean_name(name: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(name) = name else { return Ok(None) };
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("'name' must be 1 to 255 characters without control characters".into()));
    }
    Ok(Some(name.to_owned()))
}

/// The folder a copy goes into: the one asked for (the caller's, else
/// 400), or beside the source when the caller owns it, else the root.
async fn target(
    state: &AppState,
    caller: &Caller,
    asked: Option<String>,
    beside: Option<String>,
    source_owner: mediaq_shared::domain::UserId,
) -> Result<Option<String>, ApiError> {
    match asked.filter(|f| !f.is_empty()) {
        Some(folder) => {
            policy::check_folder(state, caller.user.id, &folder).await?;
            Ok(Some(folder))
        }
        None => Ok(beside.filter(|_| source_owner == caller.user.id)),
    }
}

/// The body of a file copy (optional: without one the copy keeps the
/// name and goes beside the source, or to the root of a sharee).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileCopy {
    /// A folder of the caller's to put the copy in.
    folder_id: Option<String>,
    /// The copy's name (1 to 255 characters).
    name: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn copy_file(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: FileCopy = optional_body(request).await?;
    let src = policy::readable_file(&state, &caller, &id).await?;
    let name = clean_name(body.name)?;
    let folder = target(&state, &caller, body.folder_id, src.album_id.clone(), src.owner_id).await?;
    let copy = copying::copy_file(&state, &src, &caller.user, folder, name).await?;
    Ok((StatusCode::CREATED, Json(resource(&state, &copy).await?)))
}

/// The body of a folder copy (optional, as for a file copy).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FolderCopy {
    /// A folder of the caller's to put the copy under.
    parent_id: Option<String>,
    /// The new folder's name (1 to 255 characters).
    name: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn copy_folder(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: FolderCopy = optional_body(request).await?;
    let src = policy::readable_folder(&state, &caller, &id).await?;
    let name = clean_name(body.name)?.unwrap_or_else(|| src.name.clone());
    let parent = target(&state, &caller, body.parent_id, src.parent_id.clone(), src.owner_id).await?;
    let (folder, folders, files) = copying::copy_folder(&state, &src, &caller.user, parent, name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": folder.id, "name": folder.name, "parentId": folder.parent_id,
            "createdAt": folder.created_at, "updatedAt": folder.updated_at,
            "folders": folders, "files": files,
        })),
    ))
}
