//! Copies, folder ZIPs, thumbnails by size and upload links, with the
//! shapes of their answers.

#![allow(dead_code)] // Doc-only functions and types: utoipa reads their attributes.

use chrono::{DateTime, Utc};
use utoipa::ToSchema;

use super::schemas::{File, Problem};

/// A folder copy: the new folder, and how many folders and files it took.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FolderCopied {
    id: String,
    name: String,
    parent_id: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Folders made (the new folder included).
    folders: u64,
    /// Files copied.
    files: u64,
}

/// An upload link (its token is shown once, when it is made).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UploadLink {
    id: String,
    folder_id: String,
    expires_at: Option<DateTime<Utc>>,
    max_files: Option<u64>,
    max_bytes: Option<u64>,
    /// Files taken so far (and uploads under way).
    files_used: u64,
    /// Bytes of files taken so far (and reserved by uploads under way).
    bytes_used: u64,
    has_password: bool,
    created_at: DateTime<Utc>,
    /// Only in the answer that made it.
    token: Option<String>,
    /// Where to upload: `POST` a multipart `file` there.
    url: Option<String>,
}

/// A page of upload links.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UploadLinkPage {
    items: Vec<UploadLink>,
    page: u64,
    limit: u64,
    total: u64,
    total_pages: u64,
}

/// An anonymous upload through a link (multipart).
#[derive(ToSchema)]
pub struct LinkUploadForm {
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// What an anonymous uploader learns of the file they sent.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct LinkUpload {
    id: String,
    name: String,
    size_bytes: u64,
}

#[utoipa::path(post, path = "/api/v1/files/{id}/copy", tag = "files", params(("id" = String, Path)),
    request_body = Option<crate::routes::copy::FileCopy>,
    responses((status = 201, body = File, description = "The copy: a new file, ready, with the same content"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found, not ready (409), over the quota (403)")))]
pub fn file_copy() {}

#[utoipa::path(post, path = "/api/v1/folders/{id}/copy", tag = "folders", params(("id" = String, Path)),
    request_body = Option<crate::routes::copy::FolderCopy>,
    responses((status = 201, body = FolderCopied, description = "The new folder with copies of everything in it"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found, too deep, over the quota (403)")))]
pub fn folder_copy() {}

#[utoipa::path(get, path = "/api/v1/folders/{id}/zip", tag = "folders", params(("id" = String, Path)),
    responses((status = 200, description = "A streamed ZIP of the folder, subfolders as paths", content_type = "application/zip"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found")))]
pub fn folder_zip() {}

#[utoipa::path(get, path = "/api/v1/public/links/{token}/zip", tag = "public", security(()),
    params(("token" = String, Path), ("password" = Option<String>, Query, description = "Or the X-Link-Password header"),
        ("X-Link-Password" = Option<String>, Header, description = "The link's password")),
    responses((status = 200, description = "A streamed ZIP of the linked folder", content_type = "application/zip"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found, view-only (403), password (401/403)")))]
pub fn link_zip() {}

#[utoipa::path(get, path = "/api/v1/files/{id}/thumb", tag = "files",
    params(("id" = String, Path),
        ("size" = String, Query, description = "WxH, each side 16 to 2048", example = "320x240"),
        ("crop" = Option<String>, Query, description = "1 fills WxH exactly (cut around the centre); 0 (default) fits inside"),
        ("format" = Option<String>, Query, description = "jpeg, png or webp; by default JPEG, or PNG when the image has transparent pixels")),
    responses((status = 200, description = "The thumbnail (X-Cache: MISS when rendered for this request, HIT when kept)", content_type = "image/jpeg"), (status = 304, description = "Not modified"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Bad size, not an image or video (400), not ready (409), not found")))]
pub fn file_thumb() {}

#[utoipa::path(get, path = "/api/v1/public/links/{token}/thumb", tag = "public", security(()),
    params(("token" = String, Path),
        ("size" = String, Query, description = "WxH, each side 16 to 2048", example = "320x240"),
        ("crop" = Option<String>, Query, description = "1 fills WxH exactly"),
        ("format" = Option<String>, Query, description = "jpeg, png or webp"),
        ("fileId" = Option<String>, Query, description = "The file, inside a folder link"),
        ("password" = Option<String>, Query, description = "Or the X-Link-Password header"),
        ("X-Link-Password" = Option<String>, Header, description = "The link's password")),
    responses((status = 200, description = "The thumbnail", content_type = "image/jpeg"), (status = 304, description = "Not modified"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Bad size, not found, password")))]
pub fn link_thumb() {}

#[utoipa::path(post, path = "/api/v1/folders/{id}/upload-links", tag = "upload-links", params(("id" = String, Path)),
    request_body = crate::routes::upload_links::NewUploadLink,
    responses((status = 201, body = UploadLink, description = "The link, with its token and URL shown once"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Bad value, not found")))]
pub fn upload_link_create() {}

#[utoipa::path(get, path = "/api/v1/upload-links", tag = "upload-links", params(crate::paging::ListQuery),
    responses((status = 200, body = UploadLinkPage, description = "The caller's live upload links, without tokens"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Bad parameters")))]
pub fn upload_links() {}

#[utoipa::path(delete, path = "/api/v1/upload-links/{id}", tag = "upload-links", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Not found")))]
pub fn upload_link_revoke() {}

#[utoipa::path(post, path = "/api/v1/public/upload/{token}", tag = "public", security(()),
    params(("token" = String, Path), ("X-Link-Password" = Option<String>, Header, description = "The link's password, when it has one")),
    request_body(content = LinkUploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = LinkUpload, description = "Stored in the link's folder; processing is queued"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "Unknown (404), over (410), full (403), too large (413), password (401/403), type (415)")))]
pub fn public_upload() {}
