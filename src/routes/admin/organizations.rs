//! Verifying organization representatives: the queue of waiting requests (oldest first),
//! recent decisions, and one request with the forms to verify, decline or revoke it.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{AdminRoute, RequireAdmin};
use crate::auth::CurrentUser;
use crate::auth::csrf::{self, CsrfForm};
use crate::domain::organization::RepresentationStatus;
use crate::domain::{RespondentType, time};
use crate::error::AppError;
use crate::i18n::I18n;
use crate::routes::{flash, form_page, nav, page_private, see_other};
use crate::services::organizations::{self as orgs, Decision, DecisionInput, RequestSummary};
use crate::startup::AppState;
use crate::templates::{FormErrors, Nav};

pub fn routes() -> Vec<AdminRoute> {
    vec![
        AdminRoute::get("/organizations", web::get().to(overview)),
        AdminRoute::get("/organizations/requests/{id}", web::get().to(request_page)),
        AdminRoute::post("/organizations/requests/{id}", web::post().to(decide)),
    ]
}

fn request_url(id: i64) -> String {
    format!("/admin/organizations/requests/{id}")
}

pub struct PendingRow {
    pub url: String,
    pub open_label: String,
    pub org_name: String,
    pub kind_label: String,
    pub registration_number: String,
    pub person_name: String,
    pub person_email: String,
    pub position: String,
    pub asked: String,
    pub asked_machine: String,
    pub waiting: String,
}

pub struct DecidedRow {
    pub url: String,
    pub open_label: String,
    pub org_name: String,
    pub person_name: String,
    pub status: &'static str,
    pub status_label: String,
    pub decided: String,
    pub decided_machine: String,
    pub reason: String,
}

fn open_label(i18n: &I18n, s: &RequestSummary) -> String {
    i18n.t_strs(
        "admin-orgs-open",
        &[("name", &s.requester_name), ("org", &s.organization.name)],
    )
}

#[derive(Template)]
#[template(path = "admin/organizations.html")]
struct OverviewPage {
    i18n: I18n,
    nav: Nav,
    counts: Vec<(String, i64)>,
    pending: Vec<PendingRow>,
    decided: Vec<DecidedRow>,
}

async fn overview(
    RequireAdmin(_admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let o = state.db.run(orgs::admin_overview).await?;
    let now = time::now();
    page_private(OverviewPage {
        nav: nav(&session, &user),
        counts: o
            .counts
            .iter()
            .map(|(s, n)| (i18n.t(&s.label_key()), *n))
            .collect(),
        pending: o
            .pending
            .iter()
            .map(|s| PendingRow {
                url: request_url(s.request.id),
                open_label: open_label(&i18n, s),
                org_name: s.organization.name.clone(),
                kind_label: i18n.t(&s.organization.kind.label_key()),
                registration_number: s.organization.registration_number.clone(),
                person_name: s.requester_name.clone(),
                person_email: s.requester_email.clone(),
                position: s.request.position.clone(),
                asked: time::display(s.request.created_at),
                asked_machine: time::machine(s.request.created_at),
                waiting: i18n.tn(
                    "admin-orgs-waiting",
                    "days",
                    (now - s.request.created_at).num_days().max(0),
                ),
            })
            .collect(),
        decided: o
            .decided
            .iter()
            .map(|s| {
                let status = s.request.status();
                let decided = s.request.decided_at.unwrap_or(s.request.created_at);
                DecidedRow {
                    url: request_url(s.request.id),
                    open_label: open_label(&i18n, s),
                    org_name: s.organization.name.clone(),
                    person_name: s.requester_name.clone(),
                    status: status.as_str(),
                    status_label: i18n.t(&status.label_key()),
                    decided: time::display(decided),
                    decided_machine: time::machine(decided),
                    reason: s.request.decision_reason.clone().unwrap_or_default(),
                }
            })
            .collect(),
        i18n,
    })
}

pub struct HistoryRow {
    pub at: String,
    pub at_machine: String,
    pub action: String,
    pub actor: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/organization_request.html")]
struct RequestPage {
    i18n: I18n,
    nav: Nav,
    csrf: String,
    errors: FormErrors,
    form: DecisionInput,
    id: i64,
    title: String,
    org_name: String,
    org_kind: String,
    org_number: String,
    org_website: Option<String>,
    org_created: String,
    org_public_url: Option<String>,
    person_name: String,
    person_email: String,
    person_respondent: String,
    person_since: String,
    person_confirmed: String,
    position: String,
    status: &'static str,
    status_label: String,
    asked: String,
    decided: Option<String>,
    decided_by: Option<String>,
    reason: Option<String>,
    others: Vec<(String, String, String)>,
    history: Vec<HistoryRow>,
    can_decide: bool,
    can_revoke: bool,
    closed_text: String,
}

fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

async fn render_request(
    state: &AppState,
    i18n: I18n,
    session: &Session,
    user: &CurrentUser,
    id: i64,
    form: DecisionInput,
    errors: FormErrors,
) -> Result<HttpResponse, AppError> {
    let (d, public) = state
        .db
        .run(move |conn| {
            let d = orgs::request_detail(conn, id)?;
            let public = match orgs::public_organization(conn, d.organization.id) {
                Ok(_) => true,
                Err(AppError::NotFound) => false,
                Err(e) => return Err(e),
            };
            Ok::<_, AppError>((d, public))
        })
        .await?;
    let status = d.request.status();
    let status_label = i18n.t(&status.label_key());
    let has_errors = !errors.is_empty();
    let respondent = RespondentType::parse(&d.requester.respondent_type)
        .map(|r| i18n.t(&format!("respondent-{}", r.as_str())))
        .unwrap_or_else(|_| d.requester.respondent_type.clone());
    form_page(
        RequestPage {
            csrf: csrf::token(session),
            nav: nav(session, user),
            errors,
            form,
            id,
            title: i18n.ts("admin-org-request-title", "org", &d.organization.name),
            org_name: d.organization.name.clone(),
            org_kind: i18n.t(&d.organization.kind.label_key()),
            org_number: d.organization.registration_number.clone(),
            org_website: d.organization.website.clone(),
            org_created: time::display(d.organization.created_at),
            org_public_url: public.then(|| format!("/organizations/{}", d.organization.id)),
            person_name: d.requester.display_name.clone(),
            person_email: d.requester.email.clone(),
            person_respondent: respondent,
            person_since: time::display(d.requester.created_at),
            person_confirmed: d
                .requester
                .email_verified_at
                .map(time::display)
                .unwrap_or_else(|| "—".into()),
            position: d.request.position.clone(),
            status: status.as_str(),
            asked: time::display(d.request.created_at),
            decided: d.request.decided_at.map(time::display),
            decided_by: d.decided_by_name.clone(),
            reason: d.request.decision_reason.clone(),
            others: d
                .others
                .iter()
                .map(|(name, position, s)| (name.clone(), position.clone(), i18n.t(&s.label_key())))
                .collect(),
            history: d
                .history
                .iter()
                .map(|h| HistoryRow {
                    at: time::display(h.at),
                    at_machine: time::machine(h.at),
                    action: match h.action.as_str() {
                        "organization.request" => i18n.t("admin-org-action-request"),
                        "organization.verify" => i18n.t("admin-org-action-verify"),
                        "organization.decline" => i18n.t("admin-org-action-decline"),
                        "organization.revoke" => i18n.t("admin-org-action-revoke"),
                        other => other.to_string(),
                    },
                    actor: h.actor_name.clone().unwrap_or_else(|| "—".into()),
                    detail: h.detail.clone(),
                })
                .collect(),
            can_decide: status == RepresentationStatus::Pending,
            can_revoke: status == RepresentationStatus::Verified,
            closed_text: i18n.ts("admin-org-closed", "status", &status_label.to_lowercase()),
            status_label,
            i18n,
        },
        has_errors,
    )
}

async fn request_page(
    RequireAdmin(_admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    render_request(
        &state,
        i18n,
        &session,
        &user,
        id,
        DecisionInput::default(),
        FormErrors::default(),
    )
    .await
}

async fn decide(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<DecisionInput>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let decision = match form.validate() {
        Ok(d) => d,
        Err(errors) => {
            return render_request(&state, i18n, &session, &user, id, form, FormErrors(errors))
                .await;
        }
    };
    let done = match decision {
        Decision::Verify { .. } => "admin-org-done-verify",
        Decision::Decline { .. } => "admin-org-done-decline",
        Decision::Revoke { .. } => "admin-org-done-revoke",
    };
    let config = state.config.clone();
    let admin_id = admin.id;
    let result = state
        .db
        .run(move |conn| orgs::decide(conn, &config, admin_id, id, &decision))
        .await;
    match result {
        Ok(()) => {
            tracing::info!(admin_id, request_id = id, "organization request decided");
            flash(&session, i18n.t(done));
            Ok(see_other("/admin/organizations"))
        }
        Err(AppError::Validation(errors)) => {
            render_request(&state, i18n, &session, &user, id, form, FormErrors(errors)).await
        }
        Err(e) => Err(e),
    }
}
