//! Synchronous media code, testable on files: probing and rendering
//! derivatives. Nothing here does I/O beyond the bytes it is given.

pub mod image;

/// Why a file cannot become a finished media.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the file is not a valid image: {0}")]
    Corrupt(String),
    #[error("{0}")]
    OverLimit(String),
    #[error("{0}")]
    Unsupported(String),
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
