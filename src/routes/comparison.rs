//! Public pages generated from the stored data: the comparison table between two versions
//! (HTML, CSV, print layout) and the discussion report of a round (HTML, CSV, JSON).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_session::Session;
use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, http::header, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::i18n::I18n;
use crate::routes::{HasNav, nav, page};
use crate::services::comparison::{self, Comparison, LinkedComment, Row};
use crate::services::report::{self, ExportFormat, Outcome, Report};
use crate::startup::AppState;
use crate::templates::Nav;
use tokio::sync::{mpsc, oneshot};

// ---------------------------------------------------------------------------------------
// View models shared with the revision pages

/// A comment addressed by a change, ready to show.
#[derive(Debug, Clone)]
pub struct CommentLine {
    pub id: i64,
    pub tracking_number: String,
    pub url: String,
    pub author: String,
    pub organization: Option<String>,
    pub version_text: String,
    pub excerpt: Option<String>,
    pub withdrawn: bool,
    /// The decision (for a CSS class) or `none`.
    pub decision: String,
    pub decision_label: String,
    pub justification: Option<String>,
}

pub fn decision_label(i18n: &I18n, decision: Option<&str>) -> String {
    i18n.t(&format!(
        "report-decision-{}",
        decision.unwrap_or(report::NOT_ANSWERED)
    ))
}

pub fn comment_line(i18n: &I18n, c: &LinkedComment) -> CommentLine {
    CommentLine {
        id: c.id,
        tracking_number: c.tracking_number.clone(),
        url: format!("/comments/{}", c.id),
        author: if c.author_deleted {
            i18n.t("comment-former-participant")
        } else {
            c.author.clone()
        },
        organization: c.organization.clone(),
        version_text: i18n.tn("comment-version", "number", c.version_number as i64),
        excerpt: c.excerpt.clone(),
        withdrawn: c.withdrawn,
        decision: c.decision.clone().unwrap_or_else(|| "none".into()),
        decision_label: decision_label(i18n, c.decision.as_deref()),
        justification: c.justification.clone(),
    }
}

/// One row of a comparison table, ready to show.
#[derive(Debug, Clone)]
pub struct RowView {
    pub key: String,
    pub change: &'static str,
    pub change_label: String,
    pub name: String,
    pub old_text: Option<String>,
    pub new_text: Option<String>,
    /// Escaped HTML with `<ins>` and `<del>` (from `comparison::word_diff_html`).
    pub diff_html: String,
    pub comments: Vec<CommentLine>,
}

pub fn change_label(i18n: &I18n, row: &Row) -> String {
    if row.also_moved {
        i18n.t("compare-change-changed-moved")
    } else {
        i18n.t(&format!("compare-change-{}", row.change.as_str()))
    }
}

pub fn row_views(i18n: &I18n, rows: &[Row]) -> Vec<RowView> {
    rows.iter()
        .map(|r| RowView {
            key: r.key.clone(),
            change: r.change.as_str(),
            change_label: change_label(i18n, r),
            name: r.name.clone(),
            old_text: r.old_text.clone(),
            new_text: r.new_text.clone(),
            diff_html: r.diff_html.clone(),
            comments: r.comments.iter().map(|c| comment_line(i18n, c)).collect(),
        })
        .collect()
}

pub fn compare_counts_text(i18n: &I18n, rows: &[Row]) -> String {
    let n = |k: comparison::ChangeKind| rows.iter().filter(|r| r.change == k).count() as i64;
    i18n.t_nums(
        "compare-counts",
        &[
            ("changed", n(comparison::ChangeKind::Changed)),
            ("added", n(comparison::ChangeKind::Added)),
            ("removed", n(comparison::ChangeKind::Removed)),
            ("moved", n(comparison::ChangeKind::Moved)),
        ],
    )
}

fn download(body: Vec<u8>, content_type: &str, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "public, max-age=30"))
        .body(body)
}

// ---------------------------------------------------------------------------------------
// The comparison table

#[derive(Template)]
#[template(path = "compare.html")]
pub struct ComparePage {
    pub i18n: I18n,
    pub nav: Nav,
    pub draft_id: i64,
    pub draft_title: String,
    pub title: String,
    pub caption: String,
    pub from: i32,
    pub to: i32,
    pub from_label: String,
    pub to_label: String,
    pub from_link: String,
    pub to_link: String,
    pub counts_text: String,
    pub change_summary: String,
    pub rows: Vec<RowView>,
    pub csv_url: String,
    pub print_url: String,
    pub page_url: String,
}

impl HasNav for ComparePage {
    fn nav(&self) -> &Nav {
        &self.nav
    }
}

/// The print layout: the same table without the site's navigation.
#[derive(Template)]
#[template(path = "compare_print.html")]
pub struct ComparePrintPage {
    pub i18n: I18n,
    pub p: ComparePage,
}

#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    print: Option<String>,
}

#[get("/drafts/{id}/compare/{from}/{to}")]
pub async fn compare(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, String, String)>,
    query: web::Query<CompareQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, from, to) = path.into_inner();
    let from: i32 = from.parse().map_err(|_| AppError::NotFound)?;
    let (to, csv) = match to.strip_suffix(".csv") {
        Some(n) => (n, true),
        None => (to.as_str(), false),
    };
    let to: i32 = to.parse().map_err(|_| AppError::NotFound)?;
    let c: Comparison = state
        .db
        .run(move |conn| comparison::comparison(conn, id, from, to))
        .await?;
    if csv {
        let body = comparison::to_csv(&c.rows)?;
        return Ok(download(
            body,
            "text/csv; charset=utf-8",
            &format!("talqy-draft-{id}-v{from}-v{to}.csv"),
        ));
    }
    let base = format!("/drafts/{id}/compare/{from}/{to}");
    let p = ComparePage {
        nav: nav(&session, &user),
        draft_id: id,
        draft_title: c.draft.title.clone(),
        title: i18n.t_nums("compare-title", &[("from", from as i64), ("to", to as i64)]),
        caption: i18n.t_nums(
            "compare-caption",
            &[("from", from as i64), ("to", to as i64)],
        ),
        from,
        to,
        from_label: i18n.tn("draft-version-n", "number", from as i64),
        to_label: i18n.tn("draft-version-n", "number", to as i64),
        from_link: i18n.tn("compare-version-link", "number", from as i64),
        to_link: i18n.tn("compare-version-link", "number", to as i64),
        counts_text: compare_counts_text(&i18n, &c.rows),
        change_summary: c.to.change_summary.clone(),
        rows: row_views(&i18n, &c.rows),
        csv_url: format!("{base}.csv"),
        print_url: format!("{base}?print=1"),
        page_url: base,
        i18n: i18n.clone(),
    };
    if query
        .print
        .as_deref()
        .is_some_and(|v| !v.is_empty() && v != "0")
    {
        let body = crate::routes::render(&ComparePrintPage { i18n, p })?;
        return Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "public, max-age=30"))
            .body(body));
    }
    page(p)
}

// ---------------------------------------------------------------------------------------
// The discussion report

pub struct CountLine {
    pub label: String,
    pub count: i64,
}

pub struct ProvisionLine {
    pub label: String,
    pub url: Option<String>,
    pub count: i64,
}

pub struct ReportLine {
    pub id: i64,
    pub tracking_number: String,
    pub url: String,
    pub created: String,
    pub created_machine: String,
    pub provision: String,
    pub reply_to: Option<String>,
    pub respondent: String,
    pub author: String,
    pub organization: Option<String>,
    pub stance: String,
    pub withdrawn: bool,
    pub text_html: String,
    pub decision: String,
    pub decision_label: String,
    pub justification: Option<String>,
    pub decided: Option<String>,
    pub duplicate_of: Option<String>,
}

#[derive(Template)]
#[template(path = "report.html")]
pub struct ReportPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub draft_id: i64,
    pub draft_title: String,
    pub title: String,
    pub round_text: String,
    pub published: i64,
    pub withdrawn: i64,
    pub answered: i64,
    pub share_text: String,
    pub median_text: String,
    pub by_disposition: Vec<CountLine>,
    pub by_respondent: Vec<CountLine>,
    pub by_provision: Vec<ProvisionLine>,
    pub comments: Vec<ReportLine>,
    pub csv_url: String,
    pub json_url: String,
}

impl HasNav for ReportPage {
    fn nav(&self) -> &Nav {
        &self.nav
    }
}

/// "40.0 %"; "—" without comments.
pub fn share_text(r: &Report) -> String {
    r.totals
        .share_answered_percent
        .map_or_else(|| "—".to_string(), |p| format!("{p:.1} %"))
}

/// "2.5 days"; "—" when nothing was answered.
pub fn median_text(i18n: &I18n, r: &Report) -> String {
    r.totals.median_days_to_answer.map_or_else(
        || "—".to_string(),
        |d| i18n.ts("report-days", "days", &format!("{d:.1}")),
    )
}

fn parse_datetime(s: &str) -> Option<chrono::NaiveDateTime> {
    crate::domain::time::parse_datetime(s, false)
}

fn report_page(i18n: I18n, nav: Nav, r: Report, base: String) -> Result<HttpResponse, AppError> {
    let version_base = format!("/drafts/{}/versions/{}", r.draft_id, r.version);
    let display = |s: &str| {
        parse_datetime(s)
            .map(crate::domain::time::display)
            .unwrap_or_default()
    };
    page(ReportPage {
        nav,
        draft_id: r.draft_id,
        draft_title: r.draft_title.clone(),
        title: i18n.ts("report-title", "title", &r.draft_title),
        round_text: i18n.t_strs(
            "report-round",
            &[
                ("number", &r.version.to_string()),
                ("opens", &display(&r.round.opens_at)),
                ("closes", &display(&r.round.closes_at)),
            ],
        ),
        published: r.totals.published,
        withdrawn: r.totals.withdrawn,
        answered: r.totals.answered,
        share_text: share_text(&r),
        median_text: median_text(&i18n, &r),
        by_disposition: r
            .by_disposition
            .iter()
            .map(|c| CountLine {
                label: i18n.t(&format!("report-decision-{}", c.key)),
                count: c.count,
            })
            .collect(),
        by_respondent: r
            .by_respondent_type
            .iter()
            .map(|c| CountLine {
                label: i18n.t(&format!("respondent-{}", c.key)),
                count: c.count,
            })
            .collect(),
        by_provision: r
            .by_provision
            .iter()
            .map(|p| ProvisionLine {
                label: match &p.provision_key {
                    Some(_) => p.provision.clone(),
                    None => i18n.t("report-whole-draft"),
                },
                url: p
                    .provision_key
                    .as_ref()
                    .map(|k| format!("{version_base}/provisions/{k}")),
                count: p.count,
            })
            .collect(),
        comments: r
            .comments
            .iter()
            .map(|c| ReportLine {
                id: c.id,
                tracking_number: c.tracking_number.clone(),
                url: format!("/comments/{}", c.id),
                created: display(&c.created_at),
                created_machine: c.created_at.clone(),
                provision: match &c.provision_key {
                    Some(_) => c.provision.clone(),
                    None => i18n.t("report-whole-draft"),
                },
                reply_to: c.reply_to.clone(),
                respondent: i18n.t(&format!("respondent-{}", c.respondent_type)),
                author: if c.author.is_empty() {
                    i18n.t("comment-former-participant")
                } else {
                    c.author.clone()
                },
                organization: c.organization.clone(),
                stance: i18n.t(&format!("stance-{}", c.stance)),
                withdrawn: c.text.is_none(),
                text_html: c
                    .text
                    .as_deref()
                    .map(crate::markdown::to_safe_html)
                    .unwrap_or_default(),
                decision: c.decision.clone().unwrap_or_else(|| "none".into()),
                decision_label: decision_label(&i18n, c.decision.as_deref()),
                justification: c.justification.clone(),
                decided: c.decided_at.as_deref().map(display),
                duplicate_of: c.duplicate_of.clone(),
            })
            .collect(),
        csv_url: format!("{base}.csv"),
        json_url: format!("{base}.json"),
        i18n,
    })
}

#[derive(Clone, Copy)]
enum Format {
    Html,
    Csv,
    Json,
}

async fn serve_report(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    id: i64,
    number: Option<i32>,
    format: Format,
) -> Result<HttpResponse, AppError> {
    let base = match number {
        None => format!("/drafts/{id}/report"),
        Some(n) => format!("/drafts/{id}/versions/{n}/report"),
    };
    match format {
        Format::Html => {
            let r = state
                .db
                .run(move |conn| report::report(conn, id, number))
                .await?;
            report_page(i18n, nav(&session, &user), r, base)
        }
        Format::Csv => {
            let (version, body) = export(&state, id, number, ExportFormat::Csv).await?;
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"talqy-draft-{id}-v{version}-report.csv\""),
                ))
                .insert_header((header::CACHE_CONTROL, "public, max-age=30"))
                .body(body))
        }
        Format::Json => {
            let (_, body) = export(&state, id, number, ExportFormat::Json).await?;
            Ok(HttpResponse::Ok()
                .content_type("application/json")
                .insert_header((header::CACHE_CONTROL, "public, max-age=30"))
                .body(body))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Streaming exports

/// Exports running at once: each holds a database connection while it streams, so that a
/// burst of downloads cannot take the whole pool from the pages.
const CONCURRENT_EXPORTS: usize = 4;
static EXPORTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_EXPORTS);
/// How long an export waits for its turn and a database connection: longer than a page
/// (`db::CONNECTION_TIMEOUT`, 2 s). Right after a burst of requests the pool can stay busy
/// for a couple of seconds (the benchmark's exports came right after its triage load and got
/// 503), and someone downloading a file would rather wait than retry.
const EXPORT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Pieces buffered between the database and the socket (about 64 KB each).
const PIECES_IN_FLIGHT: usize = 4;
/// A reader that takes no piece for this long is dropped, freeing the connection.
const STALLED_READER: Duration = Duration::from_secs(60);

enum Piece {
    Bytes(Vec<u8>),
    End,
}

/// The body of an export: the pieces as the worker produces them (chunked transfer, no
/// `Content-Length`). A worker that stops without its `End` (a database error, a stalled
/// reader) makes the body fail, so the connection is cut rather than the download looking
/// complete.
struct ExportBody {
    pieces: mpsc::Receiver<Piece>,
    done: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("the export stopped before its end")]
struct ExportCut;

impl MessageBody for ExportBody {
    type Error = ExportCut;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, ExportCut>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.pieces.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Piece::Bytes(b))) => Poll::Ready(Some(Ok(Bytes::from(b)))),
            Poll::Ready(Some(Piece::End)) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(Some(Err(ExportCut)))
            }
        }
    }
}

/// Starts an export on a blocking worker holding one connection (one read transaction, so
/// the totals agree with the rows) and answers once the round is found: errors up to then
/// (not found, no connection) are ordinary error pages; the version number is for the
/// file name.
async fn export(
    state: &AppState,
    id: i64,
    number: Option<i32>,
    format: ExportFormat,
) -> Result<(i32, ExportBody), AppError> {
    let permit = tokio::time::timeout(EXPORT_CONNECTION_TIMEOUT, EXPORTS.acquire())
        .await
        .map_err(|_| AppError::Unavailable("too many exports at once".into()))?
        .map_err(|e| AppError::Internal(format!("export limit: {e}")))?;
    let db = state.db.clone();
    let runtime = tokio::runtime::Handle::current();
    let (started_tx, started_rx) = oneshot::channel::<Result<i32, AppError>>();
    let (tx, rx) = mpsc::channel::<Piece>(PIECES_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        // Waits for room in the channel; `false` when the reader is gone or stalled.
        let send = |piece: Piece| {
            runtime.block_on(async {
                matches!(
                    tokio::time::timeout(STALLED_READER, tx.send(piece)).await,
                    Ok(Ok(()))
                )
            })
        };
        let mut started_tx = Some(started_tx);
        let result = db
            .conn_within(EXPORT_CONNECTION_TIMEOUT)
            .map_err(AppError::from)
            .and_then(|mut conn| {
                report::export(
                    &mut conn,
                    id,
                    number,
                    format,
                    |r| {
                        if let Some(s) = started_tx.take() {
                            let _ = s.send(Ok(r.version));
                        }
                    },
                    &mut |bytes| send(Piece::Bytes(bytes)),
                )
            });
        match result {
            Ok(Outcome::Complete) => {
                send(Piece::End);
            }
            // Dropping the sender without `End` cuts the response.
            Ok(Outcome::Stopped) => {}
            Err(e) => match started_tx.take() {
                Some(s) => {
                    let _ = s.send(Err(e));
                }
                None => tracing::error!(error = %e, draft = id, "export failed while streaming"),
            },
        }
    });
    let version = started_rx
        .await
        .map_err(|_| AppError::Internal("the export worker failed".into()))??;
    Ok((
        version,
        ExportBody {
            pieces: rx,
            done: false,
        },
    ))
}

#[get("/drafts/{id}/report")]
pub async fn report_latest(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    serve_report(
        state,
        i18n,
        session,
        user,
        path.into_inner(),
        None,
        Format::Html,
    )
    .await
}

#[get("/drafts/{id}/report.csv")]
pub async fn report_latest_csv(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    serve_report(
        state,
        i18n,
        session,
        user,
        path.into_inner(),
        None,
        Format::Csv,
    )
    .await
}

#[get("/drafts/{id}/report.json")]
pub async fn report_latest_json(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    serve_report(
        state,
        i18n,
        session,
        user,
        path.into_inner(),
        None,
        Format::Json,
    )
    .await
}

#[get("/drafts/{id}/versions/{number}/report")]
pub async fn report_version(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, i32)>,
) -> Result<HttpResponse, AppError> {
    let (id, n) = path.into_inner();
    serve_report(state, i18n, session, user, id, Some(n), Format::Html).await
}

#[get("/drafts/{id}/versions/{number}/report.csv")]
pub async fn report_version_csv(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, i32)>,
) -> Result<HttpResponse, AppError> {
    let (id, n) = path.into_inner();
    serve_report(state, i18n, session, user, id, Some(n), Format::Csv).await
}

#[get("/drafts/{id}/versions/{number}/report.json")]
pub async fn report_version_json(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<(i64, i32)>,
) -> Result<HttpResponse, AppError> {
    let (id, n) = path.into_inner();
    serve_report(state, i18n, session, user, id, Some(n), Format::Json).await
}
