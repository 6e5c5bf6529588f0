//! Single-use email tokens (verification, password reset, email change): random, stored
//! hashed, with an expiry; using one marks it used in the same transaction as its effect.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::email_tokens;
use crate::domain::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Verify,
    Reset,
    ChangeEmail,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::ChangeEmail => "change_email",
        }
    }

    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::Verify => Duration::hours(48),
            Purpose::Reset => Duration::hours(1),
            Purpose::ChangeEmail => Duration::hours(24),
        }
    }
}

/// Issues a token; returns the raw value for the email link (only its hash is stored).
/// Earlier unused tokens of the same purpose stop working.
pub fn issue(
    conn: &mut DbConn,
    user_id: i64,
    purpose: Purpose,
    new_email: Option<&str>,
) -> QueryResult<String> {
    let now = time::now();
    diesel::update(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::expires_at.eq(now))
    .execute(conn)?;
    let token = super::random_token();
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::user_id.eq(user_id),
            email_tokens::purpose.eq(purpose.as_str()),
            email_tokens::token_hash.eq(super::token_hash(&token)),
            email_tokens::new_email.eq(new_email),
            email_tokens::expires_at.eq(now + purpose.lifetime()),
            email_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(token)
}

#[derive(Debug, Clone)]
pub struct UsableToken {
    pub id: i64,
    pub user_id: i64,
    pub new_email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Unknown,
    Used,
    Expired,
}

type TokenRow = (
    i64,
    i64,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// Looks a token up without using it (to show a confirmation form).
pub fn check(
    conn: &mut DbConn,
    token: &str,
    purpose: Purpose,
) -> QueryResult<Result<UsableToken, TokenProblem>> {
    let row: Option<TokenRow> = email_tokens::table
        .filter(email_tokens::token_hash.eq(super::token_hash(token.trim())))
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .select((
            email_tokens::id,
            email_tokens::user_id,
            email_tokens::new_email,
            email_tokens::expires_at,
            email_tokens::used_at,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        None => Err(TokenProblem::Unknown),
        Some((_, _, _, _, Some(_))) => Err(TokenProblem::Used),
        Some((_, _, _, expires, None)) if expires <= time::now() => Err(TokenProblem::Expired),
        Some((id, user_id, new_email, _, None)) => Ok(UsableToken {
            id,
            user_id,
            new_email,
        }),
    })
}

/// Uses a token: call inside the write transaction that applies its effect. The `used_at IS
/// NULL` condition makes a concurrent second use fail.
pub fn consume(
    conn: &mut DbConn,
    token: &str,
    purpose: Purpose,
) -> QueryResult<Result<UsableToken, TokenProblem>> {
    let found = check(conn, token, purpose)?;
    if let Ok(t) = &found {
        let n = diesel::update(
            email_tokens::table
                .find(t.id)
                .filter(email_tokens::used_at.is_null()),
        )
        .set(email_tokens::used_at.eq(time::now()))
        .execute(conn)?;
        if n != 1 {
            return Ok(Err(TokenProblem::Used));
        }
    }
    Ok(found)
}
