//! The activity log of one draft: every audit entry about the draft and its comments
//! (triage, answers, working-group changes, transitions), newest first.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{AdminRoute, RequireAdmin};
use crate::auth::CurrentUser;
use crate::domain::time;
use crate::error::AppError;
use crate::i18n::I18n;
use crate::routes::{nav, page_private};
use crate::services::{draft_admin, triage};
use crate::startup::AppState;
use crate::templates::Nav;

const PER_PAGE: i64 = 50;

pub fn routes() -> Vec<AdminRoute> {
    vec![AdminRoute::get(
        "/drafts/{id}/activity",
        web::get().to(show),
    )]
}

pub struct ActivityLine {
    pub id: i64,
    pub when: String,
    pub when_machine: String,
    pub who: String,
    pub who_id: Option<i64>,
    pub action: String,
    pub subject: String,
    pub subject_url: Option<String>,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/activity.html")]
struct ActivityPage {
    i18n: I18n,
    nav: Nav,
    draft_id: i64,
    draft_title: String,
    lines: Vec<ActivityLine>,
    pages: i64,
    page_text: String,
    prev_url: Option<String>,
    next_url: Option<String>,
}

#[derive(Deserialize)]
pub struct ActivityQuery {
    #[serde(default)]
    page: String,
}

async fn show(
    RequireAdmin(_admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    query: web::Query<ActivityQuery>,
) -> Result<HttpResponse, AppError> {
    let draft_id = path.into_inner();
    let page_no = query
        .page
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let (title, entries) = state
        .db
        .run(move |conn| {
            let title = draft_admin::title(conn, draft_id)?;
            let entries = triage::activity(conn, draft_id, page_no, PER_PAGE)?;
            Ok::<_, AppError>((title, entries))
        })
        .await?;
    let pages = entries.total_pages();
    let url = |p: i64| format!("/admin/drafts/{draft_id}/activity?page={p}");
    let lines = entries
        .items
        .iter()
        .map(|e| ActivityLine {
            id: e.id,
            when: time::display(e.created_at),
            when_machine: time::machine(e.created_at),
            who: e
                .actor
                .as_ref()
                .map(|a| a.1.clone())
                .unwrap_or_else(|| i18n.t("admin-activity-system")),
            who_id: e.actor.as_ref().map(|a| a.0),
            action: e.action.clone(),
            subject: e.subject.clone(),
            subject_url: e
                .subject
                .strip_prefix("comment:")
                .and_then(|id| id.parse::<i64>().ok())
                .map(|id| format!("/drafts/{draft_id}/triage/comments/{id}")),
            detail: e.detail.clone(),
        })
        .collect();
    page_private(ActivityPage {
        nav: nav(&session, &user),
        draft_id,
        draft_title: title,
        lines,
        page_text: i18n.t_nums(
            "pagination-status",
            &[("page", entries.page), ("pages", pages)],
        ),
        pages,
        prev_url: (entries.page > 1).then(|| url(entries.page - 1)),
        next_url: (entries.page < pages).then(|| url(entries.page + 1)),
        i18n,
    })
}
