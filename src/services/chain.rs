//! The tamper-evident public record: an append-only hash chain (like a transparency log).
//! Every submitted comment, edit, withdrawal, disposition, moderation action and draft
//! version appends one entry holding the SHA-256 of its subject's canonical content and the
//! hash of the entry before it. A pre-moderated comment is recorded when it is submitted, so
//! its receipt holds an entry at once and a rejection is itself on the record. All hashing of subjects lives here so that `verify` recomputes it from the
//! stored data exactly as the entry was made.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::DbConn;
use crate::db::dialect::lock_record_chain;
use crate::db::schema::{
    comment_revisions, dispositions, moderation_actions, provisions, record_chain,
};
use crate::domain::time;
use crate::services::comments::{self, CommentRow, WITHDRAWN};

pub const COMMENT: &str = "comment";
pub const COMMENT_EDIT: &str = "comment_edit";
pub const COMMENT_WITHDRAWAL: &str = "comment_withdrawal";
pub const DISPOSITION: &str = "disposition";
pub const VERSION: &str = "version";
/// A moderation action; the subject is the `moderation_actions` row.
pub const MODERATION: &str = "moderation";

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = record_chain)]
pub struct Entry {
    pub seq: i64,
    pub kind: String,
    pub subject_id: i64,
    pub content_hash: String,
    pub prev_hash: String,
    pub entry_hash: String,
    pub created_at: NaiveDateTime,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn micros(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp_micros()
}

/// The hash of an entry over its own fields (time in microseconds).
pub fn entry_hash(
    seq: i64,
    kind: &str,
    subject_id: i64,
    content_hash: &str,
    prev_hash: &str,
    created_at: NaiveDateTime,
) -> String {
    let text = format!(
        "{seq}\n{kind}\n{subject_id}\n{content_hash}\n{prev_hash}\n{}",
        micros(created_at)
    );
    sha256_hex(text.as_bytes())
}

/// Appends one entry. Must run inside the caller's write transaction, so the entry commits
/// (or rolls back) with the change it records.
pub fn append(
    conn: &mut DbConn,
    kind: &str,
    subject_id: i64,
    content_hash: &str,
) -> QueryResult<Entry> {
    let mut entries = append_many(conn, &[(kind, subject_id, content_hash)])?;
    Ok(entries.pop().expect("one entry appended"))
}

/// The entry's row, for one multi-row insert.
#[derive(Insertable)]
#[diesel(table_name = record_chain)]
pub struct NewEntry<'a> {
    pub seq: i64,
    pub kind: &'a str,
    pub subject_id: i64,
    pub content_hash: &'a str,
    pub prev_hash: &'a str,
    pub entry_hash: &'a str,
    pub created_at: NaiveDateTime,
}

/// Appends several entries (`kind`, subject, content hash) in order, under one lock, one
/// read of the head and one insert: the posts of a group commit are recorded together at
/// the end of their transaction, so the lock that serialises appends is held only from
/// there to the commit. Must run inside the caller's write transaction.
pub fn append_many(conn: &mut DbConn, items: &[(&str, i64, &str)]) -> QueryResult<Vec<Entry>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    lock_record_chain(conn)?;
    let last: Option<(i64, String)> = record_chain::table
        .order(record_chain::seq.desc())
        .select((record_chain::seq, record_chain::entry_hash))
        .first(conn)
        .optional()?;
    let (mut seq, mut prev_hash) = match last {
        Some((s, h)) => (s, h),
        None => (0, GENESIS.to_string()),
    };
    let created_at = time::now();
    let mut entries = Vec::with_capacity(items.len());
    for (kind, subject_id, content_hash) in items {
        seq += 1;
        let hash = entry_hash(seq, kind, *subject_id, content_hash, &prev_hash, created_at);
        entries.push(Entry {
            seq,
            kind: kind.to_string(),
            subject_id: *subject_id,
            content_hash: content_hash.to_string(),
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            entry_hash: hash,
            created_at,
        });
    }
    let rows: Vec<NewEntry<'_>> = entries
        .iter()
        .map(|e| NewEntry {
            seq: e.seq,
            kind: &e.kind,
            subject_id: e.subject_id,
            content_hash: &e.content_hash,
            prev_hash: &e.prev_hash,
            entry_hash: &e.entry_hash,
            created_at: e.created_at,
        })
        .collect();
    crate::db::dialect::insert_chain_entries(conn, &rows)?;
    Ok(entries)
}

/// The last entry of the chain.
pub fn head(conn: &mut DbConn) -> QueryResult<Option<Entry>> {
    record_chain::table
        .order(record_chain::seq.desc())
        .select(Entry::as_select())
        .first(conn)
        .optional()
}

/// The entry that recorded a comment's publication (its receipt's entry).
pub fn entry_for_comment(conn: &mut DbConn, comment_id: i64) -> QueryResult<Option<Entry>> {
    record_chain::table
        .filter(record_chain::kind.eq(COMMENT))
        .filter(record_chain::subject_id.eq(comment_id))
        .order(record_chain::seq)
        .select(Entry::as_select())
        .first(conn)
        .optional()
}

// --- Canonical content of each kind of subject ------------------------------------------

/// A comment's text at one revision, hashed as `comments::content_hash` does.
pub fn comment_hash(
    row: &CommentRow,
    body: &str,
    proposed_wording: Option<&str>,
    at: NaiveDateTime,
) -> String {
    comments::content_hash(
        &row.tracking_number,
        row.draft_id,
        row.version_id,
        row.provision_key.as_deref(),
        row.parent_id,
        row.author_id,
        row.organization_id,
        &row.stance,
        body,
        proposed_wording,
        row.quote.as_deref(),
        at,
    )
}

/// A withdrawal: "withdrawn", the comment id and the time.
pub fn withdrawal_hash(comment_id: i64, at: NaiveDateTime) -> String {
    sha256_hex(format!("withdrawn\n{comment_id}\n{}", micros(at)).as_bytes())
}

/// A disposition: comment, decision, duplicate, justification and decision time.
pub fn disposition_hash(
    comment_id: i64,
    decision: &str,
    duplicate_of: Option<i64>,
    justification: &str,
    decided_at: NaiveDateTime,
) -> String {
    let content = serde_json::json!({
        "comment_id": comment_id,
        "decision": decision,
        "duplicate_of": duplicate_of,
        "justification": justification,
        "decided_at": micros(decided_at),
    });
    sha256_hex(content.to_string().as_bytes())
}

/// A moderation action: comment, action, reason and time.
pub fn moderation_hash(comment_id: i64, action: &str, reason: &str, at: NaiveDateTime) -> String {
    let content = serde_json::json!({
        "comment_id": comment_id,
        "action": action,
        "reason": reason,
        "at": micros(at),
    });
    sha256_hex(content.to_string().as_bytes())
}

/// A moderation action recomputed from its stored row. The comment's latest action must
/// also agree with the comment's current state (a hidden comment shows that action's
/// reason), so un-hiding a comment behind the moderators' backs is named too.
fn moderation_check(conn: &mut DbConn, action_id: i64) -> QueryResult<Result<String, String>> {
    let row: Option<(i64, String, String, NaiveDateTime)> = moderation_actions::table
        .find(action_id)
        .select((
            moderation_actions::comment_id,
            moderation_actions::action,
            moderation_actions::reason,
            moderation_actions::created_at,
        ))
        .first(conn)
        .optional()?;
    let Some((comment_id, action, reason, at)) = row else {
        return Ok(Err("the moderation action no longer exists".into()));
    };
    let latest: Option<i64> = moderation_actions::table
        .filter(moderation_actions::comment_id.eq(comment_id))
        .select(diesel::dsl::max(moderation_actions::id))
        .first(conn)?;
    if latest == Some(action_id) {
        let Some(c) = comments::load(conn, comment_id)? else {
            return Ok(Err("the comment no longer exists".into()));
        };
        let Some(a) = crate::services::moderation::Action::parse(&action) else {
            return Ok(Err(format!("unknown moderation action '{action}'")));
        };
        let status = a.resulting_status();
        let public = matches!(status, comments::HIDDEN | comments::REJECTED);
        // The author may still withdraw a comment after any action.
        let agrees = c.status == WITHDRAWN
            || (c.status == status
                && (!public || c.hidden_reason.as_deref() == Some(reason.as_str())));
        if !agrees {
            return Ok(Err(
                "the comment's status or public reason does not match its last moderation action"
                    .into(),
            ));
        }
    }
    Ok(Ok(moderation_hash(comment_id, &action, &reason, at)))
}

/// A published version: its provisions in order (key, kind, label, heading, body).
pub fn version_hash(conn: &mut DbConn, version_id: i64) -> QueryResult<String> {
    type P = (String, String, Option<String>, Option<String>, String);
    let rows: Vec<P> = provisions::table
        .filter(provisions::version_id.eq(version_id))
        .order((provisions::position, provisions::id))
        .select((
            provisions::key,
            provisions::kind,
            provisions::label,
            provisions::heading,
            provisions::body,
        ))
        .load(conn)?;
    let content: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(key, kind, label, heading, body)| {
            serde_json::json!({
                "key": key, "kind": kind, "label": label, "heading": heading, "body": body,
            })
        })
        .collect();
    Ok(sha256_hex(
        serde_json::Value::Array(content).to_string().as_bytes(),
    ))
}

/// Records the current disposition of a comment (after it was set or changed).
pub fn append_disposition(conn: &mut DbConn, comment_id: i64) -> QueryResult<Entry> {
    let hash = current_disposition_hash(conn, comment_id)?.unwrap_or_default();
    append(conn, DISPOSITION, comment_id, &hash)
}

fn current_disposition_hash(conn: &mut DbConn, comment_id: i64) -> QueryResult<Option<String>> {
    let row: Option<(String, Option<i64>, String, NaiveDateTime)> = dispositions::table
        .filter(dispositions::comment_id.eq(comment_id))
        .select((
            dispositions::decision,
            dispositions::duplicate_of,
            dispositions::justification,
            dispositions::decided_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(d, dup, j, at)| disposition_hash(comment_id, &d, dup, &j, at)))
}

// --- Verification -----------------------------------------------------------------------

/// The first entry that does not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub seq: i64,
    pub kind: String,
    pub subject_id: i64,
    pub what: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "mismatch at entry {} ({} {}): {}",
            self.seq, self.kind, self.subject_id, self.what
        )
    }
}

/// What a clean chain verifies to: its length and head hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub entries: i64,
    pub head: String,
}

/// Re-checks the whole chain: sequence, links, each entry's own hash, and each entry's
/// content hash against the current stored data of its subject.
pub fn verify(conn: &mut DbConn) -> QueryResult<Result<Verified, Mismatch>> {
    let entries: Vec<Entry> = record_chain::table
        .order(record_chain::seq)
        .select(Entry::as_select())
        .load(conn)?;
    // The last entry per (kind, subject): subjects without a history (dispositions) are
    // checked against current data only at their latest entry.
    let mut last_of: HashMap<(String, i64), i64> = HashMap::new();
    for e in &entries {
        last_of.insert((e.kind.clone(), e.subject_id), e.seq);
    }
    let mut text_entries_seen: HashMap<i64, usize> = HashMap::new();
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        let fail = |what: String| Mismatch {
            seq: e.seq,
            kind: e.kind.clone(),
            subject_id: e.subject_id,
            what,
        };
        if e.seq != i as i64 + 1 {
            return Ok(Err(fail(format!("expected sequence number {}", i + 1))));
        }
        if e.prev_hash != prev {
            return Ok(Err(fail(
                "prev_hash does not match the previous entry's hash".into(),
            )));
        }
        let recomputed = entry_hash(
            e.seq,
            &e.kind,
            e.subject_id,
            &e.content_hash,
            &e.prev_hash,
            e.created_at,
        );
        if recomputed != e.entry_hash {
            return Ok(Err(fail(
                "entry_hash does not match the entry's fields".into(),
            )));
        }
        let expected = match e.kind.as_str() {
            COMMENT | COMMENT_EDIT => {
                let k = text_entries_seen.entry(e.subject_id).or_insert(0);
                let index = *k;
                *k += 1;
                comment_text_hash(conn, e.subject_id, index, e.kind == COMMENT)?
            }
            COMMENT_WITHDRAWAL => match comments::load(conn, e.subject_id)? {
                Some(row) if row.status == WITHDRAWN => row
                    .withdrawn_at
                    .map(|at| Ok(withdrawal_hash(row.id, at)))
                    .unwrap_or_else(|| Err("the comment has no withdrawal time".to_string())),
                Some(_) => Err("the comment is no longer withdrawn".to_string()),
                None => Err("the comment no longer exists".to_string()),
            },
            DISPOSITION => {
                if last_of.get(&(e.kind.clone(), e.subject_id)) == Some(&e.seq) {
                    match current_disposition_hash(conn, e.subject_id)? {
                        Some(h) => Ok(h),
                        None => Err("the disposition no longer exists".to_string()),
                    }
                } else {
                    // Superseded by a later disposition entry for the same comment.
                    Ok(e.content_hash.clone())
                }
            }
            VERSION => Ok(version_hash(conn, e.subject_id)?),
            MODERATION => moderation_check(conn, e.subject_id)?,
            other => Err(format!("unknown kind '{other}'")),
        };
        match expected {
            Ok(h) if h == e.content_hash => {}
            Ok(_) => {
                return Ok(Err(fail(format!(
                    "content_hash does not match the stored {}",
                    subject_name(&e.kind)
                ))));
            }
            Err(what) => return Ok(Err(fail(what))),
        }
        prev = e.entry_hash.clone();
    }
    Ok(Ok(Verified {
        entries: entries.len() as i64,
        head: prev,
    }))
}

fn subject_name(kind: &str) -> &'static str {
    match kind {
        COMMENT | COMMENT_EDIT | COMMENT_WITHDRAWAL => "comment",
        DISPOSITION => "disposition",
        VERSION => "version",
        MODERATION => "moderation action",
        _ => "subject",
    }
}

/// The hash of revision `index` of a comment, recomputed from stored data: the latest
/// revision from the comment itself, earlier ones from `comment_revisions`.
fn comment_text_hash(
    conn: &mut DbConn,
    comment_id: i64,
    index: usize,
    is_first: bool,
) -> QueryResult<Result<String, String>> {
    if is_first != (index == 0) {
        return Ok(Err("entry kind does not match the comment's history".into()));
    }
    let Some(row) = comments::load(conn, comment_id)? else {
        return Ok(Err("the comment no longer exists".into()));
    };
    let revisions: Vec<(String, Option<String>, String, NaiveDateTime)> = comment_revisions::table
        .filter(comment_revisions::comment_id.eq(comment_id))
        .order(comment_revisions::id)
        .select((
            comment_revisions::body,
            comment_revisions::proposed_wording,
            comment_revisions::content_hash,
            comment_revisions::created_at,
        ))
        .load(conn)?;
    let Some((body, wording, stored, at)) = revisions.get(index) else {
        return Ok(Err("the comment's revision is missing".into()));
    };
    if index + 1 == revisions.len() {
        let at = row.edited_at.unwrap_or(row.created_at);
        let current = comment_hash(&row, &row.body, row.proposed_wording.as_deref(), at);
        Ok(Ok(current))
    } else {
        let recomputed = comment_hash(&row, body, wording.as_deref(), *at);
        if recomputed != *stored {
            return Ok(Err("a stored revision of the comment was changed".into()));
        }
        Ok(Ok(recomputed))
    }
}
