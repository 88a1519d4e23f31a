//! `POST|GET /api/1/upload` (and `/api/1.1/upload`): the Chevereto API v1
//! upload, as Chevereto, imgBB-style and ShareX-style clients send it.
//!
//! Parameters come from the query string, a multipart form or an
//! urlencoded form. A binary `source` (or `image`, `file`) part is streamed
//! to storage as it arrives; the key and metadata may come before or after
//! it, so the media is recorded only once the whole form is read, and the
//! stored object is removed if the request is then refused.

use std::io;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures::TryStreamExt;
use serde_json::{Value, json};

use mediaq_shared::domain::{Media, MediaId, MediaStatus, Role, User};
use mediaq_shared::storage::stream_of;

use crate::auth::{authenticate, key_from_headers};
use crate::error::{ApiError, Chevereto};
use crate::ingest::{self, Ingested, StoredOriginal, UploadMeta};
use crate::present::chevereto::image;
use crate::quota::{self, Reserved};
use crate::state::AppState;
use crate::{idempotency, params, wait};

/// How long the room for an already-stored file is held if the request dies.
const LATE_HOLD: std::time::Duration = std::time::Duration::from_secs(3600);

/// Largest text field other than `source`.
const MAX_FIELD_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Format {
    #[default]
    Json,
    Txt,
    Redirect,
}

/// The form as read so far.
#[derive(Debug, Default)]
struct Form {
    key: Option<String>,
    title: Option<String>,
    description: Option<String>,
    tags: Option<String>,
    album_id: Option<String>,
    category_id: Option<String>,
    width: Option<String>,
    expiration: Option<String>,
    nsfw: Option<String>,
    format: Format,
    use_file_date: Option<String>,
    /// The file came as `image` (imgBB style): answer with `data`.
    imgbb: bool,
    source: Option<Source>,
    /// Quota room held for this upload, released when it is answered.
    reserved: Option<Reserved>,
}

#[derive(Debug)]
enum Source {
    /// A binary part, already in storage.
    File { stored: StoredOriginal, filename: Option<String> },
    /// Base64 data or a URL.
    Text(String),
}

impl Form {
    fn set(&mut self, name: &str, value: String) -> Result<(), ApiError> {
        let empty_to_none = |v: String| (!v.trim().is_empty()).then_some(v);
        match name {
            "key" => self.key = empty_to_none(value),
            "title" | "name" => self.title = empty_to_none(value),
            "description" => self.description = empty_to_none(value),
            "tags" => self.tags = Some(value),
            "album_id" => self.album_id = empty_to_none(value),
            "category_id" => self.category_id = empty_to_none(value),
            "width" => self.width = empty_to_none(value),
            "expiration" => self.expiration = empty_to_none(value),
            "nsfw" => self.nsfw = Some(value),
            "use_file_date" => self.use_file_date = Some(value),
            "format" => {
                self.format = match value.trim() {
                    "" | "json" => Format::Json,
                    "txt" => Format::Txt,
                    "redirect" => Format::Redirect,
                    other => {
                        return Err(ApiError::BadRequest(format!(
                            "invalid 'format' value {other:?}: expected json, txt or redirect"
                        )));
                    }
                };
            }
            "source" | "image" | "file" => {
                if self.source.is_some() {
                    return Err(ApiError::BadRequest("send one source per upload".into()));
                }
                self.imgbb |= name == "image";
                self.source = Some(Source::Text(value));
            }
            _ => {} // Unknown parameters are ignored, as Chevereto does.
        }
        Ok(())
    }

    fn meta(&self, filename: Option<String>) -> Result<UploadMeta, ApiError> {
        let now = mediaq_shared::repo::now();
        Ok(UploadMeta {
            filename,
            title: self.title.clone(),
            description: self.description.clone(),
            tags: self.tags.as_deref().map(params::tags).unwrap_or_default(),
            album_id: self.album_id.clone().filter(|a| !a.is_empty()),
            category_id: self.category_id.clone(),
            nsfw: self.nsfw.as_deref().map(|v| params::flag("nsfw", v)).transpose()?.unwrap_or(false),
            // Chevereto images are public: their URLs are meant to be shared.
            is_public: true,
            resize_width: self.width.as_deref().map(params::width).transpose()?,
            expires_at: self.expiration.as_deref().map(|v| params::expiration(v, now)).transpose()?,
            use_file_date: self
                .use_file_date
                .as_deref()
                .map(|v| params::flag("use_file_date", v))
                .transpose()?
                .unwrap_or(false),
        })
    }
}

pub async fn upload(State(state): State<AppState>, request: Request) -> Response {
    let mut form = Form::default();
    let response = match handle(&state, request, &mut form).await {
        Ok(response) => response,
        Err(error) => {
            if let Some(Source::File { stored, .. }) = form.source.take() {
                ingest::discard(&state, stored).await;
            }
            Chevereto { error, text: form.format == Format::Txt }.into_response()
        }
    };
    // After the media is recorded, its bytes count as used.
    if let Some(r) = form.reserved.take() {
        quota::release(&state, &r.id).await;
    }
    response
}

async fn handle(state: &AppState, request: Request, form: &mut Form) -> Result<Response, ApiError> {
    let headers = request.headers().clone();
    let header_key = key_from_headers(&headers);
    if let Some(query) = request.uri().query() {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            form.set(&k, v.into_owned())?;
        }
    }
    let max_body = max_body_bytes(state);
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body) {
        return Err(ApiError::TooLarge { limit: state.config.max_upload_bytes });
    }
    // With the key known before the body, quota room is reserved before
    // any byte is stored; a key sent after the file is checked once the
    // file is in (and the file removed if refused).
    let early = match header_key.clone().or_else(|| form.key.clone()) {
        Some(key) => {
            let reserved = async {
                let caller = authenticate(state, &key).await?;
                let reserved = quota::reserve_for_body(state, &caller.user, &headers).await?;
                Ok::<_, ApiError>((caller, reserved))
            };
            match reserved.await {
                Ok((caller, reserved)) => {
                    form.reserved = Some(reserved);
                    Some(caller)
                }
                Err(e) => {
                    // Read the rest so the client gets this answer, not a reset.
                    quota::drain(request.into_body(), max_body).await;
                    return Err(e);
                }
            }
        }
        None => None,
    };
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        read_multipart(state, request, form).await?;
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let (file_limit, limit) = params::inline_limits(state.config.max_upload_bytes);
        let body = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| ApiError::TooLarge { limit: file_limit })?;
        for (k, v) in url::form_urlencoded::parse(&body) {
            form.set(&k, v.into_owned())?;
        }
    }

    let caller = match early {
        Some(caller) => caller,
        None => authenticate(state, &form.key.clone().ok_or(ApiError::MissingKey)?).await?,
    };
    if let Some(album) = form.album_id.as_deref().filter(|a| !a.is_empty()) {
        crate::policy::check_folder(state, caller.user.id, album).await?;
    }
    if form.reserved.is_none() {
        form.reserved = Some(match &form.source {
            Some(Source::File { stored, .. }) => {
                quota::reserve(state, &caller.user, None, stored.size, stored.size, LATE_HOLD).await?
            }
            _ => quota::reserve_for_body(state, &caller.user, &headers).await?,
        });
    }
    let use_file_date =
        form.use_file_date.as_deref().map(|v| params::flag("use_file_date", v)).transpose()? == Some(true);
    if use_file_date && caller.user.role != Role::Admin {
        return Err(ApiError::Forbidden("use_file_date is for administrators only".into()));
    }
    let idem = idempotency::key_from(&headers)?;
    if let Some(key) = &idem
        && let Some((first, response)) = state.repo.idempotent_result(caller.user.id, key).await?
    {
        if let Some(Source::File { stored, .. }) = form.source.take() {
            ingest::discard(state, stored).await;
        }
        return replay(state, form, &first, response.as_deref()).await;
    }
    let (media, delete_secret) = match form.source.take() {
        None => return Err(ApiError::EmptySource),
        Some(Source::File { stored, filename }) => {
            record_file(state, &caller.user, form, stored, filename, idem.as_deref()).await?
        }
        Some(Source::Text(text)) if is_url(&text) => {
            let url = params::remote_url(&text, state.config.fetch_allow_private)?;
            let done = ingest::record_remote(state, &caller.user, &url, form.meta(None)?).await?;
            if let Some(key) = &idem
                && let idempotency::Claim::Lost(first) =
                    idempotency::claim(state, &caller.user, key, &done.media.id).await?
            {
                crate::lifecycle::retire(state, &done.media.id).await?;
                return replay(state, form, &first, None).await;
            }
            (done.media, Some(done.delete_secret))
        }
        Some(Source::Text(text)) => {
            let stored = store_base64(state, &text, form.reserved.as_ref()).await?;
            record_file(state, &caller.user, form, stored, None, idem.as_deref()).await?
        }
    };
    let media = wait::until_settled(&state.repo, &media.id, state.config.upload_wait).await?;
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

/// Records a stored file, honouring the Idempotency-Key; returns the media
/// and, for a new one, its delete secret.
async fn record_file(
    state: &AppState,
    owner: &User,
    form: &Form,
    stored: StoredOriginal,
    filename: Option<String>,
    idem: Option<&str>,
) -> Result<(Media, Option<String>), ApiError> {
    let meta = match form.meta(filename) {
        Ok(meta) => meta,
        Err(e) => {
            ingest::discard(state, stored).await;
            return Err(e);
        }
    };
    if let Some(key) = idem
        && let idempotency::Claim::Lost(first) = idempotency::claim(state, owner, key, &stored.id).await?
    {
        ingest::discard(state, stored).await;
        return Ok((state.repo.media(&first).await?, None));
    }
    match ingest::record(state, owner, stored, meta).await {
        Ok(Ingested { media, delete_secret }) => Ok((media, Some(delete_secret))),
        Err(e) => {
            if let Some(key) = idem {
                idempotency::release(state, owner, key).await;
            }
            Err(e)
        }
    }
}

/// The answer to a retried request: the first answer when it was stored,
/// else the media as it stands (without the delete URL, shown only once).
async fn replay(state: &AppState, form: &Form, first: &MediaId, stored: Option<&str>) -> Result<Response, ApiError> {
    if let Some(image) = stored.and_then(|s| serde_json::from_str::<Value>(s).ok()) {
        return Ok(respond(form, first, image));
    }
    let media = wait::until_settled(&state.repo, first, state.config.upload_wait).await?;
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

/// Largest request body accepted: the upload limit, plus room for base64
/// growth (4/3) and the other form fields.
fn max_body_bytes(state: &AppState) -> u64 {
    state.config.max_upload_bytes.saturating_mul(4) / 3 + 1024 * 1024
}

async fn read_multipart(state: &AppState, request: Request, form: &mut Form) -> Result<(), ApiError> {
    let mut multipart = Multipart::from_request(request, &()).await.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    while let Some(field) = multipart.next_field().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
        let name = field.name().unwrap_or_default().to_owned();
        let is_source = matches!(name.as_str(), "source" | "image" | "file");
        if is_source && field.file_name().is_some() {
            if form.source.is_some() {
                return Err(ApiError::BadRequest("send one source per upload".into()));
            }
            let filename = field.file_name().map(str::to_owned);
            let stored =
                ingest::store_within(state, Box::pin(field.map_err(io::Error::other)), form.reserved.as_ref()).await?;
            form.imgbb |= name == "image";
            form.source = Some(Source::File { stored, filename });
            continue;
        }
        let (file_limit, inline_limit) = params::inline_limits(state.config.max_upload_bytes);
        let value = if is_source {
            // A text source (base64 or a URL) is held in memory: capped lower.
            read_text(field, inline_limit, &name).await.map_err(|_| ApiError::TooLarge { limit: file_limit })?
        } else {
            read_text(field, MAX_FIELD_BYTES, &name).await?
        };
        form.set(&name, value)?;
    }
    Ok(())
}

async fn read_text(
    mut field: axum::extract::multipart::Field<'_>,
    limit: usize,
    name: &str,
) -> Result<String, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::BadRequest(format!("form field '{name}' is longer than {limit} bytes")));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::BadRequest(format!("form field '{name}' is not valid UTF-8")))
}

fn is_url(text: &str) -> bool {
    let t = text.trim_start().to_ascii_lowercase();
    t.starts_with("http://") || t.starts_with("https://") || t.contains("://")
}

/// A base64 `source` (plain or `data:` URL).
async fn store_base64(state: &AppState, text: &str, quota: Option<&Reserved>) -> Result<StoredOriginal, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::EmptySource);
    }
    let bytes = params::base64(text)?;
    if bytes.is_empty() {
        return Err(ApiError::EmptySource);
    }
    ingest::store_within(state, stream_of(bytes), quota).await
}
