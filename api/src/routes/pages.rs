//! Server-rendered pages behind the Chevereto URLs: the viewer
//! (`/image/{slug}.{id}`, `/image/{id}`, and `/video/…`) with Open Graph and
//! Twitter card tags, and the delete page (`…/delete/{secret}`: GET asks
//! for confirmation, POST or DELETE deletes). Every user-supplied string
//! is HTML-escaped; pages load nothing but our own media URLs.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};

use mediaq_shared::domain::{Media, MediaId, MediaKind, VariantKind};

use crate::error::ApiError;
use crate::lifecycle::retire;
use crate::policy::{self, constant_time_eq, is_live};
use crate::present::chevereto::{format_bytes, html_escape as esc};
use crate::present::{MediaUrls, find};
use crate::state::AppState;

const CSP: &str = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// `{slug}.{id}` or `{id}` → the id.
fn id_of(slug_id: &str) -> Option<MediaId> {
    MediaId::parse(slug_id.rsplit('.').next().unwrap_or(slug_id))
}

/// A public, live media of an active owner for a page, or 404.
async fn shown(state: &AppState, slug_id: &str) -> Result<Media, Response> {
    let Some(id) = id_of(slug_id) else { return Err(not_found()) };
    match policy::public_media(state, &id, false).await {
        Ok(m) => Ok(m),
        Err(ApiError::NotFound) => Err(not_found()),
        Err(e) => Err(e.into_response()),
    }
}

/// `GET /image/{slug_id}` (and `/video/…`): the viewer page.
pub async fn viewer(State(state): State<AppState>, Path(slug_id): Path<String>) -> Response {
    let media = match shown(&state, &slug_id).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    if let Err(e) = state.repo.add_view(&media.id).await {
        tracing::warn!(error = %e, "view not counted");
    }
    let variants = state.repo.variants(&media.id).await.unwrap_or_default();
    let urls = MediaUrls::new(&state.config.public_url, &media);
    let title = media.title.clone().unwrap_or_else(|| media.original_filename.clone());
    let preview = find(&variants, VariantKind::Medium)
        .or_else(|| find(&variants, VariantKind::Frame))
        .map_or_else(|| urls.original(), |v| urls.variant(v));
    let (w, h) = (media.width.unwrap_or(0), media.height.unwrap_or(0));
    let body = match media.kind {
        MediaKind::Image => {
            format!(r#"<img src="{}" alt="{}" width="{w}" height="{h}">"#, esc(&urls.original()), esc(&title))
        }
        MediaKind::Video => format!(
            r#"<video controls preload="metadata" poster="{}" src="{}" width="{w}" height="{h}"></video>"#,
            esc(&preview),
            esc(&urls.original())
        ),
        // Never shown inline: the original is sent as an attachment.
        MediaKind::File => {
            format!(r#"<p><a href="{}" download>Download {}</a></p>"#, esc(&urls.original()), esc(&title))
        }
    };
    let video_tags = match media.kind {
        MediaKind::Video => format!(
            r#"<meta property="og:video" content="{0}"><meta property="og:video:type" content="{1}"><meta property="og:video:width" content="{w}"><meta property="og:video:height" content="{h}">"#,
            esc(&urls.original()),
            esc(&media.mime)
        ),
        MediaKind::Image | MediaKind::File => String::new(),
    };
    let description =
        media.description.clone().unwrap_or_else(|| format!("{} · {w}×{h} · {}", format_bytes(media.size), media.mime));
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta property="og:title" content="{title}"><meta property="og:description" content="{desc}">
<meta property="og:type" content="{og_type}"><meta property="og:url" content="{page}">
<meta property="og:image" content="{preview}"><meta property="og:image:width" content="{w}"><meta property="og:image:height" content="{h}">
{video_tags}
<meta name="twitter:card" content="summary_large_image"><meta name="twitter:title" content="{title}"><meta name="twitter:image" content="{preview}">
<link rel="canonical" href="{page}">
<style>body{{font-family:system-ui,sans-serif;margin:0;background:#111;color:#eee;text-align:center}}main{{padding:1rem}}img,video{{max-width:100%;height:auto}}a{{color:#9cf}}</style>
</head><body><main><h1>{title}</h1>{body}
<p>{size} · {w}×{h} · uploaded {date} UTC · <a href="{original}">original</a></p></main></body></html>"#,
        title = esc(&title),
        desc = esc(&description),
        og_type = if media.kind == MediaKind::Video { "video.other" } else { "website" },
        page = esc(&urls.viewer()),
        preview = esc(&preview),
        size = format_bytes(media.size),
        date = media.created_at.format("%Y-%m-%d %H:%M"),
        original = esc(&urls.original()),
    );
    page(StatusCode::OK, html)
}

/// `GET|POST|DELETE /image/{slug_id}/delete/{secret}`.
pub async fn delete(
    State(state): State<AppState>,
    method: Method,
    Path((slug_id, secret)): Path<(String, String)>,
) -> Response {
    let Some(id) = id_of(&slug_id) else { return not_found() };
    // The delete URL removes for good, also a media in the trash.
    let media = match state.repo.media(&id).await {
        Ok(m) if is_live(&m) || (m.trashed_at.is_some() && !m.status.is_retired()) => m,
        _ => return not_found(),
    };
    let given = hex::encode(Sha256::digest(secret.as_bytes()));
    let stored = state.repo.delete_secret_hash(&id).await.ok().flatten();
    if !stored.is_some_and(|s| constant_time_eq(s.as_bytes(), given.as_bytes())) {
        return not_found();
    }
    let title = esc(media.title.as_deref().unwrap_or(&media.original_filename));
    if method == Method::GET || method == Method::HEAD {
        // A GET never deletes (link previews and prefetchers follow links).
        let html = format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Delete {title}?</title></head><body>
<h1>Delete “{title}”?</h1><p>This removes the file and every derivative. It cannot be undone.</p>
<form method="post"><button type="submit">Delete</button></form></body></html>"#
        );
        return page(StatusCode::OK, html);
    }
    if let Err(e) = retire(&state, &media.id).await {
        return e.into_response();
    }
    if method == Method::DELETE {
        return StatusCode::NO_CONTENT.into_response();
    }
    page(
        StatusCode::OK,
        format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Deleted</title></head><body><h1>“{title}” was deleted.</h1></body></html>"#
        ),
    )
}

fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head><body><h1>Not found</h1><p>This file does not exist, was deleted or has expired.</p></body></html>".into())
}

fn page(status: StatusCode, html: String) -> Response {
    let mut res = (status, Html(html)).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}
