//! The comparison table between two versions of a draft, generated from the stored
//! provisions and never typed by hand: one row per provision that was changed (same key,
//! different text), added (key only in the new version), removed (key only in the old one)
//! or moved (same key and text, but a different place among the others or a different
//! parent). Unchanged provisions are not rows. Each row carries the comments that the
//! working group recorded as addressed by the change (`revision_links`), with their
//! dispositions.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use similar::{Algorithm, ChangeTag, DiffOp};

use crate::db::DbConn;
use crate::db::models::{DraftRow, ProvisionRow, VersionRow};
use crate::db::schema::{
    comments, dispositions, drafts, organizations, provisions, revision_links, users, versions,
};
use crate::domain::DraftStatus;
use crate::error::AppError;

/// What happened to a provision between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Changed,
    Added,
    Removed,
    Moved,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Changed => "changed",
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Moved => "moved",
        }
    }
}

/// A comment that a change addresses, as the table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedComment {
    pub id: i64,
    pub tracking_number: String,
    pub author: String,
    pub author_deleted: bool,
    pub organization: Option<String>,
    pub provision_key: Option<String>,
    pub version_number: i32,
    /// The start of the comment's text (plain); `None` when withdrawn.
    pub excerpt: Option<String>,
    pub withdrawn: bool,
    /// `accepted`, `partially_accepted`, `rejected`, `noted` or `duplicate`; `None` while
    /// the working group has not answered.
    pub decision: Option<String>,
    pub justification: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
}

/// One row of the comparison table.
#[derive(Debug, Clone)]
pub struct Row {
    pub key: String,
    pub change: ChangeKind,
    /// A changed provision that also moved.
    pub also_moved: bool,
    /// How the provision is named (label and heading, or the start of its text).
    pub name: String,
    pub old_text: Option<String>,
    pub new_text: Option<String>,
    /// The word-level differences, as escaped HTML with `<ins>` and `<del>`.
    pub diff_html: String,
    pub comments: Vec<LinkedComment>,
}

/// What exports and tables print instead of the name of an author who asked not to be named.
pub const PARTICIPANT: &str = "Participant";
/// The length of a comment excerpt, in characters.
pub const EXCERPT_CHARS: usize = 240;

/// The text of a provision as the table shows it: label and heading on the first line, the
/// words of the body (without Markdown markup) below.
pub fn provision_text(p: &ProvisionRow) -> String {
    let head = [p.label.as_deref(), p.heading.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let body = crate::markdown::to_plain_text(&p.body);
    match (head.is_empty(), body.is_empty()) {
        (false, false) => format!("{head}\n{body}"),
        (false, true) => head,
        _ => body,
    }
}

/// A short name for a provision: its label and heading, or the first words of its text.
pub fn provision_name(p: &ProvisionRow) -> String {
    let head = [p.label.as_deref(), p.heading.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !head.is_empty() {
        return head;
    }
    let plain = crate::markdown::to_plain_text(&p.body);
    let words: Vec<&str> = plain.split_whitespace().collect();
    if words.len() > 8 {
        format!("{}…", words[..8].join(" "))
    } else {
        words.join(" ")
    }
}

/// Where each provision sits, by key: chapters, sections and articles by their label and
/// heading; a paragraph by its own label, or by its parent's name and its place among the
/// parent's paragraphs (`Article 5 Goals ¶ 2`).
pub fn place_names(list: &[ProvisionRow]) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    let mut stack: Vec<&ProvisionRow> = Vec::new();
    let mut counts: HashMap<Option<&str>, usize> = HashMap::new();
    for p in list {
        while stack.last().is_some_and(|top| top.depth >= p.depth) {
            stack.pop();
        }
        let parent = stack.last().map(|t| t.key.as_str());
        let has_head = [p.label.as_deref(), p.heading.as_deref()]
            .into_iter()
            .flatten()
            .any(|s| !s.trim().is_empty());
        let name = if p.kind != "paragraph" || has_head {
            let own = provision_name(p);
            match (p.kind == "paragraph", parent.and_then(|k| out.get(k))) {
                (true, Some(parent_name)) => format!("{parent_name} {own}"),
                _ => own,
            }
        } else {
            let n = counts.entry(parent).or_default();
            *n += 1;
            match parent.and_then(|k| out.get(k)) {
                Some(parent_name) => format!("{parent_name} ¶ {n}"),
                None => format!("¶ {n}"),
            }
        };
        out.insert(p.key.clone(), name);
        stack.push(p);
    }
    out
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Word-level differences from `old` to `new` as HTML: unchanged words escaped, deleted
/// ones in `<del>`, inserted ones in `<ins>` (consecutive words of one kind share a tag).
pub fn word_diff_html(old: &str, new: &str) -> String {
    let mut out = String::new();
    let mut open: Option<ChangeTag> = None;
    let close = |out: &mut String, tag: Option<ChangeTag>| match tag {
        Some(ChangeTag::Delete) => out.push_str("</del>"),
        Some(ChangeTag::Insert) => out.push_str("</ins>"),
        _ => {}
    };
    for (tag, text) in similar::utils::diff_words(Algorithm::Myers, old, new) {
        // Whitespace between two changed words of the same kind stays inside the tag.
        let tag = if tag == ChangeTag::Equal
            && text.trim().is_empty()
            && open.is_some_and(|t| t != ChangeTag::Equal)
        {
            open.unwrap_or(ChangeTag::Equal)
        } else {
            tag
        };
        if open != Some(tag) {
            close(&mut out, open);
            // Deleted then inserted words read apart ("kept held", not "keptheld").
            if open == Some(ChangeTag::Delete) && tag == ChangeTag::Insert {
                out.push(' ');
            }
            match tag {
                ChangeTag::Delete => out.push_str("<del>"),
                ChangeTag::Insert => out.push_str("<ins>"),
                ChangeTag::Equal => {}
            }
            open = Some(tag);
        }
        out.push_str(&escape_html(text));
    }
    close(&mut out, open);
    // A tag that only swallowed trailing whitespace closes before it.
    out.replace(" </del>", "</del> ")
        .replace(" </ins>", "</ins> ")
}

/// The parent of each provision (the nearest earlier one with a smaller depth), by key.
fn parents(list: &[ProvisionRow]) -> HashMap<&str, Option<&str>> {
    let mut stack: Vec<&ProvisionRow> = Vec::new();
    let mut out = HashMap::new();
    for p in list {
        while stack.last().is_some_and(|top| top.depth >= p.depth) {
            stack.pop();
        }
        out.insert(p.key.as_str(), stack.last().map(|t| t.key.as_str()));
        stack.push(p);
    }
    out
}

fn same_text(a: &ProvisionRow, b: &ProvisionRow) -> bool {
    a.kind == b.kind
        && a.label.as_deref().map(str::trim).unwrap_or("")
            == b.label.as_deref().map(str::trim).unwrap_or("")
        && a.heading.as_deref().map(str::trim).unwrap_or("")
            == b.heading.as_deref().map(str::trim).unwrap_or("")
        && a.body.trim() == b.body.trim()
}

/// The rows between two lists of provisions (each in document order), without comments:
/// in the document order of `new`, each removed provision placed after the provision that
/// preceded it in `old` (its place in the new text).
pub fn diff(old: &[ProvisionRow], new: &[ProvisionRow]) -> Vec<Row> {
    let old_by_key: HashMap<&str, (usize, &ProvisionRow)> = old
        .iter()
        .enumerate()
        .map(|(i, p)| (p.key.as_str(), (i, p)))
        .collect();
    let new_pos: HashMap<&str, usize> = new
        .iter()
        .enumerate()
        .map(|(i, p)| (p.key.as_str(), i))
        .collect();

    // Provisions present in both keep their relative order unless they moved: the longest
    // common subsequence of the shared keys stays, the rest moved.
    let old_common: Vec<&str> = old
        .iter()
        .map(|p| p.key.as_str())
        .filter(|k| new_pos.contains_key(k))
        .collect();
    let new_common: Vec<&str> = new
        .iter()
        .map(|p| p.key.as_str())
        .filter(|k| old_by_key.contains_key(k))
        .collect();
    let mut in_order: HashSet<&str> = HashSet::new();
    for op in similar::capture_diff_slices(Algorithm::Patience, &old_common, &new_common) {
        if let DiffOp::Equal { new_index, len, .. } = op {
            in_order.extend(new_common[new_index..new_index + len].iter().copied());
        }
    }
    let old_parents = parents(old);
    let new_parents = parents(new);
    let old_names = place_names(old);
    let new_names = place_names(new);
    let name_in = |names: &HashMap<String, String>, p: &ProvisionRow| {
        names
            .get(&p.key)
            .cloned()
            .unwrap_or_else(|| provision_name(p))
    };

    // (sort key, row): new provisions by their position; removed ones after their anchor.
    let mut rows: Vec<((usize, usize, usize), Row)> = Vec::new();
    for (i, p) in new.iter().enumerate() {
        let sort = (i + 1, 0, 0);
        let new_text = provision_text(p);
        match old_by_key.get(p.key.as_str()) {
            None => rows.push((
                sort,
                Row {
                    key: p.key.clone(),
                    change: ChangeKind::Added,
                    also_moved: false,
                    name: name_in(&new_names, p),
                    old_text: None,
                    diff_html: format!("<ins>{}</ins>", escape_html(&new_text)),
                    new_text: Some(new_text),
                    comments: Vec::new(),
                },
            )),
            Some((_, o)) => {
                let moved = !in_order.contains(p.key.as_str())
                    || old_parents.get(p.key.as_str()) != new_parents.get(p.key.as_str());
                let changed = !same_text(o, p);
                if !changed && !moved {
                    continue;
                }
                let old_text = provision_text(o);
                rows.push((
                    sort,
                    Row {
                        key: p.key.clone(),
                        change: if changed {
                            ChangeKind::Changed
                        } else {
                            ChangeKind::Moved
                        },
                        also_moved: changed && moved,
                        name: name_in(&new_names, p),
                        diff_html: if changed {
                            word_diff_html(&old_text, &new_text)
                        } else {
                            escape_html(&new_text)
                        },
                        old_text: Some(old_text),
                        new_text: Some(new_text),
                        comments: Vec::new(),
                    },
                ));
            }
        }
    }
    for (j, o) in old.iter().enumerate() {
        if new_pos.contains_key(o.key.as_str()) {
            continue;
        }
        // The nearest earlier provision of the old text that stayed in place in the new one.
        let anchor = old[..j]
            .iter()
            .rev()
            .filter(|a| in_order.contains(a.key.as_str()))
            .find_map(|a| new_pos.get(a.key.as_str()))
            .map_or(0, |i| i + 1);
        let old_text = provision_text(o);
        rows.push((
            (anchor, 1, j),
            Row {
                key: o.key.clone(),
                change: ChangeKind::Removed,
                also_moved: false,
                name: name_in(&old_names, o),
                diff_html: format!("<del>{}</del>", escape_html(&old_text)),
                old_text: Some(old_text),
                new_text: None,
                comments: Vec::new(),
            },
        ));
    }
    rows.sort_by_key(|(k, _)| *k);
    rows.into_iter().map(|(_, r)| r).collect()
}

fn load_provisions(conn: &mut DbConn, version_id: i64) -> QueryResult<Vec<ProvisionRow>> {
    provisions::table
        .filter(provisions::version_id.eq(version_id))
        .order(provisions::position)
        .select(ProvisionRow::as_select())
        .load(conn)
}

type LinkRow = (
    String,
    i64,
    String,
    String,
    Option<NaiveDateTime>,
    bool,
    Option<String>,
    Option<String>,
    i32,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
);

/// The comments linked to changes in the given versions, by provision key (each comment
/// once per key, oldest first).
pub fn linked_comments(
    conn: &mut DbConn,
    version_ids: &[i64],
) -> QueryResult<HashMap<String, Vec<LinkedComment>>> {
    let rows: Vec<LinkRow> = revision_links::table
        .inner_join(comments::table.inner_join(users::table))
        .inner_join(versions::table.on(versions::id.eq(comments::version_id)))
        .left_join(
            organizations::table.on(organizations::id.nullable().eq(comments::organization_id)),
        )
        .left_join(dispositions::table.on(dispositions::comment_id.eq(comments::id)))
        .filter(revision_links::version_id.eq_any(version_ids))
        // Hidden, pending and rejected comments never reach the public comparison.
        .filter(comments::status.eq_any([
            crate::services::comments::PUBLISHED,
            crate::services::comments::WITHDRAWN,
        ]))
        .order((revision_links::provision_key, comments::id))
        .select((
            revision_links::provision_key,
            comments::id,
            comments::tracking_number,
            users::display_name,
            users::deleted_at,
            comments::show_as_participant,
            organizations::name.nullable(),
            comments::provision_key,
            versions::number,
            comments::status,
            comments::body,
            dispositions::decision.nullable(),
            dispositions::justification.nullable(),
            dispositions::decided_at.nullable(),
        ))
        .load(conn)?;
    let mut out: HashMap<String, Vec<LinkedComment>> = HashMap::new();
    for (
        key,
        id,
        tracking_number,
        author,
        deleted,
        as_participant,
        organization,
        provision_key,
        version_number,
        status,
        body,
        decision,
        justification,
        decided_at,
    ) in rows
    {
        let list = out.entry(key).or_default();
        if list.iter().any(|c| c.id == id) {
            continue;
        }
        let withdrawn = status == crate::services::comments::WITHDRAWN;
        list.push(LinkedComment {
            id,
            tracking_number,
            author: if as_participant {
                PARTICIPANT.to_string()
            } else {
                author
            },
            author_deleted: deleted.is_some(),
            organization,
            provision_key,
            version_number,
            excerpt: (!withdrawn).then(|| excerpt(&body)),
            withdrawn,
            decision,
            justification,
            decided_at,
        });
    }
    Ok(out)
}

/// The first [`EXCERPT_CHARS`] characters of a comment's words.
pub fn excerpt(markdown: &str) -> String {
    let plain = crate::markdown::to_plain_text(markdown);
    if plain.chars().count() <= EXCERPT_CHARS {
        plain
    } else {
        let cut: String = plain.chars().take(EXCERPT_CHARS).collect();
        let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
        format!("{cut}…")
    }
}

/// The table between two versions of one draft, with the comments recorded for every
/// version after `from` up to `to`. `to` may be the unpublished working version (the
/// working group's preview); the public entry point is [`table`].
pub fn table_between(
    conn: &mut DbConn,
    from: &VersionRow,
    to: &VersionRow,
) -> Result<Vec<Row>, AppError> {
    let old = load_provisions(conn, from.id)?;
    let new = load_provisions(conn, to.id)?;
    let mut rows = diff(&old, &new);
    let version_ids: Vec<i64> = versions::table
        .filter(versions::draft_id.eq(to.draft_id))
        .filter(versions::number.gt(from.number))
        .filter(versions::number.le(to.number))
        .select(versions::id)
        .load(conn)?;
    let mut links = linked_comments(conn, &version_ids)?;
    for row in &mut rows {
        if let Some(list) = links.remove(&row.key) {
            row.comments = list;
        }
    }
    Ok(rows)
}

/// The two published versions being compared.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub draft: DraftRow,
    pub from: VersionRow,
    pub to: VersionRow,
    pub rows: Vec<Row>,
}

/// The public comparison of versions `from_number` → `to_number` of a published draft.
/// Unknown or unpublished versions, and `from >= to`, are not found.
pub fn comparison(
    conn: &mut DbConn,
    draft_id: i64,
    from_number: i32,
    to_number: i32,
) -> Result<Comparison, AppError> {
    let draft: DraftRow = drafts::table
        .find(draft_id)
        .select(DraftRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    if DraftStatus::parse(&draft.status).map_or(true, |s| !s.is_public())
        || from_number >= to_number
    {
        return Err(AppError::NotFound);
    }
    let mut published = |n: i32| -> Result<VersionRow, AppError> {
        versions::table
            .filter(versions::draft_id.eq(draft_id))
            .filter(versions::number.eq(n))
            .filter(versions::published_at.is_not_null())
            .select(VersionRow::as_select())
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)
    };
    let from = published(from_number)?;
    let to = published(to_number)?;
    let rows = table_between(conn, &from, &to)?;
    Ok(Comparison {
        draft,
        from,
        to,
        rows,
    })
}

/// The rows of the public comparison table (see [`comparison`]).
pub fn table(
    conn: &mut DbConn,
    draft_id: i64,
    from_number: i32,
    to_number: i32,
) -> Result<Vec<Row>, AppError> {
    Ok(comparison(conn, draft_id, from_number, to_number)?.rows)
}

/// The comparison as CSV: a header row, then one row per changed provision. Comments are
/// listed in one cell each, one per line: `TRACKING (author) [decision]: justification`.
pub fn to_csv(rows: &[Row]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    w.write_record([
        "key",
        "change",
        "provision",
        "old_text",
        "new_text",
        "comment_tracking_numbers",
        "comments",
    ])
    .map_err(fail)?;
    for r in rows {
        let tracking = r
            .comments
            .iter()
            .map(|c| c.tracking_number.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let comments = r
            .comments
            .iter()
            .map(|c| {
                let decision = c.decision.as_deref().unwrap_or("not yet answered");
                let mut line = format!("{} ({}) [{decision}]", c.tracking_number, c.author);
                if let Some(j) = &c.justification {
                    line.push_str(": ");
                    line.push_str(j);
                }
                line
            })
            .collect::<Vec<_>>()
            .join("\n");
        let change = if r.also_moved {
            "changed and moved"
        } else {
            r.change.as_str()
        };
        w.write_record([
            r.key.as_str(),
            change,
            r.name.as_str(),
            r.old_text.as_deref().unwrap_or(""),
            r.new_text.as_deref().unwrap_or(""),
            tracking.as_str(),
            comments.as_str(),
        ])
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(key: &str, kind: &str, depth: i32, label: Option<&str>, body: &str) -> ProvisionRow {
        ProvisionRow {
            id: 0,
            version_id: 0,
            key: key.into(),
            kind: kind.into(),
            position: 0,
            depth,
            label: label.map(Into::into),
            heading: None,
            body: body.into(),
        }
    }

    #[test]
    fn word_diff_marks_changed_words_and_escapes() {
        let html = word_diff_html(
            "the state <b> may collect data",
            "the state must collect data",
        );
        assert_eq!(
            html,
            "the state <del>&lt;b&gt; may</del> <ins>must</ins> collect data"
        );
    }

    #[test]
    fn rows_in_new_order_with_removed_at_their_old_place() {
        let old = vec![
            p("art1", "article", 0, Some("Article 1"), ""),
            p("art1.p1", "paragraph", 1, None, "one"),
            p("art1.p2", "paragraph", 1, None, "two"),
            p("art2", "article", 0, Some("Article 2"), ""),
            p("art2.p1", "paragraph", 1, None, "three"),
            p("art3", "article", 0, Some("Article 3"), ""),
        ];
        let new = vec![
            p("art1", "article", 0, Some("Article 1"), ""),
            p("art1.p1", "paragraph", 1, None, "one, changed"),
            p("art2", "article", 0, Some("Article 2"), ""),
            p("art2.p1", "paragraph", 1, None, "three"),
            p("art3", "article", 0, Some("Article 3"), ""),
            p("art1.p2", "paragraph", 1, None, "two"),
            p("art3.p9", "paragraph", 1, None, "new"),
        ];
        let rows = diff(&old, &new);
        let got: Vec<(&str, ChangeKind)> =
            rows.iter().map(|r| (r.key.as_str(), r.change)).collect();
        assert_eq!(
            got,
            vec![
                ("art1.p1", ChangeKind::Changed),
                ("art1.p2", ChangeKind::Moved),
                ("art3.p9", ChangeKind::Added),
            ]
        );
        let removed = diff(&new, &old);
        assert!(
            removed
                .iter()
                .any(|r| r.key == "art3.p9" && r.change == ChangeKind::Removed)
        );
        // The removed paragraph comes where it stood: after art3's other rows.
        assert_eq!(removed.last().unwrap().key, "art3.p9");
    }
}
