//! Folders, links, shares and upload links, and what they open to the
//! public.

#![allow(dead_code)] // Doc-only functions: utoipa reads their attributes.

use super::schemas::{Folder, Items, Link, LinkMeta, Problem, Share};

#[utoipa::path(get, path = "/api/v1/folders", tag = "folders", params(crate::routes::folders::Children, crate::paging::ListQuery),
    responses((status = 200, body = Items, description = "Folders"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn folders() {}

#[utoipa::path(post, path = "/api/v1/folders", tag = "folders", request_body = crate::routes::folders::NewFolder,
    responses((status = 201, body = Folder, description = "The new folder"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn folder_create() {}

#[utoipa::path(get, path = "/api/v1/folders/{id}", tag = "folders", params(("id" = String, Path)),
    responses((status = 200, body = Folder, description = "The folder, its path and children"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn folder() {}

#[utoipa::path(patch, path = "/api/v1/folders/{id}", tag = "folders", params(("id" = String, Path)),
    request_body = crate::routes::folders::FolderPatch,
    responses((status = 200, body = Folder, description = "Renamed or moved"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn folder_patch() {}

#[utoipa::path(delete, path = "/api/v1/folders/{id}", tag = "folders",
    params(("id" = String, Path), ("permanent" = Option<bool>, Query, description = "Delete for good instead of moving to the trash")),
    responses((status = 204, description = "Trashed (or deleted) with everything in it"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn folder_delete() {}

#[utoipa::path(get, path = "/api/v1/folders/{id}/path", tag = "folders", params(("id" = String, Path)),
    responses((status = 200, body = Items, description = "The folder's ancestors, root first"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn folder_path() {}

#[utoipa::path(get, path = "/api/v1/links", tag = "links", params(crate::paging::ListQuery), responses((status = 200, body = Items, description = "The caller's links"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn links() {}

#[utoipa::path(post, path = "/api/v1/links", tag = "links", request_body = crate::routes::links::NewLink,
    responses((status = 201, body = Link, description = "The link, with its token shown once"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn link_create() {}

#[utoipa::path(delete, path = "/api/v1/links/{id}", tag = "links", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn link_revoke() {}

#[utoipa::path(get, path = "/api/v1/public/links/{token}", tag = "public", security(()), params(("token" = String, Path), crate::routes::links::Access),
    description = "Spends one view. A file link: `{kind: \"file\", file, allowDownload, downloadUrl, preview}`, where `preview` is \
        `{url, type: \"image\"|\"video\"}` (a signed URL that spends no view: the original when downloads are allowed, else a still) \
        or null. A folder link: `{kind: \"folder\", folder, folders, files, allowDownload}`, each file with `downloadUrl` (when \
        allowed) and `thumbUrl` (signed, or null).",
    responses((status = 200, body = serde_json::Value, description = "The linked file, or a folder's files and subfolders"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn link_view() {}

#[utoipa::path(get, path = "/api/v1/public/links/{token}/meta", tag = "public", security(()),
    params(("token" = String, Path), crate::routes::link_meta::MetaQuery),
    description = "What a link is, before opening it; spends no view and answers 200 for any token: \
        `{available: false}` for a wrong, expired, used-up or revoked one, else `available`, `kind` (`file`, `folder`), \
        `passwordRequired`, `passwordAccepted` (when a password was sent, as `X-Link-Password` or `?password=`), and \
        once no password is needed or the one sent is right `allowDownload`, `expiresAt`, `viewsLeft` (null: no limit).",
    responses((status = 200, body = LinkMeta, description = "What the link is"), (status = 429, body = Problem, content_type = "application/problem+json", description = "Too many password attempts")))]
pub fn link_meta() {}

#[utoipa::path(get, path = "/api/v1/public/links/{token}/download", tag = "public", security(()), params(("token" = String, Path), crate::routes::links::Access),
    responses((status = 200, description = "The bytes", content_type = "application/octet-stream"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn link_download() {}

#[utoipa::path(get, path = "/api/v1/public/links/{token}/files/{id}/download", tag = "public", security(()),
    params(("token" = String, Path), ("id" = String, Path), crate::routes::links::Access),
    responses((status = 200, description = "The bytes", content_type = "application/octet-stream"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn link_file_download() {}

#[utoipa::path(post, path = "/api/v1/shares", tag = "shares", request_body = crate::routes::shares::NewShare,
    responses((status = 201, body = Share, description = "The share"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn share_create() {}

#[utoipa::path(get, path = "/api/v1/shares/with-me", tag = "shares", params(crate::paging::ListQuery), responses((status = 200, body = Items, description = "Shared with the caller"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn shares_with_me() {}

#[utoipa::path(get, path = "/api/v1/shares/by-me", tag = "shares", params(crate::paging::ListQuery), responses((status = 200, body = Items, description = "Shared by the caller"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn shares_by_me() {}

#[utoipa::path(delete, path = "/api/v1/shares/{id}", tag = "shares", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn share_revoke() {}
