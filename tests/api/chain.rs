//! The tamper-evident public record: comments, edits, withdrawals and published versions
//! append linked entries; the head is public; `talqy audit verify` finds tampering.

use std::process::{Command, Output};

use diesel::prelude::*;
use talqy::db::schema::{comments, record_chain};
use talqy::services::chain;
use talqy::services::comments::{CommentInput, Target};

use crate::helpers::{THREE_CHAPTERS, TestApp, spawn_app};

const PW: &str = "correct horse battery staple";

type Row = (i64, String, i64, String, String, String);

fn chain_rows(app: &TestApp) -> Vec<Row> {
    record_chain::table
        .order(record_chain::seq)
        .select((
            record_chain::seq,
            record_chain::kind,
            record_chain::subject_id,
            record_chain::content_hash,
            record_chain::prev_hash,
            record_chain::entry_hash,
        ))
        .load(&mut *app.conn())
        .unwrap()
}

fn post(app: &TestApp, user: i64, draft: i64, body: &str, key: &str) -> i64 {
    let row = talqy::services::accounts::find(&mut app.conn(), user)
        .unwrap()
        .unwrap();
    let target = Target {
        draft_id: draft,
        provision_key: Some("ch1.art1".into()),
    };
    let input = CommentInput {
        stance: "support".into(),
        body: body.into(),
        idempotency_key: key.into(),
        ..Default::default()
    };
    talqy::services::comments::post(&mut app.conn(), &row, &target, None, &input)
        .unwrap()
        .id
}

fn verify(app: &TestApp) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_talqy"))
        .args(["audit", "verify"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("TALQY_DATABASE_URL", app._database.url_string())
        .env("TALQY_LOG", "warn")
        .output()
        .expect("run talqy")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[tokio::test]
async fn actions_append_consecutive_linked_entries() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = app.create_user("alice@example.org", "Alice", PW, true, false);
    let alice_row = talqy::services::accounts::find(&mut app.conn(), alice)
        .unwrap()
        .unwrap();
    let first = post(&app, alice, draft, "First comment", "k1");
    let second = post(&app, alice, draft, "Second comment", "k2");
    let edited_hash =
        talqy::services::comments::edit(&mut app.conn(), &alice_row, first, "First, edited", "")
            .unwrap();
    talqy::services::comments::withdraw(&mut app.conn(), &alice_row, second).unwrap();

    let rows = chain_rows(&app);
    let kinds: Vec<(&str, i64)> = rows.iter().map(|r| (r.1.as_str(), r.2)).collect();
    let version_id: i64 = comments::table
        .find(first)
        .select(comments::version_id)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(
        kinds,
        vec![
            (chain::VERSION, version_id),
            (chain::COMMENT, first),
            (chain::COMMENT, second),
            (chain::COMMENT_EDIT, first),
            (chain::COMMENT_WITHDRAWAL, second),
        ]
    );
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(rows[0].4, chain::GENESIS);
    for pair in rows.windows(2) {
        assert_eq!(pair[1].4, pair[0].5, "each entry links to the one before");
    }
    // The comment's own receipt hash is what the chain recorded.
    let (first_hash,): (String,) = comments::table
        .find(first)
        .select((comments::content_hash,))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(rows[3].3, edited_hash);
    assert_eq!(first_hash, edited_hash);

    // The head is public, as JSON and on the record page.
    let head: serde_json::Value = app.get("/api/v1/record/head").await.json().await.unwrap();
    assert_eq!(head["seq"], 5);
    assert_eq!(head["hash"], rows[4].5.as_str());
    assert!(head["at"].as_str().unwrap().ends_with('Z'));
    let (status, doc) = app.get_html("/record").await;
    assert_eq!(status, 200);
    assert_eq!(crate::helpers::texts(&doc, "h1"), vec!["Public record"]);
    assert_eq!(
        crate::helpers::texts(&doc, ".chain-hash"),
        vec![rows[4].5.clone()]
    );

    // The receipt names its chain entry.
    let tracking: String = comments::table
        .find(first)
        .select(comments::tracking_number)
        .first(&mut *app.conn())
        .unwrap();
    let (status, doc) = app.get_html(&format!("/receipts/{tracking}")).await;
    assert_eq!(status, 200);
    assert_eq!(crate::helpers::texts(&doc, ".chain-seq"), vec!["2"]);
    assert_eq!(
        crate::helpers::texts(&doc, ".chain-hash"),
        vec![rows[1].5.clone()]
    );

    // Everything verifies clean, edits and withdrawals included.
    let out = verify(&app);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(
        stdout(&out).trim(),
        format!("ok: 5 entries, head {}", rows[4].5)
    );
}

#[tokio::test]
async fn audit_verify_names_the_tampered_comment() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = app.create_user("alice@example.org", "Alice", PW, true, false);
    post(&app, alice, draft, "One", "k1");
    let c2 = post(&app, alice, draft, "Two", "k2");
    let c3 = post(&app, alice, draft, "Three", "k3");

    let out = verify(&app);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("ok: 4 entries, head "),
        "{}",
        stdout(&out)
    );

    // Someone edits the stored text of the second comment behind the application's back.
    diesel::update(comments::table.find(c2))
        .set(comments::body.eq("Two, silently changed"))
        .execute(&mut *app.conn())
        .unwrap();
    let out = verify(&app);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("mismatch at entry 3 (comment {c2}): ")),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1);

    // Put it back: clean again.
    diesel::update(comments::table.find(c2))
        .set(comments::body.eq("Two"))
        .execute(&mut *app.conn())
        .unwrap();
    assert!(verify(&app).status.success());

    // A broken link in the chain is named too.
    diesel::update(record_chain::table.filter(record_chain::seq.eq(4)))
        .set(record_chain::prev_hash.eq(chain::GENESIS))
        .execute(&mut *app.conn())
        .unwrap();
    let out = verify(&app);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("mismatch at entry 4 (comment {c3}): prev_hash")),
        "{text}"
    );
}

#[tokio::test]
async fn dispositions_are_recorded_and_verified() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = app.create_user("alice@example.org", "Alice", PW, true, false);
    let admin = app.create_user("admin@example.org", "Admin", PW, true, true);
    let admin_row = talqy::services::accounts::find(&mut app.conn(), admin)
        .unwrap()
        .unwrap();
    let c = post(&app, alice, draft, "One", "k1");
    let config = crate::helpers::test_config(app._database.url());
    for (decision, why) in [
        ("accepted", "A good point, taken into the text."),
        ("rejected", "On reflection the group keeps the text."),
    ] {
        let input = talqy::services::triage::DispositionInput {
            decision: decision.into(),
            justification: why.into(),
            duplicate_of: String::new(),
        };
        talqy::services::triage::set_disposition(
            &mut app.conn(),
            &config,
            &admin_row,
            draft,
            c,
            &input,
        )
        .unwrap();
    }
    let rows = chain_rows(&app);
    let kinds: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            chain::VERSION,
            chain::COMMENT,
            chain::DISPOSITION,
            chain::DISPOSITION
        ]
    );
    let out = verify(&app);
    assert!(out.status.success(), "{}", stdout(&out));

    // The public answer changed behind the application's back is named.
    diesel::update(
        talqy::db::schema::dispositions::table
            .filter(talqy::db::schema::dispositions::comment_id.eq(c)),
    )
    .set(talqy::db::schema::dispositions::justification.eq("Something else."))
    .execute(&mut *app.conn())
    .unwrap();
    let out = verify(&app);
    assert!(!out.status.success());
    assert!(
        stdout(&out).starts_with(&format!("mismatch at entry 4 (disposition {c}): ")),
        "{}",
        stdout(&out)
    );
}
