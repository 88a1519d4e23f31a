//! The native files API (`/api/v1/files`).

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use mediaq_shared::domain::{MediaId, Role};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::present::native;
use crate::state::AppState;

/// `GET /api/v1/files/{id}`: the file resource with its current status.
/// Someone else's file answers 404, as a missing one does.
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = MediaId::parse(&id).ok_or(ApiError::NotFound)?;
    let media = state.repo.media(&id).await?;
    if media.owner_id != caller.user.id && caller.user.role != Role::Admin {
        return Err(ApiError::NotFound);
    }
    let variants = state.repo.variants(&id).await?;
    Ok(Json(native::file(&state.config.public_url, &media, &variants)))
}
