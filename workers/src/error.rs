//! How a job fails: worth retrying, or never going to work.

use mediaq_shared::repo::RepoError;
use mediaq_shared::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A backend hiccup (database, storage, queue): try again later.
    #[error("{0}")]
    Retryable(String),
    /// The input itself is bad (corrupt, unsupported, over a limit): the
    /// media is marked failed with this reason, for a person to read.
    #[error("{0}")]
    Permanent(String),
    /// The media left the state the job works in (deleted, expired,
    /// settled by another delivery): the job stops without failing it.
    #[error("the media is no longer being processed")]
    Stopped,
}

impl From<RepoError> for JobError {
    fn from(e: RepoError) -> Self {
        Self::Retryable(format!("database: {e}"))
    }
}

impl From<StorageError> for JobError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => Self::Permanent("the stored original is missing".into()),
            other => Self::Retryable(format!("storage: {other}")),
        }
    }
}

impl From<crate::media::MediaError> for JobError {
    fn from(e: crate::media::MediaError) -> Self {
        match e {
            crate::media::MediaError::Io(_) => Self::Retryable(e.to_string()),
            other => Self::Permanent(other.to_string()),
        }
    }
}
