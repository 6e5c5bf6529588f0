//! Checks on what a participant posts that keep one account or one script from drowning a
//! discussion: links from accounts created days ago, and the same text posted over and over.
//! Rate limits per account and per address live in the handlers (`rate_limit`), the honeypot
//! field in the CSRF form check.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::models::UserRow;
use crate::db::schema::comments;
use crate::error::AppError;
use crate::services::campaigns::similarity::normalise;

/// Accounts younger than this are "new": spam accounts are usually used at once.
pub const NEW_ACCOUNT_DAYS: i64 = 7;
/// Links a new account may put in one comment (text and proposed wording together).
pub const NEW_ACCOUNT_MAX_LINKS: usize = 2;
/// The same text may be posted this many times per window by one account (on different
/// provisions, say); the next copy is refused.
pub const FLOOD_MAX_SAME_TEXT: usize = 3;
pub const FLOOD_WINDOW_HOURS: i64 = 24;
/// Only the author's latest comments in the window are compared, so a post costs the same
/// however much an account (allowed a high hourly limit) has written.
const FLOOD_LOOKBACK: i64 = 200;

/// Counts web and mail addresses: a Markdown link, an autolink and a bare URL each count
/// once, whatever wraps them.
pub fn count_links(text: &str) -> usize {
    text.split(|c: char| c.is_whitespace() || "()<>[]\"'".contains(c))
        .filter(|t| {
            let t = t.to_ascii_lowercase();
            t.starts_with("http://")
                || t.starts_with("https://")
                || t.starts_with("www.")
                || t.starts_with("mailto:")
        })
        .count()
}

/// Refuses more than [`NEW_ACCOUNT_MAX_LINKS`] links from an account created less than
/// [`NEW_ACCOUNT_DAYS`] ago.
pub fn check_links(
    author: &UserRow,
    body: &str,
    proposed_wording: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let new = now - author.created_at < Duration::days(NEW_ACCOUNT_DAYS);
    if new && count_links(body) + count_links(proposed_wording) > NEW_ACCOUNT_MAX_LINKS {
        return Err(AppError::field(
            "body",
            format!(
                "Accounts younger than {NEW_ACCOUNT_DAYS} days can include at most \
                 {NEW_ACCOUNT_MAX_LINKS} links in a comment. Remove some links, or name the \
                 documents instead"
            ),
        ));
    }
    Ok(())
}

/// Refuses a text the author already posted [`FLOOD_MAX_SAME_TEXT`] times in the last
/// [`FLOOD_WINDOW_HOURS`] hours (compared after normalising case, punctuation and spacing,
/// so trivial changes do not get around it). A repeated submission of the same form is not
/// a copy: it carries the same idempotency key and never reaches here as a new comment.
pub fn check_flood(
    conn: &mut DbConn,
    author: &UserRow,
    body: &str,
    idempotency_key: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let text = normalise(body);
    if text.is_empty() {
        return Ok(());
    }
    let recent: Vec<String> = comments::table
        .filter(comments::author_id.eq(author.id))
        .filter(comments::created_at.gt(now - Duration::hours(FLOOD_WINDOW_HOURS)))
        .filter(comments::idempotency_key.ne(idempotency_key))
        .order(comments::id.desc())
        .limit(FLOOD_LOOKBACK)
        .select(comments::body)
        .load(conn)?;
    let copies = recent.iter().filter(|b| normalise(b) == text).count();
    if copies >= FLOOD_MAX_SAME_TEXT {
        tracing::info!(
            user_id = author.id,
            copies,
            "refused a comment repeating the same text"
        );
        return Err(AppError::field(
            "body",
            format!(
                "You have already posted this text {copies} times today. Post it once on the \
                 draft as a whole, or say for each provision what should change there"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_counted_once_however_they_are_written() {
        assert_eq!(count_links("no links here, just www and http"), 0);
        assert_eq!(count_links("see https://example.org/a."), 1);
        assert_eq!(count_links("[the study](https://example.org/study)"), 1);
        assert_eq!(count_links("<https://example.org> and www.example.org"), 2);
        assert_eq!(count_links("HTTP://A.example mailto:x@example.org"), 2);
    }
}
