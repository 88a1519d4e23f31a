//! The OpenAPI 3.1 document of every `/api/v1` route (and the Chevereto
//! route), served at `GET /api/v1/openapi.json`, and `GET /api/docs`,
//! which renders it with the vendored Swagger UI (`web/vendor/swagger-ui`,
//! served by mediaq itself: no CDN).
//!
//! The document is generated with utoipa from the code: the request bodies
//! and query strings are the routes' own types (`ToSchema` / `IntoParams`
//! derives), and the answers' shapes sit in [`schemas`]. The test
//! `tests/e2e/openapi.rs` checks that every route the router serves is in
//! the document and that real answers match it; CI runs schemathesis
//! against a running server.

mod accounts;
mod extras;
mod files;
pub mod schemas;
mod sharing;
mod uploads;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::{Modify, OpenApi};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "mediaq", description = "Media and file hosting: uploads, processing, folders, links, shares. \
        Native errors are application/problem+json (RFC 9457).", license(name = "MIT")),
    modifiers(&Security),
    security(("apiKey" = []), ("bearer" = [])),
    paths(
        files::list, files::create, files::initiate, files::complete, files::get, files::patch, files::delete,
        files::download, files::public_download, files::versions, files::new_version, files::version_download,
        files::version_restore, files::version_delete, files::trash, files::trash_empty, files::trash_restore,
        files::trash_remove, files::events,
        sharing::folders, sharing::folder_create, sharing::folder, sharing::folder_patch, sharing::folder_delete,
        sharing::folder_path, sharing::links, sharing::link_create, sharing::link_revoke, sharing::link_view, sharing::link_meta,
        sharing::link_download, sharing::link_file_download,
        sharing::share_create, sharing::shares_with_me, sharing::shares_by_me, sharing::share_revoke,
        accounts::register, accounts::login, accounts::logout, accounts::me, accounts::password, accounts::keys,
        accounts::key_create, accounts::key_revoke, accounts::webhook_create, accounts::webhooks,
        accounts::webhook_delete, accounts::webhook_deliveries, accounts::users, accounts::user_patch,
        accounts::user_delete, accounts::approve, accounts::suspend, accounts::stats, accounts::audit,
        openapi_document, uploads::chevereto, uploads::chevereto_1_1, uploads::tus_options, uploads::tus_create, uploads::tus_head, uploads::tus_patch,
        uploads::tus_delete, uploads::s3_params, uploads::s3_create, uploads::s3_sign_part, uploads::s3_list,
        uploads::s3_complete, uploads::s3_abort, uploads::s3_put,
        extras::file_copy, extras::folder_copy, extras::folder_zip, extras::link_zip, extras::file_thumb,
        extras::link_thumb, extras::upload_link_create, extras::upload_links, extras::upload_link_revoke,
        extras::public_upload,
    )
)]
pub struct ApiDoc;

/// The two ways to send a key: `X-API-Key`, or `Authorization: Bearer`
/// with a key or a session token from `/api/v1/auth/login`.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("apiKey", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document for this server (`servers` names its public URL), made
/// once.
pub fn document(public_url: &str) -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        doc.servers = Some(vec![Server::new(public_url)]);
        doc.to_pretty_json().unwrap_or_default()
    })
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/docs", get(docs_page))
        .route("/api/docs/docs.js", get(|| asset(DOCS_JS, JS)))
        .route("/api/docs/swagger-ui-bundle.js", get(|| asset(SWAGGER_JS, JS)))
        .route("/api/docs/swagger-ui.css", get(|| asset(SWAGGER_CSS, "text/css; charset=utf-8")))
}

const JS: &str = "text/javascript; charset=utf-8";
const SWAGGER_JS: &[u8] = include_bytes!("../../../web/vendor/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_CSS: &[u8] = include_bytes!("../../../web/vendor/swagger-ui/swagger-ui.css");
const DOCS_JS: &[u8] =
    b"window.onload = () => { window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#docs' }); };\n";
const DOCS_HTML: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>mediaq API</title>\
<link rel=\"stylesheet\" href=\"/api/docs/swagger-ui.css\"></head>\
<body><div id=\"docs\"></div><script src=\"/api/docs/swagger-ui-bundle.js\"></script>\
<script src=\"/api/docs/docs.js\"></script></body></html>\n";

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "This document", body = serde_json::Value)))]
#[allow(dead_code)] // Doc-only: utoipa reads its attributes.
fn openapi_document() {}

async fn openapi_json(State(state): State<AppState>) -> Response {
    let doc = document(&state.config.public_url);
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], doc).into_response()
}

/// The page: scripts from this origin only; Swagger UI sets inline styles.
async fn docs_page() -> Response {
    let csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
        connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp)),
        ],
        DOCS_HTML,
    )
        .into_response()
}

async fn asset(bytes: &'static [u8], mime: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        bytes,
    )
        .into_response()
}
