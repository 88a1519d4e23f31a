//! Thumbnails by size: what is asked for ([`ThumbSpec`]) and the seam
//! through which the API has one rendered ([`ThumbRenderer`]).
//!
//! The API may not depend on the workers (where the image codecs live),
//! so the binary hands it the workers' renderer as a `dyn ThumbRenderer`:
//! the same decode → resize → encode pipeline the jobs use, run in the
//! API process on the blocking pool.

use std::sync::Arc;

use async_trait::async_trait;

use crate::storage::ObjectKey;

/// Smallest and largest side a thumbnail may be asked for.
pub const MIN_SIDE: u32 = 16;
pub const MAX_SIDE: u32 = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThumbFormat {
    Jpeg,
    Png,
    Webp,
}

impl ThumbFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "webp" => Some(Self::Webp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }
}

/// One thumbnail size: at most `width`×`height` keeping the aspect ratio
/// (never enlarged), or with `crop` exactly that size, cut around the
/// centre. `format` `None` is the default: JPEG, or PNG when the image has
/// transparent pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThumbSpec {
    pub width: u32,
    pub height: u32,
    pub crop: bool,
    pub format: Option<ThumbFormat>,
}

impl ThumbSpec {
    /// The stored name of the spec, also part of its object key:
    /// `200x150-fit-auto`, `64x64-crop-webp`.
    pub fn name(&self) -> String {
        format!(
            "{}x{}-{}-{}",
            self.width,
            self.height,
            if self.crop { "crop" } else { "fit" },
            self.format.map_or("auto", ThumbFormat::as_str)
        )
    }
}

/// A rendered thumbnail.
#[derive(Debug)]
pub struct ThumbImage {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub extension: &'static str,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    /// The source cannot be made into an image (corrupt, over a limit,
    /// unsupported): the caller's file, not a server fault.
    #[error("{0}")]
    Unusable(String),
    /// Storage or the machine failed; worth retrying.
    #[error("{0}")]
    Failed(String),
}

#[async_trait]
pub trait ThumbRenderer: Send + Sync + 'static {
    /// Renders `spec` from the stored image at `source` (bounded by the
    /// configured pixel limit), on the blocking pool, at most as many at
    /// once as the renderer allows.
    async fn render(&self, source: &ObjectKey, spec: ThumbSpec) -> Result<ThumbImage, ThumbError>;
}

pub type DynThumbRenderer = Arc<dyn ThumbRenderer>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_names_are_key_safe() {
        let spec = ThumbSpec { width: 200, height: 150, crop: true, format: Some(ThumbFormat::Webp) };
        assert_eq!(spec.name(), "200x150-crop-webp");
        let auto = ThumbSpec { format: None, crop: false, ..spec };
        assert_eq!(auto.name(), "200x150-fit-auto");
        assert_eq!(ThumbFormat::parse("JPG"), Some(ThumbFormat::Jpeg));
        assert_eq!(ThumbFormat::parse("gif"), None);
    }
}
