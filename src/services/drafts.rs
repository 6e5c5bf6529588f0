//! Drafts: creation, text import, editing while unpublished, publication with a consultation
//! round, lifecycle transitions, and the public read side.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::dialect::write_transaction;
use crate::db::models::*;
use crate::db::schema::{consultation_rounds, draft_transitions, drafts, provisions, versions};
use crate::domain::{Authority, DraftKind, DraftStatus, DraftTitle, Summary};
use crate::error::{AppError, FieldError};
use crate::services::Page;
use crate::services::import::{self, OldProvision, ParsedDraft, ProvisionKind};

/// Draft metadata as typed by a person: parsed into [`ValidDraft`] before anything is stored.
#[derive(Debug, Clone, Default)]
pub struct DraftInput {
    pub title: String,
    pub kind: String,
    pub authority: String,
    pub summary: String,
}

#[derive(Debug, Clone)]
pub struct ValidDraft {
    pub title: DraftTitle,
    pub kind: DraftKind,
    pub authority: Authority,
    pub summary: Summary,
}

impl DraftInput {
    /// Collects every field error at once, so a form can show them all.
    pub fn validate(&self) -> Result<ValidDraft, Vec<FieldError>> {
        let title = DraftTitle::parse(&self.title);
        let kind = DraftKind::parse(&self.kind);
        let authority = Authority::parse(&self.authority);
        let summary = Summary::parse(&self.summary);
        match (title, kind, authority, summary) {
            (Ok(title), Ok(kind), Ok(authority), Ok(summary)) => Ok(ValidDraft {
                title,
                kind,
                authority,
                summary,
            }),
            (t, k, a, s) => Err([t.err(), k.err(), a.err(), s.err()]
                .into_iter()
                .flatten()
                .collect()),
        }
    }
}

/// Parses an uploaded text; errors name the `text` field.
pub fn parse_text(bytes: &[u8], max_bytes: usize) -> Result<ParsedDraft, AppError> {
    import::parse_bytes(bytes, max_bytes).map_err(|e| AppError::field("text", e.to_string()))
}

/// Creates an unpublished draft with its working text as version 1. When the title is empty
/// and the text starts with a title heading, that heading is used.
pub fn create(
    conn: &mut DbConn,
    input: &DraftInput,
    text: Option<&ParsedDraft>,
    actor: &str,
) -> Result<i64, AppError> {
    let mut input = input.clone();
    if input.title.trim().is_empty()
        && let Some(t) = text.and_then(|t| t.title.as_deref())
    {
        input.title = t.to_string();
    }
    let valid = input.validate()?;
    let now = crate::domain::time::now();
    write_transaction(conn, |conn| {
        let id: i64 = diesel::insert_into(drafts::table)
            .values(NewDraftRow {
                title: valid.title.as_str(),
                kind: valid.kind.as_str(),
                authority: valid.authority.as_str(),
                summary: valid.summary.as_str(),
                status: DraftStatus::Draft.as_str(),
                created_at: now,
                updated_at: now,
            })
            .returning(drafts::id)
            .get_result(conn)?;
        let version_id: i64 = diesel::insert_into(versions::table)
            .values((
                versions::draft_id.eq(id),
                versions::number.eq(1),
                versions::change_summary.eq(""),
                versions::created_at.eq(now),
            ))
            .returning(versions::id)
            .get_result(conn)?;
        if let Some(text) = text {
            insert_provisions(conn, version_id, text)?;
        }
        record_transition(conn, id, None, DraftStatus::Draft, actor, None, now)?;
        Ok(id)
    })
}

fn insert_provisions(
    conn: &mut DbConn,
    version_id: i64,
    text: &ParsedDraft,
) -> Result<(), AppError> {
    // Batches keep each statement under SQLite's bound-parameter limit.
    for (chunk_no, chunk) in text.provisions.chunks(500).enumerate() {
        let rows: Vec<NewProvisionRow<'_>> = chunk
            .iter()
            .enumerate()
            .map(|(i, p)| NewProvisionRow {
                version_id,
                key: &p.key,
                kind: p.kind.as_str(),
                position: (chunk_no * 500 + i + 1) as i32,
                depth: p.depth,
                label: p.label.as_deref(),
                heading: p.heading.as_deref(),
                body: &p.body,
            })
            .collect();
        crate::db::dialect::insert_provisions(conn, &rows)?;
    }
    Ok(())
}

fn record_transition(
    conn: &mut DbConn,
    draft_id: i64,
    from: Option<DraftStatus>,
    to: DraftStatus,
    actor: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(draft_transitions::table)
        .values((
            draft_transitions::draft_id.eq(draft_id),
            draft_transitions::from_status.eq(from.map(|s| s.as_str())),
            draft_transitions::to_status.eq(to.as_str()),
            draft_transitions::actor.eq(actor),
            draft_transitions::note.eq(note),
            draft_transitions::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

fn load_draft(conn: &mut DbConn, id: i64) -> Result<DraftRow, AppError> {
    drafts::table
        .find(id)
        .select(DraftRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

fn status_of(row: &DraftRow) -> Result<DraftStatus, AppError> {
    DraftStatus::parse(&row.status).map_err(|e| AppError::Internal(e.to_string()))
}

/// The version that is still being written (not yet published), if any.
pub fn working_version(conn: &mut DbConn, draft_id: i64) -> Result<Option<VersionRow>, AppError> {
    Ok(versions::table
        .filter(versions::draft_id.eq(draft_id))
        .filter(versions::published_at.is_null())
        .order(versions::number.desc())
        .select(VersionRow::as_select())
        .first(conn)
        .optional()?)
}

/// What a re-import did to the provisions' keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    pub provisions: usize,
    pub kept: usize,
    pub added: usize,
    pub removed: usize,
}

/// Replaces the working text of an unpublished version. Provisions that survive keep their
/// stable keys, so comments and comparison tables stay attached to them.
pub fn import_text(
    conn: &mut DbConn,
    draft_id: i64,
    mut text: ParsedDraft,
) -> Result<ImportOutcome, AppError> {
    write_transaction(conn, |conn| {
        let draft = load_draft(conn, draft_id)?;
        let version = working_version(conn, draft_id)?.ok_or_else(|| {
            AppError::field(
                "text",
                format!(
                    "draft {draft_id} has no unpublished version: published text cannot be changed"
                ),
            )
        })?;
        let old: Vec<ProvisionRow> = provisions::table
            .filter(provisions::version_id.eq(version.id))
            .order(provisions::position)
            .select(ProvisionRow::as_select())
            .load(conn)?;
        // Provisions of earlier versions that the working text no longer has: a unit that
        // comes back gets its old key again, and a new one never takes a key that once
        // named something else (comparison tables and comments rely on that).
        let working_keys: std::collections::HashSet<&str> =
            old.iter().map(|p| p.key.as_str()).collect();
        let earlier: Vec<ProvisionRow> = provisions::table
            .inner_join(versions::table)
            .filter(versions::draft_id.eq(draft_id))
            .filter(versions::id.ne(version.id))
            .order((versions::number.desc(), provisions::position.asc()))
            .select(ProvisionRow::as_select())
            .load(conn)?;
        let mut seen = std::collections::HashSet::new();
        let earlier: Vec<&ProvisionRow> = earlier
            .iter()
            .filter(|p| !working_keys.contains(p.key.as_str()) && seen.insert(p.key.as_str()))
            .collect();
        let old_view: Vec<OldProvision<'_>> = old
            .iter()
            .chain(earlier.iter().copied())
            .filter_map(|p| {
                Some(OldProvision {
                    key: &p.key,
                    kind: ProvisionKind::parse(&p.kind)?,
                    label: p.label.as_deref(),
                    heading: p.heading.as_deref(),
                    body: &p.body,
                })
            })
            .collect();
        import::rekey(&mut text.provisions, &old_view);
        let old_keys: std::collections::HashSet<&str> =
            old.iter().map(|p| p.key.as_str()).collect();
        let kept = text
            .provisions
            .iter()
            .filter(|p| old_keys.contains(p.key.as_str()))
            .count();
        diesel::delete(provisions::table.filter(provisions::version_id.eq(version.id)))
            .execute(conn)?;
        insert_provisions(conn, version.id, &text)?;
        diesel::update(drafts::table.find(draft.id))
            .set(drafts::updated_at.eq(crate::domain::time::now()))
            .execute(conn)?;
        Ok(ImportOutcome {
            provisions: text.provisions.len(),
            kept,
            added: text.provisions.len() - kept,
            removed: old.len() - kept,
        })
    })
}

/// Changes the metadata of a draft that has not been published yet.
pub fn edit(conn: &mut DbConn, draft_id: i64, input: &DraftInput) -> Result<(), AppError> {
    let valid = input.validate()?;
    write_transaction(conn, |conn| {
        let draft = load_draft(conn, draft_id)?;
        if status_of(&draft)? != DraftStatus::Draft {
            return Err(AppError::field(
                "status",
                format!(
                    "draft {draft_id} is '{}': only unpublished drafts can be edited",
                    draft.status
                ),
            ));
        }
        diesel::update(drafts::table.find(draft_id))
            .set((
                drafts::title.eq(valid.title.as_str()),
                drafts::kind.eq(valid.kind.as_str()),
                drafts::authority.eq(valid.authority.as_str()),
                drafts::summary.eq(valid.summary.as_str()),
                drafts::updated_at.eq(crate::domain::time::now()),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Publishes the working version as the next version and opens a consultation round on it.
/// `opens_at` defaults to now.
pub fn publish(
    conn: &mut DbConn,
    draft_id: i64,
    opens_at: Option<NaiveDateTime>,
    closes_at: NaiveDateTime,
    actor: &str,
) -> Result<i32, AppError> {
    let now = crate::domain::time::now();
    let opens_at = opens_at.unwrap_or(now);
    check_round(opens_at, closes_at, now)?;
    write_transaction(conn, |conn| {
        let draft = load_draft(conn, draft_id)?;
        let status = status_of(&draft)?;
        if !matches!(status, DraftStatus::Draft | DraftStatus::Revised) {
            return Err(AppError::field(
                "status",
                format!(
                    "draft {draft_id} is '{status}': only an unpublished or revised draft can be published"
                ),
            ));
        }
        let version = working_version(conn, draft_id)?
            .ok_or_else(|| AppError::field("text", "there is no unpublished version to publish"))?;
        let count: i64 = provisions::table
            .filter(provisions::version_id.eq(version.id))
            .count()
            .get_result(conn)?;
        if count == 0 {
            return Err(AppError::field(
                "text",
                "the draft has no text yet: import it before publishing",
            ));
        }
        diesel::update(versions::table.find(version.id))
            .set(versions::published_at.eq(now))
            .execute(conn)?;
        record_version(conn, version.id)?;
        let round_id: i64 = diesel::insert_into(consultation_rounds::table)
            .values((
                consultation_rounds::draft_id.eq(draft_id),
                consultation_rounds::version_id.eq(version.id),
                consultation_rounds::opens_at.eq(opens_at),
                consultation_rounds::closes_at.eq(closes_at),
                consultation_rounds::created_at.eq(now),
            ))
            .returning(consultation_rounds::id)
            .get_result(conn)?;
        set_status(conn, &draft, status, DraftStatus::Open, actor, None, now)?;
        crate::services::notifications::on_publish(
            conn,
            draft_id,
            version.number,
            round_id,
            opens_at <= now,
        )?;
        Ok(version.number)
    })
}

/// Appends the published version to the public record chain.
fn record_version(conn: &mut DbConn, version_id: i64) -> Result<(), AppError> {
    let hash = crate::services::chain::version_hash(conn, version_id)?;
    crate::services::chain::append(conn, crate::services::chain::VERSION, version_id, &hash)?;
    Ok(())
}

/// The dates of a new consultation round: it must end in the future, after it opens.
fn check_round(
    opens_at: NaiveDateTime,
    closes_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if closes_at <= now {
        Err(AppError::field("closes_at", "must be in the future"))
    } else if closes_at <= opens_at {
        Err(AppError::field("closes_at", "must be after opens_at"))
    } else {
        Ok(())
    }
}

/// Publishes the working version N+1 that the working group prepared while the draft was
/// in review: it becomes public with its change summary, and the draft becomes `revised`
/// (two transitions, `revised` then `open`, when `round` opens a new consultation round on
/// it). Returns the number of the published version.
pub fn publish_revision(
    conn: &mut DbConn,
    draft_id: i64,
    change_summary: &str,
    round: Option<(NaiveDateTime, NaiveDateTime)>,
    actor: &str,
) -> Result<i32, AppError> {
    let now = crate::domain::time::now();
    if let Some((opens_at, closes_at)) = round {
        check_round(opens_at, closes_at, now)?;
    }
    write_transaction(conn, |conn| {
        let draft = load_draft(conn, draft_id)?;
        let status = status_of(&draft)?;
        if status != DraftStatus::InReview {
            return Err(AppError::field(
                "status",
                format!("draft {draft_id} is '{status}': a revision is published from in_review"),
            ));
        }
        let version = working_version(conn, draft_id)?
            .filter(|v| v.number > 1)
            .ok_or_else(|| AppError::field("text", "there is no revision to publish"))?;
        let count: i64 = provisions::table
            .filter(provisions::version_id.eq(version.id))
            .count()
            .get_result(conn)?;
        if count == 0 {
            return Err(AppError::field(
                "text",
                "the new version has no text: a version needs at least one provision",
            ));
        }
        diesel::update(versions::table.find(version.id))
            .set((
                versions::published_at.eq(now),
                versions::change_summary.eq(change_summary),
            ))
            .execute(conn)?;
        record_version(conn, version.id)?;
        set_status(
            conn,
            &draft,
            DraftStatus::InReview,
            DraftStatus::Revised,
            actor,
            None,
            now,
        )?;
        if let Some((opens_at, closes_at)) = round {
            let round_id: i64 = diesel::insert_into(consultation_rounds::table)
                .values((
                    consultation_rounds::draft_id.eq(draft_id),
                    consultation_rounds::version_id.eq(version.id),
                    consultation_rounds::opens_at.eq(opens_at),
                    consultation_rounds::closes_at.eq(closes_at),
                    consultation_rounds::created_at.eq(now),
                ))
                .returning(consultation_rounds::id)
                .get_result(conn)?;
            let revised = load_draft(conn, draft_id)?;
            set_status(
                conn,
                &revised,
                DraftStatus::Revised,
                DraftStatus::Open,
                actor,
                None,
                now,
            )?;
            // Subscribers of the draft hear of the new version (and of the round opening).
            crate::services::notifications::on_publish(
                conn,
                draft_id,
                version.number,
                round_id,
                opens_at <= now,
            )?;
        } else {
            crate::services::notifications::new_version(conn, draft_id, version.number)?;
        }
        Ok(version.number)
    })
}

fn set_status(
    conn: &mut DbConn,
    draft: &DraftRow,
    from: DraftStatus,
    to: DraftStatus,
    actor: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    // The status in the WHERE clause makes a concurrent transition lose cleanly instead of
    // both being recorded.
    let changed = diesel::update(
        drafts::table
            .find(draft.id)
            .filter(drafts::status.eq(from.as_str())),
    )
    .set((drafts::status.eq(to.as_str()), drafts::updated_at.eq(now)))
    .execute(conn)?;
    if changed != 1 {
        return Err(AppError::field(
            "status",
            "the draft changed status meanwhile; reload and try again",
        ));
    }
    record_transition(conn, draft.id, Some(from), to, actor, note, now)
}

/// Moves a draft along its lifecycle; an invalid step is refused with the allowed ones.
pub fn transition(
    conn: &mut DbConn,
    draft_id: i64,
    to: DraftStatus,
    actor: &str,
    note: Option<&str>,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let draft = load_draft(conn, draft_id)?;
        let from = status_of(&draft)?;
        if !from.can_become(to) {
            let allowed = from.next();
            let allowed = if allowed.is_empty() {
                "none, it is final".to_string()
            } else {
                allowed
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(AppError::field(
                "status",
                format!("a draft cannot move from '{from}' to '{to}' (allowed: {allowed})"),
            ));
        }
        if to == DraftStatus::Open {
            return Err(AppError::field(
                "status",
                "a draft opens by publishing a version with a consultation round (talqy draft publish)",
            ));
        }
        let now = crate::domain::time::now();
        set_status(conn, &draft, from, to, actor, note, now)?;
        if to == DraftStatus::Closed {
            crate::services::notifications::round_closed(conn, draft_id)?;
        }
        Ok(())
    })
}

/// Closes every open draft whose round has ended; run periodically by the server.
pub fn close_expired_rounds(conn: &mut DbConn) -> Result<usize, AppError> {
    let now = crate::domain::time::now();
    let due: Vec<DraftRow> = drafts::table
        .filter(drafts::status.eq(DraftStatus::Open.as_str()))
        .select(DraftRow::as_select())
        .load(conn)?;
    let mut closed = 0;
    for draft in due {
        let round = latest_rounds(conn, &[draft.id])?.remove(&draft.id);
        if round.is_some_and(|r| r.closes_at <= now) {
            let result = write_transaction(conn, |conn| {
                set_status(
                    conn,
                    &draft,
                    DraftStatus::Open,
                    DraftStatus::Closed,
                    "system",
                    Some("the consultation round ended"),
                    now,
                )?;
                crate::services::notifications::round_closed(conn, draft.id)?;
                Ok(())
            });
            match result {
                Ok(()) => closed += 1,
                // Another instance closed it first.
                Err(AppError::Validation(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(closed)
}

// ---------------------------------------------------------------------------------------
// Read side

/// A draft with its latest consultation round, for lists.
#[derive(Debug, Clone)]
pub struct DraftSummary {
    pub draft: DraftRow,
    pub status: DraftStatus,
    pub kind: DraftKind,
    pub round: Option<RoundRow>,
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<DraftStatus>,
    pub kind: Option<DraftKind>,
    pub authority: Option<String>,
}

fn latest_rounds(conn: &mut DbConn, ids: &[i64]) -> Result<HashMap<i64, RoundRow>, AppError> {
    let rows: Vec<RoundRow> = consultation_rounds::table
        .filter(consultation_rounds::draft_id.eq_any(ids))
        .order(consultation_rounds::id.asc())
        .select(RoundRow::as_select())
        .load(conn)?;
    // Later rounds overwrite earlier ones.
    Ok(rows.into_iter().map(|r| (r.draft_id, r)).collect())
}

fn summarize(conn: &mut DbConn, rows: Vec<DraftRow>) -> Result<Vec<DraftSummary>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let mut rounds = latest_rounds(conn, &ids)?;
    rows.into_iter()
        .map(|draft| {
            Ok(DraftSummary {
                status: status_of(&draft)?,
                kind: DraftKind::parse(&draft.kind)
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                round: rounds.remove(&draft.id),
                draft,
            })
        })
        .collect()
}

/// Drafts with at least one published version: a draft withdrawn before publication has
/// nothing to show.
fn published_draft_ids() -> diesel::dsl::Filter<
    diesel::dsl::Select<versions::table, versions::draft_id>,
    diesel::dsl::IsNotNull<versions::published_at>,
> {
    versions::table
        .select(versions::draft_id)
        .filter(versions::published_at.is_not_null())
}

/// Published drafts, newest activity first, filtered and paginated.
pub fn list_public(
    conn: &mut DbConn,
    filter: &ListFilter,
    page: i64,
    per_page: i64,
) -> Result<Page<DraftSummary>, AppError> {
    let page = page.max(1);
    let build = || {
        let mut q = drafts::table
            .filter(drafts::status.ne(DraftStatus::Draft.as_str()))
            .filter(drafts::id.eq_any(published_draft_ids()))
            .into_boxed();
        if let Some(s) = filter.status {
            q = q.filter(drafts::status.eq(s.as_str()));
        }
        if let Some(k) = filter.kind {
            q = q.filter(drafts::kind.eq(k.as_str()));
        }
        if let Some(a) = &filter.authority {
            q = q.filter(drafts::authority.eq(a.clone()));
        }
        q
    };
    let total: i64 = build().count().get_result(conn)?;
    let rows: Vec<DraftRow> = build()
        .order((drafts::updated_at.desc(), drafts::id.desc()))
        .limit(per_page)
        .offset((page - 1) * per_page)
        .select(DraftRow::as_select())
        .load(conn)?;
    Ok(Page {
        items: summarize(conn, rows)?,
        total,
        page,
        per_page,
    })
}

/// Drafts taking comments now (or soon), the soonest to close first.
pub fn open_consultations(conn: &mut DbConn) -> Result<Vec<DraftSummary>, AppError> {
    let rows: Vec<DraftRow> = drafts::table
        .filter(drafts::status.eq(DraftStatus::Open.as_str()))
        .select(DraftRow::as_select())
        .load(conn)?;
    let mut list = summarize(conn, rows)?;
    list.sort_by_key(|d| (d.round.as_ref().map(|r| r.closes_at), d.draft.id));
    Ok(list)
}

/// The authorities that have published drafts, for the list filter.
pub fn public_authorities(conn: &mut DbConn) -> Result<Vec<String>, AppError> {
    Ok(drafts::table
        .filter(drafts::status.ne(DraftStatus::Draft.as_str()))
        .filter(drafts::id.eq_any(published_draft_ids()))
        .select(drafts::authority)
        .distinct()
        .order(drafts::authority)
        .load(conn)?)
}

/// Everything the public draft page shows.
#[derive(Debug, Clone)]
pub struct DraftDetail {
    pub summary: DraftSummary,
    pub version: VersionRow,
    pub versions: Vec<VersionRow>,
    pub provisions: Vec<ProvisionRow>,
    pub round_of_version: Option<RoundRow>,
    pub transitions: Vec<TransitionRow>,
}

/// A published draft at one of its versions (the latest when `number` is `None`).
/// Unpublished drafts and versions are not found.
pub fn public_detail(
    conn: &mut DbConn,
    draft_id: i64,
    number: Option<i32>,
) -> Result<DraftDetail, AppError> {
    let draft = load_draft(conn, draft_id)?;
    if !status_of(&draft)?.is_public() {
        return Err(AppError::NotFound);
    }
    let versions: Vec<VersionRow> = versions::table
        .filter(versions::draft_id.eq(draft_id))
        .filter(versions::published_at.is_not_null())
        .order(versions::number.desc())
        .select(VersionRow::as_select())
        .load(conn)?;
    let version = match number {
        None => versions.first().cloned(),
        Some(n) => versions.iter().find(|v| v.number == n).cloned(),
    }
    .ok_or(AppError::NotFound)?;
    let provisions: Vec<ProvisionRow> = provisions::table
        .filter(provisions::version_id.eq(version.id))
        .order(provisions::position)
        .select(ProvisionRow::as_select())
        .load(conn)?;
    let round_of_version = consultation_rounds::table
        .filter(consultation_rounds::version_id.eq(version.id))
        .select(RoundRow::as_select())
        .first(conn)
        .optional()?;
    let transitions = draft_transitions::table
        .filter(draft_transitions::draft_id.eq(draft_id))
        .order(draft_transitions::id)
        .select(TransitionRow::as_select())
        .load(conn)?;
    let summary = summarize(conn, vec![draft])?.remove(0);
    Ok(DraftDetail {
        summary,
        version,
        versions,
        provisions,
        round_of_version,
        transitions,
    })
}

/// All drafts, published or not, for the CLI and (later) the admin pages.
pub fn list_all(conn: &mut DbConn) -> Result<Vec<DraftSummary>, AppError> {
    let rows: Vec<DraftRow> = drafts::table
        .order(drafts::id)
        .select(DraftRow::as_select())
        .load(conn)?;
    summarize(conn, rows)
}
