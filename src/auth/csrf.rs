//! CSRF protection by synchronizer token: every form carries the session's random token in
//! a hidden field, and [`CsrfForm`] refuses a state-changing request whose field does not
//! match (403, nothing changed). Pages call [`token`] to get it.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::error::AppError;

pub const SESSION_KEY: &str = "csrf";
pub const FIELD: &str = "csrf_token";

/// The session's CSRF token, created on first use.
pub fn token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(SESSION_KEY) {
        return t;
    }
    let t = super::random_token();
    let _ = session.insert(SESSION_KEY, &t);
    t
}

/// Replaces the token (at sign-in and sign-out, with the session).
pub fn rotate(session: &Session) -> String {
    let t = super::random_token();
    let _ = session.insert(SESSION_KEY, &t);
    t
}

#[derive(Deserialize)]
struct Field {
    csrf_token: Option<String>,
    /// The honeypot: public forms carry a `homepage` field that people never see (it is
    /// off-screen and hidden from assistive technology) and form-filling robots fill in.
    homepage: Option<String>,
}

/// Parses a urlencoded form body after checking its CSRF token against the session's (403,
/// nothing read, when it does not match). For extractors with their own body limit.
pub fn check_form<T: DeserializeOwned>(session: &Session, body: &[u8]) -> Result<T, AppError> {
    let field = serde_urlencoded::from_bytes::<Field>(body).ok();
    let sent = field
        .as_ref()
        .and_then(|f| f.csrf_token.clone())
        .unwrap_or_default();
    let expected = session
        .get::<String>(SESSION_KEY)
        .ok()
        .flatten()
        .unwrap_or_default();
    let valid = !expected.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()));
    if !valid {
        return Err(AppError::Forbidden(
            "This form has expired or was not sent from Talqy. Go back, reload the page and try again."
                .into(),
        ));
    }
    if field
        .and_then(|f| f.homepage)
        .is_some_and(|w| !w.trim().is_empty())
    {
        tracing::info!("refused a form whose honeypot field was filled in");
        return Err(AppError::BadRequest(
            "This form was refused because a field meant to stay empty was filled in. If you \
             use a browser extension that fills in forms, turn it off for this page and try again."
                .into(),
        ));
    }
    serde_urlencoded::from_bytes::<T>(body)
        .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}")))
}

/// A urlencoded form body whose CSRF token has been checked.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let body = read_body(req, payload);
        Box::pin(async move {
            let body = body.await?;
            let form = check_form::<T>(&session, &body)?;
            Ok(CsrfForm(form))
        })
    }
}

/// The request body within the size limit (`PayloadConfig`, 413 beyond it) and within the
/// client timeout: a client that trickles its body is answered 408 instead of holding a
/// connection and a worker forever.
pub fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<web::Bytes, actix_web::Error>> + use<> {
    let timeout = req
        .app_data::<web::Data<crate::startup::AppState>>()
        .map(|s| s.config.client_timeout)
        .unwrap_or(std::time::Duration::from_secs(10));
    let body = web::Bytes::from_request(req, payload);
    async move {
        match tokio::time::timeout(timeout, body).await {
            Ok(body) => body,
            Err(_) => Err(actix_web::error::ErrorRequestTimeout(
                "The request body arrived too slowly.",
            )),
        }
    }
}
