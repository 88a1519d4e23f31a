//! One job per file; this module re-exports them and holds the one step
//! they share.

pub mod fetch;
pub mod orphans;
pub mod process;
pub mod purge;
pub mod sweep;

use mediaq_shared::domain::{Media, MediaId};
use mediaq_shared::repo::RepoError;

use crate::env::Env;
use crate::error::JobError;

/// The media a job is about, or `None` when there is nothing left to do:
/// it was deleted meanwhile, or it is settled (a redelivery after the job
/// already finished).
pub(crate) async fn unsettled(env: &Env, id: &MediaId) -> Result<Option<Media>, JobError> {
    match env.repo.media(id).await {
        Ok(m) if m.status.is_settled() => Ok(None),
        Ok(m) => Ok(Some(m)),
        Err(RepoError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
