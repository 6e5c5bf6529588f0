//! Triage: how a draft's working group works through its comments. Per comment a private
//! status (new → in review → decided), an assignee, tags and internal notes; and the public
//! disposition (accepted, partially accepted, rejected, noted, duplicate) with its written
//! justification, mailed to the author.
//!
//! Only the draft's working group (chair or member) and admins may triage: every function
//! here that reads or writes triage data checks [`require_triager`] first. Every change is
//! recorded in the audit log (subject `comment:{id}`, detail with before and after), in the
//! same transaction as the change.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::config::Config;
use crate::db::DbConn;
use crate::db::dialect::{contains_ignoring_case, write_transaction};
use crate::db::models::{ProvisionRow, UserRow};
use crate::db::schema::{
    comments, dispositions, drafts, organizations, provisions, triage, triage_notes, triage_tags,
    users, versions,
};
use crate::domain::{Stance, time};
use crate::email::{EmailMessage, enqueue_email};
use crate::error::{AppError, FieldError};
use crate::services::comments::{self as comment_service, CommentRow, Thread};
use crate::services::working_groups::{self, Member, Role};
use crate::services::{Page, audit};

pub const PER_PAGE: i64 = 50;
pub const JUSTIFICATION_MIN: usize = 20;
pub const JUSTIFICATION_MAX: usize = 5000;
pub const NOTE_MAX: usize = 5000;
pub const TAG_MAX: usize = 40;
/// The most comments one bulk action may touch.
pub const BULK_MAX: usize = 500;

// ---------------------------------------------------------------------------------------
// Words

/// Where a comment is in the working group's work. No `triage` row means `New`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriageStatus {
    New,
    InReview,
    Decided,
}

impl TriageStatus {
    pub const ALL: [TriageStatus; 3] = [
        TriageStatus::New,
        TriageStatus::InReview,
        TriageStatus::Decided,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TriageStatus::New => "new",
            TriageStatus::InReview => "in_review",
            TriageStatus::Decided => "decided",
        }
    }

    pub fn parse(s: &str) -> Result<TriageStatus, FieldError> {
        TriageStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim())
            .ok_or_else(|| FieldError::new("status", "Choose a status: new, in review or decided"))
    }

    /// The statuses set by hand; `Decided` comes with a disposition.
    pub fn parse_settable(s: &str) -> Result<TriageStatus, FieldError> {
        match TriageStatus::parse(s) {
            Ok(t) if t != TriageStatus::Decided => Ok(t),
            _ => Err(FieldError::new(
                "status",
                "Choose a status: new or in review (a comment is decided when it gets a disposition)",
            )),
        }
    }
}

/// The working group's public decision on a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Accepted,
    PartiallyAccepted,
    Rejected,
    Noted,
    Duplicate,
}

impl Decision {
    pub const ALL: [Decision; 5] = [
        Decision::Accepted,
        Decision::PartiallyAccepted,
        Decision::Rejected,
        Decision::Noted,
        Decision::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accepted => "accepted",
            Decision::PartiallyAccepted => "partially_accepted",
            Decision::Rejected => "rejected",
            Decision::Noted => "noted",
            Decision::Duplicate => "duplicate",
        }
    }

    /// The English label (emails; pages use Fluent `decision-…`).
    pub fn label(self) -> &'static str {
        match self {
            Decision::Accepted => "Accepted",
            Decision::PartiallyAccepted => "Partially accepted",
            Decision::Rejected => "Rejected",
            Decision::Noted => "Noted",
            Decision::Duplicate => "Duplicate",
        }
    }

    pub fn parse(s: &str) -> Result<Decision, FieldError> {
        Decision::ALL
            .into_iter()
            .find(|d| d.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "decision",
                    "Choose a decision: accepted, partially accepted, rejected, noted or duplicate",
                )
            })
    }
}

/// The name the public sees for a draft's working group (there is no name column).
pub fn group_name(draft_title: &str) -> String {
    format!("Working group on {draft_title}")
}

fn subject(comment_id: i64) -> String {
    format!("comment:{comment_id}")
}

fn draft_subject(draft_id: i64) -> String {
    format!("draft:{draft_id}")
}

// ---------------------------------------------------------------------------------------
// Who may triage

/// Admits the draft's working-group members (chair or member) and admins; refuses everyone
/// else with 403. Writers call it before their write transaction, so refused requests never
/// take (or wait for) the SQLite write lock. A draft that does not exist is 404. Returns the role in the group (`None`
/// for an admin who is not in it).
pub fn require_triager(
    conn: &mut DbConn,
    user: &UserRow,
    draft_id: i64,
) -> Result<Option<Role>, AppError> {
    let exists: i64 = drafts::table.find(draft_id).count().get_result(conn)?;
    if exists == 0 {
        return Err(AppError::NotFound);
    }
    let role = working_groups::is_member(conn, draft_id, user.id)?;
    if role.is_none() && !user.is_admin {
        return Err(AppError::Forbidden(
            "Only the working group of this draft and administrators can triage its comments."
                .into(),
        ));
    }
    Ok(role)
}

/// Whether `user` may triage the draft (for links; the routes still call [`require_triager`]).
pub fn can_triage(conn: &mut DbConn, user: &UserRow, draft_id: i64) -> QueryResult<bool> {
    Ok(user.is_admin || working_groups::is_member(conn, draft_id, user.id)?.is_some())
}

/// Comments waiting for approval, or rejected, are not part of the consultation: they are
/// moderated first and never triaged or answered. Hidden comments stay triageable (their
/// public answer shows under the moderators' reason).
const NOT_TRIAGED: [&str; 2] = [comment_service::PENDING, comment_service::REJECTED];

/// A comment of this draft that can be triaged (404 for a comment of another draft, or one
/// awaiting moderation).
fn comment_of(conn: &mut DbConn, draft_id: i64, comment_id: i64) -> Result<CommentRow, AppError> {
    comment_service::load(conn, comment_id)?
        .filter(|c| c.draft_id == draft_id && !NOT_TRIAGED.contains(&c.status.as_str()))
        .ok_or(AppError::NotFound)
}

// ---------------------------------------------------------------------------------------
// Stored state

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    status: TriageStatus,
    assignee_id: Option<i64>,
}

fn state(conn: &mut DbConn, comment_id: i64) -> Result<State, AppError> {
    let row: Option<(String, Option<i64>)> = triage::table
        .find(comment_id)
        .select((triage::status, triage::assignee_id))
        .first(conn)
        .optional()?;
    Ok(match row {
        None => State {
            status: TriageStatus::New,
            assignee_id: None,
        },
        Some((s, a)) => State {
            status: TriageStatus::parse(&s).map_err(|e| AppError::Internal(e.to_string()))?,
            assignee_id: a,
        },
    })
}

/// Runs an insert in a savepoint; `false` when the row was inserted concurrently by another
/// transaction (a unique violation, PostgreSQL), so the caller can update instead.
fn insert_once(
    conn: &mut DbConn,
    insert: impl FnOnce(&mut DbConn) -> QueryResult<usize>,
) -> QueryResult<bool> {
    match write_transaction(conn, insert) {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

fn save_state(conn: &mut DbConn, comment_id: i64, s: State) -> QueryResult<()> {
    let now = time::now();
    let update = |conn: &mut DbConn| {
        diesel::update(triage::table.find(comment_id))
            .set((
                triage::status.eq(s.status.as_str()),
                triage::assignee_id.eq(s.assignee_id),
                triage::updated_at.eq(now),
            ))
            .execute(conn)
    };
    if update(conn)? == 0 {
        let inserted = insert_once(conn, |c| {
            diesel::insert_into(triage::table)
                .values((
                    triage::comment_id.eq(comment_id),
                    triage::status.eq(s.status.as_str()),
                    triage::assignee_id.eq(s.assignee_id),
                    triage::updated_at.eq(now),
                ))
                .execute(c)
        })?;
        if !inserted {
            update(conn)?;
        }
    }
    Ok(())
}

fn tags_of(conn: &mut DbConn, comment_id: i64) -> QueryResult<Vec<String>> {
    triage_tags::table
        .filter(triage_tags::comment_id.eq(comment_id))
        .order(triage_tags::tag)
        .select(triage_tags::tag)
        .load(conn)
}

/// A disposition as stored, with the tracking number of the original for duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    pub comment_id: i64,
    pub decision: Decision,
    pub duplicate_of: Option<i64>,
    pub duplicate_tracking: Option<String>,
    pub justification: String,
    pub decided_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Disposition {
    fn audit_value(&self) -> Value {
        json!({
            "decision": self.decision.as_str(),
            "duplicate_of": self.duplicate_of,
            "justification": self.justification,
        })
    }

    /// The justification's paragraphs (blank-line separated), for display.
    pub fn paragraphs(&self) -> Vec<String> {
        paragraphs(&self.justification)
    }
}

/// Splits plain text into paragraphs at blank lines.
pub fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

type DispositionTuple = (
    i64,
    String,
    Option<i64>,
    String,
    NaiveDateTime,
    NaiveDateTime,
);

/// The dispositions of these comments (public: shown under each comment).
pub fn dispositions_for(
    conn: &mut DbConn,
    comment_ids: &[i64],
) -> QueryResult<HashMap<i64, Disposition>> {
    if comment_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<DispositionTuple> = dispositions::table
        .filter(dispositions::comment_id.eq_any(comment_ids))
        .select((
            dispositions::comment_id,
            dispositions::decision,
            dispositions::duplicate_of,
            dispositions::justification,
            dispositions::decided_at,
            dispositions::updated_at,
        ))
        .load(conn)?;
    let originals: Vec<i64> = rows.iter().filter_map(|r| r.2).collect();
    let tracking: HashMap<i64, String> = if originals.is_empty() {
        HashMap::new()
    } else {
        comments::table
            .filter(comments::id.eq_any(&originals))
            .select((comments::id, comments::tracking_number))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect()
    };
    Ok(rows
        .into_iter()
        .filter_map(
            |(comment_id, decision, duplicate_of, justification, decided_at, updated_at)| {
                Some((
                    comment_id,
                    Disposition {
                        comment_id,
                        decision: Decision::parse(&decision).ok()?,
                        duplicate_tracking: duplicate_of.and_then(|d| tracking.get(&d).cloned()),
                        duplicate_of,
                        justification,
                        decided_at,
                        updated_at,
                    },
                ))
            },
        )
        .collect())
}

fn disposition_of(conn: &mut DbConn, comment_id: i64) -> QueryResult<Option<Disposition>> {
    Ok(dispositions_for(conn, &[comment_id])?.remove(&comment_id))
}

// ---------------------------------------------------------------------------------------
// Input

/// A tag: trimmed, lower-case, single spaces, 1 to 40 characters, no control characters.
pub fn parse_tag(raw: &str) -> Result<String, FieldError> {
    let tag = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if tag.is_empty() {
        return Err(FieldError::new("tag", "Write a tag"));
    }
    if tag.chars().count() > TAG_MAX {
        return Err(FieldError::new(
            "tag",
            format!("A tag can be at most {TAG_MAX} characters long"),
        ));
    }
    if tag.chars().any(char::is_control) {
        return Err(FieldError::new(
            "tag",
            "The tag contains control characters",
        ));
    }
    Ok(tag)
}

fn clean_text(raw: &str) -> String {
    raw.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_string()
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
}

/// An internal note: 1 to 5,000 characters.
pub fn parse_note(raw: &str) -> Result<String, FieldError> {
    let body = clean_text(raw);
    let len = body.chars().count();
    if len == 0 {
        return Err(FieldError::new("body", "Write the note"));
    }
    if len > NOTE_MAX {
        return Err(FieldError::new(
            "body",
            format!("A note can be at most {NOTE_MAX} characters long (this one has {len})"),
        ));
    }
    if has_control(&body) {
        return Err(FieldError::new(
            "body",
            "The note contains control characters",
        ));
    }
    Ok(body)
}

/// The public justification: required, 20 to 5,000 characters.
pub fn parse_justification(raw: &str) -> Result<String, FieldError> {
    let text = clean_text(raw);
    let len = text.chars().count();
    if len == 0 {
        return Err(FieldError::new(
            "justification",
            "Write the justification: the public reason for this decision",
        ));
    }
    if len < JUSTIFICATION_MIN {
        return Err(FieldError::new(
            "justification",
            format!(
                "The justification must be at least {JUSTIFICATION_MIN} characters long (this one has {len}): explain the decision to the author"
            ),
        ));
    }
    if len > JUSTIFICATION_MAX {
        return Err(FieldError::new(
            "justification",
            format!(
                "The justification can be at most {JUSTIFICATION_MAX} characters long (this one has {len})"
            ),
        ));
    }
    if has_control(&text) {
        return Err(FieldError::new(
            "justification",
            "The justification contains control characters",
        ));
    }
    Ok(text)
}

/// What the disposition form sends.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct DispositionInput {
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub justification: String,
    #[serde(default)]
    pub duplicate_of: String,
}

#[derive(Debug, Clone)]
struct ValidDisposition {
    decision: Decision,
    justification: String,
    duplicate_of: Option<i64>,
}

impl DispositionInput {
    /// Checks the input; for a duplicate, resolves `duplicate_of` (an id or a tracking
    /// number) to another comment of the same draft that is not among `answered`.
    fn validate(
        &self,
        conn: &mut DbConn,
        draft_id: i64,
        answered: &[i64],
    ) -> Result<ValidDisposition, AppError> {
        let decision = Decision::parse(&self.decision);
        let justification = parse_justification(&self.justification);
        let mut errors: Vec<FieldError> = [decision.clone().err(), justification.clone().err()]
            .into_iter()
            .flatten()
            .collect();
        let mut duplicate_of = None;
        if decision == Ok(Decision::Duplicate) {
            match resolve_original(conn, draft_id, &self.duplicate_of, answered)? {
                Ok(id) => duplicate_of = Some(id),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(ValidDisposition {
            decision: decision.expect("checked"),
            justification: justification.expect("checked"),
            duplicate_of,
        })
    }
}

/// The comment a duplicate points at: given by id or tracking number, of the same draft,
/// not one of the comments being answered, and not itself marked as a duplicate.
fn resolve_original(
    conn: &mut DbConn,
    draft_id: i64,
    raw: &str,
    answered: &[i64],
) -> Result<Result<i64, FieldError>, AppError> {
    let refuse = |m: &str| Ok(Err(FieldError::new("duplicate_of", m)));
    let raw = raw.trim();
    if raw.is_empty() {
        return refuse(
            "Give the comment this one duplicates: its number or tracking number (TLQ-…)",
        );
    }
    let found: Option<(i64, i64)> = match raw.parse::<i64>() {
        Ok(id) => comments::table
            .find(id)
            .select((comments::id, comments::draft_id))
            .first(conn)
            .optional()?,
        Err(_) => comments::table
            .filter(comments::tracking_number.eq(raw.to_uppercase()))
            .select((comments::id, comments::draft_id))
            .first(conn)
            .optional()?,
    };
    let Some((id, original_draft)) = found else {
        return refuse("No comment has this number or tracking number");
    };
    if original_draft != draft_id {
        return refuse("A duplicate must point at a comment on the same draft");
    }
    if answered.contains(&id) {
        return refuse("A comment cannot be a duplicate of itself: point at another comment");
    }
    if let Some(d) = disposition_of(conn, id)?
        && d.decision == Decision::Duplicate
    {
        return refuse(&format!(
            "That comment is itself marked as a duplicate; point at the original{}",
            d.duplicate_tracking
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        ));
    }
    Ok(Ok(id))
}

/// Parses an assignee field: empty is nobody; otherwise a member of the draft's group.
fn resolve_assignee(conn: &mut DbConn, draft_id: i64, raw: &str) -> Result<Option<i64>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let not_member = || AppError::field("assignee_id", "Choose a member of the working group");
    let id = raw.parse::<i64>().map_err(|_| not_member())?;
    working_groups::is_member(conn, draft_id, id)?.ok_or_else(not_member)?;
    Ok(Some(id))
}

// ---------------------------------------------------------------------------------------
// Changes (each checks the actor, then works in one transaction with its audit rows)

fn record(
    conn: &mut DbConn,
    actor: &UserRow,
    action: &str,
    comment_id: i64,
    bulk: bool,
    before: Value,
    after: Value,
) -> QueryResult<()> {
    let mut detail = json!({ "before": before, "after": after });
    if bulk {
        detail["bulk"] = json!(true);
    }
    audit::record(
        conn,
        Some(actor.id),
        action,
        &subject(comment_id),
        &detail.to_string(),
    )
}

fn assign_one(
    conn: &mut DbConn,
    actor: &UserRow,
    comment_id: i64,
    assignee: Option<i64>,
    bulk: bool,
) -> Result<bool, AppError> {
    let before = state(conn, comment_id)?;
    if before.assignee_id == assignee {
        return Ok(false);
    }
    save_state(
        conn,
        comment_id,
        State {
            assignee_id: assignee,
            ..before
        },
    )?;
    record(
        conn,
        actor,
        "triage.assign",
        comment_id,
        bulk,
        json!({ "assignee_id": before.assignee_id }),
        json!({ "assignee_id": assignee }),
    )?;
    Ok(true)
}

fn tag_one(
    conn: &mut DbConn,
    actor: &UserRow,
    comment_id: i64,
    tag: &str,
    bulk: bool,
) -> Result<bool, AppError> {
    let before = tags_of(conn, comment_id)?;
    if before.iter().any(|t| t == tag) {
        return Ok(false);
    }
    let inserted = insert_once(conn, |c| {
        diesel::insert_into(triage_tags::table)
            .values((
                triage_tags::comment_id.eq(comment_id),
                triage_tags::tag.eq(tag),
                triage_tags::created_at.eq(time::now()),
            ))
            .execute(c)
    })?;
    if !inserted {
        return Ok(false);
    }
    let after = tags_of(conn, comment_id)?;
    record(
        conn,
        actor,
        "triage.tag",
        comment_id,
        bulk,
        json!({ "tags": before }),
        json!({ "tags": after }),
    )?;
    Ok(true)
}

fn status_one(
    conn: &mut DbConn,
    actor: &UserRow,
    comment_id: i64,
    status: TriageStatus,
    bulk: bool,
) -> Result<bool, AppError> {
    let before = state(conn, comment_id)?;
    if before.status == status {
        return Ok(false);
    }
    save_state(conn, comment_id, State { status, ..before })?;
    record(
        conn,
        actor,
        "triage.status",
        comment_id,
        bulk,
        json!({ "status": before.status.as_str() }),
        json!({ "status": status.as_str() }),
    )?;
    Ok(true)
}

/// Refuses a hand-set status on comments that already have a disposition.
fn refuse_status_when_decided(conn: &mut DbConn, ids: &[i64]) -> Result<(), AppError> {
    let decided: Vec<String> = comments::table
        .inner_join(dispositions::table.on(dispositions::comment_id.eq(comments::id)))
        .filter(comments::id.eq_any(ids))
        .order(comments::id)
        .select(comments::tracking_number)
        .load(conn)?;
    if decided.is_empty() {
        return Ok(());
    }
    Err(AppError::field(
        "status",
        format!(
            "These comments already have a disposition, so they stay decided (change the disposition instead): {}",
            decided.join(", ")
        ),
    ))
}

fn disposition_one(
    conn: &mut DbConn,
    config: &Config,
    actor: &UserRow,
    comment: &CommentRow,
    valid: &ValidDisposition,
    bulk: bool,
) -> Result<bool, AppError> {
    let before = disposition_of(conn, comment.id)?;
    let now = time::now();
    if let Some(b) = &before
        && b.decision == valid.decision
        && b.justification == valid.justification
        && b.duplicate_of == valid.duplicate_of
    {
        return Ok(false);
    }
    let update = |conn: &mut DbConn| {
        diesel::update(dispositions::table.filter(dispositions::comment_id.eq(comment.id)))
            .set((
                dispositions::decision.eq(valid.decision.as_str()),
                dispositions::duplicate_of.eq(valid.duplicate_of),
                dispositions::justification.eq(&valid.justification),
                dispositions::decided_by.eq(Some(actor.id)),
                dispositions::updated_at.eq(now),
            ))
            .execute(conn)
    };
    if before.is_some() {
        update(conn)?;
    } else {
        let inserted = insert_once(conn, |c| {
            diesel::insert_into(dispositions::table)
                .values((
                    dispositions::comment_id.eq(comment.id),
                    dispositions::decision.eq(valid.decision.as_str()),
                    dispositions::duplicate_of.eq(valid.duplicate_of),
                    dispositions::justification.eq(&valid.justification),
                    dispositions::decided_by.eq(Some(actor.id)),
                    dispositions::decided_at.eq(now),
                    dispositions::updated_at.eq(now),
                ))
                .execute(c)
        })?;
        if !inserted {
            update(conn)?;
        }
    }
    crate::services::chain::append_disposition(conn, comment.id)?;
    let st = state(conn, comment.id)?;
    if st.status != TriageStatus::Decided {
        save_state(
            conn,
            comment.id,
            State {
                status: TriageStatus::Decided,
                ..st
            },
        )?;
    }
    let after = disposition_of(conn, comment.id)?.ok_or(AppError::NotFound)?;
    let mut before_value = before
        .as_ref()
        .map(Disposition::audit_value)
        .unwrap_or(Value::Null);
    if let Value::Object(m) = &mut before_value {
        m.insert("status".into(), json!(st.status.as_str()));
    }
    let mut after_value = after.audit_value();
    after_value["status"] = json!(TriageStatus::Decided.as_str());
    record(
        conn,
        actor,
        "triage.disposition",
        comment.id,
        bulk,
        before_value,
        after_value,
    )?;
    notify_author(conn, config, comment, &after, before.is_some())?;
    Ok(true)
}

/// Emails the author about the decision (through the queue, in the caller's transaction):
/// through their subscription when they follow the decisions on their comments (so the
/// frequency they chose holds and one click stops it), otherwise directly, once per
/// decision. A deleted author gets nothing.
fn notify_author(
    conn: &mut DbConn,
    config: &Config,
    comment: &CommentRow,
    d: &Disposition,
    changed: bool,
) -> Result<(), AppError> {
    let author: Option<UserRow> = users::table
        .find(comment.author_id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    let Some(author) = author.filter(|a| a.deleted_at.is_none()) else {
        return Ok(());
    };
    if crate::services::notifications::follows_own_decisions(conn, author.id)? {
        crate::services::notifications::disposition(conn, comment.id)?;
        return Ok(());
    }
    let title: String = drafts::table
        .find(comment.draft_id)
        .select(drafts::title)
        .first(conn)?;
    let link = config.public_url(&format!("/comments/{}", comment.id));
    enqueue_email(
        conn,
        &disposition_email(&author, comment, &title, d, changed, &link),
    )?;
    Ok(())
}

fn disposition_email(
    to: &UserRow,
    comment: &CommentRow,
    draft_title: &str,
    d: &Disposition,
    changed: bool,
    link: &str,
) -> EmailMessage {
    let group = group_name(draft_title);
    let number = &comment.tracking_number;
    let subject = if changed {
        format!("The answer to your comment {number} has changed")
    } else {
        format!("Your comment {number} has been answered")
    };
    let mut paragraphs = vec![if changed {
        format!(
            "The {group} has changed its decision on your comment {number}. The decision is now: {}.",
            d.decision.label()
        )
    } else {
        format!(
            "The {group} has decided on your comment {number}: {}.",
            d.decision.label()
        )
    }];
    if let Some(original) = &d.duplicate_tracking {
        paragraphs.push(format!(
            "Your comment makes the same point as comment {original}, which is answered there."
        ));
    }
    paragraphs.push("The working group's justification:".into());
    paragraphs.extend(d.paragraphs());
    compose_email(to, &subject, &paragraphs, link)
}

fn compose_email(to: &UserRow, subject: &str, paragraphs: &[String], link: &str) -> EmailMessage {
    crate::services::mail::compose(
        &to.email,
        subject,
        &format!("Hello {},", to.display_name),
        paragraphs,
        "Read the answer",
        link,
    )
}

/// Assigns a comment to a working-group member (`assignee` empty: to nobody).
pub fn assign(
    conn: &mut DbConn,
    actor: &UserRow,
    draft_id: i64,
    comment_id: i64,
    assignee: &str,
) -> Result<bool, AppError> {
    require_triager(conn, actor, draft_id)?;
    write_transaction(conn, |conn| {
        comment_of(conn, draft_id, comment_id)?;
        let assignee = resolve_assignee(conn, draft_id, assignee)?;
        assign_one(conn, actor, comment_id, assignee, false)
    })
}

/// Adds a private tag (no change when the comment already has it).
pub fn add_tag(
    conn: &mut DbConn,
    actor: &UserRow,
    draft_id: i64,
    comment_id: i64,
    tag: &str,
) -> Result<bool, AppError> {
    require_triager(conn, actor, draft_id)?;
    write_transaction(conn, |conn| {
        comment_of(conn, draft_id, comment_id)?;
        let tag = parse_tag(tag)?;
        tag_one(conn, actor, comment_id, &tag, false)
    })
}

/// Removes a private tag.
pub fn remove_tag(
    conn: &mut DbConn,
    actor: &UserRow,
    draft_id: i64,
    comment_id: i64,
    tag: &str,
) -> Result<bool, AppError> {
    require_triager(conn, actor, draft_id)?;
    write_transaction(conn, |conn| {
        comment_of(conn, draft_id, comment_id)?;
        let tag = parse_tag(tag)?;
        let before = tags_of(conn, comment_id)?;
        let n = diesel::delete(
            triage_tags::table
                .filter(triage_tags::comment_id.eq(comment_id))
                .filter(triage_tags::tag.eq(&tag)),
        )
        .execute(conn)?;
        if n == 0 {
            return Ok(false);
        }
        let after = tags_of(conn, comment_id)?;
        record(
            conn,
            actor,
            "triage.untag",
            comment_id,
            false,
            json!({ "tags": before }),
            json!({ "tags": after }),
        )?;
        Ok(true)
    })
}

/// Adds a private internal note; returns its id. The audit row names the note, not its text.
pub fn add_note(
    conn: &mut DbConn,
    actor: &UserRow,
    draft_id: i64,
    comment_id: i64,
    body: &str,
) -> Result<i64, AppError> {
    require_triager(conn, actor, draft_id)?;
    write_transaction(conn, |conn| {
        comment_of(conn, draft_id, comment_id)?;
        let body = parse_note(body)?;
        let id: i64 = diesel::insert_into(triage_notes::table)
            .values((
                triage_notes::comment_id.eq(comment_id),
                triage_notes::author_id.eq(Some(actor.id)),
                triage_notes::body.eq(&body),
                triage_notes::created_at.eq(time::now()),
            ))
            .returning(triage_notes::id)
            .get_result(conn)?;
        let count: i64 = triage_notes::table
            .filter(triage_notes::comment_id.eq(comment_id))
            .count()
            .get_result(conn)?;
        record(
            conn,
            actor,
            "triage.note",
            comment_id,
            false,
            json!({ "notes": count - 1 }),
            json!({ "notes": count, "note_id": id, "characters": body.chars().count() }),
        )?;
        Ok(id)
    })
}

/// Sets the status by hand: new or in review (decided comes with a disposition, and a
/// comment with a disposition stays decided).
pub fn set_status(
    conn: &mut DbConn,
    actor: &UserRow,
    draft_id: i64,
    comment_id: i64,
    status: &str,
) -> Result<bool, AppError> {
    require_triager(conn, actor, draft_id)?;
    write_transaction(conn, |conn| {
        comment_of(conn, draft_id, comment_id)?;
        let status = TriageStatus::parse_settable(status)?;
        refuse_status_when_decided(conn, &[comment_id])?;
        status_one(conn, actor, comment_id, status, false)
    })
}

/// Sets or changes the public disposition; the comment becomes decided and its author is
/// emailed. Returns false when nothing changed (the same decision submitted again).
pub fn set_disposition(
    conn: &mut DbConn,
    config: &Config,
    actor: &UserRow,
    draft_id: i64,
    comment_id: i64,
    input: &DispositionInput,
) -> Result<bool, AppError> {
    require_triager(conn, actor, draft_id)?;
    write_transaction(conn, |conn| {
        let comment = comment_of(conn, draft_id, comment_id)?;
        let valid = input.validate(conn, draft_id, &[comment_id])?;
        disposition_one(conn, config, actor, &comment, &valid, false)
    })
}

/// What the bulk form sends (besides the selected `ids`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct BulkInput {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub assignee_id: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub justification: String,
    #[serde(default)]
    pub duplicate_of: String,
}

impl BulkInput {
    fn disposition(&self) -> DispositionInput {
        DispositionInput {
            decision: self.decision.clone(),
            justification: self.justification.clone(),
            duplicate_of: self.duplicate_of.clone(),
        }
    }
}

/// Parses the selected ids: at least one, at most [`BULK_MAX`], all numbers.
pub fn parse_ids(raw: &[String]) -> Result<Vec<i64>, FieldError> {
    let mut ids = Vec::new();
    for r in raw {
        let id = r
            .trim()
            .parse::<i64>()
            .map_err(|_| FieldError::new("ids", "The selection is not valid; reload the queue"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(FieldError::new("ids", "Select at least one comment"));
    }
    if ids.len() > BULK_MAX {
        return Err(FieldError::new(
            "ids",
            format!("Select at most {BULK_MAX} comments at once"),
        ));
    }
    Ok(ids)
}

/// Applies one action to exactly the selected comments, all in one transaction: if any id
/// is not a comment of this draft, or the action is refused for any of them, nothing
/// changes. Returns how many comments changed.
pub fn bulk(
    conn: &mut DbConn,
    config: &Config,
    actor: &UserRow,
    draft_id: i64,
    raw_ids: &[String],
    input: &BulkInput,
) -> Result<usize, AppError> {
    require_triager(conn, actor, draft_id)?;
    write_transaction(conn, |conn| {
        let ids = parse_ids(raw_ids)?;
        let rows: Vec<CommentRow> = comments::table
            .filter(comments::id.eq_any(&ids))
            .filter(comments::draft_id.eq(draft_id))
            .filter(comments::status.ne_all(NOT_TRIAGED))
            .order(comments::id)
            .select(CommentRow::as_select())
            .load(conn)?;
        if rows.len() != ids.len() {
            return Err(AppError::field(
                "ids",
                "Some selected comments are not comments on this draft; nothing was changed. Reload the queue and select again.",
            ));
        }
        let mut changed = 0;
        let operation = input.action.trim();
        let summary: Value = match operation {
            "assign" => {
                let assignee = resolve_assignee(conn, draft_id, &input.assignee_id)?;
                for c in &rows {
                    changed += usize::from(assign_one(conn, actor, c.id, assignee, true)?);
                }
                json!({ "assignee_id": assignee })
            }
            "tag" => {
                let tag = parse_tag(&input.tag)?;
                for c in &rows {
                    changed += usize::from(tag_one(conn, actor, c.id, &tag, true)?);
                }
                json!({ "tag": tag })
            }
            "status" => {
                let status = TriageStatus::parse_settable(&input.status)?;
                refuse_status_when_decided(conn, &ids)?;
                for c in &rows {
                    changed += usize::from(status_one(conn, actor, c.id, status, true)?);
                }
                json!({ "status": status.as_str() })
            }
            "answer" => {
                let valid = input.disposition().validate(conn, draft_id, &ids)?;
                for c in &rows {
                    changed += usize::from(disposition_one(conn, config, actor, c, &valid, true)?);
                }
                json!({
                    "decision": valid.decision.as_str(),
                    "duplicate_of": valid.duplicate_of,
                    "justification": valid.justification,
                })
            }
            _ => {
                return Err(AppError::field(
                    "action",
                    "Choose what to do with the selected comments",
                ));
            }
        };
        audit::record(
            conn,
            Some(actor.id),
            "triage.bulk",
            &draft_subject(draft_id),
            &json!({
                "operation": operation,
                "comment_ids": ids,
                "changed": changed,
                "after": summary,
            })
            .to_string(),
        )?;
        Ok(changed)
    })
}

// ---------------------------------------------------------------------------------------
// The queue

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionFilter {
    /// Comments on the draft as a whole.
    WholeDraft,
    Key(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationFilter {
    /// Comments made for any organization.
    Any,
    /// Comments by individuals.
    None,
    Id(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Unassigned,
    User(i64),
}

#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub status: Option<TriageStatus>,
    pub provision: Option<ProvisionFilter>,
    pub stance: Option<Stance>,
    pub respondent_type: Option<String>,
    pub organization: Option<OrganizationFilter>,
    pub tag: Option<String>,
    pub assignee: Option<AssigneeFilter>,
    /// Words in the comment's text, any case.
    pub text: Option<String>,
    /// Only these comments (the members of a detected campaign).
    pub ids: Option<Vec<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueSort {
    #[default]
    Oldest,
    Newest,
    MostEndorsed,
    /// In the order of the draft's text (comments on the whole draft first), threads kept
    /// together.
    Provision,
}

impl QueueSort {
    pub const ALL: [QueueSort; 4] = [
        QueueSort::Oldest,
        QueueSort::Newest,
        QueueSort::MostEndorsed,
        QueueSort::Provision,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueSort::Oldest => "oldest",
            QueueSort::Newest => "newest",
            QueueSort::MostEndorsed => "endorsed",
            QueueSort::Provision => "provision",
        }
    }

    pub fn parse(s: &str) -> Result<QueueSort, FieldError> {
        match s.trim() {
            "" => Ok(QueueSort::Oldest),
            s => QueueSort::ALL
                .into_iter()
                .find(|q| q.as_str() == s)
                .ok_or_else(|| FieldError::new("sort", "Choose an order from the list")),
        }
    }
}

/// One line of the queue.
#[derive(Debug, Clone)]
pub struct QueueRow {
    pub comment: CommentRow,
    pub author_name: String,
    pub author_deleted: bool,
    pub organization: Option<(i64, String)>,
    pub status: TriageStatus,
    pub assignee: Option<(i64, String)>,
    pub tags: Vec<String>,
    pub disposition: Option<Disposition>,
}

/// The queue page's data.
#[derive(Debug, Clone)]
pub struct Queue {
    pub draft_title: String,
    pub rows: Page<QueueRow>,
    /// Matching comments per status, with every filter but the status applied.
    pub counts: Vec<(TriageStatus, i64)>,
    /// The provisions commented on (latest wording of each key), in text order.
    pub provisions: Vec<ProvisionRow>,
    pub has_whole_draft: bool,
    pub organizations: Vec<(i64, String)>,
    pub tags: Vec<String>,
    pub members: Vec<Member>,
}

/// The queue's comments matching `$f` (and `$status`), from `$from`: the comments with their
/// triage rows, and their provisions only for the sort that needs them (without the join,
/// the counts read `comments_triage_idx` alone).
macro_rules! queue_query {
    ($conn:expr, $draft_id:expr, $f:expr, $status:expr, $from:expr) => {{
        let f: &QueueFilter = $f;
        let mut q = $from
            .filter(comments::draft_id.eq($draft_id))
            .filter(comments::status.ne_all(NOT_TRIAGED))
            .into_boxed();
        let status: Option<TriageStatus> = $status;
        match status {
            Some(TriageStatus::New) => {
                q = q.filter(
                    triage::status
                        .nullable()
                        .is_null()
                        .or(triage::status.nullable().eq(TriageStatus::New.as_str())),
                )
            }
            Some(s) => q = q.filter(triage::status.nullable().eq(s.as_str())),
            None => {}
        }
        match &f.provision {
            Some(ProvisionFilter::WholeDraft) => q = q.filter(comments::provision_key.is_null()),
            Some(ProvisionFilter::Key(k)) => q = q.filter(comments::provision_key.eq(k.clone())),
            None => {}
        }
        if let Some(s) = f.stance {
            q = q.filter(comments::stance.eq(s.as_str()));
        }
        if let Some(r) = &f.respondent_type {
            q = q.filter(comments::respondent_type.eq(r.clone()));
        }
        match f.organization {
            Some(OrganizationFilter::Any) => q = q.filter(comments::organization_id.is_not_null()),
            Some(OrganizationFilter::None) => q = q.filter(comments::organization_id.is_null()),
            Some(OrganizationFilter::Id(id)) => q = q.filter(comments::organization_id.eq(id)),
            None => {}
        }
        if let Some(t) = &f.tag {
            q = q.filter(
                comments::id.eq_any(
                    triage_tags::table
                        .filter(triage_tags::tag.eq(t.clone()))
                        .select(triage_tags::comment_id),
                ),
            );
        }
        match f.assignee {
            Some(AssigneeFilter::Unassigned) => {
                q = q.filter(triage::assignee_id.nullable().is_null())
            }
            Some(AssigneeFilter::User(u)) => q = q.filter(triage::assignee_id.nullable().eq(u)),
            None => {}
        }
        if let Some(text) = &f.text {
            q = q.filter(contains_ignoring_case($conn, "comments.body", text));
        }
        if let Some(ids) = &f.ids {
            q = q.filter(comments::id.eq_any(ids.clone()));
        }
        q
    }};
}

/// The provisions commented on: for each key, its wording in the newest version that has it.
/// One index probe per provision of the draft (`comments_provision_idx`) rather than a scan
/// of its comments; a key no version has was never listed.
fn commented_provisions(conn: &mut DbConn, draft_id: i64) -> QueryResult<Vec<ProvisionRow>> {
    let rows: Vec<(ProvisionRow, i32)> = provisions::table
        .inner_join(versions::table)
        .filter(versions::draft_id.eq(draft_id))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(
                "EXISTS (SELECT 1 FROM comments c WHERE c.provision_key = provisions.key AND c.draft_id = ",
            )
            .bind::<diesel::sql_types::BigInt, _>(draft_id)
            .sql(")"),
        )
        .order(versions::number.desc())
        .select((ProvisionRow::as_select(), versions::number))
        .load(conn)?;
    let mut seen: HashMap<String, ProvisionRow> = HashMap::new();
    for (p, _) in rows {
        seen.entry(p.key.clone()).or_insert(p);
    }
    let mut list: Vec<ProvisionRow> = seen.into_values().collect();
    list.sort_by(|a, b| (a.position, &a.key).cmp(&(b.position, &b.key)));
    Ok(list)
}

/// One page of the queue with the counts and the choices of the filter form.
pub fn queue(
    conn: &mut DbConn,
    actor: &UserRow,
    draft_id: i64,
    filter: &QueueFilter,
    sort: QueueSort,
    page: i64,
) -> Result<Queue, AppError> {
    require_triager(conn, actor, draft_id)?;
    let page = page.max(1);
    let draft_title: String = drafts::table
        .find(draft_id)
        .select(drafts::title)
        .first(conn)?;
    // The counts per status in one pass over the matching comments (no triage row is new).
    let counts: Vec<(TriageStatus, i64)> = {
        let count_of = |s: TriageStatus| {
            let when = match s {
                TriageStatus::New => {
                    format!("triage.status IS NULL OR triage.status = '{}'", s.as_str())
                }
                _ => format!("triage.status = '{}'", s.as_str()),
            };
            diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                "COUNT(CASE WHEN {when} THEN 1 END)"
            ))
        };
        let [new, in_review, decided] = TriageStatus::ALL;
        let q = queue_query!(
            &*conn,
            draft_id,
            filter,
            None,
            comments::table.left_join(triage::table)
        );
        let (a, b, c): (i64, i64, i64) = q
            .select((count_of(new), count_of(in_review), count_of(decided)))
            .first(conn)?;
        vec![(new, a), (in_review, b), (decided, c)]
    };
    let total: i64 = match filter.status {
        Some(s) => counts
            .iter()
            .find(|(c, _)| *c == s)
            .map(|c| c.1)
            .unwrap_or(0),
        None => counts.iter().map(|c| c.1).sum(),
    };
    let offset = (page - 1) * PER_PAGE;
    let ids: Vec<i64> = match sort {
        QueueSort::Provision => queue_query!(
            &*conn,
            draft_id,
            filter,
            filter.status,
            comments::table.left_join(triage::table).left_join(
                provisions::table.on(provisions::version_id
                    .eq(comments::version_id)
                    .and(comments::provision_key.eq(provisions::key.nullable()))),
            )
        )
        .order(diesel::dsl::sql::<diesel::sql_types::Integer>(
            "COALESCE(provisions.position, -1)",
        ))
        .then_order_by(comments::provision_key.asc())
        .then_order_by(comments::path.asc())
        .select(comments::id)
        .limit(PER_PAGE)
        .offset(offset)
        .load(conn)?,
        _ => {
            let q = queue_query!(
                &*conn,
                draft_id,
                filter,
                filter.status,
                comments::table.left_join(triage::table)
            );
            let q = match sort {
                QueueSort::Newest => q.order(comments::id.desc()),
                QueueSort::MostEndorsed => q
                    .order(comments::endorsement_count.desc())
                    .then_order_by(comments::id.asc()),
                _ => q.order(comments::id.asc()),
            };
            q.select(comments::id)
                .limit(PER_PAGE)
                .offset(offset)
                .load(conn)?
        }
    };
    let rows = queue_rows(conn, &ids)?;
    // One index probe per organization (`comments_organization_idx`) rather than a scan of
    // the draft's comments.
    let organizations: Vec<(i64, String)> = organizations::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(
                "EXISTS (SELECT 1 FROM comments c WHERE c.organization_id = organizations.id AND c.draft_id = ",
            )
            .bind::<diesel::sql_types::BigInt, _>(draft_id)
            .sql(")"),
        )
        .order(organizations::name)
        .select((organizations::id, organizations::name))
        .load(conn)?;
    let tags: Vec<String> = triage_tags::table
        .inner_join(comments::table)
        .filter(comments::draft_id.eq(draft_id))
        .select(triage_tags::tag)
        .distinct()
        .order(triage_tags::tag)
        .load(conn)?;
    let whole: Option<i64> = comments::table
        .filter(comments::draft_id.eq(draft_id))
        .filter(comments::provision_key.is_null())
        .select(comments::id)
        .first(conn)
        .optional()?;
    Ok(Queue {
        draft_title,
        rows: Page {
            items: rows,
            total,
            page,
            per_page: PER_PAGE,
        },
        counts,
        provisions: commented_provisions(conn, draft_id)?,
        has_whole_draft: whole.is_some(),
        organizations,
        tags,
        members: working_groups::members(conn, draft_id)?,
    })
}

type RowTuple = (
    CommentRow,
    String,
    Option<NaiveDateTime>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// The queue lines of these comments, in the given order.
fn queue_rows(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<QueueRow>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<RowTuple> = comments::table
        .inner_join(users::table)
        .left_join(organizations::table)
        .left_join(triage::table)
        .filter(comments::id.eq_any(ids))
        .select((
            CommentRow::as_select(),
            users::display_name,
            users::deleted_at,
            organizations::id.nullable(),
            organizations::name.nullable(),
            triage::status.nullable(),
            triage::assignee_id.nullable(),
        ))
        .load(conn)?;
    let assignee_ids: Vec<i64> = rows.iter().filter_map(|r| r.6).collect();
    let names: HashMap<i64, String> = users::table
        .filter(users::id.eq_any(&assignee_ids))
        .select((users::id, users::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for (cid, tag) in triage_tags::table
        .filter(triage_tags::comment_id.eq_any(ids))
        .order(triage_tags::tag)
        .select((triage_tags::comment_id, triage_tags::tag))
        .load::<(i64, String)>(conn)?
    {
        tags.entry(cid).or_default().push(tag);
    }
    let mut decided = dispositions_for(conn, ids)?;
    let mut by_id: HashMap<i64, QueueRow> = HashMap::new();
    for (comment, name, deleted, org_id, org_name, status, assignee) in rows {
        let id = comment.id;
        by_id.insert(
            id,
            QueueRow {
                author_name: name,
                author_deleted: deleted.is_some(),
                organization: org_id.zip(org_name),
                status: status
                    .as_deref()
                    .map(TriageStatus::parse)
                    .transpose()
                    .map_err(|e| AppError::Internal(e.to_string()))?
                    .unwrap_or(TriageStatus::New),
                assignee: assignee.map(|a| (a, names.get(&a).cloned().unwrap_or_default())),
                tags: tags.remove(&id).unwrap_or_default(),
                disposition: decided.remove(&id),
                comment,
            },
        );
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

// ---------------------------------------------------------------------------------------
// One comment

#[derive(Debug, Clone)]
pub struct Note {
    pub id: i64,
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: NaiveDateTime,
}

/// Everything the triage page of one comment shows.
#[derive(Debug, Clone)]
pub struct CommentTriage {
    pub draft_title: String,
    pub comment_id: i64,
    pub thread: Thread,
    pub provision: Option<ProvisionRow>,
    pub status: TriageStatus,
    pub assignee_id: Option<i64>,
    pub tags: Vec<String>,
    pub all_tags: Vec<String>,
    pub notes: Vec<Note>,
    pub disposition: Option<Disposition>,
    pub members: Vec<Member>,
}

pub fn comment_page(
    conn: &mut DbConn,
    actor: &UserRow,
    draft_id: i64,
    comment_id: i64,
) -> Result<CommentTriage, AppError> {
    require_triager(conn, actor, draft_id)?;
    let comment = comment_of(conn, draft_id, comment_id)?;
    let draft_title: String = drafts::table
        .find(draft_id)
        .select(drafts::title)
        .first(conn)?;
    let thread = comment_service::thread_of(conn, comment_id, Some(actor.id), true)?;
    let provision = match &comment.provision_key {
        Some(k) => provisions::table
            .filter(provisions::version_id.eq(comment.version_id))
            .filter(provisions::key.eq(k))
            .select(ProvisionRow::as_select())
            .first(conn)
            .optional()?,
        None => None,
    };
    let st = state(conn, comment_id)?;
    let notes: Vec<(i64, Option<String>, String, NaiveDateTime)> = triage_notes::table
        .left_join(users::table.on(triage_notes::author_id.eq(users::id.nullable())))
        .filter(triage_notes::comment_id.eq(comment_id))
        .order(triage_notes::id.desc())
        .select((
            triage_notes::id,
            users::display_name.nullable(),
            triage_notes::body,
            triage_notes::created_at,
        ))
        .load(conn)?;
    let all_tags: Vec<String> = triage_tags::table
        .inner_join(comments::table)
        .filter(comments::draft_id.eq(draft_id))
        .select(triage_tags::tag)
        .distinct()
        .order(triage_tags::tag)
        .load(conn)?;
    Ok(CommentTriage {
        draft_title,
        comment_id,
        thread,
        provision,
        status: st.status,
        assignee_id: st.assignee_id,
        tags: tags_of(conn, comment_id)?,
        all_tags,
        notes: notes
            .into_iter()
            .map(|(id, author_name, body, created_at)| Note {
                id,
                author_name,
                body,
                created_at,
            })
            .collect(),
        disposition: disposition_of(conn, comment_id)?,
        members: working_groups::members(conn, draft_id)?,
    })
}

// ---------------------------------------------------------------------------------------
// Activity (admins)

/// One audit entry with its actor's name.
#[derive(Debug, Clone)]
pub struct ActivityEntry {
    pub id: i64,
    pub actor: Option<(i64, String)>,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub created_at: NaiveDateTime,
}

/// The audit entries about a draft and its comments, newest first (admins only: the caller
/// checks; the admin scope guards the page).
pub fn activity(
    conn: &mut DbConn,
    draft_id: i64,
    page: i64,
    per_page: i64,
) -> Result<Page<ActivityEntry>, AppError> {
    use crate::db::schema::audit_log;
    use diesel::sql_types::{BigInt, Bool};
    let exists: i64 = drafts::table.find(draft_id).count().get_result(conn)?;
    if exists == 0 {
        return Err(AppError::NotFound);
    }
    let page = page.max(1);
    let of_draft = || {
        audit_log::table
            .filter(
                audit_log::subject.eq(draft_subject(draft_id)).or(diesel::dsl::sql::<Bool>(
                    "audit_log.subject IN (SELECT 'comment:' || CAST(c.id AS TEXT) FROM comments c WHERE c.draft_id = ",
                )
                .bind::<BigInt, _>(draft_id)
                .sql(")")),
            )
            .into_boxed()
    };
    let total: i64 = of_draft().count().get_result(conn)?;
    let rows: Vec<(i64, Option<i64>, String, String, String, NaiveDateTime)> = of_draft()
        .order(audit_log::id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
        .select((
            audit_log::id,
            audit_log::actor_id,
            audit_log::action,
            audit_log::subject,
            audit_log::detail,
            audit_log::created_at,
        ))
        .load(conn)?;
    let actor_ids: Vec<i64> = rows.iter().filter_map(|r| r.1).collect();
    let names: HashMap<i64, String> = users::table
        .filter(users::id.eq_any(&actor_ids))
        .select((users::id, users::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    Ok(Page {
        items: rows
            .into_iter()
            .map(
                |(id, actor, action, subject, detail, created_at)| ActivityEntry {
                    id,
                    actor: actor.map(|a| (a, names.get(&a).cloned().unwrap_or_default())),
                    action,
                    subject,
                    detail,
                    created_at,
                },
            )
            .collect(),
        total,
        page,
        per_page,
    })
}
