//! The one place object keys are built.
//!
//! Layout: every object of a media sits under `media/{id}/`, so a purge can
//! find them all: `original.{ext}`, `upload` (a presigned PUT before it is
//! completed), `{thumb|medium|frame}.{ext}`. Versions after the first carry
//! a random revision in front (`{rev}.original.{ext}`, `{rev}.thumb.{ext}`),
//! so every version has keys of its own; a job derives the keys it writes
//! from its original's revision.

use std::fmt;

use crate::domain::{MediaId, VariantKind};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn original(id: &MediaId, extension: &str) -> Self {
        Self(format!("media/{id}/original.{extension}"))
    }

    /// The original of a version stored with revision `rev` (`None`: the
    /// first version's layout).
    pub fn original_rev(id: &MediaId, rev: Option<&str>, extension: &str) -> Self {
        match rev {
            Some(rev) => Self(format!("media/{id}/{rev}.original.{extension}")),
            None => Self::original(id, extension),
        }
    }

    /// A fresh revision for a new version's keys.
    pub fn new_revision() -> String {
        format!("r{}", crate::domain::random_token(10))
    }

    /// The revision of an original key (`None` for the first layout).
    pub fn revision(&self) -> Option<&str> {
        let name = self.0.rsplit('/').next()?;
        let (rev, rest) = name.split_once('.')?;
        rest.starts_with("original.").then_some(rev)
    }

    /// The original key in the same revision as `self`, with `extension`.
    pub fn original_like(&self, id: &MediaId, extension: &str) -> Self {
        Self::original_rev(id, self.revision(), extension)
    }

    /// A variant key in the same revision as the original `self`.
    pub fn variant_like(&self, id: &MediaId, kind: VariantKind, extension: &str) -> Self {
        match self.revision() {
            Some(rev) => Self(format!("media/{id}/{rev}.{kind}.{extension}")),
            None => Self::variant(id, kind, extension),
        }
    }

    /// Where a presigned PUT lands before `complete` checks it.
    pub fn upload(id: &MediaId) -> Self {
        Self(format!("media/{id}/upload"))
    }

    /// The media id of an [`upload`](Self::upload) key.
    pub fn upload_id(&self) -> Option<MediaId> {
        let id = self.0.strip_prefix("media/")?.strip_suffix("/upload")?;
        MediaId::parse(id)
    }

    /// Where a resumable upload (tus, S3 multipart) assembles its bytes:
    /// its type is known only once they are all there, and a multipart
    /// upload cannot be moved afterwards (S3 copies stop at 5 GiB), so
    /// this key has no extension and stays the media's original.
    pub fn assembled(id: &MediaId) -> Self {
        Self(format!("media/{id}/original"))
    }

    /// The staging object of a tus upload on S3: the bytes after its
    /// `parts_bytes` bytes of recorded parts, shorter than one part.
    pub fn tus_tail(id: &MediaId, parts_bytes: u64) -> Self {
        Self(format!("media/{id}/tail.{parts_bytes}"))
    }

    pub fn variant(id: &MediaId, kind: VariantKind, extension: &str) -> Self {
        Self(format!("media/{id}/{kind}.{extension}"))
    }

    /// A thumbnail by size (`thumb-{spec}.{ext}`, see `thumbs::ThumbSpec::name`).
    pub fn sized_thumb(id: &MediaId, spec: &str, extension: &str) -> Self {
        Self(format!("media/{id}/thumb-{spec}.{extension}"))
    }

    /// The common prefix of every object of a media (`media/{id}/`).
    pub fn media_prefix(id: &MediaId) -> String {
        format!("media/{id}/")
    }

    /// A key read back from the database or a signed URL. Refuses anything
    /// that could escape the storage root or is not one of our shapes.
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.split('/');
        let ok = parts.next() == Some("media")
            && parts.next().and_then(MediaId::parse).is_some()
            && parts.next().is_some_and(|name| {
                !name.is_empty()
                    && !name.starts_with('.')
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
            })
            && parts.next().is_none();
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_keys_parse_back_and_hostile_ones_do_not() {
        let id = MediaId::generate();
        for key in [
            ObjectKey::original(&id, "jpg"),
            ObjectKey::upload(&id),
            ObjectKey::variant(&id, VariantKind::Thumb, "png"),
        ] {
            assert_eq!(ObjectKey::parse(key.as_str()), Some(key));
        }
        assert_eq!(ObjectKey::upload(&id).upload_id(), Some(id.clone()));
        let v2 = ObjectKey::original_rev(&id, Some("rAbc"), "pdf");
        assert_eq!(ObjectKey::parse(v2.as_str()), Some(v2.clone()));
        assert_eq!(v2.revision(), Some("rAbc"));
        assert_eq!(ObjectKey::original(&id, "jpg").revision(), None);
        assert_eq!(v2.original_like(&id, "png").as_str(), format!("media/{id}/rAbc.original.png"));
        assert_eq!(v2.variant_like(&id, VariantKind::Thumb, "jpg").as_str(), format!("media/{id}/rAbc.thumb.jpg"));
        assert_eq!(
            ObjectKey::original(&id, "jpg").variant_like(&id, VariantKind::Thumb, "jpg"),
            ObjectKey::variant(&id, VariantKind::Thumb, "jpg")
        );
        assert_eq!(ObjectKey::original(&id, "upload").upload_id(), None);
        for bad in [
            "media/../x",
            "/etc/passwd",
            "media/abc/x",
            &format!("media/{id}/../../x"),
            &format!("media/{id}/.hidden"),
            &format!("media/{id}/a/b"),
        ] {
            assert_eq!(ObjectKey::parse(bad), None, "{bad}");
        }
    }
}
