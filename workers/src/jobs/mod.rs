//! One job per file; this module only re-exports them.

pub mod fetch;
pub mod process;
pub mod purge;
pub mod sweep;
