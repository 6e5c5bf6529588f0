//! HTTP routes. Handlers are thin: parse the request, call a service, render a template.

pub mod account;
pub mod account_settings;
pub mod admin;
pub mod campaigns;
pub mod comments;
pub mod comparison;
pub mod errors;
pub mod health;
pub mod moderation;
pub mod organizations;
pub mod pages;
pub mod record;
pub mod revisions;
pub mod statics;
pub mod subscriptions;
pub mod triage;

use actix_web::{HttpResponse, http::header, web};
use askama::Template;

use actix_session::Session;

use crate::auth::{CurrentUser, csrf};
use crate::error::AppError;
use crate::templates::*;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(statics::asset)
        .service(pages::home)
        .service(pages::drafts_list)
        .service(pages::draft)
        .service(pages::draft_version)
        .service(pages::provision)
        .service(pages::provision_in_version)
        .service(account::register_form)
        .service(account::register)
        .service(account::verify_form)
        .service(account::verify)
        .service(account::resend_verification)
        .service(account::login_form)
        .service(account::login)
        .service(account::logout)
        .service(account::forgot_form)
        .service(account::forgot)
        .service(account::reset_form)
        .service(account::reset)
        .service(comments::draft_discussion)
        .service(comments::post_on_provision)
        .service(comments::post_on_draft)
        .service(comments::permalink)
        .service(comments::reply)
        .service(comments::edit_form)
        .service(comments::edit)
        .service(comments::withdraw)
        .service(comments::endorse)
        .service(comments::shown_name)
        .service(comments::receipt)
        .service(record::record_page)
        .service(record::record_head)
        .service(campaigns::campaigns_page)
        .service(account_settings::show)
        .service(account_settings::update_profile)
        .service(account_settings::email_form)
        .service(account_settings::request_email_change)
        .service(account_settings::confirm_email_form)
        .service(account_settings::confirm_email)
        .service(account_settings::password_form)
        .service(account_settings::change_password)
        .service(account_settings::sessions)
        .service(account_settings::revoke_other_sessions)
        .service(account_settings::revoke_session)
        .service(account_settings::delete_form)
        .service(account_settings::delete_account)
        .service(account_settings::privacy)
        .service(organizations::organizations_list)
        .service(organizations::organization_page)
        .service(organizations::account_form)
        .service(organizations::account_request)
        .service(triage::queue)
        .service(triage::bulk_action)
        .service(triage::comment)
        .service(triage::assign)
        .service(triage::add_tag)
        .service(triage::remove_tag)
        .service(triage::add_note)
        .service(triage::set_status)
        .service(triage::set_disposition)
        .service(moderation::report_form)
        .service(moderation::report)
        .service(moderation::queue)
        .service(moderation::act)
        .service(moderation::set_premoderation)
        .service(subscriptions::subscribe_form)
        .service(subscriptions::subscribe)
        .service(subscriptions::confirm_form)
        .service(subscriptions::confirm)
        .service(subscriptions::manage_page)
        .service(subscriptions::manage)
        .service(subscriptions::unsubscribe_form)
        .service(subscriptions::unsubscribe)
        .service(subscriptions::account_page)
        .service(subscriptions::account_update)
        .service(comparison::compare)
        .service(comparison::report_latest)
        .service(comparison::report_latest_csv)
        .service(comparison::report_latest_json)
        .service(comparison::report_version)
        .service(comparison::report_version_csv)
        .service(comparison::report_version_json)
        .configure(revisions::configure)
        .configure(admin::configure);
}

/// The header's view of the visitor. Reads the session without creating one, so anonymous
/// readers of public pages never cost a session row.
pub fn nav(session: &Session, user: &CurrentUser) -> Nav {
    let flash = match session.get::<String>(FLASH) {
        Ok(Some(f)) => {
            session.remove(FLASH);
            Some(f)
        }
        _ => None,
    };
    match &user.0 {
        Some(u) => Nav {
            user_name: Some(u.display_name.clone()),
            is_admin: u.is_admin,
            csrf: csrf::token(session),
            flash,
        },
        None => Nav {
            flash,
            ..Nav::default()
        },
    }
}

pub const FLASH: &str = "flash";

/// Leaves a one-time notice for the next page.
pub fn flash(session: &Session, message: impl Into<String>) {
    let _ = session.insert(FLASH, message.into());
}

pub fn render(template: &impl Template) -> Result<String, AppError> {
    template
        .render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))
}

/// Renders a page. Pages for anonymous readers may be cached briefly by browsers and shared
/// caches (they vary by language); personalised ones never.
pub fn page(template: impl Template + HasNav) -> Result<HttpResponse, AppError> {
    let personal = template.nav().signed_in() || template.nav().flash.is_some();
    let body = render(&template)?;
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::VARY, "Accept-Language, Cookie"));
    if personal {
        res.insert_header((header::CACHE_CONTROL, "private, no-store"));
    } else {
        res.insert_header((header::CACHE_CONTROL, "public, max-age=30"));
    }
    Ok(res.body(body))
}

/// A page only for its signed-in viewer: never cached.
pub fn page_private(template: impl Template) -> Result<HttpResponse, AppError> {
    form_page(template, false)
}

/// A form page sent back with its errors (422), keeping what was typed.
pub fn form_page(template: impl Template, errors: bool) -> Result<HttpResponse, AppError> {
    let body = render(&template)?;
    let status = if errors {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(body))
}

/// After a successful POST: go to `to` (303, so a reload does not resend the form).
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// Templates that carry the header.
pub trait HasNav {
    fn nav(&self) -> &Nav;
}

macro_rules! has_nav {
    ($($t:ty),*) => { $(impl HasNav for $t { fn nav(&self) -> &Nav { &self.nav } })* };
}
has_nav!(
    HomePage,
    DraftsPage,
    DraftPage,
    ProvisionPage,
    ErrorPage,
    NoticePage,
    ThreadPage,
    ReceiptPage,
    record::RecordPage
);
