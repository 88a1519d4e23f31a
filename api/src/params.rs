//! Parsing of the scalar upload parameters both APIs share. Every refusal
//! names the parameter and what was expected: a bad value is a 400, never
//! a silent default.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Months, TimeDelta, Utc};

use crate::error::ApiError;

/// Longest expiry accepted (ten years): beyond that it is a typo.
const MAX_EXPIRY_DAYS: i64 = 3653;
/// Widest resize target accepted.
pub const MAX_RESIZE_WIDTH: u32 = 16_384;

fn bad(name: &str, value: &str, expected: &str) -> ApiError {
    let shown: String = value.chars().take(64).collect();
    ApiError::BadRequest(format!("invalid '{name}' value {shown:?}: expected {expected}"))
}

/// `expiration`: an ISO 8601 duration (`PT5M`, `P3D`, `P1Y2M`) or whole
/// seconds, counted from `now`.
pub fn expiration(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    let expected = "an ISO 8601 duration such as PT5M or P3D, or a whole number of seconds";
    let v = value.trim();
    let at = if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() {
        let secs: i64 = v.parse().map_err(|_| bad("expiration", value, expected))?;
        TimeDelta::try_seconds(secs).and_then(|d| now.checked_add_signed(d))
    } else {
        let d = iso8601_duration::Duration::parse(&v.to_ascii_uppercase())
            .map_err(|_| bad("expiration", value, expected))?;
        add_iso(now, &d)
    };
    let at = at.ok_or_else(|| bad("expiration", value, expected))?;
    if at <= now {
        return Err(bad("expiration", value, "a duration greater than zero"));
    }
    if at - now > TimeDelta::days(MAX_EXPIRY_DAYS) {
        return Err(bad("expiration", value, "at most ten years"));
    }
    Ok(at)
}

/// Adds a parsed ISO duration: years and months on the calendar, the rest
/// as exact time. Fractional years or months are refused.
fn add_iso(now: DateTime<Utc>, d: &iso8601_duration::Duration) -> Option<DateTime<Utc>> {
    let whole = |x: f32| (x.fract() == 0.0 && x >= 0.0).then_some(x);
    let months = whole(d.year)? * 12.0 + whole(d.month)?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // whole, bounded below
    let with_months = now.checked_add_months(Months::new(months.min(1.0e6) as u32))?;
    let secs =
        f64::from(d.day) * 86_400.0 + f64::from(d.hour) * 3600.0 + f64::from(d.minute) * 60.0 + f64::from(d.second);
    if !(0.0..1.0e10).contains(&secs) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)] // range checked above
    let millis = (secs * 1000.0).round() as i64;
    with_months.checked_add_signed(TimeDelta::try_milliseconds(millis)?)
}

/// A 0/1 flag (also accepts true/false).
pub fn flag(name: &str, value: &str) -> Result<bool, ApiError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" => Ok(true),
        "0" | "false" | "" => Ok(false),
        _ => Err(bad(name, value, "0 or 1")),
    }
}

/// `width`: a resize target in pixels.
pub fn width(value: &str) -> Result<u32, ApiError> {
    match value.trim().parse::<u32>() {
        Ok(w) if (1..=MAX_RESIZE_WIDTH).contains(&w) => Ok(w),
        _ => Err(bad("width", value, &format!("a whole number of pixels from 1 to {MAX_RESIZE_WIDTH}"))),
    }
}

/// Strict base64: the standard or URL-safe alphabet, line breaks allowed,
/// anything else refused.
pub fn base64(text: &str) -> Result<Vec<u8>, ApiError> {
    let data = match text.strip_prefix("data:") {
        Some(rest) => rest.split_once(";base64,").map(|(_, d)| d).ok_or(ApiError::InvalidBase64)?,
        None => text,
    };
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    [STANDARD, URL_SAFE].iter().find_map(|engine| engine.decode(&compact).ok()).ok_or(ApiError::InvalidBase64)
}

const LENIENT_PADDING: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT_PADDING);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT_PADDING);

/// A remote source URL: http(s) only, and no address that is refused
/// outright (the worker checks again after resolving DNS).
pub fn remote_url(text: &str, allow_private: bool) -> Result<url::Url, ApiError> {
    mediaq_shared::fetch::check_url(text.trim(), allow_private).map_err(|e| ApiError::UrlRefused(e.to_string()))
}

/// Base64 and urlencoded sources are decoded in memory, so they get a
/// lower ceiling than streamed uploads: 48 MiB of file (64 MiB encoded).
/// Larger files go as multipart or through the presigned flow.
const MAX_INLINE_FILE_BYTES: u64 = 48 * 1024 * 1024;

/// Limits of an in-memory (base64) source under `max_upload`: the file
/// size allowed, and the encoded body size that allows it (4/3 growth
/// plus room for the other fields).
pub fn inline_limits(max_upload: u64) -> (u64, usize) {
    let file = max_upload.min(MAX_INLINE_FILE_BYTES);
    (file, usize::try_from(file.saturating_mul(4) / 3 + 1024 * 1024).unwrap_or(usize::MAX))
}

/// Comma-separated tags, trimmed, empty ones dropped.
pub fn tags(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| t.chars().take(64).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_in_every_client_spelling() {
        let want = b"\x89PNG\r\n\x1a\n".to_vec();
        assert_eq!(base64("iVBORw0KGgo=").unwrap(), want);
        assert_eq!(base64("iVBORw0KGgo").unwrap(), want);
        assert_eq!(base64("data:image/png;base64,iVBORw0KGgo=").unwrap(), want);
        assert_eq!(base64("iVBO\nRw0K\r\nGgo=").unwrap(), want);
        assert!(matches!(base64("iVBO*Rw0KGgo="), Err(ApiError::InvalidBase64)));
        assert!(matches!(base64("data:image/png,iVBORw0KGgo="), Err(ApiError::InvalidBase64)));
    }

    #[test]
    fn expirations_in_every_accepted_spelling() {
        let now = Utc::now();
        assert_eq!(expiration("PT5M", now).unwrap() - now, TimeDelta::minutes(5));
        assert_eq!(expiration("P3D", now).unwrap() - now, TimeDelta::days(3));
        assert_eq!(expiration("300", now).unwrap() - now, TimeDelta::seconds(300));
        assert_eq!(expiration("P1W", now).unwrap() - now, TimeDelta::days(7));
        assert_eq!(expiration("P1M", now).unwrap(), now.checked_add_months(Months::new(1)).unwrap());
    }

    #[test]
    fn bad_expirations_are_refused_not_defaulted() {
        let now = Utc::now();
        for v in ["5 minutes", "P", "PT", "-5", "0", "PT0S", "P100Y", "tomorrow", "P1.5M"] {
            let err = expiration(v, now).unwrap_err().to_string();
            assert!(err.contains("expiration"), "{v}: {err}");
        }
    }

    #[test]
    fn inline_sources_are_capped_below_streamed_ones() {
        assert_eq!(inline_limits(1000).0, 1000);
        let (file, encoded) = inline_limits(512 * 1024 * 1024);
        assert_eq!(file, 48 * 1024 * 1024);
        assert!(encoded as u64 >= file * 4 / 3 && (encoded as u64) < 512 * 1024 * 1024);
    }

    #[test]
    fn flags_and_widths() {
        assert!(flag("nsfw", "1").unwrap());
        assert!(!flag("nsfw", "0").unwrap());
        assert!(flag("nsfw", "yes please").is_err());
        assert_eq!(width("640").unwrap(), 640);
        assert!(width("0").is_err());
        assert!(width("wide").is_err());
    }
}
