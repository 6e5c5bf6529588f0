//! Triage pages of a draft's working group: the queue (filters, sorting, counts, bulk
//! actions) and one comment's triage page (assignee, tags, notes, status, disposition).
//! Anonymous visitors are sent to sign in; the services refuse everyone but the draft's
//! working group and admins (403).

use actix_session::Session;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::{Deserialize, Serialize};

use crate::auth::csrf::{self, CsrfForm};
use crate::auth::{CurrentUser, RequireUser};
use crate::db::models::UserRow;
use crate::domain::{RespondentType, Stance, time};
use crate::error::{AppError, FieldError};
use crate::i18n::I18n;
use crate::routes::{flash, form_page, nav, see_other};
use crate::services::triage::{
    self, AssigneeFilter, BulkInput, Decision, DispositionInput, OrganizationFilter,
    ProvisionFilter, QueueFilter, QueueSort, TriageStatus,
};
use crate::services::working_groups::Member;
use crate::startup::AppState;
use crate::templates::{DispositionView, FormErrors, Nav, SelectOption, short_name};

/// The provision filter's value for comments on the draft as a whole.
const WHOLE_DRAFT: &str = "_draft";
const TEXT_MAX: usize = 200;

// ---------------------------------------------------------------------------------------
// The queue

/// The queue's GET form.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct QueueQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    provision: String,
    #[serde(default)]
    stance: String,
    #[serde(default)]
    respondent: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
    /// A campaign's representative comment: show only that campaign's members.
    #[serde(default)]
    campaign: String,
}

fn choice<T>(
    raw: &str,
    parse: impl Fn(&str) -> Result<T, FieldError>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    match raw.trim() {
        "" => None,
        s => match parse(s) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(e);
                None
            }
        },
    }
}

impl QueueQuery {
    /// The filter, with "me" as `me`. A value that is not on the form's lists is an error
    /// (an old bookmark must not silently show a wider list).
    fn filter(&self, me: i64) -> Result<QueueFilter, AppError> {
        let mut errors = Vec::new();
        let bad = |field: &'static str| FieldError::new(field, "Choose a value from the list");
        let filter = QueueFilter {
            status: choice(&self.status, TriageStatus::parse, &mut errors),
            provision: match self.provision.trim() {
                "" => None,
                WHOLE_DRAFT => Some(ProvisionFilter::WholeDraft),
                k => Some(ProvisionFilter::Key(k.to_string())),
            },
            stance: choice(&self.stance, Stance::parse, &mut errors),
            respondent_type: choice(
                &self.respondent,
                |s| {
                    RespondentType::parse(s)
                        .map(|r| r.as_str().to_string())
                        .map_err(|_| bad("respondent"))
                },
                &mut errors,
            ),
            organization: choice(
                &self.organization,
                |s| match s {
                    "any" => Ok(OrganizationFilter::Any),
                    "none" => Ok(OrganizationFilter::None),
                    s => s
                        .parse()
                        .map(OrganizationFilter::Id)
                        .map_err(|_| bad("organization")),
                },
                &mut errors,
            ),
            tag: choice(&self.tag, triage::parse_tag, &mut errors),
            assignee: choice(
                &self.assignee,
                |s| match s {
                    "unassigned" => Ok(AssigneeFilter::Unassigned),
                    "me" => Ok(AssigneeFilter::User(me)),
                    s => s
                        .parse()
                        .map(AssigneeFilter::User)
                        .map_err(|_| bad("assignee")),
                },
                &mut errors,
            ),
            text: Some(self.q.trim())
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(TEXT_MAX).collect()),
            ids: None,
        };
        if let Err(e) = QueueSort::parse(&self.sort) {
            errors.push(e);
        }
        if errors.is_empty() {
            Ok(filter)
        } else {
            Err(AppError::Validation(errors))
        }
    }

    fn page(&self) -> i64 {
        self.page
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .unwrap_or(1)
    }

    /// The query string of these filters (without the page unless given).
    fn query_string(&self, page: Option<i64>, status: Option<&str>) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", status.unwrap_or(&self.status)),
            ("provision", &self.provision),
            ("stance", &self.stance),
            ("respondent", &self.respondent),
            ("organization", &self.organization),
            ("tag", &self.tag),
            ("assignee", &self.assignee),
            ("q", &self.q),
            ("sort", &self.sort),
            ("campaign", &self.campaign),
        ] {
            if !v.trim().is_empty() {
                s.append_pair(k, v.trim());
            }
        }
        if let Some(p) = page {
            s.append_pair("page", &p.to_string());
        }
        s.finish()
    }

    fn url(&self, draft_id: i64, page: Option<i64>, status: Option<&str>) -> String {
        let qs = self.query_string(page, status);
        if qs.is_empty() {
            format!("/drafts/{draft_id}/triage")
        } else {
            format!("/drafts/{draft_id}/triage?{qs}")
        }
    }
}

pub struct StatusCount {
    pub label: String,
    pub count: i64,
    pub url: String,
    pub current: bool,
    pub value: &'static str,
}

pub struct QueueLine {
    pub id: i64,
    pub tracking: String,
    pub excerpt: String,
    pub is_reply: bool,
    pub withdrawn: bool,
    pub author: String,
    pub respondent: String,
    pub organization: Option<String>,
    pub stance: String,
    pub stance_label: String,
    pub provision: String,
    pub date: String,
    pub date_machine: String,
    pub status: &'static str,
    pub status_label: String,
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    pub disposition: Option<String>,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "triage/queue.html")]
struct QueuePage {
    i18n: I18n,
    nav: Nav,
    csrf: String,
    errors: FormErrors,
    draft_id: i64,
    draft_title: String,
    counts: Vec<StatusCount>,
    all_count: i64,
    all_url: String,
    all_current: bool,
    statuses: Vec<SelectOption>,
    provisions: Vec<SelectOption>,
    stances: Vec<SelectOption>,
    respondents: Vec<SelectOption>,
    organizations: Vec<SelectOption>,
    tags: Vec<SelectOption>,
    assignees: Vec<SelectOption>,
    text: String,
    campaign: String,
    sorts: Vec<SelectOption>,
    filtered: bool,
    lines: Vec<QueueLine>,
    count_text: String,
    pages: i64,
    page_text: String,
    prev_url: Option<String>,
    next_url: Option<String>,
    return_to: String,
    bulk_members: Vec<SelectOption>,
    bulk_statuses: Vec<SelectOption>,
    decisions: Vec<SelectOption>,
    justification: String,
    duplicate_of: String,
    bulk: BulkInput,
}

fn option(value: impl Into<String>, label: impl Into<String>, selected: bool) -> SelectOption {
    SelectOption {
        value: value.into(),
        label: label.into(),
        selected,
    }
}

fn decision_options(i18n: &I18n, selected: &str) -> Vec<SelectOption> {
    Decision::ALL
        .into_iter()
        .map(|d| {
            option(
                d.as_str(),
                i18n.t(&format!("decision-{}", d.as_str())),
                d.as_str() == selected,
            )
        })
        .collect()
}

fn settable_statuses(i18n: &I18n, selected: &str) -> Vec<SelectOption> {
    [TriageStatus::New, TriageStatus::InReview]
        .into_iter()
        .map(|s| {
            option(
                s.as_str(),
                i18n.t(&format!("triage-status-{}", s.as_str())),
                s.as_str() == selected,
            )
        })
        .collect()
}

fn member_options(i18n: &I18n, members: &[Member], selected: &str) -> Vec<SelectOption> {
    std::iter::once(option("", i18n.t("triage-nobody"), selected.is_empty()))
        .chain(members.iter().map(|m| {
            option(
                m.user_id.to_string(),
                m.display_name.clone(),
                m.user_id.to_string() == selected,
            )
        }))
        .collect()
}

fn excerpt(body: &str) -> String {
    let plain = crate::markdown::to_plain_text(body);
    let mut out: String = plain.chars().take(200).collect();
    if plain.chars().count() > 200 {
        out.push('…');
    }
    out
}

fn author_name(i18n: &I18n, name: &str, deleted: bool) -> String {
    if deleted {
        i18n.t("comment-former-participant")
    } else {
        name.to_string()
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_queue(
    state: &AppState,
    i18n: I18n,
    session: &Session,
    user: UserRow,
    draft_id: i64,
    query: QueueQuery,
    errors: Vec<FieldError>,
    bulk: BulkInput,
    selected: Vec<i64>,
) -> Result<HttpResponse, AppError> {
    let mut filter = query.filter(user.id)?;
    let sort = QueueSort::parse(&query.sort)?;
    let page_no = query.page();
    let actor = user.clone();
    let campaign = match query.campaign.trim() {
        "" => None,
        s => Some(
            s.parse::<i64>()
                .map_err(|_| AppError::field("campaign", "Choose a campaign from the list"))?,
        ),
    };
    let (threshold, min_size) = (
        state.config.campaign_threshold,
        state.config.campaign_min_size,
    );
    let data = state
        .db
        .run(move |conn| {
            if let Some(rep) = campaign {
                triage::require_triager(conn, &actor, draft_id)?;
                filter.ids = Some(crate::services::campaigns::members_of(
                    conn, draft_id, rep, threshold, min_size,
                )?);
            }
            triage::queue(conn, &actor, draft_id, &filter, sort, page_no)
        })
        .await?;
    let provision_names: std::collections::HashMap<String, String> = data
        .provisions
        .iter()
        .map(|p| (p.key.clone(), short_name(&i18n, p)))
        .collect();
    let whole_draft = i18n.t("triage-whole-draft");
    let lines = data
        .rows
        .items
        .iter()
        .map(|r| {
            let c = &r.comment;
            QueueLine {
                id: c.id,
                tracking: c.tracking_number.clone(),
                excerpt: excerpt(&c.body),
                is_reply: c.parent_id.is_some(),
                withdrawn: c.status == crate::services::comments::WITHDRAWN,
                author: author_name(&i18n, &r.author_name, r.author_deleted),
                respondent: i18n.t(&format!("respondent-{}", c.respondent_type)),
                organization: r.organization.as_ref().map(|o| o.1.clone()),
                stance: c.stance.clone(),
                stance_label: i18n.t(&format!("stance-{}", c.stance)),
                provision: match &c.provision_key {
                    Some(k) => provision_names.get(k).cloned().unwrap_or_else(|| k.clone()),
                    None => whole_draft.clone(),
                },
                date: time::display(c.created_at),
                date_machine: time::machine(c.created_at),
                status: r.status.as_str(),
                status_label: i18n.t(&format!("triage-status-{}", r.status.as_str())),
                assignee: r.assignee.as_ref().map(|a| a.1.clone()),
                tags: r.tags.clone(),
                disposition: r
                    .disposition
                    .as_ref()
                    .map(|d| i18n.t(&format!("decision-{}", d.decision.as_str()))),
                selected: selected.contains(&c.id),
            }
        })
        .collect();
    let current_status = query.status.trim().to_string();
    let counts: Vec<StatusCount> = data
        .counts
        .iter()
        .map(|(s, n)| StatusCount {
            label: i18n.t(&format!("triage-status-{}", s.as_str())),
            count: *n,
            url: query.url(draft_id, None, Some(s.as_str())),
            current: current_status == s.as_str(),
            value: s.as_str(),
        })
        .collect();
    let all_count = data.counts.iter().map(|c| c.1).sum();
    let rows = &data.rows;
    let pages = rows.total_pages();
    let mut provisions = Vec::new();
    if data.has_whole_draft {
        provisions.push(option(
            WHOLE_DRAFT,
            whole_draft.clone(),
            query.provision == WHOLE_DRAFT,
        ));
    }
    provisions.extend(data.provisions.iter().map(|p| {
        option(
            p.key.clone(),
            format!("{} ({})", short_name(&i18n, p), p.key),
            query.provision == p.key,
        )
    }));
    let mut assignees = vec![
        option(
            "unassigned",
            i18n.t("triage-unassigned"),
            query.assignee == "unassigned",
        ),
        option(
            "me",
            i18n.t("triage-assigned-to-me"),
            query.assignee == "me",
        ),
    ];
    assignees.extend(data.members.iter().map(|m| {
        option(
            m.user_id.to_string(),
            m.display_name.clone(),
            query.assignee == m.user_id.to_string(),
        )
    }));
    let has_errors = !errors.is_empty();
    let page = QueuePage {
        nav: nav(session, &CurrentUser(Some(user))),
        csrf: csrf::token(session),
        errors: FormErrors(errors),
        draft_id,
        draft_title: data.draft_title.clone(),
        counts,
        all_count,
        all_url: query.url(draft_id, None, Some("")),
        all_current: current_status.is_empty(),
        statuses: TriageStatus::ALL
            .into_iter()
            .map(|s| {
                option(
                    s.as_str(),
                    i18n.t(&format!("triage-status-{}", s.as_str())),
                    current_status == s.as_str(),
                )
            })
            .collect(),
        provisions,
        stances: Stance::ALL
            .into_iter()
            .map(|s| {
                option(
                    s.as_str(),
                    i18n.t(&format!("stance-{}", s.as_str())),
                    query.stance == s.as_str(),
                )
            })
            .collect(),
        respondents: RespondentType::ALL
            .into_iter()
            .map(|r| {
                option(
                    r.as_str(),
                    i18n.t(&format!("respondent-{}", r.as_str())),
                    query.respondent == r.as_str(),
                )
            })
            .collect(),
        organizations: [
            option("any", i18n.t("triage-org-any"), query.organization == "any"),
            option(
                "none",
                i18n.t("triage-org-none"),
                query.organization == "none",
            ),
        ]
        .into_iter()
        .chain(data.organizations.iter().map(|(id, name)| {
            option(
                id.to_string(),
                name.clone(),
                query.organization == id.to_string(),
            )
        }))
        .collect(),
        tags: data
            .tags
            .iter()
            .map(|t| option(t.clone(), t.clone(), query.tag.trim().to_lowercase() == *t))
            .collect(),
        assignees,
        text: query.q.clone(),
        campaign: query.campaign.clone(),
        sorts: QueueSort::ALL
            .into_iter()
            .map(|s| {
                option(
                    s.as_str(),
                    i18n.t(&format!("triage-sort-{}", s.as_str())),
                    sort == s,
                )
            })
            .collect(),
        filtered: !query.query_string(None, None).is_empty(),
        lines,
        count_text: i18n.tn("triage-count", "count", rows.total),
        page_text: i18n.t_nums(
            "pagination-status",
            &[("page", rows.page), ("pages", pages)],
        ),
        pages,
        prev_url: (rows.page > 1).then(|| query.url(draft_id, Some(rows.page - 1), None)),
        next_url: (rows.page < pages).then(|| query.url(draft_id, Some(rows.page + 1), None)),
        return_to: query.url(draft_id, Some(rows.page), None),
        bulk_members: member_options(&i18n, &data.members, &bulk.assignee_id),
        bulk_statuses: settable_statuses(&i18n, &bulk.status),
        decisions: decision_options(&i18n, &bulk.decision),
        justification: bulk.justification.clone(),
        duplicate_of: bulk.duplicate_of.clone(),
        bulk,
        i18n,
    };
    form_page(page, has_errors)
}

#[get("/drafts/{id}/triage")]
pub async fn queue(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    render_queue(
        &state,
        i18n,
        &session,
        user,
        path.into_inner(),
        query.into_inner(),
        Vec::new(),
        BulkInput::default(),
        Vec::new(),
    )
    .await
}

#[derive(Deserialize)]
struct ReturnTo {
    #[serde(default)]
    return_to: String,
}

/// Where to go back after a bulk action: the queue with its filters, nothing else.
fn safe_return(draft_id: i64, raw: &str) -> String {
    let base = format!("/drafts/{draft_id}/triage");
    let ok = raw == base
        || (raw.starts_with(&format!("{base}?"))
            && !raw.contains(['\\', '\n', '\r', '#'])
            && !raw.contains("//"));
    if ok { raw.to_string() } else { base }
}

#[post("/drafts/{id}/triage/bulk")]
pub async fn bulk_action(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let draft_id = path.into_inner();
    let input: BulkInput = csrf::check_form(&session, &body)?;
    let back: ReturnTo = serde_urlencoded::from_bytes(&body).unwrap_or(ReturnTo {
        return_to: String::new(),
    });
    let back = safe_return(draft_id, &back.return_to);
    let ids: Vec<String> = url::form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| v.into_owned())
        .collect();
    let config = state.config.clone();
    let (actor, typed, raw_ids) = (user.clone(), input.clone(), ids.clone());
    let result = state
        .db
        .run(move |conn| triage::bulk(conn, &config, &actor, draft_id, &raw_ids, &typed))
        .await;
    match result {
        Ok(n) => {
            flash(&session, i18n.tn("triage-bulk-done", "count", n as i64));
            Ok(see_other(&back))
        }
        Err(AppError::Validation(errors)) => {
            let query: QueueQuery = back
                .split_once('?')
                .and_then(|(_, q)| serde_urlencoded::from_str(q).ok())
                .unwrap_or_default();
            let selected = ids.iter().filter_map(|i| i.trim().parse().ok()).collect();
            render_queue(
                &state, i18n, &session, user, draft_id, query, errors, input, selected,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------
// One comment

pub struct ThreadLine {
    pub id: i64,
    pub depth: i32,
    pub author: String,
    pub organization: Option<String>,
    pub stance_label: String,
    pub date: String,
    pub date_machine: String,
    pub body_html: String,
    pub withdrawn: bool,
    pub current: bool,
}

pub struct NoteLine {
    pub author: String,
    pub date: String,
    pub date_machine: String,
    pub paragraphs: Vec<String>,
}

pub struct Focus {
    pub id: i64,
    pub tracking: String,
    pub author: String,
    pub respondent: String,
    pub organization: Option<(i64, String)>,
    pub stance: String,
    pub stance_label: String,
    pub provision: String,
    pub provision_url: String,
    pub date: String,
    pub date_machine: String,
    pub withdrawn: bool,
    pub body_html: String,
    pub quote: Option<String>,
    pub proposed_wording: Option<String>,
    pub endorsements_text: String,
}

/// What was typed into one of the page's forms before it was refused.
#[derive(Debug, Clone, Default)]
struct Typed {
    tag: String,
    note: String,
    disposition: Option<DispositionInput>,
}

#[derive(Template)]
#[template(path = "triage/comment.html")]
struct CommentPage {
    i18n: I18n,
    nav: Nav,
    csrf: String,
    errors: FormErrors,
    draft_id: i64,
    draft_title: String,
    c: Focus,
    thread: Vec<ThreadLine>,
    status: &'static str,
    status_label: String,
    decided: bool,
    statuses: Vec<SelectOption>,
    assignees: Vec<SelectOption>,
    tags: Vec<String>,
    all_tags: Vec<String>,
    tag: String,
    notes: Vec<NoteLine>,
    note: String,
    disposition: Option<DispositionView>,
    decisions: Vec<SelectOption>,
    justification: String,
    duplicate_of: String,
}

#[allow(clippy::too_many_arguments)]
async fn render_comment(
    state: &AppState,
    i18n: I18n,
    session: &Session,
    user: UserRow,
    draft_id: i64,
    comment_id: i64,
    errors: Vec<FieldError>,
    typed: Typed,
) -> Result<HttpResponse, AppError> {
    let actor = user.clone();
    let data = state
        .db
        .run(move |conn| triage::comment_page(conn, &actor, draft_id, comment_id))
        .await?;
    let all = std::iter::once(&data.thread.root).chain(data.thread.replies.iter());
    let thread: Vec<ThreadLine> = all
        .clone()
        .map(|v| {
            let withdrawn = v.row.status == crate::services::comments::WITHDRAWN;
            ThreadLine {
                id: v.row.id,
                depth: v.row.depth,
                author: author_name(&i18n, &v.author_name, v.author_deleted),
                organization: v.organization.as_ref().map(|o| o.1.clone()),
                stance_label: i18n.t(&format!("stance-{}", v.row.stance)),
                date: time::display(v.row.created_at),
                date_machine: time::machine(v.row.created_at),
                body_html: v.row.body_html.clone(),
                withdrawn,
                current: v.row.id == comment_id,
            }
        })
        .collect();
    let view = all
        .clone()
        .find(|v| v.row.id == comment_id)
        .ok_or(AppError::NotFound)?;
    let r = &view.row;
    let (provision, provision_url) = match (&r.provision_key, &data.provision) {
        (Some(k), Some(p)) => (
            format!("{} ({k})", short_name(&i18n, p)),
            format!("/drafts/{draft_id}/provisions/{k}"),
        ),
        (Some(k), None) => (k.clone(), format!("/drafts/{draft_id}/provisions/{k}")),
        (None, _) => (
            i18n.t("triage-whole-draft"),
            format!("/drafts/{draft_id}/discussion"),
        ),
    };
    let c = Focus {
        id: r.id,
        tracking: r.tracking_number.clone(),
        author: author_name(&i18n, &view.author_name, view.author_deleted),
        respondent: i18n.t(&format!("respondent-{}", r.respondent_type)),
        organization: view.organization.clone(),
        stance: r.stance.clone(),
        stance_label: i18n.t(&format!("stance-{}", r.stance)),
        provision,
        provision_url,
        date: time::display(r.created_at),
        date_machine: time::machine(r.created_at),
        withdrawn: r.status == crate::services::comments::WITHDRAWN,
        body_html: r.body_html.clone(),
        quote: r.quote.clone(),
        proposed_wording: r
            .proposed_wording
            .as_deref()
            .map(crate::markdown::to_safe_html),
        endorsements_text: i18n.tn("comment-endorsements", "count", r.endorsement_count as i64),
    };
    let typed_disposition = typed.disposition.clone().unwrap_or_else(|| {
        data.disposition
            .as_ref()
            .map(|d| DispositionInput {
                decision: d.decision.as_str().to_string(),
                justification: d.justification.clone(),
                duplicate_of: d.duplicate_tracking.clone().unwrap_or_default(),
            })
            .unwrap_or_default()
    });
    let assignee = data.assignee_id.map(|a| a.to_string()).unwrap_or_default();
    let has_errors = !errors.is_empty();
    let page = CommentPage {
        nav: nav(session, &CurrentUser(Some(user))),
        csrf: csrf::token(session),
        errors: FormErrors(errors),
        draft_id,
        draft_title: data.draft_title.clone(),
        c,
        thread,
        status: data.status.as_str(),
        status_label: i18n.t(&format!("triage-status-{}", data.status.as_str())),
        decided: data.disposition.is_some(),
        statuses: settable_statuses(&i18n, data.status.as_str()),
        assignees: member_options(&i18n, &data.members, &assignee),
        tags: data.tags.clone(),
        all_tags: data.all_tags.clone(),
        tag: typed.tag,
        notes: data
            .notes
            .iter()
            .map(|n| NoteLine {
                author: n
                    .author_name
                    .clone()
                    .unwrap_or_else(|| i18n.t("comment-former-participant")),
                date: time::display(n.created_at),
                date_machine: time::machine(n.created_at),
                paragraphs: triage::paragraphs(&n.body),
            })
            .collect(),
        note: typed.note,
        disposition: data
            .disposition
            .as_ref()
            .map(|d| DispositionView::new(&i18n, d, &data.draft_title)),
        decisions: decision_options(&i18n, &typed_disposition.decision),
        justification: typed_disposition.justification,
        duplicate_of: typed_disposition.duplicate_of,
        i18n,
    };
    form_page(page, has_errors)
}

#[get("/drafts/{id}/triage/comments/{cid}")]
pub async fn comment(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, cid) = path.into_inner();
    render_comment(
        &state,
        i18n,
        &session,
        user,
        id,
        cid,
        Vec::new(),
        Typed::default(),
    )
    .await
}

/// After a change on the comment page: a notice and back to the page, or the page again
/// with the errors and what was typed.
#[allow(clippy::too_many_arguments)]
async fn finish(
    state: &AppState,
    i18n: I18n,
    session: &Session,
    user: UserRow,
    draft_id: i64,
    comment_id: i64,
    result: Result<bool, AppError>,
    done: &str,
    typed: Typed,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(changed) => {
            flash(
                session,
                i18n.t(if changed { done } else { "triage-no-change" }),
            );
            Ok(see_other(&format!(
                "/drafts/{draft_id}/triage/comments/{comment_id}"
            )))
        }
        Err(AppError::Validation(errors)) => {
            render_comment(
                state, i18n, session, user, draft_id, comment_id, errors, typed,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    assignee_id: String,
}

#[post("/drafts/{id}/triage/comments/{cid}/assign")]
pub async fn assign(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<AssignForm>,
) -> Result<HttpResponse, AppError> {
    let (id, cid) = path.into_inner();
    let actor = user.clone();
    let result = state
        .db
        .run(move |conn| triage::assign(conn, &actor, id, cid, &form.assignee_id))
        .await;
    finish(
        &state,
        i18n,
        &session,
        user,
        id,
        cid,
        result,
        "triage-assigned",
        Typed::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct TagForm {
    #[serde(default)]
    tag: String,
}

#[post("/drafts/{id}/triage/comments/{cid}/tags")]
pub async fn add_tag(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<TagForm>,
) -> Result<HttpResponse, AppError> {
    let (id, cid) = path.into_inner();
    let actor = user.clone();
    let tag = form.tag.clone();
    let result = state
        .db
        .run(move |conn| triage::add_tag(conn, &actor, id, cid, &tag))
        .await;
    let typed = Typed {
        tag: form.tag,
        ..Typed::default()
    };
    finish(
        &state,
        i18n,
        &session,
        user,
        id,
        cid,
        result,
        "triage-tagged",
        typed,
    )
    .await
}

#[post("/drafts/{id}/triage/comments/{cid}/tags/remove")]
pub async fn remove_tag(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<TagForm>,
) -> Result<HttpResponse, AppError> {
    let (id, cid) = path.into_inner();
    let actor = user.clone();
    let result = state
        .db
        .run(move |conn| triage::remove_tag(conn, &actor, id, cid, &form.tag))
        .await;
    finish(
        &state,
        i18n,
        &session,
        user,
        id,
        cid,
        result,
        "triage-untagged",
        Typed::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    body: String,
}

#[post("/drafts/{id}/triage/comments/{cid}/notes")]
pub async fn add_note(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Result<HttpResponse, AppError> {
    let (id, cid) = path.into_inner();
    let actor = user.clone();
    let body = form.body.clone();
    let result = state
        .db
        .run(move |conn| triage::add_note(conn, &actor, id, cid, &body).map(|_| true))
        .await;
    let typed = Typed {
        note: form.body,
        ..Typed::default()
    };
    finish(
        &state,
        i18n,
        &session,
        user,
        id,
        cid,
        result,
        "triage-noted",
        typed,
    )
    .await
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

#[post("/drafts/{id}/triage/comments/{cid}/status")]
pub async fn set_status(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let (id, cid) = path.into_inner();
    let actor = user.clone();
    let result = state
        .db
        .run(move |conn| triage::set_status(conn, &actor, id, cid, &form.status))
        .await;
    finish(
        &state,
        i18n,
        &session,
        user,
        id,
        cid,
        result,
        "triage-status-done",
        Typed::default(),
    )
    .await
}

#[post("/drafts/{id}/triage/comments/{cid}/disposition")]
pub async fn set_disposition(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<DispositionInput>,
) -> Result<HttpResponse, AppError> {
    let (id, cid) = path.into_inner();
    let actor = user.clone();
    let config = state.config.clone();
    let input = form.clone();
    let result = state
        .db
        .run(move |conn| triage::set_disposition(conn, &config, &actor, id, cid, &input))
        .await;
    let typed = Typed {
        disposition: Some(form),
        ..Typed::default()
    };
    finish(
        &state,
        i18n,
        &session,
        user,
        id,
        cid,
        result,
        "triage-disposition-done",
        typed,
    )
    .await
}
