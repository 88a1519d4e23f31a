//! Resumable and large uploads: tus 1.0.0 at `/api/v1/tus` ([`tus`]) and
//! the S3 multipart routes of Uppy's `@uppy/aws-s3` ([`uppy`]).
//!
//! Every upload is a row (`resumable_uploads`) whose id is the file id it
//! becomes; its offset, parts and writer live there, not in a process, so
//! an upload resumes after a restart and on any API process. One writer
//! at a time: a PATCH takes the row with a guarded update ([`Held`]) and
//! records its progress with another. Bytes are written where the backend
//! does it best ([`chunks`]): in place on the file system, as a multipart
//! upload (with a staging object for the tail under 5 MiB) on S3. Once the
//! last byte is in, [`finish`] hands the assembled object to the ingest
//! pipeline (type sniffing, quota, folder check, record, processing —
//! checksums are computed by the processing job, which streams the
//! original once).

mod chunks;
mod commits;
mod finish;
mod held;
mod meta;
mod parts;
mod signed;
mod tus;
mod tus_http;
mod uppy;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post, put};

use mediaq_shared::config::StorageConfig;

use crate::state::AppState;

/// The routes of this module; the part-upload route of the file system
/// store only where objects live on it.
pub fn router(state: &AppState) -> Router<AppState> {
    let routes = Router::new()
        .merge(tus::router())
        .route("/api/v1/s3/params", get(uppy::params))
        .route("/api/v1/s3/multipart", post(uppy::create))
        .route("/api/v1/s3/multipart/{upload_id}", get(uppy::list).delete(uppy::abort))
        .route("/api/v1/s3/multipart/{upload_id}/complete", post(uppy::complete))
        .route("/api/v1/s3/multipart/{upload_id}/{part}", get(uppy::sign_part))
        .route("/api/v1/s3/put/{id}", put(signed::single_put));
    let routes = match state.config.storage {
        StorageConfig::Fs { .. } => routes.route("/_multipart/{upload_id}/{part}", put(signed::part_put)),
        StorageConfig::S3(_) => routes,
    };
    // Outside the CORS layer, so a browser's preflight and a tus client's
    // discovery OPTIONS (answered by that layer alike) both carry them.
    routes
        .layer(crate::cors(&state.config.cors_origins))
        .layer(middleware::from_fn_with_state(state.clone(), tus::stamp))
}
