//! Talqy: a public consultation platform for draft normative acts.
//!
//! The crate is one library and one binary. Pages (`routes`) and the JSON API share the
//! domain rules in `services`; `db` hides the two database backends.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod email;
pub mod error;
pub mod i18n;
pub mod jobs;
pub mod markdown;
pub mod page_cache;
pub mod rate_limit;
pub mod routes;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod templates;
