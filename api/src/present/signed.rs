//! Signed `/images/…` URLs for private media, so the owner's own pages
//! (the web app's gallery and viewer) can show a private thumbnail or
//! original in an `<img>` or `<video>`, which cannot send a key.
//!
//! The signature covers `GET` and the exact path (see
//! `mediaq_shared::signing`). Its expiry is rounded to a window of half
//! `MEDIAQ_PRESIGN_TTL_SECS`, so the same URL is handed out for a while
//! and the browser's cache can keep the image (`Cache::Private`); it never
//! lies more than the configured lifetime ahead.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use mediaq_shared::domain::{Media, MediaKind, Variant};

use super::MediaUrls;
use crate::state::AppState;

/// When signatures made at `now` expire: the end of the window after the
/// current one, at most `ttl` ahead.
pub fn expiry(ttl: std::time::Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    let window = i64::try_from(ttl.as_secs() / 2).unwrap_or(i64::MAX / 4).max(1);
    let at = (now.timestamp() / window + 2) * window;
    DateTime::from_timestamp(at, 0).unwrap_or(now + TimeDelta::seconds(window))
}

/// `path` (which must start with `/images/`) with a signature query.
fn signed(state: &AppState, path: &str, expires_at: DateTime<Utc>) -> String {
    format!("{}{path}?{}", state.config.public_url, state.signer.sign("GET", path, expires_at))
}

/// A signed URL of one of `media`'s `/images/{id}/…` files: the original
/// (`variant` `None`) or a variant, valid as long as the owner's own.
pub fn signed_file(state: &AppState, media: &Media, variant: Option<&Variant>) -> String {
    let urls = MediaUrls::new(&state.config.public_url, media);
    let file = match variant {
        Some(v) => urls.variant_filename(v),
        None => format!("{}.{}", urls.name(), media.extension),
    };
    let path = format!("/images/{}/{file}", media.id);
    signed(state, &path, expiry(state.config.presign_ttl, Utc::now()))
}

/// For a private media: signs the variants' `url`s in `value` (a file
/// resource) and adds `signedUrl`, its original (images and videos only).
/// Public media are left as they are: their URLs work for anyone.
pub fn sign_private(state: &AppState, media: &Media, variants: &[Variant], value: &mut Value) {
    if media.is_public {
        return;
    }
    let urls = MediaUrls::new(&state.config.public_url, media);
    let expires_at = expiry(state.config.presign_ttl, Utc::now());
    for v in variants {
        if let Some(shown) = value["variants"].get_mut(v.kind.as_str()) {
            let path = format!("/images/{}/{}", media.id, urls.variant_filename(v));
            shown["url"] = json!(signed(state, &path, expires_at));
        }
    }
    if matches!(media.kind, MediaKind::Image | MediaKind::Video) {
        let path = format!("/images/{}/{}.{}", media.id, urls.name(), media.extension);
        value["signedUrl"] = json!(signed(state, &path, expires_at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_stable_within_a_window_and_never_past_the_ttl() {
        let ttl = std::time::Duration::from_secs(3600);
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let first = expiry(ttl, start);
        assert_eq!(expiry(ttl, start + TimeDelta::seconds(1000)), first);
        for s in (0..7200).step_by(97) {
            let now = start + TimeDelta::seconds(s);
            let left = (expiry(ttl, now) - now).num_seconds();
            assert!((1800..=3600).contains(&left), "{left} s left at +{s}");
        }
        let tiny = std::time::Duration::from_secs(1);
        assert!((expiry(tiny, start) - start).num_seconds() <= 2);
    }
}
