//! Thumbnails by size: `GET /api/v1/files/{id}/thumb?size=WxH[&crop=1]
//! [&format=jpeg|png|webp]` for the owner, an admin or a sharee, and
//! `GET /api/v1/public/links/{token}/thumb?size=…[&fileId=]` through a
//! public link (a file link, or a file inside a folder link; view-only
//! links too: a thumbnail is a view, and it spends one). The work is in
//! [`crate::thumbnails`].

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy::{self, TargetKind};
use crate::ratelimit::Attempts;
use crate::state::AppState;
use crate::thumbnails::{parse_spec, send};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/files/{id}/thumb", get(file_thumb))
        .route("/api/v1/public/links/{token}/thumb", get(link_thumb))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThumbQuery {
    size: Option<String>,
    crop: Option<String>,
    format: Option<String>,
    file_id: Option<String>,
    password: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn file_thumb(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<ThumbQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let spec = parse_spec(q.size.as_deref(), q.crop.as_deref(), q.format.as_deref())?;
    let media = policy::readable_file(&state, &caller, &id).await?;
    send(&state, &media, spec, &headers).await
}

#[tracing::instrument(skip_all)]
async fn link_thumb(
    State(state): State<AppState>,
    attempts: Attempts,
    Path(token): Path<String>,
    Query(q): Query<ThumbQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // A bad size costs no view.
    let spec = parse_spec(q.size.as_deref(), q.crop.as_deref(), q.format.as_deref())?;
    let link = crate::link_access::open(&state, &attempts, &token, &headers, q.password.as_deref()).await?;
    let media = if link.target_kind == TargetKind::File.as_str() {
        policy::linked_media(&state, &link, &link.target_id).await?
    } else {
        let id = q
            .file_id
            .as_deref()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| ApiError::BadRequest("name the file inside the folder link with 'fileId'".into()))?;
        let media = policy::linked_media(&state, &link, id).await?;
        if !policy::in_linked_folder(&state, &link, &media).await? {
            return Err(ApiError::NotFound);
        }
        media
    };
    send(&state, &media, spec, &headers).await
}
