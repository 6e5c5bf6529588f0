//! One typed error for services and handlers. Handlers return it; the error-page middleware
//! (`routes::errors`) renders it in the reader's language.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::db::DbError;

/// A problem with one named input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{}", join_fields(.0))]
    Validation(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("sign-in required")]
    SignInRequired { next: String },
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: i64 },
    #[error("the database is unavailable")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn join_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl AppError {
    pub fn field(field: &'static str, message: impl Into<String>) -> AppError {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn fields(&self) -> &[FieldError] {
        match self {
            AppError::Validation(f) => f,
            _ => &[],
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Validation(vec![e])
    }
}

impl From<Vec<FieldError>> for AppError {
    fn from(e: Vec<FieldError>) -> Self {
        AppError::Validation(e)
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(m) => AppError::Unavailable(m),
            DbError::Query(q) => q.into(),
            DbError::Setup(m) => AppError::Internal(m),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::Error as D;
        match e {
            D::NotFound => AppError::NotFound,
            D::DatabaseError(diesel::result::DatabaseErrorKind::ClosedConnection, info) => {
                AppError::Unavailable(info.message().to_string())
            }
            // A connection the server dropped (restart, failover): the database is away,
            // not the request wrong.
            D::DatabaseError(_, info) if connection_lost(info.message()) => {
                AppError::Unavailable(info.message().to_string())
            }
            D::BrokenTransactionManager => AppError::Unavailable("connection lost".into()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Whether a data-layer error means the database is away (rather than a bad query).
pub fn is_unavailable(e: &DbError) -> bool {
    use diesel::result::{DatabaseErrorKind, Error as D};
    match e {
        DbError::Unavailable(_) => true,
        DbError::Query(D::DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => true,
        DbError::Query(D::DatabaseError(_, info)) => connection_lost(info.message()),
        DbError::Query(D::BrokenTransactionManager) => true,
        _ => false,
    }
}

fn connection_lost(message: &str) -> bool {
    const SIGNS: [&str; 5] = [
        "terminating connection",
        "server closed the connection",
        "connection to server",
        "no connection to the server",
        "the database system is",
    ];
    SIGNS.iter().any(|s| message.contains(s))
}

/// What the error-page middleware needs to render a page for an error response.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub detail: Option<String>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            AppError::Internal(m) | AppError::Unavailable(m) => {
                tracing::error!(error = %m, status = status.as_u16(), "request failed");
            }
            _ => {}
        }
        if let AppError::SignInRequired { next } = self {
            let target = format!(
                "/login?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            return HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, target))
                .finish();
        }
        let detail = match self {
            AppError::Validation(_) | AppError::BadRequest(_) | AppError::Forbidden(_) => {
                Some(self.to_string())
            }
            AppError::TooManyRequests { retry_after_secs } => Some(format!(
                "Please wait {} and try again.",
                crate::error::human_wait(*retry_after_secs)
            )),
            _ => None,
        };
        let mut builder = HttpResponse::build(status);
        if let AppError::TooManyRequests { retry_after_secs } = self {
            builder.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        let mut res = builder
            .content_type("text/plain; charset=utf-8")
            .body(status.canonical_reason().unwrap_or("error"));
        res.extensions_mut().insert(ErrorInfo { status, detail });
        res
    }
}

/// "3 minutes", "1 minute", "40 seconds".
pub fn human_wait(secs: i64) -> String {
    match secs {
        s if s >= 120 => format!("{} minutes", (s + 59) / 60),
        s if s >= 60 => "1 minute".to_string(),
        s => format!("{} seconds", s.max(1)),
    }
}
