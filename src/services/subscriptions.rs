//! Subscriptions: who follows what by email, and how they stop.
//!
//! - Anyone with an address can follow all new drafts, the drafts of an authority or of a
//!   kind, one draft, or one provision. An address typed into a form gets a confirmation
//!   message first (double opt-in); each new subscription asked for that way waits,
//!   unconfirmed and receiving nothing, until the address's owner confirms it with the
//!   button of the page the emailed link opens. The answer on the site is the same whether
//!   or not the address already follows something.
//! - Account holders with a verified address subscribe directly, and may also follow the
//!   replies to and the decisions on their own comments, and (working-group members) the
//!   queue and campaigns of their groups.
//! - Every message carries a link to the preferences page (`/subscriptions/manage?token=`,
//!   no sign-in needed) and a signed one-click unsubscribe link (RFC 8058) that removes the
//!   subscriptions the message was about.
//!
//! Links are signed with a key derived from the configured secret ([`SiteLinks`]); the
//! database keeps only a hash of the preferences token, so a copy of it opens nothing.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::dialect::{self, write_transaction};
use crate::db::models::{ProvisionRow, SubscriberRow, SubscriptionRow, UserRow};
use crate::db::schema::{
    drafts, notification_events, provisions, subscribers, subscriptions, versions,
};
use crate::domain::{DraftKind, DraftStatus, Email, Frequency, SubscriptionKind, time};
use crate::email::{EmailMessage, SiteLinks, enqueue_email};
use crate::error::{AppError, FieldError};
use crate::i18n::I18n;
use crate::services::notifications::{self, MessageParts};

/// An unconfirmed subscription can be confirmed for this long; then it is removed.
pub const PENDING_LIFETIME: Duration = Duration::days(7);

// ---------------------------------------------------------------------------------------
// Tokens

fn base36(mut n: i64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n <= 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

fn parse_base36(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 12 {
        return None;
    }
    i64::from_str_radix(s, 36).ok().filter(|n| *n > 0)
}

/// The preferences token of a subscriber: its id and a signature. Only its hash is stored.
pub fn manage_token(site: &SiteLinks, subscriber_id: i64) -> String {
    let id = base36(subscriber_id);
    format!("m{id}-{}", site.sign("manage", &id, 32))
}

pub fn manage_url(site: &SiteLinks, subscriber_id: i64) -> String {
    site.url(&format!(
        "/subscriptions/manage?token={}",
        manage_token(site, subscriber_id)
    ))
}

pub fn confirm_url(site: &SiteLinks, subscriber_id: i64) -> String {
    site.url(&format!(
        "/subscriptions/confirm?token={}",
        manage_token(site, subscriber_id)
    ))
}

/// What a one-click unsubscribe link removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsubscribeScope {
    /// Every subscription of a subscriber.
    Subscriber(i64),
    /// The unconfirmed subscriptions of a subscriber (the links of a confirmation request).
    Pending(i64),
    /// The subscriptions whose events a digest carried.
    Digest(i64),
    /// These subscriptions (of one message sent at once).
    Subscriptions(Vec<i64>),
}

impl UnsubscribeScope {
    fn payload(&self) -> String {
        match self {
            UnsubscribeScope::Subscriber(id) => format!("s{}", base36(*id)),
            UnsubscribeScope::Pending(id) => format!("p{}", base36(*id)),
            UnsubscribeScope::Digest(id) => format!("d{}", base36(*id)),
            UnsubscribeScope::Subscriptions(ids) => format!(
                "i{}",
                ids.iter().map(|i| base36(*i)).collect::<Vec<_>>().join(".")
            ),
        }
    }

    fn parse_payload(p: &str) -> Option<UnsubscribeScope> {
        let (tag, rest) = p.split_at_checked(1)?;
        match tag {
            "s" => parse_base36(rest).map(UnsubscribeScope::Subscriber),
            "p" => parse_base36(rest).map(UnsubscribeScope::Pending),
            "d" => parse_base36(rest).map(UnsubscribeScope::Digest),
            "i" => {
                let ids: Option<Vec<i64>> = rest.split('.').map(parse_base36).collect();
                ids.filter(|v| !v.is_empty() && v.len() <= 50)
                    .map(UnsubscribeScope::Subscriptions)
            }
            _ => None,
        }
    }
}

/// `<scope>-<signature>`: short enough for the local part of the `mailto:` address
/// (letters, digits, `.` and `-` only).
pub fn unsubscribe_token(site: &SiteLinks, scope: &UnsubscribeScope) -> String {
    let payload = scope.payload();
    format!("{payload}-{}", site.sign("unsubscribe", &payload, 24))
}

pub fn parse_unsubscribe_token(site: &SiteLinks, token: &str) -> Option<UnsubscribeScope> {
    let (payload, signature) = token.trim().rsplit_once('-')?;
    if !site.verify("unsubscribe", payload, signature) {
        return None;
    }
    UnsubscribeScope::parse_payload(payload)
}

pub fn unsubscribe_url(site: &SiteLinks, token: &str) -> String {
    site.url(&format!("/subscriptions/unsubscribe?token={token}"))
}

/// The RFC 8058 headers: an https (or whatever the base URL says) and a `mailto:` address,
/// and the one-click marker that lets mail programs unsubscribe with a bare POST.
pub fn unsubscribe_headers(site: &SiteLinks, token: &str) -> Vec<(String, String)> {
    vec![
        (
            "List-Unsubscribe".into(),
            format!(
                "<{}>, <{}>",
                unsubscribe_url(site, token),
                site.mailto(&format!("unsubscribe+{token}"))
            ),
        ),
        (
            "List-Unsubscribe-Post".into(),
            "List-Unsubscribe=One-Click".into(),
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// What a subscription follows

/// A subscription request, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub kind: SubscriptionKind,
    /// Canonical target (see [`SubscriptionKind`]).
    pub target: String,
    pub frequency: Frequency,
}

fn public_draft(conn: &mut DbConn, draft_id: i64) -> Result<Option<(String, String)>, AppError> {
    let row: Option<(String, String)> = drafts::table
        .find(draft_id)
        .filter(drafts::status.ne(DraftStatus::Draft.as_str()))
        .select((drafts::title, drafts::status))
        .first(conn)
        .optional()?;
    let published: i64 = versions::table
        .filter(versions::draft_id.eq(draft_id))
        .filter(versions::published_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(row.filter(|_| published > 0))
}

/// The provision with this key in the latest published version that has it.
fn provision(
    conn: &mut DbConn,
    draft_id: i64,
    key: &str,
) -> Result<Option<ProvisionRow>, AppError> {
    Ok(provisions::table
        .inner_join(versions::table)
        .filter(versions::draft_id.eq(draft_id))
        .filter(versions::published_at.is_not_null())
        .filter(provisions::key.eq(key))
        .order(versions::number.desc())
        .select(ProvisionRow::as_select())
        .first(conn)
        .optional()?)
}

fn split_provision_target(target: &str) -> Option<(i64, &str)> {
    let (id, key) = target.split_once(':')?;
    let id = id.trim().parse::<i64>().ok()?;
    let key = key.trim();
    (!key.is_empty() && key.len() <= 200).then_some((id, key))
}

/// Parses what a form asks to follow. Account-only kinds need `user`; working-group kinds
/// need them to be in the group.
pub fn parse_request(
    conn: &mut DbConn,
    kind: &str,
    target: &str,
    frequency: &str,
    user: Option<&UserRow>,
) -> Result<Request, AppError> {
    let kind = SubscriptionKind::parse(kind)?;
    let frequency = if frequency.trim().is_empty() {
        Frequency::Immediate
    } else {
        Frequency::parse(frequency)?
    };
    let raw = target.trim();
    let unknown = || AppError::field("kind", "This cannot be followed; go back and try again");
    let target = match kind {
        SubscriptionKind::AllDrafts
        | SubscriptionKind::MyReplies
        | SubscriptionKind::MyDispositions => String::new(),
        SubscriptionKind::Authority => {
            let known: Vec<String> = crate::services::drafts::public_authorities(conn)?;
            known
                .into_iter()
                .find(|a| a == raw)
                .ok_or_else(|| AppError::field("target", "Choose an authority from the list"))?
        }
        SubscriptionKind::Kind => DraftKind::parse(raw)
            .map_err(|_| AppError::field("target", "Choose a kind of act from the list"))?
            .as_str()
            .to_string(),
        SubscriptionKind::Draft | SubscriptionKind::WgQueue | SubscriptionKind::WgCampaigns => {
            let id = raw.parse::<i64>().map_err(|_| unknown())?;
            if public_draft(conn, id)?.is_none() && !kind.needs_account() {
                return Err(unknown());
            }
            id.to_string()
        }
        SubscriptionKind::Provision => {
            let (id, key) = split_provision_target(raw).ok_or_else(unknown)?;
            if public_draft(conn, id)?.is_none() || provision(conn, id, key)?.is_none() {
                return Err(unknown());
            }
            format!("{id}:{key}")
        }
    };
    if kind.needs_account() {
        let Some(user) = user else {
            return Err(AppError::field(
                "kind",
                "Sign in to follow your own comments or your working groups",
            ));
        };
        if matches!(
            kind,
            SubscriptionKind::WgQueue | SubscriptionKind::WgCampaigns
        ) {
            let draft_id: i64 = target.parse().map_err(|_| unknown())?;
            if crate::services::working_groups::is_member(conn, draft_id, user.id)?.is_none() {
                return Err(AppError::Forbidden(
                    "Only members of the draft's working group can follow its queue.".into(),
                ));
            }
        }
    }
    Ok(Request {
        kind,
        target,
        frequency,
    })
}

/// A sentence naming what a subscription follows, for pages and messages.
pub fn describe(
    conn: &mut DbConn,
    i18n: &I18n,
    kind: SubscriptionKind,
    target: &str,
) -> Result<String, AppError> {
    let title_of = |conn: &mut DbConn, id: &str| -> Result<String, AppError> {
        let title: Option<String> = match id.parse::<i64>() {
            Ok(id) => drafts::table
                .find(id)
                .select(drafts::title)
                .first(conn)
                .optional()?,
            Err(_) => None,
        };
        Ok(title.unwrap_or_else(|| i18n.t("follow-removed-draft")))
    };
    Ok(match kind {
        SubscriptionKind::AllDrafts => i18n.t("follow-all-drafts"),
        SubscriptionKind::Authority => i18n.ts("follow-authority", "authority", target),
        SubscriptionKind::Kind => {
            i18n.ts("follow-kind", "kind", &i18n.t(&format!("kind-{target}")))
        }
        SubscriptionKind::Draft => i18n.ts("follow-draft", "title", &title_of(conn, target)?),
        SubscriptionKind::Provision => {
            let (title, name) = match split_provision_target(target) {
                Some((id, key)) => {
                    let title = title_of(conn, &id.to_string())?;
                    let name = match provision(conn, id, key)? {
                        Some(p) => crate::templates::short_name(i18n, &p),
                        None => key.to_string(),
                    };
                    (title, name)
                }
                None => (i18n.t("follow-removed-draft"), target.to_string()),
            };
            i18n.t_strs(
                "follow-provision",
                &[("provision", &name), ("title", &title)],
            )
        }
        SubscriptionKind::MyReplies => i18n.t("follow-my-replies"),
        SubscriptionKind::MyDispositions => i18n.t("follow-my-dispositions"),
        SubscriptionKind::WgQueue => i18n.ts("follow-wg-queue", "title", &title_of(conn, target)?),
        SubscriptionKind::WgCampaigns => {
            i18n.ts("follow-wg-campaigns", "title", &title_of(conn, target)?)
        }
    })
}

/// A subscription as the preferences pages list it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub row: SubscriptionRow,
    pub kind: SubscriptionKind,
    pub frequency: Frequency,
    pub description: String,
    pub confirmed: bool,
}

pub fn list(conn: &mut DbConn, i18n: &I18n, subscriber_id: i64) -> Result<Vec<Listed>, AppError> {
    let rows: Vec<SubscriptionRow> = subscriptions::table
        .filter(subscriptions::subscriber_id.eq(subscriber_id))
        .order(subscriptions::id)
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .filter_map(|row| {
            let kind = SubscriptionKind::parse(&row.kind).ok()?;
            let frequency = Frequency::parse(&row.frequency).unwrap_or(Frequency::Immediate);
            Some((row, kind, frequency))
        })
        .map(|(row, kind, frequency)| {
            Ok(Listed {
                description: describe(conn, i18n, kind, &row.target)?,
                confirmed: row.confirmed_at.is_some(),
                row,
                kind,
                frequency,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Subscribers

fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<SubscriberRow>> {
    subscribers::table
        .filter(subscribers::email.eq(email))
        .select(SubscriberRow::as_select())
        .first(conn)
        .optional()
}

fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<SubscriberRow>> {
    subscribers::table
        .find(id)
        .select(SubscriberRow::as_select())
        .first(conn)
        .optional()
}

/// Keeps the stored hash in step with the token the links carry.
fn store_manage_hash(conn: &mut DbConn, site: &SiteLinks, id: i64) -> QueryResult<()> {
    let hash = crate::auth::token_hash(&manage_token(site, id));
    diesel::update(
        subscribers::table
            .find(id)
            .filter(subscribers::manage_token_hash.ne(&hash)),
    )
    .set(subscribers::manage_token_hash.eq(&hash))
    .execute(conn)?;
    Ok(())
}

/// The subscriber for `email`, created when there is none (then unconfirmed, or confirmed
/// with `confirmed`).
fn ensure_subscriber(
    conn: &mut DbConn,
    site: &SiteLinks,
    email: &str,
    user_id: Option<i64>,
    confirmed: Option<NaiveDateTime>,
) -> Result<SubscriberRow, AppError> {
    let now = time::now();
    let placeholder = format!("pending:{}", uuid::Uuid::new_v4().simple());
    if let Some(id) =
        dialect::insert_subscriber_if_absent(conn, email, user_id, confirmed, &placeholder, now)?
    {
        store_manage_hash(conn, site, id)?;
    }
    let row = find_by_email(conn, email)?.ok_or(AppError::NotFound)?;
    store_manage_hash(conn, site, row.id)?;
    Ok(row)
}

/// The subscriber of an account holder: linked by account, or by address (then linked and,
/// the address being verified, confirmed), or created confirmed.
fn account_subscriber(
    conn: &mut DbConn,
    site: &SiteLinks,
    user: &UserRow,
) -> Result<SubscriberRow, AppError> {
    let now = time::now();
    let email = user.email.to_lowercase();
    let linked: Option<SubscriberRow> = subscribers::table
        .filter(subscribers::user_id.eq(user.id))
        .select(SubscriberRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(s) = linked {
        // The account's address changed since: follow it, unless another subscriber has it.
        if s.email != email && find_by_email(conn, &email)?.is_none() {
            diesel::update(subscribers::table.find(s.id))
                .set(subscribers::email.eq(&email))
                .execute(conn)?;
        }
        diesel::update(
            subscribers::table
                .find(s.id)
                .filter(subscribers::confirmed_at.is_null()),
        )
        .set(subscribers::confirmed_at.eq(now))
        .execute(conn)?;
        store_manage_hash(conn, site, s.id)?;
        return find(conn, s.id)?.ok_or(AppError::NotFound);
    }
    let s = ensure_subscriber(conn, site, &email, Some(user.id), Some(now))?;
    diesel::update(subscribers::table.find(s.id))
        .set((
            subscribers::user_id.eq(user.id),
            subscribers::confirmed_at.eq(s.confirmed_at.unwrap_or(now)),
        ))
        .execute(conn)?;
    find(conn, s.id)?.ok_or(AppError::NotFound)
}

/// The subscriber of a signed-in account, if it has one.
pub fn of_user(conn: &mut DbConn, user: &UserRow) -> Result<Option<SubscriberRow>, AppError> {
    Ok(subscribers::table
        .filter(subscribers::user_id.eq(user.id))
        .select(SubscriberRow::as_select())
        .first(conn)
        .optional()?)
}

/// The subscriber a preferences token belongs to.
pub fn by_manage_token(conn: &mut DbConn, token: &str) -> Result<SubscriberRow, AppError> {
    let token = token.trim();
    if token.is_empty() || token.len() > 100 {
        return Err(AppError::NotFound);
    }
    subscribers::table
        .filter(subscribers::manage_token_hash.eq(crate::auth::token_hash(token)))
        .select(SubscriberRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

// ---------------------------------------------------------------------------------------
// Subscribing

/// An account holder with a verified address subscribes: active at once. Asking again
/// changes the frequency. Returns whether the subscription is new.
pub fn subscribe_account(
    conn: &mut DbConn,
    site: &SiteLinks,
    user: &UserRow,
    request: &Request,
) -> Result<bool, AppError> {
    let now = time::now();
    if user.email_verified_at.is_none() || !user.is_active(now) {
        return Err(AppError::Forbidden(
            "Confirm your email address before subscribing with your account.".into(),
        ));
    }
    write_transaction(conn, |conn| {
        let s = account_subscriber(conn, site, user)?;
        let created = dialect::insert_subscription_if_absent(
            conn,
            s.id,
            request.kind.as_str(),
            &request.target,
            request.frequency.as_str(),
            Some(now),
            now,
        )?;
        if created.is_none() {
            let row: SubscriptionRow = subscriptions::table
                .filter(subscriptions::subscriber_id.eq(s.id))
                .filter(subscriptions::kind.eq(request.kind.as_str()))
                .filter(subscriptions::target.eq(&request.target))
                .select(SubscriptionRow::as_select())
                .first(conn)?;
            set_frequency_of(conn, &s, row.id, request.frequency)?;
            diesel::update(
                subscriptions::table
                    .find(row.id)
                    .filter(subscriptions::confirmed_at.is_null()),
            )
            .set(subscriptions::confirmed_at.eq(now))
            .execute(conn)?;
        }
        Ok(created.is_some())
    })
}

/// Someone typed `email` into a subscribe form. Whatever the address's state, the caller
/// shows the same answer; the address's owner gets a message: a confirmation request for a
/// new (or still unconfirmed) subscription, or a note that it is already active.
pub fn subscribe_address(
    conn: &mut DbConn,
    site: &SiteLinks,
    email: &Email,
    request: &Request,
) -> Result<(), AppError> {
    if request.kind.needs_account() {
        return Err(AppError::field(
            "kind",
            "Sign in to follow your own comments or your working groups",
        ));
    }
    let i18n = I18n::default();
    write_transaction(conn, |conn| {
        let now = time::now();
        let s = ensure_subscriber(conn, site, email.as_str(), None, None)?;
        let created = dialect::insert_subscription_if_absent(
            conn,
            s.id,
            request.kind.as_str(),
            &request.target,
            request.frequency.as_str(),
            None,
            now,
        )?;
        let existing: SubscriptionRow = subscriptions::table
            .filter(subscriptions::subscriber_id.eq(s.id))
            .filter(subscriptions::kind.eq(request.kind.as_str()))
            .filter(subscriptions::target.eq(&request.target))
            .select(SubscriptionRow::as_select())
            .first(conn)?;
        let active = created.is_none() && existing.confirmed_at.is_some();
        let message = if active {
            already_subscribed_mail(conn, site, &i18n, &s, &existing)?
        } else {
            if created.is_none() {
                // Asked again: the request starts its confirmation period again.
                diesel::update(subscriptions::table.find(existing.id))
                    .set((
                        subscriptions::created_at.eq(now),
                        subscriptions::frequency.eq(request.frequency.as_str()),
                    ))
                    .execute(conn)?;
            }
            confirmation_mail(conn, site, &i18n, &s)?
        };
        enqueue_email(conn, &message)?;
        Ok(())
    })
}

fn pending_rows(
    conn: &mut DbConn,
    subscriber_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Vec<SubscriptionRow>> {
    subscriptions::table
        .filter(subscriptions::subscriber_id.eq(subscriber_id))
        .filter(subscriptions::confirmed_at.is_null())
        .filter(subscriptions::created_at.gt(now - PENDING_LIFETIME))
        .order(subscriptions::id)
        .select(SubscriptionRow::as_select())
        .load(conn)
}

fn descriptions(
    conn: &mut DbConn,
    i18n: &I18n,
    rows: &[SubscriptionRow],
) -> Result<Vec<String>, AppError> {
    rows.iter()
        .filter_map(|r| Some((SubscriptionKind::parse(&r.kind).ok()?, r)))
        .map(|(k, r)| describe(conn, i18n, k, &r.target))
        .collect()
}

fn confirmation_mail(
    conn: &mut DbConn,
    site: &SiteLinks,
    i18n: &I18n,
    s: &SubscriberRow,
) -> Result<EmailMessage, AppError> {
    let pending = pending_rows(conn, s.id, time::now())?;
    let list = descriptions(conn, i18n, &pending)?;
    let token = unsubscribe_token(site, &UnsubscribeScope::Pending(s.id));
    Ok(notifications::compose(MessageParts {
        to: s.email.clone(),
        subject: i18n.t("mail-confirm-subject"),
        intro: vec![i18n.t("mail-confirm-intro")],
        list,
        groups: Vec::new(),
        after: vec![i18n.t("mail-confirm-ignore")],
        action: Some((i18n.t("mail-confirm-action"), confirm_url(site, s.id))),
        reason: i18n.t("mail-confirm-reason"),
        manage_url: manage_url(site, s.id),
        unsubscribe_url: unsubscribe_url(site, &token),
        headers: unsubscribe_headers(site, &token),
    }))
}

fn already_subscribed_mail(
    conn: &mut DbConn,
    site: &SiteLinks,
    i18n: &I18n,
    s: &SubscriberRow,
    existing: &SubscriptionRow,
) -> Result<EmailMessage, AppError> {
    let list = descriptions(conn, i18n, std::slice::from_ref(existing))?;
    let token = unsubscribe_token(site, &UnsubscribeScope::Subscriptions(vec![existing.id]));
    Ok(notifications::compose(MessageParts {
        to: s.email.clone(),
        subject: i18n.t("mail-already-subject"),
        intro: vec![i18n.t("mail-already-intro")],
        list,
        groups: Vec::new(),
        after: vec![i18n.t("mail-already-ignore")],
        action: Some((i18n.t("mail-manage-action"), manage_url(site, s.id))),
        reason: i18n.t("mail-already-reason"),
        manage_url: manage_url(site, s.id),
        unsubscribe_url: unsubscribe_url(site, &token),
        headers: unsubscribe_headers(site, &token),
    }))
}

/// What the confirmation page lists: the subscriber and the descriptions of its
/// subscriptions still waiting for confirmation.
pub fn pending(
    conn: &mut DbConn,
    i18n: &I18n,
    token: &str,
) -> Result<(SubscriberRow, Vec<String>), AppError> {
    let s = by_manage_token(conn, token)?;
    let rows = pending_rows(conn, s.id, time::now())?;
    let list = descriptions(conn, i18n, &rows)?;
    Ok((s, list))
}

/// The confirmation button: confirms the address and every subscription waiting for it.
/// Returns how many subscriptions became active.
pub fn confirm(conn: &mut DbConn, token: &str) -> Result<usize, AppError> {
    write_transaction(conn, |conn| {
        let s = by_manage_token(conn, token)?;
        let now = time::now();
        diesel::update(
            subscribers::table
                .find(s.id)
                .filter(subscribers::confirmed_at.is_null()),
        )
        .set(subscribers::confirmed_at.eq(now))
        .execute(conn)?;
        let n = diesel::update(
            subscriptions::table
                .filter(subscriptions::subscriber_id.eq(s.id))
                .filter(subscriptions::confirmed_at.is_null())
                .filter(subscriptions::created_at.gt(now - PENDING_LIFETIME)),
        )
        .set(subscriptions::confirmed_at.eq(now))
        .execute(conn)?;
        Ok(n)
    })
}

// ---------------------------------------------------------------------------------------
// Managing and leaving

fn owned(conn: &mut DbConn, subscriber_id: i64, id: i64) -> Result<SubscriptionRow, AppError> {
    subscriptions::table
        .find(id)
        .filter(subscriptions::subscriber_id.eq(subscriber_id))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::from(FieldError::new(
                "subscription_id",
                "This subscription no longer exists",
            ))
        })
}

fn set_frequency_of(
    conn: &mut DbConn,
    s: &SubscriberRow,
    subscription_id: i64,
    frequency: Frequency,
) -> Result<(), AppError> {
    let row = owned(conn, s.id, subscription_id)?;
    if row.frequency == frequency.as_str() {
        return Ok(());
    }
    diesel::update(subscriptions::table.find(row.id))
        .set(subscriptions::frequency.eq(frequency.as_str()))
        .execute(conn)?;
    if frequency == Frequency::Immediate {
        // Events that were waiting for a digest go out now instead.
        let waiting: Vec<i64> = notification_events::table
            .filter(notification_events::subscription_id.eq(row.id))
            .filter(notification_events::digest_sent_at.is_null())
            .select(notification_events::id)
            .load(conn)?;
        notifications::enqueue_dispatch(conn, &waiting)?;
    }
    Ok(())
}

/// Changes how often one subscription of `subscriber_id` is delivered.
pub fn set_frequency(
    conn: &mut DbConn,
    subscriber_id: i64,
    subscription_id: i64,
    frequency: Frequency,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let s = find(conn, subscriber_id)?.ok_or(AppError::NotFound)?;
        set_frequency_of(conn, &s, subscription_id, frequency)
    })
}

/// Removes one subscription of `subscriber_id` (its waiting events go with it).
pub fn remove(conn: &mut DbConn, subscriber_id: i64, subscription_id: i64) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let row = owned(conn, subscriber_id, subscription_id)?;
        diesel::delete(subscriptions::table.find(row.id)).execute(conn)?;
        Ok(())
    })
}

/// Removes every subscription of `subscriber_id`.
pub fn remove_all(conn: &mut DbConn, subscriber_id: i64) -> Result<usize, AppError> {
    Ok(
        diesel::delete(subscriptions::table.filter(subscriptions::subscriber_id.eq(subscriber_id)))
            .execute(conn)?,
    )
}

fn scope_ids(conn: &mut DbConn, scope: &UnsubscribeScope) -> Result<Vec<i64>, AppError> {
    Ok(match scope {
        UnsubscribeScope::Subscriber(s) => subscriptions::table
            .filter(subscriptions::subscriber_id.eq(s))
            .select(subscriptions::id)
            .load(conn)?,
        UnsubscribeScope::Pending(s) => subscriptions::table
            .filter(subscriptions::subscriber_id.eq(s))
            .filter(subscriptions::confirmed_at.is_null())
            .select(subscriptions::id)
            .load(conn)?,
        UnsubscribeScope::Digest(run) => notification_events::table
            .filter(notification_events::digest_run_id.eq(run))
            .select(notification_events::subscription_id)
            .distinct()
            .load(conn)?,
        UnsubscribeScope::Subscriptions(ids) => subscriptions::table
            .filter(subscriptions::id.eq_any(ids))
            .select(subscriptions::id)
            .load(conn)?,
    })
}

/// What an unsubscribe link would remove (descriptions), for its confirmation page. An
/// invalid or tampered token is not found.
pub fn unsubscribe_preview(
    conn: &mut DbConn,
    site: &SiteLinks,
    i18n: &I18n,
    token: &str,
) -> Result<Vec<String>, AppError> {
    let scope = parse_unsubscribe_token(site, token).ok_or(AppError::NotFound)?;
    let ids = scope_ids(conn, &scope)?;
    let rows: Vec<SubscriptionRow> = subscriptions::table
        .filter(subscriptions::id.eq_any(&ids))
        .order(subscriptions::id)
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    descriptions(conn, i18n, &rows)
}

/// One-click unsubscribe: removes what the signed token names. Repeating it is harmless.
/// Returns how many subscriptions were removed.
pub fn unsubscribe(conn: &mut DbConn, site: &SiteLinks, token: &str) -> Result<usize, AppError> {
    let scope = parse_unsubscribe_token(site, token).ok_or(AppError::NotFound)?;
    write_transaction(conn, |conn| {
        let ids = scope_ids(conn, &scope)?;
        Ok(
            diesel::delete(subscriptions::table.filter(subscriptions::id.eq_any(&ids)))
                .execute(conn)?,
        )
    })
}

/// Removes unconfirmed subscriptions past their confirmation period, and addresses that
/// never confirmed and follow nothing any more. Run periodically.
pub fn purge_stale(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, AppError> {
    write_transaction(conn, |conn| {
        let n = diesel::delete(
            subscriptions::table
                .filter(subscriptions::confirmed_at.is_null())
                .filter(subscriptions::created_at.le(now - PENDING_LIFETIME)),
        )
        .execute(conn)?;
        let followed = subscriptions::table.select(subscriptions::subscriber_id);
        diesel::delete(
            subscribers::table
                .filter(subscribers::confirmed_at.is_null())
                .filter(subscribers::created_at.le(now - PENDING_LIFETIME))
                .filter(subscribers::id.ne_all(followed)),
        )
        .execute(conn)?;
        Ok(n)
    })
}

/// An account's address changed (confirmed from the new mailbox): its subscriptions follow,
/// unless the new address already has subscriptions of its own (then they stay apart).
pub fn follow_account_email(conn: &mut DbConn, user_id: i64, email: &str) -> QueryResult<()> {
    let email = email.to_lowercase();
    if find_by_email(conn, &email)?.is_none() {
        diesel::update(subscribers::table.filter(subscribers::user_id.eq(user_id)))
            .set(subscribers::email.eq(&email))
            .execute(conn)?;
    }
    Ok(())
}

/// A deleted account's subscriptions go with it (its address is personal data).
pub fn forget_user(conn: &mut DbConn, user_id: i64, email: &str) -> QueryResult<usize> {
    diesel::delete(
        subscribers::table.filter(
            subscribers::user_id
                .eq(user_id)
                .or(subscribers::email.eq(email.to_lowercase())),
        ),
    )
    .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> SiteLinks {
        SiteLinks::new("https://talqy.example", "talqy.example", b"test secret")
    }

    #[test]
    fn unsubscribe_tokens_round_trip_and_resist_tampering() {
        let site = site();
        for scope in [
            UnsubscribeScope::Subscriber(1),
            UnsubscribeScope::Pending(77),
            UnsubscribeScope::Digest(123_456_789),
            UnsubscribeScope::Subscriptions(vec![5, 40_000, 1_234_567]),
        ] {
            let token = unsubscribe_token(&site, &scope);
            assert!(
                token
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{token}"
            );
            assert_eq!(parse_unsubscribe_token(&site, &token), Some(scope.clone()));
            let tampered = token.replacen(&token[1..2], "z", 1);
            if tampered != token {
                assert_eq!(parse_unsubscribe_token(&site, &tampered), None);
            }
        }
        let three = unsubscribe_token(
            &site,
            &UnsubscribeScope::Subscriptions(vec![1_234_567, 1_234_568, 1_234_569]),
        );
        assert!(format!("unsubscribe+{three}").len() <= 64, "{three}");
        let other = SiteLinks::new("https://talqy.example", "talqy.example", b"other");
        let token = unsubscribe_token(&site, &UnsubscribeScope::Subscriber(1));
        assert_eq!(parse_unsubscribe_token(&other, &token), None);
        assert_eq!(parse_unsubscribe_token(&site, "s1"), None);
        assert_eq!(parse_unsubscribe_token(&site, ""), None);
    }

    #[test]
    fn base36_round_trips() {
        for n in [1, 35, 36, 1_000_000, i64::MAX / 1_000_000] {
            assert_eq!(parse_base36(&base36(n)), Some(n));
        }
        assert_eq!(parse_base36("0"), None);
        assert_eq!(parse_base36("-1"), None);
    }
}
