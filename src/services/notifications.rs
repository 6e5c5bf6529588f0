//! Events → notifications.
//!
//! The services call one function here per event (a draft published, a new comment, a round
//! closing …) inside the write transaction of the change, so that the notification exists
//! exactly when the change committed. Each function finds the confirmed subscriptions the
//! event concerns, leaves out the person who caused it, and records one
//! `notification_events` row per subscription — for each subscriber only at its most
//! frequent matching frequency, so that one event reaches one address once.
//!
//! - *Immediately*: a `notify` job is queued with the rows; the worker composes the message
//!   ([`dispatch`]) and queues the email in one transaction that also marks the rows
//!   delivered, so a repeated job sends nothing twice.
//! - *Daily / weekly*: [`build_due_digests`] (a periodic task) claims the digest of each
//!   subscriber for the period that just ended with an insert that does nothing when the
//!   claim exists (`digest_runs`), and in the same transaction queues one email with every
//!   waiting event, grouped by draft and provision, and marks them. Restarts and other
//!   instances find the claim and send nothing.
//! - Round notices (opened, closing in three days) are claimed once per round in
//!   `round_notices` by [`check_rounds`], also periodic.
//!
//! Messages are composed from `frontend/templates/emails/notification.{txt,html}` and carry
//! the preferences link and RFC 8058 one-click unsubscribe headers.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConn;
use crate::db::dialect::{self, write_transaction};
use crate::db::models::{DraftRow, NotificationEventRow, RoundRow, SubscriberRow};
use crate::db::schema::{
    comments, consultation_rounds, dispositions, drafts, notification_events, provisions,
    subscribers, subscriptions, users, versions, working_group_members,
};
use crate::domain::{DraftStatus, Frequency, SubscriptionKind, time};
use crate::email::{EmailMessage, SiteLinks, enqueue_email};
use crate::error::AppError;
use crate::i18n::I18n;
use crate::services::subscriptions::{self as subs, UnsubscribeScope};

/// The job kind that delivers immediate notifications.
pub const JOB_KIND: &str = "notify";

/// "Closing soon" is sent this long before a round closes.
pub const CLOSING_SOON: Duration = Duration::days(3);

/// Attempts of a `notify` job (composing runs against the local database only).
const NOTIFY_ATTEMPTS: i32 = 8;

// ---------------------------------------------------------------------------------------
// Composing messages

/// One link in a message: a line of text, maybe a quotation, and where it leads.
#[derive(Debug, Clone)]
pub struct Item {
    pub text: String,
    pub detail: Option<String>,
    pub url: String,
}

/// The items about one provision (or, with no heading, about the draft as a whole).
#[derive(Debug, Clone)]
pub struct Section {
    pub heading: Option<String>,
    pub url: Option<String>,
    pub items: Vec<Item>,
}

/// The items about one draft (or, with no draft, about the site).
#[derive(Debug, Clone)]
pub struct Group {
    pub title: String,
    pub url: String,
    pub sections: Vec<Section>,
}

/// Everything a subscription message holds.
#[derive(Debug, Clone)]
pub struct MessageParts {
    pub to: String,
    pub subject: String,
    pub intro: Vec<String>,
    pub list: Vec<String>,
    pub groups: Vec<Group>,
    pub after: Vec<String>,
    pub action: Option<(String, String)>,
    /// Why this address gets the message.
    pub reason: String,
    pub manage_url: String,
    pub unsubscribe_url: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "emails/notification.txt")]
struct TextPart<'a> {
    p: &'a MessageParts,
    greeting: String,
    manage_label: String,
    unsubscribe_label: String,
}

#[derive(Template)]
#[template(path = "emails/notification.html")]
struct HtmlPart<'a> {
    p: &'a MessageParts,
    greeting: String,
    copy_hint: String,
    manage_label: String,
    unsubscribe_label: String,
}

/// Renders the text and HTML parts.
pub fn compose(p: MessageParts) -> EmailMessage {
    let i18n = I18n::default();
    let text = TextPart {
        p: &p,
        greeting: i18n.t("mail-greeting"),
        manage_label: i18n.t("mail-manage-label"),
        unsubscribe_label: i18n.t("mail-unsubscribe-label"),
    }
    .render()
    .unwrap_or_default();
    let html = HtmlPart {
        p: &p,
        greeting: i18n.t("mail-greeting"),
        copy_hint: i18n.t("mail-copy-hint"),
        manage_label: i18n.t("mail-manage-label"),
        unsubscribe_label: i18n.t("mail-unsubscribe-label"),
    }
    .render()
    .unwrap_or_default();
    EmailMessage {
        to: p.to.clone(),
        subject: p.subject.clone(),
        text,
        html,
        headers: p.headers.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// Recording events

/// What an event's message shows, stored with it (so composing needs no other lookup, and
/// shows the facts as they were).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventPayload {
    #[serde(default)]
    pub draft_id: Option<i64>,
    #[serde(default)]
    pub draft_title: String,
    #[serde(default)]
    pub provision_key: Option<String>,
    #[serde(default)]
    pub provision_name: Option<String>,
    /// The subject when the message carries this event alone.
    pub subject: String,
    pub text: String,
    #[serde(default)]
    pub detail: Option<String>,
    /// Site path the item links to.
    pub path: String,
}

/// A confirmed subscription an event concerns.
#[derive(Debug, Clone)]
struct Candidate {
    subscription_id: i64,
    subscriber_id: i64,
    frequency: Frequency,
    user_id: Option<i64>,
    email: String,
}

/// Candidates for one kind of subscription, with the wording they get and a rank (when a
/// subscriber matches several ways, the lowest rank's wording is used).
struct Hits {
    candidates: Vec<Candidate>,
    event_kind: &'static str,
    payload: EventPayload,
    rank: u8,
}

/// Who caused the event: never told about it.
#[derive(Debug, Clone, Default)]
struct Actor {
    user_id: Option<i64>,
    email: Option<String>,
}

fn candidates(
    conn: &mut DbConn,
    kind: SubscriptionKind,
    targets: &[String],
) -> QueryResult<Vec<Candidate>> {
    load_candidates(conn, kind, targets, None)
}

/// The confirmed subscriptions of `kind` to one of `targets`, of the given accounts only when
/// `accounts` is set (filtered in the query: an account-only kind such as `my_replies` has one
/// target for everybody, so loading all its subscribers would grow with the site).
fn load_candidates(
    conn: &mut DbConn,
    kind: SubscriptionKind,
    targets: &[String],
    accounts: Option<&[i64]>,
) -> QueryResult<Vec<Candidate>> {
    let mut query = subscriptions::table
        .inner_join(subscribers::table)
        .filter(subscriptions::kind.eq(kind.as_str()))
        .filter(subscriptions::target.eq_any(targets))
        .filter(subscriptions::confirmed_at.is_not_null())
        .filter(subscribers::confirmed_at.is_not_null())
        .select((
            subscriptions::id,
            subscriptions::subscriber_id,
            subscriptions::frequency,
            subscribers::user_id,
            subscribers::email,
        ))
        .into_boxed();
    if let Some(ids) = accounts {
        query = query.filter(subscribers::user_id.assume_not_null().eq_any(ids.to_vec()));
    }
    let rows: Vec<(i64, i64, String, Option<i64>, String)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, sid, f, user_id, email)| Candidate {
            subscription_id: id,
            subscriber_id: sid,
            frequency: Frequency::parse(&f).unwrap_or(Frequency::Immediate),
            user_id,
            email,
        })
        .collect())
}

/// Candidates of `kind` whose account is one of `user_ids` (active accounts only).
fn of_accounts(
    conn: &mut DbConn,
    kind: SubscriptionKind,
    targets: &[String],
    user_ids: &[i64],
) -> QueryResult<Vec<Candidate>> {
    let active: Vec<i64> = users::table
        .filter(users::id.eq_any(user_ids))
        .filter(users::deleted_at.is_null())
        .select(users::id)
        .load(conn)?;
    load_candidates(conn, kind, targets, Some(&active))
}

fn members(conn: &mut DbConn, draft_id: i64) -> QueryResult<Vec<i64>> {
    working_group_members::table
        .filter(working_group_members::draft_id.eq(draft_id))
        .select(working_group_members::user_id)
        .load(conn)
}

/// Puts a `notify` job for these event rows in the queue (nothing when there are none).
pub fn enqueue_dispatch(conn: &mut DbConn, event_ids: &[i64]) -> QueryResult<()> {
    if event_ids.is_empty() {
        return Ok(());
    }
    crate::jobs::enqueue(
        conn,
        JOB_KIND,
        &serde_json::json!({ "events": event_ids }),
        NOTIFY_ATTEMPTS,
    )?;
    Ok(())
}

/// Records the event for every subscriber it reaches; returns how many subscribers.
fn record(
    conn: &mut DbConn,
    subject: &str,
    hits: Vec<Hits>,
    actor: &Actor,
) -> Result<usize, AppError> {
    let now = time::now();
    let actor_email = actor.email.as_deref().map(str::to_lowercase);
    // subscriber → (rank, index of hits, candidates)
    let mut by_subscriber: BTreeMap<i64, (u8, usize, Vec<Candidate>)> = BTreeMap::new();
    for (index, h) in hits.iter().enumerate() {
        for c in &h.candidates {
            let is_actor = (actor.user_id.is_some() && c.user_id == actor.user_id)
                || actor_email.as_deref() == Some(c.email.as_str());
            if is_actor {
                continue;
            }
            let entry = by_subscriber
                .entry(c.subscriber_id)
                .or_insert((h.rank, index, Vec::new()));
            if h.rank < entry.0 {
                entry.0 = h.rank;
                entry.1 = index;
            }
            if !entry
                .2
                .iter()
                .any(|x| x.subscription_id == c.subscription_id)
            {
                entry.2.push(c.clone());
            }
        }
    }
    let mut reached = 0;
    for (subscriber_id, (_, index, list)) in by_subscriber {
        let Some(best) = list.iter().map(|c| c.frequency).min() else {
            continue;
        };
        let h = &hits[index];
        let payload = serde_json::to_string(&h.payload)
            .map_err(|e| AppError::Internal(format!("event payload: {e}")))?;
        let mut ids = Vec::new();
        for c in list.iter().filter(|c| c.frequency == best) {
            let id: i64 = diesel::insert_into(notification_events::table)
                .values((
                    notification_events::subscription_id.eq(c.subscription_id),
                    notification_events::subscriber_id.eq(subscriber_id),
                    notification_events::kind.eq(h.event_kind),
                    notification_events::subject.eq(subject),
                    notification_events::payload.eq(&payload),
                    notification_events::created_at.eq(now),
                ))
                .returning(notification_events::id)
                .get_result(conn)?;
            ids.push(id);
        }
        if best == Frequency::Immediate {
            enqueue_dispatch(conn, &ids)?;
        }
        reached += 1;
    }
    Ok(reached)
}

fn load_draft(conn: &mut DbConn, draft_id: i64) -> Result<DraftRow, AppError> {
    drafts::table
        .find(draft_id)
        .select(DraftRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

fn latest_round(conn: &mut DbConn, draft_id: i64) -> QueryResult<Option<RoundRow>> {
    consultation_rounds::table
        .filter(consultation_rounds::draft_id.eq(draft_id))
        .order(consultation_rounds::id.desc())
        .select(RoundRow::as_select())
        .first(conn)
        .optional()
}

fn excerpt(text: &str, max: usize) -> String {
    let plain = crate::markdown::to_plain_text(text);
    if plain.chars().count() <= max {
        return plain;
    }
    let cut: String = plain.chars().take(max).collect();
    format!("{}…", cut.trim_end())
}

fn draft_payload(draft: &DraftRow) -> EventPayload {
    EventPayload {
        draft_id: Some(draft.id),
        draft_title: draft.title.clone(),
        path: format!("/drafts/{}", draft.id),
        ..EventPayload::default()
    }
}

fn draft_hits(
    conn: &mut DbConn,
    draft: &DraftRow,
    event_kind: &'static str,
    payload: EventPayload,
) -> Result<Vec<Hits>, AppError> {
    Ok(vec![Hits {
        candidates: candidates(conn, SubscriptionKind::Draft, &[draft.id.to_string()])?,
        event_kind,
        payload,
        rank: 0,
    }])
}

/// A draft was published for the first time: followers of all drafts, of its authority and
/// of its kind hear about it.
pub fn draft_published(conn: &mut DbConn, draft_id: i64) -> Result<usize, AppError> {
    let i18n = I18n::default();
    write_transaction(conn, |conn| {
        let draft = load_draft(conn, draft_id)?;
        let round = latest_round(conn, draft_id)?;
        let kind_label = i18n.t(&format!("kind-{}", draft.kind));
        let payload = EventPayload {
            subject: i18n.ts("notify-published-subject", "title", &draft.title),
            text: i18n.t_strs(
                "notify-published",
                &[
                    ("authority", &draft.authority),
                    ("kind", &kind_label),
                    ("title", &draft.title),
                ],
            ),
            detail: round.map(|r| i18n.ts("notify-until", "date", &time::display(r.closes_at))),
            ..draft_payload(&draft)
        };
        let mut hits = Vec::new();
        for (kind, target) in [
            (SubscriptionKind::AllDrafts, String::new()),
            (SubscriptionKind::Authority, draft.authority.clone()),
            (SubscriptionKind::Kind, draft.kind.clone()),
        ] {
            hits.push(Hits {
                candidates: candidates(conn, kind, &[target])?,
                event_kind: "draft_published",
                payload: payload.clone(),
                rank: 0,
            });
        }
        record(
            conn,
            &format!("draft:{draft_id}:published"),
            hits,
            &Actor::default(),
        )
    })
}

/// Version `version` of a draft was published: its followers hear about it (with the round
/// it opens, if any). `drafts::publish` calls it for every version after the first; call it
/// only for versions published another way.
pub fn new_version(conn: &mut DbConn, draft_id: i64, version: i32) -> Result<usize, AppError> {
    let i18n = I18n::default();
    write_transaction(conn, |conn| {
        let draft = load_draft(conn, draft_id)?;
        let summary: Option<String> = versions::table
            .filter(versions::draft_id.eq(draft_id))
            .filter(versions::number.eq(version))
            .select(versions::change_summary)
            .first(conn)
            .optional()?;
        let round = latest_round(conn, draft_id)?;
        let args = [("title", draft.title.as_str())];
        let n = version.to_string();
        let payload = EventPayload {
            subject: i18n.t_strs("notify-version-subject", &[args[0], ("number", n.as_str())]),
            text: i18n.tn("notify-version", "number", version as i64),
            detail: summary.filter(|s| !s.trim().is_empty()).or_else(|| {
                round
                    .filter(|r| r.closes_at > time::now())
                    .map(|r| i18n.ts("notify-until", "date", &time::display(r.closes_at)))
            }),
            path: format!("/drafts/{draft_id}/versions/{version}"),
            ..draft_payload(&draft)
        };
        let hits = draft_hits(conn, &draft, "new_version", payload)?;
        record(
            conn,
            &format!("draft:{draft_id}:version:{version}"),
            hits,
            &Actor::default(),
        )
    })
}

fn round_event(
    conn: &mut DbConn,
    round: &RoundRow,
    event_kind: &'static str,
    subject_key: &str,
    text_key: &str,
) -> Result<usize, AppError> {
    let i18n = I18n::default();
    let draft = load_draft(conn, round.draft_id)?;
    let date = time::display(round.closes_at);
    let payload = EventPayload {
        subject: i18n.ts(subject_key, "title", &draft.title),
        text: i18n.ts(text_key, "date", &date),
        ..draft_payload(&draft)
    };
    let hits = draft_hits(conn, &draft, event_kind, payload)?;
    record(
        conn,
        &format!("round:{}:{event_kind}", round.id),
        hits,
        &Actor::default(),
    )
}

/// A draft's consultation closed (by an administrator or at the end of its round).
pub fn round_closed(conn: &mut DbConn, draft_id: i64) -> Result<usize, AppError> {
    write_transaction(conn, |conn| {
        let Some(round) = latest_round(conn, draft_id)? else {
            return Ok(0);
        };
        round_event(
            conn,
            &round,
            "round_closed",
            "notify-closed-subject",
            "notify-closed",
        )
    })
}

/// The discussion report of a draft's round was published (for the revisions branch).
pub fn report_published(conn: &mut DbConn, draft_id: i64) -> Result<usize, AppError> {
    let i18n = I18n::default();
    write_transaction(conn, |conn| {
        let draft = load_draft(conn, draft_id)?;
        let payload = EventPayload {
            subject: i18n.ts("notify-report-subject", "title", &draft.title),
            text: i18n.t("notify-report"),
            ..draft_payload(&draft)
        };
        let hits = draft_hits(conn, &draft, "report_published", payload)?;
        let n: i64 = consultation_rounds::table
            .filter(consultation_rounds::draft_id.eq(draft_id))
            .count()
            .get_result(conn)?;
        record(
            conn,
            &format!("draft:{draft_id}:report:{n}"),
            hits,
            &Actor::default(),
        )
    })
}

/// Called by `drafts::publish` in its transaction: the first version is a new draft for
/// the followers of drafts, later ones a new version for the followers of the draft. A
/// round that opens at once needs no separate "opened" notice.
pub fn on_publish(
    conn: &mut DbConn,
    draft_id: i64,
    version: i32,
    round_id: i64,
    opens_now: bool,
) -> Result<(), AppError> {
    if version <= 1 {
        draft_published(conn, draft_id)?;
    } else {
        new_version(conn, draft_id, version)?;
    }
    if opens_now {
        dialect::claim_round_notice(conn, round_id, "opened", time::now())?;
    }
    Ok(())
}

/// The rounds taking comments at `now`: of drafts open for comment, the latest round of each
/// (only it is current), once it has opened and until it closes.
fn current_rounds(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<RoundRow>> {
    let rounds: Vec<RoundRow> = consultation_rounds::table
        .inner_join(drafts::table)
        .filter(drafts::status.eq(DraftStatus::Open.as_str()))
        .filter(consultation_rounds::opens_at.le(now))
        .filter(consultation_rounds::closes_at.gt(now))
        .select(RoundRow::as_select())
        .load(conn)?;
    let mut latest: HashMap<i64, RoundRow> = HashMap::new();
    for r in rounds {
        if latest.get(&r.draft_id).is_none_or(|l| l.id < r.id) {
            latest.insert(r.draft_id, r);
        }
    }
    Ok(latest.into_values().collect())
}

/// Round notices due at `now`: "comments are open" for rounds that opened after their
/// publication, "closing in three days" — each once per round, whatever the number of
/// instances (claimed in `round_notices`). Returns the notices sent.
pub fn check_rounds(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut sent = 0;
    for round in current_rounds(conn, now)? {
        sent += write_transaction(conn, |conn| -> Result<usize, AppError> {
            let mut n = 0;
            if dialect::claim_round_notice(conn, round.id, "opened", now)? {
                round_event(
                    conn,
                    &round,
                    "round_opened",
                    "notify-opened-subject",
                    "notify-opened",
                )?;
                n += 1;
            }
            if round.closes_at - now <= CLOSING_SOON
                && dialect::claim_round_notice(conn, round.id, "closing_soon", now)?
            {
                round_event(
                    conn,
                    &round,
                    "closing_soon",
                    "notify-closing-subject",
                    "notify-closing",
                )?;
                n += 1;
            }
            Ok(n)
        })?;
    }
    Ok(sent)
}

/// A comment was posted: followers of its provision, the author of the comment it replies
/// to (if they follow replies to their comments), and the working group's members who follow
/// their queue — never its own author.
pub fn comment_posted(conn: &mut DbConn, comment_id: i64) -> Result<usize, AppError> {
    let i18n = I18n::default();
    write_transaction(conn, |conn| {
        let c = crate::services::comments::load(conn, comment_id)?.ok_or(AppError::NotFound)?;
        let draft = load_draft(conn, c.draft_id)?;
        let (author_name, author_email): (String, String) = users::table
            .find(c.author_id)
            .select((users::display_name, users::email))
            .first(conn)?;
        let author_name = if c.show_as_participant {
            i18n.t("comment-participant")
        } else {
            author_name
        };
        let provision_name = match &c.provision_key {
            Some(key) => {
                let row = provisions::table
                    .filter(provisions::version_id.eq(c.version_id))
                    .filter(provisions::key.eq(key))
                    .select(crate::db::models::ProvisionRow::as_select())
                    .first(conn)
                    .optional()?;
                Some(
                    row.map(|p| crate::templates::short_name(&i18n, &p))
                        .unwrap_or_else(|| key.clone()),
                )
            }
            None => None,
        };
        let place = provision_name
            .clone()
            .unwrap_or_else(|| i18n.t("notify-whole-draft"));
        let base = EventPayload {
            provision_key: c.provision_key.clone(),
            provision_name: provision_name.clone(),
            detail: Some(excerpt(&c.body, 280)),
            path: format!("/comments/{comment_id}"),
            ..draft_payload(&draft)
        };
        let names = [
            ("name", author_name.as_str()),
            ("provision", place.as_str()),
            ("title", draft.title.as_str()),
        ];
        let mut hits = Vec::new();
        if let Some(parent_id) = c.parent_id {
            let parent_author: Option<i64> = comments::table
                .find(parent_id)
                .select(comments::author_id)
                .first(conn)
                .optional()?;
            if let Some(parent_author) = parent_author.filter(|a| *a != c.author_id) {
                hits.push(Hits {
                    candidates: of_accounts(
                        conn,
                        SubscriptionKind::MyReplies,
                        &[String::new()],
                        &[parent_author],
                    )?,
                    event_kind: "reply",
                    payload: EventPayload {
                        subject: i18n.t_strs("notify-reply-subject", &names),
                        text: i18n.t_strs("notify-reply", &names),
                        ..base.clone()
                    },
                    rank: 0,
                });
            }
        }
        if let Some(key) = &c.provision_key {
            hits.push(Hits {
                candidates: candidates(
                    conn,
                    SubscriptionKind::Provision,
                    &[format!("{}:{key}", c.draft_id)],
                )?,
                event_kind: "comment",
                payload: EventPayload {
                    subject: i18n.t_strs("notify-comment-subject", &names),
                    text: i18n.t_strs("notify-comment", &names),
                    ..base.clone()
                },
                rank: 1,
            });
        }
        let group = members(conn, c.draft_id)?;
        hits.push(Hits {
            candidates: of_accounts(
                conn,
                SubscriptionKind::WgQueue,
                &[c.draft_id.to_string()],
                &group,
            )?,
            event_kind: "queue",
            payload: EventPayload {
                subject: i18n.t_strs("notify-queue-subject", &names),
                text: i18n.t_strs("notify-queue", &names),
                ..base.clone()
            },
            rank: 2,
        });
        record(
            conn,
            &format!("comment:{comment_id}"),
            hits,
            &Actor {
                user_id: Some(c.author_id),
                email: Some(author_email),
            },
        )
    })
}

/// Drops the events about a comment that have not gone out yet (immediate or in a digest),
/// for a comment the moderators hid or rejected: its text must not reach any mailbox.
pub fn forget_comment(conn: &mut DbConn, comment_id: i64) -> QueryResult<usize> {
    diesel::delete(
        notification_events::table
            .filter(notification_events::subject.eq(format!("comment:{comment_id}")))
            .filter(notification_events::digest_sent_at.is_null()),
    )
    .execute(conn)
}

/// The working group decided on a comment (its disposition was recorded or changed): its
/// author hears about it if they follow the decisions on their comments. Triage calls it in
/// the transaction that writes the disposition.
pub fn disposition(conn: &mut DbConn, comment_id: i64) -> Result<usize, AppError> {
    let i18n = I18n::default();
    write_transaction(conn, |conn| {
        let c = crate::services::comments::load(conn, comment_id)?.ok_or(AppError::NotFound)?;
        let decision: Option<(String, String, Option<i64>, NaiveDateTime)> = dispositions::table
            .filter(dispositions::comment_id.eq(comment_id))
            .select((
                dispositions::decision,
                dispositions::justification,
                dispositions::decided_by,
                dispositions::updated_at,
            ))
            .first(conn)
            .optional()?;
        let Some((decision, justification, decided_by, at)) = decision else {
            return Ok(0);
        };
        let draft = load_draft(conn, c.draft_id)?;
        let label = i18n.t(&format!("notify-decision-{decision}"));
        let payload = EventPayload {
            provision_key: c.provision_key.clone(),
            subject: i18n.ts("notify-decision-subject", "number", &c.tracking_number),
            text: i18n.t_strs(
                "notify-decision",
                &[("number", &c.tracking_number), ("decision", &label)],
            ),
            detail: Some(excerpt(&justification, 400)),
            path: format!("/comments/{comment_id}"),
            ..draft_payload(&draft)
        };
        let hits = vec![Hits {
            candidates: of_accounts(
                conn,
                SubscriptionKind::MyDispositions,
                &[String::new()],
                &[c.author_id],
            )?,
            event_kind: "disposition",
            payload,
            rank: 0,
        }];
        record(
            conn,
            &format!(
                "disposition:{comment_id}:{}",
                at.and_utc().timestamp_micros()
            ),
            hits,
            &Actor {
                user_id: decided_by,
                email: None,
            },
        )
    })
}

/// Whether the account follows the decisions on its comments. Such an author hears about a
/// disposition through [`disposition`] (at the frequency they chose, with an unsubscribe
/// link); everyone else gets triage's one direct answer email.
pub fn follows_own_decisions(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    Ok(!of_accounts(
        conn,
        SubscriptionKind::MyDispositions,
        &[String::new()],
        &[user_id],
    )?
    .is_empty())
}

/// A campaign (many near-identical comments) was detected on a draft: the working group's
/// members who follow campaigns hear about it. For the triage branch; `description` says
/// what was found (no personal data).
pub fn campaign_detected(
    conn: &mut DbConn,
    draft_id: i64,
    description: &str,
) -> Result<usize, AppError> {
    let i18n = I18n::default();
    write_transaction(conn, |conn| {
        let draft = load_draft(conn, draft_id)?;
        let payload = EventPayload {
            subject: i18n.ts("notify-campaign-subject", "title", &draft.title),
            text: i18n.t("notify-campaign"),
            detail: Some(excerpt(description, 400)),
            path: format!("/drafts/{draft_id}/triage/campaigns"),
            ..draft_payload(&draft)
        };
        let group = members(conn, draft_id)?;
        let hits = vec![Hits {
            candidates: of_accounts(
                conn,
                SubscriptionKind::WgCampaigns,
                &[draft_id.to_string()],
                &group,
            )?,
            event_kind: "campaign",
            payload,
            rank: 0,
        }];
        record(
            conn,
            &format!(
                "campaign:{draft_id}:{}",
                time::now().and_utc().timestamp_micros()
            ),
            hits,
            &Actor::default(),
        )
    })
}

/// Looks for campaigns on the drafts open for comment and tells each draft's working group
/// about every new one, once per consultation round whatever the number of instances: the
/// notice is claimed in `round_notices` under the campaign's first comment, which stays its
/// first as the campaign grows. `seen` remembers the newest comment id checked per draft, so
/// an unchanged discussion is not clustered again every minute. Returns the notices sent.
pub fn check_campaigns(
    conn: &mut DbConn,
    threshold: f64,
    min_size: usize,
    seen: &mut HashMap<i64, i64>,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    use crate::db::schema::comments;
    let mut sent = 0;
    for round in current_rounds(conn, now)? {
        let newest: Option<i64> = comments::table
            .filter(comments::draft_id.eq(round.draft_id))
            .select(diesel::dsl::max(comments::id))
            .first(conn)?;
        let Some(newest) = newest else { continue };
        if seen.get(&round.draft_id) == Some(&newest) {
            continue;
        }
        let clusters =
            crate::services::campaigns::clusters(conn, round.draft_id, threshold, min_size)?;
        for cluster in clusters {
            let kind = format!("campaign:{}", cluster.representative_id);
            sent += write_transaction(conn, |conn| -> Result<usize, AppError> {
                if !dialect::claim_round_notice(conn, round.id, &kind, now)? {
                    return Ok(0);
                }
                let first = cluster
                    .members
                    .first()
                    .map(|m| m.tracking_number.as_str())
                    .unwrap_or_default();
                let description = I18n::default().t_strs(
                    "notify-campaign-detail",
                    &[
                        ("count", &cluster.size.to_string()),
                        ("first", first),
                        ("sample", &cluster.sample),
                    ],
                );
                campaign_detected(conn, round.draft_id, &description)?;
                Ok(1)
            })?;
        }
        seen.insert(round.draft_id, newest);
    }
    Ok(sent)
}

// ---------------------------------------------------------------------------------------
// Delivering

fn subscriber(conn: &mut DbConn, id: i64) -> QueryResult<Option<SubscriberRow>> {
    subscribers::table
        .find(id)
        .select(SubscriberRow::as_select())
        .first(conn)
        .optional()
}

/// Groups items by draft, then provision (the draft as a whole first), in order of first
/// appearance; an event that reached one subscriber through several subscriptions appears
/// once.
fn group(site: &SiteLinks, rows: &[NotificationEventRow]) -> (Vec<Group>, Vec<EventPayload>) {
    let mut seen = std::collections::HashSet::new();
    let mut payloads = Vec::new();
    for r in rows {
        if !seen.insert((r.kind.clone(), r.subject.clone())) {
            continue;
        }
        if let Ok(p) = serde_json::from_str::<EventPayload>(&r.payload) {
            payloads.push(p);
        }
    }
    let mut groups: Vec<(Option<i64>, Group, Vec<Option<String>>)> = Vec::new();
    for p in &payloads {
        let gi = match groups.iter().position(|g| g.0 == p.draft_id) {
            Some(i) => i,
            None => {
                groups.push((
                    p.draft_id,
                    Group {
                        title: p.draft_title.clone(),
                        url: site.url(
                            &p.draft_id
                                .map(|d| format!("/drafts/{d}"))
                                .unwrap_or_default(),
                        ),
                        sections: Vec::new(),
                    },
                    Vec::new(),
                ));
                groups.len() - 1
            }
        };
        let (_, g, keys) = &mut groups[gi];
        let si = match keys.iter().position(|k| *k == p.provision_key) {
            Some(i) => i,
            None => {
                let section = Section {
                    heading: p
                        .provision_key
                        .as_ref()
                        .map(|k| p.provision_name.clone().unwrap_or_else(|| k.clone())),
                    url: match (p.draft_id, &p.provision_key) {
                        (Some(d), Some(k)) => {
                            Some(site.url(&format!("/drafts/{d}/provisions/{k}")))
                        }
                        _ => None,
                    },
                    items: Vec::new(),
                };
                // The draft as a whole comes before its provisions.
                if p.provision_key.is_none() {
                    keys.insert(0, None);
                    g.sections.insert(0, section);
                    0
                } else {
                    keys.push(p.provision_key.clone());
                    g.sections.push(section);
                    g.sections.len() - 1
                }
            }
        };
        g.sections[si].items.push(Item {
            text: p.text.clone(),
            detail: p.detail.clone(),
            url: site.url(&p.path),
        });
    }
    (groups.into_iter().map(|g| g.1).collect(), payloads)
}

fn subscription_descriptions(
    conn: &mut DbConn,
    i18n: &I18n,
    ids: &[i64],
) -> Result<Vec<String>, AppError> {
    let rows: Vec<(String, String)> = subscriptions::table
        .filter(subscriptions::id.eq_any(ids))
        .order(subscriptions::id)
        .select((subscriptions::kind, subscriptions::target))
        .load(conn)?;
    rows.into_iter()
        .filter_map(|(k, t)| Some((SubscriptionKind::parse(&k).ok()?, t)))
        .map(|(k, t)| subs::describe(conn, i18n, k, &t))
        .collect()
}

enum Mode {
    Immediate,
    Digest {
        frequency: Frequency,
        start: NaiveDateTime,
        end: NaiveDateTime,
        run_id: i64,
    },
}

fn message(
    conn: &mut DbConn,
    site: &SiteLinks,
    s: &SubscriberRow,
    rows: &[NotificationEventRow],
    mode: &Mode,
) -> Result<EmailMessage, AppError> {
    let i18n = I18n::default();
    let mut ids: Vec<i64> = rows.iter().map(|r| r.subscription_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let followed = subscription_descriptions(conn, &i18n, &ids)?;
    let (groups, payloads) = group(site, rows);
    let count = payloads.len() as i64;
    let (subject, intro, scope) = match mode {
        Mode::Immediate => (
            match payloads.as_slice() {
                [one] => one.subject.clone(),
                _ => i18n.tn("notify-several-subject", "count", count),
            },
            Vec::new(),
            UnsubscribeScope::Subscriptions(ids),
        ),
        Mode::Digest {
            frequency,
            start,
            end,
            run_id,
        } => (
            i18n.tn(
                &format!("digest-{}-subject", frequency.as_str()),
                "count",
                count,
            ),
            vec![i18n.t_strs(
                "digest-intro",
                &[
                    ("from", &time::display(*start)),
                    ("until", &time::display(*end)),
                ],
            )],
            UnsubscribeScope::Digest(*run_id),
        ),
    };
    let token = subs::unsubscribe_token(site, &scope);
    Ok(compose(MessageParts {
        to: s.email.clone(),
        subject,
        intro,
        list: Vec::new(),
        groups,
        after: Vec::new(),
        action: None,
        reason: i18n.ts("mail-reason", "list", &followed.join("; ")),
        manage_url: subs::manage_url(site, s.id),
        unsubscribe_url: subs::unsubscribe_url(site, &token),
        headers: subs::unsubscribe_headers(site, &token),
    }))
}

/// The `notify` job: composes the messages of these event rows that are still waiting and
/// queues them, marking the rows delivered in the same transaction. Rows already delivered
/// (a repeated job) or gone (an unsubscription) are skipped. Returns the emails queued.
pub fn dispatch(conn: &mut DbConn, site: &SiteLinks, event_ids: &[i64]) -> Result<usize, AppError> {
    write_transaction(conn, |conn| {
        let rows: Vec<NotificationEventRow> = notification_events::table
            .filter(notification_events::id.eq_any(event_ids))
            .filter(notification_events::digest_sent_at.is_null())
            .order(notification_events::id)
            .select(NotificationEventRow::as_select())
            .load(conn)?;
        let mut by_subscriber: BTreeMap<i64, Vec<NotificationEventRow>> = BTreeMap::new();
        for r in rows {
            by_subscriber.entry(r.subscriber_id).or_default().push(r);
        }
        let now = time::now();
        let mut sent = 0;
        for (sid, rows) in by_subscriber {
            let Some(s) = subscriber(conn, sid)? else {
                continue;
            };
            let email = message(conn, site, &s, &rows, &Mode::Immediate)?;
            enqueue_email(conn, &email)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            diesel::update(notification_events::table.filter(notification_events::id.eq_any(&ids)))
                .set(notification_events::digest_sent_at.eq(now))
                .execute(conn)?;
            sent += 1;
        }
        Ok(sent)
    })
}

/// The digest period of `frequency` that ended last before `now`: yesterday (UTC), or last
/// week (Monday to Monday, UTC).
pub fn due_period(
    frequency: Frequency,
    now: NaiveDateTime,
) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let today: NaiveDate = now.date();
    let end = match frequency {
        Frequency::Immediate => return None,
        Frequency::Daily => today,
        Frequency::Weekly => today - Duration::days(today.weekday().num_days_from_monday() as i64),
    };
    let start = match frequency {
        Frequency::Daily => end - Duration::days(1),
        _ => end - Duration::days(7),
    };
    Some((
        start.and_time(chrono::NaiveTime::MIN),
        end.and_time(chrono::NaiveTime::MIN),
    ))
}

/// Builds the digests due at `now`: for each subscriber with waiting daily (weekly) events
/// from before the end of the last day (week), one email. Each digest is claimed first in
/// `digest_runs`, in the transaction that queues it and marks its events, so no digest is
/// ever sent twice — not by another instance running at the same moment, nor after a
/// restart. Returns the digests queued.
pub fn build_due_digests(
    conn: &mut DbConn,
    site: &SiteLinks,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let mut queued = 0;
    for frequency in [Frequency::Daily, Frequency::Weekly] {
        let Some((start, end)) = due_period(frequency, now) else {
            continue;
        };
        let waiting: Vec<i64> = notification_events::table
            .inner_join(subscriptions::table)
            .filter(subscriptions::frequency.eq(frequency.as_str()))
            .filter(notification_events::digest_sent_at.is_null())
            .filter(notification_events::created_at.lt(end))
            .select(notification_events::subscriber_id)
            .distinct()
            .load(conn)?;
        for sid in waiting {
            let sent = write_transaction(conn, |conn| -> Result<bool, AppError> {
                let Some(run_id) =
                    dialect::claim_digest_run(conn, sid, frequency.as_str(), start, time::now())?
                else {
                    return Ok(false);
                };
                let rows: Vec<NotificationEventRow> = notification_events::table
                    .inner_join(subscriptions::table)
                    .filter(notification_events::subscriber_id.eq(sid))
                    .filter(subscriptions::frequency.eq(frequency.as_str()))
                    .filter(notification_events::digest_sent_at.is_null())
                    .filter(notification_events::created_at.lt(end))
                    .order(notification_events::id)
                    .select(NotificationEventRow::as_select())
                    .load(conn)?;
                let Some(s) = subscriber(conn, sid)? else {
                    return Ok(false);
                };
                if rows.is_empty() {
                    return Ok(false);
                }
                let mode = Mode::Digest {
                    frequency,
                    start,
                    end,
                    run_id,
                };
                let email = message(conn, site, &s, &rows, &mode)?;
                enqueue_email(conn, &email)?;
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                diesel::update(
                    notification_events::table.filter(notification_events::id.eq_any(&ids)),
                )
                .set((
                    notification_events::digest_sent_at.eq(time::now()),
                    notification_events::digest_run_id.eq(run_id),
                ))
                .execute(conn)?;
                Ok(true)
            })?;
            if sent {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn digest_periods_are_the_last_full_day_and_week() {
        // 2026-12-02 is a Wednesday.
        let now = at("2026-12-02 10:30");
        assert_eq!(
            due_period(Frequency::Daily, now),
            Some((at("2026-12-01 00:00"), at("2026-12-02 00:00")))
        );
        assert_eq!(
            due_period(Frequency::Weekly, now),
            Some((at("2026-11-23 00:00"), at("2026-11-30 00:00")))
        );
        assert_eq!(
            due_period(Frequency::Weekly, at("2026-11-30 00:00")),
            Some((at("2026-11-23 00:00"), at("2026-11-30 00:00")))
        );
        assert_eq!(due_period(Frequency::Immediate, now), None);
    }
}
