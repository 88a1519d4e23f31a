//! Schemas of the JSON answers. The routes build their answers with
//! `serde_json::json!` from the stored rows (see `crate::present`), so the
//! shapes are written here once, beside the paths that use them; the
//! request bodies and query strings are the routes' own types. The e2e
//! test `openapi::answers_match_the_document` checks real answers of both
//! stacks against these schemas, and schemathesis checks them in CI.

#![allow(dead_code)] // Types read only by the `ToSchema` derive.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use utoipa::ToSchema;

/// An RFC 9457 problem: every native error.
#[derive(ToSchema)]
#[schema(title = "Problem")]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when none is more precise).
    r#type: String,
    title: String,
    status: u16,
    /// What was wrong, for a person.
    detail: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Kind {
    Image,
    Video,
    File,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Processing,
    Ready,
    Failed,
    Deleted,
    Expired,
}

/// A derivative (thumb, medium, frame…).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Variant {
    url: String,
    width: i64,
    height: i64,
    size_bytes: i64,
    content_type: Option<String>,
}

/// mediaq's own file resource.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct File {
    id: String,
    /// The file name.
    name: String,
    title: Option<String>,
    content_type: String,
    kind: Kind,
    size_bytes: i64,
    status: Status,
    /// Why processing failed.
    error: Option<String>,
    sha256: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    duration_ms: Option<i64>,
    is_public: bool,
    views: Option<i64>,
    downloads: Option<i64>,
    /// The current version's number, from 1.
    version: Option<i64>,
    version_count: Option<i64>,
    /// `publicUrl` with its token while the file is public.
    public_url: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    variants: BTreeMap<String, Variant>,
}

/// A page of files.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FilePage {
    items: Vec<File>,
    page: u64,
    limit: u64,
    total: u64,
    total_pages: u64,
}

/// A signed, expiring URL.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SignedUrl {
    url: String,
    expires_at: DateTime<Utc>,
}

/// Answer to `POST /api/v1/files/initiate`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Initiated {
    file_id: String,
    upload_url: String,
    expires_at: DateTime<Utc>,
}

/// The fields of a native upload (multipart); JSON takes `url` or
/// `base64` + `name` instead of `file`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UploadForm {
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: Option<String>,
    url: Option<String>,
    base64: Option<String>,
    name: Option<String>,
    title: Option<String>,
    folder_id: Option<String>,
    /// ISO 8601 duration (`PT10M`) or seconds.
    expiration: Option<String>,
}

/// A new version (multipart).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct VersionForm {
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
    version_name: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Version {
    version: i64,
    version_name: Option<String>,
    size_bytes: i64,
    sha256: Option<String>,
    content_type: String,
    created_at: DateTime<Utc>,
    current: bool,
}

#[derive(ToSchema)]
pub struct Versions {
    items: Vec<Version>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum TrashType {
    File,
    Folder,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TrashItem {
    id: String,
    r#type: TrashType,
    name: String,
    size_bytes: i64,
    deleted_at: DateTime<Utc>,
    purge_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TrashPage {
    items: Vec<TrashItem>,
    page: u64,
    limit: u64,
    total: u64,
    total_pages: u64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Folder {
    id: String,
    name: String,
    parent_id: Option<String>,
    created_at: DateTime<Utc>,
}

/// A list answer: `items`, and the page fields where the list is paged.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Items {
    items: Vec<serde_json::Value>,
    page: Option<u64>,
    limit: Option<u64>,
    total: Option<u64>,
    total_pages: Option<u64>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Link {
    id: String,
    target_kind: String,
    target_id: String,
    expires_at: Option<DateTime<Utc>>,
    allow_download: bool,
    max_views: Option<i64>,
    views: i64,
    has_password: bool,
    created_at: DateTime<Utc>,
    /// The file's or folder's name (in `GET /api/v1/links`).
    target_name: Option<String>,
    /// Shown once, when the link is made.
    token: Option<String>,
    url: Option<String>,
}

/// `GET /api/v1/public/links/{token}/meta`: what a link is (no view spent).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct LinkMeta {
    /// False for a wrong, expired, used-up or revoked token (then nothing else is sent).
    available: bool,
    /// `file` or `folder`.
    kind: Option<String>,
    password_required: Option<bool>,
    /// Whether the password sent is right (only when one was sent).
    password_accepted: Option<bool>,
    /// Once no password is needed or the one sent is right.
    allow_download: Option<bool>,
    expires_at: Option<DateTime<Utc>>,
    /// Views the link has left; null: no limit.
    views_left: Option<i64>,
}

#[derive(ToSchema)]
pub struct UserRef {
    id: i64,
    username: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Share {
    id: String,
    target_kind: String,
    target_id: String,
    /// The file's or folder's name; null once it is gone.
    target_name: Option<String>,
    created_at: DateTime<Utc>,
    owner: UserRef,
    sharee: UserRef,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct User {
    id: i64,
    username: String,
    role: String,
    status: String,
    quota_bytes: Option<i64>,
    quota_files: Option<i64>,
    created_at: DateTime<Utc>,
    used_bytes: Option<i64>,
    file_count: Option<i64>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Session {
    token: String,
    expires_at: DateTime<Utc>,
    user: User,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Key {
    id: i64,
    name: Option<String>,
    prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    /// The key itself: shown once, when it is made.
    key: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Stats {
    users: i64,
    pending_users: i64,
    suspended_users: i64,
    files: i64,
    bytes: i64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Webhook {
    id: String,
    url: String,
    events: Vec<String>,
    /// `whsec_` + base64: shown once, when the webhook is made.
    secret: Option<String>,
}

#[derive(ToSchema)]
pub struct NewWebhook {
    url: String,
    events: Vec<String>,
}

/// The Chevereto API v1 upload answer (see the Chevereto documentation).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub struct CheveretoAnswer {
    status_code: u16,
    status_txt: String,
    image: Option<serde_json::Value>,
    success: Option<serde_json::Value>,
    error: Option<serde_json::Value>,
}

/// A single presigned PUT for Uppy.
#[derive(ToSchema)]
pub struct PutParams {
    method: String,
    url: String,
    fields: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct MultipartCreated {
    upload_id: String,
    key: String,
}

#[derive(ToSchema)]
pub struct PartUrl {
    url: String,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(ToSchema)]
pub struct Part {
    #[schema(rename = "PartNumber")]
    part_number: u32,
    #[schema(rename = "Size")]
    size: Option<u64>,
    #[schema(rename = "ETag")]
    etag: String,
}

#[derive(ToSchema)]
pub struct Parts {
    parts: Vec<Part>,
}

#[derive(ToSchema)]
pub struct Location {
    location: String,
}
