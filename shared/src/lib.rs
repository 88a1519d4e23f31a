//! What the API and the workers share: configuration, domain types,
//! storage, metadata repository, the job queue and the SSRF-safe remote
//! fetcher.

pub mod config;
pub mod domain;
pub mod events;
pub mod fetch;
pub mod keys;
pub mod metrics;
pub mod notify;
pub mod queue;
pub mod repo;
pub mod signing;
pub mod storage;
pub mod thumbs;
pub mod webhooks;
