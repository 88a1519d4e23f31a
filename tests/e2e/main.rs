//! End-to-end tests: one binary, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod compose;
mod config;
mod contracts;
mod crash;
mod folders;
mod ingest;
mod links;
mod matrix;
mod memory;
mod native;
mod processing;
mod quota;
mod ratelimit;
mod shares;
mod upload;
mod video_privacy;
