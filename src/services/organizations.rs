//! Organizations and their representatives. A participant with a confirmed email address
//! asks to represent an organization (an existing one, or a new one they describe); an
//! administrator verifies, declines or later revokes the representation. Only verified
//! representations count: an organization becomes public once it has one, and a participant
//! may act for it only while theirs is verified. Every decision is audited and mailed to the
//! requester in the same transaction.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use crate::config::Config;
use crate::db::DbConn;
use crate::db::dialect::write_transaction;
use crate::db::models::UserRow;
use crate::db::schema::{organization_representatives as reps, organizations, users};
use crate::domain::organization::{
    DecisionReason, OrgName, OrganizationKind, Position, RegistrationNumber, RepresentationStatus,
    Website,
};
use crate::domain::time;
use crate::email::{EmailMessage, enqueue_email};
use crate::error::{AppError, FieldError};
use crate::rate_limit::{self, Limit};
use crate::services::{Page, audit, mail};

/// Requests one account may send in an hour.
pub const REQUESTS_PER_ACCOUNT: Limit = Limit::per_minutes("org-request-account", 10, 60);
/// Requests one account may have waiting at once.
pub const MAX_PENDING_PER_ACCOUNT: i64 = 5;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organizations)]
struct OrganizationRow {
    id: i64,
    name: String,
    kind: String,
    registration_number: String,
    website: String,
    created_at: NaiveDateTime,
}

/// An organization as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub kind: OrganizationKind,
    pub registration_number: String,
    /// `None` when the organization gave no website.
    pub website: Option<String>,
    pub created_at: NaiveDateTime,
}

impl TryFrom<OrganizationRow> for Organization {
    type Error = AppError;
    fn try_from(r: OrganizationRow) -> Result<Self, AppError> {
        let kind = OrganizationKind::parse(&r.kind).map_err(|_| {
            AppError::Internal(format!("organization {} has unknown kind {}", r.id, r.kind))
        })?;
        Ok(Organization {
            id: r.id,
            name: r.name,
            kind,
            registration_number: r.registration_number,
            website: Some(r.website).filter(|w| !w.is_empty()),
            created_at: r.created_at,
        })
    }
}

/// One person's request to represent one organization, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reps)]
pub struct RepresentativeRow {
    pub id: i64,
    pub organization_id: i64,
    pub user_id: i64,
    pub status: String,
    pub position: String,
    pub decision_reason: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl RepresentativeRow {
    pub fn status(&self) -> RepresentationStatus {
        // Written only by this module; an unknown value is treated as not verified.
        RepresentationStatus::parse(&self.status).unwrap_or(RepresentationStatus::Pending)
    }
}

fn org_rows_to_orgs(rows: Vec<OrganizationRow>) -> Result<Vec<Organization>, AppError> {
    rows.into_iter().map(Organization::try_from).collect()
}

fn load_orgs(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<Organization>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<OrganizationRow> = organizations::table
        .filter(organizations::id.eq_any(ids.to_vec()))
        .select(OrganizationRow::as_select())
        .load(conn)?;
    org_rows_to_orgs(rows)
}

fn find_org(conn: &mut DbConn, id: i64) -> Result<Option<Organization>, AppError> {
    let row: Option<OrganizationRow> = organizations::table
        .find(id)
        .select(OrganizationRow::as_select())
        .first(conn)
        .optional()?;
    row.map(Organization::try_from).transpose()
}

/// Verified representatives (of accounts that still exist) per organization; only
/// organizations with at least one appear. `only` narrows to some organizations.
fn verified_counts(conn: &mut DbConn, only: Option<&[i64]>) -> Result<HashMap<i64, i64>, AppError> {
    let active_users = users::table
        .filter(users::deleted_at.is_null())
        .select(users::id);
    let mut query = reps::table
        .filter(reps::status.eq(RepresentationStatus::Verified.as_str()))
        .filter(reps::user_id.eq_any(active_users))
        .select(reps::organization_id)
        .into_boxed();
    if let Some(ids) = only {
        query = query.filter(reps::organization_id.eq_any(ids.to_vec()));
    }
    let org_ids: Vec<i64> = query.load(conn)?;
    let mut counts = HashMap::new();
    for id in org_ids {
        *counts.entry(id).or_insert(0) += 1;
    }
    Ok(counts)
}

/// An organization as the public sees it: only with its number of verified representatives,
/// never who they are.
#[derive(Debug, Clone)]
pub struct PublicOrganization {
    pub organization: Organization,
    pub verified_representatives: i64,
}

/// Organizations with at least one verified representative whose name (or registration
/// number) contains `query` (case-insensitive; empty for all), by name.
///
/// Filtered and sorted here rather than in SQL so that case folding and order are the same
/// for Cyrillic names on SQLite and PostgreSQL; the list is one row per organization that
/// has been verified, a few thousand at most.
pub fn public_list(
    conn: &mut DbConn,
    query: &str,
    page: i64,
    per_page: i64,
) -> Result<Page<PublicOrganization>, AppError> {
    let counts = verified_counts(conn, None)?;
    let ids: Vec<i64> = counts.keys().copied().collect();
    let needle = query.trim().to_lowercase();
    let mut items: Vec<PublicOrganization> = load_orgs(conn, &ids)?
        .into_iter()
        .filter(|o| {
            needle.is_empty()
                || o.name.to_lowercase().contains(&needle)
                || o.registration_number.to_lowercase().contains(&needle)
        })
        .map(|o| PublicOrganization {
            verified_representatives: counts.get(&o.id).copied().unwrap_or(0),
            organization: o,
        })
        .collect();
    items.sort_by(|a, b| {
        a.organization
            .name
            .to_lowercase()
            .cmp(&b.organization.name.to_lowercase())
            .then(a.organization.id.cmp(&b.organization.id))
    });
    let total = items.len() as i64;
    let page = page.max(1);
    let per_page = per_page.max(1);
    let items = items
        .into_iter()
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .collect();
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}

/// The public view of one organization; `NotFound` unless it has a verified representative,
/// so that unverified claims are never published.
pub fn public_organization(conn: &mut DbConn, id: i64) -> Result<PublicOrganization, AppError> {
    let counts = verified_counts(conn, Some(&[id]))?;
    let count = counts.get(&id).copied().unwrap_or(0);
    if count == 0 {
        return Err(AppError::NotFound);
    }
    let organization = find_org(conn, id)?.ok_or(AppError::NotFound)?;
    Ok(PublicOrganization {
        organization,
        verified_representatives: count,
    })
}

/// The organizations `user_id` may act for now: those where their representation is
/// verified. By name.
pub fn verified_organizations_of(
    conn: &mut DbConn,
    user_id: i64,
) -> Result<Vec<Organization>, AppError> {
    let ids: Vec<i64> = reps::table
        .filter(reps::user_id.eq(user_id))
        .filter(reps::status.eq(RepresentationStatus::Verified.as_str()))
        .select(reps::organization_id)
        .load(conn)?;
    let mut orgs = load_orgs(conn, &ids)?;
    orgs.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.id.cmp(&b.id))
    });
    Ok(orgs)
}

/// Whether `user_id` may act for `org_id` now.
pub fn is_verified_representative(
    conn: &mut DbConn,
    user_id: i64,
    org_id: i64,
) -> Result<bool, AppError> {
    let n: i64 = reps::table
        .filter(reps::user_id.eq(user_id))
        .filter(reps::organization_id.eq(org_id))
        .filter(reps::status.eq(RepresentationStatus::Verified.as_str()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// One of a participant's own representations, with the organization.
#[derive(Debug, Clone)]
pub struct Representation {
    pub request: RepresentativeRow,
    pub organization: Organization,
    /// Whether the organization has a public page.
    pub is_public: bool,
}

/// Every request `user_id` has made, newest first.
pub fn representations_of(
    conn: &mut DbConn,
    user_id: i64,
) -> Result<Vec<Representation>, AppError> {
    let rows: Vec<RepresentativeRow> = reps::table
        .filter(reps::user_id.eq(user_id))
        .order((reps::created_at.desc(), reps::id.desc()))
        .select(RepresentativeRow::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.organization_id).collect();
    let public = verified_counts(conn, Some(&ids))?;
    let orgs: HashMap<i64, Organization> = load_orgs(conn, &ids)?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let organization = orgs.get(&r.organization_id)?.clone();
            Some(Representation {
                is_public: public.contains_key(&r.organization_id),
                organization,
                request: r,
            })
        })
        .collect())
}

/// What the participant typed into the request form. `organization_id` is the id of an
/// existing (public) organization, or empty / `new` for a new one described by the other
/// fields.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RequestInput {
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub registration_number: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub position: String,
}

/// The organization a request is about.
#[derive(Debug, Clone)]
pub enum OrgChoice {
    Existing(i64),
    New {
        name: OrgName,
        kind: OrganizationKind,
        registration_number: RegistrationNumber,
        website: Option<Website>,
    },
}

#[derive(Debug, Clone)]
pub struct RepresentationRequest {
    pub organization: OrgChoice,
    pub position: Position,
}

pub const NEW_ORGANIZATION: &str = "new";

impl RequestInput {
    pub fn wants_new_organization(&self) -> bool {
        let v = self.organization_id.trim();
        v.is_empty() || v == NEW_ORGANIZATION
    }

    pub fn validate(&self) -> Result<RepresentationRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let position = Position::parse(&self.position).map_err(|e| errors.push(e));
        let organization = if self.wants_new_organization() {
            let name = OrgName::parse(&self.name).map_err(|e| errors.push(e));
            let kind = OrganizationKind::parse(&self.kind).map_err(|e| errors.push(e));
            let number =
                RegistrationNumber::parse(&self.registration_number).map_err(|e| errors.push(e));
            let website = Website::parse_optional(&self.website).map_err(|e| errors.push(e));
            match (name, kind, number, website) {
                (Ok(name), Ok(kind), Ok(registration_number), Ok(website)) => Ok(OrgChoice::New {
                    name,
                    kind,
                    registration_number,
                    website,
                }),
                _ => Err(()),
            }
        } else {
            match self.organization_id.trim().parse::<i64>() {
                Ok(id) if id > 0 => Ok(OrgChoice::Existing(id)),
                _ => {
                    errors.push(choose_from_list());
                    Err(())
                }
            }
        };
        // Errors in the order of the form: organization first, then the position.
        errors.sort_by_key(|e| e.field == "position");
        match (organization, position) {
            (Ok(organization), Ok(position)) if errors.is_empty() => Ok(RepresentationRequest {
                organization,
                position,
            }),
            _ => Err(errors),
        }
    }
}

fn choose_from_list() -> FieldError {
    FieldError::new(
        "organization_id",
        "Choose an organization from the list, or a new organization",
    )
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOutcome {
    pub request_id: i64,
    pub organization_id: i64,
    pub organization_name: String,
    /// A new organization's (kind, registration number) was already known: the request was
    /// attached to that organization instead of creating a second one.
    pub attached_to_existing: bool,
    /// A declined request was sent again.
    pub renewed: bool,
}

/// A transaction attempt: a unique-index race (two people creating the same organization at
/// once on PostgreSQL) is retried; anything else fails.
enum Attempt {
    Retry,
    Fail(AppError),
}

impl From<diesel::result::Error> for Attempt {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => Attempt::Retry,
            other => Attempt::Fail(other.into()),
        }
    }
}

impl From<AppError> for Attempt {
    fn from(e: AppError) -> Self {
        Attempt::Fail(e)
    }
}

fn request_subject(id: i64) -> String {
    format!("organization_request:{id}")
}

/// A participant asks to represent an organization. Only accounts with a confirmed email
/// address may ask. One request per (organization, person): a pending, verified or revoked
/// one is not sent twice; a declined one may be sent again and waits anew.
pub fn request(
    conn: &mut DbConn,
    user: &UserRow,
    req: &RepresentationRequest,
) -> Result<RequestOutcome, AppError> {
    if user.email_verified_at.is_none() {
        return Err(AppError::Forbidden(
            "Confirm your email address before asking to represent an organization: follow the link we sent you when you registered."
                .into(),
        ));
    }
    if !user.is_active(time::now()) {
        return Err(AppError::Forbidden(
            "This account cannot represent organizations.".into(),
        ));
    }
    for _ in 0..3 {
        match write_transaction(conn, |conn| request_once(conn, user, req)) {
            Ok(outcome) => return Ok(outcome),
            Err(Attempt::Fail(e)) => return Err(e),
            Err(Attempt::Retry) => continue,
        }
    }
    Err(AppError::Unavailable(
        "the request conflicted with another one; try again".into(),
    ))
}

fn request_once(
    conn: &mut DbConn,
    user: &UserRow,
    req: &RepresentationRequest,
) -> Result<RequestOutcome, Attempt> {
    rate_limit::hit(conn, REQUESTS_PER_ACCOUNT, &user.id.to_string())?;
    let now = time::now();
    // The field an error about the organization belongs to.
    let (org_field, org, attached, created) = match &req.organization {
        OrgChoice::Existing(id) => {
            // Only public organizations can be picked from the list, and those the person
            // has asked for before (to ask again after a decline).
            let asked_before: i64 = reps::table
                .filter(reps::organization_id.eq(*id))
                .filter(reps::user_id.eq(user.id))
                .count()
                .get_result(conn)?;
            let visible = asked_before > 0 || !verified_counts(conn, Some(&[*id]))?.is_empty();
            let org = match find_org(conn, *id)? {
                Some(o) if visible => o,
                _ => return Err(AppError::from(choose_from_list()).into()),
            };
            ("organization_id", org, false, false)
        }
        OrgChoice::New {
            name,
            kind,
            registration_number,
            website,
        } => {
            let existing: Option<OrganizationRow> = organizations::table
                .filter(organizations::kind.eq(kind.as_str()))
                .filter(organizations::registration_number.eq(registration_number.as_str()))
                .select(OrganizationRow::as_select())
                .first(conn)
                .optional()?;
            match existing {
                Some(row) => ("registration_number", row.try_into()?, true, false),
                None => {
                    let id: i64 = diesel::insert_into(organizations::table)
                        .values((
                            organizations::name.eq(name.as_str()),
                            organizations::kind.eq(kind.as_str()),
                            organizations::registration_number.eq(registration_number.as_str()),
                            organizations::website.eq(website.as_ref().map_or("", |w| w.as_str())),
                            organizations::created_at.eq(now),
                        ))
                        .returning(organizations::id)
                        .get_result(conn)?;
                    audit::record(
                        conn,
                        Some(user.id),
                        "organization.create",
                        &format!("organization:{id}"),
                        &format!(
                            "{} ({}, {})",
                            name.as_str(),
                            kind.as_str(),
                            registration_number.as_str()
                        ),
                    )?;
                    let org = find_org(conn, id)?.ok_or(AppError::NotFound)?;
                    ("registration_number", org, false, true)
                }
            }
        }
    };
    let refuse = |msg: String| -> Attempt { AppError::field(org_field, msg).into() };

    let existing: Option<RepresentativeRow> = reps::table
        .filter(reps::organization_id.eq(org.id))
        .filter(reps::user_id.eq(user.id))
        .select(RepresentativeRow::as_select())
        .first(conn)
        .optional()?;
    let renewed = match existing.as_ref().map(|r| (r.id, r.status())) {
        Some((_, RepresentationStatus::Pending)) => {
            return Err(refuse(format!(
                "You have already asked to represent {}. An administrator will decide; you will get an email.",
                org.name
            )));
        }
        Some((_, RepresentationStatus::Verified)) => {
            return Err(refuse(format!("You already represent {}.", org.name)));
        }
        Some((_, RepresentationStatus::Revoked)) => {
            return Err(refuse(format!(
                "Your representation of {} was revoked. Write to the administrators if your role has changed.",
                org.name
            )));
        }
        Some((_, RepresentationStatus::Declined)) => true,
        None => false,
    };
    let pending: i64 = reps::table
        .filter(reps::user_id.eq(user.id))
        .filter(reps::status.eq(RepresentationStatus::Pending.as_str()))
        .count()
        .get_result(conn)?;
    if pending >= MAX_PENDING_PER_ACCOUNT {
        return Err(refuse(format!(
            "You already have {pending} requests waiting for a decision. Wait for them before asking again."
        )));
    }
    let request_id = match existing {
        Some(row) => {
            diesel::update(reps::table.find(row.id))
                .set((
                    reps::status.eq(RepresentationStatus::Pending.as_str()),
                    reps::position.eq(req.position.as_str()),
                    reps::decision_reason.eq(None::<String>),
                    reps::decided_by.eq(None::<i64>),
                    reps::decided_at.eq(None::<NaiveDateTime>),
                    reps::created_at.eq(now),
                ))
                .execute(conn)?;
            row.id
        }
        None => diesel::insert_into(reps::table)
            .values((
                reps::organization_id.eq(org.id),
                reps::user_id.eq(user.id),
                reps::status.eq(RepresentationStatus::Pending.as_str()),
                reps::position.eq(req.position.as_str()),
                reps::created_at.eq(now),
            ))
            .returning(reps::id)
            .get_result(conn)?,
    };
    let mut detail = format!(
        "{} to represent organization:{} as {}",
        if renewed { "asked again" } else { "asked" },
        org.id,
        req.position.as_str()
    );
    if attached && let OrgChoice::New { name, .. } = &req.organization {
        detail.push_str(&format!(
            "; attached to the existing organization with the same registration number (name given: {})",
            name.as_str()
        ));
    }
    if created {
        detail.push_str("; organization created with this request");
    }
    audit::record(
        conn,
        Some(user.id),
        "organization.request",
        &request_subject(request_id),
        &detail,
    )?;
    Ok(RequestOutcome {
        request_id,
        organization_id: org.id,
        organization_name: org.name,
        attached_to_existing: attached,
        renewed,
    })
}

/// What an administrator decides about a request.
#[derive(Debug, Clone)]
pub enum Decision {
    /// The person represents the organization; an optional note goes to them.
    Verify {
        note: Option<DecisionReason>,
    },
    Decline {
        reason: DecisionReason,
    },
    /// Ends a verified representation.
    Revoke {
        reason: DecisionReason,
    },
}

impl Decision {
    fn action(&self) -> &'static str {
        match self {
            Decision::Verify { .. } => "organization.verify",
            Decision::Decline { .. } => "organization.decline",
            Decision::Revoke { .. } => "organization.revoke",
        }
    }
    fn applies_to(&self) -> RepresentationStatus {
        match self {
            Decision::Verify { .. } | Decision::Decline { .. } => RepresentationStatus::Pending,
            Decision::Revoke { .. } => RepresentationStatus::Verified,
        }
    }
    fn results_in(&self) -> RepresentationStatus {
        match self {
            Decision::Verify { .. } => RepresentationStatus::Verified,
            Decision::Decline { .. } => RepresentationStatus::Declined,
            Decision::Revoke { .. } => RepresentationStatus::Revoked,
        }
    }
    fn reason(&self) -> Option<&str> {
        match self {
            Decision::Verify { note } => note.as_ref().map(DecisionReason::as_str),
            Decision::Decline { reason } | Decision::Revoke { reason } => Some(reason.as_str()),
        }
    }
}

/// The admin's decision form: `decision` is `verify`, `decline` or `revoke`; `reason` is
/// required to decline or revoke, `note` is optional when verifying.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DecisionInput {
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub note: String,
}

impl DecisionInput {
    pub fn validate(&self) -> Result<Decision, Vec<FieldError>> {
        match self.decision.trim() {
            "verify" => {
                let note = if self.note.trim().is_empty() {
                    None
                } else {
                    Some(DecisionReason::parse("note", &self.note).map_err(|e| vec![e])?)
                };
                Ok(Decision::Verify { note })
            }
            "decline" => Ok(Decision::Decline {
                reason: DecisionReason::parse("reason", &self.reason).map_err(|e| vec![e])?,
            }),
            "revoke" => Ok(Decision::Revoke {
                reason: DecisionReason::parse("reason", &self.reason).map_err(|e| vec![e])?,
            }),
            _ => Err(vec![FieldError::new(
                "decision",
                "Choose to verify, decline or revoke",
            )]),
        }
    }
}

fn find_request(conn: &mut DbConn, id: i64) -> Result<Option<RepresentativeRow>, AppError> {
    Ok(reps::table
        .find(id)
        .select(RepresentativeRow::as_select())
        .first(conn)
        .optional()?)
}

fn find_user(conn: &mut DbConn, id: i64) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// An administrator decides about request `request_id`. Verify and decline apply to a
/// pending request, revoke to a verified one; a request that has changed meanwhile (another
/// admin was quicker) is refused with what it is now.
pub fn decide(
    conn: &mut DbConn,
    config: &Config,
    admin_id: i64,
    request_id: i64,
    decision: &Decision,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let row = find_request(conn, request_id)?.ok_or(AppError::NotFound)?;
        let now = time::now();
        let changed = diesel::update(
            reps::table
                .find(request_id)
                .filter(reps::status.eq(decision.applies_to().as_str())),
        )
        .set((
            reps::status.eq(decision.results_in().as_str()),
            reps::decision_reason.eq(decision.reason()),
            reps::decided_by.eq(Some(admin_id)),
            reps::decided_at.eq(Some(now)),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(AppError::field(
                "decision",
                format!(
                    "This request is {} now, so it cannot be {}. Reload the page to see it as it is.",
                    row.status().as_str(),
                    match decision {
                        Decision::Verify { .. } => "verified",
                        Decision::Decline { .. } => "declined",
                        Decision::Revoke { .. } => "revoked",
                    }
                ),
            ));
        }
        let org = find_org(conn, row.organization_id)?.ok_or(AppError::NotFound)?;
        let detail = match decision.reason() {
            Some(r) => format!(
                "{} -> {}: {r}",
                decision.applies_to().as_str(),
                decision.results_in().as_str()
            ),
            None => format!(
                "{} -> {}",
                decision.applies_to().as_str(),
                decision.results_in().as_str()
            ),
        };
        audit::record(
            conn,
            Some(admin_id),
            decision.action(),
            &request_subject(request_id),
            &detail,
        )?;
        if let Some(requester) = find_user(conn, row.user_id)?
            && requester.deleted_at.is_none()
        {
            let link = config.public_url("/account/organizations");
            let msg = decision_email(&requester, &org, &row.position, decision, &link);
            enqueue_email(conn, &msg)?;
        }
        Ok(())
    })
}

fn decision_email(
    to: &UserRow,
    org: &Organization,
    position: &str,
    decision: &Decision,
    link: &str,
) -> EmailMessage {
    let greeting = format!("Hello {},", to.display_name);
    let name = &org.name;
    let (subject, mut paragraphs) = match decision {
        Decision::Verify { .. } => (
            format!("You now represent {name} on Talqy"),
            vec![format!(
                "An administrator has verified that you represent {name} ({position}). You can now comment on drafts on behalf of {name}; your comments will show the organization."
            )],
        ),
        Decision::Decline { .. } => (
            format!("Your request to represent {name} was declined"),
            vec![format!(
                "An administrator has declined your request to represent {name} on Talqy."
            )],
        ),
        Decision::Revoke { .. } => (
            format!("You no longer represent {name} on Talqy"),
            vec![format!(
                "An administrator has revoked your representation of {name}. You can still comment in your own name, but no longer on behalf of {name}."
            )],
        ),
    };
    match (decision, decision.reason()) {
        (Decision::Verify { .. }, Some(note)) => {
            paragraphs.push(format!("A note from the administrator: {note}"))
        }
        (_, Some(reason)) => paragraphs.push(format!("The reason given: {reason}")),
        _ => {}
    }
    if matches!(decision, Decision::Decline { .. }) {
        paragraphs.push(
            "If you can clear this up, you can correct the details and ask again.".to_string(),
        );
    }
    mail::compose(
        &to.email,
        &subject,
        &greeting,
        &paragraphs,
        "See your organizations",
        link,
    )
}

/// A request as an administrator sees it in a list.
#[derive(Debug, Clone)]
pub struct RequestSummary {
    pub request: RepresentativeRow,
    pub organization: Organization,
    pub requester_name: String,
    pub requester_email: String,
}

/// The administrators' view: waiting requests (oldest first), recent decisions (newest
/// first), and how many requests are in each state.
#[derive(Debug, Clone)]
pub struct AdminOverview {
    pub pending: Vec<RequestSummary>,
    pub decided: Vec<RequestSummary>,
    pub counts: Vec<(RepresentationStatus, i64)>,
}

fn summarize(
    conn: &mut DbConn,
    rows: Vec<RepresentativeRow>,
) -> Result<Vec<RequestSummary>, AppError> {
    let org_ids: Vec<i64> = rows.iter().map(|r| r.organization_id).collect();
    let orgs: HashMap<i64, Organization> = load_orgs(conn, &org_ids)?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let user_ids: Vec<i64> = rows
        .iter()
        .map(|r| r.user_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let people: HashMap<i64, (String, String)> = if user_ids.is_empty() {
        HashMap::new()
    } else {
        users::table
            .filter(users::id.eq_any(user_ids))
            .select((users::id, users::display_name, users::email))
            .load::<(i64, String, String)>(conn)?
            .into_iter()
            .map(|(id, n, e)| (id, (n, e)))
            .collect()
    };
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let organization = orgs.get(&r.organization_id)?.clone();
            let (requester_name, requester_email) =
                people.get(&r.user_id).cloned().unwrap_or_default();
            Some(RequestSummary {
                request: r,
                organization,
                requester_name,
                requester_email,
            })
        })
        .collect())
}

/// How many recent decisions the overview shows.
pub const HISTORY_LIMIT: i64 = 100;

pub fn admin_overview(conn: &mut DbConn) -> Result<AdminOverview, AppError> {
    let pending: Vec<RepresentativeRow> = reps::table
        .filter(reps::status.eq(RepresentationStatus::Pending.as_str()))
        .order((reps::created_at.asc(), reps::id.asc()))
        .select(RepresentativeRow::as_select())
        .load(conn)?;
    let decided: Vec<RepresentativeRow> = reps::table
        .filter(reps::status.ne(RepresentationStatus::Pending.as_str()))
        .order((reps::decided_at.desc(), reps::id.desc()))
        .limit(HISTORY_LIMIT)
        .select(RepresentativeRow::as_select())
        .load(conn)?;
    let mut counts = Vec::new();
    for status in RepresentationStatus::ALL {
        let n: i64 = reps::table
            .filter(reps::status.eq(status.as_str()))
            .count()
            .get_result(conn)?;
        counts.push((status, n));
    }
    Ok(AdminOverview {
        pending: summarize(conn, pending)?,
        decided: summarize(conn, decided)?,
        counts,
    })
}

/// One entry of a request's history.
#[derive(Debug, Clone)]
pub struct HistoryItem {
    pub action: String,
    pub actor_name: Option<String>,
    pub detail: String,
    pub at: NaiveDateTime,
}

/// Everything an administrator needs to decide about one request.
#[derive(Debug, Clone)]
pub struct RequestDetail {
    pub request: RepresentativeRow,
    pub organization: Organization,
    pub requester: UserRow,
    pub decided_by_name: Option<String>,
    /// The organization's other requests: name, position and state of each person.
    pub others: Vec<(String, String, RepresentationStatus)>,
    pub history: Vec<HistoryItem>,
}

pub fn request_detail(conn: &mut DbConn, id: i64) -> Result<RequestDetail, AppError> {
    let request = find_request(conn, id)?.ok_or(AppError::NotFound)?;
    let organization = find_org(conn, request.organization_id)?.ok_or(AppError::NotFound)?;
    let requester = find_user(conn, request.user_id)?.ok_or(AppError::NotFound)?;
    let decided_by_name = match request.decided_by {
        Some(admin) => find_user(conn, admin)?.map(|u| u.display_name),
        None => None,
    };
    let other_rows: Vec<RepresentativeRow> = reps::table
        .filter(reps::organization_id.eq(request.organization_id))
        .filter(reps::id.ne(request.id))
        .order(reps::id.asc())
        .select(RepresentativeRow::as_select())
        .load(conn)?;
    let others = summarize(conn, other_rows)?
        .into_iter()
        .map(|s| {
            let status = s.request.status();
            (s.requester_name, s.request.position, status)
        })
        .collect();
    // Oldest first on the request page.
    let mut entries = audit::for_subject(conn, &request_subject(id), 200)?;
    entries.reverse();
    let mut history = Vec::new();
    for e in entries {
        let actor_name = match e.actor_id {
            Some(a) => find_user(conn, a)?.map(|u| u.display_name),
            None => None,
        };
        history.push(HistoryItem {
            action: e.action,
            actor_name,
            detail: e.detail,
            at: e.created_at,
        });
    }
    Ok(RequestDetail {
        request,
        organization,
        requester,
        decided_by_name,
        others,
        history,
    })
}
