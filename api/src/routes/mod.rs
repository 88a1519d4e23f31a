//! Every route, one file per group.

pub mod admin;
pub mod auth;
pub mod chevereto;
mod chevereto_form;
pub mod copy;
pub mod files;
pub mod folders;
pub mod health;
pub mod keys;
pub mod link_meta;
pub mod links;
pub mod pages;
pub mod serve;
pub mod shares;
pub mod signed;
pub mod thumbs;
pub mod trash;
pub mod upload;
pub mod upload_links;
pub mod versions;
pub mod zip;
