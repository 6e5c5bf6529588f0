//! Rows as stored. Domain types (`crate::domain`) parse the text columns.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = drafts)]
pub struct DraftRow {
    pub id: i64,
    pub title: String,
    pub kind: String,
    pub authority: String,
    pub summary: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = drafts)]
pub struct NewDraftRow<'a> {
    pub title: &'a str,
    pub kind: &'a str,
    pub authority: &'a str,
    pub summary: &'a str,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = versions)]
pub struct VersionRow {
    pub id: i64,
    pub draft_id: i64,
    pub number: i32,
    pub change_summary: String,
    pub published_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = provisions)]
pub struct ProvisionRow {
    pub id: i64,
    pub version_id: i64,
    pub key: String,
    pub kind: String,
    pub position: i32,
    pub depth: i32,
    pub label: Option<String>,
    pub heading: Option<String>,
    pub body: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = provisions)]
pub struct NewProvisionRow<'a> {
    pub version_id: i64,
    pub key: &'a str,
    pub kind: &'a str,
    pub position: i32,
    pub depth: i32,
    pub label: Option<&'a str>,
    pub heading: Option<&'a str>,
    pub body: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = consultation_rounds)]
pub struct RoundRow {
    pub id: i64,
    pub draft_id: i64,
    pub version_id: i64,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = draft_transitions)]
pub struct TransitionRow {
    pub id: i64,
    pub draft_id: i64,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor: String,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub respondent_type: String,
    pub email_verified_at: Option<NaiveDateTime>,
    pub is_admin: bool,
    pub blocked_until: Option<NaiveDateTime>,
    pub blocked_reason: Option<String>,
    pub deleted_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl UserRow {
    /// Blocked now (a block with no end lasts until lifted).
    pub fn is_blocked(&self, now: NaiveDateTime) -> bool {
        self.blocked_reason.is_some() && self.blocked_until.is_none_or(|until| until > now)
    }

    pub fn is_active(&self, now: NaiveDateTime) -> bool {
        self.deleted_at.is_none() && !self.is_blocked(now)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: i64,
    pub key_hash: String,
    pub user_id: Option<i64>,
    pub state: String,
    pub user_agent: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// One job of the durable queue (`crate::jobs`). `payload` is JSON text.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub run_at: NaiveDateTime,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub locked_by: Option<String>,
    pub locked_until: Option<NaiveDateTime>,
    pub done_at: Option<NaiveDateTime>,
    pub parked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJobRow<'a> {
    pub kind: &'a str,
    pub payload: &'a str,
    pub run_at: NaiveDateTime,
    pub attempts: i32,
    pub max_attempts: i32,
    pub created_at: NaiveDateTime,
}

/// An email address that follows something on Talqy (`crate::services::subscriptions`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscribers)]
pub struct SubscriberRow {
    pub id: i64,
    pub email: String,
    pub user_id: Option<i64>,
    pub confirmed_at: Option<NaiveDateTime>,
    pub manage_token_hash: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
pub struct SubscriptionRow {
    pub id: i64,
    pub subscriber_id: i64,
    pub kind: String,
    pub target: String,
    pub frequency: String,
    pub confirmed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// One event for one subscription, waiting for (or done with) delivery.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notification_events)]
pub struct NotificationEventRow {
    pub id: i64,
    pub subscription_id: i64,
    pub subscriber_id: i64,
    pub kind: String,
    pub subject: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub digest_sent_at: Option<NaiveDateTime>,
    pub digest_run_id: Option<i64>,
}
