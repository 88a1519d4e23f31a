//! The HTTP API: routes, authentication, ingest and response shaping.
//! [`router`] builds the app (tests drive it without a socket); [`serve`]
//! runs it on a listener until `shutdown` resolves, letting in-flight
//! requests finish.

#![recursion_limit = "256"]

pub mod auth;
pub mod error;
pub mod ingest;
pub mod params;
pub mod present;
pub mod routes;
pub mod state;
pub mod wait;

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, put};
use tokio::net::TcpListener;
use tracing::Instrument;

use mediaq_shared::domain::random_token;

pub use state::AppState;

pub fn router(state: AppState) -> Router {
    let upload = get(routes::chevereto::upload).post(routes::chevereto::upload);
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route("/api/1/upload", upload.clone())
        .route("/api/1.1/upload", upload)
        .route("/api/v1/files/{id}", get(routes::files::get))
        .route("/images/{id}/{file}", get(routes::serve::image_file))
        .route("/_storage/{*key}", put(routes::signed::put).get(routes::signed::get))
        // Upload routes count bytes themselves against MEDIAQ_MAX_UPLOAD_BYTES.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` resolves; requests
/// already in flight are finished first.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, public_url = %state.config.public_url, "listening");
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// Logs every request once, with an id (also sent as `X-Request-Id`), its
/// outcome and duration. Query strings are never logged (they may carry a
/// key or a signature), nor the secret of a delete URL.
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

fn redact(path: &str) -> String {
    match path.find("/delete/") {
        Some(i) => format!("{}/delete/***", &path[..i]),
        None => path.to_owned(),
    }
}
