//! The draft rules, through the service layer on the real database of each backend; every
//! refusal is followed by a look at what is stored.

use diesel::prelude::*;
use talqy::db::DbConn;
use talqy::db::schema::{
    consultation_rounds, draft_transitions, drafts as drafts_t, provisions, versions,
};
use talqy::domain::{DraftStatus, time};
use talqy::error::AppError;
use talqy::services::drafts::{self, DraftInput};

use crate::helpers::{THREE_CHAPTERS, TestApp, spawn_app};

fn input(title: &str) -> DraftInput {
    DraftInput {
        title: title.into(),
        kind: "law".into(),
        authority: "Ministry of Justice".into(),
        summary: "A summary.".into(),
    }
}

fn counts(conn: &mut DbConn) -> (i64, i64, i64, i64, i64) {
    (
        drafts_t::table.count().get_result(conn).unwrap(),
        versions::table.count().get_result(conn).unwrap(),
        provisions::table.count().get_result(conn).unwrap(),
        consultation_rounds::table.count().get_result(conn).unwrap(),
        draft_transitions::table.count().get_result(conn).unwrap(),
    )
}

fn stored_provisions(
    conn: &mut DbConn,
    draft_id: i64,
) -> Vec<(String, String, i32, Option<String>, String)> {
    provisions::table
        .inner_join(versions::table)
        .filter(versions::draft_id.eq(draft_id))
        .order(provisions::position)
        .select((
            provisions::key,
            provisions::kind,
            provisions::depth,
            provisions::heading,
            provisions::body,
        ))
        .load(conn)
        .unwrap()
}

fn field_of(err: &AppError) -> Vec<&'static str> {
    err.fields().iter().map(|f| f.field).collect()
}

fn create(app: &TestApp, md: &str) -> i64 {
    let text = drafts::parse_text(md.as_bytes(), 1 << 20).unwrap();
    drafts::create(&mut app.conn(), &input(""), Some(&text), "test").unwrap()
}

#[tokio::test]
async fn a_three_chapter_import_yields_provisions_in_order_with_keys() {
    let app = spawn_app().await;
    let id = create(&app, THREE_CHAPTERS);
    let conn = &mut app.conn();
    let title: String = drafts_t::table
        .find(id)
        .select(drafts_t::title)
        .first(conn)
        .unwrap();
    assert_eq!(
        title, "Law on Digital Services",
        "title taken from the text's heading"
    );
    let rows = stored_provisions(conn, id);
    let keys: Vec<(&str, &str, i32)> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.1.as_str(), r.2))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("ch1", "chapter", 0),
            ("ch1.art1", "article", 1),
            ("ch1.art1.p1", "paragraph", 2),
            ("ch1.art1.p2", "paragraph", 2),
            ("ch1.art2", "article", 1),
            ("ch1.art2.p1", "paragraph", 2),
            ("ch1.art2.p2", "paragraph", 2),
            ("ch2", "chapter", 0),
            ("ch2.art3", "article", 1),
            ("ch2.art3.p1", "paragraph", 2),
            ("ch3", "chapter", 0),
            ("ch3.art4", "article", 1),
            ("ch3.art4.p1", "paragraph", 2),
        ]
    );
    assert_eq!(rows[1].3.as_deref(), Some("Purpose"));
    assert_eq!(rows[2].4, "This Law regulates digital public services.");
    assert_eq!(
        rows[5].4,
        "*digital service* — a public service provided online;"
    );
    assert_eq!(rows[11].3.as_deref(), Some("Вступление в силу"));
}

#[tokio::test]
async fn re_importing_an_edited_text_keeps_the_keys_of_unchanged_provisions() {
    let app = spawn_app().await;
    let id = create(&app, THREE_CHAPTERS);
    let before = stored_provisions(&mut app.conn(), id);
    let key_of = |rows: &[(String, String, i32, Option<String>, String)], body: &str| {
        rows.iter()
            .find(|r| r.4.starts_with(body))
            .map(|r| r.0.clone())
            .unwrap()
    };
    // A new first paragraph in Article 1, an edited Article 3 paragraph, Article 2's second
    // term removed.
    let edited = THREE_CHAPTERS
        .replace(
            "This Law regulates digital public services.",
            "This Law sets out the principles of digital government.\n\nThis Law regulates digital public services.",
        )
        .replace("free of charge", "free of charge and without discrimination")
        .replace("- *operator* — the body that runs a digital service.\n", "");
    let text = drafts::parse_text(edited.as_bytes(), 1 << 20).unwrap();
    let outcome = drafts::import_text(&mut app.conn(), id, text).unwrap();
    let after = stored_provisions(&mut app.conn(), id);

    for body in [
        "This Law regulates digital public services.",
        "It applies to all state bodies.",
        "*digital service*",
        "Настоящий Закон",
    ] {
        assert_eq!(key_of(&before, body), key_of(&after, body), "{body}");
    }
    // Edited in place: same unit, same key.
    assert_eq!(key_of(&after, "Everyone has the right"), "ch2.art3.p1");
    assert!(after.iter().any(|r| r.4.contains("without discrimination")));
    // The new paragraph gets a key no earlier provision had.
    let new_key = key_of(&after, "This Law sets out");
    assert!(
        before.iter().all(|r| r.0 != new_key),
        "{new_key} was already used"
    );
    assert!(!after.iter().any(|r| r.4.contains("*operator*")));
    assert_eq!(outcome.added, 1);
    assert_eq!(outcome.removed, 1);
    assert_eq!(outcome.provisions, after.len());
}

#[tokio::test]
async fn missing_title_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let conn = &mut app.conn();
    let before = counts(conn);
    let err = drafts::create(conn, &input("   "), None, "test").unwrap_err();
    assert_eq!(field_of(&err), vec!["title"]);
    assert!(
        err.to_string().contains("title: must not be empty"),
        "{err}"
    );
    let err = drafts::create(
        conn,
        &DraftInput {
            title: "".into(),
            kind: "poem".into(),
            authority: "".into(),
            summary: "".into(),
        },
        None,
        "test",
    )
    .unwrap_err();
    assert_eq!(
        field_of(&err),
        vec!["title", "kind", "authority"],
        "all problems at once"
    );
    assert_eq!(counts(conn), before);
}

#[tokio::test]
async fn malformed_and_oversized_imports_name_the_text_and_store_nothing() {
    let app = spawn_app().await;
    let id = create(&app, THREE_CHAPTERS);
    let conn = &mut app.conn();
    let before = counts(conn);
    let stored_before = stored_provisions(conn, id);

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0xff, 0xfe, b'a'], "UTF-8"),
        (b"## Chapter 1\n\nText with a \x00 NUL".to_vec(), "control"),
        (b"   \n\n ".to_vec(), "empty"),
        (b"# Only a title\n".to_vec(), "no provisions"),
        (
            b"## Chapter 1\n\n### Article 1. A\n\nx\n\n### Article 1. B\n\ny\n".to_vec(),
            "appears twice",
        ),
        (vec![b'a'; 4096], "larger than"),
    ];
    for (bytes, expected) in cases {
        let err = drafts::parse_text(&bytes, 2048)
            .and_then(|t| drafts::import_text(conn, id, t))
            .unwrap_err();
        assert_eq!(field_of(&err), vec!["text"], "{expected}");
        assert!(
            err.to_string().contains(expected),
            "{err} should mention {expected}"
        );
    }
    assert_eq!(counts(conn), before);
    assert_eq!(stored_provisions(conn, id), stored_before);
}

#[tokio::test]
async fn publishing_needs_a_round_that_closes_after_it_opens() {
    let app = spawn_app().await;
    let id = create(&app, THREE_CHAPTERS);
    let conn = &mut app.conn();
    let before = counts(conn);
    let opens = time::parse_datetime("2030-02-01", false).unwrap();
    let closes = time::parse_datetime("2030-01-15", true).unwrap();
    let err = drafts::publish(conn, id, Some(opens), closes, "test").unwrap_err();
    assert_eq!(field_of(&err), vec!["closes_at"]);
    assert!(err.to_string().contains("after opens_at"), "{err}");
    let past = time::parse_datetime("2020-01-15", true).unwrap();
    let err = drafts::publish(conn, id, None, past, "test").unwrap_err();
    assert!(
        err.to_string().contains("closes_at: must be in the future"),
        "{err}"
    );
    assert_eq!(counts(conn), before);
    let status: String = drafts_t::table
        .find(id)
        .select(drafts_t::status)
        .first(conn)
        .unwrap();
    assert_eq!(status, "draft");
    let published: i64 = versions::table
        .filter(versions::published_at.is_not_null())
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(published, 0);

    // A valid round publishes version 1, stored in UTC, and records the transition.
    let closes = time::parse_datetime("2030-01-15", true).unwrap();
    assert_eq!(
        drafts::publish(conn, id, None, closes, "cli:alice").unwrap(),
        1
    );
    let round_closes: chrono::NaiveDateTime = consultation_rounds::table
        .filter(consultation_rounds::draft_id.eq(id))
        .select(consultation_rounds::closes_at)
        .first(conn)
        .unwrap();
    assert_eq!(time::machine(round_closes), "2030-01-15T23:59:59Z");
    let last: (Option<String>, String, String) = draft_transitions::table
        .filter(draft_transitions::draft_id.eq(id))
        .order(draft_transitions::id.desc())
        .select((
            draft_transitions::from_status,
            draft_transitions::to_status,
            draft_transitions::actor,
        ))
        .first(conn)
        .unwrap();
    assert_eq!(
        last,
        (Some("draft".into()), "open".into(), "cli:alice".into())
    );
    // Published text is immutable.
    let text = drafts::parse_text(THREE_CHAPTERS.as_bytes(), 1 << 20).unwrap();
    let err = drafts::import_text(conn, id, text).unwrap_err();
    assert_eq!(field_of(&err), vec!["text"]);
    let err = drafts::edit(conn, id, &input("New title")).unwrap_err();
    assert_eq!(field_of(&err), vec!["status"]);
}

#[tokio::test]
async fn an_invalid_transition_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let id = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let conn = &mut app.conn();
    let before = counts(conn);
    let err = drafts::transition(conn, id, DraftStatus::Adopted, "test", None).unwrap_err();
    assert_eq!(field_of(&err), vec!["status"]);
    let msg = err.to_string();
    assert!(
        msg.contains("from 'open' to 'adopted'") && msg.contains("allowed: closed, withdrawn"),
        "{msg}"
    );
    assert_eq!(counts(conn), before);

    // The whole path to adoption, each step audited with who and when.
    for to in [
        DraftStatus::Closed,
        DraftStatus::InReview,
        DraftStatus::Adopted,
    ] {
        drafts::transition(conn, id, to, "cli:bob", None).unwrap();
    }
    let err = drafts::transition(conn, id, DraftStatus::Withdrawn, "test", None).unwrap_err();
    assert!(err.to_string().contains("none, it is final"), "{err}");
    let trail: Vec<(Option<String>, String)> = draft_transitions::table
        .filter(draft_transitions::draft_id.eq(id))
        .order(draft_transitions::id)
        .select((draft_transitions::from_status, draft_transitions::to_status))
        .load(conn)
        .unwrap();
    let trail: Vec<String> = trail
        .into_iter()
        .map(|(f, t)| format!("{}>{t}", f.unwrap_or_default()))
        .collect();
    assert_eq!(
        trail,
        vec![
            ">draft",
            "draft>open",
            "open>closed",
            "closed>in_review",
            "in_review>adopted"
        ]
    );
}

#[tokio::test]
async fn ended_rounds_are_closed_by_the_system() {
    let app = spawn_app().await;
    let id = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let keep = app.published_draft("Other law", "law", "Ministry", THREE_CHAPTERS, 10);
    let conn = &mut app.conn();
    // Move the first round into the past, as if time had passed.
    let past = time::now() - chrono::Duration::minutes(1);
    diesel::update(consultation_rounds::table.filter(consultation_rounds::draft_id.eq(id)))
        .set((
            consultation_rounds::opens_at.eq(past - chrono::Duration::days(10)),
            consultation_rounds::closes_at.eq(past),
        ))
        .execute(conn)
        .unwrap();
    assert_eq!(drafts::close_expired_rounds(conn).unwrap(), 1);
    assert_eq!(drafts::close_expired_rounds(conn).unwrap(), 0, "idempotent");
    let statuses: Vec<(i64, String)> = drafts_t::table
        .select((drafts_t::id, drafts_t::status))
        .order(drafts_t::id)
        .load(conn)
        .unwrap();
    assert_eq!(statuses, vec![(id, "closed".into()), (keep, "open".into())]);
    let actor: String = draft_transitions::table
        .filter(draft_transitions::draft_id.eq(id))
        .order(draft_transitions::id.desc())
        .select(draft_transitions::actor)
        .first(conn)
        .unwrap();
    assert_eq!(actor, "system");
}
