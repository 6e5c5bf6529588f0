//! Campaigns: near-identical comments (mass campaigns, form letters) on one draft, grouped by
//! text similarity so that the working group can answer a whole cluster with one decision.
//!
//! Clusters are computed on demand from the draft's published top-level comments (replies are
//! conversation, not submissions): MinHash over word shingles with LSH banding, see
//! [`similarity`]. Nothing is stored, so a changed threshold or a withdrawn comment is
//! reflected on the next look.

pub mod similarity;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::models::UserRow;
use crate::db::schema::{comments, drafts, users};
use crate::error::AppError;
use crate::services::comments::PUBLISHED;
use crate::services::working_groups;

pub use similarity::{DEFAULT_MIN_SIZE, DEFAULT_THRESHOLD};

/// Characters of the sample text shown for a cluster.
pub const SAMPLE_CHARS: usize = 400;

/// One comment of a cluster, as the campaign page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMember {
    pub id: i64,
    pub tracking_number: String,
    pub author_name: String,
    pub author_deleted: bool,
    pub created_at: NaiveDateTime,
}

/// A group of near-identical comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// Ascending.
    pub comment_ids: Vec<i64>,
    pub size: usize,
    /// The earliest comment of the cluster: it names the cluster (`?campaign=<id>`) and
    /// supplies the sample.
    pub representative_id: i64,
    /// The start of the representative's text, as plain text.
    pub sample: String,
    /// Same order as `comment_ids`.
    pub members: Vec<ClusterMember>,
}

struct Row {
    id: i64,
    text: String,
    tracking_number: String,
    author_name: String,
    author_deleted: bool,
    created_at: NaiveDateTime,
}

/// The draft's published top-level comments with the text that is compared: the comment and
/// any proposed wording, as plain text.
fn load(conn: &mut DbConn, draft_id: i64) -> QueryResult<Vec<Row>> {
    type Loaded = (
        i64,
        String,
        Option<String>,
        String,
        String,
        Option<NaiveDateTime>,
        NaiveDateTime,
    );
    let rows: Vec<Loaded> = comments::table
        .inner_join(users::table)
        .filter(comments::draft_id.eq(draft_id))
        .filter(comments::parent_id.is_null())
        .filter(comments::status.eq(PUBLISHED))
        .order(comments::id)
        .select((
            comments::id,
            comments::body,
            comments::proposed_wording,
            comments::tracking_number,
            users::display_name,
            users::deleted_at,
            comments::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, body, wording, tracking_number, author_name, deleted, created_at)| {
                let mut text = crate::markdown::to_plain_text(&body);
                if let Some(w) = wording {
                    text.push(' ');
                    text.push_str(&crate::markdown::to_plain_text(&w));
                }
                Row {
                    id,
                    text,
                    tracking_number,
                    author_name,
                    author_deleted: deleted.is_some(),
                    created_at,
                }
            },
        )
        .collect())
}

/// Only the draft's working group and admins see its campaigns (they are part of triage).
/// Returns the draft's title.
pub fn authorize(conn: &mut DbConn, draft_id: i64, user: &UserRow) -> Result<String, AppError> {
    if !user.is_admin && working_groups::is_member(conn, draft_id, user.id)?.is_none() {
        return Err(AppError::Forbidden(
            "Only the draft's working group and administrators can see its campaigns.".into(),
        ));
    }
    drafts::table
        .find(draft_id)
        .select(drafts::title)
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

/// Cuts `text` to at most `max` characters at a word boundary, with an ellipsis when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > 0 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches(|c: char| !c.is_alphanumeric()))
}

fn params(threshold: f64, min_size: usize) -> similarity::Params {
    similarity::Params {
        threshold,
        min_size,
        ..similarity::Params::default()
    }
}

/// The campaigns of a draft: clusters of at least `min_size` comments whose texts have an
/// estimated shingle similarity of at least `threshold` (chained: A~B and B~C put A, B and C
/// together). Largest first, then by earliest comment; comments in id order.
pub fn clusters(
    conn: &mut DbConn,
    draft_id: i64,
    threshold: f64,
    min_size: usize,
) -> Result<Vec<Cluster>, AppError> {
    let rows = load(conn, draft_id)?;
    let items: Vec<(i64, &str)> = rows.iter().map(|r| (r.id, r.text.as_str())).collect();
    let groups = similarity::cluster(&items, &params(threshold, min_size));
    let by_id: HashMap<i64, &Row> = rows.iter().map(|r| (r.id, r)).collect();
    Ok(groups
        .into_iter()
        .map(|ids| {
            let representative_id = ids[0];
            let members = ids
                .iter()
                .map(|id| {
                    let r = by_id[id];
                    ClusterMember {
                        id: r.id,
                        tracking_number: r.tracking_number.clone(),
                        author_name: r.author_name.clone(),
                        author_deleted: r.author_deleted,
                        created_at: r.created_at,
                    }
                })
                .collect();
            Cluster {
                size: ids.len(),
                sample: excerpt(&by_id[&representative_id].text, SAMPLE_CHARS),
                representative_id,
                comment_ids: ids,
                members,
            }
        })
        .collect())
}

/// The comments of the campaign that `representative_id` belongs to (any member's id finds
/// it); empty when that comment is in no campaign of this draft. For the triage queue's
/// `?campaign=` filter.
pub fn members_of(
    conn: &mut DbConn,
    draft_id: i64,
    representative_id: i64,
    threshold: f64,
    min_size: usize,
) -> Result<Vec<i64>, AppError> {
    let rows = load(conn, draft_id)?;
    let items: Vec<(i64, &str)> = rows.iter().map(|r| (r.id, r.text.as_str())).collect();
    Ok(similarity::cluster(&items, &params(threshold, min_size))
        .into_iter()
        .find(|ids| ids.binary_search(&representative_id).is_ok())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_at_a_word_and_mark_the_cut() {
        assert_eq!(excerpt("short text", 20), "short text");
        assert_eq!(excerpt("one two three four", 10), "one two…");
        assert_eq!(excerpt("Привет, мир и все остальные", 12), "Привет, мир…");
        assert_eq!(excerpt("abcdefghijkl", 5), "abcde…");
    }
}
