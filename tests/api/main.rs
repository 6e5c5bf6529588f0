//! Integration tests: the real HTTP app on port 0, against a temporary SQLite file or (with
//! TALQY_TEST_DATABASE_URL=postgres://…) a fresh PostgreSQL database per test.

mod account_settings;
mod accounts;
mod admin;
mod admin_drafts;
mod admin_users;
mod anti_abuse;
mod campaigns;
mod chain;
mod cli;
mod comments;
mod drafts;
mod email;
mod health;
mod helpers;
mod logs;
mod moderation;
mod notifications;
mod organizations;
mod page_cache;
mod pages;
mod posting;
mod report;
mod revisions;
mod schema;
mod triage;
