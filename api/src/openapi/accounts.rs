//! Accounts, sessions, keys, webhooks and administration.

#![allow(dead_code)] // Doc-only functions: utoipa reads their attributes.

use super::schemas::{Items, Key, NewWebhook, Problem, Session, Stats, User, Webhook};

#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", security(()), request_body = crate::routes::auth::Credentials,
    responses((status = 201, body = User, description = "Registered (pending approval unless registration is open)"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn register() {}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()), request_body = crate::routes::auth::Credentials,
    responses((status = 200, body = Session, description = "A session token for the Authorization header"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn login() {}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204, description = "The session ended"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn logout() {}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = User, description = "The caller"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn me() {}

#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = crate::routes::auth::PasswordChange,
    responses((status = 204, description = "Changed"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn password() {}

#[utoipa::path(get, path = "/api/v1/keys", tag = "keys", responses((status = 200, body = Items, description = "The caller's keys (never the keys themselves)"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn keys() {}

#[utoipa::path(post, path = "/api/v1/keys", tag = "keys", request_body = crate::routes::keys::NewKey,
    responses((status = 201, body = Key, description = "The key, shown once"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn key_create() {}

#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "keys", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn key_revoke() {}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = Webhook, description = "The webhook, with its secret shown once"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn webhook_create() {}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", responses((status = 200, body = Items, description = "The caller's webhooks"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn webhooks() {}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn webhook_delete() {}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = Items, description = "Recent deliveries: event, attempt, HTTP status, time"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn webhook_deliveries() {}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(crate::routes::admin::UserQuery),
    responses((status = 200, body = Items, description = "Users"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn users() {}

#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", params(("id" = String, Path)),
    request_body = crate::routes::admin::UserPatch,
    responses((status = 200, body = User, description = "The changed user"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn user_patch() {}

#[utoipa::path(delete, path = "/api/v1/admin/users/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 202, body = serde_json::Value, description = "Locked out; files are being removed"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn user_delete() {}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/approve", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = User, description = "Approved"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn approve() {}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/suspend", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = User, description = "Suspended"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn suspend() {}

#[utoipa::path(get, path = "/api/v1/admin/stats", tag = "admin", responses((status = 200, body = Stats, description = "Counts"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn stats() {}

#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(crate::routes::admin::AuditQuery),
    responses((status = 200, body = Items, description = "The audit log, newest first"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "A problem")))]
pub fn audit() {}
