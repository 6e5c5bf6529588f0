//! Triage by the working group: who may reach it, the queue's filters and counts, bulk
//! actions on exactly the selected comments, dispositions (justification, duplicates),
//! the public answer without anything private, the author's email, and the audit trail.

use diesel::prelude::*;
use talqy::db::DbConn;
use talqy::db::models::UserRow;
use talqy::db::schema::{
    audit_log, comments, dispositions, jobs, organization_representatives, organizations, triage,
    triage_notes, triage_tags, users,
};
use talqy::services::comments::{self as comment_service, CommentInput, Target};
use talqy::services::working_groups;

use crate::helpers::{THREE_CHAPTERS, TestApp, attrs, spawn_app, texts};

const PASSWORD: &str = "correct horse battery staple";
const JUSTIFICATION: &str = "The working group agrees: the wording will be clarified in version 2.";

struct Fixture {
    app: TestApp,
    draft: i64,
    other_draft: i64,
    admin: TestApp,
    chair: TestApp,
    member: TestApp,
    participant: TestApp,
    outsider_member: TestApp,
    chair_id: i64,
    member_id: i64,
    author_id: i64,
}

fn user_row(conn: &mut DbConn, id: i64) -> UserRow {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .unwrap()
}

/// Posts a comment as `author` on `key` (None: the whole draft), or a reply to `parent`.
#[allow(clippy::too_many_arguments)]
fn post(
    app: &TestApp,
    author: i64,
    draft: i64,
    key: Option<&str>,
    parent: Option<i64>,
    stance: &str,
    body: &str,
    organization: Option<i64>,
) -> i64 {
    let conn: &mut DbConn = &mut app.conn();
    let user = user_row(conn, author);
    comment_service::post(
        conn,
        &user,
        &Target {
            draft_id: draft,
            provision_key: key.map(str::to_string),
        },
        parent,
        &CommentInput {
            stance: stance.into(),
            body: body.into(),
            organization_id: organization.map(|o| o.to_string()).unwrap_or_default(),
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            ..CommentInput::default()
        },
    )
    .unwrap()
    .id
}

async fn signed_in(app: &TestApp, email: &str, name: &str, admin: bool) -> (TestApp, i64) {
    let id = app.create_user(email, name, PASSWORD, true, admin);
    let client = app.new_client();
    client.sign_in(email, PASSWORD).await;
    (client, id)
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let draft = app.published_draft("Cyber Shield", "concept", "Ministry", THREE_CHAPTERS, 30);
    let other_draft = app.published_draft("Other Law", "law", "Ministry", THREE_CHAPTERS, 30);
    let (admin, _) = signed_in(&app, "admin@example.org", "Ada Admin", true).await;
    let (chair, chair_id) = signed_in(&app, "chair@example.org", "Zarina Chairwoman", false).await;
    let (member, member_id) = signed_in(&app, "member@example.org", "Marat Member", false).await;
    let (participant, _) = signed_in(&app, "p@example.org", "Pat Participant", false).await;
    let (outsider_member, _) = signed_in(&app, "o@example.org", "Oleg Outsider", false).await;
    let author_id = app.create_user(
        "author@example.org",
        "Aigerim Author",
        PASSWORD,
        true,
        false,
    );
    {
        let conn: &mut DbConn = &mut app.conn();
        working_groups::add(conn, None, draft, "chair@example.org", "chair").unwrap();
        working_groups::add(conn, None, draft, "member@example.org", "member").unwrap();
        working_groups::add(conn, None, other_draft, "o@example.org", "member").unwrap();
    }
    Fixture {
        app,
        draft,
        other_draft,
        admin,
        chair,
        member,
        participant,
        outsider_member,
        chair_id,
        member_id,
        author_id,
    }
}

macro_rules! count {
    ($conn:expr, $table:expr) => {
        $table.count().get_result::<i64>($conn).unwrap()
    };
}

/// Everything triage may have written (with their contents), to compare before and after a
/// refusal.
type Snapshot = (
    Vec<(i64, String, Option<i64>)>,
    Vec<(i64, String)>,
    i64,
    Vec<(i64, String, String)>,
    i64,
    i64,
);

fn snapshot(app: &TestApp) -> Snapshot {
    let conn: &mut DbConn = &mut app.conn();
    (
        triage::table
            .order(triage::comment_id)
            .select((triage::comment_id, triage::status, triage::assignee_id))
            .load(conn)
            .unwrap(),
        triage_tags::table
            .order(triage_tags::id)
            .select((triage_tags::comment_id, triage_tags::tag))
            .load(conn)
            .unwrap(),
        count!(conn, triage_notes::table),
        dispositions::table
            .order(dispositions::id)
            .select((
                dispositions::comment_id,
                dispositions::decision,
                dispositions::justification,
            ))
            .load(conn)
            .unwrap(),
        count!(conn, audit_log::table),
        count!(conn, jobs::table),
    )
}

fn queue_ids(doc: &scraper::Html) -> Vec<i64> {
    attrs(doc, "#queue tbody tr", "data-id")
        .into_iter()
        .map(|s| s.parse().unwrap())
        .collect()
}

fn status_count(doc: &scraper::Html, status: &str) -> i64 {
    texts(
        doc,
        &format!("#status-counts li[data-status={status}] .count"),
    )[0]
    .parse()
    .unwrap()
}

fn triage_status(app: &TestApp, id: i64) -> Option<(String, Option<i64>)> {
    triage::table
        .find(id)
        .select((triage::status, triage::assignee_id))
        .first(&mut *app.conn())
        .optional()
        .unwrap()
}

fn tags(app: &TestApp, id: i64) -> Vec<String> {
    triage_tags::table
        .filter(triage_tags::comment_id.eq(id))
        .order(triage_tags::tag)
        .select(triage_tags::tag)
        .load(&mut *app.conn())
        .unwrap()
}

fn decision(app: &TestApp, id: i64) -> Option<(String, Option<i64>, String)> {
    dispositions::table
        .filter(dispositions::comment_id.eq(id))
        .select((
            dispositions::decision,
            dispositions::duplicate_of,
            dispositions::justification,
        ))
        .first(&mut *app.conn())
        .optional()
        .unwrap()
}

fn tracking(app: &TestApp, id: i64) -> String {
    comments::table
        .find(id)
        .select(comments::tracking_number)
        .first(&mut *app.conn())
        .unwrap()
}

#[tokio::test]
async fn only_the_working_group_and_admins_reach_triage() {
    let f = fixture().await;
    let c = post(
        &f.app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "Too vague.",
        None,
    );
    let queue = format!("/drafts/{}/triage", f.draft);
    let page = format!("/drafts/{}/triage/comments/{c}", f.draft);

    // Anonymous visitors are sent to sign in and come back.
    let anonymous = f.app.new_client();
    for path in [&queue, &page] {
        let res = anonymous.get(path).await;
        assert_eq!(res.status().as_u16(), 303, "{path}");
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with("/login?next="), "{location}");
    }
    // Participants and members of another draft's group are refused.
    for (who, client) in [
        ("participant", &f.participant),
        ("member of another group", &f.outsider_member),
    ] {
        for path in [&queue, &page] {
            let (status, _) = client.get_html(path).await;
            assert_eq!(status, 403, "{who} on {path}");
        }
    }
    // The group (chair and member) and admins get in.
    for (who, client) in [
        ("chair", &f.chair),
        ("member", &f.member),
        ("admin", &f.admin),
    ] {
        let (status, doc) = client.get_html(&queue).await;
        assert_eq!(status, 200, "{who} on the queue");
        assert_eq!(queue_ids(&doc), vec![c], "{who}");
        let (status, doc) = client.get_html(&page).await;
        assert_eq!(status, 200, "{who} on the comment page");
        assert_eq!(texts(&doc, "h1").len(), 1);
    }
    // A comment of another draft is not found through this draft.
    let foreign = post(
        &f.app,
        f.author_id,
        f.other_draft,
        None,
        None,
        "support",
        "Fine.",
        None,
    );
    let (status, _) = f
        .chair
        .get_html(&format!("/drafts/{}/triage/comments/{foreign}", f.draft))
        .await;
    assert_eq!(status, 404);

    // Every POST route refuses the same people, and nothing is written.
    let chair_id = f.chair_id.to_string();
    let cid = c.to_string();
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("{page}/assign"), vec![("assignee_id", &chair_id)]),
        (format!("{page}/tags"), vec![("tag", "privacy")]),
        (format!("{page}/tags/remove"), vec![("tag", "privacy")]),
        (format!("{page}/notes"), vec![("body", "Check with legal.")]),
        (format!("{page}/status"), vec![("status", "in_review")]),
        (
            format!("{page}/disposition"),
            vec![("decision", "accepted"), ("justification", JUSTIFICATION)],
        ),
        (
            format!("{queue}/bulk"),
            vec![("ids", &cid), ("action", "tag"), ("tag", "x")],
        ),
    ];
    let before = snapshot(&f.app);
    for (path, fields) in &posts {
        let res = anonymous.post_raw(path, fields, None).await;
        assert_eq!(res.status().as_u16(), 303, "anonymous POST {path}");
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with("/login"), "{location}");
        for client in [&f.participant, &f.outsider_member] {
            let res = client.post_form(path, fields).await;
            assert_eq!(res.status().as_u16(), 403, "POST {path}");
        }
    }
    assert_eq!(snapshot(&f.app), before, "refused requests changed nothing");
    // The same requests from the group go through.
    for (path, fields) in &posts {
        let res = f.member.post_form(path, fields).await;
        assert_eq!(res.status().as_u16(), 303, "member POST {path}");
    }
    assert_eq!(decision(&f.app, c).unwrap().0, "accepted");
    assert_eq!(tags(&f.app, c), vec!["x".to_string()]);
}

#[tokio::test]
async fn the_draft_page_links_to_triage_only_for_the_group_and_admins() {
    let f = fixture().await;
    let path = format!("/drafts/{}", f.draft);
    let link = format!("/drafts/{}/triage", f.draft);
    let has_link = |doc: &scraper::Html| attrs(doc, ".triage-link a", "href").contains(&link);
    for client in [&f.chair, &f.member, &f.admin] {
        let (_, doc) = client.get_html(&path).await;
        assert!(has_link(&doc));
    }
    for client in [&f.participant, &f.outsider_member, &f.app.new_client()] {
        let (status, doc) = client.get_html(&path).await;
        assert_eq!(status, 200);
        assert!(!has_link(&doc));
    }
}

#[tokio::test]
async fn a_disposition_needs_a_justification_of_20_to_5000_characters() {
    let f = fixture().await;
    let c = post(
        &f.app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "Vague.",
        None,
    );
    let path = format!("/drafts/{}/triage/comments/{c}/disposition", f.draft);
    let before = snapshot(&f.app);
    let too_long = "x".repeat(5001);
    for justification in ["", "   ", "Too short, sorry.", &too_long] {
        let res = f
            .chair
            .post_form(
                &path,
                &[("decision", "rejected"), ("justification", justification)],
            )
            .await;
        assert_eq!(
            res.status().as_u16(),
            422,
            "{} characters",
            justification.len()
        );
        let doc = scraper::Html::parse_document(&res.text().await.unwrap());
        assert_eq!(
            attrs(&doc, ".error-summary a", "href"),
            vec!["#f-justification"]
        );
        assert_eq!(
            attrs(&doc, "#f-justification", "aria-invalid"),
            vec!["true"]
        );
    }
    // Missing fields are a validation error too, not a bad request.
    let res = f.chair.post_form(&path, &[]).await;
    assert_eq!(res.status().as_u16(), 422);
    let res = f
        .chair
        .post_form(
            &path,
            &[("decision", "maybe"), ("justification", JUSTIFICATION)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(
        snapshot(&f.app),
        before,
        "nothing stored, audited or mailed"
    );
    assert!(f.app.take_emails().await.is_empty());

    // Exactly 20 characters is enough.
    let res = f
        .chair
        .post_form(
            &path,
            &[
                ("decision", "rejected"),
                ("justification", "Twenty characters ok"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(decision(&f.app, c).unwrap().0, "rejected");
    assert_eq!(triage_status(&f.app, c).unwrap().0, "decided");
}

#[tokio::test]
async fn a_duplicate_must_point_at_another_comment_of_the_same_draft() {
    let f = fixture().await;
    let original = post(
        &f.app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "Define 'critical'.",
        None,
    );
    let copy = post(
        &f.app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "Please define critical.",
        None,
    );
    let elsewhere = post(
        &f.app,
        f.author_id,
        f.other_draft,
        None,
        None,
        "object",
        "Other draft.",
        None,
    );
    let path = format!("/drafts/{}/triage/comments/{copy}/disposition", f.draft);
    let before = snapshot(&f.app);
    for (target, why) in [
        (elsewhere.to_string(), "a comment of another draft"),
        (
            tracking(&f.app, elsewhere),
            "another draft's tracking number",
        ),
        (copy.to_string(), "itself"),
        (tracking(&f.app, copy), "its own tracking number"),
        ("99999999".to_string(), "an unknown id"),
        (
            "TLQ-2020-99999999".to_string(),
            "an unknown tracking number",
        ),
        (String::new(), "nothing"),
    ] {
        let res = f
            .member
            .post_form(
                &path,
                &[
                    ("decision", "duplicate"),
                    ("justification", JUSTIFICATION),
                    ("duplicate_of", &target),
                ],
            )
            .await;
        assert_eq!(res.status().as_u16(), 422, "{why}");
        let doc = scraper::Html::parse_document(&res.text().await.unwrap());
        assert_eq!(
            attrs(&doc, ".error-summary a", "href"),
            vec!["#f-duplicate_of"],
            "{why}"
        );
    }
    assert_eq!(snapshot(&f.app), before);

    // The original's tracking number, typed in lower case, is accepted.
    let res = f
        .member
        .post_form(
            &path,
            &[
                ("decision", "duplicate"),
                ("justification", JUSTIFICATION),
                ("duplicate_of", &tracking(&f.app, original).to_lowercase()),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(decision(&f.app, copy).unwrap().1, Some(original));
    // The public thread links the duplicate to its original.
    let (_, doc) = f
        .app
        .new_client()
        .get_html(&format!("/comments/{copy}"))
        .await;
    assert!(
        attrs(&doc, &format!("#c{copy} .disposition a"), "href")
            .contains(&format!("/comments/{original}#c{original}"))
    );
    // A duplicate of a duplicate is refused: point at the original.
    let third = post(
        &f.app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "Same again.",
        None,
    );
    let res = f
        .member
        .post_form(
            &format!("/drafts/{}/triage/comments/{third}/disposition", f.draft),
            &[
                ("decision", "duplicate"),
                ("justification", JUSTIFICATION),
                ("duplicate_of", &copy.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    // Another decision ignores the field.
    let res = f
        .member
        .post_form(
            &format!("/drafts/{}/triage/comments/{third}/disposition", f.draft),
            &[
                ("decision", "noted"),
                ("justification", JUSTIFICATION),
                ("duplicate_of", &elsewhere.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(decision(&f.app, third).unwrap().1, None);
}

/// Posts a bulk form with the selected ids.
async fn bulk(
    client: &TestApp,
    draft: i64,
    ids: &[i64],
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let mut all: Vec<(&str, &str)> = ids.iter().map(|i| ("ids", i.as_str())).collect();
    all.extend_from_slice(fields);
    client
        .post_form(&format!("/drafts/{draft}/triage/bulk"), &all)
        .await
}

#[tokio::test]
async fn bulk_actions_touch_exactly_the_selected_comments() {
    let f = fixture().await;
    let ids: Vec<i64> = (0..5)
        .map(|i| {
            post(
                &f.app,
                f.author_id,
                f.draft,
                Some("ch1.art1"),
                None,
                "object",
                &format!("Comment number {i}."),
                None,
            )
        })
        .collect();
    let selected = [ids[1], ids[3]];
    let unselected = [ids[0], ids[2], ids[4]];
    let member = f.member_id.to_string();

    let res = bulk(
        &f.chair,
        f.draft,
        &selected,
        &[("action", "assign"), ("assignee_id", &member)],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let res = bulk(
        &f.chair,
        f.draft,
        &selected,
        &[("action", "tag"), ("tag", "  Data  Protection ")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let res = bulk(
        &f.chair,
        f.draft,
        &selected,
        &[("action", "status"), ("status", "in_review")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    for &id in &selected {
        assert_eq!(
            triage_status(&f.app, id),
            Some(("in_review".into(), Some(f.member_id)))
        );
        assert_eq!(tags(&f.app, id), vec!["data protection".to_string()]);
        assert_eq!(decision(&f.app, id), None);
    }
    for &id in &unselected {
        assert_eq!(triage_status(&f.app, id), None, "comment {id} untouched");
        assert!(tags(&f.app, id).is_empty());
    }
    assert!(f.app.take_emails().await.is_empty());

    // One answer for a group of comments.
    let answer = [ids[0], ids[1]];
    let res = bulk(
        &f.chair,
        f.draft,
        &answer,
        &[
            ("action", "answer"),
            ("decision", "partially_accepted"),
            ("justification", JUSTIFICATION),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    for &id in &answer {
        assert_eq!(
            decision(&f.app, id),
            Some(("partially_accepted".into(), None, JUSTIFICATION.into()))
        );
        assert_eq!(triage_status(&f.app, id).unwrap().0, "decided");
    }
    // The assignee set before is kept.
    assert_eq!(triage_status(&f.app, ids[1]).unwrap().1, Some(f.member_id));
    for &id in &[ids[2], ids[3], ids[4]] {
        assert_eq!(decision(&f.app, id), None);
    }
    assert_eq!(
        f.app.take_emails().await.len(),
        2,
        "one email per answered comment"
    );

    // Unassign with "nobody".
    let res = bulk(
        &f.chair,
        f.draft,
        &[ids[3]],
        &[("action", "assign"), ("assignee_id", "")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        triage_status(&f.app, ids[3]),
        Some(("in_review".into(), None))
    );
    assert_eq!(triage_status(&f.app, ids[1]).unwrap().1, Some(f.member_id));
}

#[tokio::test]
async fn a_refused_bulk_request_changes_nothing() {
    let f = fixture().await;
    let mine = post(
        &f.app,
        f.author_id,
        f.draft,
        None,
        None,
        "support",
        "Good draft.",
        None,
    );
    let mine2 = post(
        &f.app,
        f.author_id,
        f.draft,
        None,
        None,
        "support",
        "Very good.",
        None,
    );
    let foreign = post(
        &f.app,
        f.author_id,
        f.other_draft,
        None,
        None,
        "support",
        "Elsewhere.",
        None,
    );
    let answered = post(
        &f.app,
        f.author_id,
        f.draft,
        None,
        None,
        "object",
        "Answered one.",
        None,
    );
    let res = f
        .chair
        .post_form(
            &format!("/drafts/{}/triage/comments/{answered}/disposition", f.draft),
            &[("decision", "noted"), ("justification", JUSTIFICATION)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    f.app.take_emails().await;
    let before = snapshot(&f.app);
    let chair = f.chair_id.to_string();
    let outsider: i64 = users::table
        .filter(users::email.eq("o@example.org"))
        .select(users::id)
        .first(&mut *f.app.conn())
        .unwrap();
    let outsider = outsider.to_string();
    let answer = [
        ("action", "answer"),
        ("decision", "accepted"),
        ("justification", JUSTIFICATION),
    ];
    type Case<'a> = (Vec<i64>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![mine, foreign],
            vec![("action", "tag"), ("tag", "x")],
            "#f-ids",
        ),
        (vec![mine, foreign], answer.to_vec(), "#f-ids"),
        (
            vec![mine, 99_999_999],
            vec![("action", "assign"), ("assignee_id", &chair)],
            "#f-ids",
        ),
        (vec![], vec![("action", "tag"), ("tag", "x")], "#f-ids"),
        (
            vec![mine],
            vec![("action", "assign"), ("assignee_id", &outsider)],
            "#f-assignee_id",
        ),
        (vec![mine], vec![("action", "tag"), ("tag", "")], "#f-tag"),
        (
            vec![mine],
            vec![("action", "status"), ("status", "decided")],
            "#f-status",
        ),
        // A decided comment keeps its status: the whole selection is refused.
        (
            vec![mine, answered],
            vec![("action", "status"), ("status", "in_review")],
            "#f-status",
        ),
        (
            vec![mine, mine2],
            vec![
                ("action", "answer"),
                ("decision", "accepted"),
                ("justification", "short"),
            ],
            "#f-justification",
        ),
        (
            vec![mine, mine2],
            vec![
                ("action", "answer"),
                ("decision", "duplicate"),
                ("justification", JUSTIFICATION),
                ("duplicate_of", ""),
            ],
            "#f-duplicate_of",
        ),
        (vec![mine], vec![("action", "explode")], "#f-action"),
    ];
    for (ids, fields, field) in cases {
        let res = bulk(&f.chair, f.draft, &ids, &fields).await;
        assert_eq!(res.status().as_u16(), 422, "{ids:?} {fields:?}");
        let doc = scraper::Html::parse_document(&res.text().await.unwrap());
        assert_eq!(
            attrs(&doc, ".error-summary a", "href"),
            vec![field.to_string()],
            "{fields:?}"
        );
        // The selection is kept for another try.
        if ids.contains(&mine) {
            assert_eq!(
                attrs(&doc, &format!("#sel-{mine}"), "checked").len(),
                1,
                "{fields:?}"
            );
        }
        assert_eq!(
            snapshot(&f.app),
            before,
            "{ids:?} {fields:?} changed nothing"
        );
    }
    // A duplicate pointing into the selection is refused too.
    let res = bulk(
        &f.chair,
        f.draft,
        &[mine, mine2],
        &[
            ("action", "answer"),
            ("decision", "duplicate"),
            ("justification", JUSTIFICATION),
            ("duplicate_of", &mine2.to_string()),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(snapshot(&f.app), before);
    assert!(f.app.take_emails().await.is_empty());
}

#[tokio::test]
async fn the_queue_filters_sorts_and_counts() {
    let f = fixture().await;
    let app = &f.app;
    let expert = app.create_user("expert@example.org", "Erlan Expert", PASSWORD, true, false);
    let rep = app.create_user("rep@example.org", "Rita Rep", PASSWORD, true, false);
    let org: i64 = {
        let conn: &mut DbConn = &mut app.conn();
        diesel::update(users::table.find(expert))
            .set(users::respondent_type.eq("expert"))
            .execute(conn)
            .unwrap();
        let now = talqy::domain::time::now();
        let org: i64 = diesel::insert_into(organizations::table)
            .values((
                organizations::name.eq("Digital Rights Union"),
                organizations::kind.eq("ngo"),
                organizations::registration_number.eq("123"),
                organizations::website.eq("https://dru.example.org"),
                organizations::created_at.eq(now),
            ))
            .returning(organizations::id)
            .get_result(conn)
            .unwrap();
        diesel::insert_into(organization_representatives::table)
            .values((
                organization_representatives::organization_id.eq(org),
                organization_representatives::user_id.eq(rep),
                organization_representatives::status.eq("verified"),
                organization_representatives::position.eq("Director"),
                organization_representatives::created_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        org
    };
    let a = post(
        app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "The PURPOSE is unclear.",
        None,
    );
    let b = post(
        app,
        expert,
        f.draft,
        Some("ch2.art3"),
        None,
        "support",
        "Free access is right.",
        None,
    );
    let c = post(
        app,
        rep,
        f.draft,
        Some("ch2.art3"),
        None,
        "propose_change",
        "Add offline access for everyone.",
        Some(org),
    );
    let d = post(
        app,
        f.author_id,
        f.draft,
        None,
        None,
        "question",
        "Когда вступит в силу ЗАКОН?",
        None,
    );
    let reply = post(
        app,
        expert,
        f.draft,
        None,
        Some(a),
        "",
        "I agree, the purpose needs work.",
        None,
    );
    let elsewhere = post(
        app,
        f.author_id,
        f.other_draft,
        Some("ch1.art1"),
        None,
        "object",
        "Purpose of the other law.",
        None,
    );
    // An organization (and a tag) known only on the other draft: not on this draft's lists.
    {
        let conn: &mut DbConn = &mut app.conn();
        let other_org: i64 = diesel::insert_into(organizations::table)
            .values((
                organizations::name.eq("Elsewhere Union"),
                organizations::kind.eq("ngo"),
                organizations::registration_number.eq("456"),
                organizations::website.eq("https://elsewhere.example.org"),
                organizations::created_at.eq(talqy::domain::time::now()),
            ))
            .returning(organizations::id)
            .get_result(conn)
            .unwrap();
        diesel::update(comments::table.find(elsewhere))
            .set(comments::organization_id.eq(other_org))
            .execute(conn)
            .unwrap();
    }
    let res = f
        .outsider_member
        .post_form(
            &format!("/drafts/{}/triage/comments/{elsewhere}/tags", f.other_draft),
            &[("tag", "elsewhere")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    // a: in review, assigned to the chair, tagged; b: decided; c: tagged, assigned to the member.
    let page = |id: i64| format!("/drafts/{}/triage/comments/{id}", f.draft);
    let chair = f.chair_id.to_string();
    let member = f.member_id.to_string();
    for (path, fields) in [
        (format!("{}/status", page(a)), vec![("status", "in_review")]),
        (
            format!("{}/assign", page(a)),
            vec![("assignee_id", chair.as_str())],
        ),
        (format!("{}/tags", page(a)), vec![("tag", "scope")]),
        (format!("{}/tags", page(c)), vec![("tag", "scope")]),
        (format!("{}/tags", page(c)), vec![("tag", "access")]),
        (
            format!("{}/assign", page(c)),
            vec![("assignee_id", member.as_str())],
        ),
        (
            format!("{}/disposition", page(b)),
            vec![("decision", "accepted"), ("justification", JUSTIFICATION)],
        ),
    ] {
        let res = f.chair.post_form(&path, &fields).await;
        assert_eq!(res.status().as_u16(), 303, "{path}");
    }

    let q = |query: &str| format!("/drafts/{}/triage?{query}", f.draft);
    let (status, doc) = f
        .chair
        .get_html(&format!("/drafts/{}/triage", f.draft))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        queue_ids(&doc),
        vec![a, b, c, d, reply],
        "every comment, replies too, oldest first"
    );
    assert_eq!(status_count(&doc, "all"), 5);
    assert_eq!(status_count(&doc, "new"), 3);
    assert_eq!(status_count(&doc, "in_review"), 1);
    assert_eq!(status_count(&doc, "decided"), 1);
    // The filter lists hold what this draft's comments use, and only that.
    assert_eq!(
        attrs(&doc, "#q-provision option", "value"),
        vec!["", "_draft", "ch1.art1", "ch2.art3"]
    );
    assert_eq!(
        attrs(&doc, "#q-organization option", "value"),
        vec![String::new(), "any".into(), "none".into(), org.to_string()]
    );
    assert_eq!(
        attrs(&doc, "#q-tag option", "value"),
        vec!["", "access", "scope"]
    );
    // The row shows what the group needs.
    let row = format!("#queue tr[data-id='{c}']");
    assert_eq!(
        texts(&doc, &format!("{row} .queue-tags .tag")),
        vec!["access", "scope"]
    );
    assert_eq!(
        texts(&doc, &format!("{row} .queue-assignee")),
        vec!["Marat Member"]
    );
    assert_eq!(
        texts(&doc, &format!("{row} .queue-org")),
        vec!["Digital Rights Union"]
    );
    assert!(texts(&doc, &format!("{row} .queue-comment .excerpt"))[0].contains("offline access"));
    assert_eq!(
        texts(&doc, &format!("#queue tr[data-id='{b}'] .queue-decision")),
        vec!["Accepted"]
    );
    assert_eq!(
        attrs(&doc, &format!("{row} .queue-comment a"), "href"),
        vec![page(c)]
    );

    for (query, expected) in [
        ("status=new", vec![c, d, reply]),
        ("status=in_review", vec![a]),
        ("status=decided", vec![b]),
        ("provision=ch2.art3", vec![b, c]),
        ("provision=_draft", vec![d]),
        ("provision=ch1.art1", vec![a, reply]),
        ("stance=support", vec![b]),
        ("stance=propose_change", vec![c]),
        ("respondent=expert", vec![b, reply]),
        ("respondent=citizen", vec![a, c, d]),
        ("organization=any", vec![c]),
        (&format!("organization={org}"), vec![c]),
        ("organization=none", vec![a, b, d, reply]),
        ("tag=scope", vec![a, c]),
        ("tag=access", vec![c]),
        ("assignee=unassigned", vec![b, d, reply]),
        ("assignee=me", vec![a]),
        (&format!("assignee={}", f.member_id), vec![c]),
        ("q=purpose", vec![a, reply]),
        ("q=закон", vec![d]),
        ("q=OFFLINE%20ACCESS", vec![c]),
        ("q=100%25", vec![]),
        ("tag=scope&status=new", vec![c]),
        ("provision=ch2.art3&stance=support&status=decided", vec![b]),
        ("sort=newest", vec![reply, d, c, b, a]),
        ("sort=provision", vec![d, a, reply, b, c]),
    ] {
        let (status, doc) = f.chair.get_html(&q(query)).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(queue_ids(&doc), expected, "{query}");
    }
    // Counts follow the other filters.
    let (_, doc) = f.chair.get_html(&q("tag=scope")).await;
    assert_eq!(status_count(&doc, "all"), 2);
    assert_eq!(status_count(&doc, "new"), 1);
    assert_eq!(status_count(&doc, "in_review"), 1);
    assert_eq!(status_count(&doc, "decided"), 0);
    assert_eq!(texts(&doc, "#queue-count"), vec!["2 comments match."]);
    // The member sees their own assignment under "me".
    let (_, doc) = f.member.get_html(&q("assignee=me")).await;
    assert_eq!(queue_ids(&doc), vec![c]);
    // Most endorsed first.
    {
        let conn: &mut DbConn = &mut app.conn();
        diesel::update(comments::table.find(d))
            .set(comments::endorsement_count.eq(7))
            .execute(conn)
            .unwrap();
    }
    let (_, doc) = f.chair.get_html(&q("sort=endorsed")).await;
    assert_eq!(queue_ids(&doc)[0], d);
    // A value not on the lists is an error, not a wider list.
    let (status, _) = f.chair.get_html(&q("status=lost")).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn the_queue_pages_by_fifty() {
    let f = fixture().await;
    let ids: Vec<i64> = (0..53)
        .map(|i| {
            post(
                &f.app,
                f.author_id,
                f.draft,
                None,
                None,
                "support",
                &format!("Comment {i}."),
                None,
            )
        })
        .collect();
    let (_, doc) = f
        .chair
        .get_html(&format!("/drafts/{}/triage?stance=support", f.draft))
        .await;
    assert_eq!(queue_ids(&doc), ids[..50].to_vec());
    let next = attrs(&doc, "a[rel=next]", "href");
    assert_eq!(
        next,
        vec![format!("/drafts/{}/triage?stance=support&page=2", f.draft)]
    );
    let (_, doc) = f.chair.get_html(&next[0]).await;
    assert_eq!(queue_ids(&doc), ids[50..].to_vec());
    assert_eq!(status_count(&doc, "new"), 53);
}

#[tokio::test]
async fn the_public_thread_shows_the_answer_and_nothing_private() {
    let f = fixture().await;
    let c = post(
        &f.app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "Purpose is vague.",
        None,
    );
    let other = post(
        &f.app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "Another point.",
        None,
    );
    let page = format!("/drafts/{}/triage/comments/{c}", f.draft);
    let other_page = format!("/drafts/{}/triage/comments/{other}", f.draft);
    let justification = "First paragraph of the answer <script>alert(1)</script>.\n\nSecond paragraph: we will rewrite Article 1.";
    let chair = f.chair_id.to_string();
    for (path, fields) in [
        (
            format!("{page}/notes"),
            vec![("body", "SECRET-NOTE ask the ministry lawyers")],
        ),
        (format!("{page}/tags"), vec![("tag", "secret-tag")]),
        (
            format!("{page}/assign"),
            vec![("assignee_id", chair.as_str())],
        ),
        (
            format!("{other_page}/status"),
            vec![("status", "in_review")],
        ),
        (
            format!("{other_page}/tags"),
            vec![("tag", "other-secret-tag")],
        ),
        (
            format!("{page}/disposition"),
            vec![
                ("decision", "partially_accepted"),
                ("justification", justification),
            ],
        ),
    ] {
        let res = f.chair.post_form(&path, &fields).await;
        assert_eq!(res.status().as_u16(), 303, "{path}");
    }
    // The triage page shows the private things to the group.
    let html = f.chair.get(&page).await.text().await.unwrap();
    crate::helpers::assert_inert(&html);
    let doc = scraper::Html::parse_document(&html);
    assert!(texts(&doc, "#notes .note-text")[0].contains("SECRET-NOTE"));
    assert_eq!(
        texts(&doc, "#notes .meta strong"),
        vec!["Zarina Chairwoman"]
    );
    assert_eq!(texts(&doc, "#tags .tag"), vec!["secret-tag"]);
    assert_eq!(
        attrs(&doc, "#f-assignee_id option[selected]", "value"),
        vec![chair.clone()]
    );
    assert_eq!(
        attrs(&doc, "#triage-status", "data-status"),
        vec!["decided"]
    );

    for path in [
        format!("/drafts/{}/provisions/ch1.art1", f.draft),
        format!("/comments/{c}"),
    ] {
        let visitor = f.app.new_client();
        for (who, client) in [("visitor", &visitor), ("participant", &f.participant)] {
            let res = client.get(&path).await;
            assert_eq!(res.status().as_u16(), 200, "{who} {path}");
            let html = res.text().await.unwrap();
            crate::helpers::assert_inert(&html);
            let doc = scraper::Html::parse_document(&html);
            let answer = format!("#c{c} .disposition");
            assert_eq!(
                texts(&doc, &format!("{answer} .badge")),
                vec!["Partially accepted"],
                "{who} {path}"
            );
            assert!(
                texts(&doc, &format!("{answer} .disposition-by"))[0]
                    .contains("Working group on Cyber Shield")
            );
            assert_eq!(attrs(&doc, &format!("{answer} time"), "datetime").len(), 1);
            let paragraphs = texts(&doc, &format!("{answer} .justification p"));
            assert_eq!(paragraphs.len(), 2, "{paragraphs:?}");
            assert!(
                paragraphs[0].contains("<script>alert(1)</script>"),
                "escaped, shown as text"
            );
            assert!(paragraphs[1].starts_with("Second paragraph"));
            assert!(texts(&doc, &format!("#c{other} .disposition")).is_empty());
            for secret in [
                "SECRET-NOTE",
                "secret-tag",
                "Zarina Chairwoman",
                "In review",
                "in_review",
                "Decided",
                "Triage",
            ] {
                assert!(!html.contains(secret), "{who} sees {secret:?} on {path}");
            }
        }
    }
}

#[tokio::test]
async fn the_author_gets_one_email_per_answer_set_or_changed() {
    let f = fixture().await;
    let c = post(
        &f.app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "Vague.",
        None,
    );
    let path = format!("/drafts/{}/triage/comments/{c}/disposition", f.draft);
    f.app.take_emails().await;
    let res = f
        .chair
        .post_form(
            &path,
            &[("decision", "accepted"), ("justification", JUSTIFICATION)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let emails = f.app.take_emails().await;
    assert_eq!(emails.len(), 1);
    let number = tracking(&f.app, c);
    assert_eq!(emails[0].to, "author@example.org");
    assert!(emails[0].subject.contains(&number), "{}", emails[0].subject);
    assert!(emails[0].text.contains("Accepted"));
    assert!(emails[0].text.contains(JUSTIFICATION));
    assert!(emails[0].text.contains("Working group on Cyber Shield"));
    assert_eq!(emails[0].link("/comments/"), format!("/comments/{c}"));

    // The same answer again changes nothing and sends nothing.
    let res = f
        .chair
        .post_form(
            &path,
            &[("decision", "accepted"), ("justification", JUSTIFICATION)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(f.app.take_emails().await.is_empty());

    // A change is allowed, recorded with its time, and mailed once.
    let (decided_at, first_update): (chrono::NaiveDateTime, chrono::NaiveDateTime) =
        dispositions::table
            .filter(dispositions::comment_id.eq(c))
            .select((dispositions::decided_at, dispositions::updated_at))
            .first(&mut *f.app.conn())
            .unwrap();
    assert_eq!(decided_at, first_update);
    let changed = "On reflection the group can only take part of this proposal.";
    let res = f
        .member
        .post_form(
            &path,
            &[
                ("decision", "partially_accepted"),
                ("justification", changed),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let emails = f.app.take_emails().await;
    assert_eq!(emails.len(), 1);
    assert!(
        emails[0].subject.contains("changed"),
        "{}",
        emails[0].subject
    );
    assert!(emails[0].text.contains("Partially accepted"));
    assert!(emails[0].text.contains(changed));
    let (decided_again, updated): (chrono::NaiveDateTime, chrono::NaiveDateTime) =
        dispositions::table
            .filter(dispositions::comment_id.eq(c))
            .select((dispositions::decided_at, dispositions::updated_at))
            .first(&mut *f.app.conn())
            .unwrap();
    assert_eq!(decided_again, decided_at);
    assert!(updated > decided_at);
    assert_eq!(count!(&mut *f.app.conn(), dispositions::table), 1);
    let (_, doc) = f.app.new_client().get_html(&format!("/comments/{c}")).await;
    assert_eq!(texts(&doc, &format!("#c{c} .disposition-changed")).len(), 1);

    // A deleted author is not mailed.
    let gone = post(
        &f.app,
        f.author_id,
        f.draft,
        None,
        None,
        "object",
        "Another.",
        None,
    );
    diesel::update(users::table.find(f.author_id))
        .set(users::deleted_at.eq(talqy::domain::time::now()))
        .execute(&mut *f.app.conn())
        .unwrap();
    let res = f
        .chair
        .post_form(
            &format!("/drafts/{}/triage/comments/{gone}/disposition", f.draft),
            &[("decision", "noted"), ("justification", JUSTIFICATION)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(f.app.take_emails().await.is_empty());
    assert_eq!(decision(&f.app, gone).unwrap().0, "noted");
}

#[tokio::test]
async fn every_triage_action_is_audited_and_listed_for_admins() {
    let f = fixture().await;
    let c = post(
        &f.app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "Vague.",
        None,
    );
    let c2 = post(
        &f.app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "Also vague.",
        None,
    );
    let page = format!("/drafts/{}/triage/comments/{c}", f.draft);
    let member = f.member_id.to_string();
    for (path, fields) in [
        (
            format!("{page}/assign"),
            vec![("assignee_id", member.as_str())],
        ),
        (format!("{page}/tags"), vec![("tag", "scope")]),
        (format!("{page}/tags/remove"), vec![("tag", "scope")]),
        (format!("{page}/notes"), vec![("body", "Private thought.")]),
        (format!("{page}/status"), vec![("status", "in_review")]),
        (
            format!("{page}/disposition"),
            vec![("decision", "rejected"), ("justification", JUSTIFICATION)],
        ),
    ] {
        let res = f.chair.post_form(&path, &fields).await;
        assert_eq!(res.status().as_u16(), 303, "{path}");
    }
    let res = bulk(
        &f.member,
        f.draft,
        &[c2],
        &[("action", "tag"), ("tag", "bulk-tag")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);

    let rows: Vec<(Option<i64>, String, String)> = audit_log::table
        .filter(audit_log::subject.eq(format!("comment:{c}")))
        .order(audit_log::id)
        .select((audit_log::actor_id, audit_log::action, audit_log::detail))
        .load(&mut *f.app.conn())
        .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "triage.assign",
            "triage.tag",
            "triage.untag",
            "triage.note",
            "triage.status",
            "triage.disposition"
        ]
    );
    assert!(rows.iter().all(|r| r.0 == Some(f.chair_id)));
    let detail = |i: usize| serde_json::from_str::<serde_json::Value>(&rows[i].2).unwrap();
    assert_eq!(detail(0)["before"]["assignee_id"], serde_json::Value::Null);
    assert_eq!(detail(0)["after"]["assignee_id"], f.member_id);
    assert_eq!(detail(2)["before"]["tags"], serde_json::json!(["scope"]));
    assert_eq!(detail(2)["after"]["tags"], serde_json::json!([]));
    assert!(
        !rows[3].2.contains("Private thought"),
        "the note's text stays out of the log"
    );
    assert_eq!(detail(4)["before"]["status"], "new");
    assert_eq!(detail(4)["after"]["status"], "in_review");
    assert_eq!(detail(5)["before"], serde_json::Value::Null);
    assert_eq!(detail(5)["after"]["decision"], "rejected");
    assert_eq!(detail(5)["after"]["status"], "decided");
    let bulk_rows: Vec<(String, String)> = audit_log::table
        .filter(
            audit_log::subject
                .eq(format!("comment:{c2}"))
                .or(audit_log::action.eq("triage.bulk")),
        )
        .order(audit_log::id)
        .select((audit_log::action, audit_log::subject))
        .load(&mut *f.app.conn())
        .unwrap();
    assert_eq!(
        bulk_rows,
        vec![
            ("triage.tag".to_string(), format!("comment:{c2}")),
            ("triage.bulk".to_string(), format!("draft:{}", f.draft)),
        ]
    );

    // Admins see it all, newest first; nobody else does.
    let path = format!("/admin/drafts/{}/activity", f.draft);
    let (status, doc) = f.admin.get_html(&path).await;
    assert_eq!(status, 200);
    let listed = attrs(&doc, "#activity tbody tr", "data-action");
    assert_eq!(
        listed[..8].to_vec(),
        vec![
            "triage.bulk",
            "triage.tag",
            "triage.disposition",
            "triage.status",
            "triage.note",
            "triage.untag",
            "triage.tag",
            "triage.assign"
        ]
    );
    // The working-group changes of the draft are there too (the oldest entries).
    assert!(listed.iter().any(|a| a == "group.add"));
    assert!(texts(&doc, "#activity .activity-who").contains(&"Zarina Chairwoman".to_string()));
    assert!(
        attrs(&doc, "#activity .activity-subject a", "href")
            .contains(&format!("/drafts/{}/triage/comments/{c}", f.draft))
    );
    // Another draft's activity is not mixed in.
    let (_, doc) = f
        .admin
        .get_html(&format!("/admin/drafts/{}/activity", f.other_draft))
        .await;
    assert!(
        !attrs(&doc, "#activity tbody tr", "data-action")
            .iter()
            .any(|a| a.starts_with("triage."))
    );
    for client in [&f.participant, &f.chair] {
        let (status, _) = client.get_html(&path).await;
        assert_eq!(status, 403);
    }
    let res = f.app.new_client().get(&path).await;
    assert_eq!(res.status().as_u16(), 303);
}

#[tokio::test]
async fn the_activity_page_is_paginated() {
    let f = fixture().await;
    let c = post(
        &f.app,
        f.author_id,
        f.draft,
        None,
        None,
        "object",
        "Vague.",
        None,
    );
    for i in 0..55 {
        let res = f
            .chair
            .post_form(
                &format!("/drafts/{}/triage/comments/{c}/notes", f.draft),
                &[("body", &format!("Note {i}"))],
            )
            .await;
        assert_eq!(res.status().as_u16(), 303);
    }
    let path = format!("/admin/drafts/{}/activity", f.draft);
    let (_, doc) = f.admin.get_html(&path).await;
    assert_eq!(attrs(&doc, "#activity tbody tr", "data-id").len(), 50);
    let next = attrs(&doc, "a[rel=next]", "href");
    assert_eq!(next, vec![format!("{path}?page=2")]);
    let (_, doc) = f.admin.get_html(&next[0]).await;
    // 55 notes and the three group additions of the fixture (two on this draft).
    assert_eq!(attrs(&doc, "#activity tbody tr", "data-id").len(), 7);
}

#[tokio::test]
async fn an_author_who_follows_decisions_hears_through_that_subscription_only() {
    use talqy::db::schema::notification_events;
    use talqy::services::subscriptions as subs;
    let f = fixture().await;
    {
        let conn: &mut DbConn = &mut f.app.conn();
        let author = user_row(conn, f.author_id);
        let site = f.app.mailer.site().cloned().unwrap();
        let request =
            subs::parse_request(conn, "my_dispositions", "", "daily", Some(&author)).unwrap();
        assert!(subs::subscribe_account(conn, &site, &author, &request).unwrap());
    }
    let c = post(
        &f.app,
        f.author_id,
        f.draft,
        Some("ch1.art1"),
        None,
        "object",
        "Vague.",
        None,
    );
    f.app.take_emails().await;
    let res = f
        .chair
        .post_form(
            &format!("/drafts/{}/triage/comments/{c}/disposition", f.draft),
            &[("decision", "accepted"), ("justification", JUSTIFICATION)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    // No direct email: the answer waits for the author's daily digest.
    f.app.run_pending_jobs().await;
    assert!(f.app.take_emails().await.is_empty());
    assert!(f.app.emails().is_empty());
    let events: Vec<String> = notification_events::table
        .select(notification_events::kind)
        .load(&mut *f.app.conn())
        .unwrap();
    assert_eq!(events, vec!["disposition".to_string()]);
}
