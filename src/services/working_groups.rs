//! Working groups: the people who triage and answer the comments on one draft. A member is
//! a chair or an ordinary member; admins manage the groups, and later steps (triage,
//! dispositions, revisions) ask [`is_member`] who may act on a draft.

use diesel::prelude::*;
use serde_json::json;

use crate::db::DbConn;
use crate::db::dialect::write_transaction;
use crate::db::schema::{drafts, users, working_group_members};
use crate::domain::{Email, time};
use crate::error::{AppError, FieldError};
use crate::services::{accounts, audit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Chair,
    Member,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Chair, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Chair => "chair",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Result<Role, FieldError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| FieldError::new("role", "Choose a role: chair or member"))
    }
}

/// A member as the group page lists them.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub since: chrono::NaiveDateTime,
}

fn draft_exists(conn: &mut DbConn, draft_id: i64) -> Result<(), AppError> {
    let n: i64 = drafts::table.find(draft_id).count().get_result(conn)?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The group of a draft: chairs first, then by name.
pub fn members(conn: &mut DbConn, draft_id: i64) -> Result<Vec<Member>, AppError> {
    let rows: Vec<(i64, String, String, String, chrono::NaiveDateTime)> =
        working_group_members::table
            .inner_join(users::table)
            .filter(working_group_members::draft_id.eq(draft_id))
            .select((
                users::id,
                users::email,
                users::display_name,
                working_group_members::role,
                working_group_members::created_at,
            ))
            .load(conn)?;
    let mut list: Vec<Member> = rows
        .into_iter()
        .map(|(user_id, email, display_name, role, since)| {
            Ok(Member {
                user_id,
                email,
                display_name,
                role: Role::parse(&role).map_err(|e| AppError::Internal(e.to_string()))?,
                since,
            })
        })
        .collect::<Result<_, AppError>>()?;
    list.sort_by(|a, b| {
        (
            a.role != Role::Chair,
            a.display_name.to_lowercase(),
            a.user_id,
        )
            .cmp(&(
                b.role != Role::Chair,
                b.display_name.to_lowercase(),
                b.user_id,
            ))
    });
    Ok(list)
}

/// The role of `user_id` in the working group of `draft_id`, if they belong to it.
pub fn is_member(conn: &mut DbConn, draft_id: i64, user_id: i64) -> QueryResult<Option<Role>> {
    let role: Option<String> = working_group_members::table
        .filter(working_group_members::draft_id.eq(draft_id))
        .filter(working_group_members::user_id.eq(user_id))
        .select(working_group_members::role)
        .first(conn)
        .optional()?;
    Ok(role.and_then(|r| Role::parse(&r).ok()))
}

fn subject(draft_id: i64) -> String {
    format!("draft:{draft_id}")
}

/// Adds the account with this email to the group. The account must exist and have a
/// confirmed address; someone already in the group is not added twice.
pub fn add(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    draft_id: i64,
    email: &str,
    role: &str,
) -> Result<i64, AppError> {
    let email = Email::parse(email);
    let role = Role::parse(role);
    let (email, role) = match (email, role) {
        (Ok(e), Ok(r)) => (e, r),
        (e, r) => {
            return Err(AppError::Validation(
                [e.err(), r.err()].into_iter().flatten().collect(),
            ));
        }
    };
    write_transaction(conn, |conn| {
        draft_exists(conn, draft_id)?;
        let user = accounts::find_by_email(conn, email.as_str())?.ok_or_else(|| {
            AppError::field(
                "email",
                format!(
                    "No account uses {}: the person must register first",
                    email.as_str()
                ),
            )
        })?;
        if user.email_verified_at.is_none() {
            return Err(AppError::field(
                "email",
                format!(
                    "{} has not confirmed their email address yet",
                    email.as_str()
                ),
            ));
        }
        if let Some(existing) = is_member(conn, draft_id, user.id)? {
            return Err(AppError::field(
                "email",
                format!(
                    "{} is already in this working group (as {})",
                    email.as_str(),
                    existing.as_str()
                ),
            ));
        }
        let inserted = diesel::insert_into(working_group_members::table)
            .values((
                working_group_members::draft_id.eq(draft_id),
                working_group_members::user_id.eq(user.id),
                working_group_members::role.eq(role.as_str()),
                working_group_members::created_at.eq(time::now()),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => {}
            // Added by someone else at the same moment (PostgreSQL; SQLite serialises).
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {
                return Err(AppError::field(
                    "email",
                    format!("{} is already in this working group", email.as_str()),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        audit::record(
            conn,
            actor_id,
            "group.add",
            &subject(draft_id),
            &json!({
                "user_id": user.id,
                "email": user.email,
                "before": null,
                "after": { "role": role.as_str() },
            })
            .to_string(),
        )?;
        Ok(user.id)
    })
}

/// Changes a member's role. Returns whether it changed.
pub fn set_role(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    draft_id: i64,
    user_id: i64,
    role: &str,
) -> Result<bool, AppError> {
    let role = Role::parse(role)?;
    write_transaction(conn, |conn| {
        draft_exists(conn, draft_id)?;
        let before = is_member(conn, draft_id, user_id)?.ok_or(AppError::NotFound)?;
        if before == role {
            return Ok(false);
        }
        diesel::update(
            working_group_members::table
                .filter(working_group_members::draft_id.eq(draft_id))
                .filter(working_group_members::user_id.eq(user_id)),
        )
        .set(working_group_members::role.eq(role.as_str()))
        .execute(conn)?;
        audit::record(
            conn,
            actor_id,
            "group.set_role",
            &subject(draft_id),
            &json!({
                "user_id": user_id,
                "before": { "role": before.as_str() },
                "after": { "role": role.as_str() },
            })
            .to_string(),
        )?;
        Ok(true)
    })
}

/// Removes a member from the group.
pub fn remove(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    draft_id: i64,
    user_id: i64,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        draft_exists(conn, draft_id)?;
        let before = is_member(conn, draft_id, user_id)?.ok_or(AppError::NotFound)?;
        diesel::delete(
            working_group_members::table
                .filter(working_group_members::draft_id.eq(draft_id))
                .filter(working_group_members::user_id.eq(user_id)),
        )
        .execute(conn)?;
        audit::record(
            conn,
            actor_id,
            "group.remove",
            &subject(draft_id),
            &json!({
                "user_id": user_id,
                "before": { "role": before.as_str() },
                "after": null,
            })
            .to_string(),
        )?;
        Ok(())
    })
}
