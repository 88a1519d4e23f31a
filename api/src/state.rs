//! What every handler can reach: configuration and the three backends.

use std::sync::Arc;

use mediaq_shared::config::Config;
use mediaq_shared::queue::DynQueue;
use mediaq_shared::repo::DynRepo;
use mediaq_shared::signing::UrlSigner;
use mediaq_shared::storage::DynStorage;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub repo: DynRepo,
    pub storage: DynStorage,
    pub queue: DynQueue,
    /// Signs and checks the URLs the API serves itself.
    pub signer: UrlSigner,
    /// Thumbnails by size: the renderer the binary wires in.
    pub thumbs: crate::thumbnails::Thumbs,
}

impl AppState {
    /// An absolute URL under `MEDIAQ_PUBLIC_URL` for a path starting with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.public_url)
    }
}
