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
use diesel::prelude::*;
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

type Line = (
    (
        i64,
        String,
        NaiveDateTime,
        Option<String>,
        Option<i64>,
        String,
    ),
    (String, String, String, String, Option<NaiveDateTime>, bool),
    Option<String>,
    (
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
        Option<i64>,
    ),
);

/// The report of the round on version `number`, or of the latest round when `None`. A
/// draft that is not public, or a version without a round, has none.
pub fn report(conn: &mut DbConn, draft_id: i64, number: Option<i32>) -> Result<Report, AppError> {
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
    let lines: Vec<Line> = comments::table
        .inner_join(users::table)
        .left_join(organizations::table)
        .left_join(dispositions::table.on(dispositions::comment_id.eq(comments::id)))
        .filter(comments::version_id.eq(version.id))
        .filter(comments::status.eq_any([PUBLISHED, WITHDRAWN]))
        .order(comments::id)
        .select((
            (
                comments::id,
                comments::tracking_number,
                comments::created_at,
                comments::provision_key,
                comments::parent_id,
                comments::respondent_type,
            ),
            (
                comments::stance,
                comments::status,
                comments::body,
                users::display_name,
                users::deleted_at,
                comments::show_as_participant,
            ),
            organizations::name.nullable(),
            (
                dispositions::decision.nullable(),
                dispositions::justification.nullable(),
                dispositions::decided_at.nullable(),
                dispositions::duplicate_of.nullable(),
            ),
        ))
        .load(conn)?;
    // Tracking numbers of replied-to and duplicated comments (any version of the draft).
    let tracking: HashMap<i64, String> = comments::table
        .filter(comments::draft_id.eq(draft_id))
        .select((comments::id, comments::tracking_number))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();

    let position: HashMap<&str, (usize, &ProvisionRow)> = provisions
        .iter()
        .enumerate()
        .map(|(i, p)| (p.key.as_str(), (i, p)))
        .collect();
    let names = place_names(&provisions);
    let name_of = |key: &Option<String>| -> String {
        key.as_deref()
            .and_then(|k| names.get(k))
            .cloned()
            .or_else(|| key.clone())
            .unwrap_or_default()
    };

    let mut published = 0i64;
    let mut withdrawn = 0i64;
    let mut by_decision: HashMap<String, i64> = HashMap::new();
    let mut by_type: HashMap<String, i64> = HashMap::new();
    let mut by_key: HashMap<Option<String>, i64> = HashMap::new();
    let mut durations = Vec::new();
    let mut list = Vec::with_capacity(lines.len());
    for (
        (id, tracking_number, created_at, provision_key, parent_id, respondent_type),
        (stance, status, body, display_name, author_deleted, as_participant),
        organization,
        (decision, justification, decided_at, duplicate_of),
    ) in lines
    {
        let is_published = status == PUBLISHED;
        let days = decided_at.map(|d| days_between(created_at, d));
        if is_published {
            published += 1;
            *by_decision
                .entry(decision.clone().unwrap_or_else(|| NOT_ANSWERED.into()))
                .or_default() += 1;
            *by_type.entry(respondent_type.clone()).or_default() += 1;
            *by_key.entry(provision_key.clone()).or_default() += 1;
            if let Some(d) = days {
                durations.push(d);
            }
        } else {
            withdrawn += 1;
        }
        list.push(ReportComment {
            id,
            tracking_number,
            created_at: time::machine(created_at),
            provision: name_of(&provision_key),
            provision_key,
            reply_to: parent_id.and_then(|p| tracking.get(&p).cloned()),
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
            duplicate_of: duplicate_of.and_then(|d| tracking.get(&d).cloned()),
            days_to_answer: days,
        });
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
            provision: name_of(&key),
            provision_key: key,
            count,
        })
        .collect();
    let order = |k: &Option<String>| {
        k.as_deref()
            .map_or(0, |k| position.get(k).map_or(usize::MAX, |(i, _)| i + 1))
    };
    by_provision.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| order(&a.provision_key).cmp(&order(&b.provision_key)))
    });
    Ok(Report {
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
        comments: list,
    })
}

/// The report as CSV: one row per comment (header first), with the same columns as the
/// JSON `comments`. The totals are on the HTML page and in the JSON.
pub fn to_csv(report: &Report) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    w.write_record([
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
    ])
    .map_err(fail)?;
    for c in &report.comments {
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
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))
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
