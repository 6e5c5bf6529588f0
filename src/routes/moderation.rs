//! Moderation pages: the report form under each comment, and a draft's moderation queue
//! (waiting items with their reports, actions with a public reason, hidden comments,
//! pre-moderation, the latest actions).

use actix_session::Session;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::{self, CsrfForm};
use crate::auth::{CurrentUser, RequireUser};
use crate::db::models::UserRow;
use crate::domain::time;
use crate::error::{AppError, FieldError};
use crate::i18n::I18n;
use crate::routes::{flash, form_page, nav, page_private, see_other};
use crate::services::comments;
use crate::services::moderation::{self, Action, QueueItem, ReportInput, ReportReason};
use crate::startup::AppState;
use crate::templates::{FormErrors, Nav, SelectOption};

#[derive(Template)]
#[template(path = "moderation/report.html")]
pub struct ReportPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub comment_id: i64,
    pub lead: String,
    pub reasons: Vec<SelectOption>,
    pub details: String,
}

fn reason_options(i18n: &I18n, selected: &str) -> Vec<SelectOption> {
    ReportReason::ALL
        .into_iter()
        .map(|r| SelectOption {
            value: r.as_str().into(),
            label: i18n.t(&format!("moderation-reason-{}", r.as_str())),
            selected: r.as_str() == selected,
        })
        .collect()
}

async fn report_page(
    state: &AppState,
    i18n: I18n,
    session: &Session,
    user: UserRow,
    comment_id: i64,
    typed: Option<(ReportInput, Vec<FieldError>)>,
) -> Result<HttpResponse, AppError> {
    let (row, author) = state
        .db
        .run(move |conn| {
            let row = comments::load(conn, comment_id)?.ok_or(AppError::NotFound)?;
            // Only what the public sees can be reported.
            if !comments::visible_to(&row, None, false) {
                return Err(AppError::NotFound);
            }
            let author = crate::services::accounts::find(conn, row.author_id)?
                .map(|u| {
                    // Empty: the page names the author by a placeholder.
                    if u.deleted_at.is_some() || row.show_as_participant {
                        String::new()
                    } else {
                        u.display_name
                    }
                })
                .unwrap_or_default();
            Ok::<_, AppError>((row, author))
        })
        .await?;
    let (input, errors) = typed.clone().unwrap_or_default();
    let current = CurrentUser(Some(user));
    let former = if row.show_as_participant {
        i18n.t("comment-participant")
    } else {
        i18n.t("comment-former-participant")
    };
    let page = ReportPage {
        nav: nav(session, &current),
        csrf: csrf::token(session),
        errors: FormErrors(errors),
        comment_id,
        lead: i18n.t_strs(
            "moderation-report-lead",
            &[
                ("number", row.tracking_number.as_str()),
                (
                    "name",
                    if author.is_empty() {
                        former.as_str()
                    } else {
                        author.as_str()
                    },
                ),
            ],
        ),
        reasons: reason_options(&i18n, &input.reason),
        details: input.details,
        i18n,
    };
    form_page(page, typed.is_some_and(|(_, e)| !e.is_empty()))
}

#[get("/comments/{id}/report")]
pub async fn report_form(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    report_page(&state, i18n, &session, user, path.into_inner(), None).await
}

#[post("/comments/{id}/report")]
pub async fn report(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
    CsrfForm(input): CsrfForm<ReportInput>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let threshold = state.config.moderation_auto_hide_reports;
    let (reporter, typed) = (user.clone(), input.clone());
    match state
        .db
        .run(move |conn| moderation::report(conn, &reporter, id, &typed, threshold))
        .await
    {
        Ok(_) => {
            flash(&session, i18n.t("moderation-report-done"));
            Ok(see_other(&format!("/comments/{id}#c{id}")))
        }
        Err(AppError::Validation(errors)) => {
            report_page(&state, i18n, &session, user, id, Some((input, errors))).await
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------
// The queue

pub struct ReportLine {
    pub reporter: String,
    pub reason: String,
    pub details: String,
    pub created: String,
}

pub struct ItemView {
    pub id: i64,
    pub tracking_number: String,
    pub state: &'static str,
    pub state_label: String,
    pub waiting_for: String,
    pub author: String,
    pub author_id: i64,
    pub author_blocked: bool,
    pub body_html: String,
    pub proposed_wording: Option<String>,
    pub hidden_reason: Option<String>,
    pub reports: Vec<ReportLine>,
    pub reports_count: String,
    /// (action, button label, reason required)
    pub actions: Vec<(&'static str, String, bool)>,
    pub error: Option<String>,
    pub typed_reason: String,
}

pub struct ActionLine {
    pub comment_id: i64,
    pub tracking_number: String,
    pub actor: String,
    pub action: String,
    pub reason: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "moderation/queue.html")]
pub struct QueuePage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub draft_id: i64,
    pub draft_title: String,
    pub is_admin: bool,
    pub premoderation: bool,
    pub summary: String,
    pub oldest: Option<String>,
    pub items: Vec<ItemView>,
    pub hidden: Vec<ItemView>,
    pub recent: Vec<ActionLine>,
    /// A refused action: the comment and the message, linked from the error summary.
    pub error_summary: Option<(i64, String)>,
}

fn age(i18n: &I18n, since: chrono::NaiveDateTime) -> String {
    let minutes = (time::now() - since).num_minutes().max(0);
    if minutes < 60 {
        i18n.tn("moderation-age-minutes", "count", minutes)
    } else if minutes < 48 * 60 {
        i18n.tn("moderation-age-hours", "count", minutes / 60)
    } else {
        i18n.tn("moderation-age-days", "count", minutes / (24 * 60))
    }
}

fn item_view(i18n: &I18n, item: QueueItem, error: Option<&(i64, String, String)>) -> ItemView {
    let c = item.comment;
    let actions: Vec<Action> = match (c.status.as_str(), item.reports.is_empty()) {
        (comments::PENDING, _) => vec![Action::Approve, Action::Reject],
        (comments::HIDDEN, false) => vec![Action::Hide, Action::Restore],
        (comments::HIDDEN, true) => vec![Action::Restore],
        _ => vec![Action::DismissReports, Action::Hide],
    };
    let error = error.filter(|e| e.0 == c.id);
    ItemView {
        id: c.id,
        tracking_number: c.tracking_number,
        state: item.waiting.as_str(),
        state_label: if c.status == comments::HIDDEN && item.reports.is_empty() {
            i18n.t("moderation-state-hidden")
        } else {
            i18n.t(&format!("moderation-state-{}", item.waiting.as_str()))
        },
        waiting_for: age(i18n, item.since),
        author: item.author_name,
        author_id: c.author_id,
        author_blocked: item.author_blocked,
        body_html: c.body_html,
        proposed_wording: c
            .proposed_wording
            .as_deref()
            .map(crate::markdown::to_safe_html),
        hidden_reason: c.hidden_reason,
        reports_count: i18n.tn(
            "moderation-reports-count",
            "count",
            item.reports.len() as i64,
        ),
        reports: item
            .reports
            .into_iter()
            .map(|r| ReportLine {
                reporter: r.reporter_name,
                reason: i18n.t(&format!("moderation-reason-{}", r.reason)),
                details: r.details,
                created: time::display(r.created_at),
            })
            .collect(),
        actions: actions
            .into_iter()
            .map(|a| {
                (
                    a.as_str(),
                    i18n.t(&format!("moderation-action-{}", a.as_str())),
                    matches!(a, Action::Hide | Action::Reject),
                )
            })
            .collect(),
        error: error.map(|e| e.1.clone()),
        typed_reason: error.map(|e| e.2.clone()).unwrap_or_default(),
    }
}

async fn queue_page(
    state: &AppState,
    i18n: I18n,
    session: &Session,
    user: UserRow,
    draft_id: i64,
    error: Option<(i64, String, String)>,
) -> Result<HttpResponse, AppError> {
    let actor = user.clone();
    let q = state
        .db
        .run(move |conn| moderation::queue(conn, &actor, draft_id))
        .await?;
    let summary = i18n.t_nums(
        "moderation-summary",
        &[
            ("pending", q.pending),
            ("reported", q.reported),
            ("hidden", q.auto_hidden),
        ],
    );
    let page = QueuePage {
        error_summary: error.as_ref().map(|e| (e.0, e.1.clone())),
        nav: nav(session, &CurrentUser(Some(user.clone()))),
        csrf: csrf::token(session),
        draft_id,
        draft_title: q.draft_title,
        is_admin: user.is_admin,
        premoderation: q.premoderation,
        summary,
        oldest: q.oldest.map(|o| age(&i18n, o)),
        items: q
            .items
            .into_iter()
            .map(|i| item_view(&i18n, i, error.as_ref()))
            .collect(),
        hidden: q
            .hidden
            .into_iter()
            .map(|i| item_view(&i18n, i, error.as_ref()))
            .collect(),
        recent: q
            .recent
            .into_iter()
            .map(|a| ActionLine {
                comment_id: a.comment_id,
                tracking_number: a.tracking_number,
                actor: a
                    .actor_name
                    .unwrap_or_else(|| i18n.t("moderation-actor-automatic")),
                action: i18n.t(&format!("moderation-action-{}", a.action)),
                reason: a.reason,
                created: time::display(a.created_at),
            })
            .collect(),
        i18n,
    };
    if error.is_some() {
        form_page(page, true)
    } else {
        page_private(page)
    }
}

#[get("/drafts/{id}/moderation")]
pub async fn queue(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    queue_page(&state, i18n, &session, user, path.into_inner(), None).await
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
}

#[post("/drafts/{id}/moderation/comments/{cid}")]
pub async fn act(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> Result<HttpResponse, AppError> {
    let (draft_id, comment_id) = path.into_inner();
    let action = Action::parse(&form.action)
        .ok_or_else(|| AppError::BadRequest("Unknown moderation action".into()))?;
    let (actor, reason) = (user.clone(), form.reason.clone());
    match state
        .db
        .run(move |conn| moderation::act(conn, &actor, draft_id, comment_id, action, &reason))
        .await
    {
        Ok(()) => {
            flash(
                &session,
                i18n.t(&format!("moderation-done-{}", action.as_str())),
            );
            Ok(see_other(&format!("/drafts/{draft_id}/moderation")))
        }
        Err(AppError::Validation(errors)) => {
            let message = errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_default();
            queue_page(
                &state,
                i18n,
                &session,
                user,
                draft_id,
                Some((comment_id, message, form.reason)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PremoderationForm {
    #[serde(default)]
    premoderation: String,
}

#[post("/drafts/{id}/moderation/premoderation")]
pub async fn set_premoderation(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<PremoderationForm>,
) -> Result<HttpResponse, AppError> {
    let draft_id = path.into_inner();
    let on = form.premoderation == "on";
    state
        .db
        .run(move |conn| moderation::set_premoderation(conn, &user, draft_id, on))
        .await?;
    flash(
        &session,
        i18n.t(if on {
            "moderation-premoderation-on-done"
        } else {
            "moderation-premoderation-off-done"
        }),
    );
    Ok(see_other(&format!("/drafts/{draft_id}/moderation")))
}
