//! The demo consultation: a fresh SQLite database with drafts modelled on the "Cyber Shield"
//! cybersecurity concept, so a first run shows a living platform.

use chrono::Duration;

use crate::config::Config;
use crate::db::DbConn;
use crate::db::models::UserRow;
use crate::domain::{DraftStatus, time};
use crate::error::AppError;
use crate::services::comments::{self, CommentInput, Target};
use crate::services::drafts::{self, DraftInput};

const CYBER_SHIELD: &str = include_str!("cyber_shield.md");
const PERSONAL_DATA: &str = include_str!("personal_data.md");

/// Demo accounts: printed by `talqy demo`, never created anywhere else.
pub const ADMIN_EMAIL: &str = "admin@demo.talqy.example";
pub const CITIZEN_EMAIL: &str = "citizen@demo.talqy.example";
pub const DEMO_PASSWORD: &str = "demo passphrase for talqy";

fn demo_user(
    conn: &mut DbConn,
    email: &str,
    name: &str,
    kind: &str,
    admin: bool,
    hash: &str,
) -> Result<UserRow, AppError> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    let now = time::now();
    let id: i64 = diesel::insert_into(users::table)
        .values((
            users::email.eq(email),
            users::display_name.eq(name),
            users::password_hash.eq(hash),
            users::respondent_type.eq(kind),
            users::email_verified_at.eq(Some(now)),
            users::is_admin.eq(admin),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(users::id)
        .get_result(conn)?;
    crate::services::accounts::find(conn, id)?.ok_or(AppError::NotFound)
}

/// Seeds the demo drafts, accounts and a first discussion; returns the id of the open
/// consultation.
pub fn seed(conn: &mut DbConn, config: &Config) -> Result<i64, AppError> {
    let actor = "demo";
    let cyber = drafts::parse_text(CYBER_SHIELD.as_bytes(), usize::MAX)?;
    let cyber_id = drafts::create(
        conn,
        &DraftInput {
            title: String::new(),
            kind: "concept".into(),
            authority: "Ministry of Digital Development".into(),
            summary: "The national cybersecurity concept: how the state, business and citizens protect information systems, electronic public services and personal data.\n\nComment on any article: the working group answers every comment publicly.".into(),
        },
        Some(&cyber),
        actor,
    )?;
    drafts::publish(
        conn,
        cyber_id,
        None,
        time::now() + Duration::days(30),
        actor,
    )?;
    seed_discussion(conn, config, cyber_id)?;

    let pd = drafts::parse_text(PERSONAL_DATA.as_bytes(), usize::MAX)?;
    let pd_id = drafts::create(
        conn,
        &DraftInput {
            title: String::new(),
            kind: "law".into(),
            authority: "Ministry of Digital Development".into(),
            summary: "Amendments requiring prompt notification of personal data breaches.".into(),
        },
        Some(&pd),
        actor,
    )?;
    drafts::publish(conn, pd_id, None, time::now() + Duration::days(1), actor)?;
    drafts::transition(
        conn,
        pd_id,
        DraftStatus::Closed,
        actor,
        Some("round closed early for the demo"),
    )?;
    Ok(cyber_id)
}

fn seed_discussion(conn: &mut DbConn, config: &Config, draft_id: i64) -> Result<(), AppError> {
    let hash = crate::auth::password::hash(DEMO_PASSWORD);
    let admin = demo_user(
        conn,
        ADMIN_EMAIL,
        "Working group secretary",
        "public_authority",
        true,
        &hash,
    )?;
    let citizen = demo_user(conn, CITIZEN_EMAIL, "Aigerim S.", "citizen", false, &hash)?;
    let expert = demo_user(
        conn,
        "expert@demo.talqy.example",
        "Dr. Marat K.",
        "academia",
        false,
        &hash,
    )?;
    let business = demo_user(
        conn,
        "soc@demo.talqy.example",
        "SOC Operators Association",
        "ngo",
        false,
        &hash,
    )?;
    crate::services::working_groups::add(conn, Some(admin.id), draft_id, ADMIN_EMAIL, "chair")?;
    let on = |key: &str| Target {
        draft_id,
        provision_key: Some(key.to_string()),
    };
    let say = |stance: &str, body: &str, wording: &str, quote: &str, key: &str| CommentInput {
        stance: stance.into(),
        body: body.into(),
        proposed_wording: wording.into(),
        quote: quote.into(),
        idempotency_key: format!("demo-{key}-{}", body.len()),
        ..Default::default()
    };
    let c1 = comments::post(
        conn,
        &expert,
        &on("ch2.art5"),
        None,
        &say(
            "propose_change",
            "The list of problems is written only from the state's point of view. Private operators of critical infrastructure face the same **shortage of specialists** and should be named.",
            "7. shortage of information security professionals in the public and private sectors, including operators of critical information and communication infrastructure.",
            "shortage of information security professionals",
            "c1",
        ),
    )?;
    comments::post(
        conn,
        &citizen,
        &on("ch2.art5"),
        Some(c1.id),
        &CommentInput {
            body: "Agreed. Universities could train them if the Concept set a target number of graduates.".into(),
            idempotency_key: "demo-reply-1".into(),
            ..Default::default()
        },
    )?;
    let c2 = comments::post(
        conn,
        &business,
        &on("ch3.art7"),
        None,
        &say(
            "support",
            "We support computer incident response teams, and ask that private security operations centres be allowed to join the national coordination centre.",
            "",
            "",
            "c2",
        ),
    )?;
    comments::post(
        conn,
        &citizen,
        &Target {
            draft_id,
            provision_key: None,
        },
        None,
        &say(
            "question",
            "Will the Global Cybersecurity Index be used to measure progress? It would make the goals measurable.",
            "",
            "",
            "c3",
        ),
    )?;
    crate::services::triage::set_disposition(
        conn,
        config,
        &admin,
        draft_id,
        c2.id,
        &crate::services::triage::DispositionInput {
            decision: "accepted".into(),
            justification: "Article 7 will name private security operations centres as partners of the national coordination centre in the next version.".into(),
            duplicate_of: String::new(),
        },
    )?;
    Ok(())
}
