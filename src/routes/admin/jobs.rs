//! The email queue as admins see it: how much waits, and every parked message (one that
//! failed too often) with its last error and a button to try again.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{AdminRoute, RequireAdmin};
use crate::auth::CurrentUser;
use crate::auth::csrf::{self, CsrfForm};
use crate::domain::time;
use crate::error::AppError;
use crate::i18n::I18n;
use crate::routes::{flash, nav, page_private, see_other};
use crate::startup::AppState;
use crate::templates::Nav;

pub fn routes() -> Vec<AdminRoute> {
    vec![
        AdminRoute::get("/jobs", web::get().to(list)),
        AdminRoute::post("/jobs/{id}/retry", web::post().to(retry)),
    ]
}

pub struct ParkedLine {
    pub id: i64,
    /// Recipient and subject only: bodies may hold single-use links.
    pub summary: String,
    pub attempts: i32,
    pub last_error: String,
    pub parked_at: String,
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    i18n: I18n,
    nav: Nav,
    csrf: String,
    pending_text: String,
    parked: Vec<ParkedLine>,
}

async fn list(
    RequireAdmin(_): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let (pending, parked) = state
        .db
        .run(|conn| {
            Ok::<_, AppError>((
                crate::jobs::pending_count(conn)?,
                crate::jobs::parked(conn)?,
            ))
        })
        .await?;
    let parked = parked
        .into_iter()
        .map(|j| {
            let payload: serde_json::Value = serde_json::from_str(&j.payload).unwrap_or_default();
            ParkedLine {
                id: j.id,
                summary: format!(
                    "{} — {}",
                    payload["to"].as_str().unwrap_or("?"),
                    payload["subject"].as_str().unwrap_or("?")
                ),
                attempts: j.attempts,
                last_error: j.last_error.clone().unwrap_or_default(),
                parked_at: j.parked_at.map(time::display).unwrap_or_default(),
            }
        })
        .collect();
    page_private(JobsPage {
        nav: nav(&session, &user),
        csrf: csrf::token(&session),
        pending_text: i18n.tn("admin-jobs-pending", "count", pending),
        parked,
        i18n,
    })
}

#[derive(Deserialize)]
struct NoFields {}

async fn retry(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    path: web::Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let retried = state
        .db
        .run(move |conn| {
            crate::db::dialect::write_transaction(conn, |conn| {
                let ok = crate::jobs::retry_parked(conn, id)?;
                if ok {
                    crate::services::audit::record(
                        conn,
                        Some(admin.id),
                        "job.retry",
                        &format!("job:{id}"),
                        "",
                    )?;
                }
                Ok::<_, AppError>(ok)
            })
        })
        .await?;
    if !retried {
        return Err(AppError::NotFound);
    }
    flash(&session, i18n.t("admin-jobs-retried"));
    Ok(see_other("/admin/jobs"))
}
