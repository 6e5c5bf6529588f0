//! `/healthz`: the process answers. `/readyz`: the database answers too.

use actix_web::{HttpResponse, get, web};
use diesel::RunQueryDsl;
use serde_json::json;

use crate::error::AppError;
use crate::startup::AppState;

#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "status": "ok" }))
}

#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.db.backend().as_str();
    let result = state
        .db
        .run(|conn| {
            diesel::sql_query("SELECT 1")
                .execute(conn)
                .map_err(AppError::from)
        })
        .await;
    match result {
        Ok(_) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({ "status": "ready", "database": backend })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Cache-Control", "no-store"))
                .json(json!({ "status": "unavailable", "database": backend }))
        }
    }
}
