//! Comments: posting (with receipts and idempotency), replies in threads with a depth cap,
//! the 15-minute edit window, withdrawal, endorsements, and the read side that loads a page
//! of whole threads.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::DbConn;
use crate::db::dialect::write_transaction;
use crate::db::models::{ProvisionRow, UserRow};
use crate::db::schema::{
    comment_revisions, comments, consultation_rounds, drafts, endorsements, organizations,
    provisions, users, versions,
};
use crate::domain::comment::{parse_quote, parse_wording};
use crate::domain::{CommentBody, DraftStatus, Stance, time};
use crate::error::{AppError, FieldError};
use crate::services::Page;

/// Replies deeper than this attach to the deepest allowed level (root = 0).
pub const MAX_DEPTH: i32 = 5;
pub const EDIT_WINDOW_MINUTES: i64 = 15;
const PATH_WIDTH: usize = 12;

pub const PUBLISHED: &str = "published";
pub const WITHDRAWN: &str = "withdrawn";
/// Waiting for a moderator's approval (pre-moderated draft): only its author and the
/// moderators see it.
pub const PENDING: &str = "pending";
/// Hidden by the moderators: the thread shows the public reason instead of the text.
pub const HIDDEN: &str = "hidden";
/// Not approved: only its author (and the moderators' log) still see it.
pub const REJECTED: &str = "rejected";

/// What the comment form sends.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CommentInput {
    #[serde(default)]
    pub stance: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub proposed_wording: String,
    #[serde(default)]
    pub quote: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub idempotency_key: String,
    /// A checkbox: any value asks for "Participant" instead of the author's name.
    #[serde(default)]
    pub show_as_participant: String,
}

struct ValidComment {
    stance: Stance,
    body: CommentBody,
    proposed_wording: Option<String>,
    quote: Option<String>,
    organization_id: Option<i64>,
    idempotency_key: String,
    show_as_participant: bool,
}

impl CommentInput {
    fn validate(&self, is_reply: bool) -> Result<ValidComment, Vec<FieldError>> {
        let mut errors = Vec::new();
        // Replies need no stance of their own; they continue the thread's discussion.
        let stance = if is_reply && self.stance.trim().is_empty() {
            Ok(Stance::Question)
        } else {
            Stance::parse(&self.stance)
        };
        let body = CommentBody::parse(&self.body);
        let wording = parse_wording(&self.proposed_wording);
        let quote = parse_quote(&self.quote);
        let org = match self.organization_id.trim() {
            "" => Ok(None),
            s => s.parse::<i64>().map(Some).map_err(|_| {
                FieldError::new("organization_id", "Choose an organization from the list")
            }),
        };
        let key = self.idempotency_key.trim();
        if key.is_empty() || key.len() > 100 {
            errors.push(FieldError::new(
                "idempotency_key",
                "The form is incomplete; reload the page and try again",
            ));
        }
        match (stance, body, wording, quote, org) {
            (Ok(stance), Ok(body), Ok(proposed_wording), Ok(quote), Ok(organization_id))
                if errors.is_empty() =>
            {
                Ok(ValidComment {
                    stance,
                    body,
                    proposed_wording,
                    quote,
                    organization_id,
                    idempotency_key: key.to_string(),
                    show_as_participant: !self.show_as_participant.is_empty(),
                })
            }
            (s, b, w, q, o) => {
                let mut all: Vec<FieldError> = [s.err(), b.err(), w.err(), q.err(), o.err()]
                    .into_iter()
                    .flatten()
                    .collect();
                all.extend(errors);
                Err(all)
            }
        }
    }
}

/// Where a new top-level comment goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub draft_id: i64,
    /// `None`: the draft as a whole.
    pub provision_key: Option<String>,
}

/// The receipt facts shown right after posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub id: i64,
    pub tracking_number: String,
    pub content_hash: String,
    /// True when this was a repeat of an earlier submission (reload, double click).
    pub repeated: bool,
}

#[derive(Serialize)]
struct HashedContent<'a> {
    v: u8,
    tracking_number: &'a str,
    draft_id: i64,
    version_id: i64,
    provision_key: Option<&'a str>,
    parent_id: Option<i64>,
    author_id: i64,
    organization_id: Option<i64>,
    stance: &'a str,
    body: &'a str,
    proposed_wording: Option<&'a str>,
    quote: Option<&'a str>,
    at: String,
}

/// SHA-256 over a canonical JSON of everything the commenter submitted, with the time in
/// microseconds (both backends store microseconds the same way).
#[allow(clippy::too_many_arguments)]
pub(crate) fn content_hash(
    tracking_number: &str,
    draft_id: i64,
    version_id: i64,
    provision_key: Option<&str>,
    parent_id: Option<i64>,
    author_id: i64,
    organization_id: Option<i64>,
    stance: &str,
    body: &str,
    proposed_wording: Option<&str>,
    quote: Option<&str>,
    at: NaiveDateTime,
) -> String {
    let content = HashedContent {
        v: 1,
        tracking_number,
        draft_id,
        version_id,
        provision_key,
        parent_id,
        author_id,
        organization_id,
        stance,
        body,
        proposed_wording,
        quote,
        at: at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    };
    let json = serde_json::to_vec(&content).expect("serialisable");
    hex::encode(Sha256::digest(&json))
}

pub fn tracking_number(id: i64, at: NaiveDateTime) -> String {
    format!("TLQ-{}-{:08}", at.year(), id)
}

fn pad(id: i64) -> String {
    format!("{id:0PATH_WIDTH$}")
}

/// What a post needs to know about its draft: status, pre-moderation and the latest round.
/// Read once per group commit and draft (see [`BatchReads`]).
#[derive(Debug, Clone)]
struct DraftFacts {
    status: String,
    premoderated: bool,
    round: Option<(i64, NaiveDateTime, NaiveDateTime)>,
}

/// Reads shared by the posts written in one transaction (a group commit). Inside that
/// transaction they cannot change on SQLite (`BEGIN IMMEDIATE` holds the only write lock);
/// on PostgreSQL a round closed by another transaction meanwhile is seen no later than
/// before, since each post's check ran before its commit anyway.
#[derive(Debug, Default)]
pub struct BatchReads {
    drafts: HashMap<i64, DraftFacts>,
    provisions: HashMap<(i64, String), bool>,
}

impl BatchReads {
    fn draft(&mut self, conn: &mut DbConn, draft_id: i64) -> Result<DraftFacts, AppError> {
        if let Some(f) = self.drafts.get(&draft_id) {
            return Ok(f.clone());
        }
        let (status, premoderated): (String, bool) = drafts::table
            .find(draft_id)
            .select((drafts::status, drafts::premoderation))
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        let round: Option<(i64, NaiveDateTime, NaiveDateTime)> = consultation_rounds::table
            .filter(consultation_rounds::draft_id.eq(draft_id))
            .order(consultation_rounds::id.desc())
            .select((
                consultation_rounds::version_id,
                consultation_rounds::opens_at,
                consultation_rounds::closes_at,
            ))
            .first(conn)
            .optional()?;
        let facts = DraftFacts {
            status,
            premoderated,
            round,
        };
        self.drafts.insert(draft_id, facts.clone());
        Ok(facts)
    }

    fn provision_exists(
        &mut self,
        conn: &mut DbConn,
        version_id: i64,
        key: &str,
    ) -> Result<(), AppError> {
        let k = (version_id, key.to_string());
        let exists = match self.provisions.get(&k) {
            Some(e) => *e,
            None => {
                let e = provision_exists(conn, version_id, key)?;
                self.provisions.insert(k, e);
                e
            }
        };
        if exists {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}

/// The round now taking comments on a draft, with its version; a clear refusal otherwise.
fn open_round(facts: &DraftFacts, now: NaiveDateTime) -> Result<(i64, NaiveDateTime), AppError> {
    let Some((version_id, opens, closes)) = facts.round else {
        return Err(AppError::NotFound);
    };
    if now >= closes || facts.status != DraftStatus::Open.as_str() {
        let when = if now >= closes {
            closes
        } else {
            now.min(closes)
        };
        return Err(AppError::field(
            "body",
            format!(
                "The consultation is closed: comments were accepted until {}.",
                time::display(when)
            ),
        ));
    }
    if now < opens {
        return Err(AppError::field(
            "body",
            format!(
                "The consultation opens on {}; comments are accepted from then.",
                time::display(opens)
            ),
        ));
    }
    Ok((version_id, closes))
}

fn existing(
    conn: &mut DbConn,
    author_id: i64,
    key: &str,
) -> QueryResult<Option<(i64, String, String)>> {
    comments::table
        .filter(comments::author_id.eq(author_id))
        .filter(comments::idempotency_key.eq(key))
        .select((
            comments::id,
            comments::tracking_number,
            comments::content_hash,
        ))
        .first(conn)
        .optional()
}

/// Whether the version has a provision with this key (a cheap check when nothing is quoted).
fn provision_exists(conn: &mut DbConn, version_id: i64, key: &str) -> QueryResult<bool> {
    Ok(provisions::table
        .filter(provisions::version_id.eq(version_id))
        .filter(provisions::key.eq(key))
        .select(provisions::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// The words of a provision and everything under it (an article's paragraphs), for checking
/// that a quotation really comes from it.
fn provision_text(conn: &mut DbConn, version_id: i64, key: &str) -> Result<String, AppError> {
    let all: Vec<ProvisionRow> = provisions::table
        .filter(provisions::version_id.eq(version_id))
        .order(provisions::position)
        .select(ProvisionRow::as_select())
        .load(conn)?;
    let start = all
        .iter()
        .position(|p| p.key == key)
        .ok_or(AppError::NotFound)?;
    let depth = all[start].depth;
    let text = std::iter::once(&all[start])
        .chain(all[start + 1..].iter().take_while(|p| p.depth > depth))
        .map(|p| {
            format!(
                "{} {} {}",
                p.label.as_deref().unwrap_or_default(),
                p.heading.as_deref().unwrap_or_default(),
                crate::markdown::to_plain_text(&p.body)
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    Ok(text)
}

/// A submission that passed the checks made before the write transaction: the form's
/// fields, the author's standing, links from new accounts, and the flood of copies.
pub struct Prepared {
    valid: ValidComment,
    /// The body rendered once here, so the writer (one per process on SQLite) spends no
    /// time on it.
    body_html: String,
}

/// The checks of a post that only read: they run before the write transaction (and outside
/// a group commit's writer), so they never hold the write lock.
pub fn prepare(
    conn: &mut DbConn,
    author: &UserRow,
    parent_id: Option<i64>,
    input: &CommentInput,
) -> Result<Prepared, AppError> {
    let valid = input.validate(parent_id.is_some())?;
    if author.email_verified_at.is_none() || !author.is_active(time::now()) {
        return Err(AppError::Forbidden(
            "Only verified participants who are not blocked can comment.".into(),
        ));
    }
    let wording = valid.proposed_wording.as_deref().unwrap_or_default();
    crate::services::anti_abuse::check_links(author, valid.body.as_str(), wording, time::now())?;
    crate::services::anti_abuse::check_flood(
        conn,
        author,
        valid.body.as_str(),
        &valid.idempotency_key,
        time::now(),
    )?;
    let body_html = crate::markdown::to_safe_html(valid.body.as_str());
    Ok(Prepared { valid, body_html })
}

/// A post written inside its transaction, waiting for its record-chain entry.
pub struct Written {
    pub posted: Posted,
    /// The comment's id and content hash to append to the record chain in the same
    /// transaction; `None` for a repeated submission (already recorded).
    pub chain: Option<(i64, String)>,
    /// The parent whose reply count this reply adds to ([`count_replies`], in the same
    /// transaction).
    pub counts_for: Option<i64>,
}

/// Writes a prepared post (or reply, when `parent_id` is given) inside the caller's write
/// transaction, in a savepoint of its own, so a refusal undoes only this post. The caller
/// appends `chain` to the record chain and counts the reply (`counts_for`) in the same
/// transaction, and answers only after the commit.
pub fn write(
    conn: &mut DbConn,
    reads: &mut BatchReads,
    author: &UserRow,
    target: &Target,
    parent_id: Option<i64>,
    prepared: &Prepared,
) -> Result<Written, AppError> {
    let valid = &prepared.valid;
    let result = write_transaction(conn, |conn| {
        if let Some(first) = repeated(conn, author.id, &valid.idempotency_key)? {
            return Ok(first);
        }
        let now = time::now();
        let facts = reads.draft(conn, target.draft_id)?;
        let (version_id, _) = open_round(&facts, now)?;
        let (parent_path, depth, root_id, provision_key, parent_ref) = match parent_id {
            None => {
                if let Some(key) = &target.provision_key {
                    // Inside the write lock: the provision's whole text is read only when a
                    // quotation must be checked against it.
                    match &valid.quote {
                        None => reads.provision_exists(conn, version_id, key)?,
                        Some(q) => {
                            let haystack = provision_text(conn, version_id, key)?
                                .split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" ")
                                .to_lowercase();
                            if !haystack.contains(&q.to_lowercase()) {
                                return Err(AppError::field(
                                    "quote",
                                    "The quotation must be copied from the provision's text",
                                ));
                            }
                        }
                    }
                } else if valid.quote.is_some() {
                    return Err(AppError::field(
                        "quote",
                        "Quote a provision from its own page",
                    ));
                }
                (None, 0, None, target.provision_key.clone(), None)
            }
            Some(pid) => {
                let CommentRow {
                    id: pid,
                    draft_id,
                    parent_id: grandparent,
                    path,
                    depth,
                    provision_key: key,
                    status,
                    ..
                } = load(conn, pid)?.ok_or(AppError::NotFound)?;
                if draft_id != target.draft_id {
                    return Err(AppError::NotFound);
                }
                if status != PUBLISHED {
                    return Err(AppError::field(
                        "body",
                        "This comment no longer takes replies",
                    ));
                }
                // Past the cap, the reply joins its parent's siblings at the deepest level.
                let (attach_to, attach_path, attach_depth) = if depth >= MAX_DEPTH {
                    let gp = grandparent.expect("a comment deeper than 0 has a parent");
                    let gpath = path
                        .rsplit_once('.')
                        .map(|(p, _)| p.to_string())
                        .unwrap_or_default();
                    (gp, gpath, depth - 1)
                } else {
                    (pid, path.clone(), depth)
                };
                let root: i64 = path
                    .split('.')
                    .next()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(pid);
                (
                    Some(attach_path),
                    attach_depth + 1,
                    Some(root),
                    key,
                    Some(attach_to),
                )
            }
        };
        if let Some(org) = valid.organization_id
            && !crate::services::organizations::is_verified_representative(conn, author.id, org)?
        {
            return Err(AppError::field(
                "organization_id",
                "You can comment for an organization only once an administrator has verified that you represent it",
            ));
        }
        // Moderators' own comments never wait for themselves.
        let pending = facts.premoderated
            && !crate::services::moderation::is_moderator(conn, author, target.draft_id)?;
        let id: i64 = diesel::insert_into(comments::table)
            .values((
                comments::draft_id.eq(target.draft_id),
                comments::version_id.eq(version_id),
                comments::provision_key.eq(&provision_key),
                comments::parent_id.eq(parent_ref),
                comments::root_id.eq(root_id),
                comments::path.eq(""),
                comments::depth.eq(depth),
                comments::author_id.eq(author.id),
                comments::organization_id.eq(valid.organization_id),
                comments::respondent_type.eq(&author.respondent_type),
                comments::stance.eq(valid.stance.as_str()),
                comments::body.eq(valid.body.as_str()),
                comments::body_html.eq(&prepared.body_html),
                comments::proposed_wording.eq(&valid.proposed_wording),
                comments::quote.eq(&valid.quote),
                comments::status.eq(if pending { PENDING } else { PUBLISHED }),
                comments::tracking_number.eq(format!("pending-{}", valid.idempotency_key)),
                comments::content_hash.eq(""),
                comments::idempotency_key.eq(&valid.idempotency_key),
                comments::show_as_participant.eq(valid.show_as_participant),
                comments::created_at.eq(now),
            ))
            .returning(comments::id)
            .get_result(conn)?;
        let path = match &parent_path {
            Some(p) => format!("{p}.{}", pad(id)),
            None => pad(id),
        };
        let tracking = tracking_number(id, now);
        let hash = content_hash(
            &tracking,
            target.draft_id,
            version_id,
            provision_key.as_deref(),
            parent_ref,
            author.id,
            valid.organization_id,
            valid.stance.as_str(),
            valid.body.as_str(),
            valid.proposed_wording.as_deref(),
            valid.quote.as_deref(),
            now,
        );
        diesel::update(comments::table.find(id))
            .set((
                comments::path.eq(&path),
                comments::root_id.eq(root_id.unwrap_or(id)),
                comments::tracking_number.eq(&tracking),
                comments::content_hash.eq(&hash),
            ))
            .execute(conn)?;
        diesel::insert_into(comment_revisions::table)
            .values((
                comment_revisions::comment_id.eq(id),
                comment_revisions::body.eq(valid.body.as_str()),
                comment_revisions::proposed_wording.eq(&valid.proposed_wording),
                comment_revisions::content_hash.eq(&hash),
                comment_revisions::created_at.eq(now),
            ))
            .execute(conn)?;
        if pending {
            crate::services::moderation::alert_moderators(conn, id)?;
        } else {
            crate::services::notifications::comment_posted(conn, id)?;
        }
        Ok(Written {
            posted: Posted {
                id,
                tracking_number: tracking,
                content_hash: hash.clone(),
                repeated: false,
            },
            chain: Some((id, hash)),
            // A pending reply counts (and is announced) once it is approved.
            counts_for: parent_ref.filter(|_| !pending),
        })
    });
    match result {
        // The same form submitted twice at the same moment, written by two transactions:
        // on PostgreSQL the second insert waits for the first transaction, then fails on
        // the idempotency index. Its savepoint is undone; it answers the first's receipt.
        Err(AppError::Internal(e)) => match repeated(conn, author.id, &valid.idempotency_key)? {
            Some(first) => Ok(first),
            None => Err(AppError::Internal(e)),
        },
        other => other,
    }
}

/// The receipt of an earlier submission with the same idempotency key, if any.
fn repeated(conn: &mut DbConn, author_id: i64, key: &str) -> QueryResult<Option<Written>> {
    Ok(
        existing(conn, author_id, key)?.map(|(id, tracking_number, content_hash)| Written {
            posted: Posted {
                id,
                tracking_number,
                content_hash,
                repeated: true,
            },
            chain: None,
            counts_for: None,
        }),
    )
}

/// Adds the replies written in one transaction to their parents' counts, one update per
/// parent in id order: the rows are locked at the end of the transaction, always in the
/// same order, so concurrent writers cannot deadlock on them.
pub fn count_replies(conn: &mut DbConn, parents: &[i64]) -> QueryResult<()> {
    let mut counts: std::collections::BTreeMap<i64, i32> = std::collections::BTreeMap::new();
    for p in parents {
        *counts.entry(*p).or_default() += 1;
    }
    for (parent, n) in counts {
        diesel::update(comments::table.find(parent))
            .set(comments::reply_count.eq(comments::reply_count + n))
            .execute(conn)?;
    }
    Ok(())
}

/// Posts a comment, or a reply when `parent_id` is given, in a transaction of its own. The
/// receipt is returned only after the transaction commits. (The web handlers go through
/// `services::posting`, which commits concurrent posts together.)
pub fn post(
    conn: &mut DbConn,
    author: &UserRow,
    target: &Target,
    parent_id: Option<i64>,
    input: &CommentInput,
) -> Result<Posted, AppError> {
    let prepared = prepare(conn, author, parent_id, input)?;
    write_transaction(conn, |conn| {
        let written = write(
            conn,
            &mut BatchReads::default(),
            author,
            target,
            parent_id,
            &prepared,
        )?;
        count_replies(conn, written.counts_for.as_slice())?;
        if let Some((id, hash)) = &written.chain {
            crate::services::chain::append(conn, crate::services::chain::COMMENT, *id, hash)?;
        }
        Ok(written.posted)
    })
}

/// The author's own comment, for edit and withdrawal.
fn own(conn: &mut DbConn, author: &UserRow, comment_id: i64) -> Result<CommentRow, AppError> {
    let row = load(conn, comment_id)?.ok_or(AppError::NotFound)?;
    if row.author_id != author.id {
        return Err(AppError::Forbidden(
            "Only the author can change a comment.".into(),
        ));
    }
    Ok(row)
}

/// The author chooses whether their name or "Participant" is shown on their comment. The
/// text, the receipt and the public record do not change: the name is not part of them.
pub fn set_shown_name(
    conn: &mut DbConn,
    author: &UserRow,
    comment_id: i64,
    as_participant: bool,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let row = own(conn, author, comment_id)?;
        if row.show_as_participant == as_participant {
            return Ok(());
        }
        diesel::update(comments::table.find(comment_id))
            .set(comments::show_as_participant.eq(as_participant))
            .execute(conn)?;
        crate::services::audit::record(
            conn,
            Some(author.id),
            if as_participant {
                "comment.name_hidden"
            } else {
                "comment.name_shown"
            },
            &format!("comment:{comment_id}"),
            "",
        )?;
        Ok(())
    })
}

/// Whether a comment may still be edited at `now`.
pub fn editable(row: &CommentRow, now: NaiveDateTime) -> bool {
    row.status == PUBLISHED && now - row.created_at <= Duration::minutes(EDIT_WINDOW_MINUTES)
}

/// Edits within the window keep every earlier text as a revision with its own hash.
pub fn edit(
    conn: &mut DbConn,
    author: &UserRow,
    comment_id: i64,
    body: &str,
    proposed_wording: &str,
) -> Result<String, AppError> {
    let body = CommentBody::parse(body)?;
    let wording = parse_wording(proposed_wording)?;
    write_transaction(conn, |conn| {
        let row = own(conn, author, comment_id)?;
        let now = time::now();
        if !editable(&row, now) {
            return Err(AppError::field(
                "body",
                format!(
                    "Comments can be edited for {EDIT_WINDOW_MINUTES} minutes after posting; you can still withdraw it."
                ),
            ));
        }
        let hash = content_hash(
            &row.tracking_number,
            row.draft_id,
            row.version_id,
            row.provision_key.as_deref(),
            row.parent_id,
            row.author_id,
            row.organization_id,
            &row.stance,
            body.as_str(),
            wording.as_deref(),
            row.quote.as_deref(),
            now,
        );
        diesel::update(comments::table.find(comment_id))
            .set((
                comments::body.eq(body.as_str()),
                comments::body_html.eq(crate::markdown::to_safe_html(body.as_str())),
                comments::proposed_wording.eq(&wording),
                comments::content_hash.eq(&hash),
                comments::edited_at.eq(now),
            ))
            .execute(conn)?;
        diesel::insert_into(comment_revisions::table)
            .values((
                comment_revisions::comment_id.eq(comment_id),
                comment_revisions::body.eq(body.as_str()),
                comment_revisions::proposed_wording.eq(&wording),
                comment_revisions::content_hash.eq(&hash),
                comment_revisions::created_at.eq(now),
            ))
            .execute(conn)?;
        crate::services::chain::append(
            conn,
            crate::services::chain::COMMENT_EDIT,
            comment_id,
            &hash,
        )?;
        Ok(hash)
    })
}

/// The author takes a comment back; the thread keeps a placeholder and its replies.
pub fn withdraw(conn: &mut DbConn, author: &UserRow, comment_id: i64) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let row = own(conn, author, comment_id)?;
        if row.status == WITHDRAWN {
            return Ok(());
        }
        let now = time::now();
        diesel::update(comments::table.find(comment_id))
            .set((
                comments::status.eq(WITHDRAWN),
                comments::withdrawn_at.eq(now),
            ))
            .execute(conn)?;
        crate::services::chain::append(
            conn,
            crate::services::chain::COMMENT_WITHDRAWAL,
            comment_id,
            &crate::services::chain::withdrawal_hash(comment_id, now),
        )?;
        Ok(())
    })
}

/// One endorsement per participant per comment; returns the new count.
pub fn endorse(conn: &mut DbConn, user: &UserRow, comment_id: i64) -> Result<i32, AppError> {
    write_transaction(conn, |conn| {
        let row = load(conn, comment_id)?.ok_or(AppError::NotFound)?;
        if row.status != PUBLISHED {
            return Err(AppError::field(
                "endorse",
                "Withdrawn comments cannot be endorsed",
            ));
        }
        if row.author_id == user.id {
            return Err(AppError::field(
                "endorse",
                "You cannot endorse your own comment",
            ));
        }
        let already: i64 = endorsements::table
            .filter(endorsements::comment_id.eq(comment_id))
            .filter(endorsements::user_id.eq(user.id))
            .count()
            .get_result(conn)?;
        if already == 0 {
            diesel::insert_into(endorsements::table)
                .values((
                    endorsements::comment_id.eq(comment_id),
                    endorsements::user_id.eq(user.id),
                    endorsements::created_at.eq(time::now()),
                ))
                .execute(conn)?;
            diesel::update(comments::table.find(comment_id))
                .set(comments::endorsement_count.eq(comments::endorsement_count + 1))
                .execute(conn)?;
        }
        Ok(comments::table
            .find(comment_id)
            .select(comments::endorsement_count)
            .first(conn)?)
    })
}

// ---------------------------------------------------------------------------------------
// Read side

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = comments)]
pub struct CommentRow {
    pub id: i64,
    pub draft_id: i64,
    pub version_id: i64,
    pub provision_key: Option<String>,
    pub parent_id: Option<i64>,
    pub root_id: Option<i64>,
    pub path: String,
    pub depth: i32,
    pub author_id: i64,
    pub organization_id: Option<i64>,
    pub respondent_type: String,
    pub stance: String,
    pub body: String,
    pub body_html: String,
    pub proposed_wording: Option<String>,
    pub quote: Option<String>,
    pub status: String,
    pub tracking_number: String,
    pub content_hash: String,
    pub endorsement_count: i32,
    pub reply_count: i32,
    pub idempotency_key: String,
    pub created_at: NaiveDateTime,
    pub edited_at: Option<NaiveDateTime>,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub show_as_participant: bool,
    pub hidden_reason: Option<String>,
}

pub fn load(conn: &mut DbConn, id: i64) -> QueryResult<Option<CommentRow>> {
    comments::table
        .find(id)
        .select(CommentRow::as_select())
        .first(conn)
        .optional()
}

/// A comment with what the page shows beside it.
#[derive(Debug, Clone)]
pub struct CommentView {
    pub row: CommentRow,
    pub author_name: String,
    pub author_deleted: bool,
    pub organization: Option<(i64, String)>,
    pub version_number: i32,
    /// The signed-in viewer has endorsed it.
    pub endorsed_by_viewer: bool,
    /// The working group's public answer, if any.
    pub disposition: Option<crate::services::triage::Disposition>,
}

#[derive(Debug, Clone)]
pub struct Thread {
    pub root: CommentView,
    /// The replies in thread order (by path), each with its depth.
    pub replies: Vec<CommentView>,
    /// Replies the viewer could see that this page leaves to the thread's own page.
    pub more_replies: usize,
}

/// Replies shown under one thread on a provision's page, and under all the page's threads
/// together (threads further down the page show fewer, or only the link); the rest are on
/// each thread's own page. A popular early thread can gather hundreds of replies, and the
/// page of a provision must cost about the same whatever its threads have grown to.
pub const REPLIES_SHOWN: usize = 5;
pub const REPLIES_PER_PAGE: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Oldest,
    Newest,
    MostEndorsed,
}

impl Sort {
    pub fn parse(s: &str) -> Sort {
        match s {
            "newest" => Sort::Newest,
            "endorsed" => Sort::MostEndorsed,
            _ => Sort::Oldest,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Oldest => "oldest",
            Sort::Newest => "newest",
            Sort::MostEndorsed => "endorsed",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ThreadFilter {
    pub stance: Option<Stance>,
    pub respondent_type: Option<String>,
    pub organizations_only: bool,
    /// The viewer moderates this draft: sees comments awaiting approval (and, marked, the
    /// text of hidden ones).
    pub moderator: bool,
}

/// Whether a comment appears in threads for this viewer: pending comments only to their
/// author and the moderators, rejected ones only to their author.
pub fn visible_to(row: &CommentRow, viewer: Option<i64>, moderator: bool) -> bool {
    visible(&row.status, row.author_id, viewer, moderator)
}

fn visible(status: &str, author_id: i64, viewer: Option<i64>, moderator: bool) -> bool {
    match status {
        PENDING => moderator || viewer == Some(author_id),
        REJECTED => viewer == Some(author_id),
        _ => true,
    }
}

type Decorated = (
    CommentRow,
    String,
    Option<NaiveDateTime>,
    Option<i64>,
    Option<String>,
    i32,
);

fn decorate(
    conn: &mut DbConn,
    rows: Vec<Decorated>,
    viewer: Option<i64>,
) -> QueryResult<Vec<CommentView>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0.id).collect();
    let endorsed: Vec<i64> = match viewer {
        Some(v) if !ids.is_empty() => endorsements::table
            .filter(endorsements::user_id.eq(v))
            .filter(endorsements::comment_id.eq_any(&ids))
            .select(endorsements::comment_id)
            .load(conn)?,
        _ => Vec::new(),
    };
    let mut dispositions = crate::services::triage::dispositions_for(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(
            |(row, name, deleted, org_id, org_name, version_number)| CommentView {
                endorsed_by_viewer: endorsed.contains(&row.id),
                disposition: dispositions.remove(&row.id),
                author_deleted: deleted.is_some(),
                author_name: name,
                organization: org_id.zip(org_name),
                version_number,
                row,
            },
        )
        .collect())
}

macro_rules! decorated_query {
    () => {
        comments::table
            .inner_join(users::table)
            .inner_join(versions::table)
            .left_join(organizations::table)
            .select((
                CommentRow::as_select(),
                users::display_name,
                users::deleted_at,
                organizations::id.nullable(),
                organizations::name.nullable(),
                versions::number,
            ))
    };
}

/// A page of top-level threads on a provision (or the whole draft), each with its whole
/// subtree, so pagination never splits a thread.
#[allow(clippy::too_many_arguments)]
pub fn threads(
    conn: &mut DbConn,
    draft_id: i64,
    provision_key: Option<&str>,
    filter: &ThreadFilter,
    sort: Sort,
    page: i64,
    per_page: i64,
    viewer: Option<i64>,
) -> Result<Page<Thread>, AppError> {
    let page = page.max(1);
    let roots = || {
        let mut q = comments::table
            .filter(comments::draft_id.eq(draft_id))
            .filter(comments::depth.eq(0))
            .into_boxed();
        q = match provision_key {
            Some(k) => q.filter(comments::provision_key.eq(k.to_string())),
            None => q.filter(comments::provision_key.is_null()),
        };
        if let Some(s) = filter.stance {
            q = q.filter(comments::stance.eq(s.as_str()));
        }
        if let Some(r) = &filter.respondent_type {
            q = q.filter(comments::respondent_type.eq(r.clone()));
        }
        if filter.organizations_only {
            q = q.filter(comments::organization_id.is_not_null());
        }
        // Anonymous readers (most of them) get a condition the index answers alone.
        let public = [PUBLISHED, WITHDRAWN, HIDDEN];
        match (filter.moderator, viewer) {
            (true, Some(a)) => {
                q.filter(comments::status.ne(REJECTED).or(comments::author_id.eq(a)))
            }
            (true, None) => q.filter(comments::status.ne(REJECTED)),
            (false, Some(a)) => q.filter(
                comments::status
                    .eq_any(public)
                    .or(comments::author_id.eq(a)),
            ),
            (false, None) => q.filter(comments::status.eq_any(public)),
        }
    };
    let total: i64 = roots().count().get_result(conn)?;
    let ordered = match sort {
        Sort::Oldest => roots().order(comments::id.asc()),
        Sort::Newest => roots().order(comments::id.desc()),
        Sort::MostEndorsed => {
            roots().order((comments::endorsement_count.desc(), comments::id.asc()))
        }
    };
    let root_ids: Vec<i64> = ordered
        .select(comments::id)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .load(conn)?;
    // The replies' places first (a range of `comments_thread_idx` per thread, which holds
    // all four columns), then the whole rows of those shown: the first `REPLIES_SHOWN` the
    // viewer may see in each thread, in page order, until `REPLIES_PER_PAGE` are taken.
    let places: Vec<(i64, Option<i64>, String, i64)> = comments::table
        .filter(comments::root_id.eq_any(&root_ids))
        .order((comments::root_id.asc(), comments::path.asc()))
        .select((
            comments::id,
            comments::root_id,
            comments::status,
            comments::author_id,
        ))
        .load(conn)?;
    let mut by_thread: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, root, status, author) in places {
        let root = root.unwrap_or(id);
        if id != root && visible(&status, author, viewer, filter.moderator) {
            by_thread.entry(root).or_default().push(id);
        }
    }
    let mut shown: Vec<i64> = root_ids.clone();
    let mut more: HashMap<i64, usize> = HashMap::new();
    let mut budget = REPLIES_PER_PAGE;
    for root in &root_ids {
        let replies = by_thread.remove(root).unwrap_or_default();
        let n = replies.len().min(REPLIES_SHOWN).min(budget);
        budget -= n;
        shown.extend(&replies[..n]);
        if replies.len() > n {
            more.insert(*root, replies.len() - n);
        }
    }
    // Every id in `shown` already passed the viewer's visibility: the roots by the query's
    // condition, the replies by `visible` above.
    let rows: Vec<Decorated> = decorated_query!()
        .filter(comments::id.eq_any(&shown))
        .order(comments::path.asc())
        .load(conn)?;
    let views = decorate(conn, rows, viewer)?;
    let mut by_root: HashMap<i64, Vec<CommentView>> = HashMap::new();
    for v in views {
        by_root
            .entry(v.row.root_id.unwrap_or(v.row.id))
            .or_default()
            .push(v);
    }
    let items = root_ids
        .iter()
        .filter_map(|id| {
            let mut all = by_root.remove(id)?;
            let root = all.remove(0);
            Some(Thread {
                root,
                replies: all,
                more_replies: more.get(id).copied().unwrap_or(0),
            })
        })
        .collect();
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}

/// The thread that holds a comment (for its permalink); 404 when the viewer may not see it
/// (see [`visible_to`]).
pub fn thread_of(
    conn: &mut DbConn,
    comment_id: i64,
    viewer: Option<i64>,
    moderator: bool,
) -> Result<Thread, AppError> {
    let row = load(conn, comment_id)?.ok_or(AppError::NotFound)?;
    if !visible_to(&row, viewer, moderator) {
        return Err(AppError::NotFound);
    }
    let root = row.root_id.unwrap_or(row.id);
    let rows: Vec<Decorated> = decorated_query!()
        .filter(comments::root_id.eq(root))
        .order(comments::path.asc())
        .load(conn)?
        .into_iter()
        .filter(|r: &Decorated| visible_to(&r.0, viewer, moderator))
        .collect();
    let mut views = decorate(conn, rows, viewer)?;
    if views.is_empty() {
        return Err(AppError::NotFound);
    }
    let root = views.remove(0);
    Ok(Thread {
        root,
        replies: views,
        more_replies: 0,
    })
}

/// Published comments per provision key (`None`: on the draft as a whole), all versions.
pub fn counts_by_provision(
    conn: &mut DbConn,
    draft_id: i64,
) -> QueryResult<HashMap<Option<String>, i64>> {
    let rows: Vec<(Option<String>, i64)> = comments::table
        .filter(comments::draft_id.eq(draft_id))
        .filter(comments::status.eq(PUBLISHED))
        .group_by(comments::provision_key)
        .select((comments::provision_key, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// What `/receipts/NUMBER` shows.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub tracking_number: String,
    pub comment_id: i64,
    pub created_at: NaiveDateTime,
    pub draft_id: i64,
    pub draft_title: String,
    pub version_number: i32,
    pub provision_key: Option<String>,
    pub status: String,
    pub current_hash: String,
    pub revisions: Vec<(NaiveDateTime, String)>,
    /// The public record entry of its publication: (seq, entry hash).
    pub chain_entry: Option<(i64, String)>,
}

pub fn receipt(conn: &mut DbConn, number: &str) -> Result<Receipt, AppError> {
    let row: Option<(CommentRow, String, i32)> = comments::table
        .inner_join(drafts::table.on(drafts::id.eq(comments::draft_id)))
        .inner_join(versions::table)
        .filter(comments::tracking_number.eq(number.trim().to_uppercase()))
        .select((CommentRow::as_select(), drafts::title, versions::number))
        .first(conn)
        .optional()?;
    let (row, title, version_number) = row.ok_or(AppError::NotFound)?;
    let revisions = comment_revisions::table
        .filter(comment_revisions::comment_id.eq(row.id))
        .order(comment_revisions::id)
        .select((
            comment_revisions::created_at,
            comment_revisions::content_hash,
        ))
        .load(conn)?;
    let chain_entry =
        crate::services::chain::entry_for_comment(conn, row.id)?.map(|e| (e.seq, e.entry_hash));
    Ok(Receipt {
        tracking_number: row.tracking_number.clone(),
        comment_id: row.id,
        created_at: row.created_at,
        draft_id: row.draft_id,
        draft_title: title,
        version_number,
        provision_key: row.provision_key.clone(),
        status: row.status.clone(),
        current_hash: row.content_hash.clone(),
        revisions,
        chain_entry,
    })
}
