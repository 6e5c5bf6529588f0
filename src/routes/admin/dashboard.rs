//! The administration home: what waits for an admin, and links to each area.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{AdminRoute, RequireAdmin};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::i18n::I18n;
use crate::routes::{nav, page_private};
use crate::services::user_admin;
use crate::startup::AppState;
use crate::templates::Nav;

pub fn routes() -> Vec<AdminRoute> {
    vec![AdminRoute::get("", web::get().to(dashboard))]
}

/// A labelled number on the dashboard.
pub struct Figure {
    pub label: String,
    pub value: i64,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    i18n: I18n,
    nav: Nav,
    accounts: Vec<Figure>,
    drafts: Vec<Figure>,
}

async fn dashboard(
    RequireAdmin(_admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let counts = state.db.run(user_admin::counts).await?;
    let figure = |key: &str, value: i64, status: &'static str| Figure {
        label: i18n.t(key),
        value,
        status,
    };
    let accounts = vec![
        figure("admin-count-users", counts.users, "users"),
        figure("admin-count-unverified", counts.unverified, "unverified"),
        figure("admin-count-blocked", counts.blocked, "blocked"),
        figure("admin-count-admins", counts.admins, "admins"),
    ];
    let drafts = counts
        .drafts
        .iter()
        .map(|(s, n)| Figure {
            label: i18n.t(&format!("status-{}", s.as_str())),
            value: *n,
            status: s.as_str(),
        })
        .collect();
    page_private(DashboardPage {
        nav: nav(&session, &user),
        accounts,
        drafts,
        i18n,
    })
}
