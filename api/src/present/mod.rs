//! Views of one stored media: the Chevereto v1 shape and the native shape
//! are both rendered from [`Media`] + its variants, with URLs from
//! [`MediaUrls`] so the two never disagree about where things are.

pub mod chevereto;
pub mod native;
pub mod signed;

use mediaq_shared::domain::{Media, MediaKind, Variant, VariantKind};

use crate::ingest::slug;

/// Where the bytes and pages of one media are served.
pub struct MediaUrls<'a> {
    base: &'a str,
    media: &'a Media,
    name: String,
}

impl<'a> MediaUrls<'a> {
    pub fn new(base: &'a str, media: &'a Media) -> Self {
        Self { base, media, name: slug(&media.original_filename) }
    }

    /// The Chevereto `name`: the original file name as a slug.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/images/{id}/{name}.{ext}`, the original.
    pub fn original(&self) -> String {
        format!("{}/images/{}/{}.{}", self.base, self.media.id, self.name, self.media.extension)
    }

    /// `/images/{id}/{name}.{th|md|fr}.{ext}`.
    pub fn variant(&self, v: &Variant) -> String {
        format!("{}/images/{}/{}", self.base, self.media.id, self.variant_filename(v))
    }

    pub fn variant_filename(&self, v: &Variant) -> String {
        format!("{}.{}.{}", self.name, v.kind.suffix(), v.extension)
    }

    /// The viewer page's path: `/image/{title-slug}.{id}` (or `/video/…`).
    pub fn path_viewer(&self) -> String {
        let label = self.media.title.as_deref().map_or_else(|| self.name.clone(), slug);
        format!("/{}/{label}.{}", self.section(), self.media.id)
    }

    pub fn viewer(&self) -> String {
        format!("{}{}", self.base, self.path_viewer())
    }

    pub fn short(&self) -> String {
        format!("{}/{}/{}", self.base, self.section(), self.media.id)
    }

    pub fn delete(&self, secret: &str) -> String {
        format!("{}/delete/{secret}", self.viewer())
    }

    fn section(&self) -> &'static str {
        match self.media.kind {
            // Files have no page of their own kind: they share the image one.
            MediaKind::Image | MediaKind::File => "image",
            MediaKind::Video => "video",
        }
    }
}

/// The variant of `kind`, if the media has one.
pub fn find(variants: &[Variant], kind: VariantKind) -> Option<&Variant> {
    variants.iter().find(|v| v.kind == kind)
}
