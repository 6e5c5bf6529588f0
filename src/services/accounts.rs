//! Accounts: registration with email verification, sign-in checks, password reset. Every
//! email is enqueued in the same transaction as the change that causes it, and the answers
//! never reveal whether an address has an account.

use diesel::prelude::*;

use crate::auth::tokens::{self, Purpose, TokenProblem};
use crate::config::Config;
use crate::db::DbConn;
use crate::db::dialect::write_transaction;
use crate::db::models::UserRow;
use crate::db::schema::{sessions, users};
use crate::domain::{DisplayName, Email, Password, RespondentType, time};
use crate::email::{EmailMessage, enqueue_email};
use crate::error::{AppError, FieldError};
use crate::services::mail;

/// What a person typed into the registration form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RegistrationInput {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub respondent_type: String,
}

#[derive(Debug, Clone)]
pub struct Registration {
    pub email: Email,
    pub display_name: DisplayName,
    pub password: Password,
    pub respondent_type: RespondentType,
}

impl RegistrationInput {
    pub fn validate(&self) -> Result<Registration, Vec<FieldError>> {
        let email = Email::parse(&self.email);
        let name = DisplayName::parse(&self.display_name);
        let password = Password::parse(
            "password",
            &self.password,
            &[&self.email, &self.display_name],
        );
        let kind = RespondentType::parse(&self.respondent_type);
        match (email, name, password, kind) {
            (Ok(email), Ok(display_name), Ok(password), Ok(respondent_type)) => Ok(Registration {
                email,
                display_name,
                password,
                respondent_type,
            }),
            (e, n, p, k) => Err([e.err(), n.err(), p.err(), k.err()]
                .into_iter()
                .flatten()
                .collect()),
        }
    }
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email.trim().to_lowercase()))
        .filter(users::deleted_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

fn send_verification(conn: &mut DbConn, config: &Config, user: &UserRow) -> Result<(), AppError> {
    let token = tokens::issue(conn, user.id, Purpose::Verify, None)?;
    let link = config.public_url(&format!("/verify?token={token}"));
    enqueue_email(
        conn,
        &mail::verify_email(&user.email, &user.display_name, &link),
    )?;
    Ok(())
}

/// Registers an account, or, when the address already has one, tells its owner by email.
/// Either way the caller shows the same "check your email" page. `password_hash` was
/// computed off the async executor.
pub fn register(
    conn: &mut DbConn,
    config: &Config,
    reg: &Registration,
    password_hash: &str,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        if let Some(existing) = find_by_email(conn, reg.email.as_str())? {
            if existing.email_verified_at.is_none() {
                return send_verification(conn, config, &existing);
            }
            let msg: EmailMessage = mail::already_registered(
                &existing.email,
                &config.public_url("/login"),
                &config.public_url("/password/forgot"),
            );
            enqueue_email(conn, &msg)?;
            return Ok(());
        }
        let now = time::now();
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::email.eq(reg.email.as_str()),
                users::display_name.eq(reg.display_name.as_str()),
                users::password_hash.eq(password_hash),
                users::respondent_type.eq(reg.respondent_type.as_str()),
                users::is_admin.eq(false),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .returning(users::id)
            .get_result(conn)?;
        let user = find(conn, id)?.ok_or(AppError::NotFound)?;
        send_verification(conn, config, &user)
    })
}

fn token_error(problem: TokenProblem, what: &str) -> AppError {
    AppError::field(
        "token",
        match problem {
            TokenProblem::Unknown => {
                format!("This {what} link is not valid. Check that you copied the whole link.")
            }
            TokenProblem::Used => format!("This {what} link has already been used."),
            TokenProblem::Expired => format!("This {what} link has expired. Ask for a new one."),
        },
    )
}

/// Checks a link before showing its confirmation button.
pub fn check_token(conn: &mut DbConn, token: &str, purpose: Purpose) -> Result<(), AppError> {
    let what = purpose_word(purpose);
    tokens::check(conn, token, purpose)?
        .map(|_| ())
        .map_err(|p| token_error(p, what))
}

fn purpose_word(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Verify => "confirmation",
        Purpose::Reset => "password reset",
        Purpose::ChangeEmail => "email change",
    }
}

/// Uses a verification link: the address is confirmed.
pub fn verify_email(conn: &mut DbConn, token: &str) -> Result<UserRow, AppError> {
    write_transaction(conn, |conn| {
        let t = tokens::consume(conn, token, Purpose::Verify)?
            .map_err(|p| token_error(p, "confirmation"))?;
        let now = time::now();
        diesel::update(
            users::table
                .find(t.user_id)
                .filter(users::email_verified_at.is_null()),
        )
        .set((users::email_verified_at.eq(now), users::updated_at.eq(now)))
        .execute(conn)?;
        find(conn, t.user_id)?.ok_or(AppError::NotFound)
    })
}

/// Sends a new verification link when the address has an unverified account.
pub fn resend_verification(
    conn: &mut DbConn,
    config: &Config,
    email: &Email,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        if let Some(user) = find_by_email(conn, email.as_str())?
            && user.email_verified_at.is_none()
        {
            crate::rate_limit::hit(
                conn,
                crate::rate_limit::VERIFY_EMAIL_PER_ACCOUNT,
                &user.id.to_string(),
            )?;
            send_verification(conn, config, &user)?;
        }
        Ok(())
    })
}

/// Sends a reset link when the address has an account; silent otherwise.
pub fn request_reset(conn: &mut DbConn, config: &Config, email: &Email) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        crate::rate_limit::hit(conn, crate::rate_limit::RESET_PER_ACCOUNT, email.as_str())?;
        if let Some(user) = find_by_email(conn, email.as_str())? {
            let token = tokens::issue(conn, user.id, Purpose::Reset, None)?;
            let link = config.public_url(&format!("/password/reset?token={token}"));
            enqueue_email(
                conn,
                &mail::reset_password(&user.email, &user.display_name, &link),
            )?;
        }
        Ok(())
    })
}

/// Uses a reset link: sets the new password and signs the account out everywhere. The link
/// proves the mailbox, so an unverified address counts as verified from now on.
pub fn reset_password(
    conn: &mut DbConn,
    token: &str,
    password_hash: &str,
) -> Result<UserRow, AppError> {
    write_transaction(conn, |conn| {
        let t = tokens::consume(conn, token, Purpose::Reset)?
            .map_err(|p| token_error(p, "password reset"))?;
        let now = time::now();
        diesel::update(users::table.find(t.user_id))
            .set((
                users::password_hash.eq(password_hash),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::update(
            users::table
                .find(t.user_id)
                .filter(users::email_verified_at.is_null()),
        )
        .set(users::email_verified_at.eq(now))
        .execute(conn)?;
        diesel::delete(sessions::table.filter(sessions::user_id.eq(t.user_id))).execute(conn)?;
        find(conn, t.user_id)?.ok_or(AppError::NotFound)
    })
}

/// Why a correct password still does not open a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInRefusal {
    Unverified,
    Blocked {
        reason: String,
        until: Option<chrono::NaiveDateTime>,
    },
}

pub fn sign_in_refusal(user: &UserRow) -> Option<SignInRefusal> {
    let now = time::now();
    if user.is_blocked(now) {
        return Some(SignInRefusal::Blocked {
            reason: user.blocked_reason.clone().unwrap_or_default(),
            until: user.blocked_until,
        });
    }
    if user.email_verified_at.is_none() {
        return Some(SignInRefusal::Unverified);
    }
    None
}
