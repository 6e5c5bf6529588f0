//! Drafts in the browser: the list of every draft, creation with the Markdown text, editing
//! and re-importing an unpublished draft, publishing with a consultation round, and moving a
//! draft along its lifecycle. All of it goes through `services::drafts` (via
//! `services::draft_admin`, which adds the audit record).

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::body::{BodyStream, MessageBody};
use actix_web::error::PayloadError;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use askama::Template;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{AdminRoute, RequireAdmin};
use crate::auth::CurrentUser;
use crate::auth::csrf::{self, CsrfForm};
use crate::domain::{DraftKind, DraftStatus, time};
use crate::error::{AppError, FieldError};
use crate::i18n::I18n;
use crate::routes::{flash, form_page, nav, page_private, see_other};
use crate::services::draft_admin::{self, Overview};
use crate::services::drafts::{self, DraftInput};
use crate::services::import::ParsedDraft;
use crate::startup::AppState;
use crate::templates::{FormErrors, Nav, SelectOption};

pub fn routes() -> Vec<AdminRoute> {
    vec![
        AdminRoute::get("/drafts", web::get().to(list)),
        AdminRoute::get("/drafts/new", web::get().to(new_form)),
        AdminRoute::post("/drafts/new", web::post().to(create)),
        AdminRoute::get("/drafts/{id}", web::get().to(show)),
        AdminRoute::post("/drafts/{id}/edit", web::post().to(edit)),
        AdminRoute::post("/drafts/{id}/text", web::post().to(import)),
        AdminRoute::post("/drafts/{id}/publish", web::post().to(publish)),
        AdminRoute::post("/drafts/{id}/transition", web::post().to(transition)),
    ]
}

// ---------------------------------------------------------------------------------------
// A form that carries a whole draft text

/// The body limit of the forms that carry a draft's text: the import limit three times over
/// (a browser percent-encodes every byte of non-ASCII text as `%XX`), plus room for the other
/// fields. Within it, a text over the import limit gets the import's own field error.
pub fn text_form_limit(max_import_bytes: usize) -> usize {
    max_import_bytes.saturating_mul(3).saturating_add(64 * 1024)
}

/// A CSRF-checked form with a draft text, read under [`text_form_limit`] instead of the
/// small default body limit. A body over the limit is read to its end (up to four times the
/// limit) and discarded, so the browser gets the form back with a field error rather than a
/// broken connection or a bare 413. Only admins get this far: the scope guard runs first.
pub enum TextForm<T> {
    Form(T),
    TooLarge,
}

impl<T: DeserializeOwned + 'static> FromRequest for TextForm<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| text_form_limit(s.config.max_import_bytes))
            .unwrap_or(256 * 1024);
        let payload = payload.take();
        Box::pin(async move {
            let mut stream = Box::pin(BodyStream::new(payload));
            let mut body = web::BytesMut::new();
            let mut seen = 0usize;
            while let Some(chunk) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                let chunk = chunk?;
                seen = seen.saturating_add(chunk.len());
                if seen <= limit {
                    body.extend_from_slice(&chunk);
                } else if seen > limit.saturating_mul(4) {
                    return Err(PayloadError::Overflow.into());
                }
            }
            if seen > limit {
                return Ok(TextForm::TooLarge);
            }
            Ok(TextForm::Form(csrf::check_form::<T>(&session, &body)?))
        })
    }
}

fn too_large(max: usize) -> FieldError {
    // The same words as the import's own check (`ImportError::TooLarge`).
    FieldError::new("text", format!("the file is larger than {max} bytes"))
}

// ---------------------------------------------------------------------------------------
// Shared helpers

/// The fields of the draft forms, in the order they appear.
const FIELDS: [&str; 9] = [
    "title",
    "kind",
    "authority",
    "summary",
    "text",
    "opens_at",
    "closes_at",
    "status",
    "note",
];

/// The services' messages are phrases about a field ("must not be empty"); the error
/// summary names the field first, and the list follows the order of the form.
fn labelled(i18n: &I18n, mut errors: Vec<FieldError>) -> FormErrors {
    errors.sort_by_key(|e| FIELDS.iter().position(|f| *f == e.field).unwrap_or(99));
    FormErrors(
        errors
            .into_iter()
            .map(|e| {
                if FIELDS.contains(&e.field) {
                    let label = i18n.t(&format!("admin-draft-field-{}", e.field));
                    FieldError::new(e.field, format!("{label}: {}", e.message))
                } else {
                    e
                }
            })
            .collect(),
    )
}

fn kind_options(i18n: &I18n, selected: &str) -> Vec<SelectOption> {
    DraftKind::ALL
        .into_iter()
        .map(|k| SelectOption {
            value: k.as_str().into(),
            label: i18n.t(&format!("kind-{}", k.as_str())),
            selected: k.as_str() == selected,
        })
        .collect()
}

/// "2 MiB", "512 KiB", "900 bytes".
fn human_size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// What was typed into the draft form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DraftForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub authority: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub text: String,
}

impl DraftForm {
    fn input(&self) -> DraftInput {
        DraftInput {
            title: self.title.clone(),
            kind: self.kind.clone(),
            authority: self.authority.clone(),
            summary: self.summary.clone(),
        }
    }
}

/// Parses the text unless it is empty; errors name the `text` field.
fn parse_text(text: &str, max: usize) -> Result<Option<ParsedDraft>, Vec<FieldError>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    drafts::parse_text(text.as_bytes(), max)
        .map(Some)
        .map_err(|e| e.fields().to_vec())
}

// ---------------------------------------------------------------------------------------
// The list

pub struct DraftLine {
    pub id: i64,
    pub title: String,
    pub kind: String,
    pub authority: String,
    pub status: &'static str,
    pub status_label: String,
    pub updated: String,
    pub updated_machine: String,
    pub published: bool,
}

#[derive(Template)]
#[template(path = "admin/drafts.html")]
struct DraftsPage {
    i18n: I18n,
    nav: Nav,
    drafts: Vec<DraftLine>,
    count_text: String,
}

async fn list(
    RequireAdmin(_admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let all = state.db.run(draft_admin::all).await?;
    page_private(DraftsPage {
        nav: nav(&session, &user),
        count_text: i18n.tn("admin-drafts-count", "count", all.len() as i64),
        drafts: all
            .iter()
            .map(|d| DraftLine {
                id: d.draft.id,
                title: d.draft.title.clone(),
                kind: i18n.t(&format!("kind-{}", d.kind.as_str())),
                authority: d.draft.authority.clone(),
                status: d.status.as_str(),
                status_label: i18n.t(&format!("status-{}", d.status.as_str())),
                updated: time::display(d.draft.updated_at),
                updated_machine: time::machine(d.draft.updated_at),
                published: d.round.is_some(),
            })
            .collect(),
        i18n,
    })
}

// ---------------------------------------------------------------------------------------
// Creating a draft

#[derive(Template)]
#[template(path = "admin/draft_new.html")]
struct NewDraftPage {
    i18n: I18n,
    nav: Nav,
    csrf: String,
    errors: FormErrors,
    form: DraftForm,
    kinds: Vec<SelectOption>,
    title_hint: String,
    text_hint: String,
}

fn render_new(
    state: &AppState,
    i18n: I18n,
    session: &Session,
    user: &CurrentUser,
    form: DraftForm,
    errors: Vec<FieldError>,
) -> Result<HttpResponse, AppError> {
    let has_errors = !errors.is_empty();
    form_page(
        NewDraftPage {
            csrf: csrf::token(session),
            errors: labelled(&i18n, errors),
            kinds: kind_options(&i18n, &form.kind),
            title_hint: i18n.t("admin-draft-title-hint"),
            text_hint: i18n.ts(
                "admin-draft-text-hint",
                "size",
                &human_size(state.config.max_import_bytes),
            ),
            form,
            nav: nav(session, user),
            i18n,
        },
        has_errors,
    )
}

async fn new_form(
    RequireAdmin(_admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let form = DraftForm {
        kind: DraftKind::Concept.as_str().into(),
        ..DraftForm::default()
    };
    render_new(&state, i18n, &session, &user, form, vec![])
}

async fn create(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    form: TextForm<DraftForm>,
) -> Result<HttpResponse, AppError> {
    let max = state.config.max_import_bytes;
    let form = match form {
        TextForm::Form(f) => f,
        TextForm::TooLarge => {
            return render_new(
                &state,
                i18n,
                &session,
                &user,
                DraftForm::default(),
                vec![too_large(max)],
            );
        }
    };
    // Everything is checked before anything is stored, and every problem is reported at once.
    let mut errors = Vec::new();
    let parsed = parse_text(&form.text, max).unwrap_or_else(|e| {
        errors.extend(e);
        None
    });
    let input = form.input();
    let mut check = input.clone();
    if check.title.trim().is_empty()
        && let Some(t) = parsed.as_ref().and_then(|p| p.title.clone())
    {
        check.title = t;
    }
    if let Err(e) = check.validate() {
        errors.extend(e);
    }
    if !errors.is_empty() {
        return render_new(&state, i18n, &session, &user, form, errors);
    }
    let count = parsed.as_ref().map_or(0, |p| p.provisions.len());
    let result = state
        .db
        .run(move |conn| draft_admin::create(conn, admin.id, &input, parsed.as_ref()))
        .await;
    match result {
        Ok(id) => {
            flash(
                &session,
                i18n.tn("admin-draft-created", "provisions", count as i64),
            );
            Ok(see_other(&format!("/admin/drafts/{id}")))
        }
        Err(AppError::Validation(e)) => render_new(&state, i18n, &session, &user, form, e),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------
// One draft

/// What was typed into one of the forms of the draft page, kept when it comes back with
/// errors. `meta` is `None` when the metadata form shows the stored values.
#[derive(Debug, Clone, Default)]
struct Typed {
    meta: Option<DraftForm>,
    text: String,
    opens_at: String,
    closes_at: String,
    status: String,
    note: String,
}

pub struct HistoryLine {
    pub at: String,
    pub at_machine: String,
    pub text: String,
    pub actor: String,
    pub note: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/draft.html")]
struct DraftAdminPage {
    i18n: I18n,
    nav: Nav,
    csrf: String,
    errors: FormErrors,
    id: i64,
    title: String,
    status: &'static str,
    status_label: String,
    kind_label: String,
    authority: String,
    published: bool,
    round_text: Option<String>,
    members_text: String,
    editable: bool,
    form: DraftForm,
    kinds: Vec<SelectOption>,
    title_hint: String,
    working_text: Option<String>,
    text_hint: String,
    can_publish: bool,
    opens_at: String,
    closes_at: String,
    next_statuses: Vec<SelectOption>,
    note: String,
    history: Vec<HistoryLine>,
}

async fn render_draft(
    state: &web::Data<AppState>,
    i18n: I18n,
    session: &Session,
    user: &CurrentUser,
    id: i64,
    errors: Vec<FieldError>,
    typed: Typed,
) -> Result<HttpResponse, AppError> {
    let o: Overview = state
        .db
        .run(move |conn| draft_admin::overview(conn, id))
        .await?;
    let d = &o.summary;
    let has_errors = !errors.is_empty();
    let form = typed.meta.unwrap_or_else(|| DraftForm {
        title: d.draft.title.clone(),
        kind: d.draft.kind.clone(),
        authority: d.draft.authority.clone(),
        summary: d.draft.summary.clone(),
        text: String::new(),
    });
    let round_text = d.round.as_ref().map(|r| {
        i18n.t_strs(
            "admin-draft-round",
            &[
                ("opens", &time::display(r.opens_at)),
                ("closes", &time::display(r.closes_at)),
            ],
        )
    });
    let next_statuses = d
        .status
        .next()
        .into_iter()
        .filter(|s| *s != DraftStatus::Open)
        .map(|s| SelectOption {
            value: s.as_str().into(),
            label: i18n.t(&format!("status-{}", s.as_str())),
            selected: s.as_str() == typed.status,
        })
        .collect();
    let history = o
        .transitions
        .iter()
        .map(|t| HistoryLine {
            at: time::display(t.created_at),
            at_machine: time::machine(t.created_at),
            text: match &t.from_status {
                Some(from) => i18n.t_strs(
                    "admin-draft-history-move",
                    &[
                        ("from", &i18n.t(&format!("status-{from}"))),
                        ("to", &i18n.t(&format!("status-{}", t.to_status))),
                    ],
                ),
                None => i18n.t("admin-draft-history-created"),
            },
            actor: t.actor.clone(),
            note: t.note.clone(),
        })
        .collect();
    form_page(
        DraftAdminPage {
            csrf: csrf::token(session),
            errors: labelled(&i18n, errors),
            id,
            title: d.draft.title.clone(),
            status: d.status.as_str(),
            status_label: i18n.t(&format!("status-{}", d.status.as_str())),
            kind_label: i18n.t(&format!("kind-{}", d.kind.as_str())),
            authority: d.draft.authority.clone(),
            published: o.published_versions > 0,
            round_text,
            members_text: i18n.tn("admin-draft-members", "count", o.members),
            editable: d.status == DraftStatus::Draft,
            kinds: kind_options(&i18n, &form.kind),
            title_hint: i18n.t("admin-draft-title-edit-hint"),
            form: DraftForm {
                text: typed.text,
                ..form
            },
            working_text: o.working.as_ref().map(|w| {
                i18n.t_nums(
                    "admin-draft-working",
                    &[("number", w.number as i64), ("provisions", w.provisions)],
                )
            }),
            text_hint: i18n.ts(
                "admin-draft-reimport-hint",
                "size",
                &human_size(state.config.max_import_bytes),
            ),
            can_publish: matches!(d.status, DraftStatus::Draft | DraftStatus::Revised)
                && o.working.as_ref().is_some_and(|w| w.provisions > 0),
            opens_at: typed.opens_at,
            closes_at: typed.closes_at,
            next_statuses,
            note: typed.note,
            history,
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
    render_draft(&state, i18n, &session, &user, id, vec![], Typed::default()).await
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetaForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    authority: String,
    #[serde(default)]
    summary: String,
}

async fn edit(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<MetaForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let typed = DraftForm {
        title: form.title,
        kind: form.kind,
        authority: form.authority,
        summary: form.summary,
        text: String::new(),
    };
    let input = typed.input();
    let result = state
        .db
        .run(move |conn| draft_admin::edit(conn, admin.id, id, &input))
        .await;
    match result {
        Ok(()) => {
            flash(&session, i18n.t("admin-draft-edited"));
            Ok(see_other(&format!("/admin/drafts/{id}")))
        }
        Err(AppError::Validation(e)) => {
            let typed = Typed {
                meta: Some(typed),
                ..Typed::default()
            };
            render_draft(&state, i18n, &session, &user, id, e, typed).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TextOnly {
    #[serde(default)]
    text: String,
}

async fn import(
    RequireAdmin(admin): RequireAdmin,
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
            let errors = vec![too_large(max)];
            return render_draft(&state, i18n, &session, &user, id, errors, Typed::default()).await;
        }
    };
    let refuse = |errors: Vec<FieldError>, text: String| {
        let typed = Typed {
            text,
            ..Typed::default()
        };
        render_draft(&state, i18n.clone(), &session, &user, id, errors, typed)
    };
    if text.trim().is_empty() {
        let errors = vec![FieldError::new("text", i18n.t("admin-draft-text-missing"))];
        return refuse(errors, text).await;
    }
    let parsed = match drafts::parse_text(text.as_bytes(), max) {
        Ok(p) => p,
        Err(e) => return refuse(e.fields().to_vec(), text).await,
    };
    let result = state
        .db
        .run(move |conn| draft_admin::import_text(conn, admin.id, id, parsed))
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
            Ok(see_other(&format!("/admin/drafts/{id}")))
        }
        Err(AppError::Validation(e)) => refuse(e, text).await,
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    opens_at: String,
    #[serde(default)]
    closes_at: String,
}

async fn publish(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<PublishForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut errors = Vec::new();
    // Form values are UTC: a bare date opens at the start of its day and closes at its end.
    let opens_at = match form.opens_at.trim() {
        "" => None,
        s => match time::parse_datetime(s, false) {
            Some(t) => Some(t),
            None => {
                errors.push(FieldError::new(
                    "opens_at",
                    i18n.t("admin-publish-date-invalid"),
                ));
                None
            }
        },
    };
    let closes_at = match form.closes_at.trim() {
        "" => {
            errors.push(FieldError::new(
                "closes_at",
                i18n.t("admin-publish-closes-missing"),
            ));
            None
        }
        s => match time::parse_datetime(s, true) {
            Some(t) => Some(t),
            None => {
                errors.push(FieldError::new(
                    "closes_at",
                    i18n.t("admin-publish-date-invalid"),
                ));
                None
            }
        },
    };
    if let (Some(o), Some(c)) = (opens_at, closes_at)
        && c <= o
    {
        errors.push(FieldError::new(
            "closes_at",
            i18n.t("admin-publish-closes-before-opens"),
        ));
    }
    let typed = Typed {
        opens_at: form.opens_at.clone(),
        closes_at: form.closes_at.clone(),
        ..Typed::default()
    };
    let closes_at = match closes_at {
        Some(c) if errors.is_empty() => c,
        _ => return render_draft(&state, i18n, &session, &user, id, errors, typed).await,
    };
    let result = state
        .db
        .run(move |conn| draft_admin::publish(conn, admin.id, id, opens_at, closes_at))
        .await;
    match result {
        Ok(number) => {
            flash(
                &session,
                i18n.t_strs(
                    "admin-draft-published",
                    &[
                        ("number", &number.to_string()),
                        ("closes", &time::display(closes_at)),
                    ],
                ),
            );
            Ok(see_other(&format!("/admin/drafts/{id}")))
        }
        Err(AppError::Validation(e)) => {
            render_draft(&state, i18n, &session, &user, id, e, typed).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TransitionForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
}

async fn transition(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<TransitionForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let typed = Typed {
        status: form.status.clone(),
        note: form.note.clone(),
        ..Typed::default()
    };
    let mut errors = Vec::new();
    let to = match DraftStatus::parse(&form.status) {
        Ok(s) => Some(s),
        Err(_) => {
            errors.push(FieldError::new("status", i18n.t("admin-transition-choose")));
            None
        }
    };
    let note = form.note.trim().replace("\r\n", "\n");
    if note.chars().count() > 2000 {
        errors.push(FieldError::new(
            "note",
            i18n.t("admin-transition-note-long"),
        ));
    }
    let to = match to {
        Some(to) if errors.is_empty() => to,
        _ => return render_draft(&state, i18n, &session, &user, id, errors, typed).await,
    };
    let result = state
        .db
        .run(move |conn| {
            let note = (!note.is_empty()).then_some(note.as_str());
            draft_admin::transition(conn, admin.id, id, to, note)
        })
        .await;
    match result {
        Ok(()) => {
            flash(
                &session,
                i18n.ts(
                    "admin-draft-moved",
                    "status",
                    &i18n.t(&format!("status-{}", to.as_str())),
                ),
            );
            Ok(see_other(&format!("/admin/drafts/{id}")))
        }
        Err(AppError::Validation(e)) => {
            render_draft(&state, i18n, &session, &user, id, e, typed).await
        }
        Err(e) => Err(e),
    }
}
