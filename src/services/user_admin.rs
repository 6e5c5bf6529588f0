//! Administration of accounts: search, blocks, the admin role, and the first admin created
//! from the command line. Every change is written to the audit log in the same transaction,
//! with the account's state before and after.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde_json::json;

use crate::auth::tokens::{self, Purpose};
use crate::config::Config;
use crate::db::DbConn;
use crate::db::dialect::write_transaction;
use crate::db::models::UserRow;
use crate::db::schema::{drafts, sessions, users};
use crate::domain::{DisplayName, DraftStatus, Email, RespondentType, time};
use crate::error::{AppError, FieldError};
use crate::services::{Page, accounts, audit};

diesel::define_sql_function! {
    /// SQL `LOWER`: the same on SQLite and PostgreSQL for ASCII text.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Users per page in the admin list.
pub const PER_PAGE: i64 = 50;

pub const REASON_MIN: usize = 3;
pub const REASON_MAX: usize = 500;

/// The password hash of an account that has no password yet: it never verifies.
pub const NO_PASSWORD: &str = "!";

/// Escapes `LIKE` wildcards so that a search for `a_b` or `50%` finds exactly that.
fn like_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Accounts whose email or name contains `query` (case-insensitive), newest first.
/// `LOWER` only folds ASCII on SQLite, so the name is also matched as typed: "Айгерим" finds
/// "Айгерим Нурлановна" on both backends, "айгерим" only on PostgreSQL.
pub fn search(
    conn: &mut DbConn,
    query: &str,
    page: i64,
    per_page: i64,
) -> Result<Page<UserRow>, AppError> {
    let page = page.max(1);
    let needle = query.split_whitespace().collect::<Vec<_>>().join(" ");
    let lowered = like_pattern(&needle.to_lowercase());
    let as_typed = like_pattern(&needle);
    let build = || {
        let mut q = users::table
            .filter(users::deleted_at.is_null())
            .into_boxed();
        if !needle.is_empty() {
            q = q.filter(
                lower(users::email)
                    .like(lowered.clone())
                    .escape('\\')
                    .or(lower(users::display_name)
                        .like(lowered.clone())
                        .escape('\\'))
                    .or(users::display_name.like(as_typed.clone()).escape('\\')),
            );
        }
        q
    };
    let total: i64 = build().count().get_result(conn)?;
    let items: Vec<UserRow> = build()
        .order((users::created_at.desc(), users::id.desc()))
        .limit(per_page)
        .offset((page - 1) * per_page)
        .select(UserRow::as_select())
        .load(conn)?;
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}

/// An account for its admin page (deleted accounts are not found).
pub fn find(conn: &mut DbConn, id: i64) -> Result<UserRow, AppError> {
    accounts::find(conn, id)?
        .filter(|u| u.deleted_at.is_none())
        .ok_or(AppError::NotFound)
}

/// What the dashboard counts.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub users: i64,
    pub unverified: i64,
    pub blocked: i64,
    pub admins: i64,
    /// Every status, in lifecycle order, with its number of drafts (zero included).
    pub drafts: Vec<(DraftStatus, i64)>,
}

pub fn counts(conn: &mut DbConn) -> Result<Counts, AppError> {
    let now = time::now();
    let live = || users::table.filter(users::deleted_at.is_null());
    let users: i64 = live().count().get_result(conn)?;
    let unverified: i64 = live()
        .filter(users::email_verified_at.is_null())
        .count()
        .get_result(conn)?;
    let blocked: i64 = live()
        .filter(users::blocked_reason.is_not_null())
        .filter(
            users::blocked_until
                .is_null()
                .or(users::blocked_until.gt(now)),
        )
        .count()
        .get_result(conn)?;
    let admins: i64 = live()
        .filter(users::is_admin.eq(true))
        .count()
        .get_result(conn)?;
    let by_status: Vec<(String, i64)> = drafts::table
        .group_by(drafts::status)
        .select((drafts::status, count_star()))
        .load(conn)?;
    let drafts = DraftStatus::ALL
        .into_iter()
        .map(|s| {
            let n = by_status
                .iter()
                .find(|(status, _)| status == s.as_str())
                .map_or(0, |(_, n)| *n);
            (s, n)
        })
        .collect();
    Ok(Counts {
        users,
        unverified,
        blocked,
        admins,
        drafts,
    })
}

/// The account's state as the audit log records it.
fn snapshot(u: &UserRow) -> serde_json::Value {
    json!({
        "email": u.email,
        "is_admin": u.is_admin,
        "verified": u.email_verified_at.is_some(),
        "blocked_reason": u.blocked_reason,
        "blocked_until": u.blocked_until.map(time::machine),
    })
}

fn audit_change(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    action: &str,
    before: &UserRow,
    extra: serde_json::Value,
) -> Result<UserRow, AppError> {
    let after = accounts::find(conn, before.id)?.ok_or(AppError::NotFound)?;
    let mut detail = json!({ "before": snapshot(before), "after": snapshot(&after) });
    if let (Some(d), serde_json::Value::Object(extra)) = (detail.as_object_mut(), extra) {
        d.extend(extra);
    }
    audit::record(
        conn,
        actor_id,
        action,
        &format!("user:{}", before.id),
        &detail.to_string(),
    )?;
    Ok(after)
}

/// A block as typed into the form: a reason and an optional end date.
#[derive(Debug, Clone)]
pub struct ValidBlock {
    pub reason: String,
    pub until: Option<NaiveDateTime>,
}

/// Checks a block: a reason of 3 to 500 characters; an end (a date means the end of that
/// day, UTC) that lies in the future. Every problem at once.
pub fn parse_block(reason: &str, until: &str) -> Result<ValidBlock, Vec<FieldError>> {
    let mut errors = Vec::new();
    let reason = reason.trim().replace("\r\n", "\n");
    let len = reason.chars().count();
    if len == 0 {
        errors.push(FieldError::new(
            "reason",
            "Give the reason for the block: the person is shown it when they try to sign in",
        ));
    } else if !(REASON_MIN..=REASON_MAX).contains(&len) {
        errors.push(FieldError::new(
            "reason",
            format!(
                "The reason must be {REASON_MIN} to {REASON_MAX} characters long (it has {len})"
            ),
        ));
    } else if reason.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError::new(
            "reason",
            "The reason must not contain control characters",
        ));
    }
    let until = match until.trim() {
        "" => None,
        s => match time::parse_datetime(s, true) {
            None => {
                errors.push(FieldError::new(
                    "until",
                    "Enter the end of the block as a date like 2027-01-15, or leave it empty",
                ));
                None
            }
            Some(t) if t <= time::now() => {
                errors.push(FieldError::new(
                    "until",
                    "The end of the block must be in the future",
                ));
                None
            }
            Some(t) => Some(t),
        },
    };
    if errors.is_empty() {
        Ok(ValidBlock { reason, until })
    } else {
        Err(errors)
    }
}

/// Blocks an account (or changes its block) and ends its sessions at once.
pub fn block(
    conn: &mut DbConn,
    actor: &UserRow,
    user_id: i64,
    reason: &str,
    until: &str,
) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if actor.id == user_id {
        errors.push(FieldError::new(
            "reason",
            "You cannot block your own account",
        ));
    }
    let valid = parse_block(reason, until);
    if let Err(e) = &valid {
        errors.extend(e.iter().cloned());
    }
    let valid = match valid {
        Ok(v) if errors.is_empty() => v,
        _ => return Err(AppError::Validation(errors)),
    };
    write_transaction(conn, |conn| {
        let before = find(conn, user_id)?;
        let now = time::now();
        diesel::update(users::table.find(user_id))
            .set((
                users::blocked_reason.eq(&valid.reason),
                users::blocked_until.eq(valid.until),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        let ended =
            diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?;
        audit_change(
            conn,
            Some(actor.id),
            "user.block",
            &before,
            json!({ "sessions_ended": ended }),
        )?;
        Ok(())
    })
}

/// Lifts a block. Returns whether there was one.
pub fn unblock(conn: &mut DbConn, actor: &UserRow, user_id: i64) -> Result<bool, AppError> {
    write_transaction(conn, |conn| {
        let before = find(conn, user_id)?;
        if before.blocked_reason.is_none() && before.blocked_until.is_none() {
            return Ok(false);
        }
        diesel::update(users::table.find(user_id))
            .set((
                users::blocked_reason.eq(None::<String>),
                users::blocked_until.eq(None::<NaiveDateTime>),
                users::updated_at.eq(time::now()),
            ))
            .execute(conn)?;
        audit_change(conn, Some(actor.id), "user.unblock", &before, json!({}))?;
        Ok(true)
    })
}

/// Grants or removes the admin role. Nobody removes their own: there is always an admin
/// left who can act, and a slip cannot lock the last one out.
pub fn set_admin(
    conn: &mut DbConn,
    actor: &UserRow,
    user_id: i64,
    admin: bool,
) -> Result<bool, AppError> {
    if actor.id == user_id && !admin {
        return Err(AppError::field(
            "admin",
            "You cannot remove your own administrator role; ask another administrator",
        ));
    }
    write_transaction(conn, |conn| {
        let before = find(conn, user_id)?;
        if before.is_admin == admin {
            return Ok(false);
        }
        diesel::update(users::table.find(user_id))
            .set((users::is_admin.eq(admin), users::updated_at.eq(time::now())))
            .execute(conn)?;
        let action = if admin {
            "user.grant_admin"
        } else {
            "user.revoke_admin"
        };
        audit_change(conn, Some(actor.id), action, &before, json!({}))?;
        Ok(true)
    })
}

/// What `talqy create-admin` did.
#[derive(Debug, Clone)]
pub enum CreatedAdmin {
    /// A new verified admin account without a password, and the link to set one.
    Created { id: i64, link: String },
    /// An existing account, now an admin. `link` is given when it has no password yet.
    Promoted {
        id: i64,
        was_admin: bool,
        blocked: Option<String>,
        link: Option<String>,
    },
}

fn reset_link(conn: &mut DbConn, config: &Config, user_id: i64) -> Result<String, AppError> {
    let token = tokens::issue(conn, user_id, Purpose::Reset, None)?;
    Ok(config.public_url(&format!("/password/reset?token={token}")))
}

/// Makes `email` an administrator: an existing account is promoted (and counts as
/// verified); otherwise a verified account without a usable password is created, with a
/// one-hour link to choose one. No password ever passes through a command line.
pub fn create_admin(
    conn: &mut DbConn,
    config: &Config,
    email: &str,
    name: Option<&str>,
) -> Result<CreatedAdmin, AppError> {
    let email = Email::parse(email)?;
    let name = match name {
        Some(n) => Some(DisplayName::parse(n)?),
        None => None,
    };
    write_transaction(conn, |conn| {
        let now = time::now();
        if let Some(before) = accounts::find_by_email(conn, email.as_str())? {
            diesel::update(users::table.find(before.id))
                .set((users::is_admin.eq(true), users::updated_at.eq(now)))
                .execute(conn)?;
            diesel::update(
                users::table
                    .find(before.id)
                    .filter(users::email_verified_at.is_null()),
            )
            .set(users::email_verified_at.eq(now))
            .execute(conn)?;
            if let Some(n) = &name {
                diesel::update(users::table.find(before.id))
                    .set(users::display_name.eq(n.as_str()))
                    .execute(conn)?;
            }
            let after = audit_change(
                conn,
                None,
                "admin.create",
                &before,
                json!({ "created": false }),
            )?;
            let link = if after.password_hash == NO_PASSWORD {
                Some(reset_link(conn, config, after.id)?)
            } else {
                None
            };
            return Ok(CreatedAdmin::Promoted {
                id: after.id,
                was_admin: before.is_admin,
                blocked: after
                    .is_blocked(now)
                    .then(|| after.blocked_reason.clone().unwrap_or_default()),
                link,
            });
        }
        let display = match &name {
            Some(n) => n.as_str().to_string(),
            None => default_name(email.as_str()),
        };
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::email.eq(email.as_str()),
                users::display_name.eq(&display),
                users::password_hash.eq(NO_PASSWORD),
                users::respondent_type.eq(RespondentType::PublicAuthority.as_str()),
                users::email_verified_at.eq(Some(now)),
                users::is_admin.eq(true),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .returning(users::id)
            .get_result(conn)
            .map_err(|e| match e {
                // Only a deleted account can still hold the address.
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => AppError::field("email", "this address belongs to a deleted account"),
                other => other.into(),
            })?;
        let after = accounts::find(conn, id)?.ok_or(AppError::NotFound)?;
        audit::record(
            conn,
            None,
            "admin.create",
            &format!("user:{id}"),
            &json!({ "created": true, "before": null, "after": snapshot(&after) }).to_string(),
        )?;
        let link = reset_link(conn, config, id)?;
        Ok(CreatedAdmin::Created { id, link })
    })
}

/// "aigerim.n@gov.kz" → "aigerim.n": a name to start with, changeable later.
fn default_name(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    match DisplayName::parse(local) {
        Ok(n) => n.as_str().to_string(),
        Err(_) => "Administrator".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }

    #[test]
    fn blocks_need_a_reason_and_a_future_end() {
        let e = parse_block("  ", "").unwrap_err();
        assert_eq!(e[0].field, "reason");
        let e = parse_block("ok", "2001-01-01").unwrap_err();
        assert_eq!(
            e.iter().map(|e| e.field).collect::<Vec<_>>(),
            vec!["reason", "until"]
        );
        let e = parse_block("Spam", "next week").unwrap_err();
        assert_eq!(e[0].field, "until");
        let b = parse_block("Spam in comments", "2999-01-15").unwrap();
        assert_eq!(time::display(b.until.unwrap()), "2999-01-15 23:59 UTC");
        assert!(parse_block("Spam", "").unwrap().until.is_none());
        assert!(parse_block(&"x".repeat(501), "").is_err());
    }

    #[test]
    fn default_names_come_from_the_address() {
        assert_eq!(default_name("aigerim.n@gov.kz"), "aigerim.n");
        assert_eq!(default_name("a@gov.kz"), "Administrator");
    }
}
