//! The HTTP API: routes, authentication, ingest and response shaping.
//! [`router`] builds the app (tests drive it without a socket); [`serve`]
//! runs it on a listener until `shutdown` resolves, letting in-flight
//! requests finish.

#![recursion_limit = "256"]

pub mod audit;
pub mod auth;
pub mod body;
pub mod cache;
pub mod copying;
pub mod delivery;
pub mod error;
pub mod idempotency;
pub mod ingest;
pub mod json;
pub mod lifecycle;
pub mod link_access;
pub mod metrics;
pub mod openapi;
pub mod paging;
pub mod params;
pub mod passwords;
pub mod policy;
pub mod present;
pub mod quota;
pub mod ratelimit;
pub mod resumable;
pub mod routes;
pub mod sse;
pub mod state;
pub mod thumbnails;
pub mod wait;
pub mod webapp;
pub mod webhooks;
pub mod zipper;

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, patch, post, put};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use mediaq_shared::config::{CorsOrigins, StorageConfig};
use mediaq_shared::domain::random_token;

pub use state::AppState;

pub fn router(state: AppState) -> Router {
    use routes::{admin, auth, chevereto, files, folders, health, keys, links, pages, serve, shares, signed, upload};
    let chevereto_upload = get(chevereto::upload).post(chevereto::upload);
    let delete_page = get(pages::delete).post(pages::delete).delete(pages::delete);
    let cors = cors(&state.config.cors_origins);
    let limits = ratelimit::RateLimits::new(&state.config);
    let upload_limit = middleware::from_fn_with_state(limits.clone(), ratelimit::upload);
    let login_limit = middleware::from_fn_with_state(limits.clone(), ratelimit::login);
    let register_limit = middleware::from_fn_with_state(limits.clone(), ratelimit::register);
    // The signed storage route serves the file system store only: on S3
    // presigned URLs go to the bucket, and this route must not read it.
    let storage = match state.config.storage {
        StorageConfig::Fs { .. } => Router::new().route("/_storage/{*key}", put(signed::put).get(signed::get)),
        StorageConfig::S3(_) => Router::new(),
    };
    let api = Router::new()
        .route("/api/1/upload", chevereto_upload.clone().route_layer(upload_limit.clone()))
        .route("/api/1.1/upload", chevereto_upload.route_layer(upload_limit.clone()))
        .route(
            "/api/v1/files",
            get(files::list).post(axum::handler::Handler::layer(upload::create, upload_limit.clone())),
        )
        .route("/api/v1/files/initiate", post(upload::initiate).route_layer(upload_limit))
        .route("/api/v1/files/complete", post(upload::complete))
        .route("/api/v1/files/{id}", get(files::get).patch(files::patch).delete(files::delete))
        .route("/api/v1/files/{id}/download", get(files::download))
        .route("/api/v1/public/files/{id}/download", get(files::public_download))
        .route("/api/v1/auth/register", post(auth::register).route_layer(register_limit))
        .route("/api/v1/auth/login", post(auth::login).route_layer(login_limit))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/me", get(auth::me))
        .route("/api/v1/auth/password", post(auth::change_password))
        .route("/api/v1/keys", get(keys::list).post(keys::create))
        .route("/api/v1/keys/{id}", delete(keys::revoke))
        .route("/api/v1/folders", get(folders::list).post(folders::create))
        .route("/api/v1/folders/{id}", get(folders::get).patch(folders::patch).delete(folders::delete))
        .route("/api/v1/folders/{id}/path", get(folders::path))
        .route("/api/v1/links", get(links::list).post(links::create))
        .route("/api/v1/links/{id}", delete(links::revoke))
        .route("/api/v1/public/links/{token}", get(links::view))
        .route("/api/v1/public/links/{token}/download", get(links::download))
        .route("/api/v1/public/links/{token}/files/{id}/download", get(links::folder_download))
        .route("/api/v1/shares", post(shares::create))
        .route("/api/v1/shares/with-me", get(shares::with_me))
        .route("/api/v1/shares/by-me", get(shares::by_me))
        .route("/api/v1/shares/{id}", delete(shares::revoke))
        .route("/api/v1/admin/users", get(admin::list_users))
        .route("/api/v1/admin/users/{id}", patch(admin::patch_user).delete(admin::delete_user))
        .route("/api/v1/admin/stats", get(admin::stats))
        .route("/api/v1/admin/audit", get(admin::audit_log))
        .route("/api/v1/admin/users/{id}/approve", post(admin::approve))
        .route("/api/v1/admin/users/{id}/suspend", post(admin::suspend))
        .merge(routes::trash::router())
        .merge(routes::versions::router())
        .merge(routes::link_meta::router())
        .merge(sse::router())
        .merge(openapi::router())
        .merge(webhooks::router())
        .merge(storage)
        .merge(
            routes::thumbs::router()
                .merge(routes::upload_links::router(limits.clone()))
                .merge(routes::zip::router())
                .merge(routes::copy::router()),
        )
        .layer(cors)
        // Its own CORS layer inside tus headers on every OPTIONS answer.
        .merge(resumable::router(&state));
    let guards = body::Guards {
        timeout: state.config.body_timeout,
        budget: body::MemoryBudget::new(state.config.request_memory_bytes),
    };
    Router::new()
        .merge(api)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(metrics::router(&state))
        .merge(webapp::router())
        .route("/images/{id}/{file}", get(serve::image_file))
        .route("/image/{slug_id}", get(pages::viewer))
        .route("/video/{slug_id}", get(pages::viewer))
        .route("/image/{slug_id}/delete/{secret}", delete_page.clone())
        .route("/video/{slug_id}/delete/{secret}", delete_page)
        // Upload routes count bytes themselves against MEDIAQ_MAX_UPLOAD_BYTES.
        .layer(DefaultBodyLimit::disable())
        // Link handlers count password attempts themselves.
        .layer(axum::Extension(limits))
        .layer(middleware::from_fn_with_state(guards, body::guard))
        .layer(middleware::from_fn(log_request))
        .layer(middleware::from_fn(metrics::track))
        .with_state(state)
}

/// CORS for browser clients: API keys travel in headers, never cookies,
/// so allowing any origin exposes nothing by default.
pub(crate) fn cors(origins: &CorsOrigins) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-api-key"),
            HeaderName::from_static("idempotency-key"),
            // tus clients (resumable uploads).
            HeaderName::from_static("tus-resumable"),
            HeaderName::from_static("upload-length"),
            HeaderName::from_static("upload-offset"),
            HeaderName::from_static("upload-metadata"),
            HeaderName::from_static("upload-checksum"),
            HeaderName::from_static("upload-defer-length"),
            HeaderName::from_static("upload-concat"),
            HeaderName::from_static("x-http-method-override"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("upload-offset"),
            HeaderName::from_static("upload-length"),
            HeaderName::from_static("upload-expires"),
            HeaderName::from_static("upload-metadata"),
            HeaderName::from_static("tus-version"),
            HeaderName::from_static("tus-resumable"),
            HeaderName::from_static("tus-extension"),
            HeaderName::from_static("tus-max-size"),
            HeaderName::from_static("tus-checksum-algorithm"),
        ])
        .max_age(std::time::Duration::from_secs(3600));
    match origins {
        CorsOrigins::Any => layer.allow_origin(AllowOrigin::any()),
        CorsOrigins::List(list) => {
            layer.allow_origin(AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok())))
        }
    }
}

/// Serves `router(state)` on `listener` until `shutdown` resolves; requests
/// already in flight are finished first.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, public_url = %state.config.public_url, "listening");
    // Event streams end when shutdown begins, or it would wait for them.
    let closing = sse::Closing::default();
    let app = router(state)
        .layer(axum::Extension(closing.clone()))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let shutdown = async move {
        shutdown.await;
        closing.close();
    };
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// Logs every request once, with an id (also sent as `X-Request-Id`), its
/// outcome and duration. Query strings are never logged (they may carry a
/// key, a token, a password or a signature), nor the secrets inside paths
/// (see [`redact`]).
async fn log_request(request: Request, next: Next) -> Response {
    let id = random_token(12);
    let method = request.method().clone();
    let path = redact(request.uri().path());
    let span = tracing::info_span!("request", %id, %method, %path);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_millis();
    span.in_scope(|| tracing::info!(status, ms, "request"));
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// The path with its secret segments replaced by `***`: the token of a
/// link (`/api/v1/public/links/{token}…`) or an upload link
/// (`/api/v1/public/upload/{token}`), and everything after `/delete/` (the
/// delete secret of a Chevereto `delete_url`).
fn redact(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    if segments.len() > 5 && segments[1..4] == ["api", "v1", "public"] && matches!(segments[4], "links" | "upload") {
        segments[5] = "***";
    }
    if let Some(i) = segments.iter().position(|s| *s == "delete")
        && i + 1 < segments.len()
    {
        segments.truncate(i + 1);
        segments.push("***");
    }
    segments.join("/")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn secrets_are_redacted_from_logged_paths() {
        assert_eq!(redact("/api/v1/public/links/AbC123"), "/api/v1/public/links/***");
        assert_eq!(redact("/api/v1/public/links/AbC123/download"), "/api/v1/public/links/***/download");
        assert_eq!(
            redact("/api/v1/public/links/AbC/files/xyz/download"),
            "/api/v1/public/links/***/files/xyz/download"
        );
        assert_eq!(redact("/api/v1/public/upload/tok"), "/api/v1/public/upload/***");
        assert_eq!(redact("/image/cat.abc/delete/s3cr3t"), "/image/cat.abc/delete/***");
        assert_eq!(redact("/video/x/delete/s"), "/video/x/delete/***");
        // Ordinary paths are kept, ids included.
        assert_eq!(redact("/api/v1/links/abc"), "/api/v1/links/abc");
        assert_eq!(redact("/api/v1/files/abc/download"), "/api/v1/files/abc/download");
        assert_eq!(redact("/images/abc/cat.jpg"), "/images/abc/cat.jpg");
    }
}
