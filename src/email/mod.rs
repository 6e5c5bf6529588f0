// PLACEHOLDER until the email-queue branch lands: same API, enqueue only.
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::jobs;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EmailMessage {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn enqueue_email(conn: &mut DbConn, msg: &EmailMessage) -> QueryResult<i64> {
    let now = crate::domain::time::now();
    diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq("email"),
            jobs::payload.eq(serde_json::to_string(msg).unwrap_or_default()),
            jobs::run_at.eq(now),
            jobs::max_attempts.eq(8),
            jobs::created_at.eq(now),
        ))
        .returning(jobs::id)
        .get_result(conn)
}
