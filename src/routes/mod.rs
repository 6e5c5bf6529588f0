//! HTTP routes. Handlers are thin: parse the request, call a service, render a template.

pub mod errors;
pub mod health;
pub mod pages;
pub mod statics;

use actix_web::{HttpResponse, http::header, web};
use askama::Template;

use crate::error::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(statics::asset)
        .service(pages::home)
        .service(pages::drafts_list)
        .service(pages::draft)
        .service(pages::draft_version)
        .service(pages::provision)
        .service(pages::provision_in_version);
}

/// Renders a public page. Public pages may be cached briefly by browsers and shared caches;
/// they vary by language.
pub fn page(template: impl Template) -> Result<HttpResponse, AppError> {
    let body = template
        .render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=30"))
        .insert_header((header::VARY, "Accept-Language, Cookie"))
        .body(body))
}
