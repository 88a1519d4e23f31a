//! `POST|GET /api/1/upload` (and `/api/1.1/upload`): the Chevereto API v1
//! upload, as Chevereto, imgBB-style and ShareX-style clients send it.
//!
//! Parameters come from the query string, a multipart form or an
//! urlencoded form, read by [`Intake`] (which authenticates before it
//! spends: see `chevereto_form`). A binary `source` (or `image`, `file`)
//! part is streamed to storage through the ingest [`Pending`]; the
//! metadata may come after it, so the media is recorded only once the
//! whole form is read, and whatever was stored is discarded if the request
//! is then refused.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use mediaq_shared::domain::{Media, MediaId, MediaKind, MediaStatus, Role};
use mediaq_shared::storage::stream_of;

use super::chevereto_form::{Form, Format, Intake, Source};
use crate::error::{ApiError, Chevereto};
use crate::ingest::{Claimed, Pending};
use crate::present::chevereto::image;
use crate::state::AppState;
use crate::{idempotency, params, wait};

pub async fn upload(State(state): State<AppState>, request: Request) -> Response {
    let mut form = Form::default();
    let mut intake = Intake::new(&state, &request);
    let result = handle(&state, request, &mut form, &mut intake).await;
    // Whatever was not recorded is undone before the answer goes out.
    if let Some(pending) = intake.pending.as_mut() {
        pending.settle().await;
    }
    match result {
        Ok(response) => response,
        Err(error) => Chevereto { error, text: form.format == Format::Txt }.into_response(),
    }
}

async fn handle(
    state: &AppState,
    request: Request,
    form: &mut Form,
    intake: &mut Intake<'_>,
) -> Result<Response, ApiError> {
    let idem = idempotency::key_from(request.headers())?;
    intake.read(request, form).await?;
    let caller = intake.caller(form).await?;
    let pending = intake.pending.as_mut().ok_or(ApiError::MissingKey)?;
    pending.check_folder(form.album_id.as_deref()).await?;
    let use_file_date =
        form.use_file_date.as_deref().map(|v| params::flag("use_file_date", v)).transpose()? == Some(true);
    if use_file_date && caller.user.role != Role::Admin {
        return Err(ApiError::Forbidden("use_file_date is for administrators only".into()));
    }
    if let Some(key) = &idem
        && let Some((first, response)) = state.repo.idempotent_result(caller.user.id, key).await?
    {
        return replay(state, form, &first, response.as_deref()).await;
    }
    let (media, delete_secret) = match ingest(state, form, pending, &mut intake.lease, idem.as_deref()).await? {
        Ingest::New(media, secret) => (*media, Some(secret)),
        Ingest::Earlier(first) => return replay(state, form, &first, None).await,
    };
    let media = wait::until_settled(&state.repo, state.queue.signals(), &media.id, state.config.upload_wait).await?;
    if media.kind == MediaKind::File {
        // A remote URL that turned out not to be an image or video: this
        // route keeps Chevereto's rule (612), and keeps nothing of it.
        crate::lifecycle::retire(state, &media.id).await?;
        return Err(ApiError::UnsupportedType { detected: Some(media.mime) });
    }
    if media.status == MediaStatus::Failed {
        let why = media.error.unwrap_or_else(|| "processing failed".into());
        return Err(ApiError::InvalidImage(format!("the file could not be processed: {why}")));
    }
    let variants = state.repo.variants(&media.id).await?;
    let image = image(&state.config.public_url, &media, &variants, delete_secret.as_deref());
    if let Some(key) = &idem {
        state.repo.store_idempotent_response(caller.user.id, key, &image.to_string()).await?;
    }
    Ok(respond(form, &media.id, image))
}

enum Ingest {
    /// Recorded now, with its delete secret.
    New(Box<Media>, String),
    /// An earlier request with the same Idempotency-Key made this one.
    Earlier(MediaId),
}

/// Stores a text source when there is one, claims the key, records.
async fn ingest(
    state: &AppState,
    form: &mut Form,
    pending: &mut Pending,
    lease: &mut crate::body::Lease,
    idem: Option<&str>,
) -> Result<Ingest, ApiError> {
    let source = form.source.take().ok_or(ApiError::EmptySource)?;
    let filename = match &source {
        Source::File { filename } => filename.clone(),
        Source::Text(_) => None,
    };
    let meta = form.meta(filename)?;
    let url = match source {
        Source::File { .. } => None,
        Source::Text(text) if is_url(&text) => Some(params::remote_url(&text, state.config.fetch_allow_private)?),
        Source::Text(text) => {
            let bytes = decode_base64(&text)?;
            lease.add(bytes.len() as u64)?;
            pending.store(stream_of(bytes)).await?;
            None
        }
    };
    if let Claimed::Earlier(first) = pending.claim(idem).await? {
        return Ok(Ingest::Earlier(first));
    }
    let done = match url {
        Some(url) => pending.commit_remote(&url, meta).await?,
        None => pending.commit(meta).await?,
    };
    Ok(Ingest::New(Box::new(done.media), done.delete_secret))
}

/// The answer to a retried request: the first answer when it was stored,
/// else the media as it stands (without the delete URL, shown only once).
async fn replay(state: &AppState, form: &Form, first: &MediaId, stored: Option<&str>) -> Result<Response, ApiError> {
    if let Some(image) = stored.and_then(|s| serde_json::from_str::<Value>(s).ok()) {
        return Ok(respond(form, first, image));
    }
    let media = wait::until_settled(&state.repo, state.queue.signals(), first, state.config.upload_wait).await?;
    let variants = state.repo.variants(first).await?;
    Ok(respond(form, first, image(&state.config.public_url, &media, &variants, None)))
}

fn respond(form: &Form, id: &MediaId, mut image: Value) -> Response {
    match form.format {
        Format::Txt => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            image["url"].as_str().unwrap_or("").to_owned(),
        )
            .into_response(),
        Format::Redirect => Redirect::to(image["path_viewer"].as_str().unwrap_or("/")).into_response(),
        Format::Json if form.imgbb => {
            image["id"] = json!(id.as_str());
            axum::Json(json!({
                "status_code": 200, "status": 200,
                "success": { "message": "image uploaded", "code": 200 },
                "data": image, "status_txt": "OK",
            }))
            .into_response()
        }
        Format::Json => axum::Json(json!({
            "status_code": 200,
            "success": { "message": "file uploaded", "code": 200 },
            "image": image, "status_txt": "OK",
        }))
        .into_response(),
    }
}

fn is_url(text: &str) -> bool {
    let t = text.trim_start().to_ascii_lowercase();
    t.starts_with("http://") || t.starts_with("https://") || t.contains("://")
}

/// A base64 `source` (plain or `data:` URL).
fn decode_base64(text: &str) -> Result<Vec<u8>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::EmptySource);
    }
    let bytes = params::base64(text)?;
    if bytes.is_empty() {
        return Err(ApiError::EmptySource);
    }
    Ok(bytes)
}
