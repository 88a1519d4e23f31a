//! Folders as ZIP archives: `GET /api/v1/folders/{id}/zip` for the owner,
//! an admin or a sharee, and `GET /api/v1/public/links/{token}/zip`
//! through a folder link that allows downloads (password, expiry and view
//! budget as for the link's other routes). The archive is streamed while
//! it is made (see [`crate::zipper`]).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use mediaq_shared::repo::Folder;

use crate::auth::Caller;
use crate::cache;
use crate::error::ApiError;
use crate::policy::{self, TargetKind};
use crate::ratelimit::Attempts;
use crate::state::AppState;
use crate::zipper;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/folders/{id}/zip", get(folder_zip))
        .route("/api/v1/public/links/{token}/zip", get(link_zip))
}

async fn archive(state: &AppState, folder: &Folder) -> Result<Response, ApiError> {
    let entries = zipper::entries(state, folder).await?;
    tracing::info!(folder = %folder.id, files = entries.len(), "zip streamed");
    let name = format!("{}.zip", zipper::safe_name(&folder.name)).replace(['"', ';'], "_");
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment; filename=\"folder.zip\""));
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/zip")),
        (header::CONTENT_DISPOSITION, disposition),
        (header::CACHE_CONTROL, cache::no_store()),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    Ok((headers, zipper::body(state, entries)).into_response())
}

#[tracing::instrument(skip_all)]
async fn folder_zip(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let folder = policy::readable_folder(&state, &caller, &id).await?;
    archive(&state, &folder).await
}

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    password: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn link_zip(
    State(state): State<AppState>,
    attempts: Attempts,
    Path(token): Path<String>,
    Query(q): Query<LinkQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let link = crate::link_access::open(&state, &attempts, &token, &headers, q.password.as_deref()).await?;
    if link.target_kind != TargetKind::Folder.as_str() {
        return Err(ApiError::NotFound);
    }
    if !link.allow_download {
        return Err(ApiError::Forbidden("this link is view-only: downloads are not allowed".into()));
    }
    let folder = state.repo.folder(&link.target_id).await?;
    archive(&state, &folder).await
}
