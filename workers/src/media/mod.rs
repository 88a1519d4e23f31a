//! Synchronous media code, testable on files: probing and rendering
//! derivatives. Nothing here does I/O beyond reading the source it is
//! given (a head in memory, the rest in a local file) and writing
//! temporary files for replaced originals.
//!
//! `image::process` is the entry point for still and animated images; the
//! other modules are its steps: `probe` (headers only, limits), `exif`
//! (metadata and orientation), `icc` (colour profiles), `decode` (shrink-on-load), `resize`,
//! `encode` and `strip` (lossless metadata removal), over `container`
//! (JPEG/PNG/RIFF structure walkers on slices), `walk` (the same through a
//! reader, for whole files) and `source` (where the bytes are).

mod container;
mod decode;
mod encode;
mod exif;
mod gif;
mod icc;
pub mod image;
pub mod probe;
mod progressive;
mod resize;
pub mod sized;
pub mod source;
mod strip;
#[cfg(test)]
mod testutil;
pub mod video;
mod walk;

/// Why a file cannot become a finished media. The text is meant for a
/// person reading why their upload failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The bytes are not a valid file of the format they claim to be.
    #[error("the file is not a valid image or video: {0}")]
    Corrupt(String),
    /// Valid, but larger than the configured limits (pixels, frames).
    #[error("{0}")]
    OverLimit(String),
    /// Not a format (or a feature of a format) this service handles.
    #[error("{0}")]
    Unsupported(String),
    /// Reading or writing a local temporary file failed: not the file's
    /// fault, worth retrying.
    #[error("local file i/o: {0}")]
    Io(String),
}

/// A derivative, encoded and ready to store.
#[derive(Debug)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub extension: &'static str,
    pub width: u32,
    pub height: u32,
}
