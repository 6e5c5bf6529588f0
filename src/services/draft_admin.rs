//! Drafts managed by an admin in the browser: the `services::drafts` steps, each wrapped
//! with its audit record in one transaction. The draft's own history (`draft_transitions`)
//! names the admin as `user:<id>`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::DbConn;
use crate::db::dialect::write_transaction;
use crate::db::models::{DraftRow, RoundRow, TransitionRow};
use crate::db::schema::{
    consultation_rounds, draft_transitions, drafts, provisions, versions, working_group_members,
};
use crate::domain::{DraftKind, DraftStatus, time};
use crate::error::AppError;
use crate::services::audit;
use crate::services::drafts::{self as service, DraftInput, DraftSummary, ImportOutcome};
use crate::services::import::ParsedDraft;

/// How the draft history names an admin.
pub fn actor(user_id: i64) -> String {
    format!("user:{user_id}")
}

fn subject(draft_id: i64) -> String {
    format!("draft:{draft_id}")
}

fn load(conn: &mut DbConn, id: i64) -> Result<DraftRow, AppError> {
    drafts::table
        .find(id)
        .select(DraftRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

fn metadata(d: &DraftRow) -> Value {
    json!({
        "title": d.title,
        "kind": d.kind,
        "authority": d.authority,
        "summary": d.summary,
        "status": d.status,
    })
}

fn record(
    conn: &mut DbConn,
    admin_id: i64,
    action: &str,
    draft_id: i64,
    detail: Value,
) -> Result<(), AppError> {
    audit::record(
        conn,
        Some(admin_id),
        action,
        &subject(draft_id),
        &detail.to_string(),
    )?;
    Ok(())
}

pub fn create(
    conn: &mut DbConn,
    admin_id: i64,
    input: &DraftInput,
    text: Option<&ParsedDraft>,
) -> Result<i64, AppError> {
    write_transaction(conn, |conn| {
        let id = service::create(conn, input, text, &actor(admin_id))?;
        let after = load(conn, id)?;
        record(
            conn,
            admin_id,
            "draft.create",
            id,
            json!({
                "before": null,
                "after": metadata(&after),
                "provisions": text.map_or(0, |t| t.provisions.len()),
            }),
        )?;
        Ok(id)
    })
}

pub fn edit(
    conn: &mut DbConn,
    admin_id: i64,
    draft_id: i64,
    input: &DraftInput,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let before = load(conn, draft_id)?;
        service::edit(conn, draft_id, input)?;
        let after = load(conn, draft_id)?;
        record(
            conn,
            admin_id,
            "draft.edit",
            draft_id,
            json!({ "before": metadata(&before), "after": metadata(&after) }),
        )
    })
}

pub fn import_text(
    conn: &mut DbConn,
    admin_id: i64,
    draft_id: i64,
    text: ParsedDraft,
) -> Result<ImportOutcome, AppError> {
    write_transaction(conn, |conn| {
        let before = working_text(conn, draft_id)?.map(|w| w.provisions);
        let out = service::import_text(conn, draft_id, text)?;
        record(
            conn,
            admin_id,
            "draft.import",
            draft_id,
            json!({
                "before": { "provisions": before },
                "after": { "provisions": out.provisions },
                "kept": out.kept,
                "added": out.added,
                "removed": out.removed,
            }),
        )?;
        Ok(out)
    })
}

pub fn publish(
    conn: &mut DbConn,
    admin_id: i64,
    draft_id: i64,
    opens_at: Option<NaiveDateTime>,
    closes_at: NaiveDateTime,
) -> Result<i32, AppError> {
    write_transaction(conn, |conn| {
        let before = load(conn, draft_id)?;
        let number = service::publish(conn, draft_id, opens_at, closes_at, &actor(admin_id))?;
        record(
            conn,
            admin_id,
            "draft.publish",
            draft_id,
            json!({
                "before": { "status": before.status },
                "after": { "status": DraftStatus::Open.as_str(), "version": number },
                "opens_at": opens_at.map(time::machine),
                "closes_at": time::machine(closes_at),
            }),
        )?;
        Ok(number)
    })
}

pub fn transition(
    conn: &mut DbConn,
    admin_id: i64,
    draft_id: i64,
    to: DraftStatus,
    note: Option<&str>,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let before = load(conn, draft_id)?;
        service::transition(conn, draft_id, to, &actor(admin_id), note)?;
        record(
            conn,
            admin_id,
            "draft.transition",
            draft_id,
            json!({
                "before": { "status": before.status },
                "after": { "status": to.as_str() },
                "note": note,
            }),
        )
    })
}

/// The version still being written, if any.
#[derive(Debug, Clone)]
pub struct WorkingText {
    pub number: i32,
    pub provisions: i64,
}

fn working_text(conn: &mut DbConn, draft_id: i64) -> Result<Option<WorkingText>, AppError> {
    let version: Option<(i64, i32)> = versions::table
        .filter(versions::draft_id.eq(draft_id))
        .filter(versions::published_at.is_null())
        .order(versions::number.desc())
        .select((versions::id, versions::number))
        .first(conn)
        .optional()?;
    Ok(match version {
        None => None,
        Some((id, number)) => Some(WorkingText {
            number,
            provisions: provisions::table
                .filter(provisions::version_id.eq(id))
                .count()
                .get_result(conn)?,
        }),
    })
}

/// Everything the admin page of one draft shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub summary: DraftSummary,
    pub working: Option<WorkingText>,
    pub published_versions: i64,
    pub members: i64,
    pub transitions: Vec<TransitionRow>,
}

pub fn overview(conn: &mut DbConn, draft_id: i64) -> Result<Overview, AppError> {
    let draft = load(conn, draft_id)?;
    let internal = |e: crate::error::FieldError| AppError::Internal(e.to_string());
    let round = consultation_rounds::table
        .filter(consultation_rounds::draft_id.eq(draft_id))
        .order(consultation_rounds::id.desc())
        .select(RoundRow::as_select())
        .first(conn)
        .optional()?;
    let summary = DraftSummary {
        status: DraftStatus::parse(&draft.status).map_err(internal)?,
        kind: DraftKind::parse(&draft.kind).map_err(internal)?,
        round,
        draft,
    };
    let working = working_text(conn, draft_id)?;
    let published_versions: i64 = versions::table
        .filter(versions::draft_id.eq(draft_id))
        .filter(versions::published_at.is_not_null())
        .count()
        .get_result(conn)?;
    let members: i64 = working_group_members::table
        .filter(working_group_members::draft_id.eq(draft_id))
        .count()
        .get_result(conn)?;
    let transitions = draft_transitions::table
        .filter(draft_transitions::draft_id.eq(draft_id))
        .order(draft_transitions::id)
        .select(TransitionRow::as_select())
        .load(conn)?;
    Ok(Overview {
        summary,
        working,
        published_versions,
        members,
        transitions,
    })
}

/// Every draft, newest first.
pub fn all(conn: &mut DbConn) -> Result<Vec<DraftSummary>, AppError> {
    let mut list = service::list_all(conn)?;
    list.reverse();
    Ok(list)
}

/// The title of a draft, for headings of pages about it.
pub fn title(conn: &mut DbConn, draft_id: i64) -> Result<String, AppError> {
    Ok(load(conn, draft_id)?.title)
}
