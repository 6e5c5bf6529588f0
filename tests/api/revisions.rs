//! Revisions prepared by the working group, the generated comparison table, and who may do
//! any of it — through the HTTP app on each backend, with a look at what is stored after
//! every step and every refusal.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use talqy::db::DbConn;
use talqy::db::schema::{
    audit_log, comments, dispositions, drafts, provisions, revision_links, versions,
    working_group_members,
};
use talqy::domain::{DraftStatus, time};
use talqy::services::comparison::{self, ChangeKind};
use talqy::services::drafts as draft_service;

use crate::helpers::{TestApp, assert_inert, attrs, spawn_app, texts};

pub const PASSWORD: &str = "correct horse battery staple";

pub const OPEN_DATA: &str = "# Law on Open Data

## Chapter 1. General provisions

### Article 1. Purpose

This Law governs the open data kept by public bodies.

### Article 2. Scope

It applies to every state body.

It does not apply to classified information.

### Article 3. Publication

Data sets are published within thirty days.

### Article 4. Fees

Access to open data is free of charge.
";

pub async fn page_of(res: reqwest::Response) -> (u16, scraper::Html) {
    let status = res.status().as_u16();
    (
        status,
        scraper::Html::parse_document(&res.text().await.unwrap()),
    )
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A published draft whose round has closed.
pub fn closed_draft(app: &TestApp, title: &str, markdown: &str) -> i64 {
    let id = app.published_draft(
        title,
        "law",
        "Ministry of Digital Development",
        markdown,
        30,
    );
    draft_service::transition(&mut app.conn(), id, DraftStatus::Closed, "test", None).unwrap();
    id
}

pub fn version_id(conn: &mut DbConn, draft_id: i64, number: i32) -> i64 {
    versions::table
        .filter(versions::draft_id.eq(draft_id))
        .filter(versions::number.eq(number))
        .select(versions::id)
        .first(conn)
        .unwrap()
}

pub fn add_member(app: &TestApp, draft_id: i64, user_id: i64, role: &str) {
    diesel::insert_into(working_group_members::table)
        .values((
            working_group_members::draft_id.eq(draft_id),
            working_group_members::user_id.eq(user_id),
            working_group_members::role.eq(role),
            working_group_members::created_at.eq(time::now()),
        ))
        .execute(&mut *app.conn())
        .unwrap();
}

/// A comment stored directly (the posting rules are tested elsewhere). Returns (id, tracking).
#[allow(clippy::too_many_arguments)]
pub fn insert_comment(
    conn: &mut DbConn,
    draft_id: i64,
    version_id: i64,
    key: Option<&str>,
    author_id: i64,
    respondent_type: &str,
    body: &str,
    status: &str,
    created_at: NaiveDateTime,
    parent: Option<(i64, String)>,
) -> (i64, String) {
    let id: i64 = diesel::insert_into(comments::table)
        .values((
            comments::draft_id.eq(draft_id),
            comments::version_id.eq(version_id),
            comments::provision_key.eq(key),
            comments::parent_id.eq(parent.as_ref().map(|p| p.0)),
            comments::path.eq(""),
            comments::depth.eq(if parent.is_some() { 1 } else { 0 }),
            comments::author_id.eq(author_id),
            comments::respondent_type.eq(respondent_type),
            comments::stance.eq("propose_change"),
            comments::body.eq(body),
            comments::body_html.eq(format!("<p>{body}</p>")),
            comments::status.eq(status),
            comments::tracking_number.eq(format!("pending-{}", uuid::Uuid::new_v4())),
            comments::content_hash.eq("x"),
            comments::idempotency_key.eq(uuid::Uuid::new_v4().to_string()),
            comments::created_at.eq(created_at),
            comments::withdrawn_at.eq((status == "withdrawn").then_some(created_at)),
        ))
        .returning(comments::id)
        .get_result(conn)
        .unwrap();
    let tracking = talqy::services::comments::tracking_number(id, created_at);
    let path = match &parent {
        Some((_, p)) => format!("{p}.{id:012}"),
        None => format!("{id:012}"),
    };
    let root = parent
        .as_ref()
        .and_then(|(_, p)| p.split('.').next().and_then(|r| r.parse::<i64>().ok()))
        .unwrap_or(id);
    diesel::update(comments::table.find(id))
        .set((
            comments::tracking_number.eq(&tracking),
            comments::path.eq(path),
            comments::root_id.eq(root),
        ))
        .execute(conn)
        .unwrap();
    (id, tracking)
}

/// A disposition as the triage pages would store it.
pub fn insert_disposition(
    conn: &mut DbConn,
    comment_id: i64,
    decision: &str,
    justification: &str,
    decided_at: NaiveDateTime,
    decided_by: Option<i64>,
) {
    diesel::insert_into(dispositions::table)
        .values((
            dispositions::comment_id.eq(comment_id),
            dispositions::decision.eq(decision),
            dispositions::justification.eq(justification),
            dispositions::decided_by.eq(decided_by),
            dispositions::decided_at.eq(decided_at),
            dispositions::updated_at.eq(decided_at),
        ))
        .execute(conn)
        .unwrap();
}

fn status_of(app: &TestApp, id: i64) -> String {
    drafts::table
        .find(id)
        .select(drafts::status)
        .first(&mut *app.conn())
        .unwrap()
}

fn keys_of(app: &TestApp, version_id: i64) -> Vec<String> {
    provisions::table
        .filter(provisions::version_id.eq(version_id))
        .order(provisions::position)
        .select(provisions::key)
        .load(&mut *app.conn())
        .unwrap()
}

/// What a revision action may touch.
fn stored(conn: &mut DbConn) -> [i64; 5] {
    [
        versions::table.count().get_result(conn).unwrap(),
        provisions::table.count().get_result(conn).unwrap(),
        revision_links::table.count().get_result(conn).unwrap(),
        audit_log::table.count().get_result(conn).unwrap(),
        drafts::table
            .filter(drafts::status.eq("in_review"))
            .count()
            .get_result(conn)
            .unwrap(),
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

async fn signed_in(app: &TestApp, email: &str, name: &str, admin: bool) -> (TestApp, i64) {
    let id = app.create_user(email, name, PASSWORD, true, admin);
    let client = app.new_client();
    client.sign_in(email, PASSWORD).await;
    (client, id)
}

#[tokio::test]
async fn only_the_working_group_and_admins_reach_the_revision_pages() {
    let app = spawn_app().await;
    let draft = closed_draft(&app, "Open Data", OPEN_DATA);
    let other = closed_draft(&app, "Other Law", OPEN_DATA);
    let (admin, _) = signed_in(&app, "root@example.org", "Root Admin", true).await;
    let (chair, chair_id) = signed_in(&app, "chair@example.org", "Aigerim Chair", false).await;
    let (member, member_id) = signed_in(&app, "member@example.org", "Daniyar Member", false).await;
    let (participant, _) = signed_in(&app, "citizen@example.org", "Plain Citizen", false).await;
    let (outsider, outsider_id) = signed_in(&app, "other@example.org", "Other Group", false).await;
    add_member(&app, draft, chair_id, "chair");
    add_member(&app, draft, member_id, "member");
    add_member(&app, other, outsider_id, "chair");
    let anonymous = app.new_client();
    let before = stored(&mut app.conn());

    let routes = talqy::routes::revisions::revision_route_table();
    assert!(routes.len() >= 12);
    for (method, path) in &routes {
        let path = path
            .replace("{id}", &draft.to_string())
            .replace("{key}", "ch1.art1.p1");
        for (who, client, expected) in [
            ("participant", &participant, 403),
            ("member of another draft", &outsider, 403),
            ("anonymous", &anonymous, 303),
        ] {
            let res = if method == actix_web::http::Method::GET {
                client.get(&path).await
            } else {
                // A valid CSRF token: the refusal is about who, not about the form.
                client
                    .post_form(
                        &path,
                        &[
                            ("body", "Changed by a stranger."),
                            ("comment", "1"),
                            ("change_summary", "x"),
                            ("kind", "paragraph"),
                        ],
                    )
                    .await
            };
            assert_eq!(res.status().as_u16(), expected, "{who}: {method} {path}");
            if expected == 303 {
                let to = location(&res);
                assert!(
                    to.starts_with("/login?next="),
                    "{who}: {method} {path} → {to}"
                );
                if method == actix_web::http::Method::GET {
                    assert!(to.contains("revision"), "{to}");
                }
            }
        }
    }
    assert_eq!(stored(&mut app.conn()), before, "refusals change nothing");
    assert_eq!(status_of(&app, draft), "closed");

    // Chair, member and admin all reach the page; only they see the link on the draft.
    for client in [&chair, &member, &admin] {
        let (status, doc) = client.get_html(&format!("/drafts/{draft}/revision")).await;
        assert_eq!(status, 200);
        assert_eq!(texts(&doc, "h1"), vec!["Revision of Open Data"]);
        let (_, page) = client.get_html(&format!("/drafts/{draft}")).await;
        assert_eq!(
            attrs(&page, "#revision-link", "href"),
            vec![format!("/drafts/{draft}/revision")]
        );
    }
    for client in [&participant, &outsider, &anonymous] {
        let (_, page) = client.get_html(&format!("/drafts/{draft}")).await;
        assert!(attrs(&page, "#revision-link", "href").is_empty());
    }
    // The member of the other draft is at home there.
    let (status, _) = outsider
        .get_html(&format!("/drafts/{other}/revision"))
        .await;
    assert_eq!(status, 200);
}

fn row_keys(doc: &scraper::Html) -> Vec<(String, String)> {
    let keys = attrs(doc, "#comparison tbody tr", "data-key");
    let changes = attrs(doc, "#comparison tbody tr", "data-change");
    keys.into_iter().zip(changes).collect()
}

#[tokio::test]
async fn a_revision_yields_exactly_the_expected_comparison_rows_and_linked_comments() {
    let app = spawn_app().await;
    let draft = closed_draft(&app, "Open Data", OPEN_DATA);
    let other = closed_draft(&app, "Other Law", OPEN_DATA);
    let (member, member_id) = signed_in(&app, "member@example.org", "Daniyar Member", false).await;
    add_member(&app, draft, member_id, "member");
    let author = app.create_user("citizen@example.org", "Asel Citizen", PASSWORD, true, false);
    let v1 = version_id(&mut app.conn(), draft, 1);
    assert_eq!(
        keys_of(&app, v1),
        vec![
            "ch1",
            "ch1.art1",
            "ch1.art1.p1",
            "ch1.art2",
            "ch1.art2.p1",
            "ch1.art2.p2",
            "ch1.art3",
            "ch1.art3.p1",
            "ch1.art4",
            "ch1.art4.p1"
        ]
    );

    // Comments on version 1, some answered.
    let at = time::now() - chrono::Duration::days(10);
    let (c_changed, c_changed2, c_removed, c_added, c_unlinked, foreign) = {
        let conn = &mut app.conn();
        let c_changed = insert_comment(
            conn,
            draft,
            v1,
            Some("ch1.art1.p1"),
            author,
            "citizen",
            "Say held, and cover all public bodies.",
            "published",
            at,
            None,
        );
        let c_changed2 = insert_comment(
            conn,
            draft,
            v1,
            Some("ch1.art1.p1"),
            author,
            "expert",
            "Kept is vague.",
            "published",
            at,
            None,
        );
        let c_removed = insert_comment(
            conn,
            draft,
            v1,
            Some("ch1.art2.p2"),
            author,
            "ngo",
            "Classified data should not be excluded wholesale.",
            "published",
            at,
            None,
        );
        let c_added = insert_comment(
            conn,
            draft,
            v1,
            Some("ch1.art3.p1"),
            author,
            "business",
            "Updates need a deadline too.",
            "published",
            at,
            None,
        );
        let c_unlinked = insert_comment(
            conn,
            draft,
            v1,
            Some("ch1.art3.p1"),
            author,
            "citizen",
            "Thirty days is fine.",
            "published",
            at,
            None,
        );
        insert_disposition(
            conn,
            c_changed.0,
            "accepted",
            "The wording now says held and covers all public bodies.",
            at + chrono::Duration::days(2),
            Some(member_id),
        );
        insert_disposition(
            conn,
            c_removed.0,
            "partially_accepted",
            "The exclusion is removed; the secrecy law still applies.",
            at + chrono::Duration::days(3),
            Some(member_id),
        );
        insert_disposition(
            conn,
            c_added.0,
            "accepted",
            "A seven-day deadline for updates is added.",
            at + chrono::Duration::days(4),
            Some(member_id),
        );
        let other_v1 = version_id(conn, other, 1);
        let foreign = insert_comment(
            conn,
            other,
            other_v1,
            Some("ch1.art1.p1"),
            author,
            "citizen",
            "On another draft.",
            "published",
            at,
            None,
        );
        (
            c_changed, c_changed2, c_removed, c_added, c_unlinked, foreign,
        )
    };

    // Start: version 2 is a private copy of version 1 with the same keys.
    let res = member
        .post_form(&format!("/drafts/{draft}/revision/start"), &[])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(status_of(&app, draft), "in_review");
    let v2 = version_id(&mut app.conn(), draft, 2);
    assert_eq!(keys_of(&app, v2), keys_of(&app, v1));
    let (status, _) = app.get_html(&format!("/drafts/{draft}/versions/2")).await;
    assert_eq!(status, 404, "the working version is not public");
    let base = format!("/drafts/{draft}/revision/provisions");

    // A refused edit keeps what was typed and changes nothing.
    let before = stored(&mut app.conn());
    let (status, doc) = page_of(
        member
            .post_form(
                &format!("{base}/ch1.art1.p1/edit"),
                &[("label", ""), ("body", "   ")],
            )
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-body"]);
    assert_eq!(stored(&mut app.conn()), before);

    // Changed.
    let res = member
        .post_form(
            &format!("{base}/ch1.art1.p1/edit"),
            &[
                ("label", ""),
                (
                    "body",
                    "This Law governs the open data held by all public bodies.",
                ),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    // Added, after the paragraph of article 3: a key no version has used.
    let res = member
        .post_form(
            &format!("/drafts/{draft}/revision/add"),
            &[
                ("after", "ch1.art3.p1"),
                ("kind", "paragraph"),
                ("label", ""),
                ("heading", ""),
                ("body", "Updates are published within seven days."),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(location(&res), format!("{base}/ch1.art3.p2"));
    // Removed.
    let res = member
        .post_form(&format!("{base}/ch1.art2.p2/delete"), &[])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    // Moved: the paragraph on fees goes into article 2.
    let res = member
        .post_form(
            &format!("{base}/ch1.art4.p1/move"),
            &[("after", "ch1.art2.p1")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        keys_of(&app, v2),
        vec![
            "ch1",
            "ch1.art1",
            "ch1.art1.p1",
            "ch1.art2",
            "ch1.art2.p1",
            "ch1.art4.p1",
            "ch1.art3",
            "ch1.art3.p1",
            "ch1.art3.p2",
            "ch1.art4"
        ]
    );
    let depth: i32 = provisions::table
        .filter(provisions::version_id.eq(v2))
        .filter(provisions::key.eq("ch1.art4.p1"))
        .select(provisions::depth)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(depth, 2);

    // Links: by tracking number, by id, and to the removed provision's key.
    for (key, comment) in [
        ("ch1.art1.p1", c_changed.1.clone()),
        ("ch1.art1.p1", c_changed2.0.to_string()),
        ("ch1.art3.p2", c_added.1.to_lowercase()),
        ("ch1.art2.p2", c_removed.1.clone()),
    ] {
        let res = member
            .post_form(&format!("{base}/{key}/link"), &[("comment", &comment)])
            .await;
        assert_eq!(res.status().as_u16(), 303, "{key} {comment}");
    }
    // Refused: a comment of another draft, an unknown one, a second link of the same one.
    let before = stored(&mut app.conn());
    for (comment, expected) in [
        (foreign.1.as_str(), "No comment on this draft"),
        ("TLQ-2020-99999999", "No comment on this draft"),
        (c_changed.1.as_str(), "already linked"),
        ("", "number"),
    ] {
        let (status, doc) = page_of(
            member
                .post_form(&format!("{base}/ch1.art1.p1/link"), &[("comment", comment)])
                .await,
        )
        .await;
        assert_eq!(status, 422, "{comment}");
        assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-comment"]);
        assert!(
            texts(&doc, ".error-summary").join(" ").contains(expected),
            "{comment}"
        );
        assert_eq!(
            attrs(&doc, "#f-comment", "value"),
            vec![comment.to_string()]
        );
    }
    assert_eq!(stored(&mut app.conn()), before);
    // The provision page shows the linked comments with their dispositions.
    let (_, doc) = member.get_html(&format!("{base}/ch1.art1.p1")).await;
    assert_eq!(
        texts(&doc, "#linked .tracking"),
        vec![c_changed.1.clone(), c_changed2.1.clone()]
    );
    assert_eq!(texts(&doc, "#linked .decision-accepted"), vec!["Accepted"]);
    assert_eq!(
        texts(&doc, "#linked .decision-none"),
        vec!["Not yet answered"]
    );

    // The overview shows the working text with each provision's state, the removed one, the
    // preview of the table and the history of the revision.
    let res = member.get(&format!("/drafts/{draft}/revision")).await;
    assert_eq!(res.status().as_u16(), 200);
    let html = res.text().await.unwrap();
    assert_inert(&html);
    let doc = scraper::Html::parse_document(&html);
    let states: Vec<(String, String)> = attrs(&doc, "#working-text tbody tr", "data-key")
        .into_iter()
        .zip(attrs(&doc, "#working-text tbody tr", "data-change"))
        .filter(|(_, c)| c != "unchanged")
        .collect();
    assert_eq!(
        states,
        vec![
            ("ch1.art1.p1".to_string(), "changed".to_string()),
            ("ch1.art4.p1".to_string(), "moved".to_string()),
            ("ch1.art3.p2".to_string(), "added".to_string()),
        ]
    );
    assert_eq!(attrs(&doc, "#removed li", "data-key"), vec!["ch1.art2.p2"]);
    assert_eq!(attrs(&doc, "#comparison tbody tr", "data-key").len(), 4);
    assert_eq!(texts(&doc, "#revision-history > li").len(), 9);
    let (status, doc) = member.get_html(&format!("{base}/ch1.art2.p2")).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "#provision-change"), vec!["Removed"]);
    assert!(attrs(&doc, "form[action$='/delete']", "action").is_empty());
    let (status, doc) = member
        .get_html(&format!("/drafts/{draft}/revision/add?after=ch1.art1"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        attrs(&doc, "#f-after option[selected]", "value"),
        vec!["ch1.art1"]
    );

    // Publishing needs a change summary; what was typed stays.
    let (status, doc) = page_of(
        member
            .post_form(
                &format!("/drafts/{draft}/revision/publish"),
                &[("change_summary", "  ")],
            )
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        attrs(&doc, ".error-summary a", "href"),
        vec!["#f-change_summary"]
    );
    assert_eq!(status_of(&app, draft), "in_review");
    let summary = "Wording on scope and deadlines revised after the public discussion.";
    let res = member
        .post_form(
            &format!("/drafts/{draft}/revision/publish"),
            &[("change_summary", summary)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(location(&res), format!("/drafts/{draft}"));
    assert_eq!(status_of(&app, draft), "revised");
    let (published, stored_summary): (Option<NaiveDateTime>, String) = versions::table
        .find(v2)
        .select((versions::published_at, versions::change_summary))
        .first(&mut *app.conn())
        .unwrap();
    assert!(published.is_some());
    assert_eq!(stored_summary, summary);

    // The generated table: exactly four rows, in the new document order, the unchanged absent.
    let rows = comparison::table(&mut app.conn(), draft, 1, 2).unwrap();
    let got: Vec<(&str, ChangeKind)> = rows.iter().map(|r| (r.key.as_str(), r.change)).collect();
    assert_eq!(
        got,
        vec![
            ("ch1.art1.p1", ChangeKind::Changed),
            // Removed where it stood: right after the paragraph that preceded it.
            ("ch1.art2.p2", ChangeKind::Removed),
            ("ch1.art4.p1", ChangeKind::Moved),
            ("ch1.art3.p2", ChangeKind::Added),
        ]
    );
    assert!(
        rows.iter().all(|r| r.key != "ch1.art3.p1"),
        "unchanged is no row"
    );
    let by_key = |k: &str| rows.iter().find(|r| r.key == k).unwrap();
    let changed = by_key("ch1.art1.p1");
    assert_eq!(
        changed.old_text.as_deref(),
        Some("This Law governs the open data kept by public bodies.")
    );
    assert_eq!(
        changed.new_text.as_deref(),
        Some("This Law governs the open data held by all public bodies.")
    );
    assert_eq!(
        changed.diff_html,
        "This Law governs the open data <del>kept</del> <ins>held</ins> by <ins>all</ins> public bodies."
    );
    let linked = |k: &str| -> Vec<(String, Option<String>)> {
        by_key(k)
            .comments
            .iter()
            .map(|c| (c.tracking_number.clone(), c.decision.clone()))
            .collect()
    };
    assert_eq!(
        linked("ch1.art1.p1"),
        vec![
            (c_changed.1.clone(), Some("accepted".into())),
            (c_changed2.1.clone(), None)
        ]
    );
    assert_eq!(
        linked("ch1.art3.p2"),
        vec![(c_added.1.clone(), Some("accepted".into()))]
    );
    assert_eq!(
        linked("ch1.art2.p2"),
        vec![(c_removed.1.clone(), Some("partially_accepted".into()))]
    );
    assert!(linked("ch1.art4.p1").is_empty());
    assert_eq!(
        by_key("ch1.art2.p2").old_text.as_deref(),
        Some("It does not apply to classified information.")
    );
    assert_eq!(by_key("ch1.art2.p2").new_text, None);
    assert_eq!(by_key("ch1.art3.p2").old_text, None);
    assert_eq!(
        by_key("ch1.art4.p1").old_text,
        by_key("ch1.art4.p1").new_text
    );
    assert!(
        !rows
            .iter()
            .flat_map(|r| &r.comments)
            .any(|c| c.id == c_unlinked.0)
    );

    // The public page says the same, with the word differences marked.
    let res = app.get(&format!("/drafts/{draft}/compare/1/2")).await;
    assert_eq!(res.status().as_u16(), 200);
    let html = res.text().await.unwrap();
    assert_inert(&html);
    let doc = scraper::Html::parse_document(&html);
    assert_eq!(
        row_keys(&doc),
        vec![
            ("ch1.art1.p1".into(), "changed".into()),
            ("ch1.art2.p2".into(), "removed".into()),
            ("ch1.art4.p1".into(), "moved".into()),
            ("ch1.art3.p2".into(), "added".into()),
        ]
    );
    assert_eq!(texts(&doc, "#comparison caption").len(), 1);
    assert_eq!(attrs(&doc, "#comparison thead th", "scope"), vec!["col"; 5]);
    assert_eq!(
        texts(&doc, "tr[data-key='ch1.art1.p1'] td.new-text del"),
        vec!["kept"]
    );
    assert_eq!(
        texts(&doc, "tr[data-key='ch1.art1.p1'] td.new-text ins"),
        vec!["held", "all"]
    );
    assert_eq!(
        texts(&doc, "tr[data-key='ch1.art3.p2'] td.new-text ins"),
        vec!["Updates are published within seven days."]
    );
    assert_eq!(
        texts(&doc, "tr[data-key='ch1.art1.p1'] .linked .tracking"),
        vec![c_changed.1.clone(), c_changed2.1.clone()]
    );
    assert_eq!(
        texts(&doc, "tr[data-key='ch1.art2.p2'] .justification"),
        vec!["The exclusion is removed; the secrecy law still applies."]
    );
    assert_eq!(texts(&doc, ".change-summary"), vec![summary]);
    // The draft's version history links to it.
    let (_, page) = app.get_html(&format!("/drafts/{draft}")).await;
    assert_eq!(
        attrs(&page, ".versions .compare-link", "href"),
        vec![format!("/drafts/{draft}/compare/1/2")]
    );

    // The CSV has the same rows.
    let res = app.get(&format!("/drafts/{draft}/compare/1/2.csv")).await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".csv")
    );
    let body = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[..5],
        ["key", "change", "provision", "old_text", "new_text"]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let csv_rows: Vec<(String, String)> = records
        .iter()
        .map(|r| (r[0].to_string(), r[1].to_string()))
        .collect();
    assert_eq!(csv_rows, row_keys(&doc));
    assert_eq!(
        &records[0][3],
        "This Law governs the open data kept by public bodies."
    );
    assert_eq!(
        &records[0][4],
        "This Law governs the open data held by all public bodies."
    );
    assert_eq!(&records[0][5], format!("{} {}", c_changed.1, c_changed2.1));
    assert!(records[1][6].contains("partially_accepted"));

    // The print layout: the same table, no navigation.
    let (status, print) = app
        .get_html(&format!("/drafts/{draft}/compare/1/2?print=1"))
        .await;
    assert_eq!(status, 200);
    assert!(texts(&print, ".site-header, nav").is_empty());
    assert_eq!(row_keys(&print), row_keys(&doc));

    // Comments on version 1 stay readable and say which version they were on.
    let (status, doc) = app
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1.p1"))
        .await;
    assert_eq!(status, 200);
    let on_v1 = texts(&doc, &format!("#c{} .comment-meta .badge", c_changed.0));
    assert!(on_v1.contains(&"On version 1".to_string()), "{on_v1:?}");
    let (status, doc) = app
        .get_html(&format!(
            "/drafts/{draft}/versions/1/provisions/ch1.art2.p2"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(
        texts(&doc, &format!("#c{} .comment-body", c_removed.0))[0].contains("Classified data")
    );

    // Every step is in the audit log, by the member.
    let actions: Vec<String> = audit_actions(&app, &format!("draft:{draft}"))
        .into_iter()
        .filter(|(actor, _)| *actor == Some(member_id))
        .map(|(_, a)| a)
        .collect();
    assert_eq!(
        actions,
        vec![
            "revision.start",
            "revision.edit",
            "revision.add",
            "revision.delete",
            "revision.move",
            "revision.link",
            "revision.link",
            "revision.link",
            "revision.link",
            "revision.publish"
        ]
    );
    let detail: String = audit_log::table
        .filter(audit_log::action.eq("revision.edit"))
        .select(audit_log::detail)
        .first(&mut *app.conn())
        .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(
        detail["before"]["body"],
        "This Law governs the open data kept by public bodies."
    );
    assert_eq!(
        detail["after"]["body"],
        "This Law governs the open data held by all public bodies."
    );

    // The published text cannot be edited any more.
    let before = stored(&mut app.conn());
    let (status, doc) = page_of(
        member
            .post_form(&format!("{base}/ch1.art1.p1/edit"), &[("body", "Again.")])
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-revision"]);
    assert_eq!(stored(&mut app.conn()), before);
}

#[tokio::test]
async fn added_keys_are_new_and_reimport_keeps_moved_provisions() {
    let app = spawn_app().await;
    let md = "## Chapter 1. General\n\n### Article 1. One\n\nFirst rule.\n\nSecond rule.\n\n### Article 2. Two\n\nThird rule.\n";
    let draft = closed_draft(&app, "Small Law", md);
    let (admin, admin_id) = signed_in(&app, "root@example.org", "Root Admin", true).await;
    let res = admin
        .post_form(&format!("/drafts/{draft}/revision/start"), &[])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let v2 = version_id(&mut app.conn(), draft, 2);
    assert_eq!(
        keys_of(&app, v2),
        vec![
            "ch1",
            "ch1.art1",
            "ch1.art1.p1",
            "ch1.art1.p2",
            "ch1.art2",
            "ch1.art2.p1"
        ]
    );
    let base = format!("/drafts/{draft}/revision/provisions");

    // Delete the second rule; a paragraph added in its place gets a key never used.
    admin
        .post_form(&format!("{base}/ch1.art1.p2/delete"), &[])
        .await;
    let res = admin
        .post_form(
            &format!("/drafts/{draft}/revision/add"),
            &[
                ("after", "ch1.art1.p1"),
                ("kind", "paragraph"),
                ("body", "A new second rule."),
            ],
        )
        .await;
    assert_eq!(location(&res), format!("{base}/ch1.art1.p3"));
    // An article added after article 1 goes after its paragraphs, in the chapter.
    let res = admin
        .post_form(
            &format!("/drafts/{draft}/revision/add"),
            &[
                ("after", "ch1.art1"),
                ("kind", "article"),
                ("label", "Article 1-1."),
                ("heading", "Inserted"),
            ],
        )
        .await;
    assert_eq!(location(&res), format!("{base}/ch1.art3"));
    assert_eq!(
        keys_of(&app, v2),
        vec![
            "ch1",
            "ch1.art1",
            "ch1.art1.p1",
            "ch1.art1.p3",
            "ch1.art3",
            "ch1.art2",
            "ch1.art2.p1"
        ]
    );
    // Refusals: an article without heading or number, an unknown kind, moving into itself.
    let before = stored(&mut app.conn());
    let (status, doc) = page_of(
        admin
            .post_form(
                &format!("/drafts/{draft}/revision/add"),
                &[
                    ("after", "ch1.art1"),
                    ("kind", "article"),
                    ("label", "Art x"),
                    ("heading", ""),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(
        status,
        303,
        "a number alone is enough: {:?}",
        texts(&doc, ".error-summary")
    );
    let after_one = stored(&mut app.conn());
    assert_ne!(after_one, before);
    let (status, doc) = page_of(
        admin
            .post_form(
                &format!("/drafts/{draft}/revision/add"),
                &[
                    ("after", "ch1.art1"),
                    ("kind", "article"),
                    ("label", ""),
                    ("heading", ""),
                    ("body", "kept"),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-heading"]);
    assert_eq!(texts(&doc, "#f-body"), vec!["kept"]);
    let (status, doc) = page_of(
        admin
            .post_form(
                &format!("/drafts/{draft}/revision/add"),
                &[("kind", "clause"), ("body", "x")],
            )
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-kind"]);
    let (status, doc) = page_of(
        admin
            .post_form(
                &format!("{base}/ch1.art1/move"),
                &[("after", "ch1.art1.p1")],
            )
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-after"]);
    assert_eq!(stored(&mut app.conn()), after_one);

    // Re-import: the third rule moves into a new article 3 and keeps its key; the deleted
    // second rule comes back with its old key; unchanged ones keep theirs.
    let text = "## Chapter 1. General\n\n### Article 1. One\n\nFirst rule.\n\nSecond rule.\n\n### Article 2. Two\n\nA brand new rule.\n\n### Article 3. Three\n\nThird rule.\n";
    let res = admin
        .post_form(
            &format!("/drafts/{draft}/revision/import"),
            &[("text", text)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let keys = keys_of(&app, v2);
    assert_eq!(
        &keys[..5],
        ["ch1", "ch1.art1", "ch1.art1.p1", "ch1.art1.p2", "ch1.art2"]
    );
    assert_eq!(
        keys[keys.len() - 1],
        "ch1.art2.p1",
        "the third rule kept its key: {keys:?}"
    );
    let rows = comparison::table_between(
        &mut app.conn(),
        &versions::table
            .filter(versions::id.eq(version_id(&mut app.conn(), draft, 1)))
            .select(talqy::db::models::VersionRow::as_select())
            .first(&mut *app.conn())
            .unwrap(),
        &versions::table
            .filter(versions::id.eq(v2))
            .select(talqy::db::models::VersionRow::as_select())
            .first(&mut *app.conn())
            .unwrap(),
    )
    .unwrap();
    let moved: Vec<&str> = rows
        .iter()
        .filter(|r| r.change == ChangeKind::Moved)
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(moved, vec!["ch1.art2.p1"]);
    assert!(
        rows.iter().all(|r| r.key != "ch1.art1.p2"),
        "the second rule is unchanged again"
    );
    // No key of the new text names something another version used for other text.
    let audit: Vec<(Option<i64>, String)> = audit_actions(&app, &format!("draft:{draft}"));
    assert!(audit.contains(&(Some(admin_id), "revision.import".to_string())));
    // A bad text is refused and kept.
    let (status, doc) = page_of(
        admin
            .post_form(
                &format!("/drafts/{draft}/revision/import"),
                &[("text", "   ")],
            )
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-text"]);
}

#[tokio::test]
async fn a_revision_can_open_a_new_round_and_is_refused_while_the_round_is_open() {
    let app = spawn_app().await;
    let draft = app.published_draft("Open Data", "law", "Ministry", OPEN_DATA, 30);
    let (member, member_id) = signed_in(&app, "member@example.org", "Daniyar Member", false).await;
    add_member(&app, draft, member_id, "chair");
    // While comments are open, no revision starts.
    let before = stored(&mut app.conn());
    let (status, doc) = page_of(
        member
            .post_form(&format!("/drafts/{draft}/revision/start"), &[])
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("consultation has closed")
    );
    assert_eq!(stored(&mut app.conn()), before);

    draft_service::transition(&mut app.conn(), draft, DraftStatus::Closed, "test", None).unwrap();
    member
        .post_form(&format!("/drafts/{draft}/revision/start"), &[])
        .await;
    // Starting twice opens no second version.
    member
        .post_form(&format!("/drafts/{draft}/revision/start"), &[])
        .await;
    let n: i64 = versions::table
        .filter(versions::draft_id.eq(draft))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 2);
    // Nothing changed yet: publishing is refused.
    let (status, doc) = page_of(
        member
            .post_form(
                &format!("/drafts/{draft}/revision/publish"),
                &[("change_summary", "No change.")],
            )
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("Nothing differs")
    );
    assert_eq!(attrs(&doc, "#f-change_summary", "id").len(), 1);
    assert_eq!(texts(&doc, "#f-change_summary"), vec!["No change."]);
    member
        .post_form(
            &format!("/drafts/{draft}/revision/provisions/ch1.art3.p1/edit"),
            &[("body", "Data sets are published within ten days.")],
        )
        .await;
    // A round that closes in the past is refused, with the dates kept.
    let (status, doc) = page_of(
        member
            .post_form(
                &format!("/drafts/{draft}/revision/publish"),
                &[
                    ("change_summary", "Shorter deadline."),
                    ("new_round", "1"),
                    ("closes_at", "2001-01-01"),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        attrs(&doc, ".error-summary a", "href"),
        vec!["#f-closes_at"]
    );
    assert_eq!(attrs(&doc, "#f-closes_at", "value"), vec!["2001-01-01"]);
    assert_eq!(status_of(&app, draft), "in_review");
    let closes = (time::now() + chrono::Duration::days(20))
        .format("%Y-%m-%d")
        .to_string();
    let res = member
        .post_form(
            &format!("/drafts/{draft}/revision/publish"),
            &[
                ("change_summary", "Shorter deadline."),
                ("new_round", "1"),
                ("closes_at", &closes),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(status_of(&app, draft), "open");
    // The public page shows version 2 open for comments, and the latest report is its round.
    let (_, doc) = app.get_html(&format!("/drafts/{draft}")).await;
    assert_eq!(
        attrs(&doc, "#report-link", "href"),
        vec![format!("/drafts/{draft}/versions/2/report")]
    );
    let (status, doc) = app.get_html(&format!("/drafts/{draft}/report")).await;
    assert_eq!(status, 200);
    assert!(texts(&doc, "#report-round")[0].contains("version 2"));
    let (status, _) = app.get_html(&format!("/drafts/{draft}/compare/2/1")).await;
    assert_eq!(status, 404);
    let (status, _) = app.get_html(&format!("/drafts/{draft}/compare/1/3")).await;
    assert_eq!(status, 404);
}
