//! The audit log: who did what to which subject, and when. Written in the same transaction
//! as the change it records.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::audit_log;
use crate::domain::time;

/// Records one action. `subject` names what was acted on, e.g. `user:12`; `detail` is a
/// short human-readable note (never a password, token or message body).
pub fn record(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    action: &str,
    subject: &str,
    detail: &str,
) -> QueryResult<i64> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_id.eq(actor_id),
            audit_log::action.eq(action),
            audit_log::subject.eq(subject),
            audit_log::detail.eq(detail),
            audit_log::created_at.eq(time::now()),
        ))
        .returning(audit_log::id)
        .get_result(conn)
}

/// One recorded action.
#[derive(Debug, Clone, Queryable)]
pub struct AuditEntry {
    pub id: i64,
    pub actor_id: Option<i64>,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub created_at: NaiveDateTime,
}

/// Everything recorded about `subject`, oldest first.
pub fn for_subject(conn: &mut DbConn, subject: &str) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .filter(audit_log::subject.eq(subject))
        .order(audit_log::id.asc())
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
