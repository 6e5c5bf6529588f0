//! The demo consultation: a fresh SQLite database with drafts modelled on the "Cyber Shield"
//! cybersecurity concept, so a first run shows a living platform.

use chrono::Duration;

use crate::db::DbConn;
use crate::domain::{DraftStatus, time};
use crate::error::AppError;
use crate::services::drafts::{self, DraftInput};

const CYBER_SHIELD: &str = include_str!("cyber_shield.md");
const PERSONAL_DATA: &str = include_str!("personal_data.md");

/// Seeds the demo drafts; returns the id of the open consultation.
pub fn seed(conn: &mut DbConn) -> Result<i64, AppError> {
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
