//! The tamper-evident public record: `/record` explains the chain and shows its head;
//! `GET /api/v1/record/head` serves the head as JSON.

use actix_session::Session;
use actix_web::{HttpResponse, get, web};
use askama::Template;
use serde_json::json;

use crate::auth::CurrentUser;
use crate::domain::time;
use crate::error::AppError;
use crate::i18n::I18n;
use crate::routes::nav;
use crate::services::chain;
use crate::startup::AppState;
use crate::templates::Nav;

#[derive(Template)]
#[template(path = "record.html")]
pub struct RecordPage {
    pub i18n: I18n,
    pub nav: Nav,
    /// (seq, entry hash, display time, machine time)
    pub head: Option<(i64, String, String, String)>,
}

#[get("/record")]
pub async fn record_page(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let head = state
        .db
        .run(|conn| chain::head(conn).map_err(AppError::from))
        .await?;
    crate::routes::page(RecordPage {
        nav: nav(&session, &user),
        head: head.map(|e| {
            (
                e.seq,
                e.entry_hash,
                time::display(e.created_at),
                time::machine(e.created_at),
            )
        }),
        i18n,
    })
}

#[get("/api/v1/record/head")]
pub async fn record_head(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let head = state
        .db
        .run(|conn| chain::head(conn).map_err(AppError::from))
        .await?;
    let body = match head {
        Some(e) => json!({
            "seq": e.seq,
            "hash": e.entry_hash,
            "at": e.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        }),
        None => json!({ "seq": 0, "hash": chain::GENESIS, "at": null }),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}
