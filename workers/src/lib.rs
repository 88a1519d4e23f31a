//! The workers: apalis workers over the job queue, each job a plain
//! function in `jobs/` that tests call directly.

pub mod env;
pub mod error;
pub mod jobs;
pub mod media;
mod monitor;
pub mod original;
pub mod thumbs;

pub use env::Env;
pub use monitor::{QueueSet, run};
