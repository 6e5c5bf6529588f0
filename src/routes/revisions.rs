//! The working group's revision pages, under `/drafts/{id}/revision` (not under /admin:
//! members of a draft's working group use them as well as admins). Every route is declared
//! in [`revision_routes`]; a guard in front of the scope sends anonymous visitors to sign in
//! and refuses everyone who is neither an admin nor in the draft's working group (403), and
//! the services check the same rule again.

use actix_session::Session;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use askama::Template;
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;

use crate::auth::CurrentUser;
use crate::auth::csrf::{self, CsrfForm};
use crate::db::models::{ProvisionRow, UserRow};
use crate::domain::time;
use crate::error::{AppError, FieldError};
use crate::i18n::I18n;
use crate::routes::admin::drafts::TextForm;
use crate::routes::comparison::{
    CommentLine, RowView, comment_line, compare_counts_text, row_views,
};
use crate::routes::{flash, form_page, nav, see_other};
use crate::services::comparison::{self, ChangeKind};
use crate::services::drafts;
use crate::services::revisions::{self, NewProvision, ProvisionText, Workspace};
use crate::startup::AppState;
use crate::templates::{FormErrors, Nav, SelectOption};

/// One revision route: method, path below `/drafts/{id}/revision`, handler.
pub struct RevisionRoute {
    pub method: Method,
    pub path: &'static str,
    pub route: actix_web::Route,
}

fn get(path: &'static str, route: actix_web::Route) -> RevisionRoute {
    RevisionRoute {
        method: Method::GET,
        path,
        route,
    }
}

fn post(path: &'static str, route: actix_web::Route) -> RevisionRoute {
    RevisionRoute {
        method: Method::POST,
        path,
        route,
    }
}

pub const SCOPE: &str = "/drafts/{id}/revision";

/// Every revision route.
pub fn revision_routes() -> Vec<RevisionRoute> {
    vec![
        get("", web::get().to(overview)),
        post("/start", web::post().to(start)),
        post("/import", web::post().to(reimport)),
        post("/summary", web::post().to(save_summary)),
        post("/publish", web::post().to(publish)),
        get("/add", web::get().to(add_form)),
        post("/add", web::post().to(add)),
        get("/provisions/{key}", web::get().to(provision)),
        post("/provisions/{key}/edit", web::post().to(edit)),
        post("/provisions/{key}/move", web::post().to(move_provision)),
        post("/provisions/{key}/delete", web::post().to(delete)),
        post("/provisions/{key}/link", web::post().to(link)),
        post("/provisions/{key}/unlink", web::post().to(unlink)),
    ]
}

/// The (method, full path) pairs of every revision route, for tests and docs.
pub fn revision_route_table() -> Vec<(Method, String)> {
    revision_routes()
        .into_iter()
        .map(|r| (r.method, format!("{SCOPE}{}", r.path)))
        .collect()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut scope = web::scope(SCOPE).wrap(from_fn(guard));
    for r in revision_routes() {
        scope = scope.route(r.path, r.route);
    }
    cfg.service(scope);
}

async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let check = {
        let (http, payload) = req.parts_mut();
        RequireReviser::from_request(http, payload)
    };
    check.await?;
    next.call(req).await
}

/// A signed-in admin or member of the draft's working group (the draft of the path).
pub struct RequireReviser(pub UserRow);

impl FromRequest for RequireReviser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let user = CurrentUser::from_request(&req, payload);
        Box::pin(async move {
            let user = user.await?;
            let Some(user) = user.0 else {
                return Err(AppError::SignInRequired {
                    next: if req.method() == Method::GET {
                        req.uri()
                            .path_and_query()
                            .map(|p| p.to_string())
                            .unwrap_or_default()
                    } else {
                        String::new()
                    },
                }
                .into());
            };
            let draft_id: i64 = req
                .match_info()
                .get("id")
                .and_then(|s| s.parse().ok())
                .ok_or(AppError::NotFound)?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Internal("app state missing".into()))?
                .clone();
            let checked = user.clone();
            let allowed = state
                .db
                .run(move |conn| {
                    revisions::may_revise(conn, draft_id, &checked).map_err(AppError::from)
                })
                .await?;
            if !allowed {
                return Err(AppError::Forbidden(
                    "Only the draft's working group and administrators can prepare its revisions."
                        .into(),
                )
                .into());
            }
            Ok(RequireReviser(user))
        })
    }
}

// ---------------------------------------------------------------------------------------
// Shared helpers

/// The fields of the revision forms, in the order they appear.
const FIELDS: [&str; 12] = [
    "revision",
    "after",
    "kind",
    "label",
    "heading",
    "body",
    "comment",
    "text",
    "change_summary",
    "opens_at",
    "closes_at",
    "status",
];

/// Service messages are phrases about a field; the summary names the field first.
fn labelled(i18n: &I18n, mut errors: Vec<FieldError>) -> FormErrors {
    errors.sort_by_key(|e| FIELDS.iter().position(|f| *f == e.field).unwrap_or(99));
    FormErrors(
        errors
            .into_iter()
            .map(|e| {
                let label = i18n.t(&format!("revision-field-{}", e.field));
                if FIELDS.contains(&e.field) && !e.message.starts_with(&label) {
                    FieldError::new(e.field, format!("{label}: {}", e.message))
                } else {
                    e
                }
            })
            .collect(),
    )
}

async fn load_workspace(state: &AppState, id: i64, user: &UserRow) -> Result<Workspace, AppError> {
    let user = user.clone();
    state
        .db
        .run(move |conn| revisions::workspace(conn, id, &user))
        .await
}

fn revision_url(id: i64) -> String {
    format!("/drafts/{id}/revision")
}

fn provision_url(id: i64, key: &str) -> String {
    format!("/drafts/{id}/revision/provisions/{key}")
}

fn change_label(i18n: &I18n, change: Option<ChangeKind>) -> String {
    match change {
        Some(c) => i18n.t(&format!("compare-change-{}", c.as_str())),
        None => i18n.t("compare-change-unchanged"),
    }
}

fn kind_label(i18n: &I18n, kind: &str) -> String {
    i18n.t(&format!("revision-kind-{kind}"))
}

/// The options of an "after" select: the start, then every provision (indented by depth),
/// leaving out `skip` (a provision and what it contains, which cannot go after itself).
fn after_options(
    i18n: &I18n,
    provisions: &[ProvisionRow],
    selected: &str,
    skip: Option<(usize, usize)>,
) -> Vec<SelectOption> {
    let mut out = vec![SelectOption {
        value: String::new(),
        label: i18n.t("revision-after-start"),
        selected: selected.is_empty(),
    }];
    for (i, p) in provisions.iter().enumerate() {
        if skip.is_some_and(|(a, b)| (a..b).contains(&i)) {
            continue;
        }
        out.push(SelectOption {
            value: p.key.clone(),
            label: format!(
                "{}{} ({})",
                "— ".repeat(p.depth.max(0) as usize),
                comparison::provision_name(p),
                p.key
            ),
            selected: p.key == selected,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------
// The overview

pub struct WorkingLine {
    pub key: String,
    pub url: String,
    pub depth: i32,
    pub kind_label: String,
    pub name: String,
    pub text: String,
    pub change: &'static str,
    pub change_label: String,
    pub comments: Vec<CommentLine>,
}

/// What was typed into the overview's forms, kept when one comes back with errors.
#[derive(Debug, Clone, Default)]
struct Typed {
    text: String,
    change_summary: Option<String>,
    new_round: bool,
    opens_at: String,
    closes_at: String,
}

#[derive(Template)]
#[template(path = "revision/overview.html")]
struct OverviewPage {
    i18n: I18n,
    nav: Nav,
    csrf: String,
    errors: FormErrors,
    draft_id: i64,
    draft_title: String,
    status_label: String,
    title: String,
    state_text: String,
    can_start: bool,
    working: bool,
    lines: Vec<WorkingLine>,
    removed: Vec<WorkingLine>,
    counts_text: String,
    rows: Vec<RowView>,
    caption: String,
    from_label: String,
    to_label: String,
    text: String,
    text_hint: String,
    change_summary: String,
    new_round: bool,
    opens_at: String,
    closes_at: String,
    history: Vec<HistoryLine>,
}

pub struct HistoryLine {
    pub at: String,
    pub at_machine: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

fn working_line(i18n: &I18n, id: i64, p: &revisions::WorkingProvision) -> WorkingLine {
    WorkingLine {
        key: p.row.key.clone(),
        url: provision_url(id, &p.row.key),
        depth: p.row.depth,
        kind_label: kind_label(i18n, &p.row.kind),
        name: comparison::provision_name(&p.row),
        text: if p.row.kind == "paragraph" {
            crate::markdown::to_plain_text(&p.row.body)
        } else {
            String::new()
        },
        change: p.change.map_or("unchanged", |c| c.as_str()),
        change_label: change_label(i18n, p.change),
        comments: p.comments.iter().map(|c| comment_line(i18n, c)).collect(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_overview(
    state: &web::Data<AppState>,
    i18n: I18n,
    session: &Session,
    user: &CurrentUser,
    reviser: &UserRow,
    id: i64,
    errors: Vec<FieldError>,
    typed: Typed,
) -> Result<HttpResponse, AppError> {
    let w = load_workspace(state, id, reviser).await?;
    let has_errors = !errors.is_empty();
    let (state_text, from, to) = match (&w.working, &w.base) {
        (Some(wv), Some(b)) => (
            i18n.t_nums(
                "revision-state-working",
                &[("number", wv.number as i64), ("base", b.number as i64)],
            ),
            b.number,
            wv.number,
        ),
        _ if w.can_start() => (
            i18n.tn(
                "revision-state-can-start",
                "number",
                w.base.as_ref().map_or(0, |b| b.number as i64),
            ),
            0,
            0,
        ),
        _ => (
            i18n.ts(
                "revision-state-cannot-start",
                "status",
                &i18n.t(&format!("status-{}", w.status.as_str())),
            ),
            0,
            0,
        ),
    };
    form_page(
        OverviewPage {
            csrf: csrf::token(session),
            errors: labelled(&i18n, errors),
            draft_id: id,
            draft_title: w.draft.title.clone(),
            status_label: i18n.t(&format!("status-{}", w.status.as_str())),
            title: i18n.ts("revision-title", "title", &w.draft.title),
            state_text,
            can_start: w.can_start(),
            working: w.working.is_some(),
            lines: w
                .provisions
                .iter()
                .map(|p| working_line(&i18n, id, p))
                .collect(),
            removed: w
                .removed
                .iter()
                .map(|p| working_line(&i18n, id, p))
                .collect(),
            counts_text: compare_counts_text(&i18n, &w.rows),
            rows: row_views(&i18n, &w.rows),
            caption: i18n.t_nums(
                "compare-caption",
                &[("from", from as i64), ("to", to as i64)],
            ),
            from_label: i18n.tn("draft-version-n", "number", from as i64),
            to_label: i18n.tn("draft-version-n", "number", to as i64),
            text: typed.text,
            text_hint: i18n.t("revision-import-hint"),
            change_summary: typed.change_summary.unwrap_or_else(|| {
                w.working
                    .as_ref()
                    .map_or(String::new(), |v| v.change_summary.clone())
            }),
            new_round: typed.new_round,
            opens_at: typed.opens_at,
            closes_at: typed.closes_at,
            history: w
                .history
                .iter()
                .map(|h| HistoryLine {
                    at: time::display(h.at),
                    at_machine: time::machine(h.at),
                    actor: h
                        .actor
                        .clone()
                        .unwrap_or_else(|| i18n.t("comment-former-participant")),
                    action: i18n.t(&format!("revision-action-{}", h.action.replace('.', "-"))),
                    detail: h.detail.clone(),
                })
                .collect(),
            nav: nav(session, user),
            i18n,
        },
        has_errors,
    )
}

async fn overview(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    render_overview(
        &state,
        i18n,
        &session,
        &user,
        &reviser,
        id,
        vec![],
        Typed::default(),
    )
    .await
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Empty {}

async fn start(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let actor = reviser.clone();
    let result = state
        .db
        .run(move |conn| revisions::start(conn, id, &actor))
        .await;
    match result {
        Ok(number) => {
            flash(
                &session,
                i18n.tn("revision-started", "number", number as i64),
            );
            Ok(see_other(&revision_url(id)))
        }
        Err(AppError::Validation(e)) => {
            render_overview(
                &state,
                i18n,
                &session,
                &user,
                &reviser,
                id,
                e,
                Typed::default(),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TextOnly {
    #[serde(default)]
    text: String,
}

async fn reimport(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    form: TextForm<TextOnly>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let max = state.config.max_import_bytes;
    let text = match form {
        TextForm::Form(f) => f.text,
        TextForm::TooLarge => {
            let errors = vec![FieldError::new(
                "text",
                format!("the file is larger than {max} bytes"),
            )];
            return render_overview(
                &state,
                i18n,
                &session,
                &user,
                &reviser,
                id,
                errors,
                Typed::default(),
            )
            .await;
        }
    };
    let typed = Typed {
        text: text.clone(),
        ..Typed::default()
    };
    if text.trim().is_empty() {
        let errors = vec![FieldError::new("text", i18n.t("revision-import-missing"))];
        return render_overview(&state, i18n, &session, &user, &reviser, id, errors, typed).await;
    }
    let parsed = match drafts::parse_text(text.as_bytes(), max) {
        Ok(p) => p,
        Err(e) => {
            let errors = e.fields().to_vec();
            return render_overview(&state, i18n, &session, &user, &reviser, id, errors, typed)
                .await;
        }
    };
    let actor = reviser.clone();
    let result = state
        .db
        .run(move |conn| revisions::reimport(conn, id, parsed, &actor))
        .await;
    match result {
        Ok(out) => {
            flash(
                &session,
                i18n.t_nums(
                    "admin-draft-imported",
                    &[
                        ("provisions", out.provisions as i64),
                        ("kept", out.kept as i64),
                        ("added", out.added as i64),
                        ("removed", out.removed as i64),
                    ],
                ),
            );
            Ok(see_other(&revision_url(id)))
        }
        Err(AppError::Validation(e)) => {
            render_overview(&state, i18n, &session, &user, &reviser, id, e, typed).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    change_summary: String,
    #[serde(default)]
    new_round: String,
    #[serde(default)]
    opens_at: String,
    #[serde(default)]
    closes_at: String,
}

impl PublishForm {
    fn typed(&self) -> Typed {
        Typed {
            change_summary: Some(self.change_summary.clone()),
            new_round: !self.new_round.is_empty(),
            opens_at: self.opens_at.clone(),
            closes_at: self.closes_at.clone(),
            ..Typed::default()
        }
    }
}

async fn save_summary(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<PublishForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let typed = form.typed();
    let actor = reviser.clone();
    let summary = form.change_summary.clone();
    let result = state
        .db
        .run(move |conn| revisions::save_summary(conn, id, &summary, &actor))
        .await;
    match result {
        Ok(()) => {
            flash(&session, i18n.t("revision-summary-saved"));
            Ok(see_other(&revision_url(id)))
        }
        Err(AppError::Validation(e)) => {
            render_overview(&state, i18n, &session, &user, &reviser, id, e, typed).await
        }
        Err(e) => Err(e),
    }
}

async fn publish(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<PublishForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let typed = form.typed();
    let mut errors = Vec::new();
    let round = if typed.new_round {
        let opens_at = match form.opens_at.trim() {
            "" => Some(time::now()),
            s => time::parse_datetime(s, false).or_else(|| {
                errors.push(FieldError::new(
                    "opens_at",
                    i18n.t("admin-publish-date-invalid"),
                ));
                None
            }),
        };
        let closes_at = match form.closes_at.trim() {
            "" => {
                errors.push(FieldError::new(
                    "closes_at",
                    i18n.t("admin-publish-closes-missing"),
                ));
                None
            }
            s => time::parse_datetime(s, true).or_else(|| {
                errors.push(FieldError::new(
                    "closes_at",
                    i18n.t("admin-publish-date-invalid"),
                ));
                None
            }),
        };
        opens_at.zip(closes_at)
    } else {
        None
    };
    if !errors.is_empty() {
        return render_overview(&state, i18n, &session, &user, &reviser, id, errors, typed).await;
    }
    let actor = reviser.clone();
    let summary = form.change_summary.clone();
    let result = state
        .db
        .run(move |conn| revisions::publish(conn, id, &summary, round, &actor))
        .await;
    match result {
        Ok(number) => {
            flash(
                &session,
                i18n.tn("revision-published", "number", number as i64),
            );
            Ok(see_other(&format!("/drafts/{id}")))
        }
        Err(AppError::Validation(e)) => {
            render_overview(&state, i18n, &session, &user, &reviser, id, e, typed).await
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------
// Adding a provision

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    after: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    heading: String,
    #[serde(default)]
    body: String,
}

#[derive(Template)]
#[template(path = "revision/add.html")]
struct AddPage {
    i18n: I18n,
    nav: Nav,
    csrf: String,
    errors: FormErrors,
    draft_id: i64,
    draft_title: String,
    title: String,
    after: Vec<SelectOption>,
    kinds: Vec<SelectOption>,
    form: AddForm,
}

#[allow(clippy::too_many_arguments)]
async fn render_add(
    state: &web::Data<AppState>,
    i18n: I18n,
    session: &Session,
    user: &CurrentUser,
    reviser: &UserRow,
    id: i64,
    errors: Vec<FieldError>,
    form: AddForm,
) -> Result<HttpResponse, AppError> {
    let w = load_workspace(state, id, reviser).await?;
    let Some(working) = &w.working else {
        return render_overview(
            state,
            i18n,
            session,
            user,
            reviser,
            id,
            errors,
            Typed::default(),
        )
        .await;
    };
    let rows: Vec<ProvisionRow> = w.provisions.iter().map(|p| p.row.clone()).collect();
    let has_errors = !errors.is_empty();
    form_page(
        AddPage {
            csrf: csrf::token(session),
            errors: labelled(&i18n, errors),
            draft_id: id,
            draft_title: w.draft.title.clone(),
            title: i18n.tn("revision-add-title", "number", working.number as i64),
            after: after_options(&i18n, &rows, &form.after, None),
            kinds: ["chapter", "section", "article", "paragraph"]
                .into_iter()
                .map(|k| SelectOption {
                    value: k.into(),
                    label: kind_label(&i18n, k),
                    selected: form.kind == k,
                })
                .collect(),
            form,
            nav: nav(session, user),
            i18n,
        },
        has_errors,
    )
}

#[derive(Debug, Deserialize)]
pub struct AddQuery {
    after: Option<String>,
}

async fn add_form(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    query: web::Query<AddQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = AddForm {
        after: query.into_inner().after.unwrap_or_default(),
        kind: "paragraph".into(),
        ..AddForm::default()
    };
    render_add(&state, i18n, &session, &user, &reviser, id, vec![], form).await
}

async fn add(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let new = NewProvision {
        kind: form.kind.clone(),
        text: ProvisionText {
            label: form.label.clone(),
            heading: form.heading.clone(),
            body: form.body.clone(),
        },
    };
    let after = form.after.clone();
    let actor = reviser.clone();
    let result = state
        .db
        .run(move |conn| {
            let after = (!after.trim().is_empty()).then_some(after.as_str());
            revisions::add_provision(conn, id, after, &new, &actor)
        })
        .await;
    match result {
        Ok(key) => {
            flash(&session, i18n.ts("revision-added", "key", &key));
            Ok(see_other(&provision_url(id, &key)))
        }
        Err(AppError::Validation(e)) => {
            render_add(&state, i18n, &session, &user, &reviser, id, e, form).await
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------
// One provision

/// What was typed into the provision page's forms.
#[derive(Debug, Clone, Default)]
struct ProvisionTyped {
    text: Option<ProvisionText>,
    after: Option<String>,
    comment: String,
}

pub struct ChoiceLine {
    pub id: i64,
    pub tracking_number: String,
    pub url: String,
    pub excerpt: String,
    pub version_text: String,
    pub decision_label: String,
}

#[derive(Template)]
#[template(path = "revision/provision.html")]
struct ProvisionPage {
    i18n: I18n,
    nav: Nav,
    csrf: String,
    errors: FormErrors,
    draft_id: i64,
    draft_title: String,
    key: String,
    title: String,
    kind_label: String,
    change: &'static str,
    change_label: String,
    removed: bool,
    is_paragraph: bool,
    old_text: Option<String>,
    diff_html: Option<String>,
    label: String,
    heading: String,
    body: String,
    after: Vec<SelectOption>,
    delete_hint: String,
    add_url: String,
    linked: Vec<CommentLine>,
    comment: String,
    choices: Vec<ChoiceLine>,
}

#[allow(clippy::too_many_arguments)]
async fn render_provision(
    state: &web::Data<AppState>,
    i18n: I18n,
    session: &Session,
    user: &CurrentUser,
    reviser: &UserRow,
    id: i64,
    key: String,
    errors: Vec<FieldError>,
    typed: ProvisionTyped,
) -> Result<HttpResponse, AppError> {
    let w = load_workspace(state, id, reviser).await?;
    if w.working.is_none() {
        return render_overview(
            state,
            i18n,
            session,
            user,
            reviser,
            id,
            errors,
            Typed::default(),
        )
        .await;
    }
    let p = w.find(&key).ok_or(AppError::NotFound)?.clone();
    let removed = !w.provisions.iter().any(|x| x.row.key == key);
    let rows: Vec<ProvisionRow> = w.provisions.iter().map(|p| p.row.clone()).collect();
    let index = rows.iter().position(|r| r.key == key);
    let end = index.map(|i| {
        let mut j = i + 1;
        while j < rows.len() && rows[j].depth > rows[i].depth {
            j += 1;
        }
        j
    });
    let current_after = index
        .and_then(|i| i.checked_sub(1))
        .map(|i| rows[i].key.clone())
        .unwrap_or_default();
    let row = w.rows.iter().find(|r| r.key == key);
    let text = typed.text.unwrap_or_else(|| ProvisionText {
        label: p.row.label.clone().unwrap_or_default(),
        heading: p.row.heading.clone().unwrap_or_default(),
        body: p.row.body.clone(),
    });
    let key_for_choices = key.clone();
    let linked_ids: Vec<i64> = p.comments.iter().map(|c| c.id).collect();
    let choices = state
        .db
        .run(move |conn| {
            revisions::comment_choices(conn, id, Some(&key_for_choices), 50).map_err(AppError::from)
        })
        .await?;
    let has_errors = !errors.is_empty();
    form_page(
        ProvisionPage {
            csrf: csrf::token(session),
            errors: labelled(&i18n, errors),
            draft_id: id,
            draft_title: w.draft.title.clone(),
            title: comparison::provision_name(&p.row),
            kind_label: kind_label(&i18n, &p.row.kind),
            change: if removed {
                "removed"
            } else {
                p.change.map_or("unchanged", |c| c.as_str())
            },
            change_label: if removed {
                i18n.t("compare-change-removed")
            } else {
                change_label(&i18n, p.change)
            },
            removed,
            is_paragraph: p.row.kind == "paragraph",
            old_text: row.and_then(|r| r.old_text.clone()),
            diff_html: row.map(|r| r.diff_html.clone()),
            label: text.label,
            heading: text.heading,
            body: text.body,
            after: after_options(
                &i18n,
                &rows,
                typed.after.as_deref().unwrap_or(&current_after),
                index.zip(end),
            ),
            delete_hint: i18n.tn(
                "revision-delete-hint",
                "count",
                index.zip(end).map_or(0, |(i, e)| (e - i - 1) as i64),
            ),
            add_url: format!("/drafts/{id}/revision/add?after={key}"),
            linked: p.comments.iter().map(|c| comment_line(&i18n, c)).collect(),
            comment: typed.comment,
            choices: choices
                .into_iter()
                .filter(|c| !linked_ids.contains(&c.0))
                .map(
                    |(cid, tracking, _, version, excerpt, decision)| ChoiceLine {
                        id: cid,
                        url: format!("/comments/{cid}"),
                        tracking_number: tracking,
                        excerpt,
                        version_text: i18n.tn("comment-version", "number", version as i64),
                        decision_label: crate::routes::comparison::decision_label(
                            &i18n,
                            decision.as_deref(),
                        ),
                    },
                )
                .collect(),
            key,
            nav: nav(session, user),
            i18n,
        },
        has_errors,
    )
}

async fn provision(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, key) = path.into_inner();
    render_provision(
        &state,
        i18n,
        &session,
        &user,
        &reviser,
        id,
        key,
        vec![],
        ProvisionTyped::default(),
    )
    .await
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    heading: String,
    #[serde(default)]
    body: String,
}

async fn edit(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, String)>,
    CsrfForm(form): CsrfForm<EditForm>,
) -> Result<HttpResponse, AppError> {
    let (id, key) = path.into_inner();
    let text = ProvisionText {
        label: form.label,
        heading: form.heading,
        body: form.body,
    };
    let (actor, k, t) = (reviser.clone(), key.clone(), text.clone());
    let result = state
        .db
        .run(move |conn| revisions::edit_provision(conn, id, &k, &t, &actor))
        .await;
    match result {
        Ok(changed) => {
            flash(
                &session,
                i18n.t(if changed {
                    "revision-edited"
                } else {
                    "revision-unchanged"
                }),
            );
            Ok(see_other(&provision_url(id, &key)))
        }
        Err(AppError::Validation(e)) => {
            let typed = ProvisionTyped {
                text: Some(text),
                ..ProvisionTyped::default()
            };
            render_provision(&state, i18n, &session, &user, &reviser, id, key, e, typed).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    after: String,
}

async fn move_provision(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, String)>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let (id, key) = path.into_inner();
    let (actor, k, after) = (reviser.clone(), key.clone(), form.after.clone());
    let result = state
        .db
        .run(move |conn| {
            let after = (!after.trim().is_empty()).then_some(after.as_str());
            revisions::move_provision(conn, id, &k, after, &actor)
        })
        .await;
    match result {
        Ok(()) => {
            flash(&session, i18n.t("revision-moved"));
            Ok(see_other(&provision_url(id, &key)))
        }
        Err(AppError::Validation(e)) => {
            let typed = ProvisionTyped {
                after: Some(form.after),
                ..ProvisionTyped::default()
            };
            render_provision(&state, i18n, &session, &user, &reviser, id, key, e, typed).await
        }
        Err(e) => Err(e),
    }
}

async fn delete(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let (id, key) = path.into_inner();
    let (actor, k) = (reviser.clone(), key.clone());
    let result = state
        .db
        .run(move |conn| revisions::delete_provision(conn, id, &k, &actor))
        .await;
    match result {
        Ok(removed) => {
            flash(
                &session,
                i18n.tn("revision-deleted", "count", removed.len() as i64),
            );
            Ok(see_other(&revision_url(id)))
        }
        Err(AppError::Validation(e)) => {
            render_provision(
                &state,
                i18n,
                &session,
                &user,
                &reviser,
                id,
                key,
                e,
                ProvisionTyped::default(),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    comment: String,
}

async fn link(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, String)>,
    CsrfForm(form): CsrfForm<LinkForm>,
) -> Result<HttpResponse, AppError> {
    let (id, key) = path.into_inner();
    let (actor, k, c) = (reviser.clone(), key.clone(), form.comment.clone());
    let result = state
        .db
        .run(move |conn| revisions::link_comment(conn, id, &k, &c, &actor))
        .await;
    match result {
        Ok(_) => {
            flash(&session, i18n.t("revision-linked"));
            Ok(see_other(&provision_url(id, &key)))
        }
        Err(AppError::Validation(e)) => {
            let typed = ProvisionTyped {
                comment: form.comment,
                ..ProvisionTyped::default()
            };
            render_provision(&state, i18n, &session, &user, &reviser, id, key, e, typed).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct UnlinkForm {
    #[serde(default)]
    comment_id: String,
}

async fn unlink(
    RequireReviser(reviser): RequireReviser,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    path: web::Path<(i64, String)>,
    CsrfForm(form): CsrfForm<UnlinkForm>,
) -> Result<HttpResponse, AppError> {
    let (id, key) = path.into_inner();
    let comment_id: i64 = form
        .comment_id
        .trim()
        .parse()
        .map_err(|_| AppError::NotFound)?;
    let (actor, k) = (reviser.clone(), key.clone());
    state
        .db
        .run(move |conn| revisions::unlink_comment(conn, id, &k, comment_id, &actor))
        .await?;
    flash(&session, i18n.t("revision-unlinked"));
    Ok(see_other(&provision_url(id, &key)))
}
