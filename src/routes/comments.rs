//! The discussion: a provision's (or the whole draft's) threads and comment form, posting,
//! replies, edits, withdrawal, endorsements, permalinks and receipts.

use std::collections::HashMap;

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;

use crate::auth::csrf::{self, CsrfForm};
use crate::auth::{CurrentUser, RequireUser};
use crate::db::models::UserRow;
use crate::domain::{DraftStatus, RespondentType, Stance, time};
use crate::error::{AppError, FieldError};
use crate::i18n::I18n;
use crate::routes::{flash, form_page, nav, page_private, see_other};
use crate::services::comments::{
    self, CommentInput, CommentView, Sort, Target, Thread, ThreadFilter,
};
use crate::services::drafts::{self, DraftDetail};
use crate::services::moderation;
use crate::services::posting::PostRequest;
use crate::startup::AppState;
use crate::templates::*;

pub const THREADS_PER_PAGE: i64 = 50;

/// Whether the draft takes comments now, from its latest round.
fn posting_state(i18n: &I18n, detail: &DraftDetail) -> Result<(), String> {
    let now = time::now();
    let latest = detail.versions.first().map(|v| v.number);
    if latest != Some(detail.version.number) {
        return Err(i18n.t("comment-old-version"));
    }
    match &detail.summary.round {
        Some(r) if detail.summary.status == DraftStatus::Open && now < r.closes_at => {
            if now < r.opens_at {
                Err(i18n.ts("comment-not-yet", "date", &time::display(r.opens_at)))
            } else {
                Ok(())
            }
        }
        Some(r) => Err(i18n.ts(
            "comment-closed",
            "date",
            &time::display(r.closes_at.min(now)),
        )),
        None => Err(i18n.ts("comment-closed", "date", &time::display(now))),
    }
}

struct ItemCtx {
    viewer: Option<i64>,
    /// The viewer moderates this draft.
    moderator: bool,
    /// For the working group's name under its answers.
    draft_title: String,
    current_version: i32,
    open: bool,
}

/// The name the public sees: "Participant" when the author asked for it, "Former
/// participant" once the account is gone.
fn public_author(i18n: &I18n, v: &CommentView) -> String {
    if v.author_deleted {
        i18n.t("comment-former-participant")
    } else if v.row.show_as_participant {
        i18n.t("comment-participant")
    } else {
        v.author_name.clone()
    }
}

fn item(i18n: &I18n, v: &CommentView, ctx: &ItemCtx, names: &HashMap<i64, String>) -> CommentItem {
    let r = &v.row;
    let now = time::now();
    let withdrawn = r.status == comments::WITHDRAWN;
    let published = r.status == comments::PUBLISHED;
    let mine = ctx.viewer == Some(r.author_id);
    let reason = r.hidden_reason.clone().unwrap_or_default();
    let notice = match r.status.as_str() {
        comments::HIDDEN => Some(i18n.ts("moderation-hidden-notice", "reason", &reason)),
        comments::PENDING => Some(i18n.t("moderation-awaiting")),
        comments::REJECTED => Some(i18n.ts("moderation-rejected-notice", "reason", &reason)),
        _ => None,
    };
    // A hidden comment's text reaches only the moderators; pending and rejected comments
    // are shown only to their author and the moderators in the first place.
    let moderator_only = r.status == comments::HIDDEN;
    let show_text = !withdrawn && (!moderator_only || ctx.moderator);
    CommentItem {
        id: r.id,
        depth: r.depth,
        author: public_author(i18n, v),
        mine,
        as_participant: r.show_as_participant,
        respondent: i18n.t(&format!("respondent-{}", r.respondent_type)),
        organization: v.organization.clone(),
        stance: r.stance.clone(),
        // Replies continue a thread; only a thread's opening comment takes a position.
        stance_label: if r.parent_id.is_some() {
            String::new()
        } else {
            i18n.t(&format!("stance-{}", r.stance))
        },
        version_label: (v.version_number != ctx.current_version)
            .then(|| i18n.tn("comment-version", "number", v.version_number as i64)),
        reply_to: r
            .parent_id
            .and_then(|p| names.get(&p))
            .map(|n| i18n.ts("comment-reply-to", "name", n)),
        created: time::display(r.created_at),
        created_machine: time::machine(r.created_at),
        edited: r.edited_at.is_some(),
        withdrawn,
        notice,
        show_text,
        moderator_only: moderator_only && show_text,
        body_html: if show_text {
            r.body_html.clone()
        } else {
            String::new()
        },
        quote: if show_text { r.quote.clone() } else { None },
        proposed_wording: if show_text {
            r.proposed_wording
                .as_deref()
                .map(crate::markdown::to_safe_html)
        } else {
            None
        },
        endorsements_text: i18n.tn("comment-endorsements", "count", r.endorsement_count as i64),
        endorsed: v.endorsed_by_viewer,
        can_endorse: ctx.viewer.is_some() && !mine && published,
        can_reply: ctx.open && published,
        can_report: ctx.viewer.is_some() && !mine && published,
        can_edit: mine && comments::editable(r, now),
        can_withdraw: mine && !withdrawn && r.status != comments::REJECTED,
        disposition: v
            .disposition
            .as_ref()
            .map(|d| DispositionView::new(i18n, d, &ctx.draft_title)),
    }
}

fn thread_views(i18n: &I18n, threads: &[Thread], ctx: &ItemCtx) -> Vec<ThreadView> {
    threads
        .iter()
        .map(|t| {
            let mut names = HashMap::new();
            for c in std::iter::once(&t.root).chain(t.replies.iter()) {
                names.insert(c.row.id, public_author(i18n, c));
            }
            ThreadView {
                more: (t.more_replies > 0).then(|| {
                    (
                        i18n.tn("thread-more-replies", "count", t.more_replies as i64),
                        format!("/comments/{}", t.root.row.id),
                    )
                }),
                root: item(i18n, &t.root, ctx, &names),
                replies: t
                    .replies
                    .iter()
                    .map(|c| item(i18n, c, ctx, &names))
                    .collect(),
            }
        })
        .collect()
}

fn stance_options(i18n: &I18n, prefix: &str, selected: &str) -> Vec<SelectOption> {
    Stance::ALL
        .into_iter()
        .map(|s| SelectOption {
            value: s.as_str().into(),
            label: i18n.t(&format!("{prefix}{}", s.as_str())),
            selected: s.as_str() == selected,
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn comment_form(
    i18n: &I18n,
    user: &CurrentUser,
    open: Result<(), String>,
    login_next: &str,
    action: String,
    is_reply: bool,
    with_quote: bool,
    orgs: &[(i64, String)],
    typed: Option<(CommentInput, Vec<FieldError>)>,
) -> CommentForm {
    if let Err(msg) = open {
        return CommentForm::Closed(msg);
    }
    if user.0.is_none() {
        let next: String = url::form_urlencoded::byte_serialize(login_next.as_bytes()).collect();
        return CommentForm::SignIn(format!("/login?next={next}"));
    }
    let (input, errors) = typed.unwrap_or_default();
    let idempotency_key = if input.idempotency_key.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        input.idempotency_key.clone()
    };
    CommentForm::Open(Box::new(OpenCommentForm {
        action,
        heading: i18n.t(if is_reply {
            "comment-reply-heading"
        } else {
            "comment-form-heading"
        }),
        submit: i18n.t(if is_reply {
            "comment-reply-submit"
        } else {
            "comment-submit"
        }),
        errors: FormErrors(errors),
        idempotency_key,
        with_stance: !is_reply,
        with_quote,
        stances: stance_options(i18n, "stance-choice-", &input.stance),
        quote: input.quote.clone(),
        body: input.body.clone(),
        proposed_wording: input.proposed_wording.clone(),
        show_as_participant: !input.show_as_participant.is_empty(),
        organizations: orgs
            .iter()
            .map(|(id, name)| SelectOption {
                value: id.to_string(),
                label: name.clone(),
                selected: input.organization_id == id.to_string(),
            })
            .collect(),
    }))
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DiscussionQuery {
    #[serde(default)]
    sort: String,
    #[serde(default)]
    stance: String,
    #[serde(default)]
    respondent: String,
    #[serde(default)]
    orgs: String,
    #[serde(default)]
    page: String,
}

impl DiscussionQuery {
    fn filter(&self) -> ThreadFilter {
        ThreadFilter {
            stance: Stance::parse(&self.stance).ok(),
            respondent_type: RespondentType::parse(&self.respondent)
                .ok()
                .map(|r| r.as_str().to_string()),
            organizations_only: !self.orgs.is_empty(),
            moderator: false,
        }
    }
    fn page(&self) -> i64 {
        self.page
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .unwrap_or(1)
    }
    fn url(&self, base: &str, page: i64) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("sort", &self.sort),
            ("stance", &self.stance),
            ("respondent", &self.respondent),
            ("orgs", &self.orgs),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("page", &page.to_string());
        format!("{base}?{}", s.finish())
    }
}

struct Loaded {
    moderator: bool,
    detail: DraftDetail,
    threads: crate::services::Page<Thread>,
    orgs: Vec<(i64, String)>,
}

async fn load(
    state: &AppState,
    draft_id: i64,
    number: Option<i32>,
    key: Option<String>,
    query: &DiscussionQuery,
    viewer_row: Option<UserRow>,
) -> Result<Loaded, AppError> {
    let viewer = viewer_row.as_ref().map(|u| u.id);
    let mut filter = query.filter();
    let sort = Sort::parse(&query.sort);
    let page = query.page();
    state
        .db
        .run(move |conn| {
            let detail = drafts::public_detail(conn, draft_id, number)?;
            if let Some(u) = &viewer_row {
                filter.moderator = moderation::is_moderator(conn, u, draft_id)?;
            }
            if let Some(k) = &key
                && !detail.provisions.iter().any(|p| &p.key == k)
            {
                return Err(AppError::NotFound);
            }
            let threads = comments::threads(
                conn,
                draft_id,
                key.as_deref(),
                &filter,
                sort,
                page,
                THREADS_PER_PAGE,
                viewer,
            )?;
            let orgs = match viewer {
                Some(v) => crate::services::organizations::verified_organizations_of(conn, v)?
                    .into_iter()
                    .map(|o| (o.id, o.name))
                    .collect(),
                None => Vec::new(),
            };
            Ok(Loaded {
                detail,
                threads,
                orgs,
                moderator: filter.moderator,
            })
        })
        .await
}

/// Renders a provision's page (or the whole-draft discussion when `key` is None) with its
/// threads and the comment form (carrying `typed` input and errors after a refused post).
#[allow(clippy::too_many_arguments)]
pub async fn discussion_page(
    state: &AppState,
    i18n: I18n,
    session: &Session,
    user: &CurrentUser,
    draft_id: i64,
    number: Option<i32>,
    key: Option<String>,
    query: DiscussionQuery,
    typed: Option<(CommentInput, Vec<FieldError>)>,
) -> Result<HttpResponse, AppError> {
    let viewer = user.0.as_ref().map(|u| u.id);
    let loaded = load(state, draft_id, number, key.clone(), &query, user.0.clone()).await?;
    let detail = &loaded.detail;
    let is_latest = detail.versions.first().map(|v| v.number) == Some(detail.version.number);
    let base = if is_latest {
        format!("/drafts/{draft_id}")
    } else {
        format!("/drafts/{draft_id}/versions/{}", detail.version.number)
    };
    let open = posting_state(&i18n, detail);
    let ctx = ItemCtx {
        viewer,
        moderator: loaded.moderator,
        draft_title: detail.summary.draft.title.clone(),
        current_version: detail.versions.first().map(|v| v.number).unwrap_or(1),
        open: open.is_ok(),
    };
    let (page_base, title, trail, shown, unit_key, action) = match &key {
        Some(k) => {
            let all = &detail.provisions;
            let index = all
                .iter()
                .position(|p| &p.key == k)
                .ok_or(AppError::NotFound)?;
            let unit = &all[index];
            let mut shown: Vec<ProvisionView> = Vec::new();
            let offset = 2 - (unit.depth + 1);
            if unit.kind == "paragraph" {
                shown.push(ProvisionView::new(&i18n, unit, &base, offset));
            }
            shown.extend(
                all[index + 1..]
                    .iter()
                    .take_while(|p| p.depth > unit.depth)
                    .map(|p| ProvisionView::new(&i18n, p, &base, offset)),
            );
            let mut trail = Vec::new();
            let mut depth = unit.depth;
            for p in all[..index].iter().rev() {
                if p.depth < depth && p.kind != "paragraph" {
                    trail.push((short_name(&i18n, p), format!("{base}/provisions/{}", p.key)));
                    depth = p.depth;
                }
            }
            trail.reverse();
            (
                format!("{base}/provisions/{k}"),
                short_name(&i18n, unit),
                trail,
                shown,
                k.clone(),
                format!("/drafts/{draft_id}/provisions/{k}/comments"),
            )
        }
        None => (
            format!("/drafts/{draft_id}/discussion"),
            i18n.t("discussion-heading-draft"),
            Vec::new(),
            Vec::new(),
            String::new(),
            format!("/drafts/{draft_id}/comments"),
        ),
    };
    let form = comment_form(
        &i18n,
        user,
        open,
        &page_base,
        action,
        false,
        key.is_some(),
        &loaded.orgs,
        typed.clone(),
    );
    let has_errors = typed.is_some_and(|(_, e)| !e.is_empty());
    let t = &loaded.threads;
    let pages = t.total_pages();
    let d = Discussion {
        heading: i18n.t(if key.is_some() {
            "discussion-heading"
        } else {
            "discussion-heading-draft"
        }),
        count_text: i18n.tn("threads-count", "count", t.total),
        total: t.total,
        base: page_base.clone(),
        sorts: [Sort::Oldest, Sort::Newest, Sort::MostEndorsed]
            .into_iter()
            .map(|s| SelectOption {
                value: s.as_str().into(),
                label: i18n.t(&format!("comments-sort-{}", s.as_str())),
                selected: Sort::parse(&query.sort) == s,
            })
            .collect(),
        stances: stance_options(&i18n, "stance-", &query.stance),
        respondents: RespondentType::ALL
            .into_iter()
            .map(|r| SelectOption {
                value: r.as_str().into(),
                label: i18n.t(&format!("respondent-{}", r.as_str())),
                selected: query.respondent == r.as_str(),
            })
            .collect(),
        orgs_only: !query.orgs.is_empty(),
        threads: thread_views(&i18n, &t.items, &ctx),
        pages,
        page_text: i18n.t_nums("pagination-status", &[("page", t.page), ("pages", pages)]),
        prev_url: (t.page > 1).then(|| query.url(&page_base, t.page - 1)),
        next_url: (t.page < pages).then(|| query.url(&page_base, t.page + 1)),
    };
    let csrf_token = if user.0.is_some() {
        csrf::token(session)
    } else {
        String::new()
    };
    let page = ProvisionPage {
        nav: nav(session, user),
        csrf: csrf_token,
        form,
        d,
        draft_id,
        draft_title: detail.summary.draft.title.clone(),
        title,
        key: unit_key,
        version_label: i18n.tn("draft-version-n", "number", detail.version.number as i64),
        trail,
        provisions: shown,
        back_url: match &key {
            Some(k) => format!("{base}#{k}"),
            None => base.clone(),
        },
        i18n,
    };
    if has_errors {
        form_page(page, true)
    } else {
        crate::routes::page(page)
    }
}

#[get("/drafts/{id}/discussion")]
pub async fn draft_discussion(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
    query: web::Query<DiscussionQuery>,
) -> Result<HttpResponse, AppError> {
    discussion_page(
        &state,
        i18n,
        &session,
        &user,
        path.into_inner(),
        None,
        None,
        query.into_inner(),
        None,
    )
    .await
}

/// Hands a prepared comment or reply to the group commit, with the hourly limits of this
/// instance and the client's address; answers once it is committed (or refused).
async fn submit(
    state: &AppState,
    req: &HttpRequest,
    author: &UserRow,
    target: Target,
    parent_id: Option<i64>,
    prepared: Result<comments::Prepared, AppError>,
) -> Result<comments::Posted, AppError> {
    state
        .posting
        .submit(PostRequest {
            author: author.clone(),
            target,
            parent_id,
            ip: crate::routes::account::client_ip(req, state),
            limits: (
                state.config.comments_per_hour_per_account,
                state.config.comments_per_hour_per_ip,
            ),
            prepared,
        })
        .await
}

#[allow(clippy::too_many_arguments)]
async fn post_comment(
    state: &AppState,
    req: &HttpRequest,
    i18n: I18n,
    session: &Session,
    user: UserRow,
    draft_id: i64,
    key: Option<String>,
    input: CommentInput,
) -> Result<HttpResponse, AppError> {
    let target = Target {
        draft_id,
        provision_key: key.clone(),
    };
    let author = user.clone();
    let typed = input.clone();
    // The checks that only read run here; the write joins the group commit.
    let prepared = state
        .db
        .run(move |conn| Ok::<_, AppError>(comments::prepare(conn, &author, None, &typed)))
        .await?;
    let result = submit(state, req, &user, target, None, prepared).await;
    match result {
        Ok(posted) => {
            let mut res = see_other(&format!("/receipts/{}?new=1", posted.tracking_number));
            // The receipt in machine-readable form too, for scripts and the fault tests.
            res.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("talqy-content-hash"),
                actix_web::http::header::HeaderValue::from_str(&posted.content_hash)
                    .expect("hex is a valid header value"),
            );
            Ok(res)
        }
        Err(AppError::Validation(errors)) => {
            let current = CurrentUser(Some(user));
            discussion_page(
                state,
                i18n,
                session,
                &current,
                draft_id,
                None,
                key,
                DiscussionQuery::default(),
                Some((input, errors)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[post("/drafts/{id}/provisions/{key}/comments")]
pub async fn post_on_provision(
    state: web::Data<AppState>,
    req: HttpRequest,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<(i64, String)>,
    CsrfForm(input): CsrfForm<CommentInput>,
) -> Result<HttpResponse, AppError> {
    let (id, key) = path.into_inner();
    post_comment(&state, &req, i18n, &session, user, id, Some(key), input).await
}

#[post("/drafts/{id}/comments")]
pub async fn post_on_draft(
    state: web::Data<AppState>,
    req: HttpRequest,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
    CsrfForm(input): CsrfForm<CommentInput>,
) -> Result<HttpResponse, AppError> {
    post_comment(
        &state,
        &req,
        i18n,
        &session,
        user,
        path.into_inner(),
        None,
        input,
    )
    .await
}

async fn thread_page(
    state: &AppState,
    i18n: I18n,
    session: &Session,
    user: &CurrentUser,
    comment_id: i64,
    typed: Option<(CommentInput, Vec<FieldError>)>,
) -> Result<HttpResponse, AppError> {
    let viewer = user.0.as_ref().map(|u| u.id);
    let viewer_row = user.0.clone();
    let (thread, detail, orgs, moderator) = state
        .db
        .run(move |conn| {
            let row = comments::load(conn, comment_id)?.ok_or(AppError::NotFound)?;
            let moderator = match &viewer_row {
                Some(u) => moderation::is_moderator(conn, u, row.draft_id)?,
                None => false,
            };
            let thread = comments::thread_of(conn, comment_id, viewer, moderator)?;
            let detail = drafts::public_detail(conn, thread.root.row.draft_id, None)?;
            let orgs = match viewer {
                Some(v) => crate::services::organizations::verified_organizations_of(conn, v)?
                    .into_iter()
                    .map(|o| (o.id, o.name))
                    .collect(),
                None => Vec::new(),
            };
            Ok::<_, AppError>((thread, detail, orgs, moderator))
        })
        .await?;
    let draft_id = detail.summary.draft.id;
    let open = posting_state(&i18n, &detail);
    let ctx = ItemCtx {
        viewer,
        moderator,
        draft_title: detail.summary.draft.title.clone(),
        current_version: detail.version.number,
        open: open.is_ok(),
    };
    let (back_url, back_label) = match &thread.root.row.provision_key {
        Some(k) => {
            let name = detail
                .provisions
                .iter()
                .find(|p| &p.key == k)
                .map(|p| short_name(&i18n, p))
                .unwrap_or_else(|| k.clone());
            (format!("/drafts/{draft_id}/provisions/{k}"), name)
        }
        None => (
            format!("/drafts/{draft_id}/discussion"),
            i18n.t("discussion-heading-draft"),
        ),
    };
    let title = i18n.ts(
        "comment-thread-title",
        "name",
        &public_author(&i18n, &thread.root),
    );
    let target_status = thread
        .replies
        .iter()
        .find(|c| c.row.id == comment_id)
        .map(|c| c.row.status.as_str())
        .unwrap_or(thread.root.row.status.as_str());
    let reply_open = if target_status == comments::PUBLISHED || open.is_err() {
        open
    } else if target_status == comments::WITHDRAWN {
        Err(i18n.t("comment-withdrawn"))
    } else {
        Err(i18n.t("moderation-no-replies"))
    };
    let form = comment_form(
        &i18n,
        user,
        reply_open,
        &format!("/comments/{comment_id}"),
        format!("/comments/{comment_id}/replies"),
        true,
        false,
        &orgs,
        typed.clone(),
    );
    let has_errors = typed.is_some_and(|(_, e)| !e.is_empty());
    let page = ThreadPage {
        nav: nav(session, user),
        csrf: if user.0.is_some() {
            csrf::token(session)
        } else {
            String::new()
        },
        title,
        draft_id,
        draft_title: detail.summary.draft.title.clone(),
        back_url,
        back_label,
        threads: thread_views(&i18n, std::slice::from_ref(&thread), &ctx),
        form,
        i18n,
    };
    if has_errors {
        form_page(page, true)
    } else {
        crate::routes::page(page)
    }
}

#[get("/comments/{id}")]
pub async fn permalink(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    thread_page(&state, i18n, &session, &user, path.into_inner(), None).await
}

#[post("/comments/{id}/replies")]
pub async fn reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
    CsrfForm(input): CsrfForm<CommentInput>,
) -> Result<HttpResponse, AppError> {
    let parent = path.into_inner();
    let author = user.clone();
    let typed = input.clone();
    // A missing parent is a 404 before anything counts; the checks that only read run
    // here, and the write joins the group commit.
    let (target, prepared) = state
        .db
        .run(move |conn| {
            let row = comments::load(conn, parent)?.ok_or(AppError::NotFound)?;
            let target = Target {
                draft_id: row.draft_id,
                provision_key: row.provision_key.clone(),
            };
            Ok::<_, AppError>((
                target,
                comments::prepare(conn, &author, Some(parent), &typed),
            ))
        })
        .await?;
    let result = submit(&state, &req, &user, target, Some(parent), prepared).await;
    match result {
        Ok(posted) => Ok(see_other(&format!(
            "/receipts/{}?new=1",
            posted.tracking_number
        ))),
        Err(AppError::Validation(errors)) => {
            thread_page(
                &state,
                i18n,
                &session,
                &CurrentUser(Some(user)),
                parent,
                Some((input, errors)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[get("/comments/{id}/edit")]
pub async fn edit_form(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let row = state
        .db
        .run(move |conn| comments::load(conn, id)?.ok_or(AppError::NotFound))
        .await?;
    if row.author_id != user.id {
        return Err(AppError::Forbidden(
            "Only the author can change a comment.".into(),
        ));
    }
    let current = CurrentUser(Some(user));
    page_private(CommentEditPage {
        nav: nav(&session, &current),
        csrf: csrf::token(&session),
        errors: FormErrors::default(),
        id,
        body: row.body,
        proposed_wording: row.proposed_wording.unwrap_or_default(),
        i18n,
    })
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    proposed_wording: String,
}

#[post("/comments/{id}/edit")]
pub async fn edit(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<EditForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let author = user.clone();
    let (body, wording) = (form.body.clone(), form.proposed_wording.clone());
    match state
        .db
        .run(move |conn| comments::edit(conn, &author, id, &body, &wording))
        .await
    {
        Ok(_) => {
            flash(&session, i18n.t("comment-edit-done"));
            Ok(see_other(&format!("/comments/{id}#c{id}")))
        }
        Err(AppError::Validation(errors)) => {
            let current = CurrentUser(Some(user));
            form_page(
                CommentEditPage {
                    nav: nav(&session, &current),
                    csrf: csrf::token(&session),
                    errors: FormErrors(errors),
                    id,
                    body: form.body,
                    proposed_wording: form.proposed_wording,
                    i18n,
                },
                true,
            )
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

#[post("/comments/{id}/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    state
        .db
        .run(move |conn| comments::withdraw(conn, &user, id))
        .await?;
    flash(&session, i18n.t("comment-withdraw-done"));
    Ok(see_other(&format!("/comments/{id}#c{id}")))
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    /// `participant` or `name`.
    show: String,
}

#[post("/comments/{id}/name")]
pub async fn shown_name(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<NameForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let as_participant = match form.show.as_str() {
        "participant" => true,
        "name" => false,
        _ => {
            return Err(AppError::BadRequest(
                "Choose the name or \"Participant\".".into(),
            ));
        }
    };
    state
        .db
        .run(move |conn| comments::set_shown_name(conn, &user, id, as_participant))
        .await?;
    flash(
        &session,
        i18n.t(if as_participant {
            "comment-name-hidden-done"
        } else {
            "comment-name-shown-done"
        }),
    );
    Ok(see_other(&format!("/comments/{id}#c{id}")))
}

#[post("/comments/{id}/endorse")]
pub async fn endorse(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    match state
        .db
        .run(move |conn| comments::endorse(conn, &user, id))
        .await
    {
        Ok(_) => flash(&session, i18n.t("comment-endorse-done")),
        Err(AppError::Validation(e)) => flash(
            &session,
            e.first().map(|f| f.message.clone()).unwrap_or_default(),
        ),
        Err(e) => return Err(e),
    }
    Ok(see_other(&format!("/comments/{id}#c{id}")))
}

#[derive(Deserialize)]
pub struct ReceiptQuery {
    #[serde(default)]
    new: String,
}

#[get("/receipts/{number}")]
pub async fn receipt(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<String>,
    query: web::Query<ReceiptQuery>,
) -> Result<HttpResponse, AppError> {
    let number = path.into_inner();
    let r = state
        .db
        .run(move |conn| comments::receipt(conn, &number))
        .await?;
    let page = ReceiptPage {
        nav: nav(&session, &user),
        just_posted: !query.new.is_empty(),
        created: time::display(r.created_at),
        created_machine: time::machine(r.created_at),
        version_label: i18n.tn("draft-version-n", "number", r.version_number as i64),
        status_label: i18n.t(&format!("receipt-status-{}", r.status)),
        revisions: r
            .revisions
            .iter()
            .map(|(at, h)| (time::display(*at), time::machine(*at), h.clone()))
            .collect(),
        r,
        i18n,
    };
    crate::routes::page(page)
}
