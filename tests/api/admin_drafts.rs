//! Drafts and working groups administered in the browser, on each backend: every refusal
//! keeps what was typed and is followed by a look at what is stored.

use diesel::prelude::*;
use talqy::db::DbConn;
use talqy::db::schema::{
    audit_log, consultation_rounds, draft_transitions, drafts, provisions, versions,
    working_group_members,
};
use talqy::services::working_groups::{self, Role};

use crate::helpers::{THREE_CHAPTERS, TestApp, attrs, spawn_app, spawn_app_with, texts};

const PASSWORD: &str = "correct horse battery staple";

async fn admin(app: &TestApp) -> (TestApp, i64) {
    let id = app.create_user("root@example.org", "Root Admin", PASSWORD, true, true);
    let client = app.new_client();
    client.sign_in("root@example.org", PASSWORD).await;
    (client, id)
}

async fn page_of(res: reqwest::Response) -> (u16, scraper::Html) {
    let status = res.status().as_u16();
    (
        status,
        scraper::Html::parse_document(&res.text().await.unwrap()),
    )
}

/// Everything a draft action may touch.
fn stored(conn: &mut DbConn) -> [i64; 7] {
    [
        drafts::table.count().get_result(conn).unwrap(),
        versions::table.count().get_result(conn).unwrap(),
        provisions::table.count().get_result(conn).unwrap(),
        consultation_rounds::table.count().get_result(conn).unwrap(),
        draft_transitions::table.count().get_result(conn).unwrap(),
        working_group_members::table
            .count()
            .get_result(conn)
            .unwrap(),
        audit_log::table.count().get_result(conn).unwrap(),
    ]
}

fn audit_actions(app: &TestApp, subject: &str) -> Vec<(Option<i64>, String)> {
    audit_log::table
        .filter(audit_log::subject.eq(subject))
        .order(audit_log::id)
        .select((audit_log::actor_id, audit_log::action))
        .load(&mut *app.conn())
        .unwrap()
}

fn last_audit_detail(app: &TestApp) -> serde_json::Value {
    let d: String = audit_log::table
        .order(audit_log::id.desc())
        .select(audit_log::detail)
        .first(&mut *app.conn())
        .unwrap();
    serde_json::from_str(&d).unwrap()
}

fn status_of(app: &TestApp, id: i64) -> String {
    drafts::table
        .find(id)
        .select(drafts::status)
        .first(&mut *app.conn())
        .unwrap()
}

fn summary_links(doc: &scraper::Html) -> Vec<String> {
    attrs(doc, ".error-summary a", "href")
}

fn summary_text(doc: &scraper::Html) -> String {
    texts(doc, ".error-summary").join(" ")
}

const DUPLICATE_ARTICLE: &str = "## Chapter 1\n\n### Article 1. A\n\nx\n\n### Article 1. B\n\ny\n";

#[tokio::test]
async fn working_group_members_are_added_changed_and_removed() {
    let app = spawn_app().await;
    let (root, root_id) = admin(&app).await;
    let draft = app.published_draft("Cyber Shield", "concept", "Ministry", THREE_CHAPTERS, 30);
    let member = app.create_user(
        "gulnara@example.org",
        "Gulnara Expert",
        PASSWORD,
        true,
        false,
    );
    app.create_user("new@example.org", "Not Confirmed", PASSWORD, false, false);
    let group = format!("/admin/drafts/{draft}/group");

    let (status, doc) = root.get_html(&group).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "#no-members").len(), 1);
    let before = stored(&mut app.conn());

    // Refusals: unknown, unconfirmed, malformed address, unknown role.
    for (email, role, expected) in [
        (
            "nobody@example.org",
            "member",
            "No account uses nobody@example.org",
        ),
        ("new@example.org", "member", "has not confirmed"),
        ("not an address", "member", "Enter an email address"),
    ] {
        let (status, doc) = page_of(
            root.post_form(&format!("{group}/add"), &[("email", email), ("role", role)])
                .await,
        )
        .await;
        assert_eq!(status, 422, "{email}");
        assert_eq!(summary_links(&doc), vec!["#f-email"], "{email}");
        assert!(summary_text(&doc).contains(expected), "{email}");
        assert_eq!(attrs(&doc, "#f-email", "value"), vec![email], "kept");
    }
    let (status, doc) = page_of(
        root.post_form(
            &format!("{group}/add"),
            &[("email", "gulnara@example.org"), ("role", "boss")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(summary_links(&doc), vec!["#f-role"]);
    assert_eq!(stored(&mut app.conn()), before);

    // Added as chair.
    let res = root
        .post_form(
            &format!("{group}/add"),
            &[("email", " Gulnara@Example.org "), ("role", "chair")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, doc) = root.get_html(&group).await;
    assert_eq!(
        texts(&doc, "#members td.member-name"),
        vec!["Gulnara Expert"]
    );
    assert_eq!(
        texts(&doc, "#members td.member-email"),
        vec!["gulnara@example.org"]
    );
    assert_eq!(
        attrs(&doc, "#members tr[data-role]", "data-role"),
        vec!["chair"]
    );
    assert_eq!(
        working_groups::is_member(&mut app.conn(), draft, member).unwrap(),
        Some(Role::Chair)
    );

    // Not twice.
    let (status, doc) = page_of(
        root.post_form(
            &format!("{group}/add"),
            &[("email", "gulnara@example.org"), ("role", "member")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(summary_text(&doc).contains("already in this working group"));
    assert_eq!(
        working_group_members::table
            .count()
            .get_result::<i64>(&mut *app.conn())
            .unwrap(),
        1
    );

    // Role changed, then removed.
    let res = root
        .post_form(&format!("{group}/{member}/role"), &[("role", "member")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        working_groups::is_member(&mut app.conn(), draft, member).unwrap(),
        Some(Role::Member)
    );
    let members = working_groups::members(&mut app.conn(), draft).unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].email, "gulnara@example.org");
    let res = root
        .post_form(&format!("{group}/{member}/remove"), &[])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        working_groups::is_member(&mut app.conn(), draft, member).unwrap(),
        None
    );
    // Removing someone who is not a member is not found.
    let res = root
        .post_form(&format!("{group}/{member}/remove"), &[])
        .await;
    assert_eq!(res.status().as_u16(), 404);

    assert_eq!(
        audit_actions(&app, &format!("draft:{draft}")),
        vec![
            (Some(root_id), "group.add".to_string()),
            (Some(root_id), "group.set_role".to_string()),
            (Some(root_id), "group.remove".to_string()),
        ]
    );
    let d = last_audit_detail(&app);
    assert_eq!(d["before"]["role"], "member");
    assert_eq!(d["user_id"], member);
}

#[tokio::test]
async fn a_bad_draft_form_names_every_problem_keeps_what_was_typed_and_stores_nothing() {
    let app = spawn_app().await;
    let (root, _) = admin(&app).await;
    let (status, doc) = root.get_html("/admin/drafts/new").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "h1"), vec!["Create a draft"]);
    let before = stored(&mut app.conn());

    // Missing title and authority, malformed text: all at once, in the order of the form.
    let (status, doc) = page_of(
        root.post_form(
            "/admin/drafts/new",
            &[
                ("title", ""),
                ("kind", "law"),
                ("authority", " "),
                ("summary", "Why this law is needed."),
                ("text", DUPLICATE_ARTICLE),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        summary_links(&doc),
        vec!["#f-title", "#f-authority", "#f-text"]
    );
    let summary = summary_text(&doc);
    assert!(summary.contains("Title: must not be empty"), "{summary}");
    assert!(
        summary.contains("Developing authority: must not be empty"),
        "{summary}"
    );
    assert!(
        summary.contains("Text of the draft (Markdown): line 7: Article 1 appears twice"),
        "{summary}"
    );
    assert_eq!(
        attrs(&doc, "#f-kind option[selected]", "value"),
        vec!["law"]
    );
    assert_eq!(texts(&doc, "#f-summary"), vec!["Why this law is needed."]);
    let typed = scraper::Selector::parse("#f-text").unwrap();
    assert_eq!(
        doc.select(&typed)
            .next()
            .unwrap()
            .text()
            .collect::<String>(),
        DUPLICATE_ARTICLE,
        "the text comes back exactly as typed"
    );
    assert_eq!(attrs(&doc, "#f-text", "aria-invalid"), vec!["true"]);

    // An unknown kind.
    let (status, doc) = page_of(
        root.post_form(
            "/admin/drafts/new",
            &[
                ("title", "A title"),
                ("kind", "poem"),
                ("authority", "Ministry"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(summary_links(&doc), vec!["#f-kind"]);
    assert_eq!(attrs(&doc, "#f-title", "value"), vec!["A title"]);

    // A text over the import limit gets the import's field error, not a bare 413.
    let big = format!("# Big\n\n{}", "a".repeat(3 * 1024 * 1024));
    let (status, doc) = page_of(
        root.post_form(
            "/admin/drafts/new",
            &[
                ("title", "Big text"),
                ("kind", "law"),
                ("authority", "Ministry"),
                ("text", &big),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(summary_links(&doc), vec!["#f-text"]);
    assert!(
        summary_text(&doc).contains("the file is larger than 2097152 bytes"),
        "{}",
        summary_text(&doc)
    );
    assert_eq!(attrs(&doc, "#f-title", "value"), vec!["Big text"]);

    assert_eq!(stored(&mut app.conn()), before, "nothing stored");
}

#[tokio::test]
async fn the_text_form_takes_large_texts_and_refuses_huge_ones_with_a_field_error() {
    // A small import limit keeps the bodies small: the form takes three times it plus room.
    let app = spawn_app_with(|c| c.max_import_bytes = 32 * 1024).await;
    let (root, _) = admin(&app).await;
    let before = stored(&mut app.conn());

    // Non-ASCII text close to the limit: each byte is sent as %XX, three times its size.
    let mut text = String::from("# Закон о цифровых услугах\n\n## Глава 1. Общие положения\n\n");
    let mut n = 1;
    while text.len() < 30 * 1024 {
        text.push_str(&format!(
            "### Статья {n}. Положение {n}\n\nНастоящая статья устанавливает правило номер {n} для всех органов.\n\n"
        ));
        n += 1;
    }
    let res = root
        .post_form(
            "/admin/drafts/new",
            &[
                ("title", ""),
                ("kind", "law"),
                ("authority", "Министерство"),
                ("text", &text),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303, "{}", res.text().await.unwrap());
    let title: String = drafts::table
        .select(drafts::title)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(
        title, "Закон о цифровых услугах",
        "the title heading is used"
    );

    // Far over the body limit: read and discarded, and the form says why.
    let huge = "b".repeat(200 * 1024);
    let (status, doc) = page_of(
        root.post_form(
            "/admin/drafts/new",
            &[
                ("title", "Huge"),
                ("kind", "law"),
                ("authority", "Ministry"),
                ("text", &huge),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(summary_links(&doc), vec!["#f-text"]);
    assert!(summary_text(&doc).contains("larger than 32768 bytes"));
    let after = stored(&mut app.conn());
    assert_eq!(after[0], before[0] + 1, "only the first draft was stored");
}

#[tokio::test]
async fn a_draft_goes_from_the_browser_to_the_public_and_is_closed() {
    let app = spawn_app().await;
    let (root, root_id) = admin(&app).await;

    // Created with its text; the title comes from the text's heading.
    let res = root
        .post_form(
            "/admin/drafts/new",
            &[
                ("title", ""),
                ("kind", "law"),
                ("authority", "Ministry of Digital Development"),
                ("summary", "Digital services for everyone."),
                ("text", THREE_CHAPTERS),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(location, format!("/admin/drafts/{id}"));
    let (status, doc) = root.get_html(&location).await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&doc, ".flash"),
        vec!["The draft is created with 13 provisions."]
    );
    assert_eq!(texts(&doc, "h1"), vec!["Law on Digital Services"]);
    assert_eq!(
        texts(&doc, "#draft-working"),
        vec!["Version 1: 13 provisions"]
    );
    assert!(texts(&doc, "#publish-utc")[0].contains("UTC"));
    assert_eq!(attrs(&doc, "#f-opens_at", "type"), vec!["datetime-local"]);
    // Unpublished: listed for admins, hidden from the public.
    assert_eq!(
        app.get(&format!("/drafts/{id}")).await.status().as_u16(),
        404
    );
    let (_, doc) = root.get_html("/admin/drafts").await;
    assert_eq!(
        texts(&doc, "#drafts td.draft-title"),
        vec!["Law on Digital Services"]
    );
    assert_eq!(texts(&doc, "#drafts td.draft-status"), vec!["Unpublished"]);
    assert_eq!(
        texts(&doc, "#drafts td.draft-public"),
        vec!["Not published"]
    );

    // Re-imported: keys kept where the text survived.
    let edited = THREE_CHAPTERS
        .replace(
            "This Law regulates digital public services.",
            "This Law sets out the principles of digital government.\n\nThis Law regulates digital public services.",
        )
        .replace("free of charge", "free of charge and without discrimination")
        .replace("- *operator* — the body that runs a digital service.\n", "");
    let res = root
        .post_form(&format!("/admin/drafts/{id}/text"), &[("text", &edited)])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, doc) = root.get_html(&location).await;
    assert_eq!(
        texts(&doc, ".flash"),
        vec!["Text imported: 13 provisions, 12 kept their keys, 1 new, 1 removed."]
    );
    // A malformed re-import changes nothing and keeps the text.
    let before = stored(&mut app.conn());
    let (status, doc) = page_of(
        root.post_form(
            &format!("/admin/drafts/{id}/text"),
            &[("text", DUPLICATE_ARTICLE)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(summary_links(&doc), vec!["#f-text"]);
    assert!(texts(&doc, "#f-text")[0].contains("### Article 1. B"));
    assert_eq!(stored(&mut app.conn()), before);

    // Metadata edited.
    let res = root
        .post_form(
            &format!("/admin/drafts/{id}/edit"),
            &[
                ("title", "Law on Digital Public Services"),
                ("kind", "law"),
                ("authority", "Ministry of Digital Development"),
                ("summary", "Digital public services for everyone."),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let title: String = drafts::table
        .find(id)
        .select(drafts::title)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(title, "Law on Digital Public Services");

    // Publishing with a round that closes before it opens: refused, typed dates kept.
    let before = stored(&mut app.conn());
    let (status, doc) = page_of(
        root.post_form(
            &format!("/admin/drafts/{id}/publish"),
            &[
                ("opens_at", "2099-02-01T09:00"),
                ("closes_at", "2099-01-10T18:00"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(summary_links(&doc), vec!["#f-closes_at"]);
    assert!(summary_text(&doc).contains("Comments close: Comments must close after they open."));
    assert_eq!(
        attrs(&doc, "#f-opens_at", "value"),
        vec!["2099-02-01T09:00"]
    );
    assert_eq!(
        attrs(&doc, "#f-closes_at", "value"),
        vec!["2099-01-10T18:00"]
    );
    // Not a date, and a close in the past.
    let (status, doc) = page_of(
        root.post_form(
            &format!("/admin/drafts/{id}/publish"),
            &[("opens_at", "soon"), ("closes_at", "2001-01-01")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(summary_links(&doc), vec!["#f-opens_at"]);
    let (status, doc) = page_of(
        root.post_form(
            &format!("/admin/drafts/{id}/publish"),
            &[("opens_at", ""), ("closes_at", "2001-01-01")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(summary_text(&doc).contains("Comments close: must be in the future"));
    assert_eq!(stored(&mut app.conn()), before);
    assert_eq!(status_of(&app, id), "draft");

    // Published: the public page shows it.
    let res = root
        .post_form(
            &format!("/admin/drafts/{id}/publish"),
            &[("opens_at", ""), ("closes_at", "2099-01-15T18:00")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, doc) = root.get_html(&location).await;
    assert_eq!(
        texts(&doc, ".flash"),
        vec!["Published as version 1. Comments are open until 2099-01-15 18:00 UTC."]
    );
    assert_eq!(
        attrs(&doc, "#draft-public a", "href"),
        vec![format!("/drafts/{id}")]
    );
    let (status, doc) = app.get_html(&format!("/drafts/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "h1"), vec!["Law on Digital Public Services"]);
    let (_, doc) = root.get_html("/admin/drafts").await;
    assert_eq!(
        texts(&doc, "#drafts td.draft-status"),
        vec!["Open for comments"]
    );
    assert_eq!(
        attrs(&doc, "#drafts td.draft-public a", "href"),
        vec![format!("/drafts/{id}")]
    );

    // Published text and metadata cannot change any more.
    let (status, doc) = page_of(
        root.post_form(
            &format!("/admin/drafts/{id}/edit"),
            &[
                ("title", "Renamed"),
                ("kind", "law"),
                ("authority", "Ministry"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(summary_text(&doc).contains("only unpublished drafts can be edited"));

    // The lifecycle offers its next steps (never "open": that is publishing).
    let (_, doc) = root.get_html(&location).await;
    assert_eq!(
        attrs(&doc, "#f-status option", "value"),
        vec!["", "closed", "withdrawn"]
    );
    let before = stored(&mut app.conn());
    let (status, doc) = page_of(
        root.post_form(
            &format!("/admin/drafts/{id}/transition"),
            &[("status", "adopted"), ("note", "Too early")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(summary_links(&doc), vec!["#f-status"]);
    assert!(summary_text(&doc).contains("cannot move from 'open' to 'adopted'"));
    assert_eq!(texts(&doc, "#f-note"), vec!["Too early"]);
    assert_eq!(stored(&mut app.conn()), before);
    assert_eq!(status_of(&app, id), "open");

    let res = root
        .post_form(
            &format!("/admin/drafts/{id}/transition"),
            &[
                ("status", "closed"),
                ("note", "Closed early after the hearing"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(status_of(&app, id), "closed");
    let (actor, note): (String, Option<String>) = draft_transitions::table
        .filter(draft_transitions::draft_id.eq(id))
        .order(draft_transitions::id.desc())
        .select((draft_transitions::actor, draft_transitions::note))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(actor, format!("user:{root_id}"));
    assert_eq!(note.as_deref(), Some("Closed early after the hearing"));
    let (_, doc) = app.get_html(&format!("/drafts/{id}")).await;
    assert!(texts(&doc, ".badge").contains(&"Closed".to_string()));

    // Every step is in the audit log, by this admin.
    let actions: Vec<String> = audit_actions(&app, &format!("draft:{id}"))
        .into_iter()
        .map(|(actor, action)| {
            assert_eq!(actor, Some(root_id));
            action
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            "draft.create",
            "draft.import",
            "draft.edit",
            "draft.publish",
            "draft.transition"
        ]
    );
    let d = last_audit_detail(&app);
    assert_eq!(d["before"]["status"], "open");
    assert_eq!(d["after"]["status"], "closed");
}
