//! What the API and the workers share: configuration, domain types,
//! storage, metadata repository and the job queue.

pub mod config;
pub mod domain;
pub mod keys;
pub mod queue;
pub mod repo;
pub mod signing;
pub mod storage;
