//! The Chevereto route and resumable uploads (tus, S3 multipart for Uppy).

#![allow(dead_code)] // Doc-only functions: utoipa reads their attributes.

use super::schemas::{CheveretoAnswer, Location, MultipartCreated, PartUrl, Parts, Problem, PutParams};

#[utoipa::path(post, path = "/api/1/upload", tag = "chevereto",
    params(("key" = Option<String>, Query, description = "The API key (also X-API-Key)"), ("source" = Option<String>, Query, description = "A URL or base64")),
    request_body(content = serde_json::Value, content_type = "multipart/form-data", description = "Chevereto v1 fields: source, key, title, description, tags, album_id, category_id, width, expiration, nsfw, format, use_file_date"),
    responses((status = 200, body = CheveretoAnswer, description = "The Chevereto v1 answer"), (status = "4XX", body = CheveretoAnswer, description = "A Chevereto error")))]
pub fn chevereto() {}

/// The same route under Chevereto 1.1's path.
#[utoipa::path(post, path = "/api/1.1/upload", tag = "chevereto",
    params(("key" = Option<String>, Query, description = "The API key (also X-API-Key)"), ("source" = Option<String>, Query, description = "A URL or base64")),
    request_body(content = serde_json::Value, content_type = "multipart/form-data", description = "Chevereto v1 fields: source, key, title, description, tags, album_id, category_id, width, expiration, nsfw, format, use_file_date"),
    responses((status = 200, body = CheveretoAnswer, description = "The Chevereto v1 answer"), (status = "4XX", body = CheveretoAnswer, description = "A Chevereto error")))]
pub fn chevereto_1_1() {}

#[utoipa::path(options, path = "/api/v1/tus", tag = "tus", security(()),
    responses((status = 204, description = "Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm")))]
pub fn tus_options() {}

#[utoipa::path(post, path = "/api/v1/tus", tag = "tus",
    params(("Tus-Resumable" = String, Header), ("Upload-Length" = Option<u64>, Header), ("Upload-Metadata" = Option<String>, Header, description = "filename, filetype, folderId, title"),
        ("Upload-Defer-Length" = Option<u32>, Header)),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream", description = "creation-with-upload: the first bytes"),
    responses((status = 201, description = "Location: the upload (its id is the file's id)"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn tus_create() {}

#[utoipa::path(head, path = "/api/v1/tus/{id}", tag = "tus", params(("id" = String, Path), ("Tus-Resumable" = String, Header)),
    responses((status = 200, description = "Upload-Offset and Upload-Length"), (status = 404, description = "No such upload")))]
pub fn tus_head() {}

#[utoipa::path(patch, path = "/api/v1/tus/{id}", tag = "tus",
    params(("id" = String, Path), ("Tus-Resumable" = String, Header), ("Upload-Offset" = u64, Header), ("Upload-Checksum" = Option<String>, Header, description = "sha1 or sha256, base64")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses((status = 204, description = "The new Upload-Offset"), (status = 409, description = "Wrong offset"), (status = 460, description = "Checksum mismatch"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn tus_patch() {}

#[utoipa::path(delete, path = "/api/v1/tus/{id}", tag = "tus", params(("id" = String, Path), ("Tus-Resumable" = String, Header)),
    responses((status = 204, description = "Terminated; its bytes are removed"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn tus_delete() {}

#[utoipa::path(get, path = "/api/v1/s3/params", tag = "uppy",
    params(("filename" = String, Query), ("type" = Option<String>, Query)),
    responses((status = 200, body = PutParams, description = "A presigned single PUT"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn s3_params() {}

#[utoipa::path(post, path = "/api/v1/s3/multipart", tag = "uppy",
    request_body(content = serde_json::Value, description = "{filename, type, metadata}"),
    responses((status = 200, body = MultipartCreated, description = "The multipart upload"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn s3_create() {}

#[utoipa::path(get, path = "/api/v1/s3/multipart/{uploadId}/{partNumber}", tag = "uppy",
    params(("uploadId" = String, Path), ("partNumber" = u32, Path), ("key" = String, Query)),
    responses((status = 200, body = PartUrl, description = "A presigned part PUT"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn s3_sign_part() {}

#[utoipa::path(get, path = "/api/v1/s3/multipart/{uploadId}", tag = "uppy", params(("uploadId" = String, Path), ("key" = String, Query)),
    responses((status = 200, body = Vec<super::schemas::Part>, description = "The parts received"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn s3_list() {}

#[utoipa::path(post, path = "/api/v1/s3/multipart/{uploadId}/complete", tag = "uppy", params(("uploadId" = String, Path), ("key" = String, Query)),
    request_body = Parts,
    responses((status = 200, body = Location, description = "Assembled; the file is processed"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn s3_complete() {}

#[utoipa::path(delete, path = "/api/v1/s3/multipart/{uploadId}", tag = "uppy", params(("uploadId" = String, Path), ("key" = String, Query)),
    responses((status = 204, description = "Aborted"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn s3_abort() {}

#[utoipa::path(put, path = "/api/v1/s3/put/{id}", tag = "uppy", security(()),
    params(("id" = String, Path), ("expires" = i64, Query), ("signature" = String, Query)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses((status = 200, description = "Stored and recorded; `ETag` names the bytes"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn s3_put() {}
