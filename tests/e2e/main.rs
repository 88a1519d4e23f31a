//! End-to-end tests: one binary, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod compose;
mod config;
mod contracts;
mod crash;
mod durability;
mod folders;
mod hostile_bodies;
mod ingest;
mod latency;
mod links;
mod live;
mod matrix;
mod memory;
mod native;
mod presigned;
mod processing;
mod quota;
mod races;
mod ratelimit;
mod security;
mod settle;
mod shares;
mod upload;
mod video_privacy;
mod webhooks;
