//! A participant's own account: profile, email change (confirmed from the new mailbox),
//! password change, the list of signed-in devices, and deleting the account. Every email is
//! enqueued in the same transaction as the change it reports; answers about an address
//! never reveal whether another account uses it.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::tokens::{self, Purpose, TokenProblem};
use crate::config::Config;
use crate::db::DbConn;
use crate::db::dialect::write_transaction;
use crate::db::models::{SessionRow, UserRow};
use crate::db::schema::{
    email_tokens, organization_representatives, rate_limits, sessions, users, working_group_members,
};
use crate::domain::{DisplayName, Email, RespondentType, time};
use crate::email::enqueue_email;
use crate::error::{AppError, FieldError};
use crate::services::accounts::find;
use crate::services::mail;

/// The name and "responding as" form of the account page.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ProfileInput {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub respondent_type: String,
}

impl ProfileInput {
    pub fn validate(&self) -> Result<(DisplayName, RespondentType), Vec<FieldError>> {
        match (
            DisplayName::parse(&self.display_name),
            RespondentType::parse(&self.respondent_type),
        ) {
            (Ok(n), Ok(r)) => Ok((n, r)),
            (n, r) => Err([n.err(), r.err()].into_iter().flatten().collect()),
        }
    }
}

pub fn update_profile(
    conn: &mut DbConn,
    user_id: i64,
    name: &DisplayName,
    kind: RespondentType,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let n = diesel::update(
            users::table
                .find(user_id)
                .filter(users::deleted_at.is_null()),
        )
        .set((
            users::display_name.eq(name.as_str()),
            users::respondent_type.eq(kind.as_str()),
            users::updated_at.eq(time::now()),
        ))
        .execute(conn)?;
        if n == 1 {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    })
}

/// Whether an account other than `except` uses `email` (deleted accounts carry a placeholder
/// address, so they never hold a real one).
fn address_used_by_other(conn: &mut DbConn, email: &str, except: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::email.eq(email))
            .filter(users::id.ne(except)),
    ))
    .get_result(conn)
}

/// Starts an email change that the caller has authorised (current password checked). When
/// the new address is free it gets a confirmation link; when another account uses it, its
/// owner is told only that someone tried to use the address. Either way the current address
/// is told that a change was requested, so the person asking cannot tell the cases apart.
pub fn request_email_change(
    conn: &mut DbConn,
    config: &Config,
    user: &UserRow,
    new_email: &Email,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        if address_used_by_other(conn, new_email.as_str(), user.id)? {
            enqueue_email(conn, &address_in_use_mail(new_email.as_str(), config))?;
        } else {
            let token = tokens::issue(
                conn,
                user.id,
                Purpose::ChangeEmail,
                Some(new_email.as_str()),
            )?;
            let link = config.public_url(&format!("/account/email/confirm?token={token}"));
            enqueue_email(
                conn,
                &confirm_new_address_mail(new_email.as_str(), &user.display_name, &link),
            )?;
        }
        enqueue_email(
            conn,
            &change_requested_mail(&user.email, &user.display_name, new_email.as_str(), config),
        )?;
        Ok(())
    })
}

/// Why an email-change link cannot be used.
#[derive(Debug)]
pub enum EmailChangeError {
    Token(TokenProblem),
    /// Another account took the address after the link was sent.
    AddressTaken,
    Other(AppError),
}

impl From<diesel::result::Error> for EmailChangeError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match e {
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                EmailChangeError::AddressTaken
            }
            other => EmailChangeError::Other(other.into()),
        }
    }
}

impl From<crate::db::DbError> for EmailChangeError {
    fn from(e: crate::db::DbError) -> Self {
        EmailChangeError::Other(e.into())
    }
}

impl From<AppError> for EmailChangeError {
    fn from(e: AppError) -> Self {
        EmailChangeError::Other(e)
    }
}

/// Checks an email-change link before showing its confirmation button; gives the new address.
pub fn check_email_change(conn: &mut DbConn, token: &str) -> Result<String, EmailChangeError> {
    let t = tokens::check(conn, token, Purpose::ChangeEmail)?.map_err(EmailChangeError::Token)?;
    let user = find(conn, t.user_id)?.filter(|u| u.deleted_at.is_none());
    let new_email = t.new_email.unwrap_or_default();
    if user.is_none() || new_email.is_empty() {
        return Err(EmailChangeError::Token(TokenProblem::Unknown));
    }
    if address_used_by_other(conn, &new_email, t.user_id)? {
        return Err(EmailChangeError::AddressTaken);
    }
    Ok(new_email)
}

/// Uses an email-change link: the account's address becomes the new one (proven by the
/// link) if no other account took it meanwhile. Links sent to the old address stop working.
/// On any refusal nothing changes, the link included.
pub fn confirm_email_change(conn: &mut DbConn, token: &str) -> Result<UserRow, EmailChangeError> {
    write_transaction(conn, |conn| {
        let t =
            tokens::consume(conn, token, Purpose::ChangeEmail)?.map_err(EmailChangeError::Token)?;
        let new_email = t
            .new_email
            .filter(|e| !e.is_empty())
            .ok_or(EmailChangeError::Token(TokenProblem::Unknown))?;
        let user = find(conn, t.user_id)?
            .filter(|u| u.deleted_at.is_none())
            .ok_or(EmailChangeError::Token(TokenProblem::Unknown))?;
        if address_used_by_other(conn, &new_email, user.id)? {
            return Err(EmailChangeError::AddressTaken);
        }
        let now = time::now();
        diesel::update(users::table.find(user.id))
            .set((
                users::email.eq(&new_email),
                users::email_verified_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::update(
            email_tokens::table
                .filter(email_tokens::user_id.eq(user.id))
                .filter(email_tokens::used_at.is_null())
                .filter(email_tokens::expires_at.gt(now)),
        )
        .set(email_tokens::expires_at.eq(now))
        .execute(conn)?;
        crate::services::subscriptions::follow_account_email(conn, user.id, &new_email)?;
        Ok(find(conn, user.id)?.ok_or(AppError::NotFound)?)
    })
}

/// Stores a new password hash (computed off the executor), ends every session of the account
/// (the caller then starts a fresh one for the device that made the change) and tells the
/// account's address.
pub fn change_password(
    conn: &mut DbConn,
    config: &Config,
    user: &UserRow,
    password_hash: &str,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let now = time::now();
        diesel::update(users::table.find(user.id))
            .set((
                users::password_hash.eq(password_hash),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user.id))).execute(conn)?;
        enqueue_email(
            conn,
            &password_changed_mail(&user.email, &user.display_name, config),
        )?;
        Ok(())
    })
}

/// One signed-in device of the account.
#[derive(Debug, Clone)]
pub struct DeviceSession {
    pub id: i64,
    pub started_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub user_agent: String,
    /// The random identifier put in the session at sign-in (see `auth::extract::SID`).
    pub sid: Option<String>,
}

fn session_sid(state: &str) -> Option<String> {
    let map: HashMap<String, String> = serde_json::from_str(state).ok()?;
    serde_json::from_str::<String>(map.get(crate::auth::extract::SID)?).ok()
}

impl From<SessionRow> for DeviceSession {
    fn from(r: SessionRow) -> Self {
        DeviceSession {
            sid: session_sid(&r.state),
            id: r.id,
            started_at: r.created_at,
            last_seen_at: r.last_seen_at,
            user_agent: r.user_agent,
        }
    }
}

/// The account's sessions that still work: not expired, and younger than the absolute
/// session lifetime. Most recently used first.
pub fn list_sessions(
    conn: &mut DbConn,
    user_id: i64,
    absolute: Duration,
) -> QueryResult<Vec<DeviceSession>> {
    let now = time::now();
    let rows: Vec<SessionRow> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::created_at.gt(now - absolute))
        .order((sessions::last_seen_at.desc(), sessions::id.desc()))
        .select(SessionRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(DeviceSession::from).collect())
}

/// Ends one session of the account; another account's session (or none) is `NotFound`, and
/// nothing is deleted. Returns the ended session.
pub fn revoke_session(
    conn: &mut DbConn,
    user_id: i64,
    session_id: i64,
) -> Result<DeviceSession, AppError> {
    write_transaction(conn, |conn| {
        let row: SessionRow = sessions::table
            .find(session_id)
            .filter(sessions::user_id.eq(user_id))
            .select(SessionRow::as_select())
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        diesel::delete(sessions::table.find(row.id)).execute(conn)?;
        Ok(row.into())
    })
}

/// Ends every session of the account (the caller renews the one making the request).
pub fn revoke_all_sessions(conn: &mut DbConn, user_id: i64) -> Result<usize, AppError> {
    write_transaction(conn, |conn| {
        Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?)
    })
}

pub const DELETED_NAME: &str = "Former participant";

pub fn deleted_email(user_id: i64) -> String {
    format!("deleted-{user_id}@deleted.invalid")
}

/// Deletes an account by erasing its personal data in one transaction. The row stays (with
/// its respondent type, for the statistics of discussions it took part in) so that what the
/// person published can still be attributed to "former participant". Sessions, email links,
/// working-group memberships and organization representations go; so do rate-limit counters
/// keyed by the address.
pub fn delete_account(conn: &mut DbConn, user: &UserRow) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let now = time::now();
        let n = diesel::update(
            users::table
                .find(user.id)
                .filter(users::deleted_at.is_null()),
        )
        .set((
            users::email.eq(deleted_email(user.id)),
            users::display_name.eq(DELETED_NAME),
            users::password_hash.eq("!"),
            users::is_admin.eq(false),
            users::deleted_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
        if n != 1 {
            return Err(AppError::NotFound);
        }
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user.id))).execute(conn)?;
        diesel::delete(email_tokens::table.filter(email_tokens::user_id.eq(user.id)))
            .execute(conn)?;
        crate::services::subscriptions::forget_user(conn, user.id, &user.email)?;
        diesel::delete(
            working_group_members::table.filter(working_group_members::user_id.eq(user.id)),
        )
        .execute(conn)?;
        diesel::delete(
            organization_representatives::table
                .filter(organization_representatives::user_id.eq(user.id)),
        )
        .execute(conn)?;
        let email = user.email.to_lowercase();
        let buckets: Vec<String> = [
            crate::rate_limit::SIGN_IN_PER_ACCOUNT,
            crate::rate_limit::RESET_PER_ACCOUNT,
        ]
        .iter()
        .map(|l| format!("{}:{email}", l.name))
        .collect();
        diesel::delete(rate_limits::table.filter(rate_limits::bucket.eq_any(buckets)))
            .execute(conn)?;
        Ok(())
    })
}

fn confirm_new_address_mail(to: &str, name: &str, link: &str) -> crate::email::EmailMessage {
    mail::compose(
        to,
        "Confirm your new email address for Talqy",
        &format!("Hello {name},"),
        &[
            "You asked to use this address for your Talqy account. Your address changes only when you confirm it with the button below. The link works for 24 hours and can be used once.".into(),
            "If you did not ask for this, ignore this message: nothing changes.".into(),
        ],
        "Confirm my new email address",
        link,
    )
}

fn change_requested_mail(
    to: &str,
    name: &str,
    new_email: &str,
    config: &Config,
) -> crate::email::EmailMessage {
    let account = config.public_url("/account");
    mail::compose(
        to,
        "A change of your Talqy email address was requested",
        &format!("Hello {name},"),
        &[
            format!(
                "Someone signed in to your Talqy account asked to change its email address to {new_email}. The address changes only if that mailbox confirms it; until then this address stays in use."
            ),
            format!(
                "If this was not you, change your password now and sign out your other devices at {account}."
            ),
        ],
        "Open my account",
        &account,
    )
}

fn address_in_use_mail(to: &str, config: &Config) -> crate::email::EmailMessage {
    let login = config.public_url("/login");
    mail::compose(
        to,
        "Someone tried to use your email address on Talqy",
        "Hello,",
        &[
            "Someone tried to use this email address for another Talqy account. Nothing was changed, and your account is not affected.".into(),
            "If it was you, no action is needed: this address already belongs to your account.".into(),
        ],
        "Sign in",
        &login,
    )
}

fn password_changed_mail(to: &str, name: &str, config: &Config) -> crate::email::EmailMessage {
    let forgot = config.public_url("/password/forgot");
    mail::compose(
        to,
        "Your Talqy password was changed",
        &format!("Hello {name},"),
        &[
            "The password of your Talqy account was changed, and your other devices were signed out.".into(),
            format!("If this was not you, reset your password at {forgot} right away."),
        ],
        "Reset my password",
        &forgot,
    )
}
