//! Moderation: participants report comments; the draft's working group and administrators
//! (its moderators) hide, restore, approve or reject them with a public reason, from a queue
//! per draft. Enough open reports from distinct verified participants hide a comment until a
//! moderator reviews it, and a draft can be pre-moderated (new comments wait for approval).
//!
//! A hidden comment keeps its stored text, so its public-record entries still verify; only
//! the reason is shown in its place. Every action is one transaction with its audit row and
//! its own public-record entry (`chain::MODERATION`).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::DbConn;
use crate::db::dialect::write_transaction;
use crate::db::models::UserRow;
use crate::db::schema::{comment_reports, comments, drafts, moderation_actions, users};
use crate::domain::time;
use crate::email::SiteLinks;
use crate::error::{AppError, FieldError};
use crate::services::comments::{CommentRow, HIDDEN, PENDING, PUBLISHED, REJECTED};
use crate::services::{audit, chain, working_groups};

/// Job kind of the email that tells moderators an item is waiting.
pub const JOB_KIND: &str = "moderation_alert";
/// The job that tells a comment's author what the moderators did with it.
pub const OUTCOME_JOB_KIND: &str = "moderation_outcome";

/// The public reason of an automatic hide.
pub const AUTO_HIDE_REASON: &str =
    "Hidden automatically after reports from several participants, pending review";

pub const MAX_REASON_CHARS: usize = 300;
pub const MAX_DETAILS_CHARS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportReason {
    Spam,
    Abuse,
    OffTopic,
    PersonalData,
    Other,
}

impl ReportReason {
    pub const ALL: [ReportReason; 5] = [
        ReportReason::Spam,
        ReportReason::Abuse,
        ReportReason::OffTopic,
        ReportReason::PersonalData,
        ReportReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportReason::Spam => "spam",
            ReportReason::Abuse => "abuse",
            ReportReason::OffTopic => "off_topic",
            ReportReason::PersonalData => "personal_data",
            ReportReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<ReportReason> {
        ReportReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Hide,
    Restore,
    Approve,
    Reject,
    AutoHide,
    DismissReports,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Hide,
        Action::Restore,
        Action::Approve,
        Action::Reject,
        Action::AutoHide,
        Action::DismissReports,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Hide => "hide",
            Action::Restore => "restore",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::AutoHide => "auto_hide",
            Action::DismissReports => "dismiss_reports",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s.trim())
    }

    /// The comment status the action leaves behind.
    pub fn resulting_status(self) -> &'static str {
        match self {
            Action::Hide | Action::AutoHide => HIDDEN,
            Action::Reject => REJECTED,
            Action::Restore | Action::Approve | Action::DismissReports => PUBLISHED,
        }
    }

    /// Actions whose reason is shown to the public in place of the comment.
    fn reason_is_public(self) -> bool {
        matches!(self, Action::Hide | Action::AutoHide | Action::Reject)
    }
}

/// What the report form sends.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportInput {
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub details: String,
}

/// Whether `user` moderates the draft: an administrator or a member of its working group.
pub fn is_moderator(conn: &mut DbConn, user: &UserRow, draft_id: i64) -> QueryResult<bool> {
    Ok(user.is_admin || working_groups::is_member(conn, draft_id, user.id)?.is_some())
}

/// The one permission check of every moderator function (404 for a missing draft).
pub fn require_moderator(conn: &mut DbConn, user: &UserRow, draft_id: i64) -> Result<(), AppError> {
    let exists: i64 = drafts::table.find(draft_id).count().get_result(conn)?;
    if exists == 0 {
        return Err(AppError::NotFound);
    }
    if !is_moderator(conn, user, draft_id)? {
        return Err(AppError::Forbidden(
            "Only the working group of this draft and administrators can moderate its comments."
                .into(),
        ));
    }
    Ok(())
}

/// Whether new comments on the draft wait for approval.
pub fn premoderated(conn: &mut DbConn, draft_id: i64) -> QueryResult<bool> {
    drafts::table
        .find(draft_id)
        .select(drafts::premoderation)
        .first(conn)
}

fn comment(conn: &mut DbConn, comment_id: i64) -> Result<CommentRow, AppError> {
    crate::services::comments::load(conn, comment_id)?.ok_or(AppError::NotFound)
}

fn open_reports(conn: &mut DbConn, comment_id: i64) -> QueryResult<i64> {
    comment_reports::table
        .filter(comment_reports::comment_id.eq(comment_id))
        .filter(comment_reports::resolved_at.is_null())
        .count()
        .get_result(conn)
}

/// Distinct verified participants among the open reports of a comment.
fn verified_reporters(conn: &mut DbConn, comment_id: i64) -> QueryResult<i64> {
    let ids: Vec<i64> = comment_reports::table
        .inner_join(users::table.on(users::id.eq(comment_reports::reporter_id)))
        .filter(comment_reports::comment_id.eq(comment_id))
        .filter(comment_reports::resolved_at.is_null())
        .filter(users::email_verified_at.is_not_null())
        .filter(users::deleted_at.is_null())
        .select(comment_reports::reporter_id)
        .distinct()
        .load(conn)?;
    Ok(ids.len() as i64)
}

/// Queues the email that tells the draft's moderators about a newly waiting item. Called in
/// the transaction where the item starts waiting, so each waiting period alerts once.
pub fn alert_moderators(conn: &mut DbConn, comment_id: i64) -> QueryResult<()> {
    crate::jobs::enqueue(
        conn,
        JOB_KIND,
        &serde_json::json!({ "comment_id": comment_id }),
        5,
    )?;
    Ok(())
}

/// What a report led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported {
    /// The report hid the comment (the threshold was reached).
    pub auto_hidden: bool,
}

/// A signed-in verified participant reports someone else's published comment, once.
/// `auto_hide_after` distinct verified reporters hide it until a moderator reviews it.
pub fn report(
    conn: &mut DbConn,
    reporter: &UserRow,
    comment_id: i64,
    input: &ReportInput,
    auto_hide_after: i64,
) -> Result<Reported, AppError> {
    if reporter.email_verified_at.is_none() || !reporter.is_active(time::now()) {
        return Err(AppError::Forbidden(
            "Only verified participants who are not blocked can report comments.".into(),
        ));
    }
    let mut errors = Vec::new();
    let reason = ReportReason::parse(&input.reason);
    if reason.is_none() {
        errors.push(FieldError::new(
            "reason",
            "Choose why you report this comment",
        ));
    }
    let details = input.details.trim();
    if details.chars().count() > MAX_DETAILS_CHARS {
        errors.push(FieldError::new(
            "details",
            format!("Keep the explanation under {MAX_DETAILS_CHARS} characters"),
        ));
    } else if reason == Some(ReportReason::Other) && details.is_empty() {
        errors.push(FieldError::new(
            "details",
            "Explain what is wrong with this comment",
        ));
    }
    let Some(reason) = reason.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    write_transaction(conn, |conn| {
        let row = comment(conn, comment_id)?;
        if row.status != PUBLISHED {
            return Err(AppError::field(
                "reason",
                "This comment is no longer published, so it cannot be reported",
            ));
        }
        if row.author_id == reporter.id {
            return Err(AppError::field(
                "reason",
                "You cannot report your own comment; you can withdraw it instead",
            ));
        }
        let already: i64 = comment_reports::table
            .filter(comment_reports::comment_id.eq(comment_id))
            .filter(comment_reports::reporter_id.eq(reporter.id))
            .count()
            .get_result(conn)?;
        if already > 0 {
            return Err(AppError::field(
                "reason",
                "You have already reported this comment",
            ));
        }
        let was_waiting = open_reports(conn, comment_id)? > 0;
        let now = time::now();
        diesel::insert_into(comment_reports::table)
            .values((
                comment_reports::comment_id.eq(comment_id),
                comment_reports::reporter_id.eq(reporter.id),
                comment_reports::reason.eq(reason.as_str()),
                comment_reports::details.eq(details),
                comment_reports::created_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            Some(reporter.id),
            "moderation.report",
            &format!("comment:{comment_id}"),
            &serde_json::json!({ "reason": reason.as_str() }).to_string(),
        )?;
        if !was_waiting {
            alert_moderators(conn, comment_id)?;
        }
        let auto_hidden = verified_reporters(conn, comment_id)? >= auto_hide_after;
        if auto_hidden {
            // The reports stay open: the item waits for a moderator to confirm or restore.
            apply(conn, None, &row, Action::AutoHide, AUTO_HIDE_REASON, false)?;
        }
        Ok(Reported { auto_hidden })
    })
}

/// Checks a moderator's reason: required (public) for hiding and rejecting, optional
/// otherwise, one paragraph of at most [`MAX_REASON_CHARS`] characters.
fn check_reason(action: Action, reason: &str) -> Result<String, AppError> {
    let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if action.reason_is_public() && reason.chars().count() < 3 {
        return Err(AppError::field(
            "reason",
            "Give the reason that will be shown in place of the comment",
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::field(
            "reason",
            format!("Keep the reason under {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason)
}

/// A moderator acts on a comment of the draft: hide (or change the reason of a hidden
/// comment), restore, approve, reject or dismiss its reports.
pub fn act(
    conn: &mut DbConn,
    actor: &UserRow,
    draft_id: i64,
    comment_id: i64,
    action: Action,
    reason: &str,
) -> Result<(), AppError> {
    require_moderator(conn, actor, draft_id)?;
    if action == Action::AutoHide {
        return Err(AppError::BadRequest(
            "Automatic hiding is not a choice".into(),
        ));
    }
    let reason = check_reason(action, reason)?;
    write_transaction(conn, |conn| {
        let row = comment(conn, comment_id)?;
        if row.draft_id != draft_id {
            return Err(AppError::NotFound);
        }
        let allowed = match action {
            Action::Hide => row.status == PUBLISHED || row.status == HIDDEN,
            Action::Restore => row.status == HIDDEN,
            Action::Approve | Action::Reject => row.status == PENDING,
            Action::DismissReports => {
                row.status == PUBLISHED && open_reports(conn, comment_id)? > 0
            }
            Action::AutoHide => false,
        };
        if !allowed {
            return Err(AppError::field(
                "reason",
                "This comment has changed meanwhile; reload the queue",
            ));
        }
        apply(conn, Some(actor.id), &row, action, &reason, true)
    })
}

/// Applies an action inside the caller's transaction: the comment's status and public
/// reason, the action row, its public-record entry and the audit row.
fn apply(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    row: &CommentRow,
    action: Action,
    reason: &str,
    resolve_reports: bool,
) -> Result<(), AppError> {
    let now = time::now();
    let status = action.resulting_status();
    let public_reason = action.reason_is_public().then_some(reason);
    diesel::update(comments::table.find(row.id))
        .set((
            comments::status.eq(status),
            comments::hidden_reason.eq(public_reason),
        ))
        .execute(conn)?;
    if resolve_reports {
        diesel::update(
            comment_reports::table
                .filter(comment_reports::comment_id.eq(row.id))
                .filter(comment_reports::resolved_at.is_null()),
        )
        .set((
            comment_reports::resolved_at.eq(now),
            comment_reports::resolution.eq(action.as_str()),
        ))
        .execute(conn)?;
    }
    let action_id: i64 = diesel::insert_into(moderation_actions::table)
        .values((
            moderation_actions::comment_id.eq(row.id),
            moderation_actions::actor_id.eq(actor_id),
            moderation_actions::action.eq(action.as_str()),
            moderation_actions::reason.eq(reason),
            moderation_actions::created_at.eq(now),
        ))
        .returning(moderation_actions::id)
        .get_result(conn)?;
    chain::append(
        conn,
        chain::MODERATION,
        action_id,
        &chain::moderation_hash(row.id, action.as_str(), reason, now),
    )?;
    audit::record(
        conn,
        actor_id,
        &format!("moderation.{}", action.as_str()),
        &format!("comment:{}", row.id),
        &serde_json::json!({
            "before": row.status,
            "after": status,
            "reason": reason,
        })
        .to_string(),
    )?;
    // The author hears of every decision on their comment (dismissed reports change nothing
    // they can see, so they are not told of those).
    if action != Action::DismissReports {
        crate::jobs::enqueue(
            conn,
            OUTCOME_JOB_KIND,
            &serde_json::json!({ "action_id": action_id }),
            5,
        )?;
    }
    match action {
        // Nobody should receive the text of a comment the moderators took down.
        Action::Hide | Action::AutoHide | Action::Reject => {
            crate::services::notifications::forget_comment(conn, row.id)?;
        }
        // An approved comment is published now: replies count and subscribers hear of it.
        Action::Approve => {
            if let Some(p) = row.parent_id {
                diesel::update(comments::table.find(p))
                    .set(comments::reply_count.eq(comments::reply_count + 1))
                    .execute(conn)?;
            }
            crate::services::notifications::comment_posted(conn, row.id)?;
        }
        Action::Restore | Action::DismissReports => {}
    }
    Ok(())
}

/// Turns pre-moderation of a draft on or off.
pub fn set_premoderation(
    conn: &mut DbConn,
    actor: &UserRow,
    draft_id: i64,
    on: bool,
) -> Result<(), AppError> {
    require_moderator(conn, actor, draft_id)?;
    write_transaction(conn, |conn| {
        let before = premoderated(conn, draft_id)?;
        if before == on {
            return Ok(());
        }
        diesel::update(drafts::table.find(draft_id))
            .set(drafts::premoderation.eq(on))
            .execute(conn)?;
        audit::record(
            conn,
            Some(actor.id),
            "moderation.premoderation",
            &format!("draft:{draft_id}"),
            &serde_json::json!({ "before": before, "after": on }).to_string(),
        )?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// The queue

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Pre-moderated, awaiting approval.
    Pending,
    /// Published, with open reports.
    Reported,
    /// Hidden automatically, awaiting review.
    AutoHidden,
}

impl Waiting {
    pub fn as_str(self) -> &'static str {
        match self {
            Waiting::Pending => "pending",
            Waiting::Reported => "reported",
            Waiting::AutoHidden => "auto_hidden",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReportView {
    pub reporter_name: String,
    pub reporter_verified: bool,
    pub reason: String,
    pub details: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct QueueItem {
    pub comment: CommentRow,
    pub author_name: String,
    pub author_blocked: bool,
    pub waiting: Waiting,
    pub since: NaiveDateTime,
    pub reports: Vec<ReportView>,
}

#[derive(Debug, Clone)]
pub struct ActionView {
    pub comment_id: i64,
    pub tracking_number: String,
    pub actor_name: Option<String>,
    pub action: String,
    pub reason: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub draft_title: String,
    pub premoderation: bool,
    pub items: Vec<QueueItem>,
    pub pending: i64,
    pub reported: i64,
    pub auto_hidden: i64,
    /// Hidden and not waiting (moderators may restore them).
    pub hidden: Vec<QueueItem>,
    pub oldest: Option<NaiveDateTime>,
    pub recent: Vec<ActionView>,
}

type AuthorCols = (String, Option<NaiveDateTime>, Option<String>);

/// The draft's moderation queue, oldest waiting item first, with the hidden comments and the
/// latest actions.
pub fn queue(conn: &mut DbConn, actor: &UserRow, draft_id: i64) -> Result<Queue, AppError> {
    require_moderator(conn, actor, draft_id)?;
    let (draft_title, premoderation): (String, bool) = drafts::table
        .find(draft_id)
        .select((drafts::title, drafts::premoderation))
        .first(conn)?;
    let reported_ids: Vec<i64> = comment_reports::table
        .inner_join(comments::table)
        .filter(comments::draft_id.eq(draft_id))
        .filter(comment_reports::resolved_at.is_null())
        .select(comment_reports::comment_id)
        .distinct()
        .load(conn)?;
    let rows: Vec<(CommentRow, AuthorCols)> = comments::table
        .inner_join(users::table.on(users::id.eq(comments::author_id)))
        .filter(comments::draft_id.eq(draft_id))
        .filter(
            comments::status
                .eq_any([PENDING, HIDDEN])
                .or(comments::id.eq_any(&reported_ids)),
        )
        .order(comments::id)
        .select((
            CommentRow::as_select(),
            (
                users::display_name,
                users::blocked_until,
                users::blocked_reason,
            ),
        ))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0.id).collect();
    let report_rows: Vec<(
        i64,
        String,
        Option<NaiveDateTime>,
        String,
        String,
        NaiveDateTime,
    )> = comment_reports::table
        .inner_join(users::table.on(users::id.eq(comment_reports::reporter_id)))
        .filter(comment_reports::comment_id.eq_any(&ids))
        .filter(comment_reports::resolved_at.is_null())
        .order(comment_reports::id)
        .select((
            comment_reports::comment_id,
            users::display_name,
            users::email_verified_at,
            comment_reports::reason,
            comment_reports::details,
            comment_reports::created_at,
        ))
        .load(conn)?;
    let mut reports: HashMap<i64, Vec<ReportView>> = HashMap::new();
    for (cid, name, verified, reason, details, at) in report_rows {
        reports.entry(cid).or_default().push(ReportView {
            reporter_name: name,
            reporter_verified: verified.is_some(),
            reason,
            details,
            created_at: at,
        });
    }
    let now = time::now();
    let mut items = Vec::new();
    let mut hidden = Vec::new();
    for (c, (author_name, blocked_until, blocked_reason)) in rows {
        let reports = reports.remove(&c.id).unwrap_or_default();
        let waiting = if c.status == PENDING {
            Some(Waiting::Pending)
        } else if reports.is_empty() {
            None
        } else if c.status == HIDDEN {
            Some(Waiting::AutoHidden)
        } else {
            Some(Waiting::Reported)
        };
        let since = match waiting {
            Some(Waiting::Pending) => c.created_at,
            _ => reports
                .first()
                .map(|r| r.created_at)
                .unwrap_or(c.created_at),
        };
        let item = QueueItem {
            author_blocked: blocked_reason.is_some() && blocked_until.is_none_or(|u| u > now),
            author_name,
            waiting: waiting.unwrap_or(Waiting::Reported),
            since,
            reports,
            comment: c,
        };
        match waiting {
            Some(_) => items.push(item),
            None => hidden.push(item),
        }
    }
    items.sort_by_key(|i| (i.since, i.comment.id));
    let count = |w: Waiting| items.iter().filter(|i| i.waiting == w).count() as i64;
    let recent = recent_actions(conn, draft_id, 50)?;
    Ok(Queue {
        draft_title,
        premoderation,
        pending: count(Waiting::Pending),
        reported: count(Waiting::Reported),
        auto_hidden: count(Waiting::AutoHidden),
        oldest: items.first().map(|i| i.since),
        items,
        hidden,
        recent,
    })
}

fn recent_actions(conn: &mut DbConn, draft_id: i64, limit: i64) -> QueryResult<Vec<ActionView>> {
    type R = (i64, String, Option<i64>, String, String, NaiveDateTime);
    let rows: Vec<R> = moderation_actions::table
        .inner_join(comments::table)
        .filter(comments::draft_id.eq(draft_id))
        .order(moderation_actions::id.desc())
        .limit(limit)
        .select((
            moderation_actions::comment_id,
            comments::tracking_number,
            moderation_actions::actor_id,
            moderation_actions::action,
            moderation_actions::reason,
            moderation_actions::created_at,
        ))
        .load(conn)?;
    let actor_ids: Vec<i64> = rows.iter().filter_map(|r| r.2).collect();
    let names: HashMap<i64, String> = users::table
        .filter(users::id.eq_any(&actor_ids))
        .select((users::id, users::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(
            |(comment_id, tracking_number, actor, action, reason, created_at)| ActionView {
                comment_id,
                tracking_number,
                actor_name: actor.and_then(|a| names.get(&a).cloned()),
                action,
                reason,
                created_at,
            },
        )
        .collect())
}

/// Waiting items per draft the user moderates: (draft id, title, count, oldest), for the
/// links on the triage and admin pages.
pub fn waiting_count(conn: &mut DbConn, draft_id: i64) -> QueryResult<i64> {
    let pending: i64 = comments::table
        .filter(comments::draft_id.eq(draft_id))
        .filter(comments::status.eq(PENDING))
        .count()
        .get_result(conn)?;
    let reported: Vec<i64> = comment_reports::table
        .inner_join(comments::table)
        .filter(comments::draft_id.eq(draft_id))
        .filter(comment_reports::resolved_at.is_null())
        .select(comment_reports::comment_id)
        .distinct()
        .load(conn)?;
    Ok(pending + reported.len() as i64)
}

// ---------------------------------------------------------------------------------------
// The alert email (a job, composed by the worker, which knows the site's address)

/// Emails the draft's moderators that `comment_id` waits, if it still does: the working
/// group and the administrators, each once. The comment's text is never put in the message.
pub fn send_alert(conn: &mut DbConn, site: &SiteLinks, comment_id: i64) -> Result<usize, AppError> {
    write_transaction(conn, |conn| {
        let Some(c) = crate::services::comments::load(conn, comment_id)? else {
            return Ok(0);
        };
        let reports = open_reports(conn, comment_id)?;
        let what = if c.status == PENDING {
            format!(
                "Comment {} is awaiting approval before it is published.",
                c.tracking_number
            )
        } else if reports > 0 {
            let state = if c.status == HIDDEN {
                "It has been hidden automatically until a moderator reviews it."
            } else {
                "It stays published until a moderator reviews it."
            };
            format!(
                "Comment {} has been reported by participants ({reports} open report{}). {state}",
                c.tracking_number,
                if reports == 1 { "" } else { "s" }
            )
        } else {
            return Ok(0);
        };
        let title: String = drafts::table
            .find(c.draft_id)
            .select(drafts::title)
            .first(conn)?;
        let waiting = waiting_count(conn, c.draft_id)?;
        let mut to: BTreeMap<i64, (String, String)> = BTreeMap::new();
        let admins: Vec<(i64, String, String)> = users::table
            .filter(users::is_admin.eq(true))
            .filter(users::deleted_at.is_null())
            .select((users::id, users::email, users::display_name))
            .load(conn)?;
        for (id, email, name) in admins {
            to.insert(id, (email, name));
        }
        for m in working_groups::members(conn, c.draft_id)? {
            to.insert(m.user_id, (m.email, m.display_name));
        }
        let link = site.url(&format!("/drafts/{}/moderation", c.draft_id));
        let subject = format!("A comment on \u{201c}{title}\u{201d} waits for moderation");
        let paragraphs = vec![
            what,
            format!(
                "{waiting} item{} of this draft {} waiting in the moderation queue.",
                if waiting == 1 { "" } else { "s" },
                if waiting == 1 { "is" } else { "are" }
            ),
        ];
        for (email, name) in to.values() {
            crate::email::enqueue_email(
                conn,
                &crate::services::mail::compose(
                    email,
                    &subject,
                    &format!("Hello {name},"),
                    &paragraphs,
                    "Open the moderation queue",
                    &link,
                ),
            )?;
        }
        Ok(to.len())
    })
}

// The author's email (a job, composed by the worker)

/// Emails a comment's author what a moderation action did to it, with the public reason and
/// a link to the receipt. The comment's text is never put in the message. Nothing is sent to
/// a deleted account.
pub fn send_outcome(
    conn: &mut DbConn,
    site: &SiteLinks,
    action_id: i64,
) -> Result<usize, AppError> {
    let Some((comment_id, action, reason)) = moderation_actions::table
        .find(action_id)
        .select((
            moderation_actions::comment_id,
            moderation_actions::action,
            moderation_actions::reason,
        ))
        .first::<(i64, String, String)>(conn)
        .optional()?
    else {
        return Ok(0);
    };
    let Some(c) = crate::services::comments::load(conn, comment_id)? else {
        return Ok(0);
    };
    let (email, name, deleted): (String, String, Option<NaiveDateTime>) = users::table
        .find(c.author_id)
        .select((users::email, users::display_name, users::deleted_at))
        .first(conn)?;
    if deleted.is_some() {
        return Ok(0);
    }
    let title: String = drafts::table
        .find(c.draft_id)
        .select(drafts::title)
        .first(conn)?;
    let n = &c.tracking_number;
    let kept = "Your receipt stays valid: the public record of what you submitted is unchanged.";
    let (subject, paragraphs) = match Action::parse(&action) {
        Some(Action::Hide) => (
            "has been hidden",
            vec![
                format!("The moderators hid your comment {n}. Their reason: {reason}"),
                "Its text is no longer shown; a notice with the reason stands in its place, \
                 and the replies to it stay."
                    .to_string(),
                kept.to_string(),
            ],
        ),
        Some(Action::AutoHide) => (
            "has been hidden until a moderator reviews it",
            vec![
                format!(
                    "Several participants reported your comment {n}, so it is hidden until a \
                     moderator reviews it. You will hear from us again when they have."
                ),
                kept.to_string(),
            ],
        ),
        Some(Action::Reject) => (
            "was not published",
            vec![
                format!("The moderators did not publish your comment {n}. Their reason: {reason}"),
                "You can still see it, with this reason; nobody else can.".to_string(),
                kept.to_string(),
            ],
        ),
        Some(Action::Restore) => (
            "is shown again",
            vec![format!(
                "The moderators reviewed your comment {n}, and it is shown again."
            )],
        ),
        Some(Action::Approve) => (
            "is published",
            vec![format!(
                "The moderators approved your comment {n}; it is now public."
            )],
        ),
        Some(Action::DismissReports) | None => return Ok(0),
    };
    crate::email::enqueue_email(
        conn,
        &crate::services::mail::compose(
            &email,
            &format!("Your comment on \u{201c}{title}\u{201d} {subject}"),
            &format!("Hello {name},"),
            &paragraphs,
            "See your comment's receipt",
            &site.url(&format!("/receipts/{n}")),
        ),
    )?;
    Ok(1)
}
