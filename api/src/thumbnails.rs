//! Thumbnails by size, made on first request and then kept (see
//! `mediaq_shared::repo::sized_thumbs`). A first request renders once
//! however many ask at the same moment: in this process, requests for one
//! media and size queue on one lock (single flight); across processes, the
//! render is claimed in the database and the others wait for its row to
//! turn `ready`. Renders run through the workers' pipeline (the
//! [`ThumbRenderer`] the binary wires in), bounded to one per core.
//!
//! Every answer says whether this request rendered the image:
//! `X-Cache: MISS` when it did, `HIT` when it was served as kept (also
//! after waiting for another request's render), as CDNs say it.
//!
//! A media keeps at most [`MAX_SIZES_PER_FILE`] sizes; further sizes are
//! rendered for the request and not kept. Kept sizes live under the
//! media's object prefix and go with it when it is removed; they are a
//! cache, not counted against the owner's quota.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;
use sha2::{Digest, Sha256};

use mediaq_shared::domain::{Media, MediaKind, MediaStatus, VariantKind, random_token};
use mediaq_shared::repo::{SizedThumb, ThumbClaim, ThumbDone, now};
use mediaq_shared::storage::{ObjectKey, stream_of};
use mediaq_shared::thumbs::{DynThumbRenderer, ThumbError, ThumbSpec};

use crate::cache::Cache;
use crate::delivery::{Servable, send_cached};
use crate::error::ApiError;
use crate::state::AppState;

/// Sizes kept per media; more are rendered per request, not stored.
pub const MAX_SIZES_PER_FILE: u64 = 32;
/// A claim older than this belongs to a render that died: taken over.
const STALE_CLAIM: TimeDelta = TimeDelta::seconds(60);
/// Says whether the answer was rendered for this request.
const X_CACHE: header::HeaderName = header::HeaderName::from_static("x-cache");
/// How long a request waits for another process's render.
const WAIT_FOR_OTHERS: Duration = Duration::from_secs(30);

/// The renderer and the in-process single-flight locks.
#[derive(Clone)]
pub struct Thumbs {
    renderer: DynThumbRenderer,
    flights: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Thumbs {
    pub fn new(renderer: DynThumbRenderer) -> Self {
        Self { renderer, flights: Arc::default() }
    }

    fn flight(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(key.to_owned()).or_default().clone()
    }

    /// Forgets the lock of `key` once nobody else holds or waits for it.
    fn land(&self, key: &str, cell: &Arc<tokio::sync::Mutex<()>>) {
        let mut map = self.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // The map's reference and ours: nobody else is on this flight.
        if Arc::strong_count(cell) <= 2 {
            map.remove(key);
        }
    }
}

/// Parses `size=WxH`, `crop`, `format` into a spec (400 on anything off).
pub fn parse_spec(size: Option<&str>, crop: Option<&str>, format: Option<&str>) -> Result<ThumbSpec, ApiError> {
    use mediaq_shared::thumbs::{MAX_SIDE, MIN_SIDE, ThumbFormat};
    let bad = || ApiError::BadRequest(format!("'size' must be WxH with each side from {MIN_SIDE} to {MAX_SIDE}"));
    let size = size.ok_or_else(bad)?;
    let (w, h) = size.split_once(['x', 'X']).ok_or_else(bad)?;
    let side = |s: &str| s.parse::<u32>().ok().filter(|v| (MIN_SIDE..=MAX_SIDE).contains(v)).ok_or_else(bad);
    let (width, height) = (side(w)?, side(h)?);
    let crop = match crop {
        None | Some("0" | "false" | "") => false,
        Some("1" | "true") => true,
        Some(_) => return Err(ApiError::BadRequest("'crop' must be 1 or 0".into())),
    };
    let format = match format.filter(|f| !f.is_empty()) {
        None => None,
        Some(f) => Some(
            ThumbFormat::parse(f).ok_or_else(|| ApiError::BadRequest("'format' must be jpeg, png or webp".into()))?,
        ),
    };
    Ok(ThumbSpec { width, height, crop, format })
}

/// The stored image a thumbnail of `media` is made from: an image's
/// original, a video's frame.
async fn source_of(state: &AppState, media: &Media) -> Result<ObjectKey, ApiError> {
    if media.status != MediaStatus::Ready {
        return Err(ApiError::Conflict(format!("the file is {}: thumbnails are made once it is ready", media.status)));
    }
    // Written as ifs, not a match: kinds without pixels (any other file)
    // have no thumbnail, whatever kinds are added later.
    let key = if media.kind == MediaKind::Image {
        media.original_key.clone()
    } else if media.kind == MediaKind::Video {
        let variants = state.repo.variants(&media.id).await?;
        variants.into_iter().find(|v| v.kind == VariantKind::Frame).map(|v| v.key).ok_or(ApiError::NotFound)?
    } else {
        return Err(ApiError::BadRequest("this file is not an image or a video: it has no thumbnail".into()));
    };
    ObjectKey::parse(&key).ok_or(ApiError::NotFound)
}

/// Sends the thumbnail `spec` of `media`, rendering it first if needed.
#[tracing::instrument(skip_all, fields(media = %media.id, spec = %spec.name()))]
pub async fn send(state: &AppState, media: &Media, spec: ThumbSpec, headers: &HeaderMap) -> Result<Response, ApiError> {
    let source = source_of(state, media).await?;
    let name = spec.name();
    if let Some(kept) = kept(state, media, &name, &source).await? {
        return serve(state, media, &kept, headers, Cached::Hit).await;
    }
    let flight_key = format!("{}/{name}", media.id);
    let cell = state.thumbs.flight(&flight_key);
    let result = async {
        let _turn = cell.lock().await;
        obtain(state, media, spec, &source).await
    }
    .await;
    state.thumbs.land(&flight_key, &cell);
    match result? {
        Obtained::Kept(thumb) => serve(state, media, &thumb, headers, Cached::Hit).await,
        Obtained::Rendered(thumb) => serve(state, media, &thumb, headers, Cached::Miss).await,
        Obtained::Unkept(image) => Ok(unkept(image)),
    }
}

/// Whether an answer was rendered for this request (`X-Cache`).
#[derive(Debug, Clone, Copy)]
enum Cached {
    Hit,
    Miss,
}

impl Cached {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Hit => "HIT",
            Self::Miss => "MISS",
        })
    }
}

enum Obtained {
    /// Made by another request (in this process or another).
    Kept(SizedThumb),
    /// Rendered by this request, and kept.
    Rendered(SizedThumb),
    /// Past [`MAX_SIZES_PER_FILE`]: rendered for this request only.
    Unkept(mediaq_shared::thumbs::ThumbImage),
}

/// The kept thumbnail `name` when it is ready and made from `source`.
async fn kept(state: &AppState, media: &Media, name: &str, source: &ObjectKey) -> Result<Option<SizedThumb>, ApiError> {
    let row = state.repo.sized_thumb(&media.id, name).await?;
    Ok(row.filter(|t| t.ready && t.source_key == source.as_str() && t.key.is_some()))
}

/// Under this process's flight lock: the kept thumbnail, or a render
/// under a database claim, or a wait for another process's render.
async fn obtain(state: &AppState, media: &Media, spec: ThumbSpec, source: &ObjectKey) -> Result<Obtained, ApiError> {
    let name = spec.name();
    let deadline = Instant::now() + WAIT_FOR_OTHERS;
    loop {
        if let Some(thumb) = kept(state, media, &name, source).await? {
            return Ok(Obtained::Kept(thumb));
        }
        let exists = state.repo.sized_thumb(&media.id, &name).await?.is_some();
        if !exists && state.repo.count_sized_thumbs(&media.id).await? >= MAX_SIZES_PER_FILE {
            return Ok(Obtained::Unkept(render(state, source, spec).await?));
        }
        let claim = random_token(16);
        let at = now();
        let c = ThumbClaim {
            media: &media.id,
            spec: &name,
            source_key: source.as_str(),
            claim: &claim,
            now: at,
            stale_before: at - STALE_CLAIM,
        };
        if state.repo.claim_sized_thumb(&c).await? {
            return render_claimed(state, media, spec, source, &claim).await.map(Obtained::Rendered);
        }
        if Instant::now() >= deadline {
            return Err(ApiError::Unavailable { what: "the thumbnail renderer".into() });
        }
        // Another process holds the claim: look again shortly.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn render(
    state: &AppState,
    source: &ObjectKey,
    spec: ThumbSpec,
) -> Result<mediaq_shared::thumbs::ThumbImage, ApiError> {
    state.thumbs.renderer.render(source, spec).await.map_err(|e| match e {
        ThumbError::Unusable(why) => ApiError::InvalidImage(format!("no thumbnail can be made: {why}")),
        ThumbError::Failed(why) => ApiError::Internal(format!("thumbnail render: {why}")),
    })
}

async fn render_claimed(
    state: &AppState,
    media: &Media,
    spec: ThumbSpec,
    source: &ObjectKey,
    claim: &str,
) -> Result<SizedThumb, ApiError> {
    let name = spec.name();
    let stored = async {
        let image = render(state, source, spec).await?;
        let key = ObjectKey::sized_thumb(&media.id, &name, image.extension);
        let size = state.storage.put(&key, stream_of(image.bytes), image.mime).await?;
        let done = ThumbDone { key: key.as_str(), mime: image.mime, width: image.width, height: image.height, size };
        state.repo.finish_sized_thumb(&media.id, &name, claim, &done).await?;
        tracing::info!(width = image.width, height = image.height, size, "sized thumbnail rendered");
        Ok::<_, ApiError>(SizedThumb {
            spec: name.clone(),
            source_key: source.to_string(),
            ready: true,
            claim: claim.to_owned(),
            claimed_at: now(),
            key: Some(key.to_string()),
            mime: Some(image.mime.to_owned()),
            width: image.width,
            height: image.height,
            size,
        })
    }
    .await;
    if stored.is_err()
        && let Err(e) = state.repo.drop_sized_thumb_claim(&media.id, &name, claim).await
    {
        tracing::warn!(error = %e, "could not drop a failed thumbnail claim; it goes stale by itself");
    }
    stored
}

async fn serve(
    state: &AppState,
    media: &Media,
    thumb: &SizedThumb,
    headers: &HeaderMap,
    cached: Cached,
) -> Result<Response, ApiError> {
    let key = thumb.key.as_deref().and_then(ObjectKey::parse).ok_or(ApiError::NotFound)?;
    let source = hex::encode(Sha256::digest(thumb.source_key.as_bytes()));
    let object = Servable {
        key,
        mime: thumb.mime.clone().unwrap_or_else(|| "application/octet-stream".into()),
        size: thumb.size,
        etag: format!("\"{}-{}-{}-{}\"", media.id, thumb.spec, &source[..12], thumb.size),
    };
    // Reached with a key or a link: never kept by a shared cache.
    let mut res = send_cached(state, &object, headers, Cache::NoStore).await?;
    res.headers_mut().insert(X_CACHE, cached.header());
    Ok(res)
}

fn unkept(image: mediaq_shared::thumbs::ThumbImage) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(image.mime)),
        (header::CACHE_CONTROL, Cache::NoStore.header()),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (X_CACHE, Cached::Miss.header()),
    ];
    (StatusCode::OK, headers, Body::from(image.bytes)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_bounded() {
        let spec = parse_spec(Some("200x150"), Some("1"), Some("webp")).unwrap();
        assert_eq!(spec.name(), "200x150-crop-webp");
        for bad in ["15x100", "100x2049", "100", "axb", "100x", "-1x20"] {
            assert!(parse_spec(Some(bad), None, None).is_err(), "{bad}");
        }
        assert!(parse_spec(None, None, None).is_err());
        assert!(parse_spec(Some("16x2048"), None, None).is_ok());
        assert!(parse_spec(Some("64x64"), Some("yes"), None).is_err());
        assert!(parse_spec(Some("64x64"), None, Some("gif")).is_err());
    }
}
