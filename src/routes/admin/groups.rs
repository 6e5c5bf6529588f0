//! The working group of a draft: who triages and answers its comments.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{AdminRoute, RequireAdmin};
use crate::auth::CurrentUser;
use crate::auth::csrf::{self, CsrfForm};
use crate::error::{AppError, FieldError};
use crate::i18n::I18n;
use crate::routes::{flash, form_page, nav, see_other};
use crate::services::draft_admin;
use crate::services::working_groups::{self, Role};
use crate::startup::AppState;
use crate::templates::{FormErrors, Nav, SelectOption};

pub fn routes() -> Vec<AdminRoute> {
    vec![
        AdminRoute::get("/drafts/{id}/group", web::get().to(show)),
        AdminRoute::post("/drafts/{id}/group/add", web::post().to(add)),
        AdminRoute::post(
            "/drafts/{id}/group/{user_id}/role",
            web::post().to(set_role),
        ),
        AdminRoute::post(
            "/drafts/{id}/group/{user_id}/remove",
            web::post().to(remove),
        ),
    ]
}

pub struct MemberLine {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub roles: Vec<SelectOption>,
}

fn role_options(i18n: &I18n, selected: &str) -> Vec<SelectOption> {
    Role::ALL
        .into_iter()
        .map(|r| SelectOption {
            value: r.as_str().into(),
            label: i18n.t(&format!("admin-group-role-{}", r.as_str())),
            selected: r.as_str() == selected,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/group.html")]
struct GroupPage {
    i18n: I18n,
    nav: Nav,
    csrf: String,
    errors: FormErrors,
    draft_id: i64,
    draft_title: String,
    members: Vec<MemberLine>,
    email: String,
    roles: Vec<SelectOption>,
}

async fn render(
    state: &web::Data<AppState>,
    i18n: I18n,
    session: &Session,
    user: &CurrentUser,
    draft_id: i64,
    errors: Vec<FieldError>,
    typed: (String, String),
) -> Result<HttpResponse, AppError> {
    let (title, members) = state
        .db
        .run(move |conn| {
            let title = draft_admin::title(conn, draft_id)?;
            let members = working_groups::members(conn, draft_id)?;
            Ok::<_, AppError>((title, members))
        })
        .await?;
    let has_errors = !errors.is_empty();
    let (email, role) = typed;
    form_page(
        GroupPage {
            csrf: csrf::token(session),
            errors: FormErrors(errors),
            draft_id,
            draft_title: title,
            members: members
                .iter()
                .map(|m| MemberLine {
                    user_id: m.user_id,
                    name: m.display_name.clone(),
                    email: m.email.clone(),
                    role: m.role.as_str(),
                    roles: role_options(&i18n, m.role.as_str()),
                })
                .collect(),
            email,
            roles: role_options(&i18n, if role.is_empty() { "member" } else { &role }),
            nav: nav(session, user),
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
    let id = path.into_inner();
    render(
        &state,
        i18n,
        &session,
        &user,
        id,
        vec![],
        Default::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

async fn add(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (email, role) = (form.email.clone(), form.role.clone());
    let result = state
        .db
        .run(move |conn| working_groups::add(conn, Some(admin.id), id, &email, &role))
        .await;
    match result {
        Ok(_) => {
            flash(
                &session,
                i18n.ts("admin-group-added", "email", form.email.trim()),
            );
            Ok(see_other(&format!("/admin/drafts/{id}/group")))
        }
        Err(AppError::Validation(e)) => {
            render(
                &state,
                i18n,
                &session,
                &user,
                id,
                e,
                (form.email, form.role),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

async fn set_role(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let (id, member) = path.into_inner();
    let role = form.role.clone();
    let result = state
        .db
        .run(move |conn| working_groups::set_role(conn, Some(admin.id), id, member, &role))
        .await;
    match result {
        Ok(changed) => {
            if changed {
                flash(&session, i18n.t("admin-group-role-changed"));
            }
            Ok(see_other(&format!("/admin/drafts/{id}/group")))
        }
        Err(AppError::Validation(e)) => {
            render(&state, i18n, &session, &user, id, e, Default::default()).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct EmptyForm {}

async fn remove(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    path: web::Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<HttpResponse, AppError> {
    let (id, member) = path.into_inner();
    state
        .db
        .run(move |conn| working_groups::remove(conn, Some(admin.id), id, member))
        .await?;
    flash(&session, i18n.t("admin-group-removed"));
    Ok(see_other(&format!("/admin/drafts/{id}/group")))
}
