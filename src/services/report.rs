//! The public discussion report of a consultation round (the comments made on one version):
//! totals by disposition, by respondent type and by provision, the share answered, the
//! median time to answer, and every comment with the working group's decision.
//!
//! Definitions (the figures on the page, in the CSV and in the JSON are the same):
//! - the comments of a round are all comments, top-level and replies, made on its version;
//!   *published* ones count in every figure, *withdrawn* ones are only listed (as withdrawn,
//!   without their text) and counted in `totals.withdrawn`;
//! - *answered*: a published comment with a disposition; `not_answered` the others;
//! - `share_answered_percent` = answered / published × 100 (`null` without comments);
//! - `median_days_to_answer`: the median over answered comments of (decided_at −
//!   created_at) in days, fractional (`null` when none is answered).
//!
//! The JSON field names below are a stable public interface: add fields, never rename.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use serde::Serialize;

use crate::db::DbConn;
use crate::db::models::{DraftRow, ProvisionRow, RoundRow, VersionRow};
use crate::db::schema::{
    comments, consultation_rounds, dispositions, drafts, organizations, provisions, users, versions,
};
use crate::domain::{DraftStatus, RespondentType, time};
use crate::error::AppError;
use crate::services::comments::{PUBLISHED, WITHDRAWN};
use crate::services::comparison::place_names;

/// The decisions a disposition can carry, in the order reports list them.
pub const DECISIONS: [&str; 5] = [
    "accepted",
    "partially_accepted",
    "rejected",
    "noted",
    "duplicate",
];
/// The bucket of published comments without a disposition.
pub const NOT_ANSWERED: &str = "not_answered";

/// The whole report. JSON: `draft_id`, `draft_title`, `version`, `round`, `generated_at`,
/// `totals`, `by_disposition`, `by_respondent_type`, `by_provision`, `comments`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub draft_id: i64,
    pub draft_title: String,
    /// The number of the version the round was on.
    pub version: i32,
    pub round: RoundDates,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub generated_at: String,
    pub totals: Totals,
    /// Every decision of [`DECISIONS`] then `not_answered`, zeros included.
    pub by_disposition: Vec<Count>,
    /// Every respondent type, zeros included.
    pub by_respondent_type: Vec<Count>,
    /// Provisions with comments, most commented first (ties in document order); the draft
    /// as a whole has `provision_key: null`.
    pub by_provision: Vec<ProvisionCount>,
    /// Every comment of the round, oldest first.
    pub comments: Vec<ReportComment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoundDates {
    pub opens_at: String,
    pub closes_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Totals {
    /// Published and withdrawn comments.
    pub comments: i64,
    pub published: i64,
    pub withdrawn: i64,
    pub answered: i64,
    pub not_answered: i64,
    pub share_answered_percent: Option<f64>,
    pub median_days_to_answer: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProvisionCount {
    pub provision_key: Option<String>,
    /// The provision's label and heading (or first words); empty for the whole draft.
    pub provision: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportComment {
    pub id: i64,
    pub tracking_number: String,
    pub created_at: String,
    pub provision_key: Option<String>,
    pub provision: String,
    /// The tracking number of the comment this one replies to.
    pub reply_to: Option<String>,
    pub respondent_type: String,
    pub author: String,
    pub organization: Option<String>,
    pub stance: String,
    /// `published` or `withdrawn`.
    pub status: String,
    /// The comment's Markdown text; `null` when withdrawn.
    pub text: Option<String>,
    pub decision: Option<String>,
    pub justification: Option<String>,
    pub decided_at: Option<String>,
    /// For `duplicate`: the tracking number of the comment it duplicates.
    pub duplicate_of: Option<String>,
    pub days_to_answer: Option<f64>,
}

/// The median of `values` (`None` when empty): the middle one, or the mean of the two.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

pub fn days_between(from: NaiveDateTime, to: NaiveDateTime) -> f64 {
    (to - from).num_milliseconds() as f64 / 86_400_000.0
}

/// Comments read per query when listing a round: memory stays bounded whatever its size.
pub const PAGE_ROWS: i64 = 1000;
/// An export hands its output on in pieces of about this size.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The report without its comments (the `comments` of [`ReportHead::report`] are empty),
/// and what listing them needs.
pub struct ReportHead {
    pub report: Report,
    version_id: i64,
    /// The provisions' place names ("Article 2, paragraph 1"), by key.
    names: HashMap<String, String>,
}

impl ReportHead {
    fn name_of(&self, key: &Option<String>) -> String {
        name_in(&self.names, key)
    }
}

fn name_in(names: &HashMap<String, String>, key: &Option<String>) -> String {
    key.as_deref()
        .and_then(|k| names.get(k))
        .cloned()
        .or_else(|| key.clone())
        .unwrap_or_default()
}

/// Runs `f` in one read transaction, so that a report read in several queries is one
/// consistent snapshot (its totals agree with its rows even while comments are posted).
/// PostgreSQL: `REPEATABLE READ`; SQLite (WAL): a deferred transaction reads one snapshot
/// from its first read on.
pub fn in_snapshot<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    conn.transaction(|c| {
        if matches!(c, DbConn::Postgres(_)) {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(c)?;
        }
        f(c)
    })
}

/// (status, decision, respondent type, provision key, comments).
type Group = (String, Option<String>, String, Option<String>, i64);

/// The round on version `number` (the latest round when `None`) and its figures, computed
/// in the database. A draft that is not public, or a version without a round, has none.
pub fn head(conn: &mut DbConn, draft_id: i64, number: Option<i32>) -> Result<ReportHead, AppError> {
    let draft: DraftRow = drafts::table
        .find(draft_id)
        .select(DraftRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    if DraftStatus::parse(&draft.status).map_or(true, |s| !s.is_public()) {
        return Err(AppError::NotFound);
    }
    let mut q = consultation_rounds::table
        .inner_join(versions::table.on(versions::id.eq(consultation_rounds::version_id)))
        .filter(consultation_rounds::draft_id.eq(draft_id))
        .filter(versions::published_at.is_not_null())
        .into_boxed();
    if let Some(n) = number {
        q = q.filter(versions::number.eq(n));
    }
    let (round, version): (RoundRow, VersionRow) = q
        .order(versions::number.desc())
        .select((RoundRow::as_select(), VersionRow::as_select()))
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let provisions: Vec<ProvisionRow> = provisions::table
        .filter(provisions::version_id.eq(version.id))
        .order(provisions::position)
        .select(ProvisionRow::as_select())
        .load(conn)?;
    let position: HashMap<&str, usize> = provisions
        .iter()
        .enumerate()
        .map(|(i, p)| (p.key.as_str(), i))
        .collect();
    let names = place_names(&provisions);

    // Published comments grouped by everything a figure splits them by: a few hundred rows
    // at most, whatever the number of comments.
    let groups: Vec<Group> = comments::table
        .left_join(dispositions::table.on(dispositions::comment_id.eq(comments::id)))
        .filter(comments::version_id.eq(version.id))
        .filter(comments::status.eq_any([PUBLISHED, WITHDRAWN]))
        // Literal SQL: diesel cannot check a grouping over two tables.
        .group_by(sql::<Text>(
            "comments.status, dispositions.decision, comments.respondent_type, comments.provision_key",
        ))
        .select((
            sql::<Text>("comments.status"),
            sql::<Nullable<Text>>("dispositions.decision"),
            sql::<Text>("comments.respondent_type"),
            sql::<Nullable<Text>>("comments.provision_key"),
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    // The median needs every duration; 8 bytes per answered comment.
    let answered_at: Vec<(NaiveDateTime, NaiveDateTime)> = comments::table
        .inner_join(dispositions::table.on(dispositions::comment_id.eq(comments::id)))
        .filter(comments::version_id.eq(version.id))
        .filter(comments::status.eq(PUBLISHED))
        .select((comments::created_at, dispositions::decided_at))
        .load(conn)?;
    let durations: Vec<f64> = answered_at
        .into_iter()
        .map(|(created, decided)| days_between(created, decided))
        .collect();

    let mut published = 0i64;
    let mut withdrawn = 0i64;
    let mut by_decision: HashMap<String, i64> = HashMap::new();
    let mut by_type: HashMap<String, i64> = HashMap::new();
    let mut by_key: HashMap<Option<String>, i64> = HashMap::new();
    for (status, decision, respondent_type, provision_key, n) in groups {
        if status == PUBLISHED {
            published += n;
            *by_decision
                .entry(decision.unwrap_or_else(|| NOT_ANSWERED.into()))
                .or_default() += n;
            *by_type.entry(respondent_type).or_default() += n;
            *by_key.entry(provision_key).or_default() += n;
        } else {
            withdrawn += n;
        }
    }
    let answered = durations.len() as i64;
    let by_disposition = DECISIONS
        .iter()
        .copied()
        .chain([NOT_ANSWERED])
        .map(|d| Count {
            key: d.to_string(),
            count: by_decision.remove(d).unwrap_or(0),
        })
        .collect();
    let mut by_respondent_type: Vec<Count> = RespondentType::ALL
        .iter()
        .map(|t| Count {
            key: t.as_str().to_string(),
            count: by_type.remove(t.as_str()).unwrap_or(0),
        })
        .collect();
    let mut others: Vec<Count> = by_type
        .into_iter()
        .map(|(key, count)| Count { key, count })
        .collect();
    others.sort_by(|a, b| a.key.cmp(&b.key));
    by_respondent_type.extend(others);
    let mut by_provision: Vec<ProvisionCount> = by_key
        .into_iter()
        .map(|(key, count)| ProvisionCount {
            provision: name_in(&names, &key),
            provision_key: key,
            count,
        })
        .collect();
    let order = |k: &Option<String>| {
        k.as_deref()
            .map_or(0, |k| position.get(k).map_or(usize::MAX, |i| i + 1))
    };
    by_provision.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| order(&a.provision_key).cmp(&order(&b.provision_key)))
    });
    Ok(ReportHead {
        report: Report {
            draft_id,
            draft_title: draft.title,
            version: version.number,
            round: RoundDates {
                opens_at: time::machine(round.opens_at),
                closes_at: time::machine(round.closes_at),
            },
            generated_at: time::machine(time::now()),
            totals: Totals {
                comments: published + withdrawn,
                published,
                withdrawn,
                answered,
                not_answered: published - answered,
                share_answered_percent: (published > 0)
                    .then(|| answered as f64 * 100.0 / published as f64),
                median_days_to_answer: median(&durations),
            },
            by_disposition,
            by_respondent_type,
            by_provision,
            comments: Vec::new(),
        },
        version_id: version.id,
        names,
    })
}

type Line = (
    (i64, String, NaiveDateTime, Option<String>, String, String),
    (String, String, String, Option<NaiveDateTime>, bool),
    (Option<String>, Option<String>),
    (
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
        Option<String>,
    ),
);

/// Up to `limit` comments of the round with an id above `after`, oldest first: one keyset
/// page (an index range scan over `(version_id, id)`, however deep into the round).
pub fn comments_after(
    conn: &mut DbConn,
    head: &ReportHead,
    after: i64,
    limit: i64,
) -> Result<Vec<ReportComment>, AppError> {
    // The replied-to and the duplicated comment, for their tracking numbers.
    let (parents, originals) = diesel::alias!(comments as parents, comments as originals);
    let lines: Vec<Line> = comments::table
        .inner_join(users::table)
        .left_join(organizations::table)
        .left_join(dispositions::table.on(dispositions::comment_id.eq(comments::id)))
        .left_join(
            parents.on(comments::parent_id
                .eq(parents.field(comments::id).nullable())
                .and(parents.field(comments::draft_id).eq(comments::draft_id))),
        )
        .left_join(
            originals.on(dispositions::duplicate_of
                .eq(originals.field(comments::id).nullable())
                .and(originals.field(comments::draft_id).eq(comments::draft_id))),
        )
        .filter(comments::version_id.eq(head.version_id))
        .filter(comments::status.eq_any([PUBLISHED, WITHDRAWN]))
        .filter(comments::id.gt(after))
        .order(comments::id)
        .limit(limit)
        .select((
            (
                comments::id,
                comments::tracking_number,
                comments::created_at,
                comments::provision_key,
                comments::respondent_type,
                comments::stance,
            ),
            (
                comments::status,
                comments::body,
                users::display_name,
                users::deleted_at,
                comments::show_as_participant,
            ),
            (
                organizations::name.nullable(),
                parents.field(comments::tracking_number).nullable(),
            ),
            (
                dispositions::decision.nullable(),
                dispositions::justification.nullable(),
                dispositions::decided_at.nullable(),
                originals.field(comments::tracking_number).nullable(),
            ),
        ))
        .load(conn)?;
    Ok(lines
        .into_iter()
        .map(
            |(
                (id, tracking_number, created_at, provision_key, respondent_type, stance),
                (status, body, display_name, author_deleted, as_participant),
                (organization, reply_to),
                (decision, justification, decided_at, duplicate_of),
            )| {
                let is_published = status == PUBLISHED;
                ReportComment {
                    id,
                    tracking_number,
                    created_at: time::machine(created_at),
                    provision: head.name_of(&provision_key),
                    provision_key,
                    reply_to,
                    respondent_type,
                    author: if author_deleted.is_some() {
                        String::new()
                    } else if as_participant {
                        crate::services::comparison::PARTICIPANT.to_string()
                    } else {
                        display_name
                    },
                    organization,
                    stance,
                    status,
                    text: is_published.then_some(body),
                    decision,
                    justification,
                    decided_at: decided_at.map(time::machine),
                    duplicate_of,
                    days_to_answer: decided_at.map(|d| days_between(created_at, d)),
                }
            },
        )
        .collect())
}

/// The whole report of the round on version `number` (the latest round when `None`), every
/// comment in memory: for the HTML page. The exports stream instead ([`export`]).
pub fn report(conn: &mut DbConn, draft_id: i64, number: Option<i32>) -> Result<Report, AppError> {
    in_snapshot(conn, |conn| {
        let mut head = head(conn, draft_id, number)?;
        let mut list = Vec::new();
        let mut after = 0;
        loop {
            let page = comments_after(conn, &head, after, PAGE_ROWS)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let full = page.len() as i64 == PAGE_ROWS;
            list.extend(page);
            if !full {
                break;
            }
        }
        head.report.comments = list;
        Ok(head.report)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

/// How an export ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every byte was handed on.
    Complete,
    /// The receiver refused a piece (the reader went away, or stopped reading): what was
    /// handed on is incomplete.
    Stopped,
}

/// The CSV columns, the same as the JSON `comments` fields (but `id`).
pub const CSV_COLUMNS: [&str; 16] = [
    "tracking_number",
    "created_at",
    "provision_key",
    "provision",
    "reply_to",
    "respondent_type",
    "author",
    "organization",
    "stance",
    "status",
    "text",
    "decision",
    "justification",
    "decided_at",
    "duplicate_of",
    "days_to_answer",
];

fn csv_failed(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("csv: {e}"))
}

fn json_failed(e: serde_json::Error) -> AppError {
    AppError::Internal(format!("json: {e}"))
}

/// Appends CSV rows (no header) for `comments` to `out`.
fn write_csv_rows(out: &mut Vec<u8>, comments: &[ReportComment]) -> Result<(), AppError> {
    let mut w = csv::Writer::from_writer(out);
    for c in comments {
        let days = c
            .days_to_answer
            .map(|d| format!("{d:.2}"))
            .unwrap_or_default();
        w.write_record([
            c.tracking_number.as_str(),
            c.created_at.as_str(),
            c.provision_key.as_deref().unwrap_or(""),
            c.provision.as_str(),
            c.reply_to.as_deref().unwrap_or(""),
            c.respondent_type.as_str(),
            c.author.as_str(),
            c.organization.as_deref().unwrap_or(""),
            c.stance.as_str(),
            c.status.as_str(),
            c.text.as_deref().unwrap_or(""),
            c.decision.as_deref().unwrap_or(""),
            c.justification.as_deref().unwrap_or(""),
            c.decided_at.as_deref().unwrap_or(""),
            c.duplicate_of.as_deref().unwrap_or(""),
            days.as_str(),
        ])
        .map_err(csv_failed)?;
    }
    w.flush().map_err(csv_failed)
}

/// Appends one element of the pretty-printed `comments` array to `out`, byte for byte what
/// `serde_json::to_string_pretty` of the whole report writes there.
fn write_json_comment(out: &mut Vec<u8>, c: &ReportComment, first: bool) -> Result<(), AppError> {
    let one = serde_json::to_vec_pretty(c).map_err(json_failed)?;
    out.extend_from_slice(if first { b"\n" } else { b",\n" });
    // Strings escape their line breaks, so every raw line break is between fields.
    for (i, line) in one.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(b"    ");
        out.extend_from_slice(line);
    }
    Ok(())
}

/// The report as CSV (one row per comment, header first, the same columns as the JSON
/// `comments`; the totals are on the HTML page and in the JSON) or as pretty-printed JSON
/// (the [`Report`] fields in order), handed to `sink` in pieces of about [`CHUNK_BYTES`] as
/// the comments are read, a page of [`PAGE_ROWS`] at a time, in one read transaction.
/// `started` gets the head once the round is found, before the first piece; errors before
/// that (not found) leave `sink` untouched. `sink` returns `false` to stop.
pub fn export(
    conn: &mut DbConn,
    draft_id: i64,
    number: Option<i32>,
    format: ExportFormat,
    started: impl FnOnce(&Report),
    sink: &mut dyn FnMut(Vec<u8>) -> bool,
) -> Result<Outcome, AppError> {
    in_snapshot(conn, |conn| {
        let head = head(conn, draft_id, number)?;
        started(&head.report);
        let mut out: Vec<u8> = Vec::with_capacity(CHUNK_BYTES * 2);
        match format {
            ExportFormat::Csv => {
                let mut w = csv::Writer::from_writer(&mut out);
                w.write_record(CSV_COLUMNS).map_err(csv_failed)?;
                w.flush().map_err(csv_failed)?;
            }
            ExportFormat::Json => {
                // The head as `to_string_pretty` writes it, up to the comments' `[`.
                let whole = serde_json::to_string_pretty(&head.report).map_err(json_failed)?;
                let open = whole
                    .strip_suffix("[]\n}")
                    .ok_or_else(|| AppError::Internal("json: unexpected report shape".into()))?;
                out.extend_from_slice(open.as_bytes());
                out.push(b'[');
            }
        }
        let mut after = 0;
        let mut first = true;
        loop {
            let page = comments_after(conn, &head, after, PAGE_ROWS)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for rows in page.chunks(32) {
                match format {
                    ExportFormat::Csv => write_csv_rows(&mut out, rows)?,
                    ExportFormat::Json => {
                        for c in rows {
                            write_json_comment(&mut out, c, first)?;
                            first = false;
                        }
                    }
                }
                first = false;
                if out.len() >= CHUNK_BYTES
                    && !sink(std::mem::replace(
                        &mut out,
                        Vec::with_capacity(CHUNK_BYTES * 2),
                    ))
                {
                    return Ok(Outcome::Stopped);
                }
            }
            if (page.len() as i64) < PAGE_ROWS {
                break;
            }
        }
        if format == ExportFormat::Json {
            out.extend_from_slice(if first { b"]\n}" } else { b"\n  ]\n}" });
        }
        if !out.is_empty() && !sink(out) {
            return Ok(Outcome::Stopped);
        }
        Ok(Outcome::Complete)
    })
}

/// The whole export in memory (tests, small rounds).
pub fn export_bytes(
    conn: &mut DbConn,
    draft_id: i64,
    number: Option<i32>,
    format: ExportFormat,
) -> Result<Vec<u8>, AppError> {
    let mut all = Vec::new();
    export(conn, draft_id, number, format, |_| {}, &mut |piece| {
        all.extend_from_slice(&piece);
        true
    })?;
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
