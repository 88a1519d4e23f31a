//! The trash (`/api/v1/trash`): what the caller deleted without
//! `permanent`, listed newest first; restore (to the old folder, or the
//! root when that is gone), remove one, empty. The moves themselves are in
//! [`crate::lifecycle`]. Someone else's entry is a 404.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::MediaId;
use mediaq_shared::repo::{TrashItem, TrashKind};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::lifecycle;
use crate::paging::Page;
use crate::present::native;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/trash", delete(empty).get(list))
        .route("/api/v1/trash/{id}", delete(remove))
        .route("/api/v1/trash/{id}/restore", post(restore))
}

fn shown(state: &AppState, item: &TrashItem) -> Value {
    let days = i64::from(state.config.trash_days);
    json!({
        "id": item.id,
        "type": match item.kind { TrashKind::File => "file", TrashKind::Folder => "folder" },
        "name": item.name,
        "sizeBytes": item.size,
        "deletedAt": item.deleted_at,
        "purgeAt": item.deleted_at + chrono::Duration::days(days),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    page: Option<String>,
    limit: Option<String>,
}

/// `GET /api/v1/trash`: `{items, page, limit, total, totalPages}`.
async fn list(State(state): State<AppState>, caller: Caller, Query(q): Query<Paging>) -> Result<Json<Value>, ApiError> {
    let page = Page::parse(q.page.as_deref(), q.limit.as_deref())?;
    let (items, total) = state.repo.list_trash(caller.user.id, page.offset(), page.limit).await?;
    Ok(Json(page.body(items.iter().map(|i| shown(&state, i)).collect(), total)))
}

/// The caller's trash entry `id` (any owner's for an admin), else 404.
async fn entry(state: &AppState, caller: &Caller, id: &str) -> Result<TrashItem, ApiError> {
    match state.repo.trash_item(id).await? {
        Some(item) if item.owner_id == caller.user.id || caller.is_admin() => Ok(item),
        _ => Err(ApiError::NotFound),
    }
}

/// `POST /api/v1/trash/{id}/restore`: 200 with the file or folder.
async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let item = entry(&state, &caller, &id).await?;
    if !lifecycle::restore(&state, &item).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Json(match item.kind {
        TrashKind::File => {
            let media = state.repo.media(&MediaId::parse(&item.id).ok_or(ApiError::NotFound)?).await?;
            native::resource(&state, &media).await?
        }
        TrashKind::Folder => native::folder(&state.repo.folder(&item.id).await?),
    }))
}

/// `DELETE /api/v1/trash/{id}`: removes one entry for good.
async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let item = entry(&state, &caller, &id).await?;
    lifecycle::remove(&state, &item).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/trash`: empties the caller's trash.
async fn empty(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    loop {
        let (items, _) = state.repo.list_trash(caller.user.id, 0, 100).await?;
        if items.is_empty() {
            return Ok(StatusCode::NO_CONTENT);
        }
        for item in &items {
            lifecycle::remove(&state, item).await?;
        }
    }
}
