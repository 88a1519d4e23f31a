//! Sending stored bytes: the type, `nosniff` and a sandboxing CSP (no
//! upload is ever active content in our origin), a strong `ETag`
//! (`If-None-Match` → 304), single-range `Range` support (206, for video
//! seeking) and the `Cache-Control` of [`crate::cache`]. Objects stream
//! through the API from either backend. Routes that send bytes (public
//! media, downloads, links, signed URLs) all come here.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use mediaq_shared::domain::Media;
use mediaq_shared::storage::{ByteRange, ObjectKey, StorageError};

use crate::cache::Cache;
use crate::error::ApiError;
use crate::state::AppState;

/// One object ready to be served.
pub struct Servable {
    pub key: ObjectKey,
    pub mime: String,
    pub size: u64,
    /// Stable and unique per object content.
    pub etag: String,
}

/// The original of a media, ready to send.
pub fn original(media: &Media) -> Result<Servable, ApiError> {
    Ok(Servable {
        key: ObjectKey::parse(&media.original_key).ok_or(ApiError::NotFound)?,
        mime: media.mime.clone(),
        size: media.size,
        etag: format!("\"{}\"", media.sha256.as_deref().unwrap_or(media.id.as_str())),
    })
}

/// Streams an object that was reached with a secret (a signed URL):
/// `private, no-store`. Public media go through [`send_cached`].
pub async fn send(state: &AppState, object: &Servable, headers: &HeaderMap) -> Result<Response, ApiError> {
    send_cached(state, object, headers, Cache::NoStore).await
}

/// The original of `media` as a download (Range and ETag honoured), never
/// stored by a cache: downloads are reached with a token, a link or a key.
/// Each one counts in the media's `downloads` (one atomic increment).
pub async fn attachment(state: &AppState, media: &Media, headers: &HeaderMap) -> Result<Response, ApiError> {
    let object = original(media)?;
    let mut response = send(state, &object, headers).await?;
    if response.status().is_success() {
        state.repo.add_download(&media.id).await?;
    }
    let disposition = format!("attachment; filename=\"{}\"", media.original_filename.replace(['"', '\\'], "_"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// Streams an object with the caching, type and range headers.
pub async fn send_cached(
    state: &AppState,
    object: &Servable,
    headers: &HeaderMap,
    cache: Cache,
) -> Result<Response, ApiError> {
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, header_value(&object.etag));
    out.insert(header::CACHE_CONTROL, cache.header());
    out.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    out.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| etag_matches(v, &object.etag)) {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    out.insert(header::CONTENT_TYPE, header_value(&object.mime));
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|v| parse_range(v, object.size));
    let body = match state.storage.get(&object.key, range).await {
        Err(StorageError::InvalidRange) => {
            out.insert(header::CONTENT_RANGE, header_value(&format!("bytes */{}", object.size)));
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, out).into_response());
        }
        other => other?,
    };
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len));
    let status = match body.range {
        Some((start, end)) => {
            out.insert(header::CONTENT_RANGE, header_value(&format!("bytes {start}-{end}/{}", body.total)));
            StatusCode::PARTIAL_CONTENT
        }
        None => StatusCode::OK,
    };
    Ok((status, out, Body::from_stream(body.stream)).into_response())
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// One `bytes=` range (`a-b`, `a-`, `-n`); several ranges or a malformed
/// header mean the whole object, as RFC 9110 allows.
fn parse_range(v: &str, size: u64) -> Option<ByteRange> {
    let spec = v.strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    if start.is_empty() {
        let n: u64 = end.parse().ok()?;
        return Some(ByteRange { start: size.saturating_sub(n), end: None });
    }
    let start = start.parse().ok()?;
    let end = if end.is_empty() { None } else { Some(end.parse().ok()?) };
    if end.is_some_and(|e| e < start) {
        return None;
    }
    Some(ByteRange { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some(ByteRange { start: 0, end: Some(99) }));
        assert_eq!(parse_range("bytes=500-", 1000), Some(ByteRange { start: 500, end: None }));
        assert_eq!(parse_range("bytes=-100", 1000), Some(ByteRange { start: 900, end: None }));
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("bytes=9-3", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
    }

    #[test]
    fn etags() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("W/\"abc\", \"x\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }
}
