//! The web app for people (`GET /` and `/web/…`): hand-written ES modules,
//! CSS and the vendored Uppy bundle from the top-level `web/` folder,
//! embedded in the binary at compile time, so the app needs no network
//! beyond mediaq and no build step.
//!
//! Every asset is sent with its type, a strong `ETag` (`If-None-Match` →
//! 304), `Cache-Control: no-cache` (revalidated on each load: a new binary
//! may ship new assets under the same names) and gzip when the client takes
//! it (compressed once, on first use). The page is a hash-routed
//! single-page app (`/#/files/ID`), so no app route can collide with the
//! API's. `index.html` carries a strict Content-Security-Policy: scripts
//! and styles from this origin only, nothing inline, no framing.
//!
//! The page also names the optional routes this binary serves (tus
//! uploads, the trash), learned once by asking its own router, so the app
//! never probes with a request that could fail in the browser's console.

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use mediaq_shared::config::StorageConfig;
use mediaq_shared::repo::UserFilter;

use crate::error::ApiError;
use crate::state::AppState;

/// One embedded file of `web/`.
struct Asset {
    path: &'static str,
    mime: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $mime:expr) => {
        Asset { path: $path, mime: $mime, bytes: include_bytes!(concat!("../../web/", $path)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Everything under `/web/`. A new file of `web/` is served once listed here.
const ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("folder.svg", "image/svg+xml"),
    asset!("js/main.js", JS),
    asset!("js/api.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/format.js", JS),
    asset!("js/upload.js", JS),
    asset!("js/views/auth.js", JS),
    asset!("js/views/gallery.js", JS),
    asset!("js/views/file.js", JS),
    asset!("js/views/share.js", JS),
    asset!("js/views/public.js", JS),
    asset!("js/views/trash.js", JS),
    asset!("js/views/keys.js", JS),
    asset!("js/views/admin.js", JS),
    asset!("vendor/uppy/uppy.min.mjs", JS),
    asset!("vendor/uppy/LICENSE", "text/plain; charset=utf-8"),
    asset!("vendor/uppy/VERSION", "text/plain; charset=utf-8"),
];

const INDEX: &str = include_str!("../../web/index.html");

/// An asset ready to send: its bytes, gzipped bytes when smaller, ETag.
struct Prepared {
    mime: &'static str,
    plain: &'static [u8],
    gzip: Option<Vec<u8>>,
    etag: String,
}

/// Each asset, prepared (hashed and compressed) on its first request
/// only: the first page load must not wait for assets it does not use
/// (Uppy is loaded when the first upload starts).
fn prepared(path: &str) -> Option<&'static Prepared> {
    static PREPARED: OnceLock<HashMap<&'static str, (&'static Asset, OnceLock<Prepared>)>> = OnceLock::new();
    let all = PREPARED.get_or_init(|| ASSETS.iter().map(|a| (a.path, (a, OnceLock::new()))).collect());
    let (asset, once) = all.get(path)?;
    Some(once.get_or_init(|| Prepared {
        mime: asset.mime,
        plain: asset.bytes,
        gzip: gzip(asset.bytes),
        etag: etag(asset.bytes),
    }))
}

fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..32])
}

/// `bytes` gzipped, when that makes them smaller.
fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).ok()?;
    let out = encoder.finish().ok()?;
    (out.len() + 64 < bytes.len()).then_some(out)
}

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index)).route("/web/{*path}", get(asset))
}

/// `GET /web/{path}`: one embedded asset.
async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let found = prepared(&path).ok_or(ApiError::NotFound)?;
    Ok(send(&headers, found.mime, found.plain, found.gzip.as_deref(), &found.etag, &[]))
}

/// `GET /`: the app's page, with its CSP, and two facts the first screen
/// needs before anyone is logged in: whether any account exists yet (the
/// first run explains how to make the first admin) and whether new
/// accounts are active at once.
async fn index(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (_, users) = state.repo.list_users(UserFilter { status: None, offset: 0, limit: 1 }).await?;
    let html = INDEX
        .replace("{{FIRST_RUN}}", if users == 0 { "true" } else { "false" })
        .replace("{{OPEN_REGISTRATION}}", if state.config.open_registration { "true" } else { "false" })
        .replace("{{FEATURES}}", features(&state).await);
    let csp = csp(&state);
    let extra = [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    ];
    let bytes = html.into_bytes();
    let gz = gzip(&bytes);
    Ok(send(&headers, "text/html; charset=utf-8", &bytes, gz.as_deref(), &etag(&bytes), &extra))
}

/// The optional routes this binary serves, space-separated (`tus`,
/// `trash`): each is asked once, without credentials, of a router built
/// like the one serving; a route that exists answers anything but 404/405.
async fn features(state: &AppState) -> &'static str {
    static FEATURES: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    FEATURES
        .get_or_init(|| async {
            let app = crate::router(state.clone());
            let probes = [("tus", Method::OPTIONS, "/api/v1/tus"), ("trash", Method::GET, "/api/v1/trash")];
            let mut found = Vec::new();
            for (name, method, path) in probes {
                let Ok(request) = Request::builder().method(method).uri(path).body(Body::empty()) else { continue };
                let Ok(response) = app.clone().oneshot(request).await;
                if !matches!(response.status(), StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED) {
                    found.push(name);
                }
            }
            found.join(" ")
        })
        .await
}

/// The page's policy: everything from this origin (and the public URL's
/// origin, where media URLs point, and the S3 endpoint presigned uploads
/// go to), nothing inline, no plugins, no framing.
fn csp(state: &AppState) -> HeaderValue {
    let mut media = vec!["'self'".to_owned()];
    media.extend(origin(&state.config.public_url));
    let mut connect = media.clone();
    if let StorageConfig::S3(s3) = &state.config.storage
        && let Some(endpoint) = s3.public_endpoint.as_deref().or(s3.endpoint.as_deref())
    {
        connect.extend(origin(endpoint));
    }
    let (media, connect) = (media.join(" "), connect.join(" "));
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src {media} blob: data:; \
         media-src {media} blob:; connect-src {connect}; manifest-src 'self'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// `scheme://host[:port]` of a URL, if it has one.
fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

fn send(
    headers: &HeaderMap,
    mime: &'static str,
    plain: &[u8],
    gzip: Option<&[u8]>,
    etag: &str,
    extra: &[(header::HeaderName, HeaderValue)],
) -> Response {
    let mut out = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(etag) {
        out.insert(header::ETAG, v);
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    out.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    for (name, value) in extra {
        out.insert(name.clone(), value.clone());
    }
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    let takes_gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.split(';').next().is_some_and(|e| e.trim() == "gzip")));
    match gzip.filter(|_| takes_gzip) {
        Some(gz) => {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (out, gz.to_vec()).into_response()
        }
        None => (out, plain.to_vec()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_prepared_and_scripts_compress() {
        let paths: std::collections::HashSet<_> = ASSETS.iter().map(|a| a.path).collect();
        assert_eq!(paths.len(), ASSETS.len(), "an asset is listed twice");
        assert!(ASSETS.iter().all(|a| prepared(a.path).is_some()));
        let uppy = prepared("vendor/uppy/uppy.min.mjs").unwrap();
        let gz = uppy.gzip.as_ref().map(Vec::len).unwrap_or(usize::MAX);
        assert!(gz < 250_000, "uppy gzipped is {gz} bytes");
    }

    #[test]
    fn all_scripts_stay_under_500_kb_gzipped() {
        let total: usize = ASSETS
            .iter()
            .filter(|a| a.mime == JS)
            .filter_map(|a| prepared(a.path))
            .map(|p| p.gzip.as_ref().map_or(p.plain.len(), Vec::len))
            .sum();
        assert!(total < 500 * 1024, "the app's scripts are {total} bytes gzipped");
    }

    #[test]
    fn origins() {
        assert_eq!(origin("http://127.0.0.1:8080/x").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin("https://media.example.com").as_deref(), Some("https://media.example.com"));
        assert_eq!(origin("nonsense"), None);
    }
}
