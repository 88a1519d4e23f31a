//! Chunks answered before they are recorded.
//!
//! On the file system store a PATCH that does not finish the upload is
//! answered (204, the new offset) as soon as its bytes are received and
//! handed to the store's writer; the writer ends, the bytes are made
//! durable (`fdatasync`) and only then is the offset recorded, in the
//! background, under the writer's lock ([`record_later`]).
//! So the client reads and sends its next chunk while the disk is still
//! busy with the last one, instead of the network and the disk taking
//! turns. The recorded offset — the one `HEAD` reports, the one a resume
//! starts from — is always on disk; a crash before the record costs the
//! client a resend from that offset, never a byte.
//!
//! A request that arrives meanwhile (the client's next PATCH, a HEAD)
//! waits here for the record ([`settled`]) rather than see the old offset.
//! In another API process it cannot: a PATCH there polls the row for a
//! moment instead (see `tus`).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use mediaq_shared::domain::MediaId;
use mediaq_shared::repo::Progress;
use mediaq_shared::storage::Unsynced;

use super::held::Held;

/// Records pending in this process, by upload id: their receivers close
/// once the record is done (or given up).
static PENDING: LazyLock<Mutex<HashMap<MediaId, watch::Receiver<()>>>> = LazyLock::new(Mutex::default);

/// Present in [`PENDING`] for as long as it lives.
struct Pending {
    id: MediaId,
    _done: watch::Sender<()>,
}

impl Pending {
    fn begin(id: &MediaId) -> Self {
        let (done, rx) = watch::channel(());
        if let Ok(mut map) = PENDING.lock() {
            map.insert(id.clone(), rx);
        }
        Self { id: id.clone(), _done: done }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Ok(mut map) = PENDING.lock() {
            map.remove(&self.id);
        }
    }
}

/// Waits until no record of upload `id` is pending in this process;
/// true when there was one.
pub async fn settled(id: &MediaId) -> bool {
    let waiting = PENDING.lock().ok().and_then(|map| map.get(id).cloned());
    match waiting {
        Some(mut rx) => {
            // Closed (an error) once the record is done.
            let _ = rx.changed().await;
            true
        }
        None => false,
    }
}

/// Makes `bytes` durable, then records `offset` and lets go of `held`; if
/// the sync fails the offset stays where it was (the client's next PATCH
/// gets 409, and its HEAD the recorded offset).
pub fn record_later(held: Held, bytes: Unsynced, offset: u64, expires_at: DateTime<Utc>) {
    let pending = Pending::begin(held.id());
    tokio::spawn(async move {
        let _pending = pending;
        if let Err(e) = bytes.sync().await {
            tracing::error!(error = %e, "an upload chunk could not be made durable; its offset is not recorded");
            held.release().await;
            return;
        }
        let progress = Progress { offset, multipart_id: None, parts: &[], tail_bytes: 0, expires_at };
        match held.advance(&progress).await {
            Ok(true) => {}
            Ok(false) => tracing::info!("an upload was terminated or expired while its chunk was synced"),
            Err(e) => tracing::warn!(error = %e, "could not record an upload's offset; the client resends"),
        }
    });
}
