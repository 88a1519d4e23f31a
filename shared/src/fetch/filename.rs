//! The name a fetched file goes by: `Content-Disposition` first (RFC 6266,
//! `filename*` over `filename`), else the last segment of the final URL's
//! path. Both come from the remote side, so the result is sanitized into a
//! bare file name: no directories, no control characters, no leading dots,
//! at most `MAX_LEN` bytes.

use percent_encoding::percent_decode_str;
use reqwest::header::{CONTENT_DISPOSITION, HeaderMap};
use url::Url;

const MAX_LEN: usize = 255;

pub(super) fn from_response(headers: &HeaderMap, final_url: &Url) -> Option<String> {
    headers
        .get(CONTENT_DISPOSITION)
        .and_then(|value| from_content_disposition(&String::from_utf8_lossy(value.as_bytes())))
        .or_else(|| from_url(final_url))
}

fn from_content_disposition(value: &str) -> Option<String> {
    let params = parse_params(value);
    let param = |name: &str| params.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    param("filename*")
        .and_then(decode_ext_value)
        .and_then(|name| sanitize(&name))
        .or_else(|| param("filename").and_then(sanitize))
}

fn from_url(url: &Url) -> Option<String> {
    let last = url.path_segments()?.next_back()?;
    sanitize(&percent_decode_str(last).decode_utf8_lossy())
}

/// `key=value` pairs after the disposition type; values are tokens or
/// quoted strings with backslash escapes.
fn parse_params(value: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let Some((_, mut rest)) = value.split_once(';') else {
        return params;
    };
    while let Some((key, after)) = rest.split_once('=') {
        // A parameter without `=` ("attachment; inline; filename=…") is
        // skipped: keep only what follows its `;`.
        let key = key.rsplit(';').next().unwrap_or(key).trim().to_string();
        let after = after.trim_start();
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => read_quoted(quoted),
            None => {
                let end = after.find(';').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            }
        };
        params.push((key, value));
        rest = remaining;
    }
    params
}

/// The content of a quoted string (opening quote already consumed) and
/// what follows its closing quote.
fn read_quoted(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.extend(chars.next().map(|(_, escaped)| escaped)),
            '"' => return (out, &s[i + 1..]),
            _ => out.push(c),
        }
    }
    (out, "")
}

/// RFC 8187 `charset'language'percent-encoded` (UTF-8 or ISO-8859-1).
fn decode_ext_value(value: &str) -> Option<String> {
    let mut parts = value.splitn(3, '\'');
    let (charset, _language, encoded) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes: Vec<u8> = percent_decode_str(encoded).collect();
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

fn sanitize(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim_matches(|c: char| c.is_whitespace() || c == '.');
    if trimmed.is_empty() {
        return None;
    }
    Some(truncate(trimmed))
}

/// Cuts an over-long name to `MAX_LEN` bytes on a character boundary,
/// keeping a short extension so the type stays recognizable.
fn truncate(name: &str) -> String {
    if name.len() <= MAX_LEN {
        return name.to_string();
    }
    let ext = name.rfind('.').map(|i| &name[i..]).filter(|ext| ext.len() <= 16).unwrap_or("");
    let mut end = MAX_LEN - ext.len();
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ext}", &name[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cd(value: &str) -> Option<String> {
        from_content_disposition(value)
    }

    fn url(u: &str) -> Option<String> {
        from_url(&Url::parse(u).unwrap())
    }

    #[test]
    fn content_disposition_forms() {
        assert_eq!(cd("attachment; filename=cat.jpg").as_deref(), Some("cat.jpg"));
        assert_eq!(cd("attachment; filename=\"my cat.jpg\"").as_deref(), Some("my cat.jpg"));
        assert_eq!(cd("inline; filename=\"a\\\"b.png\"; size=3").as_deref(), Some("a\"b.png"));
        assert_eq!(cd("attachment; FILENAME=\"x.gif\"").as_deref(), Some("x.gif"));
        let both = "attachment; filename=\"plain.jpg\"; filename*=UTF-8''f%C3%B6%C3%B6.jpg";
        assert_eq!(cd(both).as_deref(), Some("föö.jpg"));
        assert_eq!(cd("attachment; filename*=iso-8859-1'en'%E9t%E9.png").as_deref(), Some("été.png"));
        assert_eq!(cd("attachment; filename*=bogus''x.png; filename=y.png").as_deref(), Some("y.png"));
        assert_eq!(cd("attachment; inline; filename=z.webp").as_deref(), Some("z.webp"));
        assert_eq!(cd("attachment"), None);
        assert_eq!(cd("attachment; filename=\"\""), None);
    }

    #[test]
    fn hostile_names_are_reduced_to_a_bare_name() {
        assert_eq!(cd("attachment; filename=\"../../etc/passwd\"").as_deref(), Some("passwd"));
        assert_eq!(cd("attachment; filename=\"..\\\\..\\\\boot.ini\"").as_deref(), Some("boot.ini"));
        assert_eq!(cd("attachment; filename=\"..\"").as_deref(), None);
        assert_eq!(cd("attachment; filename=\".htaccess\"").as_deref(), Some("htaccess"));
        assert_eq!(cd("attachment; filename*=UTF-8''a%0Ab%00c.jpg").as_deref(), Some("abc.jpg"));
        let long = format!("attachment; filename=\"{}.jpeg\"", "é".repeat(300));
        let name = cd(&long).unwrap();
        assert!(name.len() <= MAX_LEN && name.ends_with(".jpeg"), "{name}");
    }

    #[test]
    fn names_from_the_url_path() {
        assert_eq!(url("https://example.com/img/cat%20photo.jpg?size=large").as_deref(), Some("cat photo.jpg"));
        assert_eq!(url("https://example.com/a/b%2F..%2Fc.png").as_deref(), Some("c.png"));
        assert_eq!(url("https://example.com/"), None);
        assert_eq!(url("https://example.com/dir/"), None);
        assert_eq!(url("https://example.com/%2E%2E"), None);
    }
}
