//! tus 1.0.0 at `/api/v1/tus`: core (HEAD, PATCH), `creation`,
//! `creation-with-upload`, `termination`, `checksum` (sha1, sha256) and
//! `expiration`. Every answer carries `Tus-Resumable`; answers about an
//! upload carry `Upload-Expires`. The upload id (the last segment of
//! `Location`) is the file id.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use futures::TryStreamExt;

use mediaq_shared::domain::MediaId;
use mediaq_shared::repo::{Progress, Protocol, RepoError, ResumableUpload, now};
use mediaq_shared::storage::ObjectKey;

use super::chunks::{self, Checksum, ChunkError};
use super::commits;
use super::finish::{drop_upload, finish};
use super::held::Held;
use super::meta::FileMeta;
use super::tus_http::{TusError, VERSION, check_version, http_date, number, status, text};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::idempotency::{self, Claim};
use crate::quota::{self, Reserved};
use crate::state::AppState;

const EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
const OFFSET_TYPE: &str = "application/offset+octet-stream";
/// How long a PATCH ahead of the recorded offset waits for the record of
/// the chunk before it (made in another API process), and how often it
/// looks.
const CATCH_UP: std::time::Duration = std::time::Duration::from_secs(2);
const CATCH_UP_POLL: std::time::Duration = std::time::Duration::from_millis(10);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tus", post(create).options(options))
        .route("/api/v1/tus/{id}", axum::routing::head(head).patch(patch).delete(terminate).options(options))
}

/// `Tus-Resumable` on every answer of the tus routes, and what the server
/// supports on their `OPTIONS` answers.
pub(super) async fn stamp(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let tus = request.uri().path().starts_with("/api/v1/tus");
    let discovery = request.method() == Method::OPTIONS;
    let mut res = next.run(request).await;
    if tus {
        res.headers_mut().insert("tus-resumable", HeaderValue::from_static(VERSION));
        if discovery {
            advertise(&state, res.headers_mut());
        }
    }
    res
}

fn advertise(state: &AppState, h: &mut HeaderMap) {
    h.insert("tus-version", HeaderValue::from_static(VERSION));
    h.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    h.insert("tus-max-size", HeaderValue::from(state.config.max_upload_bytes));
    h.insert("tus-checksum-algorithm", HeaderValue::from_static("sha1,sha256"));
}

/// `OPTIONS`: what this server supports.
async fn options(State(state): State<AppState>) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    advertise(&state, res.headers_mut());
    res
}

pub(super) fn expiry(state: &AppState) -> DateTime<Utc> {
    now() + TimeDelta::from_std(state.config.tus_expiry).unwrap_or(TimeDelta::days(1))
}

/// The caller's upload `id`, or 404.
async fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<ResumableUpload, TusError> {
    let id = MediaId::parse(id).ok_or(ApiError::NotFound)?;
    match state.repo.resumable(&id).await {
        Ok(u) if u.owner_id == caller.user.id && u.protocol == Protocol::Tus => Ok(u),
        Ok(_) | Err(RepoError::NotFound) => Err(ApiError::NotFound.into()),
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/v1/tus`: creation (and creation-with-upload).
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TusError> {
    check_version(&headers)?;
    if text(&headers, "upload-defer-length").is_some() {
        return Err(status(400, "Bad Request", "Upload-Defer-Length is not supported: send Upload-Length"));
    }
    let length =
        number(&headers, "upload-length")?.ok_or_else(|| status(400, "Bad Request", "Upload-Length is required"))?;
    if length == 0 {
        return Err(ApiError::EmptySource.into());
    }
    if length > state.config.max_upload_bytes {
        return Err(ApiError::TooLarge { limit: state.config.max_upload_bytes }.into());
    }
    let meta = FileMeta::from_tus(text(&headers, "upload-metadata"))?;
    if let Some(folder) = meta.folder_id.as_deref() {
        crate::policy::check_folder(&state, caller.user.id, folder).await?;
    }
    let idem = idempotency::key_from(&headers)?;
    if let Some(key) = &idem
        && let Some((first, _)) = state.repo.idempotent_result(caller.user.id, key).await?
    {
        return Ok(created(&state, &first, None, None));
    }
    let upload = start(&state, &caller, length, &meta).await?;
    let (id, expires_at) = (upload.id.clone(), upload.expires_at);
    if let Some(key) = &idem
        && let Claim::Lost(first) = idempotency::claim(&state, &caller.user, key, &id).await?
    {
        drop_upload(&state, &upload, &ObjectKey::assembled(&id)).await;
        return Ok(created(&state, &first, None, None));
    }
    let with_upload = text(&headers, "content-type").is_some_and(|ct| ct.starts_with(OFFSET_TYPE));
    let declared = number(&headers, "content-length")?;
    if !with_upload || declared == Some(0) {
        return Ok(created(&state, &id, Some(0), Some(expires_at)));
    }
    let done = write_chunk(&state, &caller, upload, body, None).await?;
    Ok(created(&state, &id, Some(done.0), done.1))
}

/// Reserves `length` bytes of quota and records a new tus upload.
async fn start(state: &AppState, caller: &Caller, length: u64, meta: &FileMeta) -> Result<ResumableUpload, TusError> {
    let id = MediaId::generate();
    let expires_at = expiry(state);
    quota::reserve(state, &caller.user, Some(id.as_str()), length, length, state.config.tus_expiry).await?;
    let key = ObjectKey::assembled(&id);
    let multipart_id = match chunks::start_parts(state, &key, length).await {
        Ok(mp) => mp,
        Err(e) => {
            quota::release(state, id.as_str()).await;
            return Err(ApiError::from(e).into());
        }
    };
    let upload = ResumableUpload {
        id: id.clone(),
        owner_id: caller.user.id,
        protocol: Protocol::Tus,
        length: Some(length),
        offset: 0,
        metadata: meta.to_json(),
        object_key: key.to_string(),
        multipart_id,
        parts: Vec::new(),
        tail_bytes: 0,
        created_at: now(),
        expires_at,
    };
    if let Err(e) = state.repo.insert_resumable(&upload).await {
        drop_upload(state, &upload, &key).await;
        return Err(e.into());
    }
    Ok(upload)
}

fn created(state: &AppState, id: &MediaId, offset: Option<u64>, expires: Option<DateTime<Utc>>) -> Response {
    let mut res = StatusCode::CREATED.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&state.url(&format!("/api/v1/tus/{id}"))) {
        h.insert(header::LOCATION, v);
    }
    if let Some(o) = offset {
        h.insert("upload-offset", HeaderValue::from(o));
    }
    if let Some(at) = expires {
        h.insert("upload-expires", http_date(at));
    }
    res
}

/// `HEAD /api/v1/tus/{id}`: where the upload stands.
async fn head(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    check_version(&headers)?;
    if let Some(id) = MediaId::parse(&id) {
        commits::settled(&id).await;
    }
    let (offset, length, meta, expires) = match owned(&state, &caller, &id).await {
        Ok(u) => (u.offset, u.length.unwrap_or(0), FileMeta::from_json(&u.metadata).to_tus(), Some(u.expires_at)),
        // Finished: its media stands for it.
        Err(TusError::Api(ApiError::NotFound)) => {
            let media = crate::policy::owned_file(&state, &caller, &id).await.map_err(|_| ApiError::NotFound)?;
            (media.size, media.size, String::new(), None)
        }
        Err(e) => return Err(e),
    };
    let mut res = StatusCode::OK.into_response();
    let h = res.headers_mut();
    h.insert("upload-offset", HeaderValue::from(offset));
    h.insert("upload-length", HeaderValue::from(length));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(at) = expires {
        h.insert("upload-expires", http_date(at));
    }
    if let Ok(v) = HeaderValue::from_str(&meta)
        && !meta.is_empty()
    {
        h.insert(HeaderName::from_static("upload-metadata"), v);
    }
    Ok(res)
}

/// `Upload-Checksum: sha1|sha256 <base64>`.
fn checksum(headers: &HeaderMap) -> Result<Option<Checksum>, TusError> {
    let Some(v) = text(headers, "upload-checksum") else { return Ok(None) };
    let (algo, digest) = v
        .trim()
        .split_once(' ')
        .ok_or_else(|| status(400, "Bad Request", "Upload-Checksum is '<algorithm> <base64 digest>'"))?;
    let sha256 = match algo {
        "sha1" => false,
        "sha256" => true,
        other => {
            return Err(status(
                400,
                "Bad Request",
                format!("checksum algorithm '{other}' is not supported (sha1, sha256)"),
            ));
        }
    };
    let expected = base64::engine::general_purpose::STANDARD
        .decode(digest.trim())
        .map_err(|_| status(400, "Bad Request", "the Upload-Checksum digest is not base64"))?;
    Ok(Some(Checksum { sha256, expected }))
}

/// `PATCH /api/v1/tus/{id}`: appends a chunk at `Upload-Offset`.
async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TusError> {
    let (upload, sum) = match check_patch(&state, &caller, &id, &headers).await {
        Ok(checked) => checked,
        Err(e) => {
            // Read (and drop) the chunk, so the client gets this answer on a
            // connection it can go on using.
            quota::drain_refused(body).await;
            return Err(e);
        }
    };
    let (offset, expires) = write_chunk(&state, &caller, upload, body, sum.as_ref()).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert("upload-offset", HeaderValue::from(offset));
    // A finished upload no longer expires.
    if let Some(at) = expires {
        res.headers_mut().insert("upload-expires", http_date(at));
    }
    Ok(res)
}

/// What a PATCH must have, and the upload it may write.
async fn check_patch(
    state: &AppState,
    caller: &Caller,
    id: &str,
    headers: &HeaderMap,
) -> Result<(ResumableUpload, Option<Checksum>), TusError> {
    check_version(headers)?;
    if !text(headers, "content-type").is_some_and(|ct| ct.starts_with(OFFSET_TYPE)) {
        return Err(status(415, "Unsupported Media Type", format!("PATCH bodies are {OFFSET_TYPE}")));
    }
    let offset =
        number(headers, "upload-offset")?.ok_or_else(|| status(400, "Bad Request", "Upload-Offset is required"))?;
    let sum = checksum(headers)?;
    let upload = caught_up(state, caller, id, offset).await?;
    if upload.expires_at < now() {
        return Err(status(410, "Gone", "this upload expired; create a new one"));
    }
    if upload.offset != offset {
        return Err(status(
            409,
            "Conflict",
            format!("Upload-Offset {offset} does not match the upload's offset {}", upload.offset),
        ));
    }
    Ok((upload, sum))
}

/// The upload, once the record of a chunk answered before it was
/// recorded has landed when the client is ahead of the recorded offset:
/// at once when it was pending in this process, polling the row for at
/// most [`CATCH_UP`] when it may be pending in another.
async fn caught_up(state: &AppState, caller: &Caller, id: &str, offset: u64) -> Result<ResumableUpload, TusError> {
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    loop {
        let upload = owned(state, caller, id).await?;
        if offset <= upload.offset || tokio::time::Instant::now() >= deadline {
            return Ok(upload);
        }
        if !commits::settled(&upload.id).await {
            tokio::time::sleep(CATCH_UP_POLL).await;
        }
    }
}

/// Takes the upload, writes the chunk, records it (or not) and, at the
/// last byte, records the media. Returns the new offset and expiry (none
/// once finished).
async fn write_chunk(
    state: &AppState,
    caller: &Caller,
    upload: ResumableUpload,
    body: Body,
    sum: Option<&Checksum>,
) -> Result<(u64, Option<DateTime<Utc>>), TusError> {
    let Some(held) = Held::take(state, &upload.id, upload.offset).await? else {
        quota::drain_refused(body).await;
        return Err(status(
            409,
            "Conflict",
            "another request is writing this upload, or its offset moved: HEAD it and resume",
        ));
    };
    let stream = Box::pin(body.into_data_stream().map_err(std::io::Error::other));
    let mut written = match chunks::write(state, &upload, stream, sum, held.parts()).await {
        Ok(w) => w,
        Err(e) => {
            held.release().await;
            return Err(refused(e));
        }
    };
    let length = upload.length.unwrap_or(u64::MAX);
    let expires_at = expiry(state);
    if let Some(bytes) = written.pending.take() {
        if written.offset != length {
            // Answered now, recorded once durable (see `commits`).
            commits::record_later(held, bytes, written.offset, expires_at);
            return Ok((written.offset, Some(expires_at)));
        }
        if let Err(e) = bytes.sync().await {
            held.release().await;
            return Err(ApiError::from(e).into());
        }
    }
    if written.offset == length {
        complete(state, caller, &upload, held, &written).await?;
        return Ok((length, None));
    }
    let progress = Progress {
        offset: written.offset,
        multipart_id: written.multipart_id.as_deref(),
        parts: &written.parts,
        tail_bytes: written.tail_bytes,
        expires_at,
    };
    if !held.advance(&progress).await? {
        return Err(status(404, "Not Found", "this upload was terminated or expired while the chunk arrived"));
    }
    if let Some(stale) = &written.stale_tail {
        let _ = state.storage.delete(stale).await;
    }
    Ok((written.offset, Some(expires_at)))
}

/// The answer to a chunk that is not recorded.
fn refused(e: ChunkError) -> TusError {
    match e {
        ChunkError::TooLong => status(413, "Payload Too Large", "the chunk goes past Upload-Length"),
        ChunkError::Mismatch => {
            status(460, "Checksum Mismatch", "the chunk does not match Upload-Checksum; it was discarded")
        }
        ChunkError::BodyFailed(e) => {
            status(400, "Bad Request", format!("the chunk could not be read ({e}); it was discarded"))
        }
        ChunkError::Api(e) => e.into(),
    }
}

/// The last byte is in: join the parts (S3), drop the staging tail and
/// record the file.
async fn complete(
    state: &AppState,
    caller: &Caller,
    upload: &ResumableUpload,
    held: Held,
    written: &chunks::Written,
) -> Result<(), TusError> {
    let key = ObjectKey::parse(&upload.object_key).ok_or(ApiError::NotFound)?;
    let length = written.offset;
    if let Err(e) = chunks::assemble(state, &key, written).await {
        held.release().await;
        return Err(e.into());
    }
    held.forget();
    if let Some(stale) = &written.stale_tail {
        let _ = state.storage.delete(stale).await;
    }
    let reservation = Reserved::existing(upload.id.to_string(), length);
    finish(state, &caller.user, upload, key, length, reservation).await?;
    Ok(())
}

/// `DELETE /api/v1/tus/{id}`: termination; the bytes are removed and the
/// reservation released.
async fn terminate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    check_version(&headers)?;
    let upload = owned(&state, &caller, &id).await?;
    let key = ObjectKey::parse(&upload.object_key).ok_or(ApiError::NotFound)?;
    drop_upload(&state, &upload, &key).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
