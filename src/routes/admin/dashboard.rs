//! The administration home: what waits for an admin, and links to each area.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{AdminRoute, RequireAdmin};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::i18n::I18n;
use crate::routes::{nav, page_private};
use crate::templates::Nav;

pub fn routes() -> Vec<AdminRoute> {
    vec![AdminRoute::get("", web::get().to(dashboard))]
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    i18n: I18n,
    nav: Nav,
}

async fn dashboard(
    RequireAdmin(_admin): RequireAdmin,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    page_private(DashboardPage {
        nav: nav(&session, &user),
        i18n,
    })
}
