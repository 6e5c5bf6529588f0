//! The stylesheet and script are compiled into the binary: nothing to deploy beside it.

use actix_web::{HttpResponse, get, http::header, web};

const APP_CSS: &str = include_str!("../../frontend/static/app.css");
const APP_JS: &str = include_str!("../../frontend/static/app.js");

#[get("/static/{name}")]
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    let (body, kind) = match name.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}
