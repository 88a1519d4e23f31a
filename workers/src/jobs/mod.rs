//! One job per file; this module only re-exports them.

pub mod process;
