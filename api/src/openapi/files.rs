//! Files, versions, trash and live status.

#![allow(dead_code)] // Doc-only functions: utoipa reads their attributes.

use super::schemas::{File, FilePage, Initiated, Problem, SignedUrl, TrashPage, UploadForm, VersionForm, Versions};

#[utoipa::path(get, path = "/api/v1/files", tag = "files", params(crate::routes::files::ListParams),
    responses((status = 200, body = FilePage, description = "The caller's files"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Bad parameters or no key")))]
pub fn list() {}

#[utoipa::path(post, path = "/api/v1/files", tag = "files",
    request_body(content(
        (UploadForm = "multipart/form-data"),
        (UploadForm = "application/json"),
    )),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeats answer with the first upload")),
    responses((status = 202, body = File, description = "Stored; processing is queued"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Refused: size, type, quota, key")))]
pub fn create() {}

#[utoipa::path(post, path = "/api/v1/files/initiate", tag = "files", request_body = crate::routes::upload::Initiate,
    responses((status = 200, body = Initiated, description = "Where to PUT the bytes"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Refused")))]
pub fn initiate() {}

#[utoipa::path(post, path = "/api/v1/files/complete", tag = "files", request_body = crate::routes::upload::Complete,
    responses((status = 202, body = File, description = "Verified; processing is queued"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Missing, wrong size or type")))]
pub fn complete() {}

#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files", params(("id" = String, Path)),
    responses((status = 200, body = File, description = "The file"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found")))]
pub fn get() {}

#[utoipa::path(patch, path = "/api/v1/files/{id}", tag = "files", params(("id" = String, Path)), request_body = crate::routes::files::Patch,
    responses((status = 200, body = File, description = "The changed file"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Bad value or not found")))]
pub fn patch() {}

#[utoipa::path(delete, path = "/api/v1/files/{id}", tag = "files",
    params(("id" = String, Path), ("permanent" = Option<bool>, Query, description = "Delete for good instead of moving to the trash")),
    responses((status = 204, description = "Trashed (or deleted)"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found")))]
pub fn delete() {}

#[utoipa::path(get, path = "/api/v1/files/{id}/download", tag = "files", params(("id" = String, Path)),
    responses((status = 200, body = SignedUrl, description = "A signed download URL"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found")))]
pub fn download() {}

#[utoipa::path(get, path = "/api/v1/public/files/{id}/download", tag = "public", security(()),
    params(("id" = String, Path), ("token" = String, Query)),
    responses((status = 200, description = "The bytes", content_type = "application/octet-stream"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Wrong or revoked token")))]
pub fn public_download() {}

#[utoipa::path(get, path = "/api/v1/files/{id}/versions", tag = "versions", params(("id" = String, Path)),
    responses((status = 200, body = Versions, description = "Newest first"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found")))]
pub fn versions() {}

#[utoipa::path(post, path = "/api/v1/files/{id}/versions", tag = "versions", params(("id" = String, Path)),
    request_body(content = VersionForm, content_type = "multipart/form-data"),
    responses((status = 202, body = File, description = "The new current version"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Refused")))]
pub fn new_version() {}

#[utoipa::path(get, path = "/api/v1/files/{id}/versions/{n}/download", tag = "versions", params(("id" = String, Path), ("n" = u32, Path)),
    responses((status = 200, body = SignedUrl, description = "A signed URL for version n"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found")))]
pub fn version_download() {}

#[utoipa::path(post, path = "/api/v1/files/{id}/versions/{n}/restore", tag = "versions", params(("id" = String, Path), ("n" = u32, Path)),
    responses((status = 202, body = File, description = "Version n's content became version N+1"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found")))]
pub fn version_restore() {}

#[utoipa::path(delete, path = "/api/v1/files/{id}/versions/{n}", tag = "versions", params(("id" = String, Path), ("n" = u32, Path)),
    responses((status = 204, description = "Removed"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found, or 409 for the current version")))]
pub fn version_delete() {}

#[utoipa::path(get, path = "/api/v1/trash", tag = "trash", params(crate::routes::trash::Paging),
    responses((status = 200, body = TrashPage, description = "Trashed files and folders"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Bad parameters")))]
pub fn trash() {}

#[utoipa::path(delete, path = "/api/v1/trash", tag = "trash", responses((status = 204, description = "Emptied")))]
pub fn trash_empty() {}

#[utoipa::path(post, path = "/api/v1/trash/{id}/restore", tag = "trash", params(("id" = String, Path)),
    responses((status = 200, description = "The restored file or folder", body = serde_json::Value), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not in the trash")))]
pub fn trash_restore() {}

#[utoipa::path(delete, path = "/api/v1/trash/{id}", tag = "trash", params(("id" = String, Path)),
    responses((status = 204, description = "Removed for good"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not in the trash")))]
pub fn trash_remove() {}

#[utoipa::path(get, path = "/api/v1/files/{id}/events", tag = "files", params(("id" = String, Path)),
    responses((status = 200, description = "Server-Sent Events: one `status` event per change, closed once settled", content_type = "text/event-stream"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found")))]
pub fn events() {}
