//! Public pages: home, the list of drafts, a draft at a version, one provision.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::domain::{DraftKind, DraftStatus, time};
use crate::error::AppError;
use crate::i18n::I18n;
use crate::routes::nav;
use crate::routes::page;
use crate::services::drafts::{self, DraftDetail, ListFilter};
use crate::startup::AppState;
use crate::templates::*;
use actix_session::Session;

#[get("/")]
pub async fn home(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let (open, recent, authorities) = state
        .db
        .run(|conn| {
            let open = drafts::open_consultations(conn)?;
            let recent = drafts::list_public(conn, &ListFilter::default(), 1, 12)?;
            let authorities = drafts::public_authorities(conn)?;
            Ok::<_, AppError>((open, recent, authorities))
        })
        .await?;
    let now = time::now();
    let open_ids: Vec<i64> = open.iter().map(|d| d.draft.id).collect();
    page(HomePage {
        nav: nav(&session, &user),
        open: open.iter().map(|d| DraftCard::new(&i18n, d, now)).collect(),
        recent: recent
            .items
            .iter()
            .filter(|d| !open_ids.contains(&d.draft.id))
            .take(6)
            .map(|d| DraftCard::new(&i18n, d, now))
            .collect(),
        authorities: authorities
            .into_iter()
            .map(|a| SelectOption {
                label: a.clone(),
                value: a,
                selected: false,
            })
            .collect(),
        kinds: DraftKind::ALL
            .into_iter()
            .map(|k| SelectOption {
                value: k.as_str().into(),
                label: i18n.t(&format!("kind-{}", k.as_str())),
                selected: false,
            })
            .collect(),
        i18n,
    })
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    kind: Option<String>,
    authority: Option<String>,
    page: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[get("/drafts")]
pub async fn drafts_list(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    // A filter value that no longer exists (an old bookmark) is a visible error, not a
    // silently wider list.
    let status = non_empty(&q.status)
        .map(DraftStatus::parse)
        .transpose()?
        .filter(|s| s.is_public());
    let kind = non_empty(&q.kind).map(DraftKind::parse).transpose()?;
    let authority = non_empty(&q.authority).map(str::to_string);
    let page_no = match non_empty(&q.page) {
        None => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| AppError::field("page", "must be a page number"))?,
    };
    let filter = ListFilter {
        status,
        kind,
        authority: authority.clone(),
    };
    let per_page = state.config.page_size;
    let (list, authorities) = state
        .db
        .run(move |conn| {
            let list = drafts::list_public(conn, &filter, page_no, per_page)?;
            let authorities = drafts::public_authorities(conn)?;
            Ok::<_, AppError>((list, authorities))
        })
        .await?;
    let now = time::now();
    let pages = list.total_pages();
    let url_for = |p: i64| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if let Some(v) = status {
            s.append_pair("status", v.as_str());
        }
        if let Some(v) = kind {
            s.append_pair("kind", v.as_str());
        }
        if let Some(v) = &authority {
            s.append_pair("authority", v);
        }
        s.append_pair("page", &p.to_string());
        format!("/drafts?{}", s.finish())
    };
    page(DraftsPage {
        nav: nav(&session, &user),
        cards: list
            .items
            .iter()
            .map(|d| DraftCard::new(&i18n, d, now))
            .collect(),
        statuses: DraftStatus::ALL
            .into_iter()
            .filter(|s| s.is_public())
            .map(|s| SelectOption {
                value: s.as_str().into(),
                label: i18n.t(&format!("status-{}", s.as_str())),
                selected: status == Some(s),
            })
            .collect(),
        kinds: DraftKind::ALL
            .into_iter()
            .map(|k| SelectOption {
                value: k.as_str().into(),
                label: i18n.t(&format!("kind-{}", k.as_str())),
                selected: kind == Some(k),
            })
            .collect(),
        authorities: authorities
            .into_iter()
            .map(|a| SelectOption {
                selected: authority.as_deref() == Some(a.as_str()),
                label: a.clone(),
                value: a,
            })
            .collect(),
        count_text: i18n.tn("drafts-count", "count", list.total),
        page_text: i18n.t_nums(
            "pagination-status",
            &[("page", list.page), ("pages", pages)],
        ),
        pages,
        prev_url: (list.page > 1).then(|| url_for(list.page - 1)),
        next_url: (list.page < pages).then(|| url_for(list.page + 1)),
        i18n,
    })
}

type Counts = std::collections::HashMap<Option<String>, i64>;

async fn load_detail(
    state: &AppState,
    id: i64,
    number: Option<i32>,
) -> Result<(DraftDetail, Counts), AppError> {
    state
        .db
        .run(move |conn| {
            let detail = drafts::public_detail(conn, id, number)?;
            let counts = crate::services::comments::counts_by_provision(conn, id)?;
            Ok((detail, counts))
        })
        .await
}

fn base_url(detail: &DraftDetail, is_latest: bool) -> String {
    let id = detail.summary.draft.id;
    if is_latest {
        format!("/drafts/{id}")
    } else {
        format!("/drafts/{id}/versions/{}", detail.version.number)
    }
}

/// The triage queue's address when the visitor may triage this draft.
async fn triage_url(
    state: &AppState,
    user: &CurrentUser,
    draft_id: i64,
) -> Result<Option<String>, AppError> {
    let Some(u) = user.0.clone() else {
        return Ok(None);
    };
    let allowed = state
        .db
        .run(move |conn| {
            crate::services::triage::can_triage(conn, &u, draft_id).map_err(AppError::from)
        })
        .await?;
    Ok(allowed.then(|| format!("/drafts/{draft_id}/triage")))
}

fn draft_page(
    i18n: I18n,
    nav: Nav,
    (detail, counts): (DraftDetail, Counts),
    triage_url: Option<String>,
    may_revise: bool,
) -> Result<HttpResponse, AppError> {
    let now = time::now();
    let latest = detail.versions.first().map(|v| v.number);
    let is_latest = latest == Some(detail.version.number);
    let base = base_url(&detail, is_latest);
    let d = &detail.summary;
    let provisions: Vec<ProvisionView> = detail
        .provisions
        .iter()
        .map(|p| {
            let mut v = ProvisionView::new(&i18n, p, &base, 2);
            if p.kind != "chapter" && p.kind != "section" {
                let n = counts.get(&Some(p.key.clone())).copied().unwrap_or(0);
                v.comments = Some((i18n.tn("provision-comments", "count", n), n));
            }
            v
        })
        .collect();
    let whole_draft_comments = i18n.tn(
        "comments-count",
        "count",
        counts.get(&None).copied().unwrap_or(0),
    );
    let toc = detail
        .provisions
        .iter()
        .filter(|p| p.kind != "paragraph")
        .map(|p| TocEntry {
            key: p.key.clone(),
            depth: p.depth,
            text: short_name(&i18n, p),
        })
        .collect();
    let round = detail
        .round_of_version
        .as_ref()
        .map(|r| RoundView::new(&i18n, r, now));
    let versions = detail
        .versions
        .iter()
        .map(|v| VersionLink {
            label: i18n.tn("draft-version-n", "number", v.number as i64),
            url: if Some(v.number) == latest {
                format!("/drafts/{}", d.draft.id)
            } else {
                format!("/drafts/{}/versions/{}", d.draft.id, v.number)
            },
            current: v.number == detail.version.number,
            published: v.published_at.map(time::display).unwrap_or_default(),
            published_machine: v.published_at.map(time::machine).unwrap_or_default(),
            change_summary: v.change_summary.clone(),
            compare: (v.number > 1).then(|| {
                (
                    format!(
                        "/drafts/{}/compare/{}/{}",
                        d.draft.id,
                        v.number - 1,
                        v.number
                    ),
                    i18n.tn("compare-link", "number", (v.number - 1) as i64),
                )
            }),
        })
        .collect();
    let history = detail
        .transitions
        .iter()
        .map(|t| HistoryEntry {
            at: time::display(t.created_at),
            at_machine: time::machine(t.created_at),
            label: i18n.t(&format!("status-{}", t.to_status)),
        })
        .collect();
    page(DraftPage {
        nav,
        whole_draft_comments,
        draft: DraftHead {
            id: d.draft.id,
            title: d.draft.title.clone(),
            authority: d.draft.authority.clone(),
            status: d.status.as_str(),
            status_label: i18n.t(&format!("status-{}", d.status.as_str())),
            kind_label: i18n.t(&format!("kind-{}", d.kind.as_str())),
        },
        is_latest,
        viewing_text: i18n.tn(
            "draft-version-viewing",
            "number",
            detail.version.number as i64,
        ),
        version_label: i18n.tn("draft-version-n", "number", detail.version.number as i64),
        published: detail
            .version
            .published_at
            .map(|p| (time::display(p), time::machine(p))),
        round,
        summary_paragraphs: d
            .draft
            .summary
            .split("\n\n")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        toc,
        provisions,
        versions,
        history,
        triage_url,
        report_url: detail.round_of_version.as_ref().map(|_| {
            format!(
                "/drafts/{}/versions/{}/report",
                d.draft.id, detail.version.number
            )
        }),
        revision_url: may_revise.then(|| format!("/drafts/{}/revision", d.draft.id)),
        i18n,
    })
}

/// Whether the signed-in viewer may prepare the draft's revisions (for the link to them).
async fn viewer_may_revise(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<bool, AppError> {
    let Some(u) = user.0.clone() else {
        return Ok(false);
    };
    state
        .db
        .run(move |conn| {
            crate::services::revisions::may_revise(conn, id, &u).map_err(AppError::from)
        })
        .await
}

#[get("/drafts/{id}")]
pub async fn draft(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let detail = load_detail(&state, id, None).await?;
    let triage = triage_url(&state, &user, id).await?;
    let may_revise = viewer_may_revise(&state, &user, id).await?;
    draft_page(i18n, nav(&session, &user), detail, triage, may_revise)
}

#[get("/drafts/{id}/versions/{number}")]
pub async fn draft_version(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, i32)>,
) -> Result<HttpResponse, AppError> {
    let (id, number) = path.into_inner();
    let detail = load_detail(&state, id, Some(number)).await?;
    let triage = triage_url(&state, &user, id).await?;
    let may_revise = viewer_may_revise(&state, &user, id).await?;
    draft_page(i18n, nav(&session, &user), detail, triage, may_revise)
}

#[get("/drafts/{id}/provisions/{key}")]
pub async fn provision(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, String)>,
    query: web::Query<crate::routes::comments::DiscussionQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, key) = path.into_inner();
    crate::routes::comments::discussion_page(
        &state,
        i18n,
        &session,
        &user,
        id,
        None,
        Some(key),
        query.into_inner(),
        None,
    )
    .await
}

#[get("/drafts/{id}/versions/{number}/provisions/{key}")]
pub async fn provision_in_version(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, i32, String)>,
    query: web::Query<crate::routes::comments::DiscussionQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, number, key) = path.into_inner();
    crate::routes::comments::discussion_page(
        &state,
        i18n,
        &session,
        &user,
        id,
        Some(number),
        Some(key),
        query.into_inner(),
        None,
    )
    .await
}
