//! Revisions: the working group turns the feedback on version N into version N+1. It starts
//! a revision (an unpublished copy of N's provisions, same keys, while the draft is in
//! review), edits it provision by provision or re-imports the whole Markdown text, records
//! for each change the comments it addresses (`revision_links`), and publishes it with a
//! change summary (status `revised`, or `open` with a new consultation round).
//!
//! Only the draft's working-group members (chair or member) and admins may do any of it;
//! every action is recorded in the audit log under `draft:{id}` with its before and after.
//! Version N+1 is always based on version N (the latest published one): nothing stores it.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::DbConn;
use crate::db::dialect::write_transaction;
use crate::db::models::{DraftRow, NewProvisionRow, ProvisionRow, UserRow, VersionRow};
use crate::db::schema::{comments, drafts, provisions, revision_links, versions};
use crate::domain::{DraftStatus, time};
use crate::error::{AppError, FieldError};
use crate::services::comparison::{self, ChangeKind, LinkedComment};
use crate::services::drafts::{self as draft_service, ImportOutcome};
use crate::services::import::{ParsedDraft, ProvisionKind};
use crate::services::{audit, working_groups};

pub const MAX_LABEL: usize = 100;
pub const MAX_HEADING: usize = 500;
pub const MAX_BODY: usize = 20_000;
pub const MAX_SUMMARY: usize = 5_000;

/// How the draft history names the person who acted.
fn actor_name(user: &UserRow) -> String {
    format!("user:{}", user.id)
}

fn subject(draft_id: i64) -> String {
    format!("draft:{draft_id}")
}

/// Whether `user` may prepare revisions of the draft: its working group and admins.
pub fn may_revise(conn: &mut DbConn, draft_id: i64, user: &UserRow) -> QueryResult<bool> {
    Ok(user.is_admin || working_groups::is_member(conn, draft_id, user.id)?.is_some())
}

fn authorize(conn: &mut DbConn, draft_id: i64, user: &UserRow) -> Result<(), AppError> {
    if !may_revise(conn, draft_id, user)? {
        return Err(AppError::Forbidden(
            "Only the draft's working group and administrators can prepare its revisions.".into(),
        ));
    }
    Ok(())
}

fn record(
    conn: &mut DbConn,
    actor: &UserRow,
    action: &str,
    draft_id: i64,
    detail: Value,
) -> Result<(), AppError> {
    audit::record(
        conn,
        Some(actor.id),
        action,
        &subject(draft_id),
        &detail.to_string(),
    )?;
    Ok(())
}

fn load_draft(conn: &mut DbConn, draft_id: i64) -> Result<(DraftRow, DraftStatus), AppError> {
    let draft: DraftRow = drafts::table
        .find(draft_id)
        .select(DraftRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let status =
        DraftStatus::parse(&draft.status).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((draft, status))
}

fn latest_published(conn: &mut DbConn, draft_id: i64) -> QueryResult<Option<VersionRow>> {
    versions::table
        .filter(versions::draft_id.eq(draft_id))
        .filter(versions::published_at.is_not_null())
        .order(versions::number.desc())
        .select(VersionRow::as_select())
        .first(conn)
        .optional()
}

fn version_by_number(
    conn: &mut DbConn,
    draft_id: i64,
    number: i32,
) -> QueryResult<Option<VersionRow>> {
    versions::table
        .filter(versions::draft_id.eq(draft_id))
        .filter(versions::number.eq(number))
        .select(VersionRow::as_select())
        .first(conn)
        .optional()
}

fn load_provisions(conn: &mut DbConn, version_id: i64) -> QueryResult<Vec<ProvisionRow>> {
    provisions::table
        .filter(provisions::version_id.eq(version_id))
        .order(provisions::position)
        .select(ProvisionRow::as_select())
        .load(conn)
}

/// The statuses from which a revision can be started.
pub fn can_start_from(status: DraftStatus) -> bool {
    matches!(
        status,
        DraftStatus::Closed | DraftStatus::InReview | DraftStatus::Revised
    )
}

/// Starts version N+1 as an unpublished copy of the latest published version N (same keys),
/// moving the draft to `in_review` when it was closed (or revised). A revision already
/// under way is returned as it is. Returns the new version's number.
pub fn start(conn: &mut DbConn, draft_id: i64, actor: &UserRow) -> Result<i32, AppError> {
    write_transaction(conn, |conn| {
        authorize(conn, draft_id, actor)?;
        let (_, status) = load_draft(conn, draft_id)?;
        if let Some(w) = draft_service::working_version(conn, draft_id)? {
            if w.number > 1 && status == DraftStatus::InReview {
                return Ok(w.number);
            }
            return Err(AppError::field(
                "revision",
                format!("The draft is '{status}': a revision cannot be started now."),
            ));
        }
        if !can_start_from(status) {
            return Err(AppError::field(
                "revision",
                format!(
                    "The draft is '{status}': a revision can be prepared once its consultation has closed."
                ),
            ));
        }
        let base = latest_published(conn, draft_id)?.ok_or_else(|| {
            AppError::field("revision", "The draft has no published version to revise.")
        })?;
        if status != DraftStatus::InReview {
            draft_service::transition(
                conn,
                draft_id,
                DraftStatus::InReview,
                &actor_name(actor),
                Some("revision started"),
            )?;
        }
        let now = time::now();
        let number = base.number + 1;
        let version_id: i64 = diesel::insert_into(versions::table)
            .values((
                versions::draft_id.eq(draft_id),
                versions::number.eq(number),
                versions::change_summary.eq(""),
                versions::created_at.eq(now),
            ))
            .returning(versions::id)
            .get_result(conn)?;
        let units: Vec<Unit> = load_provisions(conn, base.id)?
            .into_iter()
            .map(Unit::from)
            .collect();
        write_units(conn, version_id, &units)?;
        record(
            conn,
            actor,
            "revision.start",
            draft_id,
            json!({
                "before": { "status": status.as_str() },
                "after": { "status": DraftStatus::InReview.as_str(), "version": number },
                "based_on": base.number,
                "provisions": units.len(),
            }),
        )?;
        Ok(number)
    })
}

// ---------------------------------------------------------------------------------------
// The working text as a list of units

/// A provision of the working text, owned and without its position (its index is it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unit {
    key: String,
    kind: String,
    depth: i32,
    label: Option<String>,
    heading: Option<String>,
    body: String,
}

impl From<ProvisionRow> for Unit {
    fn from(p: ProvisionRow) -> Unit {
        Unit {
            key: p.key,
            kind: p.kind,
            depth: p.depth,
            label: p.label,
            heading: p.heading,
            body: p.body,
        }
    }
}

impl Unit {
    fn text(&self) -> Value {
        json!({ "label": self.label, "heading": self.heading, "body": self.body })
    }
}

/// Chapters contain sections, sections articles, articles paragraphs.
fn rank(kind: &str) -> i32 {
    match kind {
        "chapter" => 0,
        "section" => 1,
        "article" => 2,
        _ => 3,
    }
}

fn key_prefix(kind: &str) -> &'static str {
    match kind {
        "chapter" => "ch",
        "section" => "s",
        "article" => "art",
        _ => "p",
    }
}

/// The index after the last descendant of `units[i]`.
fn subtree_end(units: &[Unit], i: usize) -> usize {
    let depth = units[i].depth;
    let mut j = i + 1;
    while j < units.len() && units[j].depth > depth {
        j += 1;
    }
    j
}

fn parent_index(units: &[Unit], i: usize) -> Option<usize> {
    let depth = units[i].depth;
    (0..i).rev().find(|&j| units[j].depth < depth)
}

/// Where a unit of `kind` placed "after `after`" goes: after the whole of `after` (with its
/// paragraphs) when it is of the same or a higher level, as its first child otherwise.
fn insertion_index(units: &[Unit], after: Option<usize>, kind: &str) -> usize {
    match after {
        None => 0,
        Some(a) if rank(kind) <= rank(&units[a].kind) => subtree_end(units, a),
        Some(a) => a + 1,
    }
}

/// The depth and parent of a unit of `kind` inserted at `index`: a child of the nearest
/// enclosing unit of a higher level, or top level.
fn placement(units: &[Unit], index: usize, kind: &str) -> (i32, Option<usize>) {
    if index == 0 {
        return (0, None);
    }
    let mut cur = Some(index - 1);
    while let Some(c) = cur {
        if rank(&units[c].kind) < rank(kind) {
            return (units[c].depth + 1, Some(c));
        }
        cur = parent_index(units, c);
    }
    (0, None)
}

fn write_units(conn: &mut DbConn, version_id: i64, units: &[Unit]) -> Result<(), AppError> {
    diesel::delete(provisions::table.filter(provisions::version_id.eq(version_id)))
        .execute(conn)?;
    // Batches keep each statement under SQLite's bound-parameter limit.
    for (chunk_no, chunk) in units.chunks(500).enumerate() {
        let rows: Vec<NewProvisionRow<'_>> = chunk
            .iter()
            .enumerate()
            .map(|(i, u)| NewProvisionRow {
                version_id,
                key: &u.key,
                kind: &u.kind,
                position: (chunk_no * 500 + i + 1) as i32,
                depth: u.depth,
                label: u.label.as_deref(),
                heading: u.heading.as_deref(),
                body: &u.body,
            })
            .collect();
        crate::db::dialect::insert_provisions(conn, &rows)?;
    }
    Ok(())
}

/// Every key any version of the draft has used.
fn keys_ever(conn: &mut DbConn, draft_id: i64) -> QueryResult<HashSet<String>> {
    let keys: Vec<String> = provisions::table
        .inner_join(versions::table)
        .filter(versions::draft_id.eq(draft_id))
        .select(provisions::key)
        .distinct()
        .load(conn)?;
    Ok(keys.into_iter().collect())
}

/// The revision being prepared: the draft (in review), the working version N+1, and the
/// version N it is based on.
struct Open {
    draft: DraftRow,
    working: VersionRow,
    base: VersionRow,
}

fn open_revision(conn: &mut DbConn, draft_id: i64) -> Result<Open, AppError> {
    let (draft, status) = load_draft(conn, draft_id)?;
    let working = draft_service::working_version(conn, draft_id)?
        .filter(|w| w.number > 1 && status == DraftStatus::InReview)
        .ok_or_else(|| {
            AppError::field(
                "revision",
                "No revision is being prepared: start one from the revision page first.",
            )
        })?;
    let base = version_by_number(conn, draft_id, working.number - 1)?
        .ok_or_else(|| AppError::Internal("the version before a revision is missing".into()))?;
    Ok(Open {
        draft,
        working,
        base,
    })
}

fn touch(conn: &mut DbConn, draft_id: i64) -> QueryResult<()> {
    diesel::update(drafts::table.find(draft_id))
        .set(drafts::updated_at.eq(time::now()))
        .execute(conn)?;
    Ok(())
}

/// Removes links to keys that neither the working version nor the version it revises has
/// (a provision added and deleted again). Returns how many went.
fn prune_links(conn: &mut DbConn, open: &Open) -> QueryResult<usize> {
    let mut keys: HashSet<String> = load_provisions(conn, open.working.id)?
        .into_iter()
        .map(|p| p.key)
        .collect();
    keys.extend(
        load_provisions(conn, open.base.id)?
            .into_iter()
            .map(|p| p.key),
    );
    let linked: Vec<(i64, String)> = revision_links::table
        .filter(revision_links::version_id.eq(open.working.id))
        .select((revision_links::id, revision_links::provision_key))
        .load(conn)?;
    let stale: Vec<i64> = linked
        .into_iter()
        .filter(|(_, k)| !keys.contains(k))
        .map(|(id, _)| id)
        .collect();
    if stale.is_empty() {
        return Ok(0);
    }
    diesel::delete(revision_links::table.filter(revision_links::id.eq_any(&stale))).execute(conn)
}

// ---------------------------------------------------------------------------------------
// Editing

/// The text of a provision as typed into a form.
#[derive(Debug, Clone, Default)]
pub struct ProvisionText {
    pub label: String,
    pub heading: String,
    pub body: String,
}

type ValidText = (Option<String>, Option<String>, String);

fn single_line(
    field: &'static str,
    raw: &str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let s = raw.trim();
    if s.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "must be one line without control characters",
        ));
    } else if s.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    (!s.is_empty()).then(|| s.to_string())
}

/// Paragraphs have a text (and maybe a number such as `1.`); chapters, sections and articles
/// have a number and/or a heading and no text of their own.
fn validate_text(kind: &str, t: &ProvisionText) -> Result<ValidText, Vec<FieldError>> {
    let mut errors = Vec::new();
    let label = single_line("label", &t.label, MAX_LABEL, &mut errors);
    if kind == ProvisionKind::Paragraph.as_str() {
        let body = t.body.replace("\r\n", "\n").trim().to_string();
        if body.is_empty() {
            errors.push(FieldError::new("body", "A paragraph needs its text"));
        } else if body.chars().count() > MAX_BODY {
            errors.push(FieldError::new(
                "body",
                format!("must be at most {MAX_BODY} characters"),
            ));
        } else if body
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            errors.push(FieldError::new(
                "body",
                "must not contain control characters",
            ));
        }
        if errors.is_empty() {
            Ok((label, None, body))
        } else {
            Err(errors)
        }
    } else {
        let heading = single_line("heading", &t.heading, MAX_HEADING, &mut errors);
        if label.is_none() && heading.is_none() && errors.is_empty() {
            errors.push(FieldError::new(
                "heading",
                "Give the heading, the number, or both",
            ));
        }
        if errors.is_empty() {
            Ok((label, heading, String::new()))
        } else {
            Err(errors)
        }
    }
}

fn find(units: &[Unit], key: &str) -> Result<usize, AppError> {
    units
        .iter()
        .position(|u| u.key == key)
        .ok_or(AppError::NotFound)
}

fn find_after(units: &[Unit], after: Option<&str>) -> Result<Option<usize>, AppError> {
    match after.map(str::trim).filter(|a| !a.is_empty()) {
        None => Ok(None),
        Some(a) => units
            .iter()
            .position(|u| u.key == a)
            .map(Some)
            .ok_or_else(|| {
                AppError::field(
                    "after",
                    "Choose a provision of the working text to put it after",
                )
            }),
    }
}

/// Changes the number, heading or text of a provision of the working version. Returns
/// whether anything changed.
pub fn edit_provision(
    conn: &mut DbConn,
    draft_id: i64,
    key: &str,
    text: &ProvisionText,
    actor: &UserRow,
) -> Result<bool, AppError> {
    write_transaction(conn, |conn| {
        authorize(conn, draft_id, actor)?;
        let open = open_revision(conn, draft_id)?;
        let mut units: Vec<Unit> = load_provisions(conn, open.working.id)?
            .into_iter()
            .map(Unit::from)
            .collect();
        let i = find(&units, key)?;
        let (label, heading, body) = validate_text(&units[i].kind, text)?;
        let before = units[i].text();
        if units[i].label == label && units[i].heading == heading && units[i].body == body {
            return Ok(false);
        }
        units[i].label = label;
        units[i].heading = heading;
        units[i].body = body;
        diesel::update(
            provisions::table
                .filter(provisions::version_id.eq(open.working.id))
                .filter(provisions::key.eq(key)),
        )
        .set((
            provisions::label.eq(&units[i].label),
            provisions::heading.eq(&units[i].heading),
            provisions::body.eq(&units[i].body),
        ))
        .execute(conn)?;
        touch(conn, draft_id)?;
        record(
            conn,
            actor,
            "revision.edit",
            draft_id,
            json!({
                "version": open.working.number,
                "key": key,
                "before": before,
                "after": units[i].text(),
            }),
        )?;
        Ok(true)
    })
}

/// A provision to add: its kind (`chapter`, `section`, `article`, `paragraph`) and text.
#[derive(Debug, Clone, Default)]
pub struct NewProvision {
    pub kind: String,
    pub text: ProvisionText,
}

/// Adds a provision after `after` (or at the start when `None`), with a fresh key that no
/// version of the draft has ever used (`<parent>.<kind><n>`, the first free n). A chapter,
/// section or article goes after the whole of `after` when `after` is of the same or a
/// lower level; a paragraph after an article becomes its first paragraph. Returns the key.
pub fn add_provision(
    conn: &mut DbConn,
    draft_id: i64,
    after: Option<&str>,
    new: &NewProvision,
    actor: &UserRow,
) -> Result<String, AppError> {
    let kind = ProvisionKind::parse(new.kind.trim()).ok_or_else(|| {
        AppError::field(
            "kind",
            "Choose what to add: a chapter, section, article or paragraph",
        )
    })?;
    let (label, heading, body) = validate_text(kind.as_str(), &new.text)?;
    write_transaction(conn, |conn| {
        authorize(conn, draft_id, actor)?;
        let open = open_revision(conn, draft_id)?;
        let mut units: Vec<Unit> = load_provisions(conn, open.working.id)?
            .into_iter()
            .map(Unit::from)
            .collect();
        let after_index = find_after(&units, after)?;
        let after_key = after_index.map(|a| units[a].key.clone());
        let index = insertion_index(&units, after_index, kind.as_str());
        let (depth, parent) = placement(&units, index, kind.as_str());
        let used = keys_ever(conn, draft_id)?;
        let prefix = match parent {
            Some(p) => format!("{}.{}", units[p].key, key_prefix(kind.as_str())),
            None => key_prefix(kind.as_str()).to_string(),
        };
        let key = (1..)
            .map(|n| format!("{prefix}{n}"))
            .find(|k| !used.contains(k))
            .expect("an unused key exists");
        let unit = Unit {
            key: key.clone(),
            kind: kind.as_str().to_string(),
            depth,
            label,
            heading,
            body,
        };
        let after_detail = unit.text();
        units.insert(index, unit);
        write_units(conn, open.working.id, &units)?;
        touch(conn, draft_id)?;
        record(
            conn,
            actor,
            "revision.add",
            draft_id,
            json!({
                "version": open.working.number,
                "key": key,
                "kind": kind.as_str(),
                "after_key": after_key,
                "position": index + 1,
                "before": null,
                "after": after_detail,
            }),
        )?;
        Ok(key)
    })
}

/// Deletes a provision of the working version with everything inside it (an article with
/// its paragraphs). Returns the keys removed.
pub fn delete_provision(
    conn: &mut DbConn,
    draft_id: i64,
    key: &str,
    actor: &UserRow,
) -> Result<Vec<String>, AppError> {
    write_transaction(conn, |conn| {
        authorize(conn, draft_id, actor)?;
        let open = open_revision(conn, draft_id)?;
        let mut units: Vec<Unit> = load_provisions(conn, open.working.id)?
            .into_iter()
            .map(Unit::from)
            .collect();
        let i = find(&units, key)?;
        let end = subtree_end(&units, i);
        let removed: Vec<Unit> = units.drain(i..end).collect();
        write_units(conn, open.working.id, &units)?;
        let pruned = prune_links(conn, &open)?;
        touch(conn, draft_id)?;
        record(
            conn,
            actor,
            "revision.delete",
            draft_id,
            json!({
                "version": open.working.number,
                "key": key,
                "position": i + 1,
                "removed": removed.iter().map(|u| u.key.as_str()).collect::<Vec<_>>(),
                "before": removed.first().map(Unit::text),
                "after": null,
                "links_removed": pruned,
            }),
        )?;
        Ok(removed.into_iter().map(|u| u.key).collect())
    })
}

/// Moves a provision (with everything inside it) to after `after`, or to the start. Its
/// level follows its new place, like an added provision's.
pub fn move_provision(
    conn: &mut DbConn,
    draft_id: i64,
    key: &str,
    after: Option<&str>,
    actor: &UserRow,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        authorize(conn, draft_id, actor)?;
        let open = open_revision(conn, draft_id)?;
        let mut units: Vec<Unit> = load_provisions(conn, open.working.id)?
            .into_iter()
            .map(Unit::from)
            .collect();
        let i = find(&units, key)?;
        let end = subtree_end(&units, i);
        let after_index = find_after(&units, after)?;
        if after_index.is_some_and(|a| (i..end).contains(&a)) {
            return Err(AppError::field(
                "after",
                "A provision cannot be moved after itself or into itself",
            ));
        }
        let before_position = i + 1;
        let before_depth = units[i].depth;
        let after_key = after_index.map(|a| units[a].key.clone());
        let mut block: Vec<Unit> = units.drain(i..end).collect();
        let after_index = after_index.map(|a| if a >= end { a - (end - i) } else { a });
        let index = insertion_index(&units, after_index, &block[0].kind);
        let (depth, _) = placement(&units, index, &block[0].kind);
        let delta = depth - block[0].depth;
        for u in &mut block {
            u.depth += delta;
        }
        let moved: Vec<String> = block.iter().map(|u| u.key.clone()).collect();
        units.splice(index..index, block);
        if index + 1 == before_position && delta == 0 {
            return Ok(());
        }
        write_units(conn, open.working.id, &units)?;
        touch(conn, draft_id)?;
        record(
            conn,
            actor,
            "revision.move",
            draft_id,
            json!({
                "version": open.working.number,
                "key": key,
                "moved": moved,
                "after_key": after_key,
                "before": { "position": before_position, "depth": before_depth },
                "after": { "position": index + 1, "depth": depth },
            }),
        )?;
        Ok(())
    })
}

/// Replaces the whole working text with a re-imported Markdown text. Unchanged and moved
/// provisions keep their keys (see `drafts::import_text`), so links and comparisons stay.
pub fn reimport(
    conn: &mut DbConn,
    draft_id: i64,
    text: ParsedDraft,
    actor: &UserRow,
) -> Result<ImportOutcome, AppError> {
    write_transaction(conn, |conn| {
        authorize(conn, draft_id, actor)?;
        let open = open_revision(conn, draft_id)?;
        let before = load_provisions(conn, open.working.id)?.len();
        let out = draft_service::import_text(conn, draft_id, text)?;
        let pruned = prune_links(conn, &open)?;
        record(
            conn,
            actor,
            "revision.import",
            draft_id,
            json!({
                "version": open.working.number,
                "before": { "provisions": before },
                "after": { "provisions": out.provisions },
                "kept": out.kept,
                "added": out.added,
                "removed": out.removed,
                "links_removed": pruned,
            }),
        )?;
        Ok(out)
    })
}

// ---------------------------------------------------------------------------------------
// Comments a change addresses

fn find_comment(
    conn: &mut DbConn,
    draft_id: i64,
    reference: &str,
) -> Result<(i64, String), AppError> {
    let r = reference.trim().trim_start_matches('#');
    if r.is_empty() {
        return Err(AppError::field(
            "comment",
            "Give the comment's number or tracking number",
        ));
    }
    let q = comments::table
        .filter(comments::draft_id.eq(draft_id))
        .select((comments::id, comments::tracking_number))
        .into_boxed();
    let found: Option<(i64, String)> = match r.parse::<i64>() {
        Ok(id) => q.filter(comments::id.eq(id)).first(conn).optional()?,
        Err(_) => q
            .filter(comments::tracking_number.eq(r.to_uppercase()))
            .first(conn)
            .optional()?,
    };
    found.ok_or_else(|| {
        AppError::field(
            "comment",
            format!("No comment on this draft has the number {r}"),
        )
    })
}

/// Records that the change to `key` (a provision of the working version, or one it
/// removed) addresses a comment of the draft, given by id or tracking number.
pub fn link_comment(
    conn: &mut DbConn,
    draft_id: i64,
    key: &str,
    comment: &str,
    actor: &UserRow,
) -> Result<i64, AppError> {
    write_transaction(conn, |conn| {
        authorize(conn, draft_id, actor)?;
        let open = open_revision(conn, draft_id)?;
        let in_working = load_provisions(conn, open.working.id)?
            .iter()
            .any(|p| p.key == key);
        let in_base = load_provisions(conn, open.base.id)?
            .iter()
            .any(|p| p.key == key);
        if !in_working && !in_base {
            return Err(AppError::NotFound);
        }
        let (comment_id, tracking) = find_comment(conn, draft_id, comment)?;
        let already: i64 = revision_links::table
            .filter(revision_links::version_id.eq(open.working.id))
            .filter(revision_links::provision_key.eq(key))
            .filter(revision_links::comment_id.eq(comment_id))
            .count()
            .get_result(conn)?;
        if already > 0 {
            return Err(AppError::field(
                "comment",
                format!("{tracking} is already linked to this provision"),
            ));
        }
        diesel::insert_into(revision_links::table)
            .values((
                revision_links::version_id.eq(open.working.id),
                revision_links::provision_key.eq(key),
                revision_links::comment_id.eq(comment_id),
                revision_links::created_at.eq(time::now()),
            ))
            .execute(conn)?;
        record(
            conn,
            actor,
            "revision.link",
            draft_id,
            json!({
                "version": open.working.number,
                "key": key,
                "comment_id": comment_id,
                "tracking_number": tracking,
                "before": null,
                "after": { "linked": true },
            }),
        )?;
        Ok(comment_id)
    })
}

/// Removes a recorded link between a change and a comment.
pub fn unlink_comment(
    conn: &mut DbConn,
    draft_id: i64,
    key: &str,
    comment_id: i64,
    actor: &UserRow,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        authorize(conn, draft_id, actor)?;
        let open = open_revision(conn, draft_id)?;
        let n = diesel::delete(
            revision_links::table
                .filter(revision_links::version_id.eq(open.working.id))
                .filter(revision_links::provision_key.eq(key))
                .filter(revision_links::comment_id.eq(comment_id)),
        )
        .execute(conn)?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        record(
            conn,
            actor,
            "revision.unlink",
            draft_id,
            json!({
                "version": open.working.number,
                "key": key,
                "comment_id": comment_id,
                "before": { "linked": true },
                "after": null,
            }),
        )?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Summary and publication

fn validate_summary(raw: &str, required: bool) -> Result<String, AppError> {
    let s = raw.replace("\r\n", "\n").trim().to_string();
    if required && s.is_empty() {
        return Err(AppError::field(
            "change_summary",
            "Summarise what changed and why before publishing",
        ));
    }
    if s.chars().count() > MAX_SUMMARY {
        return Err(AppError::field(
            "change_summary",
            format!("must be at most {MAX_SUMMARY} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(AppError::field(
            "change_summary",
            "must not contain control characters",
        ));
    }
    Ok(s)
}

/// Saves the change summary of the working version (it can still change until published).
pub fn save_summary(
    conn: &mut DbConn,
    draft_id: i64,
    summary: &str,
    actor: &UserRow,
) -> Result<(), AppError> {
    let summary = validate_summary(summary, false)?;
    write_transaction(conn, |conn| {
        authorize(conn, draft_id, actor)?;
        let open = open_revision(conn, draft_id)?;
        if open.working.change_summary == summary {
            return Ok(());
        }
        diesel::update(versions::table.find(open.working.id))
            .set(versions::change_summary.eq(&summary))
            .execute(conn)?;
        record(
            conn,
            actor,
            "revision.summary",
            draft_id,
            json!({
                "version": open.working.number,
                "before": open.working.change_summary,
                "after": summary,
            }),
        )
    })
}

/// Publishes version N+1 with its change summary: the draft becomes `revised`, or `open`
/// with a new consultation round when `open_new_round` gives its (opens, closes) dates.
/// Refused while nothing differs from version N. Returns the published number.
pub fn publish(
    conn: &mut DbConn,
    draft_id: i64,
    change_summary: &str,
    open_new_round: Option<(NaiveDateTime, NaiveDateTime)>,
    actor: &UserRow,
) -> Result<i32, AppError> {
    let summary = validate_summary(change_summary, true)?;
    write_transaction(conn, |conn| {
        authorize(conn, draft_id, actor)?;
        let open = open_revision(conn, draft_id)?;
        let old = load_provisions(conn, open.base.id)?;
        let new = load_provisions(conn, open.working.id)?;
        if comparison::diff(&old, &new).is_empty() {
            return Err(AppError::field(
                "change_summary",
                format!(
                    "Nothing differs from version {} yet: change the text before publishing",
                    open.base.number
                ),
            ));
        }
        let number = draft_service::publish_revision(
            conn,
            draft_id,
            &summary,
            open_new_round,
            &actor_name(actor),
        )?;
        let (after, _) = load_draft(conn, draft_id)?;
        record(
            conn,
            actor,
            "revision.publish",
            draft_id,
            json!({
                "version": number,
                "based_on": open.base.number,
                "change_summary": summary,
                "before": { "status": open.draft.status },
                "after": { "status": after.status },
                "round": open_new_round.map(|(o, c)| json!({
                    "opens_at": time::machine(o),
                    "closes_at": time::machine(c),
                })),
            }),
        )?;
        Ok(number)
    })
}

// ---------------------------------------------------------------------------------------
// Read side

/// One provision of the working text (or one it removed) with its state and links.
#[derive(Debug, Clone)]
pub struct WorkingProvision {
    pub row: ProvisionRow,
    /// `None`: unchanged since version N.
    pub change: Option<ChangeKind>,
    pub comments: Vec<LinkedComment>,
}

/// What the revision pages show.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub draft: DraftRow,
    pub status: DraftStatus,
    /// The latest published version (N).
    pub base: Option<VersionRow>,
    /// The version being prepared (N+1), when a revision is under way.
    pub working: Option<VersionRow>,
    /// The working text in order, then nothing else.
    pub provisions: Vec<WorkingProvision>,
    /// Provisions of N that N+1 no longer has.
    pub removed: Vec<WorkingProvision>,
    /// The preview of the comparison table N → N+1.
    pub rows: Vec<comparison::Row>,
    /// The revision actions recorded for the draft, newest first.
    pub history: Vec<HistoryEntry>,
}

/// One recorded revision action: when, who (their name; `None` when the account is gone),
/// what, and the recorded detail (JSON with before and after).
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub at: NaiveDateTime,
    pub actor: Option<String>,
    pub action: String,
    pub detail: String,
}

/// The latest `limit` revision actions on a draft, newest first.
pub fn history(conn: &mut DbConn, draft_id: i64, limit: i64) -> QueryResult<Vec<HistoryEntry>> {
    use crate::db::schema::{audit_log, users};
    let rows: Vec<(NaiveDateTime, Option<String>, String, String)> = audit_log::table
        .left_join(users::table.on(users::id.nullable().eq(audit_log::actor_id)))
        .filter(audit_log::subject.eq(subject(draft_id)))
        .filter(audit_log::action.like("revision.%"))
        .order(audit_log::id.desc())
        .limit(limit)
        .select((
            audit_log::created_at,
            users::display_name.nullable(),
            audit_log::action,
            audit_log::detail,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(at, actor, action, detail)| HistoryEntry {
            at,
            actor,
            action,
            detail,
        })
        .collect())
}

impl Workspace {
    pub fn can_start(&self) -> bool {
        self.working.is_none() && can_start_from(self.status) && self.base.is_some()
    }

    /// The provision with `key` in the working text or among the removed ones.
    pub fn find(&self, key: &str) -> Option<&WorkingProvision> {
        self.provisions
            .iter()
            .chain(self.removed.iter())
            .find(|p| p.row.key == key)
    }
}

/// The revision workspace of a draft, for someone allowed to revise it.
pub fn workspace(
    conn: &mut DbConn,
    draft_id: i64,
    viewer: &UserRow,
) -> Result<Workspace, AppError> {
    authorize(conn, draft_id, viewer)?;
    let (draft, status) = load_draft(conn, draft_id)?;
    let working = draft_service::working_version(conn, draft_id)?
        .filter(|w| w.number > 1 && status == DraftStatus::InReview);
    let base = match &working {
        Some(w) => version_by_number(conn, draft_id, w.number - 1)?,
        None => latest_published(conn, draft_id)?,
    };
    let (provisions, removed, rows) = match (&working, &base) {
        (Some(w), Some(b)) => {
            let old = load_provisions(conn, b.id)?;
            let new = load_provisions(conn, w.id)?;
            let rows = comparison::table_between(conn, b, w)?;
            let by_key: HashMap<&str, &comparison::Row> =
                rows.iter().map(|r| (r.key.as_str(), r)).collect();
            let mut links = comparison::linked_comments(conn, &[w.id])?;
            let state = |p: &ProvisionRow, links: &mut HashMap<String, Vec<LinkedComment>>| {
                WorkingProvision {
                    change: by_key.get(p.key.as_str()).map(|r| r.change),
                    comments: links.remove(&p.key).unwrap_or_default(),
                    row: p.clone(),
                }
            };
            let new_keys: HashSet<&str> = new.iter().map(|p| p.key.as_str()).collect();
            let provisions: Vec<WorkingProvision> =
                new.iter().map(|p| state(p, &mut links)).collect();
            let removed: Vec<WorkingProvision> = old
                .iter()
                .filter(|p| !new_keys.contains(p.key.as_str()))
                .map(|p| state(p, &mut links))
                .collect();
            (provisions, removed, rows)
        }
        _ => (Vec::new(), Vec::new(), Vec::new()),
    };
    let history = history(conn, draft_id, 100)?;
    Ok(Workspace {
        draft,
        status,
        base,
        working,
        provisions,
        removed,
        rows,
        history,
    })
}

/// The draft's comments for the link picker: (id, tracking number, provision key,
/// version number, excerpt, decision), newest first, at most `limit`.
pub type CommentChoice = (i64, String, Option<String>, i32, String, Option<String>);

pub fn comment_choices(
    conn: &mut DbConn,
    draft_id: i64,
    provision_key: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<CommentChoice>> {
    use crate::db::schema::dispositions;
    let mut q = comments::table
        .inner_join(versions::table)
        .left_join(dispositions::table.on(dispositions::comment_id.eq(comments::id)))
        .filter(comments::draft_id.eq(draft_id))
        .filter(comments::status.eq(crate::services::comments::PUBLISHED))
        .into_boxed();
    if let Some(k) = provision_key {
        q = q.filter(comments::provision_key.eq(k.to_string()));
    }
    let rows: Vec<CommentChoice> = q
        .order(comments::id.desc())
        .limit(limit)
        .select((
            comments::id,
            comments::tracking_number,
            comments::provision_key,
            versions::number,
            comments::body,
            dispositions::decision.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, t, k, n, body, d)| (id, t, k, n, comparison::excerpt(&body), d))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(key: &str, kind: &str, depth: i32) -> Unit {
        Unit {
            key: key.into(),
            kind: kind.into(),
            depth,
            label: None,
            heading: None,
            body: String::new(),
        }
    }

    fn doc() -> Vec<Unit> {
        vec![
            u("ch1", "chapter", 0),
            u("ch1.art1", "article", 1),
            u("ch1.art1.p1", "paragraph", 2),
            u("ch1.art1.p2", "paragraph", 2),
            u("ch1.art2", "article", 1),
            u("ch1.art2.p1", "paragraph", 2),
            u("ch2", "chapter", 0),
        ]
    }

    #[test]
    fn new_units_go_to_the_level_their_kind_needs() {
        let d = doc();
        // A paragraph after an article becomes its first paragraph.
        let i = insertion_index(&d, Some(1), "paragraph");
        assert_eq!(i, 2);
        assert_eq!(placement(&d, i, "paragraph"), (2, Some(1)));
        // An article after an article goes after its paragraphs, in the same chapter.
        let i = insertion_index(&d, Some(1), "article");
        assert_eq!(i, 4);
        assert_eq!(placement(&d, i, "article"), (1, Some(0)));
        // A paragraph after a paragraph is its sibling.
        let i = insertion_index(&d, Some(2), "paragraph");
        assert_eq!((i, placement(&d, i, "paragraph")), (3, (2, Some(1))));
        // A chapter is always top level, after the whole chapter.
        let i = insertion_index(&d, Some(2), "chapter");
        assert_eq!((i, placement(&d, i, "chapter")), (3, (0, None)));
        let i = insertion_index(&d, Some(0), "chapter");
        assert_eq!((i, placement(&d, i, "chapter")), (6, (0, None)));
        assert_eq!(placement(&d, 0, "paragraph"), (0, None));
        assert_eq!(subtree_end(&d, 0), 6);
    }

    #[test]
    fn texts_are_checked_by_kind() {
        let t = ProvisionText {
            label: "1.".into(),
            heading: "ignored".into(),
            body: "  The text.\r\nNext line. ".into(),
        };
        assert_eq!(
            validate_text("paragraph", &t).unwrap(),
            (Some("1.".into()), None, "The text.\nNext line.".into())
        );
        let empty = ProvisionText::default();
        assert_eq!(
            validate_text("paragraph", &empty).unwrap_err()[0].field,
            "body"
        );
        assert_eq!(
            validate_text("article", &empty).unwrap_err()[0].field,
            "heading"
        );
        let bad = ProvisionText {
            label: "Article\n5".into(),
            ..ProvisionText::default()
        };
        assert_eq!(
            validate_text("article", &bad).unwrap_err()[0].field,
            "label"
        );
    }
}
