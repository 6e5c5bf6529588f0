//! The signed-in user as an extractor. A session past its absolute lifetime, or of a user
//! who has since been blocked or deleted, is ended on the spot.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use chrono::DateTime;
use diesel::prelude::*;

use crate::db::models::UserRow;
use crate::db::schema::users;
use crate::domain::time;
use crate::error::AppError;
use crate::startup::AppState;

pub const CREATED: &str = "created";
/// A random identifier of the signed-in session, kept in its state (never sent to the
/// browser) so that the list of devices can mark "this device".
pub const SID: &str = "sid";

/// The user of this request, if signed in.
#[derive(Clone)]
pub struct CurrentUser(pub Option<UserRow>);

/// A signed-in user, or a redirect to the sign-in page that comes back here.
pub struct RequireUser(pub UserRow);

/// Starts an authenticated session for `user`: a new session key (no fixation), a new CSRF
/// token, and the absolute start time.
pub fn sign_in(session: &Session, user: &UserRow, user_agent: &str) -> Result<(), AppError> {
    session.renew();
    let fail = |e: actix_session::SessionInsertError| AppError::Internal(format!("session: {e}"));
    session
        .insert(super::session_store::USER_ID, user.id)
        .map_err(fail)?;
    session
        .insert(
            super::session_store::USER_AGENT,
            user_agent.chars().take(300).collect::<String>(),
        )
        .map_err(fail)?;
    session
        .insert(CREATED, time::now().and_utc().timestamp())
        .map_err(fail)?;
    session.insert(SID, super::random_token()).map_err(fail)?;
    super::csrf::rotate(session);
    Ok(())
}

/// Ends the signed-in session. The session continues anonymously under a new key (so that the
/// "signed out" notice can be shown); everything it held is gone.
pub fn sign_out(session: &Session) {
    session.clear();
    session.renew();
}

async fn load(req: &HttpRequest) -> Result<Option<UserRow>, AppError> {
    if let Some(cached) = req.extensions().get::<CurrentUser>() {
        return Ok(cached.0.clone());
    }
    let session = req.get_session();
    if session
        .get::<bool>(super::session_store::UNAVAILABLE)
        .ok()
        .flatten()
        .is_some()
    {
        return Err(AppError::Unavailable("sessions".into()));
    }
    let Some(uid) = session
        .get::<i64>(super::session_store::USER_ID)
        .ok()
        .flatten()
    else {
        return Ok(None);
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal("app state missing".into()))?
        .clone();
    let now = time::now();
    let created = session
        .get::<i64>(CREATED)
        .ok()
        .flatten()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .map(|d| d.naive_utc());
    let absolute = chrono::Duration::hours(state.config.session_absolute_hours);
    if created.is_none_or(|c| now - c > absolute) {
        session.purge();
        return Ok(None);
    }
    let user: Option<UserRow> = state
        .db
        .run(move |conn| {
            users::table
                .find(uid)
                .select(UserRow::as_select())
                .first(conn)
                .optional()
                .map_err(AppError::from)
        })
        .await?;
    let user = user.filter(|u| u.is_active(now));
    if user.is_none() {
        session.purge();
    }
    req.extensions_mut().insert(CurrentUser(user.clone()));
    Ok(user)
}

impl FromRequest for CurrentUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(CurrentUser(load(&req).await?)) })
    }
}

impl FromRequest for RequireUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match load(&req).await? {
                Some(user) => Ok(RequireUser(user)),
                None => {
                    let next = match req.method().as_str() {
                        "GET" => req
                            .uri()
                            .path_and_query()
                            .map(|p| p.to_string())
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    Err(AppError::SignInRequired { next }.into())
                }
            }
        })
    }
}
