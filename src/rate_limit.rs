//! Fixed-window rate limits kept in the database, so every app instance counts against the
//! same numbers (an in-process limiter would give each instance its own allowance).

use chrono::Duration;

use crate::db::{DbConn, dialect};
use crate::domain::time;
use crate::error::AppError;

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub max: i32,
    pub window: Duration,
}

impl Limit {
    pub const fn per_minutes(name: &'static str, max: i32, minutes: i64) -> Limit {
        Limit {
            name,
            max,
            window: Duration::minutes(minutes),
        }
    }
}

// Generous per address: a university or ministry network signs many people in from one IP;
// the per-account limit is what stops guessing.
pub const SIGN_IN_PER_IP: Limit = Limit::per_minutes("signin-ip", 100, 15);
pub const SIGN_IN_PER_ACCOUNT: Limit = Limit::per_minutes("signin-account", 8, 15);
pub const REGISTER_PER_IP: Limit = Limit::per_minutes("register-ip", 10, 60);
pub const RESET_PER_IP: Limit = Limit::per_minutes("reset-ip", 10, 60);
pub const RESET_PER_ACCOUNT: Limit = Limit::per_minutes("reset-account", 3, 60);
pub const VERIFY_EMAIL_PER_ACCOUNT: Limit = Limit::per_minutes("verify-account", 3, 60);
pub const EMAIL_CHANGE_PER_ACCOUNT: Limit = Limit::per_minutes("email-change-account", 5, 60);
pub const SUBSCRIBE_PER_IP: Limit = Limit::per_minutes("subscribe-ip", 20, 60);
pub const SUBSCRIBE_PER_ADDRESS: Limit = Limit::per_minutes("subscribe-address", 5, 60);

/// Comments and replies per account and per client address, per hour (from the
/// configuration).
pub fn comments_per_account(max: i32) -> Limit {
    Limit::per_minutes("comment-account", max, 60)
}

pub fn comments_per_ip(max: i32) -> Limit {
    Limit::per_minutes("comment-ip", max, 60)
}

/// Counts one hit against `limit` for `who` (an IP address, an account id or email); refuses
/// with the wait time once the window's allowance is spent.
pub fn hit(conn: &mut DbConn, limit: Limit, who: &str) -> Result<(), AppError> {
    match hits(conn, limit, who, 1)?.pop().flatten() {
        Some(retry_after_secs) => Err(AppError::TooManyRequests { retry_after_secs }),
        None => Ok(()),
    }
}

/// Counts `n` hits against `limit` for `who` in one statement (the posts of one group commit)
/// and tells, for each hit in order, whether it was refused: `Some(retry_after_secs)` for a
/// hit past the window's allowance, exactly as `n` calls of [`hit`] would.
pub fn hits(
    conn: &mut DbConn,
    limit: Limit,
    who: &str,
    n: usize,
) -> diesel::QueryResult<Vec<Option<i64>>> {
    let now = time::now();
    let bucket = format!("{}:{}", limit.name, who.to_lowercase());
    let n32 = i32::try_from(n).unwrap_or(i32::MAX);
    let (total, window_start) = dialect::count_hits(conn, &bucket, now, now - limit.window, n32)?;
    let retry = (window_start + limit.window - now).num_seconds().max(1);
    Ok((0..n32)
        .map(|k| (total - n32 + 1 + k > limit.max).then_some(retry))
        .collect())
}
