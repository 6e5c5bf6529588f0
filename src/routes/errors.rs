//! Turns bare error responses (from handlers, routing, or extractors) into full pages in the
//! site's layout and the reader's language. Responses that already are pages or JSON pass.

use actix_web::HttpResponse;
use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::ErrorHandlerResponse;
use askama::Template;

use crate::error::{AppError, ErrorInfo};
use crate::i18n::I18n;
use crate::templates::ErrorPage;

pub fn render_error_page<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if content_type.starts_with("text/html") || content_type.starts_with("application/") {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = res
        .response()
        .extensions()
        .get::<ErrorInfo>()
        .and_then(|i| i.detail.clone());
    let i18n = I18n::for_request(res.request());
    let page = error_page(&i18n, status, detail);
    let (req, old) = res.into_parts();
    let mut new = HttpResponse::build(status);
    new.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    // Keep headers such as Retry-After or Allow set by whoever produced the error.
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && name != header::CACHE_CONTROL
        {
            new.append_header((name.clone(), value.clone()));
        }
    }
    let res = ServiceResponse::new(req, new.body(page)).map_into_boxed_body();
    Ok(ErrorHandlerResponse::Response(res.map_into_right_body()))
}

pub fn error_page(i18n: &I18n, status: StatusCode, detail: Option<String>) -> String {
    let code = match status.as_u16() {
        c @ (400 | 403 | 404 | 422 | 429 | 500 | 503) => c.to_string(),
        _ => "other".to_string(),
    };
    let page = ErrorPage {
        heading: i18n.t(&format!("error-title-{code}")),
        text: i18n.t(&format!("error-text-{code}")),
        detail,
        i18n: i18n.clone(),
        nav: crate::templates::Nav::default(),
    };
    page.render()
        .unwrap_or_else(|_| status.canonical_reason().unwrap_or("error").to_string())
}

/// A form body that could not be read: 413 when too large, else 400 with what was wrong
/// (rendered as a page by [`render_error_page`]).
pub fn form_error(
    err: actix_web::error::UrlencodedError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::UrlencodedError as E;
    let app = match &err {
        E::Overflow { .. } => {
            return actix_web::error::InternalError::from_response(
                err,
                HttpResponse::PayloadTooLarge()
                    .content_type("text/plain; charset=utf-8")
                    .body("Payload Too Large"),
            )
            .into();
        }
        other => AppError::BadRequest(format!("The form could not be read: {other}")),
    };
    app.into()
}

/// A JSON body that could not be read: an RFC 9457 problem, 413 when too large, else 400.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let status = match &err {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    let detail = err.to_string();
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    actix_web::error::InternalError::from_response(
        err,
        HttpResponse::build(status)
            .content_type("application/problem+json")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body.to_string()),
    )
    .into()
}
