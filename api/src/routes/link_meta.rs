//! What a public link is before it is opened, and what its page shows.
//!
//! `GET /api/v1/public/links/{token}/meta[?password=]` answers 200 for any
//! token and spends no view: `{"available": false}` for a wrong, expired,
//! used-up or revoked token (so a page can say so without a failed
//! request), else `available`, `kind` and `passwordRequired`, plus — once
//! no password is needed or the one sent (`X-Link-Password` or
//! `?password=`) is right — `allowDownload`, `expiresAt` and `viewsLeft`.
//! A password sent is counted against the link-password rate limits before
//! it is hashed, like every other attempt, and answered with
//! `passwordAccepted`. The web app asks this first, so opening a
//! password-protected link reaches its prompt without a 401.
//!
//! [`target_name`] names what a link or share points at (`targetName` in
//! `GET /api/v1/links` and the share lists), so pages need not look each
//! one up.
//!
//! [`thumb_url`] is each file's `thumbUrl` in a folder link's view.
//!
//! [`preview`] is the `preview` of a file link's view: a signed URL the
//! page can show in an `<img>` or `<video>` without spending a second view
//! — the original when downloads are allowed, else a still (the medium
//! image or the video's frame, falling back to the thumbnail).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use mediaq_shared::domain::{Media, MediaId, MediaKind, VariantKind};
use mediaq_shared::keys::hash_key;
use mediaq_shared::repo::{PublicLink, RepoError};

use crate::cache;
use crate::error::ApiError;
use crate::passwords;
use crate::policy;
use crate::present::{find, signed::signed_file};
use crate::ratelimit::Attempts;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/public/links/{token}/meta", get(meta))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetaQuery {
    /// The link's password, when checking it (or `X-Link-Password`).
    password: Option<String>,
}

/// The usable link `token` names, if any (no view spent).
async fn usable(state: &AppState, token: &str) -> Result<Option<PublicLink>, ApiError> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let link = match state.repo.link_by_token(&hash_key(token)).await {
        Ok(link) => link,
        Err(RepoError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(policy::link_usable(state, &link).await?.then_some(link))
}

/// `GET /api/v1/public/links/{token}/meta`: see the module header.
#[tracing::instrument(skip_all)]
pub async fn meta(
    State(state): State<AppState>,
    attempts: Attempts,
    Path(token): Path<String>,
    Query(q): Query<MetaQuery>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let no_store = [(header::CACHE_CONTROL, cache::no_store())];
    let Some(link) = usable(&state, &token).await? else {
        return Ok((no_store, Json(json!({ "available": false }))));
    };
    let mut out = json!({
        "available": true, "kind": link.target_kind, "passwordRequired": link.password_hash.is_some(),
    });
    let sent = headers.get("x-link-password").and_then(|v| v.to_str().ok()).map(str::to_owned).or(q.password);
    let open = match (&link.password_hash, sent) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(stored), Some(sent)) => {
            attempts.limits.link_password(&attempts.ip, &link.id)?;
            let accepted = passwords::verify(sent, Some(stored.clone())).await?;
            out["passwordAccepted"] = json!(accepted);
            accepted
        }
    };
    if open {
        out["allowDownload"] = json!(link.allow_download);
        out["expiresAt"] = json!(link.expires_at);
        out["viewsLeft"] = json!(link.max_views.map(|m| m.saturating_sub(link.views)));
    }
    Ok((no_store, Json(out)))
}

/// The `preview` of a file link's view: `{url, type: "image"|"video"}`,
/// or null for files with nothing to show.
pub async fn preview(state: &AppState, media: &Media, allow_download: bool) -> Result<Value, ApiError> {
    let shown = match media.kind {
        MediaKind::File => return Ok(Value::Null),
        MediaKind::Image if allow_download => json!({ "url": signed_file(state, media, None), "type": "image" }),
        MediaKind::Video if allow_download => json!({ "url": signed_file(state, media, None), "type": "video" }),
        MediaKind::Image | MediaKind::Video => {
            let variants = state.repo.variants(&media.id).await?;
            let still = [VariantKind::Medium, VariantKind::Frame, VariantKind::Thumb]
                .into_iter()
                .find_map(|kind| find(&variants, kind));
            match still {
                Some(v) => json!({ "url": signed_file(state, media, Some(v)), "type": "image" }),
                None => Value::Null,
            }
        }
    };
    Ok(shown)
}

/// A signed URL of `media`'s thumbnail (`thumbUrl` of each file a folder
/// link lists), if it has one.
pub async fn thumb_url(state: &AppState, media: &Media) -> Result<Option<String>, ApiError> {
    if media.kind == MediaKind::File {
        return Ok(None);
    }
    let variants = state.repo.variants(&media.id).await?;
    Ok(find(&variants, VariantKind::Thumb).map(|v| signed_file(state, media, Some(v))))
}

/// The name of a link's or share's target (`targetName` in their lists):
/// the file's name or the folder's, null when it is gone.
pub async fn target_name(state: &AppState, kind: &str, id: &str) -> Result<Option<String>, ApiError> {
    let found = if kind == "folder" {
        state.repo.folder(id).await.map(|f| f.name)
    } else {
        let Some(id) = MediaId::parse(id) else { return Ok(None) };
        state.repo.media(&id).await.map(|m| m.original_filename)
    };
    match found {
        Ok(name) => Ok(Some(name)),
        Err(RepoError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
