//! Domain rules, shared by pages, the API and the CLI. Functions take a connection and do
//! their writes in one transaction; handlers stay thin.

pub mod account_settings;
pub mod accounts;
pub mod anti_abuse;
pub mod audit;
pub mod campaigns;
pub mod chain;
pub mod comments;
pub mod comparison;
pub mod draft_admin;
pub mod drafts;
pub mod import;
pub mod mail;
pub mod moderation;
pub mod notifications;
pub mod organizations;
pub mod posting;
pub mod report;
pub mod revisions;
pub mod seed;
pub mod subscriptions;
pub mod triage;
pub mod user_admin;
pub mod working_groups;

/// One page of a longer list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

impl<T> Page<T> {
    pub fn total_pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }
}
