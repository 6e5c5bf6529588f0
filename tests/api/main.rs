//! Integration tests: the real HTTP app on port 0, against a temporary SQLite file or (with
//! TALQY_TEST_DATABASE_URL=postgres://…) a fresh PostgreSQL database per test.

mod cli;
mod drafts;
mod email;
mod health;
mod helpers;
mod pages;
mod schema;
