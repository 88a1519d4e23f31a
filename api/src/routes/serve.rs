//! Serving stored bytes: `GET /images/{id}/{name}[.th|.md|.fr].{ext}`.
//!
//! Bytes go out with the sniffed type, `nosniff` and a sandboxing CSP (no
//! upload is ever active content in our origin), a strong `ETag`
//! (`If-None-Match` → 304), single-range `Range` support (206, for video
//! seeking) and a year-long `Cache-Control`: an object never changes under
//! its URL. Objects stream through the API from either backend.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use mediaq_shared::domain::{Media, MediaId, MediaStatus, VariantKind};
use mediaq_shared::storage::{ByteRange, ObjectKey, StorageError};

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

pub async fn image_file(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = MediaId::parse(&id).ok_or(ApiError::NotFound)?;
    let media = state.repo.media(&id).await?;
    // Only finished media: processing may still replace the original
    // (resize, EXIF removal), and these URLs are cached as immutable.
    if !media.is_public || !is_live(&media) || media.status != MediaStatus::Ready {
        return Err(ApiError::NotFound);
    }
    let object = match variant_of(&file) {
        None => original(&media)?,
        Some(kind) => {
            let variants = state.repo.variants(&media.id).await?;
            let v = variants.into_iter().find(|v| v.kind == kind).ok_or(ApiError::NotFound)?;
            Servable {
                key: ObjectKey::parse(&v.key).ok_or(ApiError::NotFound)?,
                etag: format!("\"{}-{}-{}\"", media.id, kind, v.size),
                mime: v.mime,
                size: v.size,
            }
        }
    };
    send(&state, &object, &headers).await
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

/// Whether a media may be served now: not deleted, not past its expiry
/// (even before the sweep has run).
pub fn is_live(media: &Media) -> bool {
    !matches!(media.status, MediaStatus::Deleted | MediaStatus::Expired)
        && media.expires_at.is_none_or(|at| at > Utc::now())
}

/// `name.th.jpg` → thumb; `name.jpg` → the original (`None`).
fn variant_of(file: &str) -> Option<VariantKind> {
    let mut parts = file.rsplitn(3, '.');
    let _ext = parts.next();
    let suffix = parts.next()?;
    parts.next()?;
    VariantKind::from_suffix(suffix)
}

/// Streams an object with the caching, type and range headers.
pub async fn send(state: &AppState, object: &Servable, headers: &HeaderMap) -> Result<Response, ApiError> {
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, header_value(&object.etag));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
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
    fn file_names_map_to_variants() {
        assert_eq!(variant_of("cat.jpg"), None);
        assert_eq!(variant_of("cat.th.jpg"), Some(VariantKind::Thumb));
        assert_eq!(variant_of("cat.md.png"), Some(VariantKind::Medium));
        assert_eq!(variant_of("cat.fr.jpg"), Some(VariantKind::Frame));
        assert_eq!(variant_of("cat.xx.jpg"), None);
    }

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
