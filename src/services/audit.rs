//! The audit log: who did what to which subject, and when. Written in the same transaction
//! as the action, so a row exists exactly when the action happened.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::audit_log;
use crate::domain::time;

/// Records one action. `actor_id` is `None` for the command line and the system; `subject`
/// names what was acted on (`user:12`, `draft:3`); `detail` is a short note or JSON, usually
/// `{"before": …, "after": …}` — never a password, token or message body.
pub fn record(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    action: &str,
    subject: &str,
    detail: &str,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_id.eq(actor_id),
            audit_log::action.eq(action),
            audit_log::subject.eq(subject),
            audit_log::detail.eq(detail),
            audit_log::created_at.eq(time::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// One row of the log.
#[derive(Debug, Clone, Queryable)]
pub struct AuditEntry {
    pub id: i64,
    pub actor_id: Option<i64>,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub created_at: NaiveDateTime,
}

/// The latest `limit` entries about one subject, newest first.
pub fn for_subject(conn: &mut DbConn, subject: &str, limit: i64) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .filter(audit_log::subject.eq(subject))
        .order(audit_log::id.desc())
        .limit(limit)
        .select((
            audit_log::id,
            audit_log::actor_id,
            audit_log::action,
            audit_log::subject,
            audit_log::detail,
            audit_log::created_at,
        ))
        .load(conn)
}
