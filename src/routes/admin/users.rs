//! Accounts: search, one account's page, blocks and the admin role.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{AdminRoute, RequireAdmin};
use crate::auth::CurrentUser;
use crate::auth::csrf::{self, CsrfForm};
use crate::db::models::UserRow;
use crate::domain::time;
use crate::error::{AppError, FieldError};
use crate::i18n::I18n;
use crate::routes::{flash, form_page, nav, page_private, see_other};
use crate::services::audit::{self, AuditEntry};
use crate::services::user_admin::{self, PER_PAGE};
use crate::startup::AppState;
use crate::templates::{FormErrors, Nav};

pub fn routes() -> Vec<AdminRoute> {
    vec![
        AdminRoute::get("/users", web::get().to(list)),
        AdminRoute::get("/users/{id}", web::get().to(show)),
        AdminRoute::post("/users/{id}/block", web::post().to(block)),
        AdminRoute::post("/users/{id}/unblock", web::post().to(unblock)),
        AdminRoute::post("/users/{id}/admin", web::post().to(set_admin)),
    ]
}

/// One row of the list, display-ready.
pub struct UserLine {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub respondent: String,
    pub verified: bool,
    pub admin: bool,
    pub blocked: Option<String>,
    pub created: String,
    pub created_machine: String,
}

fn blocked_text(i18n: &I18n, u: &UserRow) -> Option<String> {
    if !u.is_blocked(time::now()) {
        return None;
    }
    let reason = u.blocked_reason.clone().unwrap_or_default();
    Some(match u.blocked_until {
        Some(until) => i18n.t_strs(
            "admin-user-blocked-until",
            &[("until", &time::display(until)), ("reason", &reason)],
        ),
        None => i18n.ts("admin-user-blocked-forever", "reason", &reason),
    })
}

impl UserLine {
    fn new(i18n: &I18n, u: &UserRow) -> UserLine {
        UserLine {
            id: u.id,
            name: u.display_name.clone(),
            email: u.email.clone(),
            respondent: i18n.t(&format!("respondent-{}", u.respondent_type)),
            verified: u.email_verified_at.is_some(),
            admin: u.is_admin,
            blocked: blocked_text(i18n, u),
            created: time::display(u.created_at),
            created_machine: time::machine(u.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    i18n: I18n,
    nav: Nav,
    q: String,
    users: Vec<UserLine>,
    count_text: String,
    page_text: String,
    pages: i64,
    prev_url: Option<String>,
    next_url: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

async fn list(
    RequireAdmin(_admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let ListQuery { q, page } = query.into_inner();
    let q = q.trim().to_string();
    let page_no = match page.trim() {
        "" => 1,
        p => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| AppError::field("page", "must be a page number"))?,
    };
    let needle = q.clone();
    let found = state
        .db
        .run(move |conn| user_admin::search(conn, &needle, page_no, PER_PAGE))
        .await?;
    let pages = found.total_pages();
    let url_for = |p: i64| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if !q.is_empty() {
            s.append_pair("q", &q);
        }
        s.append_pair("page", &p.to_string());
        format!("/admin/users?{}", s.finish())
    };
    let count_text = if q.is_empty() {
        i18n.tn("admin-users-count", "count", found.total)
    } else {
        i18n.t_strs(
            "admin-users-count-matching",
            &[("count", &found.total.to_string()), ("query", &q)],
        )
    };
    page_private(UsersPage {
        nav: nav(&session, &user),
        users: found
            .items
            .iter()
            .map(|u| UserLine::new(&i18n, u))
            .collect(),
        count_text,
        page_text: i18n.t_nums(
            "pagination-status",
            &[("page", found.page), ("pages", pages)],
        ),
        pages,
        prev_url: (found.page > 1).then(|| url_for(found.page - 1)),
        next_url: (found.page < pages).then(|| url_for(found.page + 1)),
        q,
        i18n,
    })
}

pub struct AuditLine {
    pub at: String,
    pub at_machine: String,
    pub action: String,
    pub actor: String,
}

impl AuditLine {
    pub fn new(i18n: &I18n, e: &AuditEntry) -> AuditLine {
        AuditLine {
            at: time::display(e.created_at),
            at_machine: time::machine(e.created_at),
            action: e.action.clone(),
            actor: match e.actor_id {
                Some(id) => i18n.ts("admin-audit-actor-user", "id", &id.to_string()),
                None => i18n.t("admin-audit-actor-cli"),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    i18n: I18n,
    nav: Nav,
    csrf: String,
    errors: FormErrors,
    user: UserLine,
    is_self: bool,
    reason: String,
    until: String,
    audit: Vec<AuditLine>,
}

async fn render_user(
    state: &web::Data<AppState>,
    i18n: I18n,
    session: &Session,
    current: &CurrentUser,
    id: i64,
    errors: Vec<FieldError>,
    typed: Option<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (row, entries) = state
        .db
        .run(move |conn| {
            let row = user_admin::find(conn, id)?;
            let entries = audit::for_subject(conn, &format!("user:{id}"), 20)?;
            Ok::<_, AppError>((row, entries))
        })
        .await?;
    let has_errors = !errors.is_empty();
    let (reason, until) = typed.unwrap_or_else(|| {
        (
            row.blocked_reason.clone().unwrap_or_default(),
            row.blocked_until
                .filter(|_| row.is_blocked(time::now()))
                .map(|u| u.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        )
    });
    form_page(
        UserPage {
            csrf: csrf::token(session),
            errors: FormErrors(errors),
            is_self: current.0.as_ref().is_some_and(|u| u.id == row.id),
            user: UserLine::new(&i18n, &row),
            reason,
            until,
            audit: entries.iter().map(|e| AuditLine::new(&i18n, e)).collect(),
            nav: nav(session, current),
            i18n,
        },
        has_errors,
    )
}

async fn show(
    RequireAdmin(_admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    render_user(
        &state,
        i18n,
        &session,
        &user,
        path.into_inner(),
        vec![],
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct BlockForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    until: String,
}

async fn block(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<BlockForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (reason, until) = (form.reason.clone(), form.until.clone());
    let result = state
        .db
        .run(move |conn| user_admin::block(conn, &admin, id, &reason, &until))
        .await;
    match result {
        Ok(()) => {
            flash(&session, i18n.t("admin-user-blocked-done"));
            Ok(see_other(&format!("/admin/users/{id}")))
        }
        Err(AppError::Validation(errors)) => {
            render_user(
                &state,
                i18n,
                &session,
                &user,
                id,
                errors,
                Some((form.reason, form.until)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct EmptyForm {}

async fn unblock(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    path: web::Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let changed = state
        .db
        .run(move |conn| user_admin::unblock(conn, &admin, id))
        .await?;
    if changed {
        flash(&session, i18n.t("admin-user-unblocked-done"));
    }
    Ok(see_other(&format!("/admin/users/{id}")))
}

#[derive(Deserialize)]
pub struct AdminForm {
    /// `grant` or `revoke`.
    #[serde(default)]
    admin: String,
}

async fn set_admin(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<AdminForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let grant = match form.admin.as_str() {
        "grant" => true,
        "revoke" => false,
        _ => {
            let errors = vec![FieldError::new("admin", i18n.t("admin-user-role-choose"))];
            return render_user(&state, i18n, &session, &user, id, errors, None).await;
        }
    };
    let result = state
        .db
        .run(move |conn| user_admin::set_admin(conn, &admin, id, grant))
        .await;
    match result {
        Ok(changed) => {
            if changed {
                flash(
                    &session,
                    i18n.t(if grant {
                        "admin-user-granted"
                    } else {
                        "admin-user-revoked"
                    }),
                );
            }
            Ok(see_other(&format!("/admin/users/{id}")))
        }
        Err(AppError::Validation(errors)) => {
            render_user(&state, i18n, &session, &user, id, errors, None).await
        }
        Err(e) => Err(e),
    }
}
