//! The Chevereto API v1 `image` object, every field of the reference
//! response filled from the stored media.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use mediaq_shared::domain::{Media, MediaStatus, Variant, VariantKind};

use super::{MediaUrls, find};

const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
const TITLE_SHOWN: usize = 25;

/// The `image` object for `media`; `delete_secret` is known only in the
/// upload response.
pub fn image(base: &str, media: &Media, variants: &[Variant], delete_secret: Option<&str>) -> Value {
    let urls = MediaUrls::new(base, media);
    let thumb = find(variants, VariantKind::Thumb);
    let medium = find(variants, VariantKind::Medium);
    let frame = find(variants, VariantKind::Frame);
    let title = media.title.clone().unwrap_or_else(|| title_from_filename(&media.original_filename));
    let (width, height) = (media.width.unwrap_or(0), media.height.unwrap_or(0));
    let duration = media.duration_ms.map_or(0, |ms| ms / 1000);
    let filename = format!("{}.{}", urls.name(), media.extension);
    let original = json!({
        "filename": filename, "name": urls.name(), "mime": media.mime, "extension": media.extension,
        "url": urls.original(), "size": media.size,
    });
    // Chevereto shows the medium when there is one; a video shows its frame.
    let display = medium.or(frame);
    let (display_url, display_width, display_height) = match display {
        Some(v) => (urls.variant(v), v.width, v.height),
        None => (urls.original(), width, height),
    };
    let chain = [(frame.is_some(), 16), (true, 8), (true, 4), (medium.is_some(), 2), (thumb.is_some(), 1)]
        .iter()
        .filter(|(has, _)| *has)
        .map(|(_, bit)| bit)
        .sum::<u32>();
    let tags_string = media.tags.join(",");
    json!({
        "id_encoded": media.id.as_str(),
        "name": urls.name(),
        "filename": filename,
        "extension": media.extension,
        "mime": media.mime,
        "original_filename": media.original_filename,
        "type": media.kind.as_str(),
        "size": media.size,
        "size_formatted": format_bytes(media.size),
        "width": width,
        "height": height,
        "ratio": if height > 0 { f64::from(width) / f64::from(height) } else { 0.0 },
        "checksum": media.md5,
        "source_checksum": media.source_md5,
        "is_animated": u8::from(media.is_animated),
        "is_360": 0,
        "duration": duration,
        "duration_time": format!("{:02}:{:02}", duration / 60, duration % 60),
        "original_exifdata": media.exif,
        "image": original,
        "thumb": derivative(&urls, thumb),
        "medium": derivative(&urls, medium),
        "frame": derivative(&urls, frame),
        "thumb_size": thumb.map_or(0, |v| v.size),
        "medium_size": medium.map_or(0, |v| v.size),
        "frame_size": frame.map_or(0, |v| v.size),
        "url_frame": frame.map(|v| urls.variant(v)),
        "chain": chain,
        "url": urls.original(),
        "url_viewer": urls.viewer(),
        "path_viewer": urls.path_viewer(),
        "url_short": urls.short(),
        "display_url": display_url,
        "display_width": display_width,
        "display_height": display_height,
        "delete_url": delete_secret.map(|s| urls.delete(s)),
        "title": title,
        "description": media.description,
        "tags": media.tags,
        "tags_string": tags_string,
        "nsfw": u8::from(media.nsfw),
        "category_id": media.category_id,
        "album_id": media.album_id,
        "storage_mode": "direct",
        "date": media.created_at.format(DATE_FORMAT).to_string(),
        "date_gmt": media.created_at.format(DATE_FORMAT).to_string(),
        "date_fixed_peer": media.created_at.format(DATE_FORMAT).to_string(),
        "expiration_date_gmt": media.expires_at.map(|t| t.format(DATE_FORMAT).to_string()),
        "views": media.views,
        "likes": 0,
        "is_approved": 1,
        "views_label": if media.views == 1 { "view" } else { "views" },
        "likes_label": "likes",
        "how_long_ago": how_long_ago(media.created_at, Utc::now()),
        "title_truncated": truncate(&title),
        "title_truncated_html": html_escape(&truncate(&title)),
        "display_title": title,
        "is_use_loader": false,
        "file": { "resource": { "type": "file" } },
        "processing_status": media.status.as_str(),
        "processing_error": if media.status == MediaStatus::Failed { media.error.clone() } else { None },
    })
}

fn derivative(urls: &MediaUrls<'_>, v: Option<&Variant>) -> Value {
    match v {
        Some(v) => json!({
            "filename": urls.variant_filename(v),
            "name": format!("{}.{}", urls.name(), v.kind.suffix()),
            "mime": v.mime,
            "extension": v.extension,
            "url": urls.variant(v),
            "size": v.size,
            "width": v.width,
            "height": v.height,
        }),
        None => json!({ "filename": null, "name": null, "mime": null, "extension": null, "url": null, "size": null }),
    }
}

/// "Badgers_animated-video.mp4" → "Badgers animated video".
fn title_from_filename(filename: &str) -> String {
    let stem = filename.rsplit_once('.').map_or(filename, |(s, _)| s);
    stem.split(|c: char| c == '_' || c == '-' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn truncate(title: &str) -> String {
    if title.chars().count() <= TITLE_SHOWN {
        return title.to_owned();
    }
    format!("{}...", title.chars().take(TITLE_SHOWN).collect::<String>())
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Sizes as Chevereto prints them: decimal units, one decimal at most.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    #[allow(clippy::cast_precision_loss)] // display only
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0} {}", UNITS[unit])
    } else {
        format!("{rounded:.1} {}", UNITS[unit])
    }
}

fn how_long_ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    let (n, unit) = match secs {
        0..60 => return "moments ago".to_owned(),
        60..3600 => (secs / 60, "minute"),
        3600..86_400 => (secs / 3600, "hour"),
        86_400..2_592_000 => (secs / 86_400, "day"),
        2_592_000..31_536_000 => (secs / 2_592_000, "month"),
        _ => (secs / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_chevereto() {
        assert_eq!(format_bytes(3_011_299), "3 MB");
        assert_eq!(format_bytes(21_212), "21.2 KB");
        assert_eq!(format_bytes(999), "999 B");
    }

    #[test]
    fn ages_are_human() {
        let now = Utc::now();
        assert_eq!(how_long_ago(now, now), "moments ago");
        assert_eq!(how_long_ago(now - chrono::Duration::minutes(1), now), "1 minute ago");
        assert_eq!(how_long_ago(now - chrono::Duration::hours(5), now), "5 hours ago");
    }

    #[test]
    fn titles_come_from_file_names_and_truncate() {
        assert_eq!(title_from_filename("Badgers _ animated-video.mp4"), "Badgers animated video");
        assert_eq!(truncate("Badgers animated music video MrWeebl"), "Badgers animated music vi...");
    }
}
