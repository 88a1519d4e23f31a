//! Plain domain types, free of I/O: ids, kinds, statuses, variants.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random base62 characters from the OS-seeded CSPRNG.
pub fn random_token(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())])).collect()
}

/// The public id of a media (Chevereto's `id_encoded`): 12 base62
/// characters, about 71 random bits, so ids cannot be enumerated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MediaId(String);

impl MediaId {
    pub const LEN: usize = 12;

    pub fn generate() -> Self {
        Self(random_token(Self::LEN))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses an id from a URL; `None` when it cannot be one of ours.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == Self::LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| Self(s.to_owned()))
    }
}

impl fmt::Display for MediaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Generates the string conversions of a fieldless enum stored as text.
macro_rules! text_enum {
    ($name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(UnknownValue(format!("{} {other:?}", stringify!($name)))),
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A stored string that is not one of an enum's values.
#[derive(Debug, thiserror::Error)]
#[error("unknown {0}")]
pub struct UnknownValue(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaStatus {
    Queued,
    Processing,
    Ready,
    Failed,
    Expired,
    Deleted,
}
text_enum!(MediaStatus { Queued = "queued", Processing = "processing", Ready = "ready", Failed = "failed", Expired = "expired", Deleted = "deleted" });

impl MediaStatus {
    /// Processing is over, one way or the other.
    pub fn is_settled(self) -> bool {
        !matches!(self, Self::Queued | Self::Processing)
    }

    /// Deleted or expired: final, whatever any other writer does.
    pub fn is_retired(self) -> bool {
        matches!(self, Self::Deleted | Self::Expired)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
    /// Anything else (a PDF, an archive, a backup): stored and checksummed,
    /// no derivatives, always served as an attachment.
    File,
}
text_enum!(MediaKind { Image = "image", Video = "video", File = "file" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}
text_enum!(Role { User = "user", Admin = "admin" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Pending,
    Active,
    Suspended,
}
text_enum!(UserStatus { Pending = "pending", Active = "active", Suspended = "suspended" });

/// A derivative of a media, as Chevereto names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariantKind {
    /// 160×160, cropped to fill (`.th`).
    Thumb,
    /// 500 px wide, only for larger images (`.md`).
    Medium,
    /// A still JPEG from a video (`.fr`).
    Frame,
}
text_enum!(VariantKind { Thumb = "thumb", Medium = "medium", Frame = "frame" });

impl VariantKind {
    pub const ALL: [Self; 3] = [Self::Thumb, Self::Medium, Self::Frame];

    /// The infix in Chevereto file names (`name.th.jpg`).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Thumb => "th",
            Self::Medium => "md",
            Self::Frame => "fr",
        }
    }

    pub fn from_suffix(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.suffix() == s)
    }
}

/// A user as stored.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub status: UserStatus,
    /// Bytes the user may store; `None` is unlimited.
    pub quota_bytes: Option<u64>,
    /// Live files the user may have; `None` is unlimited.
    pub quota_files: Option<u64>,
    pub created_at: DateTime<Utc>,
}

/// An API key's stored facts; the key itself is never kept.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: i64,
    pub user_id: UserId,
    pub label: Option<String>,
    /// The first characters of the key, shown in lists to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// One stored media and every fact the Chevereto and native views need.
#[derive(Debug, Clone)]
pub struct Media {
    pub id: MediaId,
    pub owner_id: UserId,
    pub status: MediaStatus,
    /// Why processing failed, for a person to read.
    pub error: Option<String>,
    pub kind: MediaKind,
    pub mime: String,
    pub extension: String,
    pub original_filename: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub album_id: Option<String>,
    pub category_id: Option<String>,
    pub nsfw: bool,
    pub is_public: bool,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    pub is_animated: bool,
    /// Where the original is stored.
    pub original_key: String,
    /// Hex SHA-256 of the stored original.
    pub sha256: Option<String>,
    /// Hex MD5 of the stored original (Chevereto's `checksum`).
    pub md5: Option<String>,
    /// Hex MD5 of the file as uploaded, before any resize.
    pub source_md5: Option<String>,
    pub exif: Option<serde_json::Value>,
    /// Requested resize width (Chevereto `width`).
    pub resize_width: Option<u32>,
    /// The URL a remote-URL upload is fetched from.
    pub source_url: Option<String>,
    /// Token of the public download link, while the media is public.
    pub public_token: Option<String>,
    /// Date the media by its EXIF date taken, once known (Chevereto
    /// `use_file_date`, admins only).
    pub use_file_date: bool,
    pub views: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The current version's number (from 1), its name and when it became
    /// current (`None`: when the media was created).
    pub version: u32,
    pub version_name: Option<String>,
    pub version_at: Option<DateTime<Utc>>,
    /// Originals served through download, public and link routes.
    pub downloads: u64,
    /// In the trash since then: neither listed nor served, restorable.
    pub trashed_at: Option<DateTime<Utc>>,
}

/// A presigned upload between initiate and complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The id the media will have once completed.
    pub id: MediaId,
    pub owner_id: UserId,
    pub name: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub object_key: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A derivative as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub kind: VariantKind,
    pub key: String,
    pub mime: String,
    pub extension: String,
    pub width: u32,
    pub height: u32,
    pub size: u64,
}

/// The type of a file from its first bytes (never from its name or a
/// client's Content-Type): MIME type, extension and kind, or the MIME type
/// that was detected (if any) when it is not one mediaq stores.
pub fn sniff(head: &[u8]) -> Result<(&'static str, &'static str, MediaKind), Option<&'static str>> {
    let detected = infer::get(head).map(|t| t.mime_type());
    let (extension, kind) = detected.and_then(extension_for_mime).ok_or(detected)?;
    Ok((detected.unwrap_or_default(), extension, kind))
}

/// The type of any file from its first bytes: an image or video as
/// [`sniff`] finds them, else kind `file` with the detected MIME type (or
/// `application/octet-stream`) and a safe extension (`bin` when unknown).
pub fn sniff_any(head: &[u8]) -> (&'static str, &'static str, MediaKind) {
    if let Ok(found) = sniff(head) {
        return found;
    }
    match infer::get(head) {
        Some(t) if !t.extension().is_empty() && t.extension().bytes().all(|b| b.is_ascii_alphanumeric()) => {
            (t.mime_type(), t.extension(), MediaKind::File)
        }
        Some(t) => (t.mime_type(), "bin", MediaKind::File),
        None => ("application/octet-stream", "bin", MediaKind::File),
    }
}

/// File extension for a sniffed MIME type of the kinds mediaq stores.
pub fn extension_for_mime(mime: &str) -> Option<(&'static str, MediaKind)> {
    Some(match mime {
        "image/jpeg" => ("jpg", MediaKind::Image),
        "image/png" => ("png", MediaKind::Image),
        "image/gif" => ("gif", MediaKind::Image),
        "image/webp" => ("webp", MediaKind::Image),
        "image/bmp" => ("bmp", MediaKind::Image),
        "video/mp4" => ("mp4", MediaKind::Video),
        "video/webm" => ("webm", MediaKind::Video),
        "video/quicktime" => ("mov", MediaKind::Video),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_ids_are_random_and_parse_back() {
        let a = MediaId::generate();
        assert_ne!(a, MediaId::generate());
        assert_eq!(MediaId::parse(a.as_str()), Some(a));
        assert_eq!(MediaId::parse("../../etc/pw"), None);
    }

    #[test]
    fn any_file_is_a_file_and_media_stay_media() {
        assert_eq!(sniff_any(b"%PDF-1.7\n1 0 obj"), ("application/pdf", "pdf", MediaKind::File));
        assert_eq!(sniff_any(b"PK\x03\x04\x14\x00\x00\x00"), ("application/zip", "zip", MediaKind::File));
        assert_eq!(sniff_any(b"just some text"), ("application/octet-stream", "bin", MediaKind::File));
        assert_eq!(sniff_any(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").2, MediaKind::Image);
    }

    #[test]
    fn statuses_round_trip_as_text() {
        for s in ["queued", "processing", "ready", "failed", "expired", "deleted"] {
            assert_eq!(s.parse::<MediaStatus>().unwrap().as_str(), s);
        }
        assert!("done".parse::<MediaStatus>().is_err());
    }
}
