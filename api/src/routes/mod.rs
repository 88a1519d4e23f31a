//! Every route, one file per group.

pub mod chevereto;
pub mod files;
pub mod health;
pub mod pages;
pub mod serve;
pub mod signed;
pub mod upload;
