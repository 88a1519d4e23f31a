//! Orphan collection, a step of the sweep: removes what a crash or a lost
//! race left in storage with nothing pointing at it.
//!
//! - Temporary files of writes that never finished (fs), last written more
//!   than `MEDIAQ_ORPHAN_GRACE_SECS` ago.
//! - Objects under `media/{id}/` or `uploads/{id}…` whose id no media row
//!   and no presigned-upload row names, last modified more than the grace
//!   period ago.
//!
//! The grace period is what keeps this safe: an upload stores its object
//! before it writes its row, so a young object without a row may be an
//! upload in flight, and is never touched. Keys that are not one of
//! [`ObjectKey`]'s shapes are left alone: what we do not understand, we do
//! not delete. Listing a large bucket costs requests, so one process walks
//! the store at most once per [`WALK_EVERY`] (the first sweep of a process,
//! such as `mediaq sweep`, always does).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use futures::TryStreamExt;

use mediaq_shared::domain::MediaId;
use mediaq_shared::storage::{ObjectKey, StorageError};

use crate::env::Env;
use crate::error::JobError;

/// The key prefixes whose objects belong to a row.
const PREFIXES: [&str; 2] = ["media/", "uploads/"];

/// Objects checked against the database at once.
const BATCH: usize = 100;

/// Least time between two walks of the store by one process.
pub const WALK_EVERY: Duration = Duration::from_secs(3600);

/// What one collection removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Collected {
    /// Temporary files of unfinished writes.
    pub partials: u64,
    /// Objects no row names.
    pub objects: u64,
}

/// When this process last walked the store (kept in [`Env`]).
#[derive(Debug, Clone, Default)]
pub struct WalkClock(Arc<Mutex<Option<Instant>>>);

impl WalkClock {
    /// True, and the walk recorded, when none happened in the last `every`.
    fn start(&self, every: Duration) -> bool {
        let Ok(mut last) = self.0.lock() else { return true };
        if last.is_some_and(|at| at.elapsed() < every) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

/// Collects orphans when this process's walk is due.
pub async fn run_if_due(env: &Env) -> Result<Collected, JobError> {
    if env.orphan_walks.start(WALK_EVERY) { run(env).await } else { Ok(Collected::default()) }
}

#[tracing::instrument(skip_all)]
pub async fn run(env: &Env) -> Result<Collected, JobError> {
    let grace = TimeDelta::from_std(env.config.orphan_grace).unwrap_or(TimeDelta::MAX);
    let cutoff = Utc::now().checked_sub_signed(grace).unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let mut collected = Collected { partials: env.storage.remove_stale_partials(cutoff).await?, objects: 0 };
    for prefix in PREFIXES {
        let mut listing = env.storage.list(prefix);
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(object) = listing.try_next().await? {
            if object.modified >= cutoff {
                continue;
            }
            let (Some(key), Some(id)) = (ObjectKey::parse(&object.key), owner(&object.key)) else {
                tracing::debug!(key = object.key, "not one of our keys; left alone");
                continue;
            };
            batch.push((id, key));
            if batch.len() == BATCH {
                collected.objects += remove_unowned(env, &mut batch).await?;
            }
        }
        collected.objects += remove_unowned(env, &mut batch).await?;
    }
    if collected != Collected::default() {
        tracing::info!(partials = collected.partials, objects = collected.objects, "removed orphans");
    }
    Ok(collected)
}

/// The id a key belongs to: its second segment (`media/{id}/…`,
/// `uploads/{id}…`).
fn owner(key: &str) -> Option<MediaId> {
    let segment = key.split('/').nth(1)?;
    let (id, after) = (segment.get(..MediaId::LEN)?, segment.get(MediaId::LEN..)?);
    // A longer name is not this id with a suffix.
    if after.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    MediaId::parse(id)
}

/// Deletes the objects of `batch` whose id has no row, emptying `batch`.
async fn remove_unowned(env: &Env, batch: &mut Vec<(MediaId, ObjectKey)>) -> Result<u64, JobError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let ids: Vec<MediaId> = batch.iter().map(|(id, _)| id.clone()).collect::<HashSet<_>>().into_iter().collect();
    let in_use = env.repo.ids_in_use(&ids).await?;
    let mut removed = 0;
    for (id, key) in batch.drain(..) {
        if in_use.contains(&id) {
            continue;
        }
        match env.storage.delete(&key).await {
            Ok(()) | Err(StorageError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!(key = %key, "removed an object no row names");
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_owner() {
        let id = MediaId::generate();
        assert_eq!(owner(ObjectKey::original(&id, "png").as_str()), Some(id.clone()));
        assert_eq!(owner(&format!("uploads/{id}")), Some(id.clone()));
        assert_eq!(owner(&format!("uploads/{id}-part")), Some(id.clone()));
        assert_eq!(owner("media/short/x"), None);
        assert_eq!(owner(&format!("uploads/{id}x")), None);
        assert_eq!(owner("media"), None);
    }

    #[test]
    fn one_walk_per_period() {
        let clock = WalkClock::default();
        assert!(clock.start(Duration::from_secs(60)), "the first sweep walks");
        assert!(!clock.start(Duration::from_secs(60)));
        let shared = clock.clone();
        assert!(shared.start(Duration::ZERO), "clones share the clock, due again once the period passed");
        assert!(!clock.start(Duration::from_secs(60)));
    }
}
